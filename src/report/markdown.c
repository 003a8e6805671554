/*
 * The Markdown report, for tickets and postmortems: a summary, the top
 * queries by total time, the slowest executions with their SQL in fenced
 * blocks, errors, the other events and a compact timeline. The content
 * mirrors the text report; tables are GitHub-flavoured Markdown.
 *
 * Log text is untrusted: in table cells it is put in code spans (or
 * backslash-escaped when it is prose) with pipes escaped so a row cannot
 * grow columns, fenced blocks use a fence longer than any backtick run in
 * their content, and bytes that are not UTF-8 become U+FFFD.
 */
#include "render.h"
#include "web.h"

#include "util/utf8.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/*
 * Appends s as valid UTF-8 without control characters: invalid bytes and
 * controls other than tab and newline become U+FFFD. With one_line, runs
 * of blanks become one space and the text is cut after width characters
 * with an ellipsis (width 0: no limit).
 */
static void clean(struct buf *b, const char *s, bool one_line, size_t width)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), chars = 0;
    bool space = false;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (one_line && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            space = chars > 0;
            i++;
            continue;
        }
        if (width && chars + space >= width) {
            buf_addstr(b, "…");
            return;
        }
        if (space) {
            buf_addch(b, ' ');
            chars++;
            space = false;
        }
        size_t len = utf8_len(p + i, n - i);
        if (!len || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
            buf_addstr(b, UTF8_REPLACEMENT);
            len = len ? len : 1;
        } else {
            buf_add(b, p + i, len);
        }
        chars++;
        i += len;
    }
}

/* Longest run of backticks in s. */
static size_t longest_backticks(const char *s)
{
    size_t best = 0, run = 0;
    for (; *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        best = run > best ? run : best;
    }
    return best;
}

/*
 * A code span for a table cell: s on one line, cut after width characters.
 * The fence is one backtick longer than any run inside, with spaces inside
 * it when the text starts or ends with a backtick (CommonMark strips one
 * space on each side). In GFM tables a pipe splits the row even in a code
 * span, so each becomes \|; a backslash right before a pipe is doubled so
 * that it cannot escape the escape.
 */
void report_md_code(struct buf *b, const char *s, size_t width)
{
    struct buf t = BUF_INIT;
    clean(&t, s, true, width);
    if (!t.len) {
        buf_release(&t);
        return;
    }
    size_t fence = longest_backticks(t.ptr) + 1;
    bool pad = t.len && (t.ptr[0] == '`' || t.ptr[t.len - 1] == '`');
    for (size_t i = 0; i < fence; i++)
        buf_addch(b, '`');
    if (pad)
        buf_addch(b, ' ');
    for (size_t i = 0; i < t.len; i++) {
        if (t.ptr[i] == '|')
            buf_addstr(b, "\\|");
        else if (t.ptr[i] == '\\' && i + 1 < t.len && t.ptr[i + 1] == '|')
            buf_addstr(b, "\\\\");
        else
            buf_addch(b, t.ptr[i]);
    }
    if (pad)
        buf_addch(b, ' ');
    for (size_t i = 0; i < fence; i++)
        buf_addch(b, '`');
    buf_release(&t);
}

/*
 * Prose from a log on one line, in a table cell: the ASCII punctuation that
 * Markdown or GFM reads as inline markup (emphasis, code, links, raw HTML,
 * entities, strikethrough, math, pipes) is backslash-escaped, so text like
 * <script> or *x* shows as is. Characters that matter only at the start of
 * a line (#, -, +) are left alone: a cell never starts a block.
 */
void report_md_text(struct buf *b, const char *s, size_t width)
{
    struct buf t = BUF_INIT;
    clean(&t, s, true, width);
    for (size_t i = 0; i < t.len; i++) {
        if (t.ptr[i] && strchr("\\`*_[]<>!|~&$", t.ptr[i]))
            buf_addch(b, '\\');
        buf_addch(b, t.ptr[i]);
    }
    buf_release(&t);
}

/* A fenced code block whose fence no line of the content can close. */
void report_md_fenced(struct buf *b, const char *info, const char *s)
{
    struct buf t = BUF_INIT;
    clean(&t, s, false, 0);
    size_t fence = longest_backticks(t.ptr) + 1;
    if (fence < 3)
        fence = 3;
    for (size_t i = 0; i < fence; i++)
        buf_addch(b, '`');
    buf_addf(b, "%s\n", info);
    buf_add(b, t.ptr, t.len);
    if (!t.len || t.ptr[t.len - 1] != '\n')
        buf_addch(b, '\n');
    for (size_t i = 0; i < fence; i++)
        buf_addch(b, '`');
    buf_addstr(b, "\n\n");
    buf_release(&t);
}

