/*
 * The diagnosis (see diagnose.h). The detectors say what is abnormal; this
 * file says why. It keeps, per interval, a small summary (totals, the
 * busiest queries and tables, connections), the indexes it has seen come
 * and go, the sessions holding connections, and when each finding first
 * appeared. A diagnosis then maps the findings of the incident to causes:
 *
 *   hot_ratio_drop on T                    -> hot_index (the index on T that
 *                                             covers an UPDATE's SET column)
 *   connection_saturation / refused        -> pool_exhaustion (the statement
 *                                             the holding sessions ran)
 *   call_surge (+ new_heavy_query)          -> deploy_surge
 *   rows_per_call                          -> redundant_fetch
 *   latency_regression / seq_scan_growth /
 *   new_heavy_query on a query whose filter
 *   no index leads with                    -> missing_index
 *   latency_regression otherwise           -> query_regression
 *   blocking, lock waits, deadlocks        -> lock_contention
 *
 * and ranks them by a score: the strength of the rule plus the share of
 * the incident's database time the named query took.
 */
#include "diagnose/diagnose.h"

#include "sql/facts.h"
#include "sql/fingerprint.h"
#include "sql/indexdef.h"
#include "util/buf.h"
#include "util/jsonstr.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define DIAG_POINTS   360 /* intervals summarised (an hour at 10 s) */
#define DIAG_TOPQ     40  /* queries kept per interval, by time */
#define DIAG_TOPT     40  /* tables kept per interval, by activity */
#define DIAG_TEXTS    256 /* query texts remembered */
#define DIAG_EVENTS   128 /* distinct (kind, key) findings remembered */
#define DIAG_INDEXES  4096
#define DIAG_HOLDERS  16
#define DIAG_BASELINE 30 /* intervals before an incident that make "before" */
#define NAME_LEN      128

struct dq {
    uint64_t fp;
    int64_t calls, rows;
    double total_ms;
};

struct dt {
    char name[NAME_LEN]; /* schema.table */
    int64_t seq_tup_read, upd, hot_upd;
};

struct dpoint {
    int64_t start_us, end_us;
    int64_t calls, sessions, refused, lock_waits, deadlocks;
    double total_ms;
    int connections, usable, idle_in_tx, waiting, clients;
    struct dq q[DIAG_TOPQ];
    int nq;
    struct dt t[DIAG_TOPT];
    int nt;
};

struct dtext {
    uint64_t fp;
    char *text;
    uint64_t used; /* clock of the last use, to evict the oldest */
};

struct devent {
    enum finding_kind kind;
    char key[NAME_LEN];
    uint64_t fp;
    char table[NAME_LEN];
    int64_t start_us, detected_us, last_us; /* last_us: end of the last interval it was seen in */
    double value, baseline;
    char *query;
};

struct dindex {
    char table[NAME_LEN]; /* schema.table */
    char name[NAME_LEN];
    char def[512];
    int64_t first_us;   /* first seen; 0 if present from the start */
    int64_t dropped_us; /* when it disappeared, 0 while present */
};

struct dholder {
    char *text; /* a holding session's statement */
    int count;
    double max_age_s;
};

struct diagnoser {
    struct dpoint *points; /* ring */
    size_t head, npoints;
    bool started; /* a sample has been seen (the first one's indexes are the initial set) */
    struct dtext texts[DIAG_TEXTS];
    size_t ntexts;
    uint64_t clock;
    struct devent events[DIAG_EVENTS];
    size_t nevents;
    struct dindex indexes[DIAG_INDEXES];
    size_t nindexes;
    struct dholder holders[DIAG_HOLDERS]; /* the largest set of holders seen */
    int nholders, holders_total;
};

static const char *const cause_names[] = {
#define X(e, name, what) name,
    DIAG_CAUSES(X)
#undef X
};

const char *diag_cause_name(enum diag_cause c)
{
    return (unsigned)c < CAUSE__COUNT ? cause_names[c] : "unknown";
}

struct diagnoser *diagnoser_new(void)
{
    struct diagnoser *d = xcalloc(1, sizeof(*d));
    d->points = xcalloc(DIAG_POINTS, sizeof(*d->points));
    return d;
}

static void holders_clear(struct diagnoser *d)
{
    for (int i = 0; i < d->nholders; i++)
        free(d->holders[i].text);
    d->nholders = 0;
    d->holders_total = 0;
}

void diagnoser_free(struct diagnoser *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->ntexts; i++)
        free(d->texts[i].text);
    for (size_t i = 0; i < d->nevents; i++)
        free(d->events[i].query);
    holders_clear(d);
    free(d->points);
    free(d);
}

/* --- taking in intervals ---------------------------------------------- */

static void text_remember(struct diagnoser *d, uint64_t fp, const char *text)
{
    d->clock++;
    for (size_t i = 0; i < d->ntexts; i++)
        if (d->texts[i].fp == fp) {
            d->texts[i].used = d->clock;
            return;
        }
    size_t slot = d->ntexts;
    if (d->ntexts == DIAG_TEXTS) {
        slot = 0;
        for (size_t i = 1; i < d->ntexts; i++)
            if (d->texts[i].used < d->texts[slot].used)
                slot = i;
        free(d->texts[slot].text);
    } else {
        d->ntexts++;
    }
    d->texts[slot] = (struct dtext){ fp, xstrdup(text ? text : ""), d->clock };
}

static const char *text_of(const struct diagnoser *d, uint64_t fp)
{
    for (size_t i = 0; i < d->ntexts; i++)
        if (d->texts[i].fp == fp)
            return d->texts[i].text;
    return NULL;
}

