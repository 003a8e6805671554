/*
 * libFuzzer harness for what the redaction policy must catch (sql/redact.c):
 * the input chooses a statement that carries a planted secret (see
 * planted.h: the shape, how the secret is quoted, what comes before and
 * after, spacing, comments and case), and the harness aborts when the
 * policy does not call it a possible secret, or when the example
 * (redact_statement with literals) or the normalised text, asked for with
 * or without the secret test, shows the secret. fuzz_redact checks that what the policy decides is
 * applied; this one checks the decision.
 */
#include "sql/redact.h"

#include "../planted.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct buf *sql, const struct buf *out)
{
    fprintf(stderr, "fuzz_planted: %s\n statement: %.*s\n shown: %.*s\n", what, (int)sql->len,
            sql->ptr, (int)out->len, out->ptr);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf sql = BUF_INIT, example = BUF_INIT, norm = BUF_INIT;
    planted_statement(data, size, &sql);
    struct str s = str_make(sql.ptr, sql.len);
    if (!redact_statement(s, true, &example))
        fail("the example keeps its literals", &sql, &example);
    if (planted_shown(example.ptr, example.len))
        fail("the example shows the secret", &sql, &example);
    bool secret = false;
    redact_normalize(s, &norm, &secret);
    if (!secret)
        fail("not called a possible secret", &sql, &norm);
    if (planted_shown(norm.ptr, norm.len))
        fail("the normalised text shows the secret", &sql, &norm);
    /* Most callers do not ask (the hot path): the text must be the same. */
    struct buf fast = BUF_INIT;
    redact_normalize(s, &fast, NULL);
    if (fast.len != norm.len || memcmp(fast.ptr, norm.ptr, norm.len) != 0)
        fail("not asking whether it is a secret shows another text", &sql, &fast);
    buf_release(&sql);
    buf_release(&example);
    buf_release(&norm);
    buf_release(&fast);
    return 0;
}
