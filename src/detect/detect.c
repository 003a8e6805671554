/*
 * The detectors: the stage between the live poller's samples and the
 * alert book (see detect.h). Each interval, the detector looks up every
 * query fingerprint and table of the sample in its bounded history,
 * compares the interval's measures with the key's robust baseline (median
 * and MAD of its recent intervals), checks the server-wide gauges and the
 * sessions against fixed thresholds, and writes one finding per condition
 * met, with the numbers, a summary and a next step.
 *
 * History lives in series tables (one for fingerprints, one for tables):
 * an array of entries indexed by an hmap, each entry holding a few rings of
 * `history` doubles. When a table is full the least recently seen quarter
 * is dropped and the index rebuilt, so memory is bounded and eviction is
 * amortised.
 */
#include "detect/detect.h"

#include "util/buf.h"
#include "util/hmap.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "util/banned.h"

/* Rings kept per entry; a query uses the first three, a table the next two. */
enum metric {
    M_MEAN_MS,    /* query: mean execution time per call */
    M_CALLS_S,    /* query: calls per second */
    M_ROWS_CALL,  /* query: rows per call */
    M_SEQ_ROWS_S, /* table: rows read by sequential scans per second */
    M_HOT_RATIO,  /* table: HOT updates / updates */
    M_ROLLBACK,   /* server: rollbacks / transactions */
    M_ERRORS_S,   /* server: log errors per second */
    M__COUNT,     /* how many there are */
};

/* A fixed-size ring of the last values of one measure of one key. */
struct ring {
    double *v;   /* `history` slots, owned by the entry */
    int n;       /* values held, at most history */
    int head;    /* next slot to write */
    int unusual; /* consecutive intervals judged unusual (kept out of v) */
};

/* One key's history: a fingerprint or a table. */
struct series {
    uint64_t id;    /* the fingerprint, or the hash of name */
    char *name;     /* "schema.table", NULL for fingerprints */
    long last_step; /* last interval the key was in a sample, for eviction */
    double *store;  /* M__COUNT * history doubles, the rings' storage */
    struct ring rings[M__COUNT];
};

struct series_table {
    struct series *items;
    size_t n, cap;
    struct hmap index; /* hash -> position in items */
};

/* A root blocker found in the sessions of one sample. */
struct root {
    int pid;
    int idx;       /* its session, -1 if not in the sample */
    int victims;   /* sessions it blocks, directly or through others */
    double wait_s; /* the longest wait among them */
    int last;      /* the waiter counted last, so that two paths count once */
};

struct detector {
    struct detect_config cfg;
    long steps;
    struct series_table queries, tables;
    struct series server;     /* the server-wide rings */
    struct finding *findings; /* the current step's, handed to the caller at its end */
    size_t nfindings, capfindings;
    double *scratch; /* history doubles, for medians */
    struct buf name; /* scratch for "schema.table" */
};

/* The baseline of one ring: median and floored, scaled MAD. */
struct baseline {
    bool ok;       /* enough history to judge */
    double median; /* median of the ring */
    double spread; /* 1.4826 * MAD, at least mad_floor * median */
};

static void series_init(struct series *se, const struct detect_config *cfg, uint64_t id,
                        const char *name)
{
    memset(se, 0, sizeof(*se));
    se->id = id;
    se->name = name ? xstrdup(name) : NULL;
    se->store = xcalloc((size_t)M__COUNT * (size_t)cfg->history, sizeof(double));
    for (int m = 0; m < M__COUNT; m++)
        se->rings[m].v = se->store + (size_t)m * (size_t)cfg->history;
}

static void series_release(struct series *se)
{
    free(se->name);
    free(se->store);
    memset(se, 0, sizeof(*se));
}

static void table_release(struct series_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        series_release(&t->items[i]);
    free(t->items);
    hmap_release(&t->index);
    memset(t, 0, sizeof(*t));
}

static uint64_t series_hash(uint64_t id, const char *name)
{
    return name ? XXH3_64bits(name, strlen(name)) : hmap_mix64(id);
}

struct series_key {
    const struct series_table *t;
    uint64_t id;
    const char *name;
};

static bool series_eq(const void *ctx, uint32_t val)
{
    const struct series_key *k = ctx;
    const struct series *se = &k->t->items[val];
    if (k->name)
        return se->name && strcmp(se->name, k->name) == 0;
    return !se->name && se->id == k->id;
}

