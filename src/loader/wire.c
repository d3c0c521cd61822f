/*
 * A ModelProto unpacked without copying its weights.
 *
 * protobuf-c copies every bytes field it unpacks. The raw_data of the graph's
 * initializers is nearly all of a model file, so that copy costs as much time and fresh
 * memory as reading the file did. Instead the loader reads the file into a buffer of
 * its weight store, and this file unpacks it in pieces: the model without its graph,
 * the graph without its initializers, and each initializer without its raw_data, each
 * through protobuf-c from a small copy; the raw_data of every big initializer then
 * stays in the buffer, moved back over the bytes before it (which nothing reads once
 * unpacked) so that it starts aligned, with free bytes before it, as if the store had
 * allocated it.
 *
 * The pieces follow the wire format (protobuf's encoding guide): a field is a varint
 * tag (number << 3 | wire type) and a value; length-delimited values (messages, bytes,
 * strings) are a varint length and that many bytes. What this scan does not expect (a
 * graph given twice, which protobuf would merge; a raw_data given twice; groups;
 * anything malformed) goes to protobuf-c whole, so the result and the errors are
 * protobuf-c's in every case.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "loader/loader.h"
#include "loader/wire.h"

/* Field numbers in onnx.proto. */
#define MODEL_GRAPH 7
#define GRAPH_INITIALIZER 5
#define TENSOR_DATA_TYPE 2
#define TENSOR_RAW_DATA 9

#define WIRE_VARINT 0
#define WIRE_FIXED64 1
#define WIRE_LEN 2
#define WIRE_FIXED32 5

typedef struct wfield {
    uint32_t num;  /* field number */
    int type;      /* wire type */
    size_t start;  /* offset of the tag */
    size_t val;    /* offset of a length-delimited value's bytes */
    size_t end;    /* offset just past the field */
    uint64_t v;    /* a varint's value, or a length-delimited value's length */
} wfield;

