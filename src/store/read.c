/*
 * Reading the history store back: each stored interval rebuilt as the
 * struct sample the watcher wrote (a downsampled hour as one sample
 * spanning the hour), and the alerts that were firing in a range. This is
 * how `report --store` and `analyze --store` feed stored history to the
 * same detectors and renderers as live samples and logs.
 */
#include "store/store.h"

#include "store/internal.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Rows collected in a malloc'd array, moved into the sample's arena when complete. */
struct rows {
    void *ptr;
    size_t n, cap, size;
};

static void *rows_add(struct rows *r)
{
    r->ptr = xgrow(r->ptr, &r->cap, r->n + 1, r->size);
    return (char *)r->ptr + r->n++ * r->size;
}

static void *rows_move(struct rows *r, struct sample *smp, int *count)
{
    void *out = NULL;
    if (r->n) {
        out = arena_alloc(&smp->arena, r->n * r->size);
        memcpy(out, r->ptr, r->n * r->size);
    }
    *count = (int)r->n;
    free(r->ptr);
    *r = (struct rows){ .size = r->size };
    return out;
}

/* Steps st bound to interval id; calls row for each row. */
static int each_row(struct store *s, enum store_stmt id_stmt, int64_t id,
                    void (*row)(struct sample *smp, sqlite3_stmt *st, struct rows *out),
                    struct sample *smp, struct rows *out, struct err *err)
{
    sqlite3_stmt *st = store_stmt(s, id_stmt, err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        row(smp, st, out);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, err, "cannot read store");
    return 0;
}

static const char *col_dup(struct sample *smp, sqlite3_stmt *st, int i)
{
    return sample_strdup(smp, store_col_str(st, i));
}

static void query_row(struct sample *smp, sqlite3_stmt *st, struct rows *out)
{
    struct sample_query *q = rows_add(out);
    q->fingerprint = (uint64_t)sqlite3_column_int64(st, 0);
    q->queryid = sqlite3_column_int64(st, 1);
    q->query = col_dup(smp, st, 2);
    q->db = col_dup(smp, st, 3);
    q->user = col_dup(smp, st, 4);
    q->calls = sqlite3_column_int64(st, 5);
    q->total_ms = sqlite3_column_double(st, 6);
    q->rows = sqlite3_column_int64(st, 7);
    q->blks_hit = sqlite3_column_int64(st, 8);
    q->blks_read = sqlite3_column_int64(st, 9);
    q->blks_dirtied = sqlite3_column_int64(st, 10);
    q->temp_blks = sqlite3_column_int64(st, 11);
    q->wal_bytes = sqlite3_column_int64(st, 12);
    q->is_new = sqlite3_column_int(st, 13) != 0;
}

static void table_row(struct sample *smp, sqlite3_stmt *st, struct rows *out)
{
    struct sample_table *t = rows_add(out);
    t->schema = col_dup(smp, st, 0);
    t->name = col_dup(smp, st, 1);
    int64_t *v[] = { &t->seq_scan,   &t->seq_tup_read, &t->idx_scan,      &t->idx_tup_fetch,
                     &t->n_tup_ins,  &t->n_tup_upd,    &t->n_tup_hot_upd, &t->n_tup_del,
                     &t->n_live_tup, &t->n_dead_tup,   &t->bytes };
    for (int c = 0; c < (int)ARRAY_SIZE(v); c++)
        *v[c] = sqlite3_column_int64(st, c + 2);
}

static void index_row(struct sample *smp, sqlite3_stmt *st, struct rows *out)
{
    struct sample_index *x = rows_add(out);
    x->schema = col_dup(smp, st, 0);
    x->table = col_dup(smp, st, 1);
    x->name = col_dup(smp, st, 2);
    x->def = col_dup(smp, st, 3);
    x->idx_scan = sqlite3_column_int64(st, 4);
    x->bytes = sqlite3_column_int64(st, 5);
    x->unique = sqlite3_column_int(st, 6) != 0;
    x->primary = sqlite3_column_int(st, 7) != 0;
    x->valid = sqlite3_column_int(st, 8) != 0;
}

static void session_row(struct sample *smp, sqlite3_stmt *st, struct rows *out)
{
    struct sample_session *ss = rows_add(out);
    ss->pid = sqlite3_column_int(st, 0);
    ss->user = col_dup(smp, st, 1);
    ss->db = col_dup(smp, st, 2);
    ss->app = col_dup(smp, st, 3);
    ss->client = col_dup(smp, st, 4);
    ss->state = col_dup(smp, st, 5);
    ss->wait_event_type = col_dup(smp, st, 6);
    ss->wait_event = col_dup(smp, st, 7);
    ss->query = col_dup(smp, st, 8);
    ss->query_age_s = sqlite3_column_double(st, 9);
    ss->xact_age_s = sqlite3_column_double(st, 10);
    ss->state_age_s = sqlite3_column_double(st, 11);
    ss->wait_object = col_dup(smp, st, 13);
    /* blocked_by is "pid,pid,...": one more than the commas. */
    const char *b = store_col_str(st, 12);
    ss->nblocked_by = 0;
    ss->blocked_by = NULL;
    if (!*b)
        return;
    int n = 1;
    for (const char *p = b; *p; p++)
        n += *p == ',';
    ss->blocked_by = arena_alloc(&smp->arena, (size_t)n * sizeof(int));
    char *end;
    for (const char *p = b; ss->nblocked_by < n; p = end + (*end == ',')) {
        ss->blocked_by[ss->nblocked_by++] = (int)strtol(p, &end, 10);
        if (end == p)
            break;
    }
}

