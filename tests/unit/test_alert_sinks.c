/*
 * The console and JSON-lines sinks: the exact text of an incident change
 * (opened, updated, resolved; causes, trigger, fix, alerts, suspicions;
 * colour on and off; an onset on another day), the terminal-safety of
 * text from the database, the exact JSON line, and a write error.
 */
#include "test_alert.h"
#include "test_util.h"

#include "core/incident.h"
#include "sink/console.h"
#include "sink/jsonl.h"
#include "util/err.h"
#include "util/tstamp.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>

#define QUERY   "SELECT *\n  FROM orders\n WHERE customer_id = $1"
#define SUMMARY "mean time 0.75 ms -> 45.00 ms at 42.5 calls/s (60\xC3\x97)"
#define DASH    "\xE2\x80\x94"

/* The lines every open change of the fixture shows after its header. */
#define TRIGGER_TEXT                                                                            \
    "14:02:49Z drop_index orders_customer_id_idx on public.orders by 'migration' (by time and " \
    "table)"
#define QUERY_TEXT "fp 1a2b3c4d5e6f7788: SELECT * FROM orders WHERE customer_id = $1"

static void check_console(enum incident_change_kind change, const struct incident *inc, bool color,
                          const char *expected)
{
    struct buf b = BUF_INIT;
    console_incident_format(&b, change, inc, color);
    assert_string_equal(b.ptr, expected);
    buf_release(&b);
}

static void console_opened_names_cause_query_trigger_and_fix(void **state)
{
    (void)state;
    struct incident inc;
    test_incident(&inc, QUERY, SUMMARY);
    /* Two lesser causes are shown, a third is not; a confirmed suspicion is a cause already. */
    test_incident_add_cause(&inc, CAUSE_TRAFFIC_SURGE, 0.25,
                            "the same query mix at 1.1x the calls");
    test_incident_add_cause(&inc, CAUSE_QUERY_REGRESSION, 0.125, NULL);
    test_incident_add_cause(&inc, CAUSE_UNKNOWN, 0.0625, "not shown");
    test_incident_add_suspicion(&inc, "network", VERDICT_CANNOT_TELL, "no client-side timings",
                                "the application's request timings");
    test_incident_add_suspicion(&inc, "missing index", VERDICT_CONFIRMED, "not shown", NULL);
    check_console(INCIDENT_CHANGE_OPENED, &inc, false,
                  "[14:03:12Z] INCIDENT #1 critical missing_index on public.orders: " SUMMARY
                  " " DASH " since 14:02:50Z\n"
                  "  query     " QUERY_TEXT "\n"
                  "  trigger   " TRIGGER_TEXT "\n"
                  "  to do     create an index on public.orders (customer_id)\n"
                  "  also      traffic_surge: the same query mix at 1.1x the calls\n"
                  "  also      query_regression:\n"
                  "  alerts    latency_regression, seq_scan_growth\n"
                  "  ruled out traffic surge or DDoS: calls 41.0/s before, 42.5/s after\n"
                  "  unknown   network: no client-side timings\n");
    incident_release(&inc);
}

static void console_color_marks_change_and_labels(void **state)
{
    (void)state;
    struct incident inc;
    test_incident(&inc, QUERY, SUMMARY);
    /* An update: no suspicions (they were told when it opened); amber for a warning. */
    inc.critical = false;
    check_console(INCIDENT_CHANGE_UPDATED, &inc, true,
                  "[14:03:12Z] \033[1;33mUPDATED incident #1 warning missing_index on "
                  "public.orders: " SUMMARY "\033[0m " DASH " since 14:02:50Z\n"
                  "  \033[2mquery    \033[0m " QUERY_TEXT "\n"
                  "  \033[2mtrigger  \033[0m " TRIGGER_TEXT "\n"
                  "  \033[2mto do    \033[0m create an index on public.orders (customer_id)\n"
                  "  \033[2malerts   \033[0m latency_regression, seq_scan_growth\n");
    check_console(INCIDENT_CHANGE_UPDATED, &inc, false,
                  "[14:03:12Z] UPDATED incident #1 warning missing_index on public.orders: " SUMMARY
                  " " DASH " since 14:02:50Z\n"
                  "  query     " QUERY_TEXT "\n"
                  "  trigger   " TRIGGER_TEXT "\n"
                  "  to do     create an index on public.orders (customer_id)\n"
                  "  alerts    latency_regression, seq_scan_growth\n");
    /* Red for a critical one. */
    inc.critical = true;
    struct buf b = BUF_INIT;
    console_incident_format(&b, INCIDENT_CHANGE_OPENED, &inc, true);
    const char *head = "[14:03:12Z] \033[1;31mINCIDENT #1 critical missing_index on "
                       "public.orders: " SUMMARY "\033[0m " DASH " since 14:02:50Z\n";
    assert_int_equal(strncmp(b.ptr, head, strlen(head)), 0);
    assert_non_null(strstr(b.ptr, "\n  \033[2mruled out\033[0m traffic surge or DDoS: "));
    buf_release(&b);
    incident_release(&inc);
}

