/*
 * The incident engine on canned interval series: a small world (a shop's
 * orders, or a blog's posts) whose shape each test changes interval by
 * interval the way an outage would, fed to the engine as a watcher would
 * feed it; the incidents that come out are asserted: how many, their
 * onset, end, cause, table, columns, index, trigger, fix and suspicions.
 * Thresholds are the defaults: nothing here is tuned to pass.
 */
#include "test_util.h"

#include "engine/engine.h"
#include "util/xalloc.h"

#include <math.h>
#include <string.h>

#define T0    1700000000000000LL
#define STEP  10000000LL
#define AT(i) (T0 + (int64_t)(i)*STEP)

#define LOOKUP \
    "select id, status from orders where customer_id = $1 order by created_at desc limit $2"
#define BYID   "select id, total from orders where id = $1"
#define UPDATE "update orders set status = $1, updated_at = now() where id = $2"
#define PK     "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)"
#define CUSTIDX \
    "CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id, created_at)"
#define HOTIDX \
    "CREATE INDEX orders_status_updated_at_idx ON public.orders USING btree (status, updated_at)"
#define NPLUS1 "select id, product_id, qty from order_items where order_id = $1"
#define FETCH  "select * from orders where created_at > $1"

/* The shape of one interval of the world. */
struct shape {
    double lookup_ms, byid_ms, update_ms; /* mean time per call */
    int64_t lookup_calls, byid_calls, update_calls;
    int64_t lookup_blks; /* shared blocks per call of the lookup */
    double others_blks;  /* blocks per call of the other two */
    int64_t upd, hot;    /* updates and HOT updates on orders */
    int64_t seq_tup_read;
    bool cust_index, hot_index; /* the indexes that exist */
    int idle_in_tx;             /* sessions idle in transaction (the pool's holders) */
    int connections;
    int64_t new_sessions; /* new connections in the interval */
    int64_t nplus1_calls; /* a release's per-order query */
    int64_t fetch_calls;  /* a release's query that fetches every order since a date */
    bool fetch_new;       /* the source sees that statement for the first time */
    int lock_waiters;     /* sessions waiting for the migration's lock */
    /* changes in the interval */
    const char *change_kind; /* "drop", "create", "hot", "app", "setting", NULL */
};

static struct shape normal(void)
{
    return (struct shape){ .lookup_ms = 0.5,
                           .byid_ms = 0.2,
                           .update_ms = 0.3,
                           .lookup_calls = 1000,
                           .byid_calls = 2000,
                           .update_calls = 500,
                           .lookup_blks = 5,
                           .others_blks = 4,
                           .upd = 500,
                           .hot = 480,
                           .cust_index = true,
                           .connections = 8,
                           .new_sessions = 2 };
}

static void add_query(struct sample *s, uint64_t fp, const char *text, int64_t calls, double ms,
                      int64_t blks, int64_t rows)
{
    if (calls <= 0)
        return;
    s->queries[s->nqueries++] = (struct sample_query){ .fingerprint = fp,
                                                       .query = text,
                                                       .calls = calls,
                                                       .total_ms = (double)calls * ms,
                                                       .rows = rows * calls,
                                                       .blks_hit = blks * calls };
}

static void add_change(struct sample *s, int i, enum sample_change_kind kind, const char *object,
                       const char *detail, const char *app)
{
    struct sample_change c = {
        kind, AT(i) + STEP / 3, object, "public.orders", detail, "", app, "app", 4242
    };
    sample_add_change(s, &c);
}

/* The interval from which the poller knows the lookup's text (its text can come late). */
static int lookup_text_from;

