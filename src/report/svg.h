/*
 * Inline SVG charts for the HTML report (html.c). Each function appends
 * markup to a buffer; the SVGs have a viewBox and no fixed size, so they
 * scale to the width of their container, and each data point or bar
 * carries a <title> tooltip.
 *
 * These functions write no text taken from the log, only numbers, times
 * and fixed labels; a label passed in must already be safe in HTML
 * (escaping log text is html.c's job). Pointer arguments are borrowed.
 */
#ifndef SLEUTH_REPORT_SVG_H
#define SLEUTH_REPORT_SVG_H

#include "render.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Three <figure>s over the report's timeline: queries per second, database
 * time per interval and p95 latency per interval. Long timelines are drawn
 * with at most a few hundred points (adjacent intervals merged, their
 * sketches too); short ones as columns. Writes nothing if the timeline is
 * empty.
 */
void svg_timeline(const struct report *r, struct buf *b);
/*
 * One <svg>: the latency histogram of q on a log axis, with p50, p95 and
 * p99 marked. q must have timed calls. label (the aria-label) must be
 * markup-safe.
 */
void svg_histogram(struct buf *b, const struct qstat *q, const char *label);

/* One series of an incident chart: a value per time, NAN where there is none. */
struct svg_series {
    const char *caption; /* markup-safe */
    const char *unit;    /* in tooltips */
    const int64_t *t_us;
    const double *v;
    size_t n;
};

/* A moment marked on an incident chart (the trigger, the fix). */
struct svg_mark {
    int64_t ts_us;
    const char *label; /* markup-safe */
};

/*
 * One <figure>: the series as a line over [from_us, to_us), the shaded
 * stretch [band_from_us, band_to_us) (the incident) and the marks as
 * dashed vertical lines with their labels. Writes nothing without a value.
 */
void svg_incident_chart(const struct report *r, struct buf *b, const struct svg_series *s,
                        int64_t from_us, int64_t to_us, int64_t band_from_us, int64_t band_to_us,
                        const struct svg_mark *marks, size_t nmarks);

/* 1234567 as "1,234,567". */
void svg_add_count(struct buf *b, uint64_t v);
/* "2026-11-22 02:33" (":56" added with seconds) in the log's time zone. */
void svg_add_clock(const struct report *r, struct buf *b, int64_t ts_us, bool seconds);

#endif
