/* Unit tests for util/buf.c. */
#include "util/buf.h"

#include "test_util.h"

static void init_is_empty_string(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_non_null(b.ptr);
    assert_string_equal(b.ptr, "");
    buf_release(&b);
}

static void add_and_format_grow(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_addf(&b, "%d,", i);
    assert_int_equal(b.len, 3890);
    assert_memory_equal(b.ptr, "0,1,2,", 6);
    assert_int_equal(b.ptr[b.len], '\0');
    buf_release(&b);
}

static void holds_nul_bytes(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_add(&b, "a\0b", 3);
    assert_int_equal(b.len, 3);
    assert_int_equal(b.ptr[1], '\0');
    assert_int_equal(b.ptr[2], 'b');
    buf_release(&b);
}

static void detach_hands_over_and_resets(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_addstr(&b, "xyz");
    size_t len;
    char *p = buf_detach(&b, &len);
    assert_string_equal(p, "xyz");
    assert_int_equal(len, 3);
    assert_int_equal(b.len, 0);
    free(p);
    p = buf_detach(&b, NULL); /* an empty buf still gives a freeable string */
    assert_string_equal(p, "");
    free(p);
}

static void setlen_truncates(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_addstr(&b, "hello");
    buf_setlen(&b, 2);
    assert_string_equal(b.ptr, "he");
    buf_reset(&b);
    assert_string_equal(b.ptr, "");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_is_empty_string), cmocka_unit_test(add_and_format_grow),
        cmocka_unit_test(holds_nul_bytes),      cmocka_unit_test(detach_hands_over_and_resets),
        cmocka_unit_test(setlen_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
