/*
 * The inline SVG charts of the HTML report: the timeline (queries per
 * second, database time and p95 latency per interval) and the latency
 * histogram of a query. Scales, ticks and tooltips are computed here, so
 * the page draws its charts without any script. See svg.h.
 *
 * Nothing written here comes from the log: every string is a number, a
 * time, or a fixed label, which is why this file has no escaping function
 * and html.c keeps the page's only one.
 */
#include "svg.h"

#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Points per timeline chart: longer timelines merge adjacent intervals. */
#define CHART_MAX_POINTS 360

/* ------------------------------------------------------------------------ */
/* Formatting                                                               */

void svg_add_count(struct buf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf_addch(b, ',');
        buf_addch(b, tmp[i]);
    }
}

/* An axis label: at most four significant digits, k/M/G for large values. */
static void add_tick(struct buf *b, double v)
{
    double a = fabs(v);
    if (a >= 1e9)
        buf_addf(b, "%.4gG", v / 1e9);
    else if (a >= 1e6)
        buf_addf(b, "%.4gM", v / 1e6);
    else if (a >= 1e4)
        buf_addf(b, "%.4gk", v / 1e3);
    else
        buf_addf(b, "%.4g", v);
}

/* An interval length: "10s", "1m", "90m", "2h", "1d" ("1.5s" if not whole seconds). */
static void add_span(struct buf *b, int64_t us)
{
    int64_t s = us / 1000000;
    if (us % 1000000 != 0)
        buf_addf(b, "%.6gs", (double)us / 1e6);
    else if (s % 86400 == 0)
        buf_addf(b, "%" PRId64 "d", s / 86400);
    else if (s % 3600 == 0)
        buf_addf(b, "%" PRId64 "h", s / 3600);
    else if (s % 60 == 0)
        buf_addf(b, "%" PRId64 "m", s / 60);
    else
        buf_addf(b, "%" PRId64 "s", s);
}

/* A time in the log's zone, split into fields (days_from_civil's inverse, Hinnant). */
struct civil {
    int64_t y;
    unsigned mo, d, h, mi, s;
    int64_t day; /* days since the epoch, local */
};

static struct civil civil_of(int64_t ts_us, int offset_s)
{
    struct civil c;
    int64_t t = ts_us / 1000000 - (ts_us % 1000000 < 0) + offset_s;
    int64_t days = t / 86400 - (t % 86400 < 0);
    int64_t sod = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    c.d = doy - (153 * mp + 2) / 5 + 1;
    c.mo = mp < 10 ? mp + 3 : mp - 9;
    c.y = (int64_t)yoe + era * 400 + (c.mo <= 2);
    c.h = (unsigned)(sod / 3600);
    c.mi = (unsigned)(sod / 60 % 60);
    c.s = (unsigned)(sod % 60);
    c.day = days;
    return c;
}

void svg_add_clock(const struct report *r, struct buf *b, int64_t ts_us, bool seconds)
{
    struct civil c = civil_of(ts_us, r->c->tz_offset_s);
    buf_addf(b, "%04" PRId64 "-%02u-%02u %02u:%02u", c.y, c.mo, c.d, c.h, c.mi);
    if (seconds)
        buf_addf(b, ":%02u", c.s);
}

/* ------------------------------------------------------------------------ */
/* Chart scales                                                             */

