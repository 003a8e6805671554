/*
 * From the findings of an incident to its causes. Each finding seen in
 * the incident's stretch proposes causes:
 *
 *   hot_ratio_drop, index_on_updated_columns  -> hot_index (the index that
 *                                               covers an UPDATE's SET column)
 *   connection_saturation / refused           -> pool_exhaustion (the
 *                                               sessions that held them)
 *   call_surge (+ new queries, a new app)      -> deploy_surge
 *   rows_per_call                             -> redundant_fetch
 *   latency_regression / seq_scan_growth /
 *   new_heavy_query on a query whose filter
 *   no index leads with                       -> missing_index
 *   latency_regression with more work a call  -> plan_regression
 *   latency_regression otherwise              -> query_regression
 *   blocking, lock waits, deadlocks           -> lock_contention (the
 *                                               blocked table, the blocker)
 *
 * and the server's own findings (database_load, connection_rate, a
 * latency regression of many queries at once) are judged on the whole
 * mix: the same mix with more calls or connections is a traffic_surge;
 * every query slower for the same work, with no more calls, is
 * resource_saturation. Then a cause that explains another's symptoms
 * outranks it (a blocked table slows every query on it; a saturated
 * machine slows them all), and the list is ranked by score: the rule's
 * strength plus the share of the incident's database time the named
 * query took.
 */
#include "diagnose/internal.h"

#include "sql/fingerprint.h"
#include "sql/indexdef.h"
#include "util/jsonstr.h"
#include "util/xalloc.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct cause *diag_new_cause(struct diag_ctx *x, enum cause_kind kind, double score,
                             const struct devent *e)
{
    struct incident *inc = x->inc;
    inc->causes = xrealloc(inc->causes, (inc->ncauses + 1) * sizeof(*inc->causes));
    struct cause *g = &inc->causes[inc->ncauses++];
    memset(g, 0, sizeof(*g));
    g->kind = kind;
    g->score = score;
    g->start_us = e ? e->start_us : x->onset_us;
    g->detected_us = e ? e->detected_us : x->inc->detected_us;
    g->evidence = json_object();
    return g;
}

void diag_add_column(struct cause *g, const char *col)
{
    for (size_t i = 0; i < g->ncolumns; i++)
        if (strcmp(g->columns[i], col) == 0)
            return;
    g->columns = xrealloc(g->columns, (g->ncolumns + 1) * sizeof(char *));
    g->columns[g->ncolumns++] = xstrdup(col);
}

/* Splits "a, b DESC, c" from sqlfacts_index_candidate into columns. */
static void add_columns_csv(struct cause *g, const char *csv)
{
    const char *p = csv;
    while (*p) {
        size_t len = strcspn(p, ",");
        char col[NAME_LEN];
        size_t k = 0;
        for (size_t i = 0; i < len && k + 1 < sizeof(col); i++)
            if (p[i] != ' ' || k > 0)
                col[k++] = p[i];
        col[k] = '\0';
        char *sp = strchr(col, ' '); /* "created_at DESC" -> created_at */
        if (sp)
            *sp = '\0';
        if (*col)
            diag_add_column(g, col);
        p += len;
        if (*p == ',')
            p++;
    }
}

static void set_query(struct diag_ctx *x, struct cause *g, uint64_t fp)
{
    g->fingerprint = fp;
    const char *t = diag_text_of(x->d, fp);
    free(g->query);
    g->query = t ? xstrdup(t) : NULL;
}

static double mean_ms(struct qsum q)
{
    return q.calls ? q.ms / (double)q.calls : 0;
}

/* --- hot_index ------------------------------------------------------------------ */

static void cause_hot_index(struct diag_ctx *x, const struct devent *e, const char *table,
                            uint64_t upd_fp)
{
    struct diagnoser *d = x->d;
    if (!upd_fp)
        upd_fp = diag_busiest_on_table(d, x->after, table, true);
    if (!upd_fp)
        upd_fp = diag_busiest_on_table(d, x->before, table, true);
    char sets[16][NAME_LEN];
    size_t nsets;
    const struct dindex *best = diag_set_index(d, table, upd_fp, sets, &nsets);
    struct cause *g = diag_new_cause(x, CAUSE_HOT_INDEX, best ? 0.95 : 0.6, e);
    g->table = xstrdup(table);
    if (upd_fp)
        set_query(x, g, upd_fp);
    if (best) {
        g->index = xstrdup(best->name);
        struct indexdef def;
        if (indexdef_parse(best->def, &def) == 0)
            for (size_t i = 0; i < def.ncols; i++)
                diag_add_column(g, def.cols[i]);
        if (best->first_us && best->first_us < g->start_us)
            g->start_us = best->first_us;
    } else {
        for (size_t k = 0; k < nsets; k++)
            diag_add_column(g, sets[k]);
    }
    int64_t seq0, upd0, hot0, seq1, upd1, hot1;
    diag_table_sums(x->before, table, &seq0, &upd0, &hot0);
    diag_table_sums(x->after, table, &seq1, &upd1, &hot1);
    json_t *b = json_object(), *a = json_object();
    json_object_set_new(b, "hot_update_pct",
                        jsonstr_num(upd0 ? 100.0 * (double)hot0 / (double)upd0 : NAN));
    json_object_set_new(a, "hot_update_pct",
                        jsonstr_num(upd1 ? 100.0 * (double)hot1 / (double)upd1 : NAN));
    /* No update counted at all: no table statistics (a log), not a table never updated. */
    bool counted = upd0 || upd1;
    json_object_set_new(b, "updates_per_s",
                        jsonstr_num(counted ? diag_rate((double)upd0, x->before) : NAN));
    json_object_set_new(a, "updates_per_s",
                        jsonstr_num(counted ? diag_rate((double)upd1, x->after) : NAN));
    if (upd_fp) {
        json_object_set_new(b, "update_query", diag_query_numbers(x->before, upd_fp));
        json_object_set_new(a, "update_query", diag_query_numbers(x->after, upd_fp));
    }
    json_object_set_new(g->evidence, "before", b);
    json_object_set_new(g->evidence, "after", a);
    if (best)
        json_object_set_new(g->evidence, "index_definition", jsonstr_new(best->def));
    if (best && nsets) {
        json_t *cols = json_array();
        for (size_t k = 0; k < nsets; k++)
            json_array_append_new(cols, jsonstr_new(sets[k]));
        json_object_set_new(g->evidence, "updated_columns", cols);
    }
    if (upd0 || upd1)
        g->summary = diag_fmt("updates on %s lost HOT (%.0f%% -> %.0f%%)%s%s", table,
                              upd0 ? 100.0 * (double)hot0 / (double)upd0 : 0.0,
                              upd1 ? 100.0 * (double)hot1 / (double)upd1 : 0.0,
                              best ? " since index " : "", best ? best->name : "");
    else /* a log: no table statistics, only the statements */
        g->summary = diag_fmt("index %s on %s covers a column that its frequent UPDATEs set: "
                              "every update now writes every index",
                              best ? best->name : "(unknown)", table);
    g->fix = best ? diag_fmt("drop index %s, or rebuild it without the columns UPDATEs write",
                             best->name)
                  : diag_fmt("find the index on %s that covers a column the UPDATE sets", table);
}

