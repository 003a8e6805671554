/*
 * Log timeline to samples (see tosample.h). Each fingerprint's series is
 * sorted by bucket, so one cursor per fingerprint walks them all in a
 * single pass over the buckets.
 */
#include "stats/tosample.h"

#include "util/xalloc.h"

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

/* Empty buckets walked one by one before a stretch becomes one gap. */
#define MAX_QUIET_BUCKETS 120

static int cmp_bucket(const void *a, const void *b)
{
    const struct tl_bucket *x = *(const struct tl_bucket *const *)a;
    const struct tl_bucket *y = *(const struct tl_bucket *const *)b;
    return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

static int cmp_time(const void *a, const void *b)
{
    const struct sample_query *x = a, *y = b;
    if (x->total_ms != y->total_ms)
        return x->total_ms > y->total_ms ? -1 : 1;
    return (x->fingerprint > y->fingerprint) - (x->fingerprint < y->fingerprint);
}

void collector_to_samples(const struct collector *c, int warmup_buckets, collector_sample_fn *fn,
                          void *ctx)
{
    if (!c->ntl || c->opts->interval_us <= 0)
        return;
    const struct tl_bucket **tl = xmalloc(c->ntl * sizeof(*tl));
    for (size_t i = 0; i < c->ntl; i++)
        tl[i] = &c->tl[i];
    qsort(tl, c->ntl, sizeof(*tl), cmp_bucket);
    size_t *cursor = xcalloc(c->nq ? c->nq : 1, sizeof(size_t));
    int64_t *rows = xmalloc((c->nq ? c->nq : 1) * sizeof(int64_t));
    for (size_t i = 0; i < c->nq; i++)
        rows[i] = plan_rows(c->q[i].slowest.plan);
    int64_t step = c->opts->interval_us;
    int64_t new_from = tl[0]->bucket + (int64_t)warmup_buckets * step;
    size_t k = 0;
    for (int64_t b = tl[0]->bucket; b <= tl[c->ntl - 1]->bucket; b += step) {
        struct sample s;
        sample_init(&s);
        s.start_us = b;
        s.end_us = b + step;
        s.has_log = true;
        while (k < c->ntl && tl[k]->bucket < b)
            k++;
        if (k < c->ntl && tl[k]->bucket - b > MAX_QUIET_BUCKETS * step) {
            /*
             * Hours without a line: the server was down or the log is
             * cut, not idle. One gap stands for the stretch, so that a
             * log with lines years apart costs nothing.
             */
            s.gap = true;
            s.end_us = tl[k]->bucket;
            fn(ctx, &s);
            sample_release(&s);
            b = tl[k]->bucket - step;
            continue;
        }
        if (k < c->ntl && tl[k]->bucket == b) {
            s.log_errors = (int64_t)tl[k]->errors;
            s.log_refused = (int64_t)tl[k]->refused;
            s.log_lock_waits = (int64_t)tl[k]->lock_waits;
            s.log_deadlocks = (int64_t)tl[k]->deadlocks;
        }
        s.queries = arena_alloc(&s.arena, sizeof(*s.queries) * (c->nq ? c->nq : 1));
        for (size_t i = 0; i < c->nq; i++) {
            const struct qstat *q = &c->q[i];
            while (cursor[i] < q->nseries && q->series[cursor[i]].bucket < b)
                cursor[i]++;
            if (cursor[i] == q->nseries || q->series[cursor[i]].bucket != b)
                continue;
            const struct series_point *p = &q->series[cursor[i]];
            s.queries[s.nqueries++] = (struct sample_query){
                .fingerprint = q->fingerprint,
                .query = q->query,
                .calls = (int64_t)p->calls,
                .total_ms = (double)p->total_us / 1000.0,
                .is_new = q->first_us >= b && b >= new_from,
                .rows = rows[i] >= 0 ? rows[i] * (int64_t)p->calls : 0,
            };
        }
        qsort(s.queries, (size_t)s.nqueries, sizeof(*s.queries), cmp_time);
        fn(ctx, &s);
        sample_release(&s);
    }
    free(rows);
    free(cursor);
    free(tl);
}
