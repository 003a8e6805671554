/* Unit tests for input/pgprefix.c: compiling, matching and detecting log_line_prefix. */
#include "input/pgprefix.h"

#include "test_util.h"

struct match_case {
    const char *spec;
    const char *line;
    bool matches;
    size_t len; /* bytes of the prefix */
    int pid;
    const char *user, *db, *app, *client;
};

static const struct match_case cases[] = {
    { "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
      "2026-11-22 02:32:37 UTC [1683]: user=bench,db=benchdb,app=pgbench,client=127.0.0.1 LOG:  x",
      true, 83, 1683, "bench", "benchdb", "pgbench", "127.0.0.1" },
    { "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
      "2026-11-22 02:32:37 UTC [1668]: user=,db=,app=,client= LOG:  starting", true, 55, 1668, "",
      "", "", "" },
    { "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
      "2026-11-22 02:32:37 UTC [1679]: user=[unknown],db=[unknown],app=[unknown],client=[local] "
      "LOG:  connection received",
      true, 89, 1679, "", "", "", "[local]" },
    { "%m [%p] %q%u@%d ", "2026-11-22 02:32:37.361 UTC [42] app@shop LOG:  x", true, 42, 42, "app",
      "shop", "", "" },
    { "%m [%p] %q%u@%d ", "2026-11-22 02:32:37.361 UTC [42] LOG:  checkpoint starting", true, 33,
      42, "", "", "", "" },
    { "%t:%r:%u@%d:[%p]:", "2026-11-22 02:32:37 UTC:10.0.0.7(51234):app@shop:[77]:LOG:  x", true,
      54, 77, "app", "shop", "", "10.0.0.7" },
    { "%t:%r:%u@%d:[%p]:", "2026-11-22 02:32:37 UTC:2001:db8::7(51234):app@shop:[77]:LOG:  x", true,
      57, 77, "app", "shop", "", "2001:db8::7" },
    { "%t:%r:%u@%d:[%p]:", "2026-11-22 02:32:37 UTC::@:[77]:LOG:  x", true, 32, 77, "", "", "",
      "" },
    { "%m [%p-%l] ", "2026-11-22 02:32:37.001 UTC [9-3] ERROR:  boom", true, 34, 9, "", "", "",
      "" },
    { "%n [%p] ", "1795314757.125 [5] LOG:  x", true, 19, 5, "", "", "", "" },
    /* An epoch past 9999 is no time (its microseconds overflowed: fuzz_prefix). */
    { "%n [%p] ", "999999999999999999.5 [5] LOG:  x", false, 0, 0, "", "", "", "" },
    /* A negative %Q (half of all query ids) and pgreplay's %c, the pid in its hex half. */
    { "%m [%p] [queryid=%Q] %q%u@%d ",
      "2026-11-22 02:32:37.361 UTC [42] [queryid=-4795490530420245891] app@shop LOG:  x", true, 73,
      42, "app", "shop", "", "" },
    { "%m|%u|%d|%c|", "2026-11-22 02:32:37.361 UTC|app|shop|6b15de31.aa0|LOG:  x", true, 50, 2720,
      "app", "shop", "", "" },
    { "%m [%p] %e: db=%d,user=%u,app=%a,client=%h ",
      "2026-11-22 02:32:37.361 UTC [42] 42P01: db=shop,user=app,app=psql,client=[local] ERROR:  x",
      true, 81, 42, "app", "shop", "psql", "[local]" },
    /* A --prefix without the blank the setting ends with: the blank is taken anyway. */
    { "%t [%p]: [%l-1] user=%u,db=%d",
      "2026-11-22 02:32:37 UTC [7]: [3-1] user=app,db=shop LOG:  x", true, 52, 7, "app", "shop", "",
      "" },
    { "%t [%p]: ", "not a log line", false, 0, 0, "", "", "", "" },
    { "%t [%p]: ", "2026-11-22 02:32:37 UTC [abc]: LOG:  x", false, 0, 0, "", "", "", "" },
};

