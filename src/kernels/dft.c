/* DFT kernels (see dft.h). */
#include <math.h>

#include "kernels/dft.h"

void k_dft_twiddles(size_t N, double *w)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (size_t k = 0; k < N; k++) {
        double a = two_pi * (double)k / (double)N;
        w[2 * k] = cos(a);
        w[2 * k + 1] = -sin(a);
    }
}

void k_dft_ref(size_t N, const double *w, int inverse, const double *x, double *y)
{
    double sgn = inverse ? -1.0 : 1.0, scale = inverse ? 1.0 / (double)N : 1.0;
    for (size_t k = 0; k < N; k++) {
        double re = 0, im = 0;
        size_t t = 0; /* k*n mod N, kept incrementally */
        for (size_t n = 0; n < N; n++) {
            double wr = w[2 * t], wi = sgn * w[2 * t + 1];
            re += x[2 * n] * wr - x[2 * n + 1] * wi;
            im += x[2 * n] * wi + x[2 * n + 1] * wr;
            t += k;
            if (t >= N)
                t -= N;
        }
        y[2 * k] = re * scale;
        y[2 * k + 1] = im * scale;
    }
}

int k_dft_is_pow2(size_t N)
{
    return N && (N & (N - 1)) == 0;
}

void k_dft_fft(size_t N, const double *w, int inverse, double *x)
{
    double sgn = inverse ? -1.0 : 1.0;
    /* bit-reversal permutation */
    for (size_t i = 1, j = 0; i < N; i++) {
        size_t bit = N >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double tr = x[2 * i], ti = x[2 * i + 1];
            x[2 * i] = x[2 * j];
            x[2 * i + 1] = x[2 * j + 1];
            x[2 * j] = tr;
            x[2 * j + 1] = ti;
        }
    }
    for (size_t len = 2; len <= N; len <<= 1) {
        size_t half = len >> 1, step = N / len;
        for (size_t s = 0; s < N; s += len)
            for (size_t j = 0; j < half; j++) {
                double wr = w[2 * j * step], wi = sgn * w[2 * j * step + 1];
                double *a = x + 2 * (s + j), *b = x + 2 * (s + j + half);
                double br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - br;
                b[1] = a[1] - bi;
                a[0] += br;
                a[1] += bi;
            }
    }
    if (inverse) {
        double scale = 1.0 / (double)N;
        for (size_t i = 0; i < 2 * N; i++)
            x[i] *= scale;
    }
}

/* ---- planned transform: radix-2, direct, or Bluestein ---- */

enum { DFT_DIRECT_MAX = 64 }; /* direct sums are cheaper than Bluestein's three FFTs below this */

/* Bluestein's FFT length for N: the power of two >= 2N - 1, or 0 on overflow. */
static size_t dft_bluestein_m(size_t N)
{
    size_t m = 1;
    while (m < 2 * N - 1) {
        if (m > ((size_t)-1) / 16)
            return 0;
        m <<= 1;
    }
    return m;
}

static int dft_uses_bluestein(size_t N)
{
    return !k_dft_is_pow2(N) && N > DFT_DIRECT_MAX;
}

size_t k_dft_plan_size(size_t N)
{
    if (N > ((size_t)-1) / 64)
        return 0;
    if (!dft_uses_bluestein(N))
        return 2 * N;
    size_t M = dft_bluestein_m(N);
    return M ? 4 * M + 2 * N : 0; /* twiddles(M), chirp(N), FFT of the conjugate chirp(M) */
}

size_t k_dft_work_size(size_t N)
{
    if (N > ((size_t)-1) / 64)
        return 0;
    if (k_dft_is_pow2(N))
        return 1;
    return dft_uses_bluestein(N) ? 2 * dft_bluestein_m(N) : 2 * N;
}

void k_dft_plan(size_t N, double *plan)
{
    if (!dft_uses_bluestein(N)) {
        k_dft_twiddles(N, plan);
        return;
    }
    const double pi = 3.14159265358979323846264338327950288;
    size_t M = dft_bluestein_m(N);
    double *wm = plan, *chirp = plan + 2 * M, *bf = chirp + 2 * N;
    k_dft_twiddles(M, wm);
    /* chirp[n] = exp(-i*pi*n^2/N), with n^2 reduced mod 2N so the angle stays exact */
    size_t q = 0;
    for (size_t n = 0; n < N; n++) {
        double a = pi * (double)q / (double)N;
        chirp[2 * n] = cos(a);
        chirp[2 * n + 1] = -sin(a);
        q = (q + 2 * n + 1) % (2 * N);
    }
    for (size_t i = 0; i < 2 * M; i++)
        bf[i] = 0;
    for (size_t n = 0; n < N; n++) {
        bf[2 * n] = chirp[2 * n];
        bf[2 * n + 1] = -chirp[2 * n + 1];
        if (n) {
            bf[2 * (M - n)] = chirp[2 * n];
            bf[2 * (M - n) + 1] = -chirp[2 * n + 1];
        }
    }
    k_dft_fft(M, wm, 0, bf);
}

void k_dft(size_t N, const double *plan, int inverse, double *x, double *work)
{
    if (k_dft_is_pow2(N)) {
        k_dft_fft(N, plan, inverse, x);
        return;
    }
    if (!dft_uses_bluestein(N)) {
        k_dft_ref(N, plan, inverse, x, work);
        for (size_t i = 0; i < 2 * N; i++)
            x[i] = work[i];
        return;
    }
    /* the inverse is conj(DFT(conj(x))) / N */
    if (inverse)
        for (size_t i = 0; i < N; i++)
            x[2 * i + 1] = -x[2 * i + 1];
    size_t M = dft_bluestein_m(N);
    const double *wm = plan, *chirp = plan + 2 * M, *bf = chirp + 2 * N;
    double *a = work;
    for (size_t n = 0; n < M; n++) {
        if (n < N) {
            double xr = x[2 * n], xi = x[2 * n + 1], cr = chirp[2 * n], ci = chirp[2 * n + 1];
            a[2 * n] = xr * cr - xi * ci;
            a[2 * n + 1] = xr * ci + xi * cr;
        } else {
            a[2 * n] = 0;
            a[2 * n + 1] = 0;
        }
    }
    k_dft_fft(M, wm, 0, a);
    for (size_t n = 0; n < M; n++) {
        double ar = a[2 * n], ai = a[2 * n + 1], br = bf[2 * n], bi = bf[2 * n + 1];
        a[2 * n] = ar * br - ai * bi;
        a[2 * n + 1] = ar * bi + ai * br;
    }
    k_dft_fft(M, wm, 1, a);
    double scale = inverse ? 1.0 / (double)N : 1.0, sgn = inverse ? -1.0 : 1.0;
    for (size_t k = 0; k < N; k++) {
        double ar = a[2 * k], ai = a[2 * k + 1], cr = chirp[2 * k], ci = chirp[2 * k + 1];
        x[2 * k] = (ar * cr - ai * ci) * scale;
        x[2 * k + 1] = sgn * (ar * ci + ai * cr) * scale;
    }
}
