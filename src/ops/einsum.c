/*
 * Einsum (ONNX opset 12): sums of products of inputs named by an equation such as
 * "bhqd,bhkd->bhqk". Supports "..." (broadcast like numpy), repeated labels within one
 * term (diagonals), labels summed because the output omits them, and the implicit
 * output (ellipsis dims, then the labels used once, in alphabetical order).
 *
 * Two float32 inputs whose labels split into batch (both inputs and output), M (first
 * and output), N (second and output) and K (both inputs, summed) groups, each group
 * contiguous in memory, run as one GEMM per batch index through kernels/gemm.h (the
 * attention and linear-layer forms). Everything else runs the general loop of
 * kernels/einsum.h, in double for float64 and with a double accumulator for float32.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/einsum.h"
#include "kernels/gemm.h"
#include "ops/op.h"

#define ES_ELL (-1)     /* "..." in a parsed term */
#define ES_LETTERS 52   /* labels 0..51 are A-Z, a-z; ellipsis dims follow */
#define ES_NLAB (ES_LETTERS + IR_MAX_RANK)

typedef struct es_term {
    int n;
    int lab[IR_MAX_RANK + 1]; /* letter ids, ES_ELL for "..." */
    int has_ell;
} es_term;

typedef struct es_state {
    int n_in;
    es_term in[K_EINSUM_MAX_IN];
    es_term out;
    int explicit_out;
} es_state;

/* A planned einsum: the general loop, and the GEMM view when the fast path applies. */
typedef struct es_plan {
    k_einsum_loop L;
    int out_rank;
    int64_t out_dims[IR_MAX_RANK];
    int gemm;          /* 1: fast path valid */
    int swap;          /* 1: the second input is GEMM's left operand */
    int64_t M, N, K;
    int64_t a_rs, a_cs, b_rs, b_cs, ldc;
    int n_batch;
    int64_t bsize[IR_MAX_RANK], bstride[3][IR_MAX_RANK]; /* left, right, out */
} es_plan;

static int es_letter(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return 26 + ch - 'a';
    return -1;
}

/* Parses one term [s, e) into t; -1 on a bad character or a second ellipsis. */
static int es_parse_term(const char *s, const char *e, es_term *t)
{
    memset(t, 0, sizeof *t);
    while (s < e) {
        if (*s == '.') {
            if (e - s < 3 || s[1] != '.' || s[2] != '.' || t->has_ell)
                return -1;
            t->has_ell = 1;
            t->lab[t->n++] = ES_ELL;
            s += 3;
            continue;
        }
        int l = es_letter(*s);
        if (l < 0 || t->n >= IR_MAX_RANK + 1)
            return -1;
        t->lab[t->n++] = l;
        s++;
    }
    return 0;
}

static int es_init(op_ctx *c)
{
    const char *eq = ir_attr_string(c->node, "equation", NULL);
    if (!eq)
        return op_fail(c, NORMA_ERR_MODEL, "attribute 'equation' is missing");
    if (c->n_in > K_EINSUM_MAX_IN)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "%d inputs; at most %d are supported", c->n_in,
                       K_EINSUM_MAX_IN);
    size_t len = strlen(eq);
    char *buf = malloc(len + 1);
    es_state *st = calloc(1, sizeof *st);
    if (!buf || !st) {
        free(buf);
        free(st);
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (eq[i] != ' ' && eq[i] != '\t')
            buf[k++] = eq[i];
    buf[k] = 0;
    c->state = st;
    char *arrow = strstr(buf, "->");
    const char *lhs_end = arrow ? arrow : buf + k;
    int rc = NORMA_OK;
    const char *s = buf;
    int n = 0;
    for (;;) {
        const char *e = s;
        while (e < lhs_end && *e != ',')
            e++;
        if (n >= c->n_in || es_parse_term(s, e, &st->in[n])) {
            rc = n >= c->n_in ? 1 : 2;
            break;
        }
        n++;
        if (e >= lhs_end)
            break;
        s = e + 1;
    }
    if (rc == 1 || (!rc && n != c->n_in))
        rc = op_fail(c, NORMA_ERR_MODEL, "equation '%s' has %s terms than the %d inputs", eq,
                     n >= c->n_in && rc ? "more" : "fewer", c->n_in);
    else if (rc == 2 || (arrow && es_parse_term(arrow + 2, buf + k, &st->out)))
        rc = op_fail(c, NORMA_ERR_MODEL, "equation '%s' is malformed", eq);
    else if (arrow && strstr(arrow + 2, "->"))
        rc = op_fail(c, NORMA_ERR_MODEL, "equation '%s' has two '->'", eq);
    st->n_in = n;
    st->explicit_out = arrow != NULL;
    free(buf);
    if (rc) { /* the state is ours to free when init fails */
        free(st);
        c->state = NULL;
    }
    return rc;
}

