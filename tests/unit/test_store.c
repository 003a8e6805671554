/*
 * Tests of the SQLite history store: samples, changes, alerts and
 * incidents round-trip, query texts are stored once, the schema migrates
 * (from empty and from v1) and refuses a future version, retention
 * deletes and downsampling sums exactly, and a writer killed with SIGKILL
 * leaves every committed interval behind.
 */
#include "test_util.h"

#include "core/incident.h"
#include "store/store.h"

#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIN_US  (60LL * 1000000LL)
#define HOUR_US (60LL * MIN_US)
#define DAY_US  (24LL * HOUR_US)
/* 2024-03-01 00:00:00 UTC */
#define T0 1709251200000000LL

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/sleuth-store-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/sleuth.db", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

static struct store *open_ok(const char *path)
{
    struct store *s;
    struct err err = { 0 };
    if (store_open(&s, path, false, &err) < 0)
        fail_msg("store_open: %s", err.msg);
    return s;
}

/* Runs one SQL statement on the file directly and returns its first integer. */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A sample of interval n (one minute each from T0) with nq queries and k as a value seed. */
static void make_sample(struct sample *s, int n, int nq, int64_t k)
{
    sample_init(s);
    s->start_us = T0 + n * MIN_US;
    s->end_us = s->start_us + MIN_US;
    s->server_version_num = 150004;
    s->max_connections = 100;
    s->reserved_connections = 3;
    s->statement_timeout_ms = 30000;
    s->connections = 40 + (int)k;
    s->active = 7;
    s->idle = 30;
    s->idle_in_transaction = 2;
    s->waiting = 1;
    s->distinct_clients = 5;
    s->db.xact_commit = 1000 + k;
    s->db.xact_rollback = 3;
    s->db.deadlocks = 1;
    s->db.sessions_killed = 2;
    s->has_log = true;
    s->log_errors = 4 + k;
    s->log_timeouts = 1;
    s->has_pgbouncer = true;
    s->pgb_queries = 500;
    s->pgb_wait_ms = 12.5;
    s->nqueries = nq;
    s->queries = arena_alloc(&s->arena, (size_t)(nq ? nq : 1) * sizeof(*s->queries));
    for (int i = 0; i < nq; i++) {
        char text[96];
        snprintf(text, sizeof(text), "SELECT * FROM orders WHERE id = $1 AND kind = %d", i);
        s->queries[i] = (struct sample_query){
            .fingerprint = 0xfedcba9876543210ULL + (uint64_t)i, /* high bit set: negative int64 */
            .queryid = -42 - i,
            .query = sample_strdup(s, text),
            .db = sample_strdup(s, "app"),
            .user = sample_strdup(s, "web"),
            .calls = 10 + i + k,
            .total_ms = 1000.5 - i, /* strictly decreasing: the order read back */
            .rows = 3 * i,
            .blks_hit = 100 + k,
            .blks_read = 7,
            .blks_dirtied = 1,
            .temp_blks = 2,
            .wal_bytes = 4096,
            .is_new = i == 0,
        };
    }
    s->ntables = 2;
    s->tables = arena_alloc(&s->arena, 2 * sizeof(*s->tables));
    s->tables[0] = (struct sample_table){ .schema = "public",
                                          .name = "orders",
                                          .seq_scan = 2 + k,
                                          .seq_tup_read = 2000,
                                          .idx_scan = 50,
                                          .n_tup_upd = 9,
                                          .n_tup_hot_upd = 4,
                                          .n_live_tup = 100000 + k,
                                          .n_dead_tup = 50,
                                          .bytes = 8192 * 100 };
    s->tables[1] = (struct sample_table){ .schema = "public", .name = "users", .idx_scan = 5 };
    s->nindexes = 1;
    s->indexes = arena_alloc(&s->arena, sizeof(*s->indexes));
    s->indexes[0] = (struct sample_index){
        .schema = "public",
        .table = "orders",
        .name = "orders_pkey",
        .def = "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
        .idx_scan = 50 + k,
        .bytes = 16384,
        .unique = true,
        .primary = true,
        .valid = true
    };
    s->nsessions = 2;
    s->sessions = arena_alloc(&s->arena, 2 * sizeof(*s->sessions));
    int *blocked = arena_alloc(&s->arena, 2 * sizeof(int));
    blocked[0] = 101;
    blocked[1] = 103;
    s->sessions[0] = (struct sample_session){ .pid = 101,
                                              .user = "web",
                                              .db = "app",
                                              .app = "api",
                                              .client = "10.0.0.1",
                                              .state = "idle in transaction",
                                              .wait_event_type = "Client",
                                              .wait_event = "ClientRead",
                                              .query = "UPDATE orders SET x = 1",
                                              .query_age_s = 30,
                                              .xact_age_s = 31,
                                              .state_age_s = 29 };
    s->sessions[1] = (struct sample_session){ .pid = 102,
                                              .user = "web",
                                              .db = "app",
                                              .app = "api",
                                              .client = "10.0.0.2",
                                              .state = "active",
                                              .wait_event_type = "Lock",
                                              .wait_event = "transactionid",
                                              .query = "UPDATE orders SET x = 2",
                                              .query_age_s = 5,
                                              .xact_age_s = 5,
                                              .state_age_s = 5,
                                              .blocked_by = blocked,
                                              .nblocked_by = 2 };
    s->nby_app = 1;
    s->by_app = arena_alloc(&s->arena, sizeof(*s->by_app));
    s->by_app[0] = (struct sample_count){ "api", 38 };
    s->nby_client = 2;
    s->by_client = arena_alloc(&s->arena, 2 * sizeof(*s->by_client));
    s->by_client[0] = (struct sample_count){ "10.0.0.1", 20 };
    s->by_client[1] = (struct sample_count){ "10.0.0.2", 18 + (int)k };
    s->npools = 1;
    s->pools = arena_alloc(&s->arena, sizeof(*s->pools));
    s->pools[0] = (struct sample_pool){ "app", "web", 10, 2, 8, 1, 0, 0.25 };
    s->nproblems = 1;
    s->problems = arena_alloc(&s->arena, sizeof(*s->problems));
    s->problems[0] = (struct sample_problem){ "pg_stat_statements", "extension missing",
                                              "CREATE EXTENSION pg_stat_statements" };
}