static void note_indexes(struct diagnoser *d, const struct sample *s)
{
    bool *seen = xcalloc(d->nindexes + 1, sizeof(bool));
    for (int i = 0; i < s->nindexes; i++) {
        const struct sample_index *x = &s->indexes[i];
        char table[NAME_LEN];
        snprintf(table, sizeof(table), "%s.%s", x->schema, x->table);
        size_t k = 0;
        while (k < d->nindexes &&
               (strcmp(d->indexes[k].table, table) || strcmp(d->indexes[k].name, x->name)))
            k++;
        if (k == d->nindexes) {
            if (d->nindexes == DIAG_INDEXES)
                continue;
            struct dindex *n = &d->indexes[d->nindexes++];
            memset(n, 0, sizeof(*n));
            snprintf(n->table, sizeof(n->table), "%s", table);
            snprintf(n->name, sizeof(n->name), "%s", x->name);
            snprintf(n->def, sizeof(n->def), "%s", x->def);
            n->first_us = d->started ? s->start_us : 0;
            seen = xrealloc(seen, (d->nindexes + 1) * sizeof(bool));
        }
        seen[k] = true;
        d->indexes[k].dropped_us = 0;
    }
    /* Only a poll that read the indexes can say one is gone (a failed read lists none). */
    if (s->nindexes > 0)
        for (size_t k = 0; k < d->nindexes; k++)
            if (!seen[k] && !d->indexes[k].dropped_us)
                d->indexes[k].dropped_us = s->start_us;
    free(seen);
}

/* The next word of a normalised statement into w; returns the rest. */
static const char *next_word(const char *p, char *w, size_t cap)
{
    while (*p == ' ')
        p++;
    size_t n = 0;
    while (*p && *p != ' ' && *p != '(' && n + 1 < cap)
        w[n++] = *p++;
    w[n] = '\0';
    return p;
}

/*
 * Index DDL seen among the statements (pg_stat_statements tracks utility
 * statements; logs show them with log_statement = 'ddl'): a CREATE INDEX
 * is an index from that interval on, a DROP INDEX ends one. Logs carry no
 * catalog, so this is how a log-only diagnosis knows of indexes at all.
 */
static void note_ddl(struct diagnoser *d, const struct sample *s, const char *q)
{
    char w[NAME_LEN], name[NAME_LEN] = "", table[NAME_LEN] = "";
    const char *p = next_word(q, w, sizeof(w));
    bool create = strcmp(w, "create") == 0, drop = strcmp(w, "drop") == 0;
    if (!create && !drop)
        return;
    p = next_word(p, w, sizeof(w));
    if (strcmp(w, "unique") == 0)
        p = next_word(p, w, sizeof(w));
    if (strcmp(w, "index") != 0)
        return;
    for (;;) {
        p = next_word(p, w, sizeof(w));
        if (strcmp(w, "concurrently") && strcmp(w, "if") && strcmp(w, "not") && strcmp(w, "exists"))
            break;
    }
    snprintf(name, sizeof(name), "%s", w);
    if (drop) {
        for (size_t i = 0; i < d->nindexes; i++)
            if (strcmp(d->indexes[i].name, name) == 0 ||
                (strchr(name, '.') && strcmp(strchr(name, '.') + 1, d->indexes[i].name) == 0))
                d->indexes[i].dropped_us = s->start_us;
        return;
    }
    p = next_word(p, w, sizeof(w));
    if (strcmp(w, "on") != 0)
        return;
    p = next_word(p, w, sizeof(w));
    if (strcmp(w, "only") == 0)
        p = next_word(p, w, sizeof(w));
    snprintf(table, sizeof(table), "%s", w);
    const char *open = strchr(p, '(');
    if (!open || !*name || !*table || d->nindexes == DIAG_INDEXES)
        return;
    for (size_t i = 0; i < d->nindexes; i++)
        if (strcmp(d->indexes[i].name, name) == 0)
            return; /* the catalog already told */
    struct dindex *n = &d->indexes[d->nindexes++];
    memset(n, 0, sizeof(*n));
    snprintf(n->table, sizeof(n->table), "%s", table);
    snprintf(n->name, sizeof(n->name), "%s", name);
    snprintf(n->def, sizeof(n->def), "CREATE INDEX %s ON %s USING btree %s", name, table, open);
    n->first_us = s->start_us;
}

static void note_holders(struct diagnoser *d, const struct sample *s)
{
    int total = 0;
    for (int i = 0; i < s->nsessions; i++) {
        const struct sample_session *x = &s->sessions[i];
        total += strncmp(x->state, "idle in transaction", 19) == 0 ||
                 (strcmp(x->state, "active") == 0 && x->query_age_s >= 5);
    }
    /* Keep the largest crowd seen: it is what filled the pool. */
    if (total == 0 || total < d->holders_total)
        return;
    holders_clear(d);
    d->holders_total = total;
    for (int i = 0; i < s->nsessions; i++) {
        const struct sample_session *x = &s->sessions[i];
        bool holding = strncmp(x->state, "idle in transaction", 19) == 0 ||
                       (strcmp(x->state, "active") == 0 && x->query_age_s >= 5);
        if (!holding)
            continue;
        double age = x->xact_age_s > 0 ? x->xact_age_s : x->state_age_s;
        int k = 0;
        while (k < d->nholders && strcmp(d->holders[k].text, x->query) != 0)
            k++;
        if (k == d->nholders) {
            if (d->nholders == DIAG_HOLDERS)
                continue;
            d->holders[d->nholders++] = (struct dholder){ xstrdup(x->query), 0, 0 };
        }
        d->holders[k].count++;
        if (age > d->holders[k].max_age_s)
            d->holders[k].max_age_s = age;
    }
}

static void note_findings(struct diagnoser *d, const struct sample *s, const struct finding *f,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < d->nevents &&
               (d->events[k].kind != f[i].kind || strcmp(d->events[k].key, f[i].key)))
            k++;
        if (k < d->nevents) {
            if (f[i].value > d->events[k].value)
                d->events[k].value = f[i].value;
            d->events[k].last_us = s->end_us;
            continue;
        }
        if (d->nevents == DIAG_EVENTS)
            continue;
        struct devent *e = &d->events[d->nevents++];
        memset(e, 0, sizeof(*e));
        e->kind = f[i].kind;
        snprintf(e->key, sizeof(e->key), "%s", f[i].key ? f[i].key : "");
        e->fp = f[i].fingerprint;
        snprintf(e->table, sizeof(e->table), "%s", f[i].table ? f[i].table : "");
        e->start_us = s->start_us;
        e->detected_us = e->last_us = s->end_us;
        e->value = f[i].value;
        e->baseline = f[i].baseline;
        e->query = f[i].query ? xstrdup(f[i].query) : NULL;
        if (e->fp && f[i].query)
            text_remember(d, e->fp, f[i].query);
    }
}

/*
 * Forgets findings not seen for DIAG_BASELINE intervals: an incident that
 * is over no longer colours the next one, and the event table never fills.
 */
