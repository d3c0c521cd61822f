/* The fuse-residual pass: Conv -> Add(R) [-> Relu] becomes one internal Conv that adds
 * R in its epilogue; a session with the pass gives the same outputs as one without it
 * (exact-shape residuals through the GEMM epilogue, including edge tiles and 1x1
 * convolutions read in place; broadcast residuals and depthwise convolutions through
 * the post-pass loop); guards keep the Add when the Conv output has other readers. */
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
    int64_t C, M, H, W, k, group;
    int r_bcast;       /* R is (1, M, 1, 1) */
    int swap;          /* Add(R, conv) */
    int relu;          /* Relu after the Add */
    int conv_is_output; /* guard: the conv output is also a graph output */
} spec;

static ir_graph *build(const spec *sp)
{
    tu_seed(7);
    ir_graph *g = gb_graph(13);
    int64_t x[] = {1, sp->C, sp->H, sp->W}, w[] = {sp->M, sp->C / sp->group, sp->k, sp->k}, b[] = {sp->M};
    int64_t oh = sp->H - sp->k + 1, ow = sp->W - sp->k + 1; /* no padding */
    int64_t r[] = {1, sp->M, sp->r_bcast ? 1 : oh, sp->r_bcast ? 1 : ow};
    gb_input(g, "X", 4, x);
    gb_input(g, "R", 4, r);
    gb_const(g, "W", 4, w, NULL, -0.5f, 0.5f);
    gb_const(g, "B", 1, b, NULL, -1, 1);
    const char *in[] = {"X", "W", "B"}, *out[] = {"t"};
    int c = gb_node(g, "Conv", "conv", 3, in, 1, out);
    gb_attr_i(g, c, "group", sp->group);
    gb_op(g, "Add", sp->relu ? "u" : "Y", sp->swap ? "R" : "t", sp->swap ? "t" : "R", NULL);
    if (sp->relu)
        gb_op(g, "Relu", "Y", "u", NULL, NULL);
    gb_output(g, "Y");
    if (sp->conv_is_output)
        gb_output(g, "t");
    return g;
}

/* Returns whether the pass removed the Add; fails when outputs differ. */
static int check(const spec *sp)
{
    ir_graph *g = build(sp), *g1 = build(sp);
    char err[256];
    assert_int_equal(pass_fuse_residual(g1, err, sizeof err), NORMA_OK);
    int fused = gb_count(g1, "Add") == 0;
    if (fused) {
        assert_true(gb_producers_consistent(g1));
        assert_int_equal(gb_count(g1, "Relu"), 0);
    }
    tu_seed(8);
    ir_tensor *ins[2];
    for (int i = 0; i < 2; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        ins[i] = gb_random(v->rank, v->dims, -2, 2);
    }
    size_t n0, n1;
    static const char *const names[2] = {"X", "R"};
    float *y0 = gb_session_run(g, 2, names, ins, "fuse-residual", 0, &n0);
    float *y1 = gb_session_run(g, 2, names, ins, NULL, 0, &n1);
    assert_int_equal(n0, n1);
    double e = tu_max_rel_err(y1, y0, n0, 1e-5, 1e-4);
    if (e > 1.0)
        fail_msg("C=%lld M=%lld k=%lld group=%lld: fused output differs (rel err %g)", (long long)sp->C,
                 (long long)sp->M, (long long)sp->k, (long long)sp->group, e);
    free(y0);
    free(y1);
    for (int i = 0; i < 2; i++)
        ir_tensor_free(ins[i]);
    ir_graph_free(g);
    ir_graph_free(g1);
    return fused;
}

static void fused_conv_matches_unfused(void **state)
{
    (void)state;
    spec s[] = {
        {16, 24, 9, 11, 3, 1, 0, 0, 1, 0},   /* 3x3, edge tiles in rows and columns, Relu */
        {16, 24, 9, 11, 3, 1, 0, 1, 0, 0},   /* Add(R, conv), no Relu */
        {8, 13, 5, 7, 1, 1, 0, 0, 1, 0},     /* 1x1 read in place */
        {5, 37, 17, 19, 1, 1, 0, 1, 1, 0},   /* 1x1, odd sizes */
        {16, 24, 9, 11, 3, 1, 1, 0, 1, 0},   /* broadcast R */
        {16, 16, 9, 11, 3, 16, 0, 0, 1, 0},  /* depthwise, exact R */
        {16, 16, 6, 5, 3, 16, 1, 1, 0, 0},   /* depthwise, broadcast R */
        {12, 36, 30, 30, 3, 1, 0, 0, 1, 0},  /* more than one K block and column chunk */
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        assert_true(check(&s[i]));
}

static void conv_output_with_other_readers_is_not_fused(void **state)
{
    (void)state;
    spec s = {16, 24, 9, 11, 3, 1, 0, 0, 1, 1};
    assert_false(check(&s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fused_conv_matches_unfused),
        cmocka_unit_test(conv_output_with_other_readers_is_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
