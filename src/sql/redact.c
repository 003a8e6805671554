/*
 * The redaction policy (see redact.h). The test runs on the normalised text
 * (lower case, comments dropped, one space between tokens), so a comment or
 * odd spacing cannot hide a keyword, and is a word list: cheap, lexical,
 * and deliberately broad, since a false alarm costs only an example's
 * literals. It sits between the normaliser and everything that shows text.
 */
#include "sql/redact.h"

#include "sql/normalize.h"
#include "util/compat.h"

#include <ctype.h>
#include <string.h>

#include "util/banned.h"

/*
 * Functions whose arguments may be secrets (pgcrypto keys and what it hashes, dblink connection
 * strings, settings), in any statement: their literals are gone once normalised, but not from
 * an example. Those named here count where they are called (the name, maybe a space, then '(';
 * crypt is also encrypt and decrypt), so that a column digest_sent_at keeps its example; the
 * prefixes below count anywhere.
 */
static const char *const secret_functions[] = {
    "set_config", "crypt", "crypt_iv", "hmac", "pg_read_file", "digest", "armor",
};
static const char *const secret_prefixes[] = { "pgp_", "dblink" };

/*
 * Words that mark a utility statement (which keeps its literals) that may carry a secret. A
 * query reading a table named like them keeps its example. A DO block in a function's body
 * (do $ and do ') is one too.
 */
static const char *const secret_words[] = {
    "password", "alter system", "user mapping", "program", "options", "secret",
    "token",    "passphrase",   "conninfo",     "do $",    "do '",    "do e'",
};

/* Statements whose SET clause gives a setting a value: ALTER ROLE r SET name = value. */
static const char *const setting_owners[] = {
    "alter role",
    "alter user",
    "alter database",
    "alter function",
    "alter procedure",
    "alter routine",
    "create function",
    "create procedure",
    "create or replace function",
    "create or replace procedure",
};

static bool starts_with(struct str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

/* A letter, digit, '_', '.' or a byte of a multibyte character (as in a PostgreSQL name). */
static bool is_word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || (unsigned char)ch >= 0x80;
}

/* Whether s starts with the keyword word as the lexer reads it: SET( and SET.x are SET. */
static bool starts_with_word(struct str s, const char *word)
{
    size_t n = strlen(word);
    if (!starts_with(s, word))
        return false;
    if (s.len == n)
        return true;
    unsigned char next = (unsigned char)s.ptr[n];
    return !(isalnum(next) || next == '_' || next == '$' || next >= 0x80);
}

/*
 * A statement's text from its first word: past the one comment the
 * normaliser keeps (NORMALIZE_MARKER, when the input held it).
 */
static struct str first_word(struct str s)
{
    size_t n = strlen(NORMALIZE_MARKER);
    while (starts_with(s, NORMALIZE_MARKER)) {
        s = str_make(s.ptr + n, s.len - n);
        while (s.len && s.ptr[0] == ' ')
            s = str_make(s.ptr + 1, s.len - 1);
    }
    return s;
}

/*
 * Whether one of norm's statements starts with keyword word: the first,
 * or, when there are several (flags has NORM_MULTI), one after "; ".
 */
static bool a_statement_starts_with(struct str norm, unsigned flags, const char *word)
{
    for (long at = 0; at >= 0;) {
        norm = str_make(norm.ptr + at, norm.len - (size_t)at);
        if (starts_with_word(first_word(norm), word))
            return true;
        at = flags & NORM_MULTI ? str_find(norm, "; ") : -1;
        at = at < 0 ? -1 : at + 2;
    }
    return false;
}

/* Whether norm calls name: name, then at most one space, then '('. */
static bool calls(struct str norm, const char *name)
{
    size_t n = strlen(name);
    for (long at; (at = str_find_nocase(norm, name)) >= 0;) {
        norm = str_skip(norm, (size_t)at + n);
        struct str rest = norm.len && norm.ptr[0] == ' ' ? str_skip(norm, 1) : norm;
        if (rest.len && rest.ptr[0] == '(')
            return true;
    }
    return false;
}