static void expire_events(struct diagnoser *d, const struct sample *s)
{
    int64_t horizon = s->end_us - (int64_t)DIAG_BASELINE * (s->end_us - s->start_us);
    size_t k = 0;
    for (size_t i = 0; i < d->nevents; i++) {
        if (d->events[i].last_us < horizon) {
            free(d->events[i].query);
            continue;
        }
        d->events[k++] = d->events[i];
    }
    d->nevents = k;
}

static int cmp_dt(const void *a, const void *b)
{
    const struct sample_table *x = a, *y = b;
    int64_t ax = x->seq_tup_read + x->n_tup_upd, ay = y->seq_tup_read + y->n_tup_upd;
    return (ax < ay) - (ax > ay);
}

void diagnoser_add(struct diagnoser *d, const struct sample *s, const struct finding *f, size_t n)
{
    if (s->gap)
        return;
    note_indexes(d, s);
    note_holders(d, s);
    d->started = true;
    if (s->baseline_only)
        return;
    struct dpoint *p = &d->points[(d->head + d->npoints) % DIAG_POINTS];
    if (d->npoints == DIAG_POINTS)
        d->head = (d->head + 1) % DIAG_POINTS;
    else
        d->npoints++;
    memset(p, 0, sizeof(*p));
    p->start_us = s->start_us;
    p->end_us = s->end_us;
    for (int i = 0; i < s->nqueries; i++) {
        if (s->queries[i].query && (s->queries[i].query[0] == 'c' || s->queries[i].query[0] == 'd'))
            note_ddl(d, s, s->queries[i].query);
        p->calls += s->queries[i].calls;
        p->total_ms += s->queries[i].total_ms;
        if (p->nq < DIAG_TOPQ) {
            const struct sample_query *q = &s->queries[i];
            p->q[p->nq++] = (struct dq){ q->fingerprint, q->calls, q->rows, q->total_ms };
            text_remember(d, q->fingerprint, q->query);
        }
    }
    struct sample_table *tabs = xmalloc(sizeof(*tabs) * (size_t)(s->ntables ? s->ntables : 1));
    if (s->ntables)
        memcpy(tabs, s->tables, sizeof(*tabs) * (size_t)s->ntables);
    qsort(tabs, (size_t)s->ntables, sizeof(*tabs), cmp_dt);
    for (int i = 0; i < s->ntables && p->nt < DIAG_TOPT; i++) {
        struct dt *t = &p->t[p->nt++];
        snprintf(t->name, sizeof(t->name), "%s.%s", tabs[i].schema, tabs[i].name);
        t->seq_tup_read = tabs[i].seq_tup_read;
        t->upd = tabs[i].n_tup_upd;
        t->hot_upd = tabs[i].n_tup_hot_upd;
    }
    free(tabs);
    p->connections = s->connections;
    p->usable = sample_usable_connections(s);
    p->idle_in_tx = s->idle_in_transaction;
    p->waiting = s->waiting;
    p->clients = s->distinct_clients;
    p->sessions = s->db.sessions;
    p->refused = s->log_refused;
    p->lock_waits = s->log_lock_waits;
    p->deadlocks = s->db.deadlocks > s->log_deadlocks ? s->db.deadlocks : s->log_deadlocks;
    expire_events(d, s);
    note_findings(d, s, f, n);
}

/* --- numbers over a window ---------------------------------------------- */

struct window {
    const struct dpoint *p[DIAG_POINTS];
    size_t n;
    double secs;
};

static double point_secs(const struct dpoint *p)
{
    double s = (double)(p->end_us - p->start_us) / 1e6;
    return s > 0.001 ? s : 0.001;
}

/* The intervals before start (at most DIAG_BASELINE) and from start on. */
static void windows(const struct diagnoser *d, int64_t start_us, struct window *before,
                    struct window *after)
{
    before->n = after->n = 0;
    before->secs = after->secs = 0;
    for (size_t i = 0; i < d->npoints; i++) {
        const struct dpoint *p = &d->points[(d->head + i) % DIAG_POINTS];
        struct window *w = p->start_us >= start_us ? after : before;
        w->p[w->n++] = p;
        w->secs += point_secs(p);
    }
    if (before->n > DIAG_BASELINE) {
        size_t drop = before->n - DIAG_BASELINE;
        before->secs = 0;
        for (size_t i = 0; i < DIAG_BASELINE; i++) {
            before->p[i] = before->p[i + drop];
            before->secs += point_secs(before->p[i]);
        }
        before->n = DIAG_BASELINE;
    }
}

struct qsum {
    int64_t calls, rows;
    double ms;
};

static struct qsum query_sum(const struct window *w, uint64_t fp)
{
    struct qsum s = { 0, 0, 0 };
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nq; k++)
            if (w->p[i]->q[k].fp == fp) {
                s.calls += w->p[i]->q[k].calls;
                s.rows += w->p[i]->q[k].rows;
                s.ms += w->p[i]->q[k].total_ms;
            }
    return s;
}

static double total_ms(const struct window *w)
{
    double ms = 0;
    for (size_t i = 0; i < w->n; i++)
        ms += w->p[i]->total_ms;
    return ms;
}

static int64_t total_calls(const struct window *w)
{
    int64_t c = 0;
    for (size_t i = 0; i < w->n; i++)
        c += w->p[i]->calls;
    return c;
}

static double rate(double v, const struct window *w)
{
    return w->secs > 0 ? v / w->secs : NAN;
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(round(v * 1000) / 1000) : json_null();
}

/* {calls_per_s, mean_ms, rows_per_call, time_share_pct} of one query over a window. */
static json_t *query_numbers(const struct window *w, uint64_t fp)
{
    struct qsum q = query_sum(w, fp);
    double all = total_ms(w);
    json_t *o = json_object();
    json_object_set_new(o, "calls_per_s", num(rate((double)q.calls, w)));
    json_object_set_new(o, "mean_ms", num(q.calls ? q.ms / (double)q.calls : NAN));
    json_object_set_new(o, "rows_per_call", num(q.calls ? (double)q.rows / (double)q.calls : NAN));
    json_object_set_new(o, "time_share_pct", num(all > 0 ? 100 * q.ms / all : NAN));
    json_object_set_new(o, "intervals", json_integer((json_int_t)w->n));
    return o;
}

