/*
 * Signal ops of ONNX opset 17 (DFT also 20, where axis became input 2): HannWindow, HammingWindow, BlackmanWindow (a window of
 * the length held by input 0), DFT (a 1-D transform along one axis of a real [.., 1] or
 * complex [.., 2] tensor) and STFT (windowed DFTs of frames of a signal). Transforms
 * run in double through kernels/dft.h (radix-2 FFT; other lengths a direct sum when
 * short, Bluestein's algorithm when long). Window lengths, dft_length, frame_step and
 * frame_length decide output shapes, so infer returns OP_NEEDS_DATA until they are known.
 */
#include <math.h>
#include <string.h>

#include "kernels/dft.h"
#include "ops/op.h"

/* Reads the scalar (or 1-element) integer input i into *v. Returns NORMA_OK,
 * OP_NEEDS_DATA when its data is not known yet, or an error. */
static int sig_scalar(op_ctx *c, int i, const char *what, int64_t *v)
{
    const ir_tensor *t = c->in[i];
    static const int dt[] = {NORMA_INT32, NORMA_INT64, 0};
    int rc = op_check_dtype(c, i, dt);
    if (rc)
        return rc;
    if (ir_tensor_numel(t) != 1 || t->rank > 1)
        return op_fail(c, NORMA_ERR_SHAPE, "%s must be a scalar", what);
    if (!t->data)
        return OP_NEEDS_DATA;
    op_read_ints(t, v, 1);
    return NORMA_OK;
}

/* ---- windows ---- */

static int win_init(op_ctx *c)
{
    int64_t dt = ir_attr_int(c->node, "output_datatype", NORMA_FLOAT);
    if (dt != NORMA_FLOAT && dt != NORMA_DOUBLE)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output_datatype %lld is not supported (float, double)",
                       (long long)dt);
    return NORMA_OK;
}

static int win_infer(op_ctx *c)
{
    int64_t n;
    int rc = sig_scalar(c, 0, "size", &n);
    if (rc)
        return rc;
    if (n < 0)
        return op_fail(c, NORMA_ERR_SHAPE, "size %lld is negative", (long long)n);
    (void)ir_attr_int(c->node, "periodic", 1); /* read here too: a wrong type is reported before run */
    op_set_shape(c->out[0], (int)ir_attr_int(c->node, "output_datatype", NORMA_FLOAT), 1, &n);
    return NORMA_OK;
}

static int win_run(op_ctx *c)
{
    const char *op = c->node->op_type;
    int64_t n = c->out[0]->dims[0];
    int periodic = ir_attr_int(c->node, "periodic", 1) != 0;
    double N = (double)(periodic ? n : n - 1), two_pi = 6.283185307179586476925286766559;
    int kind = op[1] == 'a' && op[2] == 'n' ? 0 : op[1] == 'a' ? 1 : 2; /* Hann, Hamming, Blackman */
    for (int64_t i = 0; i < n; i++) {
        double a = N > 0 ? two_pi * (double)i / N : 0, v;
        if (kind == 0)
            v = 0.5 - 0.5 * cos(a);
        else if (kind == 1)
            v = 25.0 / 46.0 - (21.0 / 46.0) * cos(a);
        else
            v = 0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a);
        if (N <= 0)
            v = 1.0;
        if (c->out[0]->dtype == NORMA_DOUBLE)
            ((double *)c->out[0]->data)[i] = v;
        else
            ((float *)c->out[0]->data)[i] = (float)v;
    }
    return NORMA_OK;
}

/* ---- shared transform driver ---- */

/* Doubles of scratch a length-N transform needs (plan, work, signal buffer); 0 when
 * N is too large. */
static size_t sig_scratch(size_t N)
{
    size_t p = k_dft_plan_size(N), w = k_dft_work_size(N);
    if (!p || !w || N > SIZE_MAX / 64 || p + w > SIZE_MAX / 16 - 2 * N)
        return 0;
    return p + w + 2 * N;
}

/* Transforms one signal of n complex (or real, cplx == 0) samples, read at x with a
 * stride of xs elements and multiplied by win (may be NULL), zero-padded or truncated
 * to N, into nout bins written at y with stride ys (re, im adjacent). plan is
 * k_dft_plan(N); a holds 2N doubles and work k_dft_work_size(N). */
