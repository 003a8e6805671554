/*
 * The watcher's JSON: exact fields of api_sample_json for a hand-built
 * sample (a blocking chain: 10 blocks 11 and 12, 12 blocks 13), cycles and
 * unseen blockers in the tree, invalid UTF-8, the alerts document and the
 * history columns.
 */
#include "test_util.h"

#include "sink/api.h"
#include "util/jsonstr.h"

#include "util/xalloc.h"

#define T0 1795000000000000LL /* 2026-11-18T11:06:40Z */

static char *dump(const json_t *j)
{
    char *s =
        json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    assert_non_null(s);
    return s;
}

/* Asserts that j (borrowed) dumps to want (keys sorted). */
static void assert_json(const json_t *j, const char *want)
{
    char *got = dump(j);
    if (strcmp(got, want) != 0)
        fail_msg("json differs\n got: %s\nwant: %s", got, want);
    free(got);
}

static json_t *get(json_t *o, const char *path)
{
    char key[64];
    const char *p = path;
    while (o && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        if (json_is_array(o))
            o = json_array_get(o, (size_t)atoi(key));
        else
            o = json_object_get(o, key);
        p += n + (p[n] == '.');
    }
    if (!o)
        fail_msg("no %s", path);
    return o;
}

/* The tree with pids, cycle flags and children only, for compact comparison. */
static json_t *tree_shape(json_t *nodes)
{
    json_t *out = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        json_t *o = json_pack("{s:O}", "pid", json_object_get(n, "pid"));
        if (json_is_true(json_object_get(n, "cycle")))
            json_object_set_new(o, "cycle", json_true());
        if (json_is_false(json_object_get(n, "known")))
            json_object_set_new(o, "known", json_false());
        json_object_set_new(o, "children", tree_shape(json_object_get(n, "children")));
        json_array_append_new(out, o);
    }
    return out;
}

static void add_session(struct sample *s, int pid, const char *state, const char *app,
                        const int *blocked_by, int nb)
{
    s->sessions = xrealloc(s->sessions, (size_t)(s->nsessions + 1) * sizeof(*s->sessions));
    struct sample_session *x = &s->sessions[s->nsessions++];
    memset(x, 0, sizeof(*x));
    x->pid = pid;
    x->user = "web";
    x->db = "shop";
    x->app = app;
    x->client = "10.0.0.7";
    x->state = state;
    x->wait_event_type = nb ? "Lock" : "";
    x->wait_event = nb ? "transactionid" : "";
    x->query = nb ? "UPDATE orders SET paid = true WHERE id = $1" : "SELECT 1";
    x->query_age_s = 2.5;
    x->xact_age_s = nb ? 3.0 : -1;
    x->state_age_s = 2.5;
    x->blocked_by = nb ? (int *)xmemdup(blocked_by, (size_t)nb * sizeof(int)) : NULL;
    x->nblocked_by = nb;
}

static void sample_free_sessions(struct sample *s)
{
    for (int i = 0; i < s->nsessions; i++)
        free(s->sessions[i].blocked_by);
    free(s->sessions);
    free(s->queries);
    sample_release(s);
}