static void build(struct sample *s, int i, const struct shape *sh)
{
    sample_init(s);
    s->start_us = AT(i);
    s->end_us = AT(i) + STEP;
    s->max_connections = 50;
    s->reserved_connections = 3;
    s->connections = sh->connections;
    s->idle_in_transaction = sh->idle_in_tx;
    s->distinct_clients = 4;
    s->db.sessions = sh->new_sessions;
    s->db.xact_commit = sh->lookup_calls + sh->byid_calls;
    s->queries = arena_alloc(&s->arena, 5 * sizeof(*s->queries));
    add_query(s, 0x1111, i >= lookup_text_from ? LOOKUP : "", sh->lookup_calls, sh->lookup_ms,
              sh->lookup_blks, 10);
    add_query(s, 0x2222, BYID, sh->byid_calls, sh->byid_ms, (int64_t)sh->others_blks, 1);
    add_query(s, 0x3333, UPDATE, sh->update_calls, sh->update_ms, (int64_t)sh->others_blks, 1);
    add_query(s, 0x4444, NPLUS1, sh->nplus1_calls, 0.1, 3, 3);
    add_query(s, 0x5555, FETCH, sh->fetch_calls, 40, 2000, 20000);
    if (sh->fetch_calls)
        s->queries[s->nqueries - 1].is_new = sh->fetch_new;
    s->tables = arena_alloc(&s->arena, sizeof(*s->tables));
    s->tables[0] = (struct sample_table){ .schema = "public",
                                          .name = "orders",
                                          .seq_scan = sh->seq_tup_read ? sh->lookup_calls : 0,
                                          .seq_tup_read = sh->seq_tup_read,
                                          .n_tup_upd = sh->upd,
                                          .n_tup_hot_upd = sh->hot,
                                          .n_live_tup = 300000 };
    s->ntables = 1;
    s->indexes = arena_alloc(&s->arena, 3 * sizeof(*s->indexes));
    s->indexes[s->nindexes++] = (struct sample_index){
        .schema = "public", .table = "orders", .name = "orders_pkey", .def = PK, .valid = true
    };
    if (sh->cust_index)
        s->indexes[s->nindexes++] = (struct sample_index){ .schema = "public",
                                                           .table = "orders",
                                                           .name = "orders_customer_id_idx",
                                                           .def = CUSTIDX,
                                                           .valid = true };
    if (sh->hot_index)
        s->indexes[s->nindexes++] = (struct sample_index){ .schema = "public",
                                                           .table = "orders",
                                                           .name = "orders_status_updated_at_idx",
                                                           .def = HOTIDX,
                                                           .valid = true };
    int nsess = sh->idle_in_tx + sh->lock_waiters + (sh->lock_waiters ? 1 : 0);
    s->sessions = arena_alloc(&s->arena, sizeof(*s->sessions) * (size_t)(nsess + 1));
    for (int k = 0; k < sh->idle_in_tx; k++)
        s->sessions[s->nsessions++] = (struct sample_session){
            .pid = 100 + k,
            .state = "idle in transaction",
            .query = "insert into order_items (order_id, product_id, qty) values ($1, $2, $3)",
            .xact_age_s = 40,
            .state_age_s = 40,
            .query_age_s = 40,
            .user = "app",
            .db = "shop",
            .app = "web-checkout",
            .client = "10.0.0.1",
            .wait_event_type = "Client",
            .wait_event = "ClientRead",
            .wait_object = ""
        };
    if (sh->lock_waiters) {
        s->sessions[s->nsessions++] =
            (struct sample_session){ .pid = 4242,
                                     .state = "idle in transaction",
                                     .query = "alter table orders add column note text",
                                     .xact_age_s = 25,
                                     .state_age_s = 24,
                                     .query_age_s = 24,
                                     .user = "app",
                                     .db = "shop",
                                     .app = "migration",
                                     .client = "10.0.0.9",
                                     .wait_event_type = "Client",
                                     .wait_event = "ClientRead",
                                     .wait_object = "" };
        for (int k = 0; k < sh->lock_waiters; k++) {
            struct sample_session *w = &s->sessions[s->nsessions++];
            *w = (struct sample_session){ .pid = 200 + k,
                                          .state = "active",
                                          .query = LOOKUP,
                                          .xact_age_s = 20,
                                          .state_age_s = 20,
                                          .query_age_s = 20,
                                          .user = "app",
                                          .db = "shop",
                                          .app = "web-browse",
                                          .client = "10.0.0.2",
                                          .wait_event_type = "Lock",
                                          .wait_event = "relation",
                                          .wait_object = "public.orders" };
            w->blocked_by = arena_alloc(&s->arena, sizeof(int));
            w->blocked_by[0] = 4242;
            w->nblocked_by = 1;
        }
        s->waiting = sh->lock_waiters;
    }
    if (!sh->change_kind)
        return;
    if (strcmp(sh->change_kind, "drop") == 0)
        add_change(s, i, CHANGE_DROP_INDEX, "orders_customer_id_idx", "", "migration");
    else if (strcmp(sh->change_kind, "create") == 0)
        add_change(s, i, CHANGE_CREATE_INDEX, "orders_customer_id_idx", CUSTIDX, "migration");
    else if (strcmp(sh->change_kind, "hot") == 0)
        add_change(s, i, CHANGE_CREATE_INDEX, "orders_status_updated_at_idx", HOTIDX, "migration");
    else if (strcmp(sh->change_kind, "drophot") == 0)
        add_change(s, i, CHANGE_DROP_INDEX, "orders_status_updated_at_idx", "", "migration");
    else if (strcmp(sh->change_kind, "app") == 0)
        add_change(s, i, CHANGE_NEW_APP, "web-v2", "", "web-v2");
    else if (strcmp(sh->change_kind, "setting") == 0)
        add_change(s, i, CHANGE_SETTING, "random_page_cost", "40 (system)", "psql");
}

