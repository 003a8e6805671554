/*
 * log_line_prefix compilation, matching and detection; see pgprefix.h.
 *
 * A prefix compiles to a list of items: literal text or one escape. Fields
 * of free width (%u, %d, %a, …) end where the next literal text starts, so
 * "user=%u,db=%d" splits on ",db=" and a user name with a comma still fits.
 * After the prefix must come a severity word, which keeps a false match from
 * passing unnoticed.
 */
#include "pgprefix.h"

#include "pgmsg.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

enum item_kind {
    IT_LITERAL,    /* text that must be there */
    IT_TIME,       /* %t, %m: "2026-11-22 02:32:37[.361] UTC" */
    IT_EPOCH,      /* %n: "1700000000.123" */
    IT_PID,        /* %p */
    IT_NUMBER,     /* %l, %x, %Q, %P: digits */
    IT_USER,       /* %u */
    IT_DB,         /* %d */
    IT_APP,        /* %a */
    IT_HOST,       /* %h */
    IT_HOSTPORT,   /* %r: host(port) or [local] */
    IT_SQLSTATE,   /* %e */
    IT_SESSION,    /* %c: "starttime.pid" in hex; gives the pid when %p is absent */
    IT_WORD,       /* %v, %i, %b: free text, skipped */
    IT_SESS_START, /* %s: a timestamp that is not the event's time */
    IT_QSTOP,      /* %q: non-session processes stop here */
};

struct item {
    enum item_kind kind;
    char *text; /* IT_LITERAL */
    size_t len;
};

struct pgprefix {
    struct item *items;
    size_t n;
    bool loose;
    bool time_first; /* its only time (%t, %m, %s) is its first item */
    char *spec;
};

static void add_item(struct pgprefix *p, size_t *cap, enum item_kind kind, const char *text,
                     size_t len)
{
    if (kind == IT_LITERAL && p->n && p->items[p->n - 1].kind == IT_LITERAL) {
        struct item *last = &p->items[p->n - 1];
        last->text = xrealloc(last->text, last->len + len + 1);
        memcpy(last->text + last->len, text, len);
        last->len += len;
        last->text[last->len] = '\0';
        return;
    }
    p->items = xgrow(p->items, cap, p->n + 1, sizeof(*p->items));
    p->items[p->n++] = (struct item){ kind, kind == IT_LITERAL ? xmemdup(text, len) : NULL, len };
}

struct pgprefix *pgprefix_compile(const char *spec, struct err *err)
{
    struct pgprefix *p = xcalloc(1, sizeof(*p));
    size_t cap = 0;
    p->spec = xstrdup(spec);
    for (const char *s = spec; *s; s++) {
        if (*s != '%') {
            add_item(p, &cap, IT_LITERAL, s, 1);
            continue;
        }
        s++;
        /* Padding such as %-10u: sleuth trims blanks around fields instead. */
        while (*s == '-' || (*s >= '0' && *s <= '9'))
            s++;
        enum item_kind k;
        switch (*s) {
        case 't':
        case 'm':
            k = IT_TIME;
            break;
        case 'n':
            k = IT_EPOCH;
            break;
        case 'p':
            k = IT_PID;
            break;
        case 'l':
        case 'x':
        case 'Q':
        case 'P':
            k = IT_NUMBER;
            break;
        case 'u':
            k = IT_USER;
            break;
        case 'd':
            k = IT_DB;
            break;
        case 'a':
            k = IT_APP;
            break;
        case 'h':
            k = IT_HOST;
            break;
        case 'r':
            k = IT_HOSTPORT;
            break;
        case 'e':
            k = IT_SQLSTATE;
            break;
        case 'c':
            k = IT_SESSION;
            break;
        case 'v':
        case 'i':
        case 'b':
            k = IT_WORD;
            break;
        case 's':
            k = IT_SESS_START;
            break;
        case 'q':
            k = IT_QSTOP;
            break;
        case '%':
            add_item(p, &cap, IT_LITERAL, "%", 1);
            continue;
        case '\0':
            pgprefix_free(p);
            err_set(err, ERR_USAGE, "log_line_prefix '%s' ends with a lone '%%'", spec);
            return NULL;
        default:
            pgprefix_free(p);
            err_set(err, ERR_USAGE, "log_line_prefix '%s' has an unknown escape '%%%c'", spec, *s);
            return NULL;
        }
        add_item(p, &cap, k, NULL, 0);
    }
    size_t times = 0;
    for (size_t i = 0; i < p->n; i++)
        times += p->items[i].kind == IT_TIME || p->items[i].kind == IT_SESS_START;
    p->time_first =
        times == 1 && (p->items[0].kind == IT_TIME || p->items[0].kind == IT_SESS_START);
    return p;
}

