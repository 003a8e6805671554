/*
 * UTF-8 validation for the renderers: log text may hold any bytes, and
 * HTML, Markdown and JSON must be valid UTF-8.
 */
#ifndef SLEUTH_UTIL_UTF8_H
#define SLEUTH_UTIL_UTF8_H

#include <stddef.h>

#define UTF8_REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD, for bytes that are not UTF-8 */

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 if there is none.
 * n >= 1 bytes are readable at p.
 */
size_t utf8_len(const unsigned char *p, size_t n);

/*
 * The largest length <= n at which s can be cut without splitting a UTF-8
 * sequence (s[n] must be readable: a byte of s or its terminating NUL).
 */
size_t utf8_cut(const char *s, size_t n);

#endif