static int by_last_step_desc(const void *a, const void *b)
{
    const struct series *x = a, *y = b;
    if (x->last_step != y->last_step)
        return x->last_step > y->last_step ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Forgets the least recently seen quarter of t and rebuilds its index. */
static void table_evict(struct series_table *t, size_t max_keys)
{
    qsort(t->items, t->n, sizeof(*t->items), by_last_step_desc);
    size_t keep = max_keys - max_keys / 4;
    for (size_t i = keep; i < t->n; i++)
        series_release(&t->items[i]);
    t->n = keep;
    hmap_release(&t->index);
    for (size_t i = 0; i < t->n; i++)
        hmap_put(&t->index, series_hash(t->items[i].id, t->items[i].name), (uint32_t)i);
}

/*
 * The entry of (id, name), created if absent (*known says which). The
 * pointer is valid until the next series_get on the same table, which may
 * evict and move entries.
 */
static struct series *series_get(struct detector *d, struct series_table *t, uint64_t id,
                                 const char *name, bool *known)
{
    uint64_t h = series_hash(id, name);
    struct series_key k = { t, id, name };
    uint32_t pos;
    *known = hmap_get(&t->index, h, series_eq, &k, &pos);
    if (!*known) {
        if (t->n >= (size_t)d->cfg.max_keys)
            table_evict(t, (size_t)d->cfg.max_keys);
        t->items = xgrow(t->items, &t->cap, t->n + 1, sizeof(*t->items));
        pos = (uint32_t)t->n++;
        series_init(&t->items[pos], &d->cfg, id, name);
        hmap_put(&t->index, h, pos);
    }
    struct series *se = &t->items[pos];
    se->last_step = d->steps;
    return se;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct baseline ring_baseline(struct detector *d, const struct ring *r)
{
    struct baseline b = { false, NAN, NAN };
    if (r->n < d->cfg.min_history)
        return b;
    double *tmp = d->scratch;
    memcpy(tmp, r->v, (size_t)r->n * sizeof(*tmp));
    b.median = median_of(tmp, r->n);
    for (int i = 0; i < r->n; i++)
        tmp[i] = fabs(r->v[i] - b.median);
    /* 1.4826 makes the MAD estimate a standard deviation for normal noise. */
    b.spread = 1.4826 * median_of(tmp, r->n);
    if (b.spread < d->cfg.mad_floor * b.median)
        b.spread = d->cfg.mad_floor * b.median;
    b.ok = true;
    return b;
}

/*
 * The value above which a measure is unusual: above the robust bound, at
 * least ratio times the median and at least min_increase above it.
 */
static double upper_threshold(const struct detector *d, struct baseline b, double ratio,
                              double min_increase)
{
    double t = b.median + d->cfg.baseline_k * b.spread;
    if (b.median * ratio > t)
        t = b.median * ratio;
    if (b.median + min_increase > t)
        t = b.median + min_increase;
    return t;
}

/*
 * Records v in the ring, unless it was unusual: an incident must not
 * become its own baseline. After `relearn` unusual intervals in a row the
 * level is accepted and recorded again.
 */
static void ring_observe(const struct detector *d, struct ring *r, double v, bool unusual)
{
    if (unusual) {
        r->unusual++;
        if (d->cfg.relearn == 0 || r->unusual < d->cfg.relearn)
            return;
    } else {
        r->unusual = 0;
    }
    r->v[r->head] = v;
    r->head = (r->head + 1) % d->cfg.history;
    if (r->n < d->cfg.history)
        r->n++;
}

static char *fmt_dup(const char *fmt, ...) PRINTF_LIKE(1, 2);

static char *fmt_dup(const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    return buf_detach(&b, NULL);
}

/* A short form of a statement for a summary line: blanks collapsed, the middle elided. */
static void add_brief(struct buf *b, const char *q)
{
    if (!q || !*q) {
        buf_addstr(b, "(query text unavailable)");
        return;
    }
    struct buf flat = BUF_INIT;
    for (const char *p = q; *p; p++) {
        bool blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
        if (!blank)
            buf_addch(&flat, *p);
        else if (flat.len && flat.ptr[flat.len - 1] != ' ')
            buf_addch(&flat, ' ');
    }
    while (flat.len && flat.ptr[flat.len - 1] == ' ')
        buf_setlen(&flat, flat.len - 1);
    buf_addch(b, '`');
    if (flat.len <= 72) {
        buf_add(b, flat.ptr, flat.len);
    } else {
        /*
         * Keep the head (the verb) and the tail (usually the WHERE), cut at
         * spaces when there are some, else at UTF-8 character boundaries.
         */
        size_t head = 24, tail = flat.len - 44;
        while (head > 8 && flat.ptr[head] != ' ')
            head--;
        if (head == 8)
            head = 24;
        while (head > 0 && (flat.ptr[head] & 0xC0) == 0x80)
            head--;
        size_t t = tail;
        while (t < tail + 16 && flat.ptr[t] != ' ')
            t++;
        tail = t < tail + 16 ? t + 1 : tail;
        while (tail < flat.len && (flat.ptr[tail] & 0xC0) == 0x80)
            tail++;
        buf_add(b, flat.ptr, head);
        buf_addstr(b, " … ");
        buf_add(b, flat.ptr + tail, flat.len - tail);
    }
    buf_addch(b, '`');
    buf_release(&flat);
}

/* "12.3M", "4.5k", "812", "0.25" */
static const char *fmt_num(char *out, size_t size, double v)
{
    if (v >= 1e9)
        snprintf(out, size, "%.1fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(out, size, "%.1fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, size, "%.1fk", v / 1e3);
    else if (v >= 100 || v == floor(v))
        snprintf(out, size, "%.0f", v);
    else if (v >= 0.1)
        snprintf(out, size, "%.1f", v);
    else
        snprintf(out, size, "%.2f", v);
    return out;
}

/* "0.8 ms", "45.0 ms", "0.05 ms" */
static const char *fmt_ms(char *out, size_t size, double ms)
{
    snprintf(out, size, ms >= 0.1 || ms == 0 ? "%.1f ms" : "%.2f ms", ms);
    return out;
}

/* "56×", "2.5×" (the baseline may be 0: then no ratio) */
static const char *fmt_ratio(char *out, size_t size, double value, double base)
{
    if (!(base > 0))
        snprintf(out, size, "new");
    else if (value / base >= 10)
        snprintf(out, size, "%.0f×", value / base);
    else
        snprintf(out, size, "%.1f×", value / base);
    return out;
}

static struct finding *add_finding(struct detector *d, enum finding_kind kind,
                                   enum finding_severity sev, char *key)
{
    d->findings = xgrow(d->findings, &d->capfindings, d->nfindings + 1, sizeof(*d->findings));
    struct finding *f = &d->findings[d->nfindings++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->severity = sev;
    f->key = key;
    f->baseline = NAN;
    f->threshold = NAN;
    f->value = NAN;
    f->unit = "";
    return f;
}

static struct finding *add_query_finding(struct detector *d, enum finding_kind kind,
                                         enum finding_severity sev, const struct sample_query *q)
{
    struct finding *f = add_finding(d, kind, sev, fmt_dup("fp:%016" PRIx64, q->fingerprint));
    f->fingerprint = q->fingerprint;
    f->query = q->query ? xstrdup(q->query) : NULL;
    return f;
}

static char *brief_dup(const char *q)
{
    struct buf b = BUF_INIT;
    add_brief(&b, q);
    return buf_detach(&b, NULL);
}

static bool is_select(const char *q)
{
    if (!q)
        return false;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == '(')
        q++;
    return strncasecmp(q, "select", 6) == 0 &&
           !((q[6] >= 'a' && q[6] <= 'z') || (q[6] >= 'A' && q[6] <= 'Z') || q[6] == '_');
}

/* latency_regression: mean ms per call against the fingerprint's baseline. */
static void judge_latency(struct detector *d, struct series *se, const struct sample_query *q)
{
    const struct detect_config *c = &d->cfg;
    if (q->calls < c->min_calls)
        return;
    double mean = q->total_ms / (double)q->calls;
    struct ring *r = &se->rings[M_MEAN_MS];
    struct baseline b = ring_baseline(d, r);
    double thr = b.ok ? upper_threshold(d, b, c->latency_ratio, c->latency_min_increase_ms) : 0;
    bool unusual = b.ok && mean > thr;
    ring_observe(d, r, mean, unusual);
    if (!unusual)
        return;
    bool crit = mean >= b.median * c->latency_critical_ratio;
    struct finding *f =
        add_query_finding(d, FK_LATENCY_REGRESSION, crit ? FINDING_CRITICAL : FINDING_WARNING, q);
    f->value = mean;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "ms";
    char m0[32], m1[32], rt[32];
    struct buf s = BUF_INIT;
    buf_addstr(&s, "mean time of ");
    add_brief(&s, q->query);
    buf_addf(&s, " rose from %s to %s (%s) over %" PRId64 " calls",
             fmt_ms(m0, sizeof(m0), b.median), fmt_ms(m1, sizeof(m1), mean),
             fmt_ratio(rt, sizeof(rt), mean, b.median), q->calls);
    f->summary = buf_detach(&s, NULL);
    f->next = fmt_dup("run EXPLAIN (ANALYZE, BUFFERS) on this query with real parameters; look for "
                      "a Seq Scan, a changed plan or lock waits (%.0f blocks read per call)",
                      (double)(q->blks_hit + q->blks_read) / (double)q->calls);
}

/* call_surge: calls per second against the fingerprint's baseline. */
static void judge_surge(struct detector *d, struct series *se, const struct sample_query *q,
                        double secs)
{
    const struct detect_config *c = &d->cfg;
    double rate = (double)q->calls / secs;
    struct ring *r = &se->rings[M_CALLS_S];
    struct baseline b = ring_baseline(d, r);
    double thr = b.ok ? upper_threshold(d, b, c->surge_ratio, c->surge_min_increase) : 0;
    bool unusual = b.ok && rate > thr;
    ring_observe(d, r, rate, unusual);
    if (!unusual)
        return;
    bool crit = b.median > 0 && rate >= b.median * c->surge_critical_ratio;
    struct finding *f =
        add_query_finding(d, FK_CALL_SURGE, crit ? FINDING_CRITICAL : FINDING_WARNING, q);
    f->value = rate;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "calls/s";
    char n0[32], n1[32], rt[32], rpc[32];
    double rows_per_call = q->calls ? (double)q->rows / (double)q->calls : 0;
    struct buf s = BUF_INIT;
    buf_addstr(&s, "calls of ");
    add_brief(&s, q->query);
    buf_addf(&s, " rose from %s/s to %s/s (%s), %s rows per call",
             fmt_num(n0, sizeof(n0), b.median), fmt_num(n1, sizeof(n1), rate),
             fmt_ratio(rt, sizeof(rt), rate, b.median), fmt_num(rpc, sizeof(rpc), rows_per_call));
    f->summary = buf_detach(&s, NULL);
    f->next = xstrdup("find the caller (application_name, a recent deploy): one query per row in a "
                      "loop (N+1) shows as many calls with few rows each; batch it or use a join");
}

/* new_heavy_query: a fingerprint never seen before that takes a big share of the time. */
static void judge_new(struct detector *d, const struct sample_query *q, double db_ms)
{
    const struct detect_config *c = &d->cfg;
    double share = db_ms > 0 ? q->total_ms / db_ms : 0;
    if (share < c->new_query_share || q->total_ms < c->new_query_min_time_ms)
        return;
    struct finding *f = add_query_finding(d, FK_NEW_HEAVY_QUERY, FINDING_WARNING, q);
    f->value = 100 * share;
    f->threshold = 100 * c->new_query_share;
    f->unit = "%";
    struct buf s = BUF_INIT;
    buf_addstr(&s, "new query ");
    add_brief(&s, q->query);
    buf_addf(&s, " took %.0f%% of database time (%.0f ms over %" PRId64 " calls)", 100 * share,
             q->total_ms, q->calls);
    f->summary = buf_detach(&s, NULL);
    f->next = xstrdup("check what was deployed just before it appeared, and EXPLAIN it: a new "
                      "query this heavy usually lacks an index or a LIMIT");
}

/* rows_per_call: a SELECT fetching many rows per call, or far more than usual. */
static void judge_rows(struct detector *d, struct series *se, const struct sample_query *q)
{
    const struct detect_config *c = &d->cfg;
    if (q->calls < c->min_calls || !is_select(q->query))
        return;
    double rpc = (double)q->rows / (double)q->calls;
    struct ring *r = &se->rings[M_ROWS_CALL];
    struct baseline b = ring_baseline(d, r);
    double thr = b.ok ? upper_threshold(d, b, c->rows_ratio, c->rows_min_increase) : 0;
    bool unusual = b.ok && rpc > thr;
    ring_observe(d, r, rpc, unusual);
    if (!unusual && rpc < c->rows_per_call)
        return;
    struct finding *f = add_query_finding(d, FK_ROWS_PER_CALL, FINDING_WARNING, q);
    f->value = rpc;
    f->baseline = b.median;
    f->threshold = unusual ? thr : c->rows_per_call;
    f->unit = "rows/call";
    char n0[32], n1[32];
    struct buf s = BUF_INIT;
    add_brief(&s, q->query);
    buf_addf(&s, " returns %s rows per call", fmt_num(n1, sizeof(n1), rpc));
    if (b.ok)
        buf_addf(&s, " (usually %s)", fmt_num(n0, sizeof(n0), b.median));
    buf_addf(&s, " over %" PRId64 " calls", q->calls);
    f->summary = buf_detach(&s, NULL);
    f->next = xstrdup("fetch only what is shown: add a LIMIT or a tighter WHERE, select only the "
                      "needed columns, paginate with a keyset instead of fetching everything");
}

static void judge_queries(struct detector *d, const struct sample *s)
{
    double secs = sample_seconds(s), db_ms = 0;
    for (int i = 0; i < s->nqueries; i++)
        db_ms += s->queries[i].total_ms;
    for (int i = 0; i < s->nqueries; i++) {
        const struct sample_query *q = &s->queries[i];
        if (q->calls <= 0)
            continue;
        bool known;
        struct series *se = series_get(d, &d->queries, q->fingerprint, NULL, &known);
        /* Right after start every query is unknown: only trust "unknown" once warmed up. */
        if (q->is_new || (!known && d->steps > d->cfg.min_history))
            judge_new(d, q, db_ms);
        judge_latency(d, se, q);
        judge_surge(d, se, q, secs);
        judge_rows(d, se, q);
    }
}

/* seq_scan_growth: rows read by full scans of a large table, against its baseline. */
static void judge_seq_scan(struct detector *d, struct series *se, const struct sample_table *t,
                           double secs)
{
    const struct detect_config *c = &d->cfg;
    double rate = (double)t->seq_tup_read / secs;
    double per_scan = t->seq_scan > 0 ? (double)t->seq_tup_read / (double)t->seq_scan : 0;
    struct ring *r = &se->rings[M_SEQ_ROWS_S];
    struct baseline b = ring_baseline(d, r);
    double thr = b.ok ? upper_threshold(d, b, c->seq_scan_ratio, c->seq_scan_min_increase) : 0;
    bool unusual = b.ok && rate > thr && t->n_live_tup >= c->seq_scan_min_table_rows &&
                   per_scan >= c->seq_scan_table_fraction * (double)t->n_live_tup;
    ring_observe(d, r, rate, unusual);
    if (!unusual)
        return;
    struct finding *f =
        add_finding(d, FK_SEQ_SCAN_GROWTH, FINDING_WARNING, fmt_dup("table:%s", se->name));
    f->table = xstrdup(se->name);
    f->value = rate;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "rows/s";
    char n0[32], n1[32], n2[32], n3[32];
    f->summary =
        fmt_dup("sequential scans read %s rows/s of %s (usually %s/s): %s rows per scan "
                "of a %s-row table",
                fmt_num(n1, sizeof(n1), rate), se->name, fmt_num(n0, sizeof(n0), b.median),
                fmt_num(n2, sizeof(n2), per_scan), fmt_num(n3, sizeof(n3), (double)t->n_live_tup));
    f->next = fmt_dup("a query scans all of %s: find it among the slow or surging queries, EXPLAIN "
                      "it and index the columns of its WHERE clause",
                      se->name);
}

/* hot_ratio_drop: updates that used to be HOT no longer are (a new index on an updated column). */
static void judge_hot(struct detector *d, struct series *se, const struct sample_table *t)
{
    const struct detect_config *c = &d->cfg;
    if (t->n_tup_upd < c->hot_min_updates)
        return;
    double ratio = (double)t->n_tup_hot_upd / (double)t->n_tup_upd;
    struct ring *r = &se->rings[M_HOT_RATIO];
    struct baseline b = ring_baseline(d, r);
    bool unusual = b.ok && b.median >= c->hot_baseline && ratio < c->hot_drop;
    ring_observe(d, r, ratio, unusual);
    if (!unusual)
        return;
    struct finding *f =
        add_finding(d, FK_HOT_RATIO_DROP, FINDING_WARNING, fmt_dup("table:%s", se->name));
    f->table = xstrdup(se->name);
    f->value = 100 * ratio;
    f->baseline = 100 * b.median;
    f->threshold = 100 * c->hot_drop;
    f->unit = "%";
    f->summary =
        fmt_dup("HOT updates of %s fell to %.0f%% (usually %.0f%%) over %" PRId64 " updates",
                se->name, 100 * ratio, 100 * b.median, t->n_tup_upd);
    f->next = fmt_dup("an index on a column that is updated stops HOT updates: look for an index "
                      "added to %s recently, or lower its fillfactor",
                      se->name);
}

static void judge_tables(struct detector *d, const struct sample *s)
{
    double secs = sample_seconds(s);
    for (int i = 0; i < s->ntables; i++) {
        const struct sample_table *t = &s->tables[i];
        buf_reset(&d->name);
        buf_addf(&d->name, "%s.%s", t->schema ? t->schema : "", t->name ? t->name : "");
        bool known;
        struct series *se = series_get(d, &d->tables, 0, d->name.ptr, &known);
        judge_seq_scan(d, se, t, secs);
        judge_hot(d, se, t);
    }
}

/* The largest application holding connections, for the next steps. */
static const char *top_app(const struct sample *s, int *count)
{
    *count = 0;
    if (s->nby_app <= 0 || !s->by_app[0].name)
        return NULL;
    *count = s->by_app[0].count;
    return s->by_app[0].name;
}

/* connection_saturation and connections_refused. */
static void judge_connections(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    int usable = sample_usable_connections(s);
    int napp;
    const char *app = top_app(s, &napp);
    char who[160] = "";
    if (app && *app)
        snprintf(who, sizeof(who), " (most from '%.100s': %d)", app, napp);
    bool refused_log = s->has_log && s->log_refused > 0;
    if (refused_log || (usable > 0 && s->connections >= usable)) {
        struct finding *f = add_finding(d, FK_CONN_REFUSED, FINDING_CRITICAL, xstrdup("server"));
        if (refused_log) {
            f->value = (double)s->log_refused;
            f->threshold = 1;
            f->unit = "refused";
            f->summary = fmt_dup("%" PRId64 " connections refused (too many clients already); %d "
                                 "of %d usable connections in use",
                                 s->log_refused, s->connections, usable);
        } else {
            f->value = s->connections;
            f->threshold = usable;
            f->unit = "connections";
            f->summary =
                fmt_dup("all %d usable connections are in use: new clients are refused", usable);
        }
        f->next = fmt_dup("find who holds the connections%s before raising max_connections; "
                          "put a pooler in front",
                          who);
    }
    if (usable <= 0)
        return;
    double used = (double)s->connections / usable;
    if (used < c->connections_warning)
        return;
    bool crit = used >= c->connections_critical;
    struct finding *f = add_finding(d, FK_CONN_SATURATION,
                                    crit ? FINDING_CRITICAL : FINDING_WARNING, xstrdup("server"));
    f->value = 100 * used;
    f->threshold = 100 * (crit ? c->connections_critical : c->connections_warning);
    f->unit = "%";
    f->summary = fmt_dup("%.0f%% of usable connections in use (%d of %d; %d active, %d idle in "
                         "transaction)",
                         100 * used, s->connections, usable, s->active, s->idle_in_transaction);
    f->next = fmt_dup("see who holds them%s: idle-in-transaction sessions mean a leak in the "
                      "application, many active ones mean slow queries or a surge",
                      who);
}

static struct finding *add_session_finding(struct detector *d, enum finding_kind kind,
                                           enum finding_severity sev,
                                           const struct sample_session *ss)
{
    struct finding *f = add_finding(d, kind, sev, fmt_dup("pid:%d", ss->pid));
    f->pid = ss->pid;
    f->query = ss->query && *ss->query ? xstrdup(ss->query) : NULL;
    f->unit = "s";
    return f;
}

/* " (app 'x', user 'y')" for a summary, or "" */
static void session_who(char *out, size_t size, const struct sample_session *ss)
{
    const char *app = ss->app && *ss->app ? ss->app : NULL;
    const char *user = ss->user && *ss->user ? ss->user : NULL;
    if (app && user)
        snprintf(out, size, " (app '%.60s', user '%.60s')", app, user);
    else if (app || user)
        snprintf(out, size, " (%s '%.60s')", app ? "app" : "user", app ? app : user);
    else
        out[0] = '\0';
}

/* long_running_query and idle_in_transaction, per session. */
static void judge_session(struct detector *d, const struct sample_session *ss)
{
    const struct detect_config *c = &d->cfg;
    char who[160];
    session_who(who, sizeof(who), ss);
    const char *state = ss->state ? ss->state : "";
    if (strcmp(state, "active") == 0 && ss->query_age_s >= c->long_running_s) {
        bool crit = ss->query_age_s >= c->long_running_critical_s;
        struct finding *f =
            add_session_finding(d, FK_LONG_RUNNING, crit ? FINDING_CRITICAL : FINDING_WARNING, ss);
        f->value = ss->query_age_s;
        f->threshold = crit ? c->long_running_critical_s : c->long_running_s;
        char *q = brief_dup(ss->query);
        f->summary =
            fmt_dup("pid %d%s has been running %s for %.0f s", ss->pid, who, q, ss->query_age_s);
        free(q);
        f->next = fmt_dup("EXPLAIN the statement; if it is not needed, cancel it with SELECT "
                          "pg_cancel_backend(%d) and set a statement_timeout",
                          ss->pid);
    }
    if (strncmp(state, "idle in transaction", 19) == 0 &&
        ss->state_age_s >= c->idle_in_transaction_s) {
        bool crit = ss->state_age_s >= c->idle_in_transaction_critical_s;
        struct finding *f = add_session_finding(d, FK_IDLE_IN_TRANSACTION,
                                                crit ? FINDING_CRITICAL : FINDING_WARNING, ss);
        f->value = ss->state_age_s;
        f->threshold = crit ? c->idle_in_transaction_critical_s : c->idle_in_transaction_s;
        char *q = brief_dup(ss->query);
        f->summary = fmt_dup("pid %d%s has been %s for %.0f s; its last statement was %s", ss->pid,
                             who, state, ss->state_age_s, q);
        free(q);
        f->next = fmt_dup("the application left a transaction open: find the code path that "
                          "misses COMMIT/ROLLBACK, set idle_in_transaction_session_timeout; "
                          "SELECT pg_terminate_backend(%d) ends it now",
                          ss->pid);
    }
}

static int session_index(const struct sample *s, int pid)
{
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].pid == pid)
            return i;
    return -1;
}