/* A run: the shape of every interval, and the incidents the engine told. */
struct run {
    struct engine *e;
    int opened, updated, resolved; /* changes told to the sinks */
};

static void on_incident(void *ctx, enum incident_change_kind change, const struct incident *inc)
{
    struct run *r = ctx;
    (void)inc;
    r->opened += change == INCIDENT_CHANGE_OPENED;
    r->updated += change == INCIDENT_CHANGE_UPDATED;
    r->resolved += change == INCIDENT_CHANGE_RESOLVED;
}

typedef void shape_fn(int i, struct shape *sh);

/* Feeds n intervals (the first a baseline-only poll) shaped by fn, plans from plans. */
static void run_with(struct run *r, int n, shape_fn *fn, diag_plans_fn *plans)
{
    memset(r, 0, sizeof(*r));
    struct detect_config cfg;
    detect_config_init(&cfg);
    struct engine_hooks hooks = { .incident = on_incident, .plans = plans, .ctx = r };
    r->e = engine_new(&cfg, &hooks);
    for (int i = 0; i < n; i++) {
        struct shape sh = normal();
        fn(i, &sh);
        struct sample s;
        build(&s, i, &sh);
        s.baseline_only = i == 0;
        engine_step(r->e, &s);
        sample_release(&s);
    }
}

static void run(struct run *r, int n, shape_fn *fn)
{
    run_with(r, n, fn, NULL);
}

static const struct incident *only(struct run *r)
{
    size_t n;
    const struct incident *incs = engine_incidents(r->e, &n);
    assert_int_equal(n, 1);
    return &incs[0];
}

static const struct suspicion *suspicion(const struct incident *inc, const char *name)
{
    for (size_t i = 0; i < inc->nsuspicions; i++)
        if (strcmp(inc->suspicions[i].name, name) == 0)
            return &inc->suspicions[i];
    fail_msg("no suspicion '%s'", name);
    return NULL;
}

static double evidence(const struct cause *g, const char *side, const char *key)
{
    return json_number_value(json_object_get(json_object_get(g->evidence, side), key));
}

/* --- missing index: dropped at 20, back at 30 -------------------------------------------- */

static void missing_index_shape(int i, struct shape *sh)
{
    if (i >= 20 && i < 30) {
        sh->cust_index = false;
        sh->lookup_ms = 40;
        sh->lookup_blks = 2700;
        sh->seq_tup_read = 300000 * sh->lookup_calls;
    }
    if (i == 20)
        sh->change_kind = "drop";
    if (i == 30)
        sh->change_kind = "create";
}

