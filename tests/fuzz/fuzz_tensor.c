/*
 * libFuzzer target: bytes -> the TensorProto reader (ld_read_tensor_bytes) and, for
 * some inputs, the test-data file reader (ld_read_tensor_file) through a temporary
 * file. A tensor that reads back is written out (ld_write_tensor_file) and read again;
 * the copy must match. Every failure must be a status with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/ir.h"
#include "loader/loader.h"

static char tmp_path[64];

static const char *scratch_file(void)
{
    if (!tmp_path[0]) {
        snprintf(tmp_path, sizeof tmp_path, "/tmp/norma_fuzz_tensor_%ld.pb", (long)getpid());
    }
    return tmp_path;
}

static void check(int rc, ir_tensor *t, const char *err)
{
    if (rc == 0) {
        if (!t)
            __builtin_trap();
        size_t nb = ir_tensor_nbytes(t);
        volatile unsigned char sink = 0;
        const unsigned char *p = t->data;
        for (size_t i = 0; i < nb; i++)
            sink ^= p[i]; /* ASan checks the whole claimed size is there */
        (void)sink;
    } else if (t || !err[0]) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    ir_tensor *t = NULL;
    char *name = NULL;
    int rc = ld_read_tensor_bytes(data, size, &t, &name, err, sizeof err);
    check(rc, t, err);
    if (rc == 0) {
        /* Round trip through the test-data writer and reader. */
        const char *path = scratch_file();
        if (ld_write_tensor_file(path, t, name, err, sizeof err) == 0) {
            ir_tensor *u = NULL;
            char *name2 = NULL;
            err[0] = 0;
            int rc2 = ld_read_tensor_file(path, &u, &name2, err, sizeof err);
            check(rc2, u, err);
            if (rc2 != 0 || u->dtype != t->dtype || u->rank != t->rank ||
                memcmp(u->dims, t->dims, sizeof(int64_t) * (size_t)t->rank) != 0 ||
                memcmp(u->data, t->data, ir_tensor_nbytes(t)) != 0)
                __builtin_trap();
            if ((name == NULL) != (name2 == NULL) && !(name2 && !name2[0]))
                __builtin_trap();
            ir_tensor_free(u);
            free(name2);
        }
        ir_tensor_free(t);
        free(name);
    } else if (size > 0 && (data[0] & 15) == 0) {
        /* The file reader on bytes that fail: same status (the message names the file). */
        const char *path = scratch_file();
        FILE *f = fopen(path, "wb");
        if (f) {
            size_t w = fwrite(data, 1, size, f);
            fclose(f);
            if (w == size) {
                ir_tensor *u = NULL;
                err[0] = 0;
                int rc2 = ld_read_tensor_file(path, &u, NULL, err, sizeof err);
                check(rc2, u, err);
                if (rc2 != rc)
                    __builtin_trap();
            }
        }
    }
    return 0;
}
