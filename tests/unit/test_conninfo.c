/*
 * Unit tests for src/live/conninfo.c without a server: a table of
 * {argument, what argv shows after conninfo_scrub} for conninfo strings and
 * URIs, and conninfo_redact's description, which never has the password.
 */
#include "live/conninfo.h"

#include "test_util.h"

#include "util/banned.h"

struct scrub_case {
    const char *name; /* the behaviour, as the test name */
    const char *arg;
    const char *want;
    bool scrubbed;
};

static const struct scrub_case cases[] = {
    { "uri_password_is_overwritten", "postgresql://mon:hunter2@db1:5432/shop",
      "postgresql://mon:xxxxxxx@db1:5432/shop", true },
    { "short_scheme_and_several_hosts", "postgres://mon:pw@h1,h2/shop",
      "postgres://mon:xx@h1,h2/shop", true },
    { "uri_query_password_is_overwritten",
      "postgresql:///shop?host=/tmp&password=hunter2&sslmode=disable",
      "postgresql:///shop?host=/tmp&password=xxxxxxx&sslmode=disable", true },
    { "uri_without_password_is_untouched", "postgresql://mon@db1/shop", "postgresql://mon@db1/shop",
      false },
    { "at_in_the_path_is_not_userinfo", "postgresql://db1/sh@p", "postgresql://db1/sh@p", false },
    { "keyword_password_is_overwritten", "host=db1 password=hunter2 dbname=shop",
      "host=db1 password=xxxxxxx dbname=shop", true },
    { "quoted_password_with_escapes", "password = 'a b\\'c' user=mon",
      "password = 'xxxxxx' user=mon", true },
    { "passfile_is_not_a_password", "passfile=/etc/pgpass host=db1",
      "passfile=/etc/pgpass host=db1", false },
    { "value_that_looks_like_a_key_is_skipped", "application_name=password=x host=db1",
      "application_name=password=x host=db1", false },
    /* libpq reads a backslash escape in a bare word too: the whole word is the password. */
    { "unquoted_password_with_an_escaped_space", "password=a\\ bsecret host=h",
      "password=xxxxxxxxxx host=h", true },
    /* libpq's user info ends at the first '@' before a '/': '?' and '#' are the password's. */
    { "uri_password_with_question_mark_and_hash", "postgres://u:p?w#x@host/db",
      "postgres://u:xxxxx@host/db", true },
    { "uri_query_key_percent_encoded", "postgresql://h/db?pass%77ord=sec&sslmode=disable",
      "postgresql://h/db?pass%77ord=xxx&sslmode=disable", true },
    { "trailing_backslash_is_no_password", "host=h password=\\", "host=h password=\\", false },
    { "uri_query_after_bracketed_hosts", "postgresql://[::1]:5432,[fe80::1%25eth0]/db?password=pw",
      "postgresql://[::1]:5432,[fe80::1%25eth0]/db?password=xx", true },
    { "empty_conninfo", "", "", false },
};

static void run_case(void **state)
{
    const struct scrub_case *c = *state;
    char *arg = strdup(c->arg);
    assert_int_equal(conninfo_scrub(arg), c->scrubbed);
    assert_string_equal(arg, c->want);
    free(arg);
}

static void redacted_description_leaves_the_password_out(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    conninfo_redact(&out, "postgresql://mon:hunter2@db1:5433/shop");
    assert_non_null(strstr(out.ptr, "user=mon"));
    assert_non_null(strstr(out.ptr, "port=5433"));
    assert_null(strstr(out.ptr, "hunter2"));
    buf_release(&out);
}

/* libpq expands only the outer conninfo: an inner URI is a database name, password and all. */
static void a_dbname_holding_a_uri_is_hidden(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_true(conninfo_redact(&out, "host=db1 dbname=postgresql://u:hunter2@h/shop"));
    assert_string_equal(out.ptr, "dbname=(hidden) host=db1");
    buf_reset(&out);
    assert_true(conninfo_redact(&out, "dbname='host=h password=hunter2'"));
    assert_string_equal(out.ptr, "dbname=(hidden)");
    buf_reset(&out);
    assert_false(conninfo_redact(&out, "host=db1 dbname=shop password=hunter2"));
    assert_string_equal(out.ptr, "dbname=shop host=db1");
    buf_reset(&out);
    /* libpq's own secrets, and a URL without user info, which is no secret. */
    assert_false(conninfo_redact(
        &out, "sslpassword=hunter2 application_name=https://ci.example/job/1 host=db1"));
    assert_string_equal(out.ptr, "host=db1 application_name=https://ci.example/job/1");
    buf_reset(&out);
    /* libpq's error about a conninfo it cannot parse quotes it: the caller masks it. */
    assert_true(conninfo_redact(&out, "host=db1 password=abc hunter2"));
    assert_string_equal(out.ptr, "(invalid conninfo)");
    buf_release(&out);
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
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(redacted_description_leaves_the_password_out);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(a_dbname_holding_a_uri_is_hidden);
    return _cmocka_run_group_tests("conninfo", tests, n, NULL, NULL);
}
