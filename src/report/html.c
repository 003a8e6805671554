/*
 * The HTML report: one self-contained page that works offline (no external
 * resource of any kind, so it can be attached to a ticket or mailed), with
 * summary cards, inline SVG charts of the timeline, a latency histogram per
 * top query, and sortable tables of queries, errors and autovacuum work.
 *
 * Sits at the end of the pipeline, like the other renderers: it reads the
 * analysis through a struct report and computes no statistics of its own
 * beyond what drawing needs (chart scales and ticks, merged sketches when
 * a long timeline is drawn with fewer points than it has intervals).
 *
 * Every string that comes from a log (query text, parameters, plans,
 * messages, names, paths) goes through report_html_esc(), the page's one escaping
 * function, in text and in attribute values alike. The charts come from
 * svg.c, which writes no log text; they are drawn in C, so the page needs
 * no script to show them. The small inline script only sorts tables.
 */
#include "render.h"
#include "web.h"

#include "svg.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Queries that get a latency histogram, by total time. */
#define HIST_QUERIES 10

/* ------------------------------------------------------------------------ */
/* Escaping and formatting                                                  */

/*
 * The one escaping function of the page, for text and attribute values
 * alike: escapes & < > " ', keeps tabs and line breaks, and replaces other
 * control characters and every byte that is not part of well-formed UTF-8
 * with U+FFFD. Log bytes can then neither open markup, nor leave an
 * attribute, nor break the page's encoding.
 */
static void esc_n(struct buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = p[i];
        const char *rep = NULL;
        size_t len = 1;
        if (c >= 0x80) {
            len = utf8_len(p + i, n - i);
            if (!len) {
                rep = UTF8_REPLACEMENT;
                len = 1;
            }
        } else if (c == '&') {
            rep = "&amp;";
        } else if (c == '<') {
            rep = "&lt;";
        } else if (c == '>') {
            rep = "&gt;";
        } else if (c == '"') {
            rep = "&quot;";
        } else if (c == '\'') {
            rep = "&#39;";
        } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
            rep = UTF8_REPLACEMENT;
        }
        if (rep) {
            buf_add(b, p + i - run, run);
            buf_addstr(b, rep);
            run = 0;
        } else {
            run += len;
        }
        i += len;
    }
    buf_add(b, p + n - run, run);
}

void report_html_esc(struct buf *b, const char *s)
{
    if (s)
        esc_n(b, s, strlen(s));
}

/*
 * s on one line (each run of blanks becomes one space), cut after width
 * characters with an ellipsis, then escaped.
 */
static void esc_line(struct buf *b, const char *s, size_t width)
{
    struct buf t = BUF_INIT;
    size_t chars = 0;
    bool space = false, cut = false;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            space = t.len > 0;
            continue;
        }
        if ((*p & 0xC0) != 0x80) {
            if (chars + space >= width) {
                cut = true;
                break;
            }
            chars++;
        }
        if (space) {
            buf_addch(&t, ' ');
            chars++;
            space = false;
        }
        buf_addch(&t, (char)*p);
    }
    esc_n(b, t.ptr, t.len);
    if (cut)
        buf_addstr(b, "…");
    buf_release(&t);
}

/* A duration for people: "840 µs", "12.3 ms", "4.56 s", "3.2 min", "1.5 h", "3.7 d". */
static void add_duration(struct buf *b, double ms)
{
    if (ms <= 0)
        buf_addstr(b, "0 s");
    else if (ms < 1)
        buf_addf(b, "%.0f µs", ms * 1000);
    else if (ms < 100)
        buf_addf(b, "%.3g ms", ms);
    else if (ms < 1000)
        buf_addf(b, "%.0f ms", ms);
    else if (ms < 60e3)
        buf_addf(b, "%.3g s", ms / 1e3);
    else if (ms < 3600e3)
        buf_addf(b, "%.1f min", ms / 60e3);
    else if (ms < 48 * 3600e3)
        buf_addf(b, "%.1f h", ms / 3600e3);
    else
        buf_addf(b, "%.1f d", ms / 86400e3);
}

static void add_time(const struct report *r, struct buf *b, int64_t ts_us)
{
    struct buf t = BUF_INIT;
    report_time(r, &t, ts_us);
    if (t.len)
        esc_n(b, t.ptr, t.len);
    else
        buf_addstr(b, "–");
    buf_release(&t);
}

static double share_pct(const struct report *r, int64_t us)
{
    return r->c->total_us ? 100.0 * (double)us / (double)r->c->total_us : 0;
}

/* ------------------------------------------------------------------------ */
/* Tables                                                                   */

/* A numeric cell: data-v holds the value the sort script compares. */
static void td_num(struct buf *b, double v, const char *fmt)
{
    buf_addf(b, "<td class=\"n\" data-v=\"%.6f\">", v);
    buf_addf(b, fmt, v);
    buf_addstr(b, "</td>");
}

/* A per-call statistic: "n/a" (sorted lowest) when only totals are known. */
static void td_per_call(const struct report *r, struct buf *b, double v)
{
    if (r->means_only)
        buf_addstr(b, "<td class=\"n muted\" data-v=\"-1\">n/a</td>");
    else
        td_num(b, v, "%.3f");
}

