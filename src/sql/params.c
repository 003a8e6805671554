/*
 * Parameter substitution (see params.h): used when a query's slowest
 * execution is kept as an example, after the stderr/csv/json readers have
 * paired an "execute" line with the DETAIL line that follows it. Not on the
 * per-statement hot path, so it favours plainness over speed: it parses the
 * parameter list into a table indexed by n, then copies the statement,
 * skipping over the constructs in which "$1" is text rather than a
 * parameter (a small copy of the lexing rules in normalize.c).
 */
#include "params.h"

#include "util/compat.h"
#include "util/xalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* PostgreSQL's protocol limit on the number of bind parameters. */
#define PARAMS_MAX 65535
/* Parameter tables up to this size live on the stack. */
#define PARAMS_STACK 64

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Continues an identifier: letter, digit, '_', '$' or a byte >= 0x80. */
static bool is_ident(char c)
{
    unsigned char u = (unsigned char)c;
    return (unsigned)((u | 0x20) - 'a') < 26u || is_digit(c) || c == '_' || c == '$' || u >= 0x80;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

/* Where the "$1 = ..." list starts in a DETAIL line, or NULL. */
static const char *list_start(struct str params)
{
    const char *end = params.ptr + params.len;
    const char *p = skip_blanks(params.ptr, end);
    if (p == end || *p == '$')
        return p;
    long at = str_find(str_make(p, (size_t)(end - p)), "parameters:");
    if (at < 0)
        return NULL;
    return skip_blanks(p + at + strlen("parameters:"), end);
}

/*
 * One "$n = value" at p: sets *num and *val and returns the byte after the
 * value, or NULL if malformed.
 */
static const char *parse_one(const char *p, const char *end, unsigned long *num, struct str *val)
{
    if (p >= end || *p != '$' || p + 1 >= end || !is_digit(p[1]))
        return NULL;
    unsigned long n = 0;
    for (p++; p < end && is_digit(*p); p++) {
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > PARAMS_MAX)
            return NULL;
    }
    if (n == 0)
        return NULL;
    p = skip_blanks(p, end);
    if (p >= end || *p != '=')
        return NULL;
    p = skip_blanks(p + 1, end);
    const char *v = p;
    if (end - p >= 4 && memcmp(p, "NULL", 4) == 0) {
        p += 4;
    } else if (p < end && *p == '\'') {
        for (p++;; p += 2) {
            p = memchr(p, '\'', (size_t)(end - p));
            if (!p)
                return NULL;
            if (p + 1 >= end || p[1] != '\'')
                break;
        }
        p++;
    } else {
        return NULL;
    }
    *num = n;
    *val = str_make(v, (size_t)(p - v));
    return p;
}

/*
 * Parses the list at p. With vals NULL, only checks it and sets *max to the
 * largest n; otherwise fills vals[n - 1] (vals has *max zeroed entries).
 * Returns false if the list is malformed or repeats a number.
 */
static bool parse_list(const char *p, const char *end, struct str *vals, unsigned long *max)
{
    if (!vals)
        *max = 0;
    p = skip_blanks(p, end);
    while (p < end) {
        unsigned long n;
        struct str v;
        p = parse_one(p, end, &n, &v);
        if (!p)
            return false;
        if (vals) {
            if (vals[n - 1].ptr)
                return false;
            vals[n - 1] = v;
        } else if (n > *max) {
            *max = n;
        }
        p = skip_blanks(p, end);
        if (p < end) {
            if (*p != ',')
                return false;
            p = skip_blanks(p + 1, end);
            if (p == end)
                return false;
        }
    }
    return true;
}

/* p is just after an opening quote; returns the byte after the closing one, or end. */
static const char *skip_quoted(const char *p, const char *end, char quote, bool backslash)
{
    while (p < end) {
        char c = *p++;
        if (c == '\\' && backslash) {
            p += p < end;
        } else if (c == quote) {
            if (p < end && *p == quote)
                p++;
            else
                return p;
        }
    }
    return end;
}

