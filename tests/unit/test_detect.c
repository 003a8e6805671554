/*
 * Tests of detect/detect.c. A synthetic but realistic workload (a web
 * app's queries, tables, sessions and server counters with ±20% noise from
 * a fixed-seed PRNG) must produce no finding at all; each fault injected
 * into it must produce the exact finding kind and key at once; and the
 * detector's edges hold: absolute floors, minimum calls, gaps, bounded
 * memory, baselines that do not absorb an incident.
 */
#include "test_util.h"

#include "detect/alerts.h"
#include "detect/detect.h"

#include <inttypes.h>
#include <math.h>

/* xorshift64*: deterministic noise for the synthetic workload. */
struct rng {
    uint64_t s;
};

static double rnd(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* A factor in [0.8, 1.2). */
static double noise(struct rng *r)
{
    return 0.8 + 0.4 * rnd(r);
}

#define INTERVAL_S 10

struct wl_query {
    uint64_t fp;
    const char *sql;
    double calls_s, mean_ms, rows_call;
};

static const struct wl_query wl_queries[] = {
    { 0x1001, "SELECT id, total FROM orders WHERE customer_id = $1", 25, 0.8, 5 },
    { 0x1002, "SELECT * FROM users WHERE id = $1", 120, 0.15, 1 },
    { 0x1003, "UPDATE users SET last_seen = now() WHERE id = $1", 40, 0.4, 1 },
    { 0x1004, "INSERT INTO events (user_id, kind) VALUES ($1, $2)", 60, 0.3, 1 },
    { 0x1005, "SELECT count(*) FROM carts WHERE user_id = $1", 15, 1.5, 1 },
    { 0x1006,
      "SELECT p.id, p.name FROM products p WHERE p.category_id = $1 ORDER BY p.name LIMIT $2", 8,
      3.0, 20 },
    { 0x1007, "SELECT day, sum(total) FROM orders GROUP BY day", 0.3, 40, 200 },
    { 0x1008, "BEGIN", 200, 0.01, 0 },
};

struct wl_table {
    const char *name;
    double live, seq_scan_s, upd_s, hot;
};

static const struct wl_table wl_tables[] = {
    { "orders", 500000, 0.02, 5, 0.9 },
    { "users", 50000, 0, 40, 0.95 },
    { "events", 1000000, 0, 0, 0 },
    { "settings", 50, 30, 0, 0 },
};

static int64_t round64(double v)
{
    return (int64_t)llround(v);
}

static struct sample_session *add_session(struct sample *s, int pid, const char *state,
                                          const char *wait_type, double query_age, double state_age)
{
    struct sample_session *ss = &s->sessions[s->nsessions++];
    memset(ss, 0, sizeof(*ss));
    ss->pid = pid;
    ss->user = "app";
    ss->db = "shop";
    ss->app = "web";
    ss->client = "10.0.0.5";
    ss->state = state;
    ss->wait_event_type = wait_type;
    ss->wait_event = *wait_type ? "transactionid" : "";
    ss->query = "UPDATE orders SET status = $1 WHERE id = $2";
    ss->query_age_s = query_age;
    ss->xact_age_s = query_age;
    ss->state_age_s = state_age;
    return ss;
}

static void block(struct sample *s, struct sample_session *ss, int by)
{
    ss->blocked_by = arena_alloc(&s->arena, sizeof(int));
    ss->blocked_by[0] = by;
    ss->nblocked_by = 1;
}

/* Interval i of the steady workload. */
static void steady_sample(struct sample *s, struct rng *r, int i)
{
    sample_init(s);
    s->start_us = 1700000000000000LL + (int64_t)i * INTERVAL_S * 1000000LL;
    s->end_us = s->start_us + INTERVAL_S * 1000000LL;
    s->server_version_num = 150004;
    s->max_connections = 100;
    s->reserved_connections = 3;
    s->connections = (int)(40 * noise(r));
    s->active = (int)(5 * noise(r));
    s->idle_in_transaction = 1;
    s->idle = s->connections - s->active - 1;
    static struct sample_count apps[] = { { "web", 30 }, { "worker", 10 } };
    s->by_app = apps;
    s->nby_app = 2;

    s->queries = arena_alloc(&s->arena, 16 * sizeof(*s->queries));
    for (size_t k = 0; k < ARRAY_SIZE(wl_queries); k++) {
        const struct wl_query *w = &wl_queries[k];
        struct sample_query *q = &s->queries[s->nqueries];
        memset(q, 0, sizeof(*q));
        q->fingerprint = w->fp;
        q->queryid = (int64_t)w->fp;
        q->query = w->sql;
        q->db = "shop";
        q->user = "app";
        q->calls = round64(w->calls_s * INTERVAL_S * noise(r));
        if (q->calls <= 0)
            continue;
        q->total_ms = (double)q->calls * w->mean_ms * noise(r);
        q->rows = round64((double)q->calls * w->rows_call * noise(r));
        q->blks_hit = q->calls * 4;
        s->nqueries++;
    }

    s->tables = arena_alloc(&s->arena, 8 * sizeof(*s->tables));
    for (size_t k = 0; k < ARRAY_SIZE(wl_tables); k++) {
        const struct wl_table *w = &wl_tables[k];
        struct sample_table *t = &s->tables[s->ntables++];
        memset(t, 0, sizeof(*t));
        t->schema = "public";
        t->name = w->name;
        t->n_live_tup = round64(w->live);
        t->seq_scan = round64(w->seq_scan_s * INTERVAL_S * noise(r));
        t->seq_tup_read = t->seq_scan * t->n_live_tup;
        t->idx_scan = round64(100 * INTERVAL_S * noise(r));
        t->n_tup_upd = round64(w->upd_s * INTERVAL_S * noise(r));
        double hot = w->hot * (0.95 + 0.1 * rnd(r));
        t->n_tup_hot_upd = round64((double)t->n_tup_upd * (hot > 1 ? 1 : hot));
        t->bytes = t->n_live_tup * 100;
    }

    s->sessions = arena_alloc(&s->arena, 32 * sizeof(*s->sessions));
    add_session(s, 100, "active", "", 0.01 * noise(r), 0.01);
    add_session(s, 101, "active", "", 0.2 * noise(r), 0.2);
    add_session(s, 102, "idle in transaction", "", 0.5, 0.4 * noise(r));
    /* A brief row-lock wait, as any busy app has: not a blocking chain. */
    struct sample_session *w = add_session(s, 103, "active", "Lock", 0.3 * noise(r), 0.3);
    block(s, w, 101);
    s->waiting = 1;

    double xacts = 250 * INTERVAL_S * noise(r);
    s->db.xact_rollback = round64(xacts * 0.01 * noise(r));
    s->db.xact_commit = round64(xacts) - s->db.xact_rollback;
    s->db.blks_hit = 100000;
    s->has_log = true;
    s->log_errors = round64(3 * rnd(r));
    s->log_lock_waits = rnd(r) < 0.1 ? 1 : 0;
}

/* The findings of the last step, freed by the next (tests read them in between). */
static struct finding *held;
static size_t nheld;

static void hold(struct finding *f, size_t n)
{
    detector_findings_free(held, nheld);
    held = f;
    nheld = n;
}

struct run {
    struct detect_config cfg;
    struct detector *d;
    struct rng rng;
    int i;
};

/*
 * The defaults, without the server-wide load rules: these tests count the
 * findings of one key's detector, and every fault that slows or multiplies
 * a query also raises the server's database time or calls (database_load
 * and call_rate are tested on their own); and a blocked small pool also
 * trips lock_waits by its share of waiters (tested in small_pool_lock_waits).
 */
static void config_per_key(struct detect_config *cfg)
{
    detect_config_init(cfg);
    cfg->db_load_min_increase = 1e9;
    cfg->call_rate_min_increase = 1e9;
    cfg->lock_waits_share = 0;
}

static void run_init(struct run *r, uint64_t seed)
{
    config_per_key(&r->cfg);
    r->d = detector_new(&r->cfg);
    r->rng.s = seed * 0x9E3779B97F4A7C15ULL + 1;
    r->i = 0;
}

static void run_release(struct run *r)
{
    detector_free(r->d);
}

static const char *describe(const struct finding *f, size_t n)
{
    static char out[4096];
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && at < sizeof(out) - 200; i++)
        at += (size_t)snprintf(out + at, sizeof(out) - at, "[%s %s] %s; ",
                               finding_kind_name(f[i].kind), f[i].key, f[i].summary);
    return out;
}