static void td_count(struct buf *b, uint64_t v)
{
    buf_addf(b, "<td class=\"n\" data-v=\"%" PRIu64 "\">", v);
    svg_add_count(b, v);
    buf_addstr(b, "</td>");
}

/*
 * A header row. Each column is "label" or "#label" for a numeric one; the
 * column at sorted_col is marked as the table's initial order.
 */
static void table_head(struct buf *b, const char *id, const char *const *cols, size_t n,
                       size_t sorted_col, bool sorted_desc)
{
    buf_addf(b, "<div class=\"scroll\"><table class=\"sortable\" id=\"%s\"><thead><tr>", id);
    for (size_t i = 0; i < n; i++) {
        bool num = cols[i][0] == '#' && cols[i][1];
        buf_addf(b, "<th%s", num ? " class=\"n\" data-type=\"num\"" : "");
        if (i == sorted_col)
            buf_addf(b, " aria-sort=\"%s\"", sorted_desc ? "descending" : "ascending");
        buf_addstr(b, ">");
        report_html_esc(b, num ? cols[i] + 1 : cols[i]);
        buf_addstr(b, "</th>");
    }
    buf_addstr(b, "</tr></thead>\n<tbody>\n");
}

static void table_foot(struct buf *b)
{
    buf_addstr(b, "</tbody></table></div>\n");
}

/* The five largest values of a dimension, "name (calls)". */
static void dims_line(const struct report *r, struct buf *b, const char *label,
                      const struct dim_top *d)
{
    if (!d->n)
        return;
    struct dim_count *v = report_dims(r, d);
    buf_addf(b, "<dt>%s</dt><dd>", label);
    for (size_t i = 0; i < d->n && i < 5; i++) {
        struct str s = names_get(&r->c->names, v[i].name);
        buf_addstr(b, i ? ", " : "");
        buf_addstr(b, "<code>");
        esc_n(b, s.ptr, s.len);
        buf_addstr(b, "</code> (");
        svg_add_count(b, v[i].count);
        buf_addstr(b, ")");
    }
    if (d->n > 5 || d->other)
        buf_addstr(b, ", …");
    buf_addstr(b, "</dd>");
    free(v);
}

static void query_stats_line(const struct report *r, struct buf *b, const struct qstat *q)
{
    buf_addstr(b, "<p class=\"muted\">");
    if (q->timed && !r->means_only) {
        buf_addstr(b, "min ");
        add_duration(b, report_ms(q->min_us));
        buf_addstr(b, " · p50 ");
        add_duration(b, report_quantile_ms(q, 0.50));
        buf_addstr(b, " · p90 ");
        add_duration(b, report_quantile_ms(q, 0.90));
        buf_addstr(b, " · p99 ");
        add_duration(b, report_quantile_ms(q, 0.99));
        buf_addstr(b, " · stddev ");
        add_duration(b, qstat_stddev_ms(q));
        buf_addstr(b, " · ");
    }
    buf_addstr(b, "first seen ");
    add_time(r, b, q->first_us);
    buf_addstr(b, " · last seen ");
    add_time(r, b, q->last_us);
    if (q->parse_calls || q->bind_calls)
        buf_addf(b, " · parse %" PRIu64 " (%.3f ms) · bind %" PRIu64 " (%.3f ms)", q->parse_calls,
                 report_ms(q->parse_us), q->bind_calls, report_ms(q->bind_us));
    if (!q->parsed)
        buf_addstr(b, " · not parsed by libpg_query (fingerprint from collapsed literals)");
    buf_addstr(b, "</p>\n");
}

static void slowest_block(const struct report *r, struct buf *b, const struct qstat *q)
{
    const struct example *e = &q->slowest;
    if (!e->text)
        return;
    buf_addstr(b, "<h4>Slowest execution");
    if (e->duration_us >= 0) {
        buf_addstr(b, ": ");
        add_duration(b, report_ms(e->duration_us));
    }
    buf_addstr(b, "</h4>\n<p class=\"muted\">at ");
    add_time(r, b, e->ts_us);
    buf_addstr(b, ", ");
    report_html_esc(b, e->input < r->a->ninputs ? r->a->inputs[e->input].path : "?");
    buf_addf(b, ":%" PRIu64, e->line);
    if (e->pid)
        buf_addf(b, ", pid %" PRId32, e->pid);
    buf_addstr(b, "</p>\n<pre class=\"sql\">");
    char *ex = report_example(q);
    report_html_esc(b, ex);
    free(ex);
    buf_addstr(b, "</pre>\n");
    if (e->params) {
        buf_addstr(b, "<h4>Parameters</h4>\n<pre>");
        report_html_esc(b, e->params);
        buf_addstr(b, "</pre>\n");
    }
    if (e->plan) {
        buf_addstr(b, "<h4>Plan (auto_explain)</h4>\n<pre class=\"plan\">");
        report_html_esc(b, e->plan);
        buf_addstr(b, "</pre>\n");
    }
}