/* --- pool_exhaustion -------------------------------------------------------------- */

/* What PgBouncer showed in a window: clients turned away, waiting, and the transactions. */
struct pooler_view {
    int64_t refused, xacts;
    int waiting;
    double oldest_ms, wait_ms;
};

static struct pooler_view pooler_view(const struct window *w)
{
    struct pooler_view v = { 0 };
    for (size_t i = 0; i < w->n; i++) {
        const struct dpoint *p = w->p[i];
        v.refused += p->pool_refused;
        v.xacts += p->pool_xacts;
        v.wait_ms += p->pool_wait_ms;
        if (p->pool_waiting > v.waiting)
            v.waiting = p->pool_waiting;
        if (p->pool_oldest_ms > v.oldest_ms)
            v.oldest_ms = p->pool_oldest_ms;
    }
    return v;
}

/*
 * What PgBouncer showed: "PgBouncer turned 16 clients away, kept up to 13
 * waiting (the oldest 20.0 s) and made its clients wait 500 ms a
 * transaction for a server" (the parts it has).
 */
static char *pooler_phrase(const struct pooler_view *v)
{
    char parts[3][96];
    int n = 0;
    if (v->refused)
        snprintf(parts[n++], sizeof(parts[0]), "turned %lld client%s away", (long long)v->refused,
                 v->refused == 1 ? "" : "s");
    if (v->waiting)
        snprintf(parts[n++], sizeof(parts[0]), "kept up to %d waiting (the oldest %.1f s)",
                 v->waiting, v->oldest_ms / 1000);
    double per_xact = v->xacts ? v->wait_ms / (double)v->xacts : 0;
    if (per_xact >= 1 || !n)
        snprintf(parts[n++], sizeof(parts[0]),
                 "made its clients wait %.0f ms a transaction for a server", per_xact);
    struct buf b = BUF_INIT;
    buf_addstr(&b, "PgBouncer ");
    for (int i = 0; i < n; i++)
        buf_addf(&b, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ", parts[i]);
    return buf_detach(&b, NULL);
}

/* The pooler's part of the evidence; whether it saw clients wait or turned away. */
static bool pooler_evidence(struct diag_ctx *x, struct cause *g, struct pooler_view *during)
{
    struct pooler_view b = pooler_view(x->before);
    *during = pooler_view(x->after);
    if (!during->refused && !during->waiting && !(during->wait_ms > 0))
        return false;
    json_t *o = json_object();
    json_object_set_new(o, "clients_turned_away", json_integer((json_int_t)during->refused));
    json_object_set_new(o, "clients_waiting_max", json_integer(during->waiting));
    json_object_set_new(o, "oldest_wait_ms", jsonstr_num(during->oldest_ms));
    json_object_set_new(o, "wait_ms_per_transaction",
                        jsonstr_num(during->xacts ? during->wait_ms / (double)during->xacts : 0));
    json_object_set_new(o, "transactions_per_s_before",
                        jsonstr_num(diag_rate((double)b.xacts, x->before)));
    json_object_set_new(o, "transactions_per_s_during",
                        jsonstr_num(diag_rate((double)during->xacts, x->after)));
    json_object_set_new(g->evidence, "pgbouncer", o);
    return true;
}

static void cause_pool(struct diag_ctx *x, const struct devent *e)
{
    struct diagnoser *d = x->d;
    const struct dholder *top = NULL;
    int idle = 0;
    for (int i = 0; i < d->nholders; i++) {
        idle += d->holders[i].idle;
        if (!top || d->holders[i].count > top->count)
            top = &d->holders[i];
    }
    /* Idle holders are a leak (the strongest case); running ones may be slow queries. */
    double score = d->holders_total && idle * 2 >= d->holders_total ? 0.97 : 0.75;
    struct cause *g = diag_new_cause(x, CAUSE_POOL_EXHAUSTION, score, e);
    if (top && *top->text) {
        bool parsed;
        g->fingerprint = fingerprint_sql(top->text, strlen(top->text), &parsed);
        g->query = xstrdup(top->text);
        struct sqlfacts f;
        struct err err;
        if (sqlfacts_parse(&f, top->text, &err) == 0 && f.n_tables)
            g->table = xstrdup(f.tables[0].name);
        sqlfacts_release(&f);
    }
    int max0 = diag_max_int(x->before, offsetof(struct dpoint, connections));
    int max1 = diag_max_int(x->after, offsetof(struct dpoint, connections));
    int usable = diag_max_int(x->after, offsetof(struct dpoint, usable));
    int idle1 = diag_max_int(x->after, offsetof(struct dpoint, idle_in_tx));
    int64_t refused = diag_sum(x->after, offsetof(struct dpoint, refused));
    json_t *b = json_object(), *a = json_object();
    json_object_set_new(b, "connections_max", json_integer(max0));
    json_object_set_new(a, "connections_max", json_integer(max1));
    json_object_set_new(a, "usable_connections", json_integer(usable));
    json_object_set_new(a, "idle_in_transaction_max", json_integer(idle1));
    json_object_set_new(a, "refused_connections", json_integer((json_int_t)refused));
    json_object_set_new(g->evidence, "before", b);
    json_object_set_new(g->evidence, "after", a);
    json_t *hs = json_array();
    for (int i = 0; i < d->nholders; i++) {
        const struct dholder *h = &d->holders[i];
        json_t *o = json_object();
        json_object_set_new(o, "application", jsonstr_new(h->app));
        json_object_set_new(o, "statement", jsonstr_new(h->text));
        json_object_set_new(o, "sessions", json_integer(h->count));
        json_object_set_new(o, "idle_in_transaction", json_integer(h->idle));
        json_object_set_new(o, "longest_hold_s", jsonstr_num(h->max_age_s));
        json_array_append_new(hs, o);
    }
    json_object_set_new(g->evidence, "holders", hs);
    json_object_set_new(g->evidence, "holding_sessions", json_integer(d->holders_total));
    if (top)
        json_object_set_new(g->evidence, "longest_hold_s", jsonstr_num(top->max_age_s));
    struct pooler_view pv;
    const char *most = top && *top->app ? ", most from '" : "";
    const char *app = top && *top->app ? top->app : "", *close = top && *top->app ? "'" : "";
    if (pooler_evidence(x, g, &pv)) {
        char *what = pooler_phrase(&pv);
        g->summary = d->holders_total
                         ? diag_fmt("%s while %d sessions held the server connections (%d idle in "
                                    "transaction)%s%s%s",
                                    what, d->holders_total, idle, most, app, close)
                         : diag_fmt("%s: every server connection of the pool was taken; the "
                                    "server's log shows by whom",
                                    what); /* its log alone */
        free(what);
    } else if (usable > 0 || max1 > 0)
        g->summary = diag_fmt("connections rose from %d to %d of %d usable; %d sessions held "
                              "theirs (%d idle in transaction)%s%s%s",
                              max0, max1, usable, d->holders_total, idle, most, app, close);
    else /* a log: no connection counts, only the refusals and the open transactions */
        g->summary = diag_fmt("%lld connections refused while %d sessions held theirs (%d idle "
                              "in transaction)%s%s%s",
                              (long long)refused, d->holders_total, idle, most, app, close);
    g->fix = xstrdup("end the transactions the application leaves open; set "
                     "idle_in_transaction_session_timeout and statement_timeout, and keep the "
                     "pool below the usable connections");
}

/* --- one query ----------------------------------------------------------------------- */

/* A SELECT of every column, or without a LIMIT, that is not an aggregate. */
static bool unbounded_select(struct diag_ctx *x, uint64_t fp)
{
    const struct sqlfacts *f = diag_facts(x->d, fp);
    const char *text = diag_text_of(x->d, fp);
    if (!f || f->command != SQLFACTS_CMD_SELECT || !text || strstr(text, "count(") ||
        strstr(text, "sum(") || strstr(text, "avg("))
        return false;
    return (f->flags & SQLFACTS_SELECT_STAR) && f->limit == SQLFACTS_LIMIT_NONE;
}

/* Work per call after over before: blocks when known, else rows; NAN when neither is. */
static double work_ratio(struct qsum q0, struct qsum q1)
{
    if (!q0.calls || !q1.calls)
        return NAN;
    if (q0.has_blks && q1.has_blks && q0.blks > 0)
        return ((double)q1.blks / (double)q1.calls) / ((double)q0.blks / (double)q0.calls);
    if (q0.rows > 0 && q1.rows > 0)
        return ((double)q1.rows / (double)q1.calls) / ((double)q0.rows / (double)q0.calls);
    return NAN;
}

static void add_table_and_columns(struct diag_ctx *x, struct cause *g)
{
    if (g->table || !g->fingerprint)
        return;
    const struct sqlfacts *f = diag_facts(x->d, g->fingerprint);
    if (!f || !f->n_tables)
        return;
    g->table = xstrdup(f->tables[0].name);
    if (g->kind != CAUSE_REDUNDANT_FETCH)
        return;
    if (f->flags & SQLFACTS_SELECT_STAR)
        diag_add_column(g, "*");
    for (size_t i = 0; i < f->n_cols; i++)
        if (f->cols[i].role == SQLFACTS_ROLE_SELECT)
            diag_add_column(g, f->cols[i].name);
    json_object_set_new(g->evidence, "limit", json_boolean(f->limit != SQLFACTS_LIMIT_NONE));
    json_object_set_new(g->evidence, "select_star", json_boolean(f->flags & SQLFACTS_SELECT_STAR));
}

static void cause_for_query(struct diag_ctx *x, enum cause_kind kind, double score,
                            const struct devent *e, uint64_t fp)
{
    struct cause *g = diag_new_cause(x, kind, score, e);
    set_query(x, g, fp);
    json_object_set_new(g->evidence, "before", diag_query_numbers(x->before, fp));
    json_object_set_new(g->evidence, "after", diag_query_numbers(x->after, fp));
    struct qsum q0 = diag_query_sum(x->before, fp), q1 = diag_query_sum(x->after, fp);
    double m0 = mean_ms(q0), m1 = mean_ms(q1);
    double c0 = diag_rate((double)q0.calls, x->before), c1 = diag_rate((double)q1.calls, x->after);
    struct index_gap gap;
    switch (kind) {
    case CAUSE_MISSING_INDEX:
        if (diag_index_gap(x->d, fp, e ? e->table : NULL, &gap)) {
            g->table = xstrdup(gap.table);
            add_columns_csv(g, gap.cols);
            g->fix = diag_fmt("create an index on %s (%s); sleuth advise checks it and gives the "
                              "CREATE INDEX CONCURRENTLY",
                              gap.table, gap.cols);
            const struct dindex *gone = diag_dropped_index(
                x->d, gap.table, x->onset_us - 3600 * 1000000LL, x->end_us ? x->end_us : INT64_MAX);
            if (gone)
                g->index = xstrdup(gone->name);
        }
        if (e && *e->table) {
            int64_t seq0, u0, h0, seq1, u1, h1;
            diag_table_sums(x->before, e->table, &seq0, &u0, &h0);
            diag_table_sums(x->after, e->table, &seq1, &u1, &h1);
            json_object_set_new(json_object_get(g->evidence, "before"), "seq_tup_read_per_s",
                                jsonstr_num(diag_rate((double)seq0, x->before)));
            json_object_set_new(json_object_get(g->evidence, "after"), "seq_tup_read_per_s",
                                jsonstr_num(diag_rate((double)seq1, x->after)));
        }
        g->summary =
            diag_fmt("mean time %.2f ms -> %.2f ms at %.1f calls/s: no index serves its "
                     "filter on %s%s%s",
                     m0, m1, c1, g->table ? g->table : "its table",
                     g->index ? " since the drop of index " : "", g->index ? g->index : "");
        break;
    case CAUSE_DEPLOY_SURGE:
        g->summary =
            diag_fmt("calls jumped from %.1f/s to %.1f/s (%.0fx)", c0, c1, c0 > 0 ? c1 / c0 : 0);
        g->fix = xstrdup("batch the per-row queries of the release (one query with IN or a join "
                         "instead of N), and index any new query that filters");
        break;
    case CAUSE_REDUNDANT_FETCH:
        g->summary = diag_fmt("%.0f rows per call at %.1f calls/s",
                              q1.calls ? (double)q1.rows / (double)q1.calls : 0.0, c1);
        g->fix = xstrdup("select only the columns the page shows and add a LIMIT");
        break;
    case CAUSE_PLAN_REGRESSION:
        g->summary = diag_fmt("mean time %.2f ms -> %.2f ms with %.0fx the work per call "
                              "(%s): the same query runs another plan",
                              m0, m1, work_ratio(q0, q1), q1.has_blks ? "shared blocks" : "rows");
        g->fix = xstrdup("compare its plan before and after (EXPLAIN, auto_explain); undo the "
                         "setting or statistics change that came before it, or refresh "
                         "statistics with ANALYZE");
        break;
    default:
        g->summary = diag_fmt("mean time %.2f ms -> %.2f ms", m0, m1);
        g->fix = xstrdup("compare its plan before and after (auto_explain), refresh statistics "
                         "(ANALYZE) and look at recent schema or data changes");
        break;
    }
    add_table_and_columns(x, g);
}

/* A query's latency rose: which of the query-level causes explains it. */
static void cause_for_slow_query(struct diag_ctx *x, const struct devent *e)
{
    struct diagnoser *d = x->d;
    double sh = diag_share(x->after, e->fp);
    char table[NAME_LEN];
    struct index_gap gap;
    struct qsum q0 = diag_query_sum(x->before, e->fp), q1 = diag_query_sum(x->after, e->fp);
    double wr = work_ratio(q0, q1);
    if (diag_update_behind_new_index(d, e->fp, table, sizeof(table)))
        cause_hot_index(x, e, table, e->fp);
    else if (diag_index_gap(d, e->fp, NULL, &gap))
        cause_for_query(x, CAUSE_MISSING_INDEX, 0.5 + 0.4 * sh, e, e->fp);
    else if (unbounded_select(x, e->fp))
        /* Without row counts (a log), SELECT * or no LIMIT on a heavy query is the lead. */
        cause_for_query(x, CAUSE_REDUNDANT_FETCH, 0.4 + 0.3 * sh, e, e->fp);
    else if (e->kind == FK_LATENCY_REGRESSION && isfinite(wr) && wr >= 3)
        cause_for_query(x, CAUSE_PLAN_REGRESSION, 0.5 + 0.4 * sh, e, e->fp);
    else if (e->kind == FK_LATENCY_REGRESSION)
        cause_for_query(x, CAUSE_QUERY_REGRESSION, 0.3 + 0.4 * sh, e, e->fp);
}

/* --- lock_contention ------------------------------------------------------------------ */

static const struct dblocker *worst_blocker(const struct diag_ctx *x)
{
    const struct dblocker *best = NULL;
    for (int i = 0; i < x->d->nblockers; i++) {
        const struct dblocker *b = &x->d->blockers[i];
        if (b->last_us <= x->onset_us || (x->end_us && b->first_us >= x->end_us))
            continue;
        if (!best || b->victims > best->victims ||
            (b->victims == best->victims && b->xact_age_s > best->xact_age_s))
            best = b;
    }
    return best;
}

static void cause_lock(struct diag_ctx *x, const struct devent *e)
{
    const struct dblocker *b = worst_blocker(x);
    bool ddl = b && b->query && diag_is_ddl(b->query);
    struct cause *g = diag_new_cause(x, CAUSE_LOCK_CONTENTION, b ? (ddl ? 0.9 : 0.8) : 0.5, e);
    int64_t waits = diag_sum(x->after, offsetof(struct dpoint, lock_waits));
    int waiting = diag_max_int(x->after, offsetof(struct dpoint, waiting));
    json_t *a = json_object();
    json_object_set_new(a, "sessions_waiting_max", json_integer(waiting));
    json_object_set_new(a, "lock_waits_logged", json_integer((json_int_t)waits));
    json_object_set_new(
        a, "deadlocks",
        json_integer((json_int_t)diag_sum(x->after, offsetof(struct dpoint, deadlocks))));
    json_object_set_new(g->evidence, "after", a);
    if (!b) {
        g->summary = diag_fmt("%s: %s", finding_kind_name(e->kind), e->key);
        g->fix = xstrdup("find the root blocker's transaction and make it short");
        if (e->query)
            g->query = xstrdup(e->query);
        return;
    }
    /* The lock was taken when the first wait behind it began, before any threshold held. */
    if (b->waits_since_us && b->waits_since_us < g->start_us)
        g->start_us = b->waits_since_us;
    if (b->object)
        g->table = xstrdup(b->object);
    if (b->query && *b->query) {
        g->query = xstrdup(b->query);
        bool parsed;
        g->fingerprint = fingerprint_sql(b->query, strlen(b->query), &parsed);
        if (!g->table) {
            struct sqlfacts f;
            struct err err;
            if (sqlfacts_parse(&f, b->query, &err) == 0 && f.n_tables)
                g->table = xstrdup(f.tables[0].name);
            sqlfacts_release(&f);
        }
    }
    json_t *bl = json_object();
    json_object_set_new(bl, "pid", json_integer(b->pid));
    json_object_set_new(bl, "application", jsonstr_new(b->app));
    json_object_set_new(bl, "user", jsonstr_new(b->user));
    json_object_set_new(bl, "state", jsonstr_new(b->state));
    json_object_set_new(bl, "statement", jsonstr_new(b->query));
    json_object_set_new(bl, "transaction_age_s", jsonstr_num(b->xact_age_s));
    json_object_set_new(bl, "blocked_sessions", json_integer(b->victims));
    json_object_set_new(bl, "migration", json_boolean(ddl));
    json_object_set_new(g->evidence, "blocker", bl);
    g->summary = diag_fmt("%s pid %d%s%s%s holds a lock on %s (transaction open %.0f s): %d "
                          "session%s waiting",
                          ddl ? "a migration," : "session", b->pid, b->app && *b->app ? " ('" : "",
                          b->app && *b->app ? b->app : "", b->app && *b->app ? "')" : "",
                          g->table ? g->table : "a table", b->xact_age_s > 0 ? b->xact_age_s : 0,
                          b->victims, b->victims == 1 ? " is" : "s are");
    g->fix = ddl ? diag_fmt("run the migration with a lock_timeout (SET lock_timeout = '2s') and "
                            "outside a long transaction; end it now with SELECT "
                            "pg_terminate_backend(%d)",
                            b->pid)
                 : diag_fmt("make the blocking transaction short (commit before slow work); "
                            "set lock_timeout; end it now with SELECT pg_terminate_backend(%d)",
                            b->pid);
}

/* --- the whole mix: traffic_surge and resource_saturation ------------------------------ */

struct mix {
    int considered;        /* queries busy enough before and after to compare */
    int slow;              /* of them, at least SLOW_RATIO times slower */
    double slow_share;     /* their share of the database time before */
    double work_ratio;     /* the median work per call ratio of the slow ones (NAN: unknown) */
    double calls_ratio;    /* calls per second after / before, of the queries known before */
    double sessions_ratio; /* new connections per second after / before (NAN: unknown) */
    double sessions_before, sessions_after; /* per second */
    double similarity;                      /* cosine of the call shares before and after, 0..1 */
    double new_share; /* share of the calls after of queries not called before */
    double db_ratio;  /* database time per second after / before */
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The distinct fingerprints of both windows (at most cap). */
static size_t window_fps(const struct window *b, const struct window *a, uint64_t *fps, size_t cap)
{
    size_t n = 0;
    const struct window *ws[2] = { b, a };
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; i < ws[w]->n; i++)
            for (int k = 0; k < ws[w]->p[i]->nq; k++) {
                uint64_t fp = ws[w]->p[i]->q[k].fp;
                size_t j = 0;
                while (j < n && fps[j] != fp)
                    j++;
                if (j == n && n < cap)
                    fps[n++] = fp;
            }
    return n;
}

static void mix_of(const struct diag_ctx *x, struct mix *m)
{
    memset(m, 0, sizeof(*m));
    const struct window *b = x->before, *a = x->after;
    uint64_t fps[256];
    size_t n = window_fps(b, a, fps, 256);
    double all0 = diag_total_ms(b), dot = 0, n0 = 0, n1 = 0;
    int64_t calls0 = diag_total_calls(b), calls1 = diag_total_calls(a), old1 = 0, new1 = 0;
    double works[256];
    int nworks = 0;
    for (size_t i = 0; i < n; i++) {
        struct qsum q0 = diag_query_sum(b, fps[i]), q1 = diag_query_sum(a, fps[i]);
        double s0 = calls0 ? (double)q0.calls / (double)calls0 : 0;
        double s1 = calls1 ? (double)q1.calls / (double)calls1 : 0;
        dot += s0 * s1;
        n0 += s0 * s0;
        n1 += s1 * s1;
        if (q0.calls)
            old1 += q1.calls;
        else
            new1 += q1.calls;
        /* Busy enough on both sides to compare its time per call. */
        if (q0.calls < 20 || q1.calls < 20 || all0 <= 0 || q0.ms / all0 < 0.01)
            continue;
        m->considered++;
        if (mean_ms(q1) >= SLOW_RATIO * mean_ms(q0)) {
            m->slow++;
            m->slow_share += q0.ms / all0;
            double wr = work_ratio(q0, q1);
            if (isfinite(wr))
                works[nworks++] = wr;
        }
    }
    m->similarity = n0 > 0 && n1 > 0 ? dot / sqrt(n0 * n1) : 1;
    m->new_share = calls1 ? (double)new1 / (double)calls1 : 0;
    double r0 = diag_rate((double)calls0, b), r1 = diag_rate((double)old1, a);
    m->calls_ratio = r0 > 0 ? r1 / r0 : NAN;
    double d0 = diag_rate(all0, b), d1 = diag_rate(diag_total_ms(a), a);
    m->db_ratio = d0 > 0 ? d1 / d0 : NAN;
    qsort(works, (size_t)nworks, sizeof(double), cmp_double);
    m->work_ratio = nworks ? works[nworks / 2] : NAN;
    int64_t s0 = diag_sum(b, offsetof(struct dpoint, sessions));
    int64_t s1 = diag_sum(a, offsetof(struct dpoint, sessions));
    m->sessions_before = diag_rate((double)s0, b);
    m->sessions_after = diag_rate((double)s1, a);
    m->sessions_ratio = s0 + s1 > 0 ? (m->sessions_after + 0.1) / (m->sessions_before + 0.1) : NAN;
}

static bool broad_slowdown(const struct mix *m)
{
    return m->slow >= 3 && m->slow_share >= 0.5;
}

static bool more_traffic(const struct mix *m)
{
    bool sessions = isfinite(m->sessions_ratio) && m->sessions_ratio >= 3 &&
                    m->sessions_after - m->sessions_before >= 1;
    return sessions || (isfinite(m->calls_ratio) && m->calls_ratio >= 1.5);
}

static json_t *mix_json(const struct mix *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "queries_compared", json_integer(m->considered));
    json_object_set_new(o, "queries_slower", json_integer(m->slow));
    json_object_set_new(o, "their_time_share_before_pct", jsonstr_num(100 * m->slow_share));
    json_object_set_new(o, "work_per_call_ratio", jsonstr_num(m->work_ratio));
    json_object_set_new(o, "calls_ratio", jsonstr_num(m->calls_ratio));
    json_object_set_new(o, "new_connections_per_s_before", jsonstr_num(m->sessions_before));
    json_object_set_new(o, "new_connections_per_s_after", jsonstr_num(m->sessions_after));
    json_object_set_new(o, "query_mix_similarity", jsonstr_num(m->similarity));
    json_object_set_new(o, "new_queries_call_share_pct", jsonstr_num(100 * m->new_share));
    json_object_set_new(o, "database_time_ratio", jsonstr_num(m->db_ratio));
    return o;
}

