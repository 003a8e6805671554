/* Unit tests for stats/collector.c: pairing, aggregates, filters and exact merging. */
#include "stats/collector.h"

#include "util/tstamp.h"

#include "test_util.h"

static struct collector_opts default_opts(void)
{
    struct collector_opts o = {
        .since_us = TS_NONE, .until_us = TS_NONE, .min_duration_us = -1, .interval_us = 60000000
    };
    return o;
}

/* A compact event script: kind letter, pid, duration µs, text. */
struct step {
    char what; /* 'S' statement (no duration), 'Q' duration+execute, 'q' duration+statement,
                  'D' bare duration,
                  'P' plan, 'p' parse, 'b' bind, 'X' disconnect, 'E' error */
    int pid;
    int64_t duration_us;
    const char *text;
};

static void play(struct collector *c, const struct step *steps, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const struct step *s = &steps[i];
        struct event ev;
        event_clear(&ev);
        ev.pid = s->pid;
        ev.ts_us = 1795314757000000LL + (int64_t)i * 1000000;
        ev.line = i + 1;
        ev.severity = SEV_LOG;
        ev.user = STR_LIT("app");
        ev.db = STR_LIT("shop");
        ev.duration_us = s->duration_us;
        ev.statement = s->text ? str_cstr(s->text) : STR_NULL;
        switch (s->what) {
        case 'S':
            ev.kind = EV_QUERY;
            ev.phase = PH_SIMPLE;
            ev.duration_us = -1;
            break;
        case 'Q':
            ev.kind = EV_QUERY;
            ev.phase = PH_EXECUTE;
            break;
        case 'q':
            ev.kind = EV_QUERY;
            ev.phase = PH_SIMPLE;
            break;
        case 'D':
            ev.kind = EV_QUERY;
            ev.phase = PH_NONE;
            break;
        case 'P':
            ev.kind = EV_PLAN;
            /* A 100 µs call ran another plan: two shapes to count and merge. */
            ev.plan =
                s->duration_us == 100
                    ? STR_LIT("Index Scan using t_pkey on t  (cost=0.29..8.31 rows=1 width=4)")
                    : STR_LIT("Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)");
            break;
        case 'p':
            ev.kind = EV_QUERY;
            ev.phase = PH_PARSE;
            break;
        case 'b':
            ev.kind = EV_QUERY;
            ev.phase = PH_BIND;
            break;
        case 'X':
            ev.kind = EV_DISCONNECT;
            break;
        case 'E':
            ev.kind = EV_ERROR;
            ev.severity = SEV_ERROR;
            ev.message = str_cstr(s->text);
            ev.statement = STR_NULL;
            ev.sqlstate = STR_LIT("22012");
            break;
        }
        collector_add_event(c, &ev);
    }
}

static const struct qstat *find(const struct collector *c, const char *query)
{
    for (size_t i = 0; i < c->nq; i++)
        if (strcmp(c->q[i].query, query) == 0)
            return &c->q[i];
    fail_msg("no query '%s'", query);
    return NULL;
}

static const struct step script[] = {
    { 'S', 1, -1, "SELECT * FROM t WHERE id = 1" },  /* log_statement ... */
    { 'Q', 2, 300, "SELECT * FROM t WHERE id = 7" }, /* another process, in between */
    { 'D', 1, 1500, NULL },                          /* ... and its duration */
    { 'D', 3, 999, NULL },                           /* a duration whose statement was not logged */
    { 'p', 2, 40, "SELECT * FROM t WHERE id = $1" }, /* extended protocol: parse, bind, execute */
    { 'b', 2, 10, "SELECT * FROM t WHERE id = $1" },
    { 'Q', 2, 200, "SELECT * FROM t WHERE id = $1" },
    { 'P', 4, 5000, "UPDATE t SET v = 2 WHERE id = 3" }, /* auto_explain, then its statement */
    { 'Q', 4, 5000, "UPDATE t SET v = 2 WHERE id = 3" },
    { 'P', 5, 700, "SELECT count(*) FROM big" },  /* a plan alone (no statement line follows) */
    { 'S', 6, -1, "DELETE FROM t WHERE id = 9" }, /* a statement that never gets a duration */
    { 'X', 6, 0, NULL },
    { 'Q', 10, 8000, "SELECT * FROM p WHERE c = $1" }, /* extended protocol: the execute, */
    { 'P', 10, 8010, "SELECT * FROM p WHERE c = $1" }, /* then its plan (the portal ended) */
    { 'Q', 10, 100, "SELECT id FROM q" },              /* the next call is not the plan's */
    { 'E', 7, 0, "division by zero at 12" },
    { 'E', 8, 0, "division by zero at 345" },
    { 'b', 11, 30, "SELECT v FROM w WHERE id = $1" }, /* a bind no execute follows: a call */
    { 'b', 11, 20, "SELECT v FROM w WHERE id = $1" }, /* a bind and its execute: one call */
    { 'Q', 11, 50, "SELECT v FROM w WHERE id = $1" },
    { 'b', 12, 60, "SELECT v FROM w WHERE id = $1" }, /* a bind at the end: a call */
    { 'S', 9, -1, "SELECT 2" },                       /* still pending at the end */
};
#define NSCRIPT (sizeof(script) / sizeof(script[0]))

