/*
 * Reading index definitions (see indexdef.h). pg_get_indexdef's output is
 * regular enough that a small scanner does: the key list is the first
 * parenthesised group after USING, split at top-level commas.
 */
#include "sql/indexdef.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

/*
 * Copies one key, dropping quotes and a trailing ASC/DESC/NULLS/COLLATE/opclass for a plain name.
 */
static void copy_key(char *dst, const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    size_t out = 0;
    if (len && s[0] == '"') {
        for (size_t i = 1; i < len && out + 1 < INDEXDEF_NAME_MAX; i++) {
            if (s[i] == '"') {
                if (i + 1 < len && s[i + 1] == '"') {
                    dst[out++] = '"';
                    i++;
                    continue;
                }
                break;
            }
            dst[out++] = s[i];
        }
    } else if (len && memchr(s, '(', len) == NULL) {
        /* A plain column: the first word is its name ("status DESC NULLS LAST"). */
        for (size_t i = 0; i < len && !isspace((unsigned char)s[i]) && out + 1 < INDEXDEF_NAME_MAX;
             i++)
            dst[out++] = s[i];
    } else {
        for (size_t i = 0; i < len && out + 1 < INDEXDEF_NAME_MAX; i++)
            dst[out++] = s[i];
    }
    dst[out] = '\0';
}

int indexdef_parse(const char *def, struct indexdef *out)
{
    memset(out, 0, sizeof(*out));
    const char *using = strstr(def, " USING ");
    if (!using)
        return -1;
    const char *m = using + 7;
    size_t mlen = strcspn(m, " (");
    snprintf(out->method, sizeof(out->method), "%.*s", (int)mlen, m);
    const char *open = strchr(m, '(');
    if (!open)
        return -1;
    int depth = 0;
    bool quoted = false;
    const char *start = open + 1;
    for (const char *p = open + 1; *p; p++) {
        if (*p == '"') {
            quoted = !quoted;
            continue;
        }
        if (quoted)
            continue;
        if (*p == '(') {
            depth++;
        } else if (*p == ')' && depth > 0) {
            depth--;
        } else if ((*p == ',' && depth == 0) || (*p == ')' && depth == 0)) {
            if (out->ncols < INDEXDEF_MAX_COLS)
                copy_key(out->cols[out->ncols++], start, (size_t)(p - start));
            start = p + 1;
            if (*p == ')') {
                out->partial = strstr(p, " WHERE ") != NULL;
                return out->ncols ? 0 : -1;
            }
        }
    }
    return -1;
}

int indexdef_has_column(const struct indexdef *d, const char *col, size_t n)
{
    for (size_t i = 0; i < d->ncols && i < n; i++)
        if (strcmp(d->cols[i], col) == 0)
            return 1;
    return 0;
}