static void str_is(struct str s, const char *want, size_t i, const char *what)
{
    if (!str_eq_cstr(s, want))
        fail_msg("case %zu: %s is '%.*s', want '%s'", i, what, (int)s.len, s.ptr ? s.ptr : "",
                 want);
}

static void matches_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct err err;
        struct pgprefix *p = pgprefix_compile(cases[i].spec, &err);
        assert_non_null(p);
        struct event ev;
        event_clear(&ev);
        struct pgprefix_cache tc = { 0 };
        size_t len = 0;
        bool ok = pgprefix_match(p, str_cstr(cases[i].line), &ev, &tc, &len);
        if (ok != cases[i].matches)
            fail_msg("case %zu: match %d, want %d", i, ok, cases[i].matches);
        if (ok) {
            assert_int_equal(len, cases[i].len);
            assert_int_equal(ev.pid, cases[i].pid);
            assert_true(ev.ts_us != TS_NONE);
            str_is(ev.user, cases[i].user, i, "user");
            str_is(ev.db, cases[i].db, i, "db");
            str_is(ev.app, cases[i].app, i, "app");
            str_is(ev.client, cases[i].client, i, "client");
        }
        pgprefix_free(p);
    }
}

static void bad_specs_are_usage_errors(void **state)
{
    (void)state;
    struct err err;
    assert_null(pgprefix_compile("%t [%p] %", &err));
    assert_int_equal(err.code, ERR_USAGE);
    assert_string_equal(err.msg, "log_line_prefix '%t [%p] %' ends with a lone '%'");
    assert_null(pgprefix_compile("%t %Z", &err));
    assert_string_equal(err.msg, "log_line_prefix '%t %Z' has an unknown escape '%Z'");
}

static void detects_real_log_prefix(void **state)
{
    (void)state;
    size_t len;
    char *buf = test_read_gz(test_data_path("pgbench-stderr.log.gz"), &len);
    struct pgprefix *p = pgprefix_detect(buf, len < 262144 ? len : 262144);
    assert_non_null(p);
    assert_string_equal(pgprefix_spec(p), "%t [%p]: user=%u,db=%d,app=%a,client=%h ");
    pgprefix_free(p);
    free(buf);
}

static void detects_debian_default(void **state)
{
    (void)state;
    const char *log = "2026-11-22 10:00:00.001 UTC [100] LOG:  database system is ready\n"
                      "2026-11-22 10:00:01.002 UTC [101] shop@shop LOG:  duration: 1.0 ms  "
                      "statement: select 1\n"
                      "2026-11-22 10:00:01.003 UTC [101] shop@shop ERROR:  boom\n"
                      "2026-11-22 10:00:01.003 UTC [101] shop@shop STATEMENT:  select x\n";
    struct pgprefix *p = pgprefix_detect(log, strlen(log));
    assert_non_null(p);
    assert_string_equal(pgprefix_spec(p), "%m [%p] %q%u@%d ");
    pgprefix_free(p);
}

