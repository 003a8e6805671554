/*
 * The diagnosis: hand-built intervals with the findings the detectors
 * would give, and the cause, query, table, columns, index and ruled-out
 * suspicions that must come out.
 */
#include "test_util.h"

#include "diagnose/diagnose.h"
#include "util/xalloc.h"

#include <math.h>
#include <string.h>

#define T0   1700000000000000LL
#define STEP 10000000LL
#define LOOKUP \
    "select id, status from orders where customer_id = $1 order by created_at desc limit $2"
#define UPDATE "update orders set status = $1, updated_at = now() where id = $2"
#define PK     "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)"
#define HOTIDX \
    "CREATE INDEX orders_status_updated_at_idx ON public.orders USING btree (status, updated_at)"

struct shape {
    double lookup_ms; /* mean time of the lookup */
    int64_t upd, hot; /* updates and HOT updates on orders */
    bool hot_index;   /* the index on (status, updated_at) exists */
    int idle_in_tx;   /* sessions idle in transaction */
    int connections;
};

static void build(struct sample *s, int i, const struct shape *sh)
{
    sample_init(s);
    s->start_us = T0 + i * STEP;
    s->end_us = s->start_us + STEP;
    s->max_connections = 40;
    s->reserved_connections = 3;
    s->connections = sh->connections;
    s->idle_in_transaction = sh->idle_in_tx;
    s->distinct_clients = 4;
    s->db.sessions = 2;
    s->queries = arena_alloc(&s->arena, 2 * sizeof(*s->queries));
    s->queries[0] = (struct sample_query){ .fingerprint = 0x1111,
                                           .query = LOOKUP,
                                           .calls = 1000,
                                           .total_ms = 1000 * sh->lookup_ms,
                                           .rows = 10000 };
    s->queries[1] = (struct sample_query){
        .fingerprint = 0x2222, .query = UPDATE, .calls = 500, .total_ms = 100, .rows = 500
    };
    s->nqueries = 2;
    s->tables = arena_alloc(&s->arena, sizeof(*s->tables));
    s->tables[0] = (struct sample_table){ .schema = "public",
                                          .name = "orders",
                                          .n_tup_upd = sh->upd,
                                          .n_tup_hot_upd = sh->hot,
                                          .n_live_tup = 300000 };
    s->ntables = 1;
    s->indexes = arena_alloc(&s->arena, 2 * sizeof(*s->indexes));
    s->indexes[0] = (struct sample_index){
        .schema = "public", .table = "orders", .name = "orders_pkey", .def = PK, .valid = true
    };
    s->nindexes = 1;
    if (sh->hot_index)
        s->indexes[s->nindexes++] = (struct sample_index){ .schema = "public",
                                                           .table = "orders",
                                                           .name = "orders_status_updated_at_idx",
                                                           .def = HOTIDX,
                                                           .valid = true };
    s->sessions = arena_alloc(&s->arena, sizeof(*s->sessions) * (size_t)(sh->idle_in_tx + 1));
    for (int k = 0; k < sh->idle_in_tx; k++)
        s->sessions[s->nsessions++] =
            (struct sample_session){ .pid = 100 + k,
                                     .state = "idle in transaction",
                                     .query = "select total from orders where id = $1 for update",
                                     .xact_age_s = 20,
                                     .state_age_s = 20,
                                     .user = "app",
                                     .db = "shop",
                                     .app = "web",
                                     .client = "10.0.0.1",
                                     .wait_event_type = "Client",
                                     .wait_event = "ClientRead" };
}

static struct finding finding(enum finding_kind kind, const char *key, uint64_t fp,
                              const char *query, const char *table)
{
    return (struct finding){ .kind = kind,
                             .severity = FINDING_CRITICAL,
                             .key = (char *)key,
                             .fingerprint = fp,
                             .query = (char *)query,
                             .table = (char *)table,
                             .value = 1,
                             .baseline = NAN,
                             .unit = "" };
}