/* Feeds n steady intervals and fails on any finding. */
static void feed_steady(struct run *r, int n)
{
    for (int k = 0; k < n; k++) {
        struct sample s;
        steady_sample(&s, &r->rng, r->i++);
        struct finding *f;
        size_t nf;
        assert_true(detector_step(r->d, &s, &f, &nf));
        hold(f, nf);
        if (nf)
            fail_msg("steady interval %d: %s", r->i - 1, describe(f, nf));
        sample_release(&s);
    }
}

static void steady_workload_has_no_findings(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct run r;
        run_init(&r, seed);
        feed_steady(&r, 200);
        assert_int_equal(detector_steps(r.d), 200);
        assert_int_equal(detector_tracked_queries(r.d), ARRAY_SIZE(wl_queries));
        assert_int_equal(detector_tracked_tables(r.d), ARRAY_SIZE(wl_tables));
        run_release(&r);
    }
}

/* Faults, each applied to a steady sample. */
static struct sample_query *find_query(struct sample *s, uint64_t fp)
{
    for (int i = 0; i < s->nqueries; i++)
        if (s->queries[i].fingerprint == fp)
            return &s->queries[i];
    fail_msg("no query %" PRIx64, fp);
    return NULL;
}

static struct sample_table *find_table(struct sample *s, const char *name)
{
    for (int i = 0; i < s->ntables; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    fail_msg("no table %s", name);
    return NULL;
}

static void fault_latency(struct sample *s)
{
    struct sample_query *q = find_query(s, 0x1001);
    q->total_ms = (double)q->calls * 45;
}

static void fault_surge(struct sample *s)
{
    struct sample_query *q = find_query(s, 0x1005);
    q->calls *= 20;
    q->total_ms *= 20;
    q->rows *= 20;
}

static void fault_new_query(struct sample *s)
{
    struct sample_query *q = &s->queries[s->nqueries++];
    memset(q, 0, sizeof(*q));
    q->fingerprint = 0x2001;
    q->query =
        "SELECT * FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.note LIKE $1";
    q->calls = 40;
    q->total_ms = 9000;
    q->rows = 40;
    q->is_new = true;
}

static void fault_saturation(struct sample *s)
{
    s->connections = 84; /* 84 / 97 = 87% */
}

static void fault_saturation_critical(struct sample *s)
{
    s->connections = 95; /* 98% */
}

static void fault_refused(struct sample *s)
{
    s->log_refused = 12;
}

static void fault_long_running(struct sample *s)
{
    add_session(s, 4242, "active", "", 75, 75);
}

static void fault_idle_in_transaction(struct sample *s)
{
    add_session(s, 4343, "idle in transaction", "", 50, 45);
}

static void fault_blocking(struct sample *s)
{
    add_session(s, 5000, "idle in transaction", "", 20, 12);
    for (int k = 0; k < 3; k++)
        block(s, add_session(s, 5001 + k, "active", "Lock", 12, 12), 5000);
}

static void fault_lock_waits(struct sample *s)
{
    add_session(s, 6000, "active", "", 1.5, 1.5);
    for (int k = 0; k < 6; k++)
        block(s, add_session(s, 6001 + k, "active", "Lock", 1, 1), 6000);
}

static void fault_deadlock(struct sample *s)
{
    s->db.deadlocks = 1;
    s->log_deadlocks = 1;
}

static void fault_rollback(struct sample *s)
{
    int64_t x = s->db.xact_commit + s->db.xact_rollback;
    s->db.xact_rollback = x * 3 / 10;
    s->db.xact_commit = x - s->db.xact_rollback;
}

static void fault_errors(struct sample *s)
{
    s->log_errors = 300;
}

static void fault_seq_scan(struct sample *s)
{
    struct sample_table *t = find_table(s, "orders");
    t->seq_scan = 400;
    t->seq_tup_read = 400 * t->n_live_tup;
}

static void fault_hot(struct sample *s)
{
    struct sample_table *t = find_table(s, "users");
    t->n_tup_hot_upd = t->n_tup_upd / 50;
}

static void fault_rows(struct sample *s)
{
    struct sample_query *q = find_query(s, 0x1006);
    q->rows = q->calls * 5000;
}

struct fault_case {
    const char *name;
    void (*inject)(struct sample *s);
    enum finding_kind kind;
    const char *key;
    enum finding_severity severity;
    const char *unit;
};

static const struct fault_case fault_cases[] = {
    { "latency", fault_latency, FK_LATENCY_REGRESSION, "fp:0000000000001001", FINDING_CRITICAL,
      "ms" },
    { "surge", fault_surge, FK_CALL_SURGE, "fp:0000000000001005", FINDING_WARNING, "calls/s" },
    { "new query", fault_new_query, FK_NEW_HEAVY_QUERY, "fp:0000000000002001", FINDING_WARNING,
      "%" },
    { "saturation", fault_saturation, FK_CONN_SATURATION, "server", FINDING_WARNING, "%" },
    { "saturation critical", fault_saturation_critical, FK_CONN_SATURATION, "server",
      FINDING_CRITICAL, "%" },
    { "refused", fault_refused, FK_CONN_REFUSED, "server", FINDING_CRITICAL, "refused" },
    { "long running", fault_long_running, FK_LONG_RUNNING, "pid:4242", FINDING_WARNING, "s" },
    { "idle in transaction", fault_idle_in_transaction, FK_IDLE_IN_TRANSACTION, "pid:4343",
      FINDING_WARNING, "s" },
    { "blocking", fault_blocking, FK_BLOCKING, "pid:5000", FINDING_CRITICAL, "sessions" },
    { "lock waits", fault_lock_waits, FK_LOCK_WAITS, "server", FINDING_WARNING, "sessions" },
    { "deadlock", fault_deadlock, FK_DEADLOCKS, "server", FINDING_WARNING, "deadlocks" },
    { "rollback", fault_rollback, FK_ROLLBACK_SPIKE, "server", FINDING_WARNING, "%" },
    { "errors", fault_errors, FK_ERROR_SPIKE, "server", FINDING_WARNING, "errors/s" },
    { "seq scan", fault_seq_scan, FK_SEQ_SCAN_GROWTH, "table:public.orders", FINDING_WARNING,
      "rows/s" },
    { "hot", fault_hot, FK_HOT_RATIO_DROP, "table:public.users", FINDING_WARNING, "%" },
    { "rows", fault_rows, FK_ROWS_PER_CALL, "fp:0000000000001006", FINDING_WARNING, "rows/call" },
};

static const struct finding *find_finding(const struct finding *f, size_t n, enum finding_kind kind,
                                          const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == kind && strcmp(f[i].key, key) == 0)
            return &f[i];
    return NULL;
}

