/*
 * The norma command: info, run, test and bench on top of the library.
 *
 *   norma info MODEL [--optimized] [--json]
 *   norma run MODEL [-i NAME=FILE.pb]... [--random] [-o DIR] [-t N] [--no-optimize]
 *   norma test DIR... [--atol A] [--rtol R] [--no-optimize] [-t N]
 *   norma bench MODEL [-t THREADS] [-n ITERS] [--data DIR] [--no-optimize] [--profile | --profile-all]
 *   norma bench --gemm M N K [-t THREADS] [-n ITERS]
 *
 * Errors are one line on stderr and exit status 1; usage errors exit 2.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ir/half.h"
#include "kernels/act.h"
#include "kernels/gemm.h"
#include "ir/ir.h"
#include "loader/loader.h"
#include "norma.h"
#include "passes/passes.h"

#define MAX_IO 64

static void usage(void)
{
    fprintf(stderr,
            "usage: norma info MODEL [--optimized] [--json]\n"
            "       norma run MODEL [-i NAME=FILE.pb]... [--random] [-o DIR] [-t THREADS] [--no-optimize]\n"
            "       norma test DIR... [--atol A] [--rtol R] [--no-optimize] [-t THREADS]\n"
            "       norma bench MODEL [-t THREADS] [-n ITERS] [--data DIR] [--no-optimize] [--profile | --profile-all]\n"
            "       norma bench --gemm M N K [-t THREADS] [-n ITERS]\n");
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "norma: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > 1 << 20)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return (errno || *end || end == s || !(*out >= 0)) ? -1 : 0;
}

/* ---------------------------------------------------------------- info */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

typedef struct op_count {
    char *op;
    int n;
} op_count;

static int cmp_count(const void *a, const void *b)
{
    const op_count *x = a, *y = b;
    if (x->n != y->n)
        return y->n - x->n;
    return strcmp(x->op, y->op);
}

static void print_value(const ir_value *v, int json)
{
    if (json) {
        printf("{\"name\":");
        json_str(v->name);
        printf(",\"dtype\":\"%s\",\"shape\":", ir_dtype_name(v->dtype));
        if (v->rank < 0) {
            printf("null}");
            return;
        }
        printf("[");
        for (int k = 0; k < v->rank; k++) {
            if (k)
                printf(",");
            if (v->dims[k] >= 0)
                printf("%lld", (long long)v->dims[k]);
            else if (v->dim_names[k])
                json_str(v->dim_names[k]);
            else
                printf("null");
        }
        printf("]}");
        return;
    }
    printf("  %-24s %-8s ", v->name, ir_dtype_name(v->dtype));
    if (v->rank < 0) {
        printf("(unknown shape)\n");
        return;
    }
    printf("(");
    for (int k = 0; k < v->rank; k++) {
        if (k)
            printf(", ");
        if (v->dims[k] >= 0)
            printf("%lld", (long long)v->dims[k]);
        else
            printf("%s", v->dim_names[k] ? v->dim_names[k] : "?");
    }
    printf(")\n");
}

