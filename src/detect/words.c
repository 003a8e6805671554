/*
 * The words of findings: numbers, durations, ratios and statements shortened
 * for a one-line summary (see internal.h).
 */
#include "detect/internal.h"

#include "util/utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/banned.h"

char *detect_fmt(const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    return buf_detach(&b, NULL);
}

void detect_brief(struct buf *b, const char *q)
{
    if (!q || !*q) {
        buf_addstr(b, "(query text unavailable)");
        return;
    }
    struct buf flat = BUF_INIT;
    for (const char *p = q; *p; p++) {
        bool blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
        if (!blank)
            buf_addch(&flat, *p);
        else if (flat.len && flat.ptr[flat.len - 1] != ' ')
            buf_addch(&flat, ' ');
    }
    while (flat.len && flat.ptr[flat.len - 1] == ' ')
        buf_setlen(&flat, flat.len - 1);
    buf_addch(b, '`');
    if (flat.len <= 72) {
        buf_add(b, flat.ptr, flat.len);
    } else {
        /*
         * Keep the head (the verb) and the tail (usually the WHERE), cut at
         * spaces when there are some, else at UTF-8 character boundaries.
         */
        size_t head = 24, tail = flat.len - 44;
        while (head > 8 && flat.ptr[head] != ' ')
            head--;
        if (head == 8)
            head = 24;
        head = utf8_cut(flat.ptr, head);
        size_t t = tail;
        while (t < tail + 16 && flat.ptr[t] != ' ')
            t++;
        tail = t < tail + 16 ? t + 1 : tail;
        while (tail < flat.len && (flat.ptr[tail] & 0xC0) == 0x80)
            tail++;
        buf_add(b, flat.ptr, head);
        buf_addstr(b, " … ");
        buf_add(b, flat.ptr + tail, flat.len - tail);
    }
    buf_addch(b, '`');
    buf_release(&flat);
}

const char *detect_num(char *out, size_t size, double v)
{
    if (v >= 1e9)
        snprintf(out, size, "%.1fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(out, size, "%.1fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, size, "%.1fk", v / 1e3);
    else if (v >= 100 || v == floor(v))
        snprintf(out, size, "%.0f", v);
    else if (v >= 0.1)
        snprintf(out, size, "%.1f", v);
    else
        snprintf(out, size, "%.2f", v);
    return out;
}

const char *detect_ms(char *out, size_t size, double ms)
{
    snprintf(out, size, ms >= 0.1 || ms == 0 ? "%.1f ms" : "%.2f ms", ms);
    return out;
}

const char *detect_ratio(char *out, size_t size, double value, double base)
{
    if (!(base > 0))
        snprintf(out, size, "new");
    else if (value / base >= 10)
        snprintf(out, size, "%.0f×", value / base);
    else
        snprintf(out, size, "%.1f×", value / base);
    return out;
}

char *detect_brief_dup(const char *q)
{
    struct buf b = BUF_INIT;
    detect_brief(&b, q);
    return buf_detach(&b, NULL);
}
