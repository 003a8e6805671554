/*
 * libFuzzer harness for the redaction policy (sql/redact.c) on any
 * statement or server message. It aborts when an invariant breaks:
 *  - redact_normalize appends the normaliser's text, or that text cut to a
 *    prefix and REDACT_NOTE; asking whether the statement may hold a secret
 *    (the full test) never changes what it appends (the hot path's
 *    shortcut agrees with it);
 *  - a statement that may hold a secret shows no quoted string or dollar
 *    quote outside a quoted identifier;
 *  - redact_statement with literals shows the statement itself or, when it
 *    says it dropped them, exactly the redact_normalize text; without
 *    literals, always that text;
 *  - redact_message shows one line of at most about 200 bytes, no digit,
 *    and every double-quoted value as "…", also when the quote is not closed.
 */
#include "sql/normalize.h"
#include "sql/redact.h"
#include "util/xalloc.h"

#include <ctype.h>
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
            "fuzz_redact: %s\n input (%zu bytes): " STR_FMT "\n output (%zu bytes): " STR_FMT "\n",
            what, in.len, STR_ARG(in), out.len, STR_ARG(out));
    abort();
}

static bool same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* Whether a '$' followed by ch opens a dollar quote ($$ or $tag$). */
static bool opens_tag(unsigned char ch)
{
    return ch == '$' || isalpha(ch) || ch == '_' || ch >= 0x80;
}

/*
 * Whether normalised text shows a quoted constant: outside double-quoted
 * identifiers, a single quote or a dollar quote's opening ($$ or $tag at
 * the start of a token; a name may hold '$' and any byte from 0x80 up).
 * Numbers are not looked for: the normaliser keeps those that are
 * structure (::varchar(10), ::int[3]).
 */
static bool shows_literal(const struct buf *b)
{
    bool quoted = false;
    for (size_t i = 0; i < b->len; i++) {
        unsigned char ch = (unsigned char)b->ptr[i];
        if (ch == '"') {
            quoted = !quoted;
            continue;
        }
        if (quoted)
            continue;
        unsigned char before = i ? (unsigned char)b->ptr[i - 1] : ' ';
        bool starts_token =
            !(isalnum(before) || before == '_' || before == '.' || before == '$' || before >= 0x80);
        if (ch == '\'' || (ch == '$' && starts_token && i + 1 < b->len &&
                           opens_tag((unsigned char)b->ptr[i + 1])))
            return true;
    }
    return false;
}

static void check_statement(struct str in)
{
    struct buf norm = BUF_INIT, fast = BUF_INIT, full = BUF_INIT;
    normalize_sql(in, &norm);
    redact_normalize(in, &fast, NULL);
    bool secret = false;
    redact_normalize(in, &full, &secret);
    struct str shown = str_make(full.ptr, full.len);
    if (!same(&fast, &full))
        fail("asking for the secret changed the text", in, shown);
    size_t note = strlen(REDACT_NOTE);
    bool cut = full.len >= note && memcmp(full.ptr + full.len - note, REDACT_NOTE, note) == 0 &&
               !same(&full, &norm);
    if (cut ? full.len - note > norm.len || memcmp(full.ptr, norm.ptr, full.len - note) != 0
            : !same(&full, &norm))
        fail("not the normalised text or a cut of it", in, shown);
    if (secret && shows_literal(&full))
        fail("a statement that may hold a secret shows a quoted constant", in, shown);

    struct buf with = BUF_INIT, without = BUF_INIT;
    bool dropped = redact_statement(in, true, &with);
    if (dropped ? !same(&with, &full) : with.len != in.len || memcmp(with.ptr, in.ptr, in.len))
        fail("redact_statement with literals", in, str_make(with.ptr, with.len));
    if (!redact_statement(in, false, &without) || !same(&without, &full))
        fail("redact_statement without literals", in, str_make(without.ptr, without.len));
    buf_release(&norm);
    buf_release(&fast);
    buf_release(&full);
    buf_release(&with);
    buf_release(&without);
}

static void check_message(struct str in)
{
    static const char hidden[] = "\"…\"";
    struct buf out = BUF_INIT;
    buf_addstr(&out, "kept");
    redact_message(in, &out);
    struct str shown = str_make(out.ptr, out.len);
    if (out.len < 4 || memcmp(out.ptr, "kept", 4) != 0)
        fail("redact_message overwrote what out held", in, shown);
    if (out.len - 4 > 200 + strlen(hidden))
        fail("redact_message is too long", in, shown);
    for (size_t i = 4; i < out.len; i++) {
        char ch = out.ptr[i];
        if ((ch >= '0' && ch <= '9') || ch == '\n')
            fail("redact_message shows a digit or a second line", in, shown);
        if (ch == '"') {
            if (out.len - i < strlen(hidden) || memcmp(out.ptr + i, hidden, strlen(hidden)) != 0)
                fail("redact_message shows a quoted value", in, shown);
            i += strlen(hidden) - 1;
        }
    }
    buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Readers hand slices into their buffers, empty ones too: never a NULL slice. */
    char *copy = xmemdup(data, size);
    struct str in = str_make(copy, size);
    check_statement(in);
    check_message(in);
    redact_setting(copy);
    free(copy);
    return 0;
}