static void write_ok(struct store *st, const struct sample *s)
{
    struct err err = { 0 };
    if (store_write_sample(st, s, &err) < 0)
        fail_msg("store_write_sample: %s", err.msg);
}

/* Collects deep-ish copies of the samples read back (only the fields the tests check). */
struct got {
    int n;
    struct sample s[8];
};

static void got_sample(void *ctx, const struct sample *smp)
{
    struct got *g = ctx;
    assert_true(g->n < 8);
    struct sample *d = &g->s[g->n++];
    *d = *smp;
    memset(&d->arena, 0, sizeof(d->arena));
    /* The arena dies after the callback: copy the strings and arrays we compare. */
    arena_init(&d->arena, 4096);
#define DUP_ARRAY(f, nf)                                                      \
    do {                                                                      \
        d->f = NULL;                                                          \
        if (smp->nf) {                                                        \
            d->f = arena_alloc(&d->arena, (size_t)smp->nf * sizeof(*smp->f)); \
            memcpy(d->f, smp->f, (size_t)smp->nf * sizeof(*smp->f));          \
        }                                                                     \
    } while (0)
    DUP_ARRAY(queries, nqueries);
    DUP_ARRAY(tables, ntables);
    DUP_ARRAY(indexes, nindexes);
    DUP_ARRAY(sessions, nsessions);
    DUP_ARRAY(problems, nproblems);
    DUP_ARRAY(by_client, nby_client);
    DUP_ARRAY(pools, npools);
    DUP_ARRAY(changes, nchanges);
#undef DUP_ARRAY
    for (int i = 0; i < d->nqueries; i++) {
        d->queries[i].query = sample_strdup(d, smp->queries[i].query);
        d->queries[i].db = sample_strdup(d, smp->queries[i].db);
    }
    for (int i = 0; i < d->ntables; i++)
        d->tables[i].name = sample_strdup(d, smp->tables[i].name);
    for (int i = 0; i < d->nindexes; i++)
        d->indexes[i].def = sample_strdup(d, smp->indexes[i].def);
    for (int i = 0; i < d->nsessions; i++) {
        d->sessions[i].state = sample_strdup(d, smp->sessions[i].state);
        d->sessions[i].wait_object = sample_strdup(d, smp->sessions[i].wait_object);
        int *b = arena_alloc(&d->arena, sizeof(int) * (size_t)(smp->sessions[i].nblocked_by + 1));
        if (smp->sessions[i].nblocked_by)
            memcpy(b, smp->sessions[i].blocked_by,
                   sizeof(int) * (size_t)smp->sessions[i].nblocked_by);
        d->sessions[i].blocked_by = b;
    }
    for (int i = 0; i < d->nchanges; i++) {
        struct sample_change *c = &d->changes[i];
        c->object = sample_strdup(d, c->object);
        c->table = sample_strdup(d, c->table);
        c->detail = sample_strdup(d, c->detail);
        c->statement = sample_strdup(d, c->statement);
        c->app = sample_strdup(d, c->app);
        c->user = sample_strdup(d, c->user);
    }
    for (int i = 0; i < d->nproblems; i++)
        d->problems[i].hint = sample_strdup(d, smp->problems[i].hint);
    for (int i = 0; i < d->nby_client; i++)
        d->by_client[i].name = sample_strdup(d, smp->by_client[i].name);
    for (int i = 0; i < d->npools; i++)
        d->pools[i].user = sample_strdup(d, smp->pools[i].user);
    d->by_app = NULL;
    d->by_user = NULL;
}

static void got_release(struct got *g)
{
    for (int i = 0; i < g->n; i++)
        arena_release(&g->s[i].arena);
}

