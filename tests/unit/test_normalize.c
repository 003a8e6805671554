/*
 * Unit tests for src/sql/normalize.c: a table of {input, expected output,
 * expected flags} cases, one per rule, run as one cmocka test each; then
 * the properties every output must have (idempotent, bounded, appended),
 * pathological inputs with a linear-time check, and the statements of a
 * real pgbench log, whose normalized texts must still parse and fingerprint
 * like the originals under libpg_query.
 */
#include "sql/normalize.h"

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
#include <time.h>

#include "util/banned.h"

/* A string literal as a struct str, NULs included. */
/* clang-format off */
#define S(lit) { (lit), sizeof(lit) - 1 }
/* clang-format on */

struct norm_case {
    const char *name; /* the behaviour, as the test name */
    struct str in;
    struct str want;
    unsigned flags; /* the exact enum normalize_flag bits */
};

#define COL  NORM_COLLAPSED
#define PAR  NORM_HAS_PARAMS
#define TRU  NORM_TRUNCATED
#define UTI  NORM_UTILITY
#define MUL  NORM_MULTI
#define SETL NORM_SET_LITERAL

static const struct norm_case cases[] = {
    /* Literals. */
    { "string_constant_becomes_placeholder", S("SELECT 'abc' FROM t"), S("select $1 from t"), 0 },
    { "doubled_quote_stays_inside_string", S("SELECT 'it''s', 'x'"), S("select $1, $2"), 0 },
    { "escape_string_skips_backslash_quote", S("SELECT E'it\\'s', e'\\\\', 'a\\'"),
      S("select $1, $2, $3"), 0 },
    { "bit_hex_and_national_strings", S("SELECT B'101', x'1F', N'abc'"), S("select $1, $2, $3"),
      0 },
    { "unicode_string_takes_its_uescape", S("SELECT U&'d!0061t' UESCAPE '!', u&'x'"),
      S("select $1, $2"), 0 },
    { "unicode_escape_clause_may_follow_a_comment",
      S("SELECT U&'x' /* c */ UESCAPE -- d\n '!' FROM t"), S("select $1 from t"), 0 },
    { "dollar_quotes_with_and_without_tag", S("SELECT $$a'b$$, $tag$ $$ $ta $tag$, $a1$x$a1$"),
      S("select $1, $2, $3"), 0 },
    { "string_continued_on_next_line_is_one_literal", S("SELECT 'a'\n  'b' -- c\n 'c', 'd'"),
      S("select $1, $2"), 0 },
    { "strings_on_one_line_stay_two_literals", S("SELECT 'a' 'b'"), S("select $1 $2"), 0 },
    { "integers_and_decimals", S("SELECT 123, 1.5, .5, 5., 007"), S("select $1, $2, $3, $4, $5"),
      0 },
    { "exponents", S("SELECT 1e10, 1.5E-3, 2e+5, .5e1"), S("select $1, $2, $3, $4"), 0 },
    { "hex_octal_binary_and_underscores_are_one_number", S("SELECT 0x1F, 0o17, 0b101, 1_000"),
      S("select $1, $2, $3, $4"), 0 },
    { "typed_literal_keeps_its_type_word",
      S("SELECT interval '1 day', date '2020-01-01', timestamp(3) '2020-01-01 00:00'"),
      S("select interval $1, date $2, timestamp(3) $3"), 0 },
    { "cast_keeps_its_type", S("SELECT '42'::int, 'x'::text, 1::\"Money\""),
      S("select $1::int, $2::text, $3::\"Money\""), 0 },
    { "type_modifiers_stay_verbatim",
      S("SELECT x::numeric(10,2), CAST(y AS varchar( 20 )), z::int[3][], "
        "w::timestamp(3) with time zone, v::character varying(5), u::pg_catalog.bit(8)"),
      S("select x::numeric(10, 2), cast(y as varchar(20)), z::int[3][], "
        "w::timestamp(3) with time zone, v::character varying(5), u::pg_catalog.bit(8)"),
      0 },
    { "comments_inside_type_modifiers_are_dropped",
      S("SELECT x::numeric( 10 /* 5 */ , -- 7\n 2 ), y::int[ /* 3 */ 4 ][ --\n]"),
      S("select x::numeric(10, 2), y::int[4][]"), 0 },
    { "precision_of_current_timestamp_stays", S("SELECT CURRENT_TIMESTAMP(3), localtime(0)"),
      S("select current_timestamp(3), localtime(0)"), 0 },
    { "function_arguments_are_not_type_modifiers",
      S("SELECT round(x, 2), x AS y FROM f(1) AS g(a)"),
      S("select round(x, $1), x as y from f($2) as g(a)"), 0 },
    { "placeholders_numbered_in_order_of_appearance", S("SELECT 'a', 1, 2.5 FROM t LIMIT 10"),
      S("select $1, $2, $3 from t limit $4"), 0 },
    { "existing_params_kept_and_numbering_starts_at_1",
      S("SELECT * FROM t WHERE a = $1 AND b = 5 AND c = $2"),
      S("select * from t where a = $1 and b = $1 and c = $2"), PAR },

    /* The minus sign. */
    { "minus_after_operator_belongs_to_the_number", S("SELECT * FROM t WHERE x = -5"),
      S("select * from t where x = $1"), 0 },
    { "minus_after_keyword_or_paren_belongs_to_the_number",
      S("SELECT -1, (-2.5), f(-3) FROM t WHERE a BETWEEN -4 AND -5 LIMIT -6"),
      S("select $1, ($2), f($3) from t where a between $4 and $5 limit $6"), 0 },
    { "minus_after_operand_is_binary", S("SELECT a - 5, a-5, a -5, \"b\"-1 FROM t"),
      S("select a - $1, a - $2, a - $3, \"b\" - $4 from t"), 0 },
    { "minus_after_literal_or_bracket_is_binary", S("SELECT 1-2, (a)-3, b[1]-4, $1-5"),
      S("select $1 - $2, (a) - $3, b[$4] - $5, $1 - $6"), PAR },
    { "minus_and_blank_before_number_fold_together", S("SELECT * FROM t WHERE x = - 5"),
      S("select * from t where x = $1"), 0 },
    { "operator_keeps_trailing_minus_only_after_special_chars",
      S("UPDATE t SET a = a + -1, b = b*-2 WHERE c<>-3 AND d@-4"),
      S("update t set a = a + $1, b = b * $2 where c <> $3 and d @- $4"), 0 },

    /* Identifiers and words. */
    { "identifiers_with_digits_and_dollars_stay", S("SELECT t1.col_2, a$b, x$1 FROM T1"),
      S("select t1.col_2, a$b, x$1 from t1"), 0 },
    { "quoted_identifiers_keep_case_and_quotes",
      S("SELECT \"Foo\".\"Bar\", \"a\"\"b\", U&\"d\\0061t\" FROM \"T\""),
      S("select \"Foo\".\"Bar\", \"a\"\"b\", U&\"d\\0061t\" from \"T\""), 0 },
    { "unquoted_words_fold_to_lower_case", S("SeLeCt ABC, Count(*) FROM Xyz_Q"),
      S("select abc, count(*) from xyz_q"), 0 },
    { "bytes_above_ascii_are_untouched", S("SELECT \303\221AME FROM T\303\204BLE"),
      S("select \303\221ame from t\303\204ble"), 0 },

    /* Comments, whitespace, spacing. */
    { "comments_are_dropped", S("SELECT /* c */ a -- trailing\nFROM t--x"), S("select a from t"),
      0 },
    { "block_comments_nest", S("SELECT /* a /* b */ c */ 1"), S("select $1"), 0 },
    { "whitespace_runs_collapse", S("SELECT\t\n  a ,\r\n b\fFROM\v  t"), S("select a, b from t"),
      0 },
    { "spacing_example_from_the_rules", S("SELECT  a,b FROM t WHERE id=1;"),
      S("select a, b from t where id = $1"), 0 },
    { "no_space_inside_brackets_or_around_dots_and_casts",
      S("SELECT ( a ) , t . b , c :: int , d [ 1 ] , t.* FROM t"),
      S("select (a), t.b, c::int, d[$1], t.* from t"), 0 },
    { "word_and_paren_stay_together_only_if_they_were",
      S("SELECT count(*), count (*), f ( 1 ) FROM t"),
      S("select count(*), count (*), f ($1) from t"), 0 },
    { "trailing_semicolons_and_blanks_dropped", S("SELECT 1 ;  ; \n"), S("select $1"), 0 },
    { "statements_joined_by_one_semicolon", S(";BEGIN; SELECT 1;; COMMIT;"),
      S("begin; select $1; commit"), MUL | UTI },

    /* Operators. */
    { "multi_char_operators_stay_whole",
      S("SELECT a->>'k', b @> c, d||e, f<=g, h != i, j <> k, l ~* m, n !~~ o"),
      S("select a ->> $1, b @> c, d || e, f <= g, h != i, j <> k, l ~* m, n !~~ o"), 0 },
    { "named_argument_and_assignment_operators", S("SELECT f(a => 1, b := 'x')"),
      S("select f(a => $1, b := $2)"), 0 },

    /* Lists. */
    { "in_list_of_numbers_collapses", S("SELECT * FROM t WHERE id IN (1, 2, 3)"),
      S("select * from t where id in ($1 /*, ... */)"), COL },
    { "in_list_of_params_collapses", S("SELECT * FROM t WHERE id in ($1,$2)"),
      S("select * from t where id in ($1 /*, ... */)"), COL | PAR },
    { "in_list_of_mixed_literals_collapses",
      S("SELECT * FROM t WHERE id NOT IN ('a', -1, NULL, E'b', $$c$$) AND x IN (7)"),
      S("select * from t where id not in ($1 /*, ... */) and x in ($2 /*, ... */)"), COL },
    { "in_list_with_an_expression_is_kept", S("SELECT * FROM t WHERE id IN (1, a + 1)"),
      S("select * from t where id in ($1, a + $2)"), 0 },
    { "in_subquery_is_kept_and_its_own_lists_collapse",
      S("SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c IN (1,2))"),
      S("select * from t where a in (select b from u where c in ($1 /*, ... */))"), COL },
    { "any_array_collapses", S("SELECT * FROM t WHERE id = ANY (ARRAY[1,2,3])"),
      S("select * from t where id = any (array[$1 /*, ... */])"), COL },
    { "values_rows_collapse_to_the_first", S("INSERT INTO t VALUES (1,'a'),(2,'b'), (3, NULL)"),
      S("insert into t values ($1, $2) /*, ... */"), COL },
    { "single_values_row_is_kept", S("INSERT INTO t (a, b) VALUES (1, 'a') RETURNING id"),
      S("insert into t (a, b) values ($1, $2) returning id"), 0 },
    { "values_rows_with_expressions_are_kept", S("INSERT INTO t VALUES (1, now()), (2, now())"),
      S("insert into t values ($1, now()), ($2, now())"), 0 },
    { "markers_are_kept_so_output_is_stable",
      S("SELECT * FROM t WHERE a IN ($1 /*, ... */) AND b = ANY (ARRAY[$2 /*, ... */]) UNION "
        "VALUES ($3, $4) /*, ... */"),
      S("select * from t where a in ($1 /*, ... */) and b = any (array[$2 /*, ... */]) union "
        "values ($3, $4) /*, ... */"),
      COL | PAR },
    { "type_modifier_after_a_collapsed_list_stays",
      S("SELECT x IN ($1 /*, ... */) AND y::time(5) = z::numeric(3)"),
      S("select x in ($1 /*, ... */) and y::time(5) = z::numeric(3)"), COL | PAR },
    { "comment_almost_like_a_marker_is_dropped", S("SELECT 1 /*, ...*/ /* , ... */"),
      S("select $1"), 0 },

    /* What is normalized where. */
    { "ddl_keeps_its_literals",
      S("CREATE TABLE t (a char(84) DEFAULT 'x', b int CHECK (b > -1)) WITH (fillfactor=100)"),
      S("create table t (a char(84) default 'x', b int check (b > -1)) with (fillfactor = 100)"),
      UTI },
    { "set_value_becomes_placeholder", S("SET work_mem = '64MB'; SET search_path TO 'a', b"),
      S("set work_mem = $1; set search_path to $2, b"), MUL },
    { "set_without_value_keeps_literal", S("SET TIME ZONE 'UTC'"), S("set time zone 'UTC'"), SETL },
    { "set_literal_before_the_value_is_flagged", S("select 1; SET a 4111 = 'x'"),
      S("select $1; set a 4111 = $2"), MUL | SETL },
    { "explain_options_keep_literals", S("EXPLAIN (FORMAT 'json', COSTS 0) SELECT 1"),
      S("explain (format 'json', costs 0) select $1"), NORM_OPTION_LITERAL },
    { "explain_options_keep_numbers_unflagged", S("EXPLAIN (COSTS 0) SELECT 1"),
      S("explain (costs 0) select $1"), 0 },
    { "prepare_transaction_keeps_its_gid", S("PREPARE TRANSACTION 'tx1'"),
      S("prepare transaction 'tx1'"), UTI },
    { "prepared_statement_body_is_normalized",
      S("PREPARE p(varchar(10)) AS SELECT $1, 5; EXECUTE p('a')"),
      S("prepare p(varchar(10)) as select $1, $1; execute p($2)"), PAR | MUL },
    { "cte_and_parenthesised_statement",
      S("WITH x AS (SELECT 1 AS a) SELECT * FROM x WHERE a = 'b'; (SELECT 2)"),
      S("with x as (select $1 as a) select * from x where a = $2; (select $3)"), MUL },

    /* Unterminated and odd input. */
    { "unterminated_string_runs_to_the_end", S("SELECT 'abc ; def"), S("select $1"), TRU },
    { "unterminated_quoted_identifier_runs_to_the_end", S("SELECT \"abc ; def"),
      S("select \"abc ; def"), TRU },
    { "unterminated_dollar_quote_runs_to_the_end", S("SELECT $x$ abc $x"), S("select $1"), TRU },
    { "unterminated_comment_runs_to_the_end", S("SELECT 1 /* abc /* */"), S("select $1"), TRU },
    { "unclosed_parenthesis_is_truncated", S("SELECT (1, (2);"), S("select ($1, ($2)"), TRU },
    { "empty_input_gives_empty_output", S(""), S(""), 0 },
    { "only_comments_and_blanks_give_empty_output", S(" -- x\n/* y */ ;\t"), S(""), 0 },
    { "nul_bytes_are_kept_as_tokens", S("SELECT a\0b, '\0' FROM t"), S("select a \0 b, $1 from t"),
      0 },
    { "invalid_utf8_is_kept_as_is", S("SELECT \xff\xfeX, '\xc3(' FROM t\x80"),
      S("select \xff\xfex, $1 from t\x80"), 0 },
    { "stray_characters_are_single_tokens", S("SELECT {a} \\ $ ? #"), S("select { a } \\ $ ? #"),
      0 },
};