/* A "nice" step (1, 2, 2.5 or 5 times a power of ten) near span / ticks. */
static double nice_step(double span, int ticks)
{
    if (!(span > 0))
        return 1;
    double raw = span / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

struct yscale {
    double max, step; /* axis runs 0..max in steps */
};

static struct yscale yscale_for(double vmax)
{
    struct yscale s;
    s.step = nice_step(vmax > 0 ? vmax : 1, 4);
    s.max = ceil((vmax > 0 ? vmax : 1) / s.step - 1e-9) * s.step;
    return s;
}

/* Chart geometry in viewBox units; the SVG scales to its container's width. */
struct frame {
    double w, h, ml, mr, mt, mb;
};

static double frame_pw(const struct frame *f)
{
    return f->w - f->ml - f->mr;
}

static double frame_ph(const struct frame *f)
{
    return f->h - f->mt - f->mb;
}

static double frame_y(const struct frame *f, const struct yscale *ys, double v)
{
    return f->mt + frame_ph(f) * (1 - v / ys->max);
}

/* label is a fixed, markup-safe text (see svg.h). */
static void svg_open(struct buf *b, const struct frame *f, const char *label)
{
    buf_addf(b, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">\n", f->w, f->h,
             label);
}

/* Horizontal grid lines with their labels, and the two axes. */
static void svg_yaxis(struct buf *b, const struct frame *f, const struct yscale *ys)
{
    double x0 = f->ml, x1 = f->w - f->mr;
    buf_addstr(b, "<g class=\"grid\">");
    for (int i = 0; i * ys->step <= ys->max * (1 + 1e-9); i++) {
        double v = i * ys->step, y = frame_y(f, ys, v);
        buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x0, y, x1, y);
        buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" dy=\"0.32em\">", x0 - 6, y);
        add_tick(b, v);
        buf_addstr(b, "</text>");
    }
    buf_addstr(b, "</g>\n");
    buf_addf(b, "<path class=\"axis\" d=\"M%.1f %.1fV%.1fH%.1f\"/>\n", x0, f->mt, f->h - f->mb, x1);
}

/* ------------------------------------------------------------------------ */
/* Timeline charts                                                          */

/* One drawn point: one or more consecutive timeline intervals. */
struct tpoint {
    int64_t t_us; /* start */
    uint64_t queries;
    int64_t total_us;
    struct sketch sketch; /* durations of the point's intervals */
};

struct tseries {
    struct tpoint *p;
    size_t n;
    int64_t width_us; /* time one point covers */
    int64_t interval_us;
};

static void tseries_build(const struct report *r, struct tseries *ts)
{
    int64_t iv = r->a->opts.filter.interval_us > 0 ? r->a->opts.filter.interval_us : 60000000;
    int64_t first = r->timeline[0]->bucket, last = r->timeline[r->ntl - 1]->bucket;
    uint64_t slots = ((uint64_t)last - (uint64_t)first) / (uint64_t)iv + 1;
    uint64_t step = (slots + CHART_MAX_POINTS - 1) / CHART_MAX_POINTS;
    ts->n = (size_t)((slots + step - 1) / step);
    ts->interval_us = iv;
    ts->width_us = (int64_t)step * iv;
    ts->p = xcalloc(ts->n, sizeof(*ts->p));
    for (size_t i = 0; i < ts->n; i++) {
        ts->p[i].t_us = first + (int64_t)i * ts->width_us;
        sketch_init(&ts->p[i].sketch);
    }
    for (size_t k = 0; k < r->ntl; k++) {
        const struct tl_bucket *t = r->timeline[k];
        size_t i = (size_t)(((uint64_t)t->bucket - (uint64_t)first) / (uint64_t)ts->width_us);
        ts->p[i].queries += t->queries;
        ts->p[i].total_us += t->total_us;
        sketch_merge(&ts->p[i].sketch, &t->sketch);
    }
}

static void tseries_release(struct tseries *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        sketch_release(&ts->p[i].sketch);
    free(ts->p);
    memset(ts, 0, sizeof(*ts));
}

static const struct frame line_frame = { 960, 220, 56, 14, 12, 30 };

