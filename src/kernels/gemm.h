/*
 * Single-precision matrix multiply: C (M,N) = alpha * A (M,K) * B (K,N) + beta * C,
 * then an optional bias (one value per row or per column) and a fused activation.
 *
 * k_f32_gemm_ref is the plain triple loop every faster path is tested against.
 * The fast path is GotoBLAS-style: A is packed into panels of MR rows and B into
 * panels of NR columns (each panel holds all K, contiguous, so K blocks are slices
 * of it), and an MR x NR register-blocked microkernel walks KC-long slices. The
 * microkernel (and so MR/NR and the packed layout) is chosen at run time from the
 * CPU: AVX-512, AVX2+FMA, or portable C. Constant operands (weights) are packed
 * once by the op's init; the other operand is packed into scratch at run time.
 */
#ifndef NORMA_KERNELS_GEMM_H
#define NORMA_KERNELS_GEMM_H

#include <stddef.h>

/* bias_mode values of k_epilogue */
enum { K_BIAS_NONE = 0, K_BIAS_ROW = 1, K_BIAS_COL = 2 };

/* What happens to C after the product: C += bias[i] (ROW) or bias[j] (COL), then
 * C += res[i*ldr + j] when res is set (a residual, e.g. a fused Add), then the
 * activation (kernels/act.h). A NULL epilogue means none. res/ldr come last so
 * positional initializers that stop at act_beta leave them zero. */
typedef struct k_epilogue {
    const float *bias;
    int bias_mode;
    int act;
    float act_alpha, act_beta;
    const float *res;
    size_t ldr;
} k_epilogue;

/* What a microkernel does to its MR x NR result r before storing it to c:
 * c = clamp(alpha * r + beta * c + rbias[i] + cbias[j] + res[i*ldr + j]) (c not read
 * when beta == 0; rbias, cbias, res may be NULL; clamp: 0 none, 1 max(x, 0) (ReLU, NaN -> 0), 2
 * min(hi, max(lo, x)) (Clip, NaN stays NaN), as in kernels/act.h). */
typedef struct k_ustore {
    float alpha, beta;
    const float *rbias, *cbias;
    int clamp;
    float lo, hi;
    const float *res;
    size_t ldr;
    /* Prefetch hints (no effect on results): during the k loop, bring pf_n[q] 64-byte
     * lines from pf[q] into L2, one line of each per k step (so pf_n[q] <= kc counts). */
    const float *pf[2];
    size_t pf_n[2];
    /* Kernels of an ISA with `edges` set store only rows x cols of their tile (the rest
     * of the packed panels is zero padding); C, res and cbias are not touched outside it. */
    int rows, cols;
} k_ustore;

/* c (MR x NR, row stride ldc) = store(a * b): a packed (kc groups of MR), b kc rows of
 * NR floats with row stride ldb (ldb == NR for packed B). */
typedef void (*k_gemm_ukernel)(size_t kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc,
                               const k_ustore *u);

/* A tail microkernel: the same for only R < MR rows (R fixed per kernel) of a packed
 * A panel whose k groups are lda floats apart (lda == MR). */
typedef void (*k_gemm_tkernel)(size_t kc, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                               size_t ldc, const k_ustore *u);

/* A microkernel and the packed layout it reads, plus tail kernels for edge panels
 * of 1, 4 and 8 rows (NULL when R >= MR or not provided). Without `edges`, a partial
 * tile goes through a full-size temporary. */
#define K_GEMM_MAX_MR 16 /* the largest mr of any isa */

typedef struct k_gemm_isa {
    const char *name;
    int mr, nr; /* mr <= K_GEMM_MAX_MR */
    k_gemm_ukernel kernel;
    k_gemm_tkernel tail1, tail4, tail8;
    int edges; /* the kernels store partial tiles themselves (k_ustore rows, cols) */
    k_gemm_ukernel narrow; /* MR x NR/2, for panels of at most NR/2 columns (with edges), or NULL */
} k_gemm_isa;

enum { K_ISA_GENERIC = 0, K_ISA_AVX2 = 1, K_ISA_AVX512 = 2 };

/* Runs a throughput loop of independent FMAs with the vector width of isa (for the
 * GEMM microbenchmark's peak); returns the floating-point operations done (2 per lane
 * per FMA). The result goes through *sink so the loop is not optimized away. */
double k_gemm_fma_loop(const k_gemm_isa *isa, size_t iters, float *sink);

