/*
 * What the reader tests and fuzz harnesses share (header-only, so the
 * harnesses need nothing but their own file and libsleuth):
 *
 *   - feed_chunked(): drives any reader with the feed protocol of
 *     logparser.h in windows of `chunk` new bytes, each an exact-size heap
 *     copy (so ASan sees a read past a window), re-feeding the unused tail;
 *   - feed_render(): an event_fn that appends every field of an event to a
 *     struct buf, escaped, one line per event: two streams compare as text.
 */
#ifndef SLEUTH_TESTS_FEED_H
#define SLEUTH_TESTS_FEED_H

#include "input/event.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A reader's feed function with its reader as void *. */
typedef size_t feed_fn(void *reader, const char *buf, size_t len, bool eof, event_fn *emit,
                       void *ctx);

/*
 * Feeds log[0..len) to reader in windows of chunk (>= 1) new bytes. Aborts
 * if the reader breaks the protocol (uses more than it was given, or not
 * everything at eof).
 */
static inline void feed_chunked(feed_fn *feed, void *reader, const char *log, size_t len,
                                size_t chunk, event_fn *emit, void *ctx)
{
    size_t start = 0, avail = 0;
    for (;;) {
        avail = len - avail < chunk ? len : avail + chunk;
        bool eof = avail == len;
        size_t n = avail - start;
        char *block = malloc(n ? n : 1);
        if (!block)
            abort();
        if (n)
            memcpy(block, log + start, n);
        size_t used = feed(reader, block, n, eof, emit, ctx);
        free(block);
        if (used > n || (eof && used != n))
            abort();
        start += used;
        if (eof)
            break;
    }
}

/* Appends s with newlines, quotes, backslashes and non-printable bytes escaped. */
static inline void feed_add_escaped(struct buf *b, struct str s)
{
    size_t plain = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            continue;
        buf_add(b, s.ptr + plain, i - plain);
        plain = i + 1;
        if (c == '\n')
            buf_addstr(b, "\\n");
        else if (c == '"' || c == '\\')
            buf_addf(b, "\\%c", c);
        else
            buf_addf(b, "\\x%02x", c);
    }
    buf_add(b, s.ptr + plain, s.len - plain);
}

static inline void feed_add_field(struct buf *b, const char *name, struct str s)
{
    if (s.len == 0)
        return;
    buf_addf(b, " %s=\"", name);
    feed_add_escaped(b, s);
    buf_addch(b, '"');
}

/* Everything in an event on one line, for comparing two streams. */
static inline void feed_render_event(struct buf *b, const struct event *ev)
{
    buf_addf(b, "L%llu %s %s pid=%d ts=%lld tz=%d dur=%lld val=%lld ph=%d fl=%u in=%u",
             (unsigned long long)ev->line, event_kind_name(ev->kind), severity_name(ev->severity),
             ev->pid, (long long)ev->ts_us, ev->tz_offset_s, (long long)ev->duration_us,
             (long long)ev->value, (int)ev->phase, ev->flags, ev->input);
    feed_add_field(b, "user", ev->user);
    feed_add_field(b, "db", ev->db);
    feed_add_field(b, "app", ev->app);
    feed_add_field(b, "client", ev->client);
    feed_add_field(b, "state", ev->sqlstate);
    feed_add_field(b, "msg", ev->message);
    feed_add_field(b, "stmt", ev->statement);
    feed_add_field(b, "name", ev->stmt_name);
    feed_add_field(b, "params", ev->params);
    feed_add_field(b, "detail", ev->detail);
    feed_add_field(b, "hint", ev->hint);
    feed_add_field(b, "ctx", ev->context);
    feed_add_field(b, "plan", ev->plan);
    feed_add_field(b, "obj", ev->object);
    buf_addch(b, '\n');
}

/* An event_fn: renders into the struct buf at ctx. */
static inline void feed_render(void *ctx, const struct event *ev)
{
    feed_render_event(ctx, ev);
}

#endif
