/*
 * One entry point for every PostgreSQL log format; see logparser.h. It
 * decides the format and the prefix on the first feed and then hands the
 * bytes to the format's reader.
 */
#include "logparser.h"

#include "bouncerlog.h"
#include "pgcsv.h"
#include "pgjson.h"
#include "pgprefix.h"
#include "pgstderr.h"
#include "pgsyslog.h"
#include "util/xalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"

struct logparser {
    enum log_format format;
    uint32_t input;
    uint64_t start_line;     /* line number before the format is known */
    struct pgprefix *prefix; /* owned */
    bool prefix_given;       /* the user named it: no re-detection */
    bool format_given;       /* the user named it: no change of format */
    bool started;
    size_t detect_bytes; /* format and prefix are decided on this many bytes (or all, at eof) */
    unsigned seen;       /* formats read, 1 << format each */
    char **prefixes;     /* specs of the stderr prefixes read with, first use first */
    size_t nprefixes;
    /* The feed under way, as the emit wrapper (watch) sees it. */
    const char *feed_buf;
    size_t feed_len;
    event_fn *emit;
    void *ctx;
    /* A change of format found in it: from switch_at (line switch_line) on, switch_to. */
    bool switching;
    size_t switch_at;
    uint64_t switch_line;
    enum log_format switch_to;
    /* The readers, last: start() sets one up when the format is decided (see logparser_new). */
    struct pgstderr_reader stderr_r;
    struct pgcsv_reader csv_r;
    struct pgjson_reader json_r;
    struct pgsyslog_reader syslog_r;
    struct bouncerlog_reader bouncer_r;
};

const char *log_format_name(enum log_format f)
{
    switch (f) {
    case LOGFMT_STDERR:
        return "stderr";
    case LOGFMT_CSV:
        return "csvlog";
    case LOGFMT_JSON:
        return "jsonlog";
    case LOGFMT_SYSLOG:
        return "syslog";
    case LOGFMT_PGBOUNCER:
        return "pgbouncer";
    default:
        return "auto";
    }
}

const char *log_formats_name(enum log_format first, unsigned seen)
{
    static const char *const mixed[8] = {
        [1 << 0 | 1 << 1] = "stderr+csvlog",
        [1 << 0 | 1 << 2] = "stderr+jsonlog",
        [1 << 1 | 1 << 2] = "csvlog+jsonlog",
        [1 << 0 | 1 << 1 | 1 << 2] = "stderr+csvlog+jsonlog",
    };
    unsigned k = (seen >> LOGFMT_STDERR) & 7; /* stderr, csvlog, jsonlog: the formats that change */
    return mixed[k] ? mixed[k] : log_format_name(first);
}

struct logparser *logparser_new(enum log_format format, const struct pgprefix *prefix,
                                uint32_t input)
{
    /*
     * The head is zeroed, not the readers (30 kB, prefix caches mostly): one
     * is set up by its init in start(), and none is read before (started).
     * Zeroing them all for every parser was a tenth of fuzz_logparser's time.
     */
    struct logparser *p = xmalloc(sizeof(*p));
    memset(p, 0, offsetof(struct logparser, stderr_r));
    p->format = format;
    p->input = input;
    p->start_line = 1;
    p->detect_bytes = LOGPARSER_DETECT_BYTES;
    if (prefix)
        p->prefix = pgprefix_dup(prefix);
    return p;
}

static void note_prefix(struct logparser *p, const struct pgprefix *x)
{
    if (!x)
        return;
    const char *spec = pgprefix_spec(x);
    for (size_t i = 0; i < p->nprefixes; i++)
        if (strcmp(p->prefixes[i], spec) == 0)
            return;
    p->prefixes = xrealloc(p->prefixes, (p->nprefixes + 1) * sizeof(*p->prefixes));
    p->prefixes[p->nprefixes++] = xstrdup(spec);
}

/* Notes the prefixes the stderr reader in use read with: its first, and those it changed to. */
static void note_prefixes(struct logparser *p)
{
    if (!p->started || p->format != LOGFMT_STDERR)
        return;
    note_prefix(p, p->stderr_r.given);
    for (size_t i = 0; i < p->stderr_r.nfound; i++)
        note_prefix(p, p->stderr_r.found[i]);
}

size_t logparser_prefixes(struct logparser *p, char *const **out)
{
    note_prefixes(p);
    *out = p->prefixes;
    return p->nprefixes;
}

/* Releases the reader in use. */
static void stop(struct logparser *p)
{
    note_prefixes(p);
    if (p->started && p->format == LOGFMT_CSV)
        pgcsv_release(&p->csv_r);
    if (p->started && p->format == LOGFMT_JSON)
        pgjson_release(&p->json_r);
    if (p->started && p->format == LOGFMT_SYSLOG)
        pgsyslog_release(&p->syslog_r);
    if (p->started && p->format == LOGFMT_STDERR)
        pgstderr_release(&p->stderr_r);
    p->started = false;
}

