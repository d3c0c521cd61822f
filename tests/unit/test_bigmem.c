/* ir_big_alloc: zeroed, 64-byte aligned, writable blocks of every size class (heap
 * below 1 MB, a hugepage-advised mapping above, or one kept from an earlier free),
 * freed by ir_big_free; big tensors from ir_tensor_new use it and free cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ir/ir.h"

static void big_alloc_is_zeroed_aligned_and_writable(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 63, 4096, ((size_t)1 << 20) - 64, (size_t)1 << 20, ((size_t)5 << 20) + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = ir_big_alloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        for (size_t k = 0; k < sizes[i]; k += 4093)
            assert_int_equal(p[k], 0);
        if (sizes[i]) {
            assert_int_equal(p[sizes[i] - 1], 0);
            p[0] = 1;
            p[sizes[i] - 1] = 2;
        }
        ir_big_free(p);
    }
    ir_big_free(NULL);
}

static void big_tensor_data_comes_from_big_alloc(void **state)
{
    (void)state;
    int64_t small[] = {16}, big[] = {1024, 1024};
    ir_tensor *s = ir_tensor_new(NORMA_FLOAT, 1, small), *b = ir_tensor_new(NORMA_FLOAT, 2, big);
    assert_non_null(s);
    assert_non_null(b);
    assert_int_equal(s->owns_data, 1);
    assert_int_equal(b->owns_data, 2);
    float *d = b->data;
    assert_true(d[0] == 0.0f && d[1024 * 1024 - 1] == 0.0f);
    d[1024 * 1024 - 1] = 3.0f;
    ir_tensor *c = ir_tensor_clone(b);
    assert_non_null(c);
    assert_true(((float *)c->data)[1024 * 1024 - 1] == 3.0f);
    assert_true(ir_tensor_writable(b));
    ir_tensor_free(c);
    ir_tensor_free(b);
    ir_tensor_free(s);
}

/* A block freed and asked for again (the reuse cache) comes back zeroed, for sizes that
 * fit the kept block and sizes that do not. */
static void big_blocks_reused_after_free_are_zeroed(void **state)
{
    (void)state;
    size_t sizes[] = {(size_t)3 << 20, ((size_t)3 << 20) - 1000, (size_t)1 << 20, (size_t)3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = ir_big_alloc(sizes[i]);
        assert_non_null(p);
        for (size_t k = 0; k < sizes[i]; k += 4096)
            assert_int_equal(p[k], 0);
        assert_int_equal(p[sizes[i] - 1], 0);
        memset(p, 0xab, sizes[i]);
        ir_big_free(p);
    }
    ir_big_trim();
    unsigned char *p = ir_big_alloc((size_t)3 << 20);
    assert_non_null(p);
    assert_int_equal(p[12345], 0);
    ir_big_free(p);
    ir_big_trim();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(big_alloc_is_zeroed_aligned_and_writable),
        cmocka_unit_test(big_tensor_data_comes_from_big_alloc),
        cmocka_unit_test(big_blocks_reused_after_free_are_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
