/* Unit tests for input/pgsyslog.c: syslog lines rewritten into records. */
#include "input/pgsyslog.h"

#include "input/logparser.h"
#include "util/buf.h"

#include "../feed.h"
#include "test_util.h"

struct sink {
    struct buf trace;
    size_t events;
};

static void collect(void *ctx, const struct event *ev)
{
    struct sink *s = ctx;
    s->events++;
    buf_addf(&s->trace, "%s %llu %d %lld %lld [%.*s] [%.*s] [%.*s]\n", event_kind_name(ev->kind),
             (unsigned long long)ev->line, ev->pid, (long long)ev->ts_us,
             (long long)ev->duration_us, (int)ev->user.len, ev->user.ptr, (int)ev->statement.len,
             ev->statement.ptr, (int)ev->message.len, ev->message.ptr);
}

static size_t syslog_feed(void *r, const char *buf, size_t len, bool eof, event_fn *emit, void *ctx)
{
    return pgsyslog_feed(r, buf, len, eof, emit, ctx);
}

static const char sample[] =
    "Nov 22 02:32:37 db1 postgres[1668]: [1-1] user=,db= LOG:  database system is ready\n"
    "Nov 22 02:32:38 db1 postgres[1688]: [97-1] user=bench,db=shop LOG:  duration: 666.389 ms  "
    "statement: SELECT g AS id,\n"
    "Nov 22 02:32:38 db1 postgres[1688]: [97-2] #011  val FROM t\n"
    "Nov 22 02:32:39 db1 cron[77]: (root) CMD (run-parts /etc/cron.hourly)\n"
    "2026-11-22T02:32:40.250+00:00 db1 postgres[1700]: [3-1] user=app,db=shop ERROR:  division "
    "by zero\n"
    "2026-11-22T02:32:40.250+00:00 db1 postgres[1700]: [3-2] user=app,db=shop STATEMENT:  SELECT "
    "1/0;\n";

static void rewrites_and_groups(void **state)
{
    (void)state;
    struct err err;
    struct pgprefix *inner = pgprefix_compile("user=%u,db=%d ", &err);
    for (size_t step = 1; step <= sizeof(sample); step += 13) {
        struct pgsyslog_reader r;
        pgsyslog_init(&r, inner, 2026, 0);
        struct sink s = { BUF_INIT, 0 };
        feed_chunked(syslog_feed, &r, sample, strlen(sample), step, collect, &s);
        assert_int_equal(s.events, 4);
        /* A foreign line passes at once; messages wait until they are whole (here: the end). */
        assert_string_equal(
            s.trace.ptr,
            "unparsed 4 0 -9223372036854775808 -1 [] [] [Nov 22 02:32:39 db1 cron[77]: (root) CMD "
            "(run-parts /etc/cron.hourly)]\n"
            "other 1 1668 1795314757000000 -1 [] [] [database system is ready]\n"
            "query 2 1688 1795314758000000 666389 [bench] [SELECT g AS id,\n\t  val FROM t] "
            "[duration: 666.389 ms  statement: SELECT g AS id,\n\t  val FROM t]\n"
            "error 5 1700 1795314760250000 -1 [app] [SELECT 1/0;] [division by zero]\n");
        assert_int_equal(r.line, 7);
        buf_release(&s.trace);
        pgsyslog_release(&r);
    }
    pgprefix_free(inner);
}

static void detects_syslog_and_syncs(void **state)
{
    (void)state;
    assert_true(pgsyslog_detect(sample, strlen(sample)));
    assert_int_equal(logparser_detect(sample, strlen(sample)), LOGFMT_SYSLOG);
    assert_false(pgsyslog_detect("2026-11-22 10:00:00 UTC [1]: LOG:  x\n", 37));
    /* PostgreSQL's stderr with "%t [%p]: [%l-1] " has the shape too, but no IDENT. */
    const char *pg = "2026-11-22 10:00:00 UTC [1]: [1-1] user=,db= LOG:  x\n";
    assert_false(pgsyslog_detect(pg, strlen(pg)));
    /* From the first line, the next message start skips the [97-2] continuation. */
    const char *second = strstr(sample, "[97-2]");
    size_t at = pgsyslog_sync(second, strlen(second));
    assert_true(strncmp(second + at, "2026-11-22T02:32:40.250", 23) == 0);
}