static void samples_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    struct sample in;
    make_sample(&in, 0, 3, 0);
    write_ok(st, &in);

    struct got g = { 0 };
    struct err err = { 0 };
    assert_int_equal(store_read_samples(st, INT64_MIN, INT64_MAX, got_sample, &g, &err), 0);
    assert_int_equal(g.n, 1);
    struct sample *o = &g.s[0];
    assert_int_equal(o->start_us, T0);
    assert_int_equal(o->end_us, T0 + MIN_US);
    assert_false(o->gap);
    assert_int_equal(o->server_version_num, 150004);
    assert_int_equal(o->max_connections, 100);
    assert_int_equal(o->reserved_connections, 3);
    assert_int_equal(o->statement_timeout_ms, 30000);
    assert_int_equal(o->connections, 40);
    assert_int_equal(o->idle_in_transaction, 2);
    assert_int_equal(o->db.xact_commit, 1000);
    assert_int_equal(o->db.sessions_killed, 2);
    assert_true(o->has_log);
    assert_int_equal(o->log_errors, 4);
    assert_int_equal(o->log_timeouts, 1);
    assert_true(o->has_pgbouncer);
    assert_int_equal(o->pgb_queries, 500);
    assert_true(o->pgb_wait_ms == 12.5);

    assert_int_equal(o->nqueries, 3);
    for (int i = 0; i < 3; i++) {
        const struct sample_query *a = &in.queries[i], *b = &o->queries[i];
        assert_true(a->fingerprint == b->fingerprint);
        assert_int_equal(a->queryid, b->queryid);
        assert_string_equal(a->query, b->query);
        assert_string_equal(b->db, "app");
        assert_int_equal(a->calls, b->calls);
        assert_true(a->total_ms == b->total_ms);
        assert_int_equal(a->rows, b->rows);
        assert_int_equal(a->blks_hit, b->blks_hit);
        assert_int_equal(a->blks_dirtied, b->blks_dirtied);
        assert_int_equal(a->wal_bytes, b->wal_bytes);
        assert_int_equal(a->is_new, b->is_new);
    }
    assert_int_equal(o->ntables, 2);
    assert_string_equal(o->tables[0].name, "orders");
    assert_string_equal(o->tables[1].name, "users");
    assert_int_equal(o->tables[0].seq_tup_read, 2000);
    assert_int_equal(o->tables[0].n_tup_hot_upd, 4);
    assert_int_equal(o->tables[0].n_live_tup, 100000);
    assert_int_equal(o->tables[0].bytes, 819200);
    assert_int_equal(o->tables[1].idx_scan, 5);
    assert_int_equal(o->nindexes, 1);
    assert_string_equal(o->indexes[0].def, in.indexes[0].def);
    assert_int_equal(o->indexes[0].idx_scan, 50);
    assert_true(o->indexes[0].unique && o->indexes[0].primary && o->indexes[0].valid);
    assert_int_equal(o->nsessions, 2);
    assert_int_equal(o->sessions[0].pid, 101);
    assert_string_equal(o->sessions[0].state, "idle in transaction");
    assert_true(o->sessions[0].xact_age_s == 31);
    assert_int_equal(o->sessions[0].nblocked_by, 0);
    assert_int_equal(o->sessions[1].nblocked_by, 2);
    assert_int_equal(o->sessions[1].blocked_by[0], 101);
    assert_int_equal(o->sessions[1].blocked_by[1], 103);
    assert_int_equal(o->nby_app, 1);
    assert_int_equal(o->nby_user, 0);
    assert_int_equal(o->nby_client, 2);
    assert_string_equal(o->by_client[1].name, "10.0.0.2");
    assert_int_equal(o->by_client[1].count, 18);
    assert_int_equal(o->npools, 1);
    assert_string_equal(o->pools[0].user, "web");
    assert_int_equal(o->pools[0].cl_waiting, 2);
    assert_true(o->pools[0].maxwait_s == 0.25);
    assert_int_equal(o->nproblems, 1);
    assert_string_equal(o->problems[0].hint, "CREATE EXTENSION pg_stat_statements");

    int64_t first, last;
    assert_int_equal(store_time_range(st, &first, &last, &err), 0);
    assert_int_equal(first, T0);
    assert_int_equal(last, T0 + MIN_US);
    got_release(&g);
    sample_release(&in);
    store_close(st);
}

static void range_selects_overlapping_intervals(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    for (int n = 0; n < 5; n++) {
        struct sample s;
        make_sample(&s, n, 1, n);
        write_ok(st, &s);
        sample_release(&s);
    }
    struct got g = { 0 };
    struct err err = { 0 };
    /* [T0+1.5min, T0+3min) overlaps intervals 1 and 2. */
    assert_int_equal(
        store_read_samples(st, T0 + 90 * 1000000LL, T0 + 3 * MIN_US, got_sample, &g, &err), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.s[0].start_us, T0 + MIN_US);
    assert_int_equal(g.s[1].start_us, T0 + 2 * MIN_US);
    assert_int_equal(g.s[1].db.xact_commit, 1002);
    got_release(&g);
    store_close(st);
}

static void text_stored_once_per_fingerprint(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    for (int n = 0; n < 3; n++) {
        struct sample s;
        make_sample(&s, n, 10, n);
        write_ok(st, &s);
        sample_release(&s);
    }
    /* last_seen_us is refreshed only once it is STORE_LAST_SEEN_SLACK_US old: one row less. */
    assert_int_equal(sql_int(fx->path, "SELECT last_seen_us FROM queries LIMIT 1"), T0 + MIN_US);
    store_close(st);
    /* A new connection (empty cache) writes its texts' rows again. */
    st = open_ok(fx->path);
    struct sample s;
    make_sample(&s, 3, 10, 3);
    write_ok(st, &s);
    sample_release(&s);
    store_close(st);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM queries"), 10);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM query_stats"), 40);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM relations"), 3);
    assert_int_equal(sql_int(fx->path, "SELECT first_seen_us FROM queries LIMIT 1"), T0);
    assert_int_equal(sql_int(fx->path, "SELECT last_seen_us FROM queries LIMIT 1"),
                     T0 + 4 * MIN_US);
}

