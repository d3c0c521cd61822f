/*
 * TensorProto <-> ir_tensor, in every storage form: raw_data, the typed fields
 * (float_data, int32_data, int64_data, double_data, uint64_data) and external data.
 * With a store, data is used in place where the layout already matches (raw_data,
 * float_data, int64_data, double_data, uint64_data for uint64, external mappings);
 * otherwise it is converted into a buffer the tensor owns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/tensor_proto.h"
#include "loader/store.h"

static int dtype_supported(int dt)
{
    return dt >= NORMA_FLOAT && dt <= NORMA_UINT64 && dt != NORMA_STRING;
}

static int fail(char *err, size_t cap, int status, const char *fmt, const char *name, const char *extra)
{
    snprintf(err, cap, fmt, name, extra);
    return status;
}

/* external_data: location, offset, length (checksum ignored). */
static int read_external(const Onnx__TensorProto *tp, ld_store *st, const char *name, size_t nbytes,
                         ir_tensor *t, char *err, size_t cap)
{
    const char *location = NULL;
    long long offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value)
            continue;
        char *end;
        if (strcmp(e->key, "location") == 0) {
            location = e->value;
        } else if (strcmp(e->key, "offset") == 0) {
            offset = strtoll(e->value, &end, 10);
            if (*end || offset < 0)
                return fail(err, cap, NORMA_ERR_MODEL, "tensor '%s': bad external data offset '%s'", name, e->value);
        } else if (strcmp(e->key, "length") == 0) {
            length = strtoll(e->value, &end, 10);
            if (*end || length < 0)
                return fail(err, cap, NORMA_ERR_MODEL, "tensor '%s': bad external data length '%s'", name, e->value);
        }
    }
    if (!location)
        return fail(err, cap, NORMA_ERR_MODEL, "tensor '%s': external data has no location%s", name, "");
    if (!st)
        return fail(err, cap, NORMA_ERR_IO, "tensor '%s': external data '%s' needs the model's directory", name, location);
    const void *addr;
    size_t fsize;
    int rc = ld_store_map_external(st, location, name, &addr, &fsize, err, cap);
    if (rc)
        return rc;
    if (length >= 0 && (size_t)length != nbytes) {
        snprintf(err, cap, "tensor '%s': external data length %lld does not match its shape (%zu bytes)",
                 name, length, nbytes);
        return NORMA_ERR_MODEL;
    }
    if ((unsigned long long)offset > fsize || nbytes > fsize - (size_t)offset) {
        snprintf(err, cap, "tensor '%s': external data range [%lld, %lld) is past the end of '%s' (%zu bytes)",
                 name, offset, offset + (long long)nbytes, location, fsize);
        return NORMA_ERR_MODEL;
    }
    const unsigned char *src = (const unsigned char *)addr + offset;
    size_t es = ir_dtype_size(t->dtype);
    if (nbytes && ((uintptr_t)src % es) == 0) {
        t->data = (void *)src; /* read-only mapping: kernels never write constants */
        t->owns_data = 0;
    } else {
        t->data = malloc(nbytes ? nbytes : 1);
        if (!t->data)
            return NORMA_ERR_MEMORY;
        if (nbytes)
            memcpy(t->data, src, nbytes);
        t->owns_data = 1;
    }
    return NORMA_OK;
}

