/*
 * The web tier's aggregates (web.h): buckets, seconds, routes, and the
 * reading of access logs into them.
 */
#include "web.h"

#include "input/source.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "util/banned.h"

#define READ_BUF (1u << 20)

void web_init(struct web *w, const struct web_opts *opts)
{
    memset(w, 0, sizeof(*w));
    w->opts = *opts;
    if (w->opts.interval_us <= 0)
        w->opts.interval_us = 60 * 1000000LL;
    if (w->opts.slow_us <= 0)
        w->opts.slow_us = 1000000;
    hmap_init(&w->client_index);
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
    hmap_release(&w->client_index);
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

/* The id of a client, made on first sight. */
static uint32_t client_id(struct web *w, struct str name, int64_t bn)
{
    uint64_t h = XXH3_64bits(name.ptr, name.len);
    uint32_t id;
    if (hmap_get(&w->client_index, h, NULL, NULL, &id))
        return id;
    if (w->nclients == w->client_cap) {
        w->client_cap = w->client_cap ? w->client_cap * 2 : 256;
        w->client = xrealloc(w->client, w->client_cap * sizeof(*w->client));
    }
    id = (uint32_t)w->nclients++;
    w->client[id] = (struct web_client){ { INT64_MIN, 0 }, bn };
    hmap_put(&w->client_index, h, id);
    return id;
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
    uint32_t client = client_id(w, rec->user.len ? rec->user : rec->client, bn);
    if (bn < w->client[client].first)
        w->client[client].first = bn;
    count(visit(&b->clients, &w->client[client].last, bn, client), failed, slow);
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
            w->route_last[i] = (struct web_last){ INT64_MIN, 0 };
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

/* --- reading ---------------------------------------------------------------------------- */

static void line_bad(struct web_input *in, uint64_t line)
{
    if (!in->bad_lines++)
        in->first_bad_line = line;
}

/*
 * Reads one input line by line. A line longer than WEB_MAX_LINE is counted
 * and skipped up to its newline without being held.
 */
static int read_input(struct web *w, struct source *src, struct web_input *in,
                      const struct access_format *given, struct err *err)
{
    struct access_format *detected = NULL;
    const struct access_format *f = given;
    struct access_scan scan;
    access_scan_init(&scan);
    char *buf = xmalloc(READ_BUF);
    size_t have = 0;
    bool skipping = false, eof = false;
    uint64_t line = 1;
    int rc = 0;
    while (!eof) {
        ssize_t n = source_read(src, buf + have, READ_BUF - have, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        eof = n == 0;
        have += (size_t)n;
        in->bytes += (uint64_t)n;
        if (!f && (have == READ_BUF || eof)) {
            detected = access_format_detect(buf, have);
            f = detected;
            if (!f) {
                err_set(err, ERR_PARSE, "'%s': not an access log this reads (give --access-format)",
                        in->path);
                rc = -1;
                break;
            }
        }
        if (!f)
            continue;
        size_t pos = 0;
        for (;;) {
            char *nl = memchr(buf + pos, '\n', have - pos);
            if (!nl && !(eof && pos < have))
                break;
            size_t end = nl ? (size_t)(nl - buf) : have;
            struct str text = str_make(buf + pos, end - pos);
            pos = nl ? end + 1 : have;
            if (skipping) {
                skipping = false;
                line++;
                continue;
            }
            struct access_record rec;
            if (text.len && access_parse(f, &scan, text, &rec)) {
                in->requests++;
                web_add(w, &rec);
            } else if (text.len) {
                line_bad(in, line);
            }
            line++;
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        if (have == READ_BUF) {
            /* One line fills the buffer: count it once, drop it as it streams by. */
            if (!skipping) {
                in->oversize++;
                line_bad(in, line);
            }
            skipping = true;
            have = 0;
        }
    }
    in->lines = line - 1 + (skipping ? 1 : 0);
    if (f)
        in->format = xstrdup(access_format_spec(f));
    access_scan_release(&scan);
    access_format_free(detected);
    free(buf);
    return rc;
}

int web_read(struct web *w, char *const *paths, size_t npaths, struct err *err)
{
    struct access_format *given = NULL;
    if (w->opts.format) {
        given = access_format_compile(w->opts.format, err);
        if (!given)
            return -1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    w->inputs = xcalloc(npaths ? npaths : 1, sizeof(*w->inputs));
    w->ninputs = npaths;
    size_t failed = 0;
    struct err first;
    err_clear(&first);
    for (size_t i = 0; i < npaths; i++) {
        struct web_input *in = &w->inputs[i];
        in->path = xstrdup(paths[i]);
        struct source src;
        struct err e;
        if (source_open(&src, paths[i], &e) < 0 ||
            (in->compression = src.compression, read_input(w, &src, in, given, &e) < 0)) {
            in->error = xstrdup(e.msg);
            if (!failed++)
                first = e;
        }
        if (src.path)
            source_close(&src);
    }
    access_format_free(given);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    w->seconds_taken = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (npaths && failed == npaths) {
        *err = first;
        return -1;
    }
    return 0;
}
