/*
 * The console and JSON-lines sinks: the exact text for hand-built alerts
 * (firing, updated, resolved, session and table subjects, colour), the
 * terminal-safety of text from the database, and a write error.
 */
#include "test_alert.h"
#include "test_util.h"

#include "detect/finding.h"
#include "sink/console.h"
#include "sink/jsonl.h"
#include "util/err.h"
#include "util/tstamp.h"

#include <errno.h>
#include <math.h>

/* 2026-03-14 h:m:s UTC in microseconds. */

static struct alert query_alert(void)
{
    return test_query_alert("SELECT *\n  FROM orders\n WHERE customer_id = $1",
                            "mean time rose from 0.8 ms to 45.0 ms (60\xC3\x97)");
}

static void check_console(enum alert_change change, const struct alert *a, bool color,
                          const char *expected)
{
    struct buf b = BUF_INIT;
    console_alert_format(&b, change, a, color);
    assert_string_equal(b.ptr, expected);
    buf_release(&b);
}

static void console_fired_names_query_and_next(void **state)
{
    (void)state;
    struct alert a = query_alert();
    check_console(ALERT_FIRED, &a, false,
                  "[14:03:12Z] FIRING critical latency_regression: mean time rose from 0.8 ms to "
                  "45.0 ms (60\xC3\x97) \xE2\x80\x94 since 14:02:50Z\n"
                  "  query  fp 1a2b3c4d5e6f7788: SELECT * FROM orders WHERE customer_id = $1\n"
                  "  next   run EXPLAIN (ANALYZE, BUFFERS) on it\n");
}

static void console_color_marks_status_and_labels(void **state)
{
    (void)state;
    struct alert a = query_alert();
    a.f.severity = FINDING_WARNING;
    check_console(ALERT_UPDATED, &a, true,
                  "[14:03:12Z] \033[1;33mUPDATED warning\033[0m latency_regression: mean time "
                  "rose from 0.8 ms to 45.0 ms (60\xC3\x97) \xE2\x80\x94 since 14:02:50Z\n"
                  "  \033[2mquery \033[0m fp 1a2b3c4d5e6f7788: SELECT * FROM orders WHERE "
                  "customer_id = $1\n"
                  "  \033[2mnext  \033[0m run EXPLAIN (ANALYZE, BUFFERS) on it\n");
}

static void console_resolved_shows_duration_and_peak(void **state)
{
    (void)state;
    struct alert a = query_alert();
    a.resolved_us = test_alert_at(14, 10, 2);
    a.peak = 61.25;
    check_console(ALERT_RESOLVED, &a, false,
                  "[14:10:02Z] RESOLVED critical latency_regression after 7m12s, peak 61.2 ms "
                  "\xE2\x80\x94 since 14:02:50Z\n"
                  "  was    mean time rose from 0.8 ms to 45.0 ms (60\xC3\x97)\n"
                  "  query  fp 1a2b3c4d5e6f7788: SELECT * FROM orders WHERE customer_id = $1\n");
    a.f.severity = FINDING_WARNING;
    check_console(ALERT_RESOLVED, &a, true,
                  "[14:10:02Z] \033[1;32mRESOLVED warning\033[0m latency_regression after 7m12s, "
                  "peak 61.2 ms \xE2\x80\x94 since 14:02:50Z\n"
                  "  \033[2mwas   \033[0m mean time rose from 0.8 ms to 45.0 ms (60\xC3\x97)\n"
                  "  \033[2mquery \033[0m fp 1a2b3c4d5e6f7788: SELECT * FROM orders WHERE "
                  "customer_id = $1\n");
}

