/*
 * Unit tests for src/sql/params.c: a table of {statement, DETAIL
 * parameters, expected text, expected result} cases, run as one cmocka test
 * each, a list long enough to leave the stack table, and every "execute"
 * line of a real pgbench log with the DETAIL line PostgreSQL wrote after
 * it.
 */
#include "sql/normalize.h"
#include "sql/params.h"

/* cmocka 1.1.5 needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

#include <archive.h>
#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* clang-format off */
#define S(lit) { (lit), sizeof(lit) - 1 }
/* clang-format on */

struct params_case {
    const char *name; /* the behaviour, as the test name */
    struct str sql;
    struct str params;
    struct str want;
    int rc;
};

#define SQL_ALL \
    "SELECT '$1', \"$1\", a$1, $1 -- $1\n/* $1 /* $1 */ */ $$ $1 $$, $q$ $1 $q$, E'\\'$1', $1"

static const struct params_case cases[] = {
    { "each_parameter_gets_its_value", S("SELECT * FROM t WHERE a = $1 AND b = $2"),
      S("$1 = '42', $2 = 'x'"), S("SELECT * FROM t WHERE a = '42' AND b = 'x'"), 0 },
    { "null_is_inserted_as_null", S("UPDATE t SET a = $1 WHERE b = $2"), S("$1 = NULL, $2 = '7'"),
      S("UPDATE t SET a = NULL WHERE b = '7'"), 0 },
    { "doubled_quotes_stay_doubled", S("SELECT $1"), S("$1 = 'it''s'"), S("SELECT 'it''s'"), 0 },
    { "detail_line_prefix_is_skipped", S("SELECT $1"), S("DETAIL:  parameters: $1 = '1'\n"),
      S("SELECT '1'"), 0 },
    { "context_line_prefix_is_skipped", S("SELECT $1"),
      S("unnamed portal with parameters: $1 = 'a'"), S("SELECT 'a'"), 0 },
    { "ten_is_not_one_then_zero", S("SELECT $1, $10, $11, $1"),
      S("$1 = 'a', $2 = 'b', $3 = 'c', $4 = 'd', $5 = 'e', $6 = 'f', $7 = 'g', $8 = 'h', "
        "$9 = 'i', $10 = 'j', $11 = 'k'"),
      S("SELECT 'a', 'j', 'k', 'a'"), 0 },
    { "one_does_not_match_the_start_of_ten", S("SELECT $10, $1"), S("$1 = 'a'"),
      S("SELECT $10, 'a'"), 0 },
    { "parameter_without_value_stays", S("SELECT $1, $3"), S("$1 = 'a', $2 = 'b'"),
      S("SELECT 'a', $3"), 0 },
    { "text_that_only_looks_like_a_parameter_is_untouched", S(SQL_ALL), S("$1 = 'v'"),
      S("SELECT '$1', \"$1\", a$1, 'v' -- $1\n/* $1 /* $1 */ */ $$ $1 $$, $q$ $1 $q$, E'\\'$1', "
        "'v'"),
      0 },
    { "values_may_come_in_any_order", S("SELECT $1, $2"), S("$2 = 'b', $1 = 'a'"),
      S("SELECT 'a', 'b'"), 0 },
    { "separators_inside_a_value_belong_to_it", S("SELECT $1, $2"),
      S("$1 = 'a'', $2 = ''b', $2 = 'c'"), S("SELECT 'a'', $2 = ''b', 'c'"), 0 },
    { "value_cut_by_log_parameter_max_length", S("SELECT $1"), S("$1 = 'abcdef...'"),
      S("SELECT 'abcdef...'"), 0 },
    { "value_may_hold_newlines_and_nuls", S("SELECT $1"), S("$1 = 'a\nb\0c'"),
      S("SELECT 'a\nb\0c'"), 0 },
    { "cast_after_parameter_stays", S("SELECT $1::int + $2"), S("$1 = '42', $2 = '-1'"),
      S("SELECT '42'::int + '-1'"), 0 },
    { "empty_list_copies_the_statement", S("SELECT $1"), S(""), S("SELECT $1"), 0 },
    { "empty_list_after_prefix_copies_the_statement", S("SELECT $1"), S("parameters: "),
      S("SELECT $1"), 0 },
    { "statement_without_parameters_is_copied", S("SELECT 1"), S("$1 = 'x'"), S("SELECT 1"), 0 },

    /* Malformed lists: -1, and the statement unchanged. */
    { "missing_equals_is_malformed", S("SELECT $1"), S("$1 '42'"), S("SELECT $1"), -1 },
    { "unterminated_value_is_malformed", S("SELECT $1"), S("$1 = '42"), S("SELECT $1"), -1 },
    { "unquoted_value_is_malformed", S("SELECT $1"), S("$1 = 42"), S("SELECT $1"), -1 },
    { "parameter_zero_is_malformed", S("SELECT $1"), S("$0 = '1'"), S("SELECT $1"), -1 },
    { "parameter_above_65535_is_malformed", S("SELECT $1"), S("$65536 = '1'"), S("SELECT $1"), -1 },
    { "repeated_parameter_is_malformed", S("SELECT $1"), S("$1 = 'a', $1 = 'b'"), S("SELECT $1"),
      -1 },
    { "trailing_garbage_is_malformed", S("SELECT $1"), S("$1 = 'a' x"), S("SELECT $1"), -1 },
    { "trailing_comma_is_malformed", S("SELECT $1"), S("$1 = 'a', "), S("SELECT $1"), -1 },
    { "other_detail_line_is_malformed", S("SELECT $1"), S("DETAIL:  Key (bid)=(1) already exists."),
      S("SELECT $1"), -1 },
    { "dollar_without_number_is_malformed", S("SELECT $1"), S("$ = 'a'"), S("SELECT $1"), -1 },
};

