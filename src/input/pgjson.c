/*
 * The jsonlog reader; see pgjson.h. It sits at the front of the pipeline
 * (bytes -> events), under logparser.c, beside the stderr and csvlog
 * readers.
 *
 * Records are lines, so framing is a memchr for the newline. Each line is
 * read by a scanner of its own (scan_line) that slices the flat object
 * PostgreSQL writes in place, unescaping into scratch only the strings
 * that hold a backslash, as pgcsv does for "". jansson was measured too
 * slow for this hot path: json_loadb() alone does about 50 MB/s on
 * pgbench.json (its lexer reads byte by byte through a callback and it
 * mallocs a hash table and a copy of every string for each line), where
 * the csvlog reader does about 650 MB/s on the same events. Whatever the
 * scanner does not take as it is (nesting, a float, a surrogate escape,
 * a key sleuth reads given twice, invalid UTF-8, raw control bytes,
 * anything that is not JSON) goes to jansson, which stays the reference
 * for what a line means: the two agree on every line (fuzz_jsonlog checks
 * it). jansson rejects invalid UTF-8, raw control bytes and NULs; a line it
 * rejects for its bytes alone (a damaged file, or a server encoding other
 * than UTF-8) is mended and decoded again, so the record is kept.
 */
#include "pgjson.h"

#include "pgcsv.h"
#include "pgmsg.h"

#include "util/utf8.h"

#include <jansson.h>
#include <string.h>

#include "util/banned.h"

void pgjson_init(struct pgjson_reader *r, uint32_t input)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->mended, 0);
    buf_init(&r->scratch, 0);
    r->line = 1;
    r->input = input;
}

void pgjson_release(struct pgjson_reader *r)
{
    r->pending = false;
    buf_release(&r->mended);
    buf_release(&r->scratch);
}

/*
 * Copies p[0..n) into r->mended with every raw control byte but NUL escaped
 * as \u00XX, and every NUL and byte that is not UTF-8 replaced by U+FFFD (a
 * NUL would end the text early further down the pipeline). Returns false if
 * nothing needed mending: the line is simply not JSON.
 */
static bool mend(struct pgjson_reader *r, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    bool changed = false;
    buf_reset(&r->mended);
    /* The bytes kept as they are go in runs, from kept on: most lines need nothing mended. */
    size_t kept = 0;
    for (size_t i = 0; i < n;) {
        size_t len = u[i] < 0x20 ? 0 : utf8_len(u + i, n - i);
        if (len) {
            i += len;
            continue;
        }
        buf_add(&r->mended, p + kept, i - kept);
        if (u[i] > 0 && u[i] < 0x20)
            buf_addf(&r->mended, "\\u%04x", u[i]);
        else
            buf_addstr(&r->mended, UTF8_REPLACEMENT);
        changed = true;
        kept = ++i;
    }
    if (kept < n)
        buf_add(&r->mended, p + kept, n - kept);
    return changed;
}

/* The keys sleuth reads; any other is skipped, so later versions may add keys. */
enum jkey {
    K_OTHER,
    K_APP,
    K_CONTEXT,
    K_DBNAME,
    K_DETAIL,
    K_SEVERITY,
    K_HINT,
    K_MESSAGE,
    K_PID,
    K_REMOTE_HOST,
    K_STATE_CODE,
    K_STATEMENT,
    K_TIMESTAMP,
    K_USER,
};

struct key_name {
    const char *name;
    size_t len;
    enum jkey key;
};

#define KEY(name, key)              \
    {                               \
        name, sizeof(name) - 1, key \
    }

static const struct key_name jsonlog_keys[] = {
    KEY("application_name", K_APP),
    KEY("context", K_CONTEXT),
    KEY("dbname", K_DBNAME),
    KEY("detail", K_DETAIL),
    KEY("error_severity", K_SEVERITY),
    KEY("hint", K_HINT),
    KEY("message", K_MESSAGE),
    KEY("pid", K_PID),
    KEY("remote_host", K_REMOTE_HOST),
    KEY("state_code", K_STATE_CODE),
    KEY("statement", K_STATEMENT),
    KEY("timestamp", K_TIMESTAMP),
    KEY("user", K_USER),
};

/*
 * The keys of a CloudNativePG record: the csvlog's columns by name, under
 * "record" in a line whose "logger" is "postgres" (the operator writes
 * every PostgreSQL log record so, to standard output).
 */