/*
 * Adds to roots every root blocker above waiter w: walks pg_blocking_pids
 * upwards (mark[] guards against cycles, which a deadlock can show for an
 * instant) and counts w once per root.
 */
static void find_roots(const struct sample *s, int w, int *stack, char *mark, struct root **roots,
                       size_t *nroots, size_t *cap)
{
    memset(mark, 0, (size_t)s->nsessions);
    const struct sample_session *waiter = &s->sessions[w];
    double wait = waiter->query_age_s >= 0 ? waiter->query_age_s : waiter->state_age_s;
    int sp = 0;
    mark[w] = 1;
    stack[sp++] = w;
    while (sp > 0) {
        const struct sample_session *ss = &s->sessions[stack[--sp]];
        for (int k = 0; k < ss->nblocked_by; k++) {
            int pid = ss->blocked_by[k];
            int idx = session_index(s, pid);
            if (idx >= 0 && mark[idx])
                continue;
            if (idx >= 0)
                mark[idx] = 1;
            if (idx >= 0 && s->sessions[idx].nblocked_by > 0) {
                stack[sp++] = idx;
                continue;
            }
            size_t r = 0;
            while (r < *nroots && (*roots)[r].pid != pid)
                r++;
            if (r == *nroots) {
                *roots = xgrow(*roots, cap, *nroots + 1, sizeof(**roots));
                (*roots)[(*nroots)++] = (struct root){ pid, idx, 0, 0, -1 };
            }
            if ((*roots)[r].last == w)
                continue;
            (*roots)[r].last = w;
            (*roots)[r].victims++;
            if (wait > (*roots)[r].wait_s)
                (*roots)[r].wait_s = wait;
        }
    }
}

