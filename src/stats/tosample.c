/*
 * Log timeline to samples (see tosample.h). Each fingerprint's fine series
 * is sorted by bucket, so one cursor per fingerprint walks them all in a
 * single pass over the steps; the transactions are sorted by their start,
 * so an active list sweeps them the same way.
 */
#include "stats/tosample.h"

#include "stats/internal.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/*
 * Rows per call a plan expects: the top node's estimate ("rows=N" in a
 * text plan, "Plan Rows": N in a JSON one), or -1 without a plan. A log
 * holds no row counts; a logged plan is the only hint of them.
 */
static int64_t plan_rows(const char *plan)
{
    if (!plan)
        return -1;
    const char *p = strstr(plan, "rows=");
    size_t skip = 5;
    const char *j = strstr(plan, "\"Plan Rows\":");
    if (j && (!p || j < p)) {
        p = j;
        skip = 12;
    }
    if (!p)
        return -1;
    p += skip;
    while (*p == ' ')
        p++;
    char *end;
    long long n = strtoll(p, &end, 10);
    return end == p || n < 0 ? -1 : (int64_t)n;
}

/* Empty steps walked one by one before a stretch becomes one gap. */
#define MAX_QUIET_STEPS 120
/* Sessions put in one sample, the oldest first (as the poller's default). */
#define MAX_SESSIONS 200

static const int64_t steps_s[] = { 1,   2,   3,   5,   10,   15,   20,   30,    60,
                                   120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400 };

int64_t collector_step_us(const struct collector *c, int min_calls)
{
    if (!c->nfine)
        return 0;
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (size_t i = 0; i < c->nfine; i++) {
        if (c->fine[i].bucket < first)
            first = c->fine[i].bucket;
        if (c->fine[i].bucket > last)
            last = c->fine[i].bucket;
    }
    int64_t span = last - first + c->fine_us;
    /* The most called query's rate over the stretch it was called in. */
    double rate = 0;
    for (size_t i = 0; i < c->nq; i++) {
        const struct qstat *q = &c->q[i];
        if (!q->nfine)
            continue;
        int64_t qs = q->fine[q->nfine - 1].bucket - q->fine[0].bucket + c->fine_us;
        uint64_t calls = 0;
        for (size_t k = 0; k < q->nfine; k++)
            calls += q->fine[k].calls;
        double r = (double)calls / ((double)qs / 1e6);
        if (r > rate)
            rate = r;
    }
    double want = 3.0 * (min_calls > 0 ? min_calls : 1);
    int64_t step = 0;
    for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++) {
        int64_t s = steps_s[i] * 1000000;
        if (s % c->fine_us)
            continue;
        step = s;
        if (rate * (double)steps_s[i] >= want && span / s <= 20000)
            break;
    }
    if (!step)
        step = c->fine_us;
    /* Keep 20 steps in the log, so that there is a normal stretch to judge against. */
    while (step > c->fine_us && span / step < 20) {
        int64_t finer = c->fine_us;
        for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++) {
            int64_t s = steps_s[i] * 1000000;
            if (s < step && s % c->fine_us == 0)
                finer = s;
        }
        step = finer;
    }
    return step;
}

