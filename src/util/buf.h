/*
 * struct buf: an owned, growable byte buffer (git's strbuf, cmark's
 * strbuf). buf.ptr is never NULL (BUF_INIT points at a static ""), the
 * content is always NUL-terminated and may contain NULs.
 */
#ifndef SLEUTH_UTIL_BUF_H
#define SLEUTH_UTIL_BUF_H

#include "compat.h"
#include "str.h"

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *ptr;
    size_t len;
    size_t cap; /* 0 while ptr is the static empty string */
};

extern char buf_empty[];
#define BUF_INIT        \
    {                   \
        buf_empty, 0, 0 \
    }

void buf_init(struct buf *b, size_t hint);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Makes room for extra more bytes (plus the NUL). */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
static inline void buf_addslice(struct buf *b, struct str s)
{
    buf_add(b, s.ptr, s.len);
}
/* Hands the bytes to the caller (free()) and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);
/* Shrinks to len bytes (len <= b->len). */
void buf_setlen(struct buf *b, size_t len);

#endif
