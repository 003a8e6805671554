/*
 * libFuzzer harness for plan_outline, the reader of auto_explain plans
 * (text and JSON formats, the input's first non-blank byte decides): any
 * input must give an outline or be refused without reading or writing out
 * of bounds, and an outline is never longer than its cut.
 */
#include "stats/collector.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that a read past the end is caught. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    struct buf out = BUF_INIT;
    uint64_t shape;
    if (plan_outline(str_make(text, size), &out, &shape) && (out.len == 0 || out.len > 240))
        abort();
    buf_release(&out);
    free(text);
    return 0;
}