/* Time ticks: the smallest step that gives at most seven labels. */
static void svg_time_axis(const struct report *r, struct buf *b, const struct tseries *ts)
{
    static const int64_t steps_s[] = { 1,     2,     5,     10,    15,     30,     60,
                                       120,   300,   600,   900,   1800,   3600,   7200,
                                       10800, 21600, 43200, 86400, 172800, 604800, 2419200 };
    const struct frame *f = &line_frame;
    int64_t t0 = ts->p[0].t_us, span = (int64_t)ts->n * ts->width_us;
    int64_t step = steps_s[ARRAY_SIZE(steps_s) - 1] * 1000000;
    for (size_t i = 0; i < ARRAY_SIZE(steps_s); i++) {
        if (span / (steps_s[i] * 1000000) <= 6) {
            step = steps_s[i] * 1000000;
            break;
        }
    }
    int64_t off = (int64_t)r->c->tz_offset_s * 1000000;
    int64_t first = ((t0 + off) / step + ((t0 + off) % step > 0)) * step - off;
    int64_t prev_day = INT64_MIN;
    bool crosses =
        civil_of(t0, r->c->tz_offset_s).day != civil_of(t0 + span - 1, r->c->tz_offset_s).day;
    buf_addstr(b, "<g class=\"xt\">");
    for (int64_t t = first; t <= t0 + span; t += step) {
        double x = f->ml + frame_pw(f) * (double)(t - t0) / (double)span;
        struct civil c = civil_of(t, r->c->tz_offset_s);
        buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, f->h - f->mb, x,
                 f->h - f->mb + 4);
        /* A label at the right end would stick out of the chart: end it at its tick. */
        buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, f->h - f->mb + 16,
                 x > f->w - f->mr - 30 ? "end" : "middle");
        if (step >= 86400 * 1000000LL)
            buf_addf(b, "%04" PRId64 "-%02u-%02u", c.y, c.mo, c.d);
        else if (crosses && c.day != prev_day)
            buf_addf(b, "%02u-%02u %02u:%02u", c.mo, c.d, c.h, c.mi);
        else if (step < 60 * 1000000LL)
            buf_addf(b, "%02u:%02u:%02u", c.h, c.mi, c.s);
        else
            buf_addf(b, "%02u:%02u", c.h, c.mi);
        buf_addstr(b, "</text>");
        prev_day = c.day;
    }
    buf_addstr(b, "</g>\n");
}

/* What a line chart shows; y has one value per point, NAN where there is none. */
struct line_chart {
    const char *id;
    const char *caption;
    const char *unit; /* in tooltips: "queries/s" */
    const double *y;
};

/* Timelines this short are drawn as columns: two or three points make a poor line. */
#define CHART_MAX_COLUMNS 40

static void svg_columns(struct buf *b, const struct tseries *ts, const struct line_chart *lc,
                        const struct yscale *ys)
{
    const struct frame *f = &line_frame;
    double w = frame_pw(f) / (double)ts->n, gap = fmin(3, w * 0.15);
    for (size_t i = 0; i < ts->n; i++) {
        if (isnan(lc->y[i]))
            continue;
        double y = fmin(frame_y(f, ys, lc->y[i]), f->h - f->mb - (lc->y[i] > 0 ? 1 : 0));
        buf_addf(b, "<rect class=\"bar\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>",
                 f->ml + w * (double)i + gap, y, w - 2 * gap, f->h - f->mb - y);
    }
    buf_addstr(b, "\n");
}

