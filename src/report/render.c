/*
 * Shared pieces of the renderers; see render.h.
 */
#include "render.h"
#include "web.h"

#include "sql/params.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* qsort has no context argument: the comparators read this (reports are built on one thread). */
static const struct collector *sort_c;

static int cmp_fp(const struct qstat *a, const struct qstat *b)
{
    return a->fingerprint < b->fingerprint ? -1 : a->fingerprint > b->fingerprint;
}

static int cmp_total(const void *x, const void *y)
{
    const struct qstat *a = &sort_c->q[*(const uint32_t *)x], *b = &sort_c->q[*(const uint32_t *)y];
    if (a->total_us != b->total_us)
        return a->total_us > b->total_us ? -1 : 1;
    if (a->calls != b->calls)
        return a->calls > b->calls ? -1 : 1;
    return cmp_fp(a, b);
}

static int cmp_calls(const void *x, const void *y)
{
    const struct qstat *a = &sort_c->q[*(const uint32_t *)x], *b = &sort_c->q[*(const uint32_t *)y];
    if (a->calls != b->calls)
        return a->calls > b->calls ? -1 : 1;
    return cmp_total(x, y);
}

static int cmp_mean(const void *x, const void *y)
{
    const struct qstat *a = &sort_c->q[*(const uint32_t *)x], *b = &sort_c->q[*(const uint32_t *)y];
    double ma = report_mean_ms(a), mb = report_mean_ms(b);
    if (ma != mb)
        return ma > mb ? -1 : 1;
    return cmp_total(x, y);
}

static int cmp_max(const void *x, const void *y)
{
    const struct qstat *a = &sort_c->q[*(const uint32_t *)x], *b = &sort_c->q[*(const uint32_t *)y];
    if (a->max_us != b->max_us)
        return a->max_us > b->max_us ? -1 : 1;
    return cmp_total(x, y);
}