/* The query cell: its first words, and everything known about it when opened. */
static void query_cell(const struct report *r, struct buf *b, const struct qstat *q, size_t rank)
{
    char fp[17];
    report_fingerprint(fp, q->fingerprint);
    buf_addstr(b, "<td class=\"q\" data-v=\"");
    esc_line(b, q->query, 200);
    buf_addstr(b, "\"><details><summary><code>");
    esc_line(b, q->query, 100);
    buf_addstr(b, "</code></summary>\n<div class=\"qd\">\n");
    query_stats_line(r, b, q);
    buf_addstr(b, "<h4>Normalized query</h4>\n<pre class=\"sql\">");
    report_html_esc(b, q->query);
    buf_addstr(b, "</pre>\n");
    slowest_block(r, b, q);
    buf_addstr(b, "<dl class=\"dims\">");
    dims_line(r, b, "users", &q->dims[DIM_USER]);
    dims_line(r, b, "databases", &q->dims[DIM_DB]);
    dims_line(r, b, "applications", &q->dims[DIM_APP]);
    dims_line(r, b, "clients", &q->dims[DIM_CLIENT]);
    buf_addstr(b, "</dl>\n");
    if (rank <= HIST_QUERIES && sketch_count(&q->sketch))
        buf_addf(b, "<p><a href=\"#h-%s\">Latency histogram</a></p>\n", fp);
    buf_addstr(b, "</div></details></td>");
}

static void queries_table(const struct report *r, struct buf *b)
{
    static const char *const cols[] = { "##",       "fingerprint", "#calls",  "#total ms",
                                        "#mean ms", "#p50 ms",     "#p95 ms", "#p99 ms",
                                        "#max ms",  "#share",      "query" };
    size_t n = report_rows(r, r->nq);
    buf_addstr(b, "<section id=\"queries\"><h2>Queries by total time</h2>\n");
    struct buf other = BUF_INIT;
    if (report_other_line(r, &other)) {
        buf_addstr(b, "<p class=\"muted\">");
        report_html_esc(b, other.ptr);
        buf_addstr(b, ".</p>\n");
    }
    buf_release(&other);
    if (!n) {
        buf_addstr(b, "<p class=\"muted\">No queries.</p></section>\n");
        return;
    }
    if (n < r->nq)
        buf_addf(b,
                 "<p class=\"muted\">The %zu of %zu distinct queries with the most total time "
                 "(--top). Click a header to sort, a query to expand it.</p>\n",
                 n, r->nq);
    else
        buf_addstr(b, "<p class=\"muted\">Click a header to sort, a query to expand it.</p>\n");
    table_head(b, "queries-table", cols, ARRAY_SIZE(cols), 3, true);
    for (size_t i = 0; i < n; i++) {
        const struct qstat *q = &r->c->q[r->by_total[i]];
        char fp[17];
        report_fingerprint(fp, q->fingerprint);
        buf_addf(b, "<tr><td class=\"n\" data-v=\"%zu\">%zu</td><td><code>%s</code></td>", i + 1,
                 i + 1, fp);
        td_count(b, q->calls);
        td_num(b, report_ms(q->total_us), "%.1f");
        td_num(b, report_mean_ms(q), "%.3f");
        td_per_call(r, b, report_quantile_ms(q, 0.50));
        td_per_call(r, b, report_quantile_ms(q, 0.95));
        td_per_call(r, b, report_quantile_ms(q, 0.99));
        td_per_call(r, b, q->timed ? report_ms(q->max_us) : 0.0);
        td_num(b, share_pct(r, q->total_us), "%.1f%%");
        query_cell(r, b, q, i + 1);
        buf_addstr(b, "</tr>\n");
    }
    table_foot(b);
    buf_addstr(b, "</section>\n");
}

/* A latency histogram per top query (the charts come from svg.c). */
static void histograms(const struct report *r, struct buf *b)
{
    size_t n = r->nq < HIST_QUERIES ? r->nq : HIST_QUERIES;
    if (!n || r->means_only)
        return;
    buf_addstr(b, "<section id=\"histograms\"><h2>Latency of the top queries</h2>\n"
                  "<p class=\"muted\">Calls per duration range (log scale), "
                  "for the queries with the most total time.</p>\n<div class=\"hists\">\n");
    for (size_t i = 0; i < n; i++) {
        const struct qstat *q = &r->c->q[r->by_total[i]];
        char fp[17];
        report_fingerprint(fp, q->fingerprint);
        buf_addf(b,
                 "<figure class=\"hist\" id=\"h-%s\"><figcaption><span class=\"rank\">#%zu</span> ",
                 fp, i + 1);
        buf_addf(b, "<code>%s</code> <span class=\"qs\" title=\"", fp);
        esc_line(b, q->query, 400);
        buf_addstr(b, "\">");
        esc_line(b, q->query, 70);
        buf_addstr(b, "</span></figcaption>\n");
        if (sketch_count(&q->sketch)) {
            struct buf label = BUF_INIT;
            buf_addf(&label, "latency histogram of query %s", fp);
            svg_histogram(b, q, label.ptr);
            buf_release(&label);
            buf_addstr(b, "<p class=\"muted small\">");
            svg_add_count(b, q->timed);
            buf_addstr(b, " timed calls · p50 ");
            add_duration(b, report_quantile_ms(q, 0.50));
            buf_addstr(b, " · p95 ");
            add_duration(b, report_quantile_ms(q, 0.95));
            buf_addstr(b, " · p99 ");
            add_duration(b, report_quantile_ms(q, 0.99));
            buf_addstr(b, "</p>");
        } else {
            buf_addstr(b, "<p class=\"muted\">No durations were logged for this query.</p>");
        }
        buf_addstr(b, "</figure>\n");
    }
    buf_addstr(b, "</div></section>\n");
}