static void expect_normalized(const char *name, struct str in, struct str want, unsigned want_flags)
{
    struct buf out = BUF_INIT;
    unsigned flags = normalize_sql(in, &out);
    if (out.len != want.len || memcmp(out.ptr, want.ptr, want.len) != 0 || flags != want_flags)
        fail_msg("%s:\n in:   '" STR_FMT "'\n want: '" STR_FMT "' flags %#x\n got:  '%s' flags %#x",
                 name, STR_ARG(in), STR_ARG(want), want_flags, out.ptr, flags);
    buf_release(&out);
}

static void run_case(void **state)
{
    const struct norm_case *c = *state;
    expect_normalized(c->name, c->in, c->want, c->flags);
}

/* Every expected output is a fixed point. */
static void outputs_are_fixed_points(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf out = BUF_INIT;
        normalize_sql(cases[i].want, &out);
        if (out.len != cases[i].want.len || memcmp(out.ptr, cases[i].want.ptr, out.len) != 0)
            fail_msg("%s: normalizing '" STR_FMT "' again gave '%s'", cases[i].name,
                     STR_ARG(cases[i].want), out.ptr);
        buf_release(&out);
    }
}

static void output_is_appended_to_the_buffer(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    buf_addstr(&out, "prefix|");
    normalize_sql(str_cstr("SELECT 1"), &out);
    normalize_sql(str_cstr("SELECT 'x'"), &out);
    assert_string_equal(out.ptr, "prefix|select $1select $1");
    buf_release(&out);
}