static void run_case(void **state)
{
    const struct params_case *c = *state;
    struct buf out = BUF_INIT;
    buf_addstr(&out, ">");
    int rc = params_apply(c->sql, c->params, &out);
    if (rc != c->rc || out.len != c->want.len + 1 || memcmp(out.ptr + 1, c->want.ptr, c->want.len))
        fail_msg("%s:\n sql:    '" STR_FMT "'\n params: '" STR_FMT "'\n want:   '" STR_FMT
                 "' (%d)\n got:    '%s' (%d)",
                 c->name, STR_ARG(c->sql), STR_ARG(c->params), STR_ARG(c->want), c->rc, out.ptr + 1,
                 rc);
    assert_int_equal(out.ptr[0], '>');
    buf_release(&out);
}

/* More parameters than fit the table on the stack. */
static void three_hundred_parameters(void **state)
{
    (void)state;
    struct buf sql = BUF_INIT, params = BUF_INIT, want = BUF_INIT, out = BUF_INIT;
    buf_addstr(&sql, "SELECT");
    buf_addstr(&want, "SELECT");
    for (int i = 300; i >= 1; i--) {
        buf_addf(&params, "%s$%d = 'v%d'", i == 300 ? "" : ", ", i, i);
        buf_addf(&sql, " $%d", 301 - i);
        buf_addf(&want, " 'v%d'", 301 - i);
    }
    buf_addstr(&sql, " $301");
    buf_addstr(&want, " $301");
    assert_int_equal(
        params_apply(str_make(sql.ptr, sql.len), str_make(params.ptr, params.len), &out), 0);
    assert_string_equal(out.ptr, want.ptr);
    buf_release(&sql);
    buf_release(&params);
    buf_release(&want);
    buf_release(&out);
}

/* ---- The real log. ---- */

/* The "[pid]" of a stderr log line with log_line_prefix '%t [%p]: ...'. */
static struct str line_pid(struct str line)
{
    long open = str_find(line, " [");
    long close = str_find(line, "]: ");
    if (open < 0 || close < open)
        return STR_NULL;
    return str_make(line.ptr + open, (size_t)(close - open));
}

static uint64_t fingerprint(const char *sql)
{
    PgQueryFingerprintResult r = pg_query_fingerprint(sql);
    if (r.error)
        fail_msg("libpg_query cannot parse '%s': %s", sql, r.error->message);
    uint64_t fp = r.fingerprint;
    pg_query_free_fingerprint_result(r);
    return fp;
}

/*
 * Each "duration: ... execute <name>: SQL" line followed by its backend's
 * "DETAIL:  parameters: ..." line: the values go in, no parameter is left,
 * and libpg_query gives the result the fingerprint of the original.
 */
static void pgbench_log_execute_parameters(void **state)
{
    (void)state;
    /*
     * Counted once with this pairing; "grep -A1 'duration:.*execute'" on the
     * log and counting the DETAIL lines among them gives the same number.
     */
    enum { PAIRS = 29056 };
    struct buf log = BUF_INIT, out = BUF_INIT, sql = BUF_INIT, norm = BUF_INIT;
    if (!test_read_data("pgbench-stderr.log.gz", &log)) {
        buf_release(&log);
        skip();
    }
    size_t pairs = 0;
    struct str prev = STR_NULL;
    char *orig_sql = NULL;
    uint64_t orig_fp = 0;
    const char *p = log.ptr, *end = log.ptr + log.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        struct str line = str_make(p, (size_t)((eol ? eol : end) - p));
        p = eol ? eol + 1 : end;
        long detail = str_find(line, "DETAIL:  parameters: ");
        long exec = prev.len ? str_find(prev, " execute ") : -1;
        if (detail >= 0 && exec >= 0 && str_find(prev, "duration:") >= 0 &&
            str_eq(line_pid(line), line_pid(prev))) {
            long colon = str_find(str_skip(prev, (size_t)exec), ": ");
            assert_true(colon > 0);
            struct str stmt = str_skip(prev, (size_t)(exec + colon + 2));
            struct str params = str_skip(line, (size_t)detail);
            buf_reset(&sql);
            buf_addslice(&sql, stmt);
            buf_reset(&out);
            if (params_apply(stmt, params, &out) != 0)
                fail_msg("params_apply failed on '" STR_FMT "' with '" STR_FMT "'", STR_ARG(stmt),
                         STR_ARG(params));
            buf_reset(&norm);
            if (normalize_sql(str_make(out.ptr, out.len), &norm) & NORM_HAS_PARAMS)
                fail_msg("a parameter is left in '%s'", out.ptr);
            if (!orig_sql || strcmp(orig_sql, sql.ptr) != 0) {
                free(orig_sql);
                orig_sql = strdup(sql.ptr);
                orig_fp = fingerprint(orig_sql);
            }
            if (fingerprint(out.ptr) != orig_fp)
                fail_msg("'%s' fingerprints unlike '%s'", out.ptr, orig_sql);
            pairs++;
        }
        prev = line;
    }
    assert_int_equal(pairs, PAIRS);
    free(orig_sql);
    buf_release(&log);
    buf_release(&out);
    buf_release(&sql);
    buf_release(&norm);
}

int main(void)
{
    static struct CMUnitTest tests[ARRAY_SIZE(cases) + 2];
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        tests[n++] = (struct CMUnitTest){ .name = cases[i].name,
                                          .test_func = run_case,
                                          .initial_state = (void *)&cases[i] };
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(three_hundred_parameters);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(pgbench_log_execute_parameters);
    return _cmocka_run_group_tests("params", tests, n, NULL, NULL);
}
