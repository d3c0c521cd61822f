/*
 * Sequences and optionals (ONNX spec: SequenceEmpty, SequenceConstruct,
 * SequenceInsert, SequenceAt, SequenceErase, SequenceLength, ConcatFromSequence,
 * SplitToSequence, Optional, OptionalHasElement, OptionalGetElement).
 *
 * A sequence is a value of dtype IR_DTYPE_SEQUENCE whose data is an ir_seq of owned
 * tensors; an empty optional has dtype IR_DTYPE_NONE. Their sizes exist only at run
 * time, so every op here creates its outputs (OP_F_RUNTIME_OUTPUTS) and copies the
 * tensors it stores.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

static int no_infer(op_ctx *c)
{
    return NORMA_OK;
}

static int oom(op_ctx *c)
{
    return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
}

static const ir_seq *seq_in(op_ctx *c, int i)
{
    const ir_tensor *t = c->in[i];
    return t && t->dtype == IR_DTYPE_SEQUENCE ? t->data : NULL;
}

/* Reads an optional position input (scalar int32/int64) normalized against n; `last`
 * when absent. Returns -1 (after reporting) when out of [0, n_max]. */
static int position(op_ctx *c, int i, int n, int n_max, int last, int *pos)
{
    const ir_tensor *p = i < c->n_in ? c->in[i] : NULL;
    if (!p) {
        *pos = last;
        return 0;
    }
    if ((p->dtype != NORMA_INT64 && p->dtype != NORMA_INT32) || ir_tensor_numel(p) != 1 || !p->data)
        return op_fail(c, NORMA_ERR_MODEL, "'position' must be an int32 or int64 scalar"), -1;
    int64_t v = ir_tensor_get_i64(p, 0);
    if (v < 0)
        v += n;
    if (v < 0 || v > n_max)
        return op_fail(c, NORMA_ERR_RUNTIME, "position %lld is out of range for a sequence of %d",
                       (long long)ir_tensor_get_i64(p, 0), n), -1;
    *pos = (int)v;
    return 0;
}

static int new_seq_from(op_ctx *c, const ir_seq *src, ir_tensor **out)
{
    ir_tensor wrap = {.dtype = IR_DTYPE_SEQUENCE, .data = (void *)src};
    *out = src ? ir_value_clone(&wrap) : ir_seq_tensor_new();
    return *out ? NORMA_OK : oom(c);
}

static int seq_empty_run(op_ctx *c)
{
    ir_tensor *t = ir_seq_tensor_new();
    if (!t)
        return oom(c);
    ((ir_seq *)t->data)->elem_dtype = (int)ir_attr_int(c->node, "dtype", NORMA_FLOAT);
    return op_set_output(c, 0, t);
}

static int seq_construct_run(op_ctx *c)
{
    ir_tensor *t = ir_seq_tensor_new();
    if (!t)
        return oom(c);
    ir_seq *s = t->data;
    for (int i = 0; i < c->n_in; i++) {
        const ir_tensor *x = c->in[i];
        if (!x || x->dtype == IR_DTYPE_SEQUENCE || x->dtype == IR_DTYPE_NONE || x->dtype != c->in[0]->dtype) {
            ir_tensor_free(t);
            return op_fail(c, NORMA_ERR_MODEL, "input %d is not a tensor of the first input's dtype", i);
        }
        if (ir_seq_insert(s, s->n, x)) {
            ir_tensor_free(t);
            return oom(c);
        }
    }
    return op_set_output(c, 0, t);
}

static int seq_insert_run(op_ctx *c)
{
    const ir_seq *s = seq_in(c, 0);
    const ir_tensor *x = c->in[1];
    if (!s)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is not a sequence");
    if (x->dtype == IR_DTYPE_SEQUENCE || x->dtype == IR_DTYPE_NONE || (s->elem_dtype && x->dtype != s->elem_dtype))
        return op_fail(c, NORMA_ERR_MODEL, "the tensor's dtype %s does not match the sequence's %s",
                       ir_dtype_name(x->dtype), ir_dtype_name(s->elem_dtype));
    int pos;
    if (position(c, 2, s->n, s->n, s->n, &pos))
        return NORMA_ERR_RUNTIME;
    ir_tensor *t;
    int rc = new_seq_from(c, s, &t);
    if (rc)
        return rc;
    if (ir_seq_insert(t->data, pos, x)) {
        ir_tensor_free(t);
        return oom(c);
    }
    return op_set_output(c, 0, t);
}

static int seq_erase_run(op_ctx *c)
{
    const ir_seq *s = seq_in(c, 0);
    if (!s)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is not a sequence");
    if (s->n == 0)
        return op_fail(c, NORMA_ERR_RUNTIME, "cannot erase from an empty sequence");
    int pos;
    if (position(c, 1, s->n, s->n - 1, s->n - 1, &pos))
        return NORMA_ERR_RUNTIME;
    ir_tensor *t;
    int rc = new_seq_from(c, s, &t);
    if (rc)
        return rc;
    ir_seq_erase(t->data, pos);
    return op_set_output(c, 0, t);
}

