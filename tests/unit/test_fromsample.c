/*
 * Tests of stored intervals folded into the aggregates: exact calls, total
 * time, series and timeline per interval; gaps counted as gaps (no zero
 * intervals), joined when consecutive; baseline polls adding nothing; the
 * --db and time filters; a query seen in a log and in the store being one
 * entry; and a store written to a temp file, read back and rendered as
 * JSON with per-call statistics null and the alerts listed.
 */
#include "test_util.h"

#include "report/render.h"
#include "stats/analysis.h"
#include "stats/fromsample.h"
#include "store/store.h"
#include "util/tstamp.h"

#include <jansson.h>
#include <math.h>

#define MIN_US (60LL * 1000000LL)
/* 2024-03-01 00:00:00 UTC */
#define T0 1709251200000000LL

static struct collector_opts opts_default(void)
{
    struct collector_opts o = {
        .since_us = TS_NONE, .until_us = TS_NONE, .min_duration_us = -1, .interval_us = MIN_US
    };
    return o;
}

struct qrow {
    uint64_t fp;
    const char *text, *db, *user;
    int64_t calls;
    double total_ms;
};

/* Interval n (one minute each from T0) with the given query rows. */
static void make(struct sample *s, int n, const struct qrow *rows, int nrows)
{
    sample_init(s);
    s->start_us = T0 + n * MIN_US;
    s->end_us = s->start_us + MIN_US;
    s->nqueries = nrows;
    s->queries = arena_alloc(&s->arena, (size_t)(nrows ? nrows : 1) * sizeof(*s->queries));
    for (int i = 0; i < nrows; i++)
        s->queries[i] = (struct sample_query){ .fingerprint = rows[i].fp,
                                               .query = sample_strdup(s, rows[i].text),
                                               .db = sample_strdup(s, rows[i].db),
                                               .user = sample_strdup(s, rows[i].user),
                                               .calls = rows[i].calls,
                                               .total_ms = rows[i].total_ms };
}

static void fold(struct collector *c, struct sample *s)
{
    collector_add_sample(c, s);
    sample_release(s);
}

static const struct qstat *find(const struct collector *c, uint64_t fp)
{
    for (size_t i = 0; i < c->nq; i++)
        if (c->q[i].fingerprint == fp)
            return &c->q[i];
    fail_msg("no query %016llx", (unsigned long long)fp);
    return NULL;
}

static const struct tl_bucket *bucket(const struct collector *c, int64_t start_us)
{
    for (size_t i = 0; i < c->ntl; i++)
        if (c->tl[i].bucket == start_us)
            return &c->tl[i];
    fail_msg("no timeline interval at %lld", (long long)start_us);
    return NULL;
}

static uint64_t dim_count(const struct collector *c, const struct dim_top *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (str_eq_cstr(names_get(&c->names, d->items[i].name), name))
            return d->items[i].count;
    return 0;
}

