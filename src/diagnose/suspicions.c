/*
 * The usual suspicions of a web-stack outage, and what the data says of
 * each. A verdict rests only on evidence that can decide it:
 *
 *   traffic surge or DDoS  the new connections and distinct clients per
 *                          second, the calls of every query, the query mix;
 *   network                the time spent inside the database;
 *   server resources       the work per call against the time per call
 *                          (more blocks or rows for the slow query: a plan
 *                          or data change; the other queries at their usual
 *                          pace: not the machine).
 *
 * Where these data cannot decide, the verdict says so and names the data
 * that would (the web server's access log, log_connections, host metrics).
 */
#include "diagnose/internal.h"

#include "util/xalloc.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "util/banned.h"

static void suspect(struct incident *inc, const char *name, enum verdict v, char *evidence,
                    const char *needs)
{
    inc->suspicions = xrealloc(inc->suspicions, (inc->nsuspicions + 1) * sizeof(*inc->suspicions));
    inc->suspicions[inc->nsuspicions++] =
        (struct suspicion){ xstrdup(name), v, evidence, needs ? xstrdup(needs) : NULL };
}

static bool has_cause(const struct incident *inc, enum cause_kind k)
{
    for (size_t i = 0; i < inc->ncauses; i++)
        if (inc->causes[i].kind == k)
            return true;
    return false;
}

/* Calls per second of every query but fp, over a window. */
static double other_rate(const struct window *w, uint64_t fp)
{
    return diag_rate((double)(diag_total_calls(w) - diag_query_sum(w, fp).calls), w);
}

static void traffic(struct diag_ctx *x, const struct cause *top)
{
    const struct window *b = x->before, *a = x->after;
    double cl0 = diag_median_int(b, offsetof(struct dpoint, clients));
    double cl1 = diag_median_int(a, offsetof(struct dpoint, clients));
    int64_t s0 = diag_sum(b, offsetof(struct dpoint, sessions));
    int64_t s1 = diag_sum(a, offsetof(struct dpoint, sessions));
    double sr0 = diag_rate((double)s0, b), sr1 = diag_rate((double)s1, a);
    double o0 = other_rate(b, top->fingerprint), o1 = other_rate(a, top->fingerprint);
    bool sessions_known = cl0 > 0 || cl1 > 0 || s0 > 0 || s1 > 0;
    const char *name = "traffic surge or DDoS";
    if (has_cause(x->inc, CAUSE_TRAFFIC_SURGE)) {
        suspect(x->inc, name, VERDICT_CONFIRMED,
                diag_fmt("new connections %.2f/s -> %.2f/s, calls of the queries %.1f/s -> "
                         "%.1f/s",
                         sr0, sr1, o0, o1),
                NULL);
        return;
    }
    bool calls_flat = o1 <= fmax(1.5 * o0, o0 + 10);
    if (sessions_known) {
        bool flat = cl1 <= fmax(2 * cl0, cl0 + 5) && sr1 <= fmax(2 * sr0, sr0 + 1) && calls_flat;
        suspect(x->inc, name, flat ? VERDICT_RULED_OUT : VERDICT_CANNOT_TELL,
                diag_fmt("distinct clients %.0f -> %.0f, new sessions %.2f/s -> %.2f/s, calls "
                         "of the other queries %.1f/s -> %.1f/s",
                         cl0, cl1, sr0, sr1, o0, o1),
                flat ? NULL : "the web server's access log: clients and routes per second");
        return;
    }
    /*
     * No session counts (a log without log_connections): the calls alone
     * rule a surge out only when a query explains the incident; a surge
     * that saturates the server can raise the calls by as little as a
     * quarter.
     */
    bool explained = top->fingerprint && top->kind != CAUSE_QUERY_REGRESSION;
    suspect(x->inc, name, calls_flat && explained ? VERDICT_RULED_OUT : VERDICT_CANNOT_TELL,
            diag_fmt("calls of the other queries %.1f/s -> %.1f/s (the log has no connection "
                     "lines)",
                     o0, o1),
            calls_flat && explained
                ? NULL
                : "log_connections = on, or the web server's access log: clients per second");
}

static void network(struct diag_ctx *x, const struct cause *top)
{
    const struct window *b = x->before, *a = x->after;
    double db0 = diag_rate(diag_total_ms(b), b) / 1000, db1 = diag_rate(diag_total_ms(a), a) / 1000;
    const char *name = "network";
    if (db1 >= 1.5 * db0 && db1 > 0.01)
        suspect(x->inc, name, VERDICT_RULED_OUT,
                diag_fmt("the time is spent inside the database: execution time %.2f s/s -> "
                         "%.2f s/s",
                         db0, db1),
                NULL);
    else if (top->kind == CAUSE_POOL_EXHAUSTION || top->kind == CAUSE_LOCK_CONTENTION)
        suspect(
            x->inc, name, VERDICT_RULED_OUT,
            diag_fmt("connections were held by sessions (%s), not lost; execution time "
                     "%.2f s/s before, %.2f s/s after",
                     top->kind == CAUSE_POOL_EXHAUSTION ? "idle or running" : "waiting on a lock",
                     db0, db1),
            NULL);
    else
        suspect(
            x->inc, name, VERDICT_CANNOT_TELL,
            diag_fmt("the database's execution time did not rise (%.2f s/s -> %.2f s/s)", db0, db1),
            "the web server's access log with upstream time ($upstream_response_time): "
            "the time between the application and the database");
}