/* Sorts labels ls (count n) by descending stride in str (insertion sort, n <= 8). */
static void es_sort_by_stride(int *ls, int n, const int64_t *str)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && str[ls[j - 1]] < str[ls[j]]; j--) {
            int t = ls[j];
            ls[j] = ls[j - 1];
            ls[j - 1] = t;
        }
}

/* Whether labels ls (ordered) collapse into one dim in strides str: returns the
 * innermost stride in *inner and the product of sizes in *size. */
static int es_collapse(const int *ls, int n, const int64_t *str, const int64_t *size, int64_t *inner,
                       int64_t *total)
{
    int64_t t = 1;
    for (int i = 0; i < n; i++) {
        if (i + 1 < n && str[ls[i]] != str[ls[i + 1]] * size[ls[i + 1]])
            return 0;
        t *= size[ls[i]];
    }
    *inner = n ? str[ls[n - 1]] : 0;
    *total = t;
    return 1;
}

/* Tries the GEMM view with input x as the left operand (labels of loop L). */
static int es_try_gemm(es_plan *p, int x, const int *pres_x, const int *pres_y, const int64_t *ostr)
{
    const k_einsum_loop *L = &p->L;
    int y = 1 - x, nl = L->n_out + L->n_red;
    int gm[K_EINSUM_MAX_LABELS], gn[K_EINSUM_MAX_LABELS], gk[K_EINSUM_MAX_LABELS];
    int nm = 0, nn = 0, nk = 0;
    p->n_batch = 0;
    for (int l = 0; l < nl; l++) {
        if (L->size[l] == 1)
            continue;
        int po = l < L->n_out, px = pres_x[l], py = pres_y[l];
        if (px && py && po) {
            int b = p->n_batch++;
            p->bsize[b] = L->size[l];
            p->bstride[0][b] = L->stride[x][l];
            p->bstride[1][b] = L->stride[y][l];
            p->bstride[2][b] = ostr[l];
        } else if (px && !py && po)
            gm[nm++] = l;
        else if (!px && py && po)
            gn[nn++] = l;
        else if (px && py && !po)
            gk[nk++] = l;
        else
            return 0;
    }
    int64_t so[K_EINSUM_MAX_LABELS], sx[K_EINSUM_MAX_LABELS], sy[K_EINSUM_MAX_LABELS];
    for (int l = 0; l < nl; l++) {
        so[l] = l < L->n_out ? ostr[l] : 0;
        sx[l] = L->stride[x][l];
        sy[l] = L->stride[y][l];
    }
    int64_t t, mo, no;
    es_sort_by_stride(gm, nm, so);
    es_sort_by_stride(gn, nn, so);
    es_sort_by_stride(gk, nk, sx);
    if (!es_collapse(gm, nm, so, L->size, &mo, &p->M) || !es_collapse(gm, nm, sx, L->size, &p->a_rs, &t))
        return 0;
    if (!es_collapse(gn, nn, so, L->size, &no, &p->N) || !es_collapse(gn, nn, sy, L->size, &p->b_cs, &t))
        return 0;
    if (!es_collapse(gk, nk, sx, L->size, &p->a_cs, &p->K) || !es_collapse(gk, nk, sy, L->size, &p->b_rs, &t))
        return 0;
    if (nn && no != 1)
        return 0;
    p->ldc = nm ? mo : p->N;
    p->swap = x;
    return 1;
}