struct changes {
    int fired, updated, resolved;
    uint64_t last_id;
};

static void count_change(void *ctx, enum alert_change change, const struct alert *a)
{
    struct changes *c = ctx;
    c->last_id = a->id;
    if (change == ALERT_FIRED)
        c->fired++;
    else if (change == ALERT_UPDATED)
        c->updated++;
    else
        c->resolved++;
}

/* Steps the detector and the alert book with one sample. */
static size_t step_both(struct run *r, struct alert_book *book, struct changes *ch,
                        void (*inject)(struct sample *), struct finding **f)
{
    struct sample s;
    steady_sample(&s, &r->rng, r->i++);
    if (inject)
        inject(&s);
    size_t nf;
    assert_true(detector_step(r->d, &s, f, &nf));
    hold(*f, nf);
    alert_book_update(book, &s, *f, nf, count_change, ch);
    sample_release(&s);
    return nf;
}

static void each_fault_fires_its_finding_at_once(void **state)
{
    (void)state;
    for (size_t c = 0; c < ARRAY_SIZE(fault_cases); c++) {
        const struct fault_case *fc = &fault_cases[c];
        struct run r;
        run_init(&r, 7 + c);
        struct changes ch = { 0 };
        struct alert_book *book = alert_book_new(&r.cfg);
        for (int k = 0; k < 30; k++) {
            struct finding *f;
            size_t nf = step_both(&r, book, &ch, NULL, &f);
            if (nf)
                fail_msg("%s: steady: %s", fc->name, describe(f, nf));
        }
        /* The finding is there in the first faulty interval, and the second. */
        for (int k = 0; k < 2; k++) {
            struct finding *f;
            size_t nf = step_both(&r, book, &ch, fc->inject, &f);
            const struct finding *hit = find_finding(f, nf, fc->kind, fc->key);
            if (!hit)
                fail_msg("%s: interval %d: no %s %s in: %s", fc->name, k + 1,
                         finding_kind_name(fc->kind), fc->key, describe(f, nf));
            if (hit->severity != fc->severity)
                fail_msg("%s: severity %s", fc->name, finding_severity_name(hit->severity));
            assert_string_equal(hit->unit, fc->unit);
            assert_true(isfinite(hit->value));
            assert_true(isfinite(hit->threshold));
            assert_non_null(hit->summary);
            assert_non_null(hit->next);
            assert_true(strlen(hit->summary) > 10 && strlen(hit->next) > 10);
        }
        /* Its alert has fired within those two intervals, exactly once. */
        if (ch.fired != 1)
            fail_msg("%s: %d alerts fired", fc->name, ch.fired);
        assert_int_equal(ch.last_id, alert_id(fc->kind, fc->key));
        size_t nfiring;
        alert_book_firing(book, &nfiring);
        assert_int_equal(nfiring, 1);
        /* Back to steady: no new finding, and the alert resolves after 3 clear intervals. */
        for (int k = 0; k < 3; k++) {
            struct finding *f;
            size_t nf = step_both(&r, book, &ch, NULL, &f);
            if (nf)
                fail_msg("%s: after the fault: %s", fc->name, describe(f, nf));
            assert_int_equal(ch.resolved, k == 2 ? 1 : 0);
        }
        assert_int_equal(ch.updated, 0);
        alert_book_firing(book, &nfiring);
        assert_int_equal(nfiring, 0);
        alert_book_free(book);
        run_release(&r);
    }
}

