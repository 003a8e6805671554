/*
 * Unit tests for input/logparser.c, the one entry point for every log
 * format: format detection on the real logs in SLEUTH_DATA, the decision on
 * the first feed, line numbers and the prefix in use.
 */
#include "input/logparser.h"

#include "util/compat.h"

#include "../feed.h"
#include "test_util.h"

/* The log_line_prefix of the real logs (tests/data/README.pgbench.md). */
#define REAL_PREFIX "%t [%p]: user=%u,db=%d,app=%a,client=%h "

/* The first n bytes of a gzip-compressed file (n or fewer). */
static char *read_head(const char *path, size_t n, size_t *len)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "gzip -dc '%s' | head -c %zu", path, n);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *buf = malloc(n);
    *len = fread(buf, 1, n, f);
    assert_int_equal(pclose(f), 0);
    return buf;
}

struct counts {
    size_t kinds[EV__COUNT];
    uint64_t first_line, last_line;
    size_t events;
};

static void count(void *ctx, const struct event *ev)
{
    struct counts *c = ctx;
    c->kinds[ev->kind]++;
    if (!c->events++)
        c->first_line = ev->line;
    c->last_line = ev->line;
}

static size_t parser_feed(void *p, const char *buf, size_t len, bool eof, event_fn *emit, void *ctx)
{
    return logparser_feed(p, buf, len, eof, emit, ctx);
}

static void detect_real_logs(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        enum log_format want;
    } cases[] = {
        { "pgbench-stderr.log.gz", LOGFMT_STDERR },
        { "pgbench.csv.gz", LOGFMT_CSV },
        { "pgbench.json.gz", LOGFMT_JSON },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        size_t len;
        char *head = read_head(test_data_path(cases[i].file), 64 * 1024, &len);
        assert_int_equal(len, 64 * 1024);
        assert_int_equal(logparser_detect(head, len), cases[i].want);
        /* The first line alone is enough. */
        size_t first = (size_t)((char *)memchr(head, '\n', len) - head) + 1;
        assert_int_equal(logparser_detect(head, first), cases[i].want);
        free(head);
    }
}

static void detect_inline_samples(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum log_format want;
    } cases[] = {
        { "Nov 22 02:32:37 db1 postgres[1668]: [1-1] user=,db= LOG:  database system is ready "
          "to accept connections\n",
          LOGFMT_SYSLOG },
        { "2026-11-22T02:32:40.250+00:00 db1 postgres[1700]: [3-1] user=app,db=shop ERROR:  "
          "division by zero\n",
          LOGFMT_SYSLOG },
        { "\n\r\n  {\"timestamp\":\"2026-11-22 02:32:37.361 UTC\",\"pid\":1668}\n", LOGFMT_JSON },
        { "2026-11-22 02:32:37.361 UTC,,,1668,,6b025445.684,1,,2026-11-22 02:32:37 UTC,,0,LOG,"
          "00000,\"ready\",,,,,,,,,\"\",\"postmaster\",,0\n",
          LOGFMT_CSV },
        { "2026-11-22 02:32:37.361 UTC [1668] LOG:  ready\n", LOGFMT_STDERR },
        /* Nothing fits: stderr, read with the loose prefix. */
        { "hello world\n", LOGFMT_STDERR },
        { "", LOGFMT_STDERR },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        if (logparser_detect(cases[i].text, strlen(cases[i].text)) != cases[i].want)
            fail_msg("case %zu: detected %s, want %s", i,
                     log_format_name(logparser_detect(cases[i].text, strlen(cases[i].text))),
                     log_format_name(cases[i].want));
}

/*
 * The stderr log through a LOGFMT_AUTO parser in 1 MB windows gives the
 * counts that test_pgstderr.c's real_log_counts gets with the prefix given
 * (counted there with grep on the decompressed log).
 */
