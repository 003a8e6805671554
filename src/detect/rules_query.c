/*
 * The rules judged per query fingerprint, against its own history:
 * latency_regression (mean time per call), call_surge (calls per second),
 * new_heavy_query (a fingerprint first seen since warm-up that takes a big
 * share of the time or of the calls) and rows_per_call (a SELECT fetching far more rows).
 */
#include "detect/internal.h"

#include "sql/ddl.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

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
    enum metric m = M_MEAN_MS;
    struct baseline b = detect_baseline(d, r);
    double thr = b.ok ? detect_threshold(d, b, c->latency_ratio, c->latency_min_increase_ms) : 0;
    bool unusual = b.ok && mean > thr;
    detect_observe(d, se, m, mean, unusual);
    if (!unusual)
        return;
    bool crit = mean >= b.median * c->latency_critical_ratio;
    struct finding *f = detect_add_query_finding(d, FK_LATENCY_REGRESSION,
                                                 crit ? FINDING_CRITICAL : FINDING_WARNING, q);
    f->value = mean;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "ms";
    char m0[32], m1[32], rt[32];
    struct buf s = BUF_INIT;
    buf_addstr(&s, "mean time of ");
    detect_brief(&s, q->query);
    buf_addf(&s, " rose from %s to %s (%s) over %" PRId64 " calls",
             detect_ms(m0, sizeof(m0), b.median), detect_ms(m1, sizeof(m1), mean),
             detect_ratio(rt, sizeof(rt), mean, b.median), q->calls);
    f->summary = buf_detach(&s, NULL);
    f->next =
        detect_fmt("run EXPLAIN (ANALYZE, BUFFERS) on this query with real parameters; look for "
                   "a Seq Scan, a changed plan or lock waits (%.0f blocks read per call)",
                   (double)(q->blks_hit + q->blks_read) / (double)q->calls);
}

/* call_surge: calls per second against the fingerprint's baseline. */
static void judge_surge(struct detector *d, struct series *se, const struct sample_query *q,
                        double secs, bool in_use)
{
    const struct detect_config *c = &d->cfg;
    double rate = (double)q->calls / secs;
    struct ring *r = &se->rings[M_CALLS_S];
    enum metric m = M_CALLS_S;
    struct baseline b = detect_baseline(d, r);
    double thr = b.ok ? detect_threshold(d, b, c->surge_ratio, c->surge_min_increase) : 0;
    /* An idle server that gets calls is starting, not surging. */
    bool unusual = b.ok && in_use && rate > thr;
    /*
     * A fall as steep is no finding (the query may just not be needed),
     * but it is kept out of the baseline too: the return to the usual
     * rate must not look like a surge.
     */
    bool fall = b.ok && rate * c->surge_ratio < b.median;
    detect_observe(d, se, m, rate, unusual || fall);
    if (!unusual)
        return;
    bool crit = b.median > 0 && rate >= b.median * c->surge_critical_ratio;
    struct finding *f =
        detect_add_query_finding(d, FK_CALL_SURGE, crit ? FINDING_CRITICAL : FINDING_WARNING, q);
    f->value = rate;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "calls/s";
    char n0[32], n1[32], rt[32], rpc[32];
    double rows_per_call = q->calls ? (double)q->rows / (double)q->calls : 0;
    struct buf s = BUF_INIT;
    buf_addstr(&s, "calls of ");
    detect_brief(&s, q->query);
    buf_addf(&s, " rose from %s/s to %s/s (%s), %s rows per call",
             detect_num(n0, sizeof(n0), b.median), detect_num(n1, sizeof(n1), rate),
             detect_ratio(rt, sizeof(rt), rate, b.median),
             detect_num(rpc, sizeof(rpc), rows_per_call));
    f->summary = buf_detach(&s, NULL);
    f->next = xstrdup("find the caller (application_name, a recent deploy): one query per row in a "
                      "loop (N+1) shows as many calls with few rows each; batch it or use a join");
}

/*
 * new_heavy_query: a fingerprint first seen since warm-up (new for relearn
 * intervals) that takes a big share of the time, or of the calls at the
 * rate of a surge (a release that runs a statement per row). A schema
 * change (CREATE INDEX, ALTER TABLE) is not one: it is a change, which the
 * incident takes as a trigger or a fix. Once judged heavy it stays so
 * while it keeps its share, whatever its load or rate: those floors keep
 * an idle server's new work quiet, and a statement run a few times an
 * interval crosses them back and forth (its alert would flap).
 */
static void judge_new(struct detector *d, struct series *se, const struct sample_query *q,
                      double db_ms, int64_t calls, double secs)
{
    const struct detect_config *c = &d->cfg;
    bool kept = se->heavy && d->steps - se->heavy <= c->alert_clear;
    double share = db_ms > 0 ? q->total_ms / db_ms : 0;
    double call_share = calls > 0 ? (double)q->calls / (double)calls : 0;
    bool by_time =
        share >= c->new_query_share && (kept || q->total_ms / 1000 / secs >= c->new_query_min_load);
    /* By calls it takes the traffic of a surge. */
    struct baseline server = detect_baseline(d, &d->server.rings[M_CALLS_ALL]);
    bool by_calls = call_share >= c->new_query_share &&
                    (kept || (double)q->calls / secs >= c->surge_min_increase) &&
                    server.median >= c->call_rate_min_increase;
    if ((!by_time && !by_calls) || ddl_candidate(q->query))
        return;
    se->heavy = d->steps;
    struct finding *f = detect_add_query_finding(d, FK_NEW_HEAVY_QUERY, FINDING_WARNING, q);
    f->value = 100 * (by_time ? share : call_share);
    f->threshold = 100 * c->new_query_share;
    f->unit = "%";
    struct buf s = BUF_INIT;
    buf_addstr(&s, "new query ");
    detect_brief(&s, q->query);
    if (by_time)
        buf_addf(&s, " took %.0f%% of database time (%.0f ms over %" PRId64 " calls)", 100 * share,
                 q->total_ms, q->calls);
    else
        buf_addf(&s, " made %.0f%% of the calls (%.0f a second)", 100 * call_share,
                 (double)q->calls / secs);
    f->summary = buf_detach(&s, NULL);
    f->next = xstrdup("check what was deployed just before it appeared, and EXPLAIN it: a new "
                      "query this heavy usually lacks an index or a LIMIT, one this frequent is "
                      "called per row");
}

