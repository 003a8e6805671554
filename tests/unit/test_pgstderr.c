/* Unit tests for input/pgstderr.c, the stderr-format reader, on inline and real logs. */
#include "input/pgstderr.h"

#include "input/pgmsg.h"
#include "util/buf.h"

#include "../feed.h"
#include "test_util.h"

struct sink {
    size_t kinds[EV__COUNT];
    size_t events;
    struct buf trace; /* one line per event: kind, line, pid, duration, statement */
    struct event last;
    struct buf last_statement, last_detail, last_params, last_message;
};

static void collect(void *ctx, const struct event *ev)
{
    struct sink *s = ctx;
    s->kinds[ev->kind]++;
    s->events++;
    buf_addf(&s->trace, "%s %llu %d %lld %lld %.*s|%.*s|%.*s\n", event_kind_name(ev->kind),
             (unsigned long long)ev->line, ev->pid, (long long)ev->ts_us,
             (long long)ev->duration_us, (int)ev->statement.len, ev->statement.ptr,
             (int)ev->params.len, ev->params.ptr, (int)ev->message.len, ev->message.ptr);
    s->last = *ev;
    buf_reset(&s->last_statement);
    buf_addslice(&s->last_statement, ev->statement);
    buf_reset(&s->last_detail);
    buf_addslice(&s->last_detail, ev->detail);
    buf_reset(&s->last_params);
    buf_addslice(&s->last_params, ev->params);
    buf_reset(&s->last_message);
    buf_addslice(&s->last_message, ev->message);
}

static void sink_init(struct sink *s)
{
    memset(s, 0, sizeof(*s));
    buf_init(&s->trace, 0);
}

static void sink_release(struct sink *s)
{
    buf_release(&s->trace);
    buf_release(&s->last_statement);
    buf_release(&s->last_detail);
    buf_release(&s->last_params);
    buf_release(&s->last_message);
}

static size_t stderr_feed(void *r, const char *buf, size_t len, bool eof, event_fn *emit, void *ctx)
{
    return pgstderr_feed(r, buf, len, eof, emit, ctx);
}

/* Feeds text in pieces of `step` bytes with the caller-keeps-the-tail protocol. */
static void feed_step(const struct pgprefix *p, const char *text, size_t len, size_t step,
                      struct sink *s)
{
    struct pgstderr_reader r;
    pgstderr_init(&r, p, 0);
    feed_chunked(stderr_feed, &r, text, len, step, collect, s);
}

static struct pgprefix *prefix(const char *spec)
{
    struct err err;
    struct pgprefix *p = pgprefix_compile(spec, &err);
    assert_non_null(p);
    return p;
}

static const char sample[] =
    "2026-11-22 02:32:47 UTC [2440]: user=bench,db=benchdb,app=waiter,client=127.0.0.1 LOG:  "
    "process 2440 still waiting for ShareLock on transaction 5157 after 100.227 ms\n"
    "2026-11-22 02:32:47 UTC [2440]: user=bench,db=benchdb,app=waiter,client=127.0.0.1 DETAIL:  "
    "Process holding the lock: 2441. Wait queue: 2440.\n"
    "2026-11-22 02:32:47 UTC [2440]: user=bench,db=benchdb,app=waiter,client=127.0.0.1 CONTEXT:  "
    "while updating tuple (0,1) in relation \"dl\"\n"
    "2026-11-22 02:32:47 UTC [2440]: user=bench,db=benchdb,app=waiter,client=127.0.0.1 STATEMENT:  "
    "UPDATE dl SET v = v + 10 WHERE id = 1;\n"
    "2026-11-22 02:32:48 UTC [7]: user=a,db=b,app=c,client=d LOG:  duration: 2.500 ms  "
    "statement: SELECT a,\n"
    "\t       b\n"
    "\tFROM t\n"
    "garbage in the middle\n"
    "2026-11-22 02:32:49 UTC [8]: user=a,db=b,app=c,client=d LOG:  duration: 0.100 ms  execute "
    "<unnamed>: SELECT $1\n"
    "2026-11-22 02:32:49 UTC [8]: user=a,db=b,app=c,client=d DETAIL:  parameters: $1 = 'x'\n"
    "\n"
    "2026-11-22 02:32:50 UTC [9]: user=a,db=b,app=c,client=d ERROR:  division by zero\r\n"
    "2026-11-22 02:32:50 UTC [9]: user=a,db=b,app=c,client=d STATEMENT:  SELECT 1/0;\r\n"
    "2026-11-22 02:32:51 UTC [10]: user=a,db=b,app=c,client=d LOG:  duration: 9.000 ms  "
    "statement: SELECT 'truncated";

