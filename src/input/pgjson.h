/*
 * The jsonlog reader: PostgreSQL 15's "jsonlog" log destination, one JSON
 * object per line. The reader decodes each line (a scanner of its own for
 * the flat objects PostgreSQL writes, jansson for anything else), fills an
 * event from its keys, lets pgmsg_classify() decide its kind, and emits it.
 *
 * Pointer arguments are borrowed. Events are borrowed too: their slices
 * point into the decoded line, which is freed when emit returns.
 */
#ifndef SLEUTH_INPUT_PGJSON_H
#define SLEUTH_INPUT_PGJSON_H

#include "event.h"
#include "util/buf.h"
#include "util/tstamp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded in the caller's struct; pgjson_init() it, pgjson_release() it. */
struct pgjson_reader {
    uint64_t line;  /* 1-based line number of buf[0] of the next feed; the caller may set it */
    uint32_t input; /* copied into every event */

    /*
     * A line left incomplete by the last feed: how many of its bytes were
     * searched for the newline, so that a long line fed in pieces is
     * searched once. A caller that sets line drops it.
     */
    bool pending;
    uint64_t pending_line; /* line when it was saved */
    size_t scanned;

    struct tstamp_cache tc;
    struct buf mended;  /* a line with raw control bytes or invalid UTF-8, made JSON */
    struct buf scratch; /* the scanner's unescaped strings of the current line */
    bool no_scanner;    /* every line through jansson (the fuzzer's reference) */
};

void pgjson_init(struct pgjson_reader *r, uint32_t input);
void pgjson_release(struct pgjson_reader *r);

/*
 * Emits every complete line at the front of buf[0..len) and returns the
 * bytes used; with eof it uses all of them. Same protocol as pgcsv_feed():
 * after a return smaller than len the caller feeds the unused tail again
 * with more bytes after it; 0 without eof means "need more".
 *
 * Parsing is total. A line that is not a jsonlog record (not a JSON
 * object, invalid UTF-8, a NUL byte, no timestamp or error_severity, a
 * known key of the wrong type, or a last line without its newline at eof)
 * becomes one EV_UNPARSED event whose message is the line. Empty lines are
 * skipped.
 *
 * emit must not call back into this reader.
 */
size_t pgjson_feed(struct pgjson_reader *r, const char *buf, size_t len, bool eof, event_fn *emit,
                   void *ctx);

/*
 * Offset of the first record start at or after buf[0] (buf[0] counts as a
 * line start), or len if none: a line that starts with '{"' and a letter,
 * the opening of an object and its first key. Inside a JSON line that
 * sequence occurs nowhere else (a quote inside a string is escaped, and a
 * string ending in '{' is followed by '"' and ',' or '}'), so a cut in the
 * middle of a line finds the next record, not a false start.
 */
size_t pgjson_sync(const char *buf, size_t len);

#endif
