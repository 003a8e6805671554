/*
 * Timestamp parsing and formatting; see tstamp.h. Hand-written rather than
 * strptime/timegm because it runs once per log line: the caller caches by
 * the seconds prefix, but the parse itself must not touch the locale or
 * the TZ database.
 */
#include "tstamp.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Zone abbreviations PostgreSQL prints for the common log_timezone settings. */
static const struct {
    const char *name;
    int offset_min;
} zones[] = {
    { "UTC", 0 },     { "GMT", 0 },    { "Z", 0 },       { "UCT", 0 },    { "WET", 0 },
    { "WEST", 60 },   { "BST", 60 },   { "IST", 60 },    { "CET", 60 },   { "CEST", 120 },
    { "MET", 60 },    { "MEST", 120 }, { "EET", 120 },   { "EEST", 180 }, { "MSK", 180 },
    { "SAST", 120 },  { "EST", -300 }, { "EDT", -240 },  { "CST", -360 }, { "CDT", -300 },
    { "MST", -420 },  { "MDT", -360 }, { "PST", -480 },  { "PDT", -420 }, { "AKST", -540 },
    { "AKDT", -480 }, { "HST", -600 }, { "AST", -240 },  { "ADT", -180 }, { "NST", -210 },
    { "NDT", -150 },  { "JST", 540 },  { "KST", 540 },   { "HKT", 480 },  { "SGT", 480 },
    { "AWST", 480 },  { "ACST", 570 }, { "ACDT", 630 },  { "AEST", 600 }, { "AEDT", 660 },
    { "NZST", 720 },  { "NZDT", 780 }, { "WIB", 420 },   { "PKT", 300 },  { "BRT", -180 },
    { "ART", -180 },  { "CLT", -240 }, { "CLST", -180 },
};

int64_t tstamp_days_from_civil(int y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

bool tstamp_zone_offset(struct str zone, int *offset_s)
{
    if (zone.len == 0)
        return false;
    if (zone.ptr[0] == '+' || zone.ptr[0] == '-') {
        int h, m = 0, sign = zone.ptr[0] == '-' ? -1 : 1;
        const char *p = zone.ptr + 1;
        size_t n = zone.len - 1;
        if (n < 2 || !digits(p, 2, &h))
            return false;
        if (n == 4 && !digits(p + 2, 2, &m))
            return false;
        if (n == 5 && (p[2] != ':' || !digits(p + 3, 2, &m)))
            return false;
        if (n != 2 && n != 4 && n != 5)
            return false;
        *offset_s = sign * (h * 3600 + m * 60);
        return true;
    }
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (str_eq_cstr(zone, zones[i].name)) {
            *offset_s = zones[i].offset_min * 60;
            return true;
        }
    }
    return false;
}

static bool is_zone_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == ':';
}

size_t tstamp_parse(struct str s, int64_t *ts_us, int *offset_s, bool *zone_known)
{
    const char *p = s.ptr;
    int y, mo, d, h, mi, se;
    if (s.len < 19 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
        !digits(p + 8, 2, &d) || (p[10] != ' ' && p[10] != 'T') || !digits(p + 11, 2, &h) ||
        p[13] != ':' || !digits(p + 14, 2, &mi) || p[16] != ':' || !digits(p + 17, 2, &se))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || se > 60)
        return 0;
    size_t i = 19;
    int64_t frac_us = 0;
    if (i < s.len && p[i] == '.') {
        int64_t scale = 100000;
        i++;
        while (i < s.len && p[i] >= '0' && p[i] <= '9') {
            frac_us += (p[i] - '0') * scale;
            scale /= 10;
            i++;
        }
    }
    int off = 0;
    bool known = true;
    size_t zstart = i;
    if (i < s.len && (p[i] == 'Z' || p[i] == '+' || p[i] == '-')) {
        /* ISO 8601 style offset glued to the time. */
    } else if (i + 1 < s.len && p[i] == ' ' && is_zone_char(p[i + 1]) &&
               !(p[i + 1] >= '0' && p[i + 1] <= '9')) {
        zstart = i + 1;
    }
    size_t zend = zstart;
    bool numeric = zstart < s.len && (p[zstart] == '+' || p[zstart] == '-');
    if (numeric)
        zend++;
    while (zend < s.len && zend - zstart < 8 &&
           (numeric ? (p[zend] >= '0' && p[zend] <= '9') || p[zend] == ':'
                    : is_zone_char(p[zend]) && p[zend] != ':' && p[zend] != '+' && p[zend] != '-'))
        zend++;
    if (zend > zstart) {
        if (tstamp_zone_offset(str_make(p + zstart, zend - zstart), &off)) {
            i = zend;
        } else if (zstart > i) {
            /* An unknown abbreviation: consume it, assume UTC, tell the caller. */
            known = false;
            i = zend;
        }
    }
    int64_t days = tstamp_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - off;
    *ts_us = secs * 1000000 + frac_us;
    *offset_s = off;
    if (zone_known)
        *zone_known = known;
    return i;
}

