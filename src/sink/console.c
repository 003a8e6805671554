/*
 * The console sink (see console.h): the last stage of `sleuth watch` for a
 * person at a terminal. It renders an incident change that the engine
 * (engine/engine.c) produced and computes nothing itself. The text helpers
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

static const char *change_word(enum incident_change_kind change)
{
    switch (change) {
    case INCIDENT_CHANGE_OPENED:
        return "INCIDENT";
    case INCIDENT_CHANGE_UPDATED:
        return "UPDATED";
    case INCIDENT_CHANGE_RESOLVED:
        return "RESOLVED";
    }
    return "CHANGED";
}

static const char *change_color(enum incident_change_kind change, bool critical)
{
    if (change == INCIDENT_CHANGE_RESOLVED)
        return SGR_GREEN;
    return critical ? SGR_RED : SGR_YELLOW;
}

/* "  cause   " with the label dimmed when color is on. */
static void label(struct buf *out, const char *name, bool color)
{
    buf_addf(out, "  %s%-9s%s ", color ? SGR_DIM : "", name, color ? SGR_RESET : "");
}

static void line(struct buf *out, const char *name, const char *text, size_t max, bool color)
{
    if (!text || !*text)
        return;
    label(out, name, color);
    console_text_append(out, text, max);
    buf_addch(out, '\n');
}

static void change_line(struct buf *out, const char *name, const struct incident_change *c,
                        bool color)
{
    struct buf b = BUF_INIT;
    console_time_append(&b, c->ts_us, false);
    buf_addf(&b, " %s", sample_change_kind_name(c->kind));
    if (*c->object)
        buf_addf(&b, " %s", c->object);
    if (*c->table && strcmp(c->table, c->object))
        buf_addf(&b, " on %s", c->table);
    if (*c->app)
        buf_addf(&b, " by '%s'", c->app);
    if (*c->why)
        buf_addf(&b, " (%s)", c->why);
    line(out, name, b.ptr, SIZE_MAX, color);
    buf_release(&b);
}

void console_incident_headline(struct buf *out, enum incident_change_kind change,
                               const struct incident *inc)
{
    const struct cause *g = inc->ncauses ? &inc->causes[0] : NULL;
    buf_addf(out, "%s%s #%d %s", change_word(change),
             change == INCIDENT_CHANGE_OPENED ? "" : " incident", inc->seq,
             inc->critical ? "critical" : "warning");
    if (g) {
        buf_addf(out, " %s", cause_kind_name(g->kind));
        if (g->table) {
            buf_addstr(out, " on ");
            console_text_append(out, g->table, 120);
        }
    }
    if (change == INCIDENT_CHANGE_RESOLVED) {
        buf_addstr(out, " after ");
        console_duration_append(out, (inc->end_us ? inc->end_us : inc->updated_us) - inc->onset_us);
    } else if (g && g->summary) {
        buf_addstr(out, ": ");
        console_text_append(out, g->summary, SIZE_MAX);
    }
}

void console_incident_format(struct buf *out, enum incident_change_kind change,
                             const struct incident *inc, bool color)
{
    int64_t at_us = change == INCIDENT_CHANGE_RESOLVED && inc->end_us ? inc->end_us
                    : inc->updated_us                                 ? inc->updated_us
                                                                      : inc->detected_us;
    const char *c = color ? change_color(change, inc->critical) : "";
    const char *r = color ? SGR_RESET : "";
    struct buf head = BUF_INIT;
    console_incident_headline(&head, change, inc);
    buf_addch(out, '[');
    console_time_append(out, at_us, false);
    buf_addf(out, "] %s%s%s \xE2\x80\x94 since ", c, head.ptr, r);
    buf_release(&head);
    console_time_append(out, inc->onset_us, utc_day(inc->onset_us) != utc_day(at_us));
    buf_addch(out, '\n');
    const struct cause *g = inc->ncauses ? &inc->causes[0] : NULL;
    if (g && change == INCIDENT_CHANGE_RESOLVED)
        line(out, "was", g->summary, SIZE_MAX, color);
    if (g && g->query) {
        struct buf q = BUF_INIT;
        if (g->fingerprint)
            buf_addf(&q, "fp %016" PRIx64 ": ", g->fingerprint);
        buf_addstr(&q, g->query);
        line(out, "query", q.ptr, QUERY_MAX_CHARS, color);
        buf_release(&q);
    }
    if (inc->has_trigger)
        change_line(out, "trigger", &inc->trigger, color);
    if (inc->has_fix)
        change_line(out, "fixed by", &inc->fix, color);
    if (g && change != INCIDENT_CHANGE_RESOLVED)
        line(out, "to do", g->fix, SIZE_MAX, color);
    for (size_t i = 1; i < inc->ncauses && i < 3; i++) {
        struct buf b = BUF_INIT;
        buf_addf(&b, "%s: %s", cause_kind_name(inc->causes[i].kind),
                 inc->causes[i].summary ? inc->causes[i].summary : "");
        line(out, "also", b.ptr, SIZE_MAX, color);
        buf_release(&b);
    }
    /* The alerts that are its evidence, as kinds with counts: one line however many. */
    struct buf al = BUF_INIT;
    for (size_t i = 0; i < inc->nalerts; i++) {
        size_t k = 0;
        while (k < i && strcmp(inc->alerts[k].kind, inc->alerts[i].kind))
            k++;
        if (k < i)
            continue;
        int n = 0;
        for (size_t j = i; j < inc->nalerts; j++)
            n += strcmp(inc->alerts[j].kind, inc->alerts[i].kind) == 0;
        buf_addf(&al, "%s%s", al.len ? ", " : "", inc->alerts[i].kind);
        if (n > 1)
            buf_addf(&al, " x%d", n);
    }
    line(out, "alerts", al.ptr, SIZE_MAX, color);
    buf_release(&al);
    if (change != INCIDENT_CHANGE_UPDATED)
        for (size_t i = 0; i < inc->nsuspicions; i++) {
            const struct suspicion *sp = &inc->suspicions[i];
            if (sp->verdict == VERDICT_CONFIRMED)
                continue;
            struct buf b = BUF_INIT;
            buf_addf(&b, "%s: %s", sp->name, sp->evidence ? sp->evidence : "");
            line(out, sp->verdict == VERDICT_RULED_OUT ? "ruled out" : "unknown", b.ptr, SIZE_MAX,
                 color);
            buf_release(&b);
        }
}
