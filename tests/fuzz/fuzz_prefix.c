/*
 * libFuzzer harness for log_line_prefix compilation and matching
 * (input/pgprefix.c): the input is "SPEC\nLINE"; any spec must compile or
 * fail cleanly, and matching any line must stay inside it.
 */
#include "input/pgprefix.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t speclen = nl ? (size_t)(nl - (const char *)data) : size;
    char *spec = xmemdup(data, speclen);
    /* Readers hand lines that point into their buffer, empty ones too: never a NULL slice. */
    struct str line =
        nl ? str_make(nl + 1, size - speclen - 1) : str_make((const char *)data + size, 0);
    struct err err;
    struct pgprefix *p = pgprefix_compile(spec, &err);
    if (p) {
        struct event ev;
        event_clear(&ev);
        struct pgprefix_cache tc = { 0 };
        size_t n = 0;
        if (pgprefix_match(p, line, &ev, &tc, &n) && n > line.len)
            abort();
        pgprefix_free(p);
    } else if (err.code != ERR_USAGE) {
        abort();
    }
    struct pgprefix *d = pgprefix_detect((const char *)data, size);
    pgprefix_free(d);
    free(spec);
    return 0;
}