/* Builds count copies of unit after head and before tail. */
static struct str repeat(struct buf *b, const char *head, const char *unit, size_t count,
                         const char *tail)
{
    size_t n = strlen(unit);
    buf_reset(b);
    buf_addstr(b, head);
    buf_grow(b, n * count + strlen(tail));
    for (size_t i = 0; i < count; i++) {
        memcpy(b->ptr + b->len, unit, n);
        b->len += n;
    }
    b->ptr[b->len] = '\0';
    buf_addstr(b, tail);
    return str_make(b->ptr, b->len);
}

/* 100,000 one-digit literals cost more than 2 * n + 64 as $n: the output stops at the bound. */
static void output_stops_at_its_bound(void **state)
{
    (void)state;
    struct buf in = BUF_INIT, once = BUF_INIT, twice = BUF_INIT;
    struct str sql = repeat(&in, "SELECT 0", ",0", 100000, " FROM t");
    unsigned flags = normalize_sql(sql, &once);
    assert_true(flags & NORM_LIMIT);
    assert_true(once.len <= NORMALIZE_MAX_OUT(sql.len));
    assert_true(once.len > NORMALIZE_MAX_OUT(sql.len) - 32);
    assert_memory_equal(once.ptr, "select $1, $2, $3, ", 19);
    assert_int_equal(normalize_sql(str_make(once.ptr, once.len), &twice), NORM_HAS_PARAMS);
    assert_int_equal(twice.len, once.len);
    assert_memory_equal(twice.ptr, once.ptr, once.len);
    buf_release(&in);
    buf_release(&once);
    buf_release(&twice);
}

