/*
 * libFuzzer harness for the jsonlog reader (pgjson_feed, pgjson_sync), with a
 * differential check. The first input byte chooses a chunk size; the rest
 * is the log. The log is parsed twice: fed whole with eof, and fed in
 * windows of that many new bytes the way a caller must (each window an
 * exact-size heap copy, so ASan sees any read past it, with the unused
 * tail fed again). Both event streams, serialised field by field, and the
 * final line numbers must be equal, or the harness aborts. That catches
 * chunk-boundary bugs that crash-only fuzzing misses.
 */
#include "input/pgjson.h"

#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void add_str(struct buf *b, char tag, struct str s)
{
    buf_addf(b, " %c%zu:", tag, s.len);
    buf_add(b, s.ptr, s.len);
}

/* Appends every field of ev to the buf at ctx. */
static void serialise(void *ctx, const struct event *ev)
{
    struct buf *b = ctx;
    buf_addf(b, "%d %llu %lld %d %d %d %d %u %lld %lld %u", (int)ev->kind,
             (unsigned long long)ev->line, (long long)ev->ts_us, ev->tz_offset_s, ev->pid,
             (int)ev->severity, (int)ev->phase, ev->flags, (long long)ev->duration_us,
             (long long)ev->value, ev->input);
    add_str(b, 'u', ev->user);
    add_str(b, 'd', ev->db);
    add_str(b, 'a', ev->app);
    add_str(b, 'c', ev->client);
    add_str(b, 'e', ev->sqlstate);
    add_str(b, 'm', ev->message);
    add_str(b, 's', ev->statement);
    add_str(b, 'n', ev->stmt_name);
    add_str(b, 'p', ev->params);
    add_str(b, 'D', ev->detail);
    add_str(b, 'H', ev->hint);
    add_str(b, 'C', ev->context);
    add_str(b, 'P', ev->plan);
    add_str(b, 'o', ev->object);
    buf_addch(b, '\n');
}

/* Feeds log[0..len) in windows of chunk new bytes; returns the final line. */
static uint64_t feed_chunked(const char *log, size_t len, size_t chunk, struct buf *out)
{
    struct pgjson_reader r;
    pgjson_init(&r, 1);
    size_t start = 0, avail = 0;
    for (;;) {
        avail = len - avail < chunk ? len : avail + chunk;
        bool eof = avail == len;
        size_t n = avail - start;
        char *block = malloc(n ? n : 1);
        if (!block)
            abort();
        memcpy(block, log + start, n);
        size_t used = pgjson_feed(&r, block, n, eof, serialise, out);
        free(block);
        if (used > n || (eof && used != n))
            abort();
        start += used;
        if (eof)
            break;
    }
    uint64_t line = r.line;
    pgjson_release(&r);
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    const char *log = (const char *)data + 1;
    size_t len = size - 1;

    struct buf whole = BUF_INIT, parts = BUF_INIT;
    struct pgjson_reader r;
    pgjson_init(&r, 1);
    if (pgjson_feed(&r, log, len, true, serialise, &whole) != len)
        abort();
    uint64_t whole_line = r.line;
    pgjson_release(&r);

    uint64_t parts_line = feed_chunked(log, len, chunk, &parts);
    if (whole_line != parts_line || whole.len != parts.len ||
        memcmp(whole.ptr, parts.ptr, whole.len) != 0)
        abort();

    /* A worker starting at the sync point reads on without trouble. */
    size_t at = pgjson_sync(log, len);
    if (at > len)
        abort();
    buf_reset(&parts);
    pgjson_init(&r, 1);
    if (pgjson_feed(&r, log + at, len - at, true, serialise, &parts) != len - at)
        abort();
    pgjson_release(&r);

    buf_release(&whole);
    buf_release(&parts);
    return 0;
}