/* blocking_chain: one finding per root blocker whose victims have waited long enough. */
static void judge_blocking(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    if (s->nsessions <= 0)
        return;
    struct root *roots = NULL;
    size_t nroots = 0, cap = 0;
    int *stack = xmalloc((size_t)s->nsessions * sizeof(*stack));
    char *mark = xmalloc((size_t)s->nsessions);
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].nblocked_by > 0)
            find_roots(s, i, stack, mark, &roots, &nroots, &cap);
    for (size_t r = 0; r < nroots; r++) {
        const struct root *rt = &roots[r];
        if (rt->wait_s < c->blocking_min_wait_s)
            continue;
        bool crit = rt->victims >= c->blocking_critical_sessions ||
                    rt->wait_s >= c->blocking_critical_wait_s;
        const struct sample_session *ss = rt->idx >= 0 ? &s->sessions[rt->idx] : NULL;
        struct finding *f = add_finding(d, FK_BLOCKING, crit ? FINDING_CRITICAL : FINDING_WARNING,
                                        fmt_dup("pid:%d", rt->pid));
        f->pid = rt->pid;
        f->query = ss && ss->query && *ss->query ? xstrdup(ss->query) : NULL;
        f->value = rt->victims;
        f->threshold = c->blocking_critical_sessions;
        f->unit = "sessions";
        const char *state = ss && ss->state && *ss->state ? ss->state : "state unknown";
        char *q = brief_dup(ss ? ss->query : NULL);
        f->summary =
            fmt_dup("pid %d (%s) blocks %d session%s, waiting up to %.0f s; its "
                    "statement: %s",
                    rt->pid, state, rt->victims, rt->victims == 1 ? "" : "s", rt->wait_s, q);
        free(q);
        f->next = fmt_dup("pid %d holds the lock the others wait for: if it is stuck or idle in "
                          "transaction, SELECT pg_terminate_backend(%d), then find why it holds "
                          "locks that long",
                          rt->pid, rt->pid);
    }
    free(roots);
    free(stack);
    free(mark);
}