static void auto_parser_reads_the_real_stderr_log(void **state)
{
    (void)state;
    size_t len;
    char *log = test_read_gz(test_data_path("pgbench-stderr.log.gz"), &len);
    struct logparser *p = logparser_new(LOGFMT_AUTO, NULL, 3);
    assert_int_equal(logparser_format(p), LOGFMT_AUTO);
    assert_null(logparser_prefix(p));
    struct counts c = { 0 };
    feed_chunked(parser_feed, p, log, len, 1 << 20, count, &c);
    assert_int_equal(logparser_format(p), LOGFMT_STDERR);
    assert_non_null(logparser_prefix(p));
    assert_string_equal(pgprefix_spec(logparser_prefix(p)), REAL_PREFIX);
    assert_int_equal(c.kinds[EV_QUERY], 60852 + 41130 + 17622 + 41130);
    assert_int_equal(c.kinds[EV_ERROR], 112);
    assert_int_equal(c.kinds[EV_LOCK_WAIT], 5);
    assert_int_equal(c.kinds[EV_LOCK_ACQUIRED], 5);
    assert_int_equal(c.kinds[EV_CONNECT], 2116);
    assert_int_equal(c.kinds[EV_CONN_RECEIVED], 2116);
    assert_int_equal(c.kinds[EV_DISCONNECT], 2116);
    assert_int_equal(c.kinds[EV_CHECKPOINT], 1);
    assert_int_equal(c.kinds[EV_TEMP_FILE], 90);
    assert_int_equal(c.kinds[EV_AUTOVACUUM], 12);
    assert_int_equal(c.kinds[EV_AUTOANALYZE], 22);
    assert_int_equal(c.kinds[EV_UNPARSED], 0);
    /*
     * `gzip -dc pgbench-stderr.log.gz | wc -l` is 225891, and the log ends with a
     * newline: the next feed would start on line 225892.
     */
    assert_true(logparser_line(p) == 225891 + 1);
    assert_true(c.first_line == 1);
    logparser_free(p);
    free(log);
}

static const char small_log[] =
    "2026-11-22 02:32:47 UTC [7]: user=a,db=b,app=c,client=d LOG:  duration: 2.500 ms  "
    "statement: SELECT a,\n"
    "\t       b\n"
    "\tFROM t\n"
    "2026-11-22 02:32:49 UTC [9]: user=a,db=b,app=c,client=d ERROR:  division by zero\n"
    "2026-11-22 02:32:49 UTC [9]: user=a,db=b,app=c,client=d STATEMENT:  SELECT 1/0;\n"
    "2026-11-22 02:32:50 UTC [10]: user=a,db=b,app=c,client=d LOG:  duration: 9.000 ms  "
    "statement: SELECT 2\n";

static void decides_on_64_kb_or_at_eof(void **state)
{
    (void)state;
    struct logparser *p = logparser_new(LOGFMT_AUTO, NULL, 0);
    struct counts c = { 0 };
    /* Under 64 KB and not at the end: wait for more, decide nothing. */
    assert_int_equal(logparser_feed(p, small_log, strlen(small_log), false, count, &c), 0);
    assert_int_equal(c.events, 0);
    assert_int_equal(logparser_format(p), LOGFMT_AUTO);
    assert_null(logparser_prefix(p));
    assert_true(logparser_line(p) == 1);
    /* At the end it decides on what there is and uses everything. */
    assert_int_equal(logparser_feed(p, small_log, strlen(small_log), true, count, &c),
                     strlen(small_log));
    assert_int_equal(logparser_format(p), LOGFMT_STDERR);
    assert_string_equal(pgprefix_spec(logparser_prefix(p)), REAL_PREFIX);
    assert_int_equal(c.events, 3);
    assert_int_equal(c.kinds[EV_QUERY], 2);
    assert_int_equal(c.kinds[EV_ERROR], 1);
    assert_true(logparser_line(p) == 7); /* six lines read */
    logparser_free(p);
}