/* A 2-second interval with the blocking chain and two queries. */
static void chain_sample(struct sample *s)
{
    sample_init(s);
    s->start_us = T0;
    s->end_us = T0 + 2000000;
    s->server_version_num = 150004;
    s->max_connections = 100;
    s->reserved_connections = 3;
    s->statement_timeout_ms = 30000;
    s->connections = 4;
    s->active = 3;
    s->idle_in_transaction = 1;
    s->waiting = 3;
    s->distinct_clients = 1;
    static const int by10[] = { 10 }, by12[] = { 12 };
    add_session(s, 10, "idle in transaction", "<script>alert(1)</script>", NULL, 0);
    add_session(s, 11, "active", "api", by10, 1);
    add_session(s, 12, "active", "api", by10, 1);
    add_session(s, 13, "active", "worker", by12, 1);
    s->queries = xcalloc(2, sizeof(*s->queries));
    s->nqueries = 2;
    s->queries[0] = (struct sample_query){ .fingerprint = 0x00c0ffee12345678ULL,
                                           .queryid = -42,
                                           .query = "SELECT * FROM orders WHERE id = $1",
                                           .db = "shop",
                                           .user = "web",
                                           .calls = 50,
                                           .total_ms = 300.0,
                                           .rows = 150,
                                           .blks_hit = 90,
                                           .blks_read = 10,
                                           .is_new = true };
    s->queries[1] = (struct sample_query){ .fingerprint = 0xffULL,
                                           .query = "SELECT 1",
                                           .db = "shop",
                                           .user = "web",
                                           .calls = 0,
                                           .total_ms = 100.0 };
    s->db.xact_commit = 20;
    s->db.xact_rollback = 1;
}

static void blocking_chain_becomes_a_tree(void **state)
{
    (void)state;
    struct sample s;
    chain_sample(&s);
    json_t *j = api_sample_json(&s);
    json_t *shape = tree_shape(get(j, "blocking"));
    assert_json(shape, "[{\"children\":[{\"children\":[],\"pid\":11},{\"children\":[{\"children\":"
                       "[],\"pid\":13}],\"pid\":12}],\"pid\":10}]");
    json_decref(shape);
    /* The root carries what identifies the culprit. */
    json_t *root = get(j, "blocking.0");
    assert_string_equal(json_string_value(get(root, "state")), "idle in transaction");
    assert_string_equal(json_string_value(get(root, "app")), "<script>alert(1)</script>");
    assert_string_equal(json_string_value(get(root, "user")), "web");
    assert_string_equal(json_string_value(get(root, "query")), "SELECT 1");
    assert_true(json_is_true(get(root, "known")));
    assert_true(json_is_false(get(root, "cycle")));
    assert_true(json_is_null(get(root, "xact_age_s")));
    assert_string_equal(json_string_value(get(j, "blocking.0.children.1.wait_event")),
                        "transactionid");
    json_decref(j);
    sample_free_sessions(&s);
}

static void sessions_list_blocked_by_and_blocking(void **state)
{
    (void)state;
    struct sample s;
    chain_sample(&s);
    json_t *j = api_sample_json(&s);
    assert_int_equal(json_array_size(get(j, "sessions")), 4);
    assert_json(
        get(j, "sessions.0"),
        "{\"app\":\"<script>alert(1)</script>\",\"blocked_by\":[],\"blocking\":[11,12],"
        "\"client\":\"10.0.0.7\",\"db\":\"shop\",\"pid\":10,\"query\":\"SELECT 1\","
        "\"query_age_s\":2.5,\"state\":\"idle in transaction\",\"state_age_s\":2.5,"
        "\"user\":\"web\",\"wait_event\":\"\",\"wait_event_type\":\"\",\"xact_age_s\":null}");
    assert_json(get(j, "sessions.3.blocked_by"), "[12]");
    assert_json(get(j, "sessions.3.blocking"), "[]");
    assert_json(get(j, "sessions.2.blocking"), "[13]");
    json_decref(j);
    sample_free_sessions(&s);
}

