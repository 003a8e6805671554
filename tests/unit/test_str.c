/* Unit tests for util/str.c and the inline helpers of util/str.h: borrowed slices. */
#include "util/str.h"

#include "util/compat.h"

#include "test_util.h"

/*
 * A heap copy of exactly len bytes (no NUL after them), so that ASan sees
 * a read past the end of the slice.
 */
static struct str exact(const char *bytes, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, bytes, len);
    return str_make(p, len);
}

static void drop(struct str s)
{
    free((void *)s.ptr);
}

static void trim_removes_ascii_blanks_at_both_ends(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "  \t a b \r\n", "a b" },                   /* inner blank kept */
        { "x", "x" },                                 /* nothing to trim */
        { "", "" },                                   /* empty stays empty */
        { " \t\r\n ", "" },                           /* only blanks */
        { "\n\nSELECT 1;\n", "SELECT 1;" },           /* leading newlines */
        { "\vx\f", "\vx\f" },                         /* VT and FF are not blanks here */
        { "\xc2\xa0y\xc2\xa0", "\xc2\xa0y\xc2\xa0" }, /* nor is U+00A0 */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct str in = exact(cases[i].in, strlen(cases[i].in));
        struct str t = str_trim(in);
        assert_int_equal(t.len, strlen(cases[i].out));
        assert_memory_equal(t.ptr, cases[i].out, t.len);
        if (t.len)
            /* The result is a slice of the input, not a copy. */
            assert_true(t.ptr >= in.ptr && t.ptr + t.len <= in.ptr + in.len);
        drop(in);
    }
}

static void find_short_needles(void **state)
{
    (void)state;
    static const struct {
        const char *hay, *needle;
        long at;
    } cases[] = {
        { "duration: 1.5 ms", "ms", 14 },              /* counted by hand: d=0 … '5'=12 ' '=13 */
        { "duration: 1.5 ms", "duration", 0 },         /* at the start */
        { "duration: 1.5 ms", "s", 15 },               /* last byte */
        { "duration: 1.5 ms", "1.5 ms", 10 },          /* ends at the end */
        { "duration: 1.5 ms", "sec", -1 },             /* not found */
        { "duration: 1.5 ms", "ms ", -1 },             /* would run past the end */
        { "aaab", "ab", 2 },                           /* false starts on the first byte */
        { "abababc", "ababc", 2 },                     /* overlapping false start */
        { "ab", "abc", -1 },                           /* needle longer than text */
        { "", "a", -1 },                               /* empty text */
        { "abc", "", 0 },                              /* empty needle matches at 0 */
        { "", "", 0 },                                 /* even in an empty text */
        { "0123456789abcdef", "0123456789abcdef", 0 }, /* exactly 16 bytes: the memchr path */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct str hay = exact(cases[i].hay, strlen(cases[i].hay));
        assert_int_equal(str_find(hay, cases[i].needle), cases[i].at);
        struct str needle = exact(cases[i].needle, strlen(cases[i].needle));
        assert_int_equal(str_find_slice(hay, needle), cases[i].at);
        drop(needle);
        drop(hay);
    }
}

static void find_long_needles(void **state)
{
    (void)state;
    /* Needles over 16 bytes take the memmem path. */
    static const char text[] = "LOG:  duration: 0.100 ms  execute <unnamed>: SELECT abalance FROM "
                               "pgbench_accounts WHERE aid = $1";
    static const struct {
        const char *needle;
        long at;
    } cases[] = {
        { "execute <unnamed>: ", 26 },              /* 19 bytes, in the middle */
        { "pgbench_accounts WHERE aid = $1", 66 },  /* 31 bytes, at the very end */
        { "LOG:  duration: 0.100", 0 },             /* at the start */
        { "execute <unnamed>: UPDATE", -1 },        /* shares a long prefix only */
        { "pgbench_accounts WHERE aid = $12", -1 }, /* one byte past the end */
        { "01234567890123456", -1 },                /* 17 bytes, absent */
    };
    struct str hay = exact(text, strlen(text));
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        assert_true(strlen(cases[i].needle) > 16 || cases[i].at == -1);
        assert_int_equal(str_find(hay, cases[i].needle), cases[i].at);
    }
    /* The positions above were counted with Python's str.find on the same text. */
    assert_int_equal(strlen(text), 97);
    drop(hay);
}