static void set_line_numbers_the_next_feed(void **state)
{
    (void)state;
    struct logparser *p = logparser_new(LOGFMT_STDERR, NULL, 0);
    logparser_set_line(p, 100);
    assert_true(logparser_line(p) == 100);
    struct counts c = { 0 };
    assert_int_equal(logparser_feed(p, small_log, strlen(small_log), true, count, &c),
                     strlen(small_log));
    assert_true(c.first_line == 100);
    assert_true(c.last_line == 105); /* the third record starts on the sixth line */
    assert_true(logparser_line(p) == 106);
    logparser_free(p);
}

static void prefix_given_is_the_prefix_used(void **state)
{
    (void)state;
    struct err err;
    struct pgprefix *given = pgprefix_compile("%m [%p] ", &err);
    assert_non_null(given);
    struct logparser *p = logparser_new(LOGFMT_STDERR, given, 0);
    pgprefix_free(given); /* the parser keeps its own copy */
    assert_string_equal(pgprefix_spec(logparser_prefix(p)), "%m [%p] ");
    static const char text[] = "2026-11-22 02:32:47.123 UTC [7] LOG:  duration: 1.000 ms  "
                               "statement: SELECT 1\n";
    struct counts c = { 0 };
    assert_int_equal(logparser_feed(p, text, strlen(text), true, count, &c), strlen(text));
    assert_int_equal(c.kinds[EV_QUERY], 1);
    assert_string_equal(pgprefix_spec(logparser_prefix(p)), "%m [%p] ");
    logparser_free(p);
}

static void syslog_prefix_is_what_follows_the_line_number(void **state)
{
    (void)state;
    static const char text[] =
        "Nov 22 02:32:38 db1 postgres[1688]: [97-1] user=bench,db=shop LOG:  duration: 666.389 "
        "ms  statement: SELECT 1\n"
        "Nov 22 02:32:39 db1 postgres[1700]: [3-1] user=app,db=shop ERROR:  division by zero\n"
        "Nov 22 02:32:39 db1 postgres[1700]: [3-2] user=app,db=shop STATEMENT:  SELECT 1/0;\n";
    struct logparser *p = logparser_new(LOGFMT_AUTO, NULL, 0);
    struct counts c = { 0 };
    assert_int_equal(logparser_feed(p, text, strlen(text), true, count, &c), strlen(text));
    assert_int_equal(logparser_format(p), LOGFMT_SYSLOG);
    assert_non_null(logparser_prefix(p));
    assert_string_equal(pgprefix_spec(logparser_prefix(p)), "user=%u,db=%d ");
    assert_int_equal(c.kinds[EV_QUERY], 1);
    assert_int_equal(c.kinds[EV_ERROR], 1);
    logparser_free(p);
}

static void csv_and_json_have_no_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        enum log_format want;
    } cases[] = {
        { "pgbench.csv.gz", LOGFMT_CSV },
        { "pgbench.json.gz", LOGFMT_JSON },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        size_t len;
        char *head = read_head(test_data_path(cases[i].file), 64 * 1024, &len);
        struct logparser *p = logparser_new(LOGFMT_AUTO, NULL, 0);
        struct counts c = { 0 };
        /* Not at eof: it uses the complete records and keeps the cut one. */
        size_t used = logparser_feed(p, head, len, false, count, &c);
        assert_true(used > 0 && used < len);
        assert_true(head[used - 1] == '\n');
        assert_int_equal(logparser_format(p), cases[i].want);
        assert_null(logparser_prefix(p));
        assert_true(c.kinds[EV_UNPARSED] == 0);
        assert_true(c.events > 100);
        logparser_free(p);
        free(head);
    }
}

