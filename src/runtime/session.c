/*
 * The public API (norma.h): session creation (load, check ops, passes, op init,
 * plan), description of inputs and outputs, and norma_run with input validation,
 * plan selection and per-thread run contexts.
 */
#include <omp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/eval.h"
#include "passes/passes.h"
#include "runtime/runtime.h"

#define DEFAULT_MEMORY_LIMIT ((size_t)16 << 30)

static _Thread_local char last_error[RT_ERR_CAP];

static norma_status set_error(norma_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static norma_status set_error(norma_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

const char *norma_last_error(void)
{
    return last_error;
}

size_t norma_dtype_size(norma_dtype dtype)
{
    return ir_dtype_size(dtype);
}

const char *norma_dtype_name(norma_dtype dtype)
{
    return ir_dtype_name(dtype);
}

void norma_options_init(norma_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->optimize = 1;
}

/* Lists every op the graph uses that norma cannot run, in one message. */
static int check_ops(const ir_graph *g, char *err, size_t cap)
{
    size_t k = 0;
    int missing = 0;
    err[0] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        int any;
        if (op_lookup(n->domain, n->op_type, n->opset, &any))
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) {
            const ir_node *m = &g->nodes[j];
            int a2;
            seen = !op_lookup(m->domain, m->op_type, m->opset, &a2) && strcmp(m->op_type, n->op_type) == 0 &&
                   strcmp(m->domain, n->domain) == 0;
        }
        if (seen)
            continue;
        missing++;
        if (k < cap)
            k += (size_t)snprintf(err + k, cap - k, "%s%s (domain '%s', opset %d%s)", missing > 1 ? ", " : "",
                                  n->op_type, n->domain[0] ? n->domain : "ai.onnx", n->opset,
                                  any ? ": not at this opset" : "");
    }
    if (!missing)
        return NORMA_OK;
    const char *head = missing > 1 ? "unsupported ops: " : "unsupported op: ";
    size_t hl = strlen(head);
    if (k + hl >= cap)
        k = cap - hl - 1;
    memmove(err + hl, err, k + 1 > cap - hl ? cap - hl : k + 1);
    memcpy(err, head, hl);
    err[cap - 1] = 0;
    return NORMA_ERR_UNSUPPORTED;
}

void norma_session_free(norma_session *s)
{
    if (!s)
        return;
    for (run_ctx *c = s->ctxs, *n; c; c = n) {
        n = c->next;
        if (c->p && c->p != s->current && --c->p->refs == 0)
            plan_free(c->p);
        ctx_free(c);
    }
    plan_free(s->current);
    if (s->nodes)
        for (int i = 0; i < s->g->n_nodes; i++) {
            if (!s->nodes[i].state)
                continue;
            if (s->nodes[i].schema->free_state)
                s->nodes[i].schema->free_state(s->nodes[i].state);
            else
                free(s->nodes[i].state);
        }
    free(s->nodes);
    pthread_mutex_destroy(&s->lock);
    ir_graph_free(s->g);
    ld_store_free(s->store);
    free(s);
}

/* Every input's shape is fixed and none is small enough for its values to shape the
 * plan: the plan can be made at creation. */
static int inputs_static(const ir_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        if (v->rank < 0 || !v->dtype || v->optional || v->dtype == IR_DTYPE_SEQUENCE)
            return 0;
        for (int k = 0; k < v->rank; k++)
            if (v->dims[k] < 0)
                return 0;
    }
    return 1;
}

/* A tensor shape fully known: a dtype, a rank and no unknown dimension. */
static int shape_known(const ir_tensor *t)
{
    if (!t->dtype || t->dtype == IR_DTYPE_SEQUENCE || t->dtype == IR_DTYPE_NONE || t->rank < 0)
        return 0;
    for (int k = 0; k < t->rank; k++)
        if (t->dims[k] < 0)
            return 0;
    return 1;
}

/* After node c->node's init, with static graph inputs: infers its output shapes from
 * its input shapes, when all are known, and records them on the output values that
 * the model left unshaped, for the init of the nodes that read them. Inference that
 * needs data known only at run time, or fails, leaves the outputs unknown (planning
 * reports any error). The plan infers the same shapes again from the same inputs. */