static void ten_thousand_nested_parentheses(void **state)
{
    (void)state;
    struct buf in = BUF_INIT, want = BUF_INIT, out = BUF_INIT;
    buf_addstr(&in, "SELECT ");
    buf_addstr(&want, "select ");
    for (int i = 0; i < 10000; i++) {
        buf_addstr(&in, "( ");
        buf_addch(&want, '(');
    }
    buf_addstr(&in, "1");
    buf_addstr(&want, "$1");
    for (int i = 0; i < 10000; i++) {
        buf_addstr(&in, " )");
        buf_addch(&want, ')');
    }
    assert_int_equal(normalize_sql(str_make(in.ptr, in.len), &out), 0);
    assert_string_equal(out.ptr, want.ptr);

    /* Without the closing half, the statement is flagged as cut short. */
    buf_reset(&out);
    assert_int_equal(normalize_sql(str_make(in.ptr, in.len - 20000), &out), NORM_TRUNCATED);
    assert_int_equal(out.len, want.len - 10000);
    buf_release(&in);
    buf_release(&want);
    buf_release(&out);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Normalizes sql (checking bound and idempotence) and returns the seconds it took. */
static double timed_normalize(struct str sql)
{
    struct buf once = BUF_INIT, twice = BUF_INIT;
    double t0 = now_s();
    normalize_sql(sql, &once);
    double t = now_s() - t0;
    assert_true(once.len <= NORMALIZE_MAX_OUT(sql.len));
    normalize_sql(str_make(once.ptr, once.len), &twice);
    assert_int_equal(twice.len, once.len);
    assert_memory_equal(twice.ptr, once.ptr, once.len);
    buf_release(&once);
    buf_release(&twice);
    return t;
}

/*
 * 10 MB statements of shapes that would be quadratic with a naive
 * look-ahead or search: each must take at most 30 times as long as the
 * same shape at 1 MB (quadratic would be 100 times; below 50 ms the clock
 * is too noisy to compare, so that counts as 50 ms), and finish.
 */
static void ten_megabyte_statements_take_linear_time(void **state)
{
    (void)state;
    static const struct {
        const char *head, *unit, *tail;
    } shapes[] = {
        { "SELECT ", "a + 1 + 'x' || b ", "" },
        { "SELECT * FROM t WHERE id IN (", "123, ", "x)" },
        { "INSERT INTO t VALUES ", "(1, 'a'), ", "(now())" },
        { "SELECT '", "x''y", "" },
        { "SELECT E'", "\\'", "" },
        { "SELECT $a$", "$a$b", "" },
        { "SELECT /*", "/*", "" },
        { "SELECT ", "(", "" },
        { "SELECT 'a'", "\n'b'", "" },
        { "SELECT x::numeric(", "1,", "" },
        { "SELECT x IN (", "y IN (", "" },
        { "SELECT ", "- ", "5" },
        { "SELECT ", "u&'x' uescape '!' ", "" },
        { "SELECT 1 ", "--", "" },
    };
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
        size_t unit = strlen(shapes[i].unit);
        double t1 = timed_normalize(
            repeat(&b, shapes[i].head, shapes[i].unit, (1 << 20) / unit, shapes[i].tail));
        double t10 = timed_normalize(
            repeat(&b, shapes[i].head, shapes[i].unit, (10 << 20) / unit, shapes[i].tail));
        if (t10 > 30 * (t1 > 0.05 ? t1 : 0.05))
            fail_msg("shape %zu ('%s%s...'): 1 MB took %.3f s, 10 MB %.3f s", i, shapes[i].head,
                     shapes[i].unit, t1, t10);
    }
    buf_release(&b);
}

