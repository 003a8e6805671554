/*
 * struct logparser: turns the bytes of one PostgreSQL log into events,
 * whatever its format (stderr with any log_line_prefix, csvlog, jsonlog,
 * syslog), and PgBouncer's log, read next to the server's.
 *
 * Push model: the caller reads the input into a buffer and calls
 * logparser_feed() with what it has; the parser emits every record that is
 * complete in it and returns how many bytes it used. The caller keeps the
 * unused tail, appends more input and feeds again; with eof set the parser
 * uses everything. Records are never split across calls, so events can
 * point into the caller's buffer. Parsing is total: bytes that are not a
 * record become EV_UNPARSED events with their line number.
 */
#ifndef SLEUTH_INPUT_LOGPARSER_H
#define SLEUTH_INPUT_LOGPARSER_H

#include "event.h"
#include "pgprefix.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_format {
    LOGFMT_AUTO,      /* decide from the first bytes */
    LOGFMT_STDERR,    /* stderr (and file) destination with a log_line_prefix */
    LOGFMT_CSV,       /* csvlog */
    LOGFMT_JSON,      /* jsonlog (PostgreSQL 15+) */
    LOGFMT_SYSLOG,    /* the syslog destination as written by rsyslog or syslog-ng */
    LOGFMT_PGBOUNCER, /* PgBouncer's own log file (its logfile setting) */
};

struct logparser;

/*
 * Creates a parser. prefix applies to LOGFMT_STDERR; NULL means "detect
 * from the first records". input is copied into every event.
 */
struct logparser *logparser_new(enum log_format format, const struct pgprefix *prefix,
                                uint32_t input);
void logparser_free(struct logparser *p);
/*
 * The format and the prefix are decided on the first LOGPARSER_DETECT_BYTES
 * of the log (or all of it, at eof), and again on as many bytes where the
 * format changes; tests that cut small logs into feeds set fewer.
 */
#define LOGPARSER_DETECT_BYTES (64 * 1024)
void logparser_set_detect_bytes(struct logparser *p, size_t n);
/*
 * A stderr log's prefix changes when its lines stop matching and most of
 * the lines ahead match another (see pgstderr.h): a server reconfigured, or
 * logs concatenated. Call this before the first feed when the prefix was
 * named by the user, to keep it for the whole log.
 */
void logparser_keep_prefix(struct logparser *p);
/*
 * A log read as stderr, csvlog or jsonlog changes format where a line the
 * reader cannot read is in another of the three and most of the lines
 * after it agree (logs of several formats concatenated): the rest is read
 * in that format, from that line. Call this before the first feed when the
 * user named the format, to keep it for the whole log.
 */
void logparser_keep_format(struct logparser *p);
/*
 * The stderr prefixes read with so far (log_line_prefix specs), in the
 * order they were first used: several when the prefix changed. Valid until
 * the next feed or free.
 */
size_t logparser_prefixes(struct logparser *p, char *const **out);
/* The formats read so far, one bit (1 << format) each. */
unsigned logparser_formats_seen(const struct logparser *p);

/*
 * Emits the complete records at the front of buf[0..len) and returns the
 * number of bytes they took. With eof, everything is used. Call with the
 * same unused bytes again (plus more) after a return smaller than len.
 * A record longer than the caller's buffer is the caller's to grow for:
 * a return of 0 without eof means "give me more".
 */
size_t logparser_feed(struct logparser *p, const char *buf, size_t len, bool eof, event_fn *emit,
                      void *ctx);

/* Line number that buf[0] of the next feed has (1-based). */
uint64_t logparser_line(const struct logparser *p);
/* Sets the line number of the next feed's first byte (before the first feed). */
void logparser_set_line(struct logparser *p, uint64_t line);
enum log_format logparser_format(const struct logparser *p);
/*
 * The prefix in use for stderr and syslog logs (detected or given; for
 * syslog, what follows "[N-M] "); NULL otherwise or not yet known.
 */
const struct pgprefix *logparser_prefix(const struct logparser *p);

/*
 * Guesses the format of a log from its first bytes (a few KB are enough).
 * Returns LOGFMT_STDERR when nothing else fits.
 */
enum log_format logparser_detect(const char *buf, size_t len);

/*
 * Offset of the first record start at or after buf[0], for splitting a file
 * into byte ranges: a line that begins a new record of this format (not a
 * continuation, not a DETAIL/STATEMENT line that belongs to the record
 * before). Returns len if none starts in buf.
 */
size_t logparser_sync(enum log_format format, const struct pgprefix *prefix, const char *buf,
                      size_t len);

const char *log_format_name(enum log_format f);
/* The formats of a log that changed format ("stderr+csvlog"), or first's name. */
const char *log_formats_name(enum log_format first, unsigned seen);

#endif