/* Judges the whole mix; returns whether it names a server-wide cause. */
static bool causes_from_mix(struct diag_ctx *x, const struct devent *e)
{
    struct mix m;
    mix_of(x, &m);
    bool same_mix = m.similarity >= 0.9 && m.new_share < 0.2;
    bool surge = more_traffic(&m) && same_mix &&
                 (broad_slowdown(&m) || m.db_ratio >= 2 ||
                  diag_has_kind(x->d, FK_CONN_RATE, x->onset_us, x->end_us));
    bool flat_work = !isfinite(m.work_ratio) || m.work_ratio < 1.5;
    bool machine = !surge && broad_slowdown(&m) && flat_work && !more_traffic(&m) &&
                   !diag_has_kind(x->d, FK_LOCK_WAITS, x->onset_us, x->end_us) &&
                   !diag_has_kind(x->d, FK_BLOCKING, x->onset_us, x->end_us);
    if (!surge && !machine)
        return false;
    struct cause *g = diag_new_cause(x, surge ? CAUSE_TRAFFIC_SURGE : CAUSE_RESOURCE_SATURATION,
                                     surge ? 0.9 : (isfinite(m.work_ratio) ? 0.85 : 0.6), e);
    json_object_set_new(g->evidence, "mix", mix_json(&m));
    if (surge) {
        g->summary =
            diag_fmt("the same query mix (similarity %.2f) at %.1fx the calls, new "
                     "connections %.1f/s -> %.1f/s: more traffic reached the database%s",
                     m.similarity, isfinite(m.calls_ratio) ? m.calls_ratio : 0, m.sessions_before,
                     m.sessions_after, m.slow ? " and every query slowed" : "");
        g->fix = xstrdup("find where the traffic comes from (the web server's access log: "
                         "clients, routes); rate-limit or cache at the edge, and put a pooler "
                         "in front so new connections are not opened per request");
    } else {
        g->summary = diag_fmt("%d of %d busy queries became at least %gx slower (%.0f%% of the "
                              "database time) with %s work per call and no more calls: the "
                              "machine got slower, not the queries",
                              m.slow, m.considered, SLOW_RATIO, 100 * m.slow_share,
                              isfinite(m.work_ratio) ? "the same" : "(unknown)");
        g->fix = xstrdup("look at the host: CPU steal and run queue, I/O latency and "
                         "throttling, memory pressure, a noisy neighbour; no query to fix");
    }
    return true;
}

