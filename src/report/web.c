/*
 * The web tier in words and JSON (report/web.h).
 */
#include "report/web.h"

#include "util/jsonstr.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* A rise of the request rate or the clients below this is the day's noise. */
#define SURGE_NOISE 1.5
/* A rise this large is a surge, whatever else happened. */
#define SURGE_REAL 2.0
/* Upstream (the application) share of the request time that puts the time behind the web server. */
#define UPSTREAM_MOST 0.8

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0;
}

static void add_ms(struct buf *b, int64_t us)
{
    if (us >= 1000000)
        buf_addf(b, "%.2f s", (double)us / 1e6);
    else
        buf_addf(b, "%.0f ms", (double)us / 1e3);
}

static void route_words(const struct report *r, struct buf *b, const struct web_impact *imp)
{
    for (size_t i = 0; i < imp->nroutes; i++) {
        const struct web_route_hurt *h = &imp->routes[i];
        struct str name = names_get(&r->web->routes, h->route);
        buf_addf(b, "%s%.*s (%" PRIu32 " failed, %" PRIu32 " slow of %" PRIu32 ")", i ? ", " : "",
                 STR_ARG(name), h->c.failed, h->c.slow, h->c.requests);
    }
}

static void follow_words(const struct report *r, struct buf *b, int64_t from_us, int64_t to_us);

char *report_web_impact_text(const struct report *r, const struct web_impact *imp)
{
    struct buf b = BUF_INIT;
    if (imp->same_window) {
        buf_addstr(&b, "At the web tier: ");
    } else if (imp->from_web) {
        buf_addstr(&b, "At the web tier from ");
        report_time(r, &b, imp->window.from_us);
        buf_addstr(&b, " to ");
        report_time(r, &b, imp->window.to_us);
        buf_addstr(&b, ": ");
    } else {
        buf_addstr(&b, "Over the incident (no stretch of failed or slow pages stood out at the "
                       "web tier): ");
    }
    buf_addf(&b,
             "%" PRIu64 " of %" PRIu64 " requests failed (%.1f %%), %" PRIu64 " were slow (over ",
             imp->failed, imp->requests, pct(imp->failed, imp->requests), imp->slow);
    add_ms(&b, r->web->opts.slow_us);
    /*
     * Clients and routes are kept per interval: they count over the intervals the window touches.
     */
    buf_addf(&b,
             "); %" PRIu64 " of the %" PRIu64
             " clients active in its intervals saw a failed or slow page (%.1f %%)",
             imp->clients_hurt, imp->clients, pct(imp->clients_hurt, imp->clients));
    if (imp->p95_before_us >= 0 && imp->p95_during_us >= 0) {
        buf_addstr(&b, "; p95 ");
        add_ms(&b, imp->p95_during_us);
        buf_addstr(&b, " (");
        add_ms(&b, imp->p95_before_us);
        buf_addstr(&b, " before)");
    }
    if (imp->nroutes) {
        buf_addstr(&b, ". Routes hurt most: ");
        route_words(r, &b, imp);
    }
    follow_words(r, &b, imp->window.from_us, imp->window.to_us);
    buf_addch(&b, '.');
    return buf_detach(&b, NULL);
}

static char *surge_lead(const struct web_impact *imp, enum verdict *v)
{
    struct buf b = BUF_INIT;
    if (!isfinite(imp->rps_before) || imp->rps_before <= 0) {
        *v = VERDICT_CANNOT_TELL;
        buf_addstr(&b, "no request was logged before the window");
        return buf_detach(&b, NULL);
    }
    double ratio = imp->rps_during / imp->rps_before;
    double cratio = imp->clients_before > 0 ? imp->clients_during / imp->clients_before : 1;
    buf_addf(&b, "requests %.1f/s -> %.1f/s, clients per interval %.0f -> %.0f", imp->rps_before,
             imp->rps_during, imp->clients_before, imp->clients_during);
    if (isfinite(imp->top10_share))
        buf_addf(&b, ", the 10 busiest sent %.0f %% of the requests", 100 * imp->top10_share);
    if (isfinite(imp->new_clients_share))
        buf_addf(&b, ", %.0f %% of the clients new", 100 * imp->new_clients_share);
    /*
     * A surge the servers cannot serve shows as more clients, most of them
     * new, with no more requests served (every worker is busy): confirmed too.
     */
    if (ratio >= SURGE_REAL || cratio >= SURGE_REAL ||
        (cratio >= SURGE_NOISE && imp->new_clients_share >= 0.5))
        *v = VERDICT_CONFIRMED;
    else if (ratio <= SURGE_NOISE && cratio <= SURGE_NOISE && !(imp->new_clients_share >= 0.5))
        *v = VERDICT_RULED_OUT;
    else
        *v = VERDICT_CANNOT_TELL;
    return buf_detach(&b, NULL);
}