/* Resolves the equation against the input shapes into p; reports shape errors. */
static int es_build(op_ctx *c, es_plan *p)
{
    const es_state *st = c->state;
    memset(p, 0, sizeof *p);
    int dtype = c->in[0]->dtype;
    if (dtype != NORMA_FLOAT && dtype != NORMA_DOUBLE)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %s is not supported (float, double)",
                       ir_dtype_name(dtype));
    int max_ell = 0, ell[K_EINSUM_MAX_IN];
    for (int i = 0; i < st->n_in; i++) {
        const ir_tensor *t = i < c->n_in ? c->in[i] : NULL;
        if (!t)
            return op_fail(c, NORMA_ERR_MODEL, "input %d is empty; the equation names it", i);
        if (t->dtype != dtype)
            return op_fail(c, NORMA_ERR_SHAPE, "input %d is %s, input 0 is %s", i, ir_dtype_name(t->dtype),
                           ir_dtype_name(dtype));
        int letters = st->in[i].n - st->in[i].has_ell;
        ell[i] = t->rank - letters;
        if (ell[i] < 0 || (!st->in[i].has_ell && ell[i] != 0))
            return op_fail(c, NORMA_ERR_SHAPE, "input %d has rank %d; its term names %d dims%s", i, t->rank,
                           letters, st->in[i].has_ell ? " plus '...'" : "");
        if (ell[i] > max_ell)
            max_ell = ell[i];
    }
    int64_t size[ES_NLAB];
    int used[ES_NLAB] = {0}, count[ES_NLAB] = {0};
    for (int l = 0; l < ES_NLAB; l++)
        size[l] = -1;
    /* label of each dim of each input */
    int dlab[K_EINSUM_MAX_IN][IR_MAX_RANK];
    for (int i = 0; i < st->n_in; i++) {
        const ir_tensor *t = c->in[i];
        int d = 0;
        for (int j = 0; j < st->in[i].n; j++) {
            if (st->in[i].lab[j] == ES_ELL) {
                for (int e = 0; e < ell[i]; e++)
                    dlab[i][d++] = ES_LETTERS + max_ell - ell[i] + e;
            } else {
                dlab[i][d++] = st->in[i].lab[j];
                count[st->in[i].lab[j]]++;
            }
        }
        for (d = 0; d < t->rank; d++) {
            int l = dlab[i][d];
            int64_t v = t->dims[d];
            used[l] = 1;
            if (size[l] < 0 || size[l] == v)
                size[l] = v;
            else if (l >= ES_LETTERS && (size[l] == 1 || v == 1))
                size[l] = size[l] == 1 ? v : size[l];
            else if (l >= ES_LETTERS)
                return op_fail(c, NORMA_ERR_SHAPE, "'...' dims %lld and %lld do not broadcast",
                               (long long)size[l], (long long)v);
            else
                return op_fail(c, NORMA_ERR_SHAPE, "label '%c' has sizes %lld and %lld",
                               l < 26 ? 'A' + l : 'a' + l - 26, (long long)size[l], (long long)v);
        }
    }
    /* output labels */
    int olab[ES_NLAB], no = 0, in_out[ES_NLAB] = {0};
    if (st->explicit_out) {
        for (int j = 0; j < st->out.n; j++) {
            int l = st->out.lab[j];
            if (l == ES_ELL) {
                for (int e = 0; e < max_ell; e++)
                    olab[no++] = ES_LETTERS + e;
                continue;
            }
            char ch = (char)(l < 26 ? 'A' + l : 'a' + l - 26);
            if (!used[l])
                return op_fail(c, NORMA_ERR_MODEL, "output label '%c' is not in any input", ch);
            if (in_out[l])
                return op_fail(c, NORMA_ERR_MODEL, "output label '%c' appears twice", ch);
            in_out[l] = 1;
            olab[no++] = l;
        }
    } else {
        for (int e = 0; e < max_ell; e++)
            olab[no++] = ES_LETTERS + e;
        for (int l = 0; l < ES_LETTERS; l++)
            if (count[l] == 1)
                olab[no++] = l;
    }
    for (int j = 0; j < no; j++)
        in_out[olab[j]] = 1;
    if (no > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output rank %d exceeds %d", no, IR_MAX_RANK);
    /* loop labels: output first, then summed */
    int map[ES_NLAB], nl = 0;
    for (int j = 0; j < no; j++)
        map[olab[j]] = nl++;
    for (int l = 0; l < ES_NLAB; l++)
        if (used[l] && !in_out[l]) {
            if (nl >= K_EINSUM_MAX_LABELS)
                return op_fail(c, NORMA_ERR_UNSUPPORTED, "too many labels");
            map[l] = nl++;
        }
    k_einsum_loop *L = &p->L;
    L->n_in = st->n_in;
    L->n_out = no;
    L->n_red = nl - no;
    int present[K_EINSUM_MAX_IN][K_EINSUM_MAX_LABELS];
    memset(present, 0, sizeof present);
    int diag = 0;
    for (int l = 0; l < ES_NLAB; l++)
        if (used[l])
            L->size[map[l]] = size[l];
    p->out_rank = no;
    for (int j = 0; j < no; j++)
        p->out_dims[j] = size[olab[j]];
    int ok = 1;
    ir_numel_checked(no, p->out_dims, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "output size overflows");
    for (int i = 0; i < st->n_in; i++) {
        const ir_tensor *t = c->in[i];
        int64_t s = 1;
        for (int d = t->rank - 1; d >= 0; d--) {
            int m = map[dlab[i][d]];
            if (present[i][m])
                diag = 1;
            present[i][m] = 1;
            if (t->dims[d] != 1 || L->size[m] == 1)
                L->stride[i][m] += s;
            s *= t->dims[d];
        }
    }
    /* the GEMM view */
    if (dtype == NORMA_FLOAT && st->n_in == 2 && !diag) {
        int64_t ostr[K_EINSUM_MAX_LABELS] = {0}, s = 1;
        for (int j = no - 1; j >= 0; j--) {
            ostr[j] = s;
            s *= p->out_dims[j];
        }
        int64_t red = 1;
        for (int l = no; l < nl; l++)
            red *= L->size[l];
        if (s > 0 && red > 0)
            p->gemm = es_try_gemm(p, 0, present[0], present[1], ostr) ||
                      es_try_gemm(p, 1, present[1], present[0], ostr);
    }
    return NORMA_OK;
}