static void error_classes(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    const char **names = xmalloc(c->nerrs * sizeof(*names));
    uint64_t *counts = xcalloc(c->nerrs, sizeof(*counts));
    size_t n = 0;
    for (size_t i = 0; i < c->nerrs; i++) {
        const struct errgroup *g = &c->errs[r->errs[i]];
        const char *name = report_sqlstate_class(g->sqlstate);
        size_t k = 0;
        while (k < n && strcmp(names[k], name) != 0)
            k++;
        if (k == n)
            names[n++] = name;
        counts[k] += g->count;
    }
    buf_addstr(b, "<ul class=\"chips\">");
    for (size_t k = 0; k < n; k++) {
        buf_addstr(b, "<li>");
        report_html_esc(b, names[k]);
        buf_addstr(b, " <b>");
        svg_add_count(b, counts[k]);
        buf_addstr(b, "</b></li>");
    }
    buf_addstr(b, "</ul>\n");
    free(names);
    free(counts);
}

static void errors_table(const struct report *r, struct buf *b)
{
    static const char *const cols[] = { "#count",  "severity", "SQLSTATE", "class",
                                        "message", "first",    "last" };
    const struct collector *c = r->c;
    buf_addstr(b, "<section id=\"errors\"><h2>Errors</h2>\n");
    if (!c->nerrs) {
        buf_addstr(b, "<p class=\"muted\">No errors.</p></section>\n");
        return;
    }
    error_classes(r, b);
    table_head(b, "errors-table", cols, ARRAY_SIZE(cols), 0, true);
    for (size_t i = 0; i < report_rows(r, c->nerrs); i++) {
        const struct errgroup *g = &c->errs[r->errs[i]];
        buf_addstr(b, "<tr>");
        td_count(b, g->count);
        buf_addf(b, "<td>%s</td><td><code>", severity_name(g->severity));
        report_html_esc(b, g->sqlstate[0] ? g->sqlstate : "-");
        buf_addstr(b, "</code></td><td>");
        report_html_esc(b, report_sqlstate_class(g->sqlstate));
        buf_addstr(b, "</td><td class=\"q\" data-v=\"");
        esc_line(b, g->message, 200);
        buf_addstr(b, "\"><details><summary>");
        esc_line(b, g->message, 120);
        buf_addstr(b, "</summary>\n<div class=\"qd\"><pre>");
        report_html_esc(b, g->message);
        buf_addstr(b, "</pre>");
        if (g->statement) {
            buf_addstr(b, "<h4>Statement</h4><pre class=\"sql\">");
            report_html_esc(b, g->statement);
            buf_addstr(b, "</pre>");
        }
        buf_addstr(b, "</div></details></td><td class=\"t\">");
        add_time(r, b, g->first_us);
        buf_addstr(b, "</td><td class=\"t\">");
        add_time(r, b, g->last_us);
        buf_addstr(b, "</td></tr>\n");
    }
    table_foot(b);
    buf_addstr(b, "</section>\n");
}

/* qsort has no context argument: the comparator reads the collector here. */
static const struct collector *table_sort_c;

static int cmp_table(const void *x, const void *y)
{
    const struct table_stat *a = &table_sort_c->tables[*(const size_t *)x];
    const struct table_stat *c = &table_sort_c->tables[*(const size_t *)y];
    int64_t ta = a->vacuum_us + a->analyze_us, tc = c->vacuum_us + c->analyze_us;
    if (ta != tc)
        return ta > tc ? -1 : 1;
    uint64_t na = a->vacuums + a->analyzes, nc = c->vacuums + c->analyzes;
    if (na != nc)
        return na > nc ? -1 : 1;
    return strcmp(names_get(&table_sort_c->names, a->name).ptr,
                  names_get(&table_sort_c->names, c->name).ptr);
}

static void autovacuum_table(const struct report *r, struct buf *b)
{
    static const char *const cols[] = { "table", "#vacuums", "#vacuum ms", "#analyzes",
                                        "#analyze ms" };
    const struct collector *c = r->c;
    if (!c->ntables)
        return;
    size_t *order = xmalloc(c->ntables * sizeof(*order));
    for (size_t i = 0; i < c->ntables; i++)
        order[i] = i;
    table_sort_c = c;
    qsort(order, c->ntables, sizeof(*order), cmp_table);
    table_sort_c = NULL;
    buf_addstr(b, "<section id=\"autovacuum\"><h2>Autovacuum and autoanalyze</h2>\n");
    table_head(b, "autovacuum-table", cols, ARRAY_SIZE(cols), (size_t)-1, true);
    for (size_t i = 0; i < report_rows(r, c->ntables); i++) {
        const struct table_stat *t = &c->tables[order[i]];
        struct str name = names_get(&c->names, t->name);
        buf_addstr(b, "<tr><td><code>");
        esc_n(b, name.ptr, name.len);
        buf_addstr(b, "</code></td>");
        td_count(b, t->vacuums);
        td_num(b, report_ms(t->vacuum_us), "%.1f");
        td_count(b, t->analyzes);
        td_num(b, report_ms(t->analyze_us), "%.1f");
        buf_addstr(b, "</tr>\n");
    }
    table_foot(b);
    buf_addstr(b, "</section>\n");
    free(order);
}