/* Three formats one after the other, as `cat a.log b.csv c.json d.log` makes. */
static const char mixed_log[] =
    "2026-11-22 02:32:47 UTC [7]: user=a,db=b,app=c,client=d LOG:  duration: 2.500 ms  "
    "statement: SELECT 1\n"
    "2026-11-22 02:32:37.457 UTC,\"postgres\",\"postgres\",1679,\"[local]\",6b025445.68f,3,"
    "\"CREATE ROLE\",2026-11-22 02:32:37 UTC,3/0,0,LOG,00000,\"duration: 0.280 ms  statement: "
    "CREATE ROLE bench LOGIN;\",,,,,,,,,\"psql\",\"client backend\",,0\n"
    "2026-11-22 02:32:37.458 UTC,\"postgres\",\"postgres\",1679,\"[local]\",6b025445.68f,4,"
    "\"SELECT\",2026-11-22 02:32:37 UTC,3/0,0,ERROR,22012,\"division by zero\",,,,,,\"SELECT "
    "1/0;\",,,\"psql\",\"client backend\",,0\n"
    "{\"timestamp\":\"2026-11-22 02:32:37.459 UTC\",\"user\":\"postgres\",\"dbname\":\"postgres\","
    "\"pid\":1679,\"error_severity\":\"LOG\",\"message\":\"duration: 0.041 ms  statement: "
    "SELECT 2\",\"application_name\":\"psql\"}\n"
    "2026-11-22 02:32:50 UTC [10]: user=a,db=b,app=c,client=d LOG:  duration: 9.000 ms  "
    "statement: SELECT 3\n"
    "\tFROM t\n";

static size_t render_mixed(const char *log, size_t len, size_t chunk, struct buf *out,
                           unsigned *seen)
{
    struct logparser *p = logparser_new(LOGFMT_STDERR, NULL, 0);
    if (chunk)
        feed_chunked(parser_feed, p, log, len, chunk, feed_render, out);
    else
        assert_int_equal(logparser_feed(p, log, len, true, feed_render, out), len);
    *seen = logparser_formats_seen(p);
    size_t lines = (size_t)logparser_line(p) - 1;
    logparser_free(p);
    return lines;
}

static void format_changes_mid_log(void **state)
{
    (void)state;
    size_t len = strlen(mixed_log);
    struct buf whole = BUF_INIT;
    unsigned seen;
    assert_int_equal(render_mixed(mixed_log, len, 0, &whole, &seen), 6);
    assert_int_equal(seen, 1u << LOGFMT_STDERR | 1u << LOGFMT_CSV | 1u << LOGFMT_JSON);
    assert_string_equal(log_formats_name(LOGFMT_STDERR, seen), "stderr+csvlog+jsonlog");
    /* Five records; nothing unparsed. */
    struct logparser *p = logparser_new(LOGFMT_STDERR, NULL, 0);
    struct counts c = { 0 };
    assert_int_equal(logparser_feed(p, mixed_log, len, true, count, &c), len);
    assert_int_equal(c.kinds[EV_QUERY], 4);
    assert_int_equal(c.kinds[EV_ERROR], 1);
    assert_int_equal(c.kinds[EV_UNPARSED], 0);
    assert_true(c.first_line == 1 && c.last_line == 5); /* SELECT 3 starts on line 5 */
    logparser_free(p);
    /* However the log is cut into feeds, the same events. */
    for (size_t chunk = 1; chunk <= 97; chunk += 8) {
        struct buf cut = BUF_INIT;
        assert_int_equal(render_mixed(mixed_log, len, chunk, &cut, &seen), 6);
        assert_string_equal(cut.ptr, whole.ptr);
        buf_release(&cut);
    }
    buf_release(&whole);
    /* The format named by the user is kept: the other lines are counted, not read. */
    p = logparser_new(LOGFMT_STDERR, NULL, 0);
    logparser_keep_format(p);
    memset(&c, 0, sizeof(c));
    logparser_feed(p, mixed_log, len, true, count, &c);
    assert_int_equal(c.kinds[EV_QUERY], 2);
    assert_int_equal(c.kinds[EV_UNPARSED], 3);
    assert_int_equal(logparser_formats_seen(p), 1u << LOGFMT_STDERR);
    logparser_free(p);
}