static void check_script_result(const struct collector *c)
{
    assert_int_equal(c->queries, 12);
    assert_int_equal(c->timed_queries, 10);
    assert_int_equal(c->total_us, 1500 + 300 + 200 + 5000 + 700 + 8000 + 100 + 30 + 50 + 60);
    assert_int_equal(c->orphan_durations, 1);
    assert_int_equal(c->orphan_us, 999);
    assert_int_equal(c->nq, 8);
    const struct qstat *w = find(c, "select v from w where id = $1");
    assert_int_equal(w->calls, 3);
    assert_int_equal(w->total_us, 140);
    assert_int_equal(w->bind_calls, 3);
    assert_int_equal(w->bind_us, 110);
    const struct qstat *star = find(c, "select * from p where c = $1");
    assert_int_equal(star->calls, 1);
    assert_non_null(star->slowest.plan);
    assert_null(find(c, "select id from q")->slowest.plan);
    assert_int_equal(c->plans, 3);
    const struct qstat *sel = find(c, "select * from t where id = $1");
    assert_int_equal(sel->calls, 3);
    assert_int_equal(sel->timed, 3);
    assert_int_equal(sel->total_us, 2000);
    assert_int_equal(sel->min_us, 200);
    assert_int_equal(sel->max_us, 1500);
    assert_int_equal(sel->parse_calls, 1);
    assert_int_equal(sel->parse_us, 40);
    assert_int_equal(sel->bind_us, 10);
    assert_int_equal(sel->slowest.duration_us, 1500);
    assert_string_equal(sel->slowest.text, "SELECT * FROM t WHERE id = 1");
    assert_int_equal(sel->slowest.line, 1);
    const struct qstat *upd = find(c, "update t set v = $1 where id = $2");
    assert_int_equal(upd->calls, 1);
    assert_non_null(upd->slowest.plan);
    assert_string_equal(upd->slowest.plan, "Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)");
    const struct qstat *cnt = find(c, "select count(*) from big");
    assert_int_equal(cnt->calls, 1);
    assert_int_equal(cnt->total_us, 700);
    const struct qstat *del = find(c, "delete from t where id = $1");
    assert_int_equal(del->calls, 1);
    assert_int_equal(del->timed, 0);
    assert_int_equal(find(c, "select $1")->calls, 1);
    assert_int_equal(c->errors, 2);
    assert_int_equal(c->nerrs, 1);
    assert_int_equal(c->errs[0].count, 2);
    assert_string_equal(c->errs[0].message, "division by zero at 12");
    assert_int_equal(c->disconnections, 1);
}

static void pairs_records_of_one_call(void **state)
{
    (void)state;
    struct collector_opts o = default_opts();
    struct collector c;
    collector_init(&c, &o);
    play(&c, script, 0, NSCRIPT);
    collector_finish(&c);
    check_script_result(&c);
    collector_release(&c);
}

static void merge_at_every_split_equals_one_pass(void **state)
{
    (void)state;
    struct collector_opts o = default_opts();
    for (size_t cut = 0; cut <= NSCRIPT; cut++) {
        for (size_t cut2 = cut; cut2 <= NSCRIPT; cut2++) {
            struct collector a, b, d;
            collector_init(&a, &o);
            collector_init(&b, &o);
            collector_init(&d, &o);
            play(&a, script, 0, cut);
            play(&b, script, cut, cut2);
            play(&d, script, cut2, NSCRIPT);
            /* Lines in b and d were absolute already: merge with a base of 0. */
            collector_merge(&a, &b, 0);
            collector_merge(&a, &d, 0);
            collector_finish(&a);
            check_script_result(&a);
            collector_release(&a);
            collector_release(&b);
            collector_release(&d);
        }
    }
}

