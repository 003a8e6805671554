/*
 * The syslog reader; see pgsyslog.h. It rewrites and delegates, so the
 * record grouping, the prefix and the message classification are the
 * stderr reader's. The rewrite copies each line once, which the syslog
 * format needs anyway (its continuation markers sit inside the text).
 */
#include "pgsyslog.h"

#include "util/tstamp.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* The parts of one syslog line that sleuth needs. */
struct syslog_line {
    int64_t ts_us; /* TS_NONE if the time could not be read */
    int offset_s;
    unsigned long long pid;
    unsigned long long seq; /* N in "[N-M]": the process's message number */
    bool first_part;        /* "[N-1]": a new message */
    struct str text;        /* what PostgreSQL wrote after "[N-M] " */
};

static int month_of(const char *p)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int m = 0; m < 12; m++)
        if (memcmp(p, months + 3 * m, 3) == 0)
            return m + 1;
    return 0;
}

/* "Nov 22 02:32:37[.123456]": BSD syslog, with rsyslog's fraction when it has one. */
static size_t parse_bsd_time(struct str s, int year, int64_t *ts_us, int *offset_s)
{
    if (s.len < 15 || s.ptr[3] != ' ' || s.ptr[6] != ' ' || s.ptr[9] != ':' || s.ptr[12] != ':')
        return 0;
    int mon = month_of(s.ptr);
    if (!mon)
        return 0;
    size_t n = 15;
    if (n < s.len && s.ptr[n] == '.') {
        n++;
        while (n < s.len && n < 22 && s.ptr[n] >= '0' && s.ptr[n] <= '9')
            n++;
    }
    char iso[40];
    int day = (s.ptr[4] == ' ' ? 0 : (s.ptr[4] - '0') * 10) + (s.ptr[5] - '0');
    int len =
        snprintf(iso, sizeof(iso), "%04d-%02d-%02d %.*s", year, mon, day, (int)(n - 7), s.ptr + 7);
    if (tstamp_parse(str_make(iso, (size_t)len), ts_us, offset_s, NULL) != (size_t)len)
        return 0;
    return n;
}

/*
 * A year-first time ("2026-11-22T02:32:37.123+00:00", "2026-11-22 02:32:37"):
 * rsyslog's high-precision format, syslog-ng's ISO one, RFC 5424. Only the
 * time is offered to the parser, which would take the host for a zone name.
 */
static size_t parse_iso_time(struct str s, int64_t *ts_us, int *offset_s)
{
    size_t n = 0, blanks = s.len > 10 && s.ptr[10] == ' ' ? 2 : 1;
    while (n < s.len && (s.ptr[n] != ' ' || --blanks))
        n++;
    return tstamp_parse(str_make(s.ptr, n), ts_us, offset_s, NULL);
}

/* Skips one blank-free word and the blank after it; false if there is none. */
static bool skip_word(struct str *s)
{
    long sp = str_find(*s, " ");
    if (sp <= 0)
        return false;
    *s = str_skip(*s, (size_t)sp + 1);
    return true;
}

/*
 * Heroku's logplex ("heroku logs"): "TIME app[postgres.1234]: MSG", no
 * host, the pid after the process type. Whether rest starts with such an
 * IDENT[...]: word.
 */
static bool no_host(struct str rest)
{
    long sp = str_find(rest, " ");
    long br = str_find(rest, "[");
    return sp > 2 && br > 0 && br < sp && rest.ptr[sp - 1] == ':' && rest.ptr[sp - 2] == ']';
}

/* The pid in "1234" or "postgres.1234" (the digits after the last dot); false if none. */
static bool parse_pid(struct str in, unsigned long long *pid)
{
    const char *dot = NULL;
    for (size_t i = 0; i < in.len; i++)
        if (in.ptr[i] == '.')
            dot = in.ptr + i;
    if (dot)
        in = str_skip(in, (size_t)(dot - in.ptr) + 1);
    return in.len && str_parse_u64(in, pid) == in.len;
}