static bool table_match(const char *full, const char *name)
{
    /* "public.orders" matches "orders" and "public.orders". */
    if (strcmp(full, name) == 0)
        return true;
    const char *dot = strchr(full, '.');
    return dot && !strchr(name, '.') && strcmp(dot + 1, name) == 0;
}

static void table_sums(const struct window *w, const char *table, int64_t *seq_tup_read,
                       int64_t *upd, int64_t *hot)
{
    *seq_tup_read = *upd = *hot = 0;
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nt; k++)
            if (table_match(w->p[i]->t[k].name, table)) {
                *seq_tup_read += w->p[i]->t[k].seq_tup_read;
                *upd += w->p[i]->t[k].upd;
                *hot += w->p[i]->t[k].hot_upd;
            }
}

/* --- building causes -------------------------------------------------------- */

static void add_column(struct diagnosis *g, const char *col)
{
    for (size_t i = 0; i < g->ncolumns; i++)
        if (strcmp(g->columns[i], col) == 0)
            return;
    g->columns = xrealloc(g->columns, (g->ncolumns + 1) * sizeof(char *));
    g->columns[g->ncolumns++] = xstrdup(col);
}

/* Splits "a, b DESC, c" from sqlfacts_index_candidate into columns. */
static void add_columns_csv(struct diagnosis *g, const char *csv)
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
            add_column(g, col);
        p += len;
        if (*p == ',')
            p++;
    }
}

struct index_gap {
    char table[NAME_LEN];
    char cols[256];
};

/* Whether a present index on table leads with col. */
static bool index_leads_with(const struct diagnoser *d, const char *table, const char *col)
{
    for (size_t i = 0; i < d->nindexes; i++) {
        const struct dindex *x = &d->indexes[i];
        struct indexdef def;
        if (x->dropped_us || !table_match(x->table, table) || indexdef_parse(x->def, &def) < 0)
            continue;
        if (!def.partial && indexdef_has_column(&def, col, 1))
            return true;
    }
    return false;
}

/*
 * Whether the query filters a table with no index leading with the first
 * column an index on it would take; prefer_table first when given.
 */
static bool find_index_gap(const struct diagnoser *d, const char *query, const char *prefer_table,
                           struct index_gap *gap)
{
    struct sqlfacts f;
    struct err err;
    if (!query || sqlfacts_parse(&f, query, &err) < 0) {
        sqlfacts_release(&f);
        return false;
    }
    bool found = false;
    for (int pass = 0; pass < 2 && !found; pass++) {
        for (size_t t = 0; t < f.n_tables && !found; t++) {
            const char *name = f.tables[t].name;
            bool preferred = prefer_table && *prefer_table && table_match(prefer_table, name);
            if ((pass == 0) != preferred)
                continue;
            struct buf cols = BUF_INIT;
            if (sqlfacts_index_candidate(&f, name, &cols) > 0) {
                char first[NAME_LEN];
                snprintf(first, sizeof(first), "%.*s", (int)strcspn(cols.ptr, ", "), cols.ptr);
                if (!index_leads_with(d, name, first)) {
                    snprintf(gap->table, sizeof(gap->table), "%s", name);
                    snprintf(gap->cols, sizeof(gap->cols), "%s", cols.ptr);
                    found = true;
                }
            }
            buf_release(&cols);
        }
    }
    sqlfacts_release(&f);
    return found;
}

/* The SET columns of an UPDATE on table, or 0 when query is not one. */
static size_t set_columns(const char *query, const char *table, char cols[][NAME_LEN], size_t max)
{
    struct sqlfacts f;
    struct err err;
    size_t n = 0;
    if (query && sqlfacts_parse(&f, query, &err) == 0 && f.command == SQLFACTS_CMD_UPDATE) {
        for (size_t i = 0; i < f.n_cols && n < max; i++) {
            const struct sqlfacts_column *c = &f.cols[i];
            if (c->role == SQLFACTS_ROLE_SET && c->table >= 0 &&
                table_match(table, f.tables[c->table].name))
                snprintf(cols[n++], NAME_LEN, "%s", c->name);
        }
    }
    sqlfacts_release(&f);
    return n;
}

static double share(const struct window *after, uint64_t fp)
{
    double all = total_ms(after);
    return all > 0 ? query_sum(after, fp).ms / all : 0;
}

static struct diagnosis *new_cause(struct diag_result *r, enum diag_cause cause, double score,
                                   const struct devent *e)
{
    r->items = xrealloc(r->items, (r->n + 1) * sizeof(*r->items));
    struct diagnosis *g = &r->items[r->n++];
    memset(g, 0, sizeof(*g));
    g->cause = cause;
    g->score = score;
    g->start_us = e->start_us;
    g->detected_us = e->detected_us;
    g->evidence = json_object();
    return g;
}

static void set_query(const struct diagnoser *d, struct diagnosis *g, uint64_t fp)
{
    g->fingerprint = fp;
    const char *t = text_of(d, fp);
    free(g->query);
    g->query = t ? xstrdup(t) : NULL;
}

static char *fmt(const char *f, ...) PRINTF_LIKE(1, 2);
static char *fmt(const char *f, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, f);
    buf_vaddf(&b, f, ap);
    va_end(ap);
    return buf_detach(&b, NULL);
}

/* The busiest query of the window that touches table (an UPDATE when want_update). */
static uint64_t busiest_on_table(const struct diagnoser *d, const struct window *w,
                                 const char *table, bool want_update)
{
    uint64_t best = 0;
    double best_ms = -1;
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nq; k++) {
            const struct dq *q = &w->p[i]->q[k];
            const char *text = text_of(d, q->fp);
            if (!text || q->total_ms <= best_ms)
                continue;
            struct sqlfacts f;
            struct err err;
            if (sqlfacts_parse(&f, text, &err) == 0 &&
                (!want_update || f.command == SQLFACTS_CMD_UPDATE) &&
                (want_update || f.command == SQLFACTS_CMD_SELECT) &&
                sqlfacts_find_table(&f, strchr(table, '.') ? strchr(table, '.') + 1 : table) >= 0) {
                best = q->fp;
                best_ms = q->total_ms;
            }
            sqlfacts_release(&f);
        }
    return best;
}