static void missing_index_has_trigger_fix_and_recovery(void **state)
{
    (void)state;
    struct run r;
    run(&r, 45, missing_index_shape);
    const struct incident *inc = only(&r);
    assert_int_equal(inc->state, INCIDENT_RESOLVED);
    assert_int_equal(inc->onset_us, AT(20));
    assert_int_equal(inc->end_us, AT(30));
    assert_true(inc->detected_us >= AT(21) && inc->detected_us <= AT(22));
    assert_true(inc->ncauses >= 1);
    const struct cause *g = &inc->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "missing_index");
    assert_int_equal(g->fingerprint, 0x1111);
    assert_string_equal(g->table, "orders");
    assert_int_equal(g->ncolumns, 2);
    assert_string_equal(g->columns[0], "customer_id");
    assert_string_equal(g->columns[1], "created_at");
    assert_string_equal(g->index, "orders_customer_id_idx");
    assert_true(fabs(evidence(g, "before", "mean_ms") - 0.5) < 1e-9);
    assert_true(fabs(evidence(g, "after", "mean_ms") - 40) < 1e-9);
    assert_true(inc->has_trigger);
    assert_int_equal(inc->trigger.kind, CHANGE_DROP_INDEX);
    assert_string_equal(inc->trigger.object, "orders_customer_id_idx");
    assert_true(inc->has_fix);
    assert_int_equal(inc->fix.kind, CHANGE_CREATE_INDEX);
    assert_int_equal(suspicion(inc, "traffic surge or DDoS")->verdict, VERDICT_RULED_OUT);
    assert_int_equal(suspicion(inc, "network")->verdict, VERDICT_RULED_OUT);
    /* The lookup's blocks per call rose with its time: a plan change, not the machine. */
    assert_int_equal(suspicion(inc, "server resources")->verdict, VERDICT_RULED_OUT);
    assert_int_equal(r.opened, 1);
    assert_int_equal(r.resolved, 1);
    engine_free(r.e);
}

/* Throughput falls during the incident and comes back after the fix: not a surge. */
/* A query first seen without its text, the text known from the incident's second interval. */
static void text_known_late_is_still_missing_index(void **state)
{
    (void)state;
    struct run r;
    lookup_text_from = 21;
    run(&r, 45, missing_index_shape);
    lookup_text_from = 0;
    const struct incident *inc = only(&r);
    assert_string_equal(cause_kind_name(inc->causes[0].kind), "missing_index");
    assert_string_equal(inc->causes[0].table, "orders");
    assert_string_equal(inc->causes[0].columns[0], "customer_id");
    engine_free(r.e);
}

static void closed_loop_missing_index(int i, struct shape *sh)
{
    missing_index_shape(i, sh);
    if (i >= 20 && i < 30) {
        sh->lookup_calls = 100;
        sh->byid_calls = 200;
        sh->update_calls = 50;
    }
}

static void recovery_is_not_a_new_incident(void **state)
{
    (void)state;
    struct run r;
    run(&r, 60, closed_loop_missing_index);
    const struct incident *inc = only(&r);
    assert_string_equal(cause_kind_name(inc->causes[0].kind), "missing_index");
    assert_int_equal(inc->end_us, AT(30));
    engine_free(r.e);
}

/* --- hot index ---------------------------------------------------------------------------- */

static void hot_index_shape(int i, struct shape *sh)
{
    if (i >= 20) {
        sh->hot_index = true;
        sh->hot = 0;
        sh->update_ms = 0.6;
    }
    if (i == 20)
        sh->change_kind = "hot";
}

static void hot_index_names_the_index_and_its_columns(void **state)
{
    (void)state;
    struct run r;
    run(&r, 30, hot_index_shape);
    const struct incident *inc = only(&r);
    assert_int_equal(inc->state, INCIDENT_OPEN);
    const struct cause *g = &inc->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "hot_index");
    assert_string_equal(g->index, "orders_status_updated_at_idx");
    assert_int_equal(g->ncolumns, 2);
    assert_string_equal(g->columns[0], "status");
    assert_string_equal(g->columns[1], "updated_at");
    assert_int_equal(g->fingerprint, 0x3333);
    assert_true(inc->has_trigger);
    assert_int_equal(inc->trigger.kind, CHANGE_CREATE_INDEX);
    assert_string_equal(inc->trigger.object, "orders_status_updated_at_idx");
    /* The index on updated columns alerts at once, before any latency moves. */
    assert_int_equal(inc->detected_us, AT(21));
    assert_int_equal(inc->onset_us, AT(20));
    engine_free(r.e);
}

/* --- pool exhaustion: twenty leaked sessions are one incident -------------------------------- */