static void migrates_empty_file_and_reopens(void **state)
{
    struct fixture *fx = *state;
    /* An empty file, as `touch sleuth.db` leaves it. */
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    fclose(f);
    struct store *st = open_ok(fx->path);
    assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
    struct err err = { 0 };
    assert_int_equal(store_set_meta(st, "target", "host=db1 dbname=app", &err), 0);
    assert_int_equal(store_set_meta(st, "sleuth_version", SLEUTH_VERSION, &err), 0);
    store_close(st);
    assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'alerts'"),
                     1);

    st = open_ok(fx->path);
    assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
    struct buf v = BUF_INIT;
    bool found = false;
    assert_int_equal(store_get_meta(st, "target", &v, &found, &err), 0);
    assert_true(found);
    assert_string_equal(v.ptr, "host=db1 dbname=app");
    assert_int_equal(store_get_meta(st, "password", &v, &found, &err), 0);
    assert_false(found);
    assert_string_equal(v.ptr, "");
    int64_t first = 1, last = 1;
    assert_int_equal(store_time_range(st, &first, &last, &err), 0);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
    buf_release(&v);
    store_close(st);
    assert_int_equal(
        sql_int(fx->path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
        1);
}

static void refuses_future_version(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    store_close(st);
    sql_exec(fx->path, "PRAGMA user_version = 99");
    struct err err = { 0 };
    st = (struct store *)1;
    assert_int_equal(store_open(&st, fx->path, false, &err), -1);
    assert_null(st);
    assert_int_equal(err.code, ERR_IO);
    char want[256];
    snprintf(want, sizeof(want),
             "cannot open store '%s': its schema version 99 is newer than this sleuth supports "
             "(%d); use a newer sleuth",
             fx->path, STORE_SCHEMA_VERSION);
    assert_string_equal(err.msg, want);
    /* Refusing did not touch the file. */
    assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), 99);
}

static void refuses_foreign_database_and_bad_path(void **state)
{
    struct fixture *fx = *state;
    sql_exec(fx->path, "CREATE TABLE customers (id int)");
    struct store *st;
    struct err err = { 0 };
    assert_int_equal(store_open(&st, fx->path, false, &err), -1);
    assert_non_null(strstr(err.msg, "not a sleuth store"));
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_schema"), 1);

    char bad[160];
    snprintf(bad, sizeof(bad), "%s/missing/sleuth.db", fx->dir);
    assert_int_equal(store_open(&st, bad, false, &err), -1);
    char want[256];
    snprintf(want, sizeof(want), "cannot open store '%s': unable to open database file", bad);
    assert_string_equal(err.msg, want);
}

/* The whole file at path, malloc'd; *len its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*len ? *len : 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void spit(const char *path, const char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void refuses_damaged_store_unless_forced(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    for (int i = 0; i < 20; i++) {
        struct sample s;
        make_sample(&s, i, 20, i);
        write_ok(st, &s);
        sample_release(&s);
    }
    store_close(st); /* the last close checkpoints the WAL into the file */
    int64_t page = sql_int(fx->path, "PRAGMA page_size");
    int64_t pages = sql_int(fx->path, "PRAGMA page_count");
    assert_true(pages >= 8);

    /* A copy with two pages in its middle overwritten, as a bad disk block would. */
    char damaged[200];
    snprintf(damaged, sizeof(damaged), "%s/damaged.db", fx->dir);
    size_t len;
    char *bytes = slurp(fx->path, &len);
    memset(bytes + (pages / 2) * page, 0xa5, (size_t)(2 * page));
    spit(damaged, bytes, len);

    struct err err = { 0 };
    st = (struct store *)1;
    assert_int_equal(store_open(&st, damaged, false, &err), -1);
    assert_null(st);
    assert_int_equal(err.code, ERR_IO);
    char want[300];
    snprintf(want, sizeof(want), "store '%s' is damaged (quick_check: ", damaged);
    assert_memory_equal(err.msg, want, strlen(want));
    assert_non_null(strstr(err.msg, "): move it away, or pass --store-force"));
    /* The refusal wrote nothing into the file. */
    size_t after_len;
    char *after = slurp(damaged, &after_len);
    assert_int_equal(after_len, len);
    assert_memory_equal(after, bytes, len);
    free(after);
    free(bytes);

    /* Told to, sleuth opens it; the original copy was never damaged. */
    assert_int_equal(store_open(&st, damaged, true, &err), 0);
    store_close(st);
    st = open_ok(fx->path);
    store_close(st);
}