static int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    int optimized = 0, json = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--optimized") == 0)
            optimized = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-' || path) {
            usage();
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        usage();
        return 2;
    }
    char err[1024];
    ir_graph *g;
    ld_store *st;
    int rc = ld_load_file(path, 1, &g, &st, err, sizeof err);
    if (rc)
        return die("%s", err);
    if (optimized) {
        /* The same checks as a session: unsupported ops fail here too. */
        norma_session *s;
        if (norma_session_create_from_file(path, NULL, &s) != NORMA_OK) {
            ir_graph_free(g);
            ld_store_free(st);
            return die("%s", norma_last_error());
        }
        norma_session_free(s);
        rc = pass_run_all(g, NULL, err, sizeof err);
        if (rc) {
            ir_graph_free(g);
            ld_store_free(st);
            return die("%s", err);
        }
    }
    /* ops outside the default domain (the passes' internal "norma" nodes) count
     * apart, as "domain.Op", and so do nodes with a fused activation, as "Op+Act" */
    op_count *counts = calloc((size_t)g->n_nodes + 1, sizeof(op_count));
    int nc = 0;
    for (int i = 0; counts && i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        char key[256];
        const char *act = k_act_name(n->fused_act);
        if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
            snprintf(key, sizeof key, "%s.%s%s%s", n->domain, n->op_type, act[0] ? "+" : "", act);
        else
            snprintf(key, sizeof key, "%s%s%s", n->op_type, act[0] ? "+" : "", act);
        int k;
        for (k = 0; k < nc; k++)
            if (strcmp(counts[k].op, key) == 0)
                break;
        if (k == nc) {
            if (!(counts[nc].op = strdup(key)))
                break;
            nc++;
        }
        counts[k].n++;
    }
    if (counts)
        qsort(counts, (size_t)nc, sizeof(op_count), cmp_count);
    int n_const = 0;
    for (int v = 0; v < g->n_values; v++)
        n_const += g->values[v].constant != NULL;
    if (json) {
        printf("{\"ir_version\":%lld,\"producer\":", (long long)g->ir_version);
        json_str(g->producer_name);
        printf(",\"producer_version\":");
        json_str(g->producer_version);
        printf(",\"optimized\":%s,\"opsets\":{", optimized ? "true" : "false");
        for (int i = 0; i < g->n_opsets; i++) {
            printf(i ? "," : "");
            json_str(g->opsets[i].domain[0] ? g->opsets[i].domain : "ai.onnx");
            printf(":%lld", (long long)g->opsets[i].version);
        }
        printf("},\"inputs\":[");
        for (int i = 0; i < g->n_inputs; i++) {
            printf(i ? "," : "");
            print_value(&g->values[g->inputs[i]], 1);
        }
        printf("],\"outputs\":[");
        for (int i = 0; i < g->n_outputs; i++) {
            printf(i ? "," : "");
            print_value(&g->values[g->outputs[i]], 1);
        }
        printf("],\"nodes\":%d,\"initializers\":%d,\"ops\":{", g->n_nodes, n_const);
        for (int i = 0; i < nc; i++) {
            printf(i ? "," : "");
            json_str(counts[i].op);
            printf(":%d", counts[i].n);
        }
        printf("}}\n");
    } else {
        printf("model:     %s\n", path);
        printf("ir:        %lld\n", (long long)g->ir_version);
        printf("producer:  %s %s\n", g->producer_name, g->producer_version);
        printf("opsets:   ");
        for (int i = 0; i < g->n_opsets; i++)
            printf(" %s=%lld", g->opsets[i].domain[0] ? g->opsets[i].domain : "ai.onnx",
                   (long long)g->opsets[i].version);
        printf("\ninputs:\n");
        for (int i = 0; i < g->n_inputs; i++)
            print_value(&g->values[g->inputs[i]], 0);
        printf("outputs:\n");
        for (int i = 0; i < g->n_outputs; i++)
            print_value(&g->values[g->outputs[i]], 0);
        printf("nodes:     %d%s, initializers: %d\nops:\n", g->n_nodes, optimized ? " (after passes)" : "",
               n_const);
        for (int i = 0; i < nc; i++)
            printf("  %-28s %d\n", counts[i].op, counts[i].n);
    }
    for (int i = 0; counts && i < nc; i++)
        free(counts[i].op);
    free(counts);
    ir_graph_free(g);
    ld_store_free(st);
    return 0;
}

/* ---------------------------------------------------------------- tensors */

static int tensor_to_norma(ir_tensor *t, const char *name, norma_tensor *out)
{
    memset(out, 0, sizeof(*out));
    out->name = name;
    out->dtype = (norma_dtype)t->dtype;
    out->rank = t->rank;
    for (int i = 0; i < t->rank; i++)
        out->dims[i] = t->dims[i];
    out->data = t->data;
    return 0;
}

/* A sequence value as the API takes it: *items (malloc'd, the caller frees it) holds
 * one norma_tensor per item, pointing at the items' data. */