static void groups_records_and_fields(void **state)
{
    (void)state;
    struct pgprefix *p = prefix("%t [%p]: user=%u,db=%d,app=%a,client=%h ");
    struct sink s;
    sink_init(&s);
    feed_step(p, sample, strlen(sample), strlen(sample), &s);
    assert_int_equal(s.events, 6);
    assert_int_equal(s.kinds[EV_LOCK_WAIT], 1);
    assert_int_equal(s.kinds[EV_QUERY], 3);
    assert_int_equal(s.kinds[EV_ERROR], 1);
    assert_int_equal(s.kinds[EV_UNPARSED], 1);
    const char *trace = s.trace.ptr;
    /* The lock wait took its STATEMENT line; the multi-line statement kept its lines. */
    assert_non_null(strstr(trace, "lock_wait 1 2440 1795314767000000 100227 UPDATE dl SET v = v + "
                                  "10 WHERE id = 1;||process 2440 still waiting"));
    assert_non_null(strstr(trace, "query 5 7 1795314768000000 2500 SELECT a,\n\t       b\n\tFROM "
                                  "t||duration"));
    assert_non_null(strstr(trace, "unparsed 8 0 "));
    assert_non_null(strstr(trace, "query 9 8 1795314769000000 100 SELECT $1|$1 = 'x'|"));
    assert_non_null(
        strstr(trace, "error 12 9 1795314770000000 -1 SELECT 1/0;||division by zero\n"));
    /* The truncated last line is still a record at eof. */
    assert_string_equal(s.last_statement.ptr, "SELECT 'truncated");
    assert_int_equal(s.last.line, 14);
    sink_release(&s);
    pgprefix_free(p);
}

static void chunked_feeds_give_the_same_events(void **state)
{
    (void)state;
    struct pgprefix *p = prefix("%t [%p]: user=%u,db=%d,app=%a,client=%h ");
    struct sink whole;
    sink_init(&whole);
    feed_step(p, sample, strlen(sample), strlen(sample), &whole);
    for (size_t step = 1; step < 200; step += 7) {
        struct sink part;
        sink_init(&part);
        feed_step(p, sample, strlen(sample), step, &part);
        assert_string_equal(part.trace.ptr, whole.trace.ptr);
        sink_release(&part);
    }
    sink_release(&whole);
    pgprefix_free(p);
}

/* Feeds text in pieces of step bytes with re-detection on or off. */
static void feed_redetect(const struct pgprefix *p, bool redetect, const char *text, size_t step,
                          struct sink *s)
{
    struct pgstderr_reader r;
    pgstderr_init(&r, p, 0);
    r.redetect = redetect;
    feed_chunked(stderr_feed, &r, text, strlen(text), step, collect, s);
    pgstderr_release(&r);
}

/* Three prefixes, a stray line and a return to the first: a server reconfigured twice. */
static const char changing[] =
    "2026-11-22 10:00:00 UTC [1]: user=u,db=d,app=a,client=c LOG:  duration: 1.000 ms  "
    "statement: SELECT 1\n"
    "2026-11-22 10:00:01 UTC [1]: user=u,db=d,app=a,client=c LOG:  duration: 1.000 ms  "
    "statement: SELECT 1\n"
    "not a log line\n"
    "2026-11-22 11:00:00 UTC:10.0.0.1(5432):v@e:[2]:LOG:  duration: 2.000 ms  statement: SELECT 2\n"
    "2026-11-22 11:00:01 UTC:10.0.0.1(5432):v@e:[2]:LOG:  duration: 2.000 ms  statement: SELECT 2\n"
    "2026-11-22 12:00:00.000 UTC [3] w@f LOG:  duration: 3.000 ms  statement: SELECT 3\n"
    "\tFROM t\n"
    "2026-11-22 12:00:01.000 UTC [3] w@f LOG:  duration: 3.000 ms  statement: SELECT 3\n"
    "2026-11-22 13:00:00 UTC [4]: user=u,db=d,app=a,client=c LOG:  duration: 4.000 ms  "
    "statement: SELECT 4\n";