/* The best microkernel this CPU runs (never NULL). */
const k_gemm_isa *k_gemm_best(void);
/* The microkernel of one ISA level, or NULL when this CPU lacks it (for tests). */
const k_gemm_isa *k_gemm_isa_get(int level);

/* Floats needed to pack an M x K left operand / K x N right operand. */
size_t k_gemm_packed_a_floats(const k_gemm_isa *isa, size_t M, size_t K);
size_t k_gemm_packed_b_floats(const k_gemm_isa *isa, size_t K, size_t N);

/* Packs A, element (i,k) at A[i*rs + k*cs], into dst (k_gemm_packed_a_floats).
 * Rows past M are zero. Strides make transposed sources free. */
void k_f32_gemm_pack_a(const k_gemm_isa *isa, size_t M, size_t K, const float *A, ptrdiff_t rs,
                       ptrdiff_t cs, float *dst);
/* The same with `threads` threads for a large A (whole panels each; no parallel region
 * when one thread or A is small). */
void k_f32_gemm_pack_a_mt(const k_gemm_isa *isa, size_t M, size_t K, const float *A, ptrdiff_t rs, ptrdiff_t cs,
                          float *dst, int threads);
/* Packs B, element (k,j) at B[k*rs + j*cs], into dst (k_gemm_packed_b_floats). */
void k_f32_gemm_pack_b(const k_gemm_isa *isa, size_t K, size_t N, const float *B, ptrdiff_t rs,
                       ptrdiff_t cs, float *dst);
/* Index in packed-B storage of element (k, j): lets im2col write packed data directly. */
static inline size_t k_gemm_packed_b_index(size_t nr, size_t K, size_t k, size_t j)
{
    return (j / nr) * K * nr + k * nr + j % nr;
}

/* C (M,N), row stride ldc = alpha * unpack(Ap) * unpack(Bp) + beta * C, then ep.
 * beta == 0 means C is not read (may hold NaN). Parallel over output tiles with at
 * most `threads` OpenMP threads. */
void k_f32_gemm_packed(const k_gemm_isa *isa, size_t M, size_t N, size_t K, float alpha,
                       const float *Ap, const float *Bp, float beta, float *C, size_t ldc,
                       const k_epilogue *ep, int threads);

/* Columns [*j0, *j1) of N that thread t of T takes when threads share a product by
 * columns: about N / T each, the inner edges on multiples of nr (whole panels). */
static inline void k_gemm_band(size_t N, size_t nr, size_t t, size_t T, size_t *j0, size_t *j1)
{
    size_t a = (N * t / T + nr / 2) / nr * nr, b = (N * (t + 1) / T + nr / 2) / nr * nr;
    *j0 = a < N ? a : N;
    *j1 = t + 1 == T || b > N ? N : b;
}

/* The same with B (K,N) read in place, row k at B + k*ldb (no packing: for 1x1
 * convolutions, whose input already is the K x N matrix). Any M. */
void k_f32_gemm_direct_b(const k_gemm_isa *isa, size_t M, size_t N, size_t K, float alpha, const float *Ap,
                         const float *B, size_t ldb, float beta, float *C, size_t ldc, const k_epilogue *ep,
                         int threads);

/* The same with B read in place in segments of seg rows: row k at B + koff[k / seg] +
 * (k % seg) * ldb (koff has K / seg entries, seg divides K). An implicit im2col: the
 * K rows of a strided convolution are its taps over the channels' phase planes (see
 * kernels/conv.h), each tap a segment of one row per channel. */
void k_f32_gemm_segmented_b(const k_gemm_isa *isa, size_t M, size_t N, size_t K, float alpha, const float *Ap,
                            const float *B, size_t ldb, size_t seg, const size_t *koff, float beta, float *C,
                            size_t ldc, const k_epilogue *ep, int threads);

/* Reference: same contract, operands given by strides: A(i,k) = A[i*ars + k*acs],
 * B(k,j) = B[k*brs + j*bcs]. Accumulates in float in k order. */
void k_f32_gemm_ref(size_t M, size_t N, size_t K, float alpha, const float *A, ptrdiff_t ars,
                    ptrdiff_t acs, const float *B, ptrdiff_t brs, ptrdiff_t bcs, float beta, float *C,
                    size_t ldc, const k_epilogue *ep);

/* Applies the bias and activation of ep to the rows r0..r0+m and columns c0..c0+n of
 * C (the block starts at C[0]); used by the drivers and by ops that fill C themselves. */
void k_epilogue_apply(const k_epilogue *ep, float *C, size_t ldc, size_t r0, size_t m, size_t c0,
                      size_t n);

#endif