struct pgprefix *pgprefix_loose(void)
{
    struct pgprefix *p = xcalloc(1, sizeof(*p));
    p->loose = true;
    p->spec = xstrdup("(loose)");
    return p;
}

void pgprefix_free(struct pgprefix *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].text);
    free(p->items);
    free(p->spec);
    free(p);
}

struct pgprefix *pgprefix_dup(const struct pgprefix *p)
{
    if (p->loose)
        return pgprefix_loose();
    struct err err;
    struct pgprefix *d = pgprefix_compile(p->spec, &err);
    ASSERT(d);
    return d;
}

bool pgprefix_is_loose(const struct pgprefix *p)
{
    return p->loose;
}

const char *pgprefix_spec(const struct pgprefix *p)
{
    return p->spec;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static struct str unknown_to_empty(struct str s)
{
    if (str_eq_cstr(s, "[unknown]"))
        return STR_NULL;
    return s;
}

/* Where a free-width field ends: at the next literal, else at a blank. */
static size_t field_end(const struct pgprefix *p, size_t item, struct str rest)
{
    if (item + 1 < p->n && p->items[item + 1].kind == IT_LITERAL) {
        /* Fields are short (a user or database name): a byte loop beats memchr's call. */
        const struct item *lit = &p->items[item + 1];
        char first = lit->text[0];
        for (size_t i = 0; i + lit->len <= rest.len; i++) {
            if (rest.ptr[i] != first)
                continue;
            size_t k = 1;
            while (k < lit->len && rest.ptr[i + k] == lit->text[k])
                k++;
            if (k == lit->len)
                return i;
        }
        return rest.len + 1;
    }
    size_t i = 0;
    while (i < rest.len && rest.ptr[i] != ' ')
        i++;
    return i;
}

/*
 * Where "%r" ends: host(port), and an IPv6 host has colons, which the next
 * literal of "%t:%r:%u@%d:[%p]:" (AWS RDS) would cut it at. The field goes
 * to the ')' of its "(port)" when one follows before any blank.
 */
static size_t hostport_end(const struct pgprefix *p, size_t item, struct str rest)
{
    size_t n = field_end(p, item, rest);
    size_t i = 0;
    while (i < rest.len && i < 64 && rest.ptr[i] != ' ' && rest.ptr[i] != '(')
        i++;
    if (i >= rest.len || rest.ptr[i] != '(' || i < n)
        return n;
    size_t close = i + 1;
    while (close < rest.len && is_digit(rest.ptr[close]))
        close++;
    return close < rest.len && rest.ptr[close] == ')' && close > i + 1 ? close + 1 : n;
}

/* The pid in "%c"'s hex half; 0 if it is not all hex digits. */
static int32_t parse_hex_pid(struct str s)
{
    uint32_t v = 0;
    if (!s.len || s.len > 8)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        int d = is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        v = v * 16 + (uint32_t)d;
    }
    return (int32_t)v;
}

/* The five slices a memo can hold, in its order. */
static struct str *memo_field(struct event *ev, int i)
{
    switch (i) {
    case 0:
        return &ev->user;
    case 1:
        return &ev->db;
    case 2:
        return &ev->app;
    case 3:
        return &ev->client;
    default:
        return &ev->sqlstate;
    }
}

