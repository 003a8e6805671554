/*
 * The diagnoser's memory (see diagnose.h): each interval it keeps a small
 * summary (totals, the busiest queries and tables, connections and
 * sessions) in a ring, the texts of the queries it names, when each
 * finding was first and last seen, the largest crowd of sessions holding
 * connections, the root blockers, and the changes; and the window sums
 * that the rules of a diagnosis read.
 */
#include "diagnose/internal.h"

#include "util/buf.h"
#include "util/jsonstr.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct diagnoser *diagnoser_new(void)
{
    struct diagnoser *d = xcalloc(1, sizeof(*d));
    d->points = xcalloc(DIAG_POINTS, sizeof(*d->points));
    d->indexes = xcalloc(DIAG_INDEXES, sizeof(*d->indexes));
    return d;
}

static void holders_clear(struct diagnoser *d)
{
    for (int i = 0; i < d->nholders; i++) {
        free(d->holders[i].text);
        free(d->holders[i].app);
    }
    d->nholders = 0;
    d->holders_total = 0;
    d->holders_us = 0;
}

static void blocker_release(struct dblocker *b)
{
    free(b->query);
    free(b->app);
    free(b->user);
    free(b->state);
    free(b->object);
}

static void change_release(struct dchange *c)
{
    free((char *)c->c.object);
    free((char *)c->c.table);
    free((char *)c->c.detail);
    free((char *)c->c.statement);
    free((char *)c->c.app);
    free((char *)c->c.user);
}

/* Frees what d owns apart from its three arrays (points, indexes, base). */
static void release_owned(struct diagnoser *d)
{
    for (size_t i = 0; i < d->ntexts; i++)
        free(d->texts[i].text);
    for (size_t i = 0; i < d->nfacts; i++)
        if (d->facts[i].ok)
            sqlfacts_release(&d->facts[i].f);
    for (size_t i = 0; i < d->nevents; i++)
        free(d->events[i].query);
    for (int i = 0; i < d->nblockers; i++)
        blocker_release(&d->blockers[i]);
    for (size_t i = 0; i < d->nchanges; i++)
        change_release(&d->changes[(d->chead + i) % DIAG_CHANGES]);
    holders_clear(d);
}

void diagnoser_reset(struct diagnoser *d)
{
    release_owned(d);
    /* The arrays keep their memory: nothing reads past the counts that the memset zeroes. */
    struct dpoint *points = d->points, *base = d->base;
    struct dindex *indexes = d->indexes;
    memset(d, 0, sizeof(*d));
    d->points = points;
    d->indexes = indexes;
    d->base = base;
}

void diagnoser_free(struct diagnoser *d)
{
    if (!d)
        return;
    release_owned(d);
    free(d->base);
    free(d->indexes);
    free(d->points);
    free(d);
}

char *diag_fmt(const char *f, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, f);
    buf_vaddf(&b, f, ap);
    va_end(ap);
    return buf_detach(&b, NULL);
}

/* --- texts ----------------------------------------------------------------- */