static void md_time(const struct report *r, struct buf *b, int64_t ts_us)
{
    size_t start = b->len;
    report_time(r, b, ts_us);
    if (b->len == start)
        buf_addstr(b, "-");
}

static const char *input_path(const struct report *r, uint32_t input)
{
    return input < r->a->ninputs ? r->a->inputs[input].path : "?";
}

static void summary(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    if (r->a->store) {
        struct buf line = BUF_INIT;
        buf_addf(b, "# PostgreSQL history\n\n_sleuth %s_\n\n## Summary\n\n- From ", SLEUTH_VERSION);
        report_store_line(r, &line);
        report_md_text(b, line.ptr, 0);
        buf_reset(&line);
        report_coverage_line(r, &line);
        buf_addstr(b, "\n- Stored: ");
        report_md_text(b, line.ptr, 0);
        buf_addstr(b, "\n- Durations from pg_stat_statements: means only (no per-call min, max or "
                      "percentiles)\n");
        buf_release(&line);
    } else {
        buf_addf(b, "# PostgreSQL log analysis\n\n_sleuth %s_\n\n## Summary\n\n", SLEUTH_VERSION);
    }
    for (size_t i = 0; i < r->a->ninputs; i++) {
        const struct input_info *in = &r->a->inputs[i];
        const struct input_stat *st = i < c->ninputs ? &c->inputs[i] : NULL;
        buf_addstr(b, "- Input ");
        report_md_code(b, in->path, 0);
        if (in->error) {
            buf_addstr(b, ": ");
            report_md_text(b, in->error, 0);
            buf_addch(b, '\n');
            continue;
        }
        buf_addf(b, " (%s%s%s, %" PRIu64 " lines", log_formats_name(in->format, in->formats),
                 in->compression ? ", " : "", in->compression ? in->compression : "", in->lines);
        if (st && st->unparsed) {
            buf_addf(b, ", %" PRIu64 " not recognised, first at line", st->unparsed);
            for (size_t k = 0; k < st->nfirst; k++)
                buf_addf(b, "%s %" PRIu64, k ? "," : "", st->first_unparsed[k]);
        }
        struct buf losses = BUF_INIT;
        report_input_losses(in, &losses);
        report_md_text(b, losses.ptr, 0);
        buf_release(&losses);
        buf_addstr(b, ")\n");
    }
    buf_addstr(b, "- Period: ");
    md_time(r, b, c->first_us);
    buf_addstr(b, " to ");
    md_time(r, b, c->last_us);
    buf_addf(b,
             "\n- Queries: %" PRIu64 " (%zu distinct, %" PRIu64 " timed)\n"
             "- Database time: %.1f s\n"
             "- Errors: %" PRIu64 " (%" PRIu64 " FATAL, %" PRIu64 " PANIC)\n"
             "- Lock waits: %" PRIu64 ", deadlocks: %" PRIu64 ", refused connections: %" PRIu64
             "\n",
             c->queries, r->nq, c->timed_queries, (double)c->total_us / 1e6, c->errors, c->fatals,
             c->panics, c->lock_waits, c->deadlocks, c->refused);
    struct buf other = BUF_INIT;
    if (report_other_line(r, &other))
        buf_addf(b, "- Other: %s\n", other.ptr);
    buf_release(&other);
    if (c->orphan_durations)
        buf_addf(b, "- Duration lines without their statement: %" PRIu64 " (%.1f ms)\n",
                 c->orphan_durations, report_ms(c->orphan_us));
    if (c->filtered)
        buf_addf(b, "- Records left out by the filters: %" PRIu64 "\n", c->filtered);
    buf_addch(b, '\n');
}

static void top_queries(const struct report *r, struct buf *b)
{
    size_t n = report_rows(r, r->nq);
    if (!n)
        return;
    buf_addstr(b, "## Top queries by total time\n\n"
                  "| # | fingerprint | calls | total ms | mean ms | p95 ms | share | query |\n"
                  "|--:|---|--:|--:|--:|--:|--:|---|\n");
    for (size_t i = 0; i < n; i++) {
        const struct qstat *q = &r->c->q[r->by_total[i]];
        char fp[17];
        report_fingerprint(fp, q->fingerprint);
        double share = r->c->total_us ? 100.0 * (double)q->total_us / (double)r->c->total_us : 0;
        buf_addf(b, "| %zu | `%s` | %" PRIu64 " | %.1f | %.3f | ", i + 1, fp, q->calls,
                 report_ms(q->total_us), report_mean_ms(q));
        if (r->means_only)
            buf_addstr(b, "n/a");
        else
            buf_addf(b, "%.3f", report_quantile_ms(q, 0.95));
        buf_addf(b, " | %.1f%% | ", share);
        report_md_code(b, q->query, 200);
        buf_addstr(b, " |\n");
    }
    buf_addch(b, '\n');
}

