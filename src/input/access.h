/*
 * Web server access logs: one request a line, in a layout given by a format
 * string as nginx (log_format, "$remote_addr - $remote_user [$time_local]
 * ...") or Apache (LogFormat, "%h %l %u %t \"%r\" %>s %b ...") would write
 * it, or JSON lines (nginx escape=json, Caddy, Traefik, any JSON with a
 * field map).
 *
 * A format compiles to a list of literals and fields; a line is matched
 * left to right, each field running to the first byte of the literal after
 * it (quoted fields to their closing quote, past \" escapes). Hand-written
 * because this is sleuth's hot path: a regex engine or jansson per line is
 * several times slower than the 500 MB/s a core must reach here (measured
 * in bench/run access). JSON lines go through jansson: their layout is not
 * positional.
 *
 * Pointer arguments are borrowed; a record's strings point into the line.
 */
#ifndef SLEUTH_INPUT_ACCESS_H
#define SLEUTH_INPUT_ACCESS_H

#include "util/err.h"
#include "util/str.h"
#include "util/tstamp.h"

#include <stdbool.h>
#include <stdint.h>

/* One request. Unknown numbers are -1, unknown strings empty. */
struct access_record {
    int64_t ts_us;       /* when the request was logged (UTC); TS_NONE if no time */
    int offset_s;        /* the log's zone, east of UTC */
    struct str client;   /* the client's address */
    struct str user;     /* the user or session, when logged ("-" is none) */
    struct str method;   /* "GET" */
    struct str path;     /* the request target, query string included */
    int status;          /* 100..599, or -1 */
    int64_t latency_us;  /* the server's request time */
    int64_t upstream_us; /* time the upstream (the application) took */
    struct str cache;    /* cache status (HIT, MISS, ...) when logged */
};

struct access_format;

/*
 * Compiles a format: "combined", "common", "combined+rt" (nginx combined
 * with $request_time and $upstream_response_time after it), "json" (known
 * field names), "json:KEY=FIELD,..." (a field map: time, client, user,
 * method, path, request, status, latency_s, latency_ms, latency_us,
 * latency_ns, upstream_s, cache), an nginx log_format (contains '$') or an
 * Apache LogFormat (contains '%'). NULL with err set when it cannot be used
 * (no status field, an unknown directive ...).
 */
struct access_format *access_format_compile(const char *spec, struct err *err);
void access_format_free(struct access_format *f);
/* The spec it was compiled from, or its name. */
const char *access_format_spec(const struct access_format *f);
bool access_format_is_json(const struct access_format *f);

/*
 * Guesses the format from the first lines of a log (a few KB): the known
 * layout that reads most of them, preferring one with timing fields. NULL
 * when none reads at least half.
 */
struct access_format *access_format_detect(const char *buf, size_t len);

/*
 * What access_parse keeps between lines: the last time it parsed
 * (consecutive lines share their second) and, for JSON lines, the decoded
 * line the record's strings point into (freed by the next parse).
 */
struct access_scan {
    char head[32];
    size_t head_len;
    int64_t base_us;
    int offset_s;
    struct json_t *doc;
};

void access_scan_init(struct access_scan *s);
void access_scan_release(struct access_scan *s);

/*
 * Reads one line (without its newline) into rec; false when the line does
 * not fit the format. rec's strings live until the next call.
 */
bool access_parse(const struct access_format *f, struct access_scan *scan, struct str line,
                  struct access_record *rec);

/*
 * The route of a request target: the path without its query string, with
 * segments that are ids (numbers, UUIDs, hex or mixed tokens of 8+ bytes
 * with digits) replaced by {id}: "/orders/123/items?x=1" gives
 * "/orders/{id}/items". Writes at most cap - 1 bytes and a NUL to out;
 * returns the length.
 */
size_t access_route(struct str target, char *out, size_t cap);

#endif