int ld_tensor_from_proto(const Onnx__TensorProto *tp, ld_store *st, ir_tensor **out, char *err,
                         size_t cap)
{
    const char *name = tp->name && tp->name[0] ? tp->name : "<unnamed>";
    int dt = tp->data_type;
    *out = NULL;
    if (!dtype_supported(dt))
        return fail(err, cap, NORMA_ERR_UNSUPPORTED, "tensor '%s': data type %s is not supported", name,
                    dt == NORMA_STRING ? "string" : "(unknown)");
    if (tp->n_dims > IR_MAX_RANK) {
        snprintf(err, cap, "tensor '%s': rank %zu exceeds norma's maximum of %d", name, tp->n_dims, IR_MAX_RANK);
        return NORMA_ERR_UNSUPPORTED;
    }
    if (tp->segment)
        return fail(err, cap, NORMA_ERR_UNSUPPORTED, "tensor '%s': segmented tensors are not supported%s", name, "");
    ir_tensor *t = calloc(1, sizeof(ir_tensor));
    if (!t)
        return NORMA_ERR_MEMORY;
    t->dtype = dt;
    t->rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0) {
            snprintf(err, cap, "tensor '%s': dimension %zu is negative (%lld)", name, i, (long long)tp->dims[i]);
            free(t);
            return NORMA_ERR_MODEL;
        }
        t->dims[i] = tp->dims[i];
    }
    int ok;
    size_t n = ir_numel_checked(t->rank, t->dims, &ok);
    size_t es = ir_dtype_size(dt);
    if (!ok || (n && n > SIZE_MAX / es)) {
        free(t);
        return fail(err, cap, NORMA_ERR_MODEL, "tensor '%s': its size overflows%s", name, "");
    }
    size_t nbytes = n * es;
    int rc = NORMA_OK;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        rc = read_external(tp, st, name, nbytes, t, err, cap);
        if (rc) {
            free(t);
            return rc;
        }
        *out = t;
        return NORMA_OK;
    }
    /* Where does the data come from, and can it be borrowed? */
    const void *src = NULL;
    size_t count = 0;
    int field = 0; /* 1 raw, 2 float, 3 int32, 4 int64, 5 double, 6 uint64 */
    if (tp->has_raw_data) {
        field = 1, src = tp->raw_data.data, count = tp->raw_data.len;
        if (count != nbytes) {
            snprintf(err, cap, "tensor '%s': raw_data holds %zu bytes but its shape needs %zu", name, count, nbytes);
            rc = NORMA_ERR_MODEL;
            goto fail;
        }
    } else {
        switch (dt) {
        case NORMA_FLOAT: field = 2, src = tp->float_data, count = tp->n_float_data; break;
        case NORMA_INT32: case NORMA_INT16: case NORMA_INT8: case NORMA_UINT16: case NORMA_UINT8:
        case NORMA_BOOL: case NORMA_FLOAT16: case NORMA_BFLOAT16:
            field = 3, src = tp->int32_data, count = tp->n_int32_data; break;
        case NORMA_INT64: field = 4, src = tp->int64_data, count = tp->n_int64_data; break;
        case NORMA_DOUBLE: field = 5, src = tp->double_data, count = tp->n_double_data; break;
        case NORMA_UINT32: case NORMA_UINT64: field = 6, src = tp->uint64_data, count = tp->n_uint64_data; break;
        }
        if (count != n) {
            snprintf(err, cap, "tensor '%s': holds %zu elements but its shape needs %zu", name, count, n);
            rc = NORMA_ERR_MODEL;
            goto fail;
        }
    }
    int borrow = st && n > 0 &&
                 (field == 1 || field == 2 || field == 4 || field == 5 || (field == 6 && dt == NORMA_UINT64)) &&
                 ((uintptr_t)src % es) == 0;
    if (borrow) {
        t->data = (void *)src;
        t->owns_data = 0;
        *out = t;
        return NORMA_OK;
    }
    t->data = malloc(nbytes ? nbytes : 1);
    if (!t->data) {
        rc = NORMA_ERR_MEMORY;
        goto fail;
    }
    t->owns_data = 1;
    if (field == 1 || field == 2 || field == 4 || field == 5 || (field == 6 && dt == NORMA_UINT64)) {
        if (nbytes)
            memcpy(t->data, src, nbytes);
    } else if (field == 3) {
        const int32_t *s32 = src;
        for (size_t i = 0; i < n; i++)
            switch (dt) {
            case NORMA_INT32: ((int32_t *)t->data)[i] = s32[i]; break;
            case NORMA_INT16: ((int16_t *)t->data)[i] = (int16_t)s32[i]; break;
            case NORMA_UINT16: case NORMA_FLOAT16: case NORMA_BFLOAT16: ((uint16_t *)t->data)[i] = (uint16_t)s32[i]; break;
            case NORMA_INT8: ((int8_t *)t->data)[i] = (int8_t)s32[i]; break;
            case NORMA_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)s32[i]; break;
            case NORMA_BOOL: ((uint8_t *)t->data)[i] = s32[i] != 0; break;
            }
    } else if (field == 6) {
        const uint64_t *s64 = src;
        for (size_t i = 0; i < n; i++)
            ((uint32_t *)t->data)[i] = (uint32_t)s64[i];
    }
    *out = t;
    return NORMA_OK;