static void prefix_changes_are_followed_in_any_feed_pieces(void **state)
{
    (void)state;
    struct pgprefix *p = prefix("%t [%p]: user=%u,db=%d,app=%a,client=%h ");
    struct sink whole;
    sink_init(&whole);
    feed_redetect(p, true, changing, strlen(changing), &whole);
    assert_int_equal(whole.kinds[EV_QUERY], 7);
    assert_int_equal(whole.kinds[EV_UNPARSED], 1);
    assert_non_null(strstr(whole.trace.ptr, "query 6 3 "));
    assert_non_null(strstr(whole.trace.ptr, "SELECT 3\n\tFROM t|"));
    assert_int_equal(whole.last.pid, 4);
    assert_int_equal(whole.last.line, 9);
    for (size_t step = 1; step < 300; step += 13) {
        struct sink part;
        sink_init(&part);
        feed_redetect(p, true, changing, step, &part);
        assert_string_equal(part.trace.ptr, whole.trace.ptr);
        sink_release(&part);
    }
    /* Off (a prefix the user gave): the lines of the other two are not records. */
    struct sink off;
    sink_init(&off);
    feed_redetect(p, false, changing, strlen(changing), &off);
    assert_int_equal(off.kinds[EV_QUERY], 3);
    assert_int_equal(off.kinds[EV_UNPARSED], 6);
    sink_release(&off);
    sink_release(&whole);
    pgprefix_free(p);
}

/* n lines under a second prefix (v, AWS RDS's) or a third (w, Debian's default). */
static void add_stretch(struct buf *b, char which, int n)
{
    for (int i = 0; i < n; i++)
        buf_addf(b,
                 which == 'v' ? "2026-11-22 11:00:%02d UTC:10.0.0.1(5432):v@e:[2]:LOG:  duration: "
                                "2.000 ms  statement: SELECT 2\n"
                              : "2026-11-22 12:00:%02d.000 UTC [3] w@f LOG:  duration: 3.000 ms  "
                                "statement: SELECT 3\n",
                 i % 60);
}

/* Reads text with re-detection into whole, and checks that any cut into feeds reads the same. */
static void read_in_any_cut(const struct pgprefix *p, const struct buf *text, struct sink *whole)
{
    sink_init(whole);
    feed_redetect(p, true, text->ptr, text->len, whole);
    for (size_t step = 1; step < 9000; step += 997) {
        struct sink part;
        sink_init(&part);
        feed_redetect(p, true, text->ptr, step, &part);
        assert_string_equal(part.trace.ptr, whole->trace.ptr);
        sink_release(&part);
    }
}

/*
 * A reader that starts inside a short stretch of a prefix it does not know
 * (a range of a -j run starts under the log's first prefix): three lines
 * of one prefix, then seventy of another. The look-ahead holds more of the
 * second; the first three are still read, with their own prefix.
 */
static void a_short_stretch_before_a_long_one_is_read_with_its_own_prefix(void **state)
{
    (void)state;
    struct buf text = BUF_INIT;
    add_stretch(&text, 'v', 3);
    add_stretch(&text, 'w', 70);
    struct pgprefix *p = prefix("%t [%p]: user=%u,db=%d,app=%a,client=%h ");
    struct sink whole;
    read_in_any_cut(p, &text, &whole);
    assert_int_equal(whole.kinds[EV_QUERY], 73);
    assert_int_equal(whole.kinds[EV_UNPARSED], 0);
    assert_non_null(strstr(whole.trace.ptr, "query 3 2 "));
    assert_non_null(strstr(whole.trace.ptr, "query 4 3 "));
    sink_release(&whole);
    /* One line of another prefix among the first prefix's: a stray line, no new prefix. */
    buf_reset(&text);
    for (int i = 0; i < 21; i++)
        buf_addstr(&text, i == 10 ? "2026-11-22 12:00:00.000 UTC [3] w@f LOG:  duration: 3.000 ms  "
                                    "statement: SELECT 3\n"
                                  : "2026-11-22 10:00:00 UTC [1]: user=u,db=d,app=a,client=c LOG:  "
                                    "duration: 1.000 ms  statement: SELECT 1\n");
    struct pgstderr_reader r;
    pgstderr_init(&r, p, 0);
    r.redetect = true;
    struct sink stray;
    sink_init(&stray);
    assert_int_equal(pgstderr_feed(&r, text.ptr, text.len, true, collect, &stray), text.len);
    assert_int_equal(stray.kinds[EV_QUERY], 20);
    assert_int_equal(stray.kinds[EV_UNPARSED], 1);
    assert_int_equal(r.nfound, 0);
    pgstderr_release(&r);
    sink_release(&stray);
    pgprefix_free(p);
    buf_release(&text);
}

/*
 * One line of a second prefix, then a long stretch of a third, none the
 * prefix in use: the lone line is not recognised, and the stretch is read
 * from its first line (a failed look used to keep re-detection off for the
 * next 64 lines). A log of lines no prefix reads still gets a look only
 * every so often: after 1, 2, 4, ... 64 lines.
 */
