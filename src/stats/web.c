/*
 * The web tier's aggregates (web.h): buckets, seconds, routes, and the
 * reading of access logs into them.
 */
#include "web.h"

#include "util/log.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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
    if (!w->opts.lists_memory)
        w->opts.lists_memory = WEB_LISTS_MEMORY;
    w->spill_fd = -1;
    names_init(&w->routes);
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
    free(w->route_memo);
    free(w->client);
    free(w->ctab);
    free(w->seconds);
    for (size_t i = 0; i < w->ninputs; i++) {
        free(w->inputs[i].path);
        free(w->inputs[i].format);
        free(w->inputs[i].error);
    }
    free(w->inputs);
    if (w->spill_fd >= 0)
        close(w->spill_fd);
    names_release(&w->routes);
    memset(w, 0, sizeof(*w));
}

/*
 * The entry of id in list l of bucket number bn, listed on first sight
 * there (zeroed, id set); elem is the size of the list's entries.
 */
static void *visit(struct web *w, struct web_list *l, size_t elem, struct web_last *last,
                   int64_t bn, uint32_t id)
{
    if (last->bucket == bn && last->slot < l->n) {
        char *e = (char *)l->v + last->slot * elem;
        uint32_t at;
        memcpy(&at, e, sizeof(at));
        if (at == id)
            return e;
    }
    size_t cap = l->cap;
    l->v = xgrow(l->v, &l->cap, l->n + 1, elem);
    w->lists_held += (l->cap - cap) * elem;
    char *e = (char *)l->v + l->n * elem;
    memset(e, 0, elem);
    memcpy(e, &id, sizeof(id));
    last->bucket = bn;
    last->slot = (uint32_t)l->n++;
    return e;
}

/* --- spilling the lists of finished intervals ---------------------------------------------- */

/* A segment in the spill file: this header, then its entries. */
struct spill_head {
    int64_t prev; /* the list's previous segment, -1: none */
    uint64_t n;
};

/* The unlinked temporary file the lists go to; false when none can be had. */
static bool spill_open(struct web *w)
{
    if (w->spill_fd != -1)
        return w->spill_fd >= 0;
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/sleuth-web-XXXXXX", dir && *dir ? dir : "/tmp");
    w->spill_fd = mkstemp(path);
    if (w->spill_fd < 0) {
        log_debug("web lists stay in memory: cannot make '%s': %s", path, strerror(errno));
        w->spill_fd = -2;
        return false;
    }
    unlink(path);
    w->spill_end = 0;
    return true;
}