static void pool_shape(int i, struct shape *sh)
{
    if (i >= 20) {
        sh->idle_in_tx = 20 + (i - 20) * 2 > 44 ? 44 : 20 + (i - 20) * 2;
        sh->connections = sh->idle_in_tx + 2;
    }
}

static void pool_exhaustion_is_one_incident_naming_the_holders(void **state)
{
    (void)state;
    struct run r;
    run(&r, 30, pool_shape);
    const struct incident *inc = only(&r);
    const struct cause *g = &inc->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "pool_exhaustion");
    assert_string_equal(g->table, "order_items");
    const json_t *h = json_array_get(json_object_get(g->evidence, "holders"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "application")), "web-checkout");
    assert_true(json_integer_value(json_object_get(h, "idle_in_transaction")) >= 20);
    /* Every leaked session fired its own alert; the sinks heard of one incident. */
    assert_true(inc->nalerts >= 20);
    assert_int_equal(r.opened, 1);
    assert_true(r.updated <= 3);
    engine_free(r.e);
}

/* --- a release: a new application and an N+1 query ------------------------------------------- */

static void release_shape(int i, struct shape *sh)
{
    if (i >= 20)
        sh->nplus1_calls = 20000;
    if (i == 20)
        sh->change_kind = "app";
}

static void release_is_a_deploy_surge_with_its_trigger(void **state)
{
    (void)state;
    struct run r;
    run(&r, 30, release_shape);
    const struct incident *inc = only(&r);
    const struct cause *g = &inc->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "deploy_surge");
    assert_int_equal(g->fingerprint, 0x4444);
    assert_string_equal(g->table, "order_items");
    assert_true(inc->has_trigger);
    assert_int_equal(inc->trigger.kind, CHANGE_NEW_APP);
    assert_string_equal(inc->trigger.app, "web-v2");
    engine_free(r.e);
}

/* --- a release's query that fetches too much: its first calls, then enough to alert ---------- */

static void fetch_shape(int i, struct shape *sh)
{
    /* Three calls at 20 and 22 (below min_calls), forty an interval from 24 on. */
    if (i >= 24 || i == 20 || i == 22)
        sh->fetch_calls = i >= 24 ? 40 : 3;
    sh->fetch_new = i == 20;
}

static void known_fetch_shape(int i, struct shape *sh)
{
    fetch_shape(i, sh);
    sh->fetch_new = false;
}

/* One stray first call at 12, eight intervals before the run that alerts. */
static void stray_fetch_shape(int i, struct shape *sh)
{
    fetch_shape(i, sh);
    if (i == 12)
        sh->fetch_calls = 1;
    sh->fetch_new = i == 12;
}

/*
 * Three calls an interval from the watch's first on (new to the source
 * there, as every statement is), forty from 8.
 */
static void from_the_start_fetch_shape(int i, struct shape *sh)
{
    sh->fetch_calls = i >= 8 ? 40 : i >= 1 ? 3 : 0;
    sh->fetch_new = i == 1;
}

static void a_new_statement_begins_the_incident_at_its_first_call(void **state)
{
    (void)state;
    struct run r;
    run(&r, 34, fetch_shape);
    const struct incident *inc = only(&r);
    assert_string_equal(cause_kind_name(inc->causes[0].kind), "redundant_fetch");
    assert_int_equal(inc->causes[0].fingerprint, 0x5555);
    assert_int_equal(inc->onset_us, AT(20));
    assert_int_equal(inc->detected_us, AT(25));
    engine_free(r.e);
    /* A statement the source knew before began nothing at 20: the alerts' onset stands. */
    run(&r, 34, known_fetch_shape);
    inc = only(&r);
    assert_int_equal(inc->causes[0].fingerprint, 0x5555);
    assert_int_equal(inc->onset_us, AT(24));
    engine_free(r.e);
    /* Nor did a stray first call long before the run: the run began at 20, not new there. */
    run(&r, 34, stray_fetch_shape);
    inc = only(&r);
    assert_int_equal(inc->causes[0].fingerprint, 0x5555);
    assert_int_equal(inc->onset_us, AT(24));
    engine_free(r.e);
    /* Nor did a statement that ran since the watch began: new there is new to the watcher only. */
    run(&r, 18, from_the_start_fetch_shape);
    inc = only(&r);
    assert_int_equal(inc->causes[0].fingerprint, 0x5555);
    assert_int_equal(inc->onset_us, AT(8));
    engine_free(r.e);
}

