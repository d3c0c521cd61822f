/*
 * Control flow (ONNX spec: If, Loop, Scan, SequenceMap). Each runs its subgraph attributes with
 * op_eval_graph, once per branch taken or per iteration, so the output shapes are
 * known only after running: these ops create their outputs (OP_F_RUNTIME_OUTPUTS).
 * The node's last n_outer inputs are the outer-scope values its subgraphs read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/eval.h"
#include "ops/op.h"

static const ir_graph *graph_attr(op_ctx *c, const char *name)
{
    const ir_attr *a = ir_attr_find(c->node, name);
    return a && a->type == IR_ATTR_GRAPH ? a->g : NULL;
}

static int n_explicit(const op_ctx *c)
{
    return c->n_in - c->node->n_outer;
}

static ir_tensor *const *outer_inputs(const op_ctx *c)
{
    return c->in + n_explicit(c);
}

/* Reads a one-element bool (or number) tensor as a truth value. */
static int truth(const ir_tensor *t, int *out)
{
    if (!t || !t->data || ir_tensor_numel(t) != 1 || !ir_dtype_size(t->dtype))
        return -1;
    *out = ir_tensor_get_f64(t, 0) != 0;
    return 0;
}

static void free_all(ir_tensor **t, int n)
{
    for (int i = 0; i < n; i++) {
        ir_tensor_free(t[i]);
        t[i] = NULL;
    }
}

/* ---- If ---- */

static int if_infer(op_ctx *c)
{
    const ir_graph *tg = graph_attr(c, "then_branch"), *eg = graph_attr(c, "else_branch");
    if (!tg || !eg)
        return op_fail(c, NORMA_ERR_MODEL, "then_branch and else_branch graphs are required");
    if (tg->n_outputs != c->n_out || eg->n_outputs != c->n_out)
        return op_fail(c, NORMA_ERR_MODEL, "the branches have %d and %d outputs, the node %d", tg->n_outputs,
                       eg->n_outputs, c->n_out);
    if (tg->n_inputs || eg->n_inputs)
        return op_fail(c, NORMA_ERR_MODEL, "If branches take no inputs");
    return NORMA_OK;
}

static int if_run(op_ctx *c)
{
    int cond;
    if (truth(c->in[0], &cond))
        return op_fail(c, NORMA_ERR_RUNTIME, "'cond' must hold one value");
    const ir_graph *g = graph_attr(c, cond ? "then_branch" : "else_branch");
    ir_tensor *outs[64];
    if (g->n_outputs > 64)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "more than 64 outputs");
    int rc = op_eval_graph(g, NULL, outer_inputs(c), outs, c->err, c->err_cap);
    if (rc)
        return rc;
    for (int k = 0; k < g->n_outputs; k++) {
        if (!c->out[k]) {
            ir_tensor_free(outs[k]);
            continue;
        }
        rc = op_set_output(c, k, outs[k]);
        outs[k] = NULL;
        if (rc) {
            free_all(outs + k + 1, g->n_outputs - k - 1);
            return rc;
        }
    }
    return NORMA_OK;
}

/* ---- stacking per-iteration slices (Loop's scan outputs, Scan) ---- */

/* Collected slices of one scan output, stacked at the end along `axis`. */
typedef struct stack {
    ir_tensor **items;
    int n, cap;
} stack;

static int stack_push(stack *s, ir_tensor *t)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        ir_tensor **it = realloc(s->items, sizeof(ir_tensor *) * (size_t)cap);
        if (!it)
            return -1;
        s->items = it;
        s->cap = cap;
    }
    s->items[s->n++] = t;
    return 0;
}

static void stack_free(stack *s)
{
    free_all(s->items, s->n);
    free(s->items);
    s->items = NULL;
    s->n = s->cap = 0;
}

/* Stacks s's slices along a new axis `axis` (reversed when reverse): a new tensor in
 * *out. dtype is used when there are no slices. */
