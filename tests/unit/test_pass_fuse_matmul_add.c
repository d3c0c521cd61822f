/* The fuse-matmul-add pass: MatMul(X, W const) -> Add(bias const over the last dim)
 * becomes one internal MatMul that adds the bias in its GEMM epilogue; a session with
 * the pass gives the same outputs as one without it (2-D and 3-D X, edge tiles,
 * either Add operand order, (N) and (1, 1, N) biases); guards keep the Add when the
 * MatMul output has other readers, when the bias is not a per-column vector, or when
 * it would grow the output's rank. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_builder.h"
#include "testutil.h"
#include "norma.h"
#include "passes/passes.h"

typedef struct spec {
    int xr;             /* X rank: 2 (M, K) or 3 (2, M, K) */
    int64_t M, K, N;
    int br;             /* bias rank: 1 (N), 3 (1, 1, N), 4 (1, 1, 1, N) */
    int bias_rows;      /* guard: bias (M, N), not a per-column vector */
    int swap;           /* Add(bias, matmul) */
    int mm_is_output;   /* guard: the MatMul output is also a graph output */
} spec;

static ir_graph *build(const spec *sp)
{
    tu_seed(11);
    ir_graph *g = gb_graph(13);
    int64_t x3[] = {2, sp->M, sp->K}, x2[] = {sp->M, sp->K}, w[] = {sp->K, sp->N};
    int64_t b[4] = {1, 1, 1, 1};
    int br = sp->bias_rows ? 2 : sp->br;
    b[br - 1] = sp->N;
    if (sp->bias_rows)
        b[0] = sp->M;
    gb_input(g, "X", sp->xr, sp->xr == 3 ? x3 : x2);
    gb_const(g, "W", 2, w, NULL, -0.5f, 0.5f);
    gb_const(g, "B", br, b, NULL, -1, 1);
    gb_op(g, "MatMul", "t", "X", "W", NULL);
    gb_op(g, "Add", "Y", sp->swap ? "B" : "t", sp->swap ? "t" : "B", NULL);
    gb_output(g, "Y");
    if (sp->mm_is_output)
        gb_output(g, "t");
    return g;
}

/* Returns whether the pass removed the Add; fails when outputs differ. */
static int check(const spec *sp)
{
    ir_graph *g = build(sp), *g1 = build(sp);
    char err[256];
    assert_int_equal(pass_fuse_matmul_add(g1, err, sizeof err), NORMA_OK);
    int fused = gb_count(g1, "Add") == 0;
    if (fused) {
        assert_true(gb_producers_consistent(g1));
        assert_int_equal(gb_count(g1, "MatMul"), 1);
    }
    tu_seed(12);
    const ir_value *v = &g->values[g->inputs[0]];
    ir_tensor *x = gb_random(v->rank, v->dims, -2, 2);
    size_t n0, n1;
    static const char *const names[1] = {"X"};
    float *y0 = gb_session_run(g, 1, names, &x, "fuse-matmul-add", 2, &n0);
    float *y1 = gb_session_run(g, 1, names, &x, NULL, 2, &n1);
    assert_int_equal(n0, n1);
    double e = tu_max_rel_err(y1, y0, n0, 1e-5, 1e-4);
    if (e > 1.0)
        fail_msg("xr=%d M=%lld K=%lld N=%lld br=%d: fused output differs (rel err %g)", sp->xr, (long long)sp->M,
                 (long long)sp->K, (long long)sp->N, sp->br, e);
    free(y0);
    free(y1);
    ir_tensor_free(x);
    ir_graph_free(g);
    ir_graph_free(g1);
    return fused;
}

static void fused_matmul_bias_matches_unfused(void **state)
{
    (void)state;
    spec s[] = {
        {2, 13, 17, 37, 1, 0, 0, 0},   /* edge tiles in rows and columns */
        {3, 9, 33, 70, 1, 0, 1, 0},    /* batched X, Add(B, t) */
        {3, 128, 64, 96, 3, 0, 0, 0},  /* bias (1, 1, N), full tiles */
        {2, 1, 300, 65, 1, 0, 0, 0},   /* one row: the GEMV path */
        {2, 200, 260, 40, 1, 0, 1, 0}, /* several K blocks */
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        assert_true(check(&s[i]));
}

static void guarded_matmul_add_is_not_fused(void **state)
{
    (void)state;
    spec other_reader = {2, 13, 17, 37, 1, 0, 0, 1};
    spec row_bias = {2, 13, 17, 37, 1, 1, 0, 0};
    spec grows_rank = {2, 13, 17, 37, 4, 0, 0, 0};
    assert_false(check(&other_reader));
    assert_false(check(&row_bias));
    assert_false(check(&grows_rank));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fused_matmul_bias_matches_unfused),
        cmocka_unit_test(guarded_matmul_add_is_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
