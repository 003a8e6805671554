/*
 * The console sink (see console.h): the last stage of `sleuth watch` for a
 * person at a terminal. It renders an alert change that the alert book
 * (detect/alerts.c) produced and computes nothing itself. The text helpers
 * are shared with the webhook sink, whose Slack and Alertmanager bodies
 * carry the same sentences.
 */
#include "sink/console.h"

#include "util/tstamp.h"
#include "util/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

#define QUERY_MAX_CHARS 240 /* a terminal line or two; the JSON sinks carry the full text */

#define SGR_RESET  "\033[0m"
#define SGR_RED    "\033[1;31m"
#define SGR_YELLOW "\033[1;33m"
#define SGR_GREEN  "\033[1;32m"
#define SGR_DIM    "\033[2m"

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Pass one of console_text_append: the cleaned text, whole; returns its length in code points. */
static size_t clean_text(struct buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), chars = 0;
    bool pending_space = false;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);
        /* C0 controls, DEL and the C1 controls U+0080..U+009F (CSI is U+009B). */
        bool control = (len == 1 && (p[i] < 0x20 || p[i] == 0x7f)) ||
                       (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0);
        if ((len == 1 && is_blank(p[i])) || control) {
            pending_space = chars > 0;
            i += len;
            continue;
        }
        if (pending_space) {
            buf_addch(out, ' ');
            chars++;
            pending_space = false;
        }
        if (len == 0) {
            buf_addstr(out, UTF8_REPLACEMENT);
            i++;
        } else {
            buf_add(out, p + i, len);
            i += len;
        }
        chars++;
    }
    return chars;
}

void console_text_append(struct buf *out, const char *s, size_t max_chars)
{
    if (!s || max_chars == 0)
        return;
    struct buf clean = BUF_INIT;
    size_t chars = clean_text(&clean, s);
    if (chars <= max_chars) {
        buf_add(out, clean.ptr, clean.len);
    } else {
        /* Keep max_chars - 1 code points (clean is valid UTF-8 now), then "…". */
        const unsigned char *p = (const unsigned char *)clean.ptr;
        size_t at = 0;
        for (size_t k = 0; k + 1 < max_chars; k++)
            at += utf8_len(p + at, clean.len - at);
        while (at > 0 && clean.ptr[at - 1] == ' ')
            at--;
        buf_add(out, clean.ptr, at);
        buf_addstr(out, "\xE2\x80\xA6");
    }
    buf_release(&clean);
}

void console_value_append(struct buf *out, double v, const char *unit)
{
    if (!isfinite(v)) {
        buf_addstr(out, "n/a");
        return;
    }
    buf_addf(out, fabs(v) < 1000 ? "%.1f" : "%.0f", v);
    if (unit && *unit)
        buf_addf(out, "%s%s", strcmp(unit, "%") == 0 ? "" : " ", unit);
}

void console_duration_append(struct buf *out, int64_t duration_us)
{
    int64_t s = duration_us > 0 ? duration_us / 1000000 : 0;
    if (s < 60)
        buf_addf(out, "%" PRId64 "s", s);
    else if (s < 3600)
        buf_addf(out, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        buf_addf(out, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
    else
        buf_addf(out, "%" PRId64 "d%02" PRId64 "h", s / 86400, s / 3600 % 24);
}

void console_time_append(struct buf *out, int64_t ts_us, bool full)
{
    /* tstamp_format gives "2026-11-22T14:03:12.345+00:00"; keep the seconds. */
    struct buf iso = BUF_INIT;
    tstamp_format(&iso, ts_us, 0);
    if (iso.len >= 19) {
        if (full)
            buf_add(out, iso.ptr, 19);
        else
            buf_add(out, iso.ptr + 11, 8);
        buf_addch(out, 'Z');
    }
    buf_release(&iso);
}

static int64_t utc_day(int64_t ts_us)
{
    int64_t s = ts_us >= 0 ? ts_us / 1000000 : -((-ts_us + 999999) / 1000000);
    return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

static const char *change_word(enum alert_change change)
{
    switch (change) {
    case ALERT_FIRED:
        return "FIRING";
    case ALERT_UPDATED:
        return "UPDATED";
    case ALERT_RESOLVED:
        return "RESOLVED";
    }
    return "CHANGED";
}

static const char *change_color(enum alert_change change, enum finding_severity sev)
{
    if (change == ALERT_RESOLVED)
        return SGR_GREEN;
    return sev == FINDING_CRITICAL ? SGR_RED : SGR_YELLOW;
}

/* "  query  " with the label dimmed when color is on. */
static void label(struct buf *out, const char *name, bool color)
{
    buf_addf(out, "  %s%-6s%s ", color ? SGR_DIM : "", name, color ? SGR_RESET : "");
}

static void subject_lines(struct buf *out, const struct finding *f, bool color)
{
    if (f->fingerprint || f->query) {
        label(out, "query", color);
        if (f->fingerprint)
            buf_addf(out, "fp %016" PRIx64 "%s", f->fingerprint, f->query ? ": " : "");
        else if (f->pid)
            buf_addf(out, "pid %d%s", f->pid, f->query ? ": " : "");
        console_text_append(out, f->query, QUERY_MAX_CHARS);
        buf_addch(out, '\n');
    } else if (f->pid) {
        label(out, "pid", color);
        buf_addf(out, "%d\n", f->pid);
    }
    if (f->table) {
        label(out, "table", color);
        console_text_append(out, f->table, QUERY_MAX_CHARS);
        buf_addch(out, '\n');
    }
}

void console_alert_format(struct buf *out, enum alert_change change, const struct alert *a,
                          bool color)
{
    const struct finding *f = &a->f;
    int64_t at_us = change == ALERT_RESOLVED && a->resolved_us ? a->resolved_us
                    : a->updated_us                            ? a->updated_us
                                                               : a->since_us;
    const char *c = color ? change_color(change, f->severity) : "";
    const char *r = color ? SGR_RESET : "";

    buf_addch(out, '[');
    console_time_append(out, at_us, false);
    buf_addf(out, "] %s%s %s%s %s", c, change_word(change), finding_severity_name(f->severity), r,
             finding_kind_name(f->kind));
    if (change == ALERT_RESOLVED) {
        buf_addstr(out, " after ");
        console_duration_append(out, at_us - a->since_us);
        if (isfinite(a->peak)) {
            buf_addstr(out, ", peak ");
            console_value_append(out, a->peak, f->unit);
        }
    } else if (f->summary) {
        buf_addstr(out, ": ");
        console_text_append(out, f->summary, SIZE_MAX);
    }
    buf_addstr(out, " \xE2\x80\x94 since ");
    console_time_append(out, a->since_us, utc_day(a->since_us) != utc_day(at_us));
    buf_addch(out, '\n');

    if (change == ALERT_RESOLVED && f->summary) {
        label(out, "was", color);
        console_text_append(out, f->summary, SIZE_MAX);
        buf_addch(out, '\n');
    }
    subject_lines(out, f, color);
    if (change != ALERT_RESOLVED && f->next) {
        label(out, "next", color);
        console_text_append(out, f->next, SIZE_MAX);
        buf_addch(out, '\n');
    }
}