/* What must not depend on where the input was split: counts, times, examples and their plans. */
static void signature(const struct collector *c, struct buf *b)
{
    buf_reset(b);
    buf_addf(b, "q=%llu t=%llu us=%lld orph=%llu plans=%llu nq=%zu", (unsigned long long)c->queries,
             (unsigned long long)c->timed_queries, (long long)c->total_us,
             (unsigned long long)c->orphan_durations, (unsigned long long)c->plans, c->nq);
    for (int pass = 0; pass < 2; pass++) /* two texts at most: list them in a fixed order */
        for (size_t i = 0; i < c->nq; i++)
            if ((strstr(c->q[i].query, " a ") != NULL) == (pass == 0)) {
                const struct qstat *q = &c->q[i];
                buf_addf(b, " [%s c=%llu tm=%llu us=%lld sl=%llu plan=%d p=%llu b=%llu/%lld]",
                         q->query, (unsigned long long)q->calls, (unsigned long long)q->timed,
                         (long long)q->total_us, (unsigned long long)q->slowest.line,
                         q->slowest.plan != NULL, (unsigned long long)q->parse_calls,
                         (unsigned long long)q->bind_calls, (long long)q->bind_us);
                for (size_t k = 0; k < q->nplans; k++)
                    buf_addf(b, " <%s n=%llu %lld..%lld sl=%llu>", q->plans[k].outline,
                             (unsigned long long)q->plans[k].count, (long long)q->plans[k].first_us,
                             (long long)q->plans[k].last_us, (unsigned long long)q->plans[k].line);
            }
}

/*
 * Random scripts of statements, executes, bare durations, auto_explain
 * plans (before or after their call, with a duration that matches or
 * not) and disconnects from two sessions, split in three at every pair
 * of points and merged: always the one-pass result.
 */
static void random_scripts_merge_exactly(void **state)
{
    (void)state;
    static const char *const texts[] = { "SELECT * FROM a WHERE x = $1",
                                         "SELECT * FROM b WHERE y = $1" };
    static const int64_t durations[] = { 5000, 5010, 9000, 100 };
    static const char kinds[] = "SQqDPXbp";
    struct collector_opts o = default_opts();
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    struct buf ref = BUF_INIT, got = BUF_INIT;
    for (int it = 0; it < 400; it++) {
        struct step st[12];
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t n = 3 + rng % 9;
        for (size_t i = 0; i < n; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            st[i] = (struct step){ kinds[rng % 8], 1 + (int)(rng >> 8) % 2,
                                   durations[(rng >> 16) % 4], texts[(rng >> 24) % 2] };
        }
        struct collector one;
        collector_init(&one, &o);
        play(&one, st, 0, n);
        collector_finish(&one);
        signature(&one, &ref);
        collector_release(&one);
        for (size_t c1 = 0; c1 <= n; c1++)
            for (size_t c2 = c1; c2 <= n; c2++) {
                struct collector x, y, z;
                collector_init(&x, &o);
                collector_init(&y, &o);
                collector_init(&z, &o);
                play(&x, st, 0, c1);
                play(&y, st, c1, c2);
                play(&z, st, c2, n);
                collector_merge(&x, &y, 0);
                collector_merge(&x, &z, 0);
                collector_finish(&x);
                signature(&x, &got);
                if (strcmp(ref.ptr, got.ptr) != 0)
                    fail_msg("script %d split at %zu and %zu:\n one pass %s\n merged   %s", it, c1,
                             c2, ref.ptr, got.ptr);
                collector_release(&x);
                collector_release(&y);
                collector_release(&z);
            }
    }
    buf_release(&ref);
    buf_release(&got);
}