static void top_level_settings_and_connections(void **state)
{
    (void)state;
    struct sample s;
    chain_sample(&s);
    json_t *j = api_sample_json(&s);
    assert_string_equal(json_string_value(get(j, "start")), "2026-11-18T11:06:40.000+00:00");
    assert_string_equal(json_string_value(get(j, "end")), "2026-11-18T11:06:42.000+00:00");
    assert_json(get(j, "seconds"), "2.0");
    assert_true(json_is_false(get(j, "gap")));
    assert_int_equal(json_integer_value(get(j, "server_version_num")), 150004);
    assert_json(get(j, "settings"),
                "{\"idle_in_transaction_session_timeout_ms\":0,\"lock_timeout_ms\":0,"
                "\"max_connections\":100,\"reserved_connections\":3,"
                "\"statement_timeout_ms\":30000,\"usable_connections\":97}");
    assert_json(get(j, "connections"),
                "{\"active\":3,\"blocked\":3,\"by_app\":[],\"by_client\":[],\"by_user\":[],"
                "\"distinct_clients\":1,\"idle\":0,\"idle_in_transaction\":1,\"total\":4,"
                "\"usable\":97,\"used_pct\":4.124,\"waiting\":3}");
    assert_true(json_is_null(get(j, "log")));
    assert_true(json_is_null(get(j, "pgbouncer")));
    assert_json(get(j, "problems"), "[]");
    assert_json(get(j, "db.commits_per_s"), "10.0");
    assert_json(get(j, "db.rollbacks_per_s"), "0.5");
    assert_true(json_is_null(get(j, "db.hit_pct")));
    json_decref(j);
    sample_free_sessions(&s);
}

static void queries_have_rates_and_a_hex_fingerprint(void **state)
{
    (void)state;
    struct sample s;
    chain_sample(&s);
    json_t *j = api_sample_json(&s);
    assert_json(get(j, "queries.0"),
                "{\"blks_dirtied\":0,\"blks_hit\":90,\"blks_read\":10,\"calls\":50,"
                "\"calls_per_s\":25.0,\"db\":\"shop\",\"fingerprint\":\"00c0ffee12345678\","
                "\"hit_pct\":90.0,\"is_new\":true,\"mean_ms\":6.0,"
                "\"query\":\"SELECT * FROM orders WHERE id = $1\",\"queryid\":-42,\"rows\":150,"
                "\"rows_per_call\":3.0,\"temp_blks\":0,\"time_pct\":75.0,\"total_ms\":300.0,"
                "\"user\":\"web\",\"wal_bytes\":0}");
    /* No calls: no mean or rows per call rather than a division by zero. */
    assert_string_equal(json_string_value(get(j, "queries.1.fingerprint")), "00000000000000ff");
    assert_true(json_is_null(get(j, "queries.1.mean_ms")));
    assert_true(json_is_null(get(j, "queries.1.rows_per_call")));
    assert_json(get(j, "queries.1.time_pct"), "25.0");
    json_decref(j);
    sample_free_sessions(&s);
}

static void cycles_and_unseen_blockers(void **state)
{
    (void)state;
    struct sample s;
    sample_init(&s);
    s.end_us = T0;
    static const int by21[] = { 21 }, by20[] = { 20 }, by99[] = { 99 }, by30and20[] = { 30, 20 };
    add_session(&s, 20, "active", "a", by21, 1);
    add_session(&s, 21, "active", "b", by20, 1);
    add_session(&s, 30, "active", "c", by99, 1);
    add_session(&s, 31, "active", "d", by30and20, 2);
    json_t *j = api_sample_json(&s);
    json_t *shape = tree_shape(get(j, "blocking"));
    /*
     * 99 is no session we see: a root of its own. 31 waits for 30 and 20,
     * so it appears under both. 20 and 21 wait for each other: rooted at
     * 20, and 20 met again below 21 is marked as a cycle.
     */
    assert_json(shape, "[{\"children\":[{\"children\":[{\"children\":[],\"pid\":31}],\"pid\":30}],"
                       "\"known\":false,\"pid\":99},"
                       "{\"children\":[{\"children\":[{\"children\":[],\"cycle\":true,\"pid\":20}],"
                       "\"pid\":21},{\"children\":[],\"pid\":31}],\"pid\":20}]");
    json_decref(shape);
    json_decref(j);
    sample_free_sessions(&s);
}

