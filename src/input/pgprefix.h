/*
 * struct pgprefix: a compiled log_line_prefix. Matching a prefix at the
 * start of a stderr log line yields the time, pid, user, database,
 * application and client that the prefix carries. The common prefixes are
 * detected by themselves; --prefix names one exactly, as pgBadger does.
 */
#ifndef SLEUTH_INPUT_PGPREFIX_H
#define SLEUTH_INPUT_PGPREFIX_H

#include "event.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/tstamp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pgprefix;

/* Compiles a log_line_prefix setting ("%m [%p] %q%u@%d "). */
MUST_CHECK struct pgprefix *pgprefix_compile(const char *spec, struct err *err);
/*
 * A prefix that matches any line holding a severity word ("LOG:  ") and
 * takes a leading timestamp and a "[pid]" when it finds them: the fallback
 * when no known prefix fits.
 */
struct pgprefix *pgprefix_loose(void);
void pgprefix_free(struct pgprefix *p);
struct pgprefix *pgprefix_dup(const struct pgprefix *p);
/* The setting it was compiled from ("(loose)" for the fallback). */
const char *pgprefix_spec(const struct pgprefix *p);

/*
 * What matching remembers from line to line: the time of the last second
 * seen, and per process the bytes its prefix had after the pid. Lines of a
 * process within one second repeat those bytes exactly (user, database,
 * application, client), so a memcmp replaces the field-by-field parse.
 */
#define PGPREFIX_MEMO_SLOTS 64
#define PGPREFIX_MEMO_BYTES 160

struct pgprefix_memo {
    int32_t pid;
    uint16_t len; /* bytes after the pid */
    int16_t item; /* index of the item after the pid */
    uint16_t off[5],
        n[5]; /* user, db, app, client, sqlstate relative to the tail; n=0xffff: not in the tail */
    char bytes[PGPREFIX_MEMO_BYTES];
};

/* A time parsed at the start of a line: its length (0: none), the time and its zone's offset. */
struct pgprefix_time {
    size_t n;
    int64_t ts_us;
    int offset_s;
};

struct pgprefix_cache {
    struct tstamp_cache tc;
    /*
     * Set by detection only: the time at the start of the line being
     * matched, as tc would parse it there (see detect_among); NULL otherwise.
     */
    const struct pgprefix_time *time0;
    uint64_t used; /* slots written since the last reset, one bit each; others mean nothing */
    struct pgprefix_memo memo[PGPREFIX_MEMO_SLOTS];
};

/*
 * Forgets what the cache remembers, as zeroing it would, but writes only
 * the time's valid flag, time0 and used (a memo slot is read only when its
 * bit there is set): detection resets a cache for each of its candidates,
 * and a memset of all 12 KB each time showed in its profile. Also readies
 * a cache that was never set (on the stack, say).
 */
void pgprefix_cache_reset(struct pgprefix_cache *pc);

/*
 * Matches the prefix at the start of line (one line, without its newline).
 * On success fills ts_us, tz_offset_s, pid, user, db, app, client and
 * sqlstate in ev (slices of line) and returns true with *len set to the
 * bytes of line the prefix took: the severity word starts there.
 */
bool pgprefix_match(const struct pgprefix *p, struct str line, struct event *ev,
                    struct pgprefix_cache *pc, size_t *len);

/*
 * Picks the prefix among the well-known settings that matches most of the
 * first lines of buf, or the loose prefix if none matches at least half of
 * them. Returns NULL when buf has no line that looks like a log record.
 */
struct pgprefix *pgprefix_detect(const char *buf, size_t len);
/*
 * The well-known prefixes that read the first line of buf as a record, a
 * bit each (0: none, or the line starts with a tab): a log whose prefix
 * changes at that line can have only one of them.
 */
uint64_t pgprefix_readers(const char *buf, size_t len);
/*
 * pgprefix_detect among those readers of buf's first line, for a log whose
 * prefix changes there; NULL when none matches at least half of the lines.
 */
struct pgprefix *pgprefix_detect_from(const char *buf, size_t len, uint64_t readers);
/*
 * The same for syslog lines that the syslog reader rewrote as
 * PGPREFIX_SYSLOG_HEAD + what followed "[N-M] ": returns the server's
 * prefix (the part after the head), or the loose prefix.
 */
#define PGPREFIX_SYSLOG_HEAD "%m [%p]: "
struct pgprefix *pgprefix_detect_syslog(const char *buf, size_t len);
/* Whether p is the loose fallback. */
bool pgprefix_is_loose(const struct pgprefix *p);
/*
 * Whether some prefix could make line (without its newline) a record: it
 * holds a severity word ("LOG:", "ERROR:", …) at its start or after a byte
 * that is not a letter or a digit ("…:[42]:LOG:  "). Cheap next to
 * detection.
 */
bool pgprefix_could_match(struct str line);

#endif