static void learn_output_shapes(ir_graph *g, const op_schema *sc, op_ctx *c)
{
    const ir_node *n = c->node;
    if (sc->flags & OP_F_RUNTIME_OUTPUTS)
        return;
    for (int k = 0; k < n->n_in; k++)
        if (c->in[k] && !shape_known(c->in[k]))
            return;
    for (int k = 0; k < n->n_out; k++)
        if (c->out[k])
            memset(c->out[k], 0, sizeof *c->out[k]);
    char *err = c->err;
    char scratch_err[RT_ERR_CAP];
    c->err = scratch_err; /* a failure here is not the session's */
    int rc = sc->infer(c);
    c->err = err;
    if (rc != NORMA_OK)
        return;
    for (int k = 0; k < n->n_out; k++) {
        ir_value *v = n->out[k] >= 0 ? &g->values[n->out[k]] : NULL;
        if (!v || v->constant || !shape_known(c->out[k]) || (v->dtype && v->dtype != c->out[k]->dtype))
            continue;
        int known = v->rank >= 0;
        for (int d = 0; d < v->rank; d++)
            known &= v->dims[d] >= 0;
        if (known)
            continue;
        v->dtype = c->out[k]->dtype;
        v->rank = c->out[k]->rank;
        memcpy(v->dims, c->out[k]->dims, sizeof v->dims);
    }
}

/* Weights that live in the store (borrowed from the unpacked model), large enough that
 * giving their pages back matters. */
typedef struct weight_list {
    const void **w;
    size_t *bytes;
    int n;
} weight_list;

static weight_list list_weights(const ir_graph *g)
{
    weight_list l = {0};
    l.w = malloc((sizeof(void *) + sizeof(size_t)) * (size_t)(g->n_values + 1));
    if (!l.w)
        return l;
    l.bytes = (size_t *)(l.w + g->n_values + 1);
    for (int v = 0; v < g->n_values; v++) {
        const ir_tensor *t = g->values[v].constant;
        if (t && !t->owns_data && t->data && ir_tensor_nbytes(t) >= (64u << 10)) {
            l.w[l.n] = t->data;
            l.bytes[l.n++] = ir_tensor_nbytes(t);
        }
    }
    return l;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(const void *const *)a, y = (uintptr_t)*(const void *const *)b;
    return x < y ? -1 : x > y;
}

/* The passes folded, fused or transposed some weights into new tensors: the pages of
 * the originals nothing reads any more go back to the system. */
static void release_dropped_weights(const ir_graph *g, ld_store *st, const weight_list *before)
{
    if (!before->w)
        return;
    weight_list now = list_weights(g);
    if (!now.w)
        return;
    qsort(now.w, (size_t)now.n, sizeof(void *), cmp_ptr);
    for (int i = 0; i < before->n; i++)
        if (!bsearch(&before->w[i], now.w, (size_t)now.n, sizeof(void *), cmp_ptr))
            ld_store_release(st, before->w[i], before->bytes[i]);
    free(now.w);
}

/* How many node inputs read each constant worth releasing once packed: big (64 KB),
 * not a graph output or input. -1 for every other value. Caller frees. */
static int *count_weight_readers(const ir_graph *g)
{
    int *readers = malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1));
    if (!readers)
        return NULL;
    for (int v = 0; v < g->n_values; v++) {
        const ir_value *val = &g->values[v];
        int big = val->constant && val->constant->data && val->constant->dtype != IR_DTYPE_SEQUENCE &&
                  val->constant->dtype != IR_DTYPE_NONE && ir_tensor_nbytes(val->constant) >= (64u << 10);
        readers[v] = big && !val->is_output && !val->is_input ? 0 : -1;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && readers[v] >= 0)
                readers[v]++;
        }
    return readers;
}

/* The store memory of weights already packed, handed out again (ir_big_set_source)
 * for the packed buffers of later nodes while op states are created: pages already
 * touched instead of fresh ones, which are slow on these machines. Ranges [lo, hi) are
 * 64-byte aligned and belong to the store, which outlives the op states. When no range
 * holds a block, it comes from the store's own huge-page chunks: one fault per 2 MB
 * instead of one per 4 KB page of a small mapping or of the heap. */
typedef struct recycler {
    uintptr_t *lo, *hi;
    int n, cap;
    ld_store *store;
    size_t recycled, fresh; /* bytes handed out from the ranges, and from the store */
} recycler;

/* Range i grew at its end: when it now reaches the range after it, the two become one. */
static void merge_after(recycler *r, int i)
{
    for (int j = 0; j < r->n; j++)
        if (j != i && r->lo[j] >= r->hi[i] && r->lo[j] - r->hi[i] < 64) {
            r->hi[i] = r->hi[j];
            r->lo[j] = r->lo[--r->n];
            r->hi[j] = r->hi[r->n];
            return;
        }
}