/* Takes the rest of the prefix from the process's memo when the bytes are the same. */
static bool memo_hit(struct pgprefix_cache *pc, size_t item, struct str line, size_t pos,
                     struct event *ev, size_t *len)
{
    uint32_t slot = (uint32_t)ev->pid % PGPREFIX_MEMO_SLOTS;
    const struct pgprefix_memo *m = &pc->memo[slot];
    if (!(pc->used >> slot & 1) || m->pid != ev->pid || (size_t)m->item != item ||
        line.len - pos < m->len || memcmp(line.ptr + pos, m->bytes, m->len) != 0)
        return false;
    for (int i = 0; i < 5; i++)
        if (m->n[i] != 0xffff)
            *memo_field(ev, i) = str_make(line.ptr + pos + m->off[i], m->n[i]);
    *len = pos + m->len;
    return true;
}

static void memo_store(struct pgprefix_cache *pc, size_t item, struct str line, size_t pos,
                       struct event *ev, size_t end)
{
    if (end - pos > PGPREFIX_MEMO_BYTES || end == pos)
        return;
    uint32_t slot = (uint32_t)ev->pid % PGPREFIX_MEMO_SLOTS;
    struct pgprefix_memo *m = &pc->memo[slot];
    pc->used |= (uint64_t)1 << slot;
    m->pid = ev->pid;
    m->item = (int16_t)item;
    m->len = (uint16_t)(end - pos);
    memcpy(m->bytes, line.ptr + pos, end - pos);
    for (int i = 0; i < 5; i++) {
        struct str *f = memo_field(ev, i);
        bool inside = f->ptr && f->ptr >= line.ptr + pos && f->ptr + f->len <= line.ptr + end;
        m->off[i] = inside ? (uint16_t)(f->ptr - (line.ptr + pos)) : 0;
        m->n[i] = inside ? (uint16_t)f->len : 0xffff;
    }
}

static bool match_items(const struct pgprefix *p, size_t from, struct str line, size_t pos,
                        struct event *ev, struct pgprefix_cache *pc, size_t *len)
{
    size_t memo_item = SIZE_MAX, memo_pos = 0;
    for (size_t k = from; k < p->n; k++) {
        const struct item *it = &p->items[k];
        struct str rest = str_skip(line, pos);
        size_t n = 0;
        switch (it->kind) {
        case IT_LITERAL:
            if (rest.len < it->len)
                return false;
            /* Literals are a few bytes: a loop beats a call to memcmp. */
            for (size_t b = 0; b < it->len; b++)
                if (rest.ptr[b] != it->text[b])
                    return false;
            n = it->len;
            break;
        case IT_TIME:
        case IT_SESS_START: {
            int64_t ts;
            int off;
            if (pos == 0 && pc->time0) {
                n = pc->time0->n;
                ts = pc->time0->ts_us;
                off = pc->time0->offset_s;
            } else {
                n = tstamp_parse_cached(&pc->tc, rest, &ts, &off, NULL);
            }
            if (!n)
                return false;
            if (it->kind == IT_TIME) {
                ev->ts_us = ts;
                ev->tz_offset_s = off;
            }
            break;
        }
        case IT_EPOCH: {
            unsigned long long secs;
            n = str_parse_u64(rest, &secs);
            /* Past the last day a %t time can name: the microseconds would overflow. */
            if (!n || secs > (unsigned long long)TSTAMP_MAX_S)
                return false;
            int64_t us = 0, scale = 100000;
            if (n < rest.len && rest.ptr[n] == '.')
                for (n++; n < rest.len && is_digit(rest.ptr[n]); n++, scale /= 10)
                    us += (rest.ptr[n] - '0') * scale;
            ev->ts_us = (int64_t)secs * 1000000 + us;
            break;
        }
        case IT_PID:
        case IT_NUMBER: {
            unsigned long long v;
            while (n < rest.len && rest.ptr[n] == ' ')
                n++;
            /* %Q is a signed 64-bit hash: half of the query ids are negative. */
            if (it->kind == IT_NUMBER && n < rest.len && rest.ptr[n] == '-')
                n++;
            size_t d = str_parse_u64(str_skip(rest, n), &v);
            if (!d)
                return false;
            n += d;
            if (it->kind == IT_PID) {
                ev->pid = (int32_t)v;
                if (memo_hit(pc, k + 1, line, pos + n, ev, len))
                    return true;
                memo_item = k + 1;
                memo_pos = pos + n;
            }
            break;
        }
        case IT_SQLSTATE:
            if (rest.len < 5)
                return false;
            ev->sqlstate = str_make(rest.ptr, 5);
            n = 5;
            break;
        case IT_SESSION: {
            n = field_end(p, k, rest);
            if (n > rest.len)
                return false;
            /* pgreplay's prefix has no %p: the session id's second half is the pid. */
            long dot = str_find(str_make(rest.ptr, n), ".");
            if (dot >= 0 && !ev->pid)
                ev->pid = parse_hex_pid(str_make(rest.ptr + dot + 1, n - (size_t)dot - 1));
            break;
        }
        case IT_QSTOP:
            /*
             * Non-session processes print nothing after %q. That the rest did not match
             * depends on bytes past the point where the prefix stops, which a memo does not
             * compare: such a line is not memorised, or a later line of the process whose
             * rest does match would be cut short (found by fuzz_stderr).
             */
            if (!match_items(p, k + 1, line, pos, ev, pc, len)) {
                *len = pos;
                return true;
            }
            if (memo_item != SIZE_MAX)
                memo_store(pc, memo_item, line, memo_pos, ev, *len);
            return true;
        default: {
            n = it->kind == IT_HOSTPORT ? hostport_end(p, k, rest) : field_end(p, k, rest);
            if (n > rest.len)
                return false;
            struct str f = str_make(rest.ptr, n);
            if (n && (f.ptr[0] == ' ' || f.ptr[n - 1] == ' '))
                f = str_trim(f); /* padded fields (%-10u) */
            if (it->kind == IT_USER)
                ev->user = unknown_to_empty(f);
            else if (it->kind == IT_DB)
                ev->db = unknown_to_empty(f);
            else if (it->kind == IT_APP)
                ev->app = unknown_to_empty(f);
            else if (it->kind == IT_HOST)
                ev->client = unknown_to_empty(f);
            else if (it->kind == IT_HOSTPORT) {
                long paren = str_find(f, "(");
                ev->client = unknown_to_empty(paren < 0 ? f : str_make(f.ptr, (size_t)paren));
            }
            break;
        }
        }
        pos += n;
    }
    *len = pos;
    if (memo_item != SIZE_MAX)
        memo_store(pc, memo_item, line, memo_pos, ev, pos);
    return true;
}