static void console_resolved_shows_duration_and_what_fixed_it(void **state)
{
    (void)state;
    struct incident inc;
    test_incident(&inc, QUERY, SUMMARY);
    test_incident_resolve(&inc);
    check_console(INCIDENT_CHANGE_RESOLVED, &inc, false,
                  "[14:10:02Z] RESOLVED incident #1 critical missing_index on public.orders "
                  "after 7m12s " DASH " since 14:02:50Z\n"
                  "  was       " SUMMARY "\n"
                  "  query     " QUERY_TEXT "\n"
                  "  trigger   " TRIGGER_TEXT "\n"
                  "  fixed by  14:09:30Z create_index orders_customer_id_idx1 on public.orders by "
                  "'psql' (by time and table)\n"
                  "  alerts    latency_regression, seq_scan_growth\n"
                  "  ruled out traffic surge or DDoS: calls 41.0/s before, 42.5/s after\n");
    inc.critical = false;
    check_console(INCIDENT_CHANGE_RESOLVED, &inc, true,
                  "[14:10:02Z] \033[1;32mRESOLVED incident #1 warning missing_index on "
                  "public.orders after 7m12s\033[0m " DASH " since 14:02:50Z\n"
                  "  \033[2mwas      \033[0m " SUMMARY "\n"
                  "  \033[2mquery    \033[0m " QUERY_TEXT "\n"
                  "  \033[2mtrigger  \033[0m " TRIGGER_TEXT "\n"
                  "  \033[2mfixed by \033[0m 14:09:30Z create_index orders_customer_id_idx1 on "
                  "public.orders by 'psql' (by time and table)\n"
                  "  \033[2malerts   \033[0m latency_regression, seq_scan_growth\n"
                  "  \033[2mruled out\033[0m traffic surge or DDoS: calls 41.0/s before, 42.5/s "
                  "after\n");
    incident_release(&inc);
}

static void console_onset_on_another_day_shows_the_date(void **state)
{
    (void)state;
    /* No cause, trigger, alert or suspicion: the header alone. */
    struct incident inc;
    incident_init(&inc);
    inc.seq = 7;
    inc.critical = true;
    inc.onset_us = test_alert_at(0, 0, 0) - 90 * INT64_C(1000000); /* 2026-03-13T23:58:30Z */
    inc.detected_us = test_alert_at(0, 0, 30);
    inc.updated_us = test_alert_at(0, 1, 0);
    check_console(INCIDENT_CHANGE_OPENED, &inc, false,
                  "[00:01:00Z] INCIDENT #7 critical " DASH " since 2026-03-13T23:58:30Z\n");
    /* Not updated yet: timed at its detection. */
    inc.updated_us = 0;
    check_console(INCIDENT_CHANGE_OPENED, &inc, false,
                  "[00:00:30Z] INCIDENT #7 critical " DASH " since 2026-03-13T23:58:30Z\n");
    /* Resolved without an end: timed, and measured, at its last interval. */
    inc.state = INCIDENT_RESOLVED;
    inc.updated_us = test_alert_at(2, 0, 0);
    check_console(INCIDENT_CHANGE_RESOLVED, &inc, false,
                  "[02:00:00Z] RESOLVED incident #7 critical after 2h01m " DASH
                  " since 2026-03-13T23:58:30Z\n");
    /* The same day: the time alone. */
    inc.onset_us = test_alert_at(0, 0, 1);
    inc.end_us = test_alert_at(0, 30, 0);
    check_console(INCIDENT_CHANGE_RESOLVED, &inc, false,
                  "[00:30:00Z] RESOLVED incident #7 critical after 29m59s " DASH
                  " since 00:00:01Z\n");
    incident_release(&inc);
}