void diag_remember(struct diagnoser *d, uint64_t fp, const char *text)
{
    d->clock++;
    for (size_t i = 0; i < d->ntexts; i++)
        if (d->texts[i].fp == fp) {
            d->texts[i].used = d->clock;
            /*
             * A text known late (pg_stat_statements' texts are read after
             * the counters, and a slow poll may leave one for the next)
             * replaces the empty one, and what was parsed of that goes.
             */
            if (!*d->texts[i].text && text && *text) {
                free(d->texts[i].text);
                d->texts[i].text = xstrdup(text);
                diag_forget_facts(d, fp);
            }
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

const char *diag_text_of(const struct diagnoser *d, uint64_t fp)
{
    for (size_t i = 0; i < d->ntexts; i++)
        if (d->texts[i].fp == fp)
            return d->texts[i].text;
    return NULL;
}

/* --- sessions -------------------------------------------------------------- */

static bool holding(const struct sample_session *x)
{
    return strncmp(x->state, "idle in transaction", 19) == 0 ||
           (strcmp(x->state, "active") == 0 && x->query_age_s >= 5 &&
            strcmp(x->wait_event_type ? x->wait_event_type : "", "Lock") != 0);
}

static void note_holders(struct diagnoser *d, const struct sample *s)
{
    int total = 0;
    for (int i = 0; i < s->nsessions; i++)
        total += holding(&s->sessions[i]);
    /* Keep the largest crowd seen: it is what filled the pool. */
    if (total == 0 || total < d->holders_total)
        return;
    holders_clear(d);
    d->holders_total = total;
    d->holders_us = s->end_us;
    for (int i = 0; i < s->nsessions; i++) {
        const struct sample_session *x = &s->sessions[i];
        if (!holding(x))
            continue;
        double age = x->xact_age_s > 0 ? x->xact_age_s : x->state_age_s;
        const char *app = x->app ? x->app : "";
        int k = 0;
        while (k < d->nholders &&
               (strcmp(d->holders[k].text, x->query) || strcmp(d->holders[k].app, app)))
            k++;
        if (k == d->nholders) {
            if (d->nholders == DIAG_HOLDERS)
                continue;
            d->holders[d->nholders++] =
                (struct dholder){ xstrdup(x->query), xstrdup(app), 0, 0, 0 };
        }
        d->holders[k].count++;
        d->holders[k].idle += strncmp(x->state, "idle in transaction", 19) == 0;
        if (age > d->holders[k].max_age_s)
            d->holders[k].max_age_s = age;
    }
}

static int session_index(const struct sample *s, int pid)
{
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].pid == pid)
            return i;
    return -1;
}

/* The root above waiter w (the first blocker that waits on nobody), or -1 with its pid. */
static int root_of(const struct sample *s, int w, int *root_pid)
{
    int cur = w, steps = 0;
    *root_pid = 0;
    while (steps++ < 64) {
        const struct sample_session *x = &s->sessions[cur];
        if (x->nblocked_by == 0)
            break;
        int pid = x->blocked_by[0];
        int idx = session_index(s, pid);
        *root_pid = pid;
        if (idx < 0 || idx == cur)
            return idx;
        cur = idx;
        if (s->sessions[cur].nblocked_by == 0)
            return cur;
    }
    return cur == w ? -1 : cur;
}

static void note_blockers(struct diagnoser *d, const struct sample *s)
{
    for (int i = 0; i < s->nsessions; i++) {
        const struct sample_session *w = &s->sessions[i];
        if (w->nblocked_by == 0)
            continue;
        int pid;
        int r = root_of(s, i, &pid);
        if (!pid)
            continue;
        const struct sample_session *root = r >= 0 ? &s->sessions[r] : NULL;
        int k = 0;
        while (k < d->nblockers && d->blockers[k].pid != pid)
            k++;
        if (k == d->nblockers) {
            if (d->nblockers == DIAG_BLOCKERS) {
                /* Forget the one seen longest ago. */
                k = 0;
                for (int j = 1; j < d->nblockers; j++)
                    if (d->blockers[j].last_us < d->blockers[k].last_us)
                        k = j;
                blocker_release(&d->blockers[k]);
            } else {
                d->nblockers++;
            }
            memset(&d->blockers[k], 0, sizeof(d->blockers[k]));
            d->blockers[k].pid = pid;
            d->blockers[k].first_us = s->start_us;
        }
        struct dblocker *b = &d->blockers[k];
        int64_t began = w->query_age_s >= 0 ? s->end_us - (int64_t)(w->query_age_s * 1e6) : 0;
        if (began > 0 && (!b->waits_since_us || began < b->waits_since_us))
            b->waits_since_us = began;
        if (b->last_us != s->end_us)
            b->victims = 0;
        b->last_us = s->end_us;
        b->victims++;
        if (root && root->query && *root->query) {
            free(b->query);
            b->query = xstrdup(root->query);
        }
        /*
         * A log knows a holder's session only while its transaction is open:
         * at the step it ends, the holder the waiters name is a bare pid,
         * which must not wipe what was known of it.
         */
        bool known = root && ((root->app && *root->app) || (root->user && *root->user));
        if (known || (root && !b->state)) {
            free(b->app);
            free(b->user);
            free(b->state);
            b->app = xstrdup(root->app ? root->app : "");
            b->user = xstrdup(root->user ? root->user : "");
            b->state = xstrdup(root->state ? root->state : "");
        }
        if (root && root->xact_age_s > b->xact_age_s)
            b->xact_age_s = root->xact_age_s;
        if (w->wait_object && *w->wait_object && !b->object)
            b->object = xstrdup(w->wait_object);
        else if (!b->object && w->query && *w->query) {
            /* No relation named (a log): the waiting statement's table. */
            struct sqlfacts f;
            struct err err;
            if (sqlfacts_parse(&f, w->query, &err) == 0 && f.n_tables)
                b->object = xstrdup(f.tables[0].name);
            sqlfacts_release(&f);
        }
    }
}

