/*
 * Elementwise comparison, logic and integer-math kernels over one run of outputs
 * (see kernels/binary.h for the run model): each operand either advances with the
 * output (stride 1) or stays put (stride 0). dtype is a norma_dtype; bool is uint8
 * holding 0 or 1. float16 is compared and computed in float32.
 */
#ifndef NORMA_K_COMPARE_H
#define NORMA_K_COMPARE_H

#include <stddef.h>
#include <stdint.h>

enum {
    K_CMP_EQ = 0,
    K_CMP_LT,
    K_CMP_LE,
    K_CMP_GT,
    K_CMP_GE,
    K_CMP_AND, /* bool operands only */
    K_CMP_OR,
    K_CMP_XOR
};

/* 1 when k_compare_1d handles dtype for op (logic ops: bool only). */
int k_compare_supported(int dtype, int op);
/* y[i] = a[i*sa] (op) b[i*sb] as 0/1. NaN compares false (EQ, LT, ...), as in IEEE. */
void k_compare_1d(int dtype, int op, size_t n, const void *a, size_t sa, const void *b, size_t sb,
                  uint8_t *y);

/* BitShift on unsigned dtypes: y = a << b (left) or a >> b; shifts >= the width give 0. */
int k_bitshift_supported(int dtype);
void k_bitshift_1d(int dtype, int left, size_t n, const void *a, size_t sa, const void *b, size_t sb,
                   void *y);

/* Mod. fmod = 0: the result takes the divisor's sign (Python's %), integers only;
 * fmod = 1: the dividend's sign (C's fmod / %). Integer b == 0 gives 0 (the op rejects
 * it before). */
int k_mod_supported(int dtype, int cmod);
void k_mod_1d(int dtype, int cmod, size_t n, const void *a, size_t sa, const void *b, size_t sb,
              void *y);

/* Where: out[i] = cond[i*sc] ? x[i*sx] : y[i*sy], elements of esize bytes. */
void k_where_1d(size_t esize, size_t n, const uint8_t *cond, size_t sc, const void *x, size_t sx,
                const void *y, size_t sy, void *out);

/* IsNaN / IsInf (float, double, float16) and Not (bool). */
void k_isnan(int dtype, size_t n, const void *x, uint8_t *y);
void k_isinf(int dtype, size_t n, const void *x, uint8_t *y, int detect_pos, int detect_neg);
void k_not(size_t n, const uint8_t *x, uint8_t *y);

/* Scalar references, one element, written independently of the run loops: the
 * comparison of two values read as double (integers up to 2^53 exactly), and Python /
 * C integer remainders. */
int k_compare_ref(int op, double a, double b);
int64_t k_mod_i64_ref(int64_t a, int64_t b, int cmod);

#endif