/* lock_waits: sessions waiting on heavyweight locks, or lock waits in the log. */
static void judge_lock_waits(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    int waiting = 0;
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].wait_event_type && strcmp(s->sessions[i].wait_event_type, "Lock") == 0)
            waiting++;
    int64_t logged = s->has_log ? s->log_lock_waits : 0;
    bool by_sessions = waiting >= c->lock_waits_sessions;
    if (!by_sessions && logged < c->lock_waits_logged)
        return;
    bool crit = waiting >= c->lock_waits_critical;
    struct finding *f =
        add_finding(d, FK_LOCK_WAITS, crit ? FINDING_CRITICAL : FINDING_WARNING, xstrdup("server"));
    if (by_sessions) {
        f->value = waiting;
        f->threshold = crit ? c->lock_waits_critical : c->lock_waits_sessions;
        f->unit = "sessions";
    } else {
        f->value = (double)logged;
        f->threshold = c->lock_waits_logged;
        f->unit = "lock waits";
    }
    f->summary = fmt_dup("%d session%s waiting on locks, %" PRId64 " lock waits logged", waiting,
                         waiting == 1 ? "" : "s", logged);
    f->next = xstrdup("follow the blocking chain (pg_blocking_pids) to the session holding the "
                      "lock; keep transactions short and set lock_timeout");
}

