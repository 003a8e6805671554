/*
 * The access-log reader; see access.h.
 */
#include "access.h"

#include "util/compat.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

enum af_field {
    AF_SKIP,
    AF_CLIENT,
    AF_USER,
    AF_TIME_LOCAL, /* 07/Dec/2026:00:53:48 +0000 */
    AF_TIME_ISO,   /* 2026-12-07T00:53:48+00:00 */
    AF_TIME_EPOCH, /* 1796604828.123 */
    AF_REQUEST,    /* GET /path HTTP/1.1 */
    AF_METHOD,
    AF_PATH,
    AF_STATUS,
    AF_LAT_S,
    AF_LAT_MS,
    AF_LAT_US,
    AF_LAT_NS,
    AF_UP_S,
    AF_UP_NS,
    AF_CACHE,
};

/* A field and the literal text that follows it. */
struct af_tok {
    enum af_field field;
    char *lit;
    size_t lit_len;
};

/* A JSON member (a dotted path into nested objects) and what it holds. */
struct af_json {
    enum af_field field;
    char *path;
};

struct access_format {
    char *spec;
    char *lead; /* literal before the first field */
    size_t lead_len;
    struct af_tok *toks;
    size_t ntoks;
    struct af_json *json; /* JSON lines: members in order of preference */
    size_t njson;
    bool is_json;
};

static void add_tok(struct access_format *f, enum af_field field)
{
    f->toks = xrealloc(f->toks, (f->ntoks + 1) * sizeof(*f->toks));
    f->toks[f->ntoks++] = (struct af_tok){ .field = field, .lit = xstrdup(""), .lit_len = 0 };
}

static void add_lit(struct access_format *f, const char *p, size_t n)
{
    char **lit = f->ntoks ? &f->toks[f->ntoks - 1].lit : &f->lead;
    size_t *len = f->ntoks ? &f->toks[f->ntoks - 1].lit_len : &f->lead_len;
    *lit = xrealloc(*lit, *len + n + 1);
    memcpy(*lit + *len, p, n);
    *len += n;
    (*lit)[*len] = '\0';
}

static const struct {
    const char *name;
    enum af_field field;
} nginx_vars[] = {
    { "remote_addr", AF_CLIENT },
    { "binary_remote_addr", AF_SKIP },
    { "http_x_forwarded_for", AF_SKIP },
    { "remote_user", AF_USER },
    { "time_local", AF_TIME_LOCAL },
    { "time_iso8601", AF_TIME_ISO },
    { "msec", AF_TIME_EPOCH },
    { "request", AF_REQUEST },
    { "request_method", AF_METHOD },
    { "request_uri", AF_PATH },
    { "uri", AF_PATH },
    { "status", AF_STATUS },
    { "request_time", AF_LAT_S },
    { "upstream_response_time", AF_UP_S },
    { "upstream_cache_status", AF_CACHE },
};

static int compile_nginx(struct access_format *f, const char *s, struct err *err)
{
    const char *lit = s;
    for (const char *p = s; *p;) {
        if (*p != '$') {
            p++;
            continue;
        }
        add_lit(f, lit, (size_t)(p - lit));
        bool brace = p[1] == '{';
        const char *n = p + 1 + brace;
        size_t len = 0;
        while ((n[len] >= 'a' && n[len] <= 'z') || (n[len] >= 'A' && n[len] <= 'Z') ||
               (n[len] >= '0' && n[len] <= '9') || n[len] == '_')
            len++;
        if (!len || (brace && n[len] != '}'))
            return err_set(err, ERR_USAGE, "bad variable at '%.20s' in access format", p);
        enum af_field field = AF_SKIP;
        for (size_t i = 0; i < sizeof(nginx_vars) / sizeof(nginx_vars[0]); i++)
            if (strlen(nginx_vars[i].name) == len && memcmp(nginx_vars[i].name, n, len) == 0)
                field = nginx_vars[i].field;
        add_tok(f, field);
        p = n + len + brace;
        lit = p;
    }
    add_lit(f, lit, strlen(lit));
    return 0;
}