static void detects_the_inner_prefix(void **state)
{
    (void)state;
    struct pgsyslog_reader r;
    pgsyslog_init(&r, NULL, 2026, 0);
    struct sink s = { BUF_INIT, 0 };
    size_t used = pgsyslog_feed(&r, sample, strlen(sample), true, collect, &s);
    assert_int_equal(used, strlen(sample));
    assert_int_equal(s.events, 4);
    assert_non_null(strstr(s.trace.ptr, "query 2 1688 1795314758000000 666389 [bench]"));
    buf_release(&s.trace);
    pgsyslog_release(&r);
}

/*
 * The server's prefix is decided on the first detect_bytes of rewritten
 * lines, whatever the feeds: 20 lines under one prefix, then 60 under
 * another, decided on 1 kB or on all of them.
 */
static void decides_the_inner_prefix_on_detect_bytes(void **state)
{
    (void)state;
    struct buf log = BUF_INIT;
    for (int i = 1; i <= 80; i++)
        buf_addf(&log,
                 i <= 20
                     ? "Nov 22 02:32:38 db1 postgres[10]: [%d-1] user=a,db=shop LOG:  duration: "
                       "1.000 ms  statement: SELECT 1\n"
                     : "Nov 22 02:32:38 db1 postgres[10]: [%d-1] db=shop,user=a LOG:  duration: "
                       "1.000 ms  statement: SELECT 1\n",
                 i);
    for (size_t step = 7; step < log.len + 7; step += 601)
        for (size_t detect = 1024; detect <= PGSYSLOG_DETECT_BYTES; detect *= 64) {
            struct pgsyslog_reader r;
            pgsyslog_init(&r, NULL, 2026, 0);
            r.detect_bytes = detect;
            struct sink s = { BUF_INIT, 0 };
            feed_chunked(syslog_feed, &r, log.ptr, log.len, step, collect, &s);
            assert_string_equal(pgprefix_spec(r.inner),
                                detect == 1024 ? "user=%u,db=%d " : "db=%d,user=%u ");
            buf_release(&s.trace);
            pgsyslog_release(&r);
        }
    buf_release(&log);
}

/* Two backends whose parts interleave: each part joins its own pid's message N. */
static const char interleaved[] =
    "Nov 22 02:32:38 db1 postgres[10]: [5-1] user=a,db=shop LOG:  duration: 1.000 ms  "
    "statement: SELECT 1\n"
    "Nov 22 02:32:38 db1 postgres[20]: [7-1] user=b,db=shop LOG:  duration: 2.000 ms  "
    "statement: SELECT 2\n"
    "Nov 22 02:32:38 db1 postgres[10]: [5-2] #011FROM ten\n"
    "Nov 22 02:32:38 db1 postgres[20]: [7-2] #011FROM twenty\n"
    "Nov 22 02:32:38 db1 postgres[20]: [7-3] #011WHERE true\n"
    "Nov 22 02:32:38 db1 postgres[10]: [6-1] user=a,db=shop LOG:  duration: 3.000 ms  "
    "statement: SELECT 3\n";

static void joins_parts_by_pid_and_number(void **state)
{
    (void)state;
    struct err err;
    struct pgprefix *inner = pgprefix_compile("user=%u,db=%d ", &err);
    for (size_t step = 1; step <= sizeof(interleaved); step += 7) {
        struct pgsyslog_reader r;
        pgsyslog_init(&r, inner, 2026, 0);
        struct sink s = { BUF_INIT, 0 };
        feed_chunked(syslog_feed, &r, interleaved, strlen(interleaved), step, collect, &s);
        assert_string_equal(s.trace.ptr,
                            "query 1 10 1795314758000000 1000 [a] [SELECT 1\n\tFROM ten] "
                            "[duration: 1.000 ms  statement: SELECT 1\n\tFROM ten]\n"
                            "query 2 20 1795314758000000 2000 [b] [SELECT 2\n\tFROM "
                            "twenty\n\tWHERE true] [duration: 2.000 ms  statement: SELECT "
                            "2\n\tFROM twenty\n\tWHERE true]\n"
                            "query 6 10 1795314758000000 3000 [a] [SELECT 3] [duration: 3.000 ms "
                            " statement: SELECT 3]\n");
        assert_int_equal(r.line, 7);
        buf_release(&s.trace);
        pgsyslog_release(&r);
    }
    pgprefix_free(inner);
}

/*
 * A message whose process falls silent is let out after PGSYSLOG_OPEN_WINDOW
 * lines, not at the end; when is counted in lines, so the events are the
 * same however the input is cut.
 */
