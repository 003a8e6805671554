/*
 * Unit tests for src/sql/redact.c: tables of {statement as logged, what may
 * be shown of it} for every kind of statement that can carry a secret,
 * parsed or not, beside statements whose literals stay; server messages
 * masked; setting names that hide their value.
 */
#include "sql/redact.h"

#include "../planted.h"
#include "test_util.h"

#include "util/banned.h"

struct redact_case {
    const char *name; /* the behaviour, as the test name */
    const char *sql;  /* as logged */
    const char *want; /* redact_statement(sql, keep_literals = true) */
    bool redacted;
};

#define HIDDEN REDACT_NOTE

static const struct redact_case cases[] = {
    /* Role passwords, successful, failed or not even parsed. */
    { "role_password_is_cut", "ALTER ROLE victim PASSWORD 'hunter2'", "alter role" HIDDEN, true },
    { "unquoted_password_that_does_not_parse_is_cut", "ALTER ROLE victim PASSWORD hunter2",
      "alter role" HIDDEN, true },
    { "create_user_with_encrypted_password_is_cut",
      "CREATE USER app WITH LOGIN ENCRYPTED PASSWORD 'hunter2'", "create user" HIDDEN, true },
    { "comment_before_the_keyword_does_not_hide_it",
      "/* deploy */ alter   USER app\n PASSWORD 'hunter2'", "alter user" HIDDEN, true },
    /* Settings. */
    { "set_with_a_quoted_value_keeps_its_name", "SET app.api_key = 'hunter2'",
      "set app.api_key = $1", true },
    { "set_with_a_bare_word_value_is_cut", "SET app.api_key = hunter2", "set app.api_key" HIDDEN,
      true },
    { "execute_with_a_bare_word_is_cut", "EXECUTE setkey(hunter2)", "execute setkey" HIDDEN, true },
    { "set_to_with_a_bare_word_is_cut", "set session app.api_key to hunter2", "set session" HIDDEN,
      true },
    { "alter_system_set_is_cut", "ALTER SYSTEM SET primary_conninfo = 'password=hunter2'",
      "alter system" HIDDEN, true },
    { "alter_role_set_is_cut", "ALTER ROLE app IN DATABASE shop SET app.key = 'hunter2'",
      "alter role" HIDDEN, true },
    { "alter_database_set_is_cut", "ALTER DATABASE shop SET app.key TO 'hunter2'",
      "alter database" HIDDEN, true },
    { "set_config_keeps_no_literal", "SELECT set_config('app.key', 'hunter2', false)",
      "select set_config($1, $2, false)", true },
    /* The normaliser keeps what stands where a setting's name belongs (a syntax error). */
    { "set_with_a_string_for_a_name_is_cut", "SET app.key 'hunter2' = 'x'", "set app.key" HIDDEN,
      true },
    { "set_with_a_dollar_quote_for_a_name_is_cut", "SET a $q$hunter2$q$ = 1", "set a" HIDDEN,
      true },
    { "set_with_a_number_for_a_name_is_cut", "SET a 4111 TO 1", "set a" HIDDEN, true },
    { "set_without_a_space_is_a_setting", "SET(app.key 'hunter2')", "set" HIDDEN, true },
    { "set_after_another_statement_with_a_string_for_a_name_is_cut",
      "SELECT 1; SET app.key 'hunter2'", "select" HIDDEN, true },
    { "set_with_a_bare_word_after_another_statement_is_cut", "SELECT 1;SET app.key = hunter2",
      "select" HIDDEN, true },
    { "alter_role_set_after_another_statement_is_cut",
      "SELECT 1; ALTER ROLE r SET app.key = 'hunter2'", "select" HIDDEN, true },
    { "the_kept_marker_comment_does_not_hide_set", "/*, ... */ SET app.key = hunter2",
      "/*, ... */ set app.key" HIDDEN, true },
    { "explain_execute_keeps_no_literal", "EXPLAIN ANALYZE EXECUTE p('hunter2')",
      "explain analyze execute p($1)", true },
    { "explain_execute_with_a_bare_word_is_cut", "EXPLAIN EXECUTE p(hunter2)",
      "explain execute" HIDDEN, true },
    { "create_table_as_execute_is_cut", "CREATE TABLE t AS EXECUTE p('hunter2')",
      "create table" HIDDEN, true },
    { "function_setting_is_cut", "ALTER FUNCTION f() SET app.key = 'hunter2'",
      "alter function" HIDDEN, true },
    { "do_with_a_language_is_cut", "DO LANGUAGE plpgsql $$BEGIN PERFORM 1; END$$",
      "do language" HIDDEN, true },
    { "execute_with_a_bare_word_after_another_statement_is_cut",
      "SELECT 1; EXECUTE setkey(hunter2)", "select" HIDDEN, true },
    { "a_cut_keeps_no_number", "ALTER 4111 PASSWORD 'hunter2'", "alter" HIDDEN, true },
    /* Prepared statements' parameters. */
    { "execute_parameters_become_placeholders", "EXECUTE setkey('hunter2', 42)",
      "execute setkey($1, $2)", true },
    { "execute_with_an_expression_is_cut", "EXECUTE setkey(upper('hunter2') || x)",
      "execute setkey" HIDDEN, true },
    /* Other statements with a secret in them. */
    { "copy_program_is_cut", "COPY t TO PROGRAM 'curl -u admin:hunter2 https://x'", "copy t" HIDDEN,
      true },
    { "user_mapping_options_are_cut",
      "CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'u', password 'hunter2')",
      "create user" HIDDEN, true },
    { "server_options_are_cut",
      "CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', "
      "sslkey 'hunter2')",
      "create server" HIDDEN, true },
    { "alter_server_options_are_cut", "ALTER SERVER remote OPTIONS (SET sslkey 'hunter2')",
      "alter server" HIDDEN, true },
    { "pgcrypto_key_becomes_a_placeholder", "SELECT pgp_sym_encrypt('card 4111', 'hunter2') FROM t",
      "select pgp_sym_encrypt($1, $2) from t", true },
    { "pgcrypto_decrypt_keeps_no_key", "select decrypt(data, 'hunter2', 'aes') from t",
      "select decrypt(data, $1, $2) from t", true },
    { "dblink_connection_string_becomes_a_placeholder",
      "SELECT dblink_connect('c', 'host=h password=hunter2')", "select dblink_connect($1, $2)",
      true },
    { "do_block_is_cut", "DO $$BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''hunter2'''; END$$",
      "do" HIDDEN, true },
    { "do_block_as_an_escape_string_is_cut", "DO E'BEGIN PERFORM set_key(''hunter2''); END'",
      "do" HIDDEN, true },
    { "do_block_after_another_statement_is_cut", "SELECT 1; DO U&'BEGIN PERFORM 1; END'",
      "select" HIDDEN, true },
    { "subscription_connection_uri_is_cut",
      "CREATE SUBSCRIPTION s CONNECTION 'postgresql://rep:hunter2@primary/app' PUBLICATION p",
      "create subscription" HIDDEN, true },
    { "digest_of_a_password_keeps_no_literal", "SELECT digest ('hunter2', 'sha256')",
      "select digest ($1, $2)", true },
    { "a_uri_with_user_info_in_a_utility_statement_is_cut",
      "COMMENT ON SERVER s IS 'postgresql://rep:hunter2@primary/app'", "comment on" HIDDEN, true },
    { "update_of_pg_settings_keeps_no_literal",
      "UPDATE pg_settings SET setting = 'hunter2' WHERE name = 'app.key'",
      "update pg_settings set setting = $1 where name = $2", true },
    { "routine_setting_is_cut", "ALTER ROUTINE f() SET app.key = 'hunter2'", "alter routine" HIDDEN,
      true },
    /* Statements without a secret keep their literals, as logged. */
    { "plain_select_keeps_its_literals", "SELECT * FROM orders WHERE id = 42",
      "SELECT * FROM orders WHERE id = 42", false },
    { "create_index_keeps_its_literals", "CREATE INDEX ON t (a) WHERE b = 'x'",
      "CREATE INDEX ON t (a) WHERE b = 'x'", false },
    { "update_set_is_not_a_setting", "UPDATE t SET a = 'v' WHERE id = 1",
      "UPDATE t SET a = 'v' WHERE id = 1", false },
    { "alter_table_set_is_not_a_setting", "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
      "ALTER TABLE t ALTER COLUMN a SET NOT NULL", false },
    { "secret_after_an_ordinary_statement_is_cut", "SELECT 1; ALTER ROLE x PASSWORD 'hunter2'",
      "select" HIDDEN, true },
    { "table_named_like_a_secret_keeps_its_example", "SELECT * FROM user_tokens WHERE id = 5",
      "SELECT * FROM user_tokens WHERE id = 5", false },
    { "create_role_without_password_keeps_its_text", "CREATE ROLE reader", "CREATE ROLE reader",
      false },
    { "a_word_as_long_as_set_is_not_set", "END", "END", false },
    /* Words of the policy in ordinary names, and EXPLAIN's options, hide nothing. */
    { "a_table_named_connections_keeps_its_text", "VACUUM ANALYZE connections",
      "VACUUM ANALYZE connections", false },
    { "a_url_without_user_info_keeps_its_text",
      "CREATE TABLE links (url text CHECK (url LIKE 'https://%'))",
      "CREATE TABLE links (url text CHECK (url LIKE 'https://%'))", false },
    { "a_column_named_like_a_function_keeps_its_example",
      "SELECT * FROM email_digest WHERE user_id = 42",
      "SELECT * FROM email_digest WHERE user_id = 42", false },
    { "a_string_in_explain_options_of_a_secret_statement_is_cut",
      "EXPLAIN (FORMAT 'json') SELECT pgp_sym_encrypt('card', 'hunter2')", "explain" HIDDEN, true },
    { "a_string_in_explain_options_stays_otherwise", "EXPLAIN (FORMAT 'json') SELECT 1",
      "EXPLAIN (FORMAT 'json') SELECT 1", false },
    { "explain_options_are_no_execute_arguments", "EXPLAIN (ANALYZE, BUFFERS) EXECUTE p(1, 'a')",
      "explain (analyze, buffers) execute p($1, $2)", true },
    { "a_word_as_long_as_execute_is_not_execute", "ANALYZE", "ANALYZE", false },
};

