/*
 * norma: an ONNX inference runtime in C11.
 *
 * This header is the whole public API. A session loads one model, rewrites it for
 * inference, plans its memory and runs it; one session may be run from several
 * threads at once.
 *
 *   norma_session *s;
 *   if (norma_session_create_from_file("model.onnx", NULL, &s) != NORMA_OK)
 *       fprintf(stderr, "%s\n", norma_last_error());
 *
 * Every function that can fail returns a norma_status; the message that goes with
 * the last failure on the calling thread is norma_last_error().
 */
#ifndef NORMA_H
#define NORMA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NORMA_BUILDING)
#define NORMA_API __attribute__((visibility("default")))
#else
#define NORMA_API
#endif

typedef enum norma_status {
    NORMA_OK = 0,
    NORMA_ERR_ARGUMENT = 1,    /* bad use of the API: NULL pointer, unknown name */
    NORMA_ERR_IO = 2,          /* a file is missing or cannot be read */
    NORMA_ERR_PARSE = 3,       /* bytes are not a valid ONNX protobuf message */
    NORMA_ERR_MODEL = 4,       /* the graph is inconsistent (missing value, cycle, bad attribute) */
    NORMA_ERR_UNSUPPORTED = 5, /* an op, opset or dtype norma does not run */
    NORMA_ERR_SHAPE = 6,       /* an input has the wrong shape, dtype or count */
    NORMA_ERR_MEMORY = 7,      /* an allocation failed or exceeded the session's limit */
    NORMA_ERR_RUNTIME = 8      /* a value read at run time is out of range (an index, a size) */
} norma_status;

/* Element types; the numbers are ONNX's TensorProto.DataType. */
typedef enum norma_dtype {
    NORMA_UNDEFINED = 0,
    NORMA_FLOAT = 1,
    NORMA_UINT8 = 2,
    NORMA_INT8 = 3,
    NORMA_UINT16 = 4,
    NORMA_INT16 = 5,
    NORMA_INT32 = 6,
    NORMA_INT64 = 7,
    NORMA_STRING = 8,
    NORMA_BOOL = 9,
    NORMA_FLOAT16 = 10,
    NORMA_DOUBLE = 11,
    NORMA_UINT32 = 12,
    NORMA_UINT64 = 13,
    NORMA_BFLOAT16 = 16,
    /* Not tensors: a sequence of tensors (data points to dims[0] norma_tensor items,
     * rank 1), and an optional value that holds nothing (an optional that holds a
     * value is passed as that value). */
    NORMA_SEQUENCE = 1001,
    NORMA_NONE = 1002
} norma_dtype;

#define NORMA_MAX_RANK 8

typedef struct norma_session norma_session;

typedef struct norma_options {
    int threads;         /* threads used by one run; 0 = one per core */
    int optimize;        /* 1 (default): run the graph passes; 0: run the graph as stored */
    size_t memory_limit; /* bytes one session may allocate for tensors; 0 = default (16 GiB) */
    const char *disable_passes; /* comma-separated pass names to skip, or NULL */
    int profile;         /* 1: time every node of every run (see norma_profile) */
} norma_options;

/* A tensor handed to or returned by norma_run. Data is dense, row-major. */
typedef struct norma_tensor {
    const char *name;      /* input or output name; NULL means "by position" */
    norma_dtype dtype;
    int rank;
    int64_t dims[NORMA_MAX_RANK];
    void *data;            /* inputs: caller's buffer, read in place (not copied) */
    size_t capacity;       /* outputs: bytes available at data, or 0 to borrow the session's;
                              sequence outputs are always borrowed */
} norma_tensor;

/* Name, dtype and shape of a model input or output. A symbolic or unknown dimension
 * is -1 and its name (if the model gives one) is in dim_names[i], else NULL. */
typedef struct norma_value_info {
    const char *name;
    norma_dtype dtype;
    int rank;              /* -1 when the model does not give the rank */
    int64_t dims[NORMA_MAX_RANK];
    const char *dim_names[NORMA_MAX_RANK];
    int optional;          /* 1: the value may be absent (pass a NORMA_NONE tensor) */
} norma_value_info;

