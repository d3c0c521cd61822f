/*
 * Resize (ONNX opsets 10, 11, 13, 18, 19) and Upsample (7, 9): nearest, N-D linear
 * (bilinear, trilinear, ...) and cubic (cubic_coeff_a, exclude_outside) interpolation. Output sizes come from `scales` (floor of
 * in * scale) or `sizes` (with keep_aspect_ratio_policy from 18). Coordinate modes
 * half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nearest
 * and tf_crop_and_resize (with roi and extrapolation_value). Nearest rounding modes
 * round_prefer_floor, round_prefer_ceil, floor, ceil. Opset 10 and Upsample use
 * asymmetric coordinates with floor for nearest. antialias is not supported.
 *
 * Nearest moves elements of any dtype; linear and cubic are float32. For each axis
 * the kernel precomputes, per output position, T taps (1 nearest, 2 linear, 4 cubic):
 * source indices (clamped to the edge) and weights; then it sums the T^k products over
 * the k axes that actually interpolate.
 */
#include <math.h>
#include <string.h>

#include "ops/op.h"

enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_HALF_NEAREST, CT_TF_CROP };
enum { NM_ROUND_FLOOR, NM_ROUND_CEIL, NM_FLOOR, NM_CEIL };

typedef struct rs_plan {
    int linear, ct, nm, rank; /* linear: 0 nearest, 1 linear, 2 cubic */
    int exclude_outside;
    float extrap, cubic_a;
    double scale[IR_MAX_RANK], roi_lo[IR_MAX_RANK], roi_hi[IR_MAX_RANK];
    int64_t out[IR_MAX_RANK];
    double olen[IR_MAX_RANK]; /* in * scale before flooring: align_corners uses it, as the spec's reference does */
} rs_plan;

static int is_upsample(const op_ctx *c)
{
    return strcmp(c->node->op_type, "Upsample") == 0;
}

static int read_floats(op_ctx *c, const ir_tensor *t, const char *what, double *buf, int cap, int *n)
{
    if (!t->data)
        return OP_NEEDS_DATA;
    if (t->dtype != NORMA_FLOAT && t->dtype != NORMA_DOUBLE && t->dtype != NORMA_FLOAT16)
        return op_fail(c, NORMA_ERR_MODEL, "'%s' must be float, not %s", what, ir_dtype_name(t->dtype));
    size_t k = ir_tensor_numel(t);
    if (k > (size_t)cap)
        return op_fail(c, NORMA_ERR_MODEL, "'%s' has %zu values, more than %d", what, k, cap);
    for (size_t i = 0; i < k; i++)
        buf[i] = ir_tensor_get_f64(t, i);
    *n = (int)k;
    return NORMA_OK;
}