static void console_since_another_day_shows_the_date(void **state)
{
    (void)state;
    struct alert a = query_alert();
    a.since_us = test_alert_at(0, 0, 0) - 90 * INT64_C(1000000); /* 2026-03-13T23:58:30Z */
    a.updated_us = test_alert_at(0, 1, 0);
    a.resolved_us = test_alert_at(2, 0, 0);
    a.peak = NAN;
    a.f.query = NULL;
    a.f.summary = NULL;
    check_console(ALERT_RESOLVED, &a, false,
                  "[02:00:00Z] RESOLVED critical latency_regression after 2h01m "
                  "\xE2\x80\x94 since 2026-03-13T23:58:30Z\n"
                  "  query  fp 1a2b3c4d5e6f7788\n");
}

static void console_session_and_table_subjects(void **state)
{
    (void)state;
    struct alert a = { 0 };
    a.f.kind = FK_IDLE_IN_TRANSACTION;
    a.f.severity = FINDING_WARNING;
    a.f.key = "pid:4242";
    a.f.pid = 4242;
    a.f.query = "UPDATE accounts SET balance = balance - $1";
    a.f.summary = "idle in transaction for 312 s";
    a.since_us = test_alert_at(9, 0, 0);
    a.updated_us = test_alert_at(9, 5, 0);
    check_console(ALERT_FIRED, &a, false,
                  "[09:05:00Z] FIRING warning idle_in_transaction: idle in transaction for 312 s "
                  "\xE2\x80\x94 since 09:00:00Z\n"
                  "  query  pid 4242: UPDATE accounts SET balance = balance - $1\n");

    a.f.query = NULL;
    check_console(ALERT_FIRED, &a, false,
                  "[09:05:00Z] FIRING warning idle_in_transaction: idle in transaction for 312 s "
                  "\xE2\x80\x94 since 09:00:00Z\n"
                  "  pid    4242\n");

    struct alert t = { 0 };
    t.f.kind = FK_SEQ_SCAN_GROWTH;
    t.f.severity = FINDING_CRITICAL;
    t.f.table = "public.orders";
    t.f.next = "look for a missing index";
    t.since_us = test_alert_at(9, 0, 0);
    check_console(ALERT_FIRED, &t, false,
                  "[09:00:00Z] FIRING critical seq_scan_growth \xE2\x80\x94 since 09:00:00Z\n"
                  "  table  public.orders\n"
                  "  next   look for a missing index\n");
}

