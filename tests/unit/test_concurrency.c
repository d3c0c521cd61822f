/*
 * One session, 8 threads, hundreds of runs with different inputs and batch sizes;
 * every output is compared with the result of the same input run on one thread
 * beforehand. Also built under ThreadSanitizer in CI (tools/check.sh): the session
 * is created with threads = 1 there, so that the only concurrency is the callers'
 * threads (libgomp is not TSan-instrumented and its barriers look like races).
 * NORMA_CONC_THREADS in the environment overrides the session's thread count.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modelbuild.h"
#include "norma.h"
#include "testutil.h"

#define N_THREADS 8
#define RUNS_PER_THREAD 100
#define N_CASES 24
#define MAX_BATCH 4
#define C_IN 3
#define HW 8
#define N_CLASSES 5

typedef struct {
    int64_t batch;
    float x[MAX_BATCH * C_IN * HW * HW];
    float y[MAX_BATCH * N_CLASSES]; /* single-threaded reference */
} conc_case;

static conc_case cases[N_CASES];
static norma_session *shared;
static int failures;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static int session_threads(void)
{
    const char *e = getenv("NORMA_CONC_THREADS");
    return e && *e ? atoi(e) : 2;
}

/* x (batch, 3, 8, 8) -> Conv 3x3 pad 1 -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> Softmax */
static float w[4 * C_IN * 3 * 3], b[4], g[4 * N_CLASSES], gb[N_CLASSES];

/* Weights and inputs, made once on the main thread (the generator is not thread-safe). */
static void make_data(void)
{
    tu_seed(7);
    tu_fill(w, sizeof w / sizeof w[0], -0.5f, 0.5f);
    tu_fill(b, 4, -0.1f, 0.1f);
    tu_fill(g, sizeof g / sizeof g[0], -1, 1);
    tu_fill(gb, N_CLASSES, -0.1f, 0.1f);
    for (int k = 0; k < N_CASES; k++) {
        cases[k].batch = 1 + k % MAX_BATCH;
        tu_fill(cases[k].x, sizeof cases[k].x / sizeof(float), -2, 2);
    }
}

static norma_session *make_session(void)
{
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 4, (int64_t[]){-1, C_IN, HW, HW});
    mb_init_f32(m, "w", 4, (int64_t[]){4, C_IN, 3, 3}, w);
    mb_init_f32(m, "b", 1, (int64_t[]){4}, b);
    mb_init_f32(m, "g", 2, (int64_t[]){4, N_CLASSES}, g);
    mb_init_f32(m, "gb", 1, (int64_t[]){N_CLASSES}, gb);
    mb_node *conv = mb_add_node(m, "Conv", "x,w,b", "c");
    mb_attr_ints(conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
    mb_add_node(m, "Relu", "c", "r");
    mb_add_node(m, "GlobalAveragePool", "r", "p");
    mb_add_node(m, "Flatten", "p", "f");
    mb_add_node(m, "Gemm", "f,g,gb", "l");
    mb_add_node(m, "Softmax", "l", "y");
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    mb_free(m);
    norma_options opt;
    norma_options_init(&opt);
    opt.threads = session_threads();
    norma_session *s = NULL;
    assert_int_equal(norma_session_create_from_memory(bytes, len, &opt, &s), NORMA_OK);
    free(bytes);
    return s;
}

static norma_status run_case(norma_session *s, const conc_case *c, float *y, int borrow, const float **res)
{
    norma_tensor in = {.name = "x", .dtype = NORMA_FLOAT, .rank = 4, .dims = {c->batch, C_IN, HW, HW},
                       .data = (void *)c->x};
    norma_tensor out = {.data = borrow ? NULL : y, .capacity = borrow ? 0 : sizeof(float) * MAX_BATCH * N_CLASSES};
    norma_status st = norma_run(s, &in, 1, &out, 1);
    if (st == NORMA_OK && (out.rank != 2 || out.dims[0] != c->batch || out.dims[1] != N_CLASSES))
        return NORMA_ERR_SHAPE;
    *res = out.data;
    return st;
}

static void *worker(void *arg)
{
    int tid = (int)(intptr_t)arg;
    float y[MAX_BATCH * N_CLASSES];
    for (int j = 0; j < RUNS_PER_THREAD; j++) {
        int k = (tid * 7 + j * 5) % N_CASES;
        const conc_case *c = &cases[k];
        const float *res = NULL;
        norma_status st = run_case(shared, c, y, (j + tid) & 1, &res);
        int bad = st != NORMA_OK;
        if (!bad)
            bad = tu_max_rel_err(res, c->y, (size_t)(c->batch * N_CLASSES), 1e-6, 1e-5) > 1;
        /* a bad input now and then: the error must not disturb the other threads */
        if (j % 10 == 9) {
            norma_tensor wrong = {.name = "x", .dtype = NORMA_FLOAT, .rank = 4, .dims = {1, C_IN + 1, HW, HW},
                                  .data = (void *)c->x};
            norma_tensor o = {0};
            if (norma_run(shared, &wrong, 1, &o, 1) != NORMA_ERR_SHAPE)
                bad = 1;
        }
        if (bad) {
            pthread_mutex_lock(&fail_lock);
            if (failures++ < 5)
                fprintf(stderr, "thread %d run %d case %d: status %d %s\n", tid, j, k, st,
                        st ? norma_last_error() : "(wrong values)");
            pthread_mutex_unlock(&fail_lock);
        }
    }
    return NULL;
}

static void eight_threads_match_single_threaded_runs(void **state)
{
    (void)state;
    make_data();
    shared = make_session();
    /* references, one thread */
    for (int k = 0; k < N_CASES; k++) {
        const float *res;
        assert_int_equal(run_case(shared, &cases[k], cases[k].y, 0, &res), NORMA_OK);
    }
    /* different inputs give different outputs (the comparison can fail) */
    assert_true(tu_max_rel_err(cases[0].y, cases[4].y, N_CLASSES, 1e-6, 1e-5) > 1);
    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < N_THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(failures, 0);
    /* still right on the calling thread afterwards */
    float y[MAX_BATCH * N_CLASSES];
    const float *res;
    assert_int_equal(run_case(shared, &cases[3], y, 0, &res), NORMA_OK);
    assert_true(tu_max_rel_err(y, cases[3].y, (size_t)(cases[3].batch * N_CLASSES), 1e-6, 1e-5) <= 1);
    norma_session_free(shared);
}

/* Sessions created and freed on several threads at once (no shared state). */
static void *create_free_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        norma_session *s = make_session();
        conc_case *c = &cases[i];
        float y[MAX_BATCH * N_CLASSES];
        const float *res;
        if (run_case(s, c, y, 1, &res) != NORMA_OK ||
            tu_max_rel_err(res, c->y, (size_t)(c->batch * N_CLASSES), 1e-6, 1e-5) > 1) {
            pthread_mutex_lock(&fail_lock);
            failures++;
            pthread_mutex_unlock(&fail_lock);
        }
        norma_session_free(s);
    }
    return NULL;
}

static void sessions_on_many_threads(void **state)
{
    (void)state;
    make_data();
    norma_session *s = make_session();
    for (int k = 0; k < N_CASES; k++) {
        const float *res;
        assert_int_equal(run_case(s, &cases[k], cases[k].y, 0, &res), NORMA_OK);
    }
    norma_session_free(s);
    failures = 0;
    pthread_t th[4];
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&th[t], NULL, create_free_worker, NULL), 0);
    for (int t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eight_threads_match_single_threaded_runs),
        cmocka_unit_test(sessions_on_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