static void count_row(struct sample *smp, sqlite3_stmt *st, struct rows *out)
{
    /* out is an array of three: by_app, by_user, by_client. */
    int kind = sqlite3_column_int(st, 0);
    if (kind < COUNT_APP || kind > COUNT_CLIENT)
        return;
    struct sample_count *c = rows_add(&out[kind]);
    c->name = col_dup(smp, st, 1);
    c->count = sqlite3_column_int(st, 2);
}

static void pool_row(struct sample *smp, sqlite3_stmt *st, struct rows *out)
{
    struct sample_pool *p = rows_add(out);
    p->db = col_dup(smp, st, 0);
    p->user = col_dup(smp, st, 1);
    p->cl_active = sqlite3_column_int(st, 2);
    p->cl_waiting = sqlite3_column_int(st, 3);
    p->sv_active = sqlite3_column_int(st, 4);
    p->sv_idle = sqlite3_column_int(st, 5);
    p->sv_used = sqlite3_column_int(st, 6);
    p->maxwait_s = sqlite3_column_double(st, 7);
}

static enum sample_change_kind change_kind_of(const char *name)
{
    for (int k = 0; k < CHANGE__COUNT; k++)
        if (strcmp(sample_change_kind_name((enum sample_change_kind)k), name) == 0)
            return (enum sample_change_kind)k;
    return CHANGE_DDL;
}

static void change_row(struct sample *smp, sqlite3_stmt *st, struct rows *out)
{
    struct sample_change *c = rows_add(out);
    c->kind = change_kind_of(store_col_str(st, 0));
    c->ts_us = sqlite3_column_int64(st, 1);
    c->object = col_dup(smp, st, 2);
    c->table = col_dup(smp, st, 3);
    c->detail = col_dup(smp, st, 4);
    c->statement = col_dup(smp, st, 5);
    c->app = col_dup(smp, st, 6);
    c->user = col_dup(smp, st, 7);
    c->pid = sqlite3_column_int(st, 8);
}

static void problem_row(struct sample *smp, sqlite3_stmt *st, struct rows *out)
{
    struct sample_problem *p = rows_add(out);
    p->check = col_dup(smp, st, 0);
    p->message = col_dup(smp, st, 1);
    p->hint = col_dup(smp, st, 2);
}

/* Fills smp's lists from the child tables of interval id. */
static int read_children(struct store *s, int64_t id, struct sample *smp, struct err *err)
{
    struct rows r = { .size = sizeof(struct sample_query) };
    if (each_row(s, ST_QSTAT_SELECT, id, query_row, smp, &r, err) < 0)
        goto fail;
    smp->queries = rows_move(&r, smp, &smp->nqueries);
    r.size = sizeof(struct sample_table);
    if (each_row(s, ST_TSTAT_SELECT, id, table_row, smp, &r, err) < 0)
        goto fail;
    smp->tables = rows_move(&r, smp, &smp->ntables);
    r.size = sizeof(struct sample_index);
    if (each_row(s, ST_ISTAT_SELECT, id, index_row, smp, &r, err) < 0)
        goto fail;
    smp->indexes = rows_move(&r, smp, &smp->nindexes);
    r.size = sizeof(struct sample_session);
    if (each_row(s, ST_SESSION_SELECT, id, session_row, smp, &r, err) < 0)
        goto fail;
    smp->sessions = rows_move(&r, smp, &smp->nsessions);
    r.size = sizeof(struct sample_pool);
    if (each_row(s, ST_POOL_SELECT, id, pool_row, smp, &r, err) < 0)
        goto fail;
    smp->pools = rows_move(&r, smp, &smp->npools);
    r.size = sizeof(struct sample_problem);
    if (each_row(s, ST_PROBLEM_SELECT, id, problem_row, smp, &r, err) < 0)
        goto fail;
    smp->problems = rows_move(&r, smp, &smp->nproblems);
    r.size = sizeof(struct sample_change);
    if (each_row(s, ST_CHANGE_SELECT, id, change_row, smp, &r, err) < 0)
        goto fail;
    smp->changes = rows_move(&r, smp, &smp->nchanges);
    struct rows c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (struct rows){ .size = sizeof(struct sample_count) };
    int rc = each_row(s, ST_COUNT_SELECT, id, count_row, smp, c, err);
    smp->by_app = rows_move(&c[COUNT_APP], smp, &smp->nby_app);
    smp->by_user = rows_move(&c[COUNT_USER], smp, &smp->nby_user);
    smp->by_client = rows_move(&c[COUNT_CLIENT], smp, &smp->nby_client);
    return rc;
fail:
    free(r.ptr);
    return -1;
}

