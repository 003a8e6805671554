/*
 * The jsonlog reader; see pgjson.h. It sits at the front of the pipeline
 * (bytes -> events), under logparser.c, beside the stderr and csvlog
 * readers.
 *
 * Records are lines, so framing is a memchr for the newline; each line is
 * decoded with jansson's json_loadb() and the event's slices point at the
 * decoded strings until the line's tree is freed after emit. jansson does
 * the validation we need for total parsing: it rejects invalid UTF-8, raw
 * control bytes and NULs, and nesting past its depth limit. A line it
 * rejects for its bytes alone (a damaged file, or a server encoding other
 * than UTF-8) is mended and decoded again, so the record is kept.
 *
 * Throughput, measured on pgbench.json (79 MB, 167 344 lines) fed whole
 * in one buffer, gcc -O2, one core, classification included: about
 * 45 MB/s of CPU time (38 to 48 over runs). json_loadb() alone, with no
 * event building, does about 50 MB/s, so jansson is nearly all of it: its
 * lexer reads byte by byte through a callback, and it mallocs a hash table
 * and a copy of every string for each line. That is well short of the
 * ~150 MB/s we want (the csvlog reader does about 650 MB/s on the same
 * events). The way past it is a hand-written scanner that slices each line
 * in place, unescaping into scratch only the strings that hold a
 * backslash, as pgcsv does for "".
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
    r->line = 1;
    r->input = input;
}

void pgjson_release(struct pgjson_reader *r)
{
    r->pending = false;
    buf_release(&r->mended);
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

/* A string member; an empty string is no value. */
static bool take_str(json_t *v, struct str *out)
{
    if (!json_is_string(v))
        return false;
    *out = str_make(json_string_value(v), json_string_length(v));
    if (out->len == 0)
        *out = STR_NULL;
    return true;
}

static bool take_pid(json_t *v, int32_t *pid)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
        return false;
    *pid = (int32_t)json_integer_value(v);
    return true;
}

static bool take_time(struct pgjson_reader *r, json_t *v, struct event *ev)
{
    struct str s;
    return take_str(v, &s) && tstamp_parse_field(&r->tc, s, &ev->ts_us, &ev->tz_offset_s);
}

/*
 * Fills ev from one member; false if a member sleuth reads has the wrong
 * type. Keys sleuth does not read (session_id, vxid, query_id, …) are
 * skipped, so later versions may add keys.
 */
static bool take_member(struct pgjson_reader *r, const char *key, json_t *v, struct event *ev,
                        bool *have_time, bool *have_sev)
{
    struct str s;
    switch (key[0]) {
    case 'a':
        return strcmp(key, "application_name") != 0 || take_str(v, &ev->app);
    case 'c':
        return strcmp(key, "context") != 0 || take_str(v, &ev->context);
    case 'd':
        if (strcmp(key, "dbname") == 0)
            return take_str(v, &ev->db);
        return strcmp(key, "detail") != 0 || take_str(v, &ev->detail);
    case 'e':
        if (strcmp(key, "error_severity") != 0)
            return true;
        if (!take_str(v, &s))
            return false;
        /* A translated severity (lc_messages other than C) stays SEV_NONE. */
        ev->severity = pgcsv_severity(s);
        *have_sev = true;
        return true;
    case 'h':
        return strcmp(key, "hint") != 0 || take_str(v, &ev->hint);
    case 'm':
        return strcmp(key, "message") != 0 || take_str(v, &ev->message);
    case 'p':
        return strcmp(key, "pid") != 0 || take_pid(v, &ev->pid);
    case 'r':
        return strcmp(key, "remote_host") != 0 || take_str(v, &ev->client);
    case 's':
        if (strcmp(key, "state_code") == 0)
            return take_str(v, &ev->sqlstate);
        return strcmp(key, "statement") != 0 || take_str(v, &ev->statement);
    case 't':
        if (strcmp(key, "timestamp") != 0)
            return true;
        *have_time = take_time(r, v, ev);
        return *have_time;
    case 'u':
        return strcmp(key, "user") != 0 || take_str(v, &ev->user);
    default:
        return true;
    }
}

/* Decodes the line p[0..n) (without its newline) and emits its event. */
static void read_line(struct pgjson_reader *r, const char *p, size_t n, uint64_t line,
                      event_fn *emit, void *ctx)
{
    json_error_t jerr;
    json_t *root = json_loadb(p, n, 0, &jerr);
    if (!root && mend(r, p, n))
        root = json_loadb(r->mended.ptr, r->mended.len, 0, &jerr);
    struct event ev;
    event_clear(&ev);
    bool ok = root && json_is_object(root), have_time = false, have_sev = false;
    const char *key;
    json_t *v;
    if (ok) {
        json_object_foreach(root, key, v)
        {
            if (!take_member(r, key, v, &ev, &have_time, &have_sev)) {
                ok = false;
                break;
            }
        }
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
