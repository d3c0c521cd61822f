/*
 * The loader: ONNX bytes (protobuf-c) -> IR graph. After it returns, nothing refers to
 * protobuf-c structures; tensor data of initializers lives in the weight store (the
 * model's bytes, read into it; the unpack arena; external-data mappings), which the
 * caller keeps alive as long as the graph and frees after it.
 */
#ifndef NORMA_LOADER_H
#define NORMA_LOADER_H

#include <stddef.h>

#include "ir/ir.h"

typedef struct ld_store ld_store;

/* Loads path; external data is read relative to its directory. Up to `threads`
 * threads read a large file (import.c: fill_bytes). On success *graph and *store are
 * the caller's (free the graph first, then ld_store_free). On failure returns
 * NORMA_ERR_IO / _PARSE / _MODEL / _UNSUPPORTED / _MEMORY with err filled. */
int ld_load_file(const char *path, int threads, ir_graph **graph, ld_store **store, char *err, size_t err_cap);

/* The same from bytes in memory (copied: the caller may free them on return); external
 * data is refused. */
int ld_load_memory(const void *data, size_t size, int threads, ir_graph **graph, ld_store **store, char *err,
                   size_t err_cap);

void ld_store_free(ld_store *s);

/* Gives back to the system the whole pages of [ptr, ptr + size) when they lie in the
 * store (weights nothing reads any more); the range must not be read again. */
void ld_store_release(ld_store *s, const void *ptr, size_t size);

/* A block of size bytes in the store, 64-byte aligned from 64 bytes up; it lives until
 * ld_store_free. NULL when out of memory. */
void *ld_store_alloc(ld_store *s, size_t size);

/* Store blocks of LD_STORE_SLACK_MIN bytes or more have LD_STORE_SLACK unused bytes
 * right before them, so that when a weight's memory is handed out again for a buffer
 * of the same size (see bigmem.c), its header fits. Weights left in the model's bytes
 * (wire.c) have their own header bytes there instead, fewer if the weight before ends
 * closer (see free_before in session.c). */
#define LD_STORE_SLACK_MIN ((size_t)64 << 10)
#define LD_STORE_SLACK ((size_t)64)

/* Reads one serialized TensorProto (the test-data .pb files). The tensor owns its
 * data; *name (may be NULL) receives a malloc'd copy of its name. */
int ld_read_tensor_file(const char *path, ir_tensor **out, char **name, char *err, size_t err_cap);
int ld_read_tensor_bytes(const void *data, size_t size, ir_tensor **out, char **name, char *err,
                         size_t err_cap);

/* Reads a test-data value of the given kind: a TensorProto, a SequenceProto (into an
 * IR_DTYPE_SEQUENCE value) or an OptionalProto (its value, or IR_DTYPE_NONE). */
enum { LD_VALUE_TENSOR = 0, LD_VALUE_SEQUENCE = 1, LD_VALUE_OPTIONAL = 2 };
int ld_read_value_file(const char *path, int kind, ir_tensor **out, char **name, char *err, size_t err_cap);
int ld_read_value_bytes(const void *data, size_t size, int kind, ir_tensor **out, char **name, char *err,
                        size_t err_cap);

/* Writes t as a serialized TensorProto (raw_data form) named name. */
int ld_write_tensor_file(const char *path, const ir_tensor *t, const char *name, char *err,
                         size_t err_cap);

#endif