/* Intervals of w in which fp was called. */
static size_t points_with(const struct window *w, uint64_t fp)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nq; k++)
            if (w->p[i]->q[k].fp == fp && w->p[i]->q[k].calls) {
                n++;
                break;
            }
    return n;
}

/*
 * A query the incident brought: not called before the onset, or only in
 * the last two intervals before it (an onset placed an interval late
 * still sees a release's first calls as before it).
 */
static bool is_new_query(const struct diag_ctx *x, uint64_t fp)
{
    if (!diag_query_sum(x->after, fp).calls)
        return false;
    size_t n = points_with(x->before, fp);
    if (n == 0)
        return true;
    if (n > 2 || x->before->n < 2)
        return false;
    for (size_t i = 0; i + 2 < x->before->n; i++)
        for (int k = 0; k < x->before->p[i]->nq; k++)
            if (x->before->p[i]->q[k].fp == fp)
                return false;
    return true;
}

/*
 * The database's time rose and no finding names a query: the query that
 * added most of it, when one added at least half, is the lead.
 */
static void cause_top_contributor(struct diag_ctx *x, const struct devent *e)
{
    uint64_t fps[256];
    size_t n = window_fps(x->before, x->after, fps, 256);
    double rise = diag_rate(diag_total_ms(x->after), x->after) -
                  diag_rate(diag_total_ms(x->before), x->before);
    uint64_t best = 0;
    double best_rise = 0;
    for (size_t i = 0; i < n; i++) {
        double r = diag_rate(diag_query_sum(x->after, fps[i]).ms, x->after) -
                   diag_rate(diag_query_sum(x->before, fps[i]).ms, x->before);
        if (r > best_rise) {
            best_rise = r;
            best = fps[i];
        }
    }
    if (!best || !(rise > 0) || best_rise < 0.5 * rise)
        return;
    struct qsum q0 = diag_query_sum(x->before, best), q1 = diag_query_sum(x->after, best);
    double c0 = diag_rate((double)q0.calls, x->before), c1 = diag_rate((double)q1.calls, x->after);
    struct devent le = *e;
    le.kind = FK_LATENCY_REGRESSION;
    le.fp = best;
    le.table[0] = '\0';
    bool fresh = is_new_query(x, best);
    if (!fresh && c1 >= 3 * c0)
        cause_for_query(x, CAUSE_DEPLOY_SURGE, 0.6, e, best);
    else if (fresh) {
        le.kind = FK_NEW_HEAVY_QUERY;
        cause_for_slow_query(x, &le);
    } else {
        cause_for_slow_query(x, &le);
    }
}