static int cmp_fine(const void *a, const void *b)
{
    const struct fine_bucket *x = *(const struct fine_bucket *const *)a;
    const struct fine_bucket *y = *(const struct fine_bucket *const *)b;
    return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

static int cmp_time(const void *a, const void *b)
{
    const struct sample_query *x = a, *y = b;
    if (x->total_ms != y->total_ms)
        return x->total_ms > y->total_ms ? -1 : 1;
    return (x->fingerprint > y->fingerprint) - (x->fingerprint < y->fingerprint);
}

static int64_t floor_to(int64_t ts, int64_t step)
{
    int64_t b = ts / step * step;
    return b > ts ? b - step : b;
}

struct walk {
    const struct collector *c;
    const struct fine_bucket **fine; /* by bucket */
    size_t *cursor;                  /* per query, into q->fine */
    int64_t *rows;                   /* per query: rows per call from its plan, -1 if none */
    size_t change;                   /* next log change */
    size_t xact;                     /* next transaction to start */
    size_t *active;                  /* transactions started and not ended */
    size_t nactive;
    size_t wait;   /* next lock wait */
    size_t *waits; /* lock waits that began and go on */
    size_t nwaits;
    int64_t new_from;
    /* Sessions connected, from the connection and disconnection lines (0 when not logged). */
    int64_t *level;       /* after each fine bucket (by bucket order) */
    int64_t now;          /* the level after the last bucket walked */
    int usable;           /* the level at which the server refused connections: its usable slots */
    size_t pool;          /* the first PgBouncer stats line that may reach into the step */
    size_t pool_wait;     /* the first client wait that may reach into it */
    int64_t pool_longest; /* the longest period of a stats line */
    int64_t pool_wait_longest; /* and the longest client wait */
};

static const char *name_of(const struct collector *c, uint32_t id, struct sample *s)
{
    struct str n = names_get(&c->names, id);
    return arena_strdup(&s->arena, n);
}

static const char *text_of(const struct collector *c, uint64_t fp)
{
    uint32_t idx;
    if (fp && hmap_get(&c->by_fp, fp, NULL, NULL, &idx))
        return c->q[idx].query;
    return "";
}

static void add_queries(struct walk *w, struct sample *s, int64_t b, int64_t step)
{
    const struct collector *c = w->c;
    s->queries = arena_alloc(&s->arena, sizeof(*s->queries) * (c->nq ? c->nq : 1));
    for (size_t i = 0; i < c->nq; i++) {
        const struct qstat *q = &c->q[i];
        uint64_t calls = 0;
        int64_t total = 0;
        while (w->cursor[i] < q->nfine && q->fine[w->cursor[i]].bucket < b + step) {
            if (q->fine[w->cursor[i]].bucket >= b) {
                calls += q->fine[w->cursor[i]].calls;
                total += q->fine[w->cursor[i]].total_us;
            }
            w->cursor[i]++;
        }
        if (!calls || q->own) /* the watcher's polls are not the workload (as live) */
            continue;
        s->queries[s->nqueries++] = (struct sample_query){
            .fingerprint = q->fingerprint,
            .query = q->query,
            .calls = (int64_t)calls,
            .total_ms = (double)total / 1000.0,
            .is_new = q->first_us >= b && q->first_us < b + step && b >= w->new_from,
            .rows = w->rows[i] >= 0 ? w->rows[i] * (int64_t)calls : 0,
        };
    }
    qsort(s->queries, (size_t)s->nqueries, sizeof(*s->queries), cmp_time);
}

static void add_changes(struct walk *w, struct sample *s, int64_t b, int64_t step)
{
    const struct collector *c = w->c;
    while (w->change < c->nchanges && c->changes[w->change].ts_us < b + step) {
        const struct log_change *x = &c->changes[w->change++];
        if (x->ts_us < b)
            continue;
        struct sample_change ch = { (enum sample_change_kind)x->kind,
                                    x->ts_us,
                                    x->object,
                                    x->table,
                                    x->detail,
                                    x->statement,
                                    name_of(c, x->app, s),
                                    name_of(c, x->user, s),
                                    x->pid };
        sample_add_change(s, &ch);
    }
    for (size_t i = 0; i < c->napps; i++) {
        const struct app_seen *a = &c->apps[i];
        if (a->first_us < b || a->first_us >= b + step || b < w->new_from)
            continue;
        const char *name = name_of(c, a->name, s);
        struct sample_change ch = { CHANGE_NEW_APP, a->first_us, name, "", "", "", name, "", 0 };
        sample_add_change(s, &ch);
    }
}

static struct sample_session *session_of(struct sample *s, int pid)
{
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].pid == pid)
            return &s->sessions[i];
    if (s->nsessions >= MAX_SESSIONS)
        return NULL;
    struct sample_session *x = &s->sessions[s->nsessions++];
    memset(x, 0, sizeof(*x));
    x->pid = pid;
    x->user = x->db = x->app = x->client = x->state = x->query = "";
    x->wait_event_type = x->wait_event = x->wait_object = "";
    x->query_age_s = x->xact_age_s = x->state_age_s = -1;
    return x;
}

/*
 * The transactions open at the step's end, as sessions: idle in
 * transaction when their last statement is a second old or more.
 */