/* Apache LogFormat directives: %[<>][{arg}]X. */
static int compile_apache(struct access_format *f, const char *s, struct err *err)
{
    const char *lit = s;
    for (const char *p = s; *p;) {
        if (*p == '\\' && p[1] == '"') {
            add_lit(f, lit, (size_t)(p - lit));
            lit = ++p; /* the quote stays, the backslash goes */
            p++;
            continue;
        }
        if (*p != '%') {
            p++;
            continue;
        }
        add_lit(f, lit, (size_t)(p - lit));
        const char *d = p + 1;
        if (*d == '%') {
            lit = d;
            p = d + 1;
            continue;
        }
        while (*d == '<' || *d == '>' || *d == '!' || *d == ',' || (*d >= '0' && *d <= '9'))
            d++;
        const char *arg = NULL;
        size_t arg_len = 0;
        if (*d == '{') {
            arg = d + 1;
            const char *close = strchr(arg, '}');
            if (!close)
                return err_set(err, ERR_USAGE, "unclosed %%{ in access format at '%.20s'", p);
            arg_len = (size_t)(close - arg);
            d = close + 1;
        }
        enum af_field field;
        switch (*d) {
        case 'h':
        case 'a':
            field = AF_CLIENT;
            break;
        case 'u':
            field = AF_USER;
            break;
        case 't':
            if (arg) /* a strftime layout of its own: not read */
                return err_set(err, ERR_USAGE, "%%{...}t is not supported in access formats");
            add_lit(f, "[", 1);
            field = AF_TIME_LOCAL;
            break;
        case 'r':
            field = AF_REQUEST;
            break;
        case 'm':
            field = AF_METHOD;
            break;
        case 'U':
            field = AF_PATH;
            break;
        case 's':
            field = AF_STATUS;
            break;
        case 'D':
            field = AF_LAT_US;
            break;
        case 'T':
            field = arg && arg_len == 2 && memcmp(arg, "ms", 2) == 0   ? AF_LAT_MS
                    : arg && arg_len == 2 && memcmp(arg, "us", 2) == 0 ? AF_LAT_US
                                                                       : AF_LAT_S;
            break;
        case '\0':
            return err_set(err, ERR_USAGE, "access format ends in a lone %%");
        default:
            field = AF_SKIP;
            break;
        }
        add_tok(f, field);
        if (*d == 't')
            add_lit(f, "]", 1);
        p = d + 1;
        lit = p;
    }
    add_lit(f, lit, strlen(lit));
    return 0;
}

static const struct {
    const char *name;
    enum af_field field;
} json_names[] = {
    { "field:time", AF_TIME_ISO },     { "field:client", AF_CLIENT },
    { "field:user", AF_USER },         { "field:method", AF_METHOD },
    { "field:path", AF_PATH },         { "field:request", AF_REQUEST },
    { "field:status", AF_STATUS },     { "field:latency_s", AF_LAT_S },
    { "field:latency_ms", AF_LAT_MS }, { "field:latency_us", AF_LAT_US },
    { "field:latency_ns", AF_LAT_NS }, { "field:upstream_s", AF_UP_S },
    { "field:cache", AF_CACHE },
};

/* The members nginx (escape=json), Caddy and Traefik write, best first. */
static const struct af_json json_known[] = {
    { AF_TIME_ISO, "time_iso8601" },
    { AF_TIME_ISO, "time_local" },
    { AF_TIME_ISO, "time" },
    { AF_TIME_ISO, "timestamp" },
    { AF_TIME_ISO, "@timestamp" },
    { AF_TIME_ISO, "StartUTC" },
    { AF_TIME_ISO, "ts" },
    { AF_TIME_ISO, "msec" },
    { AF_USER, "remote_user" },
    { AF_USER, "user_id" },
    { AF_USER, "ClientUsername" },
    { AF_CLIENT, "remote_addr" },
    { AF_CLIENT, "client_ip" },
    { AF_CLIENT, "ClientHost" },
    { AF_CLIENT, "request.remote_ip" },
    { AF_CLIENT, "request.client_ip" },
    { AF_METHOD, "request_method" },
    { AF_METHOD, "RequestMethod" },
    { AF_METHOD, "request.method" },
    { AF_METHOD, "method" },
    { AF_PATH, "request_uri" },
    { AF_PATH, "RequestPath" },
    { AF_PATH, "request.uri" },
    { AF_PATH, "uri" },
    { AF_PATH, "path" },
    { AF_REQUEST, "request" },
    { AF_STATUS, "status" },
    { AF_STATUS, "DownstreamStatus" },
    { AF_STATUS, "status_code" },
    { AF_LAT_S, "request_time" },
    { AF_LAT_NS, "Duration" },
    { AF_LAT_S, "duration" },
    { AF_LAT_MS, "duration_ms" },
    { AF_UP_S, "upstream_response_time" },
    { AF_UP_NS, "OriginDuration" },
    { AF_CACHE, "upstream_cache_status" },
    { AF_CACHE, "cache_status" },
};