static char *network_lead(const struct web_impact *imp, enum verdict *v)
{
    struct buf b = BUF_INIT;
    if (!isfinite(imp->upstream_share_during)) {
        *v = VERDICT_CANNOT_TELL;
        buf_addstr(&b, "the access log has no upstream time ($upstream_response_time) to split "
                       "the request time");
    } else {
        buf_addf(&b, "the application took %.0f %% of the request time",
                 100 * imp->upstream_share_during);
        if (isfinite(imp->upstream_share_before))
            buf_addf(&b, " (%.0f %% before)", 100 * imp->upstream_share_before);
        *v = imp->upstream_share_during >= UPSTREAM_MOST ? VERDICT_RULED_OUT : VERDICT_CANNOT_TELL;
    }
    if (isfinite(imp->cache_hit_during)) {
        buf_addf(&b, "; cache hits %.0f %% during", 100 * imp->cache_hit_during);
        if (isfinite(imp->cache_hit_before))
            buf_addf(&b, " (%.0f %% before)", 100 * imp->cache_hit_before);
    }
    return buf_detach(&b, NULL);
}

void report_web_leads(const struct web_impact *imp, struct report_web_lead *out)
{
    out[0].name = "traffic surge or DDoS (access log)";
    out[0].db_name = "traffic surge or DDoS";
    out[0].evidence = surge_lead(imp, &out[0].verdict);
    out[1].name = "network or CDN (access log)";
    out[1].db_name = "network";
    out[1].evidence = network_lead(imp, &out[1].verdict);
}

/* Database time per second and errors over the timeline's buckets touching [from, to). */
static void db_span(const struct report *r, int64_t from, int64_t to, double *s_per_s,
                    uint64_t *errors)
{
    int64_t step = r->a->opts.filter.interval_us;
    int64_t total = 0;
    *errors = 0;
    for (size_t i = 0; i < r->ntl; i++) {
        const struct tl_bucket *b = r->timeline[i];
        if (b->bucket + step <= from || b->bucket >= to)
            continue;
        total += b->total_us;
        *errors += b->errors;
    }
    /* Intervals without a record are idle ones: the span's length counts, not the buckets. */
    int64_t first = from - (from % step + step) % step;
    int64_t n = (to - first + step - 1) / step;
    *s_per_s = n > 0 ? (double)total / 1e6 / ((double)n * (double)step / 1e6) : 0;
}

static bool has_db_data(const struct report *r)
{
    return r->a->store || r->c->queries || r->c->errors;
}