/*
 * The index on table that covers a column the UPDATE upd_fp sets; one
 * created while watching beats one that was always there. NULL if none.
 */
static const struct dindex *set_index(const struct diagnoser *d, const char *table, uint64_t upd_fp,
                                      char sets[][NAME_LEN], size_t *nsets)
{
    *nsets = set_columns(text_of(d, upd_fp), table, sets, 16);
    const struct dindex *best = NULL;
    for (size_t i = 0; i < d->nindexes; i++) {
        const struct dindex *x = &d->indexes[i];
        struct indexdef def;
        if (x->dropped_us || !table_match(x->table, table) || indexdef_parse(x->def, &def) < 0)
            continue;
        bool covers_set = false;
        for (size_t k = 0; k < *nsets && !covers_set; k++)
            covers_set = indexdef_has_column(&def, sets[k], def.ncols);
        if (covers_set && (!best || (x->first_us && !best->first_us)))
            best = x;
    }
    return best;
}

/* The table an UPDATE writes ("" if text is not an UPDATE). */
static void update_target(const char *text, char *table, size_t cap)
{
    struct sqlfacts f;
    struct err err;
    *table = '\0';
    if (text && sqlfacts_parse(&f, text, &err) == 0 && f.command == SQLFACTS_CMD_UPDATE)
        for (size_t i = 0; i < f.n_tables; i++)
            if (f.tables[i].flags & SQLFACTS_TAB_TARGET)
                snprintf(table, cap, "%s", f.tables[i].name);
    sqlfacts_release(&f);
}

/*
 * Without table statistics (a log), an UPDATE that slowed down or waits on
 * locks after an index on a column it sets was created is the same story.
 */
static bool update_behind_new_index(const struct diagnoser *d, uint64_t upd_fp, char *table,
                                    size_t cap)
{
    update_target(text_of(d, upd_fp), table, cap);
    if (!*table)
        return false;
    char sets[16][NAME_LEN];
    size_t nsets;
    const struct dindex *x = set_index(d, table, upd_fp, sets, &nsets);
    return x && x->first_us;
}

static void cause_hot_index(const struct diagnoser *d, struct diag_result *r,
                            const struct devent *e, const char *table, uint64_t upd_fp,
                            const struct window *before, const struct window *after)
{
    if (!upd_fp)
        upd_fp = busiest_on_table(d, after, table, true);
    char sets[16][NAME_LEN];
    size_t nsets;
    const struct dindex *best = set_index(d, table, upd_fp, sets, &nsets);
    struct diagnosis *g = new_cause(r, CAUSE_HOT_INDEX, best ? 0.95 : 0.6, e);
    g->table = xstrdup(table);
    if (upd_fp)
        set_query(d, g, upd_fp);
    if (best) {
        g->index = xstrdup(best->name);
        struct indexdef def;
        if (indexdef_parse(best->def, &def) == 0)
            for (size_t i = 0; i < def.ncols; i++)
                add_column(g, def.cols[i]);
        if (best->first_us)
            g->start_us = best->first_us < g->start_us ? best->first_us : g->start_us;
    } else {
        for (size_t k = 0; k < nsets; k++)
            add_column(g, sets[k]);
    }
    int64_t seq0, upd0, hot0, seq1, upd1, hot1;
    table_sums(before, table, &seq0, &upd0, &hot0);
    table_sums(after, table, &seq1, &upd1, &hot1);
    json_t *b = json_object(), *a = json_object();
    json_object_set_new(b, "hot_update_pct", num(upd0 ? 100.0 * (double)hot0 / (double)upd0 : NAN));
    json_object_set_new(a, "hot_update_pct", num(upd1 ? 100.0 * (double)hot1 / (double)upd1 : NAN));
    json_object_set_new(b, "updates_per_s", num(rate((double)upd0, before)));
    json_object_set_new(a, "updates_per_s", num(rate((double)upd1, after)));
    if (upd_fp) {
        json_object_set_new(b, "update_query", query_numbers(before, upd_fp));
        json_object_set_new(a, "update_query", query_numbers(after, upd_fp));
    }
    json_object_set_new(g->evidence, "before", b);
    json_object_set_new(g->evidence, "after", a);
    if (best)
        json_object_set_new(g->evidence, "index_definition", jsonstr_new(best->def));
    if (upd0 || upd1)
        g->summary = fmt("updates on %s lost HOT (%.0f%% -> %.0f%%)%s%s", table,
                         upd0 ? 100.0 * (double)hot0 / (double)upd0 : 0.0,
                         upd1 ? 100.0 * (double)hot1 / (double)upd1 : 0.0,
                         best ? " since index " : "", best ? best->name : "");
    else /* a log: no table statistics, only the statements */
        g->summary = fmt("updates on %s slowed down%s%s, which covers a column they set", table,
                         best ? " after the creation of index " : "", best ? best->name : "");
    g->fix = best
                 ? fmt("drop index %s, or rebuild it without the columns UPDATEs write", best->name)
                 : fmt("find the index on %s that covers a column the UPDATE sets", table);
}

static void cause_pool(const struct diagnoser *d, struct diag_result *r, const struct devent *e,
                       const struct window *before, const struct window *after)
{
    struct diagnosis *g = new_cause(r, CAUSE_POOL_EXHAUSTION, 0.97, e);
    const struct dholder *top = NULL;
    for (int i = 0; i < d->nholders; i++)
        if (!top || d->holders[i].count > top->count)
            top = &d->holders[i];
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
    int max0 = 0, max1 = 0, usable = 0, idle1 = 0;
    int64_t refused = 0;
    for (size_t i = 0; i < before->n; i++)
        max0 = before->p[i]->connections > max0 ? before->p[i]->connections : max0;
    for (size_t i = 0; i < after->n; i++) {
        const struct dpoint *p = after->p[i];
        max1 = p->connections > max1 ? p->connections : max1;
        idle1 = p->idle_in_tx > idle1 ? p->idle_in_tx : idle1;
        usable = p->usable;
        refused += p->refused;
    }
    json_t *b = json_object(), *a = json_object();
    json_object_set_new(b, "connections_max", json_integer(max0));
    json_object_set_new(a, "connections_max", json_integer(max1));
    json_object_set_new(a, "usable_connections", json_integer(usable));
    json_object_set_new(a, "idle_in_transaction_max", json_integer(idle1));
    json_object_set_new(a, "refused_connections", json_integer((json_int_t)refused));
    json_object_set_new(g->evidence, "before", b);
    json_object_set_new(g->evidence, "after", a);
    if (top) {
        json_object_set_new(g->evidence, "holding_sessions", json_integer(d->holders_total));
        json_object_set_new(g->evidence, "longest_hold_s", num(top->max_age_s));
    }
    g->summary = fmt("connections rose from %d to %d of %d usable; %d sessions held theirs "
                     "(idle in transaction or running long)",
                     max0, max1, usable, d->holders_total);
    g->fix = xstrdup("end the transactions the application leaves open; set "
                     "idle_in_transaction_session_timeout and statement_timeout, and keep the "
                     "pool below the usable connections");
}

