/*
 * JSON strings that never go missing on invalid UTF-8 (see jsonstr.h).
 */
#include "util/jsonstr.h"

#include "util/buf.h"
#include "util/utf8.h"

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