/* --- one finding's causes, and the release story ------------------------------------ */

static void causes_from_event(struct diag_ctx *x, const struct devent *e)
{
    struct diagnoser *d = x->d;
    double sh = e->fp ? diag_share(x->after, e->fp) : 0;
    struct index_gap gap;
    uint64_t fp;
    char table[NAME_LEN];
    switch (e->kind) {
    case FK_HOT_RATIO_DROP:
    case FK_INDEX_ON_UPDATED:
        cause_hot_index(x, e, e->table, e->fp);
        break;
    case FK_CONN_SATURATION:
    case FK_CONN_REFUSED:
    case FK_POOL_SATURATION:
        cause_pool(x, e);
        break;
    case FK_CALL_SURGE: {
        /* A surge is the incident's story only if it lasts: a burst within it is not. */
        struct qsum q0 = diag_query_sum(x->before, e->fp), q1 = diag_query_sum(x->after, e->fp);
        double c0 = diag_rate((double)q0.calls, x->before);
        double c1 = diag_rate((double)q1.calls, x->after);
        if (!(c0 > 0) || c1 >= 2 * c0)
            cause_for_query(x, CAUSE_DEPLOY_SURGE, 0.8 + 0.15 * sh, e, e->fp);
        break;
    }
    case FK_ROWS_PER_CALL:
        cause_for_query(x, CAUSE_REDUNDANT_FETCH, 0.7 + 0.2 * sh, e, e->fp);
        break;
    case FK_NEW_HEAVY_QUERY:
    case FK_LATENCY_REGRESSION:
        cause_for_slow_query(x, e);
        break;
    case FK_SEQ_SCAN_GROWTH:
        fp = diag_busiest_on_table(d, x->after, e->table, false);
        if (fp && diag_index_gap(d, fp, e->table, &gap))
            cause_for_query(x, CAUSE_MISSING_INDEX, 0.5 + 0.4 * diag_share(x->after, fp), e, fp);
        break;
    case FK_BLOCKING:
    case FK_LOCK_WAITS:
    case FK_DEADLOCKS:
        fp = diag_busiest_update(d, x->after);
        if (fp && diag_update_behind_new_index(d, fp, table, sizeof(table)))
            cause_hot_index(x, e, table, fp);
        else
            cause_lock(x, e);
        break;
    default:
        break;
    }
}