/* ------------------------------------------------------------------------ */
/* Summary, events, inputs                                                  */

static void card_open(struct buf *b, const char *key)
{
    buf_addf(b, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\">", key);
}

static void card_close(struct buf *b, const char *sub)
{
    buf_addf(b, "</div>%s%s%s</div>\n", sub ? "<div class=\"s\">" : "", sub ? sub : "",
             sub ? "</div>" : "");
}

static void card_count(struct buf *b, const char *key, uint64_t v, const char *sub)
{
    card_open(b, key);
    svg_add_count(b, v);
    card_close(b, sub);
}

static void summary_cards(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    struct buf sub = BUF_INIT;
    buf_addstr(b, "<section id=\"summary\"><div class=\"cards\">\n");
    card_open(b, "period");
    if (c->first_us != TS_NONE && c->last_us != TS_NONE && c->last_us >= c->first_us &&
        c->first_us != INT64_MAX) {
        add_duration(b, report_ms(c->last_us - c->first_us));
        svg_add_clock(r, &sub, c->first_us, true);
        buf_addstr(&sub, " → ");
        svg_add_clock(r, &sub, c->last_us, true);
    } else {
        buf_addstr(b, "–");
    }
    card_close(b, sub.ptr);
    buf_reset(&sub);
    buf_addstr(&sub, "timed: ");
    svg_add_count(&sub, c->timed_queries);
    card_count(b, "queries", c->queries, sub.ptr);
    card_count(b, "distinct queries", r->nq, NULL);
    card_open(b, "database time");
    add_duration(b, report_ms(c->total_us));
    card_close(b, NULL);
    buf_reset(&sub);
    buf_addf(&sub, "%" PRIu64 " FATAL · %" PRIu64 " PANIC", c->fatals, c->panics);
    card_count(b, "errors", c->errors, sub.ptr);
    buf_reset(&sub);
    buf_addf(&sub, "%.1f ms waited", report_ms(c->lock_wait_us));
    card_count(b, "lock waits", c->lock_waits, sub.ptr);
    card_count(b, "deadlocks", c->deadlocks, NULL);
    card_count(b, "refused connections", c->refused, "too many clients");
    card_open(b, "temp files");
    report_bytes(b, c->temp_bytes);
    buf_reset(&sub);
    svg_add_count(&sub, c->temp_files);
    buf_addstr(&sub, " files");
    card_close(b, sub.ptr);
    buf_addstr(b, "</div>\n");
    if (c->orphan_durations)
        buf_addf(b,
                 "<p class=\"muted\">%" PRIu64 " duration lines without their statement "
                 "(%.1f ms).</p>\n",
                 c->orphan_durations, report_ms(c->orphan_us));
    if (c->filtered)
        buf_addf(b, "<p class=\"muted\">%" PRIu64 " records left out by the filters.</p>\n",
                 c->filtered);
    buf_addstr(b, "</section>\n");
    buf_release(&sub);
}

static void inputs_list(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    buf_addstr(b, "<ul class=\"inputs\">\n");
    for (size_t i = 0; i < r->a->ninputs; i++) {
        const struct input_info *in = &r->a->inputs[i];
        const struct input_stat *st = i < c->ninputs ? &c->inputs[i] : NULL;
        buf_addstr(b, "<li><code>");
        report_html_esc(b, in->path);
        buf_addstr(b, "</code> ");
        if (in->error) {
            buf_addstr(b, "<span class=\"bad\">");
            report_html_esc(b, in->error);
            buf_addstr(b, "</span></li>\n");
            continue;
        }
        buf_addf(b, "<span class=\"muted\">%s%s%s, ", log_formats_name(in->format, in->formats),
                 in->compression ? ", " : "", in->compression ? in->compression : "");
        svg_add_count(b, in->lines);
        buf_addstr(b, " lines");
        if (st && st->unparsed) {
            buf_addstr(b, ", ");
            svg_add_count(b, st->unparsed);
            buf_addstr(b, " not recognised, first at line");
            for (size_t k = 0; k < st->nfirst; k++)
                buf_addf(b, "%s %" PRIu64, k ? "," : "", st->first_unparsed[k]);
        }
        struct buf losses = BUF_INIT;
        report_input_losses(in, &losses);
        report_html_esc(b, losses.ptr);
        buf_release(&losses);
        buf_addstr(b, "</span></li>\n");
    }
    buf_addstr(b, "</ul>\n");
}

