/*
 * Writing to the history store: one struct sample per interval, in one
 * transaction, and alert changes. The watcher calls these after each poll
 * and after the alert book has spoken; everything else in the store
 * (reading, retention) sees only whole intervals because of that single
 * transaction.
 */
#include "store/store.h"

#include "store/internal.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/banned.h"

struct rel_lookup {
    const struct store *s;
    const char *key;
    size_t keylen;
};

static bool rel_eq(const void *ctx, uint32_t val)
{
    const struct rel_lookup *l = ctx;
    const struct store_rel *r = &l->s->rels[val];
    return r->keylen == l->keylen && memcmp(r->key, l->key, l->keylen) == 0;
}

/*
 * The relations.id of a table or index, interned on first sight. The cache
 * saves a statement per table per interval; an index whose definition or
 * flags changed is written again.
 */
static int rel_id(struct store *s, enum store_rel_kind kind, const char *schema, const char *tbl,
                  const char *name, const struct sample_index *ix, int64_t *id, struct err *err)
{
    struct buf key = BUF_INIT;
    buf_addch(&key, (char)('0' + kind));
    buf_add(&key, schema ? schema : "", strlen(schema ? schema : "") + 1);
    buf_add(&key, tbl ? tbl : "", strlen(tbl ? tbl : "") + 1);
    buf_addstr(&key, name ? name : "");
    uint64_t hash = XXH3_64bits(key.ptr, key.len);
    uint64_t attr = 0;
    if (ix) {
        attr = XXH3_64bits(ix->def ? ix->def : "", strlen(ix->def ? ix->def : ""));
        attr ^= (uint64_t)ix->unique << 1 | (uint64_t)ix->primary << 2;
    }
    struct rel_lookup l = { s, key.ptr, key.len };
    uint32_t at;
    bool cached = hmap_get(&s->rel_index, hash, rel_eq, &l, &at);
    if (cached && s->rels[at].attr == attr) {
        *id = s->rels[at].id;
        buf_release(&key);
        return 0;
    }
    sqlite3_stmt *st = store_stmt(s, ST_REL_UPSERT, err);
    if (!st)
        goto fail;
    sqlite3_bind_int(st, 1, kind);
    store_bind_str(st, 2, schema);
    store_bind_str(st, 3, tbl);
    store_bind_str(st, 4, name);
    store_bind_str(st, 5, ix ? ix->def : "");
    sqlite3_bind_int(st, 6, ix && ix->unique);
    sqlite3_bind_int(st, 7, ix && ix->primary);
    if (sqlite3_step(st) != SQLITE_ROW) {
        store_fail(s, err, "cannot write interval to store");
        sqlite3_reset(st);
        goto fail;
    }
    *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (!cached) {
        s->rels = xgrow(s->rels, &s->relcap, s->nrels + 1, sizeof(*s->rels));
        at = (uint32_t)s->nrels++;
        s->rels[at].key = buf_detach(&key, &s->rels[at].keylen);
        hmap_put(&s->rel_index, hash, at);
    }
    s->rels[at].attr = attr;
    s->rels[at].id = *id;
    buf_release(&key);
    return 0;
fail:
    buf_release(&key);
    return -1;
}

static int write_interval(struct store *s, const struct sample *smp, int64_t *id, struct err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_INTERVAL_INSERT, err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, smp->start_us);
    sqlite3_bind_int64(st, 2, smp->end_us);
    sqlite3_bind_int(st, 3, sample_usable_connections(smp));
    sqlite3_bind_double(st, 4, smp->pgb_wait_ms);
    int i = 5;
#define X(col, field, agg) sqlite3_bind_int64(st, i++, (int64_t)smp->field);
    STORE_INTERVAL_COLS(X)
