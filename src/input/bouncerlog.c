/*
 * The PgBouncer log reader; see bouncerlog.h. One line is one record, so
 * the reader needs no state across lines but the line number and the time
 * cache.
 */
#include "bouncerlog.h"

#include <string.h>

#include "util/banned.h"

/* PgBouncer's log levels, as they head its lines. */
struct level {
    const char *word;
    size_t len;
    enum severity sev;
};

static const struct level levels[] = {
    { "LOG", 3, SEV_LOG },     { "WARNING", 7, SEV_WARNING }, { "ERROR", 5, SEV_ERROR },
    { "FATAL", 5, SEV_FATAL }, { "NOISE", 5, SEV_DEBUG },     { "DEBUG", 5, SEV_DEBUG },
};

/* Pooler errors that turn a client away for want of a server connection or a client slot. */
static const char *const refusals[] = {
    "no more connections allowed", "query_wait_timeout", "client_login_timeout",
    "pooler is full", /* max_db_connections / max_user_connections */
};

void bouncerlog_init(struct bouncerlog_reader *r, uint32_t input)
{
    memset(r, 0, sizeof(*r));
    r->line = 1;
    r->input = input;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * The head of a line: time, pid ("[123]" or "123") and level, each
 * followed by one blank. Returns the message's offset, 0 if the line has
 * no such head.
 */
static size_t parse_head(struct tstamp_cache *tc, struct str s, struct event *ev)
{
    bool known;
    int off;
    size_t n = tstamp_parse_cached(tc, s, &ev->ts_us, &off, &known);
    if (!n || n >= s.len || s.ptr[n] != ' ')
        return 0;
    ev->tz_offset_s = off;
    n++;
    bool bracket = n < s.len && s.ptr[n] == '[';
    n += bracket;
    size_t digits = n;
    while (n < s.len && is_digit(s.ptr[n]))
        n++;
    if (n == digits || n - digits > 10)
        return 0;
    if (bracket && (n >= s.len || s.ptr[n++] != ']'))
        return 0;
    if (n >= s.len || s.ptr[n++] != ' ')
        return 0;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        const struct level *l = &levels[i];
        if (s.len - n > l->len && memcmp(s.ptr + n, l->word, l->len) == 0 &&
            s.ptr[n + l->len] == ' ') {
            ev->severity = l->sev;
            return n + l->len + 1;
        }
    }
    return 0;
}

/* The number at the front of s (after blanks), into *v; false if none. */
static bool take_number(struct str *s, int64_t *v)
{
    *s = str_trim(*s);
    unsigned long long u;
    size_t n = str_parse_u64(*s, &u);
    if (!n || u > INT64_MAX)
        return false;
    *v = (int64_t)u;
    *s = str_skip(*s, n);
    return true;
}

/*
 * "stats: 40 xacts/s, 40 queries/s, in 2679 B/s, out 2586 B/s, xact 614 us,
 * query 614 us, wait 195 us" (1.8 and later; 1.21 adds parse and bind
 * rates), or PgBouncer 1.7's "Stats: 40 req/s, in … b/s, out … b/s,query
 * 614 us". Items are found by name, so the ones a version adds are skipped.
 */
static bool parse_stats(struct str s, struct pool_stats *ps)
{
    memset(ps, 0, sizeof(*ps));
    bool any = false;
    while (s.len) {
        const char *comma = memchr(s.ptr, ',', s.len);
        struct str item = str_trim(str_make(s.ptr, comma ? (size_t)(comma - s.ptr) : s.len));
        s = comma ? str_skip(s, (size_t)(comma - s.ptr) + 1) : str_make(s.ptr + s.len, 0);
        int64_t v;
        struct str rest = item;
        if (take_number(&rest, &v)) { /* "40 xacts/s" */
            rest = str_trim(rest);
            if (str_eq_cstr(rest, "xacts/s"))
                ps->xacts_per_s = v, any = true;
            else if (str_eq_cstr(rest, "queries/s") || str_eq_cstr(rest, "req/s"))
                ps->queries_per_s = v, any = true;
            continue;
        }
        const char *sp = memchr(item.ptr, ' ', item.len); /* "xact 614 us" */
        if (!sp)
            continue;
        struct str name = str_make(item.ptr, (size_t)(sp - item.ptr));
        rest = str_skip(item, name.len);
        if (!take_number(&rest, &v) || !str_eq_cstr(str_trim(rest), "us"))
            continue;
        if (str_eq_cstr(name, "xact"))
            ps->xact_us = v, any = true;
        else if (str_eq_cstr(name, "query"))
            ps->query_us = v, any = true;
        else if (str_eq_cstr(name, "wait"))
            ps->wait_us = v, any = true;
    }
    return any;
}

/*
 * "C-0x55d0c8a0e0a0: shop/app@10.0.0.7:40112 " (a client) or "S-0x…: …" (a
 * server connection): fills db, user and client, and returns the offset of
 * what follows; 0 if msg has no such head. "(nodb)" and "(nouser)" are
 * PgBouncer's words for a client that has not logged in: left empty.
 */
