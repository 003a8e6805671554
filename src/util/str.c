/*
 * Small helpers on borrowed slices.
 */
#define _GNU_SOURCE /* memmem: glibc's is much faster than a memchr loop */
#include "str.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct str str_trim(struct str s)
{
    while (s.len && is_blank(s.ptr[0]))
        s = str_skip(s, 1);
    while (s.len && is_blank(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

long str_find(struct str s, const char *needle)
{
    return str_find_slice(s, str_cstr(needle));
}

long str_find_nocase(struct str s, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return 0;
    /*
     * The redaction test looks for some twenty words in each statement it
     * judges: memchr finds each candidate first byte, in either case, at
     * libc's speed (a byte loop was a third of fuzz_redact's time).
     */
    int lo = tolower((unsigned char)needle[0]), up = toupper((unsigned char)needle[0]);
    for (size_t i = 0; i + n <= s.len;) {
        size_t room = s.len - n + 1 - i; /* where the needle may start */
        const char *p = memchr(s.ptr + i, lo, room);
        if (up != lo) {
            const char *q = memchr(s.ptr + i, up, p ? (size_t)(p - (s.ptr + i)) : room);
            p = q ? q : p;
        }
        if (!p)
            return -1;
        size_t at = (size_t)(p - s.ptr);
        if (strncasecmp(p + 1, needle + 1, n - 1) == 0)
            return (long)at;
        i = at + 1;
    }
    return -1;
}

bool str_has_uri_userinfo(struct str s)
{
    for (long at; (at = str_find(s, "://")) >= 0;) {
        s = str_skip(s, (size_t)at + 3);
        /* The authority ends at a path, a space or a quote; user info ends at '@'. */
        size_t n = 0;
        while (n < s.len && !strchr("/ '\"", s.ptr[n]) && s.ptr[n] != '@')
            n++;
        if (n < s.len && s.ptr[n] == '@')
            return true;
    }
    return false;
}

long str_find_slice(struct str s, struct str needle)
{
    if (needle.len == 0)
        return 0;
    if (s.len < needle.len)
        return -1;
    /*
     * Short needles in short texts (log fields) are found faster by memchr on
     * the first byte than by glibc's two-way memmem, which pays a set-up cost.
     */
    if (needle.len > 16) {
        const char *p = memmem(s.ptr, s.len, needle.ptr, needle.len);
        return p ? p - s.ptr : -1;
    }
    const char *p = s.ptr, *last = s.ptr + s.len - needle.len;
    while (p <= last) {
        p = memchr(p, needle.ptr[0], (size_t)(last - p) + 1);
        if (!p)
            return -1;
        size_t i = 1;
        while (i < needle.len && p[i] == needle.ptr[i])
            i++;
        if (i == needle.len)
            return p - s.ptr;
        p++;
    }
    return -1;
}

size_t str_parse_u64(struct str s, unsigned long long *out)
{
    size_t i = 0;
    unsigned long long v = 0;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && i < 19) {
        v = v * 10 + (unsigned long long)(s.ptr[i] - '0');
        i++;
    }
    *out = v;
    return i;
}