/* Whether a new application_name appeared near the onset (a release). */
static bool new_app_near(const struct diag_ctx *x)
{
    const struct diagnoser *d = x->d;
    for (size_t i = 0; i < d->nchanges; i++) {
        const struct sample_change *c = &d->changes[(d->chead + i) % DIAG_CHANGES].c;
        if (c->kind == CHANGE_NEW_APP && c->ts_us >= x->onset_us - 300 * 1000000LL &&
            c->ts_us <= (x->end_us ? x->end_us : INT64_MAX))
            return true;
    }
    return false;
}

/* Where a statement with this share of the time goes in list, most first. */
static size_t share_rank(const json_t *list, double share_pct)
{
    size_t i = 0;
    while (i < json_array_size(list) &&
           json_number_value(json_object_get(json_array_get(list, i), "time_share_pct")) >=
               share_pct)
        i++;
    return i;
}

/*
 * A call surge, new statements and a new application in one incident are
 * one story: a release. The surge is the cause (or, when the release
 * brought a statement called per row rather than multiplying one, the
 * busiest new statement is); the new statements join its evidence, and
 * their own causes (a missing index) rank right after it.
 */
static void release_story(struct diag_ctx *x)
{
    struct incident *inc = x->inc;
    uint64_t fps[256];
    size_t n = window_fps(x->before, x->after, fps, 256);
    json_t *news = json_array();
    uint64_t busiest = 0;
    double busiest_rate = 0, new_share = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_new_query(x, fps[i]))
            continue;
        double sh = diag_share(x->after, fps[i]);
        double rate = diag_rate((double)diag_query_sum(x->after, fps[i]).calls, x->after);
        new_share += sh;
        if (rate > busiest_rate) {
            busiest_rate = rate;
            busiest = fps[i];
        }
        if (sh < 0.01)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "fingerprint", jsonstr_hex64(fps[i]));
        json_object_set_new(o, "query", jsonstr_new(diag_text_of(x->d, fps[i])));
        json_object_set_new(o, "calls_per_s", jsonstr_num(rate));
        json_object_set_new(o, "time_share_pct", jsonstr_num(100 * sh));
        json_array_insert_new(news, share_rank(news, 100 * sh), o);
    }
    struct cause *surge = NULL;
    for (size_t i = 0; i < inc->ncauses; i++)
        if (inc->causes[i].kind == CAUSE_DEPLOY_SURGE &&
            (!surge || inc->causes[i].score > surge->score))
            surge = &inc->causes[i];
    /*
     * New statements called many times a second, in a release, while the
     * server's calls at least doubled: the per-row loop itself. (A release
     * that only swaps one page's query for another keeps the calls flat.)
     */
    double calls0 = diag_rate((double)diag_total_calls(x->before), x->before);
    double calls1 = diag_rate((double)diag_total_calls(x->after), x->after);
    bool more_calls = calls0 > 0 ? calls1 >= 2 * calls0 : calls1 > 0;
    if (!surge && busiest && busiest_rate >= 20 && more_calls &&
        (new_app_near(x) || new_share >= 0.3)) {
        struct cause *g = diag_new_cause(x, CAUSE_DEPLOY_SURGE, 0.5, NULL);
        set_query(x, g, busiest);
        json_object_set_new(g->evidence, "before", diag_query_numbers(x->before, busiest));
        json_object_set_new(g->evidence, "after", diag_query_numbers(x->after, busiest));
        g->summary = diag_fmt("a release brought new statements; the busiest runs %.0f times a "
                              "second",
                              busiest_rate);
        g->fix = xstrdup("batch the per-row queries of the release (one query with IN or a join "
                         "instead of N), index any new query that filters, or roll it back");
        add_table_and_columns(x, g);
        surge = g;
    }
    if (!surge) {
        json_decref(news);
        return;
    }
    json_object_set_new(surge->evidence, "new_queries", news);
    json_object_set_new(surge->evidence, "new_application", json_boolean(new_app_near(x)));
    double top = 0;
    for (size_t i = 0; i < inc->ncauses; i++)
        if (&inc->causes[i] != surge && inc->causes[i].score > top &&
            inc->causes[i].kind != CAUSE_POOL_EXHAUSTION)
            top = inc->causes[i].score;
    if (surge->score <= top)
        surge->score = fmin(1.0, top + 0.01);
}