static bool contains_any(struct str hay, const char *const *needles, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (str_contains_nocase(hay, needles[i]))
            return true;
    return false;
}

/* EXPLAIN of an EXECUTE, which shows its arguments as EXECUTE does. */
static bool explains_execute(struct str norm, unsigned flags)
{
    return a_statement_starts_with(norm, flags, "explain") && str_find(norm, " execute ") >= 0;
}

/* Whether normalised text may carry a secret. */
static bool may_hold_secret(struct str norm, unsigned flags)
{
    /* Text cut at the normaliser's limit: what followed was not read. */
    if (flags & NORM_LIMIT)
        return true;
    if (a_statement_starts_with(norm, flags, "set") ||
        a_statement_starts_with(norm, flags, "execute") || (flags & NORM_SET_LITERAL))
        return true;
    /* A DO block's body, however it is quoted: DO $$...$$, DO E'...', DO LANGUAGE l '...'. */
    if (a_statement_starts_with(norm, flags, "do"))
        return true;
    /* A subscription's CONNECTION string; UPDATE pg_settings, which is SET. */
    if (a_statement_starts_with(norm, flags, "create subscription") ||
        a_statement_starts_with(norm, flags, "alter subscription") ||
        (a_statement_starts_with(norm, flags, "update") && str_find(norm, "pg_settings") >= 0))
        return true;
    /* EXECUTE inside another statement: EXPLAIN EXECUTE p('k'), CREATE TABLE t AS EXECUTE. */
    if (str_contains_nocase(norm, " execute "))
        return true;
    /* Per-role, per-database and per-function settings: ALTER ROLE r SET name = value. */
    for (size_t i = 0; i < ARRAY_SIZE(setting_owners); i++)
        if (a_statement_starts_with(norm, flags, setting_owners[i]) &&
            str_contains_nocase(norm, " set "))
            return true;
    if ((flags & NORM_UTILITY) &&
        (contains_any(norm, secret_words, ARRAY_SIZE(secret_words)) || str_has_uri_userinfo(norm)))
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(secret_functions); i++)
        if (calls(norm, secret_functions[i]))
            return true;
    return contains_any(norm, secret_prefixes, ARRAY_SIZE(secret_prefixes));
}

/*
 * Whether everything after the first of the markers in norm is a $n
 * parameter or punctuation: SET's value after '=' or TO, EXECUTE's
 * arguments. SET takes a bare word as a value (SET app.key = abc), which the
 * normaliser keeps as it keeps identifiers.
 */
static bool values_are_params(struct str norm, const char *const *markers, size_t nmarkers)
{
    long at = -1;
    size_t mlen = 0;
    for (size_t i = 0; i < nmarkers; i++) {
        long m = str_find(norm, markers[i]);
        if (m >= 0 && (at < 0 || m < at)) {
            at = m;
            mlen = strlen(markers[i]);
        }
    }
    if (at < 0)
        return false;
    for (size_t i = (size_t)at + mlen; i < norm.len; i++) {
        char ch = norm.ptr[i];
        if (ch == '$') {
            while (i + 1 < norm.len && isdigit((unsigned char)norm.ptr[i + 1]))
                i++;
        } else if (ch != ' ' && ch != ',' && ch != '(' && ch != ')') {
            return false;
        }
    }
    return true;
}

/*
 * Keeps the first two words of what out holds from base on (after a kept
 * NORMALIZE_MARKER), then the note.
 * A word starts with a letter or '_' (a keyword or a name, never a number)
 * and ends at anything but a letter, digit, '_', '.' or a multibyte
 * character's byte, so no value written against a word survives:
 * execute p('k') keeps "execute p".
 */