static void flag_names(void **state)
{
    (void)state;
    assert_string_equal(normalize_flag_name(NORM_TRUNCATED), "truncated");
    assert_string_equal(normalize_flag_name(NORM_HAS_PARAMS), "has_params");
    assert_string_equal(normalize_flag_name(NORM_MULTI), "multi");
    assert_string_equal(normalize_flag_name(NORM_UTILITY), "utility");
    assert_string_equal(normalize_flag_name(NORM_COLLAPSED), "collapsed");
    assert_string_equal(normalize_flag_name(NORM_LIMIT), "limit");
    assert_null(normalize_flag_name((enum normalize_flag)3));
}

/* ---- The real log. ---- */

struct stmt {
    char *sql;  /* the statement as logged, continuation lines joined */
    char *norm; /* normalize_sql of it */
};

static int cmp_by_sql(const void *a, const void *b)
{
    return strcmp(((const struct stmt *)a)->sql, ((const struct stmt *)b)->sql);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The text after "statement: " or "execute <name>: " on a line holding
 * "duration:", plus the continuation lines (which stderr logs start with a
 * tab), joined with newlines. Returns the number found.
 */
static size_t extract_statements(struct str log, struct stmt **out)
{
    size_t n = 0, cap = 0;
    struct stmt *v = NULL;
    struct buf cur = BUF_INIT;
    bool in = false;
    const char *p = log.ptr, *end = log.ptr + log.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        struct str line = str_make(p, (size_t)((eol ? eol : end) - p));
        p = eol ? eol + 1 : end;
        if (line.len && line.ptr[0] == '\t') {
            if (in) {
                buf_addch(&cur, '\n');
                buf_add(&cur, line.ptr + 1, line.len - 1);
            }
            continue;
        }
        if (in) {
            if (n == cap) {
                cap = cap ? 2 * cap : 4096;
                v = realloc(v, cap * sizeof(*v));
                assert_non_null(v);
            }
            v[n++].sql = buf_detach(&cur, NULL);
            in = false;
        }
        if (str_find(line, "duration:") < 0)
            continue;
        long at = str_find(line, "statement: ");
        size_t skip = strlen("statement: ");
        if (at < 0 && (at = str_find(line, " execute ")) >= 0) {
            long colon = str_find(str_skip(line, (size_t)at), ": ");
            at = colon < 0 ? -1 : at + colon;
            skip = 2;
        }
        if (at < 0)
            continue;
        buf_add(&cur, line.ptr + at + skip, line.len - (size_t)at - skip);
        in = true;
    }
    if (in) {
        v = realloc(v, (n + 1) * sizeof(*v));
        v[n++].sql = buf_detach(&cur, NULL);
    }
    buf_release(&cur);
    *out = v;
    return n;
}