static int seq_to_norma(const ir_tensor *t, norma_tensor *out, norma_tensor **items)
{
    const ir_seq *sq = t->data;
    *items = calloc((size_t)sq->n + 1, sizeof(norma_tensor));
    if (!*items)
        return -1;
    for (int i = 0; i < sq->n; i++)
        tensor_to_norma(sq->items[i], NULL, &(*items)[i]);
    out->dtype = NORMA_SEQUENCE;
    out->rank = 1;
    out->dims[0] = sq->n;
    out->data = *items;
    return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double rng_uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* A random tensor for input i of s: symbolic dims become 1. Floats in [-1, 1),
 * integers in [0, 4), bools either. */
static ir_tensor *random_input(const norma_value_info *vi)
{
    int64_t dims[NORMA_MAX_RANK];
    int rank = vi->rank < 0 ? 0 : vi->rank;
    for (int k = 0; k < rank; k++)
        dims[k] = vi->dims[k] >= 0 ? vi->dims[k] : 1;
    ir_tensor *t = ir_tensor_new(vi->dtype, rank, dims);
    if (!t)
        return NULL;
    size_t n = ir_tensor_numel(t);
    for (size_t i = 0; i < n; i++) {
        double u = rng_uniform();
        switch (t->dtype) {
        case NORMA_FLOAT: ((float *)t->data)[i] = (float)(2 * u - 1); break;
        case NORMA_DOUBLE: ((double *)t->data)[i] = 2 * u - 1; break;
        case NORMA_FLOAT16: ((uint16_t *)t->data)[i] = float_to_half((float)(2 * u - 1)); break;
        case NORMA_INT64: ((int64_t *)t->data)[i] = (int64_t)(u * 4); break;
        case NORMA_INT32: ((int32_t *)t->data)[i] = (int32_t)(u * 4); break;
        case NORMA_BOOL: case NORMA_UINT8: case NORMA_INT8: ((uint8_t *)t->data)[i] = (uint8_t)(u * 2); break;
        default: break;
        }
    }
    return t;
}

static void print_preview(const char *name, const norma_tensor *o)
{
    printf("%s: %s (", name, norma_dtype_name(o->dtype));
    size_t n = 1;
    for (int k = 0; k < o->rank; k++) {
        printf(k ? ", %lld" : "%lld", (long long)o->dims[k]);
        n *= (size_t)o->dims[k];
    }
    printf(")");
    ir_tensor t = {.dtype = o->dtype, .rank = o->rank, .data = o->data};
    for (size_t i = 0; i < n && i < 6; i++) {
        if (o->dtype == NORMA_FLOAT || o->dtype == NORMA_DOUBLE || o->dtype == NORMA_FLOAT16)
            printf(i ? " %.6g" : " [%.6g", ir_tensor_get_f64(&t, i));
        else
            printf(i ? " %lld" : " [%lld", (long long)ir_tensor_get_i64(&t, i));
    }
    printf(n > 6 ? " ...]\n" : n ? "]\n" : " []\n");
}

/* ---------------------------------------------------------------- run */

static int parse_common(const char *a, const char *b, int *i, norma_options *opt, int *used)
{
    *used = 0;
    if (strcmp(a, "--no-optimize") == 0) {
        opt->optimize = 0;
        *used = 1;
    } else if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) {
        if (!b || parse_int(b, &opt->threads))
            return -1;
        (*i)++;
        *used = 1;
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *outdir = NULL;
    const char *in_spec[MAX_IO];
    int n_spec = 0, random = 0, status = 1;
    norma_options opt;
    norma_options_init(&opt);
    for (int i = 0; i < argc; i++) {
        int used;
        if (parse_common(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &i, &opt, &used)) {
            usage();
            return 2;
        }
        if (used)
            continue;
        if (strcmp(argv[i], "-i") == 0 && i + 1 < argc && n_spec < MAX_IO)
            in_spec[n_spec++] = argv[++i];
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            outdir = argv[++i];
        else if (strcmp(argv[i], "--random") == 0)
            random = 1;
        else if (argv[i][0] == '-' || path) {
            usage();
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        usage();
        return 2;
    }
    norma_session *s;
    if (norma_session_create_from_file(path, &opt, &s) != NORMA_OK)
        return die("%s", norma_last_error());
    size_t ni = norma_input_count(s), no = norma_output_count(s);
    ir_tensor *owned[MAX_IO] = {0};
    norma_tensor ins[MAX_IO], outs[MAX_IO];
    char err[1024];
    if (ni > MAX_IO || no > MAX_IO) {
        norma_session_free(s);
        return die("too many inputs or outputs");
    }
    for (size_t k = 0; k < ni; k++) {
        norma_value_info vi;
        norma_input_info(s, k, &vi);
        const char *file = NULL;
        for (int j = 0; j < n_spec; j++) {
            const char *eq = strchr(in_spec[j], '=');
            if (!eq) {
                die("-i expects NAME=FILE.pb, got '%s'", in_spec[j]);
                goto out;
            }
            if ((size_t)(eq - in_spec[j]) == strlen(vi.name) && strncmp(in_spec[j], vi.name, strlen(vi.name)) == 0)
                file = eq + 1;
        }
        if (file) {
            if (ld_read_tensor_file(file, &owned[k], NULL, err, sizeof err)) {
                die("%s", err);
                goto out;
            }
        } else if (random || ni == 0) {
            owned[k] = random_input(&vi);
            if (!owned[k]) {
                die("cannot make a random input for '%s'", vi.name);
                goto out;
            }
        } else {
            die("input '%s' is not given (use -i %s=FILE.pb or --random)", vi.name, vi.name);
            goto out;
        }
        tensor_to_norma(owned[k], vi.name, &ins[k]);
    }
    for (int j = 0; j < n_spec; j++) {
        int found = 0;
        for (size_t k = 0; k < ni; k++)
            found |= strncmp(in_spec[j], ins[k].name, strlen(ins[k].name)) == 0 &&
                     in_spec[j][strlen(ins[k].name)] == '=';
        if (!found) {
            die("the model has no input named in '%s'", in_spec[j]);
            goto out;
        }
    }
    memset(outs, 0, sizeof outs);
    double t0 = now_ms();
    if (norma_run(s, ins, ni, outs, no) != NORMA_OK) {
        die("%s", norma_last_error());
        goto out;
    }
    double t1 = now_ms();
    for (size_t k = 0; k < no; k++) {
        norma_value_info vi;
        norma_output_info(s, k, &vi);
        print_preview(vi.name, &outs[k]);
        if (outdir) {
            mkdir(outdir, 0777);
            char file[4096];
            /* output names may contain '/', which a file name cannot */
            char safe[1024];
            snprintf(safe, sizeof safe, "%s", vi.name);
            for (char *p = safe; *p; p++)
                if (*p == '/')
                    *p = '_';
            snprintf(file, sizeof file, "%s/%s.pb", outdir, safe);
            ir_tensor t = {.dtype = outs[k].dtype, .rank = outs[k].rank, .data = outs[k].data};
            memcpy(t.dims, outs[k].dims, sizeof t.dims);
            if (ld_write_tensor_file(file, &t, vi.name, err, sizeof err)) {
                die("%s", err);
                goto out;
            }
        }
    }
    printf("ran in %.3f ms\n", t1 - t0);
    status = 0;
out:
    for (size_t k = 0; k < ni; k++)
        ir_tensor_free(owned[k]);
    norma_session_free(s);
    return status;
}

/* ---------------------------------------------------------------- test */

typedef struct cmp_result {
    int ok;
    size_t worst;
    double got, ref, diff;
    char why[256];
} cmp_result;

static int is_float(int dt)
{
    return dt == NORMA_FLOAT || dt == NORMA_DOUBLE || dt == NORMA_FLOAT16 || dt == NORMA_BFLOAT16;
}

/* |got - ref| <= atol + rtol*|ref|; NaN matches NaN, infinities match by sign,
 * integers and bools exactly. */
static void compare(const norma_tensor *got, const ir_tensor *ref, double atol, double rtol, cmp_result *r)
{
    memset(r, 0, sizeof(*r));
    r->ok = 1;
    if ((int)got->dtype != ref->dtype) {
        r->ok = 0;
        snprintf(r->why, sizeof r->why, "dtype %s, expected %s", ir_dtype_name(got->dtype), ir_dtype_name(ref->dtype));
        return;
    }
    int shape_ok = got->rank == ref->rank;
    for (int k = 0; shape_ok && k < ref->rank; k++)
        shape_ok = got->dims[k] == ref->dims[k];
    if (!shape_ok) {
        char a[128], b[128];
        ir_shape_str(got->rank, got->dims, a, sizeof a);
        ir_shape_str(ref->rank, ref->dims, b, sizeof b);
        r->ok = 0;
        snprintf(r->why, sizeof r->why, "shape %s, expected %s", a, b);
        return;
    }
    ir_tensor g = {.dtype = got->dtype, .rank = got->rank, .data = got->data};
    size_t n = ir_tensor_numel(ref);
    double worst_excess = -1;
    for (size_t i = 0; i < n; i++) {
        double a = ir_tensor_get_f64(&g, i), b = ir_tensor_get_f64(ref, i);
        int bad;
        double diff;
        if (!is_float(ref->dtype)) {
            int64_t ai = ir_tensor_get_i64(&g, i), bi = ir_tensor_get_i64(ref, i);
            bad = ai != bi;
            diff = fabs(a - b);
        } else if (isnan(b) || isnan(a)) {
            bad = !(isnan(a) && isnan(b));
            diff = INFINITY;
        } else if (isinf(b) || isinf(a)) {
            bad = a != b;
            diff = bad ? INFINITY : 0;
        } else {
            diff = fabs(a - b);
            bad = diff > atol + rtol * fabs(b);
        }
        double excess = bad ? (isinf(diff) ? INFINITY : diff - (atol + rtol * fabs(b))) : -1;
        if (bad)
            r->ok = 0;
        if (excess > worst_excess || (i == 0)) {
            if (bad || worst_excess < 0) {
                worst_excess = excess;
                r->worst = i;
                r->got = a;
                r->ref = b;
                r->diff = diff;
            }
        }
    }
    if (!r->ok)
        snprintf(r->why, sizeof r->why, "worst element %zu: got %.9g, expected %.9g (|diff| %.3g > %.3g)", r->worst,
                 r->got, r->ref, r->diff, atol + rtol * fabs(r->ref));
}

/* compare() for sequences (item by item) and empty optionals as well. */
static void compare_value(const norma_tensor *got, const ir_tensor *ref, double atol, double rtol, cmp_result *r)
{
    if (ref->dtype != IR_DTYPE_SEQUENCE && ref->dtype != IR_DTYPE_NONE && got->dtype != NORMA_SEQUENCE &&
        got->dtype != NORMA_NONE) {
        compare(got, ref, atol, rtol, r);
        return;
    }
    memset(r, 0, sizeof(*r));
    r->ok = (int)got->dtype == ref->dtype;
    if (!r->ok) {
        snprintf(r->why, sizeof r->why, "got a %s, expected a %s", norma_dtype_name(got->dtype),
                 ir_dtype_name(ref->dtype));
        return;
    }
    if (ref->dtype == IR_DTYPE_NONE)
        return;
    const ir_seq *sq = ref->data;
    if (got->dims[0] != sq->n) {
        r->ok = 0;
        snprintf(r->why, sizeof r->why, "a sequence of %lld items, expected %d", (long long)got->dims[0], sq->n);
        return;
    }
    for (int i = 0; i < sq->n; i++) {
        compare(&((const norma_tensor *)got->data)[i], sq->items[i], atol, rtol, r);
        if (!r->ok) {
            char why[sizeof r->why];
            snprintf(why, sizeof why, "item %d: %s", i, r->why);
            memcpy(r->why, why, sizeof why);
            return;
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of entries of dir whose names start with prefix. */
static int list_dir(const char *dir, const char *prefix, char ***out)
{
    DIR *d = opendir(dir);
    *out = NULL;
    if (!d)
        return -1;
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, sizeof(char *) * (size_t)cap);
            if (!nn)
                break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, (size_t)n, sizeof(char *), cmp_str);
    *out = names;
    return n;
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* Index in a sorted list like input_0.pb, input_1.pb, ..., input_10.pb: by number. */
static int file_index(const char *name, const char *prefix)
{
    return atoi(name + strlen(prefix));
}

/* Runs one test_data_set directory; returns 1 on pass and prints the failure else. */
static int run_data_set(norma_session *s, const char *model_dir, const char *set, double atol, double rtol)
{
    char path[4096], err[1024];
    char **files;
    int nf = list_dir(set, "", &files);
    size_t ni = norma_input_count(s), no = norma_output_count(s);
    ir_tensor *in_t[MAX_IO] = {0}, *ref_t[MAX_IO] = {0};
    char *ref_names[MAX_IO] = {0};
    norma_tensor ins[MAX_IO], outs[MAX_IO];
    norma_tensor *items[MAX_IO] = {0};
    int n_in = 0, n_ref = 0, ok = 0;
    (void)model_dir;
    for (int i = 0; i < nf; i++) {
        int is_in = strncmp(files[i], "input_", 6) == 0, is_out = strncmp(files[i], "output_", 7) == 0;
        if (!is_in && !is_out)
            continue;
        int idx = file_index(files[i], is_in ? "input_" : "output_");
        if (idx < 0 || idx >= MAX_IO)
            continue;
        snprintf(path, sizeof path, "%s/%s", set, files[i]);
        char *name = NULL;
        ir_tensor *t;
        norma_value_info vi;
        memset(&vi, 0, sizeof vi);
        if (is_in ? norma_input_info(s, (size_t)idx, &vi) : norma_output_info(s, (size_t)idx, &vi))
            memset(&vi, 0, sizeof vi);
        int kind = vi.optional ? LD_VALUE_OPTIONAL : vi.dtype == NORMA_SEQUENCE ? LD_VALUE_SEQUENCE : LD_VALUE_TENSOR;
        if (ld_read_value_file(path, kind, &t, &name, err, sizeof err)) {
            printf("FAIL %s: %s\n", set, err);
            goto out;
        }
        if (is_in) {
            in_t[idx] = t;
            free(name);
            if (idx + 1 > n_in)
                n_in = idx + 1;
        } else {
            ref_t[idx] = t;
            ref_names[idx] = name;
            if (idx + 1 > n_ref)
                n_ref = idx + 1;
        }
    }
    if ((size_t)n_in != ni) {
        printf("FAIL %s: %d input files for a model with %zu inputs\n", set, n_in, ni);
        goto out;
    }
    for (size_t k = 0; k < ni; k++) {
        norma_value_info vi;
        norma_input_info(s, k, &vi);
        if (!in_t[k]) {
            printf("FAIL %s: input_%zu.pb is missing\n", set, k);
            goto out;
        }
        tensor_to_norma(in_t[k], vi.name, &ins[k]);
        if (in_t[k]->dtype == IR_DTYPE_SEQUENCE)
            seq_to_norma(in_t[k], &ins[k], &items[k]);
    }
    if ((size_t)n_ref > no) {
        printf("FAIL %s: %d reference outputs for a model with %zu outputs\n", set, n_ref, no);
        goto out;
    }
    memset(outs, 0, sizeof outs);
    if (norma_run(s, ins, ni, outs, no) != NORMA_OK) {
        printf("FAIL %s: %s\n", set, norma_last_error());
        goto out;
    }
    ok = 1;
    for (int k = 0; k < n_ref; k++) {
        if (!ref_t[k])
            continue;
        norma_value_info vi;
        norma_output_info(s, (size_t)k, &vi);
        cmp_result r;
        compare_value(&outs[k], ref_t[k], atol, rtol, &r);
        if (!r.ok) {
            printf("FAIL %s: output '%s': %s\n", set, vi.name, r.why);
            ok = 0;
        }
    }
out:
    for (int k = 0; k < MAX_IO; k++) {
        ir_tensor_free(in_t[k]);
        ir_tensor_free(ref_t[k]);
        free(ref_names[k]);
        free(items[k]);
    }
    free_list(files, nf);
    return ok;
}

static int cmd_test(int argc, char **argv)
{
    double atol = 1e-5, rtol = 1e-3;
    norma_options opt;
    norma_options_init(&opt);
    const char *dirs[4096];
    int nd = 0, passed = 0, failed = 0;
    for (int i = 0; i < argc; i++) {
        int used;
        if (parse_common(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &i, &opt, &used)) {
            usage();
            return 2;
        }
        if (used)
            continue;
        if (strcmp(argv[i], "--atol") == 0 && i + 1 < argc) {
            if (parse_double(argv[++i], &atol)) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--rtol") == 0 && i + 1 < argc) {
            if (parse_double(argv[++i], &rtol)) {
                usage();
                return 2;
            }
        } else if (argv[i][0] == '-' || nd == 4096) {
            usage();
            return 2;
        } else
            dirs[nd++] = argv[i];
    }
    if (!nd) {
        usage();
        return 2;
    }
    for (int d = 0; d < nd; d++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/model.onnx", dirs[d]);
        char **sets;
        int ns = list_dir(dirs[d], "test_data_set_", &sets);
        if (ns <= 0) {
            printf("FAIL %s: no test_data_set_* directories\n", dirs[d]);
            failed++;
            free_list(sets, ns < 0 ? 0 : ns);
            continue;
        }
        norma_session *s;
        if (norma_session_create_from_file(path, &opt, &s) != NORMA_OK) {
            printf("FAIL %s: %s\n", dirs[d], norma_last_error());
            failed += ns;
            free_list(sets, ns);
            continue;
        }
        for (int k = 0; k < ns; k++) {
            char set[4096];
            snprintf(set, sizeof set, "%s/%s", dirs[d], sets[k]);
            if (run_data_set(s, dirs[d], set, atol, rtol)) {
                passed++;
                printf("ok   %s\n", set);
            } else
                failed++;
        }
        norma_session_free(s);
        free_list(sets, ns);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* ---------------------------------------------------------------- bench */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fill_random(float *p, size_t n, unsigned *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* Fastest of iters runs (after one warm-up), in seconds: on a shared machine the
 * minimum is the stable statistic for a kernel's speed. */
typedef struct gemm_job {
    const k_gemm_isa *isa;
    size_t M, N, K;
    const float *A, *B, *ap;
    float *bp, *C;
    int threads, pack_b; /* pack_b: 0 prepacked, 1 packed per run, 2 read in place */
} gemm_job;

static void gemm_job_run(const gemm_job *j)
{
    if (j->pack_b == 2) {
        k_f32_gemm_direct_b(j->isa, j->M, j->N, j->K, 1.0f, j->ap, j->B, j->N, 0.0f, j->C, j->N, NULL, j->threads);
        return;
    }
    if (j->pack_b)
        k_f32_gemm_pack_b(j->isa, j->K, j->N, j->B, (ptrdiff_t)j->N, 1, j->bp);
    k_f32_gemm_packed(j->isa, j->M, j->N, j->K, 1.0f, j->ap, j->bp, 0.0f, j->C, j->N, NULL, j->threads);
}

/* One thread: this process's CPU time (other processes sharing the core do not count);
 * more: wall time. */
static double bench_clock_s(int threads)
{
    struct timespec ts;
    clock_gettime(threads == 1 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double gemm_min_s(gemm_job *j, int iters, double *times)
{
    gemm_job_run(j);
    for (int i = 0; i < iters; i++) {
        double a = bench_clock_s(j->threads);
        gemm_job_run(j);
        times[i] = bench_clock_s(j->threads) - a;
    }
    qsort(times, (size_t)iters, sizeof(double), cmp_double);
    return times[0];
}

/* Like gemm_min_s with one operand cold: cold_a (or else B) is read from the next of
 * `copies` prepacked copies of `floats` each on every run, so it comes from memory as
 * a model's weights do (the copies together are far larger than the caches). */
static double gemm_cold_min_s(gemm_job *j, int cold_a, float *ring, size_t floats, size_t copies, int iters,
                              double *times)
{
    gemm_job c = *j;
    c.pack_b = 0;
    for (int i = 0; i < iters; i++) {
        float *p = ring + (size_t)(i + 1) % copies * floats;
        if (cold_a)
            c.ap = p;
        else
            c.bp = p;
        double a = bench_clock_s(c.threads);
        gemm_job_run(&c);
        times[i] = bench_clock_s(c.threads) - a;
    }
    qsort(times, (size_t)iters, sizeof(double), cmp_double);
    return times[0];
}

/* Min of iters runs with A cold (*ta) and with B cold (*tb), 0 when out of memory. */
static void gemm_cold(gemm_job *j, size_t na, size_t nb, int iters, double *times, double *ta, double *tb)
{
    *ta = *tb = 0;
    for (int side = 0; side < 2; side++) {
        size_t floats = side == 0 ? na : nb, copies = ((size_t)256 << 20) / (floats * sizeof(float) + 1) + 2;
        float *ring = malloc(copies * floats * sizeof(float) + 1);
        if (!ring)
            continue;
        for (size_t k = 0; k < copies; k++)
            memcpy(ring + k * floats, side == 0 ? j->ap : j->bp, floats * sizeof(float));
        double t = gemm_cold_min_s(j, side == 0, ring, floats, copies, iters, times);
        *(side == 0 ? ta : tb) = t;
        free(ring);
    }
}

/*
 * norma bench --gemm M N K: C (M,N) = A (M,K) * B (K,N) with the packed SGEMM the
 * runtime uses (A packed once, like weights; B packed per run, like im2col or
 * activations, reported both without and with that packing), against the
 * single-core FMA peak measured by a throughput loop of the same vector width. The
 * "cold" figures read the prepacked A (a convolution's weights) or B (a linear
 * layer's weights) from memory on every run, as a whole model does.
 */
static int bench_gemm(size_t M, size_t N, size_t K, int threads, int iters)
{
    const k_gemm_isa *isa = k_gemm_best();
    float sink = 1.0f;
    double best_peak = 0;
    for (int r = 0; r < 10; r++) {
        size_t it = 2000000;
        double a = bench_clock_s(1);
        double fl = k_gemm_fma_loop(isa, it, &sink);
        double s = bench_clock_s(1) - a;
        if (s > 0 && fl / s > best_peak)
            best_peak = fl / s;
    }
    size_t na = k_gemm_packed_a_floats(isa, M, K), nb = k_gemm_packed_b_floats(isa, K, N);
    float *A = malloc(sizeof(float) * (M * K + 1)), *B = malloc(sizeof(float) * (K * N + 1));
    float *ap = malloc(sizeof(float) * (na + 1)), *bp = malloc(sizeof(float) * (nb + 1));
    float *C = malloc(sizeof(float) * (M * N + 1));
    double *times = malloc(sizeof(double) * (size_t)iters);
    if (!A || !B || !ap || !bp || !C || !times) {
        free(A), free(B), free(ap), free(bp), free(C), free(times);
        return die("out of memory");
    }
    unsigned seed = 1;
    fill_random(A, M * K, &seed);
    fill_random(B, K * N, &seed);
    k_f32_gemm_pack_a(isa, M, K, A, (ptrdiff_t)K, 1, ap);
    k_f32_gemm_pack_b(isa, K, N, B, (ptrdiff_t)N, 1, bp);
    gemm_job j = {isa, M, N, K, A, B, ap, bp, C, threads, 0};
    double flop = 2.0 * (double)M * (double)N * (double)K;
    double t_nopack = gemm_min_s(&j, iters, times);
    j.pack_b = 1;
    double t_pack = gemm_min_s(&j, iters, times);
    j.pack_b = 2;
    double t_direct = gemm_min_s(&j, iters, times);
    double t_cold_a, t_cold_b;
    gemm_cold(&j, na, nb, iters, times, &t_cold_a, &t_cold_b);
    double g1 = flop / t_nopack / 1e9, g2 = flop / t_pack / 1e9, g3 = flop / t_direct / 1e9, pk = best_peak / 1e9;
    double ga = t_cold_a > 0 ? flop / t_cold_a / 1e9 : 0, gb = t_cold_b > 0 ? flop / t_cold_b / 1e9 : 0;
    printf("{\"M\":%zu,\"N\":%zu,\"K\":%zu,\"isa\":\"%s\",\"threads\":%d,\"gflops\":%.1f,"
           "\"gflops_with_pack_b\":%.1f,\"gflops_b_in_place\":%.1f,\"gflops_a_cold\":%.1f,\"gflops_b_cold\":%.1f,"
           "\"peak_gflops_1core\":%.1f,\"pct_of_peak\":%.1f,\"pct_of_peak_with_pack_b\":%.1f,"
           "\"pct_of_peak_a_cold\":%.1f,\"pct_of_peak_b_cold\":%.1f,\"min_ms\":%.3f}\n",
           M, N, K, isa->name, threads, g1, g2, g3, ga, gb, pk, 100.0 * g1 / (pk * threads),
           100.0 * g2 / (pk * threads), 100.0 * ga / (pk * threads), 100.0 * gb / (pk * threads), t_nopack * 1e3);
    free(A), free(B), free(ap), free(bp), free(C), free(times);
    return 0;
}

static int cmd_bench(int argc, char **argv)
{
    const char *path = NULL, *data = NULL;
    int iters = 20, status = 1;
    norma_options opt;
    norma_options_init(&opt);
    opt.threads = 1;
    int gemm[3] = {0, 0, 0}, is_gemm = 0, all_nodes = 0;
    for (int i = 0; i < argc; i++) {
        int used;
        if (parse_common(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &i, &opt, &used)) {
            usage();
            return 2;
        }
        if (used)
            continue;
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            if (parse_int(argv[++i], &iters) || iters < 1) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--gemm") == 0 && i + 3 < argc) {
            for (int d = 0; d < 3; d++)
                if (parse_int(argv[++i], &gemm[d]) || gemm[d] < 1) {
                    usage();
                    return 2;
                }
            is_gemm = 1;
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--profile") == 0)
            opt.profile = 1;
        else if (strcmp(argv[i], "--profile-all") == 0)
            opt.profile = 1, all_nodes = 1;
        else if (argv[i][0] == '-' || path) {
            usage();
            return 2;
        } else
            path = argv[i];
    }
    if (is_gemm && !path)
        return bench_gemm((size_t)gemm[0], (size_t)gemm[1], (size_t)gemm[2], opt.threads, iters);
    if (!path || is_gemm) {
        usage();
        return 2;
    }
    double t0 = now_ms();
    norma_session *s;
    if (norma_session_create_from_file(path, &opt, &s) != NORMA_OK)
        return die("%s", norma_last_error());
    double load_ms = now_ms() - t0;
    size_t ni = norma_input_count(s), no = norma_output_count(s);
    ir_tensor *owned[MAX_IO] = {0};
    norma_tensor ins[MAX_IO], outs[MAX_IO];
    double *times = malloc(sizeof(double) * (size_t)iters);
    char err[1024];
    if (ni > MAX_IO || no > MAX_IO || !times) {
        die("too many inputs or outputs");
        goto out;
    }
    for (size_t k = 0; k < ni; k++) {
        norma_value_info vi;
        norma_input_info(s, k, &vi);
        if (data) {
            char file[4096];
            snprintf(file, sizeof file, "%s/input_%zu.pb", data, k);
            if (ld_read_tensor_file(file, &owned[k], NULL, err, sizeof err)) {
                die("%s", err);
                goto out;
            }
        } else if (!(owned[k] = random_input(&vi))) {
            die("cannot make a random input for '%s'", vi.name);
            goto out;
        }
        tensor_to_norma(owned[k], vi.name, &ins[k]);
    }
    memset(outs, 0, sizeof outs);
    double t1 = now_ms();
    if (norma_run(s, ins, ni, outs, no) != NORMA_OK) {
        die("%s", norma_last_error());
        goto out;
    }
    double first_ms = now_ms() - t1;
    norma_profile_reset(s); /* the profile covers the timed runs, not the first */
    for (int i = 0; i < iters; i++) {
        double a = now_ms();
        if (norma_run(s, ins, ni, outs, no) != NORMA_OK) {
            die("%s", norma_last_error());
            goto out;
        }
        times[i] = now_ms() - a;
    }
    qsort(times, (size_t)iters, sizeof(double), cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int p90 = (int)((iters - 1) * 0.9 + 0.5);
    printf("{\"load_ms\":%.3f,\"first_run_ms\":%.3f,\"median_ms\":%.3f,\"p90_ms\":%.3f,\"peak_rss_mb\":%.1f,\"threads\":%d,\"iters\":%d}\n",
           load_ms, first_ms, times[iters / 2], times[p90], (double)ru.ru_maxrss / 1024.0, opt.threads, iters);
    if (opt.profile) { /* per op type, per timed run */
        norma_profile_entry pe[64];
        size_t np = norma_profile(s, pe, 64);
        double total = 0;
        for (size_t k = 0; k < np && k < 64; k++)
            total += pe[k].ms;
        fprintf(stderr, "%-28s %10s %8s %7s\n", "op", "ms/run", "nodes", "share");
        for (size_t k = 0; k < np && k < 64; k++)
            fprintf(stderr, "%-28s %10.3f %8lld %6.1f%%\n", pe[k].op_type, pe[k].ms / iters, pe[k].calls / iters,
                    total > 0 ? 100 * pe[k].ms / total : 0);
        size_t nn = norma_profile_nodes(s, NULL, 0), show = all_nodes ? nn : 15;
        norma_node_profile *pn = calloc(show ? show : 1, sizeof *pn);
        if (!pn) {
            fprintf(stderr, "norma: out of memory\n");
            goto out;
        }
        nn = norma_profile_nodes(s, pn, show);
        fprintf(stderr, "\n%s nodes:\n%-40s %-20s %10s %7s\n", all_nodes ? "all" : "slowest", "node (end of name)",
                "op", "ms/run", "share");
        for (size_t k = 0; k < nn && k < show; k++) {
            size_t len = strlen(pn[k].node); /* exported names are paths: the end tells them apart */
            fprintf(stderr, "%-40s %-20.20s %10.3f %6.1f%%\n", pn[k].node + (len > 40 ? len - 40 : 0), pn[k].op_type,
                    pn[k].ms / iters, total > 0 ? 100 * pn[k].ms / total : 0);
        }
        free(pn);
    }
    status = 0;
out:
    for (size_t k = 0; k < MAX_IO; k++)
        ir_tensor_free(owned[k]);
    free(times);
    norma_session_free(s);
    return status;
}

/*
 * OpenMP threads that spin long while waiting (libgomp's default: about 300,000 spins)
 * are a disaster on these virtual machines: measured on a quiet machine, MobileNetV2 at
 * 2 threads 36 ms with OMP_WAIT_POLICY=active and 12 ms with 100,000 spins, against
 * 7.5 ms with 10,000. Sleeping at once (passive) makes every parallel region pay a
 * futex wake-up (23 us here, against 5 us after a short spin), and a model runs one
 * region per op or more. So when the user has chosen neither, set GOMP_SPINCOUNT to
 * 10,000 and exec this program again (libgomp reads it only when it loads; once: the
 * variable is then set).
 */
static void default_wait_policy(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("GOMP_SPINCOUNT", "10000", 1) == 0)
        execv("/proc/self/exe", argv);
    /* exec failed: go on with the default policy */
}

int main(int argc, char **argv)
{
    default_wait_policy(argv);
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "test") == 0)
        return cmd_test(argc - 2, argv + 2);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 2, argv + 2);
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage();
        return 0;
    }
    usage();
    return 2;
}