static int cmp_err(const void *x, const void *y)
{
    const struct errgroup *a = &sort_c->errs[*(const uint32_t *)x];
    const struct errgroup *b = &sort_c->errs[*(const uint32_t *)y];
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int cmp_bucket(const void *x, const void *y)
{
    const struct tl_bucket *a = *(struct tl_bucket *const *)x, *b = *(struct tl_bucket *const *)y;
    return a->bucket < b->bucket ? -1 : a->bucket > b->bucket;
}

static uint32_t *sorted(size_t n, int (*cmp)(const void *, const void *))
{
    uint32_t *v = xmalloc((n ? n : 1) * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (uint32_t)i;
    qsort(v, n, sizeof(*v), cmp);
    return v;
}

/*
 * Queries with calls: a statement only parsed or bound (or whose calls the
 * filters left out) is not a query of the report.
 */
static uint32_t *sorted_queries(const struct collector *c, size_t *n,
                                int (*cmp)(const void *, const void *))
{
    uint32_t *v = xmalloc((c->nq ? c->nq : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < c->nq; i++)
        if (c->q[i].calls)
            v[k++] = (uint32_t)i;
    qsort(v, k, sizeof(*v), cmp);
    *n = k;
    return v;
}

void report_init(struct report *r, const struct analysis *a, const struct report_opts *opts)
{
    memset(r, 0, sizeof(*r));
    r->a = a;
    r->c = &a->c;
    r->opts = *opts;
    sort_c = r->c;
    r->by_total = sorted_queries(r->c, &r->nq, cmp_total);
    r->by_calls = sorted_queries(r->c, &r->nq, cmp_calls);
    r->by_mean = sorted_queries(r->c, &r->nq, cmp_mean);
    r->by_max = sorted_queries(r->c, &r->nq, cmp_max);
    r->errs = sorted(a->c.nerrs, cmp_err);
    r->ntl = a->c.ntl;
    r->timeline = xmalloc((r->ntl ? r->ntl : 1) * sizeof(*r->timeline));
    for (size_t i = 0; i < r->ntl; i++)
        r->timeline[i] = &a->c.tl[i];
    qsort(r->timeline, r->ntl, sizeof(*r->timeline), cmp_bucket);
    sort_c = NULL;
    r->means_only = a->store != NULL;
}

void report_release(struct report *r)
{
    free(r->by_total);
    free(r->by_calls);
    free(r->by_mean);
    free(r->by_max);
    free(r->errs);
    free(r->timeline);
    memset(r, 0, sizeof(*r));
}

void report_set_alerts(struct report *r, const struct alert *alerts, size_t n)
{
    r->alerts = alerts;
    r->nalerts = n;
}

void report_set_incidents(struct report *r, const struct incident *incs, size_t n)
{
    r->incidents = incs;
    r->nincidents = n;
}

void report_set_web(struct report *r, const struct web *w)
{
    r->web = w;
}

void report_duration(struct buf *b, int64_t us)
{
    double s = (double)us / 1e6;
    if (s < 120)
        buf_addf(b, "%.0f s", s);
    else if (s < 7200)
        buf_addf(b, "%.0f min", s / 60);
    else
        buf_addf(b, "%.1f h", s / 3600);
}

char *report_incident_heading(const struct report *r, const struct incident *inc)
{
    struct buf b = BUF_INIT;
    buf_addf(&b, "#%d %s, %s: ", inc->seq, inc->state == INCIDENT_OPEN ? "open" : "resolved",
             inc->critical ? "critical" : "warning");
    report_time(r, &b, inc->onset_us);
    buf_addstr(&b, " .. ");
    if (inc->end_us) {
        report_time(r, &b, inc->end_us);
        buf_addstr(&b, " (");
        report_duration(&b, inc->end_us - inc->onset_us);
        buf_addstr(&b, ")");
    } else {
        buf_addstr(&b, "still going on at ");
        report_time(r, &b, inc->updated_us);
    }
    buf_addstr(&b, "; detected ");
    report_time(r, &b, inc->detected_us);
    buf_addstr(&b, " (+");
    report_duration(&b, inc->detected_us - inc->onset_us);
    buf_addstr(&b, ")");
    return buf_detach(&b, NULL);
}

void report_row_add(struct report_row **rows, size_t *n, const char *label, char *text, bool code)
{
    *rows = xrealloc(*rows, (*n + 1) * sizeof(**rows));
    (*rows)[(*n)++] = (struct report_row){ label, text, code };
}

static char *change_text(const struct report *r, const struct incident_change *c)
{
    struct buf b = BUF_INIT;
    report_time(r, &b, c->ts_us);
    buf_addf(&b, " %s", sample_change_kind_name(c->kind));
    if (*c->object)
        buf_addf(&b, " %s", c->object);
    if (*c->table && strcmp(c->table, c->object))
        buf_addf(&b, " on %s", c->table);
    if (*c->detail)
        buf_addf(&b, " (%s)", c->detail);
    if (*c->app)
        buf_addf(&b, " by '%s'", c->app);
    if (*c->why)
        buf_addf(&b, ": %s", c->why);
    return buf_detach(&b, NULL);
}

struct report_row *report_incident_rows(const struct report *r, const struct incident *inc,
                                        size_t *n)
{
    struct report_row *rows = NULL;
    *n = 0;
    for (size_t i = 0; i < inc->ncauses && i < 3; i++) {
        const struct cause *g = &inc->causes[i];
        struct buf b = BUF_INIT;
        buf_addf(&b, "%s%s%s", cause_kind_name(g->kind), g->table ? " on " : "",
                 g->table ? g->table : "");
        if (g->ncolumns) {
            buf_addstr(&b, " (");
            for (size_t k = 0; k < g->ncolumns; k++)
                buf_addf(&b, "%s%s", k ? ", " : "", g->columns[k]);
            buf_addstr(&b, ")");
        }
        if (g->index)
            buf_addf(&b, ", index %s", g->index);
        buf_addf(&b, ": %s", g->summary ? g->summary : "");
        report_row_add(&rows, n, i ? "also" : "cause", buf_detach(&b, NULL), false);
        if (g->query)
            report_row_add(&rows, n, "query", xstrdup(g->query), true);
        if (g->fix && i == 0)
            report_row_add(&rows, n, "to do", xstrdup(g->fix), false);
    }
    if (inc->has_trigger)
        report_row_add(&rows, n, "trigger", change_text(r, &inc->trigger), false);
    if (inc->has_fix) {
        char *t = change_text(r, &inc->fix);
        struct buf b = BUF_INIT;
        buf_addstr(&b, t);
        free(t);
        if (inc->end_us) {
            buf_addstr(&b, "; back to normal at ");
            report_time(r, &b, inc->end_us);
        }
        report_row_add(&rows, n, "fix", buf_detach(&b, NULL), false);
    }
    for (size_t i = 0; i < inc->nsuspicions; i++) {
        const struct suspicion *s = &inc->suspicions[i];
        struct buf b = BUF_INIT;
        buf_addf(&b, "%s: %s", s->name, s->evidence ? s->evidence : "");
        if (s->needs)
            buf_addf(&b, " (would tell: %s)", s->needs);
        report_row_add(&rows, n,
                       s->verdict == VERDICT_RULED_OUT   ? "ruled out"
                       : s->verdict == VERDICT_CONFIRMED ? "confirmed"
                                                         : "cannot tell",
                       buf_detach(&b, NULL), false);
    }
    report_web_incident_rows(r, inc, &rows, n);
    return rows;
}

void report_rows_free(struct report_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].text);
    free(rows);
}

int report_write(const struct report *r, FILE *out)
{
    switch (r->opts.format) {
    case REPORT_JSON:
        return report_write_json(r, out);
    case REPORT_MARKDOWN:
        return report_write_markdown(r, out);
    case REPORT_HTML:
        return report_write_html(r, out);
    default:
        return report_write_text(r, out);
    }
}

void report_store_line(const struct report *r, struct buf *b)
{
    const struct analysis_store *st = r->a->store;
    if (!st)
        return;
    buf_addf(b, "store '%s'", st->path);
    if (st->target)
        buf_addf(b, ", target '%s'", st->target);
    int64_t from = st->since_us != TS_NONE ? st->since_us : st->first_us;
    int64_t to = st->until_us != TS_NONE ? st->until_us : st->last_us;
    if (st->since_us == TS_NONE && st->until_us == TS_NONE && !st->first_us && !st->last_us)
        return;
    buf_addstr(b, ", ");
    size_t at = b->len;
    report_time(r, b, from);
    if (b->len == at)
        buf_addstr(b, "-");
    buf_addstr(b, " .. ");
    at = b->len;
    report_time(r, b, to);
    if (b->len == at)
        buf_addstr(b, "-");
}

void report_coverage_line(const struct report *r, struct buf *b)
{
    const struct interval_stat *st = &r->c->samples;
    buf_addf(b, "%" PRIu64 " interval%s with data, %" PRIu64 " gap%s", st->intervals,
             st->intervals == 1 ? "" : "s", st->gaps, st->gaps == 1 ? "" : "s");
    if (st->ngap_spans) {
        buf_addstr(b, " (the server could not be polled: ");
        for (size_t i = 0; i < st->ngap_spans; i++) {
            if (i == 3) {
                buf_addf(b, ", and %zu more", st->ngap_spans - 3);
                break;
            }
            buf_addstr(b, i ? ", " : "");
            report_time(r, b, st->gap_spans[i].start_us);
            buf_addstr(b, " .. ");
            report_time(r, b, st->gap_spans[i].end_us);
        }
        buf_addch(b, ')');
    }
    if (st->baselines)
        buf_addf(b, ", %" PRIu64 " baseline poll%s (no deltas yet)", st->baselines,
                 st->baselines == 1 ? "" : "s");
}

bool report_other_line(const struct report *r, struct buf *b)
{
    uint64_t folded = collector_folded_queries(r->c);
    if (!folded)
        return false;
    const struct qstat *o = &r->c->other;
    buf_addf(b,
             "about %" PRIu64 " distinct queries beyond the query memory budget folded into "
             "other: %" PRIu64 " calls, %.1f s of database time",
             folded, o->calls, (double)o->total_us / 1e6);
    return true;
}

size_t report_rows(const struct report *r, size_t n)
{
    return r->opts.top && r->opts.top < n ? r->opts.top : n;
}

double report_ms(int64_t us)
{
    return (double)us / 1000.0;
}

void report_time(const struct report *r, struct buf *b, int64_t ts_us)
{
    if (ts_us == TS_NONE || ts_us == INT64_MAX || ts_us == INT64_MIN)
        return;
    tstamp_format(b, ts_us, r->c->tz_offset_s);
}

char *report_example(const struct qstat *q)
{
    const struct example *e = &q->slowest;
    if (!e->text)
        return xstrdup("");
    struct buf b = BUF_INIT;
    if (e->params)
        (void)params_apply(str_cstr(e->text), str_cstr(e->params), &b);
    else
        buf_addstr(&b, e->text);
    return buf_detach(&b, NULL);
}

double report_quantile_ms(const struct qstat *q, double quantile)
{
    if (!q->timed)
        return 0;
    return report_ms(sketch_quantile(&q->sketch, quantile));
}

double report_mean_ms(const struct qstat *q)
{
    return q->timed ? (double)q->total_us / 1000.0 / (double)q->timed : 0;
}

const char *report_sqlstate_class(const char *sqlstate)
{
    static const struct {
        const char *cls, *name;
    } classes[] = {
        { "08", "Connection Exception" },
        { "0A", "Feature Not Supported" },
        { "21", "Cardinality Violation" },
        { "22", "Data Exception" },
        { "23", "Integrity Constraint Violation" },
        { "25", "Invalid Transaction State" },
        { "28", "Invalid Authorization Specification" },
        { "2B", "Dependent Privilege Descriptors Still Exist" },
        { "3D", "Invalid Catalog Name" },
        { "40", "Transaction Rollback" },
        { "42", "Syntax Error or Access Rule Violation" },
        { "53", "Insufficient Resources" },
        { "54", "Program Limit Exceeded" },
        { "55", "Object Not In Prerequisite State" },
        { "57", "Operator Intervention" },
        { "58", "System Error" },
        { "P0", "PL/pgSQL Error" },
        { "XX", "Internal Error" },
    };
    if (!sqlstate || strlen(sqlstate) < 2)
        return "Unknown";
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (memcmp(sqlstate, classes[i].cls, 2) == 0)
            return classes[i].name;
    return "Other";
}

struct dim_count *report_dims(const struct report *r, const struct dim_top *d)
{
    if (!d->n)
        return NULL;
    struct dim_count *v = xmalloc(d->n * sizeof(*v));
    memcpy(v, d->items, d->n * sizeof(*v));
    /* Insertion sort: a query has a handful of users, never more than DIM_MAX. */
    for (size_t i = 1; i < d->n; i++) {
        struct dim_count x = v[i];
        size_t j = i;
        while (j > 0 &&
               (v[j - 1].count < x.count ||
                (v[j - 1].count == x.count && strcmp(names_get(&r->c->names, v[j - 1].name).ptr,
                                                     names_get(&r->c->names, x.name).ptr) > 0))) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return v;
}

void report_fingerprint(char out[17], uint64_t fp)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, fp >>= 4)
        out[i] = hex[fp & 15];
    out[16] = '\0';
}