static void retention_deletes_old_without_orphans(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    /*
     * Intervals 0..9 with query set A and table users, 40..49 with query
     * set B (other fingerprints) and table accounts.
     */
    for (int n = 0; n < 50; n++) {
        if (n == 10)
            n = 40;
        struct sample s;
        make_sample(&s, n, 3, n);
        if (n >= 40) {
            for (int i = 0; i < 3; i++)
                s.queries[i].fingerprint += 1000;
            s.tables[1].name = "accounts";
        }
        write_ok(st, &s);
        sample_release(&s);
    }
    struct alert a = {
        .id = 7, .since_us = T0, .updated_us = T0 + MIN_US, .resolved_us = T0 + 2 * MIN_US
    };
    a.f.kind = FK_DEADLOCKS;
    a.f.baseline = NAN;
    struct err err = { 0 };
    assert_int_equal(store_write_alert(st, ALERT_FIRED, &a, &err), 0);
    assert_int_equal(store_write_alert(st, ALERT_RESOLVED, &a, &err), 0);
    /*
     * now = T0 + 50 min, retention 20 min: intervals ending at or before
     * T0 + 30 min go, and texts last seen 15 min (the slack) before that.
     */
    assert_int_equal(store_prune(st, T0 + 50 * MIN_US, 20 * MIN_US, 0, &err), 0);
    int64_t first, last;
    assert_int_equal(store_time_range(st, &first, &last, &err), 0);
    assert_int_equal(first, T0 + 40 * MIN_US);
    assert_int_equal(last, T0 + 50 * MIN_US);
    /* The writer keeps working after the prune emptied its caches: users and set A return. */
    struct sample s;
    make_sample(&s, 50, 1, 0);
    write_ok(st, &s);
    sample_release(&s);
    store_close(st);

    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM intervals"), 11);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM queries"), 4);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM query_stats"), 31);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM relations WHERE name = 'users'"), 1);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM relations"), 4);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM alerts"), 0);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM alert_events"), 0);
    static const char *const orphans[] = {
        "SELECT count(*) FROM query_stats WHERE interval_id NOT IN (SELECT id FROM intervals)"
        " OR fingerprint NOT IN (SELECT fingerprint FROM queries)",
        "SELECT count(*) FROM table_stats WHERE interval_id NOT IN (SELECT id FROM intervals)"
        " OR rel_id NOT IN (SELECT id FROM relations)",
        "SELECT count(*) FROM index_stats WHERE interval_id NOT IN (SELECT id FROM intervals)"
        " OR rel_id NOT IN (SELECT id FROM relations)",
        "SELECT count(*) FROM sessions WHERE interval_id NOT IN (SELECT id FROM intervals)",
        "SELECT count(*) FROM session_counts WHERE interval_id NOT IN (SELECT id FROM intervals)",
        "SELECT count(*) FROM pools WHERE interval_id NOT IN (SELECT id FROM intervals)",
        "SELECT count(*) FROM problems WHERE interval_id NOT IN (SELECT id FROM intervals)",
    };
    for (size_t i = 0; i < sizeof(orphans) / sizeof(orphans[0]); i++)
        assert_int_equal(sql_int(fx->path, orphans[i]), 0);
}

static void downsampling_sums_deltas_exactly(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    /* Two hours of minutes (0..119) and 10 minutes of the third hour (120..129). */
    int64_t calls0 = 0, xacts = 0, idx_scan = 0, log_errors = 0;
    double total0 = 0;
    for (int n = 0; n < 130; n++) {
        struct sample s;
        make_sample(&s, n, 2, n % 7);
        if (n < 60) {
            calls0 += s.queries[0].calls;
            total0 += s.queries[0].total_ms;
            xacts += s.db.xact_commit;
            idx_scan += s.indexes[0].idx_scan;
            log_errors += s.log_errors;
        }
        write_ok(st, &s);
        sample_release(&s);
    }
    struct err err = { 0 };
    /* now = T0 + 3h10, downsample after 1h: hours 0 and 1 fold, hour 2 (still open) does not. */
    assert_int_equal(store_prune(st, T0 + 3 * HOUR_US + 10 * MIN_US, 14 * DAY_US, HOUR_US, &err),
                     0);
    /* Pruning again changes nothing. */
    assert_int_equal(store_prune(st, T0 + 3 * HOUR_US + 10 * MIN_US, 14 * DAY_US, HOUR_US, &err),
                     0);
    struct got g = { 0 };
    assert_int_equal(store_read_samples(st, T0, T0 + 2 * HOUR_US, got_sample, &g, &err), 0);
    assert_int_equal(g.n, 2);
    struct sample *h = &g.s[0];
    assert_int_equal(h->start_us, T0);
    assert_int_equal(h->end_us, T0 + HOUR_US);
    assert_int_equal(h->nqueries, 2);
    assert_int_equal(h->queries[0].calls, calls0);
    assert_true(h->queries[0].total_ms == total0);
    assert_true(h->queries[0].is_new);
    assert_int_equal(h->db.xact_commit, xacts);
    assert_int_equal(h->log_errors, log_errors);
    assert_int_equal(h->connections, 46);                /* max over the hour */
    assert_int_equal(h->tables[0].n_live_tup, 100006);   /* max */
    assert_int_equal(h->tables[0].seq_tup_read, 120000); /* 60 x 2000 */
    assert_int_equal(h->indexes[0].idx_scan, idx_scan);
    assert_int_equal(h->nsessions, 0);
    assert_int_equal(h->nproblems, 1);
    assert_int_equal(h->nby_client, 2);
    assert_int_equal(h->by_client[0].count, 24); /* 18 + 6, now the largest */
    assert_string_equal(h->by_client[0].name, "10.0.0.2");
    assert_int_equal(h->npools, 1);
    assert_int_equal(h->pools[0].cl_waiting, 2);
    assert_true(h->pgb_wait_ms == 60 * 12.5);
    got_release(&g);
    store_close(st);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM intervals"), 2 + 10);
    assert_int_equal(sql_int(fx->path, "SELECT sum(merged) FROM intervals WHERE resolution_us > 0"),
                     120);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sessions"), 10 * 2);
}

struct alerts_got {
    int n;
    struct alert a[4];
};

static void got_alert(void *ctx, const struct alert *a)
{
    struct alerts_got *g = ctx;
    assert_true(g->n < 4);
    g->a[g->n] = *a;
    finding_copy(&g->a[g->n].f, &a->f);
    g->n++;
}

