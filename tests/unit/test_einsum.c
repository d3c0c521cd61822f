/* Einsum: the GEMM fast path (attention, batched matmul, linear layer, transposed
 * output) against the general loop (run in double) and explicit loops, on odd sizes;
 * ellipsis broadcasting, diagonals, implicit outputs, three inputs; equation errors. */
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

/* Runs Einsum(eq) on ins; returns the status, output in *out. */
static int es_eval(const char *eq, int n, ir_tensor **ins, ir_tensor **out, char *err)
{
    ot_node t;
    ot_init(&t, "Einsum", 12, n, 1);
    ot_str(&t, "equation", eq);
    int rc = ot_eval(&t, ins, out);
    strcpy(err, t.err);
    return rc;
}

/* 1 when the op plans the GEMM fast path for eq (it is the only path with scratch). */
static int es_uses_gemm(const char *eq, int n, ir_tensor **ins)
{
    ot_node t;
    ot_init(&t, "Einsum", 12, n, 1);
    ot_str(&t, "equation", eq);
    int any = 0;
    const op_schema *s = op_lookup("", "Einsum", 12, &any);
    assert_non_null(s);
    ir_tensor shape = {0};
    ir_tensor *outp[1] = {&shape};
    op_ctx c = {.node = &t.n, .opset = 12, .n_in = n, .n_out = 1, .in = ins, .out = outp, .threads = 1,
                .err = t.err, .err_cap = sizeof t.err};
    assert_int_equal(s->init(&c), NORMA_OK);
    assert_int_equal(s->infer(&c), NORMA_OK);
    free(c.state);
    return c.scratch_size > 0;
}

static ir_tensor *rnd(int rank, const int64_t *dims)
{
    ir_tensor *t = ot_tensor(NORMA_FLOAT, rank, dims, NULL);
    tu_fill(t->data, ir_tensor_numel(t), -1, 1);
    return t;
}

static ir_tensor *to_f64(const ir_tensor *t)
{
    ir_tensor *d = ot_tensor(NORMA_DOUBLE, t->rank, t->dims, NULL);
    for (size_t i = 0; i < ir_tensor_numel(t); i++)
        ((double *)d->data)[i] = ((const float *)t->data)[i];
    return d;
}

/* Runs eq in float (fast path when expect_gemm) and in double (general loop) and
 * checks they agree; returns the float output (caller frees). */
static ir_tensor *fast_vs_general(const char *eq, ir_tensor *a, ir_tensor *b, int expect_gemm)
{
    char err[512];
    ir_tensor *ins[2] = {a, b}, *out = NULL, *out64 = NULL;
    if (es_uses_gemm(eq, 2, ins) != expect_gemm)
        print_error("%s: fast path %d, expected %d\n", eq, !expect_gemm, expect_gemm);
    assert_int_equal(es_uses_gemm(eq, 2, ins), expect_gemm);
    assert_int_equal(es_eval(eq, 2, ins, &out, err), NORMA_OK);
    ir_tensor *ins64[2] = {to_f64(a), to_f64(b)};
    assert_int_equal(es_eval(eq, 2, ins64, &out64, err), NORMA_OK);
    assert_int_equal(out64->rank, out->rank);
    size_t n = ir_tensor_numel(out);
    assert_int_equal(ir_tensor_numel(out64), n);
    float *ref = malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++)
        ref[i] = (float)((double *)out64->data)[i];
    assert_true(tu_max_rel_err(out->data, ref, n, 1e-5, 1e-4) <= 1.0);
    free(ref);
    ir_tensor_free(ins64[0]);
    ir_tensor_free(ins64[1]);
    ir_tensor_free(out64);
    return out;
}