static const struct key_name cnpg_keys[] = {
    KEY("log_time", K_TIMESTAMP),
    KEY("user_name", K_USER),
    KEY("database_name", K_DBNAME),
    KEY("process_id", K_PID),
    KEY("connection_from", K_REMOTE_HOST),
    KEY("error_severity", K_SEVERITY),
    KEY("sql_state_code", K_STATE_CODE),
    KEY("message", K_MESSAGE),
    KEY("detail", K_DETAIL),
    KEY("hint", K_HINT),
    KEY("context", K_CONTEXT),
    KEY("query", K_STATEMENT),
    KEY("application_name", K_APP),
};

#undef KEY

/* The key k[0..n) among the names of one layout. */
static enum jkey lookup(const struct key_name *names, size_t count, const char *k, size_t n)
{
    for (size_t i = 0; i < count; i++)
        if (names[i].len == n && memcmp(names[i].name, k, n) == 0)
            return names[i].key;
    return K_OTHER;
}

static enum jkey key_of(const char *k, size_t n)
{
    return lookup(jsonlog_keys, sizeof(jsonlog_keys) / sizeof(jsonlog_keys[0]), k, n);
}

static enum jkey cnpg_key_of(const char *k, size_t n)
{
    return lookup(cnpg_keys, sizeof(cnpg_keys) / sizeof(cnpg_keys[0]), k, n);
}

/* A member's value as either reader found it. */
struct jval {
    enum { JV_STRING, JV_INTEGER, JV_OTHER } type;
    struct str s;
    long long i;
};

/* A string member; an empty string is no value. */
static bool take_str(const struct jval *v, struct str *out)
{
    if (v->type != JV_STRING)
        return false;
    *out = v->s.len ? v->s : STR_NULL;
    return true;
}

/* A process id written as a string: digits only, as CloudNativePG writes it. */
static bool parse_pid_text(struct str s, long long *out)
{
    if (!s.len || s.len > 10)
        return false;
    long long v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = v;
    return true;
}

/*
 * Fills ev from one member; false if a member sleuth reads has the wrong
 * type (the line is then no record).
 */
static bool take(struct pgjson_reader *r, enum jkey k, const struct jval *v, struct event *ev,
                 bool *have_time, bool *have_sev)
{
    struct str s;
    switch (k) {
    case K_APP:
        return take_str(v, &ev->app);
    case K_CONTEXT:
        return take_str(v, &ev->context);
    case K_DBNAME:
        return take_str(v, &ev->db);
    case K_DETAIL:
        return take_str(v, &ev->detail);
    case K_SEVERITY:
        if (!take_str(v, &s))
            return false;
        /* A translated severity (lc_messages other than C) stays SEV_NONE. */
        ev->severity = pgcsv_severity(s);
        *have_sev = true;
        return true;
    case K_HINT:
        return take_str(v, &ev->hint);
    case K_MESSAGE:
        return take_str(v, &ev->message);
    case K_PID:
        if (v->type != JV_INTEGER || v->i < 0 || v->i > INT32_MAX)
            return false;
        ev->pid = (int32_t)v->i;
        return true;
    case K_REMOTE_HOST:
        return take_str(v, &ev->client);
    case K_STATE_CODE:
        return take_str(v, &ev->sqlstate);
    case K_STATEMENT:
        return take_str(v, &ev->statement);
    case K_TIMESTAMP:
        *have_time = take_str(v, &s) && tstamp_parse_field(&r->tc, s, &ev->ts_us, &ev->tz_offset_s);
        return *have_time;
    case K_USER:
        return take_str(v, &ev->user);
    default:
        return true;
    }
}

/* --- the scanner --------------------------------------------------------------------------- */

/* The scanner's verdict on a line. */
enum scan {
    SCAN_READ,   /* every member taken: ev holds the record, if it has time and severity */
    SCAN_BAD,    /* a member sleuth reads has the wrong type: no record */
    SCAN_JANSSON /* not the plain shape it takes: jansson decides */
};

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/*
 * The end of the run of bytes from p that a string takes as they are:
 * printable ASCII but '"' and the backslash, eight at a time (the strings
 * are most of a line, and a byte loop was a quarter of the reader's time).
 */
static const char *plain_run(const char *p, const char *end)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t quote = v ^ (ones * '"'), slash = v ^ (ones * '\\');
        uint64_t hit = (v & highs) | ((v - ones * 0x20) & ~v & highs) |
                       ((quote - ones) & ~quote & highs) | ((slash - ones) & ~slash & highs);
        if (hit)
            break;
        p += 8;
    }
    return p;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/*
 * The string whose opening quote is at p[-1]: its text in *out (in place,
 * or unescaped into r->scratch, which the caller sized for the whole line).
 * Returns the byte after its closing quote, or NULL for what jansson must
 * judge: raw control bytes, invalid UTF-8, a surrogate or NUL escape, a
 * bad escape, no closing quote.
 */