static void alerts_fire_update_resolve(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    struct alert a = { .id = 0x8000000000000001ULL, .since_us = T0, .updated_us = T0, .peak = 250 };
    a.f = (struct finding){ .kind = FK_LATENCY_REGRESSION,
                            .severity = FINDING_WARNING,
                            .key = "fp:fedcba9876543210",
                            .fingerprint = 0xfedcba9876543210ULL,
                            .query = "SELECT * FROM orders WHERE id = $1",
                            .table = NULL,
                            .value = 250,
                            .baseline = NAN,
                            .threshold = 100,
                            .unit = "ms",
                            .summary = "mean 250 ms",
                            .next = "EXPLAIN it" };
    struct err err = { 0 };
    assert_int_equal(store_write_alert(st, ALERT_FIRED, &a, &err), 0);
    a.f.severity = FINDING_CRITICAL;
    a.f.value = a.peak = 900;
    a.f.baseline = 20;
    a.updated_us = T0 + 5 * MIN_US;
    assert_int_equal(store_write_alert(st, ALERT_UPDATED, &a, &err), 0);
    a.resolved_us = T0 + 9 * MIN_US;
    a.f.value = 30;
    assert_int_equal(store_write_alert(st, ALERT_RESOLVED, &a, &err), 0);

    struct alerts_got g = { 0 };
    assert_int_equal(store_read_alerts(st, T0, T0 + HOUR_US, got_alert, &g, &err), 0);
    assert_int_equal(g.n, 1);
    struct alert *o = &g.a[0];
    assert_true(o->id == 0x8000000000000001ULL);
    assert_int_equal(o->f.kind, FK_LATENCY_REGRESSION);
    assert_int_equal(o->f.severity, FINDING_CRITICAL);
    assert_string_equal(o->f.key, "fp:fedcba9876543210");
    assert_true(o->f.fingerprint == 0xfedcba9876543210ULL);
    assert_null(o->f.table);
    assert_string_equal(o->f.query, "SELECT * FROM orders WHERE id = $1");
    assert_string_equal(o->f.unit, "ms");
    assert_true(o->f.value == 30 && o->f.baseline == 20 && o->peak == 900);
    assert_int_equal(o->since_us, T0);
    assert_int_equal(o->updated_us, T0 + 5 * MIN_US);
    assert_int_equal(o->resolved_us, T0 + 9 * MIN_US);
    finding_release(&o->f);

    /* Resolved before the range: not returned. */
    g.n = 0;
    assert_int_equal(store_read_alerts(st, T0 + 10 * MIN_US, T0 + HOUR_US, got_alert, &g, &err), 0);
    assert_int_equal(g.n, 0);
    store_close(st);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM alerts"), 1);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM alert_events"), 3);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM alert_events WHERE change ="
                                       " 'resolved' AND ts_us = 1709251740000000"),
                     1);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM alerts WHERE baseline IS NULL"), 0);
}

/* Changes and the relation a lock wait is for come back as they were written (schema v2). */
static void changes_and_wait_object_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    struct sample in;
    make_sample(&in, 0, 1, 0);
    in.sessions[1].wait_object = "public.orders";
    sample_add_change(&in, &(struct sample_change){
                               .kind = CHANGE_CREATE_INDEX,
                               .ts_us = T0 + 20 * 1000000LL,
                               .object = "orders_status_idx",
                               .table = "orders",
                               .detail = "CREATE INDEX orders_status_idx ON orders (status)",
                               .statement = "CREATE INDEX orders_status_idx ON orders (status)",
                               .app = "psql",
                               .user = "dba",
                               .pid = 4242 });
    sample_add_change(&in, &(struct sample_change){ .kind = CHANGE_SETTING,
                                                    .ts_us = T0 + 30 * 1000000LL,
                                                    .object = "work_mem",
                                                    .detail = "64MB" });
    write_ok(st, &in);
    sample_release(&in);

    struct got g = { 0 };
    struct err err = { 0 };
    assert_int_equal(store_read_samples(st, INT64_MIN, INT64_MAX, got_sample, &g, &err), 0);
    assert_int_equal(g.n, 1);
    struct sample *o = &g.s[0];
    assert_int_equal(o->nsessions, 2);
    assert_string_equal(o->sessions[0].wait_object, "");
    assert_string_equal(o->sessions[1].wait_object, "public.orders");
    assert_int_equal(o->nchanges, 2);
    assert_int_equal(o->changes[0].kind, CHANGE_CREATE_INDEX);
    assert_int_equal(o->changes[0].ts_us, T0 + 20 * 1000000LL);
    assert_string_equal(o->changes[0].object, "orders_status_idx");
    assert_string_equal(o->changes[0].table, "orders");
    assert_string_equal(o->changes[0].app, "psql");
    assert_string_equal(o->changes[0].user, "dba");
    assert_int_equal(o->changes[0].pid, 4242);
    assert_int_equal(o->changes[1].kind, CHANGE_SETTING);
    assert_string_equal(o->changes[1].object, "work_mem");
    assert_string_equal(o->changes[1].detail, "64MB");
    assert_string_equal(o->changes[1].statement, "");
    got_release(&g);
    store_close(st);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM changes"), 2);
}

struct incidents_got {
    int n;
    struct incident inc[4];
};

static void got_incident(void *ctx, const struct incident *inc)
{
    struct incidents_got *g = ctx;
    assert_true(g->n < 4);
    incident_copy(&g->inc[g->n++], inc);
}

static void incidents_got_release(struct incidents_got *g)
{
    for (int i = 0; i < g->n; i++)
        incident_release(&g->inc[i]);
    g->n = 0;
}