/* The settings of issue 10, two lines each (a session's and the postmaster's). */
static void detects_common_settings(void **state)
{
    (void)state;
    static const struct {
        const char *log, *spec;
    } settings[] = {
        { "2026-11-22 10:00:00 UTC [100]: [1-1] user=,db= LOG:  database system is ready\n"
          "2026-11-22 10:00:01 UTC [101]: [2-1] user=app,db=shop LOG:  duration: 1.0 ms  "
          "statement: select 1\n",
          "%t [%p]: [%l-1] user=%u,db=%d " },
        { "2026-11-22 10:00:00.001 UTC [100] user=,db= LOG:  database system is ready\n"
          "2026-11-22 10:00:01.002 UTC [101] user=app,db=shop LOG:  duration: 1.0 ms  "
          "statement: select 1\n",
          "%m [%p] user=%u,db=%d " },
        { "2026-11-22 10:00:00.001 UTC [100] 00000: db=,user=,app=,client= LOG:  ready\n"
          "2026-11-22 10:00:01.002 UTC [101] 00000: db=shop,user=app,app=psql,client=[local] LOG:  "
          "duration: 1.0 ms  statement: select 1\n",
          "%m [%p] %e: db=%d,user=%u,app=%a,client=%h " },
        { "2026-11-22 10:00:00 UTC [100-1] LOG:  database system is ready\n"
          "2026-11-22 10:00:01 UTC [101-3] app@shop LOG:  duration: 1.0 ms  statement: select 1\n",
          "%t [%p-%l] %q%u@%d " },
        { "2026-11-22 10:00:00.001 UTC|||6b15de31.a98|LOG:  database system is ready\n"
          "2026-11-22 10:00:01.002 UTC|app|shop|6b15de31.aa0|LOG:  duration: 1.0 ms  statement: "
          "select 1\n",
          "%m|%u|%d|%c|" },
        { "2026-11-22 10:00:00.001 UTC [100] [queryid=0] LOG:  database system is ready\n"
          "2026-11-22 10:00:01.002 UTC [101] [queryid=-8621424338230197602] app@shop LOG:  "
          "duration: 1.0 ms  statement: select 1\n",
          "%m [%p] [queryid=%Q] %q%u@%d " },
        { "2026-11-22 10:00:00 UTC::@:[100]:LOG:  database system is ready\n"
          "2026-11-22 10:00:01 UTC:10.0.0.7(51234):app@shop:[101]:LOG:  duration: 1.0 ms  "
          "statement: select 1\n",
          "%t:%r:%u@%d:[%p]:" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
        struct pgprefix *p = pgprefix_detect(settings[i].log, strlen(settings[i].log));
        assert_non_null(p);
        if (strcmp(pgprefix_spec(p), settings[i].spec) != 0)
            fail_msg("case %zu: detected '%s', want '%s'", i, pgprefix_spec(p), settings[i].spec);
        pgprefix_free(p);
    }
}

/* A prefix sleuth does not know must not pass a field of it off as the user. */
static void unknown_field_is_not_a_user(void **state)
{
    (void)state;
    const char *log = "2026-11-22 10:00:00.001 UTC [100] {qid=5} LOG:  database system is ready\n"
                      "2026-11-22 10:00:01.002 UTC [101] {qid=-7} app@shop LOG:  duration: 1.0 "
                      "ms  statement: select 1\n";
    struct pgprefix *p = pgprefix_detect(log, strlen(log));
    assert_non_null(p);
    assert_string_equal(pgprefix_spec(p), "(loose)");
    pgprefix_free(p);
}

static void unknown_prefix_falls_back_to_loose(void **state)
{
    (void)state;
    const char *log = "<<2026-11-22 10:00:00 UTC>> pid=77 ## LOG:  duration: 2.5 ms  statement: "
                      "select 1\n"
                      "<<2026-11-22 10:00:01 UTC>> pid=77 ## LOG:  checkpoint starting: time\n";
    struct pgprefix *p = pgprefix_detect(log, strlen(log));
    assert_non_null(p);
    assert_string_equal(pgprefix_spec(p), "(loose)");
    struct event ev;
    event_clear(&ev);
    struct pgprefix_cache tc = { 0 };
    size_t n;
    assert_true(pgprefix_match(p, str_cstr(log), &ev, &tc, &n));
    assert_int_equal(n, 38);
    assert_true(ev.ts_us != TS_NONE);
    pgprefix_free(p);
    assert_null(pgprefix_detect("hello\nworld\n", 12));
}

/* Detection from a line on: only among the well-known prefixes that read that line. */
static void detects_from_the_first_line(void **state)
{
    (void)state;
    const char *pid_first = "[100] 2026-11-22 10:00:00 UTC LOG:  checkpoint starting: time\n";
    const char *debian = "2026-11-22 10:00:01.002 UTC [101] shop@shop LOG:  duration: 1.0 ms  "
                         "statement: select 1\n";
    char buf[1024];
    /* No well-known prefix reads the first line: nothing, whatever follows. */
    snprintf(buf, sizeof(buf), "%s%s%s%s", pid_first, debian, debian, debian);
    assert_int_equal(pgprefix_readers(buf, strlen(buf)), 0);
    /* Some read it, but not most of the lines: nothing, though a narrower look may find one. */
    snprintf(buf, sizeof(buf), "%s%s%s%s", debian, pid_first, pid_first, pid_first);
    uint64_t readers = pgprefix_readers(buf, strlen(buf));
    assert_true(readers != 0);
    assert_null(pgprefix_detect_from(buf, strlen(buf), readers));
    /* They read the first line and most: the lines that follow decide among them. */
    snprintf(buf, sizeof(buf), "%s%s%s", debian, debian, pid_first);
    assert_int_equal(pgprefix_readers(buf, strlen(buf)), readers);
    struct pgprefix *p = pgprefix_detect_from(buf, strlen(buf), readers);
    assert_non_null(p);
    assert_string_equal(pgprefix_spec(p), "%m [%p] %q%u@%d ");
    pgprefix_free(p);
    /* A continuation line (a tab first) is nobody's first line. */
    snprintf(buf, sizeof(buf), "\t%s%s", debian, debian);
    assert_int_equal(pgprefix_readers(buf, strlen(buf)), 0);
}

static void memo_follows_changes_of_one_process(void **state)
{
    (void)state;
    struct err err;
    struct pgprefix *p = pgprefix_compile("%t [%p]: user=%u,db=%d,app=%a,client=%h ", &err);
    const char *lines[] = {
        "2026-11-22 02:32:37 UTC [7]: user=a,db=b,app=c,client=d LOG:  x",
        "2026-11-22 02:32:37 UTC [7]: user=a,db=b,app=c,client=d LOG:  y",
        "2026-11-22 02:32:37 UTC [7]: user=a,db=b,app=longer,client=d LOG:  z",
        "2026-11-22 02:32:37 UTC [71]: user=a,db=b,app=c,client=d LOG:  z",
    };
    const char *apps[] = { "c", "c", "longer", "c" };
    const size_t lens[] = { 56, 56, 61, 57 };
    struct pgprefix_cache pc = { 0 };
    for (size_t i = 0; i < 4; i++) {
        struct event ev;
        event_clear(&ev);
        size_t n;
        assert_true(pgprefix_match(p, str_cstr(lines[i]), &ev, &pc, &n));
        assert_int_equal(n, lens[i]);
        assert_true(str_eq_cstr(ev.app, apps[i]));
        assert_true(str_eq_cstr(ev.client, "d"));
        assert_true(ev.client.ptr > lines[i] && ev.client.ptr < lines[i] + n);
    }
    pgprefix_free(p);
}

/*
 * A line of a process where nothing follows %q must not be memorised: the
 * next line of that process, whose %u@%d part does match, reads as it
 * would with no memo (fuzz_stderr found the chunked and whole reads of one
 * log differ).
 */
static void memo_skips_lines_stopped_at_q(void **state)
{
    (void)state;
    struct err err;
    struct pgprefix *p = pgprefix_compile("%m [%p] %q%u@%d ", &err);
    const char *lines[] = {
        "2026-12-06 22:14:16.797 UTC [3023] LOG:  database system was shut down",
        "2026-12-06 22:14:16.797 UTC [3023] app@shop LOG:  connection authorized",
    };
    const char *users[] = { "", "app" };
    const size_t lens[] = { 35, 44 };
    struct pgprefix_cache pc = { 0 };
    for (size_t i = 0; i < 2; i++) {
        struct event ev;
        event_clear(&ev);
        size_t n;
        assert_true(pgprefix_match(p, str_cstr(lines[i]), &ev, &pc, &n));
        assert_int_equal(n, lens[i]);
        assert_true(str_eq_cstr(ev.user, users[i]));
        assert_true(str_eq_cstr(ev.db, i ? "shop" : ""));
    }
    pgprefix_free(p);
}

/* The colon-to-colon search for a severity word finds what a test at every byte found. */
static void could_match_table(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        bool could;
    } lines[] = {
        { "LOG:  x", true },
        { "LOG:", false }, /* a word needs a byte after it */
        { "x LOG: ", true },
        { "x LOG:", false },
        { "[42]:LOG:  x", true },         /* after a colon */
        { "xLOG:  x", false },            /* after a letter */
        { "1LOG:  x", false },            /* after a digit */
        { "a:b:c: STATEMENT:  x", true }, /* the longest word, after other colons */
        { "DEBUG5:  x", true },
        { "DEBUG6:  x", false },
        { "ERRORLOG:  x", false },
        { "x ERRORLOG: LOG:  y", true },
        { "\"LOG\":\"x\"", false },
        { "LOCATION:  x", true },
        { "log:  x", false },
        { "", false },
        { ":", false },
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        bool got = pgprefix_could_match(str_cstr(lines[i].line));
        if (got != lines[i].could)
            fail_msg("'%s': %d, want %d", lines[i].line, got, lines[i].could);
    }
}