/* Adds [p, p + bytes); 0, or -1 when out of memory (the caller releases it instead). */
static int recycler_add(recycler *r, const void *p, size_t bytes)
{
    uintptr_t lo = ((uintptr_t)p + 63) & ~(uintptr_t)63, hi = ((uintptr_t)p + bytes) & ~(uintptr_t)63;
    if (hi <= lo)
        return 0;
    /* Next to a range already here (at most the store's alignment between, which no
     * block can use): one range, so a buffer bigger than either fits. */
    for (int i = 0; i < r->n; i++) {
        if (lo >= r->hi[i] && lo - r->hi[i] < 64) {
            r->hi[i] = hi;
            merge_after(r, i);
            return 0;
        }
        if (hi <= r->lo[i] && r->lo[i] - hi < 64) {
            r->lo[i] = lo;
            return 0;
        }
    }
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        uintptr_t *nl = realloc(r->lo, sizeof(uintptr_t) * (size_t)cap);
        if (!nl)
            return -1;
        r->lo = nl;
        uintptr_t *nh = realloc(r->hi, sizeof(uintptr_t) * (size_t)cap);
        if (!nh)
            return -1;
        r->hi = nh;
        r->cap = cap;
    }
    r->lo[r->n] = lo;
    r->hi[r->n++] = hi;
    return 0;
}

/* ir_big_source_fn: the smallest range that holds `bytes`, cut from its front. */
static void *recycler_take(void *ctx, size_t bytes)
{
    recycler *r = ctx;
    size_t need = (bytes + 63) & ~(size_t)63;
    int best = -1;
    for (int i = 0; i < r->n; i++)
        if (r->hi[i] - r->lo[i] >= need && (best < 0 || r->hi[i] - r->lo[i] < r->hi[best] - r->lo[best]))
            best = i;
    if (best < 0) {
        void *p = r->store ? ld_store_alloc(r->store, need) : NULL;
        r->fresh += p ? need : 0;
        return p;
    }
    r->recycled += need;
    void *p = (void *)r->lo[best];
    r->lo[best] += need;
    return p;
}

/* Gives what nobody took back to the system and empties r. */
static void recycler_finish(recycler *r, ld_store *st)
{
    for (int i = 0; i < r->n; i++)
        if (r->hi[i] > r->lo[i])
            ld_store_release(st, (const void *)r->lo[i], r->hi[i] - r->lo[i]);
    free(r->lo);
    free(r->hi);
    memset(r, 0, sizeof *r);
}

/* How many of the LD_STORE_SLACK bytes right before t's data the recycler may take
 * with it: all, unless another constant's data still in use ends there (weights left
 * in the model's bytes lie a few header bytes apart). */
static size_t free_before(const ir_graph *g, const ir_tensor *t)
{
    uintptr_t at = (uintptr_t)t->data, from = at - LD_STORE_SLACK;
    for (int v = 0; v < g->n_values; v++) {
        const ir_tensor *c = g->values[v].constant;
        if (!c || c == t || !c->data || c->dtype == IR_DTYPE_SEQUENCE)
            continue;
        uintptr_t lo = (uintptr_t)c->data, hi = lo + ir_tensor_nbytes(c);
        if (lo < at && hi > from)
            from = hi < at ? hi : at;
    }
    return at - from;
}

/* Node n's init packed the constant inputs in `packed`: when the last reader of one has
 * done so, nothing reads its data any more. Store memory goes to r for the next packed
 * buffers; the rest goes back now. */
static void release_packed_inputs(ir_graph *g, ld_store *st, recycler *r, const ir_node *n, unsigned packed,
                                  int *readers)
{
    for (int k = 0; k < n->n_in && k < 32; k++) {
        int v = n->in[k];
        if (!(packed & (1u << k)) || v < 0 || readers[v] <= 0 || --readers[v] > 0)
            continue;
        ir_tensor *t = g->values[v].constant;
        if (t->owns_data == 2)
            ir_big_free(t->data);
        else if (t->owns_data)
            free(t->data);
        else if (!t->mutable_data || ir_tensor_nbytes(t) < LD_STORE_SLACK_MIN)
            ld_store_release(st, t->data, ir_tensor_nbytes(t));
        else {
            size_t slack = free_before(g, t);
            if (recycler_add(r, (const unsigned char *)t->data - slack, ir_tensor_nbytes(t) + slack))
                ld_store_release(st, t->data, ir_tensor_nbytes(t));
        }
        t->data = NULL;
        t->owns_data = 0;
        t->mutable_data = 0;
    }
}

/* The threads a session made with opt will run with (and load with). */
static int session_threads(const norma_options *opt)
{
    return opt && opt->threads > 0 ? opt->threads : omp_get_num_procs();
}

