/*
 * The web tier's incidents and the impact of a window (webimpact.h).
 */
#include "webimpact.h"

#include "util/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define MIN_SHARE   0.02 /* a hurt share below this is noise in any shop */
#define SHARE_TIMES 3.0  /* ... and it must be this many times the usual */
#define MIN_HURT    3    /* requests in an interval, so one bad page is not an incident */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * The usual share of failed-or-slow requests: the lower quartile over the
 * intervals with requests, so that a fault filling up to three quarters of
 * the range does not become its own baseline.
 */
static double usual_share(const struct web *w)
{
    double *v = xmalloc((w->nbuckets ? w->nbuckets : 1) * sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < w->nbuckets; i++) {
        const struct web_bucket *b = &w->buckets[i];
        if (b->requests)
            v[n++] = (double)(b->failed + b->slow) / (double)b->requests;
    }
    qsort(v, n, sizeof(*v), cmp_double);
    double m = n ? v[n / 4] : 0;
    free(v);
    return m;
}

static bool abnormal(uint64_t hurt, uint64_t requests, double usual, uint64_t min_hurt)
{
    if (!requests || hurt < min_hurt)
        return false;
    double share = (double)hurt / (double)requests;
    return share >= MIN_SHARE && share >= SHARE_TIMES * usual;
}

static const struct web_count *second_at(const struct web *w, int64_t s)
{
    if (s < w->first_second || s >= w->first_second + (int64_t)w->nseconds)
        return NULL;
    return &w->seconds[s - w->first_second];
}

/* The first and last abnormal seconds within [from, to) seconds, widened by one interval. */
static void refine(const struct web *w, double usual, struct web_window *win)
{
    int64_t step_s = w->opts.interval_us / 1000000;
    int64_t from = win->from_us / 1000000 - step_s, to = win->to_us / 1000000 + step_s;
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (int64_t s = from; s < to; s++) {
        const struct web_count *c = second_at(w, s);
        if (c && abnormal(c->failed + c->slow, c->requests, usual, 1)) {
            if (first == INT64_MAX)
                first = s;
            last = s;
        }
    }
    if (first != INT64_MAX) {
        win->from_us = first * 1000000;
        win->to_us = (last + 1) * 1000000;
    }
}

size_t web_incidents(const struct web *w, struct web_window **out)
{
    *out = NULL;
    size_t n = 0, cap = 0;
    double usual = usual_share(w);
    size_t i = 0;
    while (i < w->nbuckets) {
        const struct web_bucket *b = &w->buckets[i];
        if (!abnormal(b->failed + b->slow, b->requests, usual, MIN_HURT)) {
            i++;
            continue;
        }
        size_t last = i;
        /* A run allows one quiet interval inside it. */
        for (size_t j = i + 1; j < w->nbuckets && j <= last + 2; j++) {
            const struct web_bucket *c = &w->buckets[j];
            if (abnormal(c->failed + c->slow, c->requests, usual, MIN_HURT))
                last = j;
        }
        struct web_window win = { b->start_us, w->buckets[last].start_us + w->opts.interval_us };
        refine(w, usual, &win);
        *out = xgrow(*out, &cap, n + 1, sizeof(**out));
        (*out)[n++] = win;
        i = last + 1;
    }
    return n;
}

/* Sums the requests of the buckets in [from, to) (whole intervals). */
static void sum_span(const struct web *w, int64_t from, int64_t to, uint64_t *requests,
                     struct sketch *lat, int64_t *up, int64_t *timed, uint64_t *cache,
                     uint64_t *hits, size_t *intervals, uint64_t *client_intervals)
{
    for (size_t i = 0; i < w->nbuckets; i++) {
        const struct web_bucket *b = &w->buckets[i];
        if (b->start_us + w->opts.interval_us <= from || b->start_us >= to)
            continue;
        *requests += b->requests;
        sketch_merge(lat, &b->latency);
        *up += b->upstream_us;
        *timed += b->timed_us;
        *cache += b->cache_logged;
        *hits += b->cache_hits;
        *client_intervals += web_list_len(&b->clients);
        (*intervals)++;
    }
}