/*
 * A reset cache reads as a zeroed one: no memo of a process survives it,
 * also in a cache that was never set (a reader on the stack where another
 * one was, with a memo of the same process).
 */
static void cache_reset_forgets(void **state)
{
    (void)state;
    struct err err;
    struct pgprefix *p = pgprefix_compile("%m [%p] %u@%d ", &err);
    assert_non_null(p);
    struct pgprefix_cache pc = { 0 };
    struct event ev;
    size_t n;
    event_clear(&ev);
    assert_true(pgprefix_match(p, str_cstr("2026-11-22 02:32:37.1 UTC [7] app@shop LOG:  x"), &ev,
                               &pc, &n));
    assert_true(pc.used != 0);
    /* The memo cut short: a reset must forget it, and the same line is read whole again. */
    pc.memo[7 % PGPREFIX_MEMO_SLOTS].n[0] = 1;
    pgprefix_cache_reset(&pc);
    assert_int_equal(pc.used, 0);
    assert_false(pc.tc.valid);
    event_clear(&ev);
    assert_true(pgprefix_match(p, str_cstr("2026-11-22 02:32:37.1 UTC [7] app@shop LOG:  x"), &ev,
                               &pc, &n));
    assert_true(str_eq_cstr(ev.user, "app"));
    assert_true(str_eq_cstr(ev.db, "shop"));
    event_clear(&ev);
    assert_true(
        pgprefix_match(p, str_cstr("2026-11-22 02:32:37.2 UTC [7] bob@web LOG:  x"), &ev, &pc, &n));
    assert_true(str_eq_cstr(ev.user, "bob"));
    assert_true(str_eq_cstr(ev.db, "web"));
    /* Stale bytes: process 7's memo, its user cut short, and used says nothing of it. */
    pc.memo[7 % PGPREFIX_MEMO_SLOTS].n[0] = 1;
    pc.used = 0;
    pgprefix_cache_reset(&pc);
    event_clear(&ev);
    assert_true(
        pgprefix_match(p, str_cstr("2026-11-22 02:32:37.3 UTC [7] bob@web LOG:  x"), &ev, &pc, &n));
    assert_true(str_eq_cstr(ev.user, "bob"));
    assert_true(str_eq_cstr(ev.db, "web"));
    pgprefix_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_table),
        cmocka_unit_test(bad_specs_are_usage_errors),
        cmocka_unit_test(detects_real_log_prefix),
        cmocka_unit_test(detects_debian_default),
        cmocka_unit_test(detects_common_settings),
        cmocka_unit_test(unknown_field_is_not_a_user),
        cmocka_unit_test(unknown_prefix_falls_back_to_loose),
        cmocka_unit_test(detects_from_the_first_line),
        cmocka_unit_test(memo_follows_changes_of_one_process),
        cmocka_unit_test(memo_skips_lines_stopped_at_q),
        cmocka_unit_test(could_match_table),
        cmocka_unit_test(cache_reset_forgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