/* Whether a severity word may start at line.ptr[i] by what precedes it (see find_severity). */
static bool severity_may_follow(struct str line, size_t i, bool after_any)
{
    char c = i > 0 ? line.ptr[i - 1] : ' ';
    return c == ' ' ||
           (after_any && !is_digit(c) && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z'));
}

/*
 * Offset of the first "SEVERITY:" word at the start of line or after a
 * blank (after any byte that is not a letter or a digit if after_any;
 * anywhere if anywhere), with at least one byte after it unless anywhere,
 * or SIZE_MAX.
 *
 * A word's only colon is its last byte, so a word ends at the first colon
 * after its start: the search goes from colon to colon (memchr) and, where
 * the byte before the colon can end a word, tries the start of a word of
 * each length, longest first. The first colon that ends a word ends the
 * first word, since a word that started earlier and ended later would hold
 * that colon. A test at every byte took a tenth of the time of the fuzzers
 * of the stderr reader and of logparser, which call this on every line.
 */
static size_t find_severity_in(struct str line, bool after_any, bool anywhere)
{
    if (!line.len)
        return SIZE_MAX;
    const char *end = line.ptr + line.len, *colon = line.ptr;
    while ((colon = memchr(colon, ':', (size_t)(end - colon))) != NULL) {
        size_t c = (size_t)(colon - line.ptr);
        char last = c ? line.ptr[c - 1] : ':';
        if (!(last >= 'A' && last <= 'Z') && !is_digit(last)) {
            colon++;
            continue;
        }
        for (size_t n = PGMSG_SEVERITY_MAX_LEN; n >= PGMSG_SEVERITY_MIN_LEN; n--) {
            if (n > c + 1)
                continue;
            size_t i = c + 1 - n;
            enum severity sev;
            char aux;
            if ((anywhere || (i + 4 < line.len && severity_may_follow(line, i, after_any))) &&
                pgmsg_severity(str_skip(line, i), &sev, &aux))
                return i;
        }
        colon++;
    }
    return SIZE_MAX;
}

static size_t find_severity(struct str line, bool after_any)
{
    return find_severity_in(line, after_any, false);
}

bool pgprefix_could_match(struct str line)
{
    return find_severity(line, true) != SIZE_MAX;
}

/* Loose match: find "SEVERITY:" after a blank, take a leading time and "[pid]". */
static bool match_loose(struct str line, struct event *ev, struct tstamp_cache *tc, size_t *len)
{
    size_t i = find_severity(line, false);
    if (i == SIZE_MAX)
        return false;
    int64_t ts;
    int off;
    size_t t = 0;
    while (t < i && !is_digit(line.ptr[t]))
        t++;
    if (t < i && tstamp_parse_cached(tc, str_make(line.ptr + t, i - t), &ts, &off, NULL)) {
        ev->ts_us = ts;
        ev->tz_offset_s = off;
    }
    struct str head = str_make(line.ptr, i);
    long br = str_find(head, "[");
    unsigned long long pid;
    if (br >= 0 && str_parse_u64(str_skip(head, (size_t)br + 1), &pid))
        ev->pid = (int32_t)pid;
    *len = i;
    return true;
}

bool pgprefix_match(const struct pgprefix *p, struct str line, struct event *ev,
                    struct pgprefix_cache *pc, size_t *len)
{
    if (p->loose)
        return match_loose(line, ev, &pc->tc, len);
    if (!match_items(p, 0, line, 0, ev, pc, len))
        return false;
    /* A --prefix copied from postgresql.conf may lack its trailing blank. */
    while (*len < line.len && line.ptr[*len] == ' ')
        (*len)++;
    return true;
}

/* Settings seen in the wild, most specific first (ties go to the earlier one). */
static const char *const known_prefixes[] = {
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] db=%d,user=%u,app=%a,client=%h ",
    "%m [%p] %e: db=%d,user=%u,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%m [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] db=%d,user=%u ",
    "%m [%p] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p] user=%u,db=%d ",
    "%t [%p] user=%u,db=%d ",
    "%m [%p] [queryid=%Q] %q%u@%d ",
    "%m [%p] %q%u@%d app=%a ",
    "%m [%p] %q%u@%d %a ",
    "%m [%p] %q%u@%d ",
    "%t [%p] %q%u@%d ",
    "%t [%p-%l] %q%u@%d ",
    "%m [%p-%l] %q%u@%d ",
    "%m [%p] %q[user=%u,db=%d,app=%a] ",
    "%t:%r:%u@%d:[%p]:",
    "%m:%r:%u@%d:[%p]:",
    "%m %t:%r:%u@%d:[%p]:", /* RDS through CloudWatch Logs' export to S3: its time first */
    "%m|%u|%d|%c|",
    "%t-%c-", /* Azure Database for PostgreSQL's default */
    "%m-%c-",
    "%t [%p]: [%l-1] ",
    "%m [%p]: [%l-1] ",
    "%t [%p]: ",
    "%m [%p]: ",
    "%m [%p] ",
    "%t [%p] ",
    "%m %u@%d [%p] ",
    "< %m > ",
    "%m ",
    "%t ",
};

