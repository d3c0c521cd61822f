/* The fuse-matmul-scale, fuse-matmul-permute and fuse-matmul-softmax passes on the attention pattern
 * PyTorch exports: q, k, v of shape (L, heads, d) read through Transpose(perm
 * [1, 0, 2]) and Transpose(perm [1, 2, 0]), q divided by a constant, Softmax between
 * the two MatMuls, and the heads' output moved back by Transpose(perm [1, 0, 2]).
 * The rewritten graph has no Transpose, Div or Softmax left, its MatMuls carry the
 * perms, alpha = 1/c and softmax = 1, and a session with every pass gives the outputs of a session with
 * none, at one and two threads. The guards keep a node when its output has a second
 * reader or is a graph output, when the scale is not a finite nonzero scalar, and
 * when an output perm moves the last axis, and a Softmax over an axis not known to be
 * the last. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_builder.h"
#include "norma.h"
#include "passes/passes.h"
#include "testutil.h"

typedef struct spec {
    int64_t L, H, d;
    float scale;      /* the constant q is divided by (or multiplied, with mul) */
    int mul;          /* Mul(c, q) instead of Div(q, c) */
    int scale_shape;  /* 0 scalar; 1 shape (1); 2 shape (d): not a scalar (guard) */
    int div_reader;   /* guard: the Div's output is also a graph output */
    int kt_reader;    /* guard: k's Transpose output is also read by an Add */
    int y_perm_last;  /* guard: the output Transpose moves the last axis ([2, 1, 0]) */
    int sm_axis1;     /* guard: the Softmax's axis is 1, not -1 */
} spec;

static ir_graph *build(const spec *sp)
{
    ir_graph *g = gb_graph(17);
    int64_t xd[3] = {sp->L, sp->H, sp->d};
    gb_input(g, "q", 3, xd);
    gb_input(g, "k", 3, xd);
    gb_input(g, "v", 3, xd);
    int64_t cd[1] = {sp->scale_shape == 2 ? sp->d : 1};
    if (sp->scale_shape == 0)
        gb_scalar(g, "c", sp->scale);
    else
        gb_const(g, "c", 1, cd, NULL, sp->scale, sp->scale);
    int t = gb_op(g, "Transpose", "qt", "q", NULL, NULL);
    gb_attr_ints(g, t, "perm", 3, (int64_t[]){1, 0, 2});
    if (sp->mul)
        gb_op(g, "Mul", "qs", "c", "qt", NULL);
    else
        gb_op(g, "Div", "qs", "qt", "c", NULL);
    t = gb_op(g, "Transpose", "kt", "k", NULL, NULL);
    gb_attr_ints(g, t, "perm", 3, (int64_t[]){1, 2, 0});
    gb_op(g, "MatMul", "s", "qs", "kt", NULL);
    t = gb_op(g, "Softmax", "p", "s", NULL, NULL);
    gb_attr_i(g, t, "axis", sp->sm_axis1 ? 1 : -1);
    t = gb_op(g, "Transpose", "vt", "v", NULL, NULL);
    gb_attr_ints(g, t, "perm", 3, (int64_t[]){1, 0, 2});
    gb_op(g, "MatMul", "o", "p", "vt", NULL);
    t = gb_op(g, "Transpose", "Y", "o", NULL, NULL);
    gb_attr_ints(g, t, "perm", 3, sp->y_perm_last ? (int64_t[]){2, 1, 0} : (int64_t[]){1, 0, 2});
    gb_output(g, "Y");
    if (sp->div_reader)
        gb_output(g, "qs");
    if (sp->kt_reader) {
        gb_op(g, "Add", "K2", "kt", "kt", NULL);
        gb_output(g, "K2");
    }
    return g;
}

static const ir_node *find_matmul(const ir_graph *g, const char *out)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (!n->dead && strcmp(n->op_type, "MatMul") == 0 && strcmp(g->values[n->out[0]].name, out) == 0)
            return n;
    }
    return NULL;
}

/* 1 when node n has the INTS attribute name equal to v[0..3). */
static int has_perm(const ir_node *n, const char *name, const int64_t *v)
{
    const int64_t *p;
    if (!ir_attr_find(n, name) || ir_attr_ints(n, name, &p) != 3)
        return 0;
    return p[0] == v[0] && p[1] == v[1] && p[2] == v[2];
}

/* The three passes in their pipeline order. */
static void passes(ir_graph *g)
{
    char err[256];
    assert_int_equal(pass_fuse_matmul_scale(g, err, sizeof err), NORMA_OK);
    assert_int_equal(pass_fuse_matmul_permute(g, err, sizeof err), NORMA_OK);
    assert_int_equal(pass_fuse_matmul_softmax(g, err, sizeof err), NORMA_OK);
    assert_true(gb_producers_consistent(g));
}

/* Runs the passes on a copy; checks the sessions agree; returns the copy's counts of
 * Transposes, Divs/Muls and Softmaxes left in *nt, *nd and *ns. */
