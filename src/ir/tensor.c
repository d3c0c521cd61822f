/*
 * Dense tensors of the IR: sizes with overflow checks, allocation, element access.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/half.h"

/* Tensors this large get their data from ir_big_alloc. */
#define IR_BIG_TENSOR ((size_t)1 << 20)

size_t ir_dtype_size(int dtype)
{
    switch (dtype) {
    case NORMA_FLOAT: case NORMA_INT32: case NORMA_UINT32: return 4;
    case NORMA_DOUBLE: case NORMA_INT64: case NORMA_UINT64: return 8;
    case NORMA_INT16: case NORMA_UINT16: case NORMA_FLOAT16: case NORMA_BFLOAT16: return 2;
    case NORMA_INT8: case NORMA_UINT8: case NORMA_BOOL: return 1;
    default: return 0;
    }
}

const char *ir_dtype_name(int dtype)
{
    static const char *names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16",
                                  "int32", "int64", "string", "bool", "float16", "double",
                                  "uint32", "uint64"};
    if (dtype == NORMA_BFLOAT16)
        return "bfloat16";
    if (dtype == IR_DTYPE_SEQUENCE)
        return "sequence";
    if (dtype == IR_DTYPE_NONE)
        return "none (empty optional)";
    if (dtype >= 0 && dtype < (int)(sizeof names / sizeof names[0]))
        return names[dtype];
    return "unknown";
}

size_t ir_numel_checked(int rank, const int64_t *dims, int *ok)
{
    size_t n = 1;
    *ok = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) {
            *ok = 0;
            return 0;
        }
        size_t d = (size_t)dims[i];
        if (d != 0 && n > SIZE_MAX / d) {
            *ok = 0;
            return 0;
        }
        n *= d;
    }
    return n;
}

size_t ir_tensor_numel(const ir_tensor *t)
{
    int ok;
    return ir_numel_checked(t->rank, t->dims, &ok);
}

size_t ir_tensor_nbytes(const ir_tensor *t)
{
    return ir_tensor_numel(t) * ir_dtype_size(t->dtype);
}

ir_tensor *ir_tensor_new(int dtype, int rank, const int64_t *dims)
{
    int ok;
    if (dtype == IR_DTYPE_SEQUENCE)
        return ir_seq_tensor_new();
    if (dtype == IR_DTYPE_NONE) {
        ir_tensor *t = calloc(1, sizeof(ir_tensor));
        if (t)
            t->dtype = IR_DTYPE_NONE;
        return t;
    }
    if (rank < 0 || rank > IR_MAX_RANK)
        return NULL;
    size_t n = ir_numel_checked(rank, dims, &ok);
    size_t es = ir_dtype_size(dtype);
    if (!ok || es == 0 || (n && n > SIZE_MAX / es))
        return NULL;
    ir_tensor *t = calloc(1, sizeof(ir_tensor));
    if (!t)
        return NULL;
    t->dtype = dtype;
    t->rank = rank;
    if (rank)
        memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    size_t bytes = n ? n * es : es;
    if (bytes >= IR_BIG_TENSOR) {
        t->data = ir_big_alloc(bytes);
        t->owns_data = 2;
    } else {
        t->data = calloc(n ? n : 1, es);
        t->owns_data = 1;
    }
    if (!t->data) {
        free(t);
        return NULL;
    }
    return t;
}

int ir_tensor_writable(const ir_tensor *t)
{
    return t->data && (t->owns_data || t->mutable_data) && t->dtype != IR_DTYPE_SEQUENCE &&
           t->dtype != IR_DTYPE_NONE;
}

ir_tensor *ir_tensor_clone(const ir_tensor *src)
{
    if (src->dtype == IR_DTYPE_SEQUENCE || src->dtype == IR_DTYPE_NONE)
        return ir_value_clone(src);
    ir_tensor *t = ir_tensor_new(src->dtype, src->rank, src->dims);
    if (t && src->data)
        memcpy(t->data, src->data, ir_tensor_nbytes(src));
    return t;
}

void ir_tensor_free(ir_tensor *t)
{
    if (!t)
        return;
    if (t->owns_data && t->dtype == IR_DTYPE_SEQUENCE) {
        ir_seq *s = t->data;
        ir_seq_clear(s);
        free(s->items);
        free(s);
    } else if (t->owns_data == 2) {
        ir_big_free(t->data);
    } else if (t->owns_data) {
        free(t->data);
    }
    free(t);
}