/* --- an alert that flaps: one outage is one incident --------------------------------------------
 */

/* The fetch runs at 20-25, pauses flap_gap intervals, and runs again for six. */
static int flap_gap;

static void flapping_fetch_shape(int i, struct shape *sh)
{
    int again = 26 + flap_gap;
    if ((i >= 20 && i < 26) || (i >= again && i < again + 6))
        sh->fetch_calls = 40;
}

static void a_flapping_alert_is_one_incident_a_later_one_another(void **state)
{
    (void)state;
    struct run r;
    size_t n;
    /*
     * Three intervals without the fetch: its alert resolves (alert_clear)
     * and fires again while the incident is quiet, which it rejoins.
     */
    flap_gap = 3;
    run(&r, 50, flapping_fetch_shape);
    const struct incident *inc = only(&r);
    assert_string_equal(cause_kind_name(inc->causes[0].kind), "redundant_fetch");
    assert_int_equal(inc->onset_us, AT(20));
    assert_int_equal(inc->end_us, AT(35));
    assert_int_equal(inc->state, INCIDENT_RESOLVED);
    /* The new query and its rows per call; the one that fired again keeps its first start. */
    assert_int_equal(inc->nalerts, 2);
    assert_string_equal(inc->alerts[1].kind, "rows_per_call");
    assert_int_equal(inc->alerts[1].since_us, AT(20));
    assert_int_equal(inc->alerts[1].updated_us, AT(35));
    assert_int_equal(r.opened, 1);
    assert_int_equal(r.resolved, 1);
    engine_free(r.e);
    /* Six: the first incident resolved three intervals after its alert, the second is new. */
    flap_gap = 6;
    run(&r, 50, flapping_fetch_shape);
    const struct incident *incs = engine_incidents(r.e, &n);
    assert_int_equal(n, 2);
    assert_int_equal(incs[0].end_us, AT(26));
    assert_int_equal(incs[1].onset_us, AT(32));
    assert_int_equal(r.opened, 2);
    assert_int_equal(r.resolved, 2);
    engine_free(r.e);
}

/* A log that ends while the incident is quiet: it is resolved, not left open. */
static void the_end_of_the_input_resolves_a_quiet_incident(void **state)
{
    (void)state;
    struct run r;
    flap_gap = 20;
    run(&r, 30, flapping_fetch_shape);
    assert_int_equal(only(&r)->state, INCIDENT_OPEN);
    engine_finish(r.e);
    const struct incident *inc = only(&r);
    assert_int_equal(inc->state, INCIDENT_RESOLVED);
    assert_int_equal(inc->end_us, AT(26));
    assert_int_equal(r.resolved, 1);
    engine_finish(r.e);
    assert_int_equal(r.resolved, 1);
    engine_free(r.e);
}

/* --- a traffic surge: the same mix, ten times the connections, every query slower ------------- */

static void surge_shape(int i, struct shape *sh)
{
    if (i >= 20) {
        sh->new_sessions = 400;
        sh->lookup_calls = 1300;
        sh->byid_calls = 2600;
        sh->update_calls = 650;
        sh->lookup_ms *= 10;
        sh->byid_ms *= 10;
        sh->update_ms *= 10;
    }
}

static void traffic_surge_is_confirmed_not_blamed_on_a_query(void **state)
{
    (void)state;
    struct run r;
    run(&r, 30, surge_shape);
    const struct incident *inc = only(&r);
    const struct cause *g = &inc->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "traffic_surge");
    assert_int_equal(g->fingerprint, 0);
    assert_null(g->query);
    assert_int_equal(suspicion(inc, "traffic surge or DDoS")->verdict, VERDICT_CONFIRMED);
    engine_free(r.e);
}

/* --- the machine: every query slower for the same work ---------------------------------------- */

static void machine_shape(int i, struct shape *sh)
{
    if (i >= 20) {
        sh->lookup_ms *= 6;
        sh->byid_ms *= 6;
        sh->update_ms *= 6;
    }
}