/* RFC 5424 after "<PRI>1 ": "TIME HOST APP PROCID MSGID SD MSG". */
static bool parse_rfc5424(struct str rest, struct syslog_line *out, struct str *msg)
{
    size_t n = parse_iso_time(rest, &out->ts_us, &out->offset_s);
    if (!n || n >= rest.len || rest.ptr[n] != ' ')
        return false;
    rest = str_skip(rest, n + 1);
    if (!skip_word(&rest) || !skip_word(&rest)) /* HOST APP */
        return false;
    long sp = str_find(rest, " "); /* PROCID: "1234", or logplex's "postgres.1234" */
    if (sp <= 0 || !parse_pid(str_make(rest.ptr, (size_t)sp), &out->pid))
        return false;
    rest = str_skip(rest, (size_t)sp + 1);
    if (!skip_word(&rest)) /* MSGID */
        return false;
    if (str_starts(rest, "- ")) {
        rest = str_skip(rest, 2);
    } else {
        /* Structured data: "[id k=\"v\"]…" up to the blank after its last ']'. */
        long end;
        while (rest.len && rest.ptr[0] == '[' && (end = str_find(rest, "]")) >= 0)
            rest = str_skip(rest, (size_t)end + 1);
        if (!rest.len || rest.ptr[0] != ' ')
            return false;
        rest = str_skip(rest, 1);
    }
    if (str_starts(rest, "\xEF\xBB\xBF")) /* the BOM RFC 5424 allows before a UTF-8 MSG */
        rest = str_skip(rest, 3);
    *msg = rest;
    return true;
}

/* BSD and year-first: "TIME HOST IDENT[PID]: MSG" (logplex: no HOST). */
static bool parse_classic(struct str l, int year, struct syslog_line *out, struct str *msg)
{
    size_t n = parse_bsd_time(l, year, &out->ts_us, &out->offset_s);
    if (!n)
        n = parse_iso_time(l, &out->ts_us, &out->offset_s);
    if (!n)
        return false;
    struct str rest = str_skip(l, n);
    if (!rest.len || rest.ptr[0] != ' ')
        return false;
    rest = str_skip(rest, 1);
    if (!no_host(rest) && !skip_word(&rest)) /* HOST */
        return false;
    /* IDENT is not empty: "2026-11-22 02:32:37 UTC [123]: [1-1]" is PostgreSQL's own stderr. */
    long br = str_find(rest, "[");
    long colon = str_find(rest, "]: ");
    if (br <= 0 || colon < br)
        return false;
    if (!parse_pid(str_make(rest.ptr + br + 1, (size_t)(colon - br - 1)), &out->pid))
        return false;
    *msg = str_skip(rest, (size_t)colon + 3);
    return true;
}

/*
 * Heroku puts the database's attachment before "[N-M]": "[DATABASE] ",
 * "[HEROKU_POSTGRESQL_RED] ", "[BRONZE] " (capitals, digits and '_').
 */
static void skip_attachment(struct str *rest)
{
    size_t n = 1;
    if (!rest->len || rest->ptr[0] != '[')
        return;
    while (n < rest->len && ((rest->ptr[n] >= 'A' && rest->ptr[n] <= 'Z') || rest->ptr[n] == '_' ||
                             (rest->ptr[n] >= '0' && rest->ptr[n] <= '9')))
        n++;
    if (n > 1 && rest->len > n + 2 && rest->ptr[n] == ']' && rest->ptr[n + 1] == ' ' &&
        rest->ptr[n + 2] == '[')
        *rest = str_skip(*rest, n + 2);
}

/* Parses one syslog line down to "[N-M] TEXT"; false if it is not a PostgreSQL syslog line. */
static bool parse_line(struct str l, int year, struct syslog_line *out)
{
    struct str rest;
    bool rfc5424 = false;
    if (l.len && l.ptr[0] == '<') {
        /* "<PRI>", then "1 " for RFC 5424; a BSD line forwarded raw has the PRI too. */
        size_t d = 1;
        while (d < l.len && l.ptr[d] >= '0' && l.ptr[d] <= '9')
            d++;
        if (d == 1 || d >= l.len || l.ptr[d] != '>')
            return false;
        l = str_skip(l, d + 1);
        rfc5424 = str_starts(l, "1 ");
        if (rfc5424)
            l = str_skip(l, 2);
    }
    if (!(rfc5424 ? parse_rfc5424(l, out, &rest) : parse_classic(l, year, out, &rest)))
        return false;
    skip_attachment(&rest);
    /* [N-M] */
    unsigned long long part;
    if (!rest.len || rest.ptr[0] != '[')
        return false;
    size_t d = str_parse_u64(str_skip(rest, 1), &out->seq);
    if (!d || rest.len < d + 3 || rest.ptr[1 + d] != '-')
        return false;
    rest = str_skip(rest, d + 2);
    d = str_parse_u64(rest, &part);
    if (!d || rest.len < d + 1 || rest.ptr[d] != ']')
        return false;
    rest = str_skip(rest, d + 1);
    if (rest.len && rest.ptr[0] == ' ')
        rest = str_skip(rest, 1);
    out->first_part = part == 1;
    out->text = rest;
    return true;
}