static bool write_all(int fd, const void *p, size_t len, int64_t at)
{
    const char *c = p;
    while (len) {
        ssize_t n = pwrite(fd, c, len, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        c += n;
        len -= (size_t)n;
        at += n;
    }
    return true;
}

/* Moves list l's entries to the file as its newest segment; false (l kept) on failure. */
static bool spill_list(struct web *w, struct web_list *l, size_t elem)
{
    if (!l->n)
        return true;
    struct spill_head h = { l->spilled ? l->spilled_at : -1, l->n };
    int64_t at = w->spill_end;
    if (!write_all(w->spill_fd, &h, sizeof(h), at) ||
        !write_all(w->spill_fd, l->v, l->n * elem, at + (int64_t)sizeof(h))) {
        log_debug("web lists stay in memory: cannot write the spill file: %s", strerror(errno));
        return false;
    }
    w->spill_end = at + (int64_t)(sizeof(h) + l->n * elem);
    w->lists_held -= l->cap * elem;
    free(l->v);
    l->spilled += l->n;
    l->spilled_at = at;
    l->v = NULL;
    l->n = l->cap = 0;
    return true;
}

/*
 * Past the memory budget, spills the lists of every interval but keep (the
 * one a line is being added to). A log in time order spills each interval
 * once, after it ended; lines back in time make small segments.
 */
static void spill_lists(struct web *w, const struct web_bucket *keep)
{
    if (w->lists_held <= w->opts.lists_memory || !spill_open(w))
        return;
    for (size_t i = 0; i < w->nbuckets; i++) {
        struct web_bucket *b = &w->buckets[i];
        if (b == keep)
            continue;
        if (!spill_list(w, &b->clients, sizeof(struct web_visit)) ||
            !spill_list(w, &b->routes, sizeof(struct web_route_visit))) {
            close(w->spill_fd);
            w->spill_fd = -2;
            return;
        }
    }
}

static void read_all(int fd, void *p, size_t len, int64_t at)
{
    char *c = p;
    while (len) {
        ssize_t n = pread(fd, c, len, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* Like running out of memory: the lists cannot be had back. */
            fprintf(stderr, "sleuth: cannot read back the web lists' spill file: %s\n",
                    n < 0 ? strerror(errno) : "short read");
            abort();
        }
        c += n;
        len -= (size_t)n;
        at += n;
    }
}

/* List l whole: its own array, or buf with the spilled segments (oldest first), then it. */
static const void *list_of(const struct web *w, const struct web_list *l, size_t elem,
                           struct web_buf *buf, size_t *n)
{
    *n = l->spilled + l->n;
    if (!l->spilled)
        return l->v;
    buf->p = xgrow(buf->p, &buf->cap, *n * elem, 1);
    char *end = (char *)buf->p + l->spilled * elem;
    if (l->n)
        memcpy(end, l->v, l->n * elem);
    for (int64_t at = l->spilled_at; at >= 0;) {
        struct spill_head h;
        read_all(w->spill_fd, &h, sizeof(h), at);
        end -= h.n * elem;
        read_all(w->spill_fd, end, h.n * elem, at + (int64_t)sizeof(h));
        at = h.prev;
    }
    return buf->p;
}

const struct web_visit *web_clients_of(const struct web *w, const struct web_bucket *b,
                                       struct web_buf *buf, size_t *n)
{
    return list_of(w, &b->clients, sizeof(struct web_visit), buf, n);
}

const struct web_route_visit *web_routes_of(const struct web *w, const struct web_bucket *b,
                                            struct web_buf *buf, size_t *n)
{
    return list_of(w, &b->routes, sizeof(struct web_route_visit), buf, n);
}

void web_buf_release(struct web_buf *buf)
{
    free(buf->p);
    buf->p = NULL;
    buf->cap = 0;
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
    struct web_client_slot *tab = xmalloc_huge(cap * sizeof(*tab));
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
    /*
     * The arrays grow by doubling: a log adds an interval (and a second) at
     * a time, and an exact-size realloc each time copied the whole array
     * (quadratic where realloc cannot remap, as under ASan: a week of one
     * request a second did not finish in ten minutes).
     */
    if (!w->nbuckets) {
        w->buckets = xgrow(w->buckets, &w->capbuckets, 1, sizeof(*w->buckets));
        memset(w->buckets, 0, sizeof(*w->buckets));
        w->nbuckets = 1;
        w->buckets[0].start_us = start;
        sketch_init(&w->buckets[0].latency);
        return &w->buckets[0];
    }
    int64_t first = w->buckets[0].start_us;
    if (start < first) {
        size_t add = (size_t)((first - start) / step);
        w->buckets = xgrow(w->buckets, &w->capbuckets, w->nbuckets + add, sizeof(*w->buckets));
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
        w->buckets = xgrow(w->buckets, &w->capbuckets, k + 1, sizeof(*w->buckets));
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
        w->seconds = xgrow(w->seconds, &w->capseconds, 1, sizeof(*w->seconds));
        memset(w->seconds, 0, sizeof(*w->seconds));
        w->nseconds = 1;
        w->first_second = s;
        return &w->seconds[0];
    }
    if (s < w->first_second) {
        size_t add = (size_t)(w->first_second - s);
        w->seconds = xgrow(w->seconds, &w->capseconds, w->nseconds + add, sizeof(*w->seconds));
        memmove(w->seconds + add, w->seconds, w->nseconds * sizeof(*w->seconds));
        memset(w->seconds, 0, add * sizeof(*w->seconds));
        w->nseconds += add;
        w->first_second = s;
        return &w->seconds[0];
    }
    size_t k = (size_t)(s - w->first_second);
    if (k >= w->nseconds) {
        size_t n = k + 1;
        w->seconds = xgrow(w->seconds, &w->capseconds, n, sizeof(*w->seconds));
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

uint64_t web_client_hash(const struct web *w, const struct access_record *rec)
{
    struct str name = rec->user.len ? rec->user : rec->client;
    uint64_t hash = XXH3_64bits(name.ptr, name.len);
    if (w->ctab_cap)
        __builtin_prefetch(&w->ctab[hmap_mix64(hash) & (w->ctab_cap - 1)]);
    return hash;
}

/* The id of a route (folded), made with its totals on first sight. */
static uint32_t route_id(struct web *w, struct str route)
{
    uint32_t rid = names_intern(&w->routes, route);
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
    return rid;
}

/* The route id of a request path, made on first sight of its route. */
static uint32_t route_of(struct web *w, struct str path)
{
    if (!w->route_memo)
        w->route_memo = xcalloc(WEB_ROUTE_MEMO, sizeof(*w->route_memo));
    uint64_t h = XXH3_64bits(path.ptr, path.len);
    struct web_route_memo *m = &w->route_memo[h & (WEB_ROUTE_MEMO - 1)];
    if (m->route_plus_1 && m->hash == h)
        return m->route_plus_1 - 1;
    char route[256];
    size_t rn = access_route(path, route, sizeof(route));
    uint32_t rid = route_id(w, str_make(route, rn));
    *m = (struct web_route_memo){ h, rid + 1 };
    return rid;
}

void web_add(struct web *w, const struct access_record *rec)
{
    web_add_hashed(w, rec, web_client_hash(w, rec));
}

void web_add_hashed(struct web *w, const struct access_record *rec, uint64_t hash)
{
    if (rec->ts_us == TS_NONE)
        return;
    if (w->opts.since_us != TS_NONE && rec->ts_us < w->opts.since_us)
        return;
    if (w->opts.until_us != TS_NONE && rec->ts_us >= w->opts.until_us)
        return;
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
    uint32_t rid = route_of(w, rec->path);
    struct web_route_visit *rv = visit(w, &b->routes, sizeof(*rv), &w->route_last[rid], bn, rid);
    count(&rv->c, failed, slow);
    if (rec->latency_us >= 0) {
        rv->timed++;
        rv->latency_us += rec->latency_us;
    }
    struct web_route *rt = &w->route_totals[rid];
    rt->requests++;
    rt->failed += failed;
    rt->slow += slow;
    if (rec->latency_us >= 0)
        sketch_add(&rt->latency, rec->latency_us);
    count(second_for(w, rec->ts_us), failed, slow);
    struct web_client_slot *cs = client_slot(w, hash, bn);
    struct web_visit *cv = visit(w, &b->clients, sizeof(*cv), &cs->last, bn, cs->last.id);
    count(&cv->c, failed, slow);
    w->requests++;
    w->failed += failed;
    w->slow += slow;
    w->status[cls]++;
    w->offset_s = rec->offset_s;
    if (w->lists_held > w->opts.lists_memory)
        spill_lists(w, b);
}

void web_latency(const struct web *w, struct sketch *out)
{
    for (size_t i = 0; i < w->nbuckets; i++)
        sketch_merge(out, &w->buckets[i].latency);
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
        uint32_t id = route_id(dst, names_get(&src->routes, (uint32_t)i));
        map[i] = id;
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
    struct web_buf buf = { NULL, 0 };
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
        size_t n;
        const struct web_visit *cv = web_clients_of(src, sb, &buf, &n);
        for (size_t k = 0; k < n; k++) {
            struct web_client_slot *cs = client_slot(dst, src->client[cv[k].id].hash, bn);
            struct web_visit *d = visit(dst, &db->clients, sizeof(*d), &cs->last, bn, cs->last.id);
            count_add(&d->c, &cv[k].c);
        }
        const struct web_route_visit *rv = web_routes_of(src, sb, &buf, &n);
        for (size_t k = 0; k < n; k++) {
            uint32_t id = routes[rv[k].id];
            struct web_route_visit *d =
                visit(dst, &db->routes, sizeof(*d), &dst->route_last[id], bn, id);
            count_add(&d->c, &rv[k].c);
            d->timed += rv[k].timed;
            d->latency_us += rv[k].latency_us;
        }
        if (dst->lists_held > dst->opts.lists_memory)
            spill_lists(dst, db);
    }
    web_buf_release(&buf);
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
    if (src->requests)
        dst->offset_s = src->offset_s;
    free(routes);
}
