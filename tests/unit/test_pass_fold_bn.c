/* The fold-batchnorm pass: every producer kind and layout folds and computes the same
 * outputs as the unfolded graph; every guard leaves the BN in place; the old weights
 * (possibly read-only memory) are never written. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "testutil.h"
#include "kernels/act.h"
#include "graph_builder.h"
#include "loader/loader.h"
#include "passes/passes.h"

typedef struct spec {
    const char *op; /* Conv, ConvTranspose, Gemm, MatMul */
    int64_t opset;
    int xrank;
    int64_t xdims[5];
    int wrank;
    int64_t wdims[5];
    int has_bias;
    int64_t bias_rank, bias_dims[2];
    int64_t group;
    int transB;
    float alpha, beta; /* Gemm; 0 = absent */
    int64_t M;         /* BN channels */
    /* guards */
    int scale_is_input, w_is_input, w_is_input_with_default, extra_consumer, x_is_output;
    int training, bn_extra_out, fused, spatial0;
} spec;

static ir_graph *build(const spec *sp)
{
    tu_seed(1234);
    ir_graph *g = gb_graph(sp->opset);
    gb_input(g, "X", sp->xrank, sp->xdims);
    if (sp->w_is_input) {
        gb_input(g, "W", sp->wrank, sp->wdims);
    } else {
        gb_const(g, "W", sp->wrank, sp->wdims, NULL, -1, 1);
        if (sp->w_is_input_with_default)
            gb_input(g, "W", sp->wrank, sp->wdims);
    }
    int64_t M = sp->M;
    if (sp->has_bias) {
        if (sp->bias_rank)
            gb_const(g, "b", (int)sp->bias_rank, sp->bias_dims, NULL, -1, 1);
        else
            gb_const(g, "b", 1, &M, NULL, -1, 1);
    }
    if (sp->scale_is_input)
        gb_input(g, "scale", 1, &M);
    else
        gb_const(g, "scale", 1, &M, NULL, 0.5f, 2);
    gb_const(g, "B", 1, &M, NULL, -1, 1);
    gb_const(g, "mean", 1, &M, NULL, -1, 1);
    gb_const(g, "var", 1, &M, NULL, 0.1f, 2);
    const char *pin[] = {"X", "W", "b"};
    const char *pout[] = {"t"};
    int p = gb_node(g, sp->op, "prod", sp->has_bias ? 3 : 2, pin, 1, pout);
    if (sp->group)
        gb_attr_i(g, p, "group", sp->group);
    if (sp->transB)
        gb_attr_i(g, p, "transB", 1);
    if (sp->alpha)
        gb_attr_f(g, p, "alpha", sp->alpha);
    if (sp->beta)
        gb_attr_f(g, p, "beta", sp->beta == -1 ? 0.0f : sp->beta);
    if (sp->fused) {
        g->nodes[p].fused_act = ACT_RELU;
    }
    /* value ranks as a model's value_info would give them */
    int t = ir_find_value(g, "t");
    g->values[t].rank = strcmp(sp->op, "MatMul") == 0 ? sp->xrank : -1;
    const char *bin[] = {"t", "scale", "B", "mean", "var"};
    const char *bout[] = {"Y", "rm", "rv"};
    int bn = gb_node(g, "BatchNormalization", "bn", 5, bin, sp->bn_extra_out ? 3 : 1, bout);
    gb_attr_f(g, bn, "epsilon", 1e-3f);
    if (sp->training)
        gb_attr_i(g, bn, "training_mode", 1);
    if (sp->spatial0)
        gb_attr_i(g, bn, "spatial", 0);
    gb_output(g, "Y");
    if (sp->extra_consumer) {
        const char *iin[] = {"t"}, *iout[] = {"t2"};
        gb_node(g, "Identity", "id", 1, iin, 1, iout);
        gb_output(g, "t2");
    }
    if (sp->x_is_output)
        gb_output(g, "t");
    return g;
}

static ir_tensor **make_inputs(const ir_graph *g)
{
    ir_tensor **ins = calloc((size_t)g->n_inputs, sizeof(ir_tensor *));
    tu_seed(99);
    for (int i = 0; i < g->n_inputs; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        int pos = strcmp(v->name, "scale") == 0;
        ins[i] = gb_random(v->rank, v->dims, pos ? 0.5f : -2, 2);
    }
    return ins;
}

