/*
 * libFuzzer harness for the SQL normaliser (and, on the same bytes, the
 * parameter substitution). It aborts when an invariant breaks:
 *  - the output is never longer than NORMALIZE_MAX_OUT(input) = 2 * n + 64;
 *  - normalizing is idempotent: normalize(normalize(x)) == normalize(x),
 *    byte for byte, and sets no new NORM_TRUNCATED or NORM_LIMIT;
 *  - appending never touches what out already held;
 *  - params_apply on (text before the first newline, text after it) either
 *    succeeds or leaves exactly the statement in out.
 * Crashes, overflows and leaks are the sanitizers' business.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_normalize.c \
 *       src/sql/normalize.c src/sql/params.c src/util/buf.c src/util/xalloc.c \
 *       src/util/bug.c src/util/str.c -o fuzz_normalize
 */
#include "sql/normalize.h"
#include "sql/params.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, struct str in, struct str out)
{
    fprintf(stderr,
            "fuzz_normalize: %s\n input (%zu bytes): " STR_FMT "\n output (%zu bytes): " STR_FMT
            "\n",
            what, in.len, STR_ARG(in), out.len, STR_ARG(out));
    abort();
}

static void check_normalize(struct str in)
{
    static const char prefix[] = "kept";
    struct buf once = BUF_INIT, twice = BUF_INIT;
    buf_addstr(&once, prefix);
    unsigned f1 = normalize_sql(in, &once);
    if (memcmp(once.ptr, prefix, sizeof(prefix) - 1) != 0)
        fail("normalize_sql overwrote what out held", in, str_make(once.ptr, once.len));
    struct str out = str_make(once.ptr + sizeof(prefix) - 1, once.len - (sizeof(prefix) - 1));
    if (out.len > NORMALIZE_MAX_OUT(in.len))
        fail("output longer than 2 * input + 64", in, out);
    if (memchr(out.ptr, '\0', out.len) && !memchr(in.ptr, '\0', in.len))
        fail("a NUL byte appeared", in, out);

    unsigned f2 = normalize_sql(out, &twice);
    if (twice.len != out.len || memcmp(twice.ptr, out.ptr, out.len) != 0)
        fail("not idempotent", out, str_make(twice.ptr, twice.len));
    if ((f2 & NORM_LIMIT) || ((f2 & NORM_TRUNCATED) && !(f1 & (NORM_TRUNCATED | NORM_LIMIT))))
        fail("normalizing the output raised TRUNCATED or LIMIT", in, out);
    buf_release(&once);
    buf_release(&twice);
}

static void check_params(struct str in)
{
    const char *nl = memchr(in.ptr, '\n', in.len);
    if (!nl)
        return;
    struct str sql = str_make(in.ptr, (size_t)(nl - in.ptr));
    struct str params = str_make(nl + 1, in.len - sql.len - 1);
    struct buf out = BUF_INIT;
    int rc = params_apply(sql, params, &out);
    if (rc != 0 && rc != -1)
        fail("params_apply returned neither 0 nor -1", in, str_make(out.ptr, out.len));
    if (rc == -1 && (out.len != sql.len || memcmp(out.ptr, sql.ptr, sql.len) != 0))
        fail("params_apply changed the statement of a malformed list", in,
             str_make(out.ptr, out.len));
    buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str in = str_make(size ? (const char *)data : "", size);
    check_normalize(in);
    check_params(in);
    return 0;
}
