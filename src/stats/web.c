/*
 * The web tier's aggregates (web.h): buckets, seconds, routes, and the
 * reading of access logs into them.
 */
#include "web.h"

#include "util/tstamp.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "util/banned.h"

void web_init(struct web *w, const struct web_opts *opts)
{
    memset(w, 0, sizeof(*w));
    w->opts = *opts;
    if (w->opts.interval_us <= 0)
        w->opts.interval_us = 60 * 1000000LL;
    if (w->opts.slow_us <= 0)
        w->opts.slow_us = 1000000;
    names_init(&w->routes);
    sketch_init(&w->latency);
}

void web_release(struct web *w)
{
    for (size_t i = 0; i < w->nbuckets; i++) {
        sketch_release(&w->buckets[i].latency);
        free(w->buckets[i].clients.v);
        free(w->buckets[i].routes.v);
    }
    free(w->buckets);
    for (size_t i = 0; i < w->nroute_totals; i++)
        sketch_release(&w->route_totals[i].latency);
    free(w->route_totals);
    free(w->route_last);
    free(w->client);
    free(w->ctab);
    free(w->seconds);
    for (size_t i = 0; i < w->ninputs; i++) {
        free(w->inputs[i].path);
        free(w->inputs[i].format);
        free(w->inputs[i].error);
    }
    free(w->inputs);
    sketch_release(&w->latency);
    names_release(&w->routes);
    memset(w, 0, sizeof(*w));
}

/* The counts of id in bucket b (number bn), listed on first sight there. */
static struct web_count *visit(struct web_visits *vs, struct web_last *last, int64_t bn,
                               uint32_t id)
{
    if (last->bucket == bn && last->slot < vs->n && vs->v[last->slot].id == id)
        return &vs->v[last->slot].c;
    vs->v = xgrow(vs->v, &vs->cap, vs->n + 1, sizeof(*vs->v));
    vs->v[vs->n] = (struct web_visit){ .id = id };
    last->bucket = bn;
    last->slot = (uint32_t)vs->n;
    return &vs->v[vs->n++].c;
}

static struct web_client_slot *ctab_find(struct web_client_slot *tab, size_t cap, uint64_t h)
{
    size_t mask = cap - 1;
    for (size_t i = hmap_mix64(h) & mask;; i = (i + 1) & mask)
        if (tab[i].first == INT64_MIN || tab[i].hash == h)
            return &tab[i];
}

static void ctab_grow(struct web *w)
{
    size_t cap = w->ctab_cap ? w->ctab_cap * 2 : 1024;
    struct web_client_slot *tab = xmalloc(cap * sizeof(*tab));
    for (size_t i = 0; i < cap; i++)
        tab[i].first = INT64_MIN;
    for (size_t i = 0; i < w->ctab_cap; i++)
        if (w->ctab[i].first != INT64_MIN)
            *ctab_find(tab, cap, w->ctab[i].hash) = w->ctab[i];
    free(w->ctab);
    w->ctab = tab;
    w->ctab_cap = cap;
}