static int stack_join(op_ctx *c, const stack *s, int axis, int reverse, int dtype, ir_tensor **out)
{
    *out = NULL;
    if (s->n == 0) {
        *out = ir_tensor_new(dtype ? dtype : NORMA_FLOAT, 1, (int64_t[]){0});
        return *out ? NORMA_OK : op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    }
    const ir_tensor *f = s->items[0];
    if (f->dtype == IR_DTYPE_SEQUENCE || f->dtype == IR_DTYPE_NONE)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "scan outputs must be tensors");
    if (f->rank + 1 > IR_MAX_RANK || axis < 0 || axis > f->rank)
        return op_fail(c, NORMA_ERR_MODEL, "scan output axis %d is out of range for rank %d", axis, f->rank + 1);
    for (int i = 1; i < s->n; i++) {
        const ir_tensor *t = s->items[i];
        if (t->dtype != f->dtype || t->rank != f->rank ||
            memcmp(t->dims, f->dims, sizeof(int64_t) * (size_t)f->rank) != 0)
            return op_fail(c, NORMA_ERR_SHAPE, "iteration %d produced a scan output of another shape or dtype", i);
    }
    int64_t dims[IR_MAX_RANK];
    for (int d = 0, k = 0; d <= f->rank; d++)
        dims[d] = d == axis ? s->n : f->dims[k++];
    ir_tensor *y = ir_tensor_new(f->dtype, f->rank + 1, dims);
    if (!y)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory stacking a scan output");
    size_t es = ir_dtype_size(f->dtype), outer = 1, inner = es;
    for (int d = 0; d < axis; d++)
        outer *= (size_t)f->dims[d];
    for (int d = axis; d < f->rank; d++)
        inner *= (size_t)f->dims[d];
    for (int i = 0; i < s->n; i++) {
        const unsigned char *src = s->items[reverse ? s->n - 1 - i : i]->data;
        unsigned char *dst = y->data;
        for (size_t o = 0; o < outer; o++)
            memcpy(dst + (o * (size_t)s->n + (size_t)i) * inner, src + o * inner, inner);
    }
    *out = y;
    return NORMA_OK;
}

/* Slice i of t along axis (that axis removed), a new tensor. */
static ir_tensor *slice_along(const ir_tensor *t, int axis, int64_t i)
{
    int64_t dims[IR_MAX_RANK];
    for (int d = 0, k = 0; d < t->rank; d++)
        if (d != axis)
            dims[k++] = t->dims[d];
    ir_tensor *y = ir_tensor_new(t->dtype, t->rank - 1, dims);
    if (!y)
        return NULL;
    size_t es = ir_dtype_size(t->dtype), outer = 1, inner = es, n = (size_t)t->dims[axis];
    for (int d = 0; d < axis; d++)
        outer *= (size_t)t->dims[d];
    for (int d = axis + 1; d < t->rank; d++)
        inner *= (size_t)t->dims[d];
    for (size_t o = 0; o < outer; o++)
        memcpy((unsigned char *)y->data + o * inner,
               (const unsigned char *)t->data + (o * n + (size_t)i) * inner, inner);
    return y;
}

/* ---- Loop ---- */

static int loop_infer(op_ctx *c)
{
    const ir_graph *body = graph_attr(c, "body");
    if (!body)
        return op_fail(c, NORMA_ERR_MODEL, "the 'body' graph is required");
    int n_carried = n_explicit(c) - 2;
    if (n_carried < 0)
        return op_fail(c, NORMA_ERR_MODEL, "Loop needs the M and cond inputs (possibly empty)");
    if (body->n_inputs != n_carried + 2)
        return op_fail(c, NORMA_ERR_MODEL, "the body takes %d inputs, expected %d (iteration, cond, %d carried)",
                       body->n_inputs, n_carried + 2, n_carried);
    if (body->n_outputs < n_carried + 1 || c->n_out != body->n_outputs - 1)
        return op_fail(c, NORMA_ERR_MODEL, "the body has %d outputs for %d carried values and %d node outputs",
                       body->n_outputs, n_carried, c->n_out);
    return NORMA_OK;
}