void report_web_db(const struct report *r, const struct web_window *win, struct report_web_db *out)
{
    memset(out, 0, sizeof(*out));
    struct buf b = BUF_INIT;
    if (!has_db_data(r)) {
        out->verdict = VERDICT_CANNOT_TELL;
        out->evidence = xstrdup("no database log or store was given with the access log");
        return;
    }
    for (size_t i = 0; i < r->nincidents; i++) {
        const struct incident *inc = &r->incidents[i];
        int64_t end = inc->end_us ? inc->end_us : inc->updated_us;
        if (inc->onset_us < win->to_us && end > win->from_us) {
            out->verdict = VERDICT_CONFIRMED;
            out->incident = inc->seq;
            break;
        }
    }
    int64_t len = win->to_us - win->from_us, step = r->a->opts.filter.interval_us;
    if (len < step)
        len = step;
    if (len > 10 * step)
        len = 10 * step;
    db_span(r, win->from_us - len, win->from_us, &out->db_s_per_s_before, &out->errors_before);
    db_span(r, win->from_us, win->to_us, &out->db_s_per_s_during, &out->errors_during);
    buf_addf(&b,
             "database time %.3f s/s before, %.3f s/s during; %" PRIu64
             " errors logged during (%" PRIu64 " before)",
             out->db_s_per_s_before, out->db_s_per_s_during, out->errors_during,
             out->errors_before);
    if (out->verdict == VERDICT_CONFIRMED) {
        buf_addf(&b, "; database incident #%d overlaps", out->incident);
    } else {
        bool flat = out->db_s_per_s_during <= SURGE_NOISE * out->db_s_per_s_before + 0.05 &&
                    out->errors_during <= 2 * out->errors_before + 2;
        out->verdict = flat ? VERDICT_RULED_OUT : VERDICT_CANNOT_TELL;
        buf_addstr(&b, flat ? "; no database incident: the database is ruled out"
                            : "; the database's numbers rose but opened no incident");
    }
    out->evidence = buf_detach(&b, NULL);
}

