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

/*
 * The scanner takes the lines it can as jansson would, and hands it the
 * rest: jansson alone (no_scanner) must read the log to the events that
 * feed_fuzz() had from the reader fed it whole. That read is reused rather
 * than repeated (one read in five of this harness), so the log compared is
 * the input after its first byte, which any log can be.
 */
static void scanner_reads_as_jansson(const char *log, size_t len, const struct buf *scanned)
{
    static struct buf out = BUF_INIT;
    buf_reset(&out);
    struct pgjson_reader r;
    pgjson_init(&r, 1);
    r.no_scanner = true;
    if (pgjson_feed(&r, log, len, true, feed_record, &out) != len)
        abort();
    pgjson_release(&r);
    if (out.len != scanned->len || memcmp(out.ptr, scanned->ptr, out.len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct buf *scanned = feed_fuzz(&feed_pgjson, data, size);
    if (scanned)
        scanner_reads_as_jansson((const char *)data + 1, size - 1, scanned);
    return 0;
}