int store_read_samples(struct store *s, int64_t since_us, int64_t until_us, store_sample_fn *fn,
                       void *ctx, struct err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_INTERVAL_SELECT, err);
    if (!st)
        return -1;
    /* One read transaction: the watcher may commit meanwhile, we see one snapshot. */
    if (store_exec(s, "BEGIN", err, "cannot read store") < 0)
        return -1;
    sqlite3_bind_int64(st, 1, since_us);
    sqlite3_bind_int64(st, 2, until_us);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sample smp;
        sample_init(&smp);
        int64_t id = sqlite3_column_int64(st, 0);
        smp.start_us = sqlite3_column_int64(st, 1);
        smp.end_us = sqlite3_column_int64(st, 2);
        smp.pgb_wait_ms = sqlite3_column_double(st, 3);
        int i = 4;
#define X(col, field, agg) smp.field = sqlite3_column_int64(st, i++);
        STORE_INTERVAL_COLS(X)
#undef X
        if (read_children(s, id, &smp, err) < 0) {
            sample_release(&smp);
            sqlite3_reset(st);
            store_rollback(s);
            return -1;
        }
        fn(ctx, &smp);
        sample_release(&smp);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_fail(s, err, "cannot read store");
        store_rollback(s);
        return -1;
    }
    return store_exec(s, "COMMIT", err, "cannot read store");
}

static char *col_opt(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static double col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* A copy of unit that lives until store_close (finding.unit is never freed). */
static const char *intern_unit(struct store *s, const char *unit)
{
    if (!unit)
        return NULL;
    for (size_t i = 0; i < s->nunits; i++)
        if (!strcmp(s->units[i], unit))
            return s->units[i];
    s->units = xgrow(s->units, &s->unitcap, s->nunits + 1, sizeof(*s->units));
    return s->units[s->nunits++] = xstrdup(unit);
}

/* The kind named name, or FK__COUNT for one this binary does not know. */
static enum finding_kind kind_of(const char *name)
{
    for (int k = 0; k < FK__COUNT; k++)
        if (!strcmp(finding_kind_name((enum finding_kind)k), name))
            return (enum finding_kind)k;
    return FK__COUNT;
}

int store_read_alerts(struct store *s, int64_t since_us, int64_t until_us, store_alert_fn *fn,
                      void *ctx, struct err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_ALERT_SELECT, err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, since_us);
    sqlite3_bind_int64(st, 2, until_us);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* A kind written by a newer sleuth on the same schema: skipped, not mislabelled. */
        if (kind_of(store_col_str(st, 2)) == FK__COUNT)
            continue;
        struct alert a = { 0 };
        a.id = (uint64_t)sqlite3_column_int64(st, 0);
        a.since_us = sqlite3_column_int64(st, 1);
        a.f.kind = kind_of(store_col_str(st, 2));
        a.f.key = col_opt(st, 3);
        a.f.severity =
            strcmp(store_col_str(st, 4), "critical") ? FINDING_WARNING : FINDING_CRITICAL;
        a.updated_us = sqlite3_column_int64(st, 5);
        a.resolved_us = sqlite3_column_int64(st, 6);
        a.f.value = col_num(st, 7);
        a.f.baseline = col_num(st, 8);
        a.f.threshold = col_num(st, 9);
        a.f.unit = intern_unit(s, (const char *)sqlite3_column_text(st, 10));
        a.peak = col_num(st, 11);
        a.f.summary = col_opt(st, 12);
        a.f.next = col_opt(st, 13);
        a.f.fingerprint = (uint64_t)sqlite3_column_int64(st, 14);
        a.f.query = col_opt(st, 15);
        a.f.table = col_opt(st, 16);
        a.f.pid = sqlite3_column_int(st, 17);
        fn(ctx, &a);
        finding_release(&a.f);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, err, "cannot read store");
    return 0;
}

int store_read_incidents(struct store *s, int64_t since_us, int64_t until_us, store_incident_fn *fn,
                         void *ctx, struct err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_INCIDENT_SELECT, err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, since_us);
    sqlite3_bind_int64(st, 2, until_us);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *doc = json_loads(store_col_str(st, 0), 0, NULL);
        struct incident inc;
        /* A document this binary cannot read is skipped, not guessed at. */
        if (incident_from_json(&inc, doc) == 0)
            fn(ctx, &inc);
        incident_release(&inc);
        json_decref(doc);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, err, "cannot read store");
    return 0;
}