static size_t parse_socket(struct str msg, struct event *ev)
{
    if (msg.len < 4 || (msg.ptr[0] != 'C' && msg.ptr[0] != 'S') || msg.ptr[1] != '-')
        return 0;
    const char *colon = memchr(msg.ptr, ':', msg.len);
    if (!colon || (size_t)(colon - msg.ptr) + 2 > msg.len || colon[1] != ' ')
        return 0;
    size_t at = (size_t)(colon - msg.ptr) + 2;
    const char *end = memchr(msg.ptr + at, ' ', msg.len - at);
    struct str who = str_make(msg.ptr + at, end ? (size_t)(end - msg.ptr) - at : msg.len - at);
    const char *slash = memchr(who.ptr, '/', who.len);
    const char *atsign = slash ? memchr(slash, '@', who.len - (size_t)(slash - who.ptr)) : NULL;
    if (!slash || !atsign)
        return 0;
    struct str db = str_make(who.ptr, (size_t)(slash - who.ptr));
    struct str user = str_make(slash + 1, (size_t)(atsign - slash - 1));
    struct str addr = str_make(atsign + 1, who.len - (size_t)(atsign + 1 - who.ptr));
    for (size_t i = addr.len; i > 0; i--)
        if (addr.ptr[i - 1] == ':') { /* the port */
            addr.len = i - 1;
            break;
        }
    if (!str_eq_cstr(db, "(nodb)"))
        ev->db = db;
    if (!str_eq_cstr(user, "(nouser)"))
        ev->user = user;
    ev->client = addr;
    return end ? (size_t)(end - msg.ptr) + 1 : msg.len;
}

/*
 * "closing because: query_wait_timeout (age=20s)": a client that waited
 * that long for a server connection and was then turned away (its "pooler
 * error" line follows). The wait goes into duration_us.
 */
static void waited(struct str rest, struct event *ev)
{
    static const char closing[] = "closing because: query_wait_timeout (age=";
    if (!str_starts(rest, closing))
        return;
    struct str n = str_skip(rest, sizeof(closing) - 1);
    unsigned long long age;
    size_t len = str_parse_u64(n, &age);
    if (!len || len >= n.len || n.ptr[len] != 's' || age > 1000000000)
        return;
    ev->duration_us = (int64_t)age * 1000000;
    ev->flags |= EVF_POOL_WAITED;
}

static void read_line(struct bouncerlog_reader *r, struct str s, uint64_t line, event_fn *emit,
                      void *ctx)
{
    struct event ev;
    event_clear(&ev);
    ev.input = r->input;
    ev.line = line;
    size_t at = parse_head(&r->tc, s, &ev);
    if (!at) {
        event_emit_unparsed(emit, ctx, r->input, line, s);
        return;
    }
    struct str msg = str_skip(s, at);
    ev.message = msg;
    ev.kind = ev.severity >= SEV_ERROR ? EV_ERROR : EV_OTHER;
    struct pool_stats ps;
    if ((str_starts(msg, "stats: ") || str_starts(msg, "Stats: ")) &&
        parse_stats(str_skip(msg, 7), &ps)) {
        ev.kind = EV_POOL_STATS;
        ev.pool = &ps;
        emit(ctx, &ev);
        return;
    }
    size_t body = parse_socket(msg, &ev);
    struct str rest = str_skip(msg, body);
    static const char pooler[] = "pooler error: ";
    if (str_starts(rest, pooler)) {
        ev.kind = EV_ERROR;
        ev.severity = SEV_ERROR;
        ev.message = rest;
        struct str what = str_skip(rest, sizeof(pooler) - 1);
        for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
            if (str_starts(what, refusals[i]))
                ev.flags |= EVF_POOL_REFUSED;
    } else if (body) {
        ev.message = rest;
        waited(rest, &ev);
    }
    emit(ctx, &ev);
}

bool bouncerlog_is_line(const char *line, size_t len)
{
    struct tstamp_cache tc = { 0 };
    struct event ev;
    event_clear(&ev);
    return parse_head(&tc, str_make(line, len), &ev) != 0;
}

size_t bouncerlog_feed(struct bouncerlog_reader *r, const char *buf, size_t len, bool eof,
                       event_fn *emit, void *ctx)
{
    size_t at = 0;
    uint64_t line = r->line;
    while (at < len) {
        const char *p = buf + at;
        size_t n = len - at;
        const char *nl = memchr(p, '\n', n);
        if (!nl && !eof)
            break;
        size_t linelen = nl ? (size_t)(nl - p) : n;
        struct str s = str_make(p, linelen);
        if (s.len && s.ptr[s.len - 1] == '\r')
            s.len--;
        if (!nl) /* a last line without its newline was cut short: PgBouncer writes whole lines */
            event_emit_unparsed(emit, ctx, r->input, line, s);
        else if (s.len)
            read_line(r, s, line, emit, ctx);
        at += linelen + (nl != NULL);
        line++;
    }
    r->line = line;
    return at;
}

size_t bouncerlog_sync(const char *buf, size_t len)
{
    const char *p = memchr(buf, '\n', len), *end = buf + len;
    while (p && ++p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (bouncerlog_is_line(p, nl ? (size_t)(nl - p) : (size_t)(end - p)))
            return (size_t)(p - buf);
        p = nl;
    }
    return len;
}