static int compile_json_map(struct access_format *f, const char *map, struct err *err)
{
    char *copy = xstrdup(map);
    for (char *item = copy; item && *item;) {
        char *next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        char *eq = strchr(item, '=');
        if (!eq || eq == item || !eq[1]) {
            err_set(err, ERR_USAGE, "access format 'json:%s': want KEY=MEMBER pairs", map);
            free(copy);
            return -1;
        }
        *eq = '\0';
        enum af_field field = AF_SKIP;
        for (size_t i = 0; i < sizeof(json_names) / sizeof(json_names[0]); i++)
            if (strcmp(json_names[i].name + 6, item) == 0)
                field = json_names[i].field;
        if (field == AF_SKIP) {
            err_set(err, ERR_USAGE,
                    "access format: unknown key '%s' (time, client, user, method, path, "
                    "request, status, latency_s, latency_ms, latency_us, latency_ns, upstream_s, "
                    "cache)",
                    item);
            free(copy);
            return -1;
        }
        f->json = xrealloc(f->json, (f->njson + 1) * sizeof(*f->json));
        f->json[f->njson++] = (struct af_json){ field, xstrdup(eq + 1) };
        item = next;
    }
    free(copy);
    return 0;
}

static bool has_field(const struct access_format *f, enum af_field a, enum af_field b)
{
    for (size_t i = 0; i < f->ntoks; i++)
        if (f->toks[i].field == a || f->toks[i].field == b)
            return true;
    for (size_t i = 0; i < f->njson; i++)
        if (f->json[i].field == a || f->json[i].field == b)
            return true;
    return false;
}

#define NGINX_COMBINED                                                                 \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent " \
    "\"$http_referer\" \"$http_user_agent\""
#define APACHE_COMMON "%h %l %u %t \"%r\" %>s %b"

/*
 * Named layouts. Detection tries them in this order, most specific first: a
 * layout with more timing fields reads every line a shorter one does, so
 * ties go to the first. Apache's %D (integer µs) comes before nginx's
 * $request_time, which always has a fraction: "0.123" is not an integer,
 * and "123" is not taken for seconds.
 */
static const struct {
    const char *name, *spec;
} named[] = {
    { "combined+rt+cache",
      NGINX_COMBINED " $request_time $upstream_response_time $upstream_cache_status" },
    { "combined+rt", NGINX_COMBINED " $request_time $upstream_response_time" },
    { "combined+D", "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D" },
    { "combined+request_time", NGINX_COMBINED " $request_time" },
    { "combined", NGINX_COMBINED },
    { "common+D", APACHE_COMMON " %D" },
    { "common", APACHE_COMMON },
};

struct access_format *access_format_compile(const char *spec, struct err *err)
{
    struct access_format *f = xcalloc(1, sizeof(*f));
    f->spec = xstrdup(spec);
    f->lead = xstrdup("");
    const char *body = spec;
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (strcmp(spec, named[i].name) == 0)
            body = named[i].spec;
    int rc;
    if (strcmp(body, "json") == 0) {
        f->is_json = true;
        f->json = xmalloc(sizeof(json_known));
        for (size_t i = 0; i < sizeof(json_known) / sizeof(json_known[0]); i++)
            f->json[i] = (struct af_json){ json_known[i].field, xstrdup(json_known[i].path) };
        f->njson = sizeof(json_known) / sizeof(json_known[0]);
        rc = 0;
    } else if (strncmp(body, "json:", 5) == 0) {
        f->is_json = true;
        rc = compile_json_map(f, body + 5, err);
    } else if (strchr(body, '$')) {
        rc = compile_nginx(f, body, err);
    } else if (strchr(body, '%')) {
        rc = compile_apache(f, body, err);
    } else {
        rc = err_set(err, ERR_USAGE,
                     "access format '%s': not combined, common, combined+rt, json, json:MAP, an "
                     "nginx log_format or an Apache LogFormat",
                     spec);
    }
    if (rc == 0 && !has_field(f, AF_STATUS, AF_STATUS))
        rc = err_set(err, ERR_USAGE, "access format '%s' has no status field", spec);
    if (rc == 0 && !f->is_json && !has_field(f, AF_TIME_LOCAL, AF_TIME_ISO) &&
        !has_field(f, AF_TIME_EPOCH, AF_TIME_EPOCH))
        rc = err_set(err, ERR_USAGE, "access format '%s' has no time field", spec);
    if (rc < 0) {
        access_format_free(f);
        return NULL;
    }
    return f;
}

