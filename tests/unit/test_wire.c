/*
 * The loader's unpack that leaves big weights in the model's bytes (loader/wire.c):
 * what it returns is what protobuf-c's own unpack returns (compared by packing both
 * back to bytes), in every field order a writer may choose and for damaged bytes
 * (both refuse, or both give the same model); the weights it leaves in place are
 * aligned, in file order and apart; and weights that end up a few bytes apart survive
 * the session's weight recycler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ir/ir.h"
#include "loader/loader.h"
#include "loader/store.h"
#include "loader/wire.h"
#include "modelbuild.h"
#include "norma.h"
#include "onnx.pb-c.h"

/* ---- bytes: a growing buffer and a field splitter, to lay models out by hand ---- */

typedef struct wbuf {
    uint8_t *b;
    size_t n, cap;
} wbuf;

static void put(wbuf *w, const void *p, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
        assert_non_null(w->b);
    }
    if (n)
        memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put_varint(wbuf *w, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        put(w, &c, 1);
    } while (v);
}

static void put_len_field(wbuf *w, uint32_t num, const uint8_t *p, size_t n)
{
    put_varint(w, (uint64_t)num << 3 | 2);
    put_varint(w, n);
    put(w, p, n);
}

typedef struct tfield {
    uint32_t num;
    size_t start, end; /* the whole field */
    size_t val, len;   /* a length-delimited value */
    int is_len;
} tfield;

static uint64_t get_varint(const uint8_t *b, size_t *pos)
{
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        uint8_t c = b[(*pos)++];
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return v;
    }
}

/* The fields of a well-formed message (this file's own models only). */
static size_t split(const uint8_t *b, size_t n, tfield *out, size_t max)
{
    size_t pos = 0, k = 0;
    while (pos < n) {
        assert_true(k < max);
        tfield *f = &out[k++];
        f->start = pos;
        uint64_t tag = get_varint(b, &pos);
        f->num = (uint32_t)(tag >> 3);
        f->is_len = (tag & 7) == 2;
        switch (tag & 7) {
        case 0: get_varint(b, &pos); break;
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        case 2:
            f->len = (size_t)get_varint(b, &pos);
            f->val = pos;
            pos += f->len;
            break;
        default: fail_msg("unexpected wire type");
        }
        f->end = pos;
    }
    return k;
}

enum layout { CANONICAL, FRONT, INTERLEAVED };

/* The model's graph field (ModelProto field 7; the last, if there are several);
 * fails the test when there is none. */
static const tfield *graph_field(const tfield *mf, size_t nm)
{
    const tfield *graph = NULL;
    for (size_t i = 0; i < nm; i++)
        if (mf[i].num == 7)
            graph = &mf[i];
    assert_non_null(graph);
    return graph;
}

/* The model's bytes laid out again: CANONICAL as protobuf-c wrote them; FRONT with the
 * graph the model's first field and the initializers the graph's first fields, in
 * reverse order (so the first weight starts a few bytes into the file); INTERLEAVED
 * with an initializer after every node. */
static uint8_t *relayout(const uint8_t *b, size_t n, enum layout how, size_t *out_n)
{
    wbuf w = {0};
    if (how == CANONICAL) {
        put(&w, b, n);
        *out_n = w.n;
        return w.b;
    }
    tfield mf[64], gf[1024];
    size_t nm = split(b, n, mf, 64);
    const tfield *graph = graph_field(mf, nm);
    size_t ng = split(b + graph->val, graph->len, gf, 1024);
    wbuf g = {0};
    const uint8_t *gb = b + graph->val;
    if (how == FRONT) {
        for (size_t i = ng; i-- > 0;)
            if (gf[i].num == 5)
                put(&g, gb + gf[i].start, gf[i].end - gf[i].start);
        for (size_t i = 0; i < ng; i++)
            if (gf[i].num != 5)
                put(&g, gb + gf[i].start, gf[i].end - gf[i].start);
    } else {
        size_t next_init = 0;
        for (size_t i = 0; i < ng; i++) {
            if (gf[i].num == 5)
                continue;
            put(&g, gb + gf[i].start, gf[i].end - gf[i].start);
            if (gf[i].num == 1)
                while (next_init < ng)
                    if (gf[next_init++].num == 5) {
                        put(&g, gb + gf[next_init - 1].start, gf[next_init - 1].end - gf[next_init - 1].start);
                        break;
                    }
        }
        for (; next_init < ng; next_init++)
            if (gf[next_init].num == 5)
                put(&g, gb + gf[next_init].start, gf[next_init].end - gf[next_init].start);
    }
    put_len_field(&w, 7, g.b, g.n);
    for (size_t i = 0; i < nm; i++)
        if (mf[i].num != 7)
            put(&w, b + mf[i].start, mf[i].end - mf[i].start);
    free(g.b);
    *out_n = w.n;
    return w.b;
}