static void find_stops_at_the_slice_end(void **state)
{
    (void)state;
    /* The needle is in the buffer but right after the slice: not found. */
    static const char buf[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    struct str s = str_make(buf, 10); /* "abcdefghij" */
    assert_int_equal(str_find(s, "jk"), -1);
    assert_int_equal(str_find(s, "ij"), 8);
    struct str longer = str_make(buf, 20);
    assert_int_equal(str_find(longer, "defghijklmnopqrstu"), -1); /* 18 bytes, ends at 21 */
    assert_int_equal(str_find(longer, "cdefghijklmnopqrst"), 2);  /* 18 bytes, ends at 20 */
}

static void find_nocase_in_either_case(void **state)
{
    (void)state;
    struct str s = exact("alter ROLE r PassWord 'x'", 25);
    assert_int_equal(str_find_nocase(s, "password"), 13);
    assert_int_equal(str_find_nocase(s, "role"), 6);
    assert_int_equal(str_find_nocase(s, "ALTER"), 0);
    assert_int_equal(str_find_nocase(s, "'x'"), 22);  /* ends at the slice's end */
    assert_int_equal(str_find_nocase(s, "'x''"), -1); /* would end past it */
    assert_int_equal(str_find_nocase(s, "r p"), 11);  /* the first 'r' that starts it */
    assert_int_equal(str_find_nocase(s, "token"), -1);
    assert_int_equal(str_find_nocase(s, ""), 0);
    assert_true(str_contains_nocase(s, "PASSWORD"));
    assert_false(str_contains_nocase(str_make(NULL, 0), "a"));
    assert_true(str_contains_nocase(str_make(NULL, 0), ""));
    drop(s);
    /* A later lower-case candidate after an upper-case one that fails. */
    s = exact("Pax pass", 8);
    assert_int_equal(str_find_nocase(s, "pass"), 4);
    drop(s);
}

static void uri_user_info_is_found(void **state)
{
    (void)state;
    assert_true(str_has_uri_userinfo(str_cstr("x 'postgresql://u:pw@h/d' y")));
    assert_true(str_has_uri_userinfo(str_cstr("see http://a/ and https://t@h")));
    assert_false(str_has_uri_userinfo(str_cstr("check (url like 'https://%')")));
    assert_false(str_has_uri_userinfo(str_cstr("https://h/p@q"))); /* '@' in the path */
    assert_false(str_has_uri_userinfo(str_cstr("mail u@h, no scheme")));
}

static void find_slice_handles_nul_bytes(void **state)
{
    (void)state;
    static const char hay[] = "a\0b\0c";
    struct str h = str_make(hay, 5);
    assert_int_equal(str_find_slice(h, str_make("\0c", 2)), 3);
    assert_int_equal(str_find_slice(h, str_make("b\0c", 3)), 2);
    assert_int_equal(str_find_slice(h, str_make("\0\0", 2)), -1);
    static const char long_hay[] = "0123456789\0abcdefghij\0klm";
    static const char long_needle[] = "789\0abcdefghij\0k"; /* 17 bytes */
    assert_int_equal(str_find_slice(str_make(long_hay, sizeof(long_hay) - 1),
                                    str_make(long_needle, sizeof(long_needle) - 1)),
                     7);
}

static void parse_u64_reads_leading_digits(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t used;
        unsigned long long value;
    } cases[] = {
        { "12345abc", 5, 12345ULL },
        { "0", 1, 0ULL },
        { "00042 ms", 5, 42ULL },
        { "", 0, 0ULL },
        { "abc", 0, 0ULL },
        { "-1", 0, 0ULL },
        { " 7", 0, 0ULL },
        /* 19 digits: the most it reads, still below 2^64. */
        { "9999999999999999999", 19, 9999999999999999999ULL },
        /* 2^64-1 has 20 digits: the cap stops at 19 instead of overflowing. */
        { "18446744073709551615", 19, 1844674407370955161ULL },
        { "123456789012345678901234", 19, 1234567890123456789ULL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct str s = exact(cases[i].in, strlen(cases[i].in));
        unsigned long long v = 777;
        assert_int_equal(str_parse_u64(s, &v), cases[i].used);
        assert_true(v == cases[i].value);
        drop(s);
    }
}

static void parse_u64_stops_at_the_slice_end(void **state)
{
    (void)state;
    unsigned long long v = 0;
    assert_int_equal(str_parse_u64(str_make("98765", 3), &v), 3);
    assert_true(v == 987ULL);
}

static void inline_helpers(void **state)
{
    (void)state;
    struct str s = STR_LIT("statement: SELECT 1");
    assert_int_equal(s.len, 19);
    assert_true(str_starts(s, "statement:"));
    assert_false(str_starts(s, "statement:  "));
    assert_false(str_starts(str_make("stat", 4), "statement"));
    assert_true(str_eq_cstr(str_skip(s, 11), "SELECT 1"));
    assert_true(str_eq(STR_NULL, str_cstr("")));
    assert_int_equal(str_cstr(NULL).len, 0);
    assert_false(str_eq(str_make("ab", 2), str_make("abc", 3)));
    assert_false(str_eq_cstr(str_make("abd", 3), "abc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trim_removes_ascii_blanks_at_both_ends),
        cmocka_unit_test(find_short_needles),
        cmocka_unit_test(find_long_needles),
        cmocka_unit_test(find_stops_at_the_slice_end),
        cmocka_unit_test(find_slice_handles_nul_bytes),
        cmocka_unit_test(find_nocase_in_either_case),
        cmocka_unit_test(uri_user_info_is_found),
        cmocka_unit_test(parse_u64_reads_leading_digits),
        cmocka_unit_test(parse_u64_stops_at_the_slice_end),
        cmocka_unit_test(inline_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
