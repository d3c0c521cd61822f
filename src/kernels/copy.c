/* Strided N-D copy (see copy.h). */
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

typedef uint32_t v4u __attribute__((vector_size(16)));

static inline v4u v4_load(const uint32_t *p)
{
    v4u v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void v4_store(uint32_t *p, v4u v)
{
    memcpy(p, &v, sizeof v);
}

/* The 4x4 block at x (row stride ldi) transposed into y (row stride ldo), in
 * registers (__builtin_shufflevector, in GCC 12 and clang: SSE on x86-64, NEON on arm64). */
static inline void tr4x4(const uint32_t *x, ptrdiff_t ldi, uint32_t *y, ptrdiff_t ldo)
{
    v4u a = v4_load(x), b = v4_load(x + ldi), c = v4_load(x + 2 * ldi), d = v4_load(x + 3 * ldi);
    v4u t0 = __builtin_shufflevector(a, b, 0, 4, 1, 5), t1 = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    v4u t2 = __builtin_shufflevector(c, d, 0, 4, 1, 5), t3 = __builtin_shufflevector(c, d, 2, 6, 3, 7);
    v4_store(y, __builtin_shufflevector(t0, t2, 0, 1, 4, 5));
    v4_store(y + ldo, __builtin_shufflevector(t0, t2, 2, 3, 6, 7));
    v4_store(y + 2 * ldo, __builtin_shufflevector(t1, t3, 0, 1, 4, 5));
    v4_store(y + 3 * ldo, __builtin_shufflevector(t1, t3, 2, 3, 6, 7));
}

void k_transpose_4b_portable(void *out, const void *in, size_t rows, size_t cols, ptrdiff_t ldi, ptrdiff_t ldo)
{
    const uint32_t *x = in;
    uint32_t *y = out;
    const ptrdiff_t T = 32, R = (ptrdiff_t)rows, C = (ptrdiff_t)cols;
    for (ptrdiff_t r0 = 0; r0 < R; r0 += T)
        for (ptrdiff_t c0 = 0; c0 < C; c0 += T) {
            ptrdiff_t r1 = r0 + T < R ? r0 + T : R, c1 = c0 + T < C ? c0 + T : C, r = r0;
            for (; r + 4 <= r1; r += 4) {
                ptrdiff_t c = c0;
                for (; c + 4 <= c1; c += 4)
                    tr4x4(x + r * ldi + c, ldi, y + c * ldo + r, ldo);
                for (; c < c1; c++)
                    for (ptrdiff_t i = 0; i < 4; i++)
                        y[c * ldo + r + i] = x[(r + i) * ldi + c];
            }
            for (; r < r1; r++)
                for (ptrdiff_t c = c0; c < c1; c++)
                    y[c * ldo + r] = x[r * ldi + c];
        }
}

#if defined(__x86_64__)
/* The 8x8 block at x (row stride ldi) transposed into y (row stride ldo): three rounds
 * of shuffles (pairs, quads, 128-bit halves). Shuffles move bits unchanged, NaN
 * payloads included. */
__attribute__((target("avx2"))) static inline void tr8x8_avx2(const float *x, ptrdiff_t ldi, float *y, ptrdiff_t ldo)
{
    __m256 r0 = _mm256_loadu_ps(x), r1 = _mm256_loadu_ps(x + ldi), r2 = _mm256_loadu_ps(x + 2 * ldi),
           r3 = _mm256_loadu_ps(x + 3 * ldi), r4 = _mm256_loadu_ps(x + 4 * ldi), r5 = _mm256_loadu_ps(x + 5 * ldi),
           r6 = _mm256_loadu_ps(x + 6 * ldi), r7 = _mm256_loadu_ps(x + 7 * ldi);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
           t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
           t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee),
           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee),
           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee),
           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    _mm256_storeu_ps(y, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(y + ldo, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(y + 2 * ldo, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(y + 3 * ldo, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(y + 4 * ldo, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(y + 5 * ldo, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(y + 6 * ldo, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(y + 7 * ldo, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* Tiles of 32 x 32 in 8x8 blocks; the strips left at the right and bottom edges of
 * the whole matrix go through the portable path. */
__attribute__((target("avx2"))) void k_transpose_4b_avx2(void *out, const void *in, size_t rows, size_t cols,
                                                         ptrdiff_t ldi, ptrdiff_t ldo)
{
    const float *x = in;
    float *y = out;
    const ptrdiff_t T = 32, R = (ptrdiff_t)(rows & ~(size_t)7), C = (ptrdiff_t)(cols & ~(size_t)7);
    for (ptrdiff_t r0 = 0; r0 < R; r0 += T)
        for (ptrdiff_t c0 = 0; c0 < C; c0 += T) {
            ptrdiff_t r1 = r0 + T < R ? r0 + T : R, c1 = c0 + T < C ? c0 + T : C;
            for (ptrdiff_t r = r0; r < r1; r += 8)
                for (ptrdiff_t c = c0; c < c1; c += 8)
                    tr8x8_avx2(x + r * ldi + c, ldi, y + c * ldo + r, ldo);
        }
    if ((size_t)C < cols) /* the right strip: all rows, the last cols % 8 columns */
        k_transpose_4b_portable(y + C * ldo, x + C, rows, cols - (size_t)C, ldi, ldo);
    if ((size_t)R < rows) /* the bottom strip, left of the right one */
        k_transpose_4b_portable(y + R, x + R * ldi, rows - (size_t)R, (size_t)C, ldi, ldo);
}
#endif

void k_transpose_4b(void *out, const void *in, size_t rows, size_t cols, ptrdiff_t ldi, ptrdiff_t ldo)
{
#if defined(__x86_64__)
    /* whole 8-row blocks only: a bottom strip would write each output row twice (the
     * GEMM's 12-row A panels measured slower that way) */
    if (rows % 8 == 0 && cols >= 8 && __builtin_cpu_supports("avx2")) {
        k_transpose_4b_avx2(out, in, rows, cols, ldi, ldo);
        return;
    }
#endif
    k_transpose_4b_portable(out, in, rows, cols, ldi, ldo);
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
        if (tiled && es == 4 && rs == 1) /* out (rows, cols) is in (cols, rows) transposed */
            k_transpose_4b(o, i, (size_t)cols, (size_t)rows, cs, cols);
        else if (tiled)
            copy_tiled_2d(o, i, es, rows, cols, rs, cs);
        else
            for (int64_t rr = 0; rr < rows; rr++)
                copy_row(o + (size_t)(rr * cols) * es, i + rr * rs * (int64_t)es, es, cols, cs);
    }
}