/* ---- comparing the two unpacks ---- */

static uint8_t *pack(const ProtobufCMessage *m, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*n ? *n : 1);
    assert_non_null(b);
    assert_int_equal(protobuf_c_message_pack(m, b), *n);
    return b;
}

/* Unpacks bytes[0, n) both ways and checks that they agree. Returns 1 if protobuf-c
 * accepted the bytes. With `canonical`, also checks the weights left in the buffer lie
 * as the store lays out blocks (64-aligned, 64 free bytes before each). */
static int check_same(const uint8_t *bytes, size_t n, int canonical, size_t *borrowed_out)
{
    Onnx__ModelProto *plain = onnx__model_proto__unpack(NULL, n, bytes);
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, n);
    ld_store *st = ld_store_new(n + (1u << 20), NULL);
    assert_non_null(st);
    ProtobufCAllocator a = ld_store_allocator(st);
    size_t borrowed = 0;
    Onnx__ModelProto *w = ld_unpack_model(copy, n, &a, &borrowed);
    assert_int_equal(plain == NULL, w == NULL);
    if (plain) {
        size_t np, nw;
        uint8_t *pp = pack(&plain->base, &np), *pw = pack(&w->base, &nw);
        assert_int_equal(np, nw);
        assert_memory_equal(pp, pw, np);
        free(pp);
        free(pw);
        /* the weights left in the buffer: aligned, in order, apart */
        size_t in_buf = 0;
        const uint8_t *prev_end = copy;
        for (size_t i = 0; w->graph && i < w->graph->n_initializer; i++) {
            const Onnx__TensorProto *t = w->graph->initializer[i];
            const uint8_t *d = t->raw_data.data;
            if (!t->has_raw_data || d < copy || d >= copy + n)
                continue;
            assert_true(t->raw_data.len >= LD_BORROW_MIN);
            size_t es = ir_dtype_size(t->data_type); /* types norma reads; complex: none */
            assert_int_equal((uintptr_t)d % (es ? es : 1), 0);
            assert_true(d >= prev_end);
            if (canonical) {
                assert_int_equal((uintptr_t)d % 64, 0);
                assert_true((size_t)(d - prev_end) >= LD_STORE_SLACK);
            }
            prev_end = d + t->raw_data.len;
            in_buf += t->raw_data.len;
        }
        assert_int_equal(in_buf, borrowed);
        onnx__model_proto__free_unpacked(plain, NULL);
    }
    ld_store_free(st);
    free(copy);
    if (borrowed_out)
        *borrowed_out = borrowed;
    return plain != NULL;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void *random_bytes(size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)next_u32();
    return p;
}

typedef struct weight_spec {
    const char *name;
    int dtype;
    int64_t count;
} weight_spec;

/* Weights of every element size, at and around the borrowing threshold, names of
 * several lengths (so their data starts at every alignment), with small ones between. */
static const weight_spec weights[] = {
    {"a", 1, 20480},                       /* 80 KB float */
    {"s1", 1, 7},                          /* small */
    {"a_much_longer_weight_name_17", 7, 9000}, /* int64 */
    {"dd", 11, 8200},                      /* double */
    {"s2", 7, 3},
    {"u8", 2, 70001},                      /* uint8, odd length */
    {"half_w", 10, 40000},                 /* float16 */
    {"c128", 15, 4200},                    /* complex128: 16-byte elements */
    {"exactly", 2, 65536},                 /* the threshold */
    {"just_under", 2, 65535},
    {"ffff", 1, 16385},
};
#define N_WEIGHTS (sizeof weights / sizeof weights[0])

