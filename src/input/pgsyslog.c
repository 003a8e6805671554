/*
 * The syslog reader; see pgsyslog.h. It rewrites and delegates, so the
 * record grouping, the prefix and the message classification are the
 * stderr reader's. The rewrite copies each line once, which the syslog
 * format needs anyway (its continuation markers sit inside the text).
 */
#include "pgsyslog.h"

#include "util/tstamp.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* The parts of one syslog line that sleuth needs. */
struct syslog_line {
    int64_t ts_us; /* TS_NONE if the time could not be read */
    int offset_s;
    unsigned long long pid;
    bool first_part; /* "[N-1]": a new message */
    struct str text; /* what PostgreSQL wrote after "[N-M] " */
};

static int month_of(const char *p)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int m = 0; m < 12; m++)
        if (memcmp(p, months + 3 * m, 3) == 0)
            return m + 1;
    return 0;
}

/* "Nov 22 02:32:37" (BSD) or an ISO 8601 time (RFC 5424, rsyslog's high-precision format). */
static size_t parse_time(struct str s, int year, int64_t *ts_us, int *offset_s)
{
    size_t n = tstamp_parse(s, ts_us, offset_s, NULL);
    if (n)
        return n;
    if (s.len < 15 || s.ptr[3] != ' ' || s.ptr[6] != ' ' || s.ptr[9] != ':' || s.ptr[12] != ':')
        return 0;
    int mon = month_of(s.ptr);
    if (!mon)
        return 0;
    char iso[32];
    int day = (s.ptr[4] == ' ' ? 0 : (s.ptr[4] - '0') * 10) + (s.ptr[5] - '0');
    snprintf(iso, sizeof(iso), "%04d-%02d-%02d %.8s", year, mon, day, s.ptr + 7);
    if (!tstamp_parse(str_make(iso, 19), ts_us, offset_s, NULL))
        return 0;
    return 15;
}

/* Parses "TIME HOST IDENT[PID]: [N-M] TEXT"; false if the line is not of that shape. */
static bool parse_line(struct str l, int year, struct syslog_line *out)
{
    size_t n = parse_time(l, year, &out->ts_us, &out->offset_s);
    if (!n)
        return false;
    struct str rest = str_skip(l, n);
    /* HOST IDENT[PID]: */
    long sp = str_find(str_skip(rest, 1), " ");
    if (!rest.len || rest.ptr[0] != ' ' || sp < 0)
        return false;
    rest = str_skip(rest, (size_t)sp + 2);
    long br = str_find(rest, "[");
    long colon = str_find(rest, "]: ");
    if (br < 0 || colon < br)
        return false;
    if (str_parse_u64(str_skip(rest, (size_t)br + 1), &out->pid) != (size_t)(colon - br - 1))
        return false;
    rest = str_skip(rest, (size_t)colon + 3);
    /* [N-M] */
    unsigned long long seq, part;
    if (!rest.len || rest.ptr[0] != '[')
        return false;
    size_t d = str_parse_u64(str_skip(rest, 1), &seq);
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

bool pgsyslog_detect(const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    struct syslog_line sl;
    return parse_line(str_make(buf, nl ? (size_t)(nl - buf) : len), 2000, &sl);
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
    r->year = year;
    r->line = 1;
    pgstderr_init(&r->inner_r, NULL, input);
    if (inner_prefix)
        set_inner(r, pgprefix_dup(inner_prefix));
}

void pgsyslog_release(struct pgsyslog_reader *r)
{
    buf_release(&r->out);
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

/* Appends the stderr form of one input line (without its newline) to out. */
static void rewrite(struct pgsyslog_reader *r, struct str l)
{
    struct syslog_line sl;
    if (!parse_line(l, r->year, &sl)) {
        buf_addslice(&r->out, l); /* left for the stderr reader to count as unparsed */
        buf_addch(&r->out, '\n');
        return;
    }
    /*
     * A continuation starts with the tab PostgreSQL put after the message's
     * newline (rsyslog shows it as #011); the rest of a line longer than
     * syslog allows has none, and becomes a continuation too.
     */
    bool tab = str_starts(sl.text, "#011") || str_starts(sl.text, "\t");
    if (sl.first_part || (!tab && is_field_line(sl.text))) {
        tstamp_format(&r->out, sl.ts_us, sl.offset_s);
        /* "2026-11-22T02:32:37.000+00:00" → the "%m" form: a space, not a 'T'. */
        r->out.ptr[r->out.len - 19] = ' ';
        buf_addf(&r->out, " [%llu]: ", sl.pid);
    } else if (!tab) {
        buf_addch(&r->out, '\t');
    }
    /* rsyslog escapes control characters as #ooo: a tab is #011. */
    for (size_t i = 0; i < sl.text.len; i++) {
        if (sl.text.ptr[i] == '#' && i + 4 <= sl.text.len &&
            memcmp(sl.text.ptr + i, "#011", 4) == 0) {
            buf_addch(&r->out, '\t');
            i += 3;
        } else {
            buf_addch(&r->out, sl.text.ptr[i]);
        }
    }
    buf_addch(&r->out, '\n');
}

size_t pgsyslog_feed(struct pgsyslog_reader *r, const char *buf, size_t len, bool eof,
                     event_fn *emit, void *ctx)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl && !eof)
            break;
        size_t l = (size_t)((nl ? nl : end) - p);
        if (l && p[l - 1] == '\r')
            l--;
        rewrite(r, str_make(p, l));
        p = nl ? nl + 1 : end;
    }
    if (!r->prefix) {
        /* Decide the server's prefix on the first rewritten lines. */
        if (!eof && r->out.len < 64 * 1024)
            return (size_t)(p - buf);
        struct pgprefix *inner = pgprefix_detect_syslog(r->out.ptr, r->out.len);
        set_inner(r, inner ? inner : pgprefix_loose());
    }
    r->inner_r.line = r->line;
    size_t used = pgstderr_feed(&r->inner_r, r->out.ptr, r->out.len, eof, emit, ctx);
    /* Lines the inner reader used are gone; keep the rest for the next feed. */
    r->line = r->inner_r.line;
    memmove(r->out.ptr, r->out.ptr + used, r->out.len - used);
    buf_setlen(&r->out, r->out.len - used);
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
    struct pgprefix *inner = pgprefix_detect_syslog(r.out.ptr, r.out.len);
    pgsyslog_release(&r);
    return inner;
}

size_t pgsyslog_sync(const char *buf, size_t len)
{
    const char *p = memchr(buf, '\n', len), *end = buf + len;
    while (p && ++p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct syslog_line sl;
        if (parse_line(str_make(p, nl ? (size_t)(nl - p) : (size_t)(end - p)), 2000, &sl) &&
            sl.first_part)
            return (size_t)(p - buf);
        p = nl;
    }
    return len;
}
