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

/* The prefixes re-detection may keep for one reader. */
#define PGSTDERR_MAX_PREFIXES 8

struct pgstderr_reader {
    const struct pgprefix *prefix; /* in use: the one given to init, or one of found[] */
    uint64_t line;                 /* line number of the next feed's first byte */
    uint32_t input;
    /*
     * Re-detection (off unless the caller sets redetect): a line that does
     * not match the prefix in use but holds a severity word (see
     * pgprefix_could_match) makes the reader look at the lines from
     * it on (PGSTDERR_WINDOW_LINES, PGSTDERR_WINDOW_BYTES, and no further
     * than where the prefix in use matches again) for another prefix that
     * most of them match, as in a log whose server changed its
     * log_line_prefix or several logs concatenated. The prefixes seen before
     * are tried first, so a return to one is the same prefix again. After a
     * window with none, the next line is looked at, then the second after
     * the next failure, the fourth, and so on up to every
     * PGSTDERR_WINDOW_LINES lines, until a record matches: a lone line of
     * another prefix costs only itself, and a long stretch no prefix reads
     * costs a detection per PGSTDERR_WINDOW_LINES lines.
     */
    bool redetect;
    const struct pgprefix *given;                  /* borrowed, the one given to init */
    struct pgprefix *found[PGSTDERR_MAX_PREFIXES]; /* owned, detected on the way */
    size_t nfound;
    uint64_t next_try; /* no re-detection before this line */
    uint32_t backoff;  /* lines the next window with no prefix makes it wait (0: one) */
    /* Last: pgstderr_init() zeroes the members before it and resets it. */
    struct pgprefix_cache pc;
};

#define PGSTDERR_WINDOW_LINES 64
#define PGSTDERR_WINDOW_BYTES (256u << 10)

void pgstderr_init(struct pgstderr_reader *r, const struct pgprefix *prefix, uint32_t input);
/* Frees the prefixes re-detection found; r->prefix is the given one again. */
void pgstderr_release(struct pgstderr_reader *r);
/*
 * See logparser_feed for the protocol. With redetect, a line that matches
 * no prefix is used only once PGSTDERR_WINDOW_LINES lines (or
 * PGSTDERR_WINDOW_BYTES) after it are in the buffer, or at eof, so that
 * the result does not depend on how the input is cut into feeds.
 */
size_t pgstderr_feed(struct pgstderr_reader *r, const char *buf, size_t len, bool eof,
                     event_fn *emit, void *ctx);
/* Offset of the first line after buf[0]'s line that starts a record, or len. */
size_t pgstderr_sync(const struct pgprefix *prefix, const char *buf, size_t len);

#endif
