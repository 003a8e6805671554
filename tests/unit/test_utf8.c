/* Unit tests for util/utf8.c: which byte sequences are well-formed UTF-8 (RFC 3629). */
#include "util/utf8.h"

#include "util/compat.h"

#include "test_util.h"

struct utf8_case {
    const char *name;
    const char *bytes;
    size_t n;   /* bytes readable at p */
    size_t len; /* expected utf8_len */
};

/*
 * Each case is copied to a heap block of exactly n bytes, so ASan reports a
 * read past what the caller said was readable.
 */
static void run(const struct utf8_case *cases, size_t ncases)
{
    for (size_t i = 0; i < ncases; i++) {
        unsigned char *p = malloc(cases[i].n);
        assert_non_null(p);
        memcpy(p, cases[i].bytes, cases[i].n);
        size_t got = utf8_len(p, cases[i].n);
        if (got != cases[i].len)
            fail_msg("%s: utf8_len = %zu, want %zu", cases[i].name, got, cases[i].len);
        free(p);
    }
}

static void valid_sequences_of_1_to_4_bytes(void **state)
{
    (void)state;
    static const struct utf8_case cases[] = {
        { "ASCII letter", "A", 1, 1 },
        { "NUL is a character", "\x00", 1, 1 },
        { "DEL", "\x7f", 1, 1 },
        { "U+0080, smallest 2-byte", "\xc2\x80", 2, 2 },
        { "U+00E9 e-acute", "\xc3\xa9", 2, 2 },
        { "U+07FF, largest 2-byte", "\xdf\xbf", 2, 2 },
        { "U+0800, smallest 3-byte", "\xe0\xa0\x80", 3, 3 },
        { "U+20AC euro sign", "\xe2\x82\xac", 3, 3 },
        { "U+D7FF, just below the surrogates", "\xed\x9f\xbf", 3, 3 },
        { "U+E000, just above the surrogates", "\xee\x80\x80", 3, 3 },
        { "U+FFFD replacement character", "\xef\xbf\xbd", 3, 3 },
        { "U+FFFF", "\xef\xbf\xbf", 3, 3 },
        { "U+10000, smallest 4-byte", "\xf0\x90\x80\x80", 4, 4 },
        { "U+1F600 emoji", "\xf0\x9f\x98\x80", 4, 4 },
        { "U+10FFFF, the last code point", "\xf4\x8f\xbf\xbf", 4, 4 },
        { "only the first character counts", "\xc3\xa9xyz", 5, 2 },
        { "a 3-byte one followed by more", "\xe2\x82\xac\xe2\x82\xac", 6, 3 },
    };
    run(cases, ARRAY_SIZE(cases));
}

static void overlong_forms_are_rejected(void **state)
{
    (void)state;
    static const struct utf8_case cases[] = {
        { "C0 80: NUL in 2 bytes", "\xc0\x80", 2, 0 },
        { "C1 BF: U+007F in 2 bytes", "\xc1\xbf", 2, 0 },
        { "E0 80 80: NUL in 3 bytes", "\xe0\x80\x80", 3, 0 },
        { "E0 9F BF: U+07FF in 3 bytes", "\xe0\x9f\xbf", 3, 0 },
        { "F0 80 80 80: NUL in 4 bytes", "\xf0\x80\x80\x80", 4, 0 },
        { "F0 8F BF BF: U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf", 4, 0 },
    };
    run(cases, ARRAY_SIZE(cases));
}

static void surrogates_are_rejected(void **state)
{
    (void)state;
    static const struct utf8_case cases[] = {
        { "ED A0 80: U+D800", "\xed\xa0\x80", 3, 0 },
        { "ED AD BF: U+DB7F", "\xed\xad\xbf", 3, 0 },
        { "ED B0 80: U+DC00", "\xed\xb0\x80", 3, 0 },
        { "ED BF BF: U+DFFF", "\xed\xbf\xbf", 3, 0 },
    };
    run(cases, ARRAY_SIZE(cases));
}

static void code_points_above_10ffff_are_rejected(void **state)
{
    (void)state;
    static const struct utf8_case cases[] = {
        { "F4 90 80 80: U+110000", "\xf4\x90\x80\x80", 4, 0 },
        { "F4 BF BF BF", "\xf4\xbf\xbf\xbf", 4, 0 },
        { "F5 80 80 80: lead byte past F4", "\xf5\x80\x80\x80", 4, 0 },
        { "F7 BF BF BF", "\xf7\xbf\xbf\xbf", 4, 0 },
        { "F8: old 5-byte lead", "\xf8\x88\x80\x80\x80", 5, 0 },
        { "FC: old 6-byte lead", "\xfc\x84\x80\x80\x80\x80", 6, 0 },
        { "FE", "\xfe", 1, 0 },
        { "FF", "\xff", 1, 0 },
    };
    run(cases, ARRAY_SIZE(cases));
}

static void truncated_and_broken_sequences_are_rejected(void **state)
{
    (void)state;
    static const struct utf8_case cases[] = {
        { "lone continuation 80", "\x80", 1, 0 },
        { "lone continuation BF", "\xbf", 1, 0 },
        { "2-byte lead at the end", "\xc3", 1, 0 },
        { "3-byte lead and one continuation at the end", "\xe2\x82", 2, 0 },
        { "4-byte lead and two continuations at the end", "\xf0\x9f\x98", 3, 0 },
        { "4-byte lead at the end", "\xf0", 1, 0 },
        { "2-byte lead before ASCII",
          "\xc3"
          "A",
          2, 0 },
        { "3-byte lead, ASCII in second place", "\xe2\x28\xa1", 3, 0 },
        { "3-byte lead, ASCII in third place", "\xe2\x82\x28", 3, 0 },
        { "4-byte lead, ASCII in third place", "\xf0\x9f\x28\x80", 4, 0 },
        { "4-byte lead, ASCII in fourth place", "\xf0\x9f\x98\x28", 4, 0 },
        { "2-byte lead before another lead", "\xc3\xc3\xa9", 3, 0 },
    };
    run(cases, ARRAY_SIZE(cases));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_sequences_of_1_to_4_bytes),
        cmocka_unit_test(overlong_forms_are_rejected),
        cmocka_unit_test(surrogates_are_rejected),
        cmocka_unit_test(code_points_above_10ffff_are_rejected),
        cmocka_unit_test(truncated_and_broken_sequences_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
