/*
 * The csvlog reader: PostgreSQL's "csvlog" log destination, one CSV record
 * per log message. Quoted fields may hold newlines, so a record can span
 * several lines. The reader splits records into fields, fills an event,
 * lets pgmsg_classify() decide its kind, and emits it.
 *
 * Pointer arguments are borrowed. Events are borrowed too: they and their
 * slices point into the caller's buffer or the reader's scratch buffer and
 * are valid only during the emit callback.
 */
#ifndef SLEUTH_INPUT_PGCSV_H
#define SLEUTH_INPUT_PGCSV_H

#include "event.h"
#include "util/buf.h"
#include "util/tstamp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most columns a csvlog record has (PostgreSQL 14 and later). */
#define PGCSV_MAX_FIELDS 26

/* Where the scanner is inside a record; kept across a "need more" return. */
enum pgcsv_state {
    PGCSV_FIELD_START, /* at the first byte of a field */
    PGCSV_UNQUOTED,    /* inside an unquoted field */
    PGCSV_QUOTED,      /* inside a quoted field */
    PGCSV_QUOTE_SEEN,  /* just after a '"' in a quoted field: an escape or the end */
    PGCSV_RESYNC,      /* the record is bad; looking for the next record start */
};

/* One field of the record being scanned, by offset: the buffer moves between feeds. */
struct pgcsv_field {
    size_t off; /* from the record start, or into scratch */
    size_t len;
    bool scratch; /* the field had "" escapes and was copied to scratch */
};

/* Embedded in the caller's struct; pgcsv_init() it, pgcsv_release() it. */
struct pgcsv_reader {
    uint64_t line;  /* 1-based line number of buf[0] of the next feed; the caller may set it */
    uint32_t input; /* copied into every event */

    /*
     * A record left incomplete by the last feed: how far it was scanned, so
     * that the next feed (which starts at the same record) resumes there
     * instead of rescanning. A caller that sets line drops it.
     */
    bool pending;
    uint64_t pending_line; /* line when the scan was saved */
    enum pgcsv_state state;
    size_t pos;       /* bytes of the record scanned */
    size_t lines;     /* newlines among them */
    unsigned nfields; /* fields complete so far */
    struct pgcsv_field fields[PGCSV_MAX_FIELDS];

    struct buf scratch; /* unescaped fields of the current record */
    struct tstamp_cache tc;
};

void pgcsv_init(struct pgcsv_reader *r, uint32_t input);
void pgcsv_release(struct pgcsv_reader *r);

/*
 * Emits every complete record at the front of buf[0..len) and returns the
 * bytes used; with eof it uses all of them. Records never span calls: after
 * a return smaller than len, the caller feeds the unused tail again with
 * more bytes after it. A return of 0 without eof means "need more". The
 * work done on an incomplete record is kept, so a huge record costs time
 * linear in its size however it is fed.
 *
 * Parsing is total. Bytes that are not a csvlog record (garbage, a wrong
 * column count, a NUL byte, a bad quote, an unterminated quoted field or a
 * record without its final newline at eof) become one EV_UNPARSED event
 * that runs from the bad record's first line up to the next line that
 * looks like a record start; the message holds those bytes. Records after
 * it are read normally. Empty lines are skipped.
 *
 * emit must not call back into this reader.
 */
size_t pgcsv_feed(struct pgcsv_reader *r, const char *buf, size_t len, bool eof, event_fn *emit,
                  void *ctx);

/*
 * Offset of the first record start at or after buf[0] (buf[0] counts as a
 * line start), or len if none: a line that begins with a timestamp field,
 * then user and database fields (empty or quoted) and a numeric pid. For
 * splitting a file into byte ranges between threads.
 */
size_t pgcsv_sync(const char *buf, size_t len);
/* Whether the line at p (n bytes, up to its newline or the end) starts a csvlog record. */
bool pgcsv_starts_record(const char *p, size_t n);

/*
 * Maps a csvlog/jsonlog error_severity ("LOG", "DEBUG2", "ERROR") to its
 * enum; SEV_NONE if it is not one of PostgreSQL's untranslated words.
 * Shared with the jsonlog reader.
 */
enum severity pgcsv_severity(struct str s);

#endif