/* A workload without noise, for exact numbers. */
static void flat_sample(struct sample *s, int i, double mean_ms, int64_t calls)
{
    sample_init(s);
    s->start_us = (int64_t)i * 10000000LL;
    s->end_us = s->start_us + 10000000LL;
    s->max_connections = 100;
    s->connections = 10;
    s->queries = arena_alloc(&s->arena, sizeof(*s->queries));
    memset(s->queries, 0, sizeof(*s->queries));
    s->nqueries = 1;
    s->queries[0].fingerprint = 0xabc;
    s->queries[0].query = "SELECT id, total\n  FROM orders WHERE customer_id = $1";
    s->queries[0].calls = calls;
    s->queries[0].total_ms = mean_ms * (double)calls;
    s->queries[0].rows = calls;
}

static size_t step_flat(struct detector *d, int i, double mean_ms, int64_t calls,
                        struct finding **f)
{
    struct sample s;
    flat_sample(&s, i, mean_ms, calls);
    size_t nf;
    assert_true(detector_step(d, &s, f, &nf));
    hold(*f, nf);
    sample_release(&s);
    return nf;
}

static void latency_finding_has_exact_numbers(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    struct detector *d = detector_new(&cfg);
    struct finding *f;
    for (int i = 0; i < 10; i++)
        assert_int_equal(step_flat(d, i, 0.8, 250, &f), 0);
    assert_int_equal(step_flat(d, 10, 45, 25, &f), 1);
    assert_int_equal(f[0].kind, FK_LATENCY_REGRESSION);
    assert_int_equal(f[0].severity, FINDING_CRITICAL);
    assert_string_equal(f[0].key, "fp:0000000000000abc");
    assert_int_equal(f[0].fingerprint, 0xabc);
    assert_true(fabs(f[0].value - 45) < 1e-9);
    assert_true(fabs(f[0].baseline - 0.8) < 1e-9);
    /* max(0.8 + 4 * 0.08, 2 * 0.8, 0.8 + 5) */
    assert_true(fabs(f[0].threshold - 5.8) < 1e-9);
    assert_string_equal(f[0].unit, "ms");
    assert_string_equal(f[0].summary, "mean time of `SELECT id, total FROM orders WHERE "
                                      "customer_id = $1` rose from 0.8 ms to 45.0 ms (56×) over "
                                      "25 calls");
    assert_string_equal(f[0].query, "SELECT id, total\n  FROM orders WHERE customer_id = $1");
    assert_null(f[0].table);
    assert_int_equal(f[0].pid, 0);
    /* 6 ms is 7.5× but only just above the 5 ms floor: a warning. */
    assert_int_equal(step_flat(d, 11, 6, 25, &f), 1);
    assert_int_equal(f[0].severity, FINDING_WARNING);
    /* 5.5 ms is below 0.8 + 5. */
    assert_int_equal(step_flat(d, 12, 5.5, 25, &f), 0);
    detector_free(d);
}