/*
 * A Cloud Logging entry of Google Cloud SQL, one JSON object a line (a log
 * sink's export, or `gcloud logging read --format=json | jq -c '.[]'`):
 * its textPayload is one record as the server wrote it, with the prefix
 * "%m [%p]: [%l-1] db=%d,user=%u ". Whether l is one; appends the payload
 * to out then. jansson reads it: such lines carry 500 bytes of resource
 * labels and ids for every record, and their volume is not stderr's.
 */
static bool cloud_payload(struct str l, struct buf *out)
{
    if (!l.len || l.ptr[0] != '{' || str_find(l, "\"textPayload\"") < 0)
        return false;
    json_error_t jerr;
    json_t *o = json_loadb(l.ptr, l.len, 0, &jerr);
    json_t *t = json_object_get(o, "textPayload");
    bool ok = json_is_string(t);
    if (ok) {
        size_t n = json_string_length(t);
        const char *s = json_string_value(t);
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
            n--;
        buf_add(out, s, n);
        buf_addch(out, '\n');
    }
    json_decref(o);
    return ok;
}

bool pgsyslog_detect(const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    struct str l = str_make(buf, nl ? (size_t)(nl - buf) : len);
    struct syslog_line sl;
    struct buf payload = BUF_INIT;
    bool cloud = cloud_payload(l, &payload);
    buf_release(&payload);
    return cloud || parse_line(l, 2000, &sl);
}

static void set_inner(struct pgsyslog_reader *r, struct pgprefix *inner)
{
    r->inner = inner;
    if (pgprefix_is_loose(inner)) {
        r->prefix = pgprefix_loose();
    } else {
        struct err err;
        char spec[512];
        snprintf(spec, sizeof(spec), "%s%s", PGPREFIX_SYSLOG_HEAD, pgprefix_spec(inner));
        r->prefix = pgprefix_compile(spec, &err);
        ASSERT(r->prefix);
    }
    r->inner_r.prefix = r->prefix;
}

void pgsyslog_init(struct pgsyslog_reader *r, const struct pgprefix *inner_prefix, int year,
                   uint32_t input)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->out, 0);
    for (size_t i = 0; i < PGSYSLOG_OPEN_SLOTS; i++)
        buf_init(&r->open[i].text, 0);
    r->detect_bytes = PGSYSLOG_DETECT_BYTES;
    r->year = year;
    r->line = 1;
    r->out_line = 1;
    r->out_left = SIZE_MAX;
    pgstderr_init(&r->inner_r, NULL, input);
    if (inner_prefix)
        set_inner(r, pgprefix_dup(inner_prefix));
}

void pgsyslog_release(struct pgsyslog_reader *r)
{
    buf_release(&r->out);
    for (size_t i = 0; i < PGSYSLOG_OPEN_SLOTS; i++)
        buf_release(&r->open[i].text);
    free(r->lmap);
    pgprefix_free(r->prefix);
    pgprefix_free(r->inner);
}

/*
 * Whether a later part of a message is a line of its own (a DETAIL,
 * STATEMENT… field, which PostgreSQL writes with the prefix again) rather
 * than a continuation: the severity word of such a field comes early.
 */
static bool is_field_line(struct str text)
{
    static const char *const words[] = { "DETAIL:  ",  "STATEMENT:  ", "HINT:  ",
                                         "CONTEXT:  ", "QUERY:  ",     "LOCATION:  " };
    struct str head = str_make(text.ptr, text.len < 300 ? text.len : 300);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (str_find(head, words[i]) >= 0)
            return true;
    return false;
}

