/*
 * libFuzzer harness for the jsonlog reader (pgjson_feed, pgjson_sync), with a
 * differential check: feed_fuzz() reads the log fed whole and fed in
 * windows of a size the first input byte chooses, and aborts unless both
 * event streams and final line numbers are equal and a reader starting at
 * the sync point uses the rest; and the reader's own scanner and jansson
 * (no_scanner) read the log to the same events.
 */
#include "input/pgjson.h"

#include "../feed.h"

#include <stddef.h>
#include <stdint.h>

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FEED_READER(pgjson);

/* The scanner takes the lines it can as jansson would, and hands it the rest. */
static void scanner_reads_as_jansson(const uint8_t *data, size_t size)
{
    struct buf out[2] = { BUF_INIT, BUF_INIT };
    for (int jansson = 0; jansson < 2; jansson++) {
        struct pgjson_reader r;
        pgjson_init(&r, 0);
        r.no_scanner = jansson;
        if (pgjson_feed(&r, (const char *)data, size, true, feed_render, &out[jansson]) != size)
            abort();
        pgjson_release(&r);
    }
    if (out[0].len != out[1].len || memcmp(out[0].ptr, out[1].ptr, out[0].len) != 0)
        abort();
    buf_release(&out[0]);
    buf_release(&out[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    feed_fuzz(&feed_pgjson, data, size);
    scanner_reads_as_jansson(data, size);
    return 0;
}