static void small_or_rare_regressions_do_not_fire(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    struct detector *d = detector_new(&cfg);
    struct finding *f;
    for (int i = 0; i < 10; i++)
        assert_int_equal(step_flat(d, i, 0.1, 500, &f), 0);
    /* Twice as slow but 0.1 ms more: never pages. */
    assert_int_equal(step_flat(d, 10, 0.2, 500, &f), 0);
    /* 500× slower, but 9 calls are too few to judge. */
    assert_int_equal(step_flat(d, 11, 50, 9, &f), 0);
    assert_int_equal(step_flat(d, 12, 50, 10, &f), 1);
    detector_free(d);
}

static void gaps_are_not_zeros(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    struct detector *d = detector_new(&cfg);
    struct finding *f;
    size_t nf;
    for (int i = 0; i < 4; i++)
        assert_int_equal(step_flat(d, i, 1, 100, &f), 0);
    for (int i = 4; i < 14; i++) {
        struct sample s;
        sample_init(&s);
        s.gap = i % 2 == 0;
        s.baseline_only = !s.gap;
        s.max_connections = 100;
        s.connections = 100;
        s.db.deadlocks = 3;
        assert_false(detector_step(d, &s, &f, &nf));
        assert_null(f);
        assert_int_equal(nf, 0);
        sample_release(&s);
    }
    assert_int_equal(detector_steps(d), 4);
    /* Four intervals of history, not fourteen: still too few to judge. */
    assert_int_equal(step_flat(d, 14, 100, 100, &f), 0);
    assert_int_equal(step_flat(d, 15, 100, 100, &f), 1);
    detector_free(d);
}

static void incident_does_not_become_the_baseline(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    struct detector *d = detector_new(&cfg);
    struct finding *f;
    for (int i = 0; i < 10; i++)
        step_flat(d, i, 1, 100, &f);
    /* Longer than half the history: a naive rolling median would have adapted. */
    for (int i = 10; i < 40; i++) {
        assert_int_equal(step_flat(d, i, 30, 100, &f), 1);
        assert_true(fabs(f[0].baseline - 1) < 1e-9);
    }
    detector_free(d);

    /* With relearn = 5 the new level joins the baseline and stops firing. */
    cfg.relearn = 5;
    d = detector_new(&cfg);
    for (int i = 0; i < 10; i++)
        step_flat(d, i, 1, 100, &f);
    int fired = 0;
    for (int i = 10; i < 40; i++)
        fired += (int)step_flat(d, i, 30, 100, &f);
    /*
     * 4 held out, the 5th and 9 more recorded until the ring holds 10 ones
     * and 10 thirties: its median 15.5 puts the threshold at 31 ms.
     */
    assert_int_equal(fired, 4 + 1 + 9);
    assert_int_equal(step_flat(d, 40, 30, 100, &f), 0);
    detector_free(d);
}

/* Three of four active sessions waiting: a small pool is stuck, whatever the count floor. */
static void small_pool_lock_waits(void **state)
{
    (void)state;
    struct detect_config cfg;
    detect_config_init(&cfg);
    struct detector *d = detector_new(&cfg);
    struct sample s;
    flat_sample(&s, 0, 0.5, 100);
    s.sessions = arena_alloc(&s.arena, 8 * sizeof(*s.sessions));
    s.active = 4;
    s.waiting = 3;
    for (int k = 0; k < 3; k++)
        s.sessions[s.nsessions++] = (struct sample_session){ .pid = 10 + k,
                                                             .state = "active",
                                                             .wait_event_type = "Lock",
                                                             .query = "SELECT 1",
                                                             .query_age_s = 1,
                                                             .xact_age_s = 1,
                                                             .state_age_s = 1 };
    struct finding *f;
    size_t nf;
    assert_true(detector_step(d, &s, &f, &nf));
    hold(f, nf);
    const struct finding *w = find_finding(f, nf, FK_LOCK_WAITS, "server");
    assert_non_null(w);
    assert_true(fabs(w->value - 3) < 1e-9);
    /* With the share rule off, three waiters are under the floor of five. */
    detector_free(d);
    cfg.lock_waits_share = 0;
    d = detector_new(&cfg);
    assert_true(detector_step(d, &s, &f, &nf));
    hold(f, nf);
    assert_null(find_finding(f, nf, FK_LOCK_WAITS, "server"));
    sample_release(&s);
    detector_free(d);
}

