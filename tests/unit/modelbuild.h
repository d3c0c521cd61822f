/*
 * Builds small ONNX models in memory for tests, through protobuf-c's generated
 * structs, and serializes them to bytes for norma_session_create_from_memory.
 *
 *   mb_model *m = mb_new(17);
 *   mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){2, 3});
 *   mb_node *n = mb_add_node(m, "Relu", "x", "y");
 *   mb_output(m, "y");
 *   size_t len; uint8_t *bytes = mb_serialize(m, &len);
 *
 * Input and output lists are comma-separated names; an empty name ("a,,c") is an
 * omitted optional input. Everything is freed by mb_free.
 */
#ifndef NORMA_MODELBUILD_H
#define NORMA_MODELBUILD_H

#include <stddef.h>
#include <stdint.h>

typedef struct mb_model mb_model;
typedef struct mb_node mb_node;

mb_model *mb_new(int64_t opset);
void mb_free(mb_model *m);
/* A graph input; dims entries < 0 become symbolic dims named "d<i>". */
void mb_input(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims);
void mb_output(mb_model *m, const char *name);
/* Bytes per element of an ONNX data type as mb_init stores it (1 for unknown types). */
size_t mb_dtype_bytes(int dtype);
/* An initializer stored as raw_data (copied). */
void mb_init(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims, const void *data);
void mb_init_f32(mb_model *m, const char *name, int rank, const int64_t *dims, const float *data);
void mb_init_i64(mb_model *m, const char *name, int rank, const int64_t *dims, const int64_t *data);
/* An initializer whose data is in an external file: location, offset, length (-1 = omit). */
void mb_init_external(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims,
                      const char *location, long long offset, long long length);
/* An initializer stored in the typed field for its dtype (float_data, int32_data, ...);
 * values are given as doubles and converted. */
void mb_init_typed(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims,
                   const double *values);
/* A Constant node with attribute attr ("value_float", "value_ints", ...). */
void mb_constant_floats(mb_model *m, const char *output, const char *attr, int count, const float *v);
void mb_constant_ints(mb_model *m, const char *output, const char *attr, int count, const int64_t *v);
void mb_constant_tensor(mb_model *m, const char *output, int dtype, int rank, const int64_t *dims,
                        const void *data);
/* A model-local function name(inputs)->(outputs) whose body is one node op. */
void mb_function(mb_model *m, const char *name, const char *inputs, const char *outputs, const char *op);
mb_node *mb_add_node(mb_model *m, const char *op, const char *inputs, const char *outputs);
void mb_node_domain(mb_node *n, const char *domain);
void mb_attr_int(mb_node *n, const char *name, int64_t v);
/* A GRAPH attribute: body's graph (build it with mb_new; its opset is ignored). body
 * must stay alive until the model is serialized; free it with mb_free after. */
void mb_attr_graph(mb_node *n, const char *name, mb_model *body);
void mb_attr_float(mb_node *n, const char *name, float v);
void mb_attr_string(mb_node *n, const char *name, const char *v);
void mb_attr_ints(mb_node *n, const char *name, int count, const int64_t *v);
void mb_attr_floats(mb_node *n, const char *name, int count, const float *v);
/* Adds an opset import for another domain. */
void mb_opset(mb_model *m, const char *domain, int64_t version);
/* Serialized ModelProto; the caller frees the result with free(). */
uint8_t *mb_serialize(mb_model *m, size_t *len);

#endif