void access_format_free(struct access_format *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->ntoks; i++)
        free(f->toks[i].lit);
    for (size_t i = 0; i < f->njson; i++)
        free(f->json[i].path);
    free(f->toks);
    free(f->json);
    free(f->lead);
    free(f->spec);
    free(f);
}

const char *access_format_spec(const struct access_format *f)
{
    return f->spec;
}

bool access_format_is_json(const struct access_format *f)
{
    return f->is_json;
}

/* --- values ------------------------------------------------------------------------------ */

static int month_of(const char *p)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int m = 0; m < 12; m++)
        if (memcmp(names + 3 * m, p, 3) == 0)
            return m + 1;
    return 0;
}

static bool two(const char *p, int *v)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return false;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return true;
}

/* "07/Dec/2026:00:53:48 +0000", cached by the line's second. */
static bool parse_time_local(struct access_scan *c, struct str s, int64_t *ts_us, int *offset_s)
{
    if (s.len == c->head_len && s.len && memcmp(s.ptr, c->head, s.len) == 0) {
        *ts_us = c->base_us;
        *offset_s = c->offset_s;
        return true;
    }
    const char *p = s.ptr;
    int d, mo, y1, y2, h, mi, se, off = 0;
    if (s.len < 20 || !two(p, &d) || p[2] != '/' || !(mo = month_of(p + 3)) || p[6] != '/' ||
        !two(p + 7, &y1) || !two(p + 9, &y2) || p[11] != ':' || !two(p + 12, &h) || p[14] != ':' ||
        !two(p + 15, &mi) || p[17] != ':' || !two(p + 18, &se))
        return false;
    if (s.len > 20) {
        if (p[20] != ' ' || !tstamp_zone_offset(str_make(p + 21, s.len - 21), &off))
            return false;
    }
    if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    int64_t days = tstamp_days_from_civil(y1 * 100 + y2, (unsigned)mo, (unsigned)d);
    int64_t t = ((days * 24 + h) * 60 + mi) * 60 + se - off;
    *ts_us = t * 1000000;
    *offset_s = off;
    if (s.len < sizeof(c->head)) {
        memcpy(c->head, s.ptr, s.len);
        c->head_len = s.len;
        c->base_us = *ts_us;
        c->offset_s = off;
    }
    return true;
}

/* A decimal number "12", "0.123", "1.5e3" is not read; "-" is unknown. Scaled to µs. */
static bool parse_decimal(struct str s, int64_t scale_us, int64_t *out)
{
    size_t i = 0;
    int64_t whole = 0, frac = 0, frac_scale = 1;
    if (!s.len)
        return false;
    for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++) {
        if (whole > INT64_MAX / 100 / (scale_us ? scale_us : 1))
            return false;
        whole = whole * 10 + (s.ptr[i] - '0');
    }
    if (i == 0)
        return false;
    if (i < s.len && s.ptr[i] == '.') {
        for (i++; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++) {
            if (frac_scale < 1000000000) {
                frac = frac * 10 + (s.ptr[i] - '0');
                frac_scale *= 10;
            }
        }
    }
    if (i != s.len)
        return false;
    *out = whole * scale_us + frac * scale_us / frac_scale;
    return true;
}

/* A time in a unit; nginx writes "-" for none and "0.1, 0.2" (or " : ") for retries: summed. */
static bool parse_duration(struct str s, enum af_field f, int64_t *out)
{
    if (s.len == 1 && s.ptr[0] == '-') {
        *out = -1;
        return true;
    }
    if (f == AF_LAT_NS) {
        int64_t ns;
        if (!parse_decimal(s, 1, &ns))
            return false;
        *out = ns / 1000;
        return true;
    }
    int64_t scale = f == AF_LAT_S || f == AF_UP_S ? 1000000 : f == AF_LAT_MS ? 1000 : 1;
    /* Apache's %D is whole microseconds: "0.010" is another layout's field. */
    if (scale == 1 && memchr(s.ptr, '.', s.len))
        return false;
    int64_t sum = 0;
    bool any = false;
    while (s.len) {
        size_t n = 0;
        while (n < s.len && s.ptr[n] != ',' && s.ptr[n] != ' ' && s.ptr[n] != ':')
            n++;
        int64_t v;
        if (n && !(n == 1 && s.ptr[0] == '-')) {
            if (!parse_decimal(str_make(s.ptr, n), scale, &v))
                return false;
            sum += v;
            any = true;
        }
        while (n < s.len && (s.ptr[n] == ',' || s.ptr[n] == ' ' || s.ptr[n] == ':'))
            n++;
        s = str_skip(s, n);
    }
    *out = any ? sum : -1;
    return true;
}

