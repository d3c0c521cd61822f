/*
 * libFuzzer target: bytes -> ModelProto -> session -> one run on generated inputs.
 *
 * The whole input is the model. Inputs are generated from a seed hashed from the
 * bytes: symbolic or unknown dims become 1..3, an unknown rank becomes 1, values are
 * small (floats in [-4, 4], integers in [-2, 5], so index inputs are sometimes in
 * range and sometimes not). Models whose inputs would be large are only created, not
 * run. Every failure must come back as a status with a message; any crash, sanitizer
 * report or leak is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "norma.h"

#define MAX_INPUTS 16
#define MAX_INPUT_ELEMS 4096

static uint64_t rng;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void fill(void *data, norma_dtype dt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int v = (int)(next_u32() % 8) - 2;
        switch (dt) {
        case NORMA_FLOAT: ((float *)data)[i] = (float)(next_u32() % 1025) / 128.0f - 4.0f; break;
        case NORMA_DOUBLE: ((double *)data)[i] = (double)(next_u32() % 1025) / 128.0 - 4.0; break;
        case NORMA_INT64: case NORMA_UINT64: ((int64_t *)data)[i] = v; break;
        case NORMA_INT32: case NORMA_UINT32: ((int32_t *)data)[i] = v; break;
        case NORMA_INT16: case NORMA_UINT16: ((int16_t *)data)[i] = (int16_t)v; break;
        case NORMA_FLOAT16: ((uint16_t *)data)[i] = (uint16_t)(0x3c00 + (next_u32() % 512)); break;
        case NORMA_INT8: case NORMA_UINT8: ((int8_t *)data)[i] = (int8_t)v; break;
        case NORMA_BOOL: ((uint8_t *)data)[i] = (uint8_t)(v & 1); break;
        default: break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    rng = h | 1;

    norma_options opt;
    norma_options_init(&opt);
    opt.threads = 1;
    opt.optimize = (int)(h >> 63) ^ 1; /* mostly with the passes, sometimes without */
    opt.memory_limit = (size_t)256 << 20;
    norma_session *s = NULL;
    if (norma_session_create_from_memory(data, size, &opt, &s) != NORMA_OK) {
        if (s)
            __builtin_trap(); /* a failed create must not hand out a session */
        if (!norma_last_error()[0])
            __builtin_trap(); /* every failure has a message */
        return 0;
    }
    size_t n_in = norma_input_count(s);
    norma_tensor in[MAX_INPUTS];
    void *bufs[MAX_INPUTS] = {0};
    int runnable = n_in <= MAX_INPUTS;
    size_t made = 0;
    for (size_t i = 0; runnable && i < n_in; i++, made++) {
        norma_value_info vi;
        if (norma_input_info(s, i, &vi) != NORMA_OK)
            __builtin_trap();
        memset(&in[i], 0, sizeof in[i]);
        in[i].name = vi.name;
        in[i].dtype = vi.dtype;
        in[i].rank = vi.rank < 0 ? 1 : vi.rank;
        size_t n = 1;
        for (int d = 0; d < in[i].rank; d++) {
            int64_t v = vi.rank < 0 || vi.dims[d] < 0 ? (int64_t)(next_u32() % 3) + 1 : vi.dims[d];
            in[i].dims[d] = v;
            if (v > MAX_INPUT_ELEMS || (v && n > MAX_INPUT_ELEMS / (size_t)v))
                runnable = 0;
            else
                n *= (size_t)v;
        }
        size_t es = norma_dtype_size(vi.dtype);
        if (!runnable || es == 0) {
            runnable = 0;
            break;
        }
        bufs[i] = malloc(n * es + 1);
        if (!bufs[i])
            __builtin_trap();
        fill(bufs[i], vi.dtype, n);
        in[i].data = bufs[i];
    }
    if (runnable) {
        norma_tensor out[4];
        size_t n_out = norma_output_count(s);
        if (n_out > 4)
            n_out = 4;
        memset(out, 0, sizeof out);
        norma_status st = norma_run(s, in, n_in, out, n_out);
        if (st == NORMA_OK) {
            /* Touch every output byte so ASan checks the reported shapes. */
            volatile unsigned char sink = 0;
            for (size_t k = 0; k < n_out; k++) {
                size_t es = norma_dtype_size(out[k].dtype);
                size_t n = 1;
                for (int d = 0; d < out[k].rank; d++)
                    n *= (size_t)out[k].dims[d];
                const unsigned char *p = out[k].data;
                if (p)
                    for (size_t b = 0; b < n * es; b += 61)
                        sink ^= p[b];
            }
            (void)sink;
            /* A second run on the same session must give the same status. */
            if (norma_run(s, in, n_in, out, n_out) != NORMA_OK)
                __builtin_trap();
        } else if (!norma_last_error()[0]) {
            __builtin_trap();
        }
    }
    for (size_t i = 0; i < made; i++)
        free(bufs[i]);
    norma_session_free(s);
    return 0;
}