/* The whole server: its database time, and new connections, against their history. */
static void database_load_and_connection_rate(void **state)
{
    (void)state;
    struct detect_config cfg;
    detect_config_init(&cfg);
    struct detector *d = detector_new(&cfg);
    struct finding *f = NULL;
    size_t nf = 0;
    for (int i = 0; i < 25; i++) {
        struct sample s;
        flat_sample(&s, i, 0.5, 300); /* 150 ms a 10 s interval: 0.015 s/s, 30 calls/s */
        s.db.sessions = 20;           /* 2 a second */
        bool fault = i >= 20;
        if (fault) {
            s.queries[0].total_ms = 900; /* 0.09 s/s: 6x, +0.075 s/s */
            s.db.sessions = 400;         /* 40 a second */
        }
        assert_true(detector_step(d, &s, &f, &nf));
        hold(f, nf);
        sample_release(&s);
        const struct finding *load = find_finding(f, nf, FK_DB_LOAD, "server");
        const struct finding *conn = find_finding(f, nf, FK_CONN_RATE, "server");
        if (!fault) {
            assert_null(load);
            assert_null(conn);
            continue;
        }
        assert_non_null(load);
        /* A warning however large: one heavy interval is not an outage. */
        assert_int_equal(load->severity, FINDING_WARNING);
        assert_true(fabs(load->value - 0.09) < 1e-9);
        assert_true(fabs(load->baseline - 0.015) < 1e-9);
        assert_string_equal(load->unit, "s/s");
        assert_non_null(conn);
        assert_true(fabs(conn->value - 40) < 1e-9);
        assert_true(fabs(conn->baseline - 2) < 1e-9);
    }
    /* A server with no calls yet is starting: its first connections are no surge. */
    detector_free(d);
    d = detector_new(&cfg);
    for (int i = 0; i < 15; i++) {
        struct sample q;
        flat_sample(&q, i, 0.5, i < 10 ? 0 : 300);
        q.db.sessions = i < 10 ? 0 : 400;
        assert_true(detector_step(d, &q, &f, &nf));
        hold(f, nf);
        sample_release(&q);
        assert_null(find_finding(f, nf, FK_CONN_RATE, "server"));
    }
    /* A schema change's time is not load: a CREATE INDEX alone raises nothing. */
    struct sample s;
    flat_sample(&s, 25, 0.5, 100);
    s.db.sessions = 20;
    s.queries[0].query = "create index t_v_idx on t (v)";
    s.queries[0].total_ms = 5000;
    detector_free(d);
    d = detector_new(&cfg);
    for (int i = 0; i < 10; i++) {
        struct sample q;
        flat_sample(&q, i, 0.5, 100);
        q.db.sessions = 20;
        assert_true(detector_step(d, &q, &f, &nf));
        hold(f, nf);
        sample_release(&q);
    }
    assert_true(detector_step(d, &s, &f, &nf));
    hold(f, nf);
    assert_null(find_finding(f, nf, FK_DB_LOAD, "server"));
    sample_release(&s);
    detector_free(d);
}

/*
 * A new query stays new while it is heavy, however short the interval
 * (its load is judged per second), until it has lasted relearn intervals.
 */
/*
 * A server idle through warm-up whose application then starts: its queries
 * are its normal, not a release, however much of the time they take. Once
 * it is in use, a query never seen before is new.
 */
static void application_start_is_not_new(void **state)
{
    (void)state;
    struct detect_config cfg;
    detect_config_init(&cfg);
    struct detector *d = detector_new(&cfg);
    struct finding *f = NULL;
    size_t nf = 0;
    int findings_start = 0, fired_later = 0;
    for (int i = 0; i < 40; i++) {
        struct sample s;
        /* idle (one call in 10 s) until 10, then 300 calls a second of 0.5 ms */
        flat_sample(&s, i, 0.5, i < 10 ? 1 : 3000);
        if (i >= 30) {
            struct sample_query *q = arena_alloc(&s.arena, 2 * sizeof(*q));
            q[0] = s.queries[0];
            q[1] = (struct sample_query){ .fingerprint = 0x3002,
                                          .query = "SELECT * FROM books WHERE published > $1",
                                          .calls = 50,
                                          .total_ms = 1500,
                                          .rows = 50000 };
            s.queries = q;
            s.nqueries = 2;
        }
        assert_true(detector_step(d, &s, &f, &nf));
        hold(f, nf);
        sample_release(&s);
        if (i < 30)
            findings_start += (int)nf; /* neither new nor a surge of calls */
        fired_later += find_finding(f, nf, FK_NEW_HEAVY_QUERY, "fp:0000000000003002") != NULL;
    }
    assert_int_equal(findings_start, 0);
    assert_int_equal(fired_later, 10);
    detector_free(d);
}

static void new_query_stays_new_until_relearned(void **state)
{
    (void)state;
    struct detect_config cfg;
    detect_config_init(&cfg);
    cfg.relearn = 8;
    struct detector *d = detector_new(&cfg);
    struct finding *f = NULL;
    size_t nf = 0;
    int fired = 0, last = -1;
    for (int i = 0; i < 30; i++) {
        struct sample s;
        flat_sample(&s, i, 0.5, 300);
        s.end_us = s.start_us + 1000000; /* 1 s intervals: 150 ms of usual work */
        if (i >= 10 && i < 25) {
            /* 5 calls of 20 ms: 0.1 s a second, 40% of the time, under 500 ms an interval */
            struct sample_query *q = arena_alloc(&s.arena, 2 * sizeof(*q));
            q[0] = s.queries[0];
            q[1] = (struct sample_query){ .fingerprint = 0x3001,
                                          .query = "SELECT * FROM books WHERE published > $1",
                                          .calls = 5,
                                          .total_ms = 100,
                                          .rows = 5000 };
            s.queries = q;
            s.nqueries = 2;
        }
        assert_true(detector_step(d, &s, &f, &nf));
        hold(f, nf);
        sample_release(&s);
        const struct finding *n = find_finding(f, nf, FK_NEW_HEAVY_QUERY, "fp:0000000000003001");
        if (n) {
            fired++;
            last = i;
            assert_true(fabs(n->value - 40) < 1e-9);
        }
    }
    /* Intervals 10..17 (relearn 8), then the new normal. */
    assert_int_equal(fired, 8);
    assert_int_equal(last, 17);
    detector_free(d);
}

/*
 * A new query found heavy stays so while it keeps its share, though its
 * load dips under new_query_min_load; one that never crossed it is not,
 * nor is the first after a pause longer than alert_clear.
 */