static int es_infer(op_ctx *c)
{
    es_plan p;
    int rc = es_build(c, &p);
    if (rc)
        return rc;
    op_set_shape(c->out[0], c->in[0]->dtype, p.out_rank, p.out_dims);
    c->scratch_size = 0;
    if (p.gemm) {
        const k_gemm_isa *isa = k_gemm_best();
        c->scratch_size = (k_gemm_packed_a_floats(isa, (size_t)p.M, (size_t)p.K) +
                           k_gemm_packed_b_floats(isa, (size_t)p.K, (size_t)p.N)) * sizeof(float);
    }
    return NORMA_OK;
}

static int es_run(op_ctx *c)
{
    es_plan p;
    int rc = es_build(c, &p);
    if (rc)
        return rc;
    if (c->out[0]->dtype == NORMA_DOUBLE) {
        const double *in[K_EINSUM_MAX_IN];
        for (int i = 0; i < p.L.n_in; i++)
            in[i] = c->in[i]->data;
        k_f64_einsum_ref(&p.L, in, c->out[0]->data, c->threads);
        return NORMA_OK;
    }
    if (!p.gemm) {
        const float *in[K_EINSUM_MAX_IN];
        for (int i = 0; i < p.L.n_in; i++)
            in[i] = c->in[i]->data;
        k_f32_einsum_ref(&p.L, in, c->out[0]->data, c->threads);
        return NORMA_OK;
    }
    const k_gemm_isa *isa = k_gemm_best();
    size_t M = (size_t)p.M, N = (size_t)p.N, K = (size_t)p.K;
    float *ap = c->scratch, *bp = ap + k_gemm_packed_a_floats(isa, M, K);
    const float *A = c->in[p.swap]->data, *B = c->in[1 - p.swap]->data;
    float *Y = c->out[0]->data;
    int64_t nb = 1, idx[IR_MAX_RANK] = {0}, off[3] = {0, 0, 0};
    for (int b = 0; b < p.n_batch; b++)
        nb *= p.bsize[b];
    for (int64_t t = 0; t < nb; t++) {
        k_f32_gemm_pack_a(isa, M, K, A + off[0], (ptrdiff_t)p.a_rs, (ptrdiff_t)p.a_cs, ap);
        k_f32_gemm_pack_b(isa, K, N, B + off[1], (ptrdiff_t)p.b_rs, (ptrdiff_t)p.b_cs, bp);
        k_f32_gemm_packed(isa, M, N, K, 1.0f, ap, bp, 0.0f, Y + off[2], (size_t)p.ldc, NULL, c->threads);
        for (int b = p.n_batch - 1; b >= 0; b--) {
            for (int k = 0; k < 3; k++)
                off[k] += p.bstride[k][b];
            if (++idx[b] < p.bsize[b])
                break;
            for (int k = 0; k < 3; k++)
                off[k] -= p.bsize[b] * p.bstride[k][b];
            idx[b] = 0;
        }
    }
    return NORMA_OK;
}

static const op_schema einsum12 = {"Einsum", "", 12, 1, K_EINSUM_MAX_IN, 1, 1, es_init, NULL, es_infer, es_run};

OP_TABLE(einsum) = {&einsum12, NULL};