static void console_text_is_terminal_safe(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t max;
        const char *out;
    } cases[] = {
        { "  a\t\tb\r\n c  ", SIZE_MAX, "a b c" },
        { "x\033[2Jy", SIZE_MAX, "x [2Jy" }, /* ESC cannot start a sequence */
        { "x\xC2\x9B"
          "31my",
          SIZE_MAX, "x 31my" }, /* nor can the C1 CSI */
        { "a\x7f"
          "b",
          SIZE_MAX, "a b" },
        { "bad\xFF\xC3", SIZE_MAX, "bad\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "caf\xC3\xA9 \xC3\x97", SIZE_MAX, "caf\xC3\xA9 \xC3\x97" },
        { "abcdef", 6, "abcdef" },
        { "abcdefg", 6, "abcde\xE2\x80\xA6" },
        { "abcd fg", 6, "abcd\xE2\x80\xA6" }, /* no space before the ellipsis */
        { "\xC3\xA9\xC3\xA9\xC3\xA9", 2, "\xC3\xA9\xE2\x80\xA6" },
        { "", SIZE_MAX, "" },
        { "abc", 0, "" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf b = BUF_INIT;
        console_text_append(&b, cases[i].in, cases[i].max);
        assert_string_equal(b.ptr, cases[i].out);
        buf_release(&b);
    }
    struct buf b = BUF_INIT;
    console_text_append(&b, NULL, 10);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void console_values_and_durations(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *unit, *out;
    } values[] = {
        { 45.0, "ms", "45.0 ms" }, { 95.04, "%", "95.0%" }, { 12345.6, "rows/s", "12346 rows/s" },
        { 0.25, NULL, "0.2" },     { NAN, "ms", "n/a" },    { -3.0, "", "-3.0" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        struct buf b = BUF_INIT;
        console_value_append(&b, values[i].v, values[i].unit);
        assert_string_equal(b.ptr, values[i].out);
        buf_release(&b);
    }
    static const struct {
        int64_t s;
        const char *out;
    } durations[] = {
        { -5, "0s" },        { 0, "0s" },        { 59, "59s" },       { 60, "1m00s" },
        { 432, "7m12s" },    { 3599, "59m59s" }, { 3600, "1h00m" },   { 7260, "2h01m" },
        { 86399, "23h59m" }, { 86400, "1d00h" }, { 273600, "3d04h" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
        struct buf b = BUF_INIT;
        console_duration_append(&b, durations[i].s * 1000000);
        assert_string_equal(b.ptr, durations[i].out);
        buf_release(&b);
    }
}

/* Writes one line to a temp file and returns it (caller frees). */
static char *jsonl_line(enum alert_change change, const struct alert *a)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    struct err err;
    err_clear(&err);
    assert_int_equal(jsonl_alert_write(f, change, a, &err), 0);
    long n = ftell(f);
    assert_true(n > 0);
    char *text = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}

static void jsonl_writes_one_compact_line(void **state)
{
    (void)state;
    struct alert a = query_alert();
    char *line = jsonl_line(ALERT_FIRED, &a);
    assert_string_equal(
        line,
        "{\"kind\":\"latency_regression\",\"scope\":\"query\",\"severity\":\"critical\","
        "\"key\":\"fp:1a2b3c4d5e6f7788\",\"fingerprint\":\"1a2b3c4d5e6f7788\","
        "\"query\":\"SELECT *\\n  FROM orders\\n WHERE customer_id = $1\",\"table\":null,"
        "\"pid\":null,\"value\":45.0,\"baseline\":0.75,\"threshold\":4.0,\"unit\":\"ms\","
        "\"summary\":\"mean time rose from 0.8 ms to 45.0 ms (60\xC3\x97)\","
        "\"next\":\"run EXPLAIN (ANALYZE, BUFFERS) on it\",\"id\":\"0123456789abcdef\","
        "\"change\":\"fired\",\"state\":\"firing\",\"since\":\"2026-03-14T14:02:50.000+00:00\","
        "\"updated\":\"2026-03-14T14:03:12.000+00:00\",\"resolved\":null,\"peak\":45.0}\n");
    free(line);

    a.resolved_us = test_alert_at(14, 10, 2);
    a.f.baseline = NAN;
    line = jsonl_line(ALERT_RESOLVED, &a);
    assert_non_null(strstr(line, "\"baseline\":null,"));
    assert_non_null(strstr(line, "\"change\":\"resolved\",\"state\":\"resolved\","));
    assert_non_null(strstr(line, "\"resolved\":\"2026-03-14T14:10:02.000+00:00\","));
    assert_int_equal(strchr(line, '\n') - line, (long)strlen(line) - 1);
    free(line);
}

static void jsonl_write_error_is_reported(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    struct alert a = query_alert();
    struct err err;
    err_clear(&err);
    assert_int_equal(jsonl_alert_write(f, ALERT_FIRED, &a, &err), -1);
    assert_int_equal(err.code, ERR_IO);
    assert_string_equal(err.msg, "cannot write alert: No space left on device");
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(console_fired_names_query_and_next),
        cmocka_unit_test(console_color_marks_status_and_labels),
        cmocka_unit_test(console_resolved_shows_duration_and_peak),
        cmocka_unit_test(console_since_another_day_shows_the_date),
        cmocka_unit_test(console_session_and_table_subjects),
        cmocka_unit_test(console_text_is_terminal_safe),
        cmocka_unit_test(console_values_and_durations),
        cmocka_unit_test(jsonl_writes_one_compact_line),
        cmocka_unit_test(jsonl_write_error_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
