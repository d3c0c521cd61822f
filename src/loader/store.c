/*
 * The weight store: where initializer bytes live after import.
 *
 * The model's bytes are read into a block of the store, and the raw_data of its big
 * initializers is used in place there as the weights (wire.c), so each weight is read
 * once and stored once. protobuf-c unpacks everything else through ld_store's
 * allocator, a bump arena over the same large anonymous mappings (advised
 * MADV_HUGEPAGE: fresh pages are expensive on these machines). External data files are
 * memory-mapped read-only and stay mapped. Both are released by ld_store_free, after
 * the graph that points into them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/store.h"

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    unsigned char *base;
} chunk;

typedef struct mapping {
    struct mapping *next;
    char *path; /* canonical path */
    void *addr;
    size_t size;
} mapping;

struct ld_store {
    chunk *chunks;   /* every chunk, newest first */
    chunk *small;    /* the chunk blocks under LD_STORE_SLACK_MIN come from */
    chunk *big;      /* the chunk the others come from */
    size_t hint;       /* size for the next big chunk */
    size_t small_hint; /* and for the next small one */
    mapping *maps;
    char *dir;   /* canonical model directory, NULL when loaded from memory */
    int failed;  /* an allocation failed during unpack */
};

ld_store *ld_store_new(size_t hint, const char *dir)
{
    ld_store *s = calloc(1, sizeof(ld_store));
    if (!s)
        return NULL;
    s->hint = hint < (1u << 20) ? (1u << 20) : hint;
    s->small_hint = s->hint / 16 < (1u << 20) ? (1u << 20) : s->hint / 16;
    if (dir) {
        s->dir = realpath(dir, NULL);
        if (!s->dir) {
            free(s);
            return NULL;
        }
    }
    return s;
}

void ld_store_free(ld_store *s)
{
    if (!s)
        return;
    for (chunk *c = s->chunks, *n; c; c = n) {
        n = c->next;
#ifdef NORMA_STORE_HEAP
        free(c->base);
#else
        munmap(c->base, c->size);
#endif
        free(c);
    }
    for (mapping *m = s->maps, *n; m; m = n) {
        n = m->next;
        if (m->addr)
            munmap(m->addr, m->size);
        free(m->path);
        free(m);
    }
    free(s->dir);
    free(s);
}

static void *store_alloc(ld_store *s, size_t size);

void *ld_store_alloc(ld_store *s, size_t size)
{
    if (size < LD_STORE_SLACK_MIN || size > SIZE_MAX - LD_STORE_SLACK)
        return store_alloc(s, size);
    unsigned char *p = store_alloc(s, size + LD_STORE_SLACK);
    return p ? p + LD_STORE_SLACK : NULL;
}

static void *store_alloc(ld_store *s, size_t size)
{
#ifdef NORMA_STORE_HEAP
    /* Sanitizer builds: one malloc per allocation, so ASan sees every bound. */
    chunk *h = malloc(sizeof(chunk));
    void *hp = malloc(size ? size : 1);
    if (!h || !hp) {
        free(h);
        free(hp);
        s->failed = 1;
        return NULL;
    }
    h->base = hp;
    h->size = h->used = size;
    h->next = s->chunks;
    s->chunks = h;
    return hp;
#endif
    /* Big blocks (the weights) get chunks of their own, so that weights next to each
     * other in the file lie next to each other in memory, with at most alignment
     * between them: once packed, the memory of several can be handed out again as one
     * range (see the recycler in session.c). */
    int is_big = size >= LD_STORE_SLACK_MIN;
    size_t align = size >= 64 ? 64 : 16;
    chunk *c = is_big ? s->big : s->small;
    if (c) {
        size_t off = (c->used + align - 1) & ~(align - 1);
        if (off <= c->size && size <= c->size - off) {
            c->used = off + size;
            return c->base + off;
        }
    }
    size_t want = is_big ? s->hint : s->small_hint;
    if (size + 64 > want)
        want = size + 64;
    /* whole huge pages: the kernel places such a mapping on a 2 MB boundary itself */
    want = want >= ((size_t)2 << 20) ? (want + ((size_t)2 << 20) - 1) & ~(((size_t)2 << 20) - 1)
                                     : (want + 4095) & ~(size_t)4095;
    void *p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        s->failed = 1;
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (want >= (2u << 20))
        madvise(p, want, MADV_HUGEPAGE);
#endif
    c = malloc(sizeof(chunk));
    if (!c) {
        munmap(p, want);
        s->failed = 1;
        return NULL;
    }
    c->base = p;
    c->size = want;
    c->used = size;
    c->next = s->chunks;
    s->chunks = c;
    if (is_big)
        s->big = c;
    else
        s->small = c;
    /* grow geometrically if the first guess was short */
    if (is_big)
        s->hint = want;
    else
        s->small_hint = want;
    return p;
}

