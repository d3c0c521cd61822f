/*
 * Element conversions shared by the data-movement ops (Cast, Pad's constant value,
 * ConstantOfShape, Range): read one element of any numeric dtype as double or int64,
 * and store a double or int64 as any numeric dtype. Float-to-integer conversions that
 * are out of range (or NaN) give 0 rather than undefined behaviour.
 */
#ifndef NORMA_OP_ELEM_H
#define NORMA_OP_ELEM_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ir/half.h"
#include "norma.h"

static inline int elem_is_float(int dt)
{
    return dt == NORMA_FLOAT || dt == NORMA_DOUBLE || dt == NORMA_FLOAT16 || dt == NORMA_BFLOAT16;
}

static inline double elem_get_f64(const void *p, int dt, size_t i)
{
    switch (dt) {
    case NORMA_FLOAT: return ((const float *)p)[i];
    case NORMA_DOUBLE: return ((const double *)p)[i];
    case NORMA_FLOAT16: return half_to_float(((const uint16_t *)p)[i]);
    case NORMA_BFLOAT16: return bf16_to_float(((const uint16_t *)p)[i]);
    case NORMA_INT8: return ((const int8_t *)p)[i];
    case NORMA_INT16: return ((const int16_t *)p)[i];
    case NORMA_INT32: return ((const int32_t *)p)[i];
    case NORMA_INT64: return (double)((const int64_t *)p)[i];
    case NORMA_UINT8: case NORMA_BOOL: return ((const uint8_t *)p)[i];
    case NORMA_UINT16: return ((const uint16_t *)p)[i];
    case NORMA_UINT32: return ((const uint32_t *)p)[i];
    case NORMA_UINT64: return (double)((const uint64_t *)p)[i];
    default: return 0;
    }
}

/* Integers as int64 bits (uint64 wraps); floats truncated toward zero. */
static inline int64_t elem_f64_to_i64(double v)
{
    if (!(v > -9223372036854775808.0 && v < 9223372036854775808.0))
        return v >= 9223372036854775808.0 && v < 18446744073709551616.0 ? (int64_t)(uint64_t)v : 0;
    return (int64_t)v;
}

static inline int64_t elem_get_i64(const void *p, int dt, size_t i)
{
    switch (dt) {
    case NORMA_INT8: return ((const int8_t *)p)[i];
    case NORMA_INT16: return ((const int16_t *)p)[i];
    case NORMA_INT32: return ((const int32_t *)p)[i];
    case NORMA_INT64: return ((const int64_t *)p)[i];
    case NORMA_UINT8: case NORMA_BOOL: return ((const uint8_t *)p)[i];
    case NORMA_UINT16: return ((const uint16_t *)p)[i];
    case NORMA_UINT32: return ((const uint32_t *)p)[i];
    case NORMA_UINT64: return (int64_t)((const uint64_t *)p)[i];
    default: return elem_f64_to_i64(elem_get_f64(p, dt, i));
    }
}

static inline void elem_set_i64(void *p, int dt, size_t i, int64_t v)
{
    switch (dt) {
    case NORMA_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case NORMA_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case NORMA_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case NORMA_INT64: ((int64_t *)p)[i] = v; break;
    case NORMA_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case NORMA_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case NORMA_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case NORMA_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case NORMA_UINT64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    case NORMA_FLOAT: ((float *)p)[i] = (float)v; break;
    case NORMA_DOUBLE: ((double *)p)[i] = (double)v; break;
    case NORMA_FLOAT16: ((uint16_t *)p)[i] = float_to_half((float)v); break;
    case NORMA_BFLOAT16: ((uint16_t *)p)[i] = float_to_bf16((float)v); break;
    default: break;
    }
}

static inline void elem_set_f64(void *p, int dt, size_t i, double v)
{
    switch (dt) {
    case NORMA_FLOAT: ((float *)p)[i] = (float)v; break;
    case NORMA_DOUBLE: ((double *)p)[i] = v; break;
    case NORMA_FLOAT16: ((uint16_t *)p)[i] = float_to_half((float)v); break;
    case NORMA_BFLOAT16: ((uint16_t *)p)[i] = float_to_bf16((float)v); break;
    case NORMA_BOOL: ((uint8_t *)p)[i] = v != 0; break; /* NaN is true */
    default: elem_set_i64(p, dt, i, elem_f64_to_i64(v)); break;
    }
}

#endif