/* Takes ownership of g and st (freed on failure). */
static norma_status session_init(ir_graph *g, ld_store *st, const norma_options *opt, norma_session **out)
{
    char err[RT_ERR_CAP] = "";
    int rc;
    int *readers = NULL; /* count_weight_readers */
    recycler recycled = {.store = st};
    norma_session *s = calloc(1, sizeof(norma_session));
    if (!s) {
        ir_graph_free(g);
        ld_store_free(st);
        return set_error(NORMA_ERR_MEMORY, "out of memory creating a session");
    }
    pthread_mutex_init(&s->lock, NULL);
    s->g = g;
    s->store = st;
    if (opt)
        s->opt = *opt;
    else
        norma_options_init(&s->opt);
    s->opt.threads = session_threads(&s->opt);
    s->memory_limit = s->opt.memory_limit ? s->opt.memory_limit : DEFAULT_MEMORY_LIMIT;

    if ((rc = check_ops(g, err, sizeof err)))
        goto fail;
    if (s->opt.optimize) {
        weight_list before = list_weights(g);
        rc = pass_run_all(g, s->opt.disable_passes, err, sizeof err);
        if (!rc)
            release_dropped_weights(g, st, &before);
        free(before.w);
        if (rc)
            goto fail;
    }
    if (g->n_outputs == 0) {
        snprintf(err, sizeof err, "the model has no outputs");
        rc = NORMA_ERR_MODEL;
        goto fail;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        if (!v->dtype || (ir_dtype_size(v->dtype) == 0 && v->dtype != IR_DTYPE_SEQUENCE)) {
            snprintf(err, sizeof err, "input '%s' has no supported element type (%s)", v->name,
                     ir_dtype_name(v->dtype));
            rc = NORMA_ERR_UNSUPPORTED;
            goto fail;
        }
    }
    s->nodes = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(node_rt));
    if (!s->nodes) {
        rc = NORMA_ERR_MEMORY;
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    readers = count_weight_readers(g);
    if (!readers) {
        rc = NORMA_ERR_MEMORY;
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    /* Op init: attributes and constant weights, once per session. With static inputs,
     * each node's output shapes are inferred as soon as it is initialized, so the
     * nodes after it know their input shapes in init and pack only the weight layout
     * their plan uses. */
    s->static_inputs = inputs_static(g);
    ir_big_set_source(recycler_take, &recycled);
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if ((rc = op_resolve(n, &s->nodes[i].schema, err, sizeof err)))
            goto fail;
        if (!s->nodes[i].schema->init && !s->static_inputs)
            continue;
        ir_tensor *ptrs[64];
        ir_tensor shapes[64];
        if (n->n_in + n->n_out > 64) {
            snprintf(err, sizeof err, "%s '%s': too many inputs", n->op_type, n->name);
            rc = NORMA_ERR_UNSUPPORTED;
            goto fail;
        }
        memset(shapes, 0, sizeof shapes);
        for (int k = 0; k < n->n_in; k++) {
            const ir_value *v = n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
            ptrs[k] = NULL;
            if (!v)
                continue;
            if (v->constant) {
                ptrs[k] = v->constant;
            } else {
                shapes[k].dtype = v->dtype;
                shapes[k].rank = v->rank;
                memcpy(shapes[k].dims, v->dims, sizeof v->dims);
                ptrs[k] = &shapes[k];
            }
        }
        for (int k = 0; k < n->n_out; k++)
            ptrs[n->n_in + k] = n->out[k] >= 0 ? &shapes[n->n_in + k] : NULL;
        op_ctx c = {.node = n, .opset = n->opset, .n_in = n->n_in, .n_out = n->n_out, .in = ptrs,
                    .out = ptrs + n->n_in, .threads = s->opt.threads, .err = err, .err_cap = sizeof err};
        rc = s->nodes[i].schema->init ? s->nodes[i].schema->init(&c) : NORMA_OK;
        s->nodes[i].state = c.state;
        if (!rc)
            rc = ir_check_attr_types(n, err, sizeof err);
        if (rc)
            goto fail;
        if (s->static_inputs)
            learn_output_shapes(g, s->nodes[i].schema, &c);
        if (c.packed_inputs)
            release_packed_inputs(g, st, &recycled, n, c.packed_inputs, readers);
    }
    ir_big_set_source(NULL, NULL);
    s->init_recycled = recycled.recycled;
    s->init_fresh = recycled.fresh;
    recycler_finish(&recycled, st);
    free(readers);
    readers = NULL;
    if (s->static_inputs) {
        int64_t dims[64 * IR_MAX_RANK];
        if (g->n_inputs <= 64) {
            for (int i = 0; i < g->n_inputs; i++) { /* as bind_inputs writes them: dims, then -1 */
                const ir_value *v = &g->values[g->inputs[i]];
                for (int d = 0; d < IR_MAX_RANK; d++)
                    dims[(size_t)i * IR_MAX_RANK + d] = d < v->rank ? v->dims[d] : -1;
            }
            if ((rc = plan_build(s, dims, &s->current, err, sizeof err)))
                goto fail;
        }
    }
    ir_big_trim(); /* the temporaries the passes kept for reuse */
    *out = s;
    return NORMA_OK;
fail:
    ir_big_set_source(NULL, NULL);
    recycler_finish(&recycled, st);
    ir_big_trim();
    free(readers);
    norma_session_free(s);
    return set_error((norma_status)rc, "%s", err);
}