/* Distinct clients of the intervals touching [from, to), and those hurt there. */
static void clients_in(const struct web *w, int64_t from, int64_t to, uint8_t *seen,
                       uint64_t *clients, uint64_t *hurt, uint64_t *top10)
{
    size_t nc = w->nclients;
    uint32_t *req = xcalloc(nc ? nc : 1, sizeof(*req));
    struct web_buf buf = { NULL, 0 };
    for (size_t i = 0; i < w->nbuckets; i++) {
        const struct web_bucket *b = &w->buckets[i];
        if (b->start_us + w->opts.interval_us <= from || b->start_us >= to)
            continue;
        size_t n;
        const struct web_visit *v = web_clients_of(w, b, &buf, &n);
        for (size_t k = 0; k < n; k++) {
            uint32_t id = v[k].id;
            const struct web_count *c = &v[k].c;
            if (!(seen[id] & 1)) {
                seen[id] |= 1;
                (*clients)++;
            }
            if ((c->failed || c->slow) && !(seen[id] & 2)) {
                seen[id] |= 2;
                (*hurt)++;
            }
            req[id] += c->requests;
        }
    }
    web_buf_release(&buf);
    /* The ten busiest: a partial selection, nc is small next to the lines. */
    uint64_t top[10] = { 0 };
    for (size_t id = 0; id < nc; id++) {
        uint64_t v = req[id];
        for (int k = 0; k < 10; k++) {
            if (v > top[k]) {
                uint64_t t = top[k];
                top[k] = v;
                v = t;
            }
        }
    }
    *top10 = 0;
    for (int k = 0; k < 10; k++)
        *top10 += top[k];
    free(req);
}

void web_clients(const struct web *w, int64_t from_us, int64_t to_us, uint64_t *clients,
                 uint64_t *hurt)
{
    uint8_t *seen = xcalloc(w->nclients ? w->nclients : 1, 1);
    uint64_t top10;
    *clients = *hurt = 0;
    clients_in(w, from_us, to_us, seen, clients, hurt, &top10);
    free(seen);
}

static void routes_hurt(const struct web *w, int64_t from, int64_t to, struct web_impact *imp)
{
    size_t nr = w->nroute_totals;
    struct web_count *sum = xcalloc(nr ? nr : 1, sizeof(*sum));
    struct web_buf buf = { NULL, 0 };
    for (size_t i = 0; i < w->nbuckets; i++) {
        const struct web_bucket *b = &w->buckets[i];
        if (b->start_us + w->opts.interval_us <= from || b->start_us >= to)
            continue;
        size_t n;
        const struct web_route_visit *v = web_routes_of(w, b, &buf, &n);
        for (size_t k = 0; k < n; k++) {
            struct web_count *s = &sum[v[k].id];
            s->requests += v[k].c.requests;
            s->failed += v[k].c.failed;
            s->slow += v[k].c.slow;
        }
    }
    web_buf_release(&buf);
    imp->nroutes = 0;
    for (size_t id = 0; id < nr; id++) {
        uint64_t hurt = (uint64_t)sum[id].failed + sum[id].slow;
        if (!hurt)
            continue;
        struct web_route_hurt cand = { (uint32_t)id, sum[id] };
        size_t k = imp->nroutes < WEB_TOP_ROUTES ? imp->nroutes++ : WEB_TOP_ROUTES;
        /* Insert by hurt requests, then by id (stable for equal counts). */
        while (k > 0 && (uint64_t)imp->routes[k - 1].c.failed + imp->routes[k - 1].c.slow < hurt) {
            if (k < WEB_TOP_ROUTES)
                imp->routes[k] = imp->routes[k - 1];
            k--;
        }
        if (k < WEB_TOP_ROUTES)
            imp->routes[k] = cand;
    }
    free(sum);
}

