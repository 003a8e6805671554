/*
 * Tests of detect/config.c: defaults, the file format (units, percentages,
 * quotes, comments), errors with file:line, --set, and the dump that
 * loads back to the same settings.
 */
#include "test_util.h"

#include "detect/config.h"

#include <math.h>
#include <unistd.h>

static void defaults_match_the_documentation(void **state)
{
    (void)state;
    struct detect_config c;
    detect_config_init(&c);
    assert_int_equal(c.history, 30);
    assert_int_equal(c.min_history, 5);
    assert_int_equal(c.max_keys, 2000);
    assert_true(c.baseline_k == 4);
    assert_true(c.mad_floor == 0.1);
    assert_int_equal(c.min_calls, 10);
    assert_int_equal(c.alert_for_critical, 1);
    assert_int_equal(c.alert_for_warning, 2);
    assert_int_equal(c.alert_clear, 3);
    assert_true(c.latency_min_increase_ms == 5);
    assert_true(c.latency_ratio == 2);
    assert_true(c.connections_warning == 0.8);
    assert_true(c.connections_critical == 0.95);
    assert_true(c.long_running_s == 60);
    assert_true(c.idle_in_transaction_s == 30);
    assert_true(c.blocking_critical_wait_s == 300);
    assert_int_equal(c.seq_scan_min_table_rows, 10000);
    assert_true(c.rows_per_call == 1000);
}

struct value_case {
    const char *line;
    size_t off;  /* field */
    bool is_int; /* int field, else double */
    double want;
};

#define OFF(f) offsetof(struct detect_config, f)

static const struct value_case value_cases[] = {
    { "history = 20", OFF(history), true, 20 },
    { "HISTORY=21", OFF(history), true, 21 },
    { "history 22", OFF(history), true, 22 },
    { "history = '23'", OFF(history), true, 23 },
    { "  min_history = 7   # comment", OFF(min_history), true, 7 },
    { "long_running = 500ms", OFF(long_running_s), false, 0.5 },
    { "long_running = 10s", OFF(long_running_s), false, 10 },
    { "long_running = 1m", OFF(long_running_s), false, 60 },
    { "long_running = 2min", OFF(long_running_s), false, 120 },
    { "long_running = 2h", OFF(long_running_critical_s), false,
      600 }, /* rejected: above critical */
    { "long_running = 90", OFF(long_running_s), false, 90 },
    { "long_running = 1.5 s", OFF(long_running_s), false, 1.5 },
    { "long_running_critical = 1d", OFF(long_running_critical_s), false, 86400 },
    { "latency_min_increase = 5ms", OFF(latency_min_increase_ms), false, 5 },
    { "latency_min_increase = 0.25s", OFF(latency_min_increase_ms), false, 250 },
    { "latency_min_increase = 1500us", OFF(latency_min_increase_ms), false, 1.5 },
    { "connections_warning = 70%", OFF(connections_warning), false, 0.7 },
    { "connections_warning = 0.75", OFF(connections_warning), false, 0.75 },
    { "surge_ratio = 3x", OFF(surge_ratio), false, 3 },
    { "seq_scan_min_increase = 2.5e5", OFF(seq_scan_min_increase), false, 250000 },
};

static double field(const struct detect_config *c, const struct value_case *vc)
{
    const char *p = (const char *)c + vc->off;
    if (vc->is_int) {
        int i;
        memcpy(&i, p, sizeof(i));
        return i;
    }
    double d;
    memcpy(&d, p, sizeof(d));
    return d;
}

static void values_parse_with_units(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
        const struct value_case *vc = &value_cases[i];
        struct detect_config c;
        detect_config_init(&c);
        struct err err;
        err_clear(&err);
        int rc = detect_config_parse(&c, vc->line, strlen(vc->line), "t.conf", &err);
        if (strcmp(vc->line, "long_running = 2h") == 0) {
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg,
                                "t.conf: 'long_running' must not be above 'long_running_critical'");
            continue;
        }
        if (rc != 0)
            fail_msg("'%s': %s", vc->line, err.msg);
        if (fabs(field(&c, vc) - vc->want) > 1e-9)
            fail_msg("'%s': got %g, want %g", vc->line, field(&c, vc), vc->want);
    }
}