static void sig_one(int dtype, const void *x, size_t n, ptrdiff_t xs, int cplx, const double *win, size_t N,
                    int inverse, void *y, size_t nout, ptrdiff_t ys, const double *plan, double *a, double *work)
{
    size_t m = n < N ? n : N;
    for (size_t i = 0; i < N; i++) {
        double re = 0, im = 0;
        if (i < m) {
            if (dtype == NORMA_DOUBLE) {
                const double *p = (const double *)x + (ptrdiff_t)i * xs;
                re = p[0];
                im = cplx ? p[1] : 0;
            } else {
                const float *p = (const float *)x + (ptrdiff_t)i * xs;
                re = p[0];
                im = cplx ? p[1] : 0;
            }
            if (win) {
                re *= win[i];
                im *= win[i];
            }
        }
        a[2 * i] = re;
        a[2 * i + 1] = im;
    }
    k_dft(N, plan, inverse, a, work);
    for (size_t k = 0; k < nout; k++) {
        if (dtype == NORMA_DOUBLE) {
            double *q = (double *)y + (ptrdiff_t)k * ys;
            q[0] = a[2 * k];
            q[1] = a[2 * k + 1];
        } else {
            float *q = (float *)y + (ptrdiff_t)k * ys;
            q[0] = (float)a[2 * k];
            q[1] = (float)a[2 * k + 1];
        }
    }
}

/* ---- DFT ---- */

/* The DFT axis: the attribute (opset 17, default 1) or the optional scalar input 2
 * (opset 20, default -2). Returns NORMA_OK, OP_NEEDS_DATA or an error. */
static int dft_axis(op_ctx *c, int64_t *ax)
{
    if (c->opset < 20) {
        *ax = ir_attr_int(c->node, "axis", 1);
        return NORMA_OK;
    }
    *ax = -2;
    return c->n_in > 2 && c->in[2] ? sig_scalar(c, 2, "axis", ax) : NORMA_OK;
}

static int dft_infer(op_ctx *c)
{
    static const int dt[] = {NORMA_FLOAT, NORMA_DOUBLE, 0};
    int rc = op_check_dtype(c, 0, dt);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    int r = x->rank;
    if (r < 2 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2))
        return op_fail(c, NORMA_ERR_SHAPE, "input must have rank >= 2 and last dim 1 (real) or 2 (complex)");
    int64_t ax;
    if ((rc = dft_axis(c, &ax)))
        return rc;
    int axis = op_axis(ax, r);
    if (axis < 0 || axis == r - 1)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d (the last dim is re/im)",
                       (long long)ax, r);
    int onesided = ir_attr_int(c->node, "onesided", 0) != 0, inverse = ir_attr_int(c->node, "inverse", 0) != 0;
    if (onesided && inverse)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "onesided with inverse is not supported");
    if (onesided && x->dims[r - 1] == 2)
        return op_fail(c, NORMA_ERR_MODEL, "onesided needs a real input (last dim 1)");
    int64_t len = x->dims[axis];
    if (c->n_in > 1 && c->in[1]) {
        rc = sig_scalar(c, 1, "dft_length", &len);
        if (rc)
            return rc;
        if (len < 1)
            return op_fail(c, NORMA_ERR_SHAPE, "dft_length %lld must be positive", (long long)len);
    }
    if (len < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "the signal along axis %d is empty", axis);
    int64_t od[IR_MAX_RANK];
    memcpy(od, x->dims, sizeof(int64_t) * (size_t)r);
    od[axis] = onesided ? len / 2 + 1 : len;
    od[r - 1] = 2;
    int ok = 1;
    ir_numel_checked(r, od, &ok);
    size_t need = sig_scratch((size_t)len);
    if (!ok || !need)
        return op_fail(c, NORMA_ERR_SHAPE, "output size overflows");
    op_set_shape(c->out[0], x->dtype, r, od);
    c->scratch_size = need * sizeof(double);
    return NORMA_OK;
}

static int dft_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    int64_t ax = 1;
    dft_axis(c, &ax);
    int r = x->rank, axis = op_axis(ax, r);
    int inverse = ir_attr_int(c->node, "inverse", 0) != 0, cplx = x->dims[r - 1] == 2;
    int64_t len = x->dims[axis];
    if (c->n_in > 1 && c->in[1])
        op_read_ints(c->in[1], &len, 1);
    size_t N = (size_t)len, esz = ir_dtype_size(x->dtype);
    size_t n = (size_t)x->dims[axis], nout = (size_t)y->dims[axis];
    size_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= (size_t)x->dims[d];
    for (int d = axis + 1; d < r - 1; d++)
        inner *= (size_t)x->dims[d];
    size_t xc = (size_t)x->dims[r - 1];
    double *plan = c->scratch, *work = plan + k_dft_plan_size(N), *a = work + k_dft_work_size(N);
    k_dft_plan(N, plan);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const char *xp = (const char *)x->data + ((o * n) * inner + i) * xc * esz;
            char *yp = (char *)y->data + ((o * nout) * inner + i) * 2 * esz;
            sig_one(x->dtype, xp, n, (ptrdiff_t)(inner * xc), cplx, NULL, N, inverse, yp, nout,
                    (ptrdiff_t)(inner * 2), plan, a, work);
        }
    return NORMA_OK;
}

/* ---- STFT ---- */

/* signal (B, L, 1|2), frame_step, window (W) optional, frame_length optional
 * -> (B, frames, bins, 2). */