static const char *skip_block_comment(const char *p, const char *end)
{
    size_t depth = 1;
    for (p += 2; p + 1 < end;) {
        if (p[0] == '*' && p[1] == '/') {
            p += 2;
            if (--depth == 0)
                return p;
        } else if (p[0] == '/' && p[1] == '*') {
            p += 2;
            depth++;
        } else {
            p++;
        }
    }
    return end;
}

/* p is at '$' not before a digit: the end of a $tag$...$tag$ constant, or NULL. */
static const char *skip_dollar(const char *p, const char *end)
{
    const char *q = p + 1;
    if (q < end && *q != '$') {
        if (is_digit(*q) || !is_ident(*q))
            return NULL;
        while (q < end && is_ident(*q) && *q != '$')
            q++;
    }
    if (q >= end || *q != '$')
        return NULL;
    size_t taglen = (size_t)(q + 1 - p);
    for (const char *r = q + 1; r < end; r++) {
        r = memchr(r, '$', (size_t)(end - r));
        if (!r)
            break;
        if ((size_t)(end - r) >= taglen && memcmp(r, p, taglen) == 0)
            return r + taglen;
    }
    return end;
}

/*
 * The end of the token at p that cannot hold a parameter (a string,
 * identifier, comment...), or p itself if p is at '$' and a digit, or p + 1
 * for any other byte.
 */
static const char *skip_text(const char *p, const char *end)
{
    char c = *p;
    const char *q;
    if (c == '\'')
        return skip_quoted(p + 1, end, '\'', false);
    if (c == '"')
        return skip_quoted(p + 1, end, '"', false);
    if ((c == 'e' || c == 'E') && p + 1 < end && p[1] == '\'')
        return skip_quoted(p + 2, end, '\'', true);
    if (c == '-' && p + 1 < end && p[1] == '-') {
        for (q = p + 2; q < end && *q != '\n' && *q != '\r'; q++)
            ;
        return q;
    }
    if (c == '/' && p + 1 < end && p[1] == '*')
        return skip_block_comment(p, end);
    if (c == '$') {
        if (p + 1 < end && is_digit(p[1]))
            return p;
        q = skip_dollar(p, end);
        return q ? q : p + 1;
    }
    if (is_ident(c)) {
        for (q = p + 1; q < end && is_ident(*q); q++)
            ;
        return q;
    }
    return p + 1;
}

static void substitute(struct str sql, const struct str *vals, unsigned long max, struct buf *out)
{
    const char *p = sql.ptr, *end = sql.ptr + sql.len, *copied = p;
    while (p < end) {
        const char *q = skip_text(p, end);
        if (q != p) {
            p = q;
            continue;
        }
        /* A parameter: "$" and all its digits, so that $10 is never $1 and a 0. */
        unsigned long n = 0;
        for (q = p + 1; q < end && is_digit(*q); q++)
            n = n > PARAMS_MAX ? n : n * 10 + (unsigned long)(*q - '0');
        if (n >= 1 && n <= max && vals[n - 1].ptr) {
            buf_add(out, copied, (size_t)(p - copied));
            buf_addslice(out, vals[n - 1]);
            copied = q;
        }
        p = q;
    }
    buf_add(out, copied, (size_t)(end - copied));
}

int params_apply(struct str sql, struct str params, struct buf *out)
{
    unsigned long max = 0;
    const char *start = NULL, *end = NULL;
    if (params.len) {
        start = list_start(params);
        end = params.ptr + params.len;
        if (!start || !parse_list(start, end, NULL, &max)) {
            buf_addslice(out, sql);
            return -1;
        }
    }
    if (max == 0) {
        buf_addslice(out, sql);
        return 0;
    }
    struct str stack[PARAMS_STACK] = { { NULL, 0 } };
    struct str *vals = max <= PARAMS_STACK ? stack : xcalloc(max, sizeof(*vals));
    int rc = 0;
    if (parse_list(start, end, vals, &max)) {
        if (sql.len)
            substitute(sql, vals, max, out);
    } else {
        buf_addslice(out, sql);
        rc = -1;
    }
    if (vals != stack)
        free(vals);
    return rc;
}