/* Appends the stderr form of a parsed syslog line to b. */
static void add_stderr_form(struct buf *b, const struct syslog_line *sl)
{
    /*
     * A continuation starts with the tab PostgreSQL put after the message's
     * newline (rsyslog shows it as #011); the rest of a line longer than
     * syslog allows has none, and becomes a continuation too.
     */
    bool tab = str_starts(sl->text, "#011") || str_starts(sl->text, "\t");
    if (sl->first_part || (!tab && is_field_line(sl->text))) {
        size_t at = b->len;
        tstamp_format(b, sl->ts_us, sl->offset_s);
        /* "2026-11-22T02:32:37.000+00:00" → the "%m" form: a space, not a 'T'… */
        b->ptr[at + 10] = ' ';
        /* …and the microseconds of rsyslog's high-precision times after the milliseconds. */
        char zone[6];
        memcpy(zone, b->ptr + b->len - 6, 6);
        buf_setlen(b, b->len - 6);
        buf_addf(b, "%03d", (int)((sl->ts_us % 1000 + 1000) % 1000));
        buf_add(b, zone, 6);
        buf_addf(b, " [%llu]: ", sl->pid);
    } else if (!tab) {
        buf_addch(b, '\t');
    }
    /* rsyslog escapes control characters as #ooo: a tab is #011. The bytes between go in runs. */
    const char *t = sl->text.ptr;
    for (size_t i = 0, n = sl->text.len; i < n;) {
        const char *hash = memchr(t + i, '#', n - i);
        size_t at = hash ? (size_t)(hash - t) : n;
        buf_add(b, t + i, at - i);
        i = at;
        if (i + 4 <= n && memcmp(t + i, "#011", 4) == 0) {
            buf_addch(b, '\t');
            i += 4;
        } else if (i < n) {
            buf_addch(b, '#');
            i++;
        }
    }
    buf_addch(b, '\n');
}

/* Notes the input line number of the next n lines added to out. */
static void map_lines(struct pgsyslog_reader *r, uint64_t line, size_t n)
{
    r->lmap = xgrow(r->lmap, &r->lmap_cap, r->nlmap + n, sizeof(*r->lmap));
    while (n--)
        r->lmap[r->nlmap++] = line;
}