#undef X
    if (store_run(s, st, err, "cannot write interval to store") < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static uint64_t query_attr(const struct sample_query *q)
{
    uint64_t h = XXH3_64bits(&q->queryid, sizeof(q->queryid));
    h = XXH3_64bits_withSeed(q->db ? q->db : "", strlen(q->db ? q->db : ""), h);
    return XXH3_64bits_withSeed(q->user ? q->user : "", strlen(q->user ? q->user : ""), h);
}

/*
 * Whether the queries row of q needs writing: a new text, a changed
 * queryid, db or user, a first_seen_us to move back, or a last_seen_us
 * older than the slack. Updates the cache as if the write succeeds (a
 * rollback empties the cache).
 */
static bool query_needs_write(struct store *s, const struct sample *smp,
                              const struct sample_query *q)
{
    uint64_t attr = query_attr(q);
    uint32_t at;
    struct store_query *e = NULL;
    /* hmap_mix64 is a bijection: the hash alone identifies the fingerprint. */
    if (hmap_get(&s->query_index, hmap_mix64(q->fingerprint), NULL, NULL, &at))
        e = &s->queries[at];
    if (e && e->attr == attr && smp->start_us >= e->first_seen_us &&
        smp->end_us - e->last_seen_us < STORE_LAST_SEEN_SLACK_US)
        return false;
    if (!e) {
        if (s->nqueries >= UINT32_MAX / 2)
            store_forget_cache(s);
        s->queries = xgrow(s->queries, &s->querycap, s->nqueries + 1, sizeof(*s->queries));
        e = &s->queries[s->nqueries];
        *e = (struct store_query){ q->fingerprint, 0, smp->start_us, smp->end_us };
        hmap_put(&s->query_index, hmap_mix64(q->fingerprint), (uint32_t)s->nqueries++);
    }
    e->attr = attr;
    e->first_seen_us = smp->start_us < e->first_seen_us ? smp->start_us : e->first_seen_us;
    e->last_seen_us = smp->end_us > e->last_seen_us ? smp->end_us : e->last_seen_us;
    return true;
}

static int write_queries(struct store *s, const struct sample *smp, int64_t id, struct err *err)
{
    sqlite3_stmt *up = store_stmt(s, ST_QUERY_UPSERT, err);
    sqlite3_stmt *ins = up ? store_stmt(s, ST_QSTAT_INSERT, err) : NULL;
    if (!ins)
        return -1;
    for (int i = 0; i < smp->nqueries; i++) {
        const struct sample_query *q = &smp->queries[i];
        int64_t fp = (int64_t)q->fingerprint;
        if (query_needs_write(s, smp, q)) {
            sqlite3_bind_int64(up, 1, fp);
            sqlite3_bind_int64(up, 2, q->queryid);
            store_bind_str(up, 3, q->query);
            store_bind_str(up, 4, q->db);
            store_bind_str(up, 5, q->user);
            sqlite3_bind_int64(up, 6, smp->start_us);
            sqlite3_bind_int64(up, 7, smp->end_us);
            if (store_run(s, up, err, "cannot write interval to store") < 0)
                return -1;
        }
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, fp);
        sqlite3_bind_int64(ins, 3, q->calls);
        sqlite3_bind_double(ins, 4, q->total_ms);
        sqlite3_bind_int64(ins, 5, q->rows);
        sqlite3_bind_int64(ins, 6, q->blks_hit);
        sqlite3_bind_int64(ins, 7, q->blks_read);
        sqlite3_bind_int64(ins, 8, q->blks_dirtied);
        sqlite3_bind_int64(ins, 9, q->temp_blks);
        sqlite3_bind_int64(ins, 10, q->wal_bytes);
        sqlite3_bind_int(ins, 11, q->is_new);
        if (store_run(s, ins, err, "cannot write interval to store") < 0)
            return -1;
    }
    return 0;
}

