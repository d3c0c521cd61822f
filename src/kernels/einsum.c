/* Einsum general loop (see einsum.h). */
#include "kernels/einsum.h"

#define EINSUM_REF(NAME, T)                                                                         \
    void NAME(const k_einsum_loop *L, const T *const *in, T *out, int threads)                     \
    {                                                                                               \
        int no = L->n_out, nr = L->n_red, ni = L->n_in;                                            \
        int64_t total = 1, red = 1;                                                                 \
        for (int l = 0; l < no; l++)                                                                \
            total *= L->size[l];                                                                    \
        for (int l = no; l < no + nr; l++)                                                          \
            red *= L->size[l];                                                                      \
        int nt = threads > 1 && total * red > 32768 ? threads : 1;                                  \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1)")                                     \
        for (int64_t o = 0; o < total; o++) {                                                       \
            int64_t base[K_EINSUM_MAX_IN] = {0};                                                    \
            int64_t rem = o;                                                                        \
            for (int l = no - 1; l >= 0; l--) {                                                     \
                int64_t ix = rem % L->size[l];                                                      \
                rem /= L->size[l];                                                                  \
                for (int i = 0; i < ni; i++)                                                        \
                    base[i] += ix * L->stride[i][l];                                                \
            }                                                                                       \
            int64_t idx[K_EINSUM_MAX_LABELS] = {0};                                                 \
            int64_t off[K_EINSUM_MAX_IN];                                                           \
            for (int i = 0; i < ni; i++)                                                            \
                off[i] = base[i];                                                                   \
            double acc = 0;                                                                         \
            for (int64_t r = 0; r < red; r++) {                                                     \
                double p = 1;                                                                       \
                for (int i = 0; i < ni; i++)                                                        \
                    p *= (double)in[i][off[i]];                                                     \
                acc += p;                                                                           \
                /* odometer over the summed labels, last fastest */                                 \
                for (int l = no + nr - 1; l >= no; l--) {                                           \
                    if (++idx[l] < L->size[l]) {                                                    \
                        for (int i = 0; i < ni; i++)                                                \
                            off[i] += L->stride[i][l];                                              \
                        break;                                                                      \
                    }                                                                               \
                    for (int i = 0; i < ni; i++)                                                    \
                        off[i] -= (L->size[l] - 1) * L->stride[i][l];                               \
                    idx[l] = 0;                                                                     \
                }                                                                                   \
            }                                                                                       \
            out[o] = (T)acc;                                                                        \
        }                                                                                           \
    }

EINSUM_REF(k_f32_einsum_ref, float)
EINSUM_REF(k_f64_einsum_ref, double)
