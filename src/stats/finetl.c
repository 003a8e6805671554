/*
 * The fine timeline: what the diagnosis of a log judges, kept apart from
 * the report's timeline so that the report's --interval is only for the
 * charts. Calls and time per query and per bucket, and the events per
 * bucket, at the finest resolution the log's length allows: it starts at
 * one second and, whenever the points kept (per-query points plus
 * buckets) pass FINETL_MAX_POINTS, every series is folded into the next,
 * coarser step of the ladder. Each step is a multiple of the one before
 * and buckets are aligned on the epoch, so a coarser bucket is the exact
 * sum of finer ones.
 *
 * Why the result does not depend on how threads split the input: a range
 * coarsens only when its own points pass the limit, and a merge of ranges
 * holds at least as many points as either at any resolution, so after the
 * merges the resolution is the finest step at which the whole log fits,
 * whatever the split.
 */
#include "stats/internal.h"

#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Points kept before the timeline coarsens: about 24 MB. */
#define FINETL_MAX_POINTS (1u << 20)

static const int64_t ladder_s[] = { 1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400 };
#define LADDER_N (sizeof(ladder_s) / sizeof(ladder_s[0]))

static int64_t floor_to(int64_t ts, int64_t step)
{
    int64_t b = ts / step * step;
    return b > ts ? b - step : b;
}

void finetl_init(struct collector *c)
{
    c->fine_us = ladder_s[0] * 1000000;
    hmap_init(&c->fine_index);
}

void finetl_release(struct collector *c)
{
    free(c->fine);
    hmap_release(&c->fine_index);
}

struct fine_bucket *finetl_bucket(struct collector *c, int64_t ts_us)
{
    int64_t b = floor_to(ts_us, c->fine_us);
    uint32_t idx;
    if (hmap_get(&c->fine_index, hmap_mix64((uint64_t)b), NULL, NULL, &idx))
        return &c->fine[idx];
    c->fine = xgrow(c->fine, &c->capfine, c->nfine + 1, sizeof(*c->fine));
    struct fine_bucket *f = &c->fine[c->nfine];
    memset(f, 0, sizeof(*f));
    f->bucket = b;
    hmap_put(&c->fine_index, hmap_mix64((uint64_t)b), (uint32_t)c->nfine);
    c->nfine++;
    c->fine_points++;
    return f;
}

/* Folds a series in place into buckets of step (it stays sorted). */
static size_t fold_series(struct series_point *v, size_t n, int64_t step)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t b = floor_to(v[i].bucket, step);
        if (k > 0 && v[k - 1].bucket == b) {
            v[k - 1].calls += v[i].calls;
            v[k - 1].total_us += v[i].total_us;
        } else {
            v[k] = v[i];
            v[k].bucket = b;
            k++;
        }
    }
    return k;
}

static void fold_buckets(struct collector *c, int64_t step)
{
    struct fine_bucket *old = c->fine;
    size_t n = c->nfine;
    c->fine = NULL;
    c->nfine = c->capfine = 0;
    hmap_release(&c->fine_index);
    hmap_init(&c->fine_index);
    c->fine_us = step;
    for (size_t i = 0; i < n; i++) {
        struct fine_bucket *d = finetl_bucket(c, old[i].bucket);
        d->queries += old[i].queries;
        d->total_us += old[i].total_us;
        d->errors += old[i].errors;
        d->refused += old[i].refused;
        d->pool_refused += old[i].pool_refused;
        d->connections += old[i].connections;
        d->disconnections += old[i].disconnections;
        d->lock_waits += old[i].lock_waits;
        d->deadlocks += old[i].deadlocks;
    }
    free(old);
}

/* Coarsens every series and the buckets to step, and counts the points again. */
static void coarsen_to(struct collector *c, int64_t step)
{
    if (step <= c->fine_us)
        return;
    size_t points = 0;
    for (size_t i = 0; i < c->nq; i++) {
        c->q[i].nfine = fold_series(c->q[i].fine, c->q[i].nfine, step);
        points += c->q[i].nfine;
    }
    fold_buckets(c, step);
    c->fine_points = points + c->nfine;
}

static int64_t next_step(int64_t step_us)
{
    for (size_t i = 0; i + 1 < LADDER_N; i++)
        if (ladder_s[i] * 1000000 == step_us)
            return ladder_s[i + 1] * 1000000;
    return step_us * 2; /* past a day: keep doubling (never reached by real logs) */
}

static void fit(struct collector *c)
{
    while (c->fine_points > FINETL_MAX_POINTS)
        coarsen_to(c, next_step(c->fine_us));
}

void finetl_add_call(struct collector *c, struct qstat *q, int64_t ts_us, int64_t duration_us)
{
    struct fine_bucket *f = finetl_bucket(c, ts_us);
    f->queries++;
    int64_t d = duration_us > 0 ? duration_us : 0;
    f->total_us += d;
    if (q && series_put(&q->fine, &q->nfine, &q->capfine, f->bucket, 1, d))
        c->fine_points++;
    fit(c);
}

void finetl_align(struct collector *dst, struct collector *src)
{
    if (src->fine_us > dst->fine_us)
        coarsen_to(dst, src->fine_us);
    else if (dst->fine_us > src->fine_us)
        coarsen_to(src, dst->fine_us);
}

void finetl_merge_series(struct collector *dst, struct qstat *d, const struct qstat *s)
{
    for (size_t i = 0; i < s->nfine; i++)
        if (series_put(&d->fine, &d->nfine, &d->capfine, s->fine[i].bucket, s->fine[i].calls,
                       s->fine[i].total_us))
            dst->fine_points++;
}

void finetl_merge_buckets(struct collector *dst, const struct collector *src)
{
    for (size_t i = 0; i < src->nfine; i++) {
        const struct fine_bucket *s = &src->fine[i];
        struct fine_bucket *d = finetl_bucket(dst, s->bucket);
        d->queries += s->queries;
        d->total_us += s->total_us;
        d->errors += s->errors;
        d->refused += s->refused;
        d->pool_refused += s->pool_refused;
        d->connections += s->connections;
        d->disconnections += s->disconnections;
        d->lock_waits += s->lock_waits;
        d->deadlocks += s->deadlocks;
    }
    fit(dst);
}
