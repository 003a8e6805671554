/* Unit tests for util/err.c: caller-provided error records and their message rules. */
#include "util/err.h"

#include "test_util.h"

/* A string of n copies of c, in a static buffer (n < 1024). */
static const char *repeat(char c, size_t n)
{
    static char s[1024];
    assert_true(n < sizeof(s));
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void clear_empties_everything(void **state)
{
    (void)state;
    struct err e;
    memset(&e, 'x', sizeof(e));
    err_clear(&e);
    assert_int_equal(e.code, ERR_NONE);
    assert_string_equal(e.msg, "");
    assert_string_equal(e.where, "");
}

static void set_returns_minus_one_and_formats(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    assert_int_equal(err_set(&e, ERR_IO, "cannot open '%s': %s", "pg.csv", "Permission denied"),
                     -1);
    assert_int_equal(e.code, ERR_IO);
    assert_string_equal(e.msg, "cannot open 'pg.csv': Permission denied");
    /* A second error replaces the first one completely. */
    assert_int_equal(err_set(&e, ERR_USAGE, "--jobs takes a number, not '%d'", -3), -1);
    assert_int_equal(e.code, ERR_USAGE);
    assert_string_equal(e.msg, "--jobs takes a number, not '-3'");
}

static void set_truncates_at_the_buffer_size(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    err_where(&e, "x.log:1");
    assert_int_equal(err_set(&e, ERR_PARSE, "%s", repeat('m', 400)), -1);
    assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
    assert_int_equal(sizeof(e.msg), 256);
    assert_string_equal(e.msg, repeat('m', 255));
    assert_string_equal(e.where, "x.log:1");
}

static void prefix_prepends_context(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    err_set(&e, ERR_IO, "cannot open 'a.log': No such file or directory");
    err_prefix(&e, "reading input %d", 2);
    assert_string_equal(e.msg, "reading input 2: cannot open 'a.log': No such file or directory");
    assert_int_equal(e.code, ERR_IO); /* the code stays */
    err_prefix(&e, "analyze");
    assert_string_equal(e.msg,
                        "analyze: reading input 2: cannot open 'a.log': No such file or directory");
}

static void prefix_of_an_empty_message(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    err_prefix(&e, "ctx");
    assert_string_equal(e.msg, "ctx: ");
}

/*
 * The message is cut at 255 bytes wherever the 256-byte buffer ends: in the
 * old message, in the ": " separator, or in the context itself. The bytes
 * after msg (where) are never touched.
 */
static void prefix_truncates_safely_at_256_bytes(void **state)
{
    (void)state;
    static const struct {
        size_t ctx_len, old_len; /* context of 'c's, old message of 'o's */
        size_t c, sep, o;        /* how many of each survive */
    } cases[] = {
        { 3, 250, 3, 2, 250 },  /* 3 + 2 + 250 = 255: everything fits exactly */
        { 3, 251, 3, 2, 250 },  /* one byte too many: the old message loses its last */
        { 3, 255, 3, 2, 250 },  /* a full old message */
        { 253, 10, 253, 2, 0 }, /* only the separator fits */
        { 254, 10, 254, 1, 0 }, /* half the separator */
        { 255, 10, 255, 0, 0 }, /* the context fills the buffer */
        { 400, 10, 255, 0, 0 }, /* a longer context is cut too */
        { 0, 255, 0, 2, 253 },  /* empty context */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct err e;
        err_clear(&e);
        err_where(&e, "w");
        err_set(&e, ERR_IO, "%s", repeat('o', cases[i].old_len));
        char ctx[512];
        memset(ctx, 'c', cases[i].ctx_len);
        ctx[cases[i].ctx_len] = '\0';
        err_prefix(&e, "%s", ctx);
        char want[512];
        size_t n = 0;
        memset(want + n, 'c', cases[i].c);
        n += cases[i].c;
        memcpy(want + n, ": ", cases[i].sep);
        n += cases[i].sep;
        memset(want + n, 'o', cases[i].o);
        n += cases[i].o;
        want[n] = '\0';
        assert_true(n <= 255);
        assert_string_equal(e.msg, want);
        assert_string_equal(e.where, "w");
    }
}

static void where_formats_and_truncates_at_128_bytes(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    err_set(&e, ERR_PARSE, "bad record");
    err_where(&e, "%s:%llu", "postgresql.csv", 1234ULL);
    assert_string_equal(e.where, "postgresql.csv:1234");
    assert_string_equal(e.msg, "bad record"); /* where does not touch msg */
    err_where(&e, "%s", repeat('w', 300));
    assert_int_equal(sizeof(e.where), 128);
    assert_string_equal(e.where, repeat('w', 127));
    assert_string_equal(e.msg, "bad record");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clear_empties_everything),
        cmocka_unit_test(set_returns_minus_one_and_formats),
        cmocka_unit_test(set_truncates_at_the_buffer_size),
        cmocka_unit_test(prefix_prepends_context),
        cmocka_unit_test(prefix_of_an_empty_message),
        cmocka_unit_test(prefix_truncates_safely_at_256_bytes),
        cmocka_unit_test(where_formats_and_truncates_at_128_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