void logparser_free(struct logparser *p)
{
    if (!p)
        return;
    stop(p);
    for (size_t i = 0; i < p->nprefixes; i++)
        free(p->prefixes[i]);
    free(p->prefixes);
    pgprefix_free(p->prefix);
    free(p);
}

enum log_format logparser_detect(const char *buf, size_t len)
{
    /* Skip blank lines; judge the first real line. */
    size_t i = 0;
    while (i < len && (buf[i] == '\n' || buf[i] == '\r' || buf[i] == ' '))
        i++;
    if (pgsyslog_detect(buf + i, len - i)) /* a Cloud SQL entry too: JSON around a stderr line */
        return LOGFMT_SYSLOG;
    if (i < len && buf[i] == '{')
        return LOGFMT_JSON;
    const char *nl = memchr(buf + i, '\n', len - i);
    if (bouncerlog_is_line(buf + i, nl ? (size_t)(nl - buf) - i : len - i))
        return LOGFMT_PGBOUNCER;
    struct str rest = str_make(buf + i, len - i);
    int64_t ts;
    int off;
    size_t n = tstamp_parse(rest, &ts, &off, NULL);
    if (n && n < rest.len && rest.ptr[n] == ',')
        return LOGFMT_CSV;
    return LOGFMT_STDERR;
}

static void start(struct logparser *p, const char *buf, size_t len)
{
    if (p->format == LOGFMT_AUTO)
        p->format = logparser_detect(buf, len);
    switch (p->format) {
    case LOGFMT_CSV:
        pgcsv_init(&p->csv_r, p->input);
        p->csv_r.line = p->start_line;
        break;
    case LOGFMT_JSON:
        pgjson_init(&p->json_r, p->input);
        p->json_r.line = p->start_line;
        break;
    case LOGFMT_SYSLOG: {
        /* BSD syslog times have no year: take this one. */
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        pgsyslog_init(&p->syslog_r, p->prefix, tm.tm_year + 1900, p->input);
        p->syslog_r.line = p->start_line;
        p->syslog_r.detect_bytes = p->detect_bytes;
        break;
    }
    case LOGFMT_PGBOUNCER:
        bouncerlog_init(&p->bouncer_r, p->input);
        p->bouncer_r.line = p->start_line;
        break;
    default:
        p->format = LOGFMT_STDERR;
        if (!p->prefix)
            p->prefix = pgprefix_detect(buf, len);
        if (!p->prefix)
            p->prefix = pgprefix_loose();
        pgstderr_init(&p->stderr_r, p->prefix, p->input);
        p->stderr_r.line = p->start_line;
        p->stderr_r.redetect = !p->prefix_given;
        break;
    }
    p->started = true;
    p->seen |= 1u << p->format;
}

void logparser_set_detect_bytes(struct logparser *p, size_t n)
{
    p->detect_bytes = n ? n : 1;
}

void logparser_keep_prefix(struct logparser *p)
{
    p->prefix_given = true;
}

void logparser_keep_format(struct logparser *p)
{
    p->format_given = true;
}

unsigned logparser_formats_seen(const struct logparser *p)
{
    return p->seen;
}

/*
 * What one line is, judged on the line alone (so that how the log was cut
 * into feeds does not matter) and strictly, since a stray line must not
 * move the reading: a csvlog record start (timestamp, user, database, pid),
 * a jsonlog record (PostgreSQL writes the timestamp first), a stderr line
 * (a timestamp, then a severity word after something prefix-like), else
 * LOGFMT_AUTO. Syslog takes no part: its reader hands its stray lines on.
 */
static enum log_format line_kind(struct str line)
{
    static const char json_start[] = "{\"timestamp\":\"";
    if (line.len >= sizeof(json_start) - 1 &&
        memcmp(line.ptr, json_start, sizeof(json_start) - 1) == 0)
        return LOGFMT_JSON;
    if (pgcsv_starts_record(line.ptr, line.len))
        return LOGFMT_CSV;
    int64_t ts;
    int off;
    return tstamp_parse(line, &ts, &off, NULL) && pgprefix_could_match(line) ? LOGFMT_STDERR
                                                                             : LOGFMT_AUTO;
}

/*
 * The readers' events pass through here: a line one cannot read that
 * starts a stretch of another format stops the feed's events there; the
 * rest of the buffer is read again in that format (logparser_feed).
 */
