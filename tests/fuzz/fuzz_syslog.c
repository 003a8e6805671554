/*
 * libFuzzer harness for the syslog reader (input/pgsyslog.c). The first
 * byte picks a chunk size and who detects the server's prefix; the rest is
 * a log. Differential check: one feed and chunked feeds must give the same
 * events.
 */
#include "input/pgsyslog.h"

#include "../feed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t syslog_feed(void *r, const char *buf, size_t len, bool eof, event_fn *emit, void *ctx)
{
    return pgsyslog_feed(r, buf, len, eof, emit, ctx);
}

/* Reads log with the server's prefix inner (NULL: detect it); returns the one it used. */
static struct pgprefix *run(const struct pgprefix *inner, const char *log, size_t len, size_t chunk,
                            struct buf *out)
{
    struct pgsyslog_reader r;
    pgsyslog_init(&r, inner, 2026, 0);
    feed_growing(syslog_feed, &r, log, len, chunk, feed_record, out);
    struct pgprefix *used = r.inner ? pgprefix_dup(r.inner) : NULL;
    pgsyslog_release(&r);
    return used;
}

/* The lines prefix detection looks at. */
#define HEAD_LINES 1

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] % 64 + 1;
    const char *log = (const char *)data + 1;
    size_t len = size - 1;
    /* Kept across inputs, emptied: growing two buffers for every input cost more than parsing. */
    static struct buf whole = BUF_INIT, parts = BUF_INIT;
    buf_reset(&whole);
    buf_reset(&parts);
    /*
     * As `analyze` does, the server's prefix is detected on the first lines
     * (detection on all of them cost as much as both reads) and given to
     * the reader; with the top bit of the first byte, the reader detects it
     * itself, on the first 64 KB or at eof. An input is shorter (max_len),
     * so a chunked read would detect at eof on the same rewritten lines,
     * which the comparison of events checks: it takes the prefix the whole
     * read used.
     */
    struct pgprefix *given = NULL;
    if (!(data[0] & 0x80)) {
        size_t head = 0;
        for (int lines = 0; head < len && lines < HEAD_LINES; head++)
            lines += log[head] == '\n';
        given = pgsyslog_detect_prefix(log, head);
    }
    struct pgprefix *inner = run(given, log, len, len ? len : 1, &whole);
    pgprefix_free(run(inner, log, len, chunk, &parts));
    pgprefix_free(inner);
    pgprefix_free(given);
    if (whole.len != parts.len || memcmp(whole.ptr, parts.ptr, whole.len) != 0)
        abort();
    if (pgsyslog_sync(log, len) > len)
        abort();
    return 0;
}