/* Runs the pass on a copy; returns whether the BN was folded after checking outputs. */
static int fold_and_compare(const spec *sp)
{
    ir_graph *g0 = build(sp), *g1 = build(sp);
    char err[256] = "";
    assert_int_equal(pass_fold_batchnorm(g1, err, sizeof err), NORMA_OK);
    int folded = gb_count(g1, "BatchNormalization") == 0;
    ir_tensor **ins = make_inputs(g0);
    ir_tensor *o0[4] = {0}, *o1[4] = {0};
    if (gb_run(g0, ins, o0, err, sizeof err))
        fail_msg("unfolded graph: %s", err);
    if (gb_run(g1, ins, o1, err, sizeof err))
        fail_msg("folded graph: %s", err);
    for (int k = 0; k < g0->n_outputs; k++) {
        assert_int_equal(ir_tensor_numel(o0[k]), ir_tensor_numel(o1[k]));
        double e = tu_max_rel_err(o1[k]->data, o0[k]->data, ir_tensor_numel(o0[k]), 1e-5, 1e-4);
        if (e > 1.0)
            fail_msg("%s: output %d differs after folding (rel err %g)", sp->op, k, e);
        ir_tensor_free(o0[k]);
        ir_tensor_free(o1[k]);
    }
    if (folded) {
        /* the output keeps its name and the folded producer writes it */
        const ir_node *p = &g1->nodes[0];
        assert_string_equal(g1->values[p->out[0]].name, "Y");
        assert_int_equal(p->n_in, 3);
        assert_true(g1->values[p->in[1]].constant->owns_data);
        assert_int_equal(ir_find_value(g1, "scale"), -1); /* BN's constants were dropped */
    }
    for (int i = 0; i < g0->n_inputs; i++)
        ir_tensor_free(ins[i]);
    free(ins);
    ir_graph_free(g0);
    ir_graph_free(g1);
    return folded;
}

static void fold_bn_conv_2d_1d_3d_with_and_without_bias(void **state)
{
    (void)state;
    spec a = {.op = "Conv", .opset = 15, .xrank = 4, .xdims = {2, 3, 6, 5}, .wrank = 4,
              .wdims = {4, 3, 3, 2}, .has_bias = 1, .M = 4};
    assert_true(fold_and_compare(&a));
    a.has_bias = 0;
    assert_true(fold_and_compare(&a));
    spec b = {.op = "Conv", .opset = 9, .xrank = 3, .xdims = {2, 3, 9}, .wrank = 3, .wdims = {5, 3, 4}, .M = 5};
    assert_true(fold_and_compare(&b));
    spec c = {.op = "Conv", .opset = 7, .xrank = 5, .xdims = {1, 2, 4, 3, 5}, .wrank = 5,
              .wdims = {3, 2, 2, 2, 3}, .has_bias = 1, .M = 3};
    assert_true(fold_and_compare(&c));
}

static void fold_bn_grouped_and_depthwise_conv(void **state)
{
    (void)state;
    spec a = {.op = "Conv", .opset = 15, .xrank = 4, .xdims = {2, 4, 5, 5}, .wrank = 4,
              .wdims = {6, 2, 3, 3}, .has_bias = 1, .group = 2, .M = 6};
    assert_true(fold_and_compare(&a));
    spec b = {.op = "Conv", .opset = 15, .xrank = 4, .xdims = {1, 5, 4, 4}, .wrank = 4,
              .wdims = {5, 1, 3, 3}, .group = 5, .M = 5};
    assert_true(fold_and_compare(&b));
}

static void fold_bn_conv_transpose_grouped(void **state)
{
    (void)state;
    /* C=4, group 2, M/group=3 -> M=6; W (C, M/group, kH, kW) */
    spec a = {.op = "ConvTranspose", .opset = 15, .xrank = 4, .xdims = {2, 4, 3, 3}, .wrank = 4,
              .wdims = {4, 3, 2, 2}, .has_bias = 1, .group = 2, .M = 6};
    assert_true(fold_and_compare(&a));
    spec b = {.op = "ConvTranspose", .opset = 15, .xrank = 3, .xdims = {1, 3, 5}, .wrank = 3,
              .wdims = {3, 4, 3}, .M = 4};
    assert_true(fold_and_compare(&b));
}

