/*
 * Branch-free float erf that compilers vectorize (libm's erff is a call per element).
 * |x| <= 1.5: erf(x) = x * P(x^2), P of degree 8 (fit relative error ~1e-9; float
 * Horner rounding brings it to about 3 ulp).
 * |x| > 1.5: erfc(|x|) = exp(-x^2) * Q(1/|x|), Q of degree 10 fitted for relative
 * error ~3e-9 on [1.5, 10] (beyond, exp(-x^2) underflows to 0); erf = 1 - erfc.
 * x^2 is split exactly into h + l (x cut into 12-bit halves), and exp(-x^2) taken with
 * one exp whose range reduction works on h and adds l to the reduced argument, so the
 * rounding of x^2 costs nothing.
 * Both branches are computed and one selected (no FP op under a condition: with
 * trapping math that blocks if-conversion), so loops over arrays vectorize.
 * Measured in test_erf.c: erf within 5 ulp of erf() (4 in a sparse sweep); NaN gives NaN, +-inf gives +-1,
 * -0 gives -0. k_gelu_erf(x) = 0.5 x (1 + erf(x / sqrt 2)) takes 1 + erf(z) for
 * z < -1.5 as erfc(-z) directly, so the negative tail keeps a relative error < 4e-6
 * instead of the cancellation of 1 + erf (which remains for z in [-1.5, 0]: an
 * absolute error up to ~1e-7 |x|, as with libm's erff).
 */
#ifndef NORMA_K_ERF_H
#define NORMA_K_ERF_H

#include "kernels/fastmath.h"

/* x * P(x^2), for |x| <= 1.5 */
static inline float k_erf_small(float x)
{
    float s = x * x;
    float p = 6.19760624e-07f;
    p = p * s + -1.13235181e-05f;
    p = p * s + 1.13087125e-04f;
    p = p * s + -8.45470022e-04f;
    p = p * s + 5.21696538e-03f;
    p = p * s + -2.68632075e-02f;
    p = p * s + 1.12837296e-01f;
    p = p * s + -3.76126341e-01f;
    p = p * s + 1.12837917e+00f;
    return x * p;
}

/* exp(a + b) for a + b <= 0 with |b| small (below ~0.1): one exp, b folded into the
 * reduced argument, so a + b is never rounded as a whole. n = round((a + b) / ln2)
 * (Cody-Waite, two-part ln2), r = (a - n ln2) + b, e^r by the Cephes expf polynomial
 * 1 + r + r^2 P(r), one scaling by 2^n with n in -126..0. Below -87.3365 it is 0. */
static inline float k_expf_sum_neg(float a, float b)
{
    const float lo = -87.33654022216796875f;
    float s = a + b;
    float sc = s < lo ? lo : s;
    sc = sc > 0.0f ? 0.0f : sc;
    const float magic = 12582912.0f; /* 1.5*2^23: n = round(s/ln2) in t's low bits */
    float t = sc * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = a - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    r = r + b;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r;
    p = p + 1.0f;
    uint32_t tb, mb;
    memcpy(&tb, &t, 4);
    memcpy(&mb, &magic, 4);
    uint32_t e = (tb - mb + 127u) << 23; /* 2^n */
    float scale;
    memcpy(&scale, &e, 4);
    float y = p * scale;
    return s < lo ? 0.0f : y;
}

/* exp(-c * x^2) for c = 1 or 0.5, with x^2 split exactly: xh keeps the top 12
 * significand bits, so xh*xh and c*xh*xh are exact and the rest is small (and >= 0:
 * xl has the sign of xh). One exp of -(h + l) with l folded into the reduction. */
static inline float k_exp_negsq(float x, float c)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    b &= 0xFFFFF000u;
    float xh;
    memcpy(&xh, &b, 4);
    float xl = x - xh;
    float h = c * (xh * xh), l = c * ((xh + xh) * xl + xl * xl);
    float hc = h > 100.0f ? 100.0f : h; /* exp(-100) is 0 in float */
    return k_expf_sum_neg(-hc, -l);
}

/* erfc(u) for u >= 1.5 given e = exp(-u^2); past u = 10 it is 0 (erfc(10) ~ 2e-45) */
static inline float k_erfc_large(float u, float e)
{
    float uc = u < 1.5f ? 1.5f : u;
    uc = uc > 10.0f ? 10.0f : uc;
    float t = 1.0f / uc;
    float q = 1.136685637e-01f;
    q = q * t + -3.025050860e-01f;
    q = q * t + 8.157165892e-02f;
    q = q * t + 6.743374057e-01f;
    q = q * t + -1.186814420e+00f;
    q = q * t + 8.486710577e-01f;
    q = q * t + -9.544678121e-02f;
    q = q * t + -2.682869013e-01f;
    q = q * t + -1.250553487e-03f;
    q = q * t + 5.642539250e-01f;
    q = q * t + -1.430641835e-06f;
    float r = e * q;
    return u > 10.0f ? 0.0f : r;
}

static inline float k_erff(float x)
{
    float u = fabsf(x);
    float xc = u > 10.0f ? 10.0f : x; /* keeps inf out of the split */
    float big = 1.0f - k_erfc_large(u, k_exp_negsq(xc, 1.0f));
    big = copysignf(big, x);
    float small = k_erf_small(x);
    float y = u <= 1.5f ? small : big;
    return x != x ? x : y;
}

/* k_gelu_erf for |x / sqrt 2| <= 1.5 (k_gelu_erf_is_small), bit for bit. */
static inline float k_gelu_erf_small(float x)
{
    float z = x * 0.70710678118654752f;
    float one_plus = 1.0f + k_erf_small(z);
    return 0.5f * x * one_plus;
}

/* 1 when k_gelu_erf(x) takes the small branch (false for NaN) */
static inline int k_gelu_erf_is_small(float x)
{
    return fabsf(x * 0.70710678118654752f) <= 1.5f;
}

static inline float k_gelu_erf(float x)
{
    float z = x * 0.70710678118654752f;
    float u = fabsf(z);
    float xc = u > 10.0f ? 15.0f : x;
    float ec = k_erfc_large(u, k_exp_negsq(xc, 0.5f));
    float two_minus = 2.0f - ec;
    float big_pos = 0.5f * x * two_minus, big_neg = 0.5f * x * ec;
    float big = z < 0 ? big_neg : big_pos;
    float tail = z < 0 ? -0.0f : x; /* |z| > 10: keeps -inf * 0 out */
    big = u > 10.0f ? tail : big;
    float small = k_gelu_erf_small(x);
    float y = u <= 1.5f ? small : big;
    return x != x ? x : y;
}

#endif
