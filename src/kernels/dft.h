/*
 * Discrete Fourier transforms on interleaved complex double data (re, im):
 *   y[k] = sum_n x[n] * exp(-+2*pi*i*k*n/N)    (inverse: + and a 1/N scale)
 * k_dft_ref is the direct O(N^2) sum, exact in its twiddle indexing (k*n mod N);
 * k_dft_fft is an in-place iterative radix-2 FFT for N a power of two, tested against it.
 */
#ifndef NORMA_K_DFT_H
#define NORMA_K_DFT_H

#include <stddef.h>

/* w (2N doubles): w[k] = (cos(2*pi*k/N), -sin(2*pi*k/N)). */
void k_dft_twiddles(size_t N, double *w);
/* x, y (N complex, not overlapping); w from k_dft_twiddles(N). */
void k_dft_ref(size_t N, const double *w, int inverse, const double *x, double *y);
/* In place on x (N complex), N a power of two; w from k_dft_twiddles(N). */
void k_dft_fft(size_t N, const double *w, int inverse, double *x);
/* 1 when N is a power of two (and > 0). */
int k_dft_is_pow2(size_t N);

#endif
