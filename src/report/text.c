/*
 * The text report, for a terminal: the top queries by total time, by
 * calls and by mean time, the slowest single executions, errors by class,
 * the other events and a compact timeline.
 */
#include "render.h"
#include "web.h"

#include "util/xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Query text on one line, cut to width characters with an ellipsis. */
static void one_line(struct buf *b, const char *s, size_t width)
{
    size_t start = b->len, chars = 0;
    bool space = false;
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
            space = b->len > start;
            continue;
        }
        /*
         * A character starts at a byte that is not a UTF-8 continuation byte:
         * stop before one that does not fit, never in the middle of one.
         */
        if ((*p & 0xC0) != 0x80 && chars + space >= width)
            break;
        if (space) {
            buf_addch(b, ' ');
            chars++;
            space = false;
        }
        buf_addch(b, *p < 0x20 ? '?' : (char)*p);
        if ((*p & 0xC0) != 0x80)
            chars++;
    }
    if (*p)
        buf_addstr(b, "…");
}

static void heading(struct buf *b, const char *title)
{
    buf_addf(b, "\n%s\n", title);
    for (size_t i = 0; i < strlen(title); i++)
        buf_addch(b, '-');
    buf_addch(b, '\n');
}

/* A per-call statistic in a 10-wide column: n/a when only totals are known. */
static void per_call(const struct report *r, struct buf *b, double ms)
{
    if (r->means_only)
        buf_addf(b, "%10s ", "n/a");
    else
        buf_addf(b, "%10.3f ", ms);
}

static void query_table(const struct report *r, struct buf *b, const char *title,
                        const uint32_t *order)
{
    size_t n = report_rows(r, r->nq);
    if (!n)
        return;
    heading(b, title);
    buf_addf(b, "%4s %16s %10s %12s %10s %10s %10s %6s  %s\n", "#", "fingerprint", "calls",
             "total ms", "mean ms", "p95 ms", "max ms", "share", "query");
    for (size_t i = 0; i < n; i++) {
        const struct qstat *q = &r->c->q[order[i]];
        char fp[17];
        report_fingerprint(fp, q->fingerprint);
        double share = r->c->total_us ? 100.0 * (double)q->total_us / (double)r->c->total_us : 0;
        buf_addf(b, "%4zu %16s %10" PRIu64 " %12.1f %10.3f ", i + 1, fp, q->calls,
                 report_ms(q->total_us), report_mean_ms(q));
        per_call(r, b, report_quantile_ms(q, 0.95));
        per_call(r, b, q->timed ? report_ms(q->max_us) : 0.0);
        buf_addf(b, "%5.1f%%  ", share);
        one_line(b, q->query, 80);
        buf_addch(b, '\n');
    }
}

static void slowest(const struct report *r, struct buf *b)
{
    size_t n = report_rows(r, r->nq);
    if (!n || r->means_only)
        return;
    heading(b, "Slowest single executions");
    for (size_t i = 0; i < n; i++) {
        const struct qstat *q = &r->c->q[r->by_max[i]];
        if (q->slowest.duration_us < 0)
            continue;
        struct buf at = BUF_INIT;
        report_time(r, &at, q->slowest.ts_us);
        char *ex = report_example(q);
        buf_addf(b, "%4zu %12.3f ms  %s  %s:%" PRIu64 "\n     ", i + 1,
                 report_ms(q->slowest.duration_us), at.ptr,
                 q->slowest.input < r->a->ninputs ? r->a->inputs[q->slowest.input].path : "?",
                 q->slowest.line);
        one_line(b, ex, 200);
        buf_addch(b, '\n');
        free(ex);
        buf_release(&at);
    }
}

static void errors(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    if (!c->nerrs)
        return;
    heading(b, "Errors");
    for (size_t i = 0; i < report_rows(r, c->nerrs); i++) {
        const struct errgroup *g = &c->errs[r->errs[i]];
        buf_addf(b, "%8" PRIu64 "  %-7s %-5s  %-30.30s  ", g->count, severity_name(g->severity),
                 g->sqlstate[0] ? g->sqlstate : "-", report_sqlstate_class(g->sqlstate));
        one_line(b, g->message, 90);
        buf_addch(b, '\n');
    }
}

