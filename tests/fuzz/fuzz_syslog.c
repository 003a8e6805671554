/*
 * libFuzzer harness for the syslog reader (input/pgsyslog.c). The first
 * byte picks a chunk size; the rest is a log. Differential check: one feed
 * and chunked feeds must give the same events.
 */
#include "input/pgsyslog.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void trace(void *ctx, const struct event *ev)
{
    struct buf *b = ctx;
    buf_addf(b, "%d %llu %d %lld %lld|", ev->kind, (unsigned long long)ev->line, ev->pid,
             (long long)ev->ts_us, (long long)ev->duration_us);
    buf_addslice(b, ev->message);
    buf_addch(b, '|');
    buf_addslice(b, ev->statement);
    buf_addch(b, '\n');
}

static void run(const char *data, size_t len, size_t step, struct buf *out)
{
    struct pgsyslog_reader r;
    pgsyslog_init(&r, NULL, 2026, 0);
    struct buf pending = BUF_INIT;
    size_t off = 0;
    for (;;) {
        size_t n = len - off < step ? len - off : step;
        buf_add(&pending, data + off, n);
        off += n;
        bool eof = off == len;
        size_t used = pgsyslog_feed(&r, pending.ptr, pending.len, eof, trace, out);
        if (used > pending.len)
            abort();
        memmove(pending.ptr, pending.ptr + used, pending.len - used);
        buf_setlen(&pending, pending.len - used);
        if (eof)
            break;
    }
    if (pending.len)
        abort();
    buf_release(&pending);
    pgsyslog_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1;
    const char *log = (const char *)data + 1;
    size_t len = size - 1;
    struct buf whole = BUF_INIT, parts = BUF_INIT;
    run(log, len, len ? len : 1, &whole);
    run(log, len, step, &parts);
    /* The inner prefix is detected on the first 64 KB or at eof: the same bytes either way. */
    if (whole.len != parts.len || memcmp(whole.ptr, parts.ptr, whole.len) != 0)
        abort();
    if (pgsyslog_sync(log, len) > len)
        abort();
    buf_release(&whole);
    buf_release(&parts);
    return 0;
}