/*
 * An incident that opens, gains a cause and a fix and resolves is one row with its last document.
 */
static void incidents_open_update_resolve(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    struct incident inc;
    incident_init(&inc);
    inc.id = 0x8000000000000abcULL; /* high bit set: a negative INTEGER in SQLite */
    inc.seq = 1;
    inc.onset_us = T0 + MIN_US;
    inc.detected_us = T0 + 2 * MIN_US;
    inc.updated_us = inc.detected_us;
    struct err err = { 0 };
    assert_int_equal(store_write_incident(st, &inc, &err), 0);

    inc.critical = true;
    inc.ncauses = 1;
    inc.causes = calloc(1, sizeof(*inc.causes));
    inc.causes[0] = (struct cause){ .kind = CAUSE_MISSING_INDEX,
                                    .score = 0.9,
                                    .fingerprint = 0xfedcba9876543210ULL,
                                    .query = strdup("SELECT * FROM orders WHERE customer = $1"),
                                    .table = strdup("orders"),
                                    .start_us = T0 + MIN_US,
                                    .detected_us = T0 + 2 * MIN_US,
                                    .evidence = json_object(),
                                    .summary = strdup("seq scans of orders"),
                                    .fix = strdup("CREATE INDEX ON orders (customer)") };
    inc.has_fix = true;
    incident_change_set(&inc.fix,
                        &(struct sample_change){ .kind = CHANGE_CREATE_INDEX,
                                                 .ts_us = T0 + 8 * MIN_US,
                                                 .object = "orders_customer_idx",
                                                 .table = "orders" },
                        "by time and table");
    inc.state = INCIDENT_RESOLVED;
    inc.end_us = T0 + 9 * MIN_US;
    inc.updated_us = inc.end_us;
    assert_int_equal(store_write_incident(st, &inc, &err), 0);

    struct incidents_got g = { 0 };
    assert_int_equal(store_read_incidents(st, T0, T0 + HOUR_US, got_incident, &g, &err), 0);
    assert_int_equal(g.n, 1);
    struct incident *o = &g.inc[0];
    assert_true(o->id == 0x8000000000000abcULL);
    assert_int_equal(o->state, INCIDENT_RESOLVED);
    assert_true(o->critical);
    assert_int_equal(o->onset_us, T0 + MIN_US);
    assert_int_equal(o->detected_us, T0 + 2 * MIN_US);
    assert_int_equal(o->end_us, T0 + 9 * MIN_US);
    assert_int_equal(o->ncauses, 1);
    assert_int_equal(o->causes[0].kind, CAUSE_MISSING_INDEX);
    assert_true(o->causes[0].fingerprint == 0xfedcba9876543210ULL);
    assert_string_equal(o->causes[0].table, "orders");
    assert_true(o->has_fix);
    assert_false(o->has_trigger);
    assert_int_equal(o->fix.kind, CHANGE_CREATE_INDEX);
    assert_string_equal(o->fix.object, "orders_customer_idx");
    assert_int_equal(o->fix.ts_us, T0 + 8 * MIN_US);
    incidents_got_release(&g);

    /* Resolved before the range: not read; an open one reaches to now. */
    assert_int_equal(
        store_read_incidents(st, T0 + 10 * MIN_US, T0 + HOUR_US, got_incident, &g, &err), 0);
    assert_int_equal(g.n, 0);
    struct incident open;
    incident_init(&open);
    open.id = 7;
    open.seq = 2;
    open.onset_us = T0 + 20 * MIN_US;
    open.detected_us = open.updated_us = T0 + 21 * MIN_US;
    assert_int_equal(store_write_incident(st, &open, &err), 0);
    assert_int_equal(
        store_read_incidents(st, T0 + 50 * MIN_US, T0 + HOUR_US, got_incident, &g, &err), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.inc[0].seq, 2);
    assert_int_equal(g.inc[0].state, INCIDENT_OPEN);
    incidents_got_release(&g);
    incident_release(&open);
    incident_release(&inc);
    store_close(st);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM incidents"), 2);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM incidents WHERE state = 'resolved'"
                                       " AND cause = 'missing_index' AND severity = 'critical'"),
                     1);
}

/* A v1 store (before incidents) migrates to v2 and keeps its intervals. */
static void migrates_v1_store_to_v2(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    struct sample in;
    make_sample(&in, 0, 2, 0);
    write_ok(st, &in);
    sample_release(&in);
    store_close(st);
    /* Take the file back to what migration 1 alone made. */
    sql_exec(fx->path, "DROP TABLE incidents; DROP TABLE changes;"
                       "ALTER TABLE sessions DROP COLUMN wait_object; PRAGMA user_version = 1");
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'changes'"),
                     0);

    st = open_ok(fx->path);
    assert_int_equal(store_schema_version(st), 2);
    struct got g = { 0 };
    struct err err = { 0 };
    assert_int_equal(store_read_samples(st, INT64_MIN, INT64_MAX, got_sample, &g, &err), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.s[0].nqueries, 2);
    assert_int_equal(g.s[0].nsessions, 2);
    assert_string_equal(g.s[0].sessions[1].wait_object, "");
    assert_int_equal(g.s[0].nchanges, 0);
    got_release(&g);
    store_close(st);
    assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), 2);
    assert_int_equal(
        sql_int(fx->path,
                "SELECT count(*) FROM sqlite_schema WHERE name IN ('incidents', 'changes')"),
        2);
}

