/*
 * The stderr-format reader; see pgstderr.h. This is the hot path of
 * `sleuth analyze`: every byte of a stderr log passes through the line loop
 * below once (memchr for the newline, the prefix matcher, the severity
 * word), and the fields of an event are slices of the caller's buffer.
 *
 * A record is its first line, the tab-indented continuation lines after it,
 * and the DETAIL/HINT/CONTEXT/STATEMENT/QUERY/LOCATION lines of the same
 * process that follow. PostgreSQL writes a whole record with one write(),
 * so these lines are adjacent in the file.
 */
#include "pgstderr.h"

#include "pgmsg.h"
#include "util/compat.h"

#include <stddef.h>
#include <string.h>

#include "util/banned.h"

void pgstderr_init(struct pgstderr_reader *r, const struct pgprefix *prefix, uint32_t input)
{
    /*
     * Re-detection initialises a reader for each prefix it tries, and a
     * memset of all of it, the prefix cache most, showed in its profile.
     */
    memset(r, 0, offsetof(struct pgstderr_reader, pc));
    pgprefix_cache_reset(&r->pc);
    r->prefix = prefix;
    r->given = prefix;
    r->line = 1;
    r->input = input;
}

void pgstderr_release(struct pgstderr_reader *r)
{
    for (size_t i = 0; i < r->nfound; i++)
        pgprefix_free(r->found[i]);
    r->nfound = 0;
    r->prefix = r->given;
}

/* One line of input, classified. */
struct line_info {
    const char *start; /* first byte of the line */
    const char *next;  /* first byte after its newline (or the end) */
    struct str text;   /* without the newline and a CR */
    bool complete;     /* ended by a newline */
    bool continuation; /* starts with a tab */
    bool record;       /* prefix and severity matched */
    char aux;          /* 'D', 'S', … for secondary fields, 0 for a primary record */
    enum severity sev;
    struct str body; /* the text after "SEVERITY:  " */
    struct event ev; /* what the prefix held (time, pid, user, …) */
};

static void read_line(struct pgstderr_reader *r, const char *p, const char *end, bool eof,
                      struct line_info *li)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    li->start = p;
    li->complete = nl != NULL;
    li->next = nl ? nl + 1 : end;
    size_t len = (size_t)((nl ? nl : end) - p);
    if (len && p[len - 1] == '\r')
        len--;
    li->text = str_make(p, len);
    li->continuation = len > 0 && p[0] == '\t';
    li->record = false;
    li->aux = 0;
    /* A line cut by the end of the buffer is read again with more bytes. */
    if (li->continuation || len == 0 || (!li->complete && !eof))
        return;
    size_t n;
    /* Only the fields a prefix can fill: a full event_clear per line costs. */
    li->ev.ts_us = TS_NONE;
    li->ev.tz_offset_s = 0;
    li->ev.pid = 0;
    li->ev.user = li->ev.db = li->ev.app = li->ev.client = li->ev.sqlstate = STR_NULL;
    if (!pgprefix_match(r->prefix, li->text, &li->ev, &r->pc, &n))
        return;
    struct str rest = str_skip(li->text, n);
    size_t w = pgmsg_severity(rest, &li->sev, &li->aux);
    if (!w)
        return;
    rest = str_skip(rest, w);
    while (rest.len && rest.ptr[0] == ' ')
        rest = str_skip(rest, 1);
    li->body = rest;
    li->record = true;
}

/* Extends a field slice over the continuation lines that follow it. */
static void extend(struct str *field, const struct line_info *cont)
{
    field->len = (size_t)(cont->text.ptr + cont->text.len - field->ptr);
}

/*
 * The lines from p on that re-detection judges a prefix by: up to
 * PGSTDERR_WINDOW_LINES lines within PGSTDERR_WINDOW_BYTES (a first line
 * longer than that is cut). Sets *n to their length; returns false if the
 * buffer ends before them (without eof).
 */
static bool window(const char *p, const char *end, bool eof, size_t *n)
{
    size_t avail = (size_t)(end - p);
    bool capped = avail > PGSTDERR_WINDOW_BYTES;
    if (capped)
        avail = PGSTDERR_WINDOW_BYTES;
    *n = 0;
    for (int k = 0; k < PGSTDERR_WINDOW_LINES; k++) {
        const char *nl = memchr(p + *n, '\n', avail - *n);
        if (!nl) {
            if (!eof && !capped)
                return false;
            if (*n == 0)
                *n = avail;
            return true;
        }
        *n = (size_t)(nl - p) + 1;
    }
    return true;
}