static uint64_t fingerprint(const char *sql, bool *ok)
{
    PgQueryFingerprintResult r = pg_query_fingerprint(sql);
    uint64_t fp = r.error ? 0 : r.fingerprint;
    *ok = !r.error;
    pg_query_free_fingerprint_result(r);
    return fp;
}

/*
 * Every statement of the pgbench log: its normalized text is a fixed
 * point; where libpg_query parses the original it parses the normalized
 * text and gives it the same fingerprint; and the log holds exactly
 * DISTINCT_NORMALIZED distinct normalized texts.
 */
static void pgbench_log_statements(void **state)
{
    (void)state;
    /*
     * Computed once by running this extraction and normalize_sql over the
     * log, printing the distinct outputs and reading all 50 by hand: 28
     * utility statements kept verbatim but lower-cased (pgbench -i's DDL,
     * BEGIN/END/COMMIT/ROLLBACK, VACUUM, RESET, ...), 20 DML texts from the
     * pgbench scripts and the custom traffic, and 2 SETs. The simple,
     * extended and prepared protocols give one text per query, except for
     * two queries where "$2 + 1000" numbers its new placeholder $1 after
     * $n parameters and $3 after literals (collisions are allowed).
     */
    enum { STATEMENTS = 101982, DISTINCT_NORMALIZED = 50 };
    struct buf log = BUF_INIT, out = BUF_INIT;
    if (!test_read_data("pgbench-stderr.log.gz", &log)) {
        buf_release(&log);
        skip();
    }
    struct stmt *v;
    size_t n = extract_statements(str_make(log.ptr, log.len), &v);
    buf_release(&log);
    assert_int_equal(n, STATEMENTS);

    char **norms = malloc(n * sizeof(*norms));
    assert_non_null(norms);
    for (size_t i = 0; i < n; i++) {
        buf_reset(&out);
        normalize_sql(str_cstr(v[i].sql), &out);
        v[i].norm = norms[i] = strdup(out.ptr);
        buf_reset(&out);
        normalize_sql(str_cstr(v[i].norm), &out);
        if (strcmp(out.ptr, v[i].norm) != 0)
            fail_msg("not idempotent: '%s' -> '%s' -> '%s'", v[i].sql, v[i].norm, out.ptr);
    }
    qsort(norms, n, sizeof(*norms), cmp_str);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || strcmp(norms[i], norms[i - 1]) != 0;
    assert_int_equal(distinct, DISTINCT_NORMALIZED);

    /* One libpg_query call per distinct original; the normalized side is memoised by text. */
    qsort(v, n, sizeof(*v), cmp_by_sql);
    size_t parsed = 0;
    const char *last_norm = NULL;
    uint64_t last_fp = 0;
    bool last_ok = false;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(v[i].sql, v[i - 1].sql) == 0)
            continue;
        bool ok;
        uint64_t fp = fingerprint(v[i].sql, &ok);
        if (!ok)
            continue;
        parsed++;
        if (!last_norm || strcmp(last_norm, v[i].norm) != 0) {
            last_norm = v[i].norm;
            last_fp = fingerprint(last_norm, &last_ok);
        }
        if (!last_ok || last_fp != fp)
            fail_msg("'%s' parses, but its normalized '%s' %s", v[i].sql, v[i].norm,
                     last_ok ? "has another fingerprint" : "does not");
    }
    assert_true(parsed > 1000);
    for (size_t i = 0; i < n; i++) {
        free(v[i].sql);
        free(v[i].norm);
    }
    free(v);
    free(norms);
    buf_release(&out);
}

int main(void)
{
    static struct CMUnitTest tests[ARRAY_SIZE(cases) + 7];
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        tests[n++] = (struct CMUnitTest){ .name = cases[i].name,
                                          .test_func = run_case,
                                          .initial_state = (void *)&cases[i] };
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(outputs_are_fixed_points);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(output_is_appended_to_the_buffer);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(output_stops_at_its_bound);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(ten_thousand_nested_parentheses);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(ten_megabyte_statements_take_linear_time);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(flag_names);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(pgbench_log_statements);
    return _cmocka_run_group_tests("normalize", tests, n, NULL, NULL);
}