static double mean_of(struct qsum q)
{
    return q.calls ? q.ms / (double)q.calls : NAN;
}

/* The other queries' time per call, after over before, weighted by their calls. */
static double others_slowdown(const struct window *b, const struct window *a, uint64_t fp)
{
    struct qsum q0 = diag_query_sum(b, fp), q1 = diag_query_sum(a, fp);
    int64_t c0 = diag_total_calls(b) - q0.calls, c1 = diag_total_calls(a) - q1.calls;
    double m0 = c0 > 0 ? (diag_total_ms(b) - q0.ms) / (double)c0 : NAN;
    double m1 = c1 > 0 ? (diag_total_ms(a) - q1.ms) / (double)c1 : NAN;
    return m0 > 0 && isfinite(m1) ? m1 / m0 : NAN;
}

static void resources(struct diag_ctx *x, const struct cause *top)
{
    const struct window *b = x->before, *a = x->after;
    const char *name = "server resources";
    const struct cause *sat = NULL;
    for (size_t i = 0; i < x->inc->ncauses && !sat; i++)
        if (x->inc->causes[i].kind == CAUSE_RESOURCE_SATURATION)
            sat = &x->inc->causes[i];
    if (sat) {
        json_t *mix = json_object_get(sat->evidence, "mix");
        suspect(x->inc, name, VERDICT_CONFIRMED,
                diag_fmt("%lld queries at least %gx slower for %s work per call",
                         (long long)json_integer_value(json_object_get(mix, "queries_slower")),
                         SLOW_RATIO,
                         json_is_number(json_object_get(mix, "work_per_call_ratio")) ? "the same"
                                                                                     : "unknown"),
                NULL);
        return;
    }
    struct qsum q0 = diag_query_sum(b, top->fingerprint), q1 = diag_query_sum(a, top->fingerprint);
    double t = q0.calls && q1.calls ? mean_of(q1) / mean_of(q0) : NAN;
    double work = NAN;
    if (q0.calls && q1.calls && q0.has_blks && q1.has_blks && q0.blks > 0)
        work = ((double)q1.blks / (double)q1.calls) / ((double)q0.blks / (double)q0.calls);
    double others = others_slowdown(b, a, top->fingerprint);
    if (top->fingerprint && isfinite(t) && isfinite(work) && t >= 2 && work >= 3) {
        suspect(x->inc, name, VERDICT_RULED_OUT,
                diag_fmt("the named query does %.0fx the work per call (shared blocks) for %.0fx "
                         "the time: its plan or data changed, not the machine",
                         work, t),
                NULL);
    } else if (top->fingerprint && isfinite(others) && others <= 1.5) {
        suspect(x->inc, name, VERDICT_RULED_OUT,
                diag_fmt("the other queries kept their pace (time per call %.1fx)%s", others,
                         isfinite(t) ? "" : ", while the named one is new or changed"),
                NULL);
    } else if (top->kind == CAUSE_POOL_EXHAUSTION || top->kind == CAUSE_LOCK_CONTENTION ||
               top->kind == CAUSE_TRAFFIC_SURGE) {
        suspect(x->inc, name,
                isfinite(others) && others <= 1.5 ? VERDICT_RULED_OUT : VERDICT_CANNOT_TELL,
                diag_fmt("the queries' time per call %.1fx (sessions %s)",
                         isfinite(others) ? others : 1.0,
                         top->kind == CAUSE_LOCK_CONTENTION ? "wait on a lock, not on the machine"
                                                            : "hold connections"),
                isfinite(others) && others <= 1.5 ? NULL
                                                  : "host metrics: CPU run queue, I/O latency");
    } else {
        suspect(x->inc, name, VERDICT_CANNOT_TELL,
                isfinite(work)
                    ? diag_fmt("the other queries' time per call %.1fx, the named query's work per "
                               "call %.1fx",
                               isfinite(others) ? others : 1.0, work)
                    : diag_fmt("the other queries' time per call %.1fx; the work per call is not "
                               "in these data",
                               isfinite(others) ? others : 1.0),
                "pg_stat_statements' blocks per call (sleuth watch), or host metrics: CPU run "
                "queue, I/O latency");
    }
}

void diag_suspicions(struct diag_ctx *x)
{
    if (!x->inc->ncauses || !x->before->n || !x->after->n)
        return;
    const struct cause *top = &x->inc->causes[0];
    traffic(x, top);
    network(x, top);
    resources(x, top);
}
