/*
 * Statements that carry a planted secret, for the redaction tests and the
 * fuzz_planted harness (header-only, like feed.h): planted_statement()
 * writes one of the shapes below, the kinds of statement the redaction
 * policy names (role passwords, settings, EXECUTE parameters, COPY ...
 * PROGRAM, user mappings and servers, pgcrypto and dblink arguments, DO
 * blocks, subscriptions), with PLANTED_SECRET quoted one of several ways
 * where the secret goes, and with the bytes it is given choosing the shape,
 * the quoting, what comes before and after the statement, the spacing and
 * comments between tokens and the case of every keyword. Whatever it
 * writes, no redacted text may show PLANTED_SECRET.
 */
#ifndef SLEUTH_TESTS_PLANTED_H
#define SLEUTH_TESTS_PLANTED_H

#include "util/buf.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* What is planted: lower case (a lowered copy shows it too), and none of the words the policy looks
 * for. */
#define PLANTED_SECRET "xyzzyplugh"

/*
 * Tokens separated by one space; S stands for the secret as a literal (or a
 * bare word where PostgreSQL reads one: a password, a setting's value),
 * C for a connection string that holds it.
 */
static const char *const planted_shapes[] = {
    "alter role r password S",
    "alter role r with encrypted password S",
    "create role r login password S valid until 'infinity'",
    "create user r with password S",
    "alter user r password S",
    "set app.key = S",
    "set app.key to S",
    "set session app.key = S",
    "set local app.key to S",
    "set app.key = 'a' , S",
    "alter role r set app.key = S",
    "alter role r in database d set app.key to S",
    "alter database d set app.key = S",
    "alter function f ( ) set app.key = S",
    "alter routine f ( ) set app.key = S",
    "create or replace procedure p ( ) language sql set app.key = S as 'x'",
    "update pg_settings set setting = S where name = 'app.key'",
    "create function f ( ) returns int language sql set app.key = S as 'x'",
    "alter system set app.key = S",
    "execute p ( S )",
    "execute p ( 1 , S )",
    "explain execute p ( S )",
    "explain ( analyze ) execute p ( S )",
    "create table t as execute p ( S )",
    "copy t from program S",
    "copy ( select 1 ) to program S",
    "create user mapping for u server s options ( user 'u' , password S )",
    "alter user mapping for u server s options ( set password S )",
    "create server s foreign data wrapper w options ( host 'h' , password S )",
    "alter server s options ( set password S )",
    "alter foreign data wrapper w options ( add token S )",
    "create foreign table ft ( a int ) server s options ( password S )",
    "import foreign schema r from server s into l options ( password S )",
    "select pgp_sym_encrypt ( 'd' , S )",
    "select public.pgp_sym_encrypt ( 'd' , S )",
    "select pg_catalog.set_config ( 'app.key' , S , false )",
    "prepare q as select set_config ( 'app.key' , S , false )",
    "with k as ( select pgp_sym_encrypt ( 'd' , S ) ) select * from k",
    "select crypt ( S , gen_salt ( 'bf' ) )",
    "select set_config ( 'app.key' , S , false )",
    "select hmac ( 'd' , S , 'sha256' )",
    "select encrypt ( 'd' , S , 'aes' )",
    "select decrypt_iv ( c , S , 'iv' , 'aes' ) from t",
    "select digest ( S , 'sha256' )",
    "select dearmor ( S )",
    "insert into t ( c ) values ( pgp_sym_encrypt ( 'd' , S ) )",
    "update t set c = crypt ( S , gen_salt ( 'bf' ) ) where id = 1",
    "set \"app.key\" = S",
    "alter role \"Rx\" password S",
    "do S",
    "do language plpgsql S",
    "select dblink_connect ( C )",
    "select dblink ( C , 'q' )",
    "select dblink_exec ( C , 'q' )",
    "create subscription s connection C publication p",
    "alter subscription s connection C",
};

/*
 * Where S may be a bare word: after PASSWORD, as a setting's value (not in
 * UPDATE pg_settings, where a bare word is a column), and as an EXECUTE
 * parameter (a statement that fails, but is logged).
 */
static inline bool planted_bare_ok(const char *shape)
{
    return strstr(shape, "password S") || strstr(shape, "to S") || strstr(shape, "execute p (") ||
           (strstr(shape, "= S") && strncmp(shape, "update", 6) != 0);
}

