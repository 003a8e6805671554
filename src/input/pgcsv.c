/*
 * The csvlog reader; see pgcsv.h. It sits at the front of the pipeline
 * (bytes -> events), under logparser.c, beside the stderr and jsonlog
 * readers.
 *
 * A record is scanned once, byte by byte in unquoted fields (short: times,
 * pids) and with memchr in quoted ones (messages, statements). Fields are
 * slices of the caller's buffer; only a quoted field with "" escapes is
 * copied, unescaped, into the reader's scratch buffer. The scanner is a
 * small state machine whose state lives in the reader, so a record cut by
 * the end of the buffer is resumed where it stopped when the caller feeds
 * it again with more bytes: a 50 MB unterminated quote is read once, not
 * once per feed.
 *
 * The scanner is strict where PostgreSQL is regular: string fields are
 * always quoted and numbers never are, so a '"' inside an unquoted field,
 * or anything but ',' or a newline after a closing quote, means the bytes
 * are not csvlog. That catches a stray quote at the next line instead of
 * letting it swallow the rest of the file.
 *
 * Throughput on pgbench.csv (47 MB, 167 344 records) fed whole, gcc -O2,
 * one core, classification included: about 650 MB/s of CPU time.
 */
#include "pgcsv.h"

#include "pgmsg.h"
#include "util/compat.h"

#include <string.h>

#include "util/banned.h"

/*
 * The column set grew over time: 22 columns in PostgreSQL 8.3 and 8.4,
 * application_name in 9.0 (23, up to 12), backend_type in 13 (24),
 * leader_pid and query_id in 14 (26, still so in 15 and later). Columns
 * keep their positions, so we key by count only to accept a record and
 * read the first 22 by index, and the application where there is one.
 */
enum csv_col {
    COL_LOG_TIME = 0,
    COL_USER = 1,
    COL_DB = 2,
    COL_PID = 3,
    COL_CONNECTION_FROM = 4, /* "host:port", or "[local]" */
    COL_SEVERITY = 11,
    COL_SQLSTATE = 12,
    COL_MESSAGE = 13,
    COL_DETAIL = 14,
    COL_HINT = 15,
    COL_CONTEXT = 18,
    COL_QUERY = 19, /* the statement the record is about (STATEMENT:) */
    COL_APP = 22,
};

/*
 * How far pgcsv_sync and the resync after a bad record look into a line
 * for the record shape: enough for the timestamp and quoted user and
 * database names (63 bytes each in PostgreSQL, twice that escaped).
 */
#define SYNC_WINDOW 512

enum scan_result {
    SCAN_MORE, /* the record goes on past the buffer */
    SCAN_OK,   /* a record of the csv shape ends at r->pos */
    SCAN_BAD,  /* not a csv record */
};

enum check {
    CHECK_NO,   /* the line does not start a record */
    CHECK_YES,  /* it does */
    CHECK_MORE, /* cannot tell before more bytes arrive */
};

void pgcsv_init(struct pgcsv_reader *r, uint32_t input)
{
    memset(r, 0, sizeof(*r));
    r->line = 1;
    r->input = input;
    buf_init(&r->scratch, 0);
}

void pgcsv_release(struct pgcsv_reader *r)
{
    buf_release(&r->scratch);
    r->pending = false;
}

enum severity pgcsv_severity(struct str s)
{
    static const struct {
        const char *word;
        enum severity sev;
    } words[] = {
        { "LOG", SEV_LOG },         { "ERROR", SEV_ERROR },   { "FATAL", SEV_FATAL },
        { "WARNING", SEV_WARNING }, { "NOTICE", SEV_NOTICE }, { "INFO", SEV_INFO },
        { "PANIC", SEV_PANIC },     { "DEBUG1", SEV_DEBUG },  { "DEBUG2", SEV_DEBUG },
        { "DEBUG3", SEV_DEBUG },    { "DEBUG4", SEV_DEBUG },  { "DEBUG5", SEV_DEBUG },
    };
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (str_eq_cstr(s, words[i].word))
            return words[i].sev;
    return SEV_NONE;
}