static void resource_saturation_names_no_query(void **state)
{
    (void)state;
    struct run r;
    run(&r, 30, machine_shape);
    const struct incident *inc = only(&r);
    const struct cause *g = &inc->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "resource_saturation");
    assert_int_equal(g->fingerprint, 0);
    assert_null(g->query);
    assert_int_equal(suspicion(inc, "server resources")->verdict, VERDICT_CONFIRMED);
    assert_int_equal(suspicion(inc, "traffic surge or DDoS")->verdict, VERDICT_RULED_OUT);
    engine_free(r.e);
}

/* --- a migration's lock ----------------------------------------------------------------------- */

static void lock_shape(int i, struct shape *sh)
{
    if (i >= 20 && i < 26) {
        sh->lock_waiters = 12;
        sh->lookup_calls = 50;
        sh->connections = 22;
    }
}

static void lock_contention_names_table_blocker_and_migration(void **state)
{
    (void)state;
    struct run r;
    run(&r, 40, lock_shape);
    const struct incident *inc = only(&r);
    const struct cause *g = &inc->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "lock_contention");
    assert_string_equal(g->table, "public.orders");
    assert_string_equal(g->query, "alter table orders add column note text");
    const json_t *b = json_object_get(g->evidence, "blocker");
    assert_string_equal(json_string_value(json_object_get(b, "application")), "migration");
    assert_true(json_is_true(json_object_get(b, "migration")));
    assert_int_equal(json_integer_value(json_object_get(b, "pid")), 4242);
    assert_true(json_number_value(json_object_get(b, "transaction_age_s")) >= 25);
    assert_int_equal(inc->state, INCIDENT_RESOLVED);
    assert_true(inc->has_fix);
    assert_int_equal(inc->fix.kind, CHANGE_XACT_END);
    engine_free(r.e);
}

/* --- a plan change after a setting ------------------------------------------------------------ */

static void plan_shape(int i, struct shape *sh)
{
    if (i >= 20) {
        sh->lookup_ms = 30;
        sh->lookup_blks = 400;
    }
    if (i == 20)
        sh->change_kind = "setting";
}

static void plan_regression_after_a_setting(void **state)
{
    (void)state;
    struct run r;
    run(&r, 30, plan_shape);
    const struct incident *inc = only(&r);
    const struct cause *g = &inc->causes[0];
    /* The index is there: the same query does eighty times the work. */
    assert_string_equal(cause_kind_name(g->kind), "plan_regression");
    assert_int_equal(g->fingerprint, 0x1111);
    assert_true(inc->has_trigger);
    assert_int_equal(inc->trigger.kind, CHANGE_SETTING);
    assert_string_equal(inc->trigger.object, "random_page_cost");
    engine_free(r.e);
}

/* --- a plan change seen in the plans a log holds, with no change to explain it ---------------- */

static void slower_shape(int i, struct shape *sh)
{
    if (i >= 20)
        sh->lookup_ms = 30; /* the work per call is not known to move: the log has no blocks */
}

/* The lookup switched from its index to a sequential scan at interval 20. */
static json_t *logged_plans(void *ctx, uint64_t fp, int64_t at_us, int64_t window_us)
{
    (void)ctx;
    if (fp != 0x1111 || at_us < AT(20) - window_us || at_us > AT(20) + window_us)
        return NULL;
    return json_pack("{s:{s:s}, s:{s:s}}", "before", "outline",
                     "Limit > Index Scan using orders_customer_id_idx on orders", "after",
                     "outline", "Limit > Sort > Seq Scan on orders");
}

static void plans_tell_a_plan_regression(void **state)
{
    (void)state;
    struct run r;
    run(&r, 30, slower_shape);
    const struct cause *g = &only(&r)->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "query_regression");
    assert_null(json_object_get(g->evidence, "plans"));
    engine_free(r.e);

    run_with(&r, 30, slower_shape, logged_plans);
    g = &only(&r)->causes[0];
    assert_string_equal(cause_kind_name(g->kind), "plan_regression");
    assert_int_equal(g->fingerprint, 0x1111);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(g->evidence, "plans"), "after"), "outline")),
        "Limit > Sort > Seq Scan on orders");
    assert_non_null(strstr(g->summary, "its plan changed from Limit > Index Scan using "
                                       "orders_customer_id_idx on orders to Limit > Sort > Seq "
                                       "Scan on orders"));
    engine_free(r.e);
}

