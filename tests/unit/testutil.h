/* Helpers shared by the cmocka tests: seeded random data and tolerant comparison. */
#ifndef NORMA_TESTUTIL_H
#define NORMA_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Deterministic xorshift generator; tu_seed resets it. */
void tu_seed(uint64_t seed);
float tu_uniform(float lo, float hi);
void tu_fill(float *x, size_t n, float lo, float hi);
/* Largest |a-b| / (atol + rtol*|b|) over n elements; <= 1 means all within tolerance. */
double tu_max_rel_err(const float *a, const float *b, size_t n, double atol, double rtol);
/* Path of a bundled model directory (NORMA_SOURCE_DIR/models/name). */
const char *tu_model_path(const char *name, const char *file);

#endif
