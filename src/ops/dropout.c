/*
 * Dropout (ONNX opsets 1, 6, 7, 10, 12, 13) at inference: the output is the input and
 * the optional mask is all true. Opsets 12+ take a training_mode input; a true one
 * asks for random drops, which norma does not run unless the ratio is 0.
 */
#include <string.h>

#include "ops/elem.h"
#include "ops/op.h"

static int dropout_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    /* Opsets 1 and 6 have is_test (default 0); inference ignores it, as exporters do. */
    if (c->n_in > 2 && c->in[2]) {
        const ir_tensor *t = c->in[2];
        if (!t->data)
            return OP_NEEDS_DATA;
        if (ir_tensor_numel(t) != 1 || t->dtype != NORMA_BOOL)
            return op_fail(c, NORMA_ERR_MODEL, "'training_mode' must be a bool scalar");
        /* Training mode drops at random; with a ratio of 0 it drops nothing, which
         * is the one case norma can run (it has no random number generator). */
        const ir_tensor *r = c->n_in > 1 ? c->in[1] : NULL;
        if (*(const unsigned char *)t->data) {
            if (!r)
                return op_fail(c, NORMA_ERR_UNSUPPORTED, "training_mode=true with the default ratio 0.5 is random, "
                               "which norma does not run");
            if (!r->data)
                return OP_NEEDS_DATA;
            if (ir_tensor_numel(r) != 1 || !elem_is_float(r->dtype))
                return op_fail(c, NORMA_ERR_MODEL, "'ratio' must be a float scalar");
            double ratio = elem_get_f64(r->data, r->dtype, 0);
            if (ratio != 0)
                return op_fail(c, NORMA_ERR_UNSUPPORTED, "training_mode=true with ratio %g is random, which norma "
                               "does not run", ratio);
        }
    }
    op_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    if (c->n_out > 1 && c->out[1])
        op_set_shape(c->out[1], c->opset >= 10 ? NORMA_BOOL : x->dtype, x->rank, x->dims);
    return NORMA_OK;
}

static int dropout_run(op_ctx *c)
{
    size_t n = ir_tensor_nbytes(c->in[0]);
    if (n && c->out[0]->data != c->in[0]->data)
        memcpy(c->out[0]->data, c->in[0]->data, n);
    if (c->n_out > 1 && c->out[1]) {
        ir_tensor *m = c->out[1];
        size_t k = ir_tensor_numel(m);
        if (m->dtype == NORMA_BOOL)
            memset(m->data, 1, k);
        else /* before opset 10 the mask has the input's dtype */
            for (size_t i = 0; i < k; i++)
                elem_set_i64(m->data, m->dtype, i, 1);
    }
    return NORMA_OK;
}

static const op_schema dropout1 = {"Dropout", "", 1, 1, 1, 1, 2, NULL, NULL, dropout_infer, dropout_run};
static const op_schema dropout6 = {"Dropout", "", 6, 1, 1, 1, 2, NULL, NULL, dropout_infer, dropout_run};
static const op_schema dropout7 = {"Dropout", "", 7, 1, 1, 1, 2, NULL, NULL, dropout_infer, dropout_run};
static const op_schema dropout10 = {"Dropout", "", 10, 1, 1, 1, 2, NULL, NULL, dropout_infer, dropout_run};
static const op_schema dropout12 = {"Dropout", "", 12, 1, 3, 1, 2, NULL, NULL, dropout_infer, dropout_run};
static const op_schema dropout13 = {"Dropout", "", 13, 1, 3, 1, 2, NULL, NULL, dropout_infer, dropout_run};

OP_TABLE(dropout) = {&dropout1, &dropout6, &dropout7, &dropout10, &dropout12, &dropout13, NULL};