static void console_headline_for_each_change(void **state)
{
    (void)state;
    struct incident inc;
    test_incident(&inc, QUERY, SUMMARY);
    static const struct {
        enum incident_change_kind change;
        const char *out;
    } cases[] = {
        { INCIDENT_CHANGE_OPENED, "INCIDENT #1 critical missing_index on public.orders: " SUMMARY },
        { INCIDENT_CHANGE_UPDATED,
          "UPDATED incident #1 critical missing_index on public.orders: " SUMMARY },
        { INCIDENT_CHANGE_RESOLVED,
          "RESOLVED incident #1 critical missing_index on public.orders after 22s" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf b = BUF_INIT;
        console_incident_headline(&b, cases[i].change, &inc);
        assert_string_equal(b.ptr, cases[i].out);
        buf_release(&b);
    }
    /* No table and no summary: the cause's name alone. */
    test_set_str(&inc.causes[0].table, NULL);
    test_set_str(&inc.causes[0].summary, NULL);
    struct buf b = BUF_INIT;
    console_incident_headline(&b, INCIDENT_CHANGE_OPENED, &inc);
    assert_string_equal(b.ptr, "INCIDENT #1 critical missing_index");
    buf_release(&b);
    incident_release(&inc);
}

/* Query text, summaries, table and application names come from the database. */
static void console_block_makes_database_text_safe(void **state)
{
    (void)state;
    struct incident inc;
    test_incident(&inc, "SELECT \033[31mred\033[0m FROM t WHERE note = '\xFF'",
                  "rows\r\n read\xC2\x9B"
                  "2J  fast");
    struct cause *g = &inc.causes[0];
    g->fingerprint = 0;
    test_set_str(&g->table, "public.\033[2Jorders");
    test_set_str(&g->fix, "create\tan index\n");
    test_set_str(&inc.trigger.app, "mig\033]0;pwned\007ration");
    /* Three alerts of two kinds: one line, counted. */
    test_incident_add_alert(&inc, "latency_regression", "fp:0000000000000002", false, 3.0, "ms",
                            NULL);
    check_console(INCIDENT_CHANGE_OPENED, &inc, false,
                  "[14:03:12Z] INCIDENT #1 critical missing_index on public. [2Jorders: rows read "
                  "2J fast " DASH " since 14:02:50Z\n"
                  "  query     SELECT [31mred [0m FROM t WHERE note = '\xEF\xBF\xBD'\n"
                  "  trigger   14:02:49Z drop_index orders_customer_id_idx on public.orders by "
                  "'mig ]0;pwned ration' (by time and table)\n"
                  "  to do     create an index\n"
                  "  alerts    latency_regression x2, seq_scan_growth\n"
                  "  ruled out traffic surge or DDoS: calls 41.0/s before, 42.5/s after\n");

    /* A long query is cut at 240 characters, its fingerprint included. */
    char long_query[301];
    memset(long_query, 'x', 300);
    long_query[300] = '\0';
    test_set_str(&g->query, long_query);
    g->fingerprint = TEST_INCIDENT_FP;
    struct buf b = BUF_INIT;
    console_incident_format(&b, INCIDENT_CHANGE_UPDATED, &inc, false);
    char want[400];
    snprintf(want, sizeof(want), "\n  query     fp 1a2b3c4d5e6f7788: %.*s\xE2\x80\xA6\n",
             240 - 21 - 1, long_query);
    assert_non_null(strstr(b.ptr, want));
    buf_release(&b);
    incident_release(&inc);
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
    struct buf b = BUF_INIT;
    console_time_append(&b, test_alert_at(14, 3, 12), false);
    buf_addch(&b, ' ');
    console_time_append(&b, test_alert_at(14, 3, 12) + 999999, true);
    assert_string_equal(b.ptr, "14:03:12Z 2026-03-14T14:03:12Z");
    buf_release(&b);
}

/* Writes one line to a temp file and returns it (caller frees). */
static char *jsonl_line(enum incident_change_kind change, const struct incident *inc)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    struct err err;
    err_clear(&err);
    assert_int_equal(jsonl_incident_write(f, change, inc, &err), 0);
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
    struct incident inc;
    test_incident(&inc, QUERY, SUMMARY);
    char *line = jsonl_line(INCIDENT_CHANGE_OPENED, &inc);
    char *want = test_incident_json("SELECT *\\n  FROM orders\\n WHERE customer_id = $1", SUMMARY);
    struct buf b = BUF_INIT;
    buf_addf(&b, "{\"change\":\"opened\",\"incident\":%s}\n", want);
    assert_string_equal(line, b.ptr);
    buf_release(&b);
    free(want);
    free(line);
    incident_release(&inc);
}