static int seq_at_run(op_ctx *c)
{
    const ir_seq *s = seq_in(c, 0);
    if (!s)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is not a sequence");
    if (!c->in[1])
        return op_fail(c, NORMA_ERR_MODEL, "'position' is required");
    int pos;
    if (position(c, 1, s->n, s->n - 1, 0, &pos))
        return NORMA_ERR_RUNTIME;
    ir_tensor *t = ir_tensor_clone(s->items[pos]);
    return t ? op_set_output(c, 0, t) : oom(c);
}

static int seq_length_run(op_ctx *c)
{
    const ir_seq *s = seq_in(c, 0);
    if (!s)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is not a sequence");
    ir_tensor *t = ir_tensor_new(NORMA_INT64, 0, NULL);
    if (!t)
        return oom(c);
    *(int64_t *)t->data = s->n;
    return op_set_output(c, 0, t);
}

static int concat_from_seq_run(op_ctx *c)
{
    const ir_seq *s = seq_in(c, 0);
    if (!s)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is not a sequence");
    if (s->n == 0)
        return op_fail(c, NORMA_ERR_RUNTIME, "cannot concatenate an empty sequence");
    int new_axis = (int)ir_attr_int(c->node, "new_axis", 0);
    const ir_tensor *f = s->items[0];
    int rank = f->rank + (new_axis ? 1 : 0);
    int axis = op_axis(ir_attr_int(c->node, "axis", 0), rank);
    if (axis < 0 || rank > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d",
                       (long long)ir_attr_int(c->node, "axis", 0), rank);
    /* Each item viewed with rank `rank`: its length along axis is 1 when new_axis. */
    int64_t dims[IR_MAX_RANK];
    for (int d = 0, k = 0; d < rank; d++)
        dims[d] = new_axis && d == axis ? 1 : f->dims[k++];
    int64_t total = 0;
    for (int i = 0; i < s->n; i++) {
        const ir_tensor *t = s->items[i];
        if (t->dtype != f->dtype || t->rank != f->rank)
            return op_fail(c, NORMA_ERR_SHAPE, "sequence item %d differs in dtype or rank", i);
        for (int d = 0, k = 0; d < rank; d++) {
            int64_t v = new_axis && d == axis ? 1 : t->dims[k++];
            if (d == axis)
                total += v;
            else if (v != dims[d])
                return op_fail(c, NORMA_ERR_SHAPE, "sequence item %d differs in dimension %d", i, d);
        }
    }
    dims[axis] = total;
    ir_tensor *y = ir_tensor_new(f->dtype, rank, dims);
    if (!y)
        return oom(c);
    size_t es = ir_dtype_size(f->dtype), outer = 1, inner = es;
    for (int d = 0; d < axis; d++)
        outer *= (size_t)dims[d];
    for (int d = axis + 1; d < rank; d++)
        inner *= (size_t)dims[d];
    size_t row = (size_t)total * inner, off = 0;
    for (int i = 0; i < s->n; i++) {
        const ir_tensor *t = s->items[i];
        size_t len = (new_axis ? 1 : (size_t)t->dims[axis]) * inner;
        for (size_t o = 0; o < outer; o++)
            memcpy((unsigned char *)y->data + o * row + off, (const unsigned char *)t->data + o * len, len);
        off += len;
    }
    return op_set_output(c, 0, y);
}