static void slowest(const struct report *r, struct buf *b)
{
    size_t n = report_rows(r, r->nq);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const struct qstat *q = &r->c->q[r->by_max[i]];
        if (q->slowest.duration_us < 0 || !q->slowest.text)
            continue;
        if (!any)
            buf_addstr(b, "## Slowest executions\n\n");
        any = true;
        char fp[17];
        report_fingerprint(fp, q->fingerprint);
        buf_addf(b, "### %zu. %.3f ms, query `%s`\n\n", i + 1, report_ms(q->slowest.duration_us),
                 fp);
        buf_addstr(b, "At ");
        md_time(r, b, q->slowest.ts_us);
        buf_addstr(b, " in ");
        report_md_code(b, input_path(r, q->slowest.input), 0);
        buf_addf(b, " line %" PRIu64, q->slowest.line);
        if (q->slowest.pid)
            buf_addf(b, ", pid %" PRId32, q->slowest.pid);
        buf_addstr(b, q->slowest.params ? " (parameters substituted):\n\n" : ":\n\n");
        char *ex = report_example(q);
        report_md_fenced(b, "sql", ex);
        free(ex);
        if (q->slowest.plan) {
            buf_addstr(b, "Plan (auto_explain):\n\n");
            report_md_fenced(b, "", q->slowest.plan);
        }
    }
}

static void errors(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    if (!c->nerrs)
        return;
    buf_addstr(b, "## Errors\n\n"
                  "| count | severity | SQLSTATE | class | message | first | last |\n"
                  "|--:|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < report_rows(r, c->nerrs); i++) {
        const struct errgroup *g = &c->errs[r->errs[i]];
        buf_addf(b, "| %" PRIu64 " | %s | ", g->count, severity_name(g->severity));
        if (g->sqlstate[0])
            report_md_code(b, g->sqlstate, 0);
        else
            buf_addch(b, '-');
        buf_addf(b, " | %s | ", report_sqlstate_class(g->sqlstate));
        report_md_text(b, g->message, 200);
        buf_addstr(b, " | ");
        md_time(r, b, g->first_us);
        buf_addstr(b, " | ");
        md_time(r, b, g->last_us);
        buf_addstr(b, " |\n");
    }
    buf_addch(b, '\n');
}

static void events(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    buf_addstr(b, "## Events\n\n");
    buf_addf(b,
             "- Connections: %" PRIu64 " authorized, %" PRIu64 " received, %" PRIu64
             " refused (too many clients)\n",
             c->connections, c->conn_received, c->refused);
    buf_addf(b, "- Disconnections: %" PRIu64 ", %.1f s of sessions\n", c->disconnections,
             (double)c->session_us / 1e6);
    buf_addf(b, "- Lock waits: %" PRIu64 " (%" PRIu64 " acquired after %.1f ms)\n", c->lock_waits,
             c->lock_acquired, report_ms(c->lock_wait_us));
    buf_addf(b, "- Deadlocks: %" PRIu64 "\n", c->deadlocks);
    buf_addf(b, "- Temporary files: %" PRIu64 ", ", c->temp_files);
    report_bytes(b, c->temp_bytes);
    buf_addf(b, "\n- Checkpoints: %" PRIu64 ", %.1f s\n", c->checkpoints,
             (double)c->checkpoint_us / 1e6);
    buf_addf(b, "- Autovacuum: %" PRIu64 " vacuums, %" PRIu64 " analyzes\n", c->autovacuums,
             c->autoanalyzes);
    struct buf p = BUF_INIT;
    if (report_pooler_line(r, &p))
        buf_addf(b, "- PgBouncer: %s\n", p.ptr);
    buf_release(&p);
    buf_addch(b, '\n');
}