static void quiet_message_is_let_out_by_lines(void **state)
{
    (void)state;
    struct buf log = BUF_INIT;
    buf_addstr(&log, "Nov 22 02:32:38 db1 postgres[99]: [1-1] user=a,db=shop LOG:  duration: 9.000 "
                     "ms  statement: SELECT 99\n");
    for (int i = 1; i <= 200; i++) {
        int pid = 10 + i % 3;
        buf_addf(&log,
                 "Nov 22 02:32:39 db1 postgres[%d]: [%d-1] user=b,db=shop LOG:  duration: 1.000 "
                 "ms  statement: SELECT %d\n",
                 pid, i, i);
        if (i > 1)
            buf_addf(&log, "Nov 22 02:32:39 db1 postgres[%d]: [%d-2] #011FROM t\n",
                     10 + (i - 1) % 3, i - 1);
    }
    struct buf whole = BUF_INIT;
    struct err err;
    struct pgprefix *inner = pgprefix_compile("user=%u,db=%d ", &err);
    for (size_t step = 0; step < 3; step++) {
        static const size_t chunks[] = { 1u << 20, 4096, 333 };
        struct pgsyslog_reader r;
        pgsyslog_init(&r, inner, 2026, 0);
        struct sink s = { BUF_INIT, 0 };
        feed_chunked(syslog_feed, &r, log.ptr, log.len, chunks[step], collect, &s);
        assert_int_equal(s.events, 201);
        /* The silent process's message comes out before the last of the others. */
        const char *silent = strstr(s.trace.ptr, "SELECT 99]"),
                   *last = strstr(s.trace.ptr, "SELECT 200]");
        assert_true(silent && last && silent < last);
        assert_non_null(strstr(s.trace.ptr, "query 1 99 "));
        if (step == 0)
            buf_addslice(&whole, str_make(s.trace.ptr, s.trace.len));
        else
            assert_string_equal(s.trace.ptr, whole.ptr);
        buf_release(&s.trace);
        pgsyslog_release(&r);
    }
    pgprefix_free(inner);
    buf_release(&whole);
    buf_release(&log);
}

/* The other time stamps and RFC 5424, one message each; the year-first ones carry their year. */
static void reads_other_flavours(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        long long ts_us;
    } cases[] = {
        { "Nov 22 02:28:00.123456 db1 postgres[123]: [4-1] user=a,db=shop LOG:  duration: 1.500 "
          "ms  statement: SELECT 1\n",
          1795314480123456LL },
        { "<134>1 2025-11-22T02:28:00.123+00:00 db1 postgres 123 - - [4-1] user=a,db=shop LOG:  "
          "duration: 1.500 ms  statement: SELECT 1\n",
          1763778480123000LL },
        { "<134>1 2025-11-22T03:28:00.123+01:00 db1 postgres 123 - [meta seq=\"1\"] [4-1] "
          "user=a,db=shop LOG:  duration: 1.500 ms  statement: SELECT 1\n",
          1763778480123000LL },
        { "2025-11-22 02:28:00 db1 postgres[123]: [4-1] user=a,db=shop LOG:  duration: 1.500 ms  "
          "statement: SELECT 1\n",
          1763778480000000LL },
        { "2025-11-22T02:28:00.123456+00:00 db1 postgres[123]: [4-1] user=a,db=shop LOG:  "
          "duration: 1.500 ms  statement: SELECT 1\n",
          1763778480123456LL },
        { "<30>Nov 22 02:28:00 db1 postgres[123]: [4-1] user=a,db=shop LOG:  duration: 1.500 ms  "
          "statement: SELECT 1\n",
          1795314480000000LL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *l = cases[i].line;
        assert_true(pgsyslog_detect(l, strlen(l)));
        assert_int_equal(logparser_detect(l, strlen(l)), LOGFMT_SYSLOG);
        struct pgsyslog_reader r;
        pgsyslog_init(&r, NULL, 2026, 0);
        struct sink s = { BUF_INIT, 0 };
        pgsyslog_feed(&r, l, strlen(l), true, collect, &s);
        char want[160];
        snprintf(want, sizeof(want),
                 "query 1 123 %lld 1500 [a] [SELECT 1] [duration: 1.500 ms  "
                 "statement: SELECT 1]\n",
                 cases[i].ts_us);
        assert_string_equal(s.trace.ptr, want);
        buf_release(&s.trace);
        pgsyslog_release(&r);
    }
}

/* Heroku: logplex as "heroku logs" shows it (no host) and as a drain gets it (RFC 5424). */
static const char logplex[] =
    "2026-11-22T02:32:38.000000+00:00 app[postgres.1688]: [HEROKU_POSTGRESQL_RED] [97-1] "
    "sql_error_code = 00000 LOG:  duration: 2.000 ms  statement: SELECT 2\n"
    "<134>1 2026-11-22T02:32:39+00:00 host app postgres.1700 - [DATABASE] [3-1] sql_error_code = "
    "42P01 ERROR:  relation \"nope\" does not exist\n"
    "2026-11-22T02:32:40+00:00 app[web.1]: Completed 200 OK in 5ms\n";

