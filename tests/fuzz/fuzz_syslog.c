/*
 * libFuzzer harness for the syslog reader (input/pgsyslog.c). The first
 * byte picks a chunk size; the rest is a log. Differential check: one feed
 * and chunked feeds must give the same events.
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

static void run(const char *log, size_t len, size_t chunk, struct buf *out)
{
    struct pgsyslog_reader r;
    pgsyslog_init(&r, NULL, 2026, 0);
    feed_growing(syslog_feed, &r, log, len, chunk, feed_render, out);
    pgsyslog_release(&r);
}

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
    run(log, len, len ? len : 1, &whole);
    run(log, len, chunk, &parts);
    /* The server's prefix is detected on the first 64 KB or at eof: the same bytes either way. */
    if (whole.len != parts.len || memcmp(whole.ptr, parts.ptr, whole.len) != 0)
        abort();
    if (pgsyslog_sync(log, len) > len)
        abort();
    return 0;
}