static size_t big_bytes(void)
{
    size_t b = 0;
    for (size_t i = 0; i < N_WEIGHTS; i++) {
        size_t n = (size_t)weights[i].count * mb_dtype_bytes(weights[i].dtype);
        b += n >= LD_BORROW_MIN ? n : 0;
    }
    return b;
}

static uint8_t *weights_model(size_t *n)
{
    mb_model *m = mb_new(17);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){4});
    for (size_t i = 0; i < N_WEIGHTS; i++) {
        size_t bytes = (size_t)weights[i].count * mb_dtype_bytes(weights[i].dtype);
        void *data = random_bytes(bytes);
        mb_init(m, weights[i].name, weights[i].dtype, 1, (int64_t[]){weights[i].count}, data);
        free(data);
        char out[64];
        snprintf(out, sizeof out, "out_%zu", i);
        mb_add_node(m, "Identity", weights[i].name, out);
        mb_output(m, out);
    }
    /* nodes before the initializers, as exporters write them: room to move the
     * weights back into */
    char prev[16] = "x", next[16];
    for (int i = 0; i < 80; i++) {
        snprintf(next, sizeof next, "r%d", i);
        mb_add_node(m, "Relu", prev, next);
        strcpy(prev, next);
    }
    mb_output(m, prev);
    uint8_t *b = mb_serialize(m, n);
    mb_free(m);
    return b;
}

static void borrowed_weights_equal_protobuf_c_in_every_layout(void **state)
{
    (void)state;
    size_t n;
    uint8_t *model = weights_model(&n);
    for (int how = CANONICAL; how <= INTERLEAVED; how++) {
        size_t ln, borrowed;
        uint8_t *b = relayout(model, n, (enum layout)how, &ln);
        assert_int_equal(ln, n);
        assert_true(check_same(b, ln, how == CANONICAL, &borrowed));
#ifndef NORMA_STORE_HEAP
        assert_int_equal(borrowed, big_bytes()); /* every big one left in place */
#endif
        free(b);
    }
    free(model);
}

/* A model of only the graph field of `model`, whose first initializer has the fields
 * in `extra` appended. */
static wbuf with_first_init_extended(const uint8_t *model, const tfield *graph, const wbuf *extra)
{
    tfield gf[256];
    const uint8_t *gb = model + graph->val;
    size_t ng = split(gb, graph->len, gf, 256);
    wbuf g = {0}, w = {0};
    int done = 0;
    for (size_t i = 0; i < ng; i++) {
        if (gf[i].num == 5 && !done) {
            wbuf t = {0};
            put(&t, gb + gf[i].val, gf[i].len);
            put(&t, extra->b, extra->n);
            put_len_field(&g, 5, t.b, t.n);
            free(t.b);
            done = 1;
        } else {
            put(&g, gb + gf[i].start, gf[i].end - gf[i].start);
        }
    }
    put_len_field(&w, 7, g.b, g.n);
    free(g.b);
    return w;
}

