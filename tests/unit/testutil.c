#include "testutil.h"

#include <math.h>
#include <stdio.h>

static uint64_t state = 88172645463325252ull;

void tu_seed(uint64_t seed)
{
    state = seed ? seed : 88172645463325252ull;
}

float tu_uniform(float lo, float hi)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return lo + (hi - lo) * (float)((double)(state >> 11) / 9007199254740992.0);
}

void tu_fill(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_uniform(lo, hi);
}

double tu_max_rel_err(const float *a, const float *b, size_t n, double atol, double rtol)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) {
            if (!(isnan(a[i]) && isnan(b[i])))
                return INFINITY;
            continue;
        }
        double e = fabs((double)a[i] - (double)b[i]) / (atol + rtol * fabs((double)b[i]));
        if (e > worst)
            worst = e;
    }
    return worst;
}

const char *tu_model_path(const char *name, const char *file)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/models/%s/%s", NORMA_SOURCE_DIR, name, file);
    return buf;
}