static void calls_total_and_timeline_are_exact(void **state)
{
    (void)state;
    struct collector_opts o = opts_default();
    struct collector c;
    collector_init(&c, &o);
    struct sample s;
    const struct qrow r1[] = {
        { 0x1111, "select v from t where id = $1", "shop", "web", 3, 4.5 },
        { 0x2222, "update t set v = $1", "shop", "batch", 1, 10.0 },
    };
    make(&s, 0, r1, 2);
    s.has_log = true;
    s.log_errors = 4;
    s.log_refused = 2;
    s.log_lock_waits = 3;
    s.log_deadlocks = 1;
    s.db.deadlocks = 2; /* the server saw one the log did not: the larger count */
    s.db.temp_files = 5;
    s.db.temp_bytes = 8192;
    s.db.sessions = 7;
    fold(&c, &s);
    const struct qrow r2[] = { { 0x1111, "select v from t where id = $1", "other", "web", 2,
                                 1.25 } };
    make(&s, 1, r2, 1);
    s.db.deadlocks = 1; /* no log followed: the server's count */
    fold(&c, &s);

    assert_int_equal(c.nq, 2);
    const struct qstat *q = find(&c, 0x1111);
    assert_string_equal(q->query, "select v from t where id = $1");
    assert_int_equal(q->calls, 5);
    assert_int_equal(q->timed, 5);
    assert_int_equal(q->total_us, 5750);
    assert_int_equal(sketch_count(&q->sketch), 0); /* no per-call durations invented */
    assert_true(q->min_us == INT64_MAX && q->max_us == INT64_MIN);
    assert_true(q->first_us == T0);
    assert_true(q->last_us == T0 + 2 * MIN_US);
    assert_int_equal(q->nseries, 2);
    assert_true(q->series[0].bucket == T0 && q->series[1].bucket == T0 + MIN_US);
    assert_int_equal(q->series[0].calls, 3);
    assert_int_equal(q->series[0].total_us, 4500);
    assert_int_equal(q->series[1].calls, 2);
    assert_int_equal(q->series[1].total_us, 1250);
    assert_int_equal(dim_count(&c, &q->dims[DIM_DB], "shop"), 3);
    assert_int_equal(dim_count(&c, &q->dims[DIM_DB], "other"), 2);
    assert_int_equal(dim_count(&c, &q->dims[DIM_USER], "web"), 5);
    assert_int_equal(find(&c, 0x2222)->total_us, 10000);

    assert_int_equal(c.ntl, 2);
    const struct tl_bucket *t = bucket(&c, T0);
    assert_int_equal(t->queries, 4);
    assert_int_equal(t->total_us, 14500);
    assert_int_equal(t->errors, 4);
    assert_int_equal(t->refused, 2);
    assert_int_equal(t->lock_waits, 3);
    assert_int_equal(t->deadlocks, 2);
    assert_int_equal(t->temp_files, 5);
    assert_int_equal(t->temp_bytes, 8192);
    assert_int_equal(t->connections, 7);
    t = bucket(&c, T0 + MIN_US);
    assert_int_equal(t->queries, 2);
    assert_int_equal(t->total_us, 1250);
    assert_int_equal(t->errors, 0);
    assert_int_equal(t->deadlocks, 1);

    assert_int_equal(c.queries, 6);
    assert_int_equal(c.timed_queries, 6);
    assert_int_equal(c.total_us, 15750);
    assert_int_equal(c.errors, 4);
    assert_int_equal(c.deadlocks, 3);
    assert_int_equal(c.refused, 2);
    assert_int_equal(c.lock_waits, 3);
    assert_int_equal(c.temp_files, 5);
    assert_true(c.first_us == T0 && c.last_us == T0 + 2 * MIN_US);
    assert_true(c.tz_known && c.tz_offset_s == 0);
    assert_int_equal(c.samples.intervals, 2);
    assert_int_equal(c.samples.gaps, 0);
    assert_true(c.samples.covered_us == 2 * MIN_US);
    collector_release(&c);
}

static void gaps_are_gaps_not_zeros(void **state)
{
    (void)state;
    struct collector_opts o = opts_default();
    struct collector c;
    collector_init(&c, &o);
    const struct qrow r[] = { { 0x1111, "select $1", "shop", "web", 1, 2.0 } };
    struct sample s;
    make(&s, 0, r, 1);
    fold(&c, &s);
    make(&s, 1, NULL, 0);
    s.gap = true;
    fold(&c, &s);
    make(&s, 2, NULL, 0);
    s.gap = true;
    fold(&c, &s);
    make(&s, 3, NULL, 0); /* the poll after the outage: gauges only */
    s.baseline_only = true;
    s.db.temp_files = 99; /* not a delta: must not count */
    fold(&c, &s);
    make(&s, 4, r, 1);
    fold(&c, &s);
    make(&s, 6, NULL, 0); /* a second outage, not touching the first */
    s.gap = true;
    fold(&c, &s);

    assert_int_equal(c.samples.intervals, 2);
    assert_int_equal(c.samples.gaps, 3);
    assert_int_equal(c.samples.baselines, 1);
    assert_int_equal(c.samples.ngap_spans, 2);
    assert_true(c.samples.gap_spans[0].start_us == T0 + MIN_US);
    assert_true(c.samples.gap_spans[0].end_us == T0 + 3 * MIN_US);
    assert_true(c.samples.gap_spans[1].start_us == T0 + 6 * MIN_US);
    assert_true(c.samples.gap_spans[1].end_us == T0 + 7 * MIN_US);
    /* Only the intervals with data are on the timeline. */
    assert_int_equal(c.ntl, 2);
    assert_int_equal(bucket(&c, T0)->queries, 1);
    assert_int_equal(bucket(&c, T0 + 4 * MIN_US)->queries, 1);
    assert_int_equal(c.temp_files, 0);
    assert_int_equal(find(&c, 0x1111)->calls, 2);
    assert_true(c.first_us == T0 && c.last_us == T0 + 5 * MIN_US);
    collector_release(&c);
}

