/*
 * libFuzzer harness for the jsonlog reader (pgjson_feed, pgjson_sync), with a
 * differential check: feed_fuzz() reads the log fed whole and fed in
 * windows of a size the first input byte chooses, and aborts unless both
 * event streams and final line numbers are equal and a reader starting at
 * the sync point uses the rest.
 */
#include "input/pgjson.h"

#include "../feed.h"

#include <stddef.h>
#include <stdint.h>

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FEED_READER(pgjson);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    feed_fuzz(&feed_pgjson, data, size);
    return 0;
}