norma_status norma_session_create_from_file(const char *path, const norma_options *opt, norma_session **out)
{
    char err[RT_ERR_CAP] = "";
    ir_graph *g;
    ld_store *st;
    if (!out)
        return set_error(NORMA_ERR_ARGUMENT, "norma_session_create_from_file: out is NULL");
    *out = NULL;
    if (!path)
        return set_error(NORMA_ERR_ARGUMENT, "norma_session_create_from_file: path is NULL");
    int rc = ld_load_file(path, session_threads(opt), &g, &st, err, sizeof err);
    if (rc)
        return set_error((norma_status)rc, "%s", err);
    return session_init(g, st, opt, out);
}

norma_status norma_session_create_from_memory(const void *data, size_t size, const norma_options *opt,
                                              norma_session **out)
{
    char err[RT_ERR_CAP] = "";
    ir_graph *g;
    ld_store *st;
    if (!out)
        return set_error(NORMA_ERR_ARGUMENT, "norma_session_create_from_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return set_error(NORMA_ERR_ARGUMENT, "norma_session_create_from_memory: data is NULL");
    int rc = ld_load_memory(data ? data : "", size, session_threads(opt), &g, &st, err, sizeof err);
    if (rc)
        return set_error((norma_status)rc, "%s", err);
    return session_init(g, st, opt, out);
}

size_t norma_input_count(const norma_session *s)
{
    return s ? (size_t)s->g->n_inputs : 0;
}

size_t norma_output_count(const norma_session *s)
{
    return s ? (size_t)s->g->n_outputs : 0;
}

static void describe(const ir_graph *g, int v, const plan *p, norma_value_info *info)
{
    const ir_value *val = &g->values[v];
    memset(info, 0, sizeof(*info));
    info->name = val->name;
    info->dtype = (norma_dtype)val->dtype;
    info->rank = val->rank;
    info->optional = val->optional;
    for (int k = 0; k < val->rank && k < IR_MAX_RANK; k++) {
        info->dims[k] = val->dims[k];
        info->dim_names[k] = val->dim_names[k];
    }
    /* Outputs: with a static plan the shapes are known exactly. */
    if (p && p->kind[v] != VK_DYN && (val->producer >= 0 || val->constant) && !val->is_input) {
        info->dtype = (norma_dtype)p->vals[v].dtype;
        info->rank = p->vals[v].rank;
        for (int k = 0; k < info->rank; k++)
            info->dims[k] = p->vals[v].dims[k];
    }
}

norma_status norma_input_info(const norma_session *s, size_t i, norma_value_info *info)
{
    if (!s || !info)
        return set_error(NORMA_ERR_ARGUMENT, "norma_input_info: NULL argument");
    if (i >= (size_t)s->g->n_inputs)
        return set_error(NORMA_ERR_ARGUMENT, "input index %zu out of range (the model has %d inputs)", i,
                         s->g->n_inputs);
    describe(s->g, s->g->inputs[i], NULL, info);
    return NORMA_OK;
}

norma_status norma_output_info(const norma_session *s, size_t i, norma_value_info *info)
{
    if (!s || !info)
        return set_error(NORMA_ERR_ARGUMENT, "norma_output_info: NULL argument");
    if (i >= (size_t)s->g->n_outputs)
        return set_error(NORMA_ERR_ARGUMENT, "output index %zu out of range (the model has %d outputs)", i,
                         s->g->n_outputs);
    describe(s->g, s->g->outputs[i], s->static_inputs ? s->current : NULL, info);
    return NORMA_OK;
}

/* A sequence (or an empty optional) given for input v: the items' dtypes, shapes and
 * buffers. */
static norma_status check_value_input(const norma_session *s, const ir_value *v, const norma_tensor *t)
{
    if (t->dtype == NORMA_NONE)
        return NORMA_OK;
    if (v->dtype != IR_DTYPE_SEQUENCE)
        return set_error(NORMA_ERR_SHAPE, "input '%s' is a sequence, the model expects a %s tensor", v->name,
                         ir_dtype_name(v->dtype));
    if (t->rank != 1 || t->dims[0] < 0 || t->dims[0] > 1000000 || (t->dims[0] && !t->data))
        return set_error(NORMA_ERR_ARGUMENT, "sequence input '%s' needs rank 1, dims[0] items and data pointing "
                         "to them", v->name);
    const norma_tensor *items = t->data;
    for (int64_t i = 0; i < t->dims[0]; i++) {
        const norma_tensor *x = &items[i];
        int ok;
        size_t es = ir_dtype_size(x->dtype);
        size_t n = x->rank >= 0 && x->rank <= IR_MAX_RANK ? ir_numel_checked(x->rank, x->dims, &ok) : (ok = 0);
        if (!es || !ok || n > s->memory_limit / es || (n && !x->data) ||
            (i > 0 && x->dtype != items[0].dtype))
            return set_error(NORMA_ERR_SHAPE, "item %lld of sequence input '%s' is not a valid tensor of the "
                             "sequence's dtype", (long long)i, v->name);
    }
    return NORMA_OK;
}

/* Matches the caller's inputs to the model's, checking dtype and shape. */
static norma_status bind_inputs(norma_session *s, const norma_tensor *inputs, size_t n_inputs,
                                const norma_tensor **by_input, int64_t *dims)
{
    const ir_graph *g = s->g;
    for (int i = 0; i < g->n_inputs; i++)
        by_input[i] = NULL;
    for (size_t k = 0; k < n_inputs; k++) {
        const norma_tensor *t = &inputs[k];
        int idx = -1;
        if (t->name) {
            for (int i = 0; i < g->n_inputs; i++)
                if (strcmp(g->values[g->inputs[i]].name, t->name) == 0)
                    idx = i;
            if (idx < 0)
                return set_error(NORMA_ERR_ARGUMENT, "the model has no input named '%s'", t->name);
        } else {
            if (k >= (size_t)g->n_inputs)
                return set_error(NORMA_ERR_ARGUMENT, "%zu inputs given, the model has %d", n_inputs, g->n_inputs);
            idx = (int)k;
        }
        if (by_input[idx])
            return set_error(NORMA_ERR_ARGUMENT, "input '%s' is given twice", g->values[g->inputs[idx]].name);
        by_input[idx] = t;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        const norma_tensor *t = by_input[i];
        if (!t)
            return set_error(NORMA_ERR_SHAPE, "input '%s' is missing", v->name);
        if (t->dtype == NORMA_NONE && !v->optional)
            return set_error(NORMA_ERR_ARGUMENT, "input '%s' is not optional: it needs a value", v->name);
        if (t->dtype == NORMA_NONE || t->dtype == NORMA_SEQUENCE) {
            norma_status st = check_value_input(s, v, t);
            if (st)
                return st;
            int64_t *row = dims + (size_t)i * IR_MAX_RANK;
            for (int d = 0; d < IR_MAX_RANK; d++)
                row[d] = -1;
            continue;
        }
        if ((int)t->dtype != v->dtype)
            return set_error(NORMA_ERR_SHAPE, "input '%s' has dtype %s, the model expects %s", v->name,
                             ir_dtype_name(t->dtype), ir_dtype_name(v->dtype));
        if (t->rank < 0 || t->rank > IR_MAX_RANK || (v->rank >= 0 && t->rank != v->rank))
            return set_error(NORMA_ERR_SHAPE, "input '%s' has rank %d, the model expects %d", v->name, t->rank,
                             v->rank);
        for (int d = 0; d < t->rank; d++) {
            if (t->dims[d] < 0)
                return set_error(NORMA_ERR_SHAPE, "input '%s' has a negative dimension %d", v->name, d);
            if (v->rank >= 0 && v->dims[d] >= 0 && v->dims[d] != t->dims[d])
                return set_error(NORMA_ERR_SHAPE, "input '%s' has dimension %d = %lld, the model expects %lld",
                                 v->name, d, (long long)t->dims[d], (long long)v->dims[d]);
        }
        int ok;
        size_t n = ir_numel_checked(t->rank, t->dims, &ok);
        if (!ok || n > s->memory_limit / ir_dtype_size(v->dtype))
            return set_error(NORMA_ERR_SHAPE, "input '%s' is too large", v->name);
        if (!t->data && n)
            return set_error(NORMA_ERR_ARGUMENT, "input '%s' has a NULL data pointer", v->name);
        int64_t *row = dims + (size_t)i * IR_MAX_RANK;
        for (int d = 0; d < IR_MAX_RANK; d++)
            row[d] = d < t->rank ? t->dims[d] : -1; /* -1 after the last dim: the rank */
    }
    return NORMA_OK;
}

/* Points the context's tensor t for input i at the caller's data; sequences are copied
 * into the context (items are tensors of their own), an empty optional has no data. */
static norma_status bind_value_input(run_ctx *ctx, int i, ir_tensor *t, const norma_tensor *in)
{
    if (in->dtype != NORMA_SEQUENCE && in->dtype != NORMA_NONE) {
        t->dtype = in->dtype;
        t->data = in->data;
        return NORMA_OK;
    }
    ir_tensor_free(ctx->in_values[i]);
    ctx->in_values[i] = ir_tensor_new(in->dtype, 0, NULL);
    if (!ctx->in_values[i])
        return set_error(NORMA_ERR_MEMORY, "out of memory copying sequence input %d", i);
    for (int64_t k = 0; in->dtype == NORMA_SEQUENCE && k < in->dims[0]; k++) {
        const norma_tensor *x = &((const norma_tensor *)in->data)[k];
        ir_tensor item = {.dtype = x->dtype, .rank = x->rank, .data = x->data};
        memcpy(item.dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
        ir_seq *sq = ctx->in_values[i]->data;
        if (ir_seq_insert(sq, sq->n, &item))
            return set_error(NORMA_ERR_MEMORY, "out of memory copying sequence input %d", i);
    }
    *t = *ctx->in_values[i];
    t->owns_data = 0;
    return NORMA_OK;
}

/* Describes a sequence or empty optional output in o: the items are lent from the
 * context until the next run on this thread. */
static norma_status lend_value_output(run_ctx *ctx, int k, const ir_tensor *t, norma_tensor *o)
{
    o->dtype = (norma_dtype)t->dtype;
    o->rank = t->dtype == IR_DTYPE_SEQUENCE ? 1 : 0;
    o->data = NULL;
    o->capacity = 0;
    if (t->dtype != IR_DTYPE_SEQUENCE)
        return NORMA_OK;
    const ir_seq *sq = t->data;
    if (sq->n > ctx->out_items_cap[k]) {
        norma_tensor *items = realloc(ctx->out_items[k], sizeof(norma_tensor) * (size_t)sq->n);
        if (!items)
            return set_error(NORMA_ERR_MEMORY, "out of memory returning a sequence");
        ctx->out_items[k] = items;
        ctx->out_items_cap[k] = sq->n;
    }
    for (int i = 0; i < sq->n; i++) {
        const ir_tensor *x = sq->items[i];
        if (x->dtype == IR_DTYPE_SEQUENCE || x->dtype == IR_DTYPE_NONE)
            return set_error(NORMA_ERR_UNSUPPORTED, "sequences of sequences cannot be returned");
        norma_tensor *it = &ctx->out_items[k][i];
        memset(it, 0, sizeof *it);
        it->dtype = (norma_dtype)x->dtype;
        it->rank = x->rank;
        memcpy(it->dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
        it->data = x->data;
    }
    o->dims[0] = sq->n;
    o->data = ctx->out_items[k];
    return NORMA_OK;
}

static void release_plan(norma_session *s, plan *p)
{
    if (p && --p->refs == 0 && p != s->current)
        plan_free(p);
}

/* Under the session lock: the plan for these input shapes and this thread's context. */
static norma_status acquire(norma_session *s, const int64_t *dims, run_ctx **out)
{
    char err[RT_ERR_CAP] = "";
    size_t row = sizeof(int64_t) * IR_MAX_RANK * (size_t)s->g->n_inputs;
    pthread_t self = pthread_self();
    run_ctx *ctx = NULL;
    for (run_ctx *c = s->ctxs; c; c = c->next)
        if (pthread_equal(c->thread, self))
            ctx = c;
    if (!ctx) {
        ctx = calloc(1, sizeof(run_ctx));
        if (!ctx)
            return set_error(NORMA_ERR_MEMORY, "out of memory creating a run context");
        ctx->thread = self;
        ctx->next = s->ctxs;
        s->ctxs = ctx;
    }
    if (!s->current || memcmp(s->current->in_dims, dims, row) != 0) {
        plan *p;
        int rc = plan_build(s, dims, &p, err, sizeof err);
        if (rc)
            return set_error((norma_status)rc, "%s", err);
        plan *old = s->current;
        s->current = p; /* its refs=1 is the "current" reference */
        if (old && --old->refs == 0)
            plan_free(old);
    }
    if (ctx->p != s->current) {
        plan *old = ctx->p;
        ctx->p = NULL;
        int rc = ctx_bind(s, ctx, s->current, err, sizeof err);
        release_plan(s, old);
        if (rc)
            return set_error((norma_status)rc, "%s", err);
        s->current->refs++;
    }
    *out = ctx;
    return NORMA_OK;
}

norma_status norma_run(norma_session *s, const norma_tensor *inputs, size_t n_inputs, norma_tensor *outputs,
                       size_t n_outputs)
{
    if (!s)
        return set_error(NORMA_ERR_ARGUMENT, "norma_run: session is NULL");
    if ((!inputs && n_inputs) || (!outputs && n_outputs))
        return set_error(NORMA_ERR_ARGUMENT, "norma_run: inputs or outputs is NULL");
    const ir_graph *g = s->g;
    if (g->n_inputs > 64)
        return set_error(NORMA_ERR_UNSUPPORTED, "models with more than 64 inputs are not supported");
    const norma_tensor *by_input[64];
    int64_t dims[64 * IR_MAX_RANK];
    norma_status st = bind_inputs(s, inputs, n_inputs, by_input, dims);
    if (st)
        return st;
    int out_idx[64];
    if (n_outputs > 64)
        return set_error(NORMA_ERR_ARGUMENT, "at most 64 outputs per run");
    for (size_t k = 0; k < n_outputs; k++) {
        out_idx[k] = -1;
        if (outputs[k].name) {
            for (int i = 0; i < g->n_outputs; i++)
                if (strcmp(g->values[g->outputs[i]].name, outputs[k].name) == 0)
                    out_idx[k] = i;
            if (out_idx[k] < 0)
                return set_error(NORMA_ERR_ARGUMENT, "the model has no output named '%s'", outputs[k].name);
        } else if (k < (size_t)g->n_outputs) {
            out_idx[k] = (int)k;
        } else {
            return set_error(NORMA_ERR_ARGUMENT, "%zu outputs asked for, the model has %d", n_outputs,
                             g->n_outputs);
        }
    }
    run_ctx *ctx = NULL;
    pthread_mutex_lock(&s->lock);
    st = acquire(s, dims, &ctx);
    pthread_mutex_unlock(&s->lock);
    if (st)
        return st;
    for (int i = 0; i < g->n_inputs; i++) {
        ir_tensor *t = &ctx->vals[g->inputs[i]];
        if ((st = bind_value_input(ctx, i, t, by_input[i])))
            return st;
    }
    ctx->err[0] = 0;
    int rc = ctx_execute(s, ctx);
    if (rc)
        return set_error((norma_status)rc, "%s", ctx->err);
    for (size_t k = 0; k < n_outputs; k++) {
        const ir_tensor *t = &ctx->vals[g->outputs[out_idx[k]]];
        norma_tensor *o = &outputs[k];
        if (t->dtype == IR_DTYPE_SEQUENCE || t->dtype == IR_DTYPE_NONE) {
            if ((st = lend_value_output(ctx, out_idx[k], t, o)))
                return st;
            continue;
        }
        size_t bytes = ir_tensor_nbytes(t);
        o->dtype = (norma_dtype)t->dtype;
        o->rank = t->rank;
        for (int d = 0; d < t->rank; d++)
            o->dims[d] = t->dims[d];
        if (o->capacity == 0) {
            o->data = t->data;
            o->capacity = 0;
        } else {
            if (o->capacity < bytes)
                return set_error(NORMA_ERR_ARGUMENT, "output '%s' needs %zu bytes, the buffer holds %zu",
                                 g->values[g->outputs[out_idx[k]]].name, bytes, o->capacity);
            if (bytes)
                memcpy(o->data, t->data, bytes);
        }
    }
    return NORMA_OK;
}

static int cmp_profile(const void *a, const void *b)
{
    const norma_profile_entry *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

static int cmp_node_profile(const void *a, const void *b)
{
    const norma_node_profile *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

size_t norma_profile_nodes(norma_session *s, norma_node_profile *out, size_t cap)
{
    if (!s || !s->opt.profile)
        return 0;
    const ir_graph *g = s->g;
    norma_node_profile *e = calloc((size_t)g->n_nodes + 1, sizeof(norma_node_profile));
    if (!e)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < g->n_nodes; i++) {
        norma_node_profile p = {g->nodes[i].name ? g->nodes[i].name : "", g->nodes[i].op_type, 0, 0};
        for (run_ctx *c = s->ctxs; c; c = c->next)
            if (c->node_ms) {
                p.ms += c->node_ms[i];
                p.calls += c->node_calls[i];
            }
        if (p.calls)
            e[n++] = p;
    }
    pthread_mutex_unlock(&s->lock);
    qsort(e, n, sizeof *e, cmp_node_profile);
    for (size_t k = 0; k < n && k < cap && out; k++)
        out[k] = e[k];
    free(e);
    return n;
}

void norma_profile_reset(norma_session *s)
{
    if (!s || !s->opt.profile)
        return;
    size_t nn = (size_t)s->g->n_nodes;
    pthread_mutex_lock(&s->lock);
    for (run_ctx *c = s->ctxs; c; c = c->next)
        if (c->node_ms) {
            memset(c->node_ms, 0, nn * sizeof *c->node_ms);
            memset(c->node_calls, 0, nn * sizeof *c->node_calls);
        }
    pthread_mutex_unlock(&s->lock);
}

size_t norma_profile(norma_session *s, norma_profile_entry *out, size_t cap)
{
    if (!s || !s->opt.profile)
        return 0;
    const ir_graph *g = s->g;
    norma_profile_entry *e = calloc((size_t)g->n_nodes + 1, sizeof(norma_profile_entry));
    if (!e)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < g->n_nodes; i++) {
        double ms = 0;
        long long calls = 0;
        for (run_ctx *c = s->ctxs; c; c = c->next)
            if (c->node_ms) {
                ms += c->node_ms[i];
                calls += c->node_calls[i];
            }
        size_t k = 0;
        while (k < n && strcmp(e[k].op_type, g->nodes[i].op_type) != 0)
            k++;
        if (k == n)
            e[n++].op_type = g->nodes[i].op_type;
        e[k].ms += ms;
        e[k].calls += calls;
    }
    pthread_mutex_unlock(&s->lock);
    qsort(e, n, sizeof *e, cmp_profile);
    for (size_t k = 0; k < n && k < cap && out; k++)
        out[k] = e[k];
    free(e);
    return n;
}