/* deadlocks: any in the interval. */
static void judge_deadlocks(struct detector *d, const struct sample *s)
{
    /* The counter and the log see the same deadlocks: take the larger, do not add. */
    int64_t n = s->db.deadlocks;
    if (s->has_log && s->log_deadlocks > n)
        n = s->log_deadlocks;
    if (n <= 0)
        return;
    bool crit = n >= d->cfg.deadlocks_critical;
    struct finding *f =
        add_finding(d, FK_DEADLOCKS, crit ? FINDING_CRITICAL : FINDING_WARNING, xstrdup("server"));
    f->value = (double)n;
    f->threshold = crit ? d->cfg.deadlocks_critical : 1;
    f->unit = "deadlocks";
    f->summary = fmt_dup("%" PRId64 " deadlock%s in the interval", n, n == 1 ? "" : "s");
    f->next = xstrdup("read the 'deadlock detected' lines of the server log: they name both "
                      "statements; make the transactions lock rows in the same order");
}

/* rollback_spike: rollbacks / transactions against the server's baseline. */
static void judge_rollbacks(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    int64_t xacts = s->db.xact_commit + s->db.xact_rollback;
    if (xacts < c->rollback_min_xacts)
        return;
    double ratio = (double)s->db.xact_rollback / (double)xacts;
    struct ring *r = &d->server.rings[M_ROLLBACK];
    struct baseline b = ring_baseline(d, r);
    double thr = b.ok ? upper_threshold(d, b, 1, c->rollback_min_increase) : 0;
    bool unusual = b.ok && ratio > thr;
    ring_observe(d, r, ratio, unusual);
    if (!unusual)
        return;
    struct finding *f = add_finding(d, FK_ROLLBACK_SPIKE, FINDING_WARNING, xstrdup("server"));
    f->value = 100 * ratio;
    f->baseline = 100 * b.median;
    f->threshold = 100 * thr;
    f->unit = "%";
    f->summary =
        fmt_dup("rollbacks are %.0f%% of transactions (usually %.1f%%): %" PRId64 " of %" PRId64,
                100 * ratio, 100 * b.median, s->db.xact_rollback, xacts);
    f->next = xstrdup("look at the application's errors and the server log's ERROR lines: "
                      "something makes its transactions fail");
}