static size_t count_newlines(const char *p, size_t n)
{
    size_t count = 0;
    const char *end = p + n;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        count++;
        p++;
    }
    return count;
}

/* Starts the scan of a new record at buf[0]. */
static void scan_start(struct pgcsv_reader *r)
{
    r->pending = false;
    r->state = PGCSV_FIELD_START;
    r->pos = 0;
    r->lines = 0;
    r->nfields = 0;
    buf_reset(&r->scratch);
}

/* The end of a quoted field, at the '"' before rec[i]. */
static void close_quoted(struct pgcsv_reader *r, struct pgcsv_field *f, size_t i)
{
    f->len = f->scratch ? r->scratch.len - f->off : i - 1 - f->off;
}

/*
 * Scans the record at rec[0..n) from where the last call stopped. On
 * SCAN_OK the record (with its newline) is rec[0..r->pos) and its fields
 * are in r->fields. On SCAN_MORE the state is saved for the next call.
 */
static enum scan_result scan(struct pgcsv_reader *r, const char *rec, size_t n, bool eof)
{
    size_t i = r->pos;
    struct pgcsv_field *f = &r->fields[r->nfields < PGCSV_MAX_FIELDS ? r->nfields : 0];

    while (i < n) {
        switch (r->state) {
        case PGCSV_FIELD_START:
            if (r->nfields == PGCSV_MAX_FIELDS)
                return SCAN_BAD;
            f = &r->fields[r->nfields];
            f->scratch = false;
            if (rec[i] == '"') {
                f->off = ++i;
                r->state = PGCSV_QUOTED;
            } else {
                f->off = i;
                r->state = PGCSV_UNQUOTED;
            }
            break;
        case PGCSV_UNQUOTED:
            while (i < n && rec[i] != ',' && rec[i] != '\n' && rec[i] != '"')
                i++;
            if (i == n)
                break;
            if (rec[i] == '"')
                return SCAN_BAD;
            f->len = i - f->off;
            r->nfields++;
            if (rec[i] == ',') {
                r->state = PGCSV_FIELD_START;
                i++;
                break;
            }
            /* A CRLF file (copied through Windows): the CR is not data. */
            if (f->len && rec[i - 1] == '\r')
                f->len--;
            r->lines++;
            r->pos = i + 1;
            return SCAN_OK;
        case PGCSV_QUOTED: {
            const char *q = memchr(rec + i, '"', n - i);
            size_t stop = q ? (size_t)(q - rec) : n;
            r->lines += count_newlines(rec + i, stop - i);
            if (f->scratch)
                buf_add(&r->scratch, rec + i, stop - i);
            i = stop;
            if (q) {
                i++;
                r->state = PGCSV_QUOTE_SEEN;
            }
            break;
        }
        case PGCSV_QUOTE_SEEN:
            if (rec[i] == '"') {
                /* A "" escape: from here on the field is built in scratch. */
                if (!f->scratch) {
                    size_t off = r->scratch.len;
                    buf_add(&r->scratch, rec + f->off, i - f->off);
                    f->off = off;
                    f->scratch = true;
                } else {
                    buf_addch(&r->scratch, '"');
                }
                i++;
                r->state = PGCSV_QUOTED;
                break;
            }
            close_quoted(r, f, i);
            if (rec[i] == ',') {
                r->nfields++;
                r->state = PGCSV_FIELD_START;
                i++;
                break;
            }
            if (rec[i] == '\r') {
                if (i + 1 == n) {
                    r->pos = i;
                    return eof ? SCAN_BAD : SCAN_MORE;
                }
                i++;
            }
            if (rec[i] != '\n')
                return SCAN_BAD;
            r->nfields++;
            r->lines++;
            r->pos = i + 1;
            return SCAN_OK;
        case PGCSV_RESYNC:
            BUG("csv scan in resync state");
        }
    }
    r->pos = i;
    return eof ? SCAN_BAD : SCAN_MORE;
}

static struct str field(const struct pgcsv_reader *r, const char *rec, enum csv_col col)
{
    const struct pgcsv_field *f = &r->fields[col];
    if (f->len == 0)
        return STR_NULL;
    return str_make(f->scratch ? r->scratch.ptr + f->off : rec + f->off, f->len);
}