/* --- quiet days: a daily-like ramp and short bursts ------------------------------------------- */

static void ramp_shape(int i, struct shape *sh)
{
    /* Traffic triples over 100 intervals and back; every 17th interval a burst of 1.8x. */
    double f = 1 + 2 * sin(3.14159265 * (double)i / 200.0);
    if (i % 17 == 16)
        f *= 1.8;
    sh->lookup_calls = (int64_t)(1000 * f);
    sh->byid_calls = (int64_t)(2000 * f);
    sh->update_calls = (int64_t)(500 * f);
    sh->upd = sh->update_calls;
    sh->hot = sh->upd * 96 / 100;
    sh->new_sessions = (int64_t)(2 * f);
    sh->lookup_ms = 0.5 * (1 + 0.3 * (f - 1));
}

static void a_ramp_and_bursts_raise_nothing(void **state)
{
    (void)state;
    struct run r;
    run(&r, 200, ramp_shape);
    size_t n;
    engine_incidents(r.e, &n);
    assert_int_equal(n, 0);
    assert_int_equal(r.opened, 0);
    engine_free(r.e);
}

/* --- two faults, one after the other ---------------------------------------------------------- */

static void two_faults_shape(int i, struct shape *sh)
{
    if (i < 45)
        missing_index_shape(i, sh);
    else
        hot_index_shape(i - 25, sh);
}

static void two_faults_are_two_incidents(void **state)
{
    (void)state;
    struct run r;
    run(&r, 60, two_faults_shape);
    size_t n;
    const struct incident *incs = engine_incidents(r.e, &n);
    assert_int_equal(n, 2);
    assert_string_equal(cause_kind_name(incs[0].causes[0].kind), "missing_index");
    assert_int_equal(incs[0].state, INCIDENT_RESOLVED);
    assert_string_equal(cause_kind_name(incs[1].causes[0].kind), "hot_index");
    assert_int_equal(incs[1].onset_us, AT(45));
    assert_int_equal(incs[1].seq, 2);
    /* The worst is the one still open. */
    assert_ptr_equal(engine_worst_incident(r.e), &incs[1]);
    engine_free(r.e);
}

/* --- the document the store keeps reads back the same ----------------------------------------- */

static void incident_json_round_trips(void **state)
{
    (void)state;
    struct run r;
    run(&r, 45, missing_index_shape);
    const struct incident *inc = only(&r);
    json_t *j = incident_json(inc);
    struct incident back;
    assert_int_equal(incident_from_json(&back, j), 0);
    json_t *j2 = incident_json(&back);
    assert_true(json_equal(j, j2));
    assert_int_equal(back.id, inc->id);
    assert_int_equal(back.trigger.kind, CHANGE_DROP_INDEX);
    json_decref(j);
    json_decref(j2);
    incident_release(&back);
    engine_free(r.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_index_has_trigger_fix_and_recovery),
        cmocka_unit_test(text_known_late_is_still_missing_index),
        cmocka_unit_test(recovery_is_not_a_new_incident),
        cmocka_unit_test(hot_index_names_the_index_and_its_columns),
        cmocka_unit_test(pool_exhaustion_is_one_incident_naming_the_holders),
        cmocka_unit_test(release_is_a_deploy_surge_with_its_trigger),
        cmocka_unit_test(a_new_statement_begins_the_incident_at_its_first_call),
        cmocka_unit_test(a_flapping_alert_is_one_incident_a_later_one_another),
        cmocka_unit_test(the_end_of_the_input_resolves_a_quiet_incident),
        cmocka_unit_test(traffic_surge_is_confirmed_not_blamed_on_a_query),
        cmocka_unit_test(resource_saturation_names_no_query),
        cmocka_unit_test(lock_contention_names_table_blocker_and_migration),
        cmocka_unit_test(plan_regression_after_a_setting),
        cmocka_unit_test(plans_tell_a_plan_regression),
        cmocka_unit_test(a_ramp_and_bursts_raise_nothing),
        cmocka_unit_test(two_faults_are_two_incidents),
        cmocka_unit_test(incident_json_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
