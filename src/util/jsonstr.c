/*
 * JSON strings that never go missing on invalid UTF-8 (see jsonstr.h).
 */
#include "util/jsonstr.h"

#include "util/buf.h"
#include "util/str.h"
#include "util/tstamp.h"
#include "util/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

json_t *jsonstr_new(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    struct buf b = BUF_INIT;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);
        if (len) {
            buf_add(&b, p + i, len);
            i += len;
        } else {
            buf_addstr(&b, UTF8_REPLACEMENT);
            i++;
        }
    }
    j = json_stringn(b.ptr, b.len);
    buf_release(&b);
    return j;
}

json_t *jsonstr_time(int64_t ts_us)
{
    if (!ts_us)
        return json_null();
    struct buf b = BUF_INIT;
    tstamp_format(&b, ts_us, 0);
    json_t *j = json_string(b.ptr);
    buf_release(&b);
    return j;
}

json_t *jsonstr_hex64(uint64_t v)
{
    if (!v)
        return json_null();
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, v);
    return json_string(hex);
}

json_t *jsonstr_num(double v)
{
    return isfinite(v) ? json_real(round(v * 1000) / 1000) : json_null();
}

int64_t jsonstr_time_value(const json_t *j)
{
    const char *s = json_string_value(j);
    int64_t ts = 0;
    int off;
    bool known;
    if (!s || tstamp_parse(str_cstr(s), &ts, &off, &known) == 0)
        return 0;
    return ts;
}

uint64_t jsonstr_hex64_value(const json_t *j)
{
    const char *s = json_string_value(j);
    return s ? strtoull(s, NULL, 16) : 0;
}
