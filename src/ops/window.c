/* Sliding-window geometry (see window.h). */
#include "ops/window.h"

#include <string.h>

int op_spatial_attr(op_ctx *c, const char *name, int nsp, int64_t def, int64_t min, int64_t *out)
{
    const int64_t *v;
    int n = ir_attr_ints(c->node, name, &v);
    for (int i = 0; i < nsp; i++)
        out[i] = def;
    if (n < 0)
        return NORMA_OK;
    if (n != nsp)
        return op_fail(c, NORMA_ERR_MODEL, "%s has %d values; the input has %d spatial dimensions", name, n, nsp);
    for (int i = 0; i < nsp; i++) {
        if (v[i] < min || v[i] > INT32_MAX)
            return op_fail(c, NORMA_ERR_MODEL, "%s[%d] = %lld must be >= %lld and <= %d", name, i, (long long)v[i],
                           (long long)min, INT32_MAX);
        out[i] = v[i];
    }
    return NORMA_OK;
}

int op_window_kernel(op_ctx *c, const ir_tensor *w, int nsp, int64_t *k)
{
    const int64_t *ks;
    int nk = ir_attr_ints(c->node, "kernel_shape", &ks);
    if (nk >= 0 && nk != nsp)
        return op_fail(c, NORMA_ERR_MODEL, "kernel_shape has %d values; the input has %d spatial dimensions", nk, nsp);
    for (int i = 0; i < nsp; i++) {
        k[i] = w->dims[2 + i];
        if (nk >= 0 && ks[i] != k[i])
            return op_fail(c, NORMA_ERR_SHAPE, "kernel_shape[%d] = %lld but W has %lld", i, (long long)ks[i],
                           (long long)k[i]);
        if (k[i] < 1 || k[i] > INT32_MAX)
            return op_fail(c, NORMA_ERR_SHAPE, "kernel dimension %d is %lld", i, (long long)k[i]);
    }
    return NORMA_OK;
}

int op_window_read(op_ctx *c, int nsp, const int64_t *k, int has_dil, op_window *w)
{
    memset(w, 0, sizeof *w);
    w->nsp = nsp;
    for (int i = 0; i < nsp; i++)
        w->k[i] = k[i];
    int rc;
    if ((rc = op_spatial_attr(c, "strides", nsp, 1, 1, w->st)) ||
        (rc = op_spatial_attr(c, "dilations", nsp, 1, 1, w->dl)))
        return rc;
    if (!has_dil)
        for (int i = 0; i < nsp; i++)
            w->dl[i] = 1;
    const int64_t *pv;
    int np = ir_attr_ints(c->node, "pads", &pv);
    if (np >= 0 && np != 2 * nsp)
        return op_fail(c, NORMA_ERR_MODEL, "pads has %d values; expected %d", np, 2 * nsp);
    for (int i = 0; i < 2 * nsp; i++) {
        w->pads[i] = np >= 0 ? pv[i] : 0;
        if (w->pads[i] < 0 || w->pads[i] > INT32_MAX)
            return op_fail(c, NORMA_ERR_MODEL, "pads[%d] = %lld is out of range", i, (long long)w->pads[i]);
    }
    const char *ap = ir_attr_string(c->node, "auto_pad", "NOTSET");
    w->same_upper = !strcmp(ap, "SAME_UPPER");
    w->same_lower = !strcmp(ap, "SAME_LOWER");
    w->valid = !strcmp(ap, "VALID");
    if (!w->same_upper && !w->same_lower && !w->valid && strcmp(ap, "NOTSET"))
        return op_fail(c, NORMA_ERR_MODEL, "unknown auto_pad '%s'", ap);
    return NORMA_OK;
}

int op_window_axis(op_ctx *c, const op_window *w, int i, int64_t in, int ceil_mode, int64_t *out, int64_t *pb,
                   int64_t *pe)
{
    int64_t st = w->st[i], eff = (w->k[i] - 1) * w->dl[i] + 1, b = w->pads[i], e = w->pads[w->nsp + i], o;
    if (w->same_upper || w->same_lower) {
        o = (in + st - 1) / st;
        int64_t total = (o - 1) * st + eff - in;
        if (total < 0)
            total = 0;
        b = w->same_upper ? total / 2 : total - total / 2;
        e = total - b;
    } else {
        if (w->valid)
            b = e = 0;
        if (in + b + e < eff)
            return op_fail(c, NORMA_ERR_SHAPE,
                           "spatial dimension %d: input %lld with pads %lld+%lld is smaller than the kernel extent %lld", i,
                           (long long)in, (long long)b, (long long)e, (long long)eff);
        int64_t span = in + b + e - eff;
        o = (ceil_mode ? (span + st - 1) / st : span / st) + 1;
        /* the last window must start inside the input or the leading padding */
        if (ceil_mode && (o - 1) * st >= in + b)
            o--;
    }
    if (o < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "spatial dimension %d of the output would be %lld", i, (long long)o);
    *out = o, *pb = b, *pe = e;
    return NORMA_OK;
}
