/*
 * MelWeightMatrix (ONNX opset 17): the (dft_length/2 + 1, num_mel_bins) matrix of
 * triangular filters that maps a linear-frequency spectrogram to the mel scale. The
 * output shape comes from the input values, so infer needs them (OP_NEEDS_DATA).
 */
#include <math.h>
#include <stdlib.h>

#include "ops/elem.h"
#include "ops/op.h"

typedef struct mel_args {
    int64_t bins, dft_length, sample_rate;
    double lower, upper;
} mel_args;

static int mel_read(op_ctx *c, mel_args *a)
{
    for (int i = 0; i < 5; i++) {
        const ir_tensor *t = c->in[i];
        if (!t)
            return op_fail(c, NORMA_ERR_MODEL, "input %d is missing", i);
        if (ir_tensor_numel(t) != 1)
            return op_fail(c, NORMA_ERR_MODEL, "input %d must be a scalar", i);
        if ((i < 3) == elem_is_float(t->dtype))
            return op_fail(c, NORMA_ERR_MODEL, "input %d must be %s", i, i < 3 ? "an integer" : "a float");
        if (!t->data)
            return OP_NEEDS_DATA;
    }
    a->bins = ir_tensor_get_i64(c->in[0], 0);
    a->dft_length = ir_tensor_get_i64(c->in[1], 0);
    a->sample_rate = ir_tensor_get_i64(c->in[2], 0);
    a->lower = ir_tensor_get_f64(c->in[3], 0);
    a->upper = ir_tensor_get_f64(c->in[4], 0);
    if (a->bins < 1 || a->bins > (1 << 20) || a->dft_length < 1 || a->dft_length > (1 << 28) || a->sample_rate < 1)
        return op_fail(c, NORMA_ERR_RUNTIME, "num_mel_bins %lld, dft_length %lld and sample_rate %lld must be positive",
                       (long long)a->bins, (long long)a->dft_length, (long long)a->sample_rate);
    if (!(a->lower >= 0 && a->lower <= a->upper && a->upper <= a->sample_rate))
        return op_fail(c, NORMA_ERR_RUNTIME, "edges %g..%g Hz are not within 0..%lld", a->lower, a->upper,
                       (long long)a->sample_rate);
    return NORMA_OK;
}

static int mel_infer(op_ctx *c)
{
    mel_args a;
    int rc = mel_read(c, &a);
    if (rc)
        return rc;
    int dt = (int)ir_attr_int(c->node, "output_datatype", NORMA_FLOAT);
    if (!elem_is_float(dt) && ir_dtype_size(dt) == 0)
        return op_fail(c, NORMA_ERR_MODEL, "output_datatype %d is not a numeric type", dt);
    int64_t dims[2] = {a.dft_length / 2 + 1, a.bins};
    op_set_shape(c->out[0], dt, 2, dims);
    c->scratch_size = sizeof(int64_t) * (size_t)(a.bins + 2);
    return NORMA_OK;
}

static int mel_run(op_ctx *c)
{
    mel_args a;
    int rc = mel_read(c, &a);
    if (rc)
        return rc;
    ir_tensor *y = c->out[0];
    int64_t rows = a.dft_length / 2 + 1, n = a.bins;
    int64_t *edge = c->scratch;
    double lo = 2595 * log10(1 + a.lower / 700), hi = 2595 * log10(1 + a.upper / 700);
    double step = (hi - lo) / (double)(n + 2);
    for (int64_t i = 0; i < n + 2; i++) {
        double hz = 700 * (pow(10, ((double)i * step + lo) / 2595) - 1);
        edge[i] = (int64_t)floor((double)(a.dft_length + 1) * hz / (double)a.sample_rate);
        if (edge[i] < 0 || edge[i] >= rows)
            edge[i] = edge[i] < 0 ? 0 : rows - 1;
    }
    for (int64_t k = 0; k < rows * n; k++)
        elem_set_f64(y->data, y->dtype, (size_t)k, 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t l = edge[i], m = edge[i + 1], r = edge[i + 2];
        if (m == l)
            elem_set_f64(y->data, y->dtype, (size_t)(m * n + i), 1);
        else
            for (int64_t j = l; j <= m; j++)
                elem_set_f64(y->data, y->dtype, (size_t)(j * n + i), (double)(j - l) / (double)(m - l));
        for (int64_t j = m; j < r; j++)
            elem_set_f64(y->data, y->dtype, (size_t)(j * n + i), (double)(r - j) / (double)(r - m));
    }
    return NORMA_OK;
}

static const op_schema mel17 = {"MelWeightMatrix", "", 17, 5, 5, 1, 1, NULL, NULL, mel_infer, mel_run};

OP_TABLE(melweight) = {&mel17, NULL};