static void fold_bn_gemm_layouts_and_coefficients(void **state)
{
    (void)state;
    spec a = {.op = "Gemm", .opset = 13, .xrank = 2, .xdims = {3, 5}, .wrank = 2, .wdims = {7, 5},
              .has_bias = 1, .transB = 1, .M = 7};
    assert_true(fold_and_compare(&a)); /* PyTorch Linear layout */
    spec b = {.op = "Gemm", .opset = 13, .xrank = 2, .xdims = {3, 5}, .wrank = 2, .wdims = {5, 7}, .M = 7};
    assert_true(fold_and_compare(&b)); /* no C: one is created */
    spec c = {.op = "Gemm", .opset = 13, .xrank = 2, .xdims = {4, 5}, .wrank = 2, .wdims = {5, 6},
              .has_bias = 1, .bias_rank = 2, .bias_dims = {4, 1}, .alpha = 1.5f, .beta = 0.25f, .M = 6};
    assert_true(fold_and_compare(&c)); /* C (N,1) broadcast, alpha, beta */
    spec d = {.op = "Gemm", .opset = 13, .xrank = 2, .xdims = {4, 5}, .wrank = 2, .wdims = {6, 5},
              .has_bias = 1, .bias_rank = 2, .bias_dims = {1, 6}, .transB = 1, .beta = -1, .M = 6};
    assert_true(fold_and_compare(&d)); /* beta = 0: C ignored, replaced with beta = 1 */
}

static void fold_bn_matmul_2d_becomes_gemm_nd_is_kept(void **state)
{
    (void)state;
    spec a = {.op = "MatMul", .opset = 13, .xrank = 2, .xdims = {3, 5}, .wrank = 2, .wdims = {5, 4}, .M = 4};
    assert_true(fold_and_compare(&a));
    ir_graph *g = build(&a);
    char err[256];
    assert_int_equal(pass_fold_batchnorm(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "MatMul"), 0);
    assert_int_equal(gb_count(g, "Gemm"), 1);
    ir_graph_free(g);
    /* (B,T,K) x (K,M): BN's axis 1 is T, not M */
    spec b = {.op = "MatMul", .opset = 13, .xrank = 3, .xdims = {2, 4, 5}, .wrank = 2, .wdims = {5, 4}, .M = 4};
    assert_false(fold_and_compare(&b));
}

/* Exporters write no value_info: A's rank is found through the ops before it (here
 * Gemm -> Relu), and an A of unknown rank keeps the BN. */
static ir_graph *matmul_chain(int unknown_input_rank)
{
    tu_seed(55);
    ir_graph *g = gb_graph(13);
    int64_t xd[] = {3, 5}, w0[] = {6, 5}, w1[] = {6, 4}, M = 4;
    gb_input(g, "X", 2, xd);
    if (unknown_input_rank)
        g->values[ir_find_value(g, "X")].rank = -1;
    gb_const(g, "W0", 2, w0, NULL, -1, 1);
    gb_const(g, "W1", 2, w1, NULL, -1, 1);
    gb_const(g, "scale", 1, &M, NULL, 0.5f, 2);
    gb_const(g, "B", 1, &M, NULL, -1, 1);
    gb_const(g, "mean", 1, &M, NULL, -1, 1);
    gb_const(g, "var", 1, &M, NULL, 0.1f, 2);
    const char *in0[] = {"X", "W0"}, *out0[] = {"h"};
    if (unknown_input_rank) {
        const char *lin[] = {"X"}, *lout[] = {"h"};
        int l = gb_node(g, "LRN", "lrn", 1, lin, 1, lout);
        gb_attr_i(g, l, "size", 1);
        g->values[ir_find_value(g, "X")].dims[1] = 6;
    } else {
        int n = gb_node(g, "Gemm", "fc0", 2, in0, 1, out0);
        gb_attr_i(g, n, "transB", 1);
    }
    const char *rin[] = {"h"}, *rout[] = {"r"};
    gb_node(g, "Relu", "relu", 1, rin, 1, rout);
    const char *min[] = {"r", "W1"}, *mout[] = {"t"};
    gb_node(g, "MatMul", "mm", 2, min, 1, mout);
    const char *bin[] = {"t", "scale", "B", "mean", "var"}, *bout[] = {"Y"};
    gb_node(g, "BatchNormalization", "bn", 5, bin, 1, bout);
    gb_output(g, "Y");
    return g;
}