static bool parse_status(struct str s, int *out)
{
    if (s.len != 3 || s.ptr[0] < '1' || s.ptr[0] > '5' || s.ptr[1] < '0' || s.ptr[1] > '9' ||
        s.ptr[2] < '0' || s.ptr[2] > '9')
        return false;
    *out = (s.ptr[0] - '0') * 100 + (s.ptr[1] - '0') * 10 + (s.ptr[2] - '0');
    return true;
}

/* "GET /path HTTP/1.1": the method and the target; anything else leaves both empty. */
static void split_request(struct str s, struct access_record *rec)
{
    const char *sp = memchr(s.ptr, ' ', s.len);
    if (!sp)
        return;
    rec->method = str_make(s.ptr, (size_t)(sp - s.ptr));
    struct str rest = str_make(sp + 1, s.len - (size_t)(sp + 1 - s.ptr));
    size_t end = rest.len;
    while (end && rest.ptr[end - 1] != ' ')
        end--;
    rec->path = end ? str_make(rest.ptr, end - 1) : rest;
}

static bool set_field(enum af_field f, struct str v, struct access_scan *c,
                      struct access_record *rec)
{
    switch (f) {
    case AF_SKIP:
        return true;
    case AF_CLIENT:
        rec->client = v;
        return true;
    case AF_USER:
        if (!(v.len == 1 && v.ptr[0] == '-'))
            rec->user = v;
        return true;
    case AF_TIME_LOCAL:
        return parse_time_local(c, v, &rec->ts_us, &rec->offset_s);
    case AF_TIME_ISO: {
        bool known;
        size_t n = tstamp_parse(v, &rec->ts_us, &rec->offset_s, &known);
        if (n)
            return true;
        return parse_time_local(c, v, &rec->ts_us, &rec->offset_s);
    }
    case AF_TIME_EPOCH: {
        int64_t us;
        if (!parse_decimal(v, 1000000, &us))
            return false;
        rec->ts_us = us;
        rec->offset_s = 0;
        return true;
    }
    case AF_REQUEST:
        split_request(v, rec);
        return true;
    case AF_METHOD:
        rec->method = v;
        return true;
    case AF_PATH:
        rec->path = v;
        return true;
    case AF_STATUS:
        return parse_status(v, &rec->status);
    case AF_LAT_S:
    case AF_LAT_MS:
    case AF_LAT_US:
    case AF_LAT_NS:
        return parse_duration(v, f, &rec->latency_us);
    case AF_UP_S:
        return parse_duration(v, AF_UP_S, &rec->upstream_us);
    case AF_UP_NS:
        return parse_duration(v, AF_LAT_NS, &rec->upstream_us);
    case AF_CACHE:
        if (!(v.len == 1 && v.ptr[0] == '-'))
            rec->cache = v;
        return true;
    }
    return false;
}

/* --- lines ------------------------------------------------------------------------------- */

void access_scan_init(struct access_scan *s)
{
    memset(s, 0, sizeof(*s));
}

void access_scan_release(struct access_scan *s)
{
    json_decref(s->doc);
    s->doc = NULL;
}

/*
 * Whether the literal, whose first byte q holds, is all there. By hand:
 * the literals are 1-3 bytes, and a libc memcmp call cost 6 % of a line.
 */
static bool lit_rest(const char *q, const char *end, const char *lit, size_t lit_len)
{
    if ((size_t)(end - q) < lit_len)
        return false;
    for (size_t i = 1; i < lit_len; i++)
        if (q[i] != lit[i])
            return false;
    return true;
}

/*
 * The end of a field that runs to the literal lit: a quoted field (the
 * literal before it ends in '"') ends at the first '"' not escaped by a
 * backslash; any other at the first place the literal matches.
 */
