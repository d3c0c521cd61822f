/*
 * Test-data values that are not plain tensors: a SequenceProto (a sequence of tensors)
 * or an OptionalProto (a tensor, a sequence, or nothing), as the ONNX backend test
 * data stores them for models whose inputs or outputs have those types. The messages
 * come from proto/onnx_values.proto.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"
#include "loader/tensor_proto.h"
#include "onnx_values.pb-c.h"

enum { ELEM_TENSOR = 1, ELEM_SEQUENCE = 3, ELEM_OPTIONAL = 5 };

static int seq_from_proto(const Onnx__SequenceProto *sp, ir_tensor **out, char *err, size_t cap)
{
    *out = NULL;
    if (sp->n_sequence_values || sp->n_optional_values ||
        (sp->has_elem_type && sp->elem_type != ELEM_TENSOR && sp->n_tensor_values)) {
        snprintf(err, cap, "sequence '%s': only sequences of tensors are supported", sp->name ? sp->name : "");
        return NORMA_ERR_UNSUPPORTED;
    }
    ir_tensor *t = ir_seq_tensor_new();
    if (!t)
        return NORMA_ERR_MEMORY;
    ir_seq *s = t->data;
    for (size_t i = 0; i < sp->n_tensor_values; i++) {
        ir_tensor *item;
        int rc = ld_tensor_from_proto(sp->tensor_values[i], NULL, &item, err, cap);
        if (rc) {
            ir_tensor_free(t);
            return rc;
        }
        if (s->n && item->dtype != s->items[0]->dtype) {
            snprintf(err, cap, "sequence '%s': item %zu has another dtype", sp->name ? sp->name : "", i);
            ir_tensor_free(item);
            ir_tensor_free(t);
            return NORMA_ERR_MODEL;
        }
        rc = ir_seq_insert(s, s->n, item) ? NORMA_ERR_MEMORY : NORMA_OK;
        ir_tensor_free(item);
        if (rc) {
            ir_tensor_free(t);
            return rc;
        }
    }
    *out = t;
    return NORMA_OK;
}

int ld_read_value_bytes(const void *data, size_t size, int kind, ir_tensor **out, char **name, char *err,
                        size_t cap)
{
    *out = NULL;
    if (name)
        *name = NULL;
    if (kind == LD_VALUE_TENSOR)
        return ld_read_tensor_bytes(data, size, out, name, err, cap);
    int rc = NORMA_OK;
    const char *nm = NULL;
    if (kind == LD_VALUE_SEQUENCE) {
        Onnx__SequenceProto *sp = onnx__sequence_proto__unpack(NULL, size, data);
        if (!sp) {
            snprintf(err, cap, "not a valid SequenceProto (%zu bytes)", size);
            return NORMA_ERR_PARSE;
        }
        rc = seq_from_proto(sp, out, err, cap);
        nm = sp->name;
        if (!rc && name && nm && !(*name = strdup(nm)))
            rc = NORMA_ERR_MEMORY;
        onnx__sequence_proto__free_unpacked(sp, NULL);
    } else {
        Onnx__OptionalProto *op = onnx__optional_proto__unpack(NULL, size, data);
        if (!op) {
            snprintf(err, cap, "not a valid OptionalProto (%zu bytes)", size);
            return NORMA_ERR_PARSE;
        }
        if (op->tensor_value)
            rc = ld_tensor_from_proto(op->tensor_value, NULL, out, err, cap);
        else if (op->sequence_value)
            rc = seq_from_proto(op->sequence_value, out, err, cap);
        else if (op->optional_value) {
            snprintf(err, cap, "optional '%s': nested optionals are not supported", op->name ? op->name : "");
            rc = NORMA_ERR_UNSUPPORTED;
        } else if (!(*out = ir_tensor_new(IR_DTYPE_NONE, 0, NULL)))
            rc = NORMA_ERR_MEMORY;
        nm = op->name;
        if (!rc && name && nm && !(*name = strdup(nm)))
            rc = NORMA_ERR_MEMORY;
        onnx__optional_proto__free_unpacked(op, NULL);
    }
    if (rc) {
        ir_tensor_free(*out);
        *out = NULL;
    }
    return rc;
}

int ld_read_value_file(const char *path, int kind, ir_tensor **out, char **name, char *err, size_t cap)
{
    *out = NULL;
    if (name)
        *name = NULL;
    if (kind == LD_VALUE_TENSOR)
        return ld_read_tensor_file(path, out, name, err, cap);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open value file '%s'", path);
        return NORMA_ERR_IO;
    }
    int rc = NORMA_ERR_IO;
    long len = -1;
    unsigned char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, f) == (size_t)len)
        rc = ld_read_value_bytes(buf, (size_t)len, kind, out, name, err, cap);
    else
        snprintf(err, cap, "cannot read value file '%s'", path);
    free(buf);
    fclose(f);
    return rc;
}
