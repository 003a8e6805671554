/*
 * What a PgBouncer log tells the collector: its stats lines, kept as they
 * are (one a stats_period, a minute by default: a day is 1,440 of them),
 * and the clients it turned away, counted on the fine timeline apart from
 * the server's refusals, whose count says how many slots the server has.
 */
#include "stats/internal.h"

#include "util/tstamp.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* The period of an input's first stats line, when it has no second: PgBouncer's default. */
#define DEFAULT_PERIOD_US (60 * INT64_C(1000000))

void pooler_note_stats(struct collector *c, const struct event *ev)
{
    if (!ev->pool || ev->ts_us == TS_NONE)
        return;
    c->pool_stats =
        xgrow(c->pool_stats, &c->cappool_stats, c->npool_stats + 1, sizeof(*c->pool_stats));
    c->pool_stats[c->npool_stats++] = (struct pool_stat){
        .ts_us = ev->ts_us, .avg = *ev->pool, .input = ev->input, .line = ev->line
    };
    finetl_bucket(c, ev->ts_us); /* the fine timeline, which the samples walk, spans it */
}

void pooler_note_refused(struct collector *c, const struct event *ev)
{
    c->pool_refused++;
    if (ev->ts_us != TS_NONE)
        finetl_bucket(c, ev->ts_us)->pool_refused++;
}

void pooler_note_wait(struct collector *c, const struct event *ev)
{
    if (ev->ts_us == TS_NONE || ev->duration_us < 0)
        return;
    c->pool_waits =
        xgrow(c->pool_waits, &c->cappool_waits, c->npool_waits + 1, sizeof(*c->pool_waits));
    c->pool_waits[c->npool_waits++] =
        (struct pool_wait){ .start_us = ev->ts_us - ev->duration_us, .end_us = ev->ts_us };
}

/* The fine buckets the stats lines made come with finetl_merge_buckets(). */
void pooler_merge(struct collector *dst, const struct collector *src, uint64_t line_base)
{
    dst->pool_stats = xgrow(dst->pool_stats, &dst->cappool_stats,
                            dst->npool_stats + src->npool_stats, sizeof(*dst->pool_stats));
    for (size_t i = 0; i < src->npool_stats; i++) {
        struct pool_stat *d = &dst->pool_stats[dst->npool_stats++];
        *d = src->pool_stats[i];
        d->line += line_base;
    }
    dst->pool_waits = xgrow(dst->pool_waits, &dst->cappool_waits,
                            dst->npool_waits + src->npool_waits, sizeof(*dst->pool_waits));
    if (src->npool_waits)
        memcpy(dst->pool_waits + dst->npool_waits, src->pool_waits,
               src->npool_waits * sizeof(*src->pool_waits));
    dst->npool_waits += src->npool_waits;
    dst->pool_refused += src->pool_refused;
}

/* By input, then time, then line: each input's lines in a row. */
static int cmp_input_time(const void *a, const void *b)
{
    const struct pool_stat *x = a, *y = b;
    if (x->input != y->input)
        return x->input < y->input ? -1 : 1;
    if (x->ts_us != y->ts_us)
        return x->ts_us < y->ts_us ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_time(const void *a, const void *b)
{
    const struct pool_stat *x = a, *y = b;
    if (x->ts_us != y->ts_us)
        return x->ts_us < y->ts_us ? -1 : 1;
    if (x->input != y->input)
        return x->input < y->input ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* The median of the input's periods v[0..n) (n > 1), the period its stats_period gives. */
static int64_t usual_period(const struct pool_stat *v, size_t n)
{
    int64_t *d = xmalloc((n - 1) * sizeof(*d));
    for (size_t i = 1; i < n; i++)
        d[i - 1] = v[i].ts_us - v[i - 1].ts_us;
    qsort(d, n - 1, sizeof(*d), cmp_i64);
    int64_t m = d[(n - 1) / 2];
    free(d);
    return m > 0 ? m : DEFAULT_PERIOD_US;
}

static int cmp_wait(const void *a, const void *b)
{
    const struct pool_wait *x = a, *y = b;
    if (x->end_us != y->end_us)
        return x->end_us < y->end_us ? -1 : 1;
    return (x->start_us > y->start_us) - (x->start_us < y->start_us);
}

void pooler_finish(struct collector *c)
{
    if (c->npool_waits)
        qsort(c->pool_waits, c->npool_waits, sizeof(*c->pool_waits), cmp_wait);
    struct pool_stat *v = c->pool_stats;
    size_t n = c->npool_stats;
    if (!n)
        return;
    qsort(v, n, sizeof(*v), cmp_input_time);
    /*
     * A line covers the time since its input's line before. The first
     * line, and one after a gap (PgBouncer down, the log cut), cover the
     * input's usual period.
     */
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && v[j].input == v[i].input; j++)
            ;
        int64_t usual = j - i > 1 ? usual_period(v + i, j - i) : DEFAULT_PERIOD_US;
        for (size_t k = i; k < j; k++) {
            int64_t d = k > i ? v[k].ts_us - v[k - 1].ts_us : 0;
            v[k].period_us = d > 0 && d <= 2 * usual ? d : usual;
        }
    }
    qsort(v, n, sizeof(*v), cmp_time);
}

void pooler_release(struct collector *c)
{
    free(c->pool_stats);
    free(c->pool_waits);
    c->pool_stats = NULL;
    c->pool_waits = NULL;
    c->npool_stats = c->cappool_stats = c->npool_waits = c->cappool_waits = 0;
}