static const char *field_end(const char *p, const char *end, const char *lit, size_t lit_len,
                             bool quoted)
{
    if (!lit_len)
        return end;
    if (quoted && lit[0] == '"') {
        for (const char *q = p; q < end; q++) {
            q = memchr(q, '"', (size_t)(end - q));
            if (!q)
                return NULL;
            size_t slashes = 0;
            while (q - slashes > p && q[-1 - (ptrdiff_t)slashes] == '\\')
                slashes++;
            if (slashes % 2 == 0 && lit_rest(q, end, lit, lit_len))
                return q;
        }
        return NULL;
    }
    for (const char *q = p; q < end; q++) {
        q = memchr(q, lit[0], (size_t)(end - q));
        if (!q)
            return NULL;
        if (lit_rest(q, end, lit, lit_len))
            return q;
    }
    return NULL;
}

static bool parse_positional(const struct access_format *f, struct access_scan *scan,
                             struct str line, struct access_record *rec)
{
    const char *p = line.ptr, *end = line.ptr + line.len;
    if ((size_t)(end - p) < f->lead_len || memcmp(p, f->lead, f->lead_len) != 0)
        return false;
    p += f->lead_len;
    bool quoted = f->lead_len && f->lead[f->lead_len - 1] == '"';
    for (size_t i = 0; i < f->ntoks; i++) {
        const struct af_tok *t = &f->toks[i];
        /*
         * The last field ends the format, not always the line (more fields
         * may be logged after it): it runs to the next space, or to the end
         * for the upstream time ("0.010, 0.020" after retries) and quoted text.
         */
        const char *e;
        if (i + 1 == f->ntoks && t->lit_len == 0) {
            e = end;
            if (!quoted && t->field != AF_UP_S && t->field != AF_UP_NS) {
                const char *sp = memchr(p, ' ', (size_t)(end - p));
                e = sp ? sp : end;
            }
        } else {
            e = field_end(p, end, t->lit, t->lit_len, quoted);
            if (!e)
                return false;
        }
        if (!set_field(t->field, str_make(p, (size_t)(e - p)), scan, rec))
            return false;
        p = e + t->lit_len;
        quoted = t->lit_len && t->lit[t->lit_len - 1] == '"';
    }
    return true;
}

static json_t *json_member(json_t *doc, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot)
        return json_object_get(doc, path);
    char key[64];
    size_t n = (size_t)(dot - path);
    if (n >= sizeof(key))
        return NULL;
    memcpy(key, path, n);
    key[n] = '\0';
    json_t *inner = json_object_get(doc, key);
    return json_is_object(inner) ? json_member(inner, dot + 1) : NULL;
}