bool diag_broad_cause(const struct incident *inc)
{
    for (size_t i = 0; i < inc->ncauses; i++) {
        enum cause_kind k = inc->causes[i].kind;
        if (k == CAUSE_TRAFFIC_SURGE || k == CAUSE_RESOURCE_SATURATION ||
            k == CAUSE_LOCK_CONTENTION)
            return true;
    }
    return false;
}

/*
 * Causes that explain others' symptoms outrank them: every query slowed by
 * a blocked table, a saturated machine or a surge of traffic is not a
 * query to fix; connections held while waiting on a lock are the lock's.
 */
static void symptoms(struct diag_ctx *x)
{
    struct incident *inc = x->inc;
    bool broad = false, lock = false;
    double lock_score = 0;
    for (size_t i = 0; i < inc->ncauses; i++) {
        enum cause_kind k = inc->causes[i].kind;
        broad |= k == CAUSE_TRAFFIC_SURGE || k == CAUSE_RESOURCE_SATURATION;
        if (k == CAUSE_LOCK_CONTENTION && inc->causes[i].query) {
            lock = true;
            lock_score = fmax(lock_score, inc->causes[i].score);
        }
    }
    for (size_t i = 0; i < inc->ncauses; i++) {
        struct cause *g = &inc->causes[i];
        if (broad && (g->kind == CAUSE_QUERY_REGRESSION || g->kind == CAUSE_DEPLOY_SURGE))
            g->score *= 0.5;
        if (lock && (g->kind == CAUSE_QUERY_REGRESSION || g->kind == CAUSE_POOL_EXHAUSTION))
            g->score = fmin(g->score, lock_score - 0.05);
    }
}

