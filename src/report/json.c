/*
 * The JSON report: the stable machine interface of `sleuth analyze`,
 * documented in docs/json-output.md. Each part is built as a jansson tree
 * and dumped with keys in insertion order (byte-for-byte stable output);
 * the queries are written one at a time so memory does not grow with them.
 */
#include "render.h"
#include "web.h"

#include "util/jsonstr.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Milliseconds rounded to the microsecond: the log's own precision. */
static json_t *ms(double v)
{
    return json_real(round(v * 1000.0) / 1000.0);
}

/* A per-call statistic: null when only totals are known (stored history). */
static json_t *per_call(const struct report *r, double v)
{
    return r->means_only ? json_null() : ms(v);
}

static json_t *time_or_null(const struct report *r, int64_t ts)
{
    struct buf b = BUF_INIT;
    report_time(r, &b, ts);
    json_t *j = b.len ? json_stringn(b.ptr, b.len) : json_null();
    buf_release(&b);
    return j;
}

static json_t *dims(const struct report *r, const struct dim_top *d)
{
    json_t *arr = json_array();
    struct dim_count *v = report_dims(r, d);
    for (size_t i = 0; i < d->n && i < 5; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", jsonstr_new(names_get(&r->c->names, v[i].name).ptr));
        json_object_set_new(o, "calls", json_integer((json_int_t)v[i].count));
        json_array_append_new(arr, o);
    }
    free(v);
    return arr;
}

static json_t *query_json(const struct report *r, const struct qstat *q)
{
    json_t *o = json_object();
    char fp[17];
    report_fingerprint(fp, q->fingerprint);
    json_object_set_new(o, "fingerprint", json_string(fp));
    json_object_set_new(o, "query", jsonstr_new(q->query));
    json_object_set_new(o, "calls", json_integer((json_int_t)q->calls));
    json_object_set_new(o, "timed_calls", json_integer((json_int_t)q->timed));
    json_object_set_new(o, "total_ms", ms(report_ms(q->total_us)));
    json_object_set_new(o, "mean_ms", ms(report_mean_ms(q)));
    json_object_set_new(o, "min_ms", per_call(r, q->timed ? report_ms(q->min_us) : 0));
    json_object_set_new(o, "max_ms", per_call(r, q->timed ? report_ms(q->max_us) : 0));
    json_object_set_new(o, "stddev_ms", per_call(r, qstat_stddev_ms(q)));
    json_object_set_new(o, "p50_ms", per_call(r, report_quantile_ms(q, 0.50)));
    json_object_set_new(o, "p90_ms", per_call(r, report_quantile_ms(q, 0.90)));
    json_object_set_new(o, "p95_ms", per_call(r, report_quantile_ms(q, 0.95)));
    json_object_set_new(o, "p99_ms", per_call(r, report_quantile_ms(q, 0.99)));
    double share = r->c->total_us ? (double)q->total_us / (double)r->c->total_us : 0;
    json_object_set_new(o, "share", json_real(round(share * 10000.0) / 10000.0));
    char *ex = report_example(q);
    json_object_set_new(o, "example", jsonstr_new(ex));
    free(ex);
    json_object_set_new(o, "example_ms",
                        q->slowest.duration_us >= 0 ? ms(report_ms(q->slowest.duration_us))
                                                    : json_null());
    json_object_set_new(o, "example_at", time_or_null(r, q->slowest.ts_us));
    json_object_set_new(o, "example_plan", jsonstr_new(q->slowest.plan));
    json_object_set_new(o, "first_seen", time_or_null(r, q->first_us));
    json_object_set_new(o, "last_seen", time_or_null(r, q->last_us));
    json_object_set_new(o, "parse_calls", json_integer((json_int_t)q->parse_calls));
    json_object_set_new(o, "parse_ms", ms(report_ms(q->parse_us)));
    json_object_set_new(o, "bind_calls", json_integer((json_int_t)q->bind_calls));
    json_object_set_new(o, "bind_ms", ms(report_ms(q->bind_us)));
    json_object_set_new(o, "parsed", json_boolean(q->parsed));
    json_object_set_new(o, "users", dims(r, &q->dims[DIM_USER]));
    json_object_set_new(o, "databases", dims(r, &q->dims[DIM_DB]));
    json_object_set_new(o, "apps", dims(r, &q->dims[DIM_APP]));
    json_object_set_new(o, "clients", dims(r, &q->dims[DIM_CLIENT]));
    return o;
}