static void events(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    heading(b, "Events");
    buf_addf(b,
             "  connections        %" PRIu64 " authorized, %" PRIu64 " received, %" PRIu64
             " refused (too many clients)\n",
             c->connections, c->conn_received, c->refused);
    buf_addf(b, "  disconnections     %" PRIu64 ", %.1f s of sessions\n", c->disconnections,
             (double)c->session_us / 1e6);
    buf_addf(b, "  lock waits         %" PRIu64 " (%" PRIu64 " acquired after %.1f ms)\n",
             c->lock_waits, c->lock_acquired, report_ms(c->lock_wait_us));
    buf_addf(b, "  deadlocks          %" PRIu64 "\n", c->deadlocks);
    buf_addf(b, "  temporary files    %" PRIu64 ", ", c->temp_files);
    report_bytes(b, c->temp_bytes);
    buf_addch(b, '\n');
    buf_addf(b, "  checkpoints        %" PRIu64 ", %.1f s\n", c->checkpoints,
             (double)c->checkpoint_us / 1e6);
    buf_addf(b, "  autovacuum         %" PRIu64 " vacuums, %" PRIu64 " analyzes\n", c->autovacuums,
             c->autoanalyzes);
    struct buf p = BUF_INIT;
    if (report_pooler_line(r, &p))
        buf_addf(b, "  pgbouncer          %s\n", p.ptr);
    buf_release(&p);
}

static void pooler(const struct report *r, struct buf *b)
{
    struct pooler_row rows[POOLER_ROWS];
    size_t per, n = report_pooler_rows(r, rows, &per);
    if (!n)
        return;
    heading(b, "PgBouncer");
    buf_addf(b, "%-29s %9s %9s %9s %9s %10s\n", "stats line", "xacts/s", "queries/s", "xact ms",
             "query ms", "wait ms/s");
    for (size_t i = 0; i < n; i++) {
        struct buf at = BUF_INIT;
        report_time(r, &at, rows[i].ts_us);
        buf_addf(b, "%-29s %9.1f %9.1f %9.3f %9.3f %10.1f\n", at.ptr, rows[i].xacts_per_s,
                 rows[i].queries_per_s, rows[i].xact_ms, rows[i].query_ms, rows[i].wait_ms_per_s);
        buf_release(&at);
    }
    if (per > 1)
        buf_addf(b, "%zu stats lines, %zu to a row.\n", r->c->npool_stats, per);
}

static void timeline(const struct report *r, struct buf *b)
{
    if (!r->ntl)
        return;
    heading(b, "Timeline");
    buf_addf(b, "%-29s %9s %11s %9s %7s %6s %6s\n", "interval", "queries", "db time ms", "p95 ms",
             "errors", "conns", "locks");
    size_t step = r->ntl > 48 ? (r->ntl + 47) / 48 : 1;
    for (size_t i = 0; i < r->ntl; i += step) {
        const struct tl_bucket *t = r->timeline[i];
        struct buf at = BUF_INIT;
        report_time(r, &at, t->bucket);
        uint64_t qn = 0, er = 0, co = 0, lw = 0;
        int64_t tot = 0;
        for (size_t k = i; k < i + step && k < r->ntl; k++) {
            qn += r->timeline[k]->queries;
            tot += r->timeline[k]->total_us;
            er += r->timeline[k]->errors;
            co += r->timeline[k]->connections;
            lw += r->timeline[k]->lock_waits;
        }
        double p95 = sketch_count(&t->sketch) ? report_ms(sketch_quantile(&t->sketch, 0.95)) : 0;
        buf_addf(b, "%-29s %9" PRIu64 " %11.1f ", at.ptr, qn, report_ms(tot));
        if (r->means_only)
            buf_addf(b, "%9s", "n/a");
        else
            buf_addf(b, "%9.3f", p95);
        buf_addf(b, " %7" PRIu64 " %6" PRIu64 " %6" PRIu64 "\n", er, co, lw);
        buf_release(&at);
    }
    if (step > 1)
        buf_addf(b, "(%zu intervals, one row per %zu; p95 of the row's first interval)\n", r->ntl,
                 step);
}

/* Stored alerts: what the watcher said while it ran. */
static void alerts(const struct report *r, struct buf *b)
{
    if (!r->a->store)
        return;
    heading(b, "Alerts");
    if (!r->nalerts) {
        buf_addstr(b, "  none in this range\n");
        return;
    }
    for (size_t i = 0; i < report_rows(r, r->nalerts); i++) {
        const struct alert *a = &r->alerts[i];
        struct buf since = BUF_INIT, until = BUF_INIT;
        report_time(r, &since, a->since_us);
        if (a->resolved_us)
            report_time(r, &until, a->resolved_us);
        else
            buf_addstr(&until, "still firing");
        buf_addf(b, "  %-8s %-22s %s .. %s\n           ", finding_severity_name(a->f.severity),
                 finding_kind_name(a->f.kind), since.ptr, until.ptr);
        one_line(b, a->f.summary ? a->f.summary : "", 110);
        buf_addch(b, '\n');
        buf_release(&since);
        buf_release(&until);
    }
}

