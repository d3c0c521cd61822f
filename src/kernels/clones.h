/*
 * K_CLONES compiles a plain-C kernel three times (AVX-512, AVX2+FMA level, baseline
 * x86-64) and picks one at load time from the CPU's features (GCC target_clones, an
 * ifunc). The loops are written so the compiler vectorizes them; results do not
 * depend on the clone (no FP contraction under -std=c11, fixed summation order).
 */
#ifndef NORMA_K_CLONES_H
#define NORMA_K_CLONES_H

/* Not under ThreadSanitizer: the ifunc resolver runs before the TSan runtime is up. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_THREAD__)
#define K_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define K_CLONES
#endif

/* Helpers called from a cloned kernel: inlined so each clone gets its own copy. */
#if defined(__GNUC__)
#define K_INLINE static inline __attribute__((always_inline))
#else
#define K_INLINE static inline
#endif

#endif