void tstamp_format(struct buf *b, int64_t ts_us, int offset_s)
{
    int64_t local = ts_us + (int64_t)offset_s * 1000000;
    int64_t secs = local >= 0 ? local / 1000000 : -((-local + 999999) / 1000000);
    int64_t us = local - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    /* civil_from_days (Hinnant). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    int aoff = abs(offset_s);
    buf_addf(b, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03d%c%02d:%02d", y, m, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)(us / 1000),
             offset_s < 0 ? '-' : '+', aoff / 3600, aoff / 60 % 60);
}

size_t tstamp_parse_cached(struct tstamp_cache *c, struct str s, int64_t *ts_us, int *offset_s,
                           bool *zone_known)
{
    if (c->valid && s.len >= 19 && memcmp(s.ptr, c->head, 19) == 0) {
        size_t i = 19;
        int64_t frac_us = 0, scale = 100000;
        if (i < s.len && s.ptr[i] == '.') {
            for (i++; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++) {
                frac_us += (s.ptr[i] - '0') * scale;
                scale /= 10;
            }
        }
        /*
         * The zone must end where the cached one did: a numeric zone goes on
         * over ':' ("-12" then "-12:30" in the same second read as -12:00,
         * which made fuzz_stderr's whole and windowed reads differ).
         */
        if (s.len - i >= c->zone_len && memcmp(s.ptr + i, c->zone, c->zone_len) == 0 &&
            (s.len - i == c->zone_len ||
             (!isalnum((unsigned char)s.ptr[i + c->zone_len]) && s.ptr[i + c->zone_len] != ':'))) {
            *ts_us = c->base_us + frac_us;
            *offset_s = c->offset_s;
            if (zone_known)
                *zone_known = c->known;
            return i + c->zone_len;
        }
    }
    bool known;
    size_t n = tstamp_parse(s, ts_us, offset_s, &known);
    if (!n)
        return 0;
    /* Remember the head and the zone text (what follows the fraction). */
    size_t zstart = 19;
    if (zstart < n && s.ptr[zstart] == '.')
        for (zstart++; zstart < n && s.ptr[zstart] >= '0' && s.ptr[zstart] <= '9'; zstart++)
            ;
    /*
     * Only a time with a zone is cached: a bare "HH:MM:SS" head could be
     * the front of a longer text whose zone we would then skip.
     */
    if (n > zstart && n - zstart <= sizeof(c->zone)) {
        memcpy(c->head, s.ptr, 19);
        c->zone_len = n - zstart;
        memcpy(c->zone, s.ptr + zstart, c->zone_len);
        c->offset_s = *offset_s;
        c->known = known;
        /* base is the time at the start of the second */
        int64_t frac_us = 0, scale = 100000;
        for (size_t i = 20; 19 < zstart && i < zstart; i++) {
            frac_us += (s.ptr[i] - '0') * scale;
            scale /= 10;
        }
        c->base_us = *ts_us - frac_us;
        c->valid = true;
    }
    if (zone_known)
        *zone_known = known;
    return n;
}

bool tstamp_parse_field(struct tstamp_cache *c, struct str s, int64_t *ts_us, int *offset_s)
{
    int64_t ts;
    int off;
    /* An empty field is no time: both parses would "consume" all of its 0 bytes. */
    if (s.len == 0)
        return false;
    if (tstamp_parse_cached(c, s, &ts, &off, NULL) != s.len &&
        tstamp_parse(s, &ts, &off, NULL) != s.len)
        return false;
    *ts_us = ts;
    *offset_s = off;
    return true;
}