/* The incidents: when, why, what triggered and fixed them, what the data rules out. */
static void incidents(const struct report *r, struct buf *b)
{
    if (!r->nincidents)
        return;
    heading(b, "Incidents");
    for (size_t i = 0; i < r->nincidents; i++) {
        const struct incident *inc = &r->incidents[i];
        char *h = report_incident_heading(r, inc);
        buf_addf(b, "  %s\n", h);
        free(h);
        size_t n;
        struct report_row *rows = report_incident_rows(r, inc, &n);
        for (size_t k = 0; k < n; k++) {
            buf_addf(b, "     %-11s ", rows[k].label);
            one_line(b, rows[k].text, 110);
            buf_addch(b, '\n');
        }
        report_rows_free(rows, n);
    }
}

/* The users' side, from the access logs. */
static void web_tier(const struct report *r, struct buf *b)
{
    size_t n;
    struct report_row *rows = report_web_rows(r, &n);
    if (!rows)
        return;
    heading(b, "Web tier (access logs)");
    for (size_t k = 0; k < n; k++) {
        buf_addf(b, "  %-11s ", rows[k].label);
        one_line(b, rows[k].text, 400);
        buf_addch(b, '\n');
    }
    report_rows_free(rows, n);
}

static void header(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    if (r->a->store) {
        buf_addf(b, "sleuth %s: PostgreSQL history from a watch store\n  ", SLEUTH_VERSION);
        report_store_line(r, b);
        buf_addstr(b, "\n  ");
        report_coverage_line(r, b);
        buf_addstr(b, "\n  durations from pg_stat_statements: means only (no per-call min, max "
                      "or percentiles)\n");
    } else {
        buf_addf(b, "sleuth %s: PostgreSQL log analysis\n", SLEUTH_VERSION);
    }
    for (size_t i = 0; i < r->a->ninputs; i++) {
        const struct input_info *in = &r->a->inputs[i];
        const struct input_stat *st = i < c->ninputs ? &c->inputs[i] : NULL;
        buf_addf(b, "  input %s", in->path);
        if (in->error) {
            buf_addf(b, ": %s\n", in->error);
            continue;
        }
        buf_addf(b, " (%s%s%s, %" PRIu64 " lines", log_formats_name(in->format, in->formats),
                 in->compression ? ", " : "", in->compression ? in->compression : "", in->lines);
        if (st && st->unparsed) {
            buf_addf(b, ", %" PRIu64 " not recognised, first at line", st->unparsed);
            for (size_t k = 0; k < st->nfirst; k++)
                buf_addf(b, "%s %" PRIu64, k ? "," : "", st->first_unparsed[k]);
        }
        report_input_losses(in, b);
        buf_addstr(b, ")\n");
    }
    struct buf f = BUF_INIT, l = BUF_INIT;
    report_time(r, &f, c->first_us);
    report_time(r, &l, c->last_us);
    buf_addf(b, "  period %s .. %s\n", f.len ? f.ptr : "-", l.len ? l.ptr : "-");
    buf_addf(b,
             "  %" PRIu64 " queries (%zu distinct), %.1f s of database time, %" PRIu64
             " errors (%" PRIu64 " FATAL, %" PRIu64 " PANIC)\n",
             c->queries, r->nq, (double)c->total_us / 1e6, c->errors, c->fatals, c->panics);
    buf_reset(&f);
    if (report_other_line(r, &f))
        buf_addf(b, "  %s\n", f.ptr);
    if (c->orphan_durations)
        buf_addf(b, "  %" PRIu64 " duration lines without their statement (%.1f ms)\n",
                 c->orphan_durations, report_ms(c->orphan_us));
    if (c->filtered)
        buf_addf(b, "  %" PRIu64 " records left out by the filters\n", c->filtered);
    buf_release(&f);
    buf_release(&l);
}

int report_write_text(const struct report *r, FILE *out)
{
    struct buf b = BUF_INIT;
    header(r, &b);
    incidents(r, &b);
    web_tier(r, &b);
    query_table(r, &b, "Queries by total time", r->by_total);
    query_table(r, &b, "Queries by calls", r->by_calls);
    query_table(r, &b, "Queries by mean time", r->by_mean);
    slowest(r, &b);
    alerts(r, &b);
    errors(r, &b);
    events(r, &b);
    timeline(r, &b);
    pooler(r, &b);
    size_t w = fwrite(b.ptr, 1, b.len, out);
    int rc = w == b.len ? 0 : -1;
    buf_release(&b);
    return rc;
}
