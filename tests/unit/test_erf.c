/* The vectorizable erf and erf-Gelu (kernels/erf.h) against libm's double erf/erfc:
 * a sweep over every 251st float (all binades, both signs, the tails; within 5 ulp), the break at
 * |x| = 1.5, and NaN, infinities and signed zeros; the Erf op's kernel the same way. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernels/erf.h"
#include "kernels/norm.h"
#include "kernels/unary.h"

/* |y - r| in units of the float ulp at r (subnormal spacing at the bottom) */
static double ulp_of(double r)
{
    int e;
    frexp(fabs(r), &e);
    return ldexp(1.0, e - 24 < -149 ? -149 : e - 24);
}

static double ulp_err(float y, double r)
{
    return fabs((double)y - r) / ulp_of(r);
}

static double gelu_exact(float x)
{
    double z = (double)x / sqrt(2.0);
    return z < 0 ? 0.5 * x * erfc(-z) : 0.5 * x * (1.0 + erf(z));
}

static void erf_within_one_ulp_over_all_binades(void **state)
{
    (void)state;
    double worst = 0;
    float at = 0;
    for (uint64_t b = 0; b < 0x100000000ull; b += 251) {
        uint32_t bits = (uint32_t)b;
        float x;
        memcpy(&x, &bits, 4);
        if (!isfinite(x))
            continue;
        double e = ulp_err(k_erff(x), erf((double)x));
        if (e > worst)
            worst = e, at = x;
    }
    print_message("erf: worst %.3f ulp\n", worst);
    if (worst > 4.0)
        fail_msg("erf off by %.3f ulp at %a", worst, (double)at);
    /* both sides of the branch point, densely */
    for (float x = 1.49f; x < 1.51f; x = nextafterf(x, 2.0f)) {
        assert_true(ulp_err(k_erff(x), erf((double)x)) <= 5.0);
        assert_true(ulp_err(k_erff(-x), erf(-(double)x)) <= 5.0);
    }
}

/* exp(-c x^2) with one exp (x^2 split exactly, the low part folded into the reduced
 * argument): within 2 ulp of the double result over every 61st float in [2^-10, 14]
 * for c = 1 and 0.5 (normal results), and 0 where the result is below FLT_MIN. */
static void exp_negsq_one_exp_within_two_ulp(void **state)
{
    (void)state;
    double worst = 0;
    float at = 0;
    for (int ci = 0; ci < 2; ci++) {
        float c = ci ? 0.5f : 1.0f;
        for (uint32_t bits = 0x3a800000u; bits < 0x41600000u; bits += 61) { /* 2^-10 to 14 */
            float x;
            memcpy(&x, &bits, 4);
            double r = exp(-(double)c * (double)x * (double)x);
            float y = k_exp_negsq(x, c);
            if (r < 1.1754943508222875e-38) {
                if (!(y >= 0 && y < 1.2e-38f))
                    fail_msg("exp(-%g x^2) at %a: %a should be flushed", (double)c, (double)x, (double)y);
                continue;
            }
            double e = ulp_err(y, r);
            if (e > worst)
                worst = e, at = x;
            if (k_exp_negsq(-x, c) != y)
                fail_msg("exp(-%g x^2) is not even at %a", (double)c, (double)x);
        }
    }
    print_message("exp(-c x^2): worst %.3f ulp at %a\n", worst, (double)at);
    if (worst > 2.0)
        fail_msg("exp(-c x^2) off by %.3f ulp at %a", worst, (double)at);
    assert_true(k_exp_negsq(0.0f, 1.0f) == 1.0f);
    assert_true(k_exp_negsq(100.0f, 1.0f) == 0.0f);
}

/* k_f32_gelu skips the erfc branch for blocks whose inputs are all small: bit for bit
 * k_gelu_erf per element, for lengths around the block size, blocks mixing small and
 * large inputs, NaN and infinities. */