static void fold_bn_matmul_rank_found_through_producers(void **state)
{
    (void)state;
    char err[256];
    ir_graph *g0 = matmul_chain(0), *g1 = matmul_chain(0);
    assert_int_equal(pass_fold_batchnorm(g1, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g1, "BatchNormalization"), 0);
    assert_int_equal(gb_count(g1, "MatMul"), 0);
    int64_t xd[] = {3, 5};
    ir_tensor *x = gb_random(2, xd, -2, 2), *o0[1], *o1[1];
    if (gb_run(g0, &x, o0, err, sizeof err) || gb_run(g1, &x, o1, err, sizeof err))
        fail_msg("%s", err);
    assert_true(tu_max_rel_err(o1[0]->data, o0[0]->data, 12, 1e-5, 1e-4) <= 1.0);
    ir_tensor_free(o0[0]);
    ir_tensor_free(o1[0]);
    ir_tensor_free(x);
    ir_graph_free(g0);
    ir_graph_free(g1);
    g1 = matmul_chain(1);
    assert_int_equal(pass_fold_batchnorm(g1, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g1, "BatchNormalization"), 1);
    ir_graph_free(g1);
}

static void fold_bn_guards_keep_the_batchnorm(void **state)
{
    (void)state;
    spec base = {.op = "Conv", .opset = 15, .xrank = 4, .xdims = {2, 3, 4, 4}, .wrank = 4,
                 .wdims = {4, 3, 3, 3}, .has_bias = 1, .M = 4};
    spec s;
    s = base, s.scale_is_input = 1;
    assert_false(fold_and_compare(&s));
    s = base, s.w_is_input = 1;
    assert_false(fold_and_compare(&s));
    s = base, s.w_is_input_with_default = 1;
    assert_false(fold_and_compare(&s));
    s = base, s.extra_consumer = 1;
    assert_false(fold_and_compare(&s));
    s = base, s.x_is_output = 1;
    assert_false(fold_and_compare(&s));
    s = base, s.fused = 1;
    assert_false(fold_and_compare(&s));
    s = base, s.opset = 7, s.spatial0 = 1;
    {
        ir_graph *g = build(&s);
        char err[256];
        assert_int_equal(pass_fold_batchnorm(g, err, sizeof err), NORMA_OK);
        assert_int_equal(gb_count(g, "BatchNormalization"), 1);
        ir_graph_free(g);
    }
    /* training mode and extra outputs: checked structurally (outputs differ by design) */
    s = base, s.training = 1;
    ir_graph *g = build(&s);
    char err[256];
    assert_int_equal(pass_fold_batchnorm(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "BatchNormalization"), 1);
    ir_graph_free(g);
    s = base, s.bn_extra_out = 1, s.opset = 9;
    g = build(&s);
    assert_int_equal(pass_fold_batchnorm(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "BatchNormalization"), 1);
    ir_graph_free(g);
}

/* The old weight may live in read-only mapped memory: the pass must not write it. */
static void fold_bn_never_writes_the_old_weights(void **state)
{
    (void)state;
    spec a = {.op = "Conv", .opset = 15, .xrank = 4, .xdims = {1, 3, 4, 4}, .wrank = 4,
              .wdims = {4, 3, 3, 3}, .has_bias = 1, .M = 4};
    ir_graph *g = build(&a);
    ir_tensor *w = g->values[ir_find_value(g, "W")].constant;
    ir_tensor *b = g->values[ir_find_value(g, "b")].constant;
    size_t wn = ir_tensor_nbytes(w), bn = ir_tensor_nbytes(b);
    void *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(page != MAP_FAILED);
    memcpy(page, w->data, wn);
    memcpy((char *)page + 4096, b->data, bn);
    free(w->data);
    free(b->data);
    w->data = page;
    b->data = (char *)page + 4096;
    w->owns_data = b->owns_data = 0;
    assert_int_equal(mprotect(page, 8192, PROT_READ), 0);
    float first = ((const float *)page)[0];
    char err[256];
    assert_int_equal(pass_fold_batchnorm(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "BatchNormalization"), 0);
    assert_true(((const float *)page)[0] == first);
    ir_graph_free(g);
    munmap(page, 8192);
}