static int rs_compute(op_ctx *c, rs_plan *p)
{
    const ir_tensor *x = c->in[0];
    int r = x->rank, rc;
    p->rank = r;
    const char *mode = ir_attr_string(c->node, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0)
        p->linear = 0;
    else if (strcmp(mode, "linear") == 0 || (is_upsample(c) && strcmp(mode, "bilinear") == 0))
        p->linear = 1;
    else if (strcmp(mode, "cubic") == 0 && !is_upsample(c) && c->opset >= 11)
        p->linear = 2;
    else
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    if (p->linear && x->dtype != NORMA_FLOAT)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "%s mode on %s is not supported", mode, ir_dtype_name(x->dtype));
    p->cubic_a = ir_attr_float(c->node, "cubic_coeff_a", -0.75f);
    p->exclude_outside = (int)ir_attr_int(c->node, "exclude_outside", 0);
    int legacy = is_upsample(c) || c->opset < 11;
    p->ct = CT_ASYMMETRIC;
    p->nm = NM_FLOOR;
    p->extrap = 0;
    if (!legacy) {
        const char *ct = ir_attr_string(c->node, "coordinate_transformation_mode", "half_pixel");
        static const char *cts[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                    "tf_half_pixel_for_nn", "tf_crop_and_resize"};
        p->ct = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(ct, cts[i]) == 0)
                p->ct = i;
        if (p->ct < 0)
            return op_fail(c, NORMA_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported", ct);
        const char *nm = ir_attr_string(c->node, "nearest_mode", "round_prefer_floor");
        static const char *nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
        p->nm = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(nm, nms[i]) == 0)
                p->nm = i;
        if (p->nm < 0)
            return op_fail(c, NORMA_ERR_MODEL, "unknown nearest_mode '%s'", nm);
        p->extrap = ir_attr_float(c->node, "extrapolation_value", 0.0f);
        if (ir_attr_int(c->node, "antialias", 0))
            return op_fail(c, NORMA_ERR_UNSUPPORTED, "antialias is not supported");
    }
    /* axes (18+): which dims scales/sizes/roi refer to */
    int axes[IR_MAX_RANK], na = r;
    for (int i = 0; i < r; i++)
        axes[i] = i;
    const int64_t *av;
    int nav = c->opset >= 18 && !is_upsample(c) ? ir_attr_ints(c->node, "axes", &av) : -1;
    if (nav >= 0) {
        int seen[IR_MAX_RANK] = {0};
        if (nav > r)
            return op_fail(c, NORMA_ERR_MODEL, "more axes than the input's rank %d", r);
        for (int i = 0; i < nav; i++) {
            axes[i] = op_axis(av[i], r);
            if (axes[i] < 0 || seen[axes[i]])
                return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range or repeated", (long long)av[i]);
            seen[axes[i]] = 1;
        }
        na = nav;
    }
    for (int i = 0; i < r; i++) {
        p->scale[i] = 1;
        p->roi_lo[i] = 0;
        p->roi_hi[i] = 1;
        p->out[i] = x->dims[i];
    }
    double vals[2 * IR_MAX_RANK];
    int n;
    const ir_tensor *scales = NULL, *sizes = NULL, *roi = NULL;
    if (is_upsample(c) && c->opset < 9) {
        const float *f;
        n = ir_attr_floats(c->node, "scales", &f);
        if (n != r)
            return op_fail(c, NORMA_ERR_MODEL, "'scales' has %d values for rank %d", n, r);
        for (int i = 0; i < r; i++)
            p->scale[i] = f[i];
        goto sizes_from_scales;
    }
    if (legacy) {
        scales = c->n_in > 1 ? c->in[1] : NULL;
    } else {
        roi = c->n_in > 1 ? c->in[1] : NULL;
        scales = c->n_in > 2 ? c->in[2] : NULL;
        sizes = c->n_in > 3 ? c->in[3] : NULL;
    }
    if (scales && scales->data && ir_tensor_numel(scales) == 0)
        scales = NULL;
    if (sizes && sizes->data && ir_tensor_numel(sizes) == 0)
        sizes = NULL;
    if (roi && roi->data && ir_tensor_numel(roi) == 0)
        roi = NULL;
    if (!!scales == !!sizes)
        return op_fail(c, NORMA_ERR_MODEL, "exactly one of 'scales' and 'sizes' must be given");
    if (roi && p->ct == CT_TF_CROP) {
        if ((rc = read_floats(c, roi, "roi", vals, 2 * IR_MAX_RANK, &n)))
            return rc;
        if (n != 2 * na)
            return op_fail(c, NORMA_ERR_MODEL, "'roi' has %d values; expected %d", n, 2 * na);
        for (int i = 0; i < na; i++) {
            p->roi_lo[axes[i]] = vals[i];
            p->roi_hi[axes[i]] = vals[i + na];
        }
    }
    if (scales) {
        if ((rc = read_floats(c, scales, "scales", vals, IR_MAX_RANK, &n)))
            return rc;
        if (n != na)
            return op_fail(c, NORMA_ERR_MODEL, "'scales' has %d values for %d axes", n, na);
        for (int i = 0; i < na; i++)
            p->scale[axes[i]] = vals[i];
        goto sizes_from_scales;
    }
    if (!sizes->data)
        return OP_NEEDS_DATA;
    if (sizes->dtype != NORMA_INT64)
        return op_fail(c, NORMA_ERR_MODEL, "'sizes' must be int64");
    {
        int64_t sz[IR_MAX_RANK];
        if (ir_tensor_numel(sizes) != (size_t)na)
            return op_fail(c, NORMA_ERR_MODEL, "'sizes' has %zu values for %d axes", ir_tensor_numel(sizes), na);
        op_read_ints(sizes, sz, IR_MAX_RANK);
        const char *pol = c->opset >= 18 ? ir_attr_string(c->node, "keep_aspect_ratio_policy", "stretch") : "stretch";
        for (int i = 0; i < na; i++)
            if (sz[i] < 0)
                return op_fail(c, NORMA_ERR_MODEL, "sizes[%d] is negative", i);
        for (int i = 0; i < r; i++)
            p->olen[i] = (double)p->out[i];
        if (strcmp(pol, "stretch") == 0) {
            for (int i = 0; i < na; i++) {
                p->olen[axes[i]] = (double)sz[i];
                int a = axes[i];
                p->out[a] = sz[i];
                p->scale[a] = x->dims[a] ? (double)sz[i] / (double)x->dims[a] : 1;
            }
        } else {
            int larger = strcmp(pol, "not_smaller") == 0;
            if (!larger && strcmp(pol, "not_larger") != 0)
                return op_fail(c, NORMA_ERR_MODEL, "unknown keep_aspect_ratio_policy '%s'", pol);
            double s = larger ? 0 : 1e300;
            for (int i = 0; i < r; i++)
                p->olen[i] = (double)p->out[i];
            for (int i = 0; i < na; i++) {
                double v = x->dims[axes[i]] ? (double)sz[i] / (double)x->dims[axes[i]] : 1;
                s = larger ? (v > s ? v : s) : (v < s ? v : s);
            }
            for (int i = 0; i < na; i++) {
                int a = axes[i];
                p->scale[a] = s;
                double o = floor(s * (double)x->dims[a] + 0.5);
                if (!(o < 9.0e18))
                    return op_fail(c, NORMA_ERR_SHAPE, "output size for axis %d is out of range", a);
                p->out[a] = (int64_t)o;
                p->olen[a] = (double)p->out[a];
            }
        }
        return NORMA_OK;
    }
