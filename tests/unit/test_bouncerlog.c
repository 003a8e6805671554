/* Unit tests for input/bouncerlog.c: PgBouncer's log lines into events. */
#include "input/bouncerlog.h"

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
    buf_addf(&s->trace, "%s %llu %s %d %lld %lld f%u [%.*s/%.*s@%.*s] [%.*s]",
             event_kind_name(ev->kind), (unsigned long long)ev->line, severity_name(ev->severity),
             ev->pid, (long long)ev->ts_us, (long long)ev->duration_us, ev->flags, (int)ev->db.len,
             ev->db.ptr, (int)ev->user.len, ev->user.ptr, (int)ev->client.len, ev->client.ptr,
             (int)ev->message.len, ev->message.ptr);
    if (ev->pool)
        buf_addf(&s->trace, " %lld %lld %lld %lld %lld", (long long)ev->pool->xacts_per_s,
                 (long long)ev->pool->queries_per_s, (long long)ev->pool->xact_us,
                 (long long)ev->pool->query_us, (long long)ev->pool->wait_us);
    buf_addch(&s->trace, '\n');
}

static size_t bouncer_feed(void *r, const char *buf, size_t len, bool eof, event_fn *emit,
                           void *ctx)
{
    return bouncerlog_feed(r, buf, len, eof, emit, ctx);
}

/* 2026-12-07 06:59:13.936 UTC is 1796626753936000 µs. */
static const char sample[] =
    "2026-12-07 06:59:13.936 UTC [1458] LOG stats: 40 xacts/s, 41 queries/s, in 2679 B/s, out "
    "2586 B/s, xact 614 us, query 600 us, wait 195 us\n"
    "2026-12-07 06:59:31.276 UTC [1458] WARNING C-0x559cfeba1d00: (nodb)/(nouser)@unix(1639):6432 "
    "pooler error: no more connections allowed (max_client_conn)\n"
    "\n"
    "2026-12-07 06:59:44.601 UTC [1458] LOG C-0x559cfeba0080: shop/app@10.0.0.7:40112 closing "
    "because: query_wait_timeout (age=20s)\n"
    "2026-12-07 06:59:44.601 UTC [1458] WARNING C-0x559cfeba0080: shop/app@10.0.0.7:40112 pooler "
    "error: query_wait_timeout\n"
    "2026-12-07 06:59:45.000 UTC [1458] WARNING C-0x559cfeba0080: shop/app@[::1]:40113 pooler "
    "error: query_timeout\n"
    "2026-12-07 06:59:46.000 UTC [1458] ERROR accept() failed: Too many open files\n"
    "2026-12-07 06:59:47.000 UTC [1458] LOG:  a PostgreSQL line, not PgBouncer's\n"
    "2017-03-01 10:00:00.000 2345 LOG Stats: 12 req/s, in 100 b/s, out 200 b/s,query 1500 us\n";

static const char want[] =
    "pool_stats 1 LOG 0 1796626753936000 -1 f0 [/@] [stats: 40 xacts/s, 41 queries/s, in 2679 "
    "B/s, out 2586 B/s, xact 614 us, query 600 us, wait 195 us] 40 41 614 600 195\n"
    "error 2 ERROR 0 1796626771276000 -1 f16 [/@unix(1639)] [pooler error: no more connections "
    "allowed (max_client_conn)]\n"
    "other 4 LOG 0 1796626784601000 20000000 f32 [shop/app@10.0.0.7] [closing because: "
    "query_wait_timeout (age=20s)]\n"
    "error 5 ERROR 0 1796626784601000 -1 f16 [shop/app@10.0.0.7] [pooler error: "
    "query_wait_timeout]\n"
    "error 6 ERROR 0 1796626785000000 -1 f0 [shop/app@[::1]] [pooler error: query_timeout]\n"
    "error 7 ERROR 0 1796626786000000 -1 f0 [/@] [accept() failed: Too many open files]\n"
    "unparsed 8  0 -9223372036854775808 -1 f0 [/@] [2026-12-07 06:59:47.000 UTC [1458] LOG:  "
    "a PostgreSQL line, not PgBouncer's]\n"
    "pool_stats 9 LOG 0 1488362400000000 -1 f0 [/@] [Stats: 12 req/s, in 100 b/s, out 200 "
    "b/s,query 1500 us] 0 12 0 1500 0\n";

static void reads_every_kind_of_line(void **state)
{
    (void)state;
    for (size_t step = 1; step <= sizeof(sample); step += 11) {
        struct bouncerlog_reader r;
        bouncerlog_init(&r, 0);
        struct sink s = { BUF_INIT, 0 };
        feed_chunked(bouncer_feed, &r, sample, strlen(sample), step, collect, &s);
        assert_string_equal(s.trace.ptr, want);
        assert_int_equal(s.events, 8);
        assert_int_equal(r.line, 10);
        buf_release(&s.trace);
    }
}

static void detects_and_syncs(void **state)
{
    (void)state;
    assert_int_equal(logparser_detect(sample, strlen(sample)), LOGFMT_PGBOUNCER);
    /* PostgreSQL's "%m [%p] " prefix has the same head, with a colon after the level. */
    const char *pg = "2026-12-07 06:59:47.000 UTC [1458] LOG:  statement: SELECT 1\n";
    assert_int_equal(logparser_detect(pg, strlen(pg)), LOGFMT_STDERR);
    assert_false(bouncerlog_is_line(pg, strlen(pg) - 1));
    assert_true(bouncerlog_is_line(sample, (size_t)(strchr(sample, '\n') - sample)));
    /* From the middle of a line, the next line that is PgBouncer's. */
    const char *mid = strstr(sample, "pooler error");
    size_t at = bouncerlog_sync(mid, strlen(mid));
    assert_true(strncmp(mid + at, "2026-12-07 06:59:44.601 UTC [1458] LOG C-", 41) == 0);
    assert_int_equal(bouncerlog_sync(pg, strlen(pg)), strlen(pg));
}

static void cut_last_line_is_unparsed(void **state)
{
    (void)state;
    static const char cut[] = "2026-12-07 06:59:13.936 UTC [1458] LOG stats: 40 xa";
    struct bouncerlog_reader r;
    bouncerlog_init(&r, 3);
    struct sink s = { BUF_INIT, 0 };
    assert_int_equal(bouncerlog_feed(&r, cut, strlen(cut), false, collect, &s), 0);
    assert_int_equal(s.events, 0);
    assert_int_equal(bouncerlog_feed(&r, cut, strlen(cut), true, collect, &s), strlen(cut));
    assert_string_equal(s.trace.ptr, "unparsed 1  0 -9223372036854775808 -1 f0 [/@] "
                                     "[2026-12-07 06:59:13.936 UTC [1458] LOG stats: 40 xa]\n");
    buf_release(&s.trace);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_every_kind_of_line),
        cmocka_unit_test(detects_and_syncs),
        cmocka_unit_test(cut_last_line_is_unparsed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