static void run_case(void **state)
{
    const struct redact_case *c = *state;
    struct buf out = BUF_INIT;
    buf_addstr(&out, "> ");
    bool redacted = redact_statement(str_cstr(c->sql), true, &out);
    assert_string_equal(out.ptr + 2, c->want);
    assert_int_equal(redacted, c->redacted);
    assert_null(strstr(out.ptr, "hunter2"));
    buf_release(&out);
}

/* --no-examples: every statement is shown normalised, none as logged. */
static void without_literals_every_statement_is_normalised(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_true(redact_statement(str_cstr("SELECT * FROM orders WHERE id = 42"), false, &out));
    assert_string_equal(out.ptr, "select * from orders where id = $1");
    buf_reset(&out);
    assert_true(redact_statement(str_cstr("ALTER ROLE x PASSWORD 'hunter2'"), false, &out));
    assert_string_equal(out.ptr, "alter role" HIDDEN);
    buf_release(&out);
}

static void normalise_reports_the_secret(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    bool secret = true;
    redact_normalize(str_cstr("SELECT 1"), &out, &secret);
    assert_string_equal(out.ptr, "select $1");
    assert_false(secret);
    buf_reset(&out);
    redact_normalize(str_cstr("SET statement_timeout = 0"), &out, &secret);
    assert_string_equal(out.ptr, "set statement_timeout = $1");
    assert_true(secret);
    buf_release(&out);
}

