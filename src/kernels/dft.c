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