static void cause_for_query(const struct diagnoser *d, struct diag_result *r, enum diag_cause cause,
                            double score, const struct devent *e, uint64_t fp,
                            const struct window *before, const struct window *after)
{
    struct diagnosis *g = new_cause(r, cause, score, e);
    set_query(d, g, fp);
    json_object_set_new(g->evidence, "before", query_numbers(before, fp));
    json_object_set_new(g->evidence, "after", query_numbers(after, fp));
    struct qsum q0 = query_sum(before, fp), q1 = query_sum(after, fp);
    double m0 = q0.calls ? q0.ms / (double)q0.calls : 0,
           m1 = q1.calls ? q1.ms / (double)q1.calls : 0;
    double c0 = rate((double)q0.calls, before), c1 = rate((double)q1.calls, after);
    struct index_gap gap;
    switch (cause) {
    case CAUSE_MISSING_INDEX:
        if (find_index_gap(d, g->query, e->table, &gap)) {
            g->table = xstrdup(gap.table);
            add_columns_csv(g, gap.cols);
            g->fix = fmt("create an index on %s (%s); sleuth advise checks it and gives the "
                         "CREATE INDEX CONCURRENTLY",
                         gap.table, gap.cols);
        }
        if (*e->table) {
            int64_t seq0, u0, h0, seq1, u1, h1;
            table_sums(before, e->table, &seq0, &u0, &h0);
            table_sums(after, e->table, &seq1, &u1, &h1);
            json_object_set_new(json_object_get(g->evidence, "before"), "seq_tup_read_per_s",
                                num(rate((double)seq0, before)));
            json_object_set_new(json_object_get(g->evidence, "after"), "seq_tup_read_per_s",
                                num(rate((double)seq1, after)));
        }
        g->summary = fmt("mean time %.2f ms -> %.2f ms at %.1f calls/s: no index serves its "
                         "filter on %s",
                         m0, m1, c1, g->table ? g->table : "its table");
        break;
    case CAUSE_DEPLOY_SURGE:
        g->summary =
            fmt("calls jumped from %.1f/s to %.1f/s (%.0fx)", c0, c1, c0 > 0 ? c1 / c0 : 0);
        g->fix = xstrdup("batch the per-row queries of the release (one query with IN or a join "
                         "instead of N), and index any new query that filters");
        break;
    case CAUSE_REDUNDANT_FETCH:
        g->summary = fmt("%.0f rows per call at %.1f calls/s",
                         q1.calls ? (double)q1.rows / (double)q1.calls : 0.0, c1);
        g->fix = xstrdup("select only the columns the page shows and add a LIMIT");
        break;
    default:
        g->summary = fmt("mean time %.2f ms -> %.2f ms", m0, m1);
        g->fix = xstrdup("compare its plan before and after (auto_explain), refresh statistics "
                         "(ANALYZE) and look at recent schema or data changes");
        break;
    }
    if (!g->table) {
        struct sqlfacts f;
        struct err err;
        if (g->query && sqlfacts_parse(&f, g->query, &err) == 0 && f.n_tables) {
            g->table = xstrdup(f.tables[0].name);
            if (cause == CAUSE_REDUNDANT_FETCH) {
                if (f.flags & SQLFACTS_SELECT_STAR)
                    add_column(g, "*");
                for (size_t i = 0; i < f.n_cols; i++)
                    if (f.cols[i].role == SQLFACTS_ROLE_SELECT)
                        add_column(g, f.cols[i].name);
                json_object_set_new(g->evidence, "limit",
                                    json_boolean(f.limit != SQLFACTS_LIMIT_NONE));
                json_object_set_new(g->evidence, "select_star",
                                    json_boolean(f.flags & SQLFACTS_SELECT_STAR));
            }
        }
        sqlfacts_release(&f);
    }
}

/* A SELECT of every column, or without a LIMIT, that is not an aggregate. */
static bool unbounded_select(const char *text)
{
    struct sqlfacts f;
    struct err err;
    bool yes = false;
    if (text && sqlfacts_parse(&f, text, &err) == 0 && f.command == SQLFACTS_CMD_SELECT &&
        !strstr(text, "count(") && !strstr(text, "sum(") && !strstr(text, "avg("))
        yes = (f.flags & SQLFACTS_SELECT_STAR) && f.limit == SQLFACTS_LIMIT_NONE;
    sqlfacts_release(&f);
    return yes;
}

/* The UPDATE that took the most time in the window, or 0. */
static uint64_t busiest_update(const struct diagnoser *d, const struct window *w)
{
    uint64_t best = 0;
    double best_ms = 0;
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nq; k++) {
            const struct dq *q = &w->p[i]->q[k];
            const char *text = text_of(d, q->fp);
            if (text && strncmp(text, "update ", 7) == 0 && q->total_ms > best_ms) {
                best = q->fp;
                best_ms = q->total_ms;
            }
        }
    return best;
}

static bool has_kind(const struct diagnoser *d, enum finding_kind k)
{
    for (size_t i = 0; i < d->nevents; i++)
        if (d->events[i].kind == k)
            return true;
    return false;
}

