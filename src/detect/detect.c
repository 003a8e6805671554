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
 * is dropped and the index rebuilt (between steps), so memory is bounded
 * and eviction is amortised. The rules live one family a file (internal.h
 * lists them); this file holds the history, the baselines, what may be
 * learned, and the step.
 */
#include "detect/internal.h"

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

struct series *detect_series_get(struct detector *d, struct series_table *t, uint64_t id,
                                 const char *name, bool *known)
{
    uint64_t h = series_hash(id, name);
    struct series_key k = { t, id, name };
    uint32_t pos;
    *known = hmap_get(&t->index, h, series_eq, &k, &pos);
    if (!*known) {
        t->items = xgrow(t->items, &t->cap, t->n + 1, sizeof(*t->items));
        pos = (uint32_t)t->n++;
        series_init(&t->items[pos], &d->cfg, id, name);
        t->items[pos].born = d->steps;
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

struct baseline detect_baseline(struct detector *d, const struct ring *r)
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

double detect_threshold(const struct detector *d, struct baseline b, double ratio,
                        double min_increase)
{
    double t = b.median + d->cfg.baseline_k * b.spread;
    if (b.median * ratio > t)
        t = b.median * ratio;
    if (b.median + min_increase > t)
        t = b.median + min_increase;
    return t;
}

/* Records v in r. */
static void ring_record(const struct detector *d, struct ring *r, double v)
{
    r->v[r->head] = v;
    r->head = (r->head + 1) % d->cfg.history;
    if (r->n < d->cfg.history)
        r->n++;
}

void detect_observe(struct detector *d, struct series *se, enum metric m, double v, bool unusual)
{
    struct ring *r = &se->rings[m];
    if (unusual) {
        r->unusual++;
        if (d->cfg.relearn > 0 && r->unusual >= d->cfg.relearn)
            ring_record(d, r, v); /* it has lasted: the new level */
        return;
    }
    r->unusual = 0;
    int table = se == &d->server                                                   ? 2
                : (se >= d->queries.items && se < d->queries.items + d->queries.n) ? 0
                                                                                   : 1;
    uint32_t idx =
        table == 2 ? 0 : (uint32_t)(se - (table == 0 ? d->queries.items : d->tables.items));
    d->pending = xgrow(d->pending, &d->cappending, d->npending + 1, sizeof(*d->pending));
    d->pending[d->npending++] = (struct pending_obs){ table, idx, m, v };
}

/*
 * Records the step's usual values, unless the detector is held or the step
 * found something beyond single sessions (an idle session says nothing
 * about the load; a slow query does about the rest of the interval).
 */
static void learn(struct detector *d)
{
    bool teach = !d->hold;
    for (size_t i = 0; i < d->nfindings && teach; i++) {
        enum finding_kind k = d->findings[i].kind;
        teach = k == FK_IDLE_IN_TRANSACTION || k == FK_LONG_RUNNING;
    }
    for (size_t i = 0; teach && i < d->npending; i++) {
        const struct pending_obs *p = &d->pending[i];
        struct series *se = p->table == 2   ? &d->server
                            : p->table == 0 ? &d->queries.items[p->idx]
                                            : &d->tables.items[p->idx];
        ring_record(d, &se->rings[p->m], p->v);
    }
    d->npending = 0;
}

struct finding *detect_add_finding(struct detector *d, enum finding_kind kind,
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

struct finding *detect_add_query_finding(struct detector *d, enum finding_kind kind,
                                         enum finding_severity sev, const struct sample_query *q)
{
    struct finding *f =
        detect_add_finding(d, kind, sev, detect_fmt("fp:%016" PRIx64, q->fingerprint));
    f->fingerprint = q->fingerprint;
    f->query = q->query ? xstrdup(q->query) : NULL;
    return f;
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
    free(d->pending);
    buf_release(&d->name);
    free(d);
}

bool detector_step(struct detector *d, const struct sample *s, struct finding **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (s->gap || s->baseline_only)
        return false;
    /* Evicting between steps keeps every entry in place while a step records. */
    if (d->queries.n > (size_t)d->cfg.max_keys)
        table_evict(&d->queries, (size_t)d->cfg.max_keys);
    if (d->tables.n > (size_t)d->cfg.max_keys)
        table_evict(&d->tables, (size_t)d->cfg.max_keys);
    d->steps++;
    detect_judge_queries(d, s);
    detect_judge_tables(d, s);
    detect_judge_sessions(d, s);
    detect_judge_server(d, s);
    learn(d);
    if (d->nfindings > 1)
        qsort(d->findings, d->nfindings, sizeof(*d->findings), finding_order);
    /* Hand the array over; the next step starts a new one. */
    *out = d->findings;
    *nout = d->nfindings;
    d->findings = NULL;
    d->nfindings = d->capfindings = 0;
    return true;
}

void detector_hold(struct detector *d, bool hold)
{
    d->hold = hold;
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