static void a_heavy_new_query_is_kept_by_its_share(void **state)
{
    (void)state;
    struct detect_config cfg;
    detect_config_init(&cfg);
    struct detector *d = detector_new(&cfg);
    struct finding *f = NULL;
    size_t nf = 0;
    int fired = 0, light = 0, after_pause = 0;
    for (int i = 0; i < 32; i++) {
        struct sample s;
        flat_sample(&s, i, 0.5, 100);
        s.end_us = s.start_us + 1000000; /* 1 s intervals: 50 ms of usual work */
        struct sample_query *q = arena_alloc(&s.arena, 3 * sizeof(*q));
        q[0] = s.queries[0];
        s.queries = q;
        s.nqueries = 1;
        /* 60 ms a second at 10 (0.06 s/s), then 30 ms (0.03 s/s, 37%) to 20, and at 25-27. */
        double ms = i == 10 ? 60 : (i > 10 && i <= 20) || (i >= 25 && i <= 27) ? 30 : 0;
        if (ms > 0)
            q[s.nqueries++] = (struct sample_query){ .fingerprint = 0x3003,
                                                     .query = "SELECT * FROM books",
                                                     .calls = 3,
                                                     .total_ms = ms,
                                                     .rows = 3000 };
        /* Never above the floor: 30 ms a second from 12 on. */
        if (i >= 12)
            q[s.nqueries++] = (struct sample_query){ .fingerprint = 0x3004,
                                                     .query = "SELECT * FROM loans",
                                                     .calls = 3,
                                                     .total_ms = 30,
                                                     .rows = 3000 };
        assert_true(detector_step(d, &s, &f, &nf));
        hold(f, nf);
        sample_release(&s);
        bool heavy = find_finding(f, nf, FK_NEW_HEAVY_QUERY, "fp:0000000000003003") != NULL;
        fired += heavy && i <= 20;
        after_pause += heavy && i > 20;
        light += find_finding(f, nf, FK_NEW_HEAVY_QUERY, "fp:0000000000003004") != NULL;
    }
    assert_int_equal(fired, 11);
    assert_int_equal(after_pause, 0);
    assert_int_equal(light, 0);
    detector_free(d);
}

/*
 * call_rate: more calls of the queries that ran before is a surge; the
 * calls of an application that starts after a schema load are not.
 */
static void call_rate_is_more_of_the_same(void **state)
{
    (void)state;
    struct detect_config cfg;
    detect_config_init(&cfg);
    for (int starting = 0; starting < 2; starting++) {
        struct detector *d = detector_new(&cfg);
        struct finding *f = NULL;
        size_t nf = 0;
        int fired = 0;
        for (int i = 0; i < 20; i++) {
            struct sample s;
            flat_sample(&s, i, 0.5, 730); /* 73 calls a second: a load, or the usual pages */
            if (i >= 12) {
                if (starting) {
                    /* The application's own queries, never seen before, at 500 a second. */
                    s.queries[0].fingerprint = 0x5000;
                    s.queries[0].query = "SELECT id, name FROM products WHERE id = $1";
                }
                s.queries[0].calls = 5000;
                s.queries[0].total_ms = 2500;
            }
            assert_true(detector_step(d, &s, &f, &nf));
            hold(f, nf);
            sample_release(&s);
            const struct finding *r = find_finding(f, nf, FK_CALL_RATE, "server");
            if (r) {
                fired++;
                assert_true(fabs(r->value - 500) < 1e-9);
                assert_true(fabs(r->baseline - 73) < 1e-9);
            }
        }
        assert_int_equal(fired, starting ? 0 : 8);
        detector_free(d);
    }
}

static void memory_is_bounded_by_max_keys(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    cfg.max_keys = 16;
    struct detector *d = detector_new(&cfg);
    uint64_t next = 0x9000;
    for (int i = 0; i < 100; i++) {
        struct sample s;
        sample_init(&s);
        s.start_us = (int64_t)i * 10000000LL;
        s.end_us = s.start_us + 10000000LL;
        s.queries = arena_alloc(&s.arena, 11 * sizeof(*s.queries));
        memset(s.queries, 0, 11 * sizeof(*s.queries));
        s.nqueries = 11;
        s.queries[0] = (struct sample_query){
            .fingerprint = 0xabc, .query = "SELECT 1", .calls = 100, .total_ms = i < 99 ? 100 : 5000
        };
        for (int k = 1; k < 11; k++)
            s.queries[k] = (struct sample_query){
                .fingerprint = next++, .query = "SELECT 2", .calls = 1, .total_ms = 0.01
            };
        s.tables = arena_alloc(&s.arena, sizeof(*s.tables));
        memset(s.tables, 0, sizeof(*s.tables));
        s.tables[0].schema = "s";
        s.tables[0].name = i % 2 ? "a" : "b";
        s.ntables = 1;
        struct finding *f;
        size_t nf;
        assert_true(detector_step(d, &s, &f, &nf));
        hold(f, nf);
        /* Evicted between steps: at most one sample's new keys above the cap. */
        assert_true(detector_tracked_queries(d) <= 16 + 11);
        /* The query seen every interval keeps its history through the churn. */
        if (i == 99) {
            assert_non_null(find_finding(f, nf, FK_LATENCY_REGRESSION, "fp:0000000000000abc"));
        }
        sample_release(&s);
    }
    assert_int_equal(detector_tracked_tables(d), 2);
    detector_free(d);
}