sizes_from_scales:
    for (int i = 0; i < r; i++) {
        if (!(p->scale[i] > 0) || p->scale[i] > 1e6)
            return op_fail(c, NORMA_ERR_MODEL, "scale %g for axis %d is not positive", p->scale[i], i);
        double o = (double)x->dims[i] * p->scale[i];
        if (p->ct == CT_TF_CROP)
            o *= p->roi_hi[i] - p->roi_lo[i];
        if (!(o < 9.0e18)) /* NaN or too large (roi read from data) */
            return op_fail(c, NORMA_ERR_SHAPE, "output size for axis %d is out of range", i);
        p->out[i] = o > 0 ? (int64_t)floor(o + 1e-9) : 0;
        p->olen[i] = p->ct == CT_TF_CROP ? (double)p->out[i] : (double)x->dims[i] * p->scale[i];
    }
    return NORMA_OK;
}

/* Source coordinate of output position o on an axis of in-length L, out-length O. */
static double rs_coord(const rs_plan *p, int d, int64_t o, int64_t L)
{
    double s = p->scale[d], O = p->olen[d];
    switch (p->ct) {
    case CT_HALF_PIXEL: return ((double)o + 0.5) / s - 0.5;
    case CT_PYTORCH_HALF_PIXEL: return O > 1 ? ((double)o + 0.5) / s - 0.5 : 0;
    case CT_ALIGN_CORNERS: return O == 1 ? 0 : (double)o * (double)(L - 1) / (O - 1);
    case CT_TF_HALF_NEAREST: return ((double)o + 0.5) / s;
    case CT_TF_CROP:
        return O > 1 ? p->roi_lo[d] * (double)(L - 1) + (double)o * (p->roi_hi[d] - p->roi_lo[d]) * (double)(L - 1) / (O - 1)
                     : 0.5 * (p->roi_lo[d] + p->roi_hi[d]) * (double)(L - 1);
    default: return (double)o / s;
    }
}

