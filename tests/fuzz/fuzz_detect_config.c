/*
 * libFuzzer harness for the detector configuration parser
 * (detect/config.c). Any input must parse or fail cleanly with a
 * "name:line: reason" message, leave the config untouched on failure, and
 * on success dump to a text that parses back to the same settings (a
 * differential check between the parser and the dump).
 */
#include "detect/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct detect_config cfg, before;
    detect_config_init(&cfg);
    before = cfg;
    struct err err;
    err_clear(&err);
    if (detect_config_parse(&cfg, (const char *)data, size, "fuzz", &err) < 0) {
        if (err.code != ERR_CONFIG || strncmp(err.msg, "fuzz", 4) != 0)
            abort();
        if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
            abort();
        return 0;
    }
    struct buf a = BUF_INIT, b = BUF_INIT;
    detect_config_dump(&cfg, &a);
    struct detect_config again;
    detect_config_init(&again);
    if (detect_config_parse(&again, a.ptr, a.len, "dump", &err) < 0)
        abort();
    detect_config_dump(&again, &b);
    if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
        abort();
    buf_release(&a);
    buf_release(&b);
    return 0;
}
