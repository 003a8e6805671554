/*
 * libFuzzer harness for the stderr-format reader (input/pgstderr.c) with
 * prefix detection. The first byte picks a chunk size; the rest is a log.
 * Differential check: the events from one feed must equal the events from
 * chunked feeds (the caller-keeps-the-tail protocol), which catches record
 * boundary bugs that crash-fuzzing alone would miss.
 */
#include "input/pgprefix.h"
#include "input/pgstderr.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void trace(void *ctx, const struct event *ev)
{
    struct buf *b = ctx;
    buf_addf(b, "%d %llu %d %lld %lld %u|", ev->kind, (unsigned long long)ev->line, ev->pid,
             (long long)ev->ts_us, (long long)ev->duration_us, ev->flags);
    buf_addslice(b, ev->message);
    buf_addch(b, '|');
    buf_addslice(b, ev->statement);
    buf_addch(b, '|');
    buf_addslice(b, ev->params);
    buf_addch(b, '|');
    buf_addslice(b, ev->detail);
    buf_addch(b, '\n');
}

static void run(const struct pgprefix *p, const char *data, size_t len, size_t step,
                struct buf *out)
{
    struct pgstderr_reader r;
    pgstderr_init(&r, p, 0);
    struct buf pending = BUF_INIT;
    size_t off = 0;
    for (;;) {
        size_t n = len - off < step ? len - off : step;
        buf_add(&pending, data + off, n);
        off += n;
        bool eof = off == len;
        size_t used = pgstderr_feed(&r, pending.ptr, pending.len, eof, trace, out);
        if (used > pending.len)
            abort();
        memmove(pending.ptr, pending.ptr + used, pending.len - used);
        buf_setlen(&pending, pending.len - used);
        if (eof)
            break;
    }
    if (pending.len)
        abort(); /* at eof everything must be used */
    buf_release(&pending);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1;
    const char *log = (const char *)data + 1;
    size_t len = size - 1;
    struct pgprefix *p = pgprefix_detect(log, len);
    if (!p)
        p = pgprefix_loose();
    struct buf whole = BUF_INIT, parts = BUF_INIT;
    run(p, log, len, len ? len : 1, &whole);
    run(p, log, len, step, &parts);
    if (whole.len != parts.len || memcmp(whole.ptr, parts.ptr, whole.len) != 0)
        abort();
    /* Splitting at a sync point must not lose or invent records either. */
    size_t at = pgstderr_sync(p, log, len);
    if (at > len)
        abort();
    buf_release(&whole);
    buf_release(&parts);
    pgprefix_free(p);
    return 0;
}
