/* Transpose and the strided-copy kernel: random 4-D permutations against a naive
 * index-mapping reference, awkward sizes, every element size, and bad perms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/copy.h"
#include "optest.h"
#include "testutil.h"

/* y[i0..i3] = x[index where axis perm[k] takes i_k], written out directly. */
static void naive_transpose4(const float *x, const int64_t *d, const int64_t *perm, float *y)
{
    int64_t od[4], i[4], j[4];
    for (int k = 0; k < 4; k++)
        od[k] = d[perm[k]];
    size_t o = 0;
    for (i[0] = 0; i[0] < od[0]; i[0]++)
        for (i[1] = 0; i[1] < od[1]; i[1]++)
            for (i[2] = 0; i[2] < od[2]; i[2]++)
                for (i[3] = 0; i[3] < od[3]; i[3]++) {
                    for (int k = 0; k < 4; k++)
                        j[perm[k]] = i[k];
                    y[o++] = x[((j[0] * d[1] + j[1]) * d[2] + j[2]) * d[3] + j[3]];
                }
}

static void transpose_4d_all_perms_match_naive(void **state)
{
    (void)state;
    static const int64_t shapes[][4] = {{2, 3, 5, 7}, {1, 17, 33, 1}, {3, 1, 40, 9}, {2, 64, 9, 35}};
    tu_seed(7);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t *d = shapes[s];
        ir_tensor *x = ot_tensor(NORMA_FLOAT, 4, d, NULL);
        size_t n = ir_tensor_numel(x);
        tu_fill(x->data, n, -1, 1);
        float *ref = malloc(n * sizeof(float));
        int64_t perm[4];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                for (int c = 0; c < 4; c++) {
                    int e = 6 - a - b - c;
                    if (a == b || a == c || b == c || e < 0 || e > 3 || e == a || e == b || e == c)
                        continue;
                    perm[0] = a, perm[1] = b, perm[2] = c, perm[3] = e;
                    ot_node t;
                    ot_init(&t, "Transpose", 13, 1, 1);
                    ot_ints(&t, "perm", perm, 4);
                    ir_tensor *ins[1] = {x}, *outs[1] = {0};
                    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
                    naive_transpose4(x->data, d, perm, ref);
                    assert_memory_equal(outs[0]->data, ref, n * sizeof(float));
                    ir_tensor_free(outs[0]);
                }
        free(ref);
        ir_tensor_free(x);
    }
}

static void strided_copy_matches_reference_for_each_element_size(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2, 4, 8, 3};
    int64_t od[3] = {5, 19, 37}, st[3] = {1, 5 * 37, 5}; /* a (37,19,5)-ish permuted view */
    size_t n = 5 * 19 * 37;
    for (size_t k = 0; k < 5; k++) {
        size_t es = sizes[k];
        unsigned char *in = malloc(n * es), *a = malloc(n * es), *b = malloc(n * es);
        for (size_t i = 0; i < n * es; i++)
            in[i] = (unsigned char)(i * 131 + 7);
        k_strided_copy(a, in, es, 3, od, st, 2);
        k_strided_copy_ref(b, in, es, 3, od, st);
        assert_memory_equal(a, b, n * es);
        int64_t st2[3] = {0, 37, 1}; /* broadcast on the first axis */
        k_strided_copy(a, in, es, 3, od, st2, 1);
        k_strided_copy_ref(b, in, es, 3, od, st2);
        assert_memory_equal(a, b, n * es);
        free(in);
        free(a);
        free(b);
    }
}

/* k_transpose_4b (and each of its paths: the portable 4x4 blocks, and AVX2's 8x8
 * where the CPU has it) against the element loop, with row strides wider than the
 * data and sizes around the 4x4 and 8x8 blocks and the 32x32 tiles; and the 2-D
 * transpose inside k_strided_copy (which goes through it for 4-byte elements) against
 * its reference. */
typedef void (*transpose_fn)(void *, const void *, size_t, size_t, ptrdiff_t, ptrdiff_t);

static void transpose_4b_matches_reference_on_awkward_shapes(void **state)
{
    (void)state;
    tu_seed(41);
    size_t sizes[] = {1, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 40, 70};
    transpose_fn fns[3] = {k_transpose_4b, k_transpose_4b_portable, NULL};
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2"))
        fns[2] = k_transpose_4b_avx2;
#endif
    for (int f = 0; f < 3; f++) {
        if (!fns[f])
            continue;
        for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
            for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++) {
                size_t R = sizes[a], C = sizes[b];
                ptrdiff_t ldi = (ptrdiff_t)C + 3, ldo = (ptrdiff_t)R + 5;
                float *x = malloc(sizeof(float) * R * (size_t)ldi), *y = malloc(sizeof(float) * C * (size_t)ldo);
                tu_fill(x, R * (size_t)ldi, -1, 1);
                for (size_t i = 0; i < C * (size_t)ldo; i++)
                    y[i] = 42;
                fns[f](y, x, R, C, ldi, ldo);
                for (size_t c = 0; c < C; c++)
                    for (size_t r = 0; r < (size_t)ldo; r++) {
                        float want = r < R ? x[r * (size_t)ldi + c] : 42; /* padding untouched */
                        if (y[c * (size_t)ldo + r] != want)
                            fail_msg("path %d R=%zu C=%zu: y[%zu][%zu] = %g, want %g", f, R, C, c, r,
                                     y[c * (size_t)ldo + r], want);
                    }
                int64_t od[2] = {(int64_t)C, (int64_t)R}, st[2] = {1, (int64_t)ldi};
                float *y1 = malloc(sizeof(float) * R * C), *y2 = malloc(sizeof(float) * R * C);
                k_strided_copy(y1, x, 4, 2, od, st, 2);
                k_strided_copy_ref(y2, x, 4, 2, od, st);
                assert_memory_equal(y1, y2, sizeof(float) * R * C);
                free(x);
                free(y);
                free(y1);
                free(y2);
            }
    }
}

static void transpose_default_perm_reverses(void **state)
{
    (void)state;
    int16_t x[6] = {1, 2, 3, 4, 5, 6};
    int64_t d[2] = {2, 3};
    ir_tensor *ins[1] = {ot_tensor(NORMA_INT16, 2, d, x)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Transpose", 1, 1, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const int16_t want[6] = {1, 4, 2, 5, 3, 6};
    assert_int_equal(outs[0]->dims[0], 3);
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[0]);
}

static void transpose_bad_perm_fails(void **state)
{
    (void)state;
    int64_t d[3] = {2, 3, 4}, dup[3] = {0, 0, 1}, shortp[2] = {1, 0};
    ir_tensor *ins[1] = {ot_tensor(NORMA_FLOAT, 3, d, NULL)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Transpose", 13, 1, 1);
    ot_ints(&t, "perm", dup, 3);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "Transpose 'n0': perm is not a permutation"));
    ot_init(&t, "Transpose", 13, 1, 1);
    ot_ints(&t, "perm", shortp, 2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "perm has 2 entries for an input of rank 3"));
    ir_tensor_free(ins[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transpose_4d_all_perms_match_naive),
        cmocka_unit_test(strided_copy_matches_reference_for_each_element_size),
        cmocka_unit_test(transpose_4b_matches_reference_on_awkward_shapes),
        cmocka_unit_test(transpose_default_perm_reverses),
        cmocka_unit_test(transpose_bad_perm_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
