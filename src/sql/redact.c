/*
 * Hiding statements that may carry a secret (see redact.h). A word list,
 * checked without case: cheap, and only utility statements reach it.
 */
#include "sql/redact.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    int first = tolower((unsigned char)needle[0]);
    for (; *hay; hay++)
        if (tolower((unsigned char)*hay) == first && strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

bool redact_secrets(struct buf *text)
{
    static const char *const words[] = { "password", "alter system", "pg_read_file", "user mapping",
                                         "program",  "secret",       "token",        "do $",
                                         "do '",     "dblink",       "conninfo" };
    bool hit = false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && !hit; i++)
        hit = contains_nocase(text->ptr, words[i]);
    if (!hit)
        return false;
    size_t n = 0, nwords = 0;
    while (n < text->len && nwords < 2) {
        while (n < text->len && isspace((unsigned char)text->ptr[n]))
            n++;
        while (n < text->len && !isspace((unsigned char)text->ptr[n]))
            n++;
        nwords++;
    }
    buf_setlen(text, n);
    buf_addstr(text, REDACT_NOTE);
    return true;
}