static double share_or_nan(double part, double whole)
{
    return whole > 0 ? part / whole : NAN;
}

void web_impact(const struct web *w, int64_t from_us, int64_t to_us, struct web_impact *imp)
{
    memset(imp, 0, sizeof(*imp));
    imp->window = (struct web_window){ from_us, to_us };
    struct web_window *wins;
    size_t n = web_incidents(w, &wins);
    int64_t best = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t lo = wins[i].from_us > from_us ? wins[i].from_us : from_us;
        int64_t hi = wins[i].to_us < to_us ? wins[i].to_us : to_us;
        if (hi >= lo && hi - lo > best) {
            best = hi - lo;
            imp->window = wins[i];
            imp->from_web = true;
            imp->same_window = wins[i].from_us == from_us && wins[i].to_us == to_us;
        }
    }
    free(wins);
    int64_t from = imp->window.from_us, to = imp->window.to_us;
    for (int64_t s = from / 1000000; s < (to + 999999) / 1000000; s++) {
        const struct web_count *c = second_at(w, s);
        if (!c)
            continue;
        imp->requests += c->requests;
        imp->failed += c->failed;
        imp->slow += c->slow;
    }
    uint8_t *seen = xcalloc(w->nclients ? w->nclients : 1, 1);
    uint64_t top10 = 0;
    clients_in(w, from, to, seen, &imp->clients, &imp->clients_hurt, &top10);
    imp->top10_share = share_or_nan((double)top10, (double)imp->requests);
    routes_hurt(w, from, to, imp);

    /* The stretch before, as long as the window (at least one interval, at most ten). */
    int64_t len = to - from, step = w->opts.interval_us;
    if (len < step)
        len = step;
    if (len > 10 * step)
        len = 10 * step;
    int64_t bfrom = from - len;
    uint64_t tb = 0, td = 0;
    struct sketch lb, ld;
    sketch_init(&lb);
    sketch_init(&ld);
    int64_t upb = 0, upd = 0, tmb = 0, tmd = 0;
    uint64_t cb = 0, cd = 0, hb = 0, hd = 0;
    size_t ib = 0, id = 0;
    uint64_t cib = 0, cid = 0;
    sum_span(w, bfrom, from, &tb, &lb, &upb, &tmb, &cb, &hb, &ib, &cib);
    sum_span(w, from, to, &td, &ld, &upd, &tmd, &cd, &hd, &id, &cid);
    imp->rps_before = ib ? (double)tb / ((double)ib * (double)step / 1e6) : NAN;
    imp->rps_during = id ? (double)td / ((double)id * (double)step / 1e6) : NAN;
    imp->p95_before_us = sketch_count(&lb) ? sketch_quantile(&lb, 0.95) : -1;
    imp->p95_during_us = sketch_count(&ld) ? sketch_quantile(&ld, 0.95) : -1;
    imp->upstream_share_before = share_or_nan((double)upb, (double)tmb);
    imp->upstream_share_during = share_or_nan((double)upd, (double)tmd);
    imp->cache_hit_before = share_or_nan((double)hb, (double)cb);
    imp->cache_hit_during = share_or_nan((double)hd, (double)cd);
    sketch_release(&lb);
    sketch_release(&ld);

    /* Clients per interval before and during, and the window's clients new to it. */
    imp->clients_before = ib ? (double)cib / (double)ib : NAN;
    imp->clients_during = id ? (double)cid / (double)id : NAN;
    /* New: first seen in the window's first interval or later. */
    int64_t first_bn = from / step - (from % step < 0);
    uint64_t fresh = 0;
    for (size_t k = 0; k < w->nclients; k++)
        fresh += (seen[k] & 1) && w->client[k].first >= first_bn;
    imp->new_clients_share = share_or_nan((double)fresh, (double)imp->clients);
    for (int64_t s = bfrom / 1000000; s < from / 1000000; s++) {
        const struct web_count *c = second_at(w, s);
        imp->failed_before += c ? c->failed : 0;
    }
    free(seen);
}