static int64_t rs_nearest(int nm, double v)
{
    double f = floor(v);
    switch (nm) {
    case NM_ROUND_FLOOR: return (int64_t)(v - f == 0.5 ? f : floor(v + 0.5));
    case NM_ROUND_CEIL: return (int64_t)(v - f == 0.5 ? f + 1 : floor(v + 0.5));
    case NM_CEIL: return (int64_t)ceil(v);
    default: return (int64_t)f;
    }
}

/* Per-axis tables in scratch: for each output position, T taps of (index, weight),
 * and a flag for positions outside the input (tf_crop_and_resize). */
static int rs_taps(const rs_plan *p)
{
    return p->linear == 2 ? 4 : p->linear == 1 ? 2 : 1;
}

static size_t rs_table_bytes(const rs_plan *p)
{
    size_t n = 0;
    for (int d = 0; d < p->rank; d++)
        n += (size_t)p->out[d];
    return n * (size_t)rs_taps(p) * (sizeof(int64_t) + sizeof(float)) + n + 64;
}

/* Keys' cubic convolution weight at distance t (|t| <= 2). */
static double cubic_w(double t, double A)
{
    t = fabs(t);
    if (t <= 1)
        return ((A + 2) * t - (A + 3)) * t * t + 1;
    if (t < 2)
        return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    return 0;
}

static int rs_infer(op_ctx *c)
{
    rs_plan p;
    int rc = rs_compute(c, &p);
    if (rc)
        return rc;
    for (int d = 0; d < p.rank; d++)
        if (c->in[0]->dims[d] == 0 && p.out[d] > 0)
            return op_fail(c, NORMA_ERR_SHAPE, "cannot resize axis %d of size 0 to %lld", d, (long long)p.out[d]);
    op_set_shape(c->out[0], c->in[0]->dtype, p.rank, p.out);
    c->scratch_size = rs_table_bytes(&p);
    return NORMA_OK;
}