static int loop_run(op_ctx *c)
{
    const ir_graph *body = graph_attr(c, "body");
    int n_carried = n_explicit(c) - 2, n_scan = body->n_outputs - 1 - n_carried;
    int64_t max_trips = INT64_MAX;
    int cond = 1, rc = NORMA_OK;
    if (c->in[0] && c->in[0]->data) {
        if (ir_tensor_numel(c->in[0]) != 1)
            return op_fail(c, NORMA_ERR_RUNTIME, "'M' must hold one value");
        max_trips = ir_tensor_get_i64(c->in[0], 0);
    }
    if (c->in[1] && truth(c->in[1], &cond))
        return op_fail(c, NORMA_ERR_RUNTIME, "'cond' must hold one value");
    ir_tensor **carried = calloc((size_t)n_carried + 1, sizeof(ir_tensor *));
    ir_tensor **ins = calloc((size_t)n_carried + 2, sizeof(ir_tensor *));
    ir_tensor **outs = calloc((size_t)body->n_outputs + 1, sizeof(ir_tensor *));
    stack *scans = calloc((size_t)n_scan + 1, sizeof(stack));
    ir_tensor *iter = ir_tensor_new(NORMA_INT64, 0, NULL), *cond_t = ir_tensor_new(NORMA_BOOL, 0, NULL);
    if (!carried || !ins || !outs || !scans || !iter || !cond_t) {
        rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_carried; i++)
        if (!(carried[i] = ir_value_clone(c->in[2 + i]))) {
            rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
            goto done;
        }
    for (int64_t it = 0; it < max_trips && cond; it++) {
#ifdef NORMA_FUZZ_LOOP_LIMIT
        /* A Loop may run forever (no M, a cond the body passes through): valid, but a
         * hang to the fuzzer. Fuzzing builds only. */
        if (it == NORMA_FUZZ_LOOP_LIMIT) {
            rc = op_fail(c, NORMA_ERR_RUNTIME, "more than %d iterations (a limit of fuzzing builds)",
                         NORMA_FUZZ_LOOP_LIMIT);
            goto done;
        }
#endif
        *(int64_t *)iter->data = it;
        *(unsigned char *)cond_t->data = (unsigned char)cond;
        ins[0] = iter;
        ins[1] = cond_t;
        for (int i = 0; i < n_carried; i++)
            ins[2 + i] = carried[i];
        if ((rc = op_eval_graph(body, ins, outer_inputs(c), outs, c->err, c->err_cap)))
            goto done;
        if (truth(outs[0], &cond)) {
            rc = op_fail(c, NORMA_ERR_RUNTIME, "the body's condition output must hold one value");
            free_all(outs, body->n_outputs);
            goto done;
        }
        ir_tensor_free(outs[0]);
        for (int i = 0; i < n_carried; i++) {
            ir_tensor_free(carried[i]);
            carried[i] = outs[1 + i];
        }
        for (int k = 0; k < n_scan; k++)
            if (stack_push(&scans[k], outs[1 + n_carried + k])) {
                free_all(outs + 1 + n_carried + k, n_scan - k);
                rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
                goto done;
            }
    }
    for (int i = 0; i < n_carried; i++) {
        if (c->out[i]) {
            rc = op_set_output(c, i, carried[i]);
            carried[i] = NULL;
            if (rc)
                goto done;
        }
    }
    for (int k = 0; k < n_scan; k++) {
        if (!c->out[n_carried + k])
            continue;
        ir_tensor *y;
        int dt = body->values[body->outputs[1 + n_carried + k]].dtype;
        if ((rc = stack_join(c, &scans[k], 0, 0, dt, &y)))
            goto done;
        if ((rc = op_set_output(c, n_carried + k, y)))
            goto done;
    }
done:
    if (carried)
        free_all(carried, n_carried);
    if (scans)
        for (int k = 0; k < n_scan; k++)
            stack_free(&scans[k]);
    free(carried);
    free(ins);
    free(outs);
    free(scans);
    ir_tensor_free(iter);
    ir_tensor_free(cond_t);
    return rc;
}

/* ---- Scan ---- */

typedef struct scan_cfg {
    int n_state, n_in, n_out; /* states, scan inputs, scan outputs */
    int in_axis[64], in_rev[64], out_axis[64], out_rev[64];
} scan_cfg;