static void pooler_table(const struct report *r, struct buf *b)
{
    static const char *const cols[] = { "stats line", "#xacts/s",  "#queries/s",
                                        "#xact ms",   "#query ms", "#wait ms/s" };
    struct pooler_row rows[POOLER_ROWS];
    size_t per, n = report_pooler_rows(r, rows, &per);
    if (!n)
        return;
    buf_addstr(b, "<section id=\"pgbouncer\"><h2>PgBouncer</h2>\n");
    table_head(b, "pgbouncer-table", cols, ARRAY_SIZE(cols), 0, false);
    for (size_t i = 0; i < n; i++) {
        buf_addstr(b, "<tr><td>");
        report_time(r, b, rows[i].ts_us);
        buf_addstr(b, "</td>");
        td_num(b, rows[i].xacts_per_s, "%.1f");
        td_num(b, rows[i].queries_per_s, "%.1f");
        td_num(b, rows[i].xact_ms, "%.3f");
        td_num(b, rows[i].query_ms, "%.3f");
        td_num(b, rows[i].wait_ms_per_s, "%.1f");
        buf_addstr(b, "</tr>\n");
    }
    table_foot(b);
    if (per > 1)
        buf_addf(b, "<p class=\"muted\">%zu stats lines, %zu to a row.</p>\n", r->c->npool_stats,
                 per);
    buf_addstr(b, "</section>\n");
}

static void event_row(struct buf *b, const char *name, const char *value)
{
    buf_addf(b, "<tr><th scope=\"row\">%s</th><td>%s</td></tr>\n", name, value);
}

static void events_table(const struct report *r, struct buf *b)
{
    const struct collector *c = r->c;
    struct buf v = BUF_INIT;
    buf_addstr(b, "<section id=\"events\"><h2>Events</h2>\n<table class=\"kv\">\n");
    buf_addf(&v,
             "%" PRIu64 " authorized, %" PRIu64 " received, %" PRIu64 " refused (too many clients)",
             c->connections, c->conn_received, c->refused);
    event_row(b, "connections", v.ptr);
    buf_reset(&v);
    buf_addf(&v, "%" PRIu64 ", %.1f s of sessions", c->disconnections, (double)c->session_us / 1e6);
    event_row(b, "disconnections", v.ptr);
    buf_reset(&v);
    buf_addf(&v, "%" PRIu64 " (%" PRIu64 " acquired after %.1f ms)", c->lock_waits,
             c->lock_acquired, report_ms(c->lock_wait_us));
    event_row(b, "lock waits", v.ptr);
    buf_reset(&v);
    buf_addf(&v, "%" PRIu64, c->deadlocks);
    event_row(b, "deadlocks", v.ptr);
    buf_reset(&v);
    buf_addf(&v, "%" PRIu64 ", ", c->temp_files);
    report_bytes(&v, c->temp_bytes);
    event_row(b, "temporary files", v.ptr);
    buf_reset(&v);
    buf_addf(&v, "%" PRIu64 ", %.1f s", c->checkpoints, (double)c->checkpoint_us / 1e6);
    event_row(b, "checkpoints", v.ptr);
    buf_reset(&v);
    buf_addf(&v, "%" PRIu64 " vacuums, %" PRIu64 " analyzes", c->autovacuums, c->autoanalyzes);
    event_row(b, "autovacuum", v.ptr);
    buf_reset(&v);
    buf_addf(&v, "%" PRIu64, c->plans);
    event_row(b, "auto_explain plans", v.ptr);
    buf_reset(&v);
    if (report_pooler_line(r, &v))
        event_row(b, "PgBouncer", v.ptr);
    buf_addstr(b, "</table>\n</section>\n");
    buf_release(&v);
}

/* ------------------------------------------------------------------------ */
/* The page                                                                 */