static int rs_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    rs_plan p;
    if (rs_compute(c, &p))
        return NORMA_ERR_RUNTIME;
    int r = p.rank;
    size_t total = ir_tensor_numel(y), es = ir_dtype_size(x->dtype);
    if (total == 0)
        return NORMA_OK;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return NORMA_OK;
    }
    size_t npos = 0;
    int T = rs_taps(&p);
    for (int d = 0; d < r; d++)
        npos += (size_t)p.out[d];
    int64_t *ti = c->scratch;
    float *tw = (float *)(void *)(ti + npos * (size_t)T);
    unsigned char *oob = (unsigned char *)(tw + npos * (size_t)T);
    size_t base[IR_MAX_RANK];
    int interp[IR_MAX_RANK], nk = 0;
    int64_t xs[IR_MAX_RANK], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    size_t at = 0;
    for (int d = 0; d < r; d++) {
        int64_t L = x->dims[d];
        int any = 0;
        base[d] = at;
        for (int64_t o = 0; o < p.out[d]; o++, at++) {
            double v = rs_coord(&p, d, o, L);
            if (v != v) /* keep float-to-int conversions defined whatever roi holds */
                v = 0;
            v = v < -1e15 ? -1e15 : v > 1e15 ? 1e15 : v;
            int64_t *ix = ti + at * (size_t)T;
            float *wt = tw + at * (size_t)T;
            oob[at] = p.ct == CT_TF_CROP && (v < 0 || v > (double)(L - 1));
            if (p.linear == 0) {
                int64_t k = rs_nearest(p.nm, v);
                ix[0] = k < 0 ? 0 : k >= L ? L - 1 : k;
                wt[0] = 1;
                continue;
            }
            if (p.linear == 1) {
                if (v < 0)
                    v = 0;
                if (v > (double)(L - 1))
                    v = (double)(L - 1);
                int64_t k = (int64_t)floor(v);
                ix[0] = k;
                ix[1] = k + 1 < L ? k + 1 : k;
                wt[1] = (float)(v - (double)k);
                wt[0] = 1.0f - wt[1];
                if (wt[1] != 0)
                    any = 1;
                continue;
            }
            /* cubic: taps floor(v)-1 .. floor(v)+2, indices clamped to the edge */
            double f = floor(v), rr = v - f, sum = 0, ww[4];
            for (int k = 0; k < 4; k++) {
                int64_t j = (int64_t)f - 1 + k;
                ww[k] = cubic_w(rr + 1 - k, p.cubic_a);
                if (p.exclude_outside && (j < 0 || j >= L))
                    ww[k] = 0;
                sum += ww[k];
                ix[k] = j < 0 ? 0 : j >= L ? L - 1 : j;
            }
            for (int k = 0; k < 4; k++) {
                wt[k] = (float)(p.exclude_outside && sum != 0 ? ww[k] / sum : ww[k]);
                if (k != 1 && wt[k] != 0)
                    any = 1;
            }
            if (wt[1] != 1)
                any = 1;
        }
        if (any)
            interp[nk++] = d;
    }
    int ncorner = 1;
    for (int k = 0; k < nk; k++)
        ncorner *= T;
    int lead = p.linear == 2 ? 1 : 0; /* the tap that carries weight 1 on axes that do not interpolate */
    int64_t W = p.out[r - 1];
    int64_t rows = (int64_t)(total / (size_t)W);
    int nt = total > (1 << 16) ? c->threads : 1;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t row = 0; row < rows; row++) {
        int64_t idx[IR_MAX_RANK], rem = row;
        idx[r - 1] = 0;
        for (int d = r - 2; d >= 0; d--) {
            idx[d] = rem % p.out[d];
            rem /= p.out[d];
        }
        for (int64_t col = 0; col < W; col++) {
            size_t oi = (size_t)(row * W + col);
            idx[r - 1] = col;
            int out_of = 0;
            int64_t off = 0;
            for (int d = 0; d < r; d++) {
                size_t t = base[d] + (size_t)idx[d];
                out_of |= oob[t];
                off += ti[t * (size_t)T + (size_t)lead] * xs[d];
            }
            if (p.linear == 0) {
                if (out_of && x->dtype == NORMA_FLOAT)
                    ((float *)y->data)[oi] = p.extrap;
                else
                    memcpy((char *)y->data + oi * es, (const char *)x->data + (size_t)off * es, es);
                continue;
            }
            if (out_of) {
                ((float *)y->data)[oi] = p.extrap;
                continue;
            }
            double acc = 0;
            for (int m = 0; m < ncorner; m++) {
                double wgt = 1;
                int64_t o2 = off;
                int mm = m;
                for (int k = 0; k < nk; k++) {
                    int d = interp[k], tap = mm % T;
                    mm /= T;
                    size_t t = (base[d] + (size_t)idx[d]) * (size_t)T;
                    wgt *= tw[t + (size_t)tap];
                    o2 += (ti[t + (size_t)tap] - ti[t + (size_t)lead]) * xs[d];
                }
                if (wgt != 0)
                    acc += wgt * ((const float *)x->data)[o2];
            }
            ((float *)y->data)[oi] = (float)acc;
        }
    }
    return NORMA_OK;
}

static const op_schema up7 = {"Upsample", "", 7, 1, 1, 1, 1, NULL, NULL, rs_infer, rs_run};
static const op_schema up9 = {"Upsample", "", 9, 2, 2, 1, 1, NULL, NULL, rs_infer, rs_run};
static const op_schema rs10 = {"Resize", "", 10, 2, 2, 1, 1, NULL, NULL, rs_infer, rs_run};
static const op_schema rs11 = {"Resize", "", 11, 3, 4, 1, 1, NULL, NULL, rs_infer, rs_run, OP_F_EMPTY_INPUTS}; /* roi, scales */
static const op_schema rs13 = {"Resize", "", 13, 1, 4, 1, 1, NULL, NULL, rs_infer, rs_run};
static const op_schema rs18 = {"Resize", "", 18, 1, 4, 1, 1, NULL, NULL, rs_infer, rs_run};
static const op_schema rs19 = {"Resize", "", 19, 1, 4, 1, 1, NULL, NULL, rs_infer, rs_run};

OP_TABLE(resize) = {&up7, &up9, &rs10, &rs11, &rs13, &rs18, &rs19, NULL};