static void reads_logplex(void **state)
{
    (void)state;
    assert_true(pgsyslog_detect(logplex, strlen(logplex)));
    struct pgsyslog_reader r;
    pgsyslog_init(&r, NULL, 2026, 0);
    struct sink s = { BUF_INIT, 0 };
    assert_int_equal(pgsyslog_feed(&r, logplex, strlen(logplex), true, collect, &s),
                     strlen(logplex));
    assert_string_equal(s.trace.ptr,
                        "unparsed 3 0 -9223372036854775808 -1 [] [] [2026-11-22T02:32:40+00:00 "
                        "app[web.1]: Completed 200 OK in 5ms]\n"
                        "query 1 1688 1795314758000000 2000 [] [SELECT 2] [duration: 2.000 ms  "
                        "statement: SELECT 2]\n"
                        "error 2 1700 1795314759000000 -1 [] [] [relation \"nope\" does not "
                        "exist]\n");
    assert_string_equal(pgprefix_spec(r.inner), "sql_error_code = %e ");
    buf_release(&s.trace);
    pgsyslog_release(&r);
}

/* Cloud SQL's Cloud Logging entries: the record in textPayload, continuation lines inside it. */
static const char cloudsql[] =
    "{\"insertId\": \"a\", \"textPayload\": \"2026-11-22 02:32:38.000 UTC [1688]: [3-1] "
    "db=shop,user=app LOG:  duration: 2.000 ms  statement: SELECT 2\\n\\tFROM t\", "
    "\"severity\": \"INFO\"}\n"
    "{\"insertId\": \"b\", \"jsonPayload\": {\"message\": \"no record\"}}\n"
    "{\"textPayload\": \"2026-11-22 02:32:39.000 UTC [1700]: [1-1] db=shop,user=app ERROR:  "
    "boom\"}\n"
    "{\"textPayload\": \"2026-11-22 02:32:39.000 UTC [1700]: [2-1] db=shop,user=app STATEMENT:  "
    "SELECT boom()\"}\n";

static void reads_cloudsql_entries(void **state)
{
    (void)state;
    assert_true(pgsyslog_detect(cloudsql, strlen(cloudsql)));
    assert_int_equal(logparser_detect(cloudsql, strlen(cloudsql)), LOGFMT_SYSLOG);
    for (size_t step = 1; step <= sizeof(cloudsql); step += 17) {
        struct pgsyslog_reader r;
        pgsyslog_init(&r, NULL, 2026, 0);
        struct sink s = { BUF_INIT, 0 };
        feed_chunked(syslog_feed, &r, cloudsql, strlen(cloudsql), step, collect, &s);
        assert_string_equal(s.trace.ptr,
                            "query 1 1688 1795314758000000 2000 [app] [SELECT 2\n\tFROM t] "
                            "[duration: 2.000 ms  statement: SELECT 2\n\tFROM t]\n"
                            "unparsed 2 0 -9223372036854775808 -1 [] [] [{\"insertId\": \"b\", "
                            "\"jsonPayload\": {\"message\": \"no record\"}}]\n"
                            "error 3 1700 1795314759000000 -1 [app] [SELECT boom()] [boom]\n");
        assert_string_equal(pgprefix_spec(r.inner), "[%l-1] db=%d,user=%u ");
        assert_int_equal(r.line, 5);
        buf_release(&s.trace);
        pgsyslog_release(&r);
    }
    /* A worker starting mid-log begins at a record, not at the STATEMENT entry of one. */
    const char *second = strstr(cloudsql, "{\"insertId\": \"b\"");
    size_t at = pgsyslog_sync(second, strlen(second));
    static const char want[] = "{\"textPayload\": \"2026-11-22 02:32:39.000 UTC [1700]: [1-1]";
    assert_true(strncmp(second + at, want, strlen(want)) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rewrites_and_groups),
        cmocka_unit_test(detects_syslog_and_syncs),
        cmocka_unit_test(detects_the_inner_prefix),
        cmocka_unit_test(decides_the_inner_prefix_on_detect_bytes),
        cmocka_unit_test(joins_parts_by_pid_and_number),
        cmocka_unit_test(quiet_message_is_let_out_by_lines),
        cmocka_unit_test(reads_other_flavours),
        cmocka_unit_test(reads_logplex),
        cmocka_unit_test(reads_cloudsql_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