/* --- findings and changes ---------------------------------------------------- */

static void note_findings(struct diagnoser *d, const struct sample *s, const struct finding *f,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < d->nevents &&
               (d->events[k].kind != f[i].kind || strcmp(d->events[k].key, f[i].key)))
            k++;
        if (k < d->nevents) {
            struct devent *e = &d->events[k];
            /* Seen again after a quiet stretch: a new occurrence, with its own start. */
            if (e->last_us < s->start_us) {
                e->start_us = s->start_us;
                e->detected_us = s->end_us;
                e->value = f[i].value;
            }
            if (f[i].value > e->value)
                e->value = f[i].value;
            e->last_us = s->end_us;
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
        e->pid = f[i].pid;
        e->start_us = s->start_us;
        e->detected_us = e->last_us = s->end_us;
        e->value = f[i].value;
        e->baseline = f[i].baseline;
        e->query = f[i].query ? xstrdup(f[i].query) : NULL;
        if (e->fp && f[i].query)
            diag_remember(d, e->fp, f[i].query);
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

static char *dup_str(const char *s)
{
    return xstrdup(s ? s : "");
}

void diag_note_changes(struct diagnoser *d, const struct sample *s)
{
    for (int i = 0; i < s->nchanges; i++) {
        const struct sample_change *c = &s->changes[i];
        struct dchange *slot;
        if (d->nchanges == DIAG_CHANGES) {
            slot = &d->changes[d->chead];
            change_release(slot);
            d->chead = (d->chead + 1) % DIAG_CHANGES;
        } else {
            slot = &d->changes[(d->chead + d->nchanges) % DIAG_CHANGES];
            d->nchanges++;
        }
        slot->c = *c;
        slot->c.object = dup_str(c->object);
        slot->c.table = dup_str(c->table);
        slot->c.detail = dup_str(c->detail);
        slot->c.statement = dup_str(c->statement);
        slot->c.app = dup_str(c->app);
        slot->c.user = dup_str(c->user);
        diag_note_index_change(d, c);
    }
}

/* --- the interval's summary ---------------------------------------------------- */

static int cmp_dt(const void *a, const void *b)
{
    const struct sample_table *x = a, *y = b;
    int64_t ax = x->seq_tup_read + x->n_tup_upd, ay = y->seq_tup_read + y->n_tup_upd;
    return (ax < ay) - (ax > ay);
}

static void summarise(struct diagnoser *d, struct dpoint *p, const struct sample *s)
{
    memset(p, 0, sizeof(*p));
    p->start_us = s->start_us;
    p->end_us = s->end_us;
    for (int i = 0; i < s->nqueries; i++) {
        const struct sample_query *q = &s->queries[i];
        p->calls += q->calls;
        p->total_ms += q->total_ms;
        if (q->blks_hit + q->blks_read > 0)
            p->has_blks = true;
        if (p->nq < DIAG_TOPQ) {
            p->q[p->nq++] =
                (struct dq){ q->fingerprint, q->calls, q->rows, q->blks_hit + q->blks_read,
                             q->total_ms,    q->is_new };
            diag_remember(d, q->fingerprint, q->query);
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
    p->pool_refused = s->pgb_refused;
    p->pool_xacts = s->pgb_xacts;
    p->pool_wait_ms = s->pgb_wait_ms;
    for (int i = 0; i < s->npools; i++) {
        p->pool_waiting += s->pools[i].cl_waiting;
        if (s->pools[i].cl_waiting > 0 && 1000 * s->pools[i].maxwait_s > p->pool_oldest_ms)
            p->pool_oldest_ms = 1000 * s->pools[i].maxwait_s;
    }
    p->errors = s->log_errors;
    p->lock_waits = s->log_lock_waits;
    p->deadlocks = s->db.deadlocks > s->log_deadlocks ? s->db.deadlocks : s->log_deadlocks;
}

void diagnoser_add(struct diagnoser *d, const struct sample *s, const struct finding *f, size_t n)
{
    if (s->gap)
        return;
    note_holders(d, s);
    note_blockers(d, s);
    d->started = true;
    if (s->baseline_only)
        return;
    struct dpoint *p = &d->points[(d->head + d->npoints) % DIAG_POINTS];
    if (d->npoints == DIAG_POINTS)
        d->head = (d->head + 1) % DIAG_POINTS;
    else
        d->npoints++;
    summarise(d, p, s);
    expire_events(d, s);
    note_findings(d, s, f, n);
}

void diagnoser_begin(struct diagnoser *d, int64_t onset_us, int64_t normal_from_us)
{
    if (!d->base)
        d->base = xmalloc(DIAG_BASELINE * sizeof(*d->base));
    d->nbase = 0;
    d->base_onset_us = onset_us;
    /* The last DIAG_BASELINE intervals before the onset, none from an earlier incident. */
    size_t first = d->npoints;
    for (size_t i = 0; i < d->npoints; i++)
        if (d->points[(d->head + i) % DIAG_POINTS].start_us < onset_us)
            first = i;
    size_t from = first + 1 > DIAG_BASELINE ? first + 1 - DIAG_BASELINE : 0;
    for (size_t i = from; first < d->npoints && i <= first; i++) {
        const struct dpoint *p = &d->points[(d->head + i) % DIAG_POINTS];
        if (p->start_us >= normal_from_us)
            d->base[d->nbase++] = *p;
    }
    /* Holders and blockers seen before the onset belong to an earlier stretch. */
    if (d->holders_us && d->holders_us < onset_us)
        holders_clear(d);
}

int64_t diagnoser_first_call(const struct diagnoser *d, uint64_t fp, int64_t from_us,
                             int64_t onset_us)
{
    /* Back from the onset along the statement's run of calls: a longer gap ends the run. */
    int64_t first = onset_us;
    bool is_new = false;
    int gap = 0;
    for (size_t i = d->npoints; fp && i-- > 0 && gap <= DIAG_RUN_GAP;) {
        const struct dpoint *p = &d->points[(d->head + i) % DIAG_POINTS];
        if (p->start_us >= onset_us)
            continue;
        if (p->start_us < from_us)
            break;
        int k = 0;
        while (k < p->nq && (p->q[k].fp != fp || p->q[k].calls <= 0))
            k++;
        if (k == p->nq) {
            gap++;
            continue;
        }
        first = p->start_us;
        is_new = p->q[k].is_new;
        gap = 0;
    }
    /*
     * New there only when intervals without it were watched before: right
     * after the watch began every statement is new to the source.
     */
    return is_new && gap > DIAG_RUN_GAP ? first : onset_us;
}

/* --- windows ------------------------------------------------------------------- */

static double point_secs(const struct dpoint *p)
{
    double s = (double)(p->end_us - p->start_us) / 1e6;
    return s > 0.001 ? s : 0.001;
}

void diag_windows(const struct diagnoser *d, int64_t onset_us, int64_t end_us,
                  struct window *before, struct window *after)
{
    before->n = after->n = 0;
    before->secs = after->secs = 0;
    bool kept = d->base && d->base_onset_us == onset_us;
    for (size_t i = 0; kept && i < d->nbase; i++) {
        before->p[before->n++] = &d->base[i];
        before->secs += point_secs(&d->base[i]);
    }
    for (size_t i = 0; i < d->npoints; i++) {
        const struct dpoint *p = &d->points[(d->head + i) % DIAG_POINTS];
        if (p->start_us >= onset_us) {
            if (end_us && p->start_us >= end_us)
                continue;
            after->p[after->n++] = p;
            after->secs += point_secs(p);
        } else if (!kept) {
            before->p[before->n++] = p;
            before->secs += point_secs(p);
        }
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

struct qsum diag_query_sum(const struct window *w, uint64_t fp)
{
    struct qsum s = { 0, 0, 0, 0, false };
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nq; k++)
            if (w->p[i]->q[k].fp == fp) {
                s.calls += w->p[i]->q[k].calls;
                s.rows += w->p[i]->q[k].rows;
                s.blks += w->p[i]->q[k].blks;
                s.ms += w->p[i]->q[k].total_ms;
                s.has_blks |= w->p[i]->has_blks;
            }
    return s;
}

double diag_total_ms(const struct window *w)
{
    double ms = 0;
    for (size_t i = 0; i < w->n; i++)
        ms += w->p[i]->total_ms;
    return ms;
}

int64_t diag_total_calls(const struct window *w)
{
    int64_t c = 0;
    for (size_t i = 0; i < w->n; i++)
        c += w->p[i]->calls;
    return c;
}

int64_t diag_sum(const struct window *w, size_t off)
{
    int64_t v = 0;
    for (size_t i = 0; i < w->n; i++)
        v += *(const int64_t *)((const char *)w->p[i] + off);
    return v;
}

int diag_max_int(const struct window *w, size_t off)
{
    int v = 0;
    for (size_t i = 0; i < w->n; i++) {
        int x = *(const int *)((const char *)w->p[i] + off);
        v = x > v ? x : v;
    }
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double diag_median_int(const struct window *w, size_t off)
{
    if (!w->n)
        return NAN;
    double *v = xmalloc(w->n * sizeof(double));
    for (size_t i = 0; i < w->n; i++)
        v[i] = *(const int *)((const char *)w->p[i] + off);
    qsort(v, w->n, sizeof(double), cmp_double);
    double m = v[w->n / 2];
    free(v);
    return m;
}

double diag_rate(double v, const struct window *w)
{
    return w->secs > 0 ? v / w->secs : NAN;
}

json_t *diag_query_numbers(const struct window *w, uint64_t fp)
{
    struct qsum q = diag_query_sum(w, fp);
    double all = diag_total_ms(w);
    json_t *o = json_object();
    json_object_set_new(o, "calls_per_s", jsonstr_num(diag_rate((double)q.calls, w)));
    json_object_set_new(o, "mean_ms", jsonstr_num(q.calls ? q.ms / (double)q.calls : NAN));
    /* A log counts no rows (auto_explain aside): 0 rows and no blocks there is unknown. */
    bool rows_known = q.rows > 0 || q.has_blks;
    json_object_set_new(
        o, "rows_per_call",
        jsonstr_num(q.calls && rows_known ? (double)q.rows / (double)q.calls : NAN));
    json_object_set_new(
        o, "blocks_per_call",
        jsonstr_num(q.calls && q.has_blks ? (double)q.blks / (double)q.calls : NAN));
    json_object_set_new(o, "time_share_pct", jsonstr_num(all > 0 ? 100 * q.ms / all : NAN));
    json_object_set_new(o, "intervals", json_integer((json_int_t)w->n));
    return o;
}

bool diag_table_match(const char *full, const char *name)
{
    if (strcmp(full, name) == 0)
        return true;
    const char *dot = strchr(full, '.');
    if (dot && !strchr(name, '.') && strcmp(dot + 1, name) == 0)
        return true;
    dot = strchr(name, '.');
    return dot && !strchr(full, '.') && strcmp(dot + 1, full) == 0;
}

void diag_table_sums(const struct window *w, const char *table, int64_t *seq_tup_read, int64_t *upd,
                     int64_t *hot)
{
    *seq_tup_read = *upd = *hot = 0;
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nt; k++)
            if (diag_table_match(w->p[i]->t[k].name, table)) {
                *seq_tup_read += w->p[i]->t[k].seq_tup_read;
                *upd += w->p[i]->t[k].upd;
                *hot += w->p[i]->t[k].hot_upd;
            }
}

double diag_share(const struct window *w, uint64_t fp)
{
    double all = diag_total_ms(w);
    return all > 0 ? diag_query_sum(w, fp).ms / all : 0;
}

bool diag_event_in(const struct devent *e, int64_t onset_us, int64_t end_us)
{
    return e->last_us > onset_us && (!end_us || e->start_us < end_us);
}

bool diag_has_kind(const struct diagnoser *d, enum finding_kind k, int64_t onset_us, int64_t end_us)
{
    for (size_t i = 0; i < d->nevents; i++)
        if (d->events[i].kind == k && diag_event_in(&d->events[i], onset_us, end_us))
            return true;
    return false;
}