/* The area under each run of points with values, and its top line. */
static void svg_line_paths(struct buf *b, const struct tseries *ts, const struct line_chart *lc,
                           const struct yscale *ys)
{
    const struct frame *f = &line_frame;
    double base = f->h - f->mb, pw = frame_pw(f);
    struct buf line = BUF_INIT, area = BUF_INIT, dots = BUF_INIT;
    for (size_t i = 0; i < ts->n;) {
        if (isnan(lc->y[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < ts->n && !isnan(lc->y[j]))
            j++;
        if (j - i == 1) {
            buf_addf(&dots, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>",
                     f->ml + pw * ((double)i + 0.5) / (double)ts->n, frame_y(f, ys, lc->y[i]));
        }
        for (size_t k = i; k < j; k++) {
            double x = f->ml + pw * ((double)k + 0.5) / (double)ts->n, y = frame_y(f, ys, lc->y[k]);
            if (k == i)
                buf_addf(&area, "M%.1f %.1f", x, base);
            buf_addf(&area, "L%.1f %.1f", x, y);
            buf_addf(&line, "%c%.1f %.1f", k == i ? 'M' : 'L', x, y);
            if (k == j - 1)
                buf_addf(&area, "L%.1f %.1fZ", x, base);
        }
        i = j;
    }
    if (area.len)
        buf_addf(b, "<path class=\"area\" d=\"%s\"/>\n<path class=\"line\" d=\"%s\"/>\n", area.ptr,
                 line.ptr);
    buf_add(b, dots.ptr, dots.len);
    buf_release(&line);
    buf_release(&area);
    buf_release(&dots);
}

/* A transparent column per point that carries its tooltip. */
static void svg_line_hits(const struct report *r, struct buf *b, const struct tseries *ts,
                          const struct line_chart *lc)
{
    const struct frame *f = &line_frame;
    double w = frame_pw(f) / (double)ts->n;
    buf_addstr(b, "<g class=\"hits\">");
    for (size_t i = 0; i < ts->n; i++) {
        buf_addf(b, "<rect class=\"hit\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\">",
                 f->ml + w * (double)i, f->mt, w, frame_ph(f));
        buf_addstr(b, "<title>");
        svg_add_clock(r, b, ts->p[i].t_us, ts->interval_us < 60000000);
        buf_addstr(b, ": ");
        if (isnan(lc->y[i]))
            buf_addstr(b, "no timed queries");
        else
            buf_addf(b, "%.6g %s", lc->y[i], lc->unit);
        buf_addstr(b, "</title></rect>");
    }
    buf_addstr(b, "</g>\n");
}

static void svg_line_chart(const struct report *r, struct buf *b, const struct tseries *ts,
                           const struct line_chart *lc)
{
    double vmax = 0;
    for (size_t i = 0; i < ts->n; i++)
        if (!isnan(lc->y[i]) && lc->y[i] > vmax)
            vmax = lc->y[i];
    struct yscale ys = yscale_for(vmax);
    buf_addf(b, "<figure class=\"chart\" id=\"%s\"><figcaption>%s</figcaption>\n", lc->id,
             lc->caption);
    svg_open(b, &line_frame, lc->caption);
    svg_yaxis(b, &line_frame, &ys);
    svg_time_axis(r, b, ts);
    if (ts->n <= CHART_MAX_COLUMNS)
        svg_columns(b, ts, lc, &ys);
    else
        svg_line_paths(b, ts, lc, &ys);
    svg_line_hits(r, b, ts, lc);
    buf_addstr(b, "</svg></figure>\n");
}

/*
 * Seconds of log a point covers: its width, less what lies before the
 * first record or after the last, so the rate of a partly covered first or
 * last interval is not understated. At least one second (logs often have
 * whole-second times).
 */
static double point_seconds(const struct report *r, const struct tseries *ts, size_t i)
{
    int64_t from = ts->p[i].t_us, to = from + ts->width_us;
    const struct collector *c = r->c;
    if (c->first_us != TS_NONE && c->first_us > from && c->first_us < to)
        from = c->first_us;
    if (c->last_us != TS_NONE && c->last_us + 1000000 < to && c->last_us + 1000000 > from)
        to = c->last_us + 1000000;
    double secs = (double)(to - from) / 1e6;
    return secs < 1 ? 1 : secs;
}

void svg_timeline(const struct report *r, struct buf *b)
{
    if (!r->ntl)
        return;
    struct tseries ts;
    tseries_build(r, &ts);
    double *qps = xmalloc(ts.n * sizeof(*qps)), *dbt = xmalloc(ts.n * sizeof(*dbt));
    double *p95 = xmalloc(ts.n * sizeof(*p95));
    for (size_t i = 0; i < ts.n; i++) {
        qps[i] = (double)ts.p[i].queries / point_seconds(r, &ts, i);
        dbt[i] = (double)ts.p[i].total_us / 1e6;
        if (r->means_only) /* pg_stat_statements: no per-call durations, their mean */
            p95[i] = ts.p[i].queries ? report_ms(ts.p[i].total_us) / (double)ts.p[i].queries : NAN;
        else
            p95[i] = sketch_count(&ts.p[i].sketch)
                         ? report_ms(sketch_quantile(&ts.p[i].sketch, 0.95))
                         : NAN;
    }
    struct buf per = BUF_INIT, c1 = BUF_INIT, c2 = BUF_INIT;
    add_span(&per, ts.width_us);
    buf_addf(&c1, "Database time per %s interval (s)", per.ptr);
    buf_addf(&c2, "%s latency per %s interval (ms)", r->means_only ? "Mean" : "p95", per.ptr);
    const struct line_chart charts[] = {
        { "chart-qps", "Queries per second", "queries/s", qps },
        { "chart-dbtime", c1.ptr, "s of database time", dbt },
        { "chart-p95", c2.ptr, r->means_only ? "ms mean" : "ms p95", p95 },
    };
    buf_addstr(b, "<div class=\"charts\">\n");
    for (size_t i = 0; i < ARRAY_SIZE(charts); i++)
        svg_line_chart(r, b, &ts, &charts[i]);
    buf_addstr(b, "</div>\n");
    buf_release(&per);
    buf_release(&c1);
    buf_release(&c2);
    free(qps);
    free(dbt);
    free(p95);
    tseries_release(&ts);
}

/* ------------------------------------------------------------------------ */
/* Latency histograms                                                       */

/*
 * The sketch's buckets have uneven widths: below 100 µs each whole
 * microsecond is a bucket, above that they grow by 2%. Drawn as they are,
 * a wide bucket would look like a peak. So they are re-binned into equal
 * widths on a log axis, each bucket's calls spread over the bins its range
 * [lower - 0.5, upper + 0.5] µs overlaps, which keeps bar heights
 * comparable. Calls of 0 µs get a bar of their own left of the axis.
 */
#define HIST_BINS 48

struct hist {
    double lmin, lmax;      /* log10 of the axis ends, µs */
    uint64_t zero;          /* calls that took 0 µs */
    uint64_t total;         /* all calls */
    double bins[HIST_BINS]; /* calls per bin, fractional after re-binning */
};

static void hist_spread(struct hist *h, double a, double z, uint64_t count)
{
    double bw = (h->lmax - h->lmin) / HIST_BINS;
    long k0 = (long)floor((a - h->lmin) / bw), k1 = (long)floor((z - h->lmin) / bw);
    k0 = k0 < 0 ? 0 : k0 > HIST_BINS - 1 ? HIST_BINS - 1 : k0;
    k1 = k1 < k0 ? k0 : k1 > HIST_BINS - 1 ? HIST_BINS - 1 : k1;
    if (k0 == k1 || !(z > a)) {
        h->bins[k0] += (double)count;
        return;
    }
    for (long k = k0; k <= k1; k++) {
        double from = fmax(a, h->lmin + bw * (double)k),
               to = fmin(z, h->lmin + bw * (double)(k + 1));
        if (to > from)
            h->bins[k] += (double)count * (to - from) / (z - a);
    }
}

static void hist_build(const struct qstat *q, struct hist *h)
{
    /* More than the 2,051 buckets a sketch can have, so none are merged. */
    const size_t max = 2100;
    int64_t *lo = xmalloc(max * sizeof(*lo)), *hi = xmalloc(max * sizeof(*hi));
    uint64_t *cnt = xmalloc(max * sizeof(*cnt));
    size_t n = sketch_buckets(&q->sketch, lo, hi, cnt, max);
    double vmin = 0, vmax = 0;
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < n; i++) {
        h->total += cnt[i];
        if (hi[i] <= 0) {
            h->zero += cnt[i];
            continue;
        }
        double a = (double)lo[i] - 0.5, z = (double)hi[i] + 0.5;
        vmin = vmin == 0 || a < vmin ? a : vmin;
        vmax = z > vmax ? z : vmax;
    }
    h->lmin = vmax > 0 ? log10(vmin) : 0;
    h->lmax = vmax > 0 ? log10(vmax) : 1;
    if (h->lmax - h->lmin < 0.3) {
        double mid = (h->lmin + h->lmax) / 2;
        h->lmin = mid - 0.15;
        h->lmax = mid + 0.15;
    }
    double bw = (h->lmax - h->lmin) / HIST_BINS;
    for (size_t i = 0; i < n; i++) {
        if (hi[i] <= 0)
            continue;
        double a = log10((double)lo[i] - 0.5), z = log10((double)hi[i] + 0.5);
        /* A bucket narrower than a bin goes whole to the bin of its centre. */
        if (z - a < bw)
            a = z = (a + z) / 2;
        hist_spread(h, a, z, cnt[i]);
    }
    free(lo);
    free(hi);
    free(cnt);
}

static const struct frame hist_frame = { 460, 180, 44, 12, 24, 28 };

/* Width of the slot left of the log axis where the 0 µs bar is drawn. */
#define ZERO_SLOT 18.0

static double hist_xpos(const struct hist *h, double us)
{
    const struct frame *f = &hist_frame;
    double left = f->ml + (h->zero ? ZERO_SLOT : 0), width = f->w - f->mr - left;
    if (us <= 0)
        return f->ml + ZERO_SLOT / 2;
    return left + width * (log10(us) - h->lmin) / (h->lmax - h->lmin);
}

static void add_us(struct buf *b, double us)
{
    if (us < 1000)
        buf_addf(b, "%.3g µs", us);
    else if (us < 1e6)
        buf_addf(b, "%.3g ms", us / 1e3);
    else
        buf_addf(b, "%.3g s", us / 1e6);
}

static void hist_tick(struct buf *b, const struct hist *h, double us)
{
    const struct frame *f = &hist_frame;
    double x = hist_xpos(h, us), y = f->h - f->mb;
    buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, y, x, y + 4);
    buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y + 16);
    if (us > 0)
        add_us(b, us);
    else
        buf_addstr(b, "0");
    buf_addstr(b, "</text>");
}

