/*
 * Timestamps: PostgreSQL log times to int64 microseconds since the Unix
 * epoch (UTC), and back to ISO 8601 with an offset. Named tstamp because
 * time.h belongs to libc. Time zones come as PostgreSQL prints them: an
 * abbreviation (UTC, CEST, PDT), a numeric offset (+03, -0530, +05:30), or
 * nothing.
 */
#ifndef SLEUTH_UTIL_TSTAMP_H
#define SLEUTH_UTIL_TSTAMP_H

#include "buf.h"
#include "str.h"

#include <stdbool.h>
#include <stdint.h>

#define TS_NONE INT64_MIN /* an event without a known time */
/*
 * The last second of the last day a parsed date can name (9999-12-31
 * 23:59:59 UTC: four year digits). A time on that day with hour 24, a leap
 * second or a zone west of UTC parses a few days past it, still far from
 * overflowing in microseconds.
 */
#define TSTAMP_MAX_S INT64_C(253402300799)

/*
 * Parses "YYYY-MM-DD HH:MM:SS[.frac][ ZONE]" (a 'T' may replace the space)
 * at the front of s. On success stores the UTC time and the zone's offset
 * east of UTC in seconds, and returns the bytes consumed; returns 0 if s
 * does not start with a timestamp. An unknown zone abbreviation is taken as
 * UTC and *zone_known is set false.
 */
size_t tstamp_parse(struct str s, int64_t *ts_us, int *offset_s, bool *zone_known);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t tstamp_days_from_civil(int y, unsigned m, unsigned d);
/* Appends "2026-11-22T02:32:56.912+01:00" (ts_us shown at offset_s). */
void tstamp_format(struct buf *b, int64_t ts_us, int offset_s);
/* Looks up a zone abbreviation or numeric offset; false if unknown. */
bool tstamp_zone_offset(struct str zone, int *offset_s);

/*
 * A one-entry cache for tstamp_parse: log lines from the same second share
 * their "YYYY-MM-DD HH:MM:SS" head, so only the fraction is parsed again.
 */
struct tstamp_cache {
    char head[19];
    char zone[8];
    size_t zone_len;
    bool valid, known;
    int offset_s;
    int64_t base_us;
};

size_t tstamp_parse_cached(struct tstamp_cache *c, struct str s, int64_t *ts_us, int *offset_s,
                           bool *zone_known);
/*
 * Whether all of s (a csvlog or jsonlog field) is one timestamp; sets the
 * time and offset only then. The cache is tried first; it may stop short of
 * a zone it has not seen, so a partial match falls back to the full parse.
 */
bool tstamp_parse_field(struct tstamp_cache *c, struct str s, int64_t *ts_us, int *offset_s);
#endif