static void filters_leave_out_rows_and_intervals(void **state)
{
    (void)state;
    static const char *const dbs[] = { "shop", NULL };
    struct collector_opts o = opts_default();
    o.dbs = dbs;
    o.since_us = T0 + MIN_US;
    o.until_us = T0 + 3 * MIN_US;
    struct collector c;
    collector_init(&c, &o);
    const struct qrow r[] = { { 0x1111, "select $1", "shop", "web", 2, 2.0 },
                              { 0x2222, "select $1, $2", "other", "web", 5, 1.0 } };
    struct sample s;
    for (int n = 0; n < 4; n++) {
        make(&s, n, r, 2);
        fold(&c, &s);
    }
    /* Intervals 1 and 2 overlap [since, until); 0 ends at since, 3 starts at until. */
    assert_int_equal(c.samples.intervals, 2);
    assert_int_equal(c.nq, 1);
    assert_int_equal(find(&c, 0x1111)->calls, 4);
    assert_int_equal(c.filtered, 10);
    assert_int_equal(c.queries, 4);
    collector_release(&c);
}

static void logged_and_stored_query_are_one_entry(void **state)
{
    (void)state;
    struct collector_opts o = opts_default();
    struct collector c;
    collector_init(&c, &o);
    struct event ev;
    event_clear(&ev);
    ev.kind = EV_QUERY;
    ev.phase = PH_SIMPLE;
    ev.severity = SEV_LOG;
    ev.ts_us = T0 + 1000;
    ev.line = 1;
    ev.duration_us = 1500;
    ev.statement = STR_LIT("SELECT v FROM t WHERE id = 42");
    collector_add_event(&c, &ev);
    collector_finish(&c);
    assert_int_equal(c.nq, 1);
    uint64_t fp = c.q[0].fingerprint;
    assert_string_equal(c.q[0].query, "select v from t where id = $1");

    const struct qrow r[] = { { fp, "select v from t where id = $1", "shop", "web", 4, 6.0 } };
    struct sample s;
    make(&s, 1, r, 1);
    fold(&c, &s);
    assert_int_equal(c.nq, 1);
    assert_int_equal(c.q[0].calls, 5);
    assert_int_equal(c.q[0].total_us, 7500);
    assert_int_equal(c.ntexts, 1); /* the stored text is the logged one: interned once */
    collector_release(&c);
}

/* Samples and alerts through a real store file, rendered as JSON. */
static void got_sample(void *ctx, const struct sample *s)
{
    collector_add_sample(ctx, s);
}

