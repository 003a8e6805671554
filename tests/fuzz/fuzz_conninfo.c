/*
 * libFuzzer harness for the conninfo password scrub and redaction
 * (live/conninfo.c), with libpq's own parser as the judge: the input (up
 * to its first NUL) is a conninfo string or URI. Whenever libpq parses it,
 * libpq must parse the scrubbed copy too, read every option but the
 * password the same, and read a password only of 'x' (none where there
 * was none): no byte of the password libpq would use survives in argv.
 * A scrub that finds no password changes nothing. The redacted text
 * (libpq's options less the password) must not crash on any input.
 */
#include "live/conninfo.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *in, const char *scrubbed)
{
    fprintf(stderr, "fuzz_conninfo: %s\n input:    %s\n scrubbed: %s\n", what, in, scrubbed);
    abort();
}

static const char *value_of(const PQconninfoOption *opts, const char *keyword)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0)
            return o->val;
    return NULL;
}

/* The scrubbed options against the original ones. */
static void judge(const char *in, const char *scrubbed, const PQconninfoOption *before,
                  const PQconninfoOption *after)
{
    for (const PQconninfoOption *o = before; o->keyword; o++) {
        const char *v = value_of(after, o->keyword);
        if (strcmp(o->keyword, "password") == 0) {
            bool had = o->val && *o->val, has = v && *v;
            if (had != has)
                fail("the scrub made or lost a password", in, scrubbed);
            for (const char *p = has ? v : ""; *p; p++)
                if (*p != 'x')
                    fail("a byte of the password survived the scrub", in, scrubbed);
        } else if ((o->val == NULL) != (v == NULL) || (v && strcmp(o->val, v) != 0)) {
            fail("the scrub changed another option", in, scrubbed);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = xmemdup(data, size); /* NUL-terminated */
    char *scrubbed = xstrdup(in);
    bool any = conninfo_scrub(scrubbed);
    if (!any && strcmp(in, scrubbed) != 0)
        fail("the scrub changed what it says held no password", in, scrubbed);
    char *err = NULL;
    PQconninfoOption *before = PQconninfoParse(in, &err);
    PQfreemem(err);
    if (before) {
        err = NULL;
        PQconninfoOption *after = PQconninfoParse(scrubbed, &err);
        PQfreemem(err);
        if (!after)
            fail("libpq cannot parse the scrubbed copy", in, scrubbed);
        judge(in, scrubbed, before, after);
        PQconninfoFree(after);
        PQconninfoFree(before);
    }
    struct buf shown = BUF_INIT;
    conninfo_redact(&shown, in);
    buf_release(&shown);
    free(scrubbed);
    free(in);
    return 0;
}