void report_input_losses(const struct input_info *in, struct buf *b)
{
    if (in->oversize_records)
        buf_addf(b, ", %" PRIu64 " record%s over --max-record skipped, first at line %" PRIu64,
                 in->oversize_records, in->oversize_records == 1 ? "" : "s",
                 in->first_oversize_line);
    if (in->shrunk)
        buf_addf(b, ", shrank from %" PRIu64 " to %" PRIu64 " bytes while read", in->size_before,
                 in->size_after);
    if (in->damage)
        buf_addf(b, ", damaged after %" PRIu64 " bytes: %s", in->damage_bytes, in->damage);
}

bool report_pooler_line(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    if (!c->npool_stats && !c->pool_refused)
        return false;
    if (c->npool_stats) {
        const struct pool_stat *worst = &c->pool_stats[0];
        int64_t lo = INT64_MAX, hi = 0;
        for (size_t i = 0; i < c->npool_stats; i++) {
            const struct pool_stat *p = &c->pool_stats[i];
            lo = p->avg.xacts_per_s < lo ? p->avg.xacts_per_s : lo;
            hi = p->avg.xacts_per_s > hi ? p->avg.xacts_per_s : hi;
            if (p->avg.wait_us > worst->avg.wait_us)
                worst = p;
        }
        buf_addf(b,
                 "%zu stats lines, %" PRId64 " to %" PRId64 " transactions/s, clients waited "
                 "up to %.1f ms a second",
                 c->npool_stats, lo, hi, (double)worst->avg.wait_us / 1000);
        if (worst->avg.wait_us > 0) {
            buf_addstr(b, " (");
            report_time(r, b, worst->ts_us);
            buf_addch(b, ')');
        }
        buf_addstr(b, "; ");
    }
    buf_addf(b, "%" PRIu64 " clients turned away", c->pool_refused);
    if (c->npool_waits) {
        int64_t longest = 0;
        for (size_t i = 0; i < c->npool_waits; i++)
            if (c->pool_waits[i].end_us - c->pool_waits[i].start_us > longest)
                longest = c->pool_waits[i].end_us - c->pool_waits[i].start_us;
        buf_addf(b, ", %zu after waiting up to %.0f s for a server", c->npool_waits,
                 (double)longest / 1e6);
    }
    return true;
}