static void store_renders_means_only_json(void **state)
{
    (void)state;
    char dir[] = "/tmp/sleuth-fromsample-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/s.db", dir);
    struct store *st;
    struct err err = { 0 };
    assert_int_equal(store_open(&st, path, false, &err), 0);
    assert_int_equal(store_set_meta(st, "target", "monitor@db1:5432/postgres", &err), 0);
    const struct qrow r[] = { { 0x1111, "select pg_sleep($1)", "postgres", "app", 1, 3000.25 } };
    struct sample s;
    for (int n = 0; n < 3; n++) {
        make(&s, n, n == 1 ? NULL : r, n == 1 ? 0 : 1);
        s.gap = n == 1;
        assert_int_equal(store_write_sample(st, &s, &err), 0);
        sample_release(&s);
    }
    struct alert a = { .id = 7, .since_us = T0, .updated_us = T0, .peak = 3 };
    a.f = (struct finding){ .kind = FK_LONG_RUNNING,
                            .severity = FINDING_WARNING,
                            .key = "pid:42",
                            .pid = 42,
                            .value = 3,
                            .baseline = NAN,
                            .threshold = 1,
                            .unit = "s",
                            .summary = "pid 42 active for 3 s",
                            .next = "look at it" };
    assert_int_equal(store_write_alert(st, ALERT_FIRED, &a, &err), 0);

    struct analysis_opts ao;
    analysis_opts_init(&ao);
    struct analysis an;
    analysis_init_store(&an, &ao, path, "monitor@db1:5432/postgres");
    assert_int_equal(store_time_range(st, &an.store->first_us, &an.store->last_us, &err), 0);
    assert_int_equal(store_read_samples(st, INT64_MIN, INT64_MAX, got_sample, &an.c, &err), 0);
    store_close(st);

    struct report rep;
    struct report_opts ro = { .format = REPORT_JSON, .top = 0 };
    report_init(&rep, &an, &ro);
    report_set_alerts(&rep, &a, 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(report_write(&rep, f), 0);
    fclose(f);
    report_release(&rep);
    analysis_release(&an);

    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad JSON: %s", jerr.text);
    json_t *q = json_array_get(json_object_get(j, "queries"), 0);
    assert_int_equal(json_integer_value(json_object_get(q, "calls")), 2);
    assert_true(json_real_value(json_object_get(q, "total_ms")) == 6000.5);
    assert_true(json_real_value(json_object_get(q, "mean_ms")) == 3000.25);
    assert_true(json_is_null(json_object_get(q, "min_ms")));
    assert_true(json_is_null(json_object_get(q, "max_ms")));
    assert_true(json_is_null(json_object_get(q, "p95_ms")));
    assert_true(json_is_null(json_object_get(q, "stddev_ms")));
    json_t *sum = json_object_get(j, "summary");
    assert_true(json_is_false(json_object_get(sum, "per_call_durations")));
    assert_int_equal(json_array_size(json_object_get(j, "timeline")), 2);
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(j, "timeline"), 0), "p95_ms")));
    json_t *sj = json_object_get(j, "store");
    assert_string_equal(json_string_value(json_object_get(sj, "target")),
                        "monitor@db1:5432/postgres");
    assert_int_equal(json_integer_value(json_object_get(sj, "intervals")), 2);
    assert_int_equal(json_integer_value(json_object_get(sj, "gap_intervals")), 1);
    json_t *gap = json_array_get(json_object_get(sj, "gaps"), 0);
    assert_string_equal(json_string_value(json_object_get(gap, "from")),
                        "2024-03-01T00:01:00.000+00:00");
    assert_string_equal(json_string_value(json_object_get(gap, "until")),
                        "2024-03-01T00:02:00.000+00:00");
    assert_string_equal(json_string_value(json_object_get(sj, "stored_first")),
                        "2024-03-01T00:00:00.000+00:00");
    json_t *al = json_array_get(json_object_get(j, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(al, "kind")), "long_running_query");
    assert_string_equal(json_string_value(json_object_get(al, "state")), "firing");
    json_decref(j);
    free(text);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    test_run(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_total_and_timeline_are_exact),
        cmocka_unit_test(gaps_are_gaps_not_zeros),
        cmocka_unit_test(filters_leave_out_rows_and_intervals),
        cmocka_unit_test(logged_and_stored_query_are_one_entry),
        cmocka_unit_test(store_renders_means_only_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