/* Feeds 12 normal intervals, then 3 with the fault's shape and finding. */
static void run(struct diag_result *r, const struct shape *normal, const struct shape *fault,
                const struct finding *f)
{
    struct diagnoser *d = diagnoser_new();
    for (int i = 0; i < 15; i++) {
        struct sample s;
        build(&s, i, i < 12 ? normal : fault);
        diagnoser_add(d, &s, f, i < 12 || !f ? 0 : 1);
        sample_release(&s);
    }
    diagnoser_result(d, r);
    diagnoser_free(d);
}

static const struct shape normal = { .lookup_ms = 0.5, .upd = 500, .hot = 480, .connections = 6 };

static bool ruled_out_has(const struct diag_result *r, const char *suspicion)
{
    for (size_t i = 0; i < r->nruled_out; i++)
        if (strcmp(r->ruled_out[i].suspicion, suspicion) == 0)
            return true;
    return false;
}

static void missing_index_names_table_and_columns(void **state)
{
    (void)state;
    struct shape slow = normal;
    slow.lookup_ms = 40;
    struct finding f = finding(FK_LATENCY_REGRESSION, "fp:0000000000001111", 0x1111, LOOKUP, NULL);
    struct diag_result r;
    run(&r, &normal, &slow, &f);
    assert_int_equal(r.n, 1);
    assert_string_equal(diag_cause_name(r.items[0].cause), "missing_index");
    assert_int_equal(r.items[0].fingerprint, 0x1111);
    assert_string_equal(r.items[0].table, "orders");
    assert_int_equal(r.items[0].ncolumns, 2);
    assert_string_equal(r.items[0].columns[0], "customer_id");
    assert_string_equal(r.items[0].columns[1], "created_at");
    assert_int_equal(r.items[0].start_us, T0 + 12 * STEP);
    assert_int_equal(r.items[0].detected_us, T0 + 13 * STEP);
    json_t *after = json_object_get(r.items[0].evidence, "after");
    assert_true(fabs(json_real_value(json_object_get(after, "mean_ms")) - 40) < 1e-9);
    json_t *before = json_object_get(r.items[0].evidence, "before");
    assert_true(fabs(json_real_value(json_object_get(before, "mean_ms")) - 0.5) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(after, "calls_per_s")) - 100) < 1e-9);
    assert_true(ruled_out_has(&r, "traffic surge or DDoS"));
    assert_true(ruled_out_has(&r, "network"));
    assert_true(ruled_out_has(&r, "server resources"));
    diag_result_release(&r);
}

static void a_long_history_keeps_the_baseline_rate(void **state)
{
    (void)state;
    /* 80 normal intervals: only the last 30 make "before", and their rate is the real one. */
    struct shape slow = normal;
    slow.lookup_ms = 40;
    struct finding f = finding(FK_LATENCY_REGRESSION, "fp:0000000000001111", 0x1111, LOOKUP, NULL);
    struct diagnoser *d = diagnoser_new();
    for (int i = 0; i < 83; i++) {
        struct sample s;
        build(&s, i, i < 80 ? &normal : &slow);
        diagnoser_add(d, &s, &f, i < 80 ? 0 : 1);
        sample_release(&s);
    }
    struct diag_result r;
    diagnoser_result(d, &r);
    assert_int_equal(r.n, 1);
    json_t *b = json_object_get(r.items[0].evidence, "before");
    assert_true(fabs(json_real_value(json_object_get(b, "calls_per_s")) - 100) < 1e-9);
    assert_int_equal(json_integer_value(json_object_get(b, "intervals")), 30);
    diag_result_release(&r);
    diagnoser_free(d);
}

static void a_finding_not_seen_for_long_is_forgotten(void **state)
{
    (void)state;
    /* A regression at interval 5 that stops, then 40 quiet intervals: nothing left to diagnose. */
    struct finding f = finding(FK_LATENCY_REGRESSION, "fp:0000000000001111", 0x1111, LOOKUP, NULL);
    struct diagnoser *d = diagnoser_new();
    for (int i = 0; i < 46; i++) {
        struct sample s;
        build(&s, i, &normal);
        diagnoser_add(d, &s, &f, i == 5 ? 1 : 0);
        sample_release(&s);
    }
    struct diag_result r;
    diagnoser_result(d, &r);
    assert_int_equal(r.n, 0);
    diag_result_release(&r);
    diagnoser_free(d);
}