static void jsonl_resolved_line_has_the_end_and_the_fix(void **state)
{
    (void)state;
    struct incident inc;
    test_incident(&inc, QUERY, SUMMARY);
    test_incident_resolve(&inc);
    char *line = jsonl_line(INCIDENT_CHANGE_RESOLVED, &inc);
    /* One line: the only newline is the last byte. */
    assert_int_equal(strchr(line, '\n') - line, (long)strlen(line) - 1);
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    if (!j)
        fail_msg("line does not parse: %s", je.text);
    const char *change, *st, *end, *fix_kind, *fix_at, *fix_app, *resolved_at;
    double duration, recover;
    assert_int_equal(json_unpack(j, "{s:s,s:{s:s,s:s,s:F,s:F,s:{s:s,s:s,s:s},s:[{s:s}]}}", "change",
                                 &change, "incident", "state", &st, "end", &end, "duration_s",
                                 &duration, "time_to_recover_s", &recover, "fix", "kind", &fix_kind,
                                 "at", &fix_at, "application", &fix_app, "alerts", "resolved_at",
                                 &resolved_at),
                     0);
    assert_string_equal(change, "resolved");
    assert_string_equal(st, "resolved");
    assert_string_equal(end, "2026-03-14T14:10:02.000+00:00");
    assert_true(duration == 432.0);
    assert_true(recover == 32.0);
    assert_string_equal(fix_kind, "create_index");
    assert_string_equal(fix_at, "2026-03-14T14:09:30.000+00:00");
    assert_string_equal(fix_app, "psql");
    assert_string_equal(resolved_at, "2026-03-14T14:10:02.000+00:00");
    json_decref(j);
    free(line);

    /* The same incident's update says so in "change" only. */
    line = jsonl_line(INCIDENT_CHANGE_UPDATED, &inc);
    assert_int_equal(strncmp(line, "{\"change\":\"updated\",\"incident\":{\"id\":", 37), 0);
    free(line);
    incident_release(&inc);
}

/* Control bytes are JSON-escaped, bytes that are not UTF-8 become U+FFFD: never a lost field. */
static void jsonl_escapes_database_text(void **state)
{
    (void)state;
    struct incident inc;
    test_incident(&inc, "SELECT '\033[2J\xFF\x01'\n", "tab\there");
    char *line = jsonl_line(INCIDENT_CHANGE_OPENED, &inc);
    assert_non_null(strstr(line, "\"query\":\"SELECT '\\u001B[2J\xEF\xBF\xBD\\u0001'\\n\","));
    assert_non_null(strstr(line, "\"summary\":\"tab\\there\","));
    assert_null(strchr(line, '\033'));
    assert_int_equal(strchr(line, '\n') - line, (long)strlen(line) - 1);
    free(line);
    incident_release(&inc);
}

static void jsonl_write_error_is_reported(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    struct incident inc;
    test_incident(&inc, QUERY, SUMMARY);
    struct err err;
    err_clear(&err);
    assert_int_equal(jsonl_incident_write(f, INCIDENT_CHANGE_OPENED, &inc, &err), -1);
    assert_int_equal(err.code, ERR_IO);
    assert_string_equal(err.msg, "cannot write incident: No space left on device");
    fclose(f);
    incident_release(&inc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(console_opened_names_cause_query_trigger_and_fix),
        cmocka_unit_test(console_color_marks_change_and_labels),
        cmocka_unit_test(console_resolved_shows_duration_and_what_fixed_it),
        cmocka_unit_test(console_onset_on_another_day_shows_the_date),
        cmocka_unit_test(console_headline_for_each_change),
        cmocka_unit_test(console_block_makes_database_text_safe),
        cmocka_unit_test(console_text_is_terminal_safe),
        cmocka_unit_test(console_values_and_durations),
        cmocka_unit_test(jsonl_writes_one_compact_line),
        cmocka_unit_test(jsonl_resolved_line_has_the_end_and_the_fix),
        cmocka_unit_test(jsonl_escapes_database_text),
        cmocka_unit_test(jsonl_write_error_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
