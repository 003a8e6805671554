/*
 * What the reader tests and fuzz harnesses share (header-only, so the
 * harnesses need nothing but their own file and libsleuth):
 *
 *   - feed_chunked(): drives any reader with the feed protocol of
 *     logparser.h in windows of `chunk` new bytes, each an exact-size heap
 *     copy (so ASan sees a read past a window), re-feeding the unused tail;
 *     feed_split() does the same with a first window of another size,
 *     feed_growing() in linear time, for the fuzzers;
 *   - feed_render(): an event_fn that appends every field of an event to a
 *     struct buf, escaped, one line per event: two streams compare as text;
 *     feed_record() appends the same as raw bytes, cheaper, for the fuzzers;
 *   - struct feed_reader and FEED_READER(): one reader module (csvlog,
 *     jsonlog) behind function pointers, for checks that work on any;
 *   - feed_fuzz(): the differential check of the csvlog and jsonlog fuzzers.
 */
#ifndef SLEUTH_TESTS_FEED_H
#define SLEUTH_TESTS_FEED_H

#include "input/event.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A reader's feed function with its reader as void *. */
typedef size_t feed_fn(void *reader, const char *buf, size_t len, bool eof, event_fn *emit,
                       void *ctx);

/*
 * Feeds log[0..len) to reader in windows of new bytes: first (>= 1) in the
 * first window, chunk (>= 1) in each later one (so that first = k and
 * chunk = len split the log once, at k), the unused tail of a window fed
 * again at the head of the next. With grow, a
 * window after one the reader used nothing of brings as many new bytes as
 * it re-feeds (if that is more than chunk): a long record is then copied
 * and scanned O(1) times per byte, not once per window, at the price of
 * fewer cuts inside it (at chunk, 2 chunk, 4 chunk, ... bytes). Aborts if
 * the reader breaks the protocol (uses more than it was given, or not
 * everything at eof).
 */
static inline void feed_windows(feed_fn *feed, void *reader, const char *log, size_t len,
                                size_t first, size_t chunk, bool grow, event_fn *emit, void *ctx)
{
    size_t start = 0, avail = 0, step = first;
    for (;;) {
        avail = len - avail < step ? len : avail + step;
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
        step = grow && used == 0 && n > chunk ? n : chunk;
    }
}

/* feed_windows() without growth (quadratic in a record's length). */
static inline void feed_split(feed_fn *feed, void *reader, const char *log, size_t len,
                              size_t first, size_t chunk, event_fn *emit, void *ctx)
{
    feed_windows(feed, reader, log, len, first, chunk, false, emit, ctx);
}

/* feed_split() with a first window of chunk too: a cut after every chunk bytes. */
static inline void feed_chunked(feed_fn *feed, void *reader, const char *log, size_t len,
                                size_t chunk, event_fn *emit, void *ctx)
{
    feed_split(feed, reader, log, len, chunk, chunk, emit, ctx);
}

/* feed_windows() with growth: linear in len, for the fuzzers. */
static inline void feed_growing(feed_fn *feed, void *reader, const char *log, size_t len,
                                size_t chunk, event_fn *emit, void *ctx)
{
    feed_windows(feed, reader, log, len, chunk, chunk, true, emit, ctx);
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
    if (ev->pool)
        buf_addf(b, " pool=%lld/%lld/%lld/%lld/%lld", (long long)ev->pool->xacts_per_s,
                 (long long)ev->pool->queries_per_s, (long long)ev->pool->xact_us,
                 (long long)ev->pool->query_us, (long long)ev->pool->wait_us);
    buf_addch(b, '\n');
}

/* An event_fn: renders into the struct buf at ctx. */
static inline void feed_render(void *ctx, const struct event *ev)
{
    feed_render_event(ctx, ev);
}

/*
 * Everything in an event as raw bytes: its numbers and the lengths of its
 * strings, then the strings' bytes. Two events give the same bytes exactly
 * when feed_render_event() gives them the same line; the fuzzers compare
 * these, which cost a memcpy per field where the text cost a printf and a
 * test of every byte (a third of a reader harness's time went on
 * rendering). The numbers and lengths go in one piece: with a buf_add()
 * for each number, length and field, recording was 8% of fuzz_stderr's
 * profile.
 */
