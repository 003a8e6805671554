/*
 * The stderr-format reader: PostgreSQL's "stderr" log destination (also
 * what logging_collector writes to postgresql-*.log), one record per line
 * with a log_line_prefix, continuation lines starting with a tab, and
 * DETAIL/HINT/CONTEXT/STATEMENT lines that belong to the record before.
 */
#ifndef SLEUTH_INPUT_PGSTDERR_H
#define SLEUTH_INPUT_PGSTDERR_H

#include "event.h"
#include "pgprefix.h"
#include "util/tstamp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pgstderr_reader {
    const struct pgprefix *prefix; /* borrowed */
    struct pgprefix_cache pc;
    uint64_t line; /* line number of the next feed's first byte */
    uint32_t input;
};

void pgstderr_init(struct pgstderr_reader *r, const struct pgprefix *prefix, uint32_t input);
/* See logparser_feed for the protocol. */
size_t pgstderr_feed(struct pgstderr_reader *r, const char *buf, size_t len, bool eof,
                     event_fn *emit, void *ctx);
/* Offset of the first line after buf[0]'s line that starts a record, or len. */
size_t pgstderr_sync(const struct pgprefix *prefix, const char *buf, size_t len);

#endif