static int cmp_score(const void *a, const void *b)
{
    const struct cause *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->detected_us > y->detected_us) - (x->detected_us < y->detected_us);
}

static bool same_cause(const struct cause *a, const struct cause *b)
{
    const char *ta = a->table ? a->table : "", *tb = b->table ? b->table : "";
    return a->kind == b->kind && a->fingerprint == b->fingerprint && diag_table_match(ta, tb);
}

static void dedupe(struct incident *inc)
{
    qsort(inc->causes, inc->ncauses, sizeof(*inc->causes), cmp_score);
    size_t k = 0;
    for (size_t i = 0; i < inc->ncauses; i++) {
        size_t j = 0;
        while (j < k && !same_cause(&inc->causes[j], &inc->causes[i]))
            j++;
        if (j < k) {
            /* Keep the earliest detection on the survivor. */
            if (inc->causes[i].detected_us < inc->causes[j].detected_us) {
                inc->causes[j].detected_us = inc->causes[i].detected_us;
                inc->causes[j].start_us = inc->causes[i].start_us;
            }
            cause_release(&inc->causes[i]);
        } else {
            inc->causes[k++] = inc->causes[i];
        }
    }
    inc->ncauses = k;
}

void diag_causes(struct diag_ctx *x)
{
    struct diagnoser *d = x->d;
    bool mix_done = false;
    const struct devent *first = NULL;
    for (size_t i = 0; i < d->nevents; i++) {
        const struct devent *e = &d->events[i];
        if (!diag_event_in(e, x->onset_us, x->end_us))
            continue;
        if (!first)
            first = e;
        causes_from_event(x, e);
        bool server = e->kind == FK_DB_LOAD || e->kind == FK_CONN_RATE || e->kind == FK_CALL_RATE ||
                      e->kind == FK_LATENCY_REGRESSION || e->kind == FK_CALL_SURGE;
        if (server && !mix_done) {
            mix_done = true;
            if (!causes_from_mix(x, e) && (e->kind == FK_DB_LOAD || e->kind == FK_CALL_RATE))
                cause_top_contributor(x, e);
        }
    }
    if (!first)
        return;
    if (!x->inc->ncauses) {
        /* No pattern: what the first finding was about, its statement when it has one. */
        struct cause *g = diag_new_cause(x, CAUSE_UNKNOWN, 0.1, first);
        g->summary = diag_fmt("%s: %s", finding_kind_name(first->kind), first->key);
        g->fix = xstrdup("look at the alerts' evidence; no known outage pattern matches");
        if (first->query) {
            g->query = xstrdup(first->query);
            bool parsed;
            g->fingerprint = fingerprint_sql(first->query, strlen(first->query), &parsed);
        }
    }
    release_story(x);
    symptoms(x);
    dedupe(x->inc);
}