static const char *scan_string(struct pgjson_reader *r, const char *p, const char *end,
                               struct str *out)
{
    const char *start = p;
    while (p < end) {
        p = plain_run(p, end);
        if (p >= end)
            break;
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *out = str_make(start, (size_t)(p - start));
            return p + 1;
        }
        if (c == '\\')
            break;
        if (c < 0x20)
            return NULL;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t len = utf8_len((const unsigned char *)p, (size_t)(end - p));
        if (!len)
            return NULL;
        p += len;
    }
    if (p >= end)
        return NULL;
    /* A backslash: the text so far, then the rest unescaped, into scratch. */
    char *o = r->scratch.ptr + r->scratch.len, *first = o;
    memcpy(o, start, (size_t)(p - start));
    o += p - start;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *out = str_make(first, (size_t)(o - first));
            r->scratch.len += (size_t)(o - first);
            return p + 1;
        }
        if (c < 0x20)
            return NULL;
        if (c != '\\') {
            size_t len = c < 0x80 ? 1 : utf8_len((const unsigned char *)p, (size_t)(end - p));
            if (!len)
                return NULL;
            memcpy(o, p, len);
            o += len;
            p += len;
            continue;
        }
        if (end - p < 2)
            return NULL;
        char e = p[1];
        p += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            *o++ = e;
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            int u = end - p >= 4 ? hex4(p) : -1;
            /* NUL and surrogates (pairs or not): jansson's rules apply. */
            if (u <= 0 || (u >= 0xD800 && u <= 0xDFFF))
                return NULL;
            p += 4;
            if (u < 0x80) {
                *o++ = (char)u;
            } else if (u < 0x800) {
                *o++ = (char)(0xC0 | u >> 6);
                *o++ = (char)(0x80 | (u & 0x3F));
            } else {
                *o++ = (char)(0xE0 | u >> 12);
                *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
                *o++ = (char)(0x80 | (u & 0x3F));
            }
            break;
        }
        default:
            return NULL;
        }
    }
    return NULL;
}

/*
 * Reads the line p[0..n) when it is a flat object of strings, integers,
 * true, false and null, each key sleuth reads given once: what PostgreSQL
 * writes. SCAN_JANSSON for anything else.
 */
static enum scan scan_line(struct pgjson_reader *r, const char *p, size_t n, struct event *ev,
                           bool *have_time, bool *have_sev)
{
    const char *end = p + n;
    unsigned seen = 0;
    /* Unescaping never lengthens a string: the line's size is room for all of them. */
    buf_reset(&r->scratch);
    buf_grow(&r->scratch, n);
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return SCAN_JANSSON;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return skip_ws(p + 1, end) == end ? SCAN_READ : SCAN_JANSSON;
    bool bad = false;
    for (;;) {
        struct str key;
        if (p >= end || *p != '"' || !(p = scan_string(r, p + 1, end, &key)))
            return SCAN_JANSSON;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return SCAN_JANSSON;
        p = skip_ws(p + 1, end);
        if (p >= end)
            return SCAN_JANSSON;
        struct jval v = { .type = JV_OTHER };
        if (*p == '"') {
            v.type = JV_STRING;
            if (!(p = scan_string(r, p + 1, end, &v.s)))
                return SCAN_JANSSON;
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            /* Integers as JSON writes them; fractions, exponents and big ones to jansson. */
            const char *d = p + (*p == '-');
            const char *q = d;
            while (q < end && *q >= '0' && *q <= '9')
                q++;
            if (q == d || q - d > 18 || (q - d > 1 && *d == '0') ||
                (q < end && (*q == '.' || *q == 'e' || *q == 'E')))
                return SCAN_JANSSON;
            long long i = 0;
            for (const char *c = d; c < q; c++)
                i = i * 10 + (*c - '0');
            v.type = JV_INTEGER;
            v.i = *p == '-' ? -i : i;
            p = q;
        } else if (end - p >= 4 && (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0)) {
            p += 4;
        } else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            p += 5;
        } else {
            return SCAN_JANSSON; /* an object, an array, or not JSON */
        }
        enum jkey k = key_of(key.ptr, key.len);
        if (k != K_OTHER) {
            if (seen & 1u << k)
                return SCAN_JANSSON; /* given twice: jansson keeps the last */
            seen |= 1u << k;
            if (!bad && !take(r, k, &v, ev, have_time, have_sev))
                bad = true; /* the rest must still be JSON for the verdict to be jansson's */
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            break;
        return SCAN_JANSSON;
    }
    if (skip_ws(p + 1, end) != end)
        return SCAN_JANSSON;
    return bad ? SCAN_BAD : SCAN_READ;
}