/*
 * The lines of w cand reads as records, if it reads its first line and at
 * least half of its lines that could be records; else 0.
 */
static size_t fits(const struct pgprefix *cand, struct str w)
{
    struct pgstderr_reader t;
    pgstderr_init(&t, cand, 0);
    const char *p = w.ptr, *end = w.ptr + w.len;
    size_t lines = 0, hits = 0;
    struct line_info li;
    while (p < end) {
        read_line(&t, p, end, true, &li);
        if (!li.continuation && li.text.len) {
            if (lines++ == 0 && !li.record)
                return 0;
            hits += li.record;
        }
        p = li.next;
    }
    return lines && hits * 2 >= lines ? hits : 0;
}

/*
 * The lines of w up to the first one after its first that prefix reads as
 * a record: where the prefix in use comes back, the lines of another one end.
 */
static struct str until_match(const struct pgprefix *prefix, struct str w)
{
    struct pgstderr_reader t;
    pgstderr_init(&t, prefix, 0);
    const char *p = w.ptr, *end = w.ptr + w.len;
    struct line_info li;
    read_line(&t, p, end, true, &li);
    for (p = li.next; p < end; p = li.next) {
        read_line(&t, p, end, true, &li);
        if (li.record)
            return str_make(w.ptr, (size_t)(p - w.ptr));
    }
    return w;
}

/* Makes cand the prefix in use; the per-process memo of the old one means nothing to it. */
static void use(struct pgstderr_reader *r, const struct pgprefix *cand)
{
    r->prefix = cand;
    pgprefix_cache_reset(&r->pc);
}

/*
 * A prefix that fits w: the given one or one found before (not the one in
 * use), else one of readers (pgprefix_readers() of w's first line) that
 * detection finds in w and that reads two lines or more (a stray line is no
 * new prefix), added to found[]. NULL if none.
 */
static const struct pgprefix *fitting(struct pgstderr_reader *r, struct str w, uint64_t readers)
{
    if (r->given != r->prefix && fits(r->given, w))
        return r->given;
    for (size_t i = 0; i < r->nfound; i++)
        if (r->found[i] != r->prefix && fits(r->found[i], w))
            return r->found[i];
    if (!readers || r->nfound == PGSTDERR_MAX_PREFIXES)
        return NULL;
    struct pgprefix *d = pgprefix_detect_from(w.ptr, w.len, readers);
    bool known = d && strcmp(pgprefix_spec(d), pgprefix_spec(r->given)) == 0;
    for (size_t i = 0; d && i < r->nfound && !known; i++)
        known = strcmp(pgprefix_spec(d), pgprefix_spec(r->found[i])) == 0;
    if (!d || known || fits(d, w) < 2) {
        pgprefix_free(d); /* a known one was tried above */
        return NULL;
    }
    r->found[r->nfound++] = d;
    return d;
}

/*
 * Looks for a prefix that the line at p and most of the lines after it
 * match, up to where the prefix in use matches again; when most of them
 * are another prefix's (a short stretch before a long one, or a -j range
 * that starts near the end of a stretch), in the first half of them, and
 * so on down to the line alone. Returns 1 if r->prefix changed, 0 if not,
 * -1 if the buffer ends before the lines it needs.
 */
NOINLINE static int redetect(struct pgstderr_reader *r, const char *p, const char *end, bool eof,
                             uint64_t line)
{
    size_t n;
    if (!window(p, end, eof, &n))
        return -1;
    struct str w = until_match(r->prefix, str_make(p, n));
    /* Where each of w's lines ends (a window has at most PGSTDERR_WINDOW_LINES), to halve it. */
    size_t ends[PGSTDERR_WINDOW_LINES], nlines = 0;
    for (const char *q = w.ptr, *e = w.ptr + w.len; q < e && nlines < PGSTDERR_WINDOW_LINES;) {
        const char *nl = memchr(q, '\n', (size_t)(e - q));
        q = nl ? nl + 1 : e;
        ends[nlines++] = (size_t)(q - w.ptr);
    }
    /* Every w below starts with the line at hand: which prefixes read it is asked once. */
    uint64_t readers = pgprefix_readers(w.ptr, w.len);
    for (; nlines; nlines /= 2) {
        const struct pgprefix *cand = fitting(r, str_make(w.ptr, ends[nlines - 1]), readers);
        if (cand) {
            use(r, cand);
            r->next_try = line + 1; /* the line is read again with cand, not re-detected */
            return 1;
        }
    }
    /* None: wait one line, then two after the next failure, and so on up to a window's worth. */
    uint32_t wait = r->backoff ? r->backoff : 1;
    r->next_try = line + wait;
    r->backoff = wait < PGSTDERR_WINDOW_LINES ? 2 * wait : PGSTDERR_WINDOW_LINES;
    return 0;
}