/* Plan outlines: the tree of nodes and relations, numbers and conditions left out. */
static void plan_outlines_and_shapes(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    uint64_t a, b, c;
    /* A text plan as a stderr log holds it: tab-indented lines, conditions between nodes. */
    const char *text = "Limit  (cost=0.42..9.50 rows=20 width=40)\n"
                       "\t  ->  Nested Loop  (cost=0.42..900.00 rows=2000 width=40)\n"
                       "\t        Join Filter: (t.id = c.ticket_id)\n"
                       "\t        ->  Index Scan using tickets_account_id_idx on tickets t  "
                       "(cost=0.29..8.31 rows=10 width=36)\n"
                       "\t              Index Cond: (account_id = 42)\n"
                       "\t        ->  Seq Scan on comments c  (cost=0.00..35.50 rows=2550 width=4)";
    assert_true(plan_outline(str_cstr(text), &out, &a));
    assert_string_equal(out.ptr, "Limit > Nested Loop (Index Scan using tickets_account_id_idx on "
                                 "tickets t, Seq Scan on comments c)");
    /* Other numbers and parameters: the same shape. */
    const char *other = "Limit  (cost=1.00..2.00 rows=5 width=40) (actual time=0.1..0.2 rows=5 "
                        "loops=1)\n"
                        "  ->  Nested Loop  (cost=1.00..2.00 rows=5 width=40)\n"
                        "        ->  Index Scan using tickets_account_id_idx on tickets t  "
                        "(cost=0.29..8.31 rows=3 width=36)\n"
                        "              Index Cond: (account_id = 7)\n"
                        "        ->  Seq Scan on comments c  (cost=0.00..35.50 rows=9 width=4)";
    assert_true(plan_outline(str_cstr(other), &out, &b));
    assert_true(a == b);
    /* The same tree as auto_explain's JSON format. */
    const char *json =
        "{\"Query Text\": \"SELECT 1\", \"Plan\": {\"Node Type\": \"Limit\", \"Plans\": [{"
        "\"Node Type\": \"Nested Loop\", \"Plans\": [{\"Node Type\": \"Index Scan\", \"Index "
        "Name\": \"tickets_account_id_idx\", \"Relation Name\": \"tickets\", \"Alias\": \"t\"}, "
        "{\"Node Type\": \"Seq Scan\", \"Relation Name\": \"comments\", \"Alias\": \"c\"}]}]}}";
    assert_true(plan_outline(str_cstr(json), &out, &c));
    assert_true(a == c);
    assert_true(
        plan_outline(str_cstr("Seq Scan on tickets  (cost=0.00..1.00 rows=1 width=4)"), &out, &b));
    assert_string_equal(out.ptr, "Seq Scan on tickets");
    assert_true(a != b);
    /*
     * InitPlan and SubPlan children sit deeper than the node's own children:
     * each node's parent is the nearest less indented node before it.
     */
    const char *subplans = "Result  (cost=0.00..1.00 rows=1 width=4)\n"
                           "  InitPlan 1 (returns $0)\n"
                           "    ->  Result  (cost=0.00..0.01 rows=1 width=4)\n"
                           "  ->  Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4)\n"
                           "        SubPlan 2\n"
                           "          ->  Result  (cost=0.00..0.01 rows=1 width=4)\n"
                           "        SubPlan 3\n"
                           "          ->  Result  (cost=0.00..0.01 rows=1 width=4)";
    assert_true(plan_outline(str_cstr(subplans), &out, &b));
    assert_string_equal(out.ptr, "Result (Result, Seq Scan on t (Result, Result))");
    /* Text and JSON name nodes alike: strategies, join types, bitmap index scans, parallel. */
    const char *text2 =
        "HashAggregate  (cost=1.00..2.00 rows=10 width=12)\n"
        "  ->  Hash Left Join  (cost=1.00..2.00 rows=10 width=12)\n"
        "        ->  Parallel Seq Scan on orders o  (cost=0.00..1.00 rows=1 width=4)\n"
        "        ->  Hash  (cost=1.00..1.00 rows=1 width=4)\n"
        "              ->  Bitmap Heap Scan on items  (cost=4.3..12.5 rows=3 width=4)\n"
        "                    ->  Bitmap Index Scan on items_order_id_idx  "
        "(cost=0.00..4.3 rows=3 width=0)";
    const char *json2 =
        "[{\"Plan\": {\"Node Type\": \"Aggregate\", \"Strategy\": \"Hashed\", \"Plans\": [{"
        "\"Node Type\": \"Hash Join\", \"Join Type\": \"Left\", \"Plans\": [{\"Node Type\": "
        "\"Seq Scan\", \"Parallel Aware\": true, \"Relation Name\": \"orders\", \"Alias\": "
        "\"o\"}, {\"Node Type\": \"Hash\", \"Plans\": [{\"Node Type\": \"Bitmap Heap Scan\", "
        "\"Relation Name\": \"items\", \"Alias\": \"items\", \"Plans\": [{\"Node Type\": "
        "\"Bitmap Index Scan\", \"Index Name\": \"items_order_id_idx\"}]}]}]}]}}]";
    assert_true(plan_outline(str_cstr(text2), &out, &b));
    assert_string_equal(out.ptr, "HashAggregate > Hash Left Join (Parallel Seq Scan on orders o, "
                                 "Hash > Bitmap Heap Scan on items > Bitmap Index Scan on "
                                 "items_order_id_idx)");
    assert_true(plan_outline(str_cstr(json2), &out, &c));
    assert_true(b == c);
    assert_false(plan_outline(str_cstr("{\"Plan\": 3}"), &out, &b));
    assert_false(plan_outline(str_cstr("  \n"), &out, &b));
    buf_release(&out);
}