/* Fills ev from the line with jansson; false if it is no object or a member has the wrong type. */
static bool decode_line(struct pgjson_reader *r, const char *p, size_t n, json_t **root,
                        struct event *ev, bool *have_time, bool *have_sev)
{
    json_error_t jerr;
    *root = json_loadb(p, n, 0, &jerr);
    if (!*root && mend(r, p, n))
        *root = json_loadb(r->mended.ptr, r->mended.len, 0, &jerr);
    if (!*root || !json_is_object(*root))
        return false;
    /* A CloudNativePG line: the record is the object under "record". */
    json_t *obj = *root, *rec = json_object_get(obj, "record");
    json_t *logger = json_object_get(obj, "logger");
    bool cnpg = !json_object_get(obj, "timestamp") && json_is_object(rec) &&
                json_is_string(logger) && strcmp(json_string_value(logger), "postgres") == 0;
    if (cnpg)
        obj = rec;
    const char *key;
    json_t *jv;
    json_object_foreach(obj, key, jv)
    {
        struct jval v = { .type = JV_OTHER };
        if (json_is_string(jv)) {
            v.type = JV_STRING;
            v.s = str_make(json_string_value(jv), json_string_length(jv));
        } else if (json_is_integer(jv)) {
            v.type = JV_INTEGER;
            v.i = json_integer_value(jv);
        }
        enum jkey k = cnpg ? cnpg_key_of(key, strlen(key)) : key_of(key, strlen(key));
        /* CloudNativePG writes every value as a string, the process id too. */
        if (cnpg && k == K_PID && v.type == JV_STRING && parse_pid_text(v.s, &v.i))
            v.type = JV_INTEGER;
        if (!take(r, k, &v, ev, have_time, have_sev))
            return false;
    }
    return true;
}

/* Reads the line p[0..n) (without its newline) and emits its event. */
static void read_line(struct pgjson_reader *r, const char *p, size_t n, uint64_t line,
                      event_fn *emit, void *ctx)
{
    struct event ev;
    event_clear(&ev);
    bool have_time = false, have_sev = false, ok;
    json_t *root = NULL;
    enum scan sc = r->no_scanner ? SCAN_JANSSON : scan_line(r, p, n, &ev, &have_time, &have_sev);
    if (sc == SCAN_JANSSON) {
        event_clear(&ev);
        have_time = have_sev = false;
        ok = decode_line(r, p, n, &root, &ev, &have_time, &have_sev);
    } else {
        ok = sc == SCAN_READ;
    }
    if (ok && have_time && have_sev) {
        ev.kind = EV_OTHER;
        ev.line = line;
        ev.input = r->input;
        pgmsg_classify(&ev);
        emit(ctx, &ev);
    } else {
        event_emit_unparsed(emit, ctx, r->input, line, str_make(p, n));
    }
    json_decref(root);
}

size_t pgjson_feed(struct pgjson_reader *r, const char *buf, size_t len, bool eof, event_fn *emit,
                   void *ctx)
{
    /* The saved search is for this buffer only if the caller kept to the protocol. */
    if (r->pending && (r->line != r->pending_line || len < r->scanned))
        r->pending = false;
    size_t at = 0;
    uint64_t line = r->line;
    while (at < len) {
        const char *p = buf + at;
        size_t n = len - at, from = r->pending ? r->scanned : 0;
        r->pending = false;
        const char *nl = memchr(p + from, '\n', n - from);
        if (!nl && !eof) {
            r->pending = true;
            r->scanned = n;
            break;
        }
        if (!nl) {
            /* A last line without its newline was cut short: PostgreSQL writes whole lines. */
            event_emit_unparsed(emit, ctx, r->input, line, str_make(p, n));
            at = len;
            break;
        }
        size_t linelen = (size_t)(nl - p);
        if (linelen > 0)
            read_line(r, p, linelen, line, emit, ctx);
        at += linelen + 1;
        line++;
    }
    r->line = line;
    r->pending_line = line;
    return at;
}

size_t pgjson_sync(const char *buf, size_t len)
{
    size_t at = 0;
    while (at < len) {
        if (len - at >= 3 && buf[at] == '{' && buf[at + 1] == '"' &&
            ((buf[at + 2] >= 'a' && buf[at + 2] <= 'z') ||
             (buf[at + 2] >= 'A' && buf[at + 2] <= 'Z')))
            return at;
        const char *nl = memchr(buf + at, '\n', len - at);
        if (!nl)
            break;
        at = (size_t)(nl - buf) + 1;
    }
    return len;
}