_Static_assert(PGPREFIX_MEMO_SLOTS <= 64, "one bit of pgprefix_cache.used per memo slot");

void pgprefix_cache_reset(struct pgprefix_cache *pc)
{
    pc->tc.valid = false;
    pc->time0 = NULL;
    pc->used = 0;
}

static bool line_is_record(const struct pgprefix *p, struct str line, struct pgprefix_cache *pc)
{
    struct event ev;
    size_t n;
    event_clear(&ev);
    if (!pgprefix_match(p, line, &ev, pc, &n))
        return false;
    /*
     * A role or database name with a blank is legal but rare; a candidate
     * that reads one is more likely swallowing a field it does not know
     * ("[queryid=-42] app" read by "%q%u@%d").
     */
    if (str_find(ev.user, " ") >= 0 || str_find(ev.db, " ") >= 0)
        return false;
    enum severity sev;
    char aux;
    return pgmsg_severity(str_skip(line, n), &sev, &aux) != 0;
}

/* What servers that log to syslog commonly put after "[N-M] " (pgBadger's advice first). */
static const char *const syslog_prefixes[] = {
    "user=%u,db=%d,app=%a,client=%h ",
    "user=%u,db=%d,client=%h ",
    "user=%u,db=%d ",
    "db=%d,user=%u,app=%a,client=%h ",
    "db=%d,user=%u ",
    "[%l-1] user=%u,db=%d,app=%a,client=%h ",
    "[%l-1] user=%u,db=%d ",
    "%q[user=%u,db=%d,app=%a] ",
    "%q%u@%d ",
    "[%l-1] ",
    "sql_error_code = %e ",  /* Heroku Postgres */
    "[%l-1] db=%d,user=%u ", /* Google Cloud SQL */
    "",
};

