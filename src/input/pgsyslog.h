/*
 * The syslog reader: PostgreSQL's "syslog" log destination as rsyslog or
 * syslog-ng write it to a file, one syslog line per message part:
 *
 *   Nov 22 02:32:37 db1 postgres[1668]: [3-1] user=app,db=shop LOG:  duration: …
 *   Nov 22 02:32:37 db1 postgres[1668]: [3-2] #011 FROM orders
 *
 * "[3-2]" is the second part of the session's third message: a line of a
 * multi-line message, or the rest of a line longer than syslog allows.
 * rsyslog writes a tab as "#011". Also read: a fraction after the BSD time
 * ("Nov 22 02:32:37.123456"), year-first times ("2026-11-22T02:32:37.123+00:00
 * db1 postgres[1668]: …") and RFC 5424 ("<134>1 2026-11-22T02:32:37.123+00:00
 * db1 postgres 1668 - - [3-1] …"). The reader rewrites each syslog line into
 * the stderr form ("2026-11-22 02:32:37 UTC [1668]: …", and a tab-indented
 * continuation for the later parts), one output line per input line, the
 * parts of a message gathered by pid and message number, and hands that to
 * the stderr reader. The prefix it detects or is given is
 * what PostgreSQL put after "[3-1] " (the server's log_line_prefix).
 *
 * Logs that a shipper wrapped around the server's lines are read here too:
 * Heroku's logplex ("2026-11-22T02:32:37+00:00 app[postgres.1668]:
 * [DATABASE] [3-1] sql_error_code = 00000 LOG:  …", no host, the pid after
 * the dot, an attachment before "[N-M]"), and Google Cloud SQL's Cloud
 * Logging entries, one JSON object a line whose textPayload is the record
 * as the server wrote it ("2026-11-22 02:32:37.123 UTC [1668]: [3-1]
 * db=shop,user=app LOG:  …"), handed on as it is.
 */
#ifndef SLEUTH_INPUT_PGSYSLOG_H
#define SLEUTH_INPUT_PGSYSLOG_H

#include "pgstderr.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Messages being gathered at once (one per busy backend), and how many lines
 * a process may stay silent before its open message counts as whole.
 */
#define PGSYSLOG_OPEN_SLOTS  64
#define PGSYSLOG_OPEN_WINDOW 256

/* A message whose later parts may still come: the process's last "[N-1]". */
struct pgsyslog_open {
    bool used;
    unsigned long long pid, seq; /* the process and N */
    uint64_t first, last;        /* input lines (counted from 1) of its first and latest part */
    struct buf text;             /* its stderr form so far */
};

struct pgsyslog_reader {
    struct pgstderr_reader inner_r;
    struct pgprefix *inner;  /* the server's prefix (after "[N-M] "), owned; NULL until known */
    struct pgprefix *prefix; /* the rewritten lines' prefix: PGPREFIX_SYSLOG_HEAD + inner, owned */
    struct buf out;          /* the rewritten lines not yet used by the inner reader */
    size_t out_left;         /* out.len when the inner reader last stopped; SIZE_MAX: not yet */
    size_t detect_bytes;     /* rewritten bytes the prefix is decided on, if not given */
    int year;                /* for BSD syslog times, which have none */
    uint64_t line;           /* line number of the next feed's first byte */
    uint64_t out_line;       /* the inner reader's number for out's first line (a Cloud SQL
                                entry's payload may hold several) */
    uint64_t base;           /* input line number of the first line rewritten */
    uint64_t nread;          /* input lines rewritten so far */
    uint64_t *lmap;          /* input line number of each line of out, in order */
    size_t nlmap, lmap_cap;
    struct pgsyslog_open open[PGSYSLOG_OPEN_SLOTS];
};

#define PGSYSLOG_DETECT_BYTES (64 * 1024)

/*
 * Starts a reader; inner_prefix is what follows "[N-M] " (NULL: detect on
 * the first detect_bytes of rewritten lines, PGSYSLOG_DETECT_BYTES unless
 * the caller sets it, or all of them at eof). year is used for
 * "Mon DD HH:MM:SS" times.
 */
void pgsyslog_init(struct pgsyslog_reader *r, const struct pgprefix *inner_prefix, int year,
                   uint32_t input);
void pgsyslog_release(struct pgsyslog_reader *r);
/* See logparser_feed. */
size_t pgsyslog_feed(struct pgsyslog_reader *r, const char *buf, size_t len, bool eof,
                     event_fn *emit, void *ctx);
/* Offset of the first line after buf[0]'s line that starts a message ("[N-1] "), or len. */
size_t pgsyslog_sync(const char *buf, size_t len);
/*
 * Detects the server's prefix from the first lines of a syslog log (a few
 * KB are enough): the inner prefix pgsyslog_init takes, or NULL.
 */
struct pgprefix *pgsyslog_detect_prefix(const char *buf, size_t len);
/* Whether the first line of buf is a PostgreSQL syslog line. */
bool pgsyslog_detect(const char *buf, size_t len);

#endif