static const char page_css[] =
    ":root{--fg:#1c2230;--muted:#5d6676;--line:#e1e4ea;--bg:#fff;--card:#f5f6f8;"
    "--accent:#2f6fdd;--mark:#c2410c;--bad:#b42318}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}\n"
    "main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}\n"
    "h1{font-size:1.45em;margin:.2em 0 .1em}\n"
    "h2{font-size:1.15em;margin:1.8em 0 .6em;padding-bottom:.25em;border-bottom:1px solid "
    "var(--line)}\n"
    "h4{margin:.9em 0 .3em;font-size:.95em}\n"
    "a{color:var(--accent)}\n"
    ".muted{color:var(--muted)}.small{font-size:.85em;margin:.2em 0 0}.bad{color:var(--bad)}\n"
    "ul.inputs{margin:.3em 0;padding-left:1.2em}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(165px,1fr));gap:10px;"
    "margin-top:14px}\n"
    ".card{background:var(--card);border-radius:8px;padding:10px 12px;min-width:0}\n"
    ".card .k{color:var(--muted);font-size:.75em;text-transform:uppercase;letter-spacing:.05em}\n"
    ".card .v{font-size:1.35em;font-weight:600;overflow-wrap:anywhere}\n"
    ".card .s{color:var(--muted);font-size:.8em;overflow-wrap:anywhere}\n"
    "figure{margin:0 0 14px;min-width:0}\n"
    "figcaption{font-weight:600;margin-bottom:4px;overflow:hidden;text-overflow:ellipsis;"
    "white-space:nowrap}\n"
    "figcaption .qs{font-weight:400;color:var(--muted)}\n"
    "figcaption .rank{color:var(--muted)}\n"
    "svg{display:block;width:100%;height:auto;overflow:visible}\n"
    "svg text{font:11px system-ui,sans-serif;fill:var(--muted)}\n"
    ".grid line{stroke:var(--line)}.xt line{stroke:#9aa3b2}\n"
    ".axis{fill:none;stroke:#9aa3b2}\n"
    ".area{fill:var(--accent);fill-opacity:.14}\n"
    ".line{fill:none;stroke:var(--accent);stroke-width:1.6;stroke-linejoin:round}\n"
    ".dot{fill:var(--accent)}\n"
    ".hit{fill:transparent}.hit:hover{fill:var(--accent);fill-opacity:.08}\n"
    ".bar{fill:var(--accent);fill-opacity:.7}.bar:hover{fill-opacity:1}\n"
    ".mark{stroke:var(--mark);stroke-dasharray:3 3}\n"
    "svg text.markl{fill:var(--mark);font-size:10px}\n"
    ".hists{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,360px),1fr));"
    "gap:16px}\n"
    ".hist{border:1px solid var(--line);border-radius:8px;padding:8px 10px}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px}\n"
    "th,td{padding:5px 7px;border-bottom:1px solid var(--line);text-align:left;"
    "vertical-align:top}\n"
    "table.sortable th{cursor:pointer;user-select:none;white-space:nowrap;"
    "background:var(--card)}\n"
    "table.sortable th:hover{color:var(--accent)}\n"
    "th[aria-sort=ascending]::after{content:' \\25B2';font-size:.75em}\n"
    "th[aria-sort=descending]::after{content:' \\25BC';font-size:.75em}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.t{white-space:nowrap;font-size:.92em}\n"
    "td.q{min-width:18em;max-width:60em}\n"
    "table.kv th{width:12em;font-weight:600;background:none}\n"
    "code,pre{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}\n"
    "pre{background:var(--card);padding:8px 10px;border-radius:6px;white-space:pre-wrap;"
    "overflow-wrap:anywhere;margin:.3em 0;max-height:32em;overflow:auto}\n"
    "summary{cursor:pointer;overflow-wrap:anywhere}\n"
    ".qd{padding:4px 0 8px}\n"
    "dl.dims{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:.6em 0}\n"
    "dl.dims dt{color:var(--muted)}dl.dims dd{margin:0;overflow-wrap:anywhere}\n"
    "ul.chips{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px}\n"
    "ul.chips li{background:var(--card);border-radius:12px;padding:2px 10px;font-size:.9em}\n"
    "footer{margin-top:2em;color:var(--muted);font-size:.85em}\n"
    "@media (max-width:640px){main{padding:10px}.cards{grid-template-columns:1fr 1fr}"
    "td.q{min-width:14em}.chart svg text{font-size:24px}}\n";

/*
 * Sorts a table when a header is clicked (or activated from the keyboard):
 * numeric columns compare their cells' data-v, others the text; a second
 * click reverses. Marks each table data-sortable="ready" once wired, which
 * the browser test checks.
 */
static const char page_js[] =
    "(function(){'use strict';\n"
    "function key(td,num){var v=td.getAttribute('data-v');if(v===null)v=td.textContent;"
    "return num?parseFloat(v):v.toLowerCase();}\n"
    "function sort(t,th,i){var num=th.getAttribute('data-type')==='num';"
    "var cur=th.getAttribute('aria-sort');"
    "var dir=cur?(cur==='descending'?'ascending':'descending'):(num?'descending':'ascending');"
    "Array.prototype.forEach.call(t.tHead.rows[0].cells,function(c){"
    "c.removeAttribute('aria-sort');});th.setAttribute('aria-sort',dir);"
    "var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);"
    "rows.sort(function(a,b){var x=key(a.cells[i],num),y=key(b.cells[i],num);"
    "var c=x<y?-1:x>y?1:0;return dir==='ascending'?c:-c;});"
    "rows.forEach(function(r){body.appendChild(r);});}\n"
    "Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(t){"
    "Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){"
    "th.tabIndex=0;th.addEventListener('click',function(){sort(t,th,i);});"
    "th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){"
    "e.preventDefault();sort(t,th,i);}});});"
    "t.setAttribute('data-sortable','ready');});\n"
    "})();\n";

const char *report_html_css(void)
{
    return page_css;
}