static void add_holders(struct walk *w, struct sample *s, int64_t end)
{
    const struct collector *c = w->c;
    while (w->xact < c->nxacts && c->xacts[w->xact].begin_us < end)
        w->active[w->nactive++] = w->xact++;
    size_t k = 0;
    for (size_t i = 0; i < w->nactive; i++)
        if (c->xacts[w->active[i]].end_us > end)
            w->active[k++] = w->active[i];
    w->nactive = k;
    for (size_t i = 0; i < w->nactive && s->nsessions < MAX_SESSIONS; i++) {
        const struct xact_rec *r = &c->xacts[w->active[i]];
        struct sample_session *x = session_of(s, r->pid);
        if (!x)
            break;
        x->app = name_of(c, r->app, s);
        x->user = name_of(c, r->user, s);
        x->query = text_of(c, r->last_fp);
        double idle = (double)(end - r->last_us) / 1e6;
        bool statement = r->end == XACT_STATEMENT;
        x->state = !statement && idle >= 1 ? "idle in transaction" : "active";
        x->xact_age_s = statement ? -1 : (double)(end - r->begin_us) / 1e6;
        x->query_age_s = statement ? (double)(end - r->begin_us) / 1e6 : idle;
        x->state_age_s = statement ? x->query_age_s : idle;
        if (strcmp(x->state, "active") == 0)
            s->active++;
        else
            s->idle_in_transaction++;
    }
}

static void add_waiter(struct sample *s, const struct lock_wait_rec *lw, int64_t end)
{
    struct sample_session *x = session_of(s, lw->pid);
    if (!x)
        return;
    if (!*x->state)
        x->state = "active";
    x->wait_event_type = "Lock";
    x->wait_event = arena_strdup(&s->arena, str_cstr(lw->mode));
    if (lw->statement)
        x->query = arena_strdup(&s->arena, str_cstr(lw->statement));
    x->query_age_s = (double)(end - (lw->ts_us - lw->waited_us)) / 1e6;
    x->blocked_by = arena_alloc(&s->arena, sizeof(int) * (size_t)(lw->nholders ? lw->nholders : 1));
    for (int k = 0; k < lw->nholders; k++)
        x->blocked_by[k] = lw->holders[k];
    x->nblocked_by = lw->nholders;
    s->waiting++;
    for (int k = 0; k < lw->nholders; k++) {
        struct sample_session *h = session_of(s, lw->holders[k]);
        if (h && !*h->state)
            h->state = "active"; /* a holder whose transaction the log did not show */
    }
}

/*
 * The sessions waiting on a lock in the step: those whose wait line is in
 * it, and those still waiting at its end (their end is known and later).
 */
static void add_waiters(struct walk *w, struct sample *s, int64_t b, int64_t end)
{
    const struct collector *c = w->c;
    while (w->wait < c->nlockwaits && c->lockwaits[w->wait].ts_us < end) {
        const struct lock_wait_rec *lw = &c->lockwaits[w->wait];
        if (lw->ts_us >= b)
            add_waiter(s, lw, end);
        if (lw->end_us != INT64_MAX && lw->end_us >= end)
            w->waits[w->nwaits++] = w->wait;
        w->wait++;
    }
    size_t k = 0;
    for (size_t i = 0; i < w->nwaits; i++) {
        const struct lock_wait_rec *lw = &c->lockwaits[w->waits[i]];
        if (lw->end_us < end)
            continue;
        if (lw->ts_us < b)
            add_waiter(s, lw, end);
        w->waits[k++] = w->waits[i];
    }
    w->nwaits = k;
}

/*
 * Sessions connected after each fine bucket, from the connection and
 * disconnection lines: their running sum, raised so that it never goes
 * below zero (sessions that were there before the log began). The server
 * refuses a connection exactly when every usable slot is taken, so the
 * highest level at a refusal is the usable slots. Nothing without both
 * kinds of lines (log_connections, log_disconnections).
 */
static void connection_levels(struct walk *w)
{
    const struct collector *c = w->c;
    if (!c->connections || !c->disconnections)
        return;
    w->level = xmalloc(c->nfine * sizeof(*w->level));
    int64_t run = 0, low = 0;
    for (size_t i = 0; i < c->nfine; i++) {
        run += (int64_t)w->fine[i]->connections - (int64_t)w->fine[i]->disconnections;
        w->level[i] = run;
        if (run < low)
            low = run;
    }
    for (size_t i = 0; i < c->nfine; i++) {
        w->level[i] -= low;
        if (w->fine[i]->refused && w->level[i] > w->usable)
            w->usable = (int)w->level[i];
    }
}

