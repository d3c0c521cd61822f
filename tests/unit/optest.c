/* Single-op test harness (see optest.h). */
#include "optest.h"

#include <stdlib.h>
#include <string.h>

void ot_init(ot_node *t, const char *op, int opset, int n_in, int n_out)
{
    memset(t, 0, sizeof *t);
    t->n.name = (char *)"n0";
    t->n.op_type = (char *)op;
    t->n.domain = (char *)"";
    t->n.opset = opset;
    t->n.n_in = n_in;
    t->n.n_out = n_out;
    t->n.in = t->in;
    t->n.out = t->out;
    t->n.attrs = t->attrs;
    for (int i = 0; i < OT_MAX_IO; i++)
        t->in[i] = t->out[i] = i;
}

static ir_attr *add_attr(ot_node *t, const char *name, ir_attr_type type)
{
    ir_attr *a = &t->attrs[t->n.n_attrs++];
    a->name = (char *)name;
    a->type = type;
    return a;
}

void ot_int(ot_node *t, const char *name, int64_t v)
{
    add_attr(t, name, IR_ATTR_INT)->i = v;
}

void ot_float(ot_node *t, const char *name, float v)
{
    add_attr(t, name, IR_ATTR_FLOAT)->f = v;
}

void ot_str(ot_node *t, const char *name, const char *s)
{
    ir_attr *a = add_attr(t, name, IR_ATTR_STRING);
    a->s = (char *)s;
    a->s_len = strlen(s);
}

void ot_ints(ot_node *t, const char *name, const int64_t *v, size_t n)
{
    int64_t *store = t->ints[t->n.n_attrs];
    ir_attr *a = add_attr(t, name, IR_ATTR_INTS);
    a->n = n;
    a->ints = (int64_t *)v;
    if (n <= OT_MAX_INTS) {
        if (n)
            memcpy(store, v, sizeof(int64_t) * n);
        a->ints = store;
    }
}

void ot_floats(ot_node *t, const char *name, const float *v, size_t n)
{
    ir_attr *a = add_attr(t, name, IR_ATTR_FLOATS);
    a->floats = (float *)v;
    a->n = n;
}

void ot_strs(ot_node *t, const char *name, const char *const *v, size_t n)
{
    ir_attr *a = add_attr(t, name, IR_ATTR_STRINGS);
    a->strings = (char **)v;
    a->n = n;
}

int ot_eval(ot_node *t, ir_tensor **ins, ir_tensor **outs)
{
    const op_schema *s;
    int rc = op_resolve(&t->n, &s, t->err, sizeof t->err);
    if (rc)
        return rc;
    return op_eval(&t->n, s, ins, outs, t->err, sizeof t->err);
}

static void free_state(const op_schema *s, op_ctx *c)
{
    if (!c->state)
        return;
    if (s->free_state)
        s->free_state(c->state);
    else
        free(c->state);
}

int ot_run(ot_node *t, int n_in, ir_tensor **in, int n_out, ir_tensor **out, unsigned const_mask,
           int threads)
{
    const op_schema *s;
    ir_tensor shape_only[OT_MAX_IO], outs[OT_MAX_IO], *init_in[OT_MAX_IO], *op_out[OT_MAX_IO];
    t->err[0] = 0;
    t->n.n_in = n_in;
    t->n.n_out = n_out;
    for (int k = 0; k < n_out; k++)
        out[k] = NULL;
    int rc = op_resolve(&t->n, &s, t->err, sizeof t->err);
    if (rc)
        return rc;
    if (n_in < s->min_in || n_in > s->max_in || n_out < s->min_out || n_out > s->max_out)
        return NORMA_ERR_MODEL;
    memset(outs, 0, sizeof outs);
    for (int i = 0; i < n_in; i++) {
        init_in[i] = in[i];
        if (in[i] && i < 32 && !(const_mask & (1u << i))) {
            shape_only[i] = ot_shape_only(in[i]);
            if (t->init_unshaped)
                shape_only[i].rank = -1;
            init_in[i] = &shape_only[i];
        }
    }
    for (int k = 0; k < n_out; k++)
        op_out[k] = &outs[k];
    op_ctx c = {.node = &t->n, .opset = t->n.opset, .n_in = n_in, .n_out = n_out, .in = init_in,
                .out = op_out, .threads = threads, .err = t->err, .err_cap = sizeof t->err};
    if (s->init && (rc = s->init(&c)))
        goto done;
    c.in = in;
    if ((rc = s->infer(&c)))
        goto done;
    for (int k = 0; k < n_out; k++) {
        out[k] = ir_tensor_new(outs[k].dtype, outs[k].rank, outs[k].dims);
        if (!out[k]) {
            rc = NORMA_ERR_MEMORY;
            goto done;
        }
        op_out[k] = out[k];
    }
    if (c.scratch_size)
        c.scratch = aligned_alloc(64, (c.scratch_size + 63) & ~(size_t)63);
    if (c.scratch) /* NaN garbage: a kernel that reads scratch it did not write shows it */
        memset(c.scratch, 0xff, c.scratch_size);
    rc = s->run(&c);
    free(c.scratch);
done:
    free_state(s, &c);
    if (rc)
        ot_free(out, n_out);
    return rc;
}

int ot_run1(ot_node *t, ir_tensor **ins, int threads, ir_tensor **out)
{
    return ot_run(t, t->n.n_in, ins, 1, out, OT_ALL_CONST, threads);
}

int ot_infer(ot_node *t, ir_tensor **ins)
{
    const op_schema *s;
    int rc = op_resolve(&t->n, &s, t->err, sizeof t->err);
    if (rc)
        return rc;
    ir_tensor shapes[OT_MAX_IO], *outp[OT_MAX_IO];
    memset(shapes, 0, sizeof shapes);
    for (int i = 0; i < OT_MAX_IO; i++)
        outp[i] = &shapes[i];
    op_ctx c = {.node = &t->n, .opset = t->n.opset, .n_in = t->n.n_in, .n_out = t->n.n_out, .in = ins,
                .out = outp, .threads = 1, .err = t->err, .err_cap = sizeof t->err};
    rc = s->infer(&c);
    free_state(s, &c);
    return rc;
}

ir_tensor *ot_tensor(int dtype, int rank, const int64_t *dims, const void *data)
{
    ir_tensor *x = ir_tensor_new(dtype, rank, dims);
    if (x && data)
        memcpy(x->data, data, ir_tensor_nbytes(x));
    return x;
}

ir_tensor *ot_f32(int rank, const int64_t *dims, const float *v)
{
    return ot_tensor(NORMA_FLOAT, rank, dims, v);
}

ir_tensor *ot_i64(int rank, const int64_t *dims, const int64_t *v)
{
    return ot_tensor(NORMA_INT64, rank, dims, v);
}

ir_tensor *ot_scalar(int64_t v)
{
    return ot_tensor(NORMA_INT64, 0, NULL, &v);
}

ir_tensor ot_view(int dtype, int rank, const int64_t *dims, const void *data)
{
    ir_tensor x;
    memset(&x, 0, sizeof x);
    x.dtype = dtype;
    x.rank = rank;
    for (int i = 0; i < rank && i < IR_MAX_RANK; i++)
        x.dims[i] = dims[i];
    x.data = (void *)data;
    return x;
}

ir_tensor ot_shape_only(const ir_tensor *x)
{
    ir_tensor v = *x;
    v.data = NULL;
    v.owns_data = 0;
    return v;
}

void ot_free(ir_tensor **ts, int n)
{
    for (int i = 0; i < n; i++) {
        ir_tensor_free(ts[i]);
        ts[i] = NULL;
    }
}
