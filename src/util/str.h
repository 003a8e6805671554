/*
 * struct str: a borrowed byte slice (pointer and length) into somebody
 * else's buffer. Used for all parsing: fields and lines are slices of the
 * read buffer and are never copied on the hot path. A str is not
 * NUL-terminated; print it with "%.*s" through STR_FMT/STR_ARG.
 */
#ifndef SLEUTH_UTIL_STR_H
#define SLEUTH_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct str {
    const char *ptr;
    size_t len;
};

#define STR_FMT      "%.*s"
#define STR_ARG(s)   (int)(s).len, (s).ptr
#define STR_LIT(lit) ((struct str){ (lit), sizeof(lit) - 1 })
#define STR_NULL     ((struct str){ NULL, 0 })

static inline struct str str_make(const char *p, size_t len)
{
    return (struct str){ p, len };
}

static inline struct str str_cstr(const char *s)
{
    return (struct str){ s, s ? strlen(s) : 0 };
}

static inline bool str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool str_eq_cstr(struct str a, const char *b)
{
    return str_eq(a, str_cstr(b));
}

static inline bool str_starts(struct str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

/* Drops n bytes from the front (n <= len). */
static inline struct str str_skip(struct str s, size_t n)
{
    return (struct str){ s.ptr + n, s.len - n };
}

/* Removes ASCII blanks (space, tab, CR, LF) at both ends. */
struct str str_trim(struct str s);
/* Index of the first occurrence of needle in s, or -1. */
long str_find(struct str s, const char *needle);
long str_find_slice(struct str s, struct str needle);
/* Index of the first occurrence of needle in s in any ASCII case, or -1 (an empty needle: 0). */
long str_find_nocase(struct str s, const char *needle);
static inline bool str_contains_nocase(struct str s, const char *needle)
{
    return str_find_nocase(s, needle) >= 0;
}
/* Whether s holds a URI with user info, which may carry a password: scheme://user:pw@host. */
bool str_has_uri_userinfo(struct str s);
/* Parses an unsigned decimal at the front; returns digits consumed (0 if none). */
size_t str_parse_u64(struct str s, unsigned long long *out);

#endif