static void an_index_that_leads_with_the_column_is_not_missing(void **state)
{
    (void)state;
    /* The same regression on a query whose filter the primary key serves. */
    const char *q = "select status from orders where id = $1";
    struct diagnoser *d = diagnoser_new();
    struct finding f = finding(FK_LATENCY_REGRESSION, "fp:0000000000003333", 0x3333, q, NULL);
    for (int i = 0; i < 15; i++) {
        struct sample s;
        build(&s, i, &normal);
        s.queries[0].fingerprint = 0x3333;
        s.queries[0].query = q;
        s.queries[0].total_ms = i < 12 ? 500 : 20000;
        diagnoser_add(d, &s, &f, i < 12 ? 0 : 1);
        sample_release(&s);
    }
    struct diag_result r;
    diagnoser_result(d, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(diag_cause_name(r.items[0].cause), "query_regression");
    diag_result_release(&r);
    diagnoser_free(d);
}

static void hot_index_names_the_new_index(void **state)
{
    (void)state;
    struct shape cold = normal;
    cold.hot = 0;
    cold.hot_index = true;
    struct finding f = finding(FK_HOT_RATIO_DROP, "table:public.orders", 0, NULL, "public.orders");
    struct diag_result r;
    run(&r, &normal, &cold, &f);
    assert_int_equal(r.n, 1);
    assert_string_equal(diag_cause_name(r.items[0].cause), "hot_index");
    assert_string_equal(r.items[0].table, "public.orders");
    assert_string_equal(r.items[0].index, "orders_status_updated_at_idx");
    assert_int_equal(r.items[0].ncolumns, 2);
    assert_string_equal(r.items[0].columns[0], "status");
    assert_string_equal(r.items[0].columns[1], "updated_at");
    assert_int_equal(r.items[0].fingerprint, 0x2222);
    json_t *b = json_object_get(r.items[0].evidence, "before");
    json_t *a = json_object_get(r.items[0].evidence, "after");
    assert_true(fabs(json_real_value(json_object_get(b, "hot_update_pct")) - 96) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(a, "hot_update_pct")) - 0) < 1e-9);
    assert_non_null(strstr(r.items[0].fix, "drop index orders_status_updated_at_idx"));
    diag_result_release(&r);
}