/* The ways the secret is written (a bare word only where planted_bare_ok). */
static const char *const planted_literals[] = {
    "'" PLANTED_SECRET "'",     "E'" PLANTED_SECRET "'",  "$$" PLANTED_SECRET "$$",
    "$k$" PLANTED_SECRET "$k$", "U&'" PLANTED_SECRET "'", "'" PLANTED_SECRET "'::text",
    "N'" PLANTED_SECRET "'",    PLANTED_SECRET,
};

/* Connection strings that hold it, as PostgreSQL takes them. */
static const char *const planted_conninfos[] = {
    "'host=h password=" PLANTED_SECRET "'",
    "'host=h PASSWORD = ''" PLANTED_SECRET "'''",
    "'postgresql://u:" PLANTED_SECRET "@h/d'",
    "'postgres://u:" PLANTED_SECRET "@h:5432/d?sslmode=require'",
};

static const char *const planted_before[] = {
    "", "select 1 ; ", "begin ; ", "/* app:web */ ", "-- note\n", "set a = 1 ; ",
};

static const char *const planted_after[] = { "", " ;", " ; select 1", " ; commit" };

/* What may stand between two tokens; the first two only where one is punctuation. */
static const char *const planted_gaps[] = {
    "",
    "",
    " ",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\f",
    "  ",
    "/**/",
    "/* c */",
    "--c\n",
    "/* a /* b */ c */",
};

#define PLANTED_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Reads the next byte of what chooses, or 0 when none is left. */
static inline unsigned planted_next(const uint8_t **data, size_t *size)
{
    if (!*size)
        return 0;
    (*size)--;
    return *(*data)++;
}

/* Whether ch would run into a word next to it: a name may hold '$' (do$$x$$ is one name). */
static inline bool planted_is_word(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '\'' || ch == '$';
}

/*
 * Appends to out the statement that data chooses (any bytes; missing ones
 * read as 0) and returns its shape's index.
 */
static inline size_t planted_statement(const uint8_t *data, size_t size, struct buf *out)
{
    size_t shape_at = planted_next(&data, &size) % PLANTED_COUNT(planted_shapes);
    const char *shape = planted_shapes[shape_at];
    unsigned how = planted_next(&data, &size);
    size_t nlit = PLANTED_COUNT(planted_literals) - (planted_bare_ok(shape) ? 0 : 1);
    const char *secret = planted_literals[how % nlit];
    const char *conninfo = planted_conninfos[how % PLANTED_COUNT(planted_conninfos)];
    buf_addstr(out, planted_before[planted_next(&data, &size) % PLANTED_COUNT(planted_before)]);
    unsigned after = planted_next(&data, &size);
    char last = ' ';
    for (const char *p = shape; *p;) {
        size_t shape_len = strcspn(p, " "), n = shape_len;
        const char *token = p;
        if (n == 1 && (*p == 'S' || *p == 'C')) {
            token = *p == 'S' ? secret : conninfo;
            n = strlen(token);
        }
        if (last != ' ') {
            unsigned gap = planted_next(&data, &size) % PLANTED_COUNT(planted_gaps);
            /* Two words need a gap: "alterrole" is another word. */
            if (gap < 2 && planted_is_word(last) && planted_is_word(token[0]))
                gap = 2;
            buf_addstr(out, planted_gaps[gap]);
        }
        size_t at = out->len;
        buf_add(out, token, n);
        /* Keywords and names in any case; the secret, literals and $tag$ quotes as written. */
        if (token == p && *p != '\'' && *p != '$') {
            unsigned upper = planted_next(&data, &size);
            for (size_t i = 0; i < n; i++)
                if (upper & (1u << (i % 8)))
                    out->ptr[at + i] = (char)toupper((unsigned char)out->ptr[at + i]);
        }
        last = token[n - 1];
        p += shape_len;
        while (*p == ' ')
            p++;
    }
    buf_addstr(out, planted_after[after % PLANTED_COUNT(planted_after)]);
    return shape_at;
}

/* Whether text shows the planted secret, in any case. */
static inline bool planted_shown(const char *text, size_t len)
{
    size_t n = strlen(PLANTED_SECRET);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(text + i, PLANTED_SECRET, n) == 0)
            return true;
    return false;
}

#endif