static void check3(const spec *sp, int *nt, int *nd, int *ns)
{
    ir_graph *g = build(sp);
    passes(g);
    *nt = gb_count(g, "Transpose");
    *nd = gb_count(g, "Div") + gb_count(g, "Mul");
    *ns = gb_count(g, "Softmax");
    ir_graph_free(g);

    g = build(sp);
    int64_t xd[3] = {sp->L, sp->H, sp->d};
    tu_seed(41);
    ir_tensor *x[3] = {gb_random(3, xd, -2, 2), gb_random(3, xd, -2, 2), gb_random(3, xd, -2, 2)};
    for (int threads = 1; threads <= 2; threads++) {
        size_t n0, n1;
        static const char *const names[3] = {"q", "k", "v"};
        float *ref = gb_session_run(g, 3, names, x, "all", threads, &n0);
        float *got = gb_session_run(g, 3, names, x, NULL, threads, &n1);
        assert_int_equal(n0, n1);
        double e = tu_max_rel_err(got, ref, n0, 1e-5, 1e-4);
        if (e > 1)
            fail_msg("L=%lld heads=%lld d=%lld threads=%d: rel err %g", (long long)sp->L, (long long)sp->H,
                     (long long)sp->d, threads, e);
        free(ref);
        free(got);
    }
    for (int i = 0; i < 3; i++)
        ir_tensor_free(x[i]);
    ir_graph_free(g);
}

static void check(const spec *sp, int *nt, int *nd)
{
    int ns;
    check3(sp, nt, nd, &ns);
}

static void attention_reads_its_transposes_and_scale_in_place(void **state)
{
    (void)state;
    static const spec shapes[] = {
        {13, 3, 7, 2.6457513f, 0, 0, 0, 0, 0}, /* awkward sizes, scale sqrt(7) */
        {37, 2, 16, 4.0f, 1, 1, 0, 0, 0},      /* Mul(c, q) with c of shape (1) */
        {70, 4, 33, 0.125f, 0, 0, 0, 0, 0},    /* several panels per head */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int nt, nd, ns;
        check3(&shapes[i], &nt, &nd, &ns);
        assert_int_equal(nt, 0);
        assert_int_equal(nd, 0);
        assert_int_equal(ns, 0);
    }
    /* the attributes the passes set */
    ir_graph *g = build(&shapes[0]);
    passes(g);
    const ir_node *m1 = find_matmul(g, "p"), *m2 = find_matmul(g, "Y");
    assert_non_null(m1);
    assert_non_null(m2);
    assert_string_equal(m1->domain, "norma");
    assert_float_equal(ir_attr_float(m1, "alpha", 1), 1.0f / 2.6457513f, 1e-7);
    assert_true(has_perm(m1, "perm_a", (int64_t[]){1, 0, 2}));
    assert_true(has_perm(m1, "perm_b", (int64_t[]){1, 2, 0}));
    assert_false(ir_attr_find(m1, "perm_y"));
    assert_int_equal(ir_attr_int(m1, "softmax", 0), 1);
    assert_int_equal(ir_attr_int(m2, "softmax", 0), 0);
    assert_true(has_perm(m2, "perm_b", (int64_t[]){1, 0, 2}));
    assert_true(has_perm(m2, "perm_y", (int64_t[]){1, 0, 2}));
    assert_false(ir_attr_find(m2, "perm_a"));
    assert_string_equal(g->values[m1->in[0]].name, "q");
    assert_string_equal(g->values[m1->in[1]].name, "k");
    assert_string_equal(g->values[m2->in[1]].name, "v");
    ir_graph_free(g);
}

static void guards_keep_what_the_matmul_cannot_take(void **state)
{
    (void)state;
    int nt, nd;
    spec s = {13, 3, 7, 2.0f, 0, 0, 1, 0, 0}; /* the Div's output is a graph output */
    check(&s, &nt, &nd);
    assert_int_equal(nd, 1);
    assert_int_equal(nt, 1); /* q's Transpose feeds the Div, not the MatMul */
    s = (spec){13, 3, 7, 2.0f, 0, 2, 0, 0, 0}; /* a scale of d values */
    check(&s, &nt, &nd);
    assert_int_equal(nd, 1);
    assert_int_equal(nt, 1);
    s = (spec){13, 3, 7, 0.0f, 1, 0, 0, 0, 0}; /* Mul by zero: 0 * inf is NaN, not 0 */
    check(&s, &nt, &nd);
    assert_int_equal(nd, 1);
    s = (spec){13, 3, 7, INFINITY, 0, 1, 0, 0, 0}; /* Div by infinity */
    check(&s, &nt, &nd);
    assert_int_equal(nd, 1);
    s = (spec){13, 3, 7, 2.0f, 0, 0, 0, 1, 0}; /* k's Transpose has a second reader */
    check(&s, &nt, &nd);
    assert_int_equal(nt, 1);
    assert_int_equal(nd, 0);
    s = (spec){7, 3, 7, 2.0f, 0, 0, 0, 0, 1}; /* the output perm moves the last axis */
    check(&s, &nt, &nd);
    assert_int_equal(nt, 1);
    int ns;
    s = (spec){13, 3, 7, 2.0f, 0, 0, 0, 0, 0, 1}; /* Softmax over axis 1 */
    check3(&s, &nt, &nd, &ns);
    assert_int_equal(ns, 1);
    assert_int_equal(nt, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attention_reads_its_transposes_and_scale_in_place),
        cmocka_unit_test(guards_keep_what_the_matmul_cannot_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