static void pooler(const struct report *r, struct buf *b)
{
    struct pooler_row rows[POOLER_ROWS];
    size_t per, n = report_pooler_rows(r, rows, &per);
    if (!n)
        return;
    buf_addstr(b, "## PgBouncer\n\n"
                  "| stats line | xacts/s | queries/s | xact ms | query ms | wait ms/s |\n"
                  "|---|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < n; i++) {
        buf_addstr(b, "| ");
        md_time(r, b, rows[i].ts_us);
        buf_addf(b, " | %.1f | %.1f | %.3f | %.3f | %.1f |\n", rows[i].xacts_per_s,
                 rows[i].queries_per_s, rows[i].xact_ms, rows[i].query_ms, rows[i].wait_ms_per_s);
    }
    if (per > 1)
        buf_addf(b, "\n%zu stats lines, %zu to a row.\n", r->c->npool_stats, per);
    buf_addch(b, '\n');
}

static void timeline(const struct report *r, struct buf *b)
{
    if (!r->ntl)
        return;
    buf_addstr(b, "## Timeline\n\n"
                  "| interval | queries | db time ms | p95 ms | errors | conns | locks |\n"
                  "|---|--:|--:|--:|--:|--:|--:|\n");
    size_t step = r->ntl > 48 ? (r->ntl + 47) / 48 : 1;
    for (size_t i = 0; i < r->ntl; i += step) {
        const struct tl_bucket *t = r->timeline[i];
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
        buf_addstr(b, "| ");
        md_time(r, b, t->bucket);
        buf_addf(b, " | %" PRIu64 " | %.1f | ", qn, report_ms(tot));
        if (r->means_only)
            buf_addstr(b, "n/a");
        else
            buf_addf(b, "%.3f", p95);
        buf_addf(b, " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n", er, co, lw);
    }
    if (step > 1)
        buf_addf(b, "\n%zu intervals, one row per %zu; p95 of the row's first interval.\n", r->ntl,
                 step);
    buf_addch(b, '\n');
}

/* Stored alerts: what the watcher said while it ran. */
static void alerts(const struct report *r, struct buf *b)
{
    if (!r->a->store)
        return;
    buf_addstr(b, "## Alerts\n\n");
    if (!r->nalerts) {
        buf_addstr(b, "None in this range.\n\n");
        return;
    }
    buf_addstr(b, "| severity | kind | since | resolved | summary |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < report_rows(r, r->nalerts); i++) {
        const struct alert *a = &r->alerts[i];
        buf_addf(b, "| %s | %s | ", finding_severity_name(a->f.severity),
                 finding_kind_name(a->f.kind));
        md_time(r, b, a->since_us);
        buf_addstr(b, " | ");
        if (a->resolved_us)
            md_time(r, b, a->resolved_us);
        else
            buf_addstr(b, "still firing");
        buf_addstr(b, " | ");
        report_md_text(b, a->f.summary, 200);
        buf_addstr(b, " |\n");
    }
    buf_addch(b, '\n');
}

/* The incidents: when, why, what triggered and fixed them, what the data rules out. */
static void incidents(const struct report *r, struct buf *b)
{
    if (!r->nincidents)
        return;
    buf_addstr(b, "## Incidents\n\n");
    for (size_t i = 0; i < r->nincidents; i++) {
        const struct incident *inc = &r->incidents[i];
        char *h = report_incident_heading(r, inc);
        buf_addstr(b, "### ");
        report_md_text(b, h, 300);
        buf_addstr(b, "\n\n");
        free(h);
        size_t n;
        struct report_row *rows = report_incident_rows(r, inc, &n);
        for (size_t k = 0; k < n; k++) {
            buf_addf(b, "- **%s**: ", rows[k].label);
            if (rows[k].code)
                report_md_code(b, rows[k].text, 300);
            else
                report_md_text(b, rows[k].text, 0);
            buf_addch(b, '\n');
        }
        report_rows_free(rows, n);
        buf_addch(b, '\n');
    }
}

/* The users' side, from the access logs. */
static void web_tier(const struct report *r, struct buf *b)
{
    size_t n;
    struct report_row *rows = report_web_rows(r, &n);
    if (!rows)
        return;
    buf_addstr(b, "## Web tier (access logs)\n\n");
    for (size_t k = 0; k < n; k++) {
        buf_addf(b, "- **%s**: ", rows[k].label);
        report_md_text(b, rows[k].text, 0);
        buf_addch(b, '\n');
    }
    buf_addch(b, '\n');
    report_rows_free(rows, n);
}

int report_write_markdown(const struct report *r, FILE *out)
{
    struct buf b = BUF_INIT;
    summary(r, &b);
    incidents(r, &b);
    web_tier(r, &b);
    top_queries(r, &b);
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