/* A process id: 1 to 10 digits that fit an int32. */
static bool parse_pid(struct str s, int32_t *pid)
{
    unsigned long long v;
    if (s.len == 0 || s.len > 10 || str_parse_u64(s, &v) != s.len || v > INT32_MAX)
        return false;
    *pid = (int32_t)v;
    return true;
}

/* The host of "host:port"; "[local]" and a bare host stay as they are. */
static struct str client_host(struct str from)
{
    size_t i = from.len;
    while (i > 0 && from.ptr[i - 1] >= '0' && from.ptr[i - 1] <= '9')
        i--;
    if (i > 0 && i < from.len && from.ptr[i - 1] == ':')
        from.len = i - 1;
    return from;
}

/* A log time that makes up the whole field. */
static bool parse_time(struct pgcsv_reader *r, struct str s, struct event *ev)
{
    return tstamp_parse_field(&r->tc, s, &ev->ts_us, &ev->tz_offset_s);
}

/* Checks a scanned record and fills ev from it; false if it is not csvlog. */
static bool record_event(struct pgcsv_reader *r, const char *rec, struct event *ev)
{
    if (r->nfields != 22 && r->nfields != 23 && r->nfields != 24 && r->nfields != 26)
        return false;
    /*
     * A NUL byte (PostgreSQL writes C strings: the file was damaged) or bytes that are not
     * UTF-8 stay in the fields; the renderers show them as U+FFFD.
     */
    event_clear(ev);
    if (!parse_time(r, field(r, rec, COL_LOG_TIME), ev) ||
        !parse_pid(field(r, rec, COL_PID), &ev->pid))
        return false;
    ev->kind = EV_OTHER;
    /* A translated severity (lc_messages other than C) stays SEV_NONE; the record still counts. */
    ev->severity = pgcsv_severity(field(r, rec, COL_SEVERITY));
    ev->user = field(r, rec, COL_USER);
    ev->db = field(r, rec, COL_DB);
    ev->client = client_host(field(r, rec, COL_CONNECTION_FROM));
    ev->sqlstate = field(r, rec, COL_SQLSTATE);
    ev->message = field(r, rec, COL_MESSAGE);
    ev->detail = field(r, rec, COL_DETAIL);
    ev->hint = field(r, rec, COL_HINT);
    ev->context = field(r, rec, COL_CONTEXT);
    ev->statement = field(r, rec, COL_QUERY);
    if (r->nfields > COL_APP)
        ev->app = field(r, rec, COL_APP);
    ev->input = r->input;
    return true;
}

/* A quoted name field ("" or "…") ending at a ','; returns its length with the comma, or 0. */
static size_t shape_name(const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == '"') {
        for (i++;; i++) {
            if (i >= n)
                return 0;
            if (p[i] != '"')
                continue;
            if (i + 1 < n && p[i + 1] == '"')
                i++;
            else
                break;
        }
        i++;
    }
    return i < n && p[i] == ',' ? i + 1 : 0;
}

/* Whether p[0..n), one line or its first SYNC_WINDOW bytes, has the shape of a record start. */
static bool shape_ok(const char *p, size_t n)
{
    static const char pattern[] = "dddd-dd-dd dd:dd:dd";
    if (n < 19)
        return false;
    for (size_t i = 0; i < 19; i++)
        if (pattern[i] == 'd' ? p[i] < '0' || p[i] > '9' : p[i] != pattern[i])
            return false;
    int64_t ts;
    int off;
    size_t i = tstamp_parse(str_make(p, n), &ts, &off, NULL);
    if (i == 0 || i >= n || p[i] != ',')
        return false;
    i++;
    for (int k = 0; k < 2; k++) {
        size_t w = shape_name(p + i, n - i);
        if (w == 0)
            return false;
        i += w;
    }
    size_t digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9' && digits <= 10) {
        i++;
        digits++;
    }
    return digits >= 1 && digits <= 10 && i < n && p[i] == ',';
}