/*
 * Ticks on the log axis: powers of ten over a wide range, 1-2-5 over one
 * or two decades, and evenly spaced round values over less than that.
 */
static void hist_xticks(struct buf *b, const struct hist *h)
{
    double span = h->lmax - h->lmin, eps = 1e-9;
    buf_addstr(b, "<g class=\"xt\">");
    if (h->zero)
        hist_tick(b, h, 0);
    if (span < 0.9) {
        double vlo = pow(10, h->lmin), vhi = pow(10, h->lmax), step = nice_step(vhi - vlo, 4);
        for (double v = ceil(vlo / step) * step; v <= vhi; v += step)
            hist_tick(b, h, v);
    } else {
        static const double mult[] = { 1, 2, 5 };
        size_t nm = span < 2.2 ? 3 : 1;
        for (int e = (int)floor(h->lmin); e <= (int)ceil(h->lmax); e++) {
            for (size_t m = 0; m < nm; m++) {
                double v = mult[m] * pow(10, e), l = log10(v);
                if (l >= h->lmin - eps && l <= h->lmax + eps)
                    hist_tick(b, h, v);
            }
        }
    }
    buf_addstr(b, "</g>\n");
}

/*
 * Dashed lines at p50, p95 and p99. Quantiles that fall on the same spot
 * share a label ("p95 p99"); labels are centred on their line, kept inside
 * the chart and moved up a row when they would overlap the previous one.
 */
