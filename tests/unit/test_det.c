/* Det: LU with pivoting against Laplace expansion on random batches (float and double,
 * sizes 1..6), singular and pivot-needing matrices, non-square inputs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

/* Laplace expansion along the first row (independent of LU). */
static double laplace(const double *a, int n)
{
    if (n == 1)
        return a[0];
    double s = 0, sub[36];
    for (int j = 0; j < n; j++) {
        int k = 0;
        for (int r = 1; r < n; r++)
            for (int cc = 0; cc < n; cc++)
                if (cc != j)
                    sub[k++] = a[r * n + cc];
        s += (j % 2 ? -1 : 1) * a[j] * laplace(sub, n - 1);
    }
    return s;
}

static void det_matches_laplace_expansion(void **state)
{
    (void)state;
    tu_seed(9);
    for (int n = 1; n <= 6; n++)
        for (int dt = 0; dt < 2; dt++) {
            int64_t d[3] = {3, n, n};
            ir_tensor *x = ot_tensor(dt ? NORMA_DOUBLE : NORMA_FLOAT, 3, d, NULL), *y = NULL;
            double a[36 * 3];
            for (int i = 0; i < 3 * n * n; i++) {
                a[i] = tu_uniform(-2, 2);
                if (dt)
                    ((double *)x->data)[i] = a[i];
                else {
                    ((float *)x->data)[i] = (float)a[i];
                    a[i] = (float)a[i];
                }
            }
            ot_node t;
            ot_init(&t, "Det", 11, 1, 1);
            assert_int_equal(ot_eval(&t, &x, &y), NORMA_OK);
            assert_int_equal(y->rank, 1);
            for (int b = 0; b < 3; b++) {
                double want = laplace(a + b * n * n, n);
                double got = dt ? ((double *)y->data)[b] : ((float *)y->data)[b];
                assert_true(fabs(got - want) <= 1e-5 + 1e-5 * fabs(want));
            }
            ir_tensor_free(x);
            ir_tensor_free(y);
        }
}

static void det_singular_and_pivoting_cases(void **state)
{
    (void)state;
    float m[2][9] = {{1, 2, 3, 2, 4, 6, 0, 1, 5}, {0, 1, 0, 1, 0, 0, 0, 0, 1}}; /* rank 2; a permutation */
    int64_t d[3] = {2, 3, 3};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 3, d, m), *y = NULL;
    ot_node t;
    ot_init(&t, "Det", 11, 1, 1);
    assert_int_equal(ot_eval(&t, &x, &y), NORMA_OK);
    assert_true(fabsf(((float *)y->data)[0]) < 1e-6f);
    assert_true(((float *)y->data)[1] == -1.0f);
    ir_tensor_free(x);
    ir_tensor_free(y);
}

static void det_rejects_non_square(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 2, d, NULL), *y = NULL;
    ot_node t;
    ot_init(&t, "Det", 11, 1, 1);
    assert_int_equal(ot_eval(&t, &x, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "Det 'n0': input must end in a square"));
    assert_null(y);
    ir_tensor_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(det_matches_laplace_expansion),
        cmocka_unit_test(det_singular_and_pivoting_cases),
        cmocka_unit_test(det_rejects_non_square),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