static void einsum_attention_fast_path_matches_loops(void **state)
{
    (void)state;
    tu_seed(1);
    int64_t B = 2, H = 3, Q = 5, K = 9, D = 7;
    int64_t qd[4] = {B, H, Q, D}, kd[4] = {B, H, K, D};
    ir_tensor *q = rnd(4, qd), *k = rnd(4, kd);
    ir_tensor *y = fast_vs_general("bhqd,bhkd->bhqk", q, k, 1);
    assert_int_equal(y->rank, 4);
    assert_int_equal(y->dims[3], K);
    const float *qv = q->data, *kv = k->data, *yv = y->data;
    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t i = 0; i < Q; i++)
            for (int64_t j = 0; j < K; j++) {
                double s = 0;
                for (int64_t d = 0; d < D; d++)
                    s += (double)qv[(bh * Q + i) * D + d] * kv[(bh * K + j) * D + d];
                assert_true(fabs(yv[(bh * Q + i) * K + j] - s) <= 1e-5 + 1e-4 * fabs(s));
            }
    ir_tensor_free(y);
    ir_tensor_free(q);
    ir_tensor_free(k);
}

static void einsum_fast_path_odd_shapes_match_general(void **state)
{
    (void)state;
    tu_seed(2);
    struct {
        const char *eq;
        int ra, rb;
        int64_t a[4], b[4];
        int gemm;
    } cases[] = {
        {"bij,bjk->bik", 3, 3, {3, 5, 17}, {3, 17, 11}, 1},
        {"bij,bjk->bik", 3, 3, {1, 1, 1}, {1, 1, 1}, 1},
        {"bhqd,bhkd->bhqk", 4, 4, {1, 2, 1, 33}, {1, 2, 19, 33}, 1},
        {"bhqk,bhkd->bhqd", 4, 4, {2, 3, 13, 9}, {2, 3, 9, 31}, 1},
        {"bsd,od->bso", 3, 2, {2, 7, 23}, {15, 23}, 1},
        {"ij,jk->ki", 2, 2, {9, 5}, {5, 6}, 1},
        {"i,j->ij", 1, 1, {7}, {13}, 1},
        {"...ij,...jk->...ik", 4, 4, {2, 3, 5, 4}, {2, 3, 4, 6}, 1},
        {"...ij,...jk->...ik", 4, 3, {2, 3, 5, 4}, {3, 4, 6}, 0}, /* A-only batch dim */
        {"...ij,...jk->...ik", 4, 3, {2, 1, 5, 3}, {4, 3, 6}, 0}, /* broadcast batch */
        {"ij,ij->i", 2, 2, {4, 5}, {4, 5}, 1},                     /* batch + K, N empty */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ir_tensor *a = rnd(cases[c].ra, cases[c].a), *b = rnd(cases[c].rb, cases[c].b);
        ir_tensor *y = fast_vs_general(cases[c].eq, a, b, cases[c].gemm);
        ir_tensor_free(y);
        ir_tensor_free(a);
        ir_tensor_free(b);
    }
}

static void einsum_diagonal_trace_and_implicit_output(void **state)
{
    (void)state;
    char err[512];
    int64_t d33[2] = {3, 3}, d23[2] = {2, 3};
    float m[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, r[6] = {1, 2, 3, 4, 5, 6};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 2, d33, m), *y = NULL, *ins[1] = {x};
    assert_int_equal(es_eval("ii->i", 1, ins, &y, err), NORMA_OK);
    assert_int_equal(y->rank, 1);
    assert_true(((float *)y->data)[0] == 1 && ((float *)y->data)[1] == 5 && ((float *)y->data)[2] == 9);
    ir_tensor_free(y);
    assert_int_equal(es_eval("ii", 1, ins, &y, err), NORMA_OK); /* implicit: trace */
    assert_int_equal(y->rank, 0);
    assert_true(((float *)y->data)[0] == 15);
    ir_tensor_free(y);
    ir_tensor_free(x);
    /* implicit output sorts labels: "ji" is a transpose */
    x = ot_tensor(NORMA_FLOAT, 2, d23, r);
    ins[0] = x;
    assert_int_equal(es_eval("ji", 1, ins, &y, err), NORMA_OK);
    assert_int_equal(y->dims[0], 3);
    assert_int_equal(y->dims[1], 2);
    float want[6] = {1, 4, 2, 5, 3, 6};
    assert_memory_equal(y->data, want, sizeof want);
    ir_tensor_free(y);
    assert_int_equal(es_eval("ij->", 1, ins, &y, err), NORMA_OK);
    assert_true(((float *)y->data)[0] == 21);
    ir_tensor_free(y);
    ir_tensor_free(x);
}