static int scan_config(op_ctx *c, scan_cfg *s)
{
    const ir_graph *body = graph_attr(c, "body");
    if (!body)
        return op_fail(c, NORMA_ERR_MODEL, "the 'body' graph is required");
    int first = c->opset < 9 ? 1 : 0; /* opset 8: sequence_lens first */
    int n = n_explicit(c) - first;
    s->n_in = (int)ir_attr_int(c->node, "num_scan_inputs", -1);
    if (s->n_in < 1 || s->n_in > n || s->n_in > 64)
        return op_fail(c, NORMA_ERR_MODEL, "num_scan_inputs %d does not fit %d inputs", s->n_in, n);
    s->n_state = n - s->n_in;
    for (int i = first; i < first + n; i++)
        if (!c->in[i])
            return op_fail(c, NORMA_ERR_MODEL, "input %d (a state or scanned input) is empty", i);
    s->n_out = body->n_outputs - s->n_state;
    if (body->n_inputs != n || s->n_out < 0 || s->n_out > 64 || c->n_out != body->n_outputs)
        return op_fail(c, NORMA_ERR_MODEL, "the body's %d inputs and %d outputs do not match the node's", body->n_inputs,
                       body->n_outputs);
    const int64_t *v;
    int k;
    for (int i = 0; i < 64; i++)
        s->in_axis[i] = s->in_rev[i] = s->out_axis[i] = s->out_rev[i] = 0;
    const char *dir_name = c->opset < 9 ? "directions" : "scan_input_directions";
    if ((k = ir_attr_ints(c->node, dir_name, &v)) >= 0)
        for (int i = 0; i < k && i < s->n_in; i++)
            s->in_rev[i] = v[i] != 0;
    if (c->opset >= 9) {
        if ((k = ir_attr_ints(c->node, "scan_input_axes", &v)) >= 0)
            for (int i = 0; i < k && i < s->n_in; i++)
                s->in_axis[i] = (int)v[i];
        if ((k = ir_attr_ints(c->node, "scan_output_directions", &v)) >= 0)
            for (int i = 0; i < k && i < s->n_out; i++)
                s->out_rev[i] = v[i] != 0;
        if ((k = ir_attr_ints(c->node, "scan_output_axes", &v)) >= 0)
            for (int i = 0; i < k && i < s->n_out; i++)
                s->out_axis[i] = (int)v[i];
    }
    return NORMA_OK;
}

static int scan_infer(op_ctx *c)
{
    scan_cfg s;
    return scan_config(c, &s);
}

/* One scan over states and inputs (already without a batch axis). New tensors in outs:
 * final states then the stacked scan outputs. */