static void new_queries_need_a_warm_detector(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    struct detector *d = detector_new(&cfg);
    struct finding *f;
    /* The first interval: every query is unknown, none is "new". */
    assert_int_equal(step_flat(d, 0, 100, 100, &f), 0);
    detector_free(d);
}

static void blocking_chain_counts_transitive_victims(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    struct detector *d = detector_new(&cfg);
    struct sample s;
    sample_init(&s);
    s.end_us = 10000000;
    s.sessions = arena_alloc(&s.arena, 8 * sizeof(*s.sessions));
    /* 10 blocks 11, 11 blocks 12 and 13; 20 and 21 block each other (a deadlock's instant). */
    add_session(&s, 10, "idle in transaction", "", 40, 20);
    block(&s, add_session(&s, 11, "active", "Lock", 30, 30), 10);
    block(&s, add_session(&s, 12, "active", "Lock", 8, 8), 11);
    block(&s, add_session(&s, 13, "active", "Lock", 6, 6), 11);
    block(&s, add_session(&s, 20, "active", "Lock", 9, 9), 21);
    block(&s, add_session(&s, 21, "active", "Lock", 9, 9), 20);
    struct finding *f;
    size_t nf;
    assert_true(detector_step(d, &s, &f, &nf));
    hold(f, nf);
    const struct finding *b = find_finding(f, nf, FK_BLOCKING, "pid:10");
    assert_non_null(b);
    assert_int_equal(b->pid, 10);
    assert_true(b->value == 3);
    assert_int_equal(b->severity, FINDING_CRITICAL);
    assert_string_equal(b->summary, "pid 10 (idle in transaction) blocks 3 sessions, waiting up "
                                    "to 30 s; its statement: `UPDATE orders SET status = $1 WHERE "
                                    "id = $2`");
    assert_null(find_finding(f, nf, FK_BLOCKING, "pid:11"));
    assert_null(find_finding(f, nf, FK_BLOCKING, "pid:20"));
    assert_null(find_finding(f, nf, FK_BLOCKING, "pid:21"));
    /* Critical findings sort first. */
    assert_int_equal(f[0].severity, FINDING_CRITICAL);
    sample_release(&s);
    detector_free(d);
}

static void session_thresholds_escalate(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    struct detector *d = detector_new(&cfg);
    struct sample s;
    sample_init(&s);
    s.end_us = 10000000;
    s.sessions = arena_alloc(&s.arena, 8 * sizeof(*s.sessions));
    add_session(&s, 1, "active", "", 59, 59);
    add_session(&s, 2, "active", "", 601, 601);
    add_session(&s, 3, "idle in transaction (aborted)", "", 700, 700);
    add_session(&s, 4, "idle", "", 9000, 9000);
    struct finding *f;
    size_t nf;
    assert_true(detector_step(d, &s, &f, &nf));
    hold(f, nf);
    assert_int_equal(nf, 2);
    assert_int_equal(f[0].kind, FK_LONG_RUNNING);
    assert_string_equal(f[0].key, "pid:2");
    assert_int_equal(f[0].severity, FINDING_CRITICAL);
    assert_true(f[0].threshold == 600);
    assert_int_equal(f[1].kind, FK_IDLE_IN_TRANSACTION);
    assert_string_equal(f[1].key, "pid:3");
    assert_int_equal(f[1].severity, FINDING_CRITICAL);
    sample_release(&s);
    detector_free(d);
}

static void long_queries_are_elided_in_summaries(void **state)
{
    (void)state;
    struct detect_config cfg;
    config_per_key(&cfg);
    struct detector *d = detector_new(&cfg);
    struct sample s;
    sample_init(&s);
    s.end_us = 10000000;
    s.sessions = arena_alloc(&s.arena, sizeof(*s.sessions));
    struct sample_session *ss = add_session(&s, 7, "active", "", 61, 61);
    ss->query = "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = "
                "o.customer_id WHERE o.created_at > $1 AND c.région = $2";
    ss->app = "";
    struct finding *f;
    size_t nf;
    assert_true(detector_step(d, &s, &f, &nf));
    hold(f, nf);
    assert_int_equal(nf, 1);
    assert_string_equal(f[0].summary, "pid 7 (user 'app') has been running `SELECT o.id, "
                                      "o.total, … WHERE o.created_at > $1 AND c.région = $2` for "
                                      "61 s");
    sample_release(&s);
    detector_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(steady_workload_has_no_findings),
        cmocka_unit_test(each_fault_fires_its_finding_at_once),
        cmocka_unit_test(latency_finding_has_exact_numbers),
        cmocka_unit_test(small_or_rare_regressions_do_not_fire),
        cmocka_unit_test(gaps_are_not_zeros),
        cmocka_unit_test(incident_does_not_become_the_baseline),
        cmocka_unit_test(small_pool_lock_waits),
        cmocka_unit_test(database_load_and_connection_rate),
        cmocka_unit_test(application_start_is_not_new),
        cmocka_unit_test(new_query_stays_new_until_relearned),
        cmocka_unit_test(call_rate_is_more_of_the_same),
        cmocka_unit_test(memory_is_bounded_by_max_keys),
        cmocka_unit_test(new_queries_need_a_warm_detector),
        cmocka_unit_test(a_heavy_new_query_is_kept_by_its_share),
        cmocka_unit_test(blocking_chain_counts_transitive_victims),
        cmocka_unit_test(session_thresholds_escalate),
        cmocka_unit_test(long_queries_are_elided_in_summaries),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hold(NULL, 0);
    return rc;
}
