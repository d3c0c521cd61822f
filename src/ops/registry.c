/*
 * The op registry: (domain, op_type, since_version) -> op_schema, and the helpers
 * that op files share (errors, axes, broadcasting).
 */
#include <omp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ops/op.h"

#define OP_GROUP(name) extern const op_schema *const op_table_##name[];
#include "ops/op_list.h"
#undef OP_GROUP

static const op_schema *const *const all_tables[] = {
#define OP_GROUP(name) op_table_##name,
#include "ops/op_list.h"
#undef OP_GROUP
};

static int same_domain(const char *a, const char *b)
{
    if (strcmp(a, "ai.onnx") == 0)
        a = "";
    if (strcmp(b, "ai.onnx") == 0)
        b = "";
    return strcmp(a, b) == 0;
}

const op_schema *op_lookup(const char *domain, const char *op_type, int64_t opset, int *any_version)
{
    const op_schema *best = NULL;
    *any_version = 0;
    for (size_t t = 0; t < sizeof all_tables / sizeof all_tables[0]; t++)
        for (const op_schema *const *p = all_tables[t]; *p; p++) {
            const op_schema *s = *p;
            if (strcmp(s->op_type, op_type) != 0 || !same_domain(s->domain, domain))
                continue;
            *any_version = 1;
            if (s->since_version <= opset && (!best || s->since_version > best->since_version))
                best = s;
        }
    return best;
}

void op_foreach(void (*fn)(const op_schema *s, void *arg), void *arg)
{
    for (size_t t = 0; t < sizeof all_tables / sizeof all_tables[0]; t++)
        for (const op_schema *const *p = all_tables[t]; *p; p++)
            fn(*p, arg);
}

int op_num_procs(void)
{
    static atomic_int procs; /* 0 until asked */
    int n = atomic_load_explicit(&procs, memory_order_relaxed);
    if (n == 0) {
        n = omp_get_num_procs();
        n = n > 0 ? n : 1;
        atomic_store_explicit(&procs, n, memory_order_relaxed);
    }
    return n;
}

int op_fail(op_ctx *c, int status, const char *fmt, ...)
{
    if (!c->err || !c->err_cap)
        return status;
    int k = snprintf(c->err, c->err_cap, "%s '%s': ", c->node->op_type, c->node->name);
    if (k < 0 || (size_t)k >= c->err_cap)
        return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + k, c->err_cap - (size_t)k, fmt, ap);
    va_end(ap);
    return status;
}

void op_set_shape(ir_tensor *out, int dtype, int rank, const int64_t *dims)
{
    out->dtype = dtype;
    out->rank = rank;
    for (int i = 0; i < rank; i++)
        out->dims[i] = dims[i];
}

int op_axis(int64_t axis, int rank)
{
    if (axis < -rank || axis >= rank)
        return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}

int op_check_dtype(op_ctx *c, int i, const int *allowed)
{
    if (i >= c->n_in || !c->in[i])
        return op_fail(c, NORMA_ERR_MODEL, "input %d is missing", i);
    for (const int *a = allowed; *a; a++)
        if (c->in[i]->dtype == *a)
            return NORMA_OK;
    return op_fail(c, NORMA_ERR_UNSUPPORTED, "input %d has dtype %s, which this op does not support",
                   i, ir_dtype_name(c->in[i]->dtype));
}

int op_broadcast_shape(int ra, const int64_t *a, int rb, const int64_t *b, int *rout, int64_t *out)
{
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int64_t da = i - (r - ra) >= 0 ? a[i - (r - ra)] : 1;
        int64_t db = i - (r - rb) >= 0 ? b[i - (r - rb)] : 1;
        if (da == db || db == 1)
            out[i] = da;
        else if (da == 1)
            out[i] = db;
        else
            return -1;
    }
    *rout = r;
    return 0;
}

void op_broadcast_strides(const ir_tensor *t, int r, const int64_t *od, int64_t *strides)
{
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        int ti = i - (r - t->rank);
        if (ti < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = (t->dims[ti] == 1 && od[i] != 1) ? 0 : s;
        s *= t->dims[ti];
    }
}

int op_read_ints(const ir_tensor *t, int64_t *buf, int cap)
{
    if (!t || !t->data)
        return -1;
    size_t n = ir_tensor_numel(t);
    if (n > (size_t)cap)
        n = (size_t)cap;
    for (size_t i = 0; i < n; i++)
        buf[i] = ir_tensor_get_i64(t, i);
    return (int)n;
}