static void hist_marks(struct buf *b, const struct hist *h, const struct qstat *q)
{
    static const struct {
        double q;
        const char *name;
    } marks[] = { { 0.50, "p50" }, { 0.95, "p95" }, { 0.99, "p99" } };
    const struct frame *f = &hist_frame;
    double right[2] = { -1e9, -1e9 };
    for (size_t i = 0; i < ARRAY_SIZE(marks);) {
        double us = (double)sketch_quantile(&q->sketch, marks[i].q), x = hist_xpos(h, us);
        struct buf label = BUF_INIT;
        size_t j = i;
        while (j < ARRAY_SIZE(marks) &&
               fabs(hist_xpos(h, (double)sketch_quantile(&q->sketch, marks[j].q)) - x) < 2) {
            buf_addf(&label, "%s%s", j > i ? " " : "", marks[j].name);
            buf_addf(b, "<line class=\"mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\">", x,
                     f->mt - 4, x, f->h - f->mb);
            buf_addf(b, "<title>%s ", marks[j].name);
            add_us(b, (double)sketch_quantile(&q->sketch, marks[j].q));
            buf_addstr(b, "</title></line>");
            j++;
        }
        double hw = 2.9 * (double)label.len, cx = x;
        cx = fmin(fmax(cx, f->ml + hw), f->w - f->mr - hw);
        int row = cx - hw < right[0] + 3 ? 1 : 0;
        if (row == 1 && cx - hw < right[1] + 3)
            cx = right[1] + 3 + hw;
        right[row] = cx + hw;
        buf_addf(b, "<text class=\"markl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                 cx, f->mt - 7 - 10.0 * row, label.ptr);
        buf_release(&label);
        i = j;
    }
    buf_addstr(b, "\n");
}

/* One bar; lo_us < 0 for the 0 µs bar. Tiny counts keep a visible sliver. */
static void hist_bar(struct buf *b, const struct hist *h, double x0, double x1, double lo_us,
                     double hi_us, double count, const struct yscale *ys)
{
    const struct frame *f = &hist_frame;
    double y = fmin(frame_y(f, ys, count), f->h - f->mb - 1);
    buf_addf(b, "<rect class=\"bar\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"><title>",
             x0, y, x1 - x0, f->h - f->mb - y);
    if (lo_us < 0) {
        buf_addstr(b, "0 µs");
    } else {
        add_us(b, lo_us);
        buf_addstr(b, " – ");
        add_us(b, hi_us);
    }
    buf_addf(b, ": %s%.0f calls (%.1f%%)</title></rect>", lo_us < 0 ? "" : "~", count,
             h->total ? 100.0 * count / (double)h->total : 0.0);
}

void svg_histogram(struct buf *b, const struct qstat *q, const char *label)
{
    struct hist h;
    hist_build(q, &h);
    double cmax = (double)h.zero;
    for (size_t i = 0; i < HIST_BINS; i++)
        cmax = fmax(cmax, h.bins[i]);
    struct yscale ys = yscale_for(cmax);
    if (ys.step < 1) {
        /* Calls are whole: no 0.25 ticks. */
        ys.step = 1;
        ys.max = ceil(fmax(cmax, 1));
    }
    const struct frame *f = &hist_frame;
    svg_open(b, f, label);
    svg_yaxis(b, f, &ys);
    hist_xticks(b, &h);
    buf_addstr(b, "<g class=\"bars\">");
    if (h.zero)
        hist_bar(b, &h, f->ml + 3, f->ml + ZERO_SLOT - 3, -1, 0, (double)h.zero, &ys);
    double x0 = hist_xpos(&h, pow(10, h.lmin)),
           bw = (hist_xpos(&h, pow(10, h.lmax)) - x0) / HIST_BINS;
    double lw = (h.lmax - h.lmin) / HIST_BINS;
    for (size_t i = 0; i < HIST_BINS; i++) {
        if (h.bins[i] < 0.05)
            continue;
        hist_bar(b, &h, x0 + bw * (double)i + 0.5, x0 + bw * (double)(i + 1) - 0.5,
                 pow(10, h.lmin + lw * (double)i), pow(10, h.lmin + lw * (double)(i + 1)),
                 h.bins[i], &ys);
    }
    buf_addstr(b, "</g>\n");
    hist_marks(b, &h, q);
    buf_addstr(b, "</svg>");
}

/* ------------------------------------------------------------------------ */
/* Incident charts (the postmortem)                                         */

static const struct frame incident_frame = { 960, 180, 56, 14, 16, 30 };

void svg_incident_chart(const struct report *r, struct buf *b, const struct svg_series *s,
                        int64_t from_us, int64_t to_us, int64_t band_from_us, int64_t band_to_us,
                        const struct svg_mark *marks, size_t nmarks)
{
    const struct frame *f = &incident_frame;
    double vmax = 0;
    size_t values = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!isnan(s->v[i])) {
            vmax = fmax(vmax, s->v[i]);
            values++;
        }
    if (!values || to_us <= from_us)
        return;
    struct yscale ys = yscale_for(vmax);
    double span = (double)(to_us - from_us);
#define X_OF(t) (f->ml + frame_pw(f) * (double)((t)-from_us) / span)
    buf_addf(b, "<figure class=\"chart\"><figcaption>%s</figcaption>\n", s->caption);
    svg_open(b, f, s->caption);
    double bx0 = fmax(f->ml, X_OF(band_from_us)), bx1 = fmin(f->w - f->mr, X_OF(band_to_us));
    if (bx1 > bx0)
        buf_addf(b,
                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                 "fill=\"currentColor\" fill-opacity=\"0.08\"/>\n",
                 bx0, f->mt, bx1 - bx0, frame_ph(f));
    svg_yaxis(b, f, &ys);
    buf_addstr(b, "<path class=\"line\" d=\"");
    bool pen = false;
    for (size_t i = 0; i < s->n; i++) {
        if (isnan(s->v[i]) || s->t_us[i] < from_us || s->t_us[i] > to_us) {
            pen = false;
            continue;
        }
        buf_addf(b, "%c%.1f %.1f", pen ? 'L' : 'M', X_OF(s->t_us[i]), frame_y(f, &ys, s->v[i]));
        pen = true;
    }
    buf_addstr(b, "\"/>\n<g>");
    for (size_t i = 0; i < s->n; i++) {
        if (isnan(s->v[i]) || s->t_us[i] < from_us || s->t_us[i] > to_us)
            continue;
        buf_addf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"currentColor\"><title>",
                 X_OF(s->t_us[i]), frame_y(f, &ys, s->v[i]));
        svg_add_clock(r, b, s->t_us[i], true);
        buf_addf(b, ": %.3g %s</title></circle>", s->v[i], s->unit);
    }
    buf_addstr(b, "</g>\n");
    for (size_t i = 0; i < nmarks; i++) {
        if (marks[i].ts_us < from_us || marks[i].ts_us > to_us)
            continue;
        double x = X_OF(marks[i].ts_us);
        buf_addf(b,
                 "<line class=\"mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                 "<text class=\"markl\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                 x, f->mt, x, f->h - f->mb, x + 3, f->mt + 10 + 11.0 * (double)(i % 3),
                 marks[i].label);
    }
    /* The two ends and the middle of the time axis. */
    buf_addstr(b, "<g class=\"xt\">");
    for (int k = 0; k <= 2; k++) {
        int64_t t = from_us + (int64_t)(span * k / 2);
        buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", X_OF(t), f->h - f->mb + 16,
                 k == 0   ? "start"
                 : k == 1 ? "middle"
                          : "end");
        svg_add_clock(r, b, t, true);
        buf_addstr(b, "</text>");
    }
    buf_addstr(b, "</g>\n</svg></figure>\n");
#undef X_OF
}
