/*
 * Unit tests for sql/fingerprint.c: libpg_query's fingerprint for SQL it
 * can parse, the xxh3 fallback for what it cannot.
 *
 * Where the values come from:
 *   - fingerprints: a five-line C program that prints
 *     pg_query_fingerprint(argv[i]).fingerprint as %016llx, linked with
 *     Debian's libpg_query 15-4.0.0 (-lpg_query);
 *   - xxh3 hashes: the xxhash CLI, e.g. `printf 'abc' | xxhsum -H3`
 *     (xxhash 0.8.1), and `printf 'select 1\0 2' | xxhsum -H3` for the
 *     text with a NUL.
 */
#include "sql/fingerprint.h"

#include "util/compat.h"

#include "test_util.h"

#include <pthread.h>

struct fp_case {
    const char *sql;
    uint64_t fingerprint;
};

/* Texts that libpg_query parses, with the fingerprint it gives them. */
static const struct fp_case parsed_cases[] = {
    /* A collapsed IN list, an IN list and an equality on one parameter are one statement. */
    { "select a from t where id in ($1 /*, ... */)", 0xc155d12918e9bc37ULL },
    { "select a from t where id in ($1, $2, $3)", 0xc155d12918e9bc37ULL },
    { "select a from t where id = $1", 0xc155d12918e9bc37ULL },
    /* Literals, case and whitespace do not count either. */
    { "SELECT a FROM t WHERE id = 42", 0xc155d12918e9bc37ULL },
    /* Another table is another statement. */
    { "select a from u where id = $1", 0x0d4b33a15f42817dULL },
    { "select a from t", 0x2f2a6b825f662fa2ULL },
    { "select a from u", 0x394426e0109667bfULL },
    { "select 1", 0x50fde20626009abaULL },
};

static void parsed_statements_get_libpg_query_fingerprints(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(parsed_cases); i++) {
        bool parsed = false;
        uint64_t fp = fingerprint_sql(parsed_cases[i].sql, strlen(parsed_cases[i].sql), &parsed);
        if (fp != parsed_cases[i].fingerprint || !parsed)
            fail_msg("'%s': %016llx parsed=%d, want %016llx", parsed_cases[i].sql,
                     (unsigned long long)fp, parsed,
                     (unsigned long long)parsed_cases[i].fingerprint);
    }
}

static void same_statement_same_fingerprint_other_table_other_fingerprint(void **state)
{
    (void)state;
    bool p1, p2, p3;
    const char *in_list = "select a from t where id in ($1 /*, ... */)";
    const char *eq = "select a from t where id = $1";
    const char *other = "select a from u where id = $1";
    uint64_t a = fingerprint_sql(in_list, strlen(in_list), &p1);
    uint64_t b = fingerprint_sql(eq, strlen(eq), &p2);
    uint64_t c = fingerprint_sql(other, strlen(other), &p3);
    assert_true(p1 && p2 && p3);
    assert_true(a == b);
    assert_true(a != c);
}

static void unparsable_sql_falls_back_to_xxh3(void **state)
{
    (void)state;
    bool parsed = true;
    const char *sql = "SELEC 1";
    uint64_t fp = fingerprint_sql(sql, strlen(sql), &parsed);
    assert_false(parsed);
    assert_true(fp == 0xc9aa68d593131321ULL); /* printf 'SELEC 1' | xxhsum -H3 */
    assert_true(fp == fingerprint_hash(str_cstr(sql)));
}

static void text_with_a_nul_falls_back_to_xxh3_of_every_byte(void **state)
{
    (void)state;
    /* Valid SQL before the NUL: libpg_query would see only "select 1". */
    static const char sql[] = "select 1\0 2";
    size_t len = sizeof(sql) - 1; /* 11 bytes */
    bool parsed = true;
    uint64_t fp = fingerprint_sql(sql, len, &parsed);
    assert_false(parsed);
    assert_true(fp == 0x2a9bcd5880b54b43ULL); /* printf 'select 1\0 2' | xxhsum -H3 */
    assert_true(fp == fingerprint_hash(str_make(sql, len)));
    assert_true(fp != 0x50fde20626009abaULL); /* not the fingerprint of "select 1" */
}

static void hash_of_known_strings(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t h;
    } cases[] = {
        { "", 0x2d06800538d394c2ULL },    /* printf '' | xxhsum -H3 */
        { "abc", 0x78af5f94892f3950ULL }, /* printf 'abc' | xxhsum -H3 */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_true(fingerprint_hash(str_cstr(cases[i].s)) == cases[i].h);
    /* Only the slice counts, not what follows it. */
    assert_true(fingerprint_hash(str_make("abcdef", 3)) == 0x78af5f94892f3950ULL);
    assert_true(fingerprint_hash(STR_NULL) == 0x2d06800538d394c2ULL);
}

/* The header promises thread safety: four threads fingerprint the table at once. */
static void own_statements_are_told_by_their_leading_comment(void **state)
{
    (void)state;
    assert_true(fingerprint_is_own(str_cstr(SQL_OWN_TAG "SELECT 1")));
    assert_true(fingerprint_is_own(str_cstr("\n  /* sleuth */SELECT 1")));
    assert_false(fingerprint_is_own(str_cstr("SELECT 1 /* sleuth */")));
    assert_false(fingerprint_is_own(str_cstr("/* sleuths */ SELECT 1")));
    assert_false(fingerprint_is_own(str_cstr("/* sleu")));
    assert_false(fingerprint_is_own(str_cstr("")));
}

static void *fingerprint_all(void *arg)
{
    int *bad = arg;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < ARRAY_SIZE(parsed_cases); i++) {
            bool parsed;
            uint64_t fp =
                fingerprint_sql(parsed_cases[i].sql, strlen(parsed_cases[i].sql), &parsed);
            if (fp != parsed_cases[i].fingerprint || !parsed)
                (*bad)++;
        }
        bool parsed;
        if (fingerprint_sql("SELEC 1", 7, &parsed) != 0xc9aa68d593131321ULL || parsed)
            (*bad)++;
    }
    return NULL;
}

static void threads_get_the_same_fingerprints(void **state)
{
    (void)state;
    pthread_t th[4];
    int bad[4] = { 0 };
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fingerprint_all, &bad[i]), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(bad[i], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parsed_statements_get_libpg_query_fingerprints),
        cmocka_unit_test(own_statements_are_told_by_their_leading_comment),
        cmocka_unit_test(same_statement_same_fingerprint_other_table_other_fingerprint),
        cmocka_unit_test(unparsable_sql_falls_back_to_xxh3),
        cmocka_unit_test(text_with_a_nul_falls_back_to_xxh3_of_every_byte),
        cmocka_unit_test(hash_of_known_strings),
        cmocka_unit_test(threads_get_the_same_fingerprints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