/* Moves an open message to the output, in one piece. */
static void close_message(struct pgsyslog_reader *r, struct pgsyslog_open *m)
{
    /* Only its first line can start a record: all its lines map to that one's number. */
    size_t n = 0;
    for (const char *p = m->text.ptr, *end = p + m->text.len;
         (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        n++;
    map_lines(r, r->base + m->first - 1, n);
    buf_addslice(&r->out, str_make(m->text.ptr, m->text.len));
    buf_reset(&m->text);
    m->used = false;
}

/*
 * Closes the open messages whose process wrote nothing since line `before` (all: UINT64_MAX),
 * oldest first.
 */
static void close_quiet(struct pgsyslog_reader *r, uint64_t before)
{
    for (;;) {
        struct pgsyslog_open *oldest = NULL;
        for (size_t i = 0; i < PGSYSLOG_OPEN_SLOTS; i++) {
            struct pgsyslog_open *m = &r->open[i];
            if (m->used && m->last < before && (!oldest || m->first < oldest->first))
                oldest = m;
        }
        if (!oldest)
            return;
        close_message(r, oldest);
    }
}

/* The slot for a new message of pid: a free one, else the least recently written (closed first). */
static struct pgsyslog_open *open_slot(struct pgsyslog_reader *r)
{
    struct pgsyslog_open *pick = &r->open[0];
    for (size_t i = 0; i < PGSYSLOG_OPEN_SLOTS; i++) {
        if (!r->open[i].used)
            return &r->open[i];
        if (r->open[i].last < pick->last)
            pick = &r->open[i];
    }
    close_message(r, pick);
    return pick;
}

/*
 * Rewrites one input line (without its newline). Concurrent backends
 * interleave their parts, so a message is gathered in a slot of its own
 * and joins the output once whole: a part "[N-M]" goes to the open message
 * of the same pid and the same N, not to the line read before it.
 */
static void rewrite(struct pgsyslog_reader *r, struct str l)
{
    struct syslog_line sl;
    r->nread++;
    size_t before = r->out.len;
    if (cloud_payload(l, &r->out)) {
        size_t n = 0;
        for (size_t i = before; i < r->out.len; i++)
            n += r->out.ptr[i] == '\n';
        map_lines(r, r->base + r->nread - 1, n);
        return;
    }
    if (!parse_line(l, r->year, &sl)) {
        map_lines(r, r->base + r->nread - 1, 1);
        buf_addslice(&r->out, l); /* left for the stderr reader to count as unparsed */
        buf_addch(&r->out, '\n');
        return;
    }
    struct pgsyslog_open *m = NULL;
    for (size_t i = 0; i < PGSYSLOG_OPEN_SLOTS && !m; i++)
        if (r->open[i].used && r->open[i].pid == sl.pid)
            m = &r->open[i];
    if (sl.first_part) {
        if (m)
            close_message(r, m); /* a process's next message ends its previous one */
        else
            m = open_slot(r);
        m->used = true;
        m->pid = sl.pid;
        m->seq = sl.seq;
        m->first = r->nread;
    } else if (!m || m->seq != sl.seq) {
        map_lines(r, r->base + r->nread - 1, 1);
        add_stderr_form(&r->out, &sl); /* a part whose first we did not see */
        return;
    }
    m->last = r->nread;
    add_stderr_form(&m->text, &sl);
}

/* Passes an event on with the input line number of its first line. */
struct relay {
    const struct pgsyslog_reader *r;
    uint64_t out_line; /* the inner reader's number for the first line of out */
    event_fn *emit;
    void *ctx;
};

static void relay_event(void *ctx, const struct event *ev)
{
    const struct relay *rl = ctx;
    struct event e = *ev;
    uint64_t k = ev->line - rl->out_line;
    if (ev->line >= rl->out_line && k < rl->r->nlmap)
        e.line = rl->r->lmap[k];
    rl->emit(rl->ctx, &e);
}

size_t pgsyslog_feed(struct pgsyslog_reader *r, const char *buf, size_t len, bool eof,
                     event_fn *emit, void *ctx)
{
    const char *p = buf, *end = buf + len;
    if (!r->nread)
        r->base = r->line;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl && !eof)
            break;
        size_t l = (size_t)((nl ? nl : end) - p);
        if (l && p[l - 1] == '\r')
            l--;
        rewrite(r, str_make(p, l));
        p = nl ? nl + 1 : end;
        /*
         * A process writes a message's parts in one go: one quiet for a
         * while has its message whole. Checked by line count, not per
         * feed, so that how the input is cut does not change the output.
         */
        if (r->nread % 64 == 0 && r->nread > PGSYSLOG_OPEN_WINDOW)
            close_quiet(r, r->nread - PGSYSLOG_OPEN_WINDOW);
    }
    if (eof)
        close_quiet(r, UINT64_MAX);
    r->line = r->base + r->nread;
    if (!r->prefix) {
        /* Decide the server's prefix on the first rewritten lines, as many whatever the feeds. */
        if (!eof && r->out.len < r->detect_bytes)
            return (size_t)(p - buf);
        struct pgprefix *inner = pgprefix_detect_syslog(
            r->out.ptr, r->out.len < r->detect_bytes ? r->out.len : r->detect_bytes);
        set_inner(r, inner ? inner : pgprefix_loose());
    }
    /*
     * The inner reader stopped at the start of out because it needed more
     * lines: without any, it would stop there again. Fed in small pieces
     * (fuzz_syslog), asking it again re-read the pending record every time.
     */
    if (!eof && r->out.len == r->out_left)
        return (size_t)(p - buf);
    r->inner_r.line = r->out_line;
    struct relay rl = { r, r->out_line, emit, ctx };
    size_t used = pgstderr_feed(&r->inner_r, r->out.ptr, r->out.len, eof, relay_event, &rl);
    /* Lines the inner reader used are gone; keep the rest for the next feed. */
    size_t gone = (size_t)(r->inner_r.line - r->out_line);
    ASSERT(gone <= r->nlmap);
    if (gone) {
        memmove(r->lmap, r->lmap + gone, (r->nlmap - gone) * sizeof(*r->lmap));
        r->nlmap -= gone;
    }
    r->out_line = r->inner_r.line;
    memmove(r->out.ptr, r->out.ptr + used, r->out.len - used);
    buf_setlen(&r->out, r->out.len - used);
    r->out_left = r->out.len;
    return (size_t)(p - buf);
}

struct pgprefix *pgsyslog_detect_prefix(const char *buf, size_t len)
{
    struct pgsyslog_reader r;
    pgsyslog_init(&r, NULL, 2000, 0);
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        rewrite(&r, str_make(p, (size_t)((nl ? nl : end) - p)));
        p = nl ? nl + 1 : end;
    }
    close_quiet(&r, UINT64_MAX);
    struct pgprefix *inner = pgprefix_detect_syslog(r.out.ptr, r.out.len);
    pgsyslog_release(&r);
    return inner;
}

size_t pgsyslog_sync(const char *buf, size_t len)
{
    const char *p = memchr(buf, '\n', len), *end = buf + len;
    while (p && ++p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct str l = str_make(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
        struct syslog_line sl;
        struct buf payload = BUF_INIT;
        bool start = cloud_payload(l, &payload) ? !is_field_line(str_make(payload.ptr, payload.len))
                                                : parse_line(l, 2000, &sl) && sl.first_part;
        buf_release(&payload);
        if (start)
            return (size_t)(p - buf);
        p = nl;
    }
    return len;
}