static int write_tables(struct store *s, const struct sample *smp, int64_t id, struct err *err)
{
    for (int i = 0; i < smp->ntables; i++) {
        const struct sample_table *t = &smp->tables[i];
        int64_t rel;
        if (rel_id(s, REL_TABLE, t->schema, "", t->name, NULL, &rel, err) < 0)
            return -1;
        sqlite3_stmt *st = store_stmt(s, ST_TSTAT_INSERT, err);
        if (!st)
            return -1;
        int64_t v[] = { id,
                        i,
                        rel,
                        t->seq_scan,
                        t->seq_tup_read,
                        t->idx_scan,
                        t->idx_tup_fetch,
                        t->n_tup_ins,
                        t->n_tup_upd,
                        t->n_tup_hot_upd,
                        t->n_tup_del,
                        t->n_live_tup,
                        t->n_dead_tup,
                        t->bytes };
        for (int c = 0; c < (int)ARRAY_SIZE(v); c++)
            sqlite3_bind_int64(st, c + 1, v[c]);
        if (store_run(s, st, err, "cannot write interval to store") < 0)
            return -1;
    }
    for (int i = 0; i < smp->nindexes; i++) {
        const struct sample_index *x = &smp->indexes[i];
        int64_t rel;
        if (rel_id(s, REL_INDEX, x->schema, x->table, x->name, x, &rel, err) < 0)
            return -1;
        sqlite3_stmt *st = store_stmt(s, ST_ISTAT_INSERT, err);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_int64(st, 3, rel);
        sqlite3_bind_int64(st, 4, x->idx_scan);
        sqlite3_bind_int64(st, 5, x->bytes);
        sqlite3_bind_int(st, 6, x->valid);
        if (store_run(s, st, err, "cannot write interval to store") < 0)
            return -1;
    }
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* How much a session is worth keeping: blockers, then waiters, then idle in transaction. */
static double session_score(const struct sample_session *ss, const int *blockers, size_t nblockers)
{
    double tier = 0;
    if (nblockers && bsearch(&ss->pid, blockers, nblockers, sizeof(int), cmp_int))
        tier = 3;
    else if (ss->nblocked_by > 0 || (ss->wait_event_type && !strcmp(ss->wait_event_type, "Lock")))
        tier = 2;
    else if (ss->state && !strcmp(ss->state, "idle in transaction"))
        tier = 1;
    double age = fmax(ss->query_age_s, ss->xact_age_s);
    /* Ages are far below 1e9 s: the tier always dominates. */
    return tier * 1e9 + fmax(age, 0);
}

struct ranked {
    int index;
    double score;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return cmp_int(&x->index, &y->index);
}

static int cmp_ranked_index(const void *a, const void *b)
{
    return cmp_int(&((const struct ranked *)a)->index, &((const struct ranked *)b)->index);
}

static int write_session(struct store *s, sqlite3_stmt *st, int64_t id, int seq,
                         const struct sample_session *ss, struct err *err)
{
    struct buf blocked = BUF_INIT;
    for (int b = 0; b < ss->nblocked_by; b++)
        buf_addf(&blocked, "%s%d", b ? "," : "", ss->blocked_by[b]);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, seq);
    sqlite3_bind_int(st, 3, ss->pid);
    store_bind_str(st, 4, ss->user);
    store_bind_str(st, 5, ss->db);
    store_bind_str(st, 6, ss->app);
    store_bind_str(st, 7, ss->client);
    store_bind_str(st, 8, ss->state);
    store_bind_str(st, 9, ss->wait_event_type);
    store_bind_str(st, 10, ss->wait_event);
    store_bind_str(st, 11, ss->query);
    sqlite3_bind_double(st, 12, ss->query_age_s);
    sqlite3_bind_double(st, 13, ss->xact_age_s);
    sqlite3_bind_double(st, 14, ss->state_age_s);
    store_bind_str(st, 15, blocked.ptr);
    store_bind_str(st, 16, ss->wait_object);
    int rc = store_run(s, st, err, "cannot write interval to store");
    buf_release(&blocked);
    return rc;
}