static void einsum_batch_diagonal_and_three_inputs(void **state)
{
    (void)state;
    char err[512];
    tu_seed(3);
    int64_t d[3] = {4, 5, 5};
    ir_tensor *x = rnd(3, d), *y = NULL, *ins[3] = {x};
    assert_int_equal(es_eval("...ii->...i", 1, ins, &y, err), NORMA_OK);
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 5; i++)
            assert_true(((float *)y->data)[b * 5 + i] == ((float *)x->data)[(b * 5 + i) * 5 + i]);
    ir_tensor_free(y);
    ir_tensor_free(x);
    int64_t da[2] = {3, 4}, db[2] = {4, 5}, dc[2] = {5, 2};
    ir_tensor *a = rnd(2, da), *b = rnd(2, db), *c = rnd(2, dc);
    ins[0] = a;
    ins[1] = b;
    ins[2] = c;
    assert_int_equal(es_eval("ij,jk,kl->il", 3, ins, &y, err), NORMA_OK);
    const float *av = a->data, *bv = b->data, *cv = c->data;
    for (int i = 0; i < 3; i++)
        for (int l = 0; l < 2; l++) {
            double s = 0;
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 5; k++)
                    s += (double)av[i * 4 + j] * bv[j * 5 + k] * cv[k * 2 + l];
            assert_true(fabs(((float *)y->data)[i * 2 + l] - s) <= 1e-5 + 1e-5 * fabs(s));
        }
    ir_tensor_free(y);
    ir_tensor_free(a);
    ir_tensor_free(b);
    ir_tensor_free(c);
}

static void einsum_rejects_bad_equations(void **state)
{
    (void)state;
    char err[512];
    int64_t d[2] = {3, 4}, e[2] = {5, 6};
    ir_tensor *a = ot_tensor(NORMA_FLOAT, 2, d, NULL), *b = ot_tensor(NORMA_FLOAT, 2, e, NULL), *y = NULL;
    ir_tensor *ins[2] = {a, b};
    assert_int_equal(es_eval("ij,jk->ik", 2, ins, &y, err), NORMA_ERR_SHAPE);
    assert_non_null(strstr(err, "label 'j' has sizes 4 and 5"));
    assert_non_null(strstr(err, "Einsum 'n0'"));
    assert_int_equal(es_eval("ij,k$->ik", 2, ins, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(es_eval("ij->ij", 2, ins, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "fewer terms"));
    assert_int_equal(es_eval("ij,kl,mn->i", 2, ins, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "more terms"));
    assert_int_equal(es_eval("ij,kl->iz", 2, ins, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "'z' is not in any input"));
    assert_int_equal(es_eval("ijk,kl->il", 2, ins, &y, err), NORMA_ERR_SHAPE);
    assert_non_null(strstr(err, "rank 2"));
    assert_int_equal(es_eval("i...j...,kl", 2, ins, &y, err), NORMA_ERR_MODEL);
    assert_null(y);
    ir_tensor_free(a);
    ir_tensor_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(einsum_attention_fast_path_matches_loops),
        cmocka_unit_test(einsum_fast_path_odd_shapes_match_general),
        cmocka_unit_test(einsum_diagonal_trace_and_implicit_output),
        cmocka_unit_test(einsum_batch_diagonal_and_three_inputs),
        cmocka_unit_test(einsum_rejects_bad_equations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