static void page_head(const struct report *r, struct buf *b)
{
    buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"generator\" content=\"sleuth " SLEUTH_VERSION "\">\n<title>");
    buf_addstr(b, "sleuth report");
    if (r->a->store) {
        const char *path = r->a->store->path, *slash = strrchr(path, '/');
        buf_addstr(b, ": ");
        report_html_esc(b, slash ? slash + 1 : path);
    } else if (r->a->ninputs) {
        const char *path = r->a->inputs[0].path, *slash = strrchr(path, '/');
        buf_addstr(b, ": ");
        report_html_esc(b, slash ? slash + 1 : path);
        if (r->a->ninputs > 1)
            buf_addf(b, " and %zu more", r->a->ninputs - 1);
    }
    buf_addf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", page_css);
    if (r->a->store) {
        struct buf line = BUF_INIT;
        buf_addstr(b, "<header><h1>PostgreSQL history</h1>\n<ul class=\"inputs\">\n<li>");
        report_store_line(r, &line);
        report_html_esc(b, line.ptr);
        buf_reset(&line);
        report_coverage_line(r, &line);
        buf_addstr(b, "</li>\n<li>");
        report_html_esc(b, line.ptr);
        buf_addstr(b, "</li>\n<li class=\"muted\">Durations from pg_stat_statements: means "
                      "only (no per-call min, max or percentiles).</li>\n</ul>\n");
        buf_release(&line);
    } else {
        buf_addstr(b, "<header><h1>PostgreSQL log analysis</h1>\n");
        inputs_list(r, b);
    }
    buf_addstr(b, "</header>\n");
}

static void alerts_table(const struct report *r, struct buf *b)
{
    static const char *const cols[] = { "severity", "kind", "since", "resolved", "summary" };
    if (!r->a->store)
        return;
    buf_addstr(b, "<section id=\"alerts\"><h2>Alerts</h2>\n");
    if (!r->nalerts) {
        buf_addstr(b, "<p class=\"muted\">No alerts in this range.</p></section>\n");
        return;
    }
    table_head(b, "alerts-table", cols, ARRAY_SIZE(cols), 2, false);
    for (size_t i = 0; i < report_rows(r, r->nalerts); i++) {
        const struct alert *a = &r->alerts[i];
        buf_addf(b, "<tr><td>%s</td><td>%s</td><td class=\"t\">",
                 finding_severity_name(a->f.severity), finding_kind_name(a->f.kind));
        add_time(r, b, a->since_us);
        buf_addstr(b, "</td><td class=\"t\">");
        if (a->resolved_us)
            add_time(r, b, a->resolved_us);
        else
            buf_addstr(b, "still firing");
        buf_addstr(b, "</td><td>");
        report_html_esc(b, a->f.summary ? a->f.summary : "");
        buf_addstr(b, "</td></tr>\n");
    }
    table_foot(b);
    buf_addstr(b, "</section>\n");
}

/* The incidents: when, why, what triggered and fixed them, what the data rules out. */
static void incidents_section(const struct report *r, struct buf *b)
{
    if (!r->nincidents)
        return;
    buf_addstr(b, "<section id=\"incidents\"><h2>Incidents</h2>\n");
    for (size_t i = 0; i < r->nincidents; i++) {
        const struct incident *inc = &r->incidents[i];
        char *h = report_incident_heading(r, inc);
        buf_addstr(b, "<h3>");
        report_html_esc(b, h);
        buf_addstr(b, "</h3>\n<dl class=\"incident\">\n");
        free(h);
        size_t n;
        struct report_row *rows = report_incident_rows(r, inc, &n);
        for (size_t k = 0; k < n; k++) {
            buf_addf(b, "<dt>%s</dt><dd>", rows[k].label);
            if (rows[k].code) {
                buf_addstr(b, "<code>");
                esc_line(b, rows[k].text, 300);
                buf_addstr(b, "</code>");
            } else {
                report_html_esc(b, rows[k].text);
            }
            buf_addstr(b, "</dd>\n");
        }
        report_rows_free(rows, n);
        buf_addstr(b, "</dl>\n");
    }
    buf_addstr(b, "</section>\n");
}

/* The users' side, from the access logs. */
static void web_section(const struct report *r, struct buf *b)
{
    size_t n;
    struct report_row *rows = report_web_rows(r, &n);
    if (!rows)
        return;
    buf_addstr(b, "<section id=\"web\"><h2>Web tier (access logs)</h2>\n<dl class=\"incident\">\n");
    for (size_t k = 0; k < n; k++) {
        buf_addf(b, "<dt>%s</dt><dd>", rows[k].label);
        report_html_esc(b, rows[k].text);
        buf_addstr(b, "</dd>\n");
    }
    buf_addstr(b, "</dl>\n</section>\n");
    report_rows_free(rows, n);
}

int report_write_html(const struct report *r, FILE *out)
{
    struct buf b = BUF_INIT;
    page_head(r, &b);
    summary_cards(r, &b);
    incidents_section(r, &b);
    web_section(r, &b);
    buf_addstr(&b, "<section id=\"timeline\"><h2>Timeline</h2>\n");
    if (r->ntl)
        svg_timeline(r, &b);
    else
        buf_addstr(&b, "<p class=\"muted\">No timed events.</p>\n");
    buf_addstr(&b, "</section>\n");
    alerts_table(r, &b);
    queries_table(r, &b);
    histograms(r, &b);
    errors_table(r, &b);
    events_table(r, &b);
    pooler_table(r, &b);
    autovacuum_table(r, &b);
    buf_addf(&b,
             "<footer>Generated by sleuth %s.</footer>\n</main>\n"
             "<script>\n%s</script>\n</body>\n</html>\n",
             SLEUTH_VERSION, page_js);
    size_t w = fwrite(b.ptr, 1, b.len, out);
    int rc = w == b.len ? 0 : -1;
    buf_release(&b);
    return rc;
}