/* The STORE_MAX_SESSIONS most notable sessions, in their original order. */
static int write_sessions(struct store *s, const struct sample *smp, int64_t id, struct err *err)
{
    if (smp->nsessions <= 0)
        return 0;
    size_t nblockers = 0, cap = 0;
    int *blockers = NULL;
    for (int i = 0; i < smp->nsessions; i++)
        for (int b = 0; b < smp->sessions[i].nblocked_by; b++) {
            blockers = xgrow(blockers, &cap, nblockers + 1, sizeof(*blockers));
            blockers[nblockers++] = smp->sessions[i].blocked_by[b];
        }
    if (nblockers)
        qsort(blockers, nblockers, sizeof(*blockers), cmp_int);
    struct ranked *r = xmalloc((size_t)smp->nsessions * sizeof(*r));
    for (int i = 0; i < smp->nsessions; i++)
        r[i] = (struct ranked){ i, session_score(&smp->sessions[i], blockers, nblockers) };
    int keep = smp->nsessions;
    if (keep > STORE_MAX_SESSIONS) {
        qsort(r, (size_t)keep, sizeof(*r), cmp_ranked);
        keep = STORE_MAX_SESSIONS;
        qsort(r, (size_t)keep, sizeof(*r), cmp_ranked_index);
    }
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_INSERT, err);
    for (int k = 0; k < keep && rc == 0; k++)
        rc = st ? write_session(s, st, id, k, &smp->sessions[r[k].index], err) : -1;
    free(r);
    free(blockers);
    return rc;
}

static int write_extras(struct store *s, const struct sample *smp, int64_t id, struct err *err)
{
    const struct sample_count *lists[] = { smp->by_app, smp->by_user, smp->by_client };
    const int counts[] = { smp->nby_app, smp->nby_user, smp->nby_client };
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < counts[k]; i++) {
            sqlite3_stmt *st = store_stmt(s, ST_COUNT_INSERT, err);
            if (!st)
                return -1;
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int(st, 2, k);
            sqlite3_bind_int(st, 3, i);
            store_bind_str(st, 4, lists[k][i].name);
            sqlite3_bind_int(st, 5, lists[k][i].count);
            if (store_run(s, st, err, "cannot write interval to store") < 0)
                return -1;
        }
    for (int i = 0; i < smp->npools; i++) {
        const struct sample_pool *p = &smp->pools[i];
        sqlite3_stmt *st = store_stmt(s, ST_POOL_INSERT, err);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, i);
        store_bind_str(st, 3, p->db);
        store_bind_str(st, 4, p->user);
        sqlite3_bind_int(st, 5, p->cl_active);
        sqlite3_bind_int(st, 6, p->cl_waiting);
        sqlite3_bind_int(st, 7, p->sv_active);
        sqlite3_bind_int(st, 8, p->sv_idle);
        sqlite3_bind_int(st, 9, p->sv_used);
        sqlite3_bind_double(st, 10, p->maxwait_s);
        if (store_run(s, st, err, "cannot write interval to store") < 0)
            return -1;
    }
    for (int i = 0; i < smp->nproblems; i++) {
        const struct sample_problem *p = &smp->problems[i];
        sqlite3_stmt *st = store_stmt(s, ST_PROBLEM_INSERT, err);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, i);
        store_bind_str(st, 3, p->check);
        store_bind_str(st, 4, p->message);
        store_bind_str(st, 5, p->hint);
        if (store_run(s, st, err, "cannot write interval to store") < 0)
            return -1;
    }
    for (int i = 0; i < smp->nchanges; i++) {
        const struct sample_change *c = &smp->changes[i];
        sqlite3_stmt *st = store_stmt(s, ST_CHANGE_INSERT, err);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, i);
        store_bind_str(st, 3, sample_change_kind_name(c->kind));
        sqlite3_bind_int64(st, 4, c->ts_us);
        store_bind_str(st, 5, c->object);
        store_bind_str(st, 6, c->table);
        store_bind_str(st, 7, c->detail);
        store_bind_str(st, 8, c->statement);
        store_bind_str(st, 9, c->app);
        store_bind_str(st, 10, c->user);
        sqlite3_bind_int(st, 11, c->pid);
        if (store_run(s, st, err, "cannot write interval to store") < 0)
            return -1;
    }
    return 0;
}