static void unexpected_layouts_go_to_protobuf_c_whole(void **state)
{
    (void)state;
    size_t n;
    uint8_t *model = weights_model(&n);
    tfield mf[64];
    size_t nm = split(model, n, mf, 64);
    const tfield *graph = graph_field(mf, nm);

    /* The graph twice: protobuf merges the two (initializers appended). */
    wbuf w = {0};
    put(&w, model, n);
    put(&w, model + graph->start, graph->end - graph->start);
    size_t borrowed;
    assert_true(check_same(w.b, w.n, 0, &borrowed));
    assert_int_equal(borrowed, 0);
    free(w.b);

    /* A big initializer with raw_data twice: the last one counts. */
    wbuf extra = {0};
    uint8_t *other = random_bytes(LD_BORROW_MIN + 20);
    put_len_field(&extra, 9, other, LD_BORROW_MIN + 20);
    free(other);
    w = with_first_init_extended(model, graph, &extra);
    assert_true(check_same(w.b, w.n, 0, &borrowed));
#ifndef NORMA_STORE_HEAP
    assert_true(borrowed > 0 && borrowed < big_bytes()); /* the others still borrowed */
#endif
    free(w.b);
    free(extra.b);

    /* The fields this unpack takes apart, with the wrong wire type (a varint graph, a
     * varint raw_data next to a big one): refused by both. */
    w = (wbuf){0};
    put(&w, model, n);
    put_varint(&w, (uint64_t)7 << 3 | 0);
    put_varint(&w, 5);
    assert_false(check_same(w.b, w.n, 0, NULL));
    free(w.b);
    extra = (wbuf){0};
    put_varint(&extra, (uint64_t)9 << 3 | 0);
    put_varint(&extra, 1);
    w = with_first_init_extended(model, graph, &extra);
    assert_false(check_same(w.b, w.n, 0, NULL));
    free(w.b);
    free(extra.b);

    /* A group (wire type 3) in the model: refused by both. */
    w = (wbuf){0};
    put(&w, model, n);
    put_varint(&w, (uint64_t)20 << 3 | 3);
    assert_false(check_same(w.b, w.n, 0, NULL));
    free(w.b);
    free(model);
}

static void damaged_bytes_fail_or_match_like_protobuf_c(void **state)
{
    (void)state;
    /* a model of three big weights and nodes, small enough to damage many times */
    mb_model *m = mb_new(17);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){16384});
    const char *names[] = {"w0", "weight_one", "w2"};
    for (int i = 0; i < 3; i++) {
        float *data = random_bytes(16384 * 4);
        mb_init_f32(m, names[i], 1, (int64_t[]){16384}, data);
        free(data);
    }
    mb_add_node(m, "Add", "x,w0", "t0");
    mb_add_node(m, "Mul", "t0,weight_one", "t1");
    mb_add_node(m, "Sub", "t1,w2", "y");
    mb_output(m, "y");
    size_t n0;
    uint8_t *canon = mb_serialize(m, &n0);
    mb_free(m);
    int accepted = 0, refused = 0;
    for (int how = CANONICAL; how <= FRONT; how++) {
        size_t n;
        uint8_t *b = relayout(canon, n0, (enum layout)how, &n);
        /* where the weights' bytes are not: damage goes to the structure around them */
        size_t raw_lo[3], raw_hi[3];
        Onnx__ModelProto *p = onnx__model_proto__unpack(NULL, n, b);
        assert_non_null(p);
        for (int i = 0; i < 3; i++) {
            raw_lo[i] = (size_t)(memmem(b, n, p->graph->initializer[i]->raw_data.data, 64) - (void *)b);
            raw_hi[i] = raw_lo[i] + p->graph->initializer[i]->raw_data.len;
        }
        onnx__model_proto__free_unpacked(p, NULL);
        /* truncated: every length up to 600, around every weight, and at random */
        for (size_t len = 0; len < 600 && len < n; len++)
            accepted += check_same(b, len, 0, NULL) ? 1 : 0;
        for (int i = 0; i < 3; i++)
            for (size_t d = 0; d < 40 && d <= raw_lo[i]; d++) {
                refused += !check_same(b, raw_lo[i] - d, 0, NULL);
                refused += !check_same(b, raw_hi[i] + d, 0, NULL);
            }
        for (int k = 0; k < 100; k++)
            accepted += check_same(b, next_u32() % n, 0, NULL) ? 1 : 0;
        /* one to three bytes changed outside the weights */
        uint8_t *d = malloc(n);
        assert_non_null(d);
        for (int k = 0; k < 1500; k++) {
            memcpy(d, b, n);
            int changes = 1 + (int)(next_u32() % 3);
            for (int c = 0; c < changes; c++) {
                size_t at;
                do
                    at = next_u32() % n;
                while ((at >= raw_lo[0] + 8 && at < raw_hi[0] - 8) || (at >= raw_lo[1] + 8 && at < raw_hi[1] - 8) ||
                       (at >= raw_lo[2] + 8 && at < raw_hi[2] - 8));
                d[at] = (next_u32() % 4) ? (uint8_t)next_u32() : (uint8_t)(d[at] ^ 0x80);
            }
            if (check_same(d, n, 0, NULL))
                accepted++;
            else
                refused++;
        }
        free(d);
        free(b);
    }
    /* both outcomes were reached, so the comparison covered both */
    assert_true(accepted > 100);
    assert_true(refused > 100);
    free(canon);
}