struct error_case {
    const char *text;
    const char *msg;
};

static const struct error_case error_cases[] = {
    { "history = 20\n\nfoo = 1\n", "x.conf:3: unknown setting 'foo'" },
    { "history = abc", "x.conf:1: invalid value 'abc' for 'history': expected a whole number" },
    { "history = 2.5", "x.conf:1: invalid value '2.5' for 'history': expected a whole number" },
    { "history = 1000", "x.conf:1: value '1000' for 'history' is out of range (5..240)" },
    { "history =", "x.conf:1: missing value for 'history'" },
    { "history = # nothing", "x.conf:1: missing value for 'history'" },
    { "= 3", "x.conf:1: expected 'name = value'" },
    { "history = '20", "x.conf:1: unterminated quoted value" },
    { "history = '20' 30", "x.conf:1: unexpected text after the quoted value" },
    { "long_running = 10 parsecs",
      "x.conf:1: invalid value '10 parsecs' for 'long_running': expected a duration like 10s, "
      "500ms, 1m, 2h or 1d" },
    { "long_running = -5s",
      "x.conf:1: invalid value '-5s' for 'long_running': expected a duration like 10s, 500ms, "
      "1m, 2h or 1d" },
    { "connections_warning = 80",
      "x.conf:1: invalid value '80' for 'connections_warning': a plain fraction must be at most 1 "
      "(write 80% or 0.8)" },
    { "connections_critical = 150%",
      "x.conf:1: value '150%' for 'connections_critical' is out of range (0.01..1)" },
    { "surge_ratio = inf", "x.conf:1: invalid value 'inf' for 'surge_ratio': expected a number" },
    { "surge_ratio = 1e999",
      "x.conf:1: invalid value '1e999' for 'surge_ratio': expected a number" },
    { "min_history = 40", "x.conf: 'min_history' must not be above 'history'" },
};

static void errors_name_file_and_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        struct detect_config c, before;
        detect_config_init(&c);
        before = c;
        struct err err;
        err_clear(&err);
        const char *t = error_cases[i].text;
        assert_int_equal(detect_config_parse(&c, t, strlen(t), "x.conf", &err), -1);
        assert_int_equal(err.code, ERR_CONFIG);
        if (strcmp(err.msg, error_cases[i].msg) != 0)
            fail_msg("'%s': got '%s'", t, err.msg);
        /* All or nothing: the good first line of a bad file is not applied. */
        assert_memory_equal(&c, &before, sizeof(c));
    }
}

static void where_names_the_line(void **state)
{
    (void)state;
    struct detect_config c;
    detect_config_init(&c);
    struct err err;
    err_clear(&err);
    const char *t = "# thresholds\nhistory = 20\r\nbogus = 1\n";
    assert_int_equal(detect_config_parse(&c, t, strlen(t), "a.conf", &err), -1);
    assert_string_equal(err.where, "a.conf:3");
    assert_string_equal(err.msg, "a.conf:3: unknown setting 'bogus'");
}

static void comments_blank_lines_and_crlf(void **state)
{
    (void)state;
    struct detect_config c;
    detect_config_init(&c);
    struct err err;
    const char t[] = "# a comment\r\n\r\n   \t\nhistory = 40 # forty\r\nbaseline_k = 3.5\n"
                     "alert_clear = '5'   # quoted\nrelearn = 0";
    assert_int_equal(detect_config_parse(&c, t, sizeof(t) - 1, "c.conf", &err), 0);
    assert_int_equal(c.history, 40);
    assert_true(c.baseline_k == 3.5);
    assert_int_equal(c.alert_clear, 5);
    assert_int_equal(c.relearn, 0);
}

