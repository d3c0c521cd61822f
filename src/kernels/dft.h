/*
 * Discrete Fourier transforms on interleaved complex double data (re, im):
 *   y[k] = sum_n x[n] * exp(-+2*pi*i*k*n/N)    (inverse: + and a 1/N scale)
 * k_dft_ref is the direct O(N^2) sum, exact in its twiddle indexing (k*n mod N);
 * k_dft_fft is an in-place iterative radix-2 FFT for N a power of two. k_dft picks:
 * radix-2 for powers of two, the direct sum for short other lengths, and Bluestein's
 * chirp-z algorithm (a convolution done with radix-2 FFTs of length M >= 2N-1) for long
 * ones, all planned once into a table by k_dft_plan. The tests compare it with the ref.
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

/* Doubles of the plan table for length N (N >= 1), and of the work buffer k_dft uses;
 * both are 0 on overflow (N too large). */
size_t k_dft_plan_size(size_t N);
size_t k_dft_work_size(size_t N);
/* Fills plan (k_dft_plan_size(N) doubles) for length N. */
void k_dft_plan(size_t N, double *plan);
/* In place on x (N complex) with a plan from k_dft_plan(N); work: k_dft_work_size(N) doubles. */
void k_dft(size_t N, const double *plan, int inverse, double *x, double *work);

#endif