/* Shapes per query with when they ran; the change of plan found around its time. */
static void plan_change_around_a_time(void **state)
{
    (void)state;
    struct collector_opts o = default_opts();
    struct collector c;
    collector_init(&c, &o);
    /* 10 s of index scans, then 10 s of sequential scans (play: one event a second). */
    struct step st[40];
    for (int i = 0; i < 40; i++)
        st[i] = (struct step){ i % 2 ? 'q' : 'P', 1, i < 20 ? 100 : 9000,
                               "SELECT * FROM t WHERE id = 5" };
    play(&c, st, 0, 40);
    collector_finish(&c);
    const struct qstat *q = find(&c, "select * from t where id = $1");
    assert_int_equal(q->nplans, 2);
    const int64_t t0 = 1795314757000000LL, s = 1000000;
    const struct plan_shape *before, *after;
    assert_true(collector_plan_change(&c, q->fingerprint, t0 + 20 * s, 2 * s, &before, &after));
    assert_string_equal(before->outline, "Index Scan using t_pkey on t");
    assert_int_equal(before->count, 10);
    assert_int_equal(before->first_us, t0);
    assert_int_equal(before->last_us, t0 + 18 * s);
    assert_string_equal(after->outline, "Seq Scan on t");
    assert_int_equal(after->count, 10);
    assert_int_equal(after->first_us, t0 + 20 * s);
    assert_int_equal(after->slowest_us, 9000);
    assert_non_null(strstr(after->plan, "cost=0.00..1.00"));
    /* Long before the change, or long after it began: no change there. */
    assert_false(collector_plan_change(&c, q->fingerprint, t0 + 8 * s, 2 * s, &before, &after));
    assert_false(collector_plan_change(&c, q->fingerprint, t0 + 38 * s, 2 * s, &before, &after));
    assert_false(collector_plan_change(&c, 12345, t0 + 20 * s, 2 * s, &before, &after));
    collector_release(&c);
}

static void filters_drop_records(void **state)
{
    (void)state;
    struct collector_opts o = default_opts();
    o.min_duration_us = 1000;
    struct collector c;
    collector_init(&c, &o);
    play(&c, script, 0, NSCRIPT);
    collector_finish(&c);
    /* Only the 1.5 ms select, the 5 ms update and the 8 ms select are at least 1 ms. */
    assert_int_equal(c.queries, 3);
    assert_int_equal(c.total_us, 14500);
    collector_release(&c);

    const char *const dbs[] = { "other", NULL };
    o = default_opts();
    o.dbs = dbs;
    collector_init(&c, &o);
    play(&c, script, 0, NSCRIPT);
    collector_finish(&c);
    assert_int_equal(c.queries, 0);
    assert_int_equal(c.filtered, NSCRIPT);
    collector_release(&c);

    o = default_opts();
    o.since_us = 1795314757000000LL + 8 * 1000000; /* from step 8 (the second plan) on */
    collector_init(&c, &o);
    play(&c, script, 0, NSCRIPT);
    collector_finish(&c);
    assert_int_equal(c.filtered, 8);
    assert_int_equal(c.queries, 9);
    collector_release(&c);
}

static void timeline_buckets_per_interval(void **state)
{
    (void)state;
    struct collector_opts o = default_opts();
    struct collector c;
    collector_init(&c, &o);
    play(&c, script, 0, NSCRIPT);
    collector_finish(&c);
    /* All steps fall within 22 s starting at 02:32:37: one minute bucket. */
    assert_int_equal(c.ntl, 1);
    assert_int_equal(c.tl[0].bucket, 1795314720000000LL);
    assert_int_equal(c.tl[0].queries, 12);
    assert_int_equal(c.tl[0].errors, 2);
    collector_release(&c);
}

