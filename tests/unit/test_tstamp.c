/* Unit tests for util/tstamp.c. */
#include "util/tstamp.h"

#include "test_util.h"

static const struct {
    const char *in;
    int64_t ts_us;
    int offset_s;
    size_t consumed;
    bool known;
} cases[] = {
    { "2026-11-22 02:32:37 UTC [1668]", 1795314757000000LL, 0, 23, true },
    { "2026-11-22 02:32:37.361 UTC,", 1795314757361000LL, 0, 27, true },
    { "2026-11-22 03:32:37.5 CET x", 1795314757500000LL, 3600, 25, true },
    { "2026-07-01 12:00:00 PDT", 1782932400000000LL, -25200, 23, true },
    { "2026-11-22 08:02:37+05:30", 1795314757000000LL, 19800, 25, true },
    { "2026-11-22T02:32:37Z", 1795314757000000LL, 0, 20, true },
    { "2026-11-22 05:32:37 +03 rest", 1795314757000000LL, 10800, 23, true },
    { "2026-11-22 02:32:37 XYZT", 1795314757000000LL, 0, 24, false },
    { "2026-11-22 02:32:37", 1795314757000000LL, 0, 19, true },
    { "1970-01-01 00:00:00.000001 UTC", 1, 0, 30, true },
    { "2000-02-29 00:00:00 UTC", 951782400000000LL, 0, 23, true },
    { "9999-12-31 23:59:59 UTC", TSTAMP_MAX_S * 1000000, 0, 23,
      true }, /* the last second of year 9999 */
};

static void parses_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ts;
        int off;
        bool known;
        size_t n = tstamp_parse(str_cstr(cases[i].in), &ts, &off, &known);
        if (n != cases[i].consumed || ts != cases[i].ts_us || off != cases[i].offset_s ||
            known != cases[i].known)
            fail_msg("case %zu '%s': n=%zu ts=%lld off=%d known=%d", i, cases[i].in, n,
                     (long long)ts, off, known);
    }
}

static void rejects_non_timestamps(void **state)
{
    (void)state;
    const char *bad[] = { "",
                          "2026-11-22",
                          "2026-13-01 00:00:00",
                          "hello world 12345678",
                          "2026-11-22 02:32",
                          "\t2026-11-22 02:32:37 UTC" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ts;
        int off;
        assert_int_equal(tstamp_parse(str_cstr(bad[i]), &ts, &off, NULL), 0);
    }
}

static void cache_gives_same_answers(void **state)
{
    (void)state;
    struct tstamp_cache c = { 0 };
    const char *seq[] = { "2026-11-22 02:32:37.100 UTC",   "2026-11-22 02:32:37.250 UTC",
                          "2026-11-22 02:32:37 UTC",       "2026-11-22 02:32:38.001 UTC",
                          "2026-11-22 02:32:38.001 CET",   "2026-11-22 02:32:39-12 x",
                          "2026-11-22 02:32:39.5-12:30 x", "2026-11-22 02:32:40+05",
                          "2026-11-22 02:32:40+05:30",     "2026-11-22 02:32:41Z",
                          "2026-11-22 02:32:41Z:x" };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        int64_t a, b;
        int oa, ob;
        size_t na = tstamp_parse(str_cstr(seq[i]), &a, &oa, NULL);
        size_t nb = tstamp_parse_cached(&c, str_cstr(seq[i]), &b, &ob, NULL);
        assert_int_equal(na, nb);
        assert_int_equal(a, b);
        assert_int_equal(oa, ob);
    }
}

static void formats_with_offset(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    tstamp_format(&b, 1795314757361000LL, 0);
    assert_string_equal(b.ptr, "2026-11-22T02:32:37.361+00:00");
    buf_reset(&b);
    tstamp_format(&b, 1795314757000000LL, -25200);
    assert_string_equal(b.ptr, "2026-11-21T19:32:37.000-07:00");
    buf_reset(&b);
    tstamp_format(&b, 1795314757000000LL, 19800);
    assert_string_equal(b.ptr, "2026-11-22T08:02:37.000+05:30");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_table),
        cmocka_unit_test(rejects_non_timestamps),
        cmocka_unit_test(cache_gives_same_answers),
        cmocka_unit_test(formats_with_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
