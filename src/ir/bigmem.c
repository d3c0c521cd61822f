/*
 * Big buffers (folded weights, packed weights): anonymous mappings advised
 * MADV_HUGEPAGE.
 *
 * Fresh memory is expensive on the machines norma runs on: the first touch of a 4K page
 * costs a fault each, and malloc hands out big blocks as plain 4K-page mappings. A
 * mapping advised MADV_HUGEPAGE faults in 2 MB at a time (several times cheaper), and
 * unmapping it on free gives the pages back so the next big buffer can reuse them.
 * Smaller requests come from aligned_alloc. While a session creates its op states, it
 * can offer memory it no longer needs (the store pages of weights already packed) as
 * the thread's source: big blocks come from there first, already touched. Every block starts with a header that says which
 * it is, so ir_big_free needs no size. Sanitizer builds (NORMA_STORE_HEAP) use the heap
 * throughout so ASan sees every bound.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ir/ir.h"

#define BIG_HEADER 64 /* keeps the data 64-byte aligned */
#define BIG_MAP_MIN ((size_t)1 << 20)
#define SOURCE_MIN ((size_t)4 << 10) /* smaller blocks never come from the source */
#define HUGE_PAGE ((size_t)2 << 20)

typedef struct big_header {
    size_t size;   /* bytes of the whole block, header included */
    int mapped;    /* 1: mmap'd, 0: aligned_alloc'd, 2: from the thread's source */
} big_header;

/* Mappings freed lately, kept (already touched) for the next blocks of about their
 * size: a pass that makes and frees one big temporary per node (constant folding)
 * reuses the same pages instead of faulting in fresh ones each time. Emptied by
 * ir_big_trim. */
#define CACHE_SLOTS 4
#define CACHE_MAX ((size_t)64 << 20)
static _Atomic(big_header *) cache[CACHE_SLOTS];

/* The calling thread's source of recycled memory (see ir_big_set_source). */
static _Thread_local ir_big_source_fn source_fn;
static _Thread_local void *source_ctx;

void ir_big_set_source(ir_big_source_fn fn, void *ctx)
{
    source_fn = fn;
    source_ctx = ctx;
}

#ifndef NORMA_STORE_HEAP
/* A mapping of `bytes` (a multiple of 4K) that starts on a 2 MB boundary, so every whole
 * 2 MB of it can be a huge page (the kernel aligns only lengths that are multiples of
 * 2 MB by itself). */
static unsigned char *map_aligned(size_t bytes)
{
    size_t over = bytes + HUGE_PAGE;
    void *p = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = (uintptr_t)p, start = (a + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (start > a)
        munmap(p, start - a);
    if (a + over > start + bytes)
        munmap((void *)(start + bytes), a + over - (start + bytes));
#ifdef MADV_HUGEPAGE
    madvise((void *)start, bytes, MADV_HUGEPAGE);
#endif
    return (unsigned char *)start;
}
#endif

#ifndef NORMA_STORE_HEAP
/* A cached mapping of at least `bytes` (at most 1/8 more), zeroed if `zero`, its length
 * in *len; NULL if none. */
static unsigned char *cache_take(size_t bytes, size_t *len, int zero)
{
    for (int i = 0; i < CACHE_SLOTS; i++) {
        big_header *h = atomic_exchange(&cache[i], NULL);
        if (!h)
            continue;
        if (h->size >= bytes && h->size - bytes <= bytes / 8) {
            *len = h->size;
            if (zero)
                memset(h, 0, *len); /* keeps ir_big_alloc's promise; touched pages are cheap */
            return (unsigned char *)h;
        }
        big_header *none = NULL;
        if (!atomic_compare_exchange_strong(&cache[i], &none, h))
            munmap(h, h->size);
    }
    return NULL;
}
#endif

void ir_big_trim(void)
{
    for (int i = 0; i < CACHE_SLOTS; i++) {
        big_header *h = atomic_exchange(&cache[i], NULL);
        if (h)
            munmap(h, h->size);
    }
}

static void *big_alloc(size_t size, int zero)
{
    if (size > SIZE_MAX - BIG_HEADER - 4096)
        return NULL;
    size_t total = size + BIG_HEADER;
    unsigned char *base;
    int mapped = 0;
#ifndef NORMA_STORE_HEAP
    if (total >= SOURCE_MIN && source_fn && (base = source_fn(source_ctx, total)) != NULL) {
        if (zero)
            memset(base, 0, total); /* already touched: cheap, unlike fresh pages */
        mapped = 2;
    } else if (total >= BIG_MAP_MIN) {
        total = (total + 4095) & ~(size_t)4095;
        base = cache_take(total, &total, zero);
        if (!base)
            base = map_aligned(total);
        if (!base)
            return NULL;
        mapped = 1;
    } else
#endif
    {
        total = (total + 63) & ~(size_t)63;
        base = aligned_alloc(64, total);
        if (!base)
            return NULL;
        if (zero)
            memset(base, 0, total);
    }
    big_header *h = (big_header *)base;
    h->size = total;
    h->mapped = mapped;
    return base + BIG_HEADER;
}

void *ir_big_alloc(size_t size)
{
    return big_alloc(size, 1);
}

void *ir_big_alloc_uninit(size_t size)
{
    return big_alloc(size, 0);
}

void ir_big_free(void *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - BIG_HEADER;
    big_header *h = (big_header *)base;
    if (h->mapped == 1) {
        for (int i = 0; i < CACHE_SLOTS && h->size <= CACHE_MAX; i++) {
            big_header *none = NULL;
            if (atomic_compare_exchange_strong(&cache[i], &none, h))
                return;
        }
        munmap(base, h->size);
    }
    else if (h->mapped == 0)
        free(base);
    /* 2: the source's owner releases it */
}