ir_tensor *ir_seq_tensor_new(void)
{
    ir_tensor *t = calloc(1, sizeof(ir_tensor));
    ir_seq *s = calloc(1, sizeof(ir_seq));
    if (!t || !s) {
        free(t);
        free(s);
        return NULL;
    }
    t->dtype = IR_DTYPE_SEQUENCE;
    t->data = s;
    t->owns_data = 1;
    return t;
}

void ir_seq_clear(ir_seq *s)
{
    for (int i = 0; i < s->n; i++)
        ir_tensor_free(s->items[i]);
    s->n = 0;
}

int ir_seq_insert(ir_seq *s, int pos, const ir_tensor *t)
{
    if (pos < 0 || pos > s->n)
        return -1;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        ir_tensor **items = realloc(s->items, sizeof(ir_tensor *) * (size_t)cap);
        if (!items)
            return -1;
        s->items = items;
        s->cap = cap;
    }
    ir_tensor *c = ir_tensor_clone(t);
    if (!c)
        return -1;
    memmove(s->items + pos + 1, s->items + pos, sizeof(ir_tensor *) * (size_t)(s->n - pos));
    s->items[pos] = c;
    s->n++;
    if (!s->elem_dtype)
        s->elem_dtype = t->dtype;
    return 0;
}

void ir_seq_erase(ir_seq *s, int pos)
{
    if (pos < 0 || pos >= s->n)
        return;
    ir_tensor_free(s->items[pos]);
    memmove(s->items + pos, s->items + pos + 1, sizeof(ir_tensor *) * (size_t)(s->n - pos - 1));
    s->n--;
}

ir_tensor *ir_value_clone(const ir_tensor *src)
{
    if (src->dtype == IR_DTYPE_NONE)
        return ir_tensor_new(IR_DTYPE_NONE, 0, NULL);
    if (src->dtype != IR_DTYPE_SEQUENCE)
        return ir_tensor_clone(src);
    ir_tensor *t = ir_seq_tensor_new();
    if (!t)
        return NULL;
    const ir_seq *s = src->data;
    ir_seq *d = t->data;
    d->elem_dtype = s->elem_dtype;
    for (int i = 0; i < s->n; i++)
        if (ir_seq_insert(d, i, s->items[i])) {
            ir_tensor_free(t);
            return NULL;
        }
    return t;
}

/* A float read as an integer: truncated toward zero, saturated at the int64 range,
 * NaN as 0 (a plain cast of NaN or of an out-of-range value is undefined). */
static int64_t f64_to_i64(double v)
{
    if (v != v)
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

int64_t ir_tensor_get_i64(const ir_tensor *t, size_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case NORMA_INT64: return ((const int64_t *)d)[i];
    case NORMA_INT32: return ((const int32_t *)d)[i];
    case NORMA_INT16: return ((const int16_t *)d)[i];
    case NORMA_INT8: return ((const int8_t *)d)[i];
    case NORMA_UINT8: return ((const uint8_t *)d)[i];
    case NORMA_UINT16: return ((const uint16_t *)d)[i];
    case NORMA_UINT32: return ((const uint32_t *)d)[i];
    case NORMA_UINT64: return (int64_t)((const uint64_t *)d)[i];
    case NORMA_BOOL: return ((const uint8_t *)d)[i] != 0;
    case NORMA_FLOAT: return f64_to_i64(((const float *)d)[i]);
    case NORMA_DOUBLE: return f64_to_i64(((const double *)d)[i]);
    case NORMA_FLOAT16: return f64_to_i64(half_to_float(((const uint16_t *)d)[i]));
    case NORMA_BFLOAT16: return f64_to_i64(bf16_to_float(((const uint16_t *)d)[i]));
    default: return 0;
    }
}

double ir_tensor_get_f64(const ir_tensor *t, size_t i)
{
    switch (t->dtype) {
    case NORMA_FLOAT: return ((const float *)t->data)[i];
    case NORMA_DOUBLE: return ((const double *)t->data)[i];
    case NORMA_FLOAT16: return half_to_float(((const uint16_t *)t->data)[i]);
    case NORMA_BFLOAT16: return bf16_to_float(((const uint16_t *)t->data)[i]);
    case NORMA_UINT64: return (double)((const uint64_t *)t->data)[i];
    default: return (double)ir_tensor_get_i64(t, i);
    }
}

void ir_shape_str(int rank, const int64_t *dims, char *buf, size_t cap)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "(");
    for (int i = 0; i < rank && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, ")");
}