void ld_store_release(ld_store *s, const void *ptr, size_t size)
{
    uintptr_t a = ((uintptr_t)ptr + 4095) & ~(uintptr_t)4095, b = ((uintptr_t)ptr + size) & ~(uintptr_t)4095;
    if (!s || b <= a)
        return;
    for (chunk *c = s->chunks; c; c = c->next)
        if ((uintptr_t)ptr >= (uintptr_t)c->base && (uintptr_t)ptr + size <= (uintptr_t)c->base + c->size)
            madvise((void *)a, b - a, MADV_DONTNEED);
    for (mapping *m = s->maps; m; m = m->next)
        if (m->addr && (uintptr_t)ptr >= (uintptr_t)m->addr && (uintptr_t)ptr + size <= (uintptr_t)m->addr + m->size)
            madvise((void *)a, b - a, MADV_DONTNEED);
}

static void *pb_alloc(void *data, size_t size)
{
    return ld_store_alloc(data, size ? size : 1);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr; /* the arena is released as a whole */
}

ProtobufCAllocator ld_store_allocator(ld_store *s)
{
    ProtobufCAllocator a = {pb_alloc, pb_free, s};
    return a;
}

int ld_store_has_dir(const ld_store *s)
{
    return s->dir != NULL;
}

/* Resolves location under the model directory and maps it. Refuses absolute paths and
 * anything whose canonical path leaves the directory (.., symlinks). */
int ld_store_map_external(ld_store *s, const char *location, const char *tensor, const void **addr,
                          size_t *size, char *err, size_t err_cap)
{
    if (!s->dir) {
        snprintf(err, err_cap, "tensor '%s': external data '%s' cannot be read for a model loaded from memory",
                 tensor, location);
        return NORMA_ERR_IO;
    }
    if (location[0] == '/' || location[0] == '\0') {
        snprintf(err, err_cap, "tensor '%s': external data location '%s' must be a relative path inside the model's directory",
                 tensor, location);
        return NORMA_ERR_MODEL;
    }
    size_t need = strlen(s->dir) + strlen(location) + 2;
    char *joined = malloc(need);
    if (!joined)
        return NORMA_ERR_MEMORY;
    snprintf(joined, need, "%s/%s", s->dir, location);
    char *canon = realpath(joined, NULL);
    free(joined);
    if (!canon) {
        snprintf(err, err_cap, "tensor '%s': external data file '%s' cannot be opened: %s", tensor,
                 location, strerror(errno));
        return NORMA_ERR_IO;
    }
    size_t dl = strlen(s->dir);
    if (strncmp(canon, s->dir, dl) != 0 || canon[dl] != '/') {
        snprintf(err, err_cap, "tensor '%s': external data location '%s' escapes the model's directory",
                 tensor, location);
        free(canon);
        return NORMA_ERR_MODEL;
    }
    for (mapping *m = s->maps; m; m = m->next)
        if (strcmp(m->path, canon) == 0) {
            free(canon);
            *addr = m->addr;
            *size = m->size;
            return NORMA_OK;
        }
    int fd = open(canon, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_cap, "tensor '%s': external data file '%s' cannot be read", tensor, location);
        if (fd >= 0)
            close(fd);
        free(canon);
        return NORMA_ERR_IO;
    }
    mapping *m = calloc(1, sizeof(mapping));
    if (!m) {
        close(fd);
        free(canon);
        return NORMA_ERR_MEMORY;
    }
    m->path = canon;
    m->size = (size_t)st.st_size;
    if (m->size) {
        m->addr = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m->addr == MAP_FAILED) {
            m->addr = NULL;
            close(fd);
            free(canon);
            free(m);
            snprintf(err, err_cap, "tensor '%s': cannot map external data file '%s'", tensor, location);
            return NORMA_ERR_IO;
        }
    }
    close(fd);
    m->next = s->maps;
    s->maps = m;
    *addr = m->addr;
    *size = m->size;
    return NORMA_OK;
}