/* The slot of the client whose name hashes to h, made on first sight (first bucket bn). */
static struct web_client_slot *client_slot(struct web *w, uint64_t h, int64_t bn)
{
    if ((w->nclients + 1) * 2 > w->ctab_cap)
        ctab_grow(w);
    struct web_client_slot *s = ctab_find(w->ctab, w->ctab_cap, h);
    if (s->first != INT64_MIN) {
        if (bn < s->first) { /* a line back in time */
            s->first = bn;
            w->client[s->last.id].first = bn;
        }
        return s;
    }
    if (w->nclients == w->client_cap) {
        w->client_cap = w->client_cap ? w->client_cap * 2 : 256;
        w->client = xrealloc(w->client, w->client_cap * sizeof(*w->client));
    }
    uint32_t id = (uint32_t)w->nclients++;
    w->client[id] = (struct web_client){ h, bn };
    *s = (struct web_client_slot){ h, bn, { INT64_MIN, 0, id } };
    return s;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The bucket of ts_us, growing the dense array at either end. */
static struct web_bucket *bucket_for(struct web *w, int64_t ts_us)
{
    int64_t step = w->opts.interval_us;
    int64_t start = floor_div(ts_us, step) * step;
    if (!w->nbuckets) {
        w->buckets = xcalloc(1, sizeof(*w->buckets));
        w->nbuckets = 1;
        w->buckets[0].start_us = start;
        sketch_init(&w->buckets[0].latency);
        return &w->buckets[0];
    }
    int64_t first = w->buckets[0].start_us;
    if (start < first) {
        size_t add = (size_t)((first - start) / step);
        w->buckets = xrealloc(w->buckets, (w->nbuckets + add) * sizeof(*w->buckets));
        memmove(w->buckets + add, w->buckets, w->nbuckets * sizeof(*w->buckets));
        memset(w->buckets, 0, add * sizeof(*w->buckets));
        for (size_t i = 0; i < add; i++) {
            w->buckets[i].start_us = start + (int64_t)i * step;
            sketch_init(&w->buckets[i].latency);
        }
        w->nbuckets += add;
        return &w->buckets[0];
    }
    size_t k = (size_t)((start - first) / step);
    if (k >= w->nbuckets) {
        /* The last interval is done in a time-ordered log: give back its spare room. */
        struct web_bucket *done = &w->buckets[w->nbuckets - 1];
        if (done->clients.cap > done->clients.n) {
            done->clients.v =
                xrealloc(done->clients.v, (done->clients.n + 1) * sizeof(struct web_visit));
            done->clients.cap = done->clients.n + 1;
        }
        if (done->routes.cap > done->routes.n) {
            done->routes.v =
                xrealloc(done->routes.v, (done->routes.n + 1) * sizeof(struct web_visit));
            done->routes.cap = done->routes.n + 1;
        }
        w->buckets = xrealloc(w->buckets, (k + 1) * sizeof(*w->buckets));
        memset(w->buckets + w->nbuckets, 0, (k + 1 - w->nbuckets) * sizeof(*w->buckets));
        for (size_t i = w->nbuckets; i <= k; i++) {
            w->buckets[i].start_us = first + (int64_t)i * step;
            sketch_init(&w->buckets[i].latency);
        }
        w->nbuckets = k + 1;
    }
    return &w->buckets[k];
}

static struct web_count *second_for(struct web *w, int64_t ts_us)
{
    int64_t s = floor_div(ts_us, 1000000);
    if (!w->nseconds) {
        w->seconds = xcalloc(1, sizeof(*w->seconds));
        w->nseconds = 1;
        w->first_second = s;
        return &w->seconds[0];
    }
    if (s < w->first_second) {
        size_t add = (size_t)(w->first_second - s);
        w->seconds = xrealloc(w->seconds, (w->nseconds + add) * sizeof(*w->seconds));
        memmove(w->seconds + add, w->seconds, w->nseconds * sizeof(*w->seconds));
        memset(w->seconds, 0, add * sizeof(*w->seconds));
        w->nseconds += add;
        w->first_second = s;
        return &w->seconds[0];
    }
    size_t k = (size_t)(s - w->first_second);
    if (k >= w->nseconds) {
        size_t n = k + 1;
        w->seconds = xrealloc(w->seconds, n * sizeof(*w->seconds));
        memset(w->seconds + w->nseconds, 0, (n - w->nseconds) * sizeof(*w->seconds));
        w->nseconds = n;
    }
    return &w->seconds[k];
}

static void count(struct web_count *c, bool failed, bool slow)
{
    c->requests++;
    c->failed += failed;
    c->slow += slow;
}

void web_add(struct web *w, const struct access_record *rec)
{
    if (rec->ts_us == TS_NONE)
        return;
    if (w->opts.since_us != TS_NONE && rec->ts_us < w->opts.since_us)
        return;
    if (w->opts.until_us != TS_NONE && rec->ts_us >= w->opts.until_us)
        return;
    /* The client's slot is the one cache miss a line: start loading it now, use it last. */
    struct str name = rec->user.len ? rec->user : rec->client;
    uint64_t hash = XXH3_64bits(name.ptr, name.len);
    if (w->ctab_cap)
        __builtin_prefetch(&w->ctab[hmap_mix64(hash) & (w->ctab_cap - 1)]);
    bool failed = rec->status >= 500;
    bool slow = rec->latency_us > w->opts.slow_us;
    int cls = rec->status >= 100 ? rec->status / 100 - 1 : WEB_STATUS_CLASSES - 1;
    struct web_bucket *b = bucket_for(w, rec->ts_us);
    b->requests++;
    b->failed += failed;
    b->slow += slow;
    b->status[cls]++;
    if (rec->latency_us >= 0) {
        sketch_add(&b->latency, rec->latency_us);
        sketch_add(&w->latency, rec->latency_us);
        if (rec->upstream_us >= 0) {
            b->upstream_us += rec->upstream_us;
            b->timed_us += rec->latency_us;
        }
    } else {
        w->untimed++;
    }
    if (rec->cache.len) {
        b->cache_logged++;
        b->cache_hits += rec->cache.len == 3 && memcmp(rec->cache.ptr, "HIT", 3) == 0;
    }
    int64_t bn = floor_div(b->start_us, w->opts.interval_us);

    char route[256];
    size_t rn = access_route(rec->path, route, sizeof(route));
    uint32_t rid = names_intern(&w->routes, str_make(route, rn));
    if (rid >= w->nroute_totals) {
        size_t n = rid + 1;
        w->route_totals = xrealloc(w->route_totals, n * sizeof(*w->route_totals));
        w->route_last = xrealloc(w->route_last, n * sizeof(*w->route_last));
        memset(w->route_totals + w->nroute_totals, 0,
               (n - w->nroute_totals) * sizeof(*w->route_totals));
        for (size_t i = w->nroute_totals; i < n; i++) {
            sketch_init(&w->route_totals[i].latency);
            w->route_last[i] = (struct web_last){ INT64_MIN, 0, (uint32_t)i };
        }
        w->nroute_totals = n;
    }
    count(visit(&b->routes, &w->route_last[rid], bn, rid), failed, slow);
    struct web_route *rt = &w->route_totals[rid];
    rt->requests++;
    rt->failed += failed;
    rt->slow += slow;
    if (rec->latency_us >= 0)
        sketch_add(&rt->latency, rec->latency_us);
    count(second_for(w, rec->ts_us), failed, slow);
    struct web_client_slot *cs = client_slot(w, hash, bn);
    count(visit(&b->clients, &cs->last, bn, cs->last.id), failed, slow);
    w->requests++;
    w->failed += failed;
    w->slow += slow;
    w->status[cls]++;
    w->offset_s = rec->offset_s;
}

const struct web_bucket *web_bucket_at(const struct web *w, int64_t ts_us)
{
    if (!w->nbuckets || ts_us < w->buckets[0].start_us)
        return NULL;
    size_t k = (size_t)((ts_us - w->buckets[0].start_us) / w->opts.interval_us);
    return k < w->nbuckets ? &w->buckets[k] : NULL;
}

/* --- merging ----------------------------------------------------------------------------- */

static void count_add(struct web_count *dst, const struct web_count *src)
{
    dst->requests += src->requests;
    dst->failed += src->failed;
    dst->slow += src->slow;
}

/* Route ids of src in dst, made on first sight. */
static uint32_t *route_map(struct web *dst, const struct web *src)
{
    uint32_t *map = xmalloc((src->nroute_totals ? src->nroute_totals : 1) * sizeof(*map));
    for (size_t i = 0; i < src->nroute_totals; i++) {
        uint32_t id = names_intern(&dst->routes, names_get(&src->routes, (uint32_t)i));
        map[i] = id;
        if (id >= dst->nroute_totals) {
            size_t n = id + 1;
            dst->route_totals = xrealloc(dst->route_totals, n * sizeof(*dst->route_totals));
            dst->route_last = xrealloc(dst->route_last, n * sizeof(*dst->route_last));
            memset(dst->route_totals + dst->nroute_totals, 0,
                   (n - dst->nroute_totals) * sizeof(*dst->route_totals));
            for (size_t k = dst->nroute_totals; k < n; k++) {
                sketch_init(&dst->route_totals[k].latency);
                dst->route_last[k] = (struct web_last){ INT64_MIN, 0, (uint32_t)k };
            }
            dst->nroute_totals = n;
        }
        struct web_route *d = &dst->route_totals[id];
        const struct web_route *r = &src->route_totals[i];
        d->requests += r->requests;
        d->failed += r->failed;
        d->slow += r->slow;
        sketch_merge(&d->latency, &r->latency);
    }
    return map;
}

void web_merge(struct web *dst, struct web *src)
{
    if (!dst->requests && !dst->nbuckets && !dst->nroute_totals) {
        /* Nothing to add to: take src's aggregates whole (one range, -j 1). */
        struct web_input *inputs = dst->inputs;
        size_t ninputs = dst->ninputs;
        double taken = dst->seconds_taken;
        dst->inputs = NULL;
        dst->ninputs = 0;
        web_release(dst);
        *dst = *src;
        dst->inputs = inputs;
        dst->ninputs = ninputs;
        dst->seconds_taken = taken;
        web_init(src, &dst->opts);
        return;
    }
    uint32_t *routes = route_map(dst, src);
    for (size_t i = 0; i < src->nbuckets; i++) {
        const struct web_bucket *sb = &src->buckets[i];
        if (!sb->requests)
            continue;
        struct web_bucket *db = bucket_for(dst, sb->start_us);
        int64_t bn = floor_div(db->start_us, dst->opts.interval_us);
        db->requests += sb->requests;
        db->failed += sb->failed;
        db->slow += sb->slow;
        for (int k = 0; k < WEB_STATUS_CLASSES; k++)
            db->status[k] += sb->status[k];
        sketch_merge(&db->latency, &sb->latency);
        db->upstream_us += sb->upstream_us;
        db->timed_us += sb->timed_us;
        db->cache_logged += sb->cache_logged;
        db->cache_hits += sb->cache_hits;
        for (size_t k = 0; k < sb->clients.n; k++) {
            struct web_client_slot *cs =
                client_slot(dst, src->client[sb->clients.v[k].id].hash, bn);
            count_add(visit(&db->clients, &cs->last, bn, cs->last.id), &sb->clients.v[k].c);
        }
        for (size_t k = 0; k < sb->routes.n; k++) {
            uint32_t id = routes[sb->routes.v[k].id];
            count_add(visit(&db->routes, &dst->route_last[id], bn, id), &sb->routes.v[k].c);
        }
    }
    for (size_t i = 0; i < src->nseconds; i++)
        if (src->seconds[i].requests)
            count_add(second_for(dst, (src->first_second + (int64_t)i) * 1000000),
                      &src->seconds[i]);
    dst->requests += src->requests;
    dst->failed += src->failed;
    dst->slow += src->slow;
    dst->untimed += src->untimed;
    for (int k = 0; k < WEB_STATUS_CLASSES; k++)
        dst->status[k] += src->status[k];
    sketch_merge(&dst->latency, &src->latency);
    if (src->requests)
        dst->offset_s = src->offset_s;
    free(routes);
}