static void messages_mask_quoted_values_and_numbers(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    redact_message(str_cstr("syntax error at or near \"hunter2\" at character 27"), &out);
    assert_string_equal(out.ptr, "syntax error at or near \"…\" at character N");
    buf_reset(&out);
    redact_message(str_cstr("program \"curl hunter2\" failed\nDETAIL: child exited"), &out);
    assert_string_equal(out.ptr, "program \"…\" failed");
    buf_release(&out);
}

/* Text cut at the normaliser's limit was not read to its end: a secret may follow. */
static void a_statement_past_the_limit_keeps_no_literal(void **state)
{
    (void)state;
    struct buf sql = BUF_INIT, out = BUF_INIT;
    buf_addstr(&sql, "SELECT 1");
    for (int i = 0; i < 150; i++)
        buf_addstr(&sql, ",1");
    buf_addstr(&sql, "; SET app.key = 'hunter2'");
    assert_true(redact_statement(str_make(sql.ptr, sql.len), true, &out));
    assert_null(strstr(out.ptr, "hunter2"));
    assert_non_null(strstr(out.ptr, "select $1, $2"));
    buf_release(&sql);
    buf_release(&out);
}

/* Every shape of planted.h, every quoting and the statements around it: the secret never shows. */
static void a_planted_secret_never_shows(void **state)
{
    (void)state;
    struct buf sql = BUF_INIT, out = BUF_INIT;
    uint8_t choose[64] = { 0 };
    planted_statement(choose, sizeof(choose), &sql);
    assert_string_equal(sql.ptr, "alter role r password '" PLANTED_SECRET "'");
    size_t nshapes = PLANTED_COUNT(planted_shapes), nways = PLANTED_COUNT(planted_literals);
    size_t nbefore = PLANTED_COUNT(planted_before), nafter = PLANTED_COUNT(planted_after);
    uint32_t seed = 1;
    for (size_t i = 0; i < nshapes * nways * nbefore * nafter; i++) {
        choose[0] = (uint8_t)(i % nshapes);
        choose[1] = (uint8_t)(i / nshapes % nways);
        choose[2] = (uint8_t)(i / nshapes / nways % nbefore);
        choose[3] = (uint8_t)(i / nshapes / nways / nbefore);
        /* Spacing, comments and case from a fixed pseudo-random sequence. */
        for (size_t k = 4; k < sizeof(choose); k++) {
            seed = seed * 1103515245u + 12345u;
            choose[k] = (uint8_t)(seed >> 16);
        }
        buf_reset(&sql);
        buf_reset(&out);
        planted_statement(choose, sizeof(choose), &sql);
        assert_true(redact_statement(str_make(sql.ptr, sql.len), true, &out));
        if (planted_shown(out.ptr, out.len))
            fail_msg("shown: %s (from %s)", out.ptr, sql.ptr);
        bool secret = false;
        buf_reset(&out);
        redact_normalize(str_make(sql.ptr, sql.len), &out, &secret);
        if (!secret || planted_shown(out.ptr, out.len))
            fail_msg("normalised: %s (from %s)", out.ptr, sql.ptr);
        buf_reset(&out);
        redact_normalize(str_make(sql.ptr, sql.len), &out, NULL);
        if (planted_shown(out.ptr, out.len))
            fail_msg("normalised, not asked: %s (from %s)", out.ptr, sql.ptr);
    }
    buf_release(&sql);
    buf_release(&out);
}

static void settings_that_may_hold_a_secret(void **state)
{
    (void)state;
    assert_true(redact_setting("app.api_key"));
    assert_true(redact_setting("primary_conninfo"));
    assert_true(redact_setting("ssl_passphrase_command"));
    assert_true(redact_setting("archive_command"));
    assert_false(redact_setting("work_mem"));
    assert_false(redact_setting("random_page_cost"));
}

int main(void)
{
    static struct CMUnitTest tests[ARRAY_SIZE(cases) + 6];
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        tests[n++] = (struct CMUnitTest){ .name = cases[i].name,
                                          .test_func = run_case,
                                          .initial_state = (void *)&cases[i] };
    }
    tests[n++] =
        (struct CMUnitTest)cmocka_unit_test(without_literals_every_statement_is_normalised);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(normalise_reports_the_secret);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(messages_mask_quoted_values_and_numbers);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(a_statement_past_the_limit_keeps_no_literal);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(a_planted_secret_never_shows);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(settings_that_may_hold_a_secret);
    return _cmocka_run_group_tests("redact", tests, n, NULL, NULL);
}