static void causes_from_event(const struct diagnoser *d, struct diag_result *r,
                              const struct devent *e, const struct window *before,
                              const struct window *after)
{
    double sh = e->fp ? share(after, e->fp) : 0;
    struct index_gap gap;
    uint64_t fp;
    char table[NAME_LEN];
    switch (e->kind) {
    case FK_HOT_RATIO_DROP:
        cause_hot_index(d, r, e, e->table, 0, before, after);
        break;
    case FK_CONN_SATURATION:
    case FK_CONN_REFUSED:
        cause_pool(d, r, e, before, after);
        break;
    case FK_CALL_SURGE:
        cause_for_query(d, r, CAUSE_DEPLOY_SURGE, 0.8 + 0.15 * sh, e, e->fp, before, after);
        break;
    case FK_ROWS_PER_CALL:
        cause_for_query(d, r, CAUSE_REDUNDANT_FETCH, 0.7 + 0.2 * sh, e, e->fp, before, after);
        break;
    case FK_NEW_HEAVY_QUERY:
    case FK_LATENCY_REGRESSION:
        if (update_behind_new_index(d, e->fp, table, sizeof(table)))
            cause_hot_index(d, r, e, table, e->fp, before, after);
        else if (find_index_gap(d, text_of(d, e->fp), NULL, &gap))
            cause_for_query(d, r, CAUSE_MISSING_INDEX, 0.5 + 0.4 * sh, e, e->fp, before, after);
        else if (unbounded_select(text_of(d, e->fp)))
            /* Without row counts (a log), SELECT * or no LIMIT on a heavy query is the lead. */
            cause_for_query(d, r, CAUSE_REDUNDANT_FETCH, 0.4 + 0.3 * sh, e, e->fp, before, after);
        else if (e->kind == FK_LATENCY_REGRESSION)
            cause_for_query(d, r, CAUSE_QUERY_REGRESSION, 0.3 + 0.4 * sh, e, e->fp, before, after);
        break;
    case FK_SEQ_SCAN_GROWTH:
        fp = busiest_on_table(d, after, e->table, false);
        if (fp && find_index_gap(d, text_of(d, fp), e->table, &gap))
            cause_for_query(d, r, CAUSE_MISSING_INDEX, 0.5 + 0.4 * share(after, fp), e, fp, before,
                            after);
        break;
    case FK_BLOCKING:
    case FK_LOCK_WAITS:
    case FK_DEADLOCKS:
        fp = busiest_update(d, after);
        if (fp && update_behind_new_index(d, fp, table, sizeof(table)))
            cause_hot_index(d, r, e, table, fp, before, after);
        else if (!has_kind(d, FK_HOT_RATIO_DROP) && !has_kind(d, FK_CONN_SATURATION)) {
            struct diagnosis *g = new_cause(r, CAUSE_LOCK_CONTENTION, 0.5, e);
            g->summary = fmt("%s: %s", finding_kind_name(e->kind), e->key);
            g->fix = xstrdup("find the root blocker's transaction and make it short");
            if (e->query)
                g->query = xstrdup(e->query);
        }
        break;
    default:
        break;
    }
}

/* Keeps the best-scored entry per (cause, fingerprint, table) and sorts by score. */
static int cmp_score(const void *a, const void *b)
{
    const struct diagnosis *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->detected_us > y->detected_us) - (x->detected_us < y->detected_us);
}

static void diagnosis_release(struct diagnosis *g)
{
    free(g->query);
    free(g->table);
    for (size_t i = 0; i < g->ncolumns; i++)
        free(g->columns[i]);
    free(g->columns);
    free(g->index);
    json_decref(g->evidence);
    free(g->summary);
    free(g->fix);
}

static bool same_cause(const struct diagnosis *a, const struct diagnosis *b)
{
    const char *ta = a->table ? a->table : "", *tb = b->table ? b->table : "";
    return a->cause == b->cause && a->fingerprint == b->fingerprint &&
           (table_match(ta, tb) || table_match(tb, ta));
}

static void dedupe(struct diag_result *r)
{
    qsort(r->items, r->n, sizeof(*r->items), cmp_score);
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = same_cause(&r->items[j], &r->items[i]);
        if (dup) {
            /* Keep the earliest detection on the survivor. */
            for (size_t j = 0; j < k; j++)
                if (same_cause(&r->items[j], &r->items[i]) &&
                    r->items[i].detected_us < r->items[j].detected_us) {
                    r->items[j].detected_us = r->items[i].detected_us;
                    r->items[j].start_us = r->items[i].start_us;
                }
            diagnosis_release(&r->items[i]);
        } else {
            r->items[k++] = r->items[i];
        }
    }
    r->n = k;
}

/* --- ruled out ------------------------------------------------------------- */

static void rule_out(struct diag_result *r, const char *suspicion, char *evidence)
{
    r->ruled_out = xrealloc(r->ruled_out, (r->nruled_out + 1) * sizeof(*r->ruled_out));
    r->ruled_out[r->nruled_out++] = (struct ruled_out){ xstrdup(suspicion), evidence };
}