static int split_to_seq_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    const ir_tensor *sp = c->n_in > 1 ? c->in[1] : NULL;
    if (x->rank < 1)
        return op_fail(c, NORMA_ERR_MODEL, "the input must have rank >= 1");
    int axis = op_axis(ir_attr_int(c->node, "axis", 0), x->rank);
    if (axis < 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis is out of range for rank %d", x->rank);
    int keepdims = (int)ir_attr_int(c->node, "keepdims", 1);
    int64_t len = x->dims[axis];
    int64_t *parts = NULL;
    int64_t n;
    if (!sp) {
        n = len;
        parts = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
        if (!parts)
            return oom(c);
        for (int64_t i = 0; i < n; i++)
            parts[i] = 1;
    } else if (sp->rank == 0) {
        int64_t chunk = ir_tensor_get_i64(sp, 0);
        if (chunk <= 0)
            return op_fail(c, NORMA_ERR_RUNTIME, "split size %lld is not positive", (long long)chunk);
        n = (len + chunk - 1) / chunk;
        parts = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
        if (!parts)
            return oom(c);
        for (int64_t i = 0; i < n; i++)
            parts[i] = i == n - 1 ? len - chunk * (n - 1) : chunk;
        keepdims = 1;
    } else {
        n = (int64_t)ir_tensor_numel(sp);
        parts = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
        if (!parts)
            return oom(c);
        int64_t sum = 0;
        for (int64_t i = 0; i < n; i++) {
            parts[i] = ir_tensor_get_i64(sp, (size_t)i);
            if (parts[i] < 0) {
                free(parts);
                return op_fail(c, NORMA_ERR_RUNTIME, "split has a negative size");
            }
            sum += parts[i];
        }
        if (sum != len) {
            free(parts);
            return op_fail(c, NORMA_ERR_RUNTIME, "split sizes sum to %lld, the axis has %lld", (long long)sum,
                           (long long)len);
        }
        keepdims = 1;
    }
    ir_tensor *out = ir_seq_tensor_new();
    if (!out) {
        free(parts);
        return oom(c);
    }
    size_t es = ir_dtype_size(x->dtype), outer = 1, inner = es;
    for (int d = 0; d < axis; d++)
        outer *= (size_t)x->dims[d];
    for (int d = axis + 1; d < x->rank; d++)
        inner *= (size_t)x->dims[d];
    int64_t start = 0;
    int rc = NORMA_OK;
    for (int64_t i = 0; i < n && !rc; i++) {
        int64_t dims[IR_MAX_RANK];
        int r = 0;
        for (int d = 0; d < x->rank; d++) {
            if (d == axis && !keepdims)
                continue;
            dims[r++] = d == axis ? parts[i] : x->dims[d];
        }
        ir_tensor *t = ir_tensor_new(x->dtype, r, dims);
        if (!t) {
            rc = oom(c);
            break;
        }
        size_t chunk = (size_t)parts[i] * inner, row = (size_t)len * inner;
        for (size_t o = 0; o < outer; o++)
            memcpy((unsigned char *)t->data + o * chunk, (const unsigned char *)x->data + o * row + (size_t)start * inner,
                   chunk);
        start += parts[i];
        ir_seq *s = out->data;
        if (ir_seq_insert(s, s->n, t))
            rc = oom(c);
        ir_tensor_free(t);
    }
    free(parts);
    if (rc) {
        ir_tensor_free(out);
        return rc;
    }
    ((ir_seq *)out->data)->elem_dtype = x->dtype;
    return op_set_output(c, 0, out);
}

static int optional_run(op_ctx *c)
{
    ir_tensor *t = c->n_in > 0 && c->in[0] ? ir_value_clone(c->in[0]) : ir_tensor_new(IR_DTYPE_NONE, 0, NULL);
    return t ? op_set_output(c, 0, t) : oom(c);
}

static int opt_has_run(op_ctx *c)
{
    ir_tensor *t = ir_tensor_new(NORMA_BOOL, 0, NULL);
    if (!t)
        return oom(c);
    *(unsigned char *)t->data = c->n_in > 0 && c->in[0] && c->in[0]->dtype != IR_DTYPE_NONE;
    return op_set_output(c, 0, t);
}

static int opt_get_run(op_ctx *c)
{
    if (!c->in[0] || c->in[0]->dtype == IR_DTYPE_NONE)
        return op_fail(c, NORMA_ERR_RUNTIME, "the optional input holds no value");
    ir_tensor *t = ir_value_clone(c->in[0]);
    return t ? op_set_output(c, 0, t) : oom(c);
}

#define SQ(name, type, v, lo, hi, run) \
    static const op_schema name = {type, "", v, lo, hi, 1, 1, NULL, NULL, no_infer, run, OP_F_RUNTIME_OUTPUTS};
SQ(seq_empty11, "SequenceEmpty", 11, 0, 0, seq_empty_run)
SQ(seq_construct11, "SequenceConstruct", 11, 1, 64, seq_construct_run)
SQ(seq_insert11, "SequenceInsert", 11, 2, 3, seq_insert_run)
SQ(seq_erase11, "SequenceErase", 11, 1, 2, seq_erase_run)
SQ(seq_at11, "SequenceAt", 11, 2, 2, seq_at_run)
SQ(seq_length11, "SequenceLength", 11, 1, 1, seq_length_run)
SQ(concat_from_seq11, "ConcatFromSequence", 11, 1, 1, concat_from_seq_run)
SQ(split_to_seq11, "SplitToSequence", 11, 1, 2, split_to_seq_run)
SQ(optional15, "Optional", 15, 0, 1, optional_run)
SQ(opt_has15, "OptionalHasElement", 15, 0, 1, opt_has_run)
SQ(opt_has18, "OptionalHasElement", 18, 0, 1, opt_has_run)
SQ(opt_get15, "OptionalGetElement", 15, 1, 1, opt_get_run)
SQ(opt_get18, "OptionalGetElement", 18, 1, 1, opt_get_run)

OP_TABLE(sequence) = {&seq_empty11, &seq_construct11, &seq_insert11, &seq_erase11, &seq_at11,
                      &seq_length11, &concat_from_seq11, &split_to_seq11, &optional15, &opt_has15,
                      &opt_has18, &opt_get15, &opt_get18, NULL};