/*
 * What PgBouncer's stats lines say of [b, e): each line's rates over the
 * part of its period inside the step. Its wait is per second of the
 * period (avg_wait_time), so the step's total wait is that times the
 * seconds shared, as SHOW STATS's total_wait_time delta would give live.
 */
static void add_pooler(struct walk *w, struct sample *s, int64_t b, int64_t e)
{
    const struct collector *c = w->c;
    s->has_pgbouncer = c->npool_stats > 0 || c->pool_refused > 0;
    while (w->pool < c->npool_stats && c->pool_stats[w->pool].ts_us <= b)
        w->pool++;
    double xacts = 0, queries = 0, wait_ms = 0;
    for (size_t i = w->pool; i < c->npool_stats && c->pool_stats[i].ts_us - w->pool_longest < e;
         i++) {
        const struct pool_stat *p = &c->pool_stats[i];
        int64_t from = p->ts_us - p->period_us > b ? p->ts_us - p->period_us : b;
        int64_t to = p->ts_us < e ? p->ts_us : e;
        if (to <= from)
            continue;
        double sec = (double)(to - from) / 1e6;
        xacts += sec * (double)p->avg.xacts_per_s;
        queries += sec * (double)p->avg.queries_per_s;
        wait_ms += sec * (double)p->avg.wait_us / 1000;
    }
    /* The clients the log shows waiting (those that gave up): one pool for them all. */
    int waiting = 0;
    double oldest_s = 0;
    while (w->pool_wait < c->npool_waits && c->pool_waits[w->pool_wait].end_us <= b)
        w->pool_wait++;
    /* By their end: past the longest wait after the step, none can have started in it. */
    for (size_t i = w->pool_wait;
         i < c->npool_waits && c->pool_waits[i].end_us - w->pool_wait_longest < e; i++) {
        const struct pool_wait *x = &c->pool_waits[i];
        if (x->start_us >= e)
            continue;
        waiting++;
        double s_waited = (double)((x->end_us < e ? x->end_us : e) - x->start_us) / 1e6;
        if (s_waited > oldest_s)
            oldest_s = s_waited;
    }
    if (waiting) {
        s->pools = arena_alloc(&s->arena, sizeof(*s->pools));
        s->pools[0] = (struct sample_pool){
            .db = "", .user = "", .cl_waiting = waiting, .maxwait_s = oldest_s
        };
        s->npools = 1;
    }
    s->pgb_xacts = llround(xacts);
    s->pgb_queries = llround(queries);
    s->pgb_wait_ms = wait_ms;
}

static void fill_step(struct walk *w, struct sample *s, int64_t b, int64_t step, size_t *k)
{
    const struct collector *c = w->c;
    s->has_log = true;
    while (*k < c->nfine && w->fine[*k]->bucket < b + step) {
        const struct fine_bucket *f = w->fine[*k];
        if (f->bucket >= b) {
            s->log_errors += f->errors;
            s->log_refused += f->refused;
            s->pgb_refused += f->pool_refused;
            s->log_lock_waits += f->lock_waits;
            s->log_deadlocks += f->deadlocks;
            s->db.sessions += f->connections;
        }
        if (w->level)
            w->now = w->level[*k];
        (*k)++;
    }
    s->connections = (int)w->now;
    if (w->usable > 0)
        s->max_connections = w->usable;
    add_queries(w, s, b, step);
    add_changes(w, s, b, step);
    s->sessions = arena_alloc(&s->arena, sizeof(*s->sessions) * MAX_SESSIONS);
    add_holders(w, s, b + step);
    add_waiters(w, s, b, b + step);
    add_pooler(w, s, b, b + step);
}