/* A JSON value as text: strings as they are, numbers printed into scratch. */
static bool json_text(json_t *v, char *scratch, size_t cap, struct str *out)
{
    if (json_is_string(v)) {
        *out = str_make(json_string_value(v), json_string_length(v));
        return true;
    }
    int n;
    if (json_is_integer(v))
        n = snprintf(scratch, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        n = snprintf(scratch, cap, "%.6f", json_real_value(v));
    else
        return false;
    if (n < 0 || (size_t)n >= cap)
        return false;
    *out = str_make(scratch, (size_t)n);
    return true;
}

static bool parse_json(const struct access_format *f, struct access_scan *scan, struct str line,
                       struct access_record *rec)
{
    json_decref(scan->doc);
    scan->doc = json_loadb(line.ptr, line.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(scan->doc))
        return false;
    bool seen[AF_CACHE + 1] = { false };
    char scratch[AF_CACHE + 1][32];
    for (size_t i = 0; i < f->njson; i++) {
        enum af_field field = f->json[i].field;
        /* One member per field; the durations and times share a slot. */
        enum af_field slot = field >= AF_LAT_S && field <= AF_LAT_NS            ? AF_LAT_S
                             : field == AF_UP_NS                                ? AF_UP_S
                             : field >= AF_TIME_LOCAL && field <= AF_TIME_EPOCH ? AF_TIME_ISO
                                                                                : field;
        if (seen[slot])
            continue;
        json_t *v = json_member(scan->doc, f->json[i].path);
        struct str text;
        if (!v || json_is_null(v) || !json_text(v, scratch[slot], sizeof(scratch[slot]), &text))
            continue;
        if (slot == AF_TIME_ISO && json_is_number(v))
            field = AF_TIME_EPOCH;
        if (field == AF_REQUEST && json_is_object(v))
            continue;
        if (!set_field(field, text, scan, rec))
            return false;
        seen[slot] = true;
    }
    return seen[AF_STATUS] && seen[AF_TIME_ISO];
}

bool access_parse(const struct access_format *f, struct access_scan *scan, struct str line,
                  struct access_record *rec)
{
    *rec = (struct access_record){
        .ts_us = TS_NONE, .status = -1, .latency_us = -1, .upstream_us = -1
    };
    if (line.len && line.ptr[line.len - 1] == '\r')
        line.len--;
    if (f->is_json)
        return parse_json(f, scan, line, rec);
    return parse_positional(f, scan, line, rec);
}

/* --- detection --------------------------------------------------------------------------- */

static size_t count_read(const struct access_format *f, const char *buf, size_t len, size_t *lines)
{
    struct access_scan scan;
    access_scan_init(&scan);
    size_t ok = 0;
    *lines = 0;
    for (const char *p = buf, *end = buf + len; p < end && *lines < 200;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a cut last line says nothing */
        struct access_record rec;
        if (nl > p) {
            (*lines)++;
            ok += access_parse(f, &scan, str_make(p, (size_t)(nl - p)), &rec);
        }
        p = nl + 1;
    }
    access_scan_release(&scan);
    return ok;
}

struct access_format *access_format_detect(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    struct err err;
    if (i < len && buf[i] == '{') {
        struct access_format *f = access_format_compile("json", &err);
        size_t lines, ok = count_read(f, buf, len, &lines);
        if (ok * 2 >= lines && ok)
            return f;
        access_format_free(f);
        return NULL;
    }
    struct access_format *best = NULL;
    size_t best_ok = 0, lines = 0;
    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
        struct access_format *f = access_format_compile(named[k].name, &err);
        ASSERT(f);
        size_t ok = count_read(f, buf, len, &lines);
        /* A layout that reads clearly more lines wins; ties go to the more specific. */
        if (ok > best_ok + best_ok / 10 || !best) {
            access_format_free(best);
            best = f;
            best_ok = ok;
        } else {
            access_format_free(f);
        }
    }
    if (!best_ok || best_ok * 2 < lines) {
        access_format_free(best);
        return NULL;
    }
    return best;
}

/* --- routes ------------------------------------------------------------------------------ */

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A path segment that names one object rather than a kind of page. */
static bool is_id(const char *s, size_t n)
{
    size_t digits = 0, hex = 0;
    for (size_t i = 0; i < n; i++) {
        digits += s[i] >= '0' && s[i] <= '9';
        hex += is_hex(s[i]) || s[i] == '-';
    }
    if (!n)
        return false;
    if (digits == n)
        return true;
    if (n >= 8 && hex == n && digits)
        return true;                   /* UUIDs, hashes */
    return n >= 16 && digits * 4 >= n; /* tokens such as session ids */
}

size_t access_route(struct str target, char *out, size_t cap)
{
    size_t o = 0;
    /* A record whose request did not parse has a NULL path: NULL + 0 is undefined. */
    if (!target.ptr)
        target = str_make("", 0);
    const char *p = target.ptr, *end = target.ptr + target.len;
    /* An absolute URI (proxies log them): keep the path. */
    if (target.len > 8 && (memcmp(p, "http://", 7) == 0 || memcmp(p, "https://", 8) == 0)) {
        const char *slash = memchr(p + 8, '/', (size_t)(end - p - 8));
        p = slash ? slash : end;
    }
    const char *q = p;
    while (q < end && *q != '?' && *q != '#')
        q++;
    end = q;
    if (cap == 0)
        return 0;
    while (p < end && o + 1 < cap) {
        if (*p == '/') {
            out[o++] = '/';
            p++;
            continue;
        }
        const char *seg = p;
        while (p < end && *p != '/')
            p++;
        size_t n = (size_t)(p - seg);
        const char *text = is_id(seg, n) ? "{id}" : seg;
        size_t tn = text == seg ? n : 4;
        if (o + tn >= cap)
            tn = cap - 1 - o;
        memcpy(out + o, text, tn);
        o += tn;
    }
    if (o == 0 && cap > 1)
        out[o++] = '-'; /* no path: "-" or junk */
    out[o] = '\0';
    return o;
}
