/* The fuse-matmul-transpose pass: MatMul(X, Transpose(W const 2-D)) becomes the
 * internal MatMul(X, W) with transB=1, with no Transpose left. The rewritten graph
 * gives the reference's outputs (gb_compare) and a session with the pass gives the
 * same outputs as one without any pass (2-D and 3-D X, edge panels, a W shared by two
 * MatMuls, a following bias Add fused into the same node, a following BatchNorm and
 * Relu); guards keep the Transpose when its output has a non-MatMul reader, is read
 * as A, is a graph output, or when the perm is not [1, 0]. */
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
    int xr;          /* X rank: 2 (M, K) or 3 (2, M, K) */
    int64_t M, K, N;
    int bias;        /* an Add(t, bias (N)) after the MatMul */
    int shared;      /* a second MatMul reads the same Transpose output */
    int other;       /* guard: the Transpose output is also read by an Add */
    int as_a;        /* guard: a second MatMul reads the Transpose output as A */
    int t_output;    /* guard: the Transpose output is a graph output */
    int perm;        /* 0 perm [1, 0]; 1 no perm attribute; 2 perm [0, 1] (guard) */
    int post;        /* 0 none; 1 BatchNormalization (2-D X only); 2 Relu */
} spec;

static ir_graph *build(const spec *sp)
{
    tu_seed(21);
    ir_graph *g = gb_graph(13);
    int64_t x3[] = {2, sp->M, sp->K}, x2[] = {sp->M, sp->K}, w[] = {sp->N, sp->K}, b[] = {sp->N};
    gb_input(g, "X", sp->xr, sp->xr == 3 ? x3 : x2);
    gb_const(g, "W", 2, sp->perm == 2 ? (int64_t[]){sp->K, sp->N} : w, NULL, -0.5f, 0.5f);
    gb_const(g, "B", 1, b, NULL, -1, 1);
    int t = gb_op(g, "Transpose", "Wt", "W", NULL, NULL);
    if (sp->perm == 0)
        gb_attr_ints(g, t, "perm", 2, (int64_t[]){1, 0});
    else if (sp->perm == 2)
        gb_attr_ints(g, t, "perm", 2, (int64_t[]){0, 1});
    gb_op(g, "MatMul", "t", "X", "Wt", NULL);
    const char *y = "t";
    if (sp->bias) {
        gb_op(g, "Add", "tb", "t", "B", NULL);
        y = "tb";
    }
    if (sp->post == 1) {
        static const char *ins[] = {"", "s", "B", "mu", "var"};
        static const char *outs[] = {"Y"};
        int64_t n[] = {sp->N};
        gb_const(g, "s", 1, n, NULL, 0.5f, 1.5f);
        gb_const(g, "mu", 1, n, NULL, -1, 1);
        gb_const(g, "var", 1, n, NULL, 0.5f, 2);
        const char *in5[5] = {y, ins[1], ins[2], ins[3], ins[4]};
        gb_node(g, "BatchNormalization", "bn", 5, in5, 1, outs);
    } else if (sp->post == 2) {
        gb_op(g, "Relu", "Y", y, NULL, NULL);
    } else {
        gb_op(g, "Identity", "Y", y, NULL, NULL);
    }
    gb_output(g, "Y");
    if (sp->shared) {
        gb_op(g, "MatMul", "Y2", "X", "Wt", NULL);
        gb_output(g, "Y2");
    }
    if (sp->other) {
        gb_op(g, "Add", "Y3", "Wt", "Wt", NULL);
        gb_output(g, "Y3");
    }
    if (sp->as_a) {
        /* Wt (K, N) x W (N, K): reads Wt as A */
        gb_op(g, "MatMul", "Y4", "Wt", "W", NULL);
        gb_output(g, "Y4");
    }
    if (sp->t_output)
        gb_output(g, "Wt");
    return g;
}

/* The norma.MatMul reading W transposed, or NULL. */
static const ir_node *trans_matmul(const ir_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (!n->dead && strcmp(n->domain, "norma") == 0 && strcmp(n->op_type, "MatMul") == 0 &&
            ir_attr_int(n, "transB", 0) == 1)
            return n;
    }
    return NULL;
}

/* Returns whether the pass removed the Transpose; fails when outputs differ (the
 * reference interpreter on the rewritten graph, and sessions with all passes against
 * none). */
