/* The weight store (see store.c): unpack arena and external-data mappings. */
#ifndef NORMA_STORE_H
#define NORMA_STORE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "loader/loader.h"

/* hint: expected bytes (the file size); dir: the model directory or NULL. */
ld_store *ld_store_new(size_t hint, const char *dir);
ProtobufCAllocator ld_store_allocator(ld_store *s);
int ld_store_has_dir(const ld_store *s);
/* Maps the external data file `location` (relative to the model directory). */
int ld_store_map_external(ld_store *s, const char *location, const char *tensor, const void **addr,
                          size_t *size, char *err, size_t err_cap);

#endif