/* Fills *opt with the defaults: all cores, optimizations on, default memory limit. */
NORMA_API void norma_options_init(norma_options *opt);

/* Loads the model at path (with external data read relative to its directory).
 * opt may be NULL for the defaults. On success *out owns the session; free it with
 * norma_session_free. Errors: NORMA_ERR_IO, _PARSE, _MODEL, _UNSUPPORTED, _MEMORY. */
NORMA_API norma_status norma_session_create_from_file(const char *path, const norma_options *opt,
                                                      norma_session **out);

/* As above, from a serialized ModelProto in memory; the bytes are copied as needed
 * and may be freed after the call. External data is refused (there is no directory). */
NORMA_API norma_status norma_session_create_from_memory(const void *data, size_t size,
                                                        const norma_options *opt,
                                                        norma_session **out);

/* Frees the session and every output it lent. Accepts NULL. */
NORMA_API void norma_session_free(norma_session *s);

NORMA_API size_t norma_input_count(const norma_session *s);
NORMA_API size_t norma_output_count(const norma_session *s);

/* Describes input or output i. Strings stay valid as long as the session.
 * Errors: NORMA_ERR_ARGUMENT when i is out of range. */
NORMA_API norma_status norma_input_info(const norma_session *s, size_t i, norma_value_info *info);
NORMA_API norma_status norma_output_info(const norma_session *s, size_t i, norma_value_info *info);

/* Runs the model. inputs[k] names a model input (or, with name NULL, is the k-th);
 * every input must be given, with the model's dtype and a shape that fits it.
 * outputs[k] names an output (or, with name NULL, is the k-th); n_outputs may be
 * smaller than the model's output count to fetch only some. On return each output
 * has its dtype, rank and dims set; if data was NULL it points at memory the session
 * owns until the next norma_run on this session from the same thread; otherwise the
 * result is copied into data, which must hold capacity >= the output's bytes.
 * Safe to call from several threads at once on one session.
 * Errors: NORMA_ERR_ARGUMENT, _SHAPE (wrong dtype, shape or count), _MEMORY,
 * _RUNTIME (an index read from the data is out of range). The session stays usable. */
NORMA_API norma_status norma_run(norma_session *s, const norma_tensor *inputs, size_t n_inputs,
                                 norma_tensor *outputs, size_t n_outputs);

/* The message of the last failure on this thread ("" if none). Valid until the next
 * norma call on this thread. */
NORMA_API const char *norma_last_error(void);

/* Time spent per op type in the runs so far (sessions created with profile = 1). */
typedef struct norma_profile_entry {
    const char *op_type; /* valid while the session lives */
    double ms;           /* total over all runs and threads */
    long long calls;     /* node executions */
} norma_profile_entry;

/* Fills up to cap entries, slowest first, and returns how many op types there are
 * (0 when profiling is off). */
NORMA_API size_t norma_profile(norma_session *s, norma_profile_entry *out, size_t cap);

/* Time spent per node (graph after the passes) in the runs so far. */
typedef struct norma_node_profile {
    const char *node;    /* the node's name ("" when it has none); valid while the session lives */
    const char *op_type;
    double ms;           /* total over all runs and threads */
    long long calls;
} norma_node_profile;

/* Fills up to cap entries, slowest first, and returns how many nodes ran (0 when
 * profiling is off). */
NORMA_API size_t norma_profile_nodes(norma_session *s, norma_node_profile *out, size_t cap);

/* Forgets the runs so far (warm-up runs, say): the profile then counts only the runs
 * after it. Call it while no run of s is in progress. Accepts NULL. */
NORMA_API void norma_profile_reset(norma_session *s);

/* Bytes of one element of dtype (0 for strings and unknown types). */
NORMA_API size_t norma_dtype_size(norma_dtype dtype);

/* ONNX name of dtype ("float", "int64", ...). */
NORMA_API const char *norma_dtype_name(norma_dtype dtype);

#ifdef __cplusplus
}
#endif
#endif /* NORMA_H */