static int scan_once(op_ctx *c, const scan_cfg *s, ir_tensor *const *states, ir_tensor *const *xs, int64_t len,
                     ir_tensor **outs)
{
    const ir_graph *body = graph_attr(c, "body");
    int rc = NORMA_OK, n_all = s->n_state + s->n_in;
    int in_axis[64];
    int64_t steps = -1;
    for (int i = 0; i < s->n_in; i++) {
        const ir_tensor *x = xs[i];
        in_axis[i] = op_axis(s->in_axis[i], x->rank);
        if (in_axis[i] < 0 || x->dtype == IR_DTYPE_SEQUENCE)
            return op_fail(c, NORMA_ERR_MODEL, "scan input %d: axis %d is out of range", i, s->in_axis[i]);
        if (steps >= 0 && x->dims[in_axis[i]] != steps)
            return op_fail(c, NORMA_ERR_SHAPE, "scan inputs have different lengths (%lld and %lld)", (long long)steps,
                           (long long)x->dims[in_axis[i]]);
        steps = x->dims[in_axis[i]];
    }
    if (len >= 0 && len < steps)
        steps = len;
    ir_tensor **cur = calloc((size_t)n_all + 1, sizeof(ir_tensor *));
    ir_tensor **bo = calloc((size_t)body->n_outputs + 1, sizeof(ir_tensor *));
    stack *st = calloc((size_t)s->n_out + 1, sizeof(stack));
    if (!cur || !bo || !st) {
        rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
        goto done;
    }
    for (int i = 0; i < s->n_state; i++)
        if (!(cur[i] = ir_value_clone(states[i]))) {
            rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
            goto done;
        }
    for (int64_t t = 0; t < steps; t++) {
        for (int i = 0; i < s->n_in; i++) {
            ir_tensor_free(cur[s->n_state + i]);
            cur[s->n_state + i] = slice_along(xs[i], in_axis[i], s->in_rev[i] ? steps - 1 - t : t);
            if (!cur[s->n_state + i]) {
                rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
                goto done;
            }
        }
        if ((rc = op_eval_graph(body, cur, outer_inputs(c), bo, c->err, c->err_cap)))
            goto done;
        for (int i = 0; i < s->n_state; i++) {
            ir_tensor_free(cur[i]);
            cur[i] = bo[i];
        }
        for (int k = 0; k < s->n_out; k++)
            if (stack_push(&st[k], bo[s->n_state + k])) {
                free_all(bo + s->n_state + k, s->n_out - k);
                rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
                goto done;
            }
    }
    for (int i = 0; i < s->n_state; i++) {
        outs[i] = cur[i];
        cur[i] = NULL;
    }
    for (int k = 0; k < s->n_out; k++) {
        int rank = st[k].n ? st[k].items[0]->rank + 1 : 1;
        int axis = op_axis(s->out_axis[k], rank);
        int dt = body->values[body->outputs[s->n_state + k]].dtype;
        if ((rc = stack_join(c, &st[k], axis < 0 ? 0 : axis, s->out_rev[k], dt, &outs[s->n_state + k])))
            goto done;
    }
done:
    if (cur)
        free_all(cur, n_all);
    if (st)
        for (int k = 0; k < s->n_out; k++)
            stack_free(&st[k]);
    free(cur);
    free(bo);
    free(st);
    if (rc)
        free_all(outs, s->n_state + s->n_out);
    return rc;
}

static int scan_run(op_ctx *c)
{
    scan_cfg s;
    int rc = scan_config(c, &s);
    if (rc)
        return rc;
    int n_all = s.n_state + s.n_out;
    ir_tensor *outs[128] = {0};
    if (c->opset >= 9) {
        rc = scan_once(c, &s, c->in, c->in + s.n_state, -1, outs);
    } else {
        /* Opset 8: every input has a leading batch axis; scan each batch entry. */
        ir_tensor *const *in = c->in + 1;
        const ir_tensor *lens = c->in[0];
        int64_t batch = in[0]->rank > 0 ? in[0]->dims[0] : 0;
        for (int i = 0; i < s.n_state + s.n_in; i++)
            if (in[i]->rank < 1 || in[i]->dims[0] != batch)
                return op_fail(c, NORMA_ERR_SHAPE, "input %d does not have the batch size %lld", i + 1, (long long)batch);
        if (lens && lens->data && (int64_t)ir_tensor_numel(lens) != batch)
            return op_fail(c, NORMA_ERR_SHAPE, "sequence_lens has %zu values for batch %lld", ir_tensor_numel(lens),
                           (long long)batch);
        stack per[128];
        memset(per, 0, sizeof per);
        for (int64_t b = 0; b < batch && !rc; b++) {
            ir_tensor *sl[128] = {0}, *o[128] = {0};
            for (int i = 0; i < s.n_state + s.n_in && !rc; i++)
                if (!(sl[i] = slice_along(in[i], 0, b)))
                    rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
            int64_t len = lens && lens->data ? ir_tensor_get_i64(lens, (size_t)b) : -1;
            if (!rc)
                rc = scan_once(c, &s, sl, sl + s.n_state, len, o);
            free_all(sl, s.n_state + s.n_in);
            for (int k = 0; k < n_all && !rc; k++)
                if (stack_push(&per[k], o[k])) {
                    free_all(o + k, n_all - k);
                    rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
                }
        }
        for (int k = 0; k < n_all && !rc; k++)
            rc = stack_join(c, &per[k], 0, 0, NORMA_FLOAT, &outs[k]);
        for (int k = 0; k < n_all; k++)
            stack_free(&per[k]);
    }
    for (int k = 0; k < n_all; k++) {
        if (rc || !c->out[k]) {
            ir_tensor_free(outs[k]);
            continue;
        }
        rc = op_set_output(c, k, outs[k]);
    }
    return rc;
}