/*
 * Whether the line at p (n bytes up to the end of the buffer) starts a
 * record. The verdict depends only on the line's first SYNC_WINDOW bytes,
 * never on where the buffer ends, so chunked and whole feeds agree.
 */
static enum check line_check(const char *p, size_t n, bool final)
{
    size_t w = n < SYNC_WINDOW ? n : SYNC_WINDOW;
    const char *nl = memchr(p, '\n', w);
    if (nl)
        return shape_ok(p, (size_t)(nl - p)) ? CHECK_YES : CHECK_NO;
    if (w == SYNC_WINDOW || final)
        return shape_ok(p, w) ? CHECK_YES : CHECK_NO;
    /* Too short to judge yet; rule out what cannot become a timestamp. */
    for (size_t i = 0; i < w && i < 4; i++)
        if (p[i] < '0' || p[i] > '9')
            return CHECK_NO;
    return CHECK_MORE;
}

bool pgcsv_starts_record(const char *p, size_t n)
{
    return line_check(p, n, true) == CHECK_YES;
}

size_t pgcsv_sync(const char *buf, size_t len)
{
    size_t at = 0;
    while (at < len) {
        if (line_check(buf + at, len - at, true) == CHECK_YES)
            return at;
        const char *nl = memchr(buf + at, '\n', len - at);
        if (!nl)
            break;
        at = (size_t)(nl - buf) + 1;
    }
    return len;
}

/*
 * After a bad record at rec[0]: finds the next line after its first one
 * that looks like a record start. r->pos is where the newline search
 * resumes. On SCAN_OK *end is the end of the bad bytes.
 */
static enum scan_result resync(struct pgcsv_reader *r, const char *rec, size_t n, bool eof,
                               size_t *end)
{
    for (;;) {
        const char *nl = memchr(rec + r->pos, '\n', n - r->pos);
        if (!nl) {
            r->pos = n;
            if (!eof)
                return SCAN_MORE;
            *end = n;
            return SCAN_OK;
        }
        size_t cand = (size_t)(nl - rec) + 1;
        switch (line_check(rec + cand, n - cand, eof)) {
        case CHECK_YES:
            *end = cand;
            return SCAN_OK;
        case CHECK_NO:
            r->pos = cand;
            break;
        case CHECK_MORE:
            r->pos = cand - 1;
            return SCAN_MORE;
        }
    }
}

size_t pgcsv_feed(struct pgcsv_reader *r, const char *buf, size_t len, bool eof, event_fn *emit,
                  void *ctx)
{
    /* A saved scan is for this buffer only if the caller kept to the protocol. */
    if (r->pending && (r->line != r->pending_line || len < r->pos))
        r->pending = false;
    size_t at = 0;
    uint64_t line = r->line;
    while (at < len) {
        const char *rec = buf + at;
        size_t n = len - at;
        if (!r->pending) {
            /* PostgreSQL writes no empty lines; skip them as the stderr reader does. */
            if (rec[0] == '\n') {
                at++;
                line++;
                continue;
            }
            scan_start(r);
        }
        r->pending = false;
        enum scan_result res = r->state == PGCSV_RESYNC ? SCAN_BAD : scan(r, rec, n, eof);
        if (res == SCAN_OK) {
            struct event ev;
            if (record_event(r, rec, &ev)) {
                ev.line = line;
                pgmsg_classify(&ev);
                emit(ctx, &ev);
                at += r->pos;
                line += r->lines;
                continue;
            }
            res = SCAN_BAD;
        }
        if (res == SCAN_BAD && r->state != PGCSV_RESYNC) {
            r->state = PGCSV_RESYNC;
            r->pos = 0;
        }
        size_t end = 0;
        if (res == SCAN_MORE || resync(r, rec, n, eof, &end) == SCAN_MORE) {
            r->pending = true;
            break;
        }
        event_emit_unparsed(emit, ctx, r->input, line,
                            str_make(rec, end && rec[end - 1] == '\n' ? end - 1 : end));
        at += end;
        line += count_newlines(rec, end);
    }
    r->line = line;
    r->pending_line = line;
    return at;
}