static void nul_in_text_is_an_error_not_a_crash(void **state)
{
    (void)state;
    struct detect_config c;
    detect_config_init(&c);
    struct err err;
    const char t[] = "history = 2\0000\n";
    assert_int_equal(detect_config_parse(&c, t, sizeof(t) - 1, "n.conf", &err), -1);
    assert_int_equal(c.history, 30);
}

static void load_reads_a_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sleuth-detect-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *t = "idle_in_transaction = 2m\nconnections_critical = 99%\n";
    assert_int_equal(write(fd, t, strlen(t)), (int)strlen(t));
    close(fd);
    struct detect_config c;
    detect_config_init(&c);
    struct err err;
    err_clear(&err);
    assert_int_equal(detect_config_load(&c, path, &err), 0);
    assert_true(c.idle_in_transaction_s == 120);
    assert_true(c.connections_critical == 0.99);
    unlink(path);

    assert_int_equal(detect_config_load(&c, path, &err), -1);
    assert_int_equal(err.code, ERR_IO);
    char want[128];
    snprintf(want, sizeof(want), "cannot open '%s': No such file or directory", path);
    assert_string_equal(err.msg, want);
}

static void set_overrides_one_key(void **state)
{
    (void)state;
    struct detect_config c;
    detect_config_init(&c);
    struct err err;
    err_clear(&err);
    assert_int_equal(detect_config_set(&c, "long_running", "2m", &err), 0);
    assert_true(c.long_running_s == 120);
    assert_int_equal(detect_config_set_arg(&c, "alert_for_warning=3", &err), 0);
    assert_int_equal(c.alert_for_warning, 3);
    assert_int_equal(detect_config_set_arg(&c, "connections_warning = 85%", &err), 0);
    assert_true(c.connections_warning == 0.85);

    assert_int_equal(detect_config_set(&c, "nope", "1", &err), -1);
    assert_int_equal(err.code, ERR_USAGE);
    assert_string_equal(err.msg, "--set nope: unknown setting 'nope'");
    assert_int_equal(detect_config_set_arg(&c, "history", &err), -1);
    assert_string_equal(err.msg, "--set 'history': expected name=value");
    assert_int_equal(detect_config_set(&c, "connections_warning", "0.99", &err), -1);
    assert_string_equal(err.msg, "--set connections_warning: 'connections_warning' must not be "
                                 "above 'connections_critical'");
    assert_true(c.connections_warning == 0.85);
}

static void dump_loads_back_the_same(void **state)
{
    (void)state;
    struct detect_config c, d;
    detect_config_init(&c);
    struct err err;
    const char *t = "mad_floor = 0.123456789\nlong_running = 1.25s\nconnections_warning = 0.7\n"
                    "latency_min_increase = 0.3ms\nsurge_min_increase = 12.5\n";
    assert_int_equal(detect_config_parse(&c, t, strlen(t), "t", &err), 0);
    struct buf b = BUF_INIT;
    detect_config_dump(&c, &b);
    assert_non_null(strstr(b.ptr, "history = 30\n"));
    assert_non_null(strstr(b.ptr, "connections_warning = 70%\n"));
    assert_non_null(strstr(b.ptr, "latency_min_increase = 0.3ms\n"));
    assert_non_null(strstr(b.ptr, "long_running = 1.25s\n"));
    detect_config_init(&d);
    d.history = 99;
    assert_int_equal(detect_config_parse(&d, b.ptr, b.len, "dump", &err), 0);
    struct buf b2 = BUF_INIT;
    detect_config_dump(&d, &b2);
    assert_string_equal(b.ptr, b2.ptr);
    assert_true(d.mad_floor == 0.123456789);
    assert_int_equal(d.history, 30);
    buf_release(&b);
    buf_release(&b2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_the_documentation),
        cmocka_unit_test(values_parse_with_units),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(where_names_the_line),
        cmocka_unit_test(comments_blank_lines_and_crlf),
        cmocka_unit_test(nul_in_text_is_an_error_not_a_crash),
        cmocka_unit_test(load_reads_a_file),
        cmocka_unit_test(set_overrides_one_key),
        cmocka_unit_test(dump_loads_back_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