static void sessions_are_bounded_to_the_notable(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    struct sample s;
    make_sample(&s, 0, 1, 0);
    int n = STORE_MAX_SESSIONS + 30;
    s.nsessions = n;
    s.sessions = arena_alloc(&s.arena, (size_t)n * sizeof(*s.sessions));
    int *blocker = arena_alloc(&s.arena, sizeof(int));
    *blocker = 1000 + n - 1; /* the last session blocks the first */
    for (int i = 0; i < n; i++)
        s.sessions[i] = (struct sample_session){ .pid = 1000 + i,
                                                 .state = "active",
                                                 .query_age_s = i < 60 ? 1 : 100 + i };
    s.sessions[0].blocked_by = blocker;
    s.sessions[0].nblocked_by = 1;
    write_ok(st, &s);
    sample_release(&s);
    struct got g = { 0 };
    struct err err = { 0 };
    assert_int_equal(store_read_samples(st, INT64_MIN, INT64_MAX, got_sample, &g, &err), 0);
    assert_int_equal(g.s[0].nsessions, STORE_MAX_SESSIONS);
    /* Kept in their original order: the waiter, ..., the blocker last. */
    assert_int_equal(g.s[0].sessions[0].pid, 1000);
    assert_int_equal(g.s[0].sessions[0].nblocked_by, 1);
    assert_int_equal(g.s[0].sessions[STORE_MAX_SESSIONS - 1].pid, 1000 + n - 1);
    got_release(&g);
    store_close(st);
}

/*
 * The child writes intervals as fast as it can and, after each commit,
 * tells the parent the interval number over a pipe. The parent kills it
 * mid-loop; every number it read must be in the store.
 */
static void sigkill_keeps_committed_intervals(void **state)
{
    struct fixture *fx = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct store *st;
        struct err err;
        if (store_open(&st, fx->path, false, &err) < 0)
            _exit(1);
        for (int n = 0;; n++) {
            struct sample s;
            make_sample(&s, n, 200, n);
            if (store_write_sample(st, &s, &err) < 0)
                _exit(2);
            sample_release(&s);
            if (write(fds[1], &n, sizeof(n)) != sizeof(n))
                _exit(3);
        }
    }
    close(fds[1]);
    int committed = -1, n;
    /* Let it commit a few intervals, then kill it at a random point of a write. */
    while (committed < 20 && read(fds[0], &n, sizeof(n)) == sizeof(n))
        committed = n;
    struct timespec ts = { 0, (long)(rand() % 5000) * 1000 };
    nanosleep(&ts, NULL);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    while (read(fds[0], &n, sizeof(n)) == sizeof(n))
        committed = n;
    close(fds[0]);
    assert_true(committed >= 20);

    struct store *st = open_ok(fx->path);
    store_close(st);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* Every reported interval is there, whole: 200 queries each. */
    int64_t stored = sql_int(fx->path, "SELECT count(*) FROM intervals");
    assert_true(stored >= committed + 1);
    assert_true(stored <= committed + 2); /* at most the one committed but not yet reported */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM intervals WHERE start_us <= %lld AND"
             " (SELECT count(*) FROM query_stats WHERE interval_id = intervals.id) = 200",
             (long long)(T0 + (int64_t)committed * MIN_US));
    assert_int_equal(sql_int(fx->path, sql), committed + 1);
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM intervals i WHERE (SELECT count(*)"
                                       " FROM query_stats WHERE interval_id = i.id) <> 200"),
                     0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * Not a timed test: prints, as TAP comments, the time to write a sample
 * with 5,000 queries (the first, with new texts, and the median of the
 * next ones) and the bytes the store grows per such interval.
 */
static void writes_5000_queries(void **state)
{
    struct fixture *fx = *state;
    struct store *st = open_ok(fx->path);
    enum { ROUNDS = 11 };
    double ms[ROUNDS];
    int64_t size1 = 0;
    for (int n = 0; n < ROUNDS; n++) {
        struct sample s;
        make_sample(&s, n, 5000, n);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        write_ok(st, &s);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ms[n] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        sample_release(&s);
        if (n == 0)
            size1 = sql_int(fx->path, "SELECT page_count * page_size FROM pragma_page_count,"
                                      " pragma_page_size");
    }
    store_close(st);
    int64_t size = sql_int(fx->path, "SELECT page_count * page_size FROM pragma_page_count,"
                                     " pragma_page_size");
    double first = ms[0];
    qsort(ms + 1, ROUNDS - 1, sizeof(double), cmp_double);
    printf("# store: 5000-query sample written in %.1f ms (first, new texts), %.1f ms median"
           " after; %.0f bytes per interval after the first\n",
           first, ms[ROUNDS / 2], (double)(size - size1) / (ROUNDS - 1));
    assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM query_stats"), 5000 * ROUNDS);
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(samples_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(range_selects_overlapping_intervals, setup, teardown),
        cmocka_unit_test_setup_teardown(text_stored_once_per_fingerprint, setup, teardown),
        cmocka_unit_test_setup_teardown(migrates_empty_file_and_reopens, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_future_version, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_damaged_store_unless_forced, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_foreign_database_and_bad_path, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_deletes_old_without_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(downsampling_sums_deltas_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(alerts_fire_update_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_and_wait_object_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(incidents_open_update_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(migrates_v1_store_to_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(sessions_are_bounded_to_the_notable, setup, teardown),
        cmocka_unit_test_setup_teardown(sigkill_keeps_committed_intervals, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_5000_queries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
