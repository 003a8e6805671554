/* Unit tests for util/hmap.c and util/names.c. */
#include "util/hmap.h"
#include "util/names.h"

#include "test_util.h"

static void put_get_many(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    for (uint32_t i = 0; i < 10000; i++)
        hmap_put(&m, hmap_mix64(i), i * 3);
    uint32_t v;
    for (uint32_t i = 0; i < 10000; i++) {
        assert_true(hmap_get(&m, hmap_mix64(i), NULL, NULL, &v));
        assert_int_equal(v, i * 3);
    }
    assert_false(hmap_get(&m, hmap_mix64(10001), NULL, NULL, &v));
    assert_int_equal(m.count, 10000);
    assert_true(m.cap >= 20000);
    hmap_release(&m);
}

static bool only_odd(const void *ctx, uint32_t val)
{
    (void)ctx;
    return val % 2 == 1;
}

static void equal_hashes_are_told_apart_by_eq(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    hmap_put(&m, 42, 2);
    hmap_put(&m, 42, 7);
    uint32_t v;
    assert_true(hmap_get(&m, 42, only_odd, NULL, &v));
    assert_int_equal(v, 7);
    hmap_release(&m);
}

static void names_intern_dedups(void **state)
{
    (void)state;
    struct names n;
    names_init(&n);
    uint32_t a = names_intern(&n, STR_LIT("bench"));
    uint32_t b = names_intern(&n, STR_LIT("reporter"));
    uint32_t c = names_intern(&n, str_make("bench!", 5));
    assert_int_equal(names_intern(&n, STR_LIT("")), 0);
    assert_int_equal(a, c);
    assert_int_not_equal(a, b);
    assert_string_equal(names_get(&n, b).ptr, "reporter");
    names_release(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_many),
        cmocka_unit_test(equal_hashes_are_told_apart_by_eq),
        cmocka_unit_test(names_intern_dedups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