static int get_varint(const unsigned char *b, size_t end, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *pos < end; shift += 7) { /* at most 10 bytes */
        unsigned char c = b[(*pos)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* Reads the field at *pos of a message ending at end and moves *pos past it. 0 when
 * the bytes are malformed or a group (which ONNX does not use). */
static int next_field(const unsigned char *b, size_t end, size_t *pos, wfield *f)
{
    uint64_t tag;
    f->start = *pos;
    f->val = f->end = 0;
    f->v = 0;
    if (!get_varint(b, end, pos, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return 0;
    f->num = (uint32_t)(tag >> 3);
    f->type = (int)(tag & 7);
    switch (f->type) {
    case WIRE_VARINT:
        if (!get_varint(b, end, pos, &f->v))
            return 0;
        break;
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
        size_t n = f->type == WIRE_FIXED64 ? 8 : 4;
        if (end - *pos < n)
            return 0;
        *pos += n;
        break;
    }
    case WIRE_LEN:
        if (!get_varint(b, end, pos, &f->v) || f->v > end - *pos)
            return 0;
        f->val = *pos;
        *pos += (size_t)f->v;
        break;
    default:
        return 0;
    }
    f->end = *pos;
    return 1;
}

/* Copies the fields of the message b[from, to) to out, leaving out the length-delimited
 * ones numbered `skip`; returns the bytes written. The message was scanned already. */
static size_t copy_without(const unsigned char *b, size_t from, size_t to, uint32_t skip, unsigned char *out)
{
    size_t pos = from, n = 0, run = from; /* run: start of the bytes not yet copied */
    wfield f;
    while (pos < to && next_field(b, to, &pos, &f))
        if (f.num == skip && f.type == WIRE_LEN) {
            memcpy(out + n, b + run, f.start - run);
            n += f.start - run;
            run = f.end;
        }
    memcpy(out + n, b + run, to - run);
    return n + (to - run);
}

typedef struct init_scan {
    size_t start;            /* offset of the initializer field's tag in buf */
    size_t val, len;         /* its TensorProto message */
    size_t raw, raw_len;     /* raw_data's bytes, when borrowed */
    size_t es;               /* element size from data_type */
    int borrow;
} init_scan;

/* Scans one TensorProto; 0 when malformed. */
static int scan_tensor(const unsigned char *b, init_scan *t)
{
    size_t pos = t->val, end = t->val + t->len;
    int raws = 0;
    uint64_t dt = 0;
    wfield f;
    while (pos < end) {
        if (!next_field(b, end, &pos, &f))
            return 0;
        if (f.num == TENSOR_RAW_DATA && f.type == WIRE_LEN) {
            raws++;
            t->raw = f.val;
            t->raw_len = (size_t)f.v;
        } else if (f.num == TENSOR_DATA_TYPE && f.type == WIRE_VARINT) {
            dt = f.v;
        }
    }
    size_t es = dt <= 64 ? ir_dtype_size((int)dt) : 0;
    t->es = es ? es : 1; /* 0: a type the import refuses */
    t->borrow = raws == 1 && t->raw_len >= LD_BORROW_MIN;
    return 1;
}

/* How far to move raw data at p back: to the widest alignment (64 bytes down to the
 * element size) that the `room` bytes before it allow; -1 if not even the element size. */
static long align_back(const unsigned char *p, size_t room, size_t es)
{
    for (size_t a = 64; a >= es; a /= 2) {
        size_t off = (uintptr_t)p % a;
        if (off <= room)
            return (long)off;
    }
    return -1;
}

Onnx__ModelProto *ld_unpack_model(unsigned char *buf, size_t size, ProtobufCAllocator *a, size_t *borrowed)
{
    Onnx__ModelProto *m = NULL;
    init_scan *inits = NULL;
    unsigned char *tmp = NULL;
    size_t n_inits = 0, graph_val = 0, graph_len = 0, pos = 0;
    int graphs = 0;
    wfield f;
    if (borrowed)
        *borrowed = 0;

    /* The model: exactly one graph, or protobuf-c unpacks it whole. */
    while (pos < size) {
        if (!next_field(buf, size, &pos, &f))
            goto whole;
        if (f.num == MODEL_GRAPH && f.type == WIRE_LEN) {
            graphs++;
            graph_val = f.val;
            graph_len = (size_t)f.v;
        }
    }
    if (graphs != 1)
        goto whole;
    /* The graph: its initializers, each scanned. */
    size_t cap = 0, gend = graph_val + graph_len;
    for (pos = graph_val; pos < gend;) {
        if (!next_field(buf, gend, &pos, &f))
            goto whole;
        if (f.num != GRAPH_INITIALIZER || f.type != WIRE_LEN)
            continue;
        if (n_inits == cap) {
            cap = cap ? 2 * cap : 64;
            init_scan *grown = realloc(inits, sizeof(init_scan) * cap);
            if (!grown)
                goto whole;
            inits = grown;
        }
        init_scan *t = &inits[n_inits++];
        memset(t, 0, sizeof *t);
        t->start = f.start;
        t->val = f.val;
        t->len = (size_t)f.v;
        if (!scan_tensor(buf, t))
            goto whole;
    }

    /* The pieces, unpacked before any raw data moves: the model without its graph, the
     * graph without its initializers and the initializers without the raw_data they
     * lend each copied out first; the other initializers whole, where they are. */
    tmp = malloc(size ? size : 1);
    Onnx__TensorProto **tensors = a->alloc(a->allocator_data, sizeof(void *) * (n_inits ? n_inits : 1));
    if (!tmp || !tensors)
        goto whole;
    size_t mlen = copy_without(buf, 0, size, MODEL_GRAPH, tmp);
    size_t glen = copy_without(buf, graph_val, gend, GRAPH_INITIALIZER, tmp + mlen);
    size_t off = mlen + glen;
    for (size_t i = 0; i < n_inits; i++) {
        init_scan *t = &inits[i];
        if (!t->borrow) { /* whole, straight from buf */
            tensors[i] = onnx__tensor_proto__unpack(a, t->len, buf + t->val);
        } else {
            size_t len = copy_without(buf, t->val, t->val + t->len, TENSOR_RAW_DATA, tmp + off);
            tensors[i] = onnx__tensor_proto__unpack(a, len, tmp + off);
            off += len;
        }
        if (!tensors[i])
            goto fail;
    }
    Onnx__GraphProto *g = onnx__graph_proto__unpack(a, glen, tmp + mlen);
    m = g ? onnx__model_proto__unpack(a, mlen, tmp) : NULL;
    if (!m)
        goto fail;
    free(tmp);
    tmp = NULL;

    /* The raw data lent, in file order, moved back over the bytes before it (nodes,
     * headers, small tensors: all copied out above), so that the weights lie as the
     * store allocates blocks: 64-byte aligned, LD_STORE_SLACK free bytes before each,
     * next to each other; the weight recycler (session.c) relies on that. Where the
     * bytes before are too few, moved back only within its own header (at least 8
     * bytes for 64 KB of data: room for any element size), else copied. Builds with
     * NORMA_STORE_HEAP (the fuzzing builds) copy every one, so that each weight has an
     * allocation of its own whose bounds ASan sees. */
    unsigned char *cursor = buf; /* end of the weights placed so far */
    for (size_t i = 0; i < n_inits; i++) {
        init_scan *t = &inits[i];
        if (!t->borrow)
            continue;
        unsigned char *src = buf + t->raw;
        unsigned char *dst = (unsigned char *)(((uintptr_t)cursor + LD_STORE_SLACK + 63) & ~(uintptr_t)63);
        if (dst > src) {
            long back = align_back(src, t->raw - t->start, t->es);
            dst = back >= 0 ? src - back : NULL;
        }
#ifdef NORMA_STORE_HEAP
        dst = NULL;
#endif
        if (dst) {
            memmove(dst, src, t->raw_len);
            cursor = dst + t->raw_len;
            if (borrowed)
                *borrowed += t->raw_len;
        } else {
            dst = a->alloc(a->allocator_data, t->raw_len);
            if (!dst)
                goto fail;
            memcpy(dst, src, t->raw_len);
        }
        tensors[i]->has_raw_data = 1;
        tensors[i]->raw_data.data = dst;
        tensors[i]->raw_data.len = t->raw_len;
    }
    g->initializer = tensors;
    g->n_initializer = n_inits;
    m->graph = g;
    free(inits);
    return m;

whole:
    free(inits);
    free(tmp);
    return onnx__model_proto__unpack(a, size, buf);
fail: /* a piece protobuf-c refused: the whole would be refused too */
    free(inits);
    free(tmp);
    return NULL;
}