static double median_int(const struct window *w, size_t off)
{
    if (!w->n)
        return NAN;
    double *v = xmalloc(w->n * sizeof(double));
    for (size_t i = 0; i < w->n; i++)
        v[i] = *(const int *)((const char *)w->p[i] + off);
    for (size_t i = 1; i < w->n; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    double m = v[w->n / 2];
    free(v);
    return m;
}

static void ruled_out(struct diag_result *r, const struct window *before,
                      const struct window *after)
{
    if (!before->n || !after->n || !r->n)
        return;
    const struct diagnosis *top = &r->items[0];
    double cl0 = median_int(before, offsetof(struct dpoint, clients));
    double cl1 = median_int(after, offsetof(struct dpoint, clients));
    int64_t s0 = 0, s1 = 0;
    for (size_t i = 0; i < before->n; i++)
        s0 += before->p[i]->sessions;
    for (size_t i = 0; i < after->n; i++)
        s1 += after->p[i]->sessions;
    struct qsum q0 = query_sum(before, top->fingerprint), q1 = query_sum(after, top->fingerprint);
    double other0 = rate((double)(total_calls(before) - q0.calls), before);
    double other1 = rate((double)(total_calls(after) - q1.calls), after);
    double sr0 = rate((double)s0, before), sr1 = rate((double)s1, after);
    bool sessions_known = cl0 > 0 || cl1 > 0 || s0 > 0 || s1 > 0;
    if (cl1 <= fmax(2 * cl0, cl0 + 5) && sr1 <= fmax(2 * sr0, sr0 + 1) &&
        other1 <= fmax(2 * other0, other0 + 10))
        rule_out(r, "traffic surge or DDoS",
                 sessions_known
                     ? fmt("distinct clients %.0f -> %.0f, new sessions %.2f/s -> %.2f/s, calls of "
                           "the other queries %.1f/s -> %.1f/s",
                           cl0, cl1, sr0, sr1, other0, other1)
                     : fmt("calls of the other queries %.1f/s -> %.1f/s (a log has no session "
                           "counts)",
                           other0, other1));
    double db0 = rate(total_ms(before), before) / 1000, db1 = rate(total_ms(after), after) / 1000;
    if (db1 >= 1.5 * db0 && db1 > 0.01)
        rule_out(r, "network",
                 fmt("the time is spent inside the database: execution time %.2f s/s -> %.2f s/s",
                     db0, db1));
    else if (top->cause == CAUSE_POOL_EXHAUSTION)
        rule_out(r, "network",
                 fmt("the database answered at its usual pace (%.2f s/s of execution before, "
                     "%.2f s/s after); connections were held by sessions, not lost",
                     db0, db1));
    double all1 = total_ms(after), all0 = total_ms(before);
    if (top->fingerprint && all1 > 0 && q1.ms / all1 >= 0.5)
        rule_out(r, "server resources",
                 fmt("the named query took %.0f%% of the database time during the incident "
                     "(%.0f%% before): the load is this query, not the machine",
                     100 * q1.ms / all1, all0 > 0 ? 100 * q0.ms / all0 : 0.0));
}

/*
 * A call surge and a new heavy query in one incident are one story: a
 * release. The surge is the cause; the new queries join its evidence, and
 * their own causes (a missing index) rank right after it.
 */
static void deploy_story(const struct diagnoser *d, struct diag_result *r,
                         const struct window *after)
{
    struct diagnosis *surge = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].cause == CAUSE_DEPLOY_SURGE && (!surge || r->items[i].score > surge->score))
            surge = &r->items[i];
    if (!surge || !has_kind(d, FK_NEW_HEAVY_QUERY))
        return;
    double top = 0;
    json_t *news = json_array();
    for (size_t i = 0; i < d->nevents; i++) {
        const struct devent *e = &d->events[i];
        if (e->kind != FK_NEW_HEAVY_QUERY || !e->fp)
            continue;
        json_t *o = json_object();
        char hex[17];
        snprintf(hex, sizeof(hex), "%016" PRIx64, e->fp);
        json_object_set_new(o, "fingerprint", json_string(hex));
        json_object_set_new(o, "query", jsonstr_new(text_of(d, e->fp)));
        json_object_set_new(o, "time_share_pct", num(100 * share(after, e->fp)));
        json_array_append_new(news, o);
    }
    json_object_set_new(surge->evidence, "new_queries", news);
    for (size_t i = 0; i < r->n; i++)
        if (&r->items[i] != surge && r->items[i].score > top)
            top = r->items[i].score;
    if (surge->score <= top)
        surge->score = fmin(1.0, top + 0.01);
}

void diagnoser_result(const struct diagnoser *d, struct diag_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!d->nevents)
        return;
    int64_t start = INT64_MAX;
    for (size_t i = 0; i < d->nevents; i++)
        start = d->events[i].start_us < start ? d->events[i].start_us : start;
    struct window *before = xmalloc(sizeof(*before)), *after = xmalloc(sizeof(*after));
    windows(d, start, before, after);
    for (size_t i = 0; i < d->nevents; i++)
        causes_from_event(d, out, &d->events[i], before, after);
    if (!out->n) {
        const struct devent *e = &d->events[0];
        struct diagnosis *g = new_cause(out, CAUSE_UNKNOWN, 0.1, e);
        g->summary = fmt("%s: %s", finding_kind_name(e->kind), e->key);
        g->fix = xstrdup("look at the alerts' evidence; no known outage pattern matches");
    }
    deploy_story(d, out, after);
    dedupe(out);
    ruled_out(out, before, after);
    free(before);
    free(after);
}

void diag_result_release(struct diag_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        diagnosis_release(&r->items[i]);
    free(r->items);
    for (size_t i = 0; i < r->nruled_out; i++) {
        free(r->ruled_out[i].suspicion);
        free(r->ruled_out[i].evidence);
    }
    free(r->ruled_out);
    memset(r, 0, sizeof(*r));
}

static json_t *time_json(int64_t ts_us)
{
    if (!ts_us)
        return json_null();
    struct buf b = BUF_INIT;
    tstamp_format(&b, ts_us, 0);
    json_t *j = json_string(b.ptr);
    buf_release(&b);
    return j;
}

json_t *diag_result_json(const struct diag_result *r)
{
    json_t *out = json_object(), *arr = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const struct diagnosis *g = &r->items[i];
        json_t *o = json_object();
        json_object_set_new(o, "cause", json_string(diag_cause_name(g->cause)));
        json_object_set_new(o, "score", num(g->score));
        if (g->fingerprint) {
            char hex[17];
            snprintf(hex, sizeof(hex), "%016" PRIx64, g->fingerprint);
            json_object_set_new(o, "fingerprint", json_string(hex));
        } else {
            json_object_set_new(o, "fingerprint", json_null());
        }
        json_object_set_new(o, "query", jsonstr_new(g->query));
        json_object_set_new(o, "table", jsonstr_new(g->table));
        json_t *cols = json_array();
        for (size_t k = 0; k < g->ncolumns; k++)
            json_array_append_new(cols, jsonstr_new(g->columns[k]));
        json_object_set_new(o, "columns", cols);
        json_object_set_new(o, "index", jsonstr_new(g->index));
        json_object_set_new(o, "start", time_json(g->start_us));
        json_object_set_new(o, "detected_at", time_json(g->detected_us));
        json_object_set_new(o, "evidence", json_incref(g->evidence));
        json_object_set_new(o, "summary", jsonstr_new(g->summary));
        json_object_set_new(o, "fix", jsonstr_new(g->fix));
        json_array_append_new(arr, o);
    }
    json_object_set_new(out, "diagnosis", arr);
    arr = json_array();
    for (size_t i = 0; i < r->nruled_out; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "suspicion", jsonstr_new(r->ruled_out[i].suspicion));
        json_object_set_new(o, "evidence", jsonstr_new(r->ruled_out[i].evidence));
        json_array_append_new(arr, o);
    }
    json_object_set_new(out, "ruled_out", arr);
    return out;
}
