/*
 * libFuzzer harness for the stderr-format reader (input/pgstderr.c) with
 * prefix detection. The first byte picks a chunk size and whether the
 * reader re-detects the prefix when lines stop matching; the rest is a log.
 * Differential check: the events from one feed must equal the events from
 * chunked feeds (the caller-keeps-the-tail protocol), which catches record
 * boundary bugs that crash-fuzzing alone would miss.
 */
#include "input/pgprefix.h"
#include "input/pgstderr.h"

#include "../feed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t stderr_feed(void *r, const char *buf, size_t len, bool eof, event_fn *emit, void *ctx)
{
    return pgstderr_feed(r, buf, len, eof, emit, ctx);
}

static void run(const struct pgprefix *p, bool redetect, const char *log, size_t len, size_t chunk,
                struct buf *out)
{
    struct pgstderr_reader r;
    pgstderr_init(&r, p, 0);
    r.redetect = redetect;
    feed_growing(stderr_feed, &r, log, len, chunk, feed_record, out);
    pgstderr_release(&r);
}

/* The lines prefix detection looks at. */
#define HEAD_LINES 1

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] % 64 + 1;
    bool redetect = data[0] & 0x80;
    const char *log = (const char *)data + 1;
    size_t len = size - 1;
    /*
     * The prefix is detected on the first lines only: detection on all of
     * them cost as much as both reads, and fuzz_prefix fuzzes it on whole
     * inputs. Every known prefix and the loose one can still be chosen.
     */
    size_t head = 0;
    for (int lines = 0; head < len && lines < HEAD_LINES; head++)
        lines += log[head] == '\n';
    struct pgprefix *p = pgprefix_detect(log, head);
    if (!p)
        p = pgprefix_loose();
    /* Kept across inputs, emptied: growing two buffers for every input cost more than parsing. */
    static struct buf whole = BUF_INIT, parts = BUF_INIT;
    buf_reset(&whole);
    buf_reset(&parts);
    run(p, redetect, log, len, len ? len : 1, &whole);
    run(p, redetect, log, len, chunk, &parts);
    if (whole.len != parts.len || memcmp(whole.ptr, parts.ptr, whole.len) != 0)
        abort();
    if (pgstderr_sync(p, log, len) > len)
        abort();
    pgprefix_free(p);
    return 0;
}