static json_t *inputs_json(const struct report *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->a->ninputs; i++) {
        const struct input_info *in = &r->a->inputs[i];
        const struct input_stat *st = i < r->c->ninputs ? &r->c->inputs[i] : NULL;
        json_t *o = json_object();
        json_object_set_new(o, "path", jsonstr_new(in->path));
        json_object_set_new(o, "format", json_string(log_formats_name(in->format, in->formats)));
        json_object_set_new(o, "compression",
                            in->compression ? json_string(in->compression) : json_null());
        json_object_set_new(o, "archive", in->archive ? json_string(in->archive) : json_null());
        json_object_set_new(o, "prefix", in->prefix ? jsonstr_new(in->prefix) : json_null());
        json_t *prefixes = json_array();
        for (size_t k = 0; k < in->nprefixes; k++)
            json_array_append_new(prefixes, jsonstr_new(in->prefixes[k]));
        if (!in->nprefixes && in->prefix)
            json_array_append_new(prefixes, jsonstr_new(in->prefix));
        json_object_set_new(o, "prefixes", prefixes);
        json_object_set_new(o, "bytes", json_integer((json_int_t)in->bytes));
        json_object_set_new(o, "lines", json_integer((json_int_t)in->lines));
        json_object_set_new(o, "records", json_integer(st ? (json_int_t)st->records : 0));
        json_object_set_new(o, "unparsed_lines", json_integer(st ? (json_int_t)st->unparsed : 0));
        json_t *first = json_array();
        for (size_t k = 0; st && k < st->nfirst; k++)
            json_array_append_new(first, json_integer((json_int_t)st->first_unparsed[k]));
        json_object_set_new(o, "first_unparsed_lines", first);
        json_object_set_new(o, "oversize_records", json_integer((json_int_t)in->oversize_records));
        json_object_set_new(o, "first_oversize_line",
                            in->oversize_records ? json_integer((json_int_t)in->first_oversize_line)
                                                 : json_null());
        json_object_set_new(o, "shrunk",
                            in->shrunk
                                ? json_pack("{s:I,s:I}", "size_before", (json_int_t)in->size_before,
                                            "size_after", (json_int_t)in->size_after)
                                : json_null());
        json_object_set_new(o, "damage",
                            in->damage ? json_pack("{s:o,s:I}", "error", jsonstr_new(in->damage),
                                                   "after_bytes", (json_int_t)in->damage_bytes)
                                       : json_null());
        json_object_set_new(o, "error", in->error ? jsonstr_new(in->error) : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *summary_json(const struct report *r)
{
    const struct collector *c = r->c;
    json_t *o = json_object();
    json_object_set_new(o, "first", time_or_null(r, c->first_us));
    json_object_set_new(o, "last", time_or_null(r, c->last_us));
    json_object_set_new(o, "queries", json_integer((json_int_t)c->queries));
    json_object_set_new(o, "timed_queries", json_integer((json_int_t)c->timed_queries));
    json_object_set_new(o, "total_ms", ms(report_ms(c->total_us)));
    json_object_set_new(o, "errors", json_integer((json_int_t)c->errors));
    json_object_set_new(o, "fatals", json_integer((json_int_t)c->fatals));
    json_object_set_new(o, "panics", json_integer((json_int_t)c->panics));
    json_object_set_new(o, "warnings", json_integer((json_int_t)c->warnings));
    json_object_set_new(o, "distinct_queries", json_integer((json_int_t)r->nq));
    uint64_t folded = collector_folded_queries(c);
    json_object_set_new(o, "folded_queries", json_integer((json_int_t)folded));
    json_t *other = json_null();
    if (folded) {
        other = json_object();
        json_object_set_new(other, "calls", json_integer((json_int_t)c->other.calls));
        json_object_set_new(other, "timed_calls", json_integer((json_int_t)c->other.timed));
        json_object_set_new(other, "total_ms", ms(report_ms(c->other.total_us)));
    }
    json_object_set_new(o, "other_queries", other);
    json_object_set_new(o, "orphan_durations", json_integer((json_int_t)c->orphan_durations));
    json_object_set_new(o, "orphan_ms", ms(report_ms(c->orphan_us)));
    json_object_set_new(o, "filtered_records", json_integer((json_int_t)c->filtered));
    json_object_set_new(o, "per_call_durations", json_boolean(!r->means_only));
    return o;
}

static json_t *timeline_json(const struct report *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->ntl; i++) {
        const struct tl_bucket *t = r->timeline[i];
        json_t *o = json_object();
        json_object_set_new(o, "t", time_or_null(r, t->bucket));
        json_object_set_new(o, "queries", json_integer((json_int_t)t->queries));
        json_object_set_new(o, "total_ms", ms(report_ms(t->total_us)));
        json_object_set_new(o, "p95_ms",
                            per_call(r, sketch_count(&t->sketch)
                                            ? report_ms(sketch_quantile(&t->sketch, 0.95))
                                            : 0));
        json_object_set_new(o, "errors", json_integer((json_int_t)t->errors));
        json_object_set_new(o, "connections", json_integer((json_int_t)t->connections));
        json_object_set_new(o, "disconnections", json_integer((json_int_t)t->disconnections));
        json_object_set_new(o, "lock_waits", json_integer((json_int_t)t->lock_waits));
        json_object_set_new(o, "deadlocks", json_integer((json_int_t)t->deadlocks));
        json_object_set_new(o, "refused_connections", json_integer((json_int_t)t->refused));
        json_object_set_new(o, "temp_files", json_integer((json_int_t)t->temp_files));
        json_object_set_new(o, "temp_bytes", json_integer((json_int_t)t->temp_bytes));
        json_object_set_new(o, "checkpoints", json_integer((json_int_t)t->checkpoints));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* Per-interval calls and time of the top queries. */
static json_t *query_timelines_json(const struct report *r)
{
    json_t *arr = json_array();
    size_t n = r->nq < 10 ? r->nq : 10;
    for (size_t i = 0; i < n; i++) {
        const struct qstat *q = &r->c->q[r->by_total[i]];
        json_t *o = json_object(), *pts = json_array();
        char fp[17];
        report_fingerprint(fp, q->fingerprint);
        json_object_set_new(o, "fingerprint", json_string(fp));
        for (size_t k = 0; k < q->nseries; k++) {
            json_t *p = json_object();
            json_object_set_new(p, "t", time_or_null(r, q->series[k].bucket));
            json_object_set_new(p, "calls", json_integer((json_int_t)q->series[k].calls));
            json_object_set_new(p, "total_ms", ms(report_ms(q->series[k].total_us)));
            json_array_append_new(pts, p);
        }
        json_object_set_new(o, "points", pts);
        json_array_append_new(arr, o);
    }
    return arr;
}

/* A PgBouncer log's stats lines and the clients it turned away; null without one. */
static json_t *pooler_json(const struct report *r)
{
    const struct collector *c = r->c;
    if (!c->npool_stats && !c->pool_refused)
        return json_null();
    json_t *o = json_object(), *stats = json_array();
    for (size_t i = 0; i < c->npool_stats; i++) {
        const struct pool_stat *p = &c->pool_stats[i];
        json_t *s = json_object();
        json_object_set_new(s, "time", time_or_null(r, p->ts_us));
        json_object_set_new(s, "period_s", jsonstr_num((double)p->period_us / 1e6));
        json_object_set_new(s, "xacts_per_s", json_integer((json_int_t)p->avg.xacts_per_s));
        json_object_set_new(s, "queries_per_s", json_integer((json_int_t)p->avg.queries_per_s));
        json_object_set_new(s, "xact_ms", ms((double)p->avg.xact_us / 1000));
        json_object_set_new(s, "query_ms", ms((double)p->avg.query_us / 1000));
        json_object_set_new(s, "wait_ms_per_s", ms((double)p->avg.wait_us / 1000));
        json_array_append_new(stats, s);
    }
    json_object_set_new(o, "clients_turned_away", json_integer((json_int_t)c->pool_refused));
    json_object_set_new(o, "clients_gave_up_waiting", json_integer((json_int_t)c->npool_waits));
    json_object_set_new(o, "stats", stats);
    return o;
}

static json_t *events_json(const struct report *r)
{
    const struct collector *c = r->c;
    json_t *o = json_object(), *errs = json_array(), *classes = json_array();
    for (size_t i = 0; i < report_rows(r, c->nerrs); i++) {
        const struct errgroup *g = &c->errs[r->errs[i]];
        json_t *e = json_object();
        json_object_set_new(e, "sqlstate", g->sqlstate[0] ? json_string(g->sqlstate) : json_null());
        json_object_set_new(e, "class", json_string(report_sqlstate_class(g->sqlstate)));
        json_object_set_new(e, "severity", json_string(severity_name(g->severity)));
        json_object_set_new(e, "message", jsonstr_new(g->message));
        json_object_set_new(e, "count", json_integer((json_int_t)g->count));
        json_object_set_new(e, "first", time_or_null(r, g->first_us));
        json_object_set_new(e, "last", time_or_null(r, g->last_us));
        json_object_set_new(e, "statement", jsonstr_new(g->statement));
        json_array_append_new(errs, e);
    }
    /* Errors by SQLSTATE class: a small fixed set, summed in the error order. */
    for (size_t i = 0; i < c->nerrs; i++) {
        const struct errgroup *g = &c->errs[r->errs[i]];
        const char *name = report_sqlstate_class(g->sqlstate);
        json_t *found = NULL;
        size_t k;
        json_t *v;
        json_array_foreach(classes, k, v)
        {
            if (strcmp(json_string_value(json_object_get(v, "class")), name) == 0)
                found = v;
        }
        if (!found) {
            found = json_object();
            json_object_set_new(found, "class", json_string(name));
            json_object_set_new(found, "count", json_integer(0));
            json_array_append_new(classes, found);
        }
        json_int_t cur = json_integer_value(json_object_get(found, "count"));
        json_object_set_new(found, "count", json_integer(cur + (json_int_t)g->count));
    }
    json_object_set_new(o, "errors", errs);
    json_object_set_new(o, "errors_by_class", classes);
    json_object_set_new(o, "lock_waits", json_integer((json_int_t)c->lock_waits));
    json_object_set_new(o, "locks_acquired", json_integer((json_int_t)c->lock_acquired));
    json_object_set_new(o, "lock_wait_ms", ms(report_ms(c->lock_wait_us)));
    json_object_set_new(o, "deadlocks", json_integer((json_int_t)c->deadlocks));
    json_object_set_new(o, "too_many_connections", json_integer((json_int_t)c->refused));
    json_object_set_new(o, "connections", json_integer((json_int_t)c->connections));
    json_object_set_new(o, "connections_received", json_integer((json_int_t)c->conn_received));
    json_object_set_new(o, "disconnections", json_integer((json_int_t)c->disconnections));
    json_object_set_new(o, "session_ms", ms(report_ms(c->session_us)));
    json_object_set_new(o, "temp_files", json_integer((json_int_t)c->temp_files));
    json_object_set_new(o, "temp_bytes", json_integer((json_int_t)c->temp_bytes));
    json_object_set_new(o, "checkpoints", json_integer((json_int_t)c->checkpoints));
    json_object_set_new(o, "checkpoint_ms", ms(report_ms(c->checkpoint_us)));
    json_object_set_new(o, "autovacuums", json_integer((json_int_t)c->autovacuums));
    json_object_set_new(o, "autoanalyzes", json_integer((json_int_t)c->autoanalyzes));
    json_object_set_new(o, "plans", json_integer((json_int_t)c->plans));
    json_t *tables = json_array();
    for (size_t i = 0; i < c->ntables; i++) {
        json_t *t = json_object();
        json_object_set_new(t, "table", jsonstr_new(names_get(&c->names, c->tables[i].name).ptr));
        json_object_set_new(t, "vacuums", json_integer((json_int_t)c->tables[i].vacuums));
        json_object_set_new(t, "analyzes", json_integer((json_int_t)c->tables[i].analyzes));
        json_array_append_new(tables, t);
    }
    json_object_set_new(o, "tables", tables);
    json_object_set_new(o, "pgbouncer", pooler_json(r));
    return o;
}

/* Where stored history came from, and which of its intervals have data; null for logs. */
static json_t *store_json(const struct report *r)
{
    const struct analysis_store *st = r->a->store;
    if (!st)
        return json_null();
    const struct interval_stat *is = &r->c->samples;
    json_t *o = json_object(), *gaps = json_array();
    json_object_set_new(o, "path", jsonstr_new(st->path));
    json_object_set_new(o, "target", st->target ? jsonstr_new(st->target) : json_null());
    json_object_set_new(o, "since", time_or_null(r, st->since_us));
    json_object_set_new(o, "until", time_or_null(r, st->until_us));
    json_object_set_new(o, "stored_first", time_or_null(r, st->first_us ? st->first_us : TS_NONE));
    json_object_set_new(o, "stored_last", time_or_null(r, st->last_us ? st->last_us : TS_NONE));
    json_object_set_new(o, "durations", json_string("pg_stat_statements"));
    json_object_set_new(o, "intervals", json_integer((json_int_t)is->intervals));
    json_object_set_new(o, "gap_intervals", json_integer((json_int_t)is->gaps));
    json_object_set_new(o, "baseline_intervals", json_integer((json_int_t)is->baselines));
    json_object_set_new(o, "covered_s", json_real(round((double)is->covered_us / 1e3) / 1e3));
    for (size_t i = 0; i < is->ngap_spans; i++) {
        json_t *g = json_object();
        json_object_set_new(g, "from", time_or_null(r, is->gap_spans[i].start_us));
        json_object_set_new(g, "until", time_or_null(r, is->gap_spans[i].end_us));
        json_array_append_new(gaps, g);
    }
    json_object_set_new(o, "gaps", gaps);
    return o;
}

static json_t *alerts_json(const struct report *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->nalerts; i++)
        json_array_append_new(arr, alert_json(&r->alerts[i], -1));
    return arr;
}

#define DUMP_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* Writes text with each newline replaced by newline_indent. */
static void put_indented(FILE *out, const char *text, const char *newline_indent)
{
    for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1) {
        fwrite(text, 1, (size_t)(nl - text), out);
        fputs(newline_indent, out);
    }
    fputs(text, out);
}

/*
 * Writes "key": value at depth 1 of the root object, indented as if the
 * whole document had been dumped at once, and frees value.
 */
static int put_member(FILE *out, const char *key, json_t *value, bool last)
{
    char *text = json_dumps(value, DUMP_FLAGS | JSON_ENCODE_ANY);
    json_decref(value);
    if (!text)
        return -1;
    fprintf(out, "  \"%s\": ", key);
    put_indented(out, text, "\n  ");
    fputs(last ? "\n" : ",\n", out);
    free(text);
    return 0;
}

/*
 * The queries array, one element at a time: a tree of 100,000 queries would
 * take gigabytes in jansson.
 */
static int put_queries(const struct report *r, FILE *out)
{
    size_t n = report_rows(r, r->nq);
    fputs("  \"queries\": [", out);
    for (size_t i = 0; i < n; i++) {
        json_t *q = query_json(r, &r->c->q[r->by_total[i]]);
        char *text = json_dumps(q, DUMP_FLAGS);
        json_decref(q);
        if (!text)
            return -1;
        fputs(i ? ",\n    " : "\n    ", out);
        put_indented(out, text, "\n    ");
        free(text);
    }
    fputs(n ? "\n  ],\n" : "],\n", out);
    return 0;
}

int report_write_json(const struct report *r, FILE *out)
{
    int rc = 0;
    fputs("{\n", out);
    rc |= put_member(out, "sleuth_version", json_string(SLEUTH_VERSION), false);
    rc |= put_member(out, "inputs", inputs_json(r), false);
    rc |= put_member(out, "summary", summary_json(r), false);
    rc |= put_queries(r, out);
    rc |= put_member(out, "timeline", timeline_json(r), false);
    rc |= put_member(out, "query_timelines", query_timelines_json(r), false);
    rc |= put_member(out, "events", events_json(r), false);
    rc |= put_member(out, "store", store_json(r), false);
    rc |= put_member(out, "alerts", alerts_json(r), false);
    rc |= put_member(out, "web", report_web_json(r), false);
    json_t *dj = incident_list_json(r->incidents, r->nincidents);
    rc |= put_member(out, "incidents", json_incref(json_object_get(dj, "incidents")), false);
    rc |= put_member(out, "diagnosis", json_incref(json_object_get(dj, "diagnosis")), false);
    rc |= put_member(out, "ruled_out", json_incref(json_object_get(dj, "ruled_out")), true);
    json_decref(dj);
    fputs("}\n", out);
    return rc ? -1 : 0;
}