static inline void feed_record_event(struct buf *b, const struct event *ev)
{
    const struct str *fields[] = { &ev->user,     &ev->db,      &ev->app,       &ev->client,
                                   &ev->sqlstate, &ev->message, &ev->statement, &ev->stmt_name,
                                   &ev->params,   &ev->detail,  &ev->hint,      &ev->context,
                                   &ev->plan,     &ev->object };
    enum { NFIELDS = sizeof(fields) / sizeof(fields[0]) };
    /* The numbers, whether a pool's averages follow, and the strings' lengths, in one piece. */
    int64_t head[12 + NFIELDS] = { (int64_t)ev->line, ev->kind,  ev->severity,
                                   ev->pid,           ev->ts_us, ev->tz_offset_s,
                                   ev->duration_us,   ev->value, ev->phase,
                                   ev->flags,         ev->input, ev->pool != NULL };
    for (size_t i = 0; i < NFIELDS; i++)
        head[12 + i] = (int64_t)fields[i]->len;
    buf_add(b, head, sizeof(head));
    for (size_t i = 0; i < NFIELDS; i++)
        if (fields[i]->len)
            buf_add(b, fields[i]->ptr, fields[i]->len);
    if (ev->pool)
        buf_add(b, ev->pool, sizeof(*ev->pool));
}

/* An event_fn: records into the struct buf at ctx (feed_record_event()). */
static inline void feed_record(void *ctx, const struct event *ev)
{
    feed_record_event(ctx, ev);
}

/*
 * A reader module behind function pointers. The csvlog and jsonlog readers
 * have one shape (struct X_reader embedded in the caller, X_init(r, input),
 * X_feed(), X_release(), X_sync() and a line member the caller may set), so
 * FEED_READER(X) defines feed_X, this table for X, with its adapters.
 */
struct feed_reader {
    void *(*new_reader)(uint32_t input); /* a heap reader, initialised */
    void (*free_reader)(void *reader);   /* releases and frees it; NULL is a no-op */
    feed_fn *feed;
    uint64_t *(*line)(void *reader); /* its line member */
    size_t (*sync)(const char *buf, size_t len);
};

#define FEED_READER(m)                                                                             \
    static void *feed_##m##_new(uint32_t input)                                                    \
    {                                                                                              \
        struct m##_reader *r = malloc(sizeof(*r));                                                 \
        if (!r)                                                                                    \
            abort();                                                                               \
        m##_init(r, input);                                                                        \
        return r;                                                                                  \
    }                                                                                              \
    static void feed_##m##_free(void *r)                                                           \
    {                                                                                              \
        if (!r)                                                                                    \
            return;                                                                                \
        m##_release(r);                                                                            \
        free(r);                                                                                   \
    }                                                                                              \
    static size_t feed_##m##_feed(void *r, const char *buf, size_t len, bool eof, event_fn *emit,  \
                                  void *ctx)                                                       \
    {                                                                                              \
        return m##_feed(r, buf, len, eof, emit, ctx);                                              \
    }                                                                                              \
    static uint64_t *feed_##m##_line(void *r)                                                      \
    {                                                                                              \
        return &((struct m##_reader *)r)->line;                                                    \
    }                                                                                              \
    static const struct feed_reader feed_##m = { feed_##m##_new, feed_##m##_free, feed_##m##_feed, \
                                                 feed_##m##_line, m##_sync }

/*
 * The differential check of a reader's fuzzer. data[0] chooses a chunk size
 * (1 to 256); the rest is the log. The log is read twice, fed whole with eof
 * and fed with feed_growing(), and both event streams (feed_record()) and
 * the final line numbers must be equal. That catches chunk-boundary bugs
 * that crash-only fuzzing misses. Then a reader that starts at the sync
 * point (past 0) must use everything after it. Aborts on any difference. Returns the
 * events of the whole feed (feed_record(), input 1), valid until the next
 * call, for a further check on the same log; NULL without a log.
 */
static inline const struct buf *feed_fuzz(const struct feed_reader *rd, const uint8_t *data,
                                          size_t size)
{
    if (size < 1)
        return NULL;
    size_t chunk = (size_t)data[0] + 1;
    const char *log = (const char *)data + 1;
    size_t len = size - 1;

    /* Kept across inputs, emptied: growing two buffers for every input cost more than parsing. */
    static struct buf whole = BUF_INIT, parts = BUF_INIT;
    buf_reset(&whole);
    buf_reset(&parts);
    void *r = rd->new_reader(1);
    if (rd->feed(r, log, len, true, feed_record, &whole) != len)
        abort();
    uint64_t whole_line = *rd->line(r);
    rd->free_reader(r);

    r = rd->new_reader(1);
    feed_growing(rd->feed, r, log, len, chunk, feed_record, &parts);
    uint64_t parts_line = *rd->line(r);
    rd->free_reader(r);
    if (whole_line != parts_line || whole.len != parts.len ||
        memcmp(whole.ptr, parts.ptr, whole.len) != 0)
        abort();

    /*
     * A worker starting at the sync point reads on without trouble. At 0
     * (a log that starts with a record) that is the whole read again.
     */
    size_t at = rd->sync(log, len);
    if (at > len)
        abort();
    if (at > 0) {
        buf_reset(&parts);
        r = rd->new_reader(1);
        if (rd->feed(r, log + at, len - at, true, feed_record, &parts) != len - at)
            abort();
        rd->free_reader(r);
    }
    return &whole;
}

#endif