int store_write_sample(struct store *s, const struct sample *smp, struct err *err)
{
    sqlite3_stmt *begin = store_stmt(s, ST_BEGIN, err);
    if (!begin || store_run(s, begin, err, "cannot write interval to store") < 0)
        return -1;
    int64_t id;
    if (write_interval(s, smp, &id, err) < 0 || write_queries(s, smp, id, err) < 0 ||
        write_tables(s, smp, id, err) < 0 || write_sessions(s, smp, id, err) < 0 ||
        write_extras(s, smp, id, err) < 0)
        goto fail;
    sqlite3_stmt *commit = store_stmt(s, ST_COMMIT, err);
    if (!commit || store_run(s, commit, err, "cannot write interval to store") < 0)
        goto fail;
    return 0;
fail:
    store_rollback(s);
    /* Relations and texts written in the rolled-back transaction are gone. */
    store_forget_cache(s);
    return -1;
}

/* NaN (no baseline) is stored as NULL. */
static void bind_num(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

int store_write_alert(struct store *s, enum alert_change change, const struct alert *a,
                      struct err *err)
{
    const struct finding *f = &a->f;
    sqlite3_stmt *begin = store_stmt(s, ST_BEGIN, err);
    if (!begin || store_run(s, begin, err, "cannot write alert to store") < 0)
        return -1;
    sqlite3_stmt *st = store_stmt(s, ST_ALERT_UPSERT, err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, (int64_t)a->id);
    sqlite3_bind_int64(st, 2, a->since_us);
    store_bind_str(st, 3, finding_kind_name(f->kind));
    store_bind_opt(st, 4, f->key);
    store_bind_str(st, 5, finding_severity_name(f->severity));
    sqlite3_bind_int64(st, 6, a->updated_us);
    sqlite3_bind_int64(st, 7, a->resolved_us);
    bind_num(st, 8, f->value);
    bind_num(st, 9, f->baseline);
    bind_num(st, 10, f->threshold);
    store_bind_opt(st, 11, f->unit);
    bind_num(st, 12, a->peak);
    store_bind_opt(st, 13, f->summary);
    store_bind_opt(st, 14, f->next);
    sqlite3_bind_int64(st, 15, (int64_t)f->fingerprint);
    store_bind_opt(st, 16, f->query);
    store_bind_opt(st, 17, f->table);
    sqlite3_bind_int(st, 18, f->pid);
    if (store_run(s, st, err, "cannot write alert to store") < 0)
        goto fail;
    st = store_stmt(s, ST_EVENT_INSERT, err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, (int64_t)a->id);
    sqlite3_bind_int64(st, 2, a->since_us);
    sqlite3_bind_int64(st, 3, change == ALERT_RESOLVED ? a->resolved_us : a->updated_us);
    store_bind_str(st, 4, alert_change_name(change));
    store_bind_str(st, 5, finding_severity_name(f->severity));
    bind_num(st, 6, f->value);
    if (store_run(s, st, err, "cannot write alert to store") < 0)
        goto fail;
    sqlite3_stmt *commit = store_stmt(s, ST_COMMIT, err);
    if (!commit || store_run(s, commit, err, "cannot write alert to store") < 0)
        goto fail;
    return 0;
fail:
    store_rollback(s);
    return -1;
}

int store_write_incident(struct store *s, const struct incident *inc, struct err *err)
{
    json_t *j = incident_json(inc);
    char *doc = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!doc)
        return err_set(err, ERR_IO, "cannot serialise incident %d", inc->seq);
    int rc = -1;
    sqlite3_stmt *st = store_stmt(s, ST_INCIDENT_UPSERT, err);
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)inc->id);
        sqlite3_bind_int(st, 2, inc->seq);
        store_bind_str(st, 3, inc->state == INCIDENT_OPEN ? "open" : "resolved");
        store_bind_str(st, 4, inc->critical ? "critical" : "warning");
        sqlite3_bind_int64(st, 5, inc->onset_us);
        sqlite3_bind_int64(st, 6, inc->detected_us);
        sqlite3_bind_int64(st, 7, inc->end_us);
        sqlite3_bind_int64(st, 8, inc->updated_us);
        store_bind_str(st, 9, inc->ncauses ? cause_kind_name(inc->causes[0].kind) : "");
        store_bind_str(st, 10, doc);
        rc = store_run(s, st, err, "cannot write incident to store");
    }
    free(doc);
    return rc;
}
