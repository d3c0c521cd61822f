/*
 * Branch-free float exp and tanh that compilers vectorize (libm's expf and tanhf are
 * a call per element). k_expf: range reduction x = n*ln2 + r with |r| <= ln2/2 (Cody-Waite, two-part ln2), then a
 * degree-7 Taylor polynomial for e^r (truncation error < 1e-8 relative), then scaling
 * by 2^n built from exponent bits in two halves so n = 128 does not overflow early.
 * Max error about 2 ulp against expf; NaN gives NaN, x > 88.72 gives +inf, and
 * x < -87.33 gives 0 (results below FLT_MIN are flushed: an absolute error < 1.2e-38).
 */
#ifndef NORMA_K_FASTMATH_H
#define NORMA_K_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float k_expf(float x)
{
    const float hi = 88.72283935546875f, lo = -87.33654022216796875f;
    float xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    /* n = round(x / ln2) by the 1.5*2^23 trick: n sits in the low mantissa bits of t */
    const float magic = 12582912.0f;
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = xc - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t tb, mb;
    memcpy(&tb, &t, 4);
    memcpy(&mb, &magic, 4);
    int32_t ni = (int32_t)(tb - mb); /* n, in -126..128 */
    int32_t n1 = ni >> 1, n2 = ni - n1;
    uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, 4);
    memcpy(&s2, &b2, 4);
    float y = p * s1 * s2;
    y = x > hi ? INFINITY : y;
    y = x < lo ? 0.0f : y;
    return x != x ? x : y;
}

/*
 * tanh as a rational function (odd degree-13 numerator over even degree-6 denominator,
 * the coefficients Eigen uses for its float tanh), clamped at |x| = 7.9053 where it
 * reaches 1 in float; tiny |x| returns x. A few ulp; NaN gives NaN.
 */
static inline float k_tanhf(float x)
{
    const float clamp = 7.90531110763549805f;
    float xc = x > clamp ? clamp : x;
    xc = xc < -clamp ? -clamp : xc;
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * xc;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    float y = p / q;
    y = (x < 0.0004f && x > -0.0004f) ? x : y;
    return x != x ? x : y;
}

#endif