static void invalid_utf8_becomes_replacement_characters(void **state)
{
    (void)state;
    json_t *v = jsonstr_new("caf\xc3\xa9 \xff\xfe!");
    assert_string_equal(json_string_value(v), "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd!");
    json_decref(v);
    v = jsonstr_new(NULL);
    assert_true(json_is_null(v));
    json_decref(v);

    struct sample s;
    chain_sample(&s);
    s.sessions[1].app = "bad\x80name";
    json_t *j = api_sample_json(&s);
    assert_string_equal(json_string_value(get(j, "sessions.1.app")), "bad\xef\xbf\xbdname");
    json_decref(j);
    sample_free_sessions(&s);
}

static void gap_sample(void **state)
{
    (void)state;
    struct sample s;
    sample_init(&s);
    s.start_us = T0;
    s.end_us = T0 + 1000000;
    s.gap = true;
    s.problems = xcalloc(1, sizeof(*s.problems));
    s.problems[0] =
        (struct sample_problem){ "connection", "connection refused", "is the server running?" };
    s.nproblems = 1;
    json_t *j = api_sample_json(&s);
    assert_true(json_is_true(get(j, "gap")));
    assert_json(get(j, "problems"), "[{\"check\":\"connection\",\"hint\":\"is the server "
                                    "running?\",\"message\":\"connection refused\"}]");
    assert_true(json_is_null(get(j, "connections.used_pct")));
    assert_json(get(j, "blocking"), "[]");
    size_t len;
    char *text = api_dump(j, &len);
    assert_int_equal(len, strlen(text));
    assert_int_equal(text[len - 1], '\n');
    free(text);
    json_decref(j);
    free(s.problems);
    sample_release(&s);
}

static void alerts_document_puts_firing_critical_first(void **state)
{
    (void)state;
    struct alert a[3];
    memset(a, 0, sizeof(a));
    a[0].id = 1;
    a[0].f.kind = FK_CALL_SURGE;
    a[0].f.severity = FINDING_WARNING;
    a[0].updated_us = T0 + 3000000;
    a[1].id = 2;
    a[1].f.kind = FK_BLOCKING;
    a[1].f.severity = FINDING_CRITICAL;
    a[1].updated_us = T0;
    a[2].id = 3;
    a[2].f.kind = FK_DEADLOCKS;
    a[2].f.severity = FINDING_CRITICAL;
    a[2].resolved_us = T0 + 5000000;
    json_t *j = api_alerts_json(a, 3);
    assert_int_equal(json_integer_value(get(j, "firing")), 2);
    assert_string_equal(json_string_value(get(j, "alerts.0.kind")), "blocking_chain");
    assert_string_equal(json_string_value(get(j, "alerts.1.kind")), "call_surge");
    assert_string_equal(json_string_value(get(j, "alerts.2.kind")), "deadlocks");
    assert_string_equal(json_string_value(get(j, "alerts.2.state")), "resolved");
    assert_string_equal(json_string_value(get(j, "alerts.0.id")), "0000000000000002");
    json_decref(j);
    j = api_alerts_json(NULL, 0);
    assert_json(j, "{\"alerts\":[],\"firing\":0}");
    json_decref(j);
}

static void history_columns(void **state)
{
    (void)state;
    struct history *h = history_new(2);
    struct sample s;
    /* Three points in a ring of two: the baseline falls out. */
    for (int i = 0; i < 3; i++) {
        chain_sample(&s);
        s.start_us = T0 + (int64_t)i * 2000000;
        s.end_us = s.start_us + 2000000;
        s.baseline_only = i == 0;
        s.gap = i == 2;
        history_add(h, &s);
        sample_free_sessions(&s);
    }
    assert_int_equal(history_len(h), 2);
    json_t *j = api_history_json(h);
    assert_json(get(j, "capacity"), "2");
    assert_json(get(j, "t"), "[1795000004.0,1795000006.0]");
    assert_json(get(j, "gap"), "[false,true]");
    assert_json(get(j, "calls_per_s"), "[25.0,null]");
    assert_json(get(j, "mean_ms"), "[8.0,null]");
    assert_json(get(j, "db_time_per_s"), "[0.2,null]");
    assert_json(get(j, "connections"), "[4,null]");
    assert_json(get(j, "usable"), "[97,null]");
    assert_json(get(j, "waiting"), "[3,null]");
    assert_json(get(j, "errors"), "[null,null]");
    assert_json(get(j, "deadlocks"), "[0,null]");
    assert_json(get(j, "commits_per_s"), "[10.0,null]");
    /* The query with no calls is no top query. */
    assert_json(get(j, "queries"),
                "[{\"calls_per_s\":[25.0,null],\"fingerprint\":\"00c0ffee12345678\","
                "\"mean_ms\":[6.0,null],\"query\":\"SELECT * FROM orders WHERE id = $1\","
                "\"time_pct\":[75.0,null]}]");
    json_decref(j);
    history_free(h);
}