/* error_spike: ERROR and worse log lines per second against the baseline. */
static void judge_errors(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    if (!s->has_log)
        return;
    double rate = (double)s->log_errors / sample_seconds(s);
    struct ring *r = &d->server.rings[M_ERRORS_S];
    struct baseline b = ring_baseline(d, r);
    double thr = b.ok ? upper_threshold(d, b, c->errors_ratio, c->errors_min_increase) : 0;
    bool unusual = b.ok && rate > thr;
    ring_observe(d, r, rate, unusual);
    if (!unusual)
        return;
    struct finding *f = add_finding(d, FK_ERROR_SPIKE, FINDING_WARNING, xstrdup("server"));
    f->value = rate;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "errors/s";
    char n0[32], n1[32];
    f->summary =
        fmt_dup("%s errors/s in the server log (usually %s/s), %" PRId64 " in the interval",
                fmt_num(n1, sizeof(n1), rate), fmt_num(n0, sizeof(n0), b.median), s->log_errors);
    f->next = xstrdup("read this interval's ERROR lines of the server log: which SQLSTATE and "
                      "which statement; a timeout or a constraint points at the cause");
}

static int finding_order(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    if (x->severity != y->severity)
        return x->severity == FINDING_CRITICAL ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->key, y->key);
}

void detector_findings_free(struct finding *f, size_t n)
{
    for (size_t i = 0; i < n && f; i++)
        finding_release(&f[i]);
    free(f);
}