void collector_to_samples(const struct collector *c, int64_t step_us, int warmup_steps,
                          collector_sample_fn *fn, void *ctx)
{
    if (!c->nfine || step_us <= 0)
        return;
    struct walk w = { .c = c };
    w.fine = xmalloc(c->nfine * sizeof(*w.fine));
    for (size_t i = 0; i < c->nfine; i++)
        w.fine[i] = &c->fine[i];
    qsort(w.fine, c->nfine, sizeof(*w.fine), cmp_fine);
    w.cursor = xcalloc(c->nq ? c->nq : 1, sizeof(size_t));
    w.rows = xmalloc((c->nq ? c->nq : 1) * sizeof(int64_t));
    for (size_t i = 0; i < c->nq; i++)
        w.rows[i] = plan_rows(c->q[i].slowest.plan);
    w.active = xmalloc((c->nxacts ? c->nxacts : 1) * sizeof(size_t));
    w.waits = xmalloc((c->nlockwaits ? c->nlockwaits : 1) * sizeof(size_t));
    connection_levels(&w);
    for (size_t i = 0; i < c->npool_stats; i++)
        if (c->pool_stats[i].period_us > w.pool_longest)
            w.pool_longest = c->pool_stats[i].period_us;
    for (size_t i = 0; i < c->npool_waits; i++)
        if (c->pool_waits[i].end_us - c->pool_waits[i].start_us > w.pool_wait_longest)
            w.pool_wait_longest = c->pool_waits[i].end_us - c->pool_waits[i].start_us;
    int64_t first = floor_to(w.fine[0]->bucket, step_us);
    int64_t last = w.fine[c->nfine - 1]->bucket;
    w.new_from = first + (int64_t)warmup_steps * step_us;
    size_t k = 0;
    for (int64_t b = first; b <= last; b += step_us) {
        struct sample s;
        sample_init(&s);
        s.start_us = b;
        s.end_us = b + step_us;
        while (k < c->nfine && w.fine[k]->bucket < b)
            k++;
        if (k < c->nfine && w.fine[k]->bucket - b > MAX_QUIET_STEPS * step_us) {
            /*
             * Hours without a line: the server was down or the log is
             * cut, not idle. One gap stands for the stretch, so that a
             * log with lines years apart costs nothing.
             */
            s.gap = true;
            s.end_us = floor_to(w.fine[k]->bucket, step_us);
            fn(ctx, &s);
            b = s.end_us - step_us; /* before the release, which clears s */
            sample_release(&s);
            continue;
        }
        fill_step(&w, &s, b, step_us, &k);
        fn(ctx, &s);
        sample_release(&s);
    }
    free(w.level);
    free(w.waits);
    free(w.active);
    free(w.rows);
    free(w.cursor);
    free(w.fine);
}

int64_t collector_change_point(const struct collector *c, uint64_t fp, int64_t at_us,
                               int64_t window_us, bool rising)
{
    /* The points in the window: (bucket, weight, value sum) of a query, or of the whole log. */
    size_t n = 0, cap = 64;
    struct pt {
        int64_t bucket;
        double w, sum;
    } *v = xmalloc(cap * sizeof(*v));
    if (fp) {
        uint32_t idx;
        if (hmap_get(&c->by_fp, fp, NULL, NULL, &idx)) {
            const struct qstat *q = &c->q[idx];
            for (size_t i = 0; i < q->nfine; i++) {
                const struct series_point *p = &q->fine[i];
                if (p->bucket < at_us - window_us || p->bucket > at_us + window_us)
                    continue;
                v = xgrow(v, &cap, n + 1, sizeof(*v));
                v[n++] = (struct pt){ p->bucket, (double)p->calls, (double)p->total_us };
            }
        }
    } else {
        for (size_t i = 0; i < c->nfine; i++) {
            const struct fine_bucket *f = &c->fine[i];
            if (f->bucket < at_us - window_us || f->bucket > at_us + window_us)
                continue;
            v = xgrow(v, &cap, n + 1, sizeof(*v));
            v[n++] = (struct pt){ f->bucket, 1.0, (double)f->total_us };
        }
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && v[j - 1].bucket > v[j].bucket; j--) {
                struct pt t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
    }
    int64_t best_at = at_us;
    double best = 0, wl = 0, sl = 0, wall = 0, sall = 0;
    for (size_t i = 0; i < n; i++) {
        wall += v[i].w;
        sall += v[i].sum;
    }
    /* Split before point i: left [0, i), right [i, n). */
    for (size_t i = 0; i + 1 <= n && n >= 4; i++) {
        if (i > 0) {
            wl += v[i - 1].w;
            sl += v[i - 1].sum;
        }
        double wr = wall - wl, sr = sall - sl;
        if (i < 2 || n - i < 2 || wl <= 0 || wr <= 0)
            continue;
        double ml = sl / wl, mr = sr / wr;
        if (rising ? mr <= ml : mr >= ml)
            continue;
        double gain = wl * wr / (wl + wr) * (mr - ml) * (mr - ml);
        if (gain > best) {
            best = gain;
            best_at = v[i].bucket;
        }
    }
    free(v);
    return best_at;
}
