/* Strided N-D copy (see copy.h). */
#include <string.h>

#include "kernels/copy.h"

void k_copy_coalesce(int *r, int64_t *od, int64_t *st)
{
    int n = 0;
    for (int i = 0; i < *r; i++) {
        if (od[i] == 1)
            continue;
        if (n > 0 && st[n - 1] == st[i] * od[i]) {
            od[n - 1] *= od[i];
            st[n - 1] = st[i];
            continue;
        }
        od[n] = od[i];
        st[n] = st[i];
        n++;
    }
    if (n == 0) {
        od[0] = 1;
        st[0] = 0;
        n = 1;
    }
    *r = n;
}

void k_strided_copy_ref(void *out, const void *in, size_t es, int r, const int64_t *od, const int64_t *st)
{
    int64_t idx[16] = {0};
    size_t total = 1;
    for (int d = 0; d < r; d++)
        total *= (size_t)od[d];
    char *o = out;
    for (size_t k = 0; k < total; k++) {
        int64_t off = 0;
        for (int d = 0; d < r; d++)
            off += idx[d] * st[d];
        memcpy(o + k * es, (const char *)in + off * (int64_t)es, es);
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < od[d])
                break;
            idx[d] = 0;
        }
    }
}

/* One innermost row of n elements with stride s (elements). */
static void copy_row(char *o, const char *i, size_t es, int64_t n, int64_t s)
{
    if (s == 1) {
        memcpy(o, i, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1:
        for (int64_t k = 0; k < n; k++)
            o[k] = i[k * s];
        break;
    case 2: {
        uint16_t *oo = (uint16_t *)(void *)o;
        const uint16_t *ii = (const uint16_t *)(const void *)i;
        for (int64_t k = 0; k < n; k++)
            oo[k] = ii[k * s];
        break;
    }
    case 4: {
        uint32_t *oo = (uint32_t *)(void *)o;
        const uint32_t *ii = (const uint32_t *)(const void *)i;
        for (int64_t k = 0; k < n; k++)
            oo[k] = ii[k * s];
        break;
    }
    case 8: {
        uint64_t *oo = (uint64_t *)(void *)o;
        const uint64_t *ii = (const uint64_t *)(const void *)i;
        for (int64_t k = 0; k < n; k++)
            oo[k] = ii[k * s];
        break;
    }
    default:
        for (int64_t k = 0; k < n; k++)
            memcpy(o + (size_t)k * es, i + k * s * (int64_t)es, es);
    }
}

/* Rows whose inner stride is large (a transpose of the last two dims) are copied in
 * tiles so that both the reads and the writes stay within a few cache lines. */
static void copy_tiled_2d(char *o, const char *i, size_t es, int64_t rows, int64_t cols, int64_t rs, int64_t cs)
{
    const int64_t T = 32;
    for (int64_t r0 = 0; r0 < rows; r0 += T)
        for (int64_t c0 = 0; c0 < cols; c0 += T) {
            int64_t r1 = r0 + T < rows ? r0 + T : rows, c1 = c0 + T < cols ? c0 + T : cols;
            for (int64_t r = r0; r < r1; r++)
                copy_row(o + (size_t)(r * cols + c0) * es, i + (r * rs + c0 * cs) * (int64_t)es, es, c1 - c0, cs);
        }
}

void k_strided_copy(void *out, const void *in, size_t es, int r, const int64_t *od_in, const int64_t *st_in,
                    int threads)
{
    int64_t od[16], st[16];
    for (int d = 0; d < r; d++) {
        od[d] = od_in[d];
        st[d] = st_in[d];
    }
    k_copy_coalesce(&r, od, st);
    for (int d = 0; d < r; d++)
        if (od[d] == 0)
            return;
    /* The last two dims form a 2-D block; everything above is the outer loop. */
    int inner = r >= 2 ? 2 : 1;
    int64_t outer = 1;
    for (int d = 0; d < r - inner; d++)
        outer *= od[d];
    int64_t rows = inner == 2 ? od[r - 2] : 1, cols = od[r - 1];
    int64_t rs = inner == 2 ? st[r - 2] : 0, cs = st[r - 1];
    int64_t block = rows * cols;
    int tiled = inner == 2 && cs != 1 && cs != 0 && rows >= 8 && cols >= 8;
    int nt = (double)outer * (double)block * (double)es > (1 << 20) && outer > 1 ? threads : 1;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t q = 0; q < outer; q++) {
        int64_t off = 0, rem = q;
        for (int d = r - inner - 1; d >= 0; d--) {
            off += (rem % od[d]) * st[d];
            rem /= od[d];
        }
        char *o = (char *)out + (size_t)(q * block) * es;
        const char *i = (const char *)in + off * (int64_t)es;
        if (tiled)
            copy_tiled_2d(o, i, es, rows, cols, rs, cs);
        else
            for (int64_t rr = 0; rr < rows; rr++)
                copy_row(o + (size_t)(rr * cols) * es, i + rr * rs * (int64_t)es, es, cols, cs);
    }
}