/* The PyTorch exports bundled in models/: after the passes no BatchNormalization is
 * left and every Relu is fused. mlp_bn's MatMul weight comes from a Transpose that
 * constant folding must evaluate first, so it needs the Transpose op in the build. */
/* A weight the pass may write (owned here) that only the producer reads is scaled where
 * it is, with no copy; the folded graph computes what the unfolded one does. */
static void fold_bn_scales_a_sole_reader_weight_in_place(void **state)
{
    (void)state;
    spec a = {.op = "Conv", .opset = 15, .xrank = 4, .xdims = {1, 3, 5, 5}, .wrank = 4,
              .wdims = {4, 3, 3, 3}, .has_bias = 1, .M = 4};
    ir_graph *g0 = build(&a), *g1 = build(&a);
    const void *old = g1->values[ir_find_value(g1, "W")].constant->data;
    char err[256];
    assert_int_equal(pass_fold_batchnorm(g1, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g1, "BatchNormalization"), 0);
    const ir_node *p = gb_find(g1, "Conv");
    assert_non_null(p);
    assert_ptr_equal(g1->values[p->in[1]].constant->data, old);
    assert_true(g1->values[p->in[1]].constant->owns_data);
    gb_compare(g0, g1, -2, 2, 1e-5, 1e-4);
    ir_graph_free(g0);
    ir_graph_free(g1);
}

/* A weight another node also reads keeps its values: the fold scales a copy. */
static void fold_bn_copies_a_weight_another_node_reads(void **state)
{
    (void)state;
    spec a = {.op = "Gemm", .opset = 13, .xrank = 2, .xdims = {3, 5}, .wrank = 2, .wdims = {5, 4},
              .has_bias = 1, .M = 4};
    ir_graph *g = build(&a);
    const char *iin[] = {"W"}, *iout[] = {"W_out"};
    gb_node(g, "Identity", "w_reader", 1, iin, 1, iout);
    gb_output(g, "W_out");
    const ir_tensor *w = g->values[ir_find_value(g, "W")].constant;
    float before[20];
    memcpy(before, w->data, sizeof before);
    char err[256];
    assert_int_equal(pass_fold_batchnorm(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "BatchNormalization"), 0);
    w = g->values[ir_find_value(g, "W")].constant;
    assert_memory_equal(w->data, before, sizeof before);
    const ir_node *p = gb_find(g, "Gemm");
    assert_ptr_not_equal(g->values[p->in[1]].constant->data, w->data);
    ir_graph_free(g);
}

static void fold_bn_bundled_models_have_no_batchnorm_left(void **state)
{
    (void)state;
    const char *models[] = {"conv1d_bn", "conv3d_bn", "convtranspose_bn", "mlp_bn", "resnet", "mobilenetv2"};
    int any;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        if (strcmp(models[i], "mlp_bn") == 0 && !op_lookup("", "Transpose", 13, &any))
            continue;
        ir_graph *g;
        ld_store *st;
        char err[512];
        if (ld_load_file(tu_model_path(models[i], "model.onnx"), 1, &g, &st, err, sizeof err))
            fail_msg("%s", err);
        int bn_before = gb_count(g, "BatchNormalization");
        assert_true(bn_before > 0 || strcmp(models[i], "resnet") == 0 || strcmp(models[i], "mobilenetv2") == 0);
        assert_int_equal(pass_run_all(g, NULL, err, sizeof err), NORMA_OK);
        if (gb_count(g, "BatchNormalization") != 0)
            fail_msg("%s: %d of %d BatchNormalization left", models[i], gb_count(g, "BatchNormalization"), bn_before);
        int relu_left = gb_count(g, "Relu");
        if (strcmp(models[i], "resnet") != 0 && relu_left != 0) /* resnet: Relu after Add */
            fail_msg("%s: %d Relu not fused", models[i], relu_left);
        if (gb_count(g, "Clip") != 0)
            fail_msg("%s: %d Clip not fused", models[i], gb_count(g, "Clip"));
        ir_graph_free(g);
        ld_store_free(st);
    }
}

