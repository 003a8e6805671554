/*
 * libFuzzer harness for the access-log reader (input/access.c) and the web
 * tier's aggregates (stats/web.c): the input is "SPEC\nLINES"; a spec of
 * one digit picks a named layout, anything else is compiled as an nginx,
 * Apache or JSON format (or fails cleanly). Every line read becomes a
 * request; every slice must stay inside the line, every route inside its
 * buffer. Detection runs on the lines too.
 */
#include "input/access.h"
#include "stats/web.h"
#include "stats/webimpact.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HOUR_US (3600 * INT64_C(1000000))

static const char *const named[] = { "combined+rt", "common", "json", "combined+D",
                                     "json:time=t,client=c.ip,status=s,latency_ms=d" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t speclen = nl ? (size_t)(nl - (const char *)data) : size;
    char *spec = xmemdup(data, speclen);
    const char *body = nl ? nl + 1 : (const char *)data + size;
    size_t blen = size - (size_t)(body - (const char *)data);
    struct err err;
    struct access_format *f;
    if (speclen == 1 && spec[0] >= '0' && spec[0] < '0' + (int)(sizeof(named) / sizeof(named[0])))
        f = access_format_compile(named[spec[0] - '0'], &err);
    else
        f = access_format_compile(spec, &err);
    if (!f && err.code != ERR_USAGE)
        abort();
    if (f) {
        struct web w;
        struct web_opts o = { .interval_us = 10000000, .since_us = TS_NONE, .until_us = TS_NONE };
        web_init(&w, &o);
        struct access_scan scan;
        access_scan_init(&scan);
        int64_t first_us = TS_NONE;
        for (const char *p = body, *end = body + blen; p < end;) {
            const char *e = memchr(p, '\n', (size_t)(end - p));
            struct str line = str_make(p, e ? (size_t)(e - p) : (size_t)(end - p));
            struct access_record rec;
            if (access_parse(f, &scan, line, &rec)) {
                if (!access_format_is_json(f)) {
                    struct str parts[] = { rec.client, rec.user, rec.method, rec.path, rec.cache };
                    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
                        if (parts[i].len && (parts[i].ptr < line.ptr ||
                                             parts[i].ptr + parts[i].len > line.ptr + line.len))
                            abort();
                }
                char route[64];
                if (access_route(rec.path, route, sizeof(route)) >= sizeof(route))
                    abort();
                /*
                 * Times far apart make the per-second table huge: keep the
                 * hour either side of the first record's time (a day's
                 * tables cost a third of the run in memset and page faults;
                 * the code that grows them is the same).
                 */
                if (rec.ts_us != TS_NONE && first_us == TS_NONE)
                    first_us = rec.ts_us;
                if (rec.ts_us != TS_NONE && rec.ts_us > first_us - HOUR_US &&
                    rec.ts_us < first_us + HOUR_US)
                    web_add(&w, &rec);
            }
            p = e ? e + 1 : end;
        }
        access_scan_release(&scan);
        struct web_window *wins;
        size_t n = web_incidents(&w, &wins);
        for (size_t i = 0; i < n; i++) {
            struct web_impact imp;
            web_impact(&w, wins[i].from_us, wins[i].to_us, &imp);
        }
        free(wins);
        web_release(&w);
        access_format_free(f);
    }
    access_format_free(access_format_detect(body, blen));
    free(spec);
    return 0;
}