/* A jsonlog record, then stderr whose first line alone would suggest a longer prefix. */
static const char json_then_stderr[] =
    "{\"timestamp\":\"2026-11-22 02:32:37.459 UTC\",\"user\":\"postgres\",\"dbname\":\"postgres\","
    "\"pid\":1679,\"error_severity\":\"LOG\",\"message\":\"duration: 0.041 ms  statement: "
    "SELECT 2\",\"application_name\":\"psql\"}\n"
    "2026-11-22 02:32:38.100 UTC [42] LOG:  checkpoint starting: time\n"
    "2026-11-22 02:32:38.200 UTC [43] app@shop LOG:  duration: 1.000 ms  statement: SELECT 1\n"
    "2026-11-22 02:32:38.300 UTC [44] app@shop LOG:  duration: 2.000 ms  statement: SELECT 2\n"
    "2026-11-22 02:32:38.400 UTC [45] app@shop LOG:  duration: 3.000 ms  statement: SELECT 3\n"
    "2026-11-22 02:32:38.500 UTC [46] app@shop LOG:  duration: 4.000 ms  statement: SELECT 4\n";

/*
 * Where the format changes, the new reader decides its prefix on the next
 * detect bytes, not on what the caller's buffer happens to hold past the
 * change: the same prefix and events however the log is cut.
 */
static void prefix_after_a_change_of_format_is_decided_on_detect_bytes(void **state)
{
    (void)state;
    size_t len = strlen(json_then_stderr);
    struct buf whole = BUF_INIT;
    for (size_t chunk = 0; chunk <= 400; chunk += 7) {
        struct logparser *p = logparser_new(LOGFMT_AUTO, NULL, 0);
        logparser_set_detect_bytes(p, 300); /* more than two stderr lines */
        struct buf out = BUF_INIT;
        if (chunk)
            feed_chunked(parser_feed, p, json_then_stderr, len, chunk, feed_render, &out);
        else
            assert_int_equal(logparser_feed(p, json_then_stderr, len, true, feed_render, &out),
                             len);
        char *const *specs;
        size_t n = logparser_prefixes(p, &specs);
        if (n != 1 || strcmp(specs[0], "%m [%p] %q%u@%d ") != 0)
            fail_msg("chunk %zu: %zu prefixes, first %s", chunk, n, n ? specs[0] : "-");
        assert_int_equal(logparser_formats_seen(p), 1u << LOGFMT_STDERR | 1u << LOGFMT_JSON);
        if (!chunk)
            buf_add(&whole, out.ptr, out.len);
        else if (out.len != whole.len || memcmp(out.ptr, whole.ptr, whole.len) != 0)
            fail_msg("chunk %zu: other events than the whole log's", chunk);
        buf_release(&out);
        logparser_free(p);
    }
    buf_release(&whole);
}

static void format_names(void **state)
{
    (void)state;
    static const struct {
        enum log_format f;
        const char *name;
    } cases[] = {
        { LOGFMT_AUTO, "auto" },    { LOGFMT_STDERR, "stderr" }, { LOGFMT_CSV, "csvlog" },
        { LOGFMT_JSON, "jsonlog" }, { LOGFMT_SYSLOG, "syslog" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_string_equal(log_format_name(cases[i].f), cases[i].name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(detect_real_logs),
        cmocka_unit_test(detect_inline_samples),
        cmocka_unit_test(auto_parser_reads_the_real_stderr_log),
        cmocka_unit_test(decides_on_64_kb_or_at_eof),
        cmocka_unit_test(set_line_numbers_the_next_feed),
        cmocka_unit_test(prefix_given_is_the_prefix_used),
        cmocka_unit_test(syslog_prefix_is_what_follows_the_line_number),
        cmocka_unit_test(csv_and_json_have_no_prefix),
        cmocka_unit_test(format_changes_mid_log),
        cmocka_unit_test(prefix_after_a_change_of_format_is_decided_on_detect_bytes),
        cmocka_unit_test(format_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