/*
 * The candidates, compiled once (pthread_once) and read-only afterwards:
 * detection runs on every new input, and compiling some thirty settings
 * cost it more than matching them against the lines.
 */
static struct pgprefix *known_compiled[ARRAY_SIZE(known_prefixes)];
static struct pgprefix *syslog_compiled[ARRAY_SIZE(syslog_prefixes)];
static pthread_once_t compiled_once = PTHREAD_ONCE_INIT;

static void compile_list(const char *const *specs, size_t nspecs, const char *head,
                         struct pgprefix **out)
{
    for (size_t i = 0; i < nspecs; i++) {
        struct err err;
        char spec[256];
        snprintf(spec, sizeof(spec), "%s%s", head, specs[i]);
        out[i] = pgprefix_compile(spec, &err);
        ASSERT(out[i]);
    }
}

static void compile_candidates(void)
{
    compile_list(known_prefixes, ARRAY_SIZE(known_prefixes), "", known_compiled);
    compile_list(syslog_prefixes, ARRAY_SIZE(syslog_prefixes), PGPREFIX_SYSLOG_HEAD,
                 syslog_compiled);
}

/* Every candidate, for detect_among's only. */
#define ALL_CANDIDATES UINT64_MAX
_Static_assert(ARRAY_SIZE(known_prefixes) <= 64 && ARRAY_SIZE(syslog_prefixes) <= 64,
               "one bit of a candidate mask per candidate");

static struct pgprefix *detect_among(struct pgprefix *const *cands, size_t ncands, uint64_t only,
                                     const char *buf, size_t len);

struct pgprefix *pgprefix_detect(const char *buf, size_t len)
{
    pthread_once(&compiled_once, compile_candidates);
    return detect_among(known_compiled, ARRAY_SIZE(known_compiled), ALL_CANDIDATES, buf, len);
}

/* The line at p (without its newline and a CR before it); *next is where the next one starts. */
static struct str line_at(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    *next = nl ? nl + 1 : end;
    if (l && p[l - 1] == '\r')
        l--;
    return str_make(p, l);
}

/* A candidate's cache while detection tries it (kept: resetting one costs less than a new one). */
static _Thread_local struct pgprefix_cache detect_pc;

uint64_t pgprefix_readers(const char *buf, size_t len)
{
    pthread_once(&compiled_once, compile_candidates);
    const char *next;
    struct str line = line_at(buf, buf + len, &next);
    if (!line.len || line.ptr[0] == '\t' || find_severity_in(line, true, true) == SIZE_MAX)
        return 0;
    /* The time is parsed once for the candidates that start with it (see detect_among). */
    struct pgprefix_time t0;
    t0.n = tstamp_parse(line, &t0.ts_us, &t0.offset_s, NULL);
    uint64_t readers = 0;
    for (size_t i = 0; i < ARRAY_SIZE(known_compiled); i++) {
        pgprefix_cache_reset(&detect_pc);
        detect_pc.time0 = known_compiled[i]->time_first ? &t0 : NULL;
        if (line_is_record(known_compiled[i], line, &detect_pc))
            readers |= UINT64_C(1) << i;
    }
    return readers;
}