/* rows_per_call: a SELECT fetching many rows per call, or far more than usual. */
static void judge_rows(struct detector *d, struct series *se, const struct sample_query *q)
{
    const struct detect_config *c = &d->cfg;
    if (q->calls < c->min_calls || !is_select(q->query))
        return;
    double rpc = (double)q->rows / (double)q->calls;
    struct ring *r = &se->rings[M_ROWS_CALL];
    enum metric m = M_ROWS_CALL;
    struct baseline b = detect_baseline(d, r);
    double thr = b.ok ? detect_threshold(d, b, c->rows_ratio, c->rows_min_increase) : 0;
    bool unusual = b.ok && rpc > thr;
    detect_observe(d, se, m, rpc, unusual);
    if (!unusual && rpc < c->rows_per_call)
        return;
    struct finding *f = detect_add_query_finding(d, FK_ROWS_PER_CALL, FINDING_WARNING, q);
    f->value = rpc;
    f->baseline = b.median;
    f->threshold = unusual ? thr : c->rows_per_call;
    f->unit = "rows/call";
    char n0[32], n1[32];
    struct buf s = BUF_INIT;
    detect_brief(&s, q->query);
    buf_addf(&s, " returns %s rows per call", detect_num(n1, sizeof(n1), rpc));
    if (b.ok)
        buf_addf(&s, " (usually %s)", detect_num(n0, sizeof(n0), b.median));
    buf_addf(&s, " over %" PRId64 " calls", q->calls);
    f->summary = buf_detach(&s, NULL);
    f->next = xstrdup("fetch only what is shown: add a LIMIT or a tighter WHERE, select only the "
                      "needed columns, paginate with a keyset instead of fetching everything");
}

/*
 * Whether the server is in use: it was before (by its calls, or by its time
 * for a log of slow statements only) and it still runs queries that have a
 * baseline of their own. On an idle server every new query has all the time
 * and all the calls, and when only new queries run (a schema load, then the
 * application starting) nothing is new against anything: neither is a
 * release.
 */
static bool server_in_use(struct detector *d)
{
    struct baseline calls = detect_baseline(d, &d->server.rings[M_CALLS_ALL]);
    struct baseline load = detect_baseline(d, &d->server.rings[M_DB_S]);
    bool before = (calls.ok && calls.median >= IN_USE_CALLS_S) ||
                  (load.ok && load.median >= d->cfg.new_query_min_load);
    return before && d->known_calls > 0;
}

void detect_judge_queries(struct detector *d, const struct sample *s)
{
    d->known_calls = d->known_usual = 0;
    double secs = sample_seconds(s), db_ms = 0;
    int64_t calls = 0;
    /* Each query's series first (positions: adding one may move the others). */
    uint32_t *pos = xmalloc(((size_t)s->nqueries + 1) * sizeof(*pos));
    bool *known = xmalloc(((size_t)s->nqueries + 1) * sizeof(*known));
    for (int i = 0; i < s->nqueries; i++) {
        const struct sample_query *q = &s->queries[i];
        db_ms += q->total_ms;
        calls += q->calls;
        if (q->calls <= 0)
            continue;
        struct series *se = detect_series_get(d, &d->queries, q->fingerprint, NULL, &known[i]);
        pos[i] = (uint32_t)(se - d->queries.items);
        if (se->rings[M_CALLS_S].n >= d->cfg.min_history) { /* it has a baseline of its own */
            d->known_calls += (double)q->calls;
            d->known_usual += detect_baseline(d, &se->rings[M_CALLS_S]).median * secs;
        }
    }
    bool in_use = server_in_use(d);
    for (int i = 0; i < s->nqueries; i++) {
        const struct sample_query *q = &s->queries[i];
        if (q->calls <= 0)
            continue;
        struct series *se = &d->queries.items[pos[i]];
        /*
         * Right after start every query is new: only trust "new" once warmed
         * up and the server in use; what a server not in use starts to run is
         * its normal. A query first seen since then stays new (and judged so
         * while it is heavy) until it has lasted relearn intervals: the new
         * normal.
         */
        if (!in_use)
            se->born = 0;
        long young_for = d->cfg.relearn > 0 ? d->cfg.relearn : d->cfg.history;
        bool young = known[i] && se->born > d->cfg.min_history && d->steps - se->born < young_for;
        if (in_use && (q->is_new || !known[i] || young) && d->steps > d->cfg.min_history)
            judge_new(d, se, q, db_ms, calls, secs);
        judge_latency(d, se, q);
        judge_surge(d, se, q, secs, in_use);
        judge_rows(d, se, q);
    }
    free(pos);
    free(known);
}