/* ---- SequenceMap ---- */

static int seqmap_infer(op_ctx *c)
{
    const ir_graph *body = graph_attr(c, "body");
    if (!body)
        return op_fail(c, NORMA_ERR_MODEL, "the 'body' graph is required");
    if (body->n_inputs != n_explicit(c) || body->n_outputs != c->n_out)
        return op_fail(c, NORMA_ERR_MODEL, "the body takes %d inputs and gives %d outputs, the node has %d and %d",
                       body->n_inputs, body->n_outputs, n_explicit(c), c->n_out);
    return NORMA_OK;
}

static int seqmap_run(op_ctx *c)
{
    const ir_graph *body = graph_attr(c, "body");
    int ni = n_explicit(c), no = c->n_out, rc = NORMA_OK;
    if (ni > 64 || no > 64)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "more than 64 inputs or outputs");
    if (c->in[0]->dtype != IR_DTYPE_SEQUENCE)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 must be a sequence");
    int len = ((const ir_seq *)c->in[0]->data)->n;
    for (int i = 1; i < ni; i++)
        if (c->in[i]->dtype == IR_DTYPE_SEQUENCE && ((const ir_seq *)c->in[i]->data)->n != len)
            return op_fail(c, NORMA_ERR_SHAPE, "sequence input %d has %d items, input 0 has %d", i,
                           ((const ir_seq *)c->in[i]->data)->n, len);
    ir_tensor *res[64] = {0}, *bo[64] = {0}, *args[64];
    for (int k = 0; k < no; k++)
        if (!(res[k] = ir_seq_tensor_new()))
            rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    for (int it = 0; it < len && !rc; it++) {
        for (int i = 0; i < ni; i++)
            args[i] = c->in[i]->dtype == IR_DTYPE_SEQUENCE ? ((const ir_seq *)c->in[i]->data)->items[it] : c->in[i];
        if ((rc = op_eval_graph(body, args, outer_inputs(c), bo, c->err, c->err_cap)))
            break;
        for (int k = 0; k < no && !rc; k++) {
            ir_seq *s = res[k]->data;
            if (bo[k]->dtype == IR_DTYPE_SEQUENCE || bo[k]->dtype == IR_DTYPE_NONE)
                rc = op_fail(c, NORMA_ERR_UNSUPPORTED, "body output %d must be a tensor", k);
            else if (ir_seq_insert(s, s->n, bo[k]))
                rc = op_fail(c, NORMA_ERR_MEMORY, "out of memory");
        }
        free_all(bo, no);
    }
    for (int k = 0; k < no; k++) {
        if (rc || !c->out[k]) {
            ir_tensor_free(res[k]);
            continue;
        }
        ir_seq *s = res[k]->data;
        if (!s->elem_dtype)
            s->elem_dtype = body->values[body->outputs[k]].dtype;
        rc = op_set_output(c, k, res[k]);
    }
    return rc;
}

#define CF(name, type, v, lo, hi, in, run) \
    static const op_schema name = {type, "", v, lo, hi, 0, 64, NULL, NULL, in, run, OP_F_RUNTIME_OUTPUTS};
CF(if1, "If", 1, 1, 1, if_infer, if_run)
static const op_schema loop1 = {"Loop", "", 1, 2, 64, 0, 64, NULL, NULL, loop_infer, loop_run,
                                 OP_F_RUNTIME_OUTPUTS | OP_F_FIRST_INPUT_OPTIONAL | OP_F_EMPTY_INPUTS}; /* M, cond */
static const op_schema scan8 = {"Scan", "", 8, 1, 64, 0, 64, NULL, NULL, scan_infer, scan_run,
                                 OP_F_RUNTIME_OUTPUTS | OP_F_FIRST_INPUT_OPTIONAL};
CF(scan9, "Scan", 9, 1, 64, scan_infer, scan_run)
CF(seqmap17, "SequenceMap", 17, 1, 64, seqmap_infer, seqmap_run)

OP_TABLE(control) = {&if1, &loop1, &scan8, &scan9, &seqmap17, NULL};