static void cut(struct buf *out, size_t base)
{
    struct str text = str_make(out->ptr + base, out->len - base);
    size_t n = base + (size_t)(first_word(text).ptr - text.ptr), end = n;
    for (int nwords = 0; nwords < 2; nwords++) {
        while (n < out->len && out->ptr[n] == ' ')
            n++;
        if (n >= out->len || !(isalpha((unsigned char)out->ptr[n]) || out->ptr[n] == '_'))
            break;
        while (n < out->len && is_word_char(out->ptr[n]))
            n++;
        /* A string's prefix is no word: E'...', U&'...', B'...'. */
        if (n < out->len && (out->ptr[n] == '\'' || out->ptr[n] == '&'))
            break;
        end = n;
    }
    buf_setlen(out, end);
    buf_addstr(out, REDACT_NOTE);
}

unsigned redact_normalize(struct str sql, struct buf *out, bool *secret)
{
    size_t base = out->len;
    unsigned flags = normalize_sql(sql, out);
    struct str norm = str_make(out->ptr + base, out->len - base);
    bool settable = a_statement_starts_with(norm, flags, "set") ||
                    a_statement_starts_with(norm, flags, "execute") ||
                    (flags & (NORM_SET_LITERAL | NORM_OPTION_LITERAL)) ||
                    explains_execute(norm, flags);
    /*
     * DML keeps no literal once normalised: unless asked, the word list (the hot path's cost)
     * only matters for what may keep a value.
     */
    if (!secret && !(flags & NORM_UTILITY) && !settable)
        return flags;
    bool hit = may_hold_secret(norm, flags);
    if (secret)
        *secret = hit;
    if (!hit)
        return flags;
    static const char *const set_markers[] = { " = ", " to " };
    static const char *const execute_markers[] = { "(" };
    bool keeps_value = true;
    long at = -1;
    if (!(flags & NORM_UTILITY)) {
        /*
         * A value before '=' or TO, a string in EXPLAIN's options, or a SET or EXECUTE after
         * another statement (the markers below read one statement): cut.
         */
        if ((flags & (NORM_SET_LITERAL | NORM_OPTION_LITERAL)) || (flags & NORM_MULTI && settable))
            keeps_value = true;
        else if (starts_with_word(first_word(norm), "set"))
            keeps_value = !values_are_params(norm, set_markers, 2);
        else if (starts_with_word(first_word(norm), "execute") ||
                 (explains_execute(norm, flags) && (at = str_find(norm, " execute ")) >= 0)) {
            /* EXECUTE's arguments, not EXPLAIN's options: EXPLAIN (ANALYZE) EXECUTE p($1). */
            struct str args = at >= 0 ? str_skip(norm, (size_t)at) : norm;
            keeps_value = str_find(args, "(") >= 0 && !values_are_params(args, execute_markers, 1);
        } else {
            keeps_value = false; /* DML: its literals are $n already */
        }
    }
    if (keeps_value)
        cut(out, base);
    return flags;
}

bool redact_statement(struct str sql, bool keep_literals, struct buf *out)
{
    size_t base = out->len;
    bool secret;
    redact_normalize(sql, out, &secret);
    if (keep_literals && !secret) {
        buf_setlen(out, base);
        buf_addslice(out, sql);
        return false;
    }
    return true;
}

void redact_message(struct str m, struct buf *out)
{
    size_t base = out->len;
    for (size_t i = 0; i < m.len && out->len - base < 200; i++) {
        char ch = m.ptr[i];
        if (ch >= '0' && ch <= '9') {
            while (i + 1 < m.len && m.ptr[i + 1] >= '0' && m.ptr[i + 1] <= '9')
                i++;
            buf_addch(out, 'N');
        } else if (ch == '"') {
            size_t j = i + 1;
            while (j < m.len && m.ptr[j] != '"')
                j++;
            buf_add(out, "\"…\"", strlen("\"…\""));
            i = j;
        } else if (ch == '\n') {
            break;
        } else {
            buf_addch(out, ch);
        }
    }
}

bool redact_setting(const char *name)
{
    static const char *const words[] = { ".", "conninfo", "pass", "command", "secret", "token" };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (str_contains_nocase(str_cstr(name), words[i]))
            return true;
    return false;
}
