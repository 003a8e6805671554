/*
 * libFuzzer harness for the PgBouncer log reader (bouncerlog_feed,
 * bouncerlog_sync), with feed_fuzz()'s differential check: the log fed
 * whole and fed in windows of a size the first input byte chooses must
 * give the same events (stats lines' numbers included) and line count, and
 * a reader starting at the sync point must use the rest.
 */
#include "input/bouncerlog.h"

#include "../feed.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reader owns nothing: FEED_READER's release has nothing to do. */
static void *reader_new(uint32_t input)
{
    struct bouncerlog_reader *r = malloc(sizeof(*r));
    if (!r)
        abort();
    bouncerlog_init(r, input);
    return r;
}

static size_t reader_feed(void *r, const char *buf, size_t len, bool eof, event_fn *emit, void *ctx)
{
    return bouncerlog_feed(r, buf, len, eof, emit, ctx);
}

static uint64_t *reader_line(void *r)
{
    return &((struct bouncerlog_reader *)r)->line;
}

static const struct feed_reader feed_bouncerlog = { reader_new, free, reader_feed, reader_line,
                                                    bouncerlog_sync };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    feed_fuzz(&feed_bouncerlog, data, size);
    return 0;
}
