/* Determinant by LU with partial pivoting (see det.h). */
#include <math.h>
#include <string.h>

#include "kernels/det.h"

double k_f64_det_lu(size_t n, const double *a, double *lu)
{
    if (n == 0)
        return 1.0;
    memcpy(lu, a, n * n * sizeof(double));
    double det = 1.0;
    for (size_t k = 0; k < n; k++) {
        size_t p = k;
        double best = fabs(lu[k * n + k]);
        for (size_t i = k + 1; i < n; i++)
            if (fabs(lu[i * n + k]) > best) {
                best = fabs(lu[i * n + k]);
                p = i;
            }
        if (p != k) {
            for (size_t j = 0; j < n; j++) {
                double t = lu[k * n + j];
                lu[k * n + j] = lu[p * n + j];
                lu[p * n + j] = t;
            }
            det = -det;
        }
        double piv = lu[k * n + k];
        det *= piv;
        if (piv == 0)
            return det; /* singular (0, or NaN if the input held NaN) */
        for (size_t i = k + 1; i < n; i++) {
            double f = lu[i * n + k] / piv;
            for (size_t j = k + 1; j < n; j++)
                lu[i * n + j] -= f * lu[k * n + j];
        }
    }
    return det;
}