size_t pgstderr_feed(struct pgstderr_reader *r, const char *buf, size_t len, bool eof,
                     event_fn *emit, void *ctx)
{
    const char *p = buf, *end = buf + len;
    struct line_info li;
    uint64_t line = r->line;
    bool have_line = false; /* li already holds the line at p (read as a lookahead) */

    while (p < end) {
        if (!have_line)
            read_line(r, p, end, eof, &li);
        have_line = false;
        if (!li.complete && !eof)
            break;
        if (UNLIKELY(!li.record && r->redetect) && !li.continuation && li.text.len &&
            line >= r->next_try && pgprefix_could_match(li.text)) {
            int changed = redetect(r, p, end, eof, line);
            if (changed < 0)
                break;
            if (changed)
                continue; /* read the line again with the new prefix */
        }
        if (!li.record || li.aux) {
            /* Not the start of a record: a stray line (empty lines carry nothing). */
            if (li.text.len)
                event_emit_unparsed(emit, ctx, r->input, line, li.text);
            p = li.next;
            line++;
            continue;
        }
        /* li starts a record: gather what belongs to it. */
        r->next_try = 0;
        r->backoff = 0;
        const char *rec_start = p;
        uint64_t rec_line = line;
        struct event ev;
        event_clear(&ev);
        ev.ts_us = li.ev.ts_us;
        ev.tz_offset_s = li.ev.tz_offset_s;
        ev.pid = li.ev.pid;
        ev.user = li.ev.user;
        ev.db = li.ev.db;
        ev.app = li.ev.app;
        ev.client = li.ev.client;
        ev.sqlstate = li.ev.sqlstate;
        ev.severity = li.sev;
        ev.message = li.body;
        ev.kind = EV_OTHER;
        ev.line = rec_line;
        ev.input = r->input;
        struct str *field = &ev.message;
        bool need_more = false;
        p = li.next;
        line++;
        while (p < end) {
            read_line(r, p, end, eof, &li);
            if (!li.complete && !eof) {
                need_more = true;
                break;
            }
            if (li.continuation) {
                extend(field, &li);
            } else if (li.record && li.aux && li.ev.pid == ev.pid) {
                switch (li.aux) {
                case 'D':
                    field = &ev.detail;
                    break;
                case 'H':
                    field = &ev.hint;
                    break;
                case 'C':
                    field = &ev.context;
                    break;
                case 'S':
                    field = &ev.statement;
                    break;
                default:
                    /*
                     * QUERY and LOCATION: nothing sleuth uses yet; object is
                     * scratch here and cleared below.
                     */
                    field = &ev.object;
                    break;
                }
                *field = li.body;
            } else {
                have_line = true; /* the next record's first line */
                break;
            }
            p = li.next;
            line++;
        }
        if (p >= end && !eof)
            need_more = true;
        if (need_more) {
            /* The record may go on in bytes we have not seen: stop before it. */
            p = rec_start;
            line = rec_line;
            break;
        }
        ev.object = STR_NULL;
        pgmsg_classify(&ev);
        emit(ctx, &ev);
    }
    r->line = line;
    return (size_t)(p - buf);
}

size_t pgstderr_sync(const struct pgprefix *prefix, const char *buf, size_t len)
{
    struct pgstderr_reader r;
    pgstderr_init(&r, prefix, 0);
    const char *p = memchr(buf, '\n', len), *end = buf + len;
    struct line_info li;
    while (p && ++p < end) {
        read_line(&r, p, end, true, &li);
        if (li.record && !li.aux)
            return (size_t)(p - buf);
        p = li.complete ? li.next - 1 : NULL;
    }
    return len;
}