size_t report_pooler_rows(const struct report *r, struct pooler_row *rows, size_t *per)
{
    const struct collector *c = r->c;
    size_t n = c->npool_stats, step = n > POOLER_ROWS ? (n + POOLER_ROWS - 1) / POOLER_ROWS : 1;
    size_t nrows = 0;
    for (size_t i = 0; i < n; i += step) {
        /* Rates by the seconds each line covers; mean times by the transactions behind them. */
        double secs = 0, xacts = 0, queries = 0, xact_us = 0, query_us = 0, wait_us = 0;
        for (size_t k = i; k < i + step && k < n; k++) {
            const struct pool_stat *p = &c->pool_stats[k];
            double s = (double)p->period_us / 1e6;
            secs += s;
            xacts += s * (double)p->avg.xacts_per_s;
            queries += s * (double)p->avg.queries_per_s;
            xact_us += s * (double)p->avg.xacts_per_s * (double)p->avg.xact_us;
            query_us += s * (double)p->avg.queries_per_s * (double)p->avg.query_us;
            wait_us += s * (double)p->avg.wait_us;
        }
        rows[nrows++] = (struct pooler_row){
            .ts_us = c->pool_stats[i].ts_us,
            .xacts_per_s = secs > 0 ? xacts / secs : 0,
            .queries_per_s = secs > 0 ? queries / secs : 0,
            .xact_ms = xacts > 0 ? xact_us / xacts / 1000 : 0,
            .query_ms = queries > 0 ? query_us / queries / 1000 : 0,
            .wait_ms_per_s = secs > 0 ? wait_us / secs / 1000 : 0,
        };
    }
    *per = step;
    return nrows;
}

void report_bytes(struct buf *b, int64_t bytes)
{
    static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        buf_addf(b, "%" PRId64 " B", bytes);
    else
        buf_addf(b, "%.1f %s", v, units[u]);
}
