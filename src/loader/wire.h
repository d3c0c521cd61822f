/* A ModelProto unpacked with its weights left in place (see wire.c). Private to the loader. */
#ifndef NORMA_WIRE_H
#define NORMA_WIRE_H

#include <stddef.h>

#include "onnx.pb-c.h"

/* Initializers whose raw_data is at least this big are borrowed from the buffer. */
#define LD_BORROW_MIN ((size_t)64 << 10)

/* Unpacks the model in buf[0, size) through protobuf-c and allocator a. The raw_data of
 * the main graph's big initializers (LD_BORROW_MIN bytes and up) is not copied: it
 * stays in buf, moved towards its start over the bytes before it, as the store would
 * lay out blocks (64-byte aligned, LD_STORE_SLACK free bytes before each, in file
 * order; at least aligned to its element size where there is no room for that). So
 * buf is written and must outlive the result. *borrowed (if not NULL) gets how many
 * bytes stayed in buf. NULL when protobuf-c refuses the bytes. Everything else is
 * allocated through a, as by onnx__model_proto__unpack. */
Onnx__ModelProto *ld_unpack_model(unsigned char *buf, size_t size, ProtobufCAllocator *a, size_t *borrowed);

#endif