/* Pearson's r of x and y, NAN when either is flat. */
static double pearson(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

void report_web_follow(const struct report *r, int64_t from_us, int64_t to_us,
                       struct report_web_follow *out)
{
    out->failed_r = out->p95_r = NAN;
    out->intervals = 0;
    const struct web *w = r->web;
    int64_t step = w->opts.interval_us, pad = to_us - from_us;
    if (pad < 3 * step)
        pad = 3 * step;
    size_t cap = w->nbuckets ? w->nbuckets : 1;
    double *db = xmalloc(cap * sizeof(*db)), *fail = xmalloc(cap * sizeof(*fail));
    double *p95 = xmalloc(cap * sizeof(*p95));
    size_t n = 0;
    for (size_t i = 0; i < w->nbuckets; i++) {
        const struct web_bucket *b = &w->buckets[i];
        if (b->start_us + step <= from_us - pad || b->start_us >= to_us + pad || !b->requests ||
            !sketch_count(&b->latency))
            continue;
        double s_per_s;
        uint64_t errors;
        db_span(r, b->start_us, b->start_us + step, &s_per_s, &errors);
        db[n] = s_per_s;
        fail[n] = (double)b->failed;
        p95[n] = (double)sketch_quantile(&b->latency, 0.95);
        n++;
    }
    if (n >= 4) {
        out->failed_r = pearson(db, fail, n);
        out->p95_r = pearson(db, p95, n);
        out->intervals = n;
    }
    free(db);
    free(fail);
    free(p95);
}

const char *report_web_follow_measure(bool by_time)
{
    return by_time ? "mean request time" : "share of failed or slow requests";
}

double report_web_route_follows(const struct report *r, uint64_t fingerprint, uint32_t route,
                                int64_t from_us, int64_t to_us, size_t *intervals, bool *by_time)
{
    *intervals = 0;
    *by_time =
        route < r->web->nroute_totals && sketch_count(&r->web->route_totals[route].latency) > 0;
    const struct qstat *q = NULL;
    for (size_t i = 0; fingerprint && i < r->c->nq; i++)
        if (r->c->q[i].fingerprint == fingerprint)
            q = &r->c->q[i];
    if (!q || !q->nseries)
        return NAN;
    const struct web *w = r->web;
    int64_t step = w->opts.interval_us, pad = to_us - from_us;
    if (pad < 3 * step)
        pad = 3 * step;
    double *x = xmalloc(q->nseries * sizeof(*x)), *y = xmalloc(q->nseries * sizeof(*y));
    size_t n = 0;
    struct web_buf buf = { NULL, 0 };
    for (size_t k = 0; k < q->nseries; k++) {
        const struct series_point *p = &q->series[k];
        const struct web_bucket *b = web_bucket_at(w, p->bucket);
        if (!p->calls || !b || b->start_us != p->bucket || p->bucket + step <= from_us - pad ||
            p->bucket >= to_us + pad)
            continue;
        struct web_route_visit c = { 0 };
        size_t nv;
        const struct web_route_visit *v = web_routes_of(w, b, &buf, &nv);
        for (size_t i = 0; i < nv; i++)
            if (v[i].id == route) {
                c.c.requests += v[i].c.requests;
                c.c.failed += v[i].c.failed;
                c.c.slow += v[i].c.slow;
                c.timed += v[i].timed;
                c.latency_us += v[i].latency_us;
            }
        if (*by_time ? !c.timed : !c.c.requests)
            continue;
        x[n] = (double)p->total_us / (double)p->calls;
        y[n] = *by_time ? (double)c.latency_us / c.timed
                        : (double)(c.c.failed + c.c.slow) / (double)c.c.requests;
        n++;
    }
    web_buf_release(&buf);
    double rr = n >= 4 ? pearson(x, y, n) : NAN;
    *intervals = n >= 4 ? n : 0;
    free(x);
    free(y);
    return rr;
}

/* ". Per interval (20 around it), the web tier's p95 follows ..." when there is a link to tell. */
static void follow_words(const struct report *r, struct buf *b, int64_t from_us, int64_t to_us)
{
    if (!has_db_data(r))
        return;
    struct report_web_follow f;
    report_web_follow(r, from_us, to_us, &f);
    if (!f.intervals)
        return;
    buf_addf(b, ". Per interval (%zu around it), the web tier's p95 ", f.intervals);
    if (isfinite(f.p95_r))
        buf_addf(b, "follows the database's time with r = %.2f", f.p95_r);
    else
        buf_addstr(b, "does not vary with the database's time");
    if (isfinite(f.failed_r))
        buf_addf(b, ", its 5xx with r = %.2f", f.failed_r);
}

/* --- rows -------------------------------------------------------------------------------- */

static void input_rows(const struct web *w, struct report_row **rows, size_t *n)
{
    for (size_t i = 0; i < w->ninputs; i++) {
        const struct web_input *in = &w->inputs[i];
        struct buf b = BUF_INIT;
        buf_addf(&b, "%s", in->path);
        if (in->error) {
            buf_addf(&b, ": %s", in->error);
        } else {
            buf_addf(&b, " (%s%s%s, %" PRIu64 " lines, %" PRIu64 " requests", in->format,
                     in->compression ? ", " : "", in->compression ? in->compression : "", in->lines,
                     in->requests);
            if (in->bad_lines)
                buf_addf(&b, ", %" PRIu64 " not read, first at line %" PRIu64, in->bad_lines,
                         in->first_bad_line);
            if (in->oversize)
                buf_addf(&b, ", %" PRIu64 " longer than %u bytes, skipped", in->oversize,
                         WEB_MAX_LINE);
            buf_addch(&b, ')');
        }
        report_row_add(rows, n, "access log", buf_detach(&b, NULL), false);
    }
}

static void summary_rows(const struct report *r, struct report_row **rows, size_t *n)
{
    const struct web *w = r->web;
    struct buf b = BUF_INIT;
    buf_addf(
        &b, "%" PRIu64 " requests: 2xx %" PRIu64 ", 3xx %" PRIu64 ", 4xx %" PRIu64 ", 5xx %" PRIu64,
        w->requests, w->status[1], w->status[2], w->status[3], w->status[4]);
    buf_addf(&b, "; %" PRIu64 " slow (over ", w->slow);
    add_ms(&b, w->opts.slow_us);
    uint64_t clients, hurt;
    web_clients(w, INT64_MIN / 2, INT64_MAX / 2, &clients, &hurt);
    buf_addf(&b, "); %" PRIu64 " clients, %" PRIu64 " of them saw a failed or slow page", clients,
             hurt);
    report_row_add(rows, n, "requests", buf_detach(&b, NULL), false);
    struct sketch lat;
    sketch_init(&lat);
    web_latency(w, &lat);
    if (sketch_count(&lat)) {
        buf_addstr(&b, "p50 ");
        add_ms(&b, sketch_quantile(&lat, 0.5));
        buf_addstr(&b, ", p95 ");
        add_ms(&b, sketch_quantile(&lat, 0.95));
        buf_addstr(&b, ", p99 ");
        add_ms(&b, sketch_quantile(&lat, 0.99));
    } else {
        buf_addstr(&b, "no request time in the log ($request_time or %D would tell)");
    }
    sketch_release(&lat);
    report_row_add(rows, n, "latency", buf_detach(&b, NULL), false);
}

/* Routes by requests, then name; the top rows. */
static uint32_t *routes_by_requests(const struct web *w, size_t *n)
{
    uint32_t *ids = xmalloc((w->nroute_totals ? w->nroute_totals : 1) * sizeof(*ids));
    *n = 0;
    for (size_t i = 0; i < w->nroute_totals; i++)
        if (w->route_totals[i].requests)
            ids[(*n)++] = (uint32_t)i;
    for (size_t i = 1; i < *n; i++) {
        uint32_t v = ids[i];
        size_t j = i;
        for (; j > 0 && w->route_totals[ids[j - 1]].requests < w->route_totals[v].requests; j--)
            ids[j] = ids[j - 1];
        ids[j] = v;
    }
    return ids;
}

static void route_rows(const struct report *r, struct report_row **rows, size_t *n)
{
    const struct web *w = r->web;
    size_t nr;
    uint32_t *ids = routes_by_requests(w, &nr);
    size_t top = report_rows(r, nr);
    if (top > 10)
        top = 10;
    for (size_t i = 0; i < top; i++) {
        const struct web_route *rt = &w->route_totals[ids[i]];
        struct str name = names_get(&w->routes, ids[i]);
        struct buf b = BUF_INIT;
        buf_addf(&b, "%.*s: %" PRIu64 " requests, %" PRIu64 " failed, %" PRIu64 " slow",
                 STR_ARG(name), rt->requests, rt->failed, rt->slow);
        if (sketch_count(&rt->latency)) {
            buf_addstr(&b, ", p95 ");
            add_ms(&b, sketch_quantile(&rt->latency, 0.95));
        }
        report_row_add(rows, n, "route", buf_detach(&b, NULL), false);
    }
    free(ids);
}

struct report_row *report_web_rows(const struct report *r, size_t *n)
{
    struct report_row *rows = NULL;
    *n = 0;
    if (!r->web)
        return NULL;
    input_rows(r->web, &rows, n);
    summary_rows(r, &rows, n);
    route_rows(r, &rows, n);
    struct web_window *wins;
    size_t nw = web_incidents(r->web, &wins);
    for (size_t i = 0; i < nw; i++) {
        struct web_impact imp;
        web_impact(r->web, wins[i].from_us, wins[i].to_us, &imp);
        struct report_web_db db;
        report_web_db(r, &wins[i], &db);
        char *t = report_web_impact_text(r, &imp);
        struct buf b = BUF_INIT;
        buf_addf(&b, "%s Database: %s.", t, db.evidence);
        free(t);
        free(db.evidence);
        report_row_add(&rows, n, "pages hurt", buf_detach(&b, NULL), false);
    }
    free(wins);
    return rows;
}

static const char *verdict_label(enum verdict v)
{
    return v == VERDICT_RULED_OUT   ? "ruled out"
           : v == VERDICT_CONFIRMED ? "confirmed"
                                    : "cannot tell";
}

void report_web_incident_rows(const struct report *r, const struct incident *inc,
                              struct report_row **rows, size_t *n)
{
    if (!r->web)
        return;
    struct web_impact imp;
    web_impact(r->web, inc->onset_us, inc->end_us ? inc->end_us : inc->updated_us, &imp);
    report_row_add(rows, n, "users", report_web_impact_text(r, &imp), false);
    uint64_t fp = inc->ncauses ? inc->causes[0].fingerprint : 0;
    for (size_t i = 0; fp && i < imp.nroutes; i++) {
        size_t k;
        bool by_time;
        double rr = report_web_route_follows(r, fp, imp.routes[i].route, imp.window.from_us,
                                             imp.window.to_us, &k, &by_time);
        if (!(rr >= 0.7))
            continue;
        struct buf b = BUF_INIT;
        struct str name = names_get(&r->web->routes, imp.routes[i].route);
        buf_addf(&b, "%.*s: its %s follows the query's mean time (r = %.2f over %zu intervals)",
                 STR_ARG(name), report_web_follow_measure(by_time), rr, k);
        report_row_add(rows, n, "route", buf_detach(&b, NULL), false);
    }
    struct report_web_lead leads[REPORT_WEB_LEADS];
    report_web_leads(&imp, leads);
    for (size_t i = 0; i < REPORT_WEB_LEADS; i++) {
        struct buf b = BUF_INIT;
        buf_addf(&b, "%s: %s", leads[i].name, leads[i].evidence);
        free(leads[i].evidence);
        report_row_add(rows, n, verdict_label(leads[i].verdict), buf_detach(&b, NULL), false);
    }
}

/* --- JSON -------------------------------------------------------------------------------- */

static json_t *ms_or_null(int64_t us)
{
    return us >= 0 ? jsonstr_num((double)us / 1e3) : json_null();
}

static json_t *share(uint64_t part, uint64_t whole)
{
    return whole ? jsonstr_num((double)part / (double)whole) : json_null();
}

json_t *report_web_impact_json(const struct report *r, const struct web_impact *imp,
                               uint64_t fingerprint)
{
    json_t *routes = json_array();
    for (size_t i = 0; i < imp->nroutes; i++) {
        struct str name = names_get(&r->web->routes, imp->routes[i].route);
        size_t k;
        bool by_time;
        double rr = report_web_route_follows(r, fingerprint, imp->routes[i].route,
                                             imp->window.from_us, imp->window.to_us, &k, &by_time);
        json_array_append_new(
            routes, json_pack("{s:o, s:I, s:I, s:I, s:o, s:s}", "route", jsonstr_new(name.ptr),
                              "requests", (json_int_t)imp->routes[i].c.requests, "failed",
                              (json_int_t)imp->routes[i].c.failed, "slow",
                              (json_int_t)imp->routes[i].c.slow, "follows_query_r", jsonstr_num(rr),
                              "follows_query_by", by_time ? "mean_time" : "failed_or_slow_share"));
    }
    json_t *j = json_object();
    json_object_set_new(j, "from", jsonstr_time(imp->window.from_us));
    json_object_set_new(j, "to", jsonstr_time(imp->window.to_us));
    json_object_set_new(j, "web_tier_window", json_boolean(imp->from_web));
    json_object_set_new(j, "requests", json_integer((json_int_t)imp->requests));
    json_object_set_new(j, "failed", json_integer((json_int_t)imp->failed));
    json_object_set_new(j, "failed_share", share(imp->failed, imp->requests));
    json_object_set_new(j, "slow", json_integer((json_int_t)imp->slow));
    json_object_set_new(j, "clients", json_integer((json_int_t)imp->clients));
    json_object_set_new(j, "clients_hurt", json_integer((json_int_t)imp->clients_hurt));
    json_object_set_new(j, "clients_hurt_share", share(imp->clients_hurt, imp->clients));
    json_object_set_new(j, "routes_hurt", routes);
    json_object_set_new(j, "requests_per_s_before", jsonstr_num(imp->rps_before));
    json_object_set_new(j, "requests_per_s_during", jsonstr_num(imp->rps_during));
    json_object_set_new(j, "clients_per_interval_before", jsonstr_num(imp->clients_before));
    json_object_set_new(j, "clients_per_interval_during", jsonstr_num(imp->clients_during));
    json_object_set_new(j, "top10_clients_share", jsonstr_num(imp->top10_share));
    json_object_set_new(j, "new_clients_share", jsonstr_num(imp->new_clients_share));
    json_object_set_new(j, "p95_ms_before", ms_or_null(imp->p95_before_us));
    json_object_set_new(j, "p95_ms_during", ms_or_null(imp->p95_during_us));
    json_object_set_new(j, "upstream_share_before", jsonstr_num(imp->upstream_share_before));
    json_object_set_new(j, "upstream_share_during", jsonstr_num(imp->upstream_share_during));
    json_object_set_new(j, "cache_hit_before", jsonstr_num(imp->cache_hit_before));
    json_object_set_new(j, "cache_hit_during", jsonstr_num(imp->cache_hit_during));
    struct report_web_follow f = { NAN, NAN, 0 };
    if (has_db_data(r))
        report_web_follow(r, imp->window.from_us, imp->window.to_us, &f);
    json_object_set_new(j, "correlation_intervals", json_integer((json_int_t)f.intervals));
    json_object_set_new(j, "p95_db_time_r", jsonstr_num(f.p95_r));
    json_object_set_new(j, "failed_db_time_r", jsonstr_num(f.failed_r));
    struct report_web_lead leads[REPORT_WEB_LEADS];
    report_web_leads(imp, leads);
    json_t *lj = json_array();
    for (size_t i = 0; i < REPORT_WEB_LEADS; i++) {
        json_array_append_new(lj, json_pack("{s:s, s:s, s:o}", "name", leads[i].name, "verdict",
                                            verdict_name(leads[i].verdict), "evidence",
                                            jsonstr_new(leads[i].evidence)));
        free(leads[i].evidence);
    }
    json_object_set_new(j, "suspicions", lj);
    return j;
}

static json_t *inputs_json(const struct web *w)
{
    json_t *a = json_array();
    for (size_t i = 0; i < w->ninputs; i++) {
        const struct web_input *in = &w->inputs[i];
        json_t *o = json_object();
        json_object_set_new(o, "path", jsonstr_new(in->path));
        json_object_set_new(o, "format", jsonstr_new(in->format));
        json_object_set_new(o, "compression", jsonstr_new(in->compression));
        json_object_set_new(o, "archive", jsonstr_new(in->archive));
        json_object_set_new(o, "bytes", json_integer((json_int_t)in->bytes));
        json_object_set_new(o, "lines", json_integer((json_int_t)in->lines));
        json_object_set_new(o, "requests", json_integer((json_int_t)in->requests));
        json_object_set_new(o, "bad_lines", json_integer((json_int_t)in->bad_lines));
        json_object_set_new(o, "first_bad_line",
                            in->bad_lines ? json_integer((json_int_t)in->first_bad_line)
                                          : json_null());
        json_object_set_new(o, "oversize_lines", json_integer((json_int_t)in->oversize));
        json_object_set_new(o, "error", jsonstr_new(in->error));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *quantiles_json(const struct sketch *s)
{
    if (!sketch_count(s))
        return json_null();
    return json_pack("{s:o, s:o, s:o}", "p50", ms_or_null(sketch_quantile(s, 0.5)), "p95",
                     ms_or_null(sketch_quantile(s, 0.95)), "p99",
                     ms_or_null(sketch_quantile(s, 0.99)));
}

static json_t *timeline_json(const struct web *w)
{
    json_t *a = json_array();
    for (size_t i = 0; i < w->nbuckets; i++) {
        const struct web_bucket *b = &w->buckets[i];
        json_t *o = json_object();
        json_object_set_new(o, "start", jsonstr_time(b->start_us));
        json_object_set_new(o, "requests", json_integer((json_int_t)b->requests));
        json_object_set_new(o, "failed", json_integer((json_int_t)b->failed));
        json_object_set_new(o, "slow", json_integer((json_int_t)b->slow));
        json_object_set_new(o, "status_4xx", json_integer((json_int_t)b->status[3]));
        json_object_set_new(o, "clients", json_integer((json_int_t)web_list_len(&b->clients)));
        json_object_set_new(o, "latency_ms", quantiles_json(&b->latency));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *routes_json(const struct report *r)
{
    const struct web *w = r->web;
    size_t nr;
    uint32_t *ids = routes_by_requests(w, &nr);
    size_t top = report_rows(r, nr);
    json_t *a = json_array();
    for (size_t i = 0; i < top; i++) {
        const struct web_route *rt = &w->route_totals[ids[i]];
        struct str name = names_get(&w->routes, ids[i]);
        json_t *o = json_object();
        json_object_set_new(o, "route", jsonstr_new(name.ptr));
        json_object_set_new(o, "requests", json_integer((json_int_t)rt->requests));
        json_object_set_new(o, "failed", json_integer((json_int_t)rt->failed));
        json_object_set_new(o, "slow", json_integer((json_int_t)rt->slow));
        json_object_set_new(o, "latency_ms", quantiles_json(&rt->latency));
        json_array_append_new(a, o);
    }
    free(ids);
    return a;
}

json_t *report_web_json(const struct report *r)
{
    const struct web *w = r->web;
    if (!w)
        return json_null();
    json_t *j = json_object();
    json_object_set_new(j, "inputs", inputs_json(w));
    json_object_set_new(j, "requests", json_integer((json_int_t)w->requests));
    json_object_set_new(j, "failed", json_integer((json_int_t)w->failed));
    json_object_set_new(j, "slow", json_integer((json_int_t)w->slow));
    json_object_set_new(j, "slow_threshold_ms", jsonstr_num((double)w->opts.slow_us / 1e3));
    json_object_set_new(j, "status",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "1xx", (json_int_t)w->status[0],
                                  "2xx", (json_int_t)w->status[1], "3xx", (json_int_t)w->status[2],
                                  "4xx", (json_int_t)w->status[3], "5xx", (json_int_t)w->status[4],
                                  "none", (json_int_t)w->status[5]));
    struct sketch lat;
    sketch_init(&lat);
    web_latency(w, &lat);
    json_object_set_new(j, "latency_ms", quantiles_json(&lat));
    sketch_release(&lat);
    uint64_t clients, hurt;
    web_clients(w, INT64_MIN / 2, INT64_MAX / 2, &clients, &hurt);
    json_object_set_new(j, "clients", json_integer((json_int_t)clients));
    json_object_set_new(j, "clients_hurt", json_integer((json_int_t)hurt));
    json_object_set_new(j, "routes", routes_json(r));
    json_object_set_new(j, "timeline", timeline_json(w));
    struct web_window *wins;
    size_t nw = web_incidents(w, &wins);
    json_t *ia = json_array();
    for (size_t i = 0; i < nw; i++) {
        struct web_impact imp;
        web_impact(w, wins[i].from_us, wins[i].to_us, &imp);
        json_t *o = report_web_impact_json(r, &imp, 0);
        struct report_web_db db;
        report_web_db(r, &wins[i], &db);
        json_object_set_new(
            o, "database",
            json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:o}", "verdict", verdict_name(db.verdict),
                      "incident", db.incident ? json_integer(db.incident) : json_null(),
                      "db_time_s_per_s_before", jsonstr_num(db.db_s_per_s_before),
                      "db_time_s_per_s_during", jsonstr_num(db.db_s_per_s_during), "errors_before",
                      (json_int_t)db.errors_before, "errors_during", (json_int_t)db.errors_during,
                      "evidence", jsonstr_new(db.evidence)));
        free(db.evidence);
        json_array_append_new(ia, o);
    }
    free(wins);
    json_object_set_new(j, "incidents", ia);
    json_t *impacts = json_array();
    for (size_t i = 0; i < r->nincidents; i++) {
        const struct incident *inc = &r->incidents[i];
        struct web_impact imp;
        web_impact(w, inc->onset_us, inc->end_us ? inc->end_us : inc->updated_us, &imp);
        json_t *o = report_web_impact_json(r, &imp, inc->ncauses ? inc->causes[0].fingerprint : 0);
        json_object_set_new(o, "incident", json_integer(inc->seq));
        json_array_append_new(impacts, o);
    }
    json_object_set_new(j, "incident_impact", impacts);
    return j;
}