fail:
    free(t);
    return rc;
}

int ld_read_tensor_bytes(const void *data, size_t size, ir_tensor **out, char **name, char *err,
                         size_t cap)
{
    *out = NULL;
    if (name)
        *name = NULL;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, data);
    if (!tp) {
        snprintf(err, cap, "not a valid TensorProto (%zu bytes)", size);
        return NORMA_ERR_PARSE;
    }
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        snprintf(err, cap, "tensor '%s': external data is not supported in a standalone tensor file",
                 tp->name ? tp->name : "");
        onnx__tensor_proto__free_unpacked(tp, NULL);
        return NORMA_ERR_UNSUPPORTED;
    }
    int rc = ld_tensor_from_proto(tp, NULL, out, err, cap);
    if (rc == NORMA_OK && name && tp->name) {
        *name = strdup(tp->name);
        if (!*name) {
            ir_tensor_free(*out);
            *out = NULL;
            rc = NORMA_ERR_MEMORY;
        }
    }
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return rc;
}

int ld_read_tensor_file(const char *path, ir_tensor **out, char **name, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (!f) {
        snprintf(err, cap, "cannot open tensor file '%s'", path);
        return NORMA_ERR_IO;
    }
    unsigned char *buf = NULL;
    size_t len = 0, capb = 0;
    for (;;) {
        if (len == capb) {
            capb = capb ? capb * 2 : 65536;
            unsigned char *nb = realloc(buf, capb);
            if (!nb) {
                free(buf);
                fclose(f);
                return NORMA_ERR_MEMORY;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, capb - len, f);
        len += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, cap, "cannot read tensor file '%s'", path);
        return NORMA_ERR_IO;
    }
    int rc = ld_read_tensor_bytes(buf, len, out, name, err, cap);
    free(buf);
    if (rc == NORMA_ERR_PARSE)
        snprintf(err, cap, "'%s' is not a valid TensorProto file", path);
    return rc;
}

int ld_write_tensor_file(const char *path, const ir_tensor *t, const char *name, char *err, size_t cap)
{
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[IR_MAX_RANK];
    for (int i = 0; i < t->rank; i++)
        dims[i] = t->dims[i];
    tp.n_dims = (size_t)t->rank;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = t->dtype;
    tp.name = (char *)(name ? name : "");
    tp.has_raw_data = 1;
    tp.raw_data.len = ir_tensor_nbytes(t);
    tp.raw_data.data = t->data;
    size_t sz = onnx__tensor_proto__get_packed_size(&tp);
    unsigned char *buf = malloc(sz ? sz : 1);
    if (!buf)
        return NORMA_ERR_MEMORY;
    onnx__tensor_proto__pack(&tp, buf);
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        snprintf(err, cap, "cannot create '%s'", path);
        return NORMA_ERR_IO;
    }
    size_t w = fwrite(buf, 1, sz, f);
    int bad = fclose(f) != 0 || w != sz;
    free(buf);
    if (bad) {
        snprintf(err, cap, "cannot write '%s'", path);
        return NORMA_ERR_IO;
    }
    return NORMA_OK;
}