static void watch(void *arg, const struct event *ev)
{
    struct logparser *p = arg;
    if (p->switching)
        return; /* from the change on, the next reader tells */
    if (ev->kind == EV_UNPARSED && ev->message.ptr >= p->feed_buf &&
        ev->message.ptr < p->feed_buf + p->feed_len) {
        /* The unparsed text's first line: a csvlog reader's may run over several. */
        struct str line = ev->message;
        const char *nl = memchr(line.ptr, '\n', line.len);
        if (nl)
            line.len = (size_t)(nl - line.ptr);
        enum log_format f = line_kind(line);
        if (f != LOGFMT_AUTO && f != p->format) {
            p->switching = true;
            p->switch_at = (size_t)(ev->message.ptr - p->feed_buf);
            p->switch_line = ev->line;
            p->switch_to = f;
            return;
        }
    }
    p->emit(p->ctx, ev);
}

static size_t feed_reader(struct logparser *p, const char *buf, size_t len, bool eof,
                          event_fn *emit, void *ctx)
{
    switch (p->format) {
    case LOGFMT_CSV:
        return pgcsv_feed(&p->csv_r, buf, len, eof, emit, ctx);
    case LOGFMT_JSON:
        return pgjson_feed(&p->json_r, buf, len, eof, emit, ctx);
    case LOGFMT_SYSLOG:
        return pgsyslog_feed(&p->syslog_r, buf, len, eof, emit, ctx);
    case LOGFMT_PGBOUNCER:
        return bouncerlog_feed(&p->bouncer_r, buf, len, eof, emit, ctx);
    default:
        return pgstderr_feed(&p->stderr_r, buf, len, eof, emit, ctx);
    }
}

size_t logparser_feed(struct logparser *p, const char *buf, size_t len, bool eof, event_fn *emit,
                      void *ctx)
{
    if (!p->started) {
        /*
         * Decide on detect_bytes, or all there is at eof: the same bytes
         * however the caller cut the log into feeds.
         */
        if (len < p->detect_bytes && !eof)
            return 0;
        start(p, buf, len < p->detect_bytes ? len : p->detect_bytes);
    }
    if (p->format_given || p->format == LOGFMT_SYSLOG || p->format == LOGFMT_PGBOUNCER)
        return feed_reader(p, buf, len, eof, emit, ctx);
    size_t done = 0;
    for (;;) {
        p->feed_buf = buf + done;
        p->feed_len = len - done;
        p->emit = emit;
        p->ctx = ctx;
        p->switching = false;
        size_t used = feed_reader(p, buf + done, len - done, eof, watch, p);
        if (!p->switching)
            return done + used;
        /*
         * Another format from switch_at on: its reader starts there, on
         * detect_bytes as at the log's head (the caller brings more).
         */
        done += p->switch_at;
        stop(p);
        p->start_line = p->switch_line;
        p->format = p->switch_to;
        if (len - done < p->detect_bytes && !eof)
            return done;
        start(p, buf + done, len - done < p->detect_bytes ? len - done : p->detect_bytes);
    }
}

uint64_t logparser_line(const struct logparser *p)
{
    if (!p->started)
        return p->start_line;
    switch (p->format) {
    case LOGFMT_CSV:
        return p->csv_r.line;
    case LOGFMT_JSON:
        return p->json_r.line;
    case LOGFMT_SYSLOG:
        return p->syslog_r.line;
    case LOGFMT_PGBOUNCER:
        return p->bouncer_r.line;
    default:
        return p->stderr_r.line;
    }
}

void logparser_set_line(struct logparser *p, uint64_t line)
{
    p->start_line = line;
    if (!p->started)
        return;
    switch (p->format) {
    case LOGFMT_CSV:
        p->csv_r.line = line;
        break;
    case LOGFMT_JSON:
        p->json_r.line = line;
        break;
    case LOGFMT_SYSLOG:
        p->syslog_r.line = line;
        break;
    case LOGFMT_PGBOUNCER:
        p->bouncer_r.line = line;
        break;
    default:
        p->stderr_r.line = line;
        break;
    }
}

enum log_format logparser_format(const struct logparser *p)
{
    return p->format;
}

const struct pgprefix *logparser_prefix(const struct logparser *p)
{
    if (p->format == LOGFMT_SYSLOG)
        return p->started ? p->syslog_r.inner : NULL;
    return p->format == LOGFMT_STDERR ? p->prefix : NULL;
}

size_t logparser_sync(enum log_format format, const struct pgprefix *prefix, const char *buf,
                      size_t len)
{
    switch (format) {
    case LOGFMT_CSV:
        return pgcsv_sync(buf, len);
    case LOGFMT_JSON:
        return pgjson_sync(buf, len);
    case LOGFMT_SYSLOG:
        return pgsyslog_sync(buf, len);
    case LOGFMT_PGBOUNCER:
        return bouncerlog_sync(buf, len);
    default:
        return pgstderr_sync(prefix, buf, len);
    }
}
