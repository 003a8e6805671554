/*
 * What every report renderer shares: the orderings of queries and errors,
 * time and number formatting, examples with their parameters put back, and
 * the names of SQLSTATE classes. Renderers never compute statistics: they
 * read the analysis through a struct report.
 */
#ifndef SLEUTH_REPORT_RENDER_H
#define SLEUTH_REPORT_RENDER_H

#include "core/incident.h"
#include "detect/finding.h"
#include "stats/analysis.h"
#include "stats/web.h"
#include "util/buf.h"

#include <stdio.h>

enum report_format {
    REPORT_TEXT,     /* for a terminal */
    REPORT_JSON,     /* the stable machine interface (docs/json-output.md) */
    REPORT_MARKDOWN, /* for tickets and postmortems */
    REPORT_HTML,     /* one self-contained page with inline SVG charts */
};

struct report_opts {
    enum report_format format;
    size_t top;   /* rows per ranking; 0 = all (JSON's default) */
    int incident; /* postmortem: the incident's seq (0: the worst) */
};

struct report {
    const struct analysis *a;
    const struct collector *c;
    struct report_opts opts;
    uint32_t *by_total; /* query indexes: total time desc, then calls, then fingerprint */
    uint32_t *by_calls;
    uint32_t *by_mean;
    uint32_t *by_max;
    size_t nq;
    uint32_t *errs;              /* error groups by count desc */
    struct tl_bucket **timeline; /* buckets in time order */
    size_t ntl;
    /*
     * The analysis is of stored history (a->store): durations are
     * pg_stat_statements totals, so per-call min, max, stddev and
     * percentiles are unknown and shown as n/a (JSON: null).
     */
    bool means_only;
    const struct alert *alerts; /* stored alerts, by since (report_set_alerts); borrowed */
    size_t nalerts;
    const struct incident *incidents; /* report_set_incidents; borrowed, or NULL */
    size_t nincidents;
    const struct web *web; /* the access logs' side (report_set_web); borrowed, or NULL */
};

/* One labelled line of an incident, as every renderer shows it (report_incident_rows). */
struct report_row {
    const char *label; /* static: "cause", "query", "trigger", ... */
    char *text;        /* malloc'd, unescaped */
    bool code;         /* a statement: shown as code */
};

void report_init(struct report *r, const struct analysis *a, const struct report_opts *opts);
void report_release(struct report *r);
/* Lists these stored alerts (borrowed until report_release) in the report. */
void report_set_alerts(struct report *r, const struct alert *alerts, size_t n);

/* Adds the incidents (borrowed until report_release) to the report. */
void report_set_incidents(struct report *r, const struct incident *incs, size_t n);
/* Adds the web tier from access logs (borrowed until report_release). */
void report_set_web(struct report *r, const struct web *w);
/*
 * The heading of an incident ("#1 resolved, critical: ... (65 s), detected
 * ... (+4 s)") and its rows: each cause with its query and fix, the
 * trigger, the fix and the recovery, each suspicion with its verdict.
 * Returns the rows (*n of them); release with report_rows_free.
 */
char *report_incident_heading(const struct report *r, const struct incident *inc);
struct report_row *report_incident_rows(const struct report *r, const struct incident *inc,
                                        size_t *n);
void report_rows_free(struct report_row *rows, size_t n);
/* Appends a row (text is taken over). */
void report_row_add(struct report_row **rows, size_t *n, const char *label, char *text, bool code);

/* Writes the report in its format; returns 0, or -1 if writing failed. */
int report_write(const struct report *r, FILE *out);

int report_write_text(const struct report *r, FILE *out);
int report_write_json(const struct report *r, FILE *out);
int report_write_markdown(const struct report *r, FILE *out);
int report_write_html(const struct report *r, FILE *out);

/*
 * Markdown pieces for text from a log (markdown.c): prose on one line with
 * inline markup escaped, an inline code span safe in a table cell, a fenced
 * block no line can close. width cuts after that many characters (0: none).
 */
void report_md_text(struct buf *b, const char *s, size_t width);
void report_md_code(struct buf *b, const char *s, size_t width);
void report_md_fenced(struct buf *b, const char *info, const char *s);
/* s escaped for HTML text and attribute values (html.c: the one escaping path). */
void report_html_esc(struct buf *b, const char *s);
/* The report page's style sheet, for other pages in its style. */
const char *report_html_css(void);

/*
 * Appends a one-line description of where stored history came from:
 * "store 'PATH', target 'T', DATE .. DATE" (the range asked for, else the
 * stored span). Appends nothing for logs. Unescaped: the caller escapes.
 */
void report_store_line(const struct report *r, struct buf *b);
/*
 * Appends how much of the stored range has data: "N intervals, G gaps
 * (the server could not be polled: FROM .. TO, ...), B baseline polls".
 */
void report_coverage_line(const struct report *r, struct buf *b);
/*
 * Appends what of an input was not analysed, each part after ", ": records
 * over --max-record, a shrink while it was read, the damage that stopped
 * the reading. Appends nothing for an input read whole. Unescaped.
 */
void report_input_losses(const struct input_info *in, struct buf *b);
/*
 * Appends, when the query memory budget folded queries, "about N distinct
 * queries beyond the query memory budget folded into other: C calls, T s
 * of database time" and returns true; else appends nothing.
 */
bool report_other_line(const struct report *r, struct buf *b);
/* Rows to show in a ranking of n items. */
size_t report_rows(const struct report *r, size_t n);
double report_ms(int64_t us);
/* Appends an ISO 8601 time in the log's zone; "" for TS_NONE. */
void report_time(const struct report *r, struct buf *b, int64_t ts_us);
/* A stretch of time as people say it: "42 s", "17 min", "3.5 h". */
void report_duration(struct buf *b, int64_t us);
/* The slowest example with its bind parameters substituted (malloc'd). */
char *report_example(const struct qstat *q);
/* Quantile q of a query's durations, ms. */
double report_quantile_ms(const struct qstat *q, double quantile);
double report_mean_ms(const struct qstat *q);
/* Name of a SQLSTATE class ("23" → "Integrity Constraint Violation"). */
const char *report_sqlstate_class(const char *sqlstate);
/*
 * The values of one dimension of a query (its users, databases, …), largest
 * count first, equal counts by name, so every renderer shows one order.
 * Returns a malloc'd copy of d->n items (NULL when there are none).
 */
struct dim_count *report_dims(const struct report *r, const struct dim_top *d);
/* "16 hex digits" of a fingerprint. */
void report_fingerprint(char out[17], uint64_t fp);
/* Human size: "1.2 GB". */
void report_bytes(struct buf *b, int64_t bytes);
/*
 * What a PgBouncer log showed, in one line: its transactions a second
 * (lowest, highest), the worst client wait and when, the clients it turned
 * away and how long those that gave up had waited. False (nothing added)
 * when the inputs had no PgBouncer log.
 */
bool report_pooler_line(const struct report *r, struct buf *b);

/* One row of the PgBouncer table: stats lines together, weighted by their periods. */
struct pooler_row {
    int64_t ts_us; /* the first line's time */
    double xacts_per_s, queries_per_s, xact_ms, query_ms, wait_ms_per_s;
};
/* Rows shown at most: more stats lines than this are put several to a row. */
#define POOLER_ROWS 48
/*
 * The PgBouncer stats lines in time order as at most POOLER_ROWS rows into
 * rows (its room); returns the rows, and *per the lines in a row.
 */
size_t report_pooler_rows(const struct report *r, struct pooler_row *rows, size_t *per);

#endif