static int check(const spec *sp)
{
    ir_graph *g = build(sp), *g1 = build(sp);
    char err[256];
    assert_int_equal(pass_fuse_matmul_transpose(g1, err, sizeof err), NORMA_OK);
    int fused = gb_count(g1, "Transpose") == 0;
    if (fused) {
        assert_true(gb_producers_consistent(g1));
        const ir_node *m = trans_matmul(g1);
        assert_non_null(m);
        assert_string_equal(g1->values[m->in[1]].name, "W");
        assert_int_equal(gb_count(g1, "MatMul"), 1 + sp->shared);
        if (sp->bias) {
            /* fuse-matmul-add puts the bias into the same node */
            assert_int_equal(pass_fuse_matmul_add(g1, err, sizeof err), NORMA_OK);
            assert_int_equal(gb_count(g1, "Add"), 0);
            m = trans_matmul(g1);
            assert_non_null(m);
            assert_int_equal(m->n_in, 3);
        }
    }
    gb_compare(g, g1, -2, 2, 1e-5, 1e-4);
    tu_seed(22);
    const ir_value *v = &g->values[g->inputs[0]];
    ir_tensor *x = gb_random(v->rank, v->dims, -2, 2);
    size_t n0, n1;
    static const char *const names[1] = {"X"};
    float *y0 = gb_session_run(g, 1, names, &x, "all", 2, &n0);
    float *y1 = gb_session_run(g, 1, names, &x, NULL, 2, &n1);
    assert_int_equal(n0, n1);
    double e = tu_max_rel_err(y1, y0, n0, 1e-5, 1e-4);
    if (e > 1.0)
        fail_msg("xr=%d M=%lld K=%lld N=%lld: optimized output differs (rel err %g)", sp->xr, (long long)sp->M,
                 (long long)sp->K, (long long)sp->N, e);
    free(y0);
    free(y1);
    ir_tensor_free(x);
    ir_graph_free(g);
    ir_graph_free(g1);
    return fused;
}

static void transposed_weight_is_read_in_place(void **state)
{
    (void)state;
    spec s[] = {
        {.xr = 2, .M = 13, .K = 17, .N = 37},            /* edge tiles, a partial panel */
        {.xr = 3, .M = 9, .K = 33, .N = 70},             /* batched X */
        {.xr = 2, .M = 64, .K = 96, .N = 128},           /* full panels only */
        {.xr = 2, .M = 1, .K = 300, .N = 65},            /* one row */
        {.xr = 3, .M = 7, .K = 5, .N = 3, .perm = 1},    /* perm absent: reverses */
        {.xr = 2, .M = 13, .K = 40, .N = 35, .post = 2}, /* a Relu fused after it */
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        assert_true(check(&s[i]));
}

static void shared_weight_feeds_every_matmul(void **state)
{
    (void)state;
    spec s = {.xr = 3, .M = 11, .K = 19, .N = 45, .shared = 1};
    assert_true(check(&s));
}

static void bias_add_fuses_into_the_same_node(void **state)
{
    (void)state;
    spec s[] = {
        {.xr = 2, .M = 13, .K = 17, .N = 37, .bias = 1},
        {.xr = 3, .M = 9, .K = 64, .N = 96, .bias = 1},
        {.xr = 3, .M = 5, .K = 8, .N = 33, .bias = 1, .shared = 1},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        assert_true(check(&s[i]));
}

static void batchnorm_after_it_still_folds(void **state)
{
    (void)state;
    spec s = {.xr = 2, .M = 6, .K = 21, .N = 40, .post = 1};
    assert_true(check(&s));
    ir_graph *g = build(&s);
    char err[256];
    assert_int_equal(pass_run_all(g, NULL, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "BatchNormalization"), 0);
    assert_int_equal(gb_count(g, "Transpose"), 0);
    const ir_node *gemm = gb_find(g, "Gemm");
    assert_non_null(gemm);
    assert_int_equal(ir_attr_int(gemm, "transB", 0), 1);
    ir_graph_free(g);
}

static void guarded_transposes_are_kept(void **state)
{
    (void)state;
    spec other = {.xr = 2, .M = 13, .K = 17, .N = 37, .other = 1};
    spec as_a = {.xr = 2, .M = 13, .K = 17, .N = 17, .as_a = 1};
    spec t_output = {.xr = 2, .M = 4, .K = 6, .N = 5, .t_output = 1};
    spec identity_perm = {.xr = 2, .M = 4, .K = 6, .N = 5, .perm = 2};
    assert_false(check(&other));
    assert_false(check(&as_a));
    assert_false(check(&t_output));
    assert_false(check(&identity_perm));
}

static void info_pipeline_runs_it_before_constant_folding(void **state)
{
    (void)state;
    int n;
    const pass_def *p = pass_list(&n);
    int mt = -1, cf = -1, ma = -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(p[i].name, "fuse-matmul-transpose") == 0)
            mt = i;
        if (strcmp(p[i].name, "constant-folding") == 0)
            cf = i;
        if (strcmp(p[i].name, "fuse-matmul-add") == 0)
            ma = i;
    }
    assert_true(mt >= 0 && mt < cf && cf < ma);
    /* switched off, constant folding folds the Transpose instead */
    spec s = {.xr = 2, .M = 3, .K = 4, .N = 5};
    ir_graph *g = build(&s);
    char err[256];
    assert_int_equal(pass_run_all(g, "fuse-matmul-transpose", err, sizeof err), NORMA_OK);
    assert_null(trans_matmul(g));
    assert_int_equal(gb_count(g, "Transpose"), 0);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transposed_weight_is_read_in_place),
        cmocka_unit_test(shared_weight_feeds_every_matmul),
        cmocka_unit_test(bias_add_fuses_into_the_same_node),
        cmocka_unit_test(batchnorm_after_it_still_folds),
        cmocka_unit_test(guarded_transposes_are_kept),
        cmocka_unit_test(info_pipeline_runs_it_before_constant_folding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