/* A fold signature: what must not depend on the split. */
static void fold_signature(const struct collector *c, struct buf *b)
{
    buf_reset(b);
    buf_addf(b, "q=%llu us=%lld nq=%zu folded=%llu other=%llu/%lld keep=%016llx",
             (unsigned long long)c->queries, (long long)c->total_us, c->nq,
             (unsigned long long)collector_folded_queries(c), (unsigned long long)c->other.calls,
             (long long)c->other.total_us, (unsigned long long)c->keep_max);
    uint64_t prev = 0;
    for (size_t k = 0; k < c->nq; k++) { /* the kept queries in fingerprint order */
        const struct qstat *next = NULL;
        for (size_t i = 0; i < c->nq; i++)
            if (c->q[i].fingerprint > prev && (!next || c->q[i].fingerprint < next->fingerprint))
                next = &c->q[i];
        buf_addf(b, " [%s c=%llu us=%lld]", next->query, (unsigned long long)next->calls,
                 (long long)next->total_us);
        prev = next->fingerprint;
    }
}

/*
 * A budget of four queries over twenty distinct ones (query k called k % 3
 * + 1 times, 100 (k + 1) µs a call): the kept are those under the hash
 * threshold, `other` has every other call, so the totals stay exact; and
 * any split of the input merges to the same result.
 */
static void query_memory_folds_exactly(void **state)
{
    (void)state;
    static const char *const names[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j",
                                         "k", "l", "m", "n", "o", "p", "q", "r", "s", "t" };
    char texts[20][48];
    struct step st[40];
    size_t n = 0;
    for (int k = 0; k < 20; k++) {
        snprintf(texts[k], sizeof(texts[k]), "SELECT * FROM t_%s WHERE x = 1", names[k]);
        for (int r = 0; r <= k % 3; r++)
            st[n++] = (struct step){ 'q', 1 + r, 100 * (k + 1), texts[k] };
    }
    struct collector_opts o = default_opts();
    o.query_memory = 4 * QSTAT_BYTES;
    struct collector one;
    collector_init(&one, &o);
    play(&one, st, 0, n);
    collector_finish(&one);
    assert_int_equal(n, 39);
    assert_int_equal(one.queries, 39);
    assert_int_equal(one.total_us, 41300);
    assert_int_equal(one.nq, 4);
    assert_int_equal(one.other.calls, 28);
    assert_int_equal(one.other.total_us, 29800);
    /* Four kept of a quarter of the hashes: about 16 in all, 12 folded (16 in truth). */
    assert_int_equal(one.keep_max, 0x3fffffffffffffffULL);
    assert_int_equal(collector_folded_queries(&one), 12);
    assert_int_equal(find(&one, "select * from t_f where x = $1")->calls, 3);
    assert_int_equal(find(&one, "select * from t_h where x = $1")->total_us, 1600);
    assert_int_equal(find(&one, "select * from t_i where x = $1")->calls, 3);
    assert_int_equal(find(&one, "select * from t_r where x = $1")->total_us, 5400);
    uint64_t calls = one.other.calls;
    int64_t us = one.other.total_us;
    for (size_t i = 0; i < one.nq; i++) {
        assert_true(hmap_mix64(one.q[i].fingerprint) <= one.keep_max);
        calls += one.q[i].calls;
        us += one.q[i].total_us;
    }
    assert_int_equal(calls, 39);
    assert_int_equal(us, 41300);
    struct buf ref = BUF_INIT, got = BUF_INIT;
    fold_signature(&one, &ref);
    collector_release(&one);
    for (size_t c1 = 0; c1 <= n; c1 += 3)
        for (size_t c2 = c1; c2 <= n; c2 += 5) {
            struct collector x, y, z;
            collector_init(&x, &o);
            collector_init(&y, &o);
            collector_init(&z, &o);
            play(&x, st, 0, c1);
            play(&y, st, c1, c2);
            play(&z, st, c2, n);
            collector_merge(&x, &y, 0);
            collector_merge(&x, &z, 0);
            collector_finish(&x);
            fold_signature(&x, &got);
            if (strcmp(ref.ptr, got.ptr) != 0)
                fail_msg("split at %zu and %zu:\n one pass %s\n merged   %s", c1, c2, ref.ptr,
                         got.ptr);
            collector_release(&x);
            collector_release(&y);
            collector_release(&z);
        }
    buf_release(&ref);
    buf_release(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pairs_records_of_one_call),
        cmocka_unit_test(merge_at_every_split_equals_one_pass),
        cmocka_unit_test(random_scripts_merge_exactly),
        cmocka_unit_test(plan_outlines_and_shapes),
        cmocka_unit_test(plan_change_around_a_time),
        cmocka_unit_test(filters_drop_records),
        cmocka_unit_test(timeline_buckets_per_interval),
        cmocka_unit_test(query_memory_folds_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
