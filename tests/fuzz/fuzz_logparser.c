/*
 * libFuzzer harness for logparser's changes of format mid-log (a stderr,
 * csvlog or jsonlog log with stretches of the others concatenated in): the
 * first input byte picks the window size of a chunked read, the second the
 * format the log starts in and how many bytes the parser decides a format
 * and prefix on (64 to 5,504: inputs are shorter than the 64 KB of a real
 * run, and the windows must cross that point); the log fed whole and fed in
 * windows must give the same events and line count, so that where the
 * format changes never depends on how the log was cut into feeds.
 */
#include "input/logparser.h"

#include "../feed.h"

#include <stddef.h>
#include <stdint.h>

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t parser_feed(void *p, const char *buf, size_t len, bool eof, event_fn *emit, void *ctx)
{
    return logparser_feed(p, buf, len, eof, emit, ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum log_format first[] = { LOGFMT_STDERR, LOGFMT_CSV, LOGFMT_JSON };
    if (size < 2)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    enum log_format f = first[data[1] % 3];
    size_t detect = 64 + (size_t)(data[1] / 3) * 64;
    const char *log = (const char *)data + 2;
    size_t len = size - 2;
    static struct buf whole = BUF_INIT, parts = BUF_INIT;
    buf_reset(&whole);
    buf_reset(&parts);
    struct logparser *p = logparser_new(f, NULL, 1);
    logparser_set_detect_bytes(p, detect);
    if (logparser_feed(p, log, len, true, feed_record, &whole) != len)
        abort();
    uint64_t whole_line = logparser_line(p);
    unsigned whole_seen = logparser_formats_seen(p);
    logparser_free(p);
    p = logparser_new(f, NULL, 1);
    logparser_set_detect_bytes(p, detect);
    feed_growing(parser_feed, p, log, len, chunk, feed_record, &parts);
    if (logparser_line(p) != whole_line || logparser_formats_seen(p) != whole_seen ||
        whole.len != parts.len || memcmp(whole.ptr, parts.ptr, whole.len) != 0)
        abort();
    logparser_free(p);
    return 0;
}