/* y_w = x W for the weights of two MatMuls whose weights lie a few bytes apart in the
 * file (the FRONT layout leaves no room to move them apart); the second node's weight
 * comes first in the file, so when its packed copy is done and its memory goes to the
 * recycler, the first weight is still to be packed and must not be touched. */
static void weights_a_few_bytes_apart_survive_the_recycler(void **state)
{
    (void)state;
    enum { M = 16, K = 128, N1 = 128, N2 = 160 };
    float *x = random_bytes(sizeof(float) * M * K), *w1 = malloc(sizeof(float) * K * N1),
          *w2 = malloc(sizeof(float) * K * N2);
    assert_non_null(w1);
    assert_non_null(w2);
    for (int i = 0; i < M * K; i++)
        x[i] = (float)((int)(next_u32() % 17) - 8) / 8.0f;
    for (int i = 0; i < K * N1; i++)
        w1[i] = (float)((int)(next_u32() % 13) - 6) / 4.0f;
    for (int i = 0; i < K * N2; i++)
        w2[i] = (float)((int)(next_u32() % 11) - 5) / 4.0f;
    char name[64];
    /* names of every length mod 64, so the gap between the weights crosses a 64-byte
     * boundary in some and not in others */
    for (int variant = 0; variant < 16; variant++) {
        snprintf(name, sizeof name, "%.*s", 1 + variant * 3, "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww");
        mb_model *m = mb_new(17);
        mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){M, K});
        mb_init_f32(m, "v", 2, (int64_t[]){K, N2}, w2); /* FRONT reverses: "v" lands second */
        mb_init_f32(m, name, 2, (int64_t[]){K, N1}, w1);
        mb_add_node(m, "MatMul", "x,v", "y2");
        mb_add_node(m, "MatMul", strcat(strcpy((char[80]){0}, "x,"), name), "y1");
        mb_output(m, "y1");
        mb_output(m, "y2");
        size_t n0, n;
        uint8_t *canon = mb_serialize(m, &n0);
        mb_free(m);
        uint8_t *b = relayout(canon, n0, FRONT, &n);
        free(canon);
        char path[] = "/tmp/norma-wire-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, b, n), (ssize_t)n);
        close(fd);
        for (int from_file = 0; from_file < 2; from_file++) {
            norma_session *s = NULL;
            norma_status st = from_file ? norma_session_create_from_file(path, NULL, &s)
                                        : norma_session_create_from_memory(b, n, NULL, &s);
            assert_int_equal(st, NORMA_OK);
            norma_tensor in = {.name = "x", .dtype = NORMA_FLOAT, .rank = 2, .dims = {M, K}, .data = x};
            norma_tensor out[2];
            memset(out, 0, sizeof out);
            assert_int_equal(norma_run(s, &in, 1, out, 2), NORMA_OK);
            for (int o = 0; o < 2; o++) {
                const float *w = o == 0 ? w1 : w2;
                int nn = o == 0 ? N1 : N2;
                assert_int_equal(out[o].dims[1], nn);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < nn; j++) {
                        float ref = 0; /* exact: small multiples of 1/32 */
                        for (int k = 0; k < K; k++)
                            ref += x[i * K + k] * w[k * nn + j];
                        assert_float_equal(((const float *)out[o].data)[i * nn + j], ref, 1e-4);
                    }
            }
            norma_session_free(s);
        }
        unlink(path);
        free(b);
    }
    free(x);
    free(w1);
    free(w2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(borrowed_weights_equal_protobuf_c_in_every_layout),
        cmocka_unit_test(unexpected_layouts_go_to_protobuf_c_whole),
        cmocka_unit_test(damaged_bytes_fail_or_match_like_protobuf_c),
        cmocka_unit_test(weights_a_few_bytes_apart_survive_the_recycler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