struct detector *detector_new(const struct detect_config *cfg)
{
    /* detect_config_load/set keep these in range; a hand-made config must too. */
    ASSERT(cfg->history >= 1 && cfg->max_keys >= 4 && cfg->min_history >= 1);
    struct detector *d = xcalloc(1, sizeof(*d));
    d->cfg = *cfg;
    if (d->cfg.min_history > d->cfg.history)
        d->cfg.min_history = d->cfg.history;
    hmap_init(&d->queries.index);
    hmap_init(&d->tables.index);
    series_init(&d->server, &d->cfg, 0, NULL);
    d->scratch = xcalloc((size_t)d->cfg.history, sizeof(double));
    buf_init(&d->name, 128);
    return d;
}

void detector_free(struct detector *d)
{
    if (!d)
        return;
    table_release(&d->queries);
    table_release(&d->tables);
    series_release(&d->server);
    free(d->scratch);
    buf_release(&d->name);
    free(d);
}

bool detector_step(struct detector *d, const struct sample *s, struct finding **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (s->gap || s->baseline_only)
        return false;
    d->steps++;
    judge_queries(d, s);
    judge_tables(d, s);
    judge_connections(d, s);
    for (int i = 0; i < s->nsessions; i++)
        judge_session(d, &s->sessions[i]);
    judge_blocking(d, s);
    judge_lock_waits(d, s);
    judge_deadlocks(d, s);
    judge_rollbacks(d, s);
    judge_errors(d, s);
    if (d->nfindings > 1)
        qsort(d->findings, d->nfindings, sizeof(*d->findings), finding_order);
    /* Hand the array over; the next step starts a new one. */
    *out = d->findings;
    *nout = d->nfindings;
    d->findings = NULL;
    d->nfindings = d->capfindings = 0;
    return true;
}

long detector_steps(const struct detector *d)
{
    return d->steps;
}

size_t detector_tracked_queries(const struct detector *d)
{
    return d->queries.n;
}

size_t detector_tracked_tables(const struct detector *d)
{
    return d->tables.n;
}