/* densenet's pre-activation BNs follow a Concat or a pooling: those stay, every BN
 * after a Conv goes. */
static void fold_bn_densenet_keeps_only_bn_after_non_conv(void **state)
{
    (void)state;
    ir_graph *g;
    ld_store *st;
    char err[512];
    if (ld_load_file(tu_model_path("densenet", "model.onnx"), 1, &g, &st, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(pass_run_all(g, NULL, err, sizeof err), NORMA_OK);
    int left = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (strcmp(g->nodes[i].op_type, "BatchNormalization") != 0)
            continue;
        left++;
        int p = pass_producer(g, g->nodes[i].in[0]);
        if (p >= 0 && strcmp(g->nodes[p].op_type, "Conv") == 0 &&
            ir_consumer_count(g, g->nodes[i].in[0]) == 1)
            fail_msg("BN '%s' after a single-use Conv was not folded", g->nodes[i].name);
    }
    assert_true(left > 0 && left < 16);
    ir_graph_free(g);
    ld_store_free(st);
}

/* End to end through a session, passes on and off (needs the Conv op in this build). */
static void fold_bn_session_outputs_match_unoptimized(void **state)
{
    (void)state;
    int any;
    if (!op_lookup("", "Conv", 15, &any) || !op_lookup("", "Gemm", 15, &any))
        skip();
    spec specs[] = {
        {.op = "Conv", .opset = 15, .xrank = 4, .xdims = {2, 4, 6, 6}, .wrank = 4, .wdims = {6, 2, 3, 3},
         .has_bias = 1, .group = 2, .M = 6},
        {.op = "Gemm", .opset = 15, .xrank = 2, .xdims = {3, 5}, .wrank = 2, .wdims = {7, 5}, .has_bias = 1,
         .transB = 1, .M = 7},
    };
    for (int i = 0; i < 2; i++) {
        ir_graph *g = build(&specs[i]);
        size_t size;
        void *bytes = gb_serialize(g, &size);
        ir_tensor **ins = make_inputs(g);
        float *res[2] = {0};
        size_t n = 0;
        for (int opt = 0; opt < 2; opt++) {
            norma_options o;
            norma_options_init(&o);
            o.optimize = opt;
            norma_session *s;
            if (norma_session_create_from_memory(bytes, size, &o, &s))
                fail_msg("%s", norma_last_error());
            norma_tensor in = {.name = "X", .dtype = NORMA_FLOAT, .rank = ins[0]->rank, .data = ins[0]->data};
            memcpy(in.dims, ins[0]->dims, sizeof in.dims);
            norma_tensor out = {0};
            if (norma_run(s, &in, 1, &out, 1))
                fail_msg("%s", norma_last_error());
            n = 1;
            for (int d = 0; d < out.rank; d++)
                n *= (size_t)out.dims[d];
            res[opt] = malloc(n * sizeof(float));
            memcpy(res[opt], out.data, n * sizeof(float));
            norma_session_free(s);
        }
        assert_true(tu_max_rel_err(res[1], res[0], n, 1e-5, 1e-4) <= 1.0);
        free(res[0]);
        free(res[1]);
        ir_tensor_free(ins[0]);
        free(ins);
        free(bytes);
        ir_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fold_bn_conv_2d_1d_3d_with_and_without_bias),
        cmocka_unit_test(fold_bn_grouped_and_depthwise_conv),
        cmocka_unit_test(fold_bn_conv_transpose_grouped),
        cmocka_unit_test(fold_bn_gemm_layouts_and_coefficients),
        cmocka_unit_test(fold_bn_matmul_2d_becomes_gemm_nd_is_kept),
        cmocka_unit_test(fold_bn_matmul_rank_found_through_producers),
        cmocka_unit_test(fold_bn_guards_keep_the_batchnorm),
        cmocka_unit_test(fold_bn_never_writes_the_old_weights),
        cmocka_unit_test(fold_bn_scales_a_sole_reader_weight_in_place),
        cmocka_unit_test(fold_bn_copies_a_weight_another_node_reads),
        cmocka_unit_test(fold_bn_bundled_models_have_no_batchnorm_left),
        cmocka_unit_test(fold_bn_densenet_keeps_only_bn_after_non_conv),
        cmocka_unit_test(fold_bn_session_outputs_match_unoptimized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