static void a_lone_line_of_another_prefix_costs_only_itself(void **state)
{
    (void)state;
    struct buf text = BUF_INIT;
    add_stretch(&text, 'v', 1);
    add_stretch(&text, 'w', 100);
    struct pgprefix *p = prefix("%t [%p]: user=%u,db=%d,app=%a,client=%h ");
    struct sink whole;
    read_in_any_cut(p, &text, &whole);
    assert_int_equal(whole.kinds[EV_QUERY], 100);
    assert_int_equal(whole.kinds[EV_UNPARSED], 1);
    assert_non_null(strstr(whole.trace.ptr, "query 2 3 "));
    sink_release(&whole);
    /* Lines that look like records: one in four of a well-known prefix, too few to be one. */
    buf_reset(&text);
    for (int i = 0; i < 200; i++)
        buf_addstr(&text, i % 4 ? "<7> junk LOG:  y\n"
                                : "2026-11-22 11:00:00 UTC:10.0.0.1(5432):v@e:[2]:LOG:  x\n");
    struct pgstderr_reader r;
    pgstderr_init(&r, p, 0);
    r.redetect = true;
    struct sink odd;
    sink_init(&odd);
    assert_int_equal(pgstderr_feed(&r, text.ptr, text.len, true, collect, &odd), text.len);
    assert_int_equal(odd.kinds[EV_UNPARSED], 200);
    assert_int_equal(r.nfound, 0);
    /* Looks at lines 1, 2, 4, 8, 16, 32, 64, 128, 192: the next at 256. */
    assert_int_equal(r.next_try, 256);
    pgstderr_release(&r);
    sink_release(&odd);
    pgprefix_free(p);
    buf_release(&text);
}

static void real_log_counts(void **state)
{
    (void)state;
    size_t len;
    char *log = test_read_gz(test_data_path("pgbench-stderr.log.gz"), &len);
    struct pgprefix *p = prefix("%t [%p]: user=%u,db=%d,app=%a,client=%h ");
    struct sink s;
    sink_init(&s);
    feed_step(p, log, len, 1 << 20, &s);
    /*
     * Counted with grep on the decompressed log (see tests/data/README.pgbench.md):
     * 60852 "statement:" + 41130 "execute" + 17622 "parse" + 41130 "bind" duration lines.
     */
    assert_int_equal(s.kinds[EV_QUERY], 60852 + 41130 + 17622 + 41130);
    assert_int_equal(s.kinds[EV_ERROR], 112);
    assert_int_equal(s.kinds[EV_LOCK_WAIT], 5);
    assert_int_equal(s.kinds[EV_LOCK_ACQUIRED], 5);
    assert_int_equal(s.kinds[EV_CONNECT], 2116);
    assert_int_equal(s.kinds[EV_CONN_RECEIVED], 2116);
    assert_int_equal(s.kinds[EV_DISCONNECT], 2116);
    assert_int_equal(s.kinds[EV_CHECKPOINT], 1);
    assert_int_equal(s.kinds[EV_TEMP_FILE], 90);
    assert_int_equal(s.kinds[EV_AUTOVACUUM], 12);
    assert_int_equal(s.kinds[EV_AUTOANALYZE], 22);
    assert_int_equal(s.kinds[EV_UNPARSED], 0);
    sink_release(&s);
    pgprefix_free(p);
    free(log);
}

static void sync_finds_next_primary_record(void **state)
{
    (void)state;
    struct pgprefix *p = prefix("%t [%p]: user=%u,db=%d,app=%a,client=%h ");
    /* From inside the lock-wait record, the next record start is the duration line. */
    const char *from = strstr(sample, "DETAIL:  Process holding");
    size_t off = pgstderr_sync(p, from, strlen(from));
    assert_true(strncmp(from + off, "2026-11-22 02:32:48 UTC [7]", 27) == 0);
    assert_int_equal(pgstderr_sync(p, "no newline here", 15), 15);
    pgprefix_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(groups_records_and_fields),
        cmocka_unit_test(chunked_feeds_give_the_same_events),
        cmocka_unit_test(prefix_changes_are_followed_in_any_feed_pieces),
        cmocka_unit_test(a_short_stretch_before_a_long_one_is_read_with_its_own_prefix),
        cmocka_unit_test(a_lone_line_of_another_prefix_costs_only_itself),
        cmocka_unit_test(real_log_counts),
        cmocka_unit_test(sync_finds_next_primary_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