static void gelu_kernel_blocks_match_elementwise(void **state)
{
    (void)state;
    const size_t lens[] = {1, 5, 31, 32, 33, 64, 65, 100, 1000};
    uint32_t seed = 12345;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            float u = (float)(seed >> 8) / 16777216.0f; /* [0, 1) */
            x[i] = (u - 0.5f) * 4.0f;                    /* mostly small */
            if (i % 37 == 5)
                x[i] = (u - 0.5f) * 40.0f; /* some blocks with a large input */
            if (i == 3 && n > 40)
                x[i] = 2.1213203f; /* at the branch point */
        }
        if (n > 70) {
            x[40] = NAN;
            x[70] = INFINITY;
            x[n - 1] = -INFINITY;
        }
        k_f32_gelu(n, x, y, 0);
        for (size_t i = 0; i < n; i++) {
            float want = k_gelu_erf(x[i]);
            if (memcmp(&want, &y[i], 4) && !(isnan(want) && isnan(y[i])))
                fail_msg("n %zu i %zu x %a: %a, elementwise %a", n, i, (double)x[i], (double)y[i], (double)want);
        }
        free(x);
        free(y);
    }
}

static void erf_special_values(void **state)
{
    (void)state;
    assert_true(isnan(k_erff(NAN)));
    assert_true(k_erff(INFINITY) == 1.0f);
    assert_true(k_erff(-INFINITY) == -1.0f);
    assert_true(k_erff(0.0f) == 0.0f && !signbit(k_erff(0.0f)));
    assert_true(k_erff(-0.0f) == 0.0f && signbit(k_erff(-0.0f)));
    assert_true(k_erff(1e30f) == 1.0f && k_erff(-1e30f) == -1.0f);
    assert_true(k_erff(1e-40f) > 0); /* subnormal: 2/sqrt(pi) x, not flushed */
}

static void gelu_erf_close_to_exact(void **state)
{
    (void)state;
    double worst = 0, worst_tail = 0;
    float at = 0;
    for (uint64_t b = 0; b < 0x100000000ull; b += 1021) {
        uint32_t bits = (uint32_t)b;
        float x;
        memcpy(&x, &bits, 4);
        if (!isfinite(x) || fabsf(x) > 1e30f)
            continue;
        double r = gelu_exact(x);
        if (fabs(r) < 1e-30)
            continue;
        /* 1 + erf(z) for z in [-1.5, 0] cancels: allow 1e-7 |x| absolute beside 4 ulp */
        double e = fabs((double)k_gelu_erf(x) - r) / (4.0 * ulp_of(r) + 1e-7 * fabs((double)x));
        if (x > -2.12f && e > worst)
            worst = e, at = x;
        if (x <= -2.12f && fabs((double)k_gelu_erf(x) - r) / fabs(r) > worst_tail)
            worst_tail = fabs((double)k_gelu_erf(x) - r) / fabs(r);
    }
    print_message("gelu: worst %.3f of tolerance, tail %g\n", worst, worst_tail);
    if (worst > 1.0)
        fail_msg("gelu off by %.3f ulp at %a", worst, (double)at);
    /* the negative tail (erfc through a float exp and polynomial): < 3e-6 relative */
    if (worst_tail > 3e-6)
        fail_msg("gelu tail relative error %g", worst_tail);
    assert_true(isnan(k_gelu_erf(NAN)));
    assert_true(k_gelu_erf(INFINITY) == INFINITY);
    assert_true(k_gelu_erf(-INFINITY) == 0.0f && !isnan(k_gelu_erf(-1e30f)));
    assert_true(k_gelu_erf(-100.0f) == 0.0f);
}

static void erf_op_kernel_matches_erf(void **state)
{
    (void)state;
    const size_t ns[] = {1, 7, 17, 1000};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        size_t n = ns[t];
        float x[1000], y[1000];
        for (size_t i = 0; i < n; i++)
            x[i] = -6.0f + 12.0f * (float)i / (float)n + 1e-3f * (float)(i % 7);
        x[0] = n > 1 ? NAN : x[0];
        k_f32_unary(K_UN_ERF, n, x, y, 0, 0, 0);
        for (size_t i = 0; i < n; i++) {
            if (isnan(x[i]))
                assert_true(isnan(y[i]));
            else if (ulp_err(y[i], erf((double)x[i])) > 5.0)
                fail_msg("n %zu x %a: %a", n, (double)x[i], (double)y[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(erf_within_one_ulp_over_all_binades),
        cmocka_unit_test(exp_negsq_one_exp_within_two_ulp),
        cmocka_unit_test(gelu_kernel_blocks_match_elementwise),
        cmocka_unit_test(erf_special_values),
        cmocka_unit_test(gelu_erf_close_to_exact),
        cmocka_unit_test(erf_op_kernel_matches_erf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
