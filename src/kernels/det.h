/*
 * Determinant of a square matrix by LU decomposition with partial pivoting, in double.
 * a (n, n) row-major is read; lu (n*n doubles) is scratch.
 */
#ifndef NORMA_K_DET_H
#define NORMA_K_DET_H

#include <stddef.h>

double k_f64_det_lu(size_t n, const double *a, double *lu);

#endif