static int stft_geom(op_ctx *c, int64_t *step, int64_t *flen, int64_t *frames, int64_t *bins)
{
    static const int dt[] = {NORMA_FLOAT, NORMA_DOUBLE, 0};
    int rc = op_check_dtype(c, 0, dt);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *w = c->n_in > 2 ? c->in[2] : NULL;
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return op_fail(c, NORMA_ERR_SHAPE, "signal must be (batch, length, 1 or 2)");
    rc = sig_scalar(c, 1, "frame_step", step);
    if (rc)
        return rc;
    if (*step < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "frame_step %lld must be positive", (long long)*step);
    *flen = -1;
    if (c->n_in > 3 && c->in[3]) {
        rc = sig_scalar(c, 3, "frame_length", flen);
        if (rc)
            return rc;
    }
    if (w) {
        if (w->dtype != x->dtype || w->rank != 1)
            return op_fail(c, NORMA_ERR_SHAPE, "window must be 1-D with the signal's dtype");
        if (*flen >= 0 && *flen != w->dims[0])
            return op_fail(c, NORMA_ERR_SHAPE, "window length %lld differs from frame_length %lld",
                           (long long)w->dims[0], (long long)*flen);
        *flen = w->dims[0];
    }
    if (*flen < 0)
        return op_fail(c, NORMA_ERR_MODEL, "needs a window or a frame_length");
    if (*flen < 1 || *flen > x->dims[1])
        return op_fail(c, NORMA_ERR_SHAPE, "frame_length %lld must be in [1, %lld]", (long long)*flen,
                       (long long)x->dims[1]);
    int onesided = ir_attr_int(c->node, "onesided", 1) != 0;
    if (onesided && x->dims[2] == 2)
        return op_fail(c, NORMA_ERR_MODEL, "onesided needs a real signal (last dim 1)");
    *frames = 1 + (x->dims[1] - *flen) / *step;
    *bins = onesided ? *flen / 2 + 1 : *flen;
    return NORMA_OK;
}

static int stft_infer(op_ctx *c)
{
    int64_t step = 0, flen = 0, frames = 0, bins = 0;
    int rc = stft_geom(c, &step, &flen, &frames, &bins);
    if (rc)
        return rc;
    int64_t od[4] = {c->in[0]->dims[0], frames, bins, 2};
    size_t need = sig_scratch((size_t)flen);
    if (!need)
        return op_fail(c, NORMA_ERR_SHAPE, "frame_length %lld is too large", (long long)flen);
    op_set_shape(c->out[0], c->in[0]->dtype, 4, od);
    c->scratch_size = (need + (size_t)flen) * sizeof(double);
    return NORMA_OK;
}

static int stft_run(op_ctx *c)
{
    int64_t step = 0, flen = 0, frames = 0, bins = 0;
    int rc = stft_geom(c, &step, &flen, &frames, &bins);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *w = c->n_in > 2 ? c->in[2] : NULL;
    size_t N = (size_t)flen, esz = ir_dtype_size(x->dtype), xc = (size_t)x->dims[2];
    double *plan = c->scratch, *work = plan + k_dft_plan_size(N), *a = work + k_dft_work_size(N), *win = NULL;
    k_dft_plan(N, plan);
    if (w) {
        win = a + 2 * N;
        for (size_t i = 0; i < N; i++)
            win[i] = x->dtype == NORMA_DOUBLE ? ((const double *)w->data)[i] : ((const float *)w->data)[i];
    }
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t f = 0; f < frames; f++) {
            const char *xp = (const char *)x->data + ((size_t)(b * x->dims[1] + f * step)) * xc * esz;
            char *yp = (char *)c->out[0]->data + ((size_t)((b * frames + f) * bins)) * 2 * esz;
            sig_one(x->dtype, xp, N, (ptrdiff_t)xc, xc == 2, win, N, 0, yp, (size_t)bins, 2, plan, a, work);
        }
    return NORMA_OK;
}

static const op_schema hann17 = {"HannWindow", "", 17, 1, 1, 1, 1, win_init, NULL, win_infer, win_run};
static const op_schema hamming17 = {"HammingWindow", "", 17, 1, 1, 1, 1, win_init, NULL, win_infer, win_run};
static const op_schema blackman17 = {"BlackmanWindow", "", 17, 1, 1, 1, 1, win_init, NULL, win_infer, win_run};
static const op_schema dft17 = {"DFT", "", 17, 1, 2, 1, 1, NULL, NULL, dft_infer, dft_run};
static const op_schema dft20 = {"DFT", "", 20, 1, 3, 1, 1, NULL, NULL, dft_infer, dft_run};
static const op_schema stft17 = {"STFT", "", 17, 2, 4, 1, 1, NULL, NULL, stft_infer, stft_run};

OP_TABLE(signal) = {&hann17, &hamming17, &blackman17, &dft17, &dft20, &stft17, NULL};
