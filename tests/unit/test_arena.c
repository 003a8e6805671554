/* Unit tests for util/arena.c. */
#include "util/arena.h"

#include "test_util.h"

static void allocations_are_aligned_and_distinct(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 128);
    char *p = arena_alloc(&a, 3), *q = arena_alloc(&a, 5);
    assert_int_equal((uintptr_t)p % 8, 0);
    assert_int_equal((uintptr_t)q % 8, 0);
    assert_ptr_not_equal(p, q);
    assert_int_equal(a.total, 16);
    arena_release(&a);
    assert_null(a.head);
}

static void large_request_gets_its_own_block(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 128);
    char *small = arena_alloc(&a, 8);
    char *big = arena_alloc(&a, 1000);
    memset(big, 'x', 1000);
    char *small2 = arena_alloc(&a, 8);
    /* The small block stays on top: small2 follows small. */
    assert_ptr_equal(small2, small + 8);
    arena_release(&a);
}

static void strdup_copies_slice_with_nul(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0);
    char *s = arena_strdup(&a, str_make("hello world", 5));
    assert_string_equal(s, "hello");
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_aligned_and_distinct),
        cmocka_unit_test(large_request_gets_its_own_block),
        cmocka_unit_test(strdup_copies_slice_with_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