struct pgprefix *pgprefix_detect_from(const char *buf, size_t len, uint64_t readers)
{
    if (!readers)
        return NULL;
    pthread_once(&compiled_once, compile_candidates);
    struct pgprefix *p =
        detect_among(known_compiled, ARRAY_SIZE(known_compiled), readers, buf, len);
    if (p && p->loose) {
        pgprefix_free(p);
        return NULL;
    }
    return p;
}

struct pgprefix *pgprefix_detect_syslog(const char *buf, size_t len)
{
    pthread_once(&compiled_once, compile_candidates);
    struct pgprefix *full =
        detect_among(syslog_compiled, ARRAY_SIZE(syslog_compiled), ALL_CANDIDATES, buf, len);
    if (!full || full->loose)
        return full;
    /* Hand back the part after the head: what the server's setting is. */
    struct err err;
    struct pgprefix *inner = pgprefix_compile(full->spec + strlen(PGPREFIX_SYSLOG_HEAD), &err);
    ASSERT(inner);
    pgprefix_free(full);
    return inner;
}

/*
 * The candidate of cands (those in only) that reads most of buf's lines,
 * else the loose prefix if it reads one, else NULL.
 */
static struct pgprefix *detect_among(struct pgprefix *const *cands, size_t ncands, uint64_t only,
                                     const char *buf, size_t len)
{
    enum { MAX_LINES = 400 };
    struct str lines[MAX_LINES];
    /*
     * A record holds a severity word after its prefix, so a line without one
     * anywhere is no candidate's record and is not matched. left[k] is how
     * many of lines[k..] have one: what a candidate can still gain.
     */
    bool worded[MAX_LINES];
    size_t left[MAX_LINES + 1];
    size_t nlines = 0;
    const char *p = buf, *end = buf + len;
    while (p < end && nlines < MAX_LINES) {
        struct str l = line_at(p, end, &p);
        if (l.len > 0 && l.ptr[0] != '\t') {
            lines[nlines] = l;
            worded[nlines++] = find_severity_in(l, true, true) != SIZE_MAX;
        }
    }
    left[nlines] = 0;
    for (size_t k = nlines; k-- > 0;)
        left[k] = left[k + 1] + worded[k];
    /*
     * Most candidates start with the time, and their caches parse it on the
     * lines in the same order, each candidate's from scratch, so they would
     * all parse the same time on a line: it is parsed once, by a cache that
     * goes through the lines in that order, for every candidate whose only
     * time comes first. That parse was half of detection's time.
     */
    struct pgprefix_time times[MAX_LINES];
    struct tstamp_cache time_tc = { 0 };
    size_t ntimes = 0; /* times[] holds the time of the worded lines before this one */
    const struct pgprefix *winner = NULL;
    size_t best_hits = 0;
    /* No candidate can win unless half of the lines could be records. */
    for (size_t i = 0; i < ncands && best_hits < left[0] && left[0] * 2 >= nlines; i++) {
        if (!(only >> i & 1))
            continue;
        pgprefix_cache_reset(&detect_pc);
        size_t hits = 0;
        /*
         * Stop once the candidate cannot beat the best even if every line left
         * that could be a record is one.
         */
        for (size_t k = 0; k < nlines && hits + left[k] > best_hits; k++) {
            if (!worded[k])
                continue;
            for (; cands[i]->time_first && ntimes <= k; ntimes++)
                if (worded[ntimes])
                    times[ntimes].n =
                        tstamp_parse_cached(&time_tc, lines[ntimes], &times[ntimes].ts_us,
                                            &times[ntimes].offset_s, NULL);
            detect_pc.time0 = cands[i]->time_first ? &times[k] : NULL;
            hits += line_is_record(cands[i], lines[k], &detect_pc);
        }
        if (hits > best_hits) {
            winner = cands[i];
            best_hits = hits;
        }
    }
    if (winner && best_hits * 2 >= nlines)
        return pgprefix_dup(winner);
    struct pgprefix *loose = pgprefix_loose();
    struct pgprefix_cache pc;
    pgprefix_cache_reset(&pc);
    for (size_t k = 0; k < nlines; k++)
        if (worded[k] && line_is_record(loose, lines[k], &pc))
            return loose;
    pgprefix_free(loose);
    return NULL;
}