static void history_memory_is_fixed(void **state)
{
    (void)state;
    struct history *h = history_new(0);
    assert_int_equal(h->cap, HISTORY_DEFAULT_CAPACITY);
    struct sample s;
    char text[64];
    for (int i = 0; i < 3000; i++) {
        chain_sample(&s);
        s.end_us = T0 + (int64_t)i * 1000000;
        /* A new fingerprint every time: the text table must not grow. */
        s.queries[0].fingerprint = 0x1000 + (uint64_t)i;
        snprintf(text, sizeof(text), "SELECT %d", i);
        s.queries[0].query = text;
        history_add(h, &s);
        sample_free_sessions(&s);
    }
    assert_int_equal(history_len(h), HISTORY_DEFAULT_CAPACITY);
    assert_int_equal(history_at(h, HISTORY_DEFAULT_CAPACITY - 1)->end_us, T0 + 2999LL * 1000000);
    assert_int_equal(history_at(h, 0)->end_us, T0 + (3000LL - 1440) * 1000000);
    assert_string_equal(history_query_text(h, 0x1000 + 2999), "SELECT 2999");
    assert_null(history_query_text(h, 0x1000));
    json_t *j = api_history_json(h);
    assert_int_equal(json_array_size(get(j, "t")), HISTORY_DEFAULT_CAPACITY);
    assert_true(json_array_size(get(j, "queries")) <= 10);
    json_decref(j);
    history_free(h);
}

static void history_cuts_long_texts_on_a_character_boundary(void **state)
{
    (void)state;
    struct history *h = history_new(4);
    struct sample s;
    chain_sample(&s);
    struct buf q = BUF_INIT;
    buf_addstr(&q, "SELECT '");
    while (q.len < 400)
        buf_addstr(&q, "\xc3\xa9"); /* é, two bytes */
    s.queries[0].query = q.ptr;
    history_add(h, &s);
    const char *t = history_query_text(h, s.queries[0].fingerprint);
    assert_non_null(t);
    assert_true(strlen(t) <= HISTORY_TEXT_BYTES);
    assert_true(strlen(t) >= HISTORY_TEXT_BYTES - 1);
    json_t *v = json_string(t); /* NULL if the cut left half a character */
    assert_non_null(v);
    json_decref(v);
    buf_release(&q);
    sample_free_sessions(&s);
    history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocking_chain_becomes_a_tree),
        cmocka_unit_test(sessions_list_blocked_by_and_blocking),
        cmocka_unit_test(top_level_settings_and_connections),
        cmocka_unit_test(queries_have_rates_and_a_hex_fingerprint),
        cmocka_unit_test(cycles_and_unseen_blockers),
        cmocka_unit_test(invalid_utf8_becomes_replacement_characters),
        cmocka_unit_test(gap_sample),
        cmocka_unit_test(alerts_document_puts_firing_critical_first),
        cmocka_unit_test(history_columns),
        cmocka_unit_test(history_memory_is_fixed),
        cmocka_unit_test(history_cuts_long_texts_on_a_character_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