static void from_a_log_the_ddl_names_the_hot_index(void **state)
{
    (void)state;
    /* A log has no table statistics: the CREATE INDEX statement and the slower UPDATE tell. */
    struct diagnoser *d = diagnoser_new();
    struct finding f = finding(FK_LATENCY_REGRESSION, "fp:0000000000002222", 0x2222, UPDATE, NULL);
    for (int i = 0; i < 15; i++) {
        struct sample s;
        sample_init(&s);
        s.start_us = T0 + i * STEP;
        s.end_us = s.start_us + STEP;
        s.has_log = true;
        s.queries = arena_alloc(&s.arena, 2 * sizeof(*s.queries));
        s.queries[s.nqueries++] = (struct sample_query){
            .fingerprint = 0x2222, .query = UPDATE, .calls = 500, .total_ms = i < 12 ? 100 : 9000
        };
        if (i == 12)
            s.queries[s.nqueries++] = (struct sample_query){
                .fingerprint = 0x4444,
                .query = "create index orders_status_updated_at_idx on orders (status, updated_at)",
                .calls = 1,
                .total_ms = 800
            };
        diagnoser_add(d, &s, &f, i < 12 ? 0 : 1);
        sample_release(&s);
    }
    struct diag_result r;
    diagnoser_result(d, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(diag_cause_name(r.items[0].cause), "hot_index");
    assert_string_equal(r.items[0].table, "orders");
    assert_string_equal(r.items[0].index, "orders_status_updated_at_idx");
    assert_int_equal(r.items[0].ncolumns, 2);
    assert_string_equal(r.items[0].columns[0], "status");
    assert_int_equal(r.items[0].fingerprint, 0x2222);
    diag_result_release(&r);
    diagnoser_free(d);
}

static void pool_exhaustion_names_the_holding_statement(void **state)
{
    (void)state;
    struct shape full = normal;
    full.connections = 37;
    full.idle_in_tx = 30;
    struct finding f = finding(FK_CONN_SATURATION, "server", 0, NULL, NULL);
    struct diag_result r;
    run(&r, &normal, &full, &f);
    assert_int_equal(r.n, 1);
    assert_string_equal(diag_cause_name(r.items[0].cause), "pool_exhaustion");
    assert_string_equal(r.items[0].query, "select total from orders where id = $1 for update");
    assert_string_equal(r.items[0].table, "orders");
    json_t *a = json_object_get(r.items[0].evidence, "after");
    assert_int_equal(json_integer_value(json_object_get(a, "connections_max")), 37);
    assert_int_equal(json_integer_value(json_object_get(a, "usable_connections")), 37);
    assert_int_equal(json_integer_value(json_object_get(a, "idle_in_transaction_max")), 30);
    assert_true(ruled_out_has(&r, "network"));
    diag_result_release(&r);
}

static void nothing_found_is_an_empty_diagnosis(void **state)
{
    (void)state;
    struct diag_result r;
    run(&r, &normal, &normal, NULL);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.nruled_out, 0);
    json_t *j = diag_result_json(&r);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"diagnosis\":[],\"ruled_out\":[]}");
    free(text);
    json_decref(j);
    diag_result_release(&r);
}

static void json_carries_the_documented_names(void **state)
{
    (void)state;
    struct shape slow = normal;
    slow.lookup_ms = 40;
    struct finding f = finding(FK_LATENCY_REGRESSION, "fp:0000000000001111", 0x1111, LOOKUP, NULL);
    struct diag_result r;
    run(&r, &normal, &slow, &f);
    json_t *j = diag_result_json(&r);
    json_t *g = json_array_get(json_object_get(j, "diagnosis"), 0);
    assert_string_equal(json_string_value(json_object_get(g, "cause")), "missing_index");
    assert_string_equal(json_string_value(json_object_get(g, "fingerprint")), "0000000000001111");
    assert_string_equal(json_string_value(json_object_get(g, "query")), LOOKUP);
    assert_string_equal(json_string_value(json_object_get(g, "table")), "orders");
    assert_int_equal(json_array_size(json_object_get(g, "columns")), 2);
    assert_true(json_is_null(json_object_get(g, "index")));
    assert_string_equal(json_string_value(json_object_get(g, "start")),
                        "2023-11-14T22:15:20.000+00:00");
    assert_string_equal(json_string_value(json_object_get(g, "detected_at")),
                        "2023-11-14T22:15:30.000+00:00");
    assert_true(json_is_object(json_object_get(g, "evidence")));
    assert_true(json_is_string(json_object_get(g, "fix")));
    json_t *ro = json_array_get(json_object_get(j, "ruled_out"), 0);
    assert_true(json_is_string(json_object_get(ro, "suspicion")));
    assert_true(json_is_string(json_object_get(ro, "evidence")));
    json_decref(j);
    diag_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_index_names_table_and_columns),
        cmocka_unit_test(a_long_history_keeps_the_baseline_rate),
        cmocka_unit_test(a_finding_not_seen_for_long_is_forgotten),
        cmocka_unit_test(an_index_that_leads_with_the_column_is_not_missing),
        cmocka_unit_test(hot_index_names_the_new_index),
        cmocka_unit_test(from_a_log_the_ddl_names_the_hot_index),
        cmocka_unit_test(pool_exhaustion_names_the_holding_statement),
        cmocka_unit_test(nothing_found_is_an_empty_diagnosis),
        cmocka_unit_test(json_carries_the_documented_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
