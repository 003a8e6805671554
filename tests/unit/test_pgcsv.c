/*
 * Unit tests for the csvlog reader: small inline logs fed whole, byte by
 * byte and split at every offset (the streams must agree), the fields of
 * a record, total parsing of garbage, pathological sizes, and the real
 * pgbench.csv.gz from $SLEUTH_DATA with counts checked against Python's
 * csv module.
 */
#include "input/pgcsv.h"

#include "util/buf.h"
#include "util/compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_reader.h"

#include "util/banned.h"

FEED_READER(pgcsv);

static const struct feed_reader *test_reader(void)
{
    return &feed_pgcsv;
}

/* ---- inline logs -------------------------------------------------------- */

#define T "2026-11-22 02:32:37.361 UTC"

/* A PostgreSQL 15 csvlog line (26 columns); the arguments are raw field text. */
#define CSV15(ts, pid, sev, state, msg, detail, query)                                 \
    ts ",\"bench\",\"benchdb\"," pid ",\"127.0.0.1:40750\",6b025445.693,1,\"SELECT\"," \
       "2026-11-22 02:32:37 UTC,3/5,0," sev "," state "," msg "," detail ",,,,," query \
       ",,,\"pgbench\",\"client backend\",,0\n"
#define REC(pid, msg) CSV15(T, pid, "LOG", "00000", msg, "", "")

/* Fields 14 to 22 empty: the 23 columns up to PostgreSQL 12. */
#define PG12(pid, msg) T ",,," pid ",,,,,,,,LOG,00000," msg ",,,,,,,,,\n"

static const struct feed_case feed_cases[] = {
    { "records_come_out_in_order", REC("1", "\"a\"") REC("2", "\"b\""), 0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 other pid=2 msg=\"b\"\n",
      3 },
    { "quoted_newline_continues_field", REC("1", "\"a\nb\n\"") REC("2", "\"c\""), 0,
      "L1 other pid=1 msg=\"a\\nb\\n\"\n"
      "L4 other pid=2 msg=\"c\"\n",
      5 },
    { "doubled_quotes_unescape", REC("1", "\"say \"\"hi\"\"\"") REC("2", "\"\"\"\"\"\""), 0,
      "L1 other pid=1 msg=\"say \\\"hi\\\"\"\n"
      "L2 other pid=2 msg=\"\\\"\\\"\"\n",
      3 },
    { "doubled_quotes_across_lines", REC("1", "\"x\"\"\ny\"\"\"") REC("2", "\"\""), 0,
      "L1 other pid=1 msg=\"x\\\"\\ny\\\"\"\n"
      "L3 other pid=2\n",
      4 },
    { "detail_and_query_columns_are_read",
      CSV15(T, "5", "ERROR", "22012", "\"division by zero\"", "\"d\"", "\"SELECT 1/0;\""), 0,
      "L1 error pid=5 msg=\"division by zero\" detail=\"d\" stmt=\"SELECT 1/0;\"\n", 2 },
    { "missing_trailing_newline_is_unparsed",
      REC("1", "\"a\"") T
      ",\"bench\",\"benchdb\",2,\"[local]\",x,1,\"\",,,0,LOG,00000,\"b\",,,,,,,,,,,,0",
      0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 unparsed at=\"2026-11-22 0\"\n",
      2 },
    { "garbage_line_between_good_ones", REC("1", "\"a\"") "this is not csv\n" REC("3", "\"c\""), 0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 unparsed at=\"this is not \"\n"
      "L3 other pid=3 msg=\"c\"\n",
      4 },
    { "garbage_lines_become_one_event", REC("1", "\"a\"") "x\ny\nz\n" REC("5", "\"e\""), 0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 unparsed at=\"x\\ny\\nz\"\n"
      "L5 other pid=5 msg=\"e\"\n",
      6 },
    { "garbage_first_and_last", "junk\n" REC("2", "\"b\"") "junk", 0,
      "L1 unparsed at=\"junk\"\n"
      "L2 other pid=2 msg=\"b\"\n"
      "L3 unparsed at=\"junk\"\n",
      3 },
    { "unterminated_quote_at_eof_is_unparsed_from_start_line",
      REC("1", "\"a\"") T
      ",\"bench\",\"benchdb\",2,\"[local]\",x,1,\"\",,,0,LOG,00000,\"never\nclosed\nat all\n",
      0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 unparsed at=\"2026-11-22 0\"\n",
      5 },
    { "stray_quote_does_not_swallow_next_record",
      REC("1", "\"a\"") T ",\"oops,1\n" REC("3", "\"c\"") REC("4", "\"d\""), 0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 unparsed at=\"2026-11-22 0\"\n"
      "L3 other pid=3 msg=\"c\"\n"
      "L4 other pid=4 msg=\"d\"\n",
      5 },
    { "quoted_text_that_looks_like_a_record_stays_in_its_field",
      REC("1", "\"a\n" T ",\"\"u\"\",\"\"d\"\",9,x\"") REC("2", "\"b\""), 0,
      "L1 other pid=1 msg=\"a\\n2026-11-22 02:32:37.361 UTC,\\\"u\\\",\\\"d\\\",9,x\"\n"
      "L3 other pid=2 msg=\"b\"\n",
      4 },
    { "twenty_five_columns_are_unparsed", T ",,,1,,,,,,,,LOG,00000,\"x\",,,,,,,,,,,\n", 0,
      "L1 unparsed at=\"2026-11-22 0\"\n", 2 },
    { "twenty_seven_columns_are_unparsed", T ",,,1,,,,,,,,LOG,00000,\"x\",,,,,,,,,,,,,\n", 0,
      "L1 unparsed at=\"2026-11-22 0\"\n", 2 },
    { "pg12_23_columns_are_read", PG12("7", "\"old\""), 0, "L1 other pid=7 msg=\"old\"\n", 2 },
    { "pg13_24_columns_are_read", T ",,,8,,,,,,,,LOG,00000,\"new\",,,,,,,,,,\"client backend\"\n",
      0, "L1 other pid=8 msg=\"new\"\n", 2 },
    { "many_commas_are_unparsed",
      T ",,,1,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n" REC("2", "\"b\""), 0,
      "L1 unparsed at=\"2026-11-22 0\"\n"
      "L2 other pid=2 msg=\"b\"\n",
      3 },
    { "nul_byte_is_kept", WITH_NUL(REC("1", "\"a\0b\"") REC("2", "\"c\"")),
      "L1 other pid=1 msg=\"a\\x00b\"\n"
      "L2 other pid=2 msg=\"c\"\n",
      3 },
    { "invalid_utf8_is_kept_as_bytes", REC("1", "\"caf\xe9 \xff\""), 0,
      "L1 other pid=1 msg=\"caf\\xe9 \\xff\"\n", 2 },
    { "crlf_line_ends_are_read",
      T ",,,1,,,,,,,,LOG,00000,\"a\",,,,,,,,,\"app\"\r\n" T
        ",,,2,,,,,,,,LOG,00000,\"b\",,,,,,,,,,,,0\r\n",
      0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 other pid=2 msg=\"b\"\n",
      3 },
    { "empty_lines_are_skipped", "\n" REC("2", "\"b\"") "\n\n" REC("5", "\"e\""), 0,
      "L2 other pid=2 msg=\"b\"\n"
      "L5 other pid=5 msg=\"e\"\n",
      6 },
    { "text_after_closing_quote_is_unparsed", REC("1", "\"a\"b") REC("2", "\"c\""), 0,
      "L1 unparsed at=\"2026-11-22 0\"\n"
      "L2 other pid=2 msg=\"c\"\n",
      3 },
    { "quote_inside_unquoted_field_is_unparsed", REC("1\"", "\"a\"") REC("2", "\"c\""), 0,
      "L1 unparsed at=\"2026-11-22 0\"\n"
      "L2 other pid=2 msg=\"c\"\n",
      3 },
    { "pid_that_is_not_a_number_is_unparsed", REC("x1", "\"a\"") REC("2", "\"b\""), 0,
      "L1 unparsed at=\"2026-11-22 0\"\n"
      "L2 other pid=2 msg=\"b\"\n",
      3 },
    { "pid_beyond_int32_is_unparsed", REC("99999999999", "\"a\""), 0,
      "L1 unparsed at=\"2026-11-22 0\"\n", 2 },
    { "bad_timestamp_is_unparsed",
      CSV15("2026-13-22 02:32:37.361 UTC", "1", "LOG", "00000", "\"a\"", "", ""), 0,
      "L1 unparsed at=\"2026-13-22 0\"\n", 2 },
    { "timestamp_with_trailing_junk_is_unparsed",
      CSV15("2026-11-22 02:32:37.361 UTC x", "1", "LOG", "00000", "\"a\"", "", ""), 0,
      "L1 unparsed at=\"2026-11-22 0\"\n", 2 },
    { "lone_cr_at_eof_is_unparsed", REC("1", "\"a\"") "\r", 0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 unparsed at=\"\\x0d\"\n",
      2 },
    { "empty_input_gives_nothing", "", 0, "", 1 },
};

static void feed_cases_give_expected_events(void **state)
{
    (void)state;
    check_feed_cases(feed_cases, ARRAY_SIZE(feed_cases));
}

/* ---- fields of one record ------------------------------------------------ */

static void record_fills_every_field(void **state)
{
    (void)state;
    const char *in = "2026-11-22 02:32:47.816 UTC,\"bench\",\"benchdb\",2450,\"[local]\","
                     "6b02544f.992,7,\"UPDATE\",2026-11-22 02:32:47 UTC,3/4293,5159,ERROR,40P01,"
                     "\"deadlock detected\",\"Process 2450 waits\nProcess 2451 waits\","
                     "\"See server log for query details.\",,,\"while updating tuple (0,4) in "
                     "relation \"\"dl\"\"\",\"UPDATE dl SET v = v + 1 WHERE id = 1;\",,,\"dl_b\","
                     "\"client backend\",,0\n";
    check_record_fills_every_field(in);
}

/* PostgreSQL 8.4 wrote 22 columns (no application_name), 9.0 to 12 wrote 23. */
static void old_column_sets_are_read(void **state)
{
    (void)state;
    const char *v84 = "2026-11-22 02:32:47.816 UTC,\"bench\",\"benchdb\",2450,\"[local]\","
                      "6b02544f.992,7,\"SELECT\",2026-11-22 02:32:47 UTC,3/4293,0,LOG,00000,"
                      "\"duration: 1.500 ms  statement: SELECT 1\",,,,,,,,\n";
    struct sink s;
    sink_init(&s, true);
    read_whole(v84, strlen(v84), &s);
    assert_string_equal(s.text.ptr, "L1 query LOG pid=2450 ts=1795314767816000 tz=0 dur=1500 val=0 "
                                    "ph=1 fl=0 in=3 user=\"bench\" db=\"benchdb\" "
                                    "client=\"[local]\" state=\"00000\" msg=\"duration: 1.500 ms  "
                                    "statement: SELECT 1\" stmt=\"SELECT 1\"\n");
    sink_release(&s);
    const char *v90 = "2026-11-22 02:32:47.816 UTC,\"bench\",\"benchdb\",2450,\"[local]\","
                      "6b02544f.992,7,\"SELECT\",2026-11-22 02:32:47 UTC,3/4293,0,LOG,00000,"
                      "\"duration: 1.500 ms  statement: SELECT 1\",,,,,,,,,\"psql\"\n";
    sink_init(&s, true);
    read_whole(v90, strlen(v90), &s);
    assert_non_null(strstr(s.text.ptr, "L1 query LOG pid=2450"));
    assert_non_null(strstr(s.text.ptr, "app=\"psql\""));
    sink_release(&s);
}

struct client_case {
    const char *from; /* connection_from column text */
    const char *client;
};

static const struct client_case client_cases[] = {
    { "\"127.0.0.1:40750\"", "127.0.0.1" },
    { "\"[local]\"", "[local]" },
    { "\"::1:5432\"", "::1" },
    { "\"db.example.com:6432\"", "db.example.com" },
    { "\"host:\"", "host:" },
    { "\"10.0.0.1\"", "10.0.0.1" },
    { "", "" },
};

static void client_is_the_host_without_port(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(client_cases); i++) {
        struct buf in = BUF_INIT;
        buf_addf(&in, T ",,,1,%s,,,,,,,LOG,00000,\"m\",,,,,,,,,,,,0\n", client_cases[i].from);
        struct sink s;
        sink_init(&s, true);
        s.want_line[0] = 1;
        read_whole(in.ptr, in.len, &s);
        assert_int_equal(s.events, 1);
        struct buf want = BUF_INIT;
        buf_addf(&want, " client=\"%s\"", client_cases[i].client);
        bool found = strstr(s.text.ptr, want.ptr) != NULL;
        if (client_cases[i].client[0] ? !found : strstr(s.text.ptr, " client=") != NULL)
            fail_msg("connection_from %s: %s", client_cases[i].from, s.text.ptr);
        buf_release(&want);
        buf_release(&in);
        sink_release(&s);
    }
}

static const struct severity_case severity_cases[] = {
    { "DEBUG1", SEV_DEBUG }, { "DEBUG5", SEV_DEBUG },  { "LOG", SEV_LOG },
    { "INFO", SEV_INFO },    { "NOTICE", SEV_NOTICE }, { "WARNING", SEV_WARNING },
    { "ERROR", SEV_ERROR },  { "FATAL", SEV_FATAL },   { "PANIC", SEV_PANIC },
    { "FEHLER", SEV_NONE },  { "log", SEV_NONE },      { "DEBUG", SEV_NONE },
    { "DEBUG6", SEV_NONE },  { "", SEV_NONE },
};

static void severity_words_map_to_enum(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(severity_cases); i++) {
        assert_int_equal(pgcsv_severity(str_cstr(severity_cases[i].word)), severity_cases[i].sev);
        /* A translated severity does not make the record unparsed. */
        check_severity_in_record(T ",,,1,,,,,,,,", &severity_cases[i],
                                 ",00000,\"m\",,,,,,,,,,,,0\n");
    }
}

struct time_case {
    const char *text;
    int64_t ts_us;
    int tz_offset_s;
};

/* In one stream, so the seconds cache is hit, missed and changes zone. */
static const struct time_case time_cases[] = {
    { "2026-11-22 02:32:56.912 UTC", 1795314776912000, 0 },
    { "2026-11-22 02:32:56.913 UTC", 1795314776913000, 0 },
    { "2026-11-22 02:32:56 UTC", 1795314776000000, 0 },
    { "2026-11-22 02:32:56.5 UTC", 1795314776500000, 0 },
    { "2026-11-22 02:32:56.123456 UTC", 1795314776123456, 0 },
    { "2026-11-22 03:32:56.912 CET", 1795314776912000, 3600 },
    { "2026-11-22 03:32:56.100 CET", 1795314776100000, 3600 },
    { "2026-11-22 02:32:56.912", 1795314776912000, 0 },
    { "2026-11-22 02:32:56.913 UTC", 1795314776913000, 0 },
    { "2026-11-22 05:32:56.912 +03", 1795314776912000, 10800 },
    { "2026-11-21 21:32:56.912 EST", 1795314776912000, -18000 },
};

static void timestamps_parse_with_zone_and_fraction(void **state)
{
    (void)state;
    struct buf in = BUF_INIT;
    for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++)
        buf_addf(&in, "%s,,,%zu,,,,,,,,LOG,00000,\"m\",,,,,,,,,,,,0\n", time_cases[i].text, i + 1);
    struct sink s;
    sink_init(&s, true);
    read_whole(in.ptr, in.len, &s);
    assert_int_equal(s.events, ARRAY_SIZE(time_cases));
    assert_int_equal(s.unparsed, 0);
    const char *p = s.text.ptr;
    for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
        char want[96];
        snprintf(want, sizeof(want), "pid=%zu ts=%lld tz=%d ", i + 1,
                 (long long)time_cases[i].ts_us, time_cases[i].tz_offset_s);
        if (strstr(p, want) == NULL)
            fail_msg("%s: want \"%s\" in\n%s", time_cases[i].text, want, s.text.ptr);
    }
    buf_release(&in);
    sink_release(&s);
}

/* ---- the feed protocol ---------------------------------------------------- */

static void partial_record_without_eof_needs_more(void **state)
{
    (void)state;
    const char *in = REC("1", "\"a\nb\"") REC("2", "\"c\"");
    size_t first = strlen(REC("1", "\"a\nb\""));
    struct pgcsv_reader r;
    pgcsv_init(&r, 0);
    struct sink s;
    sink_init(&s, false);
    /* Cut inside the first record's quoted field. */
    assert_int_equal(pgcsv_feed(&r, in, 40, false, on_event, &s), 0);
    assert_int_equal(s.events, 0);
    assert_int_equal(r.line, 1);
    /* The whole first record and part of the second. */
    assert_int_equal(pgcsv_feed(&r, in, first + 10, false, on_event, &s), first);
    assert_int_equal(s.events, 1);
    assert_int_equal(r.line, 3);
    /* The second record, complete but without eof, is emitted too. */
    assert_int_equal(pgcsv_feed(&r, in + first, strlen(in) - first, false, on_event, &s),
                     strlen(in) - first);
    assert_string_equal(s.text.ptr, "L1 other pid=1 msg=\"a\\nb\"\n"
                                    "L3 other pid=2 msg=\"c\"\n");
    assert_int_equal(r.line, 4);
    assert_int_equal(pgcsv_feed(&r, "", 0, true, on_event, &s), 0);
    pgcsv_release(&r);
    sink_release(&s);
}

static void caller_sets_line_numbers(void **state)
{
    (void)state;
    check_caller_sets_line_numbers(REC("1", "\"a\""), REC("3", "\"c\""));
}

static void setting_line_drops_a_saved_scan(void **state)
{
    (void)state;
    const char *a = REC("1", "\"aaaa\"");
    const char *b = REC("2", "\"b\"");
    struct pgcsv_reader r;
    pgcsv_init(&r, 0);
    struct sink s;
    sink_init(&s, false);
    assert_int_equal(pgcsv_feed(&r, a, strlen(a) - 20, false, on_event, &s), 0);
    /* The caller starts over elsewhere: the scan of a must not leak into b. */
    r.line = 50;
    assert_int_equal(pgcsv_feed(&r, b, strlen(b), true, on_event, &s), strlen(b));
    assert_string_equal(s.text.ptr, "L50 other pid=2 msg=\"b\"\n");
    pgcsv_release(&r);
    sink_release(&s);
}

static void unparsed_message_holds_the_bytes(void **state)
{
    (void)state;
    const char *in = "first junk\nsecond junk\n" REC("3", "\"c\"") "tail";
    struct sink s;
    sink_init(&s, true);
    read_whole(in, strlen(in), &s);
    assert_string_equal(s.text.ptr,
                        "L1 unparsed  pid=0 ts=-9223372036854775808 tz=0 dur=-1 val=0 ph=0 fl=0 "
                        "in=3 msg=\"first junk\\nsecond junk\"\n"
                        "L3 other LOG pid=3 ts=1795314757361000 tz=0 dur=-1 val=0 ph=0 fl=0 in=3 "
                        "user=\"bench\" db=\"benchdb\" app=\"pgbench\" client=\"127.0.0.1\" "
                        "state=\"00000\" msg=\"c\"\n"
                        "L4 unparsed  pid=0 ts=-9223372036854775808 tz=0 dur=-1 val=0 ph=0 fl=0 "
                        "in=3 msg=\"tail\"\n");
    sink_release(&s);
}

static const struct sync_case sync_cases[] = {
    { "empty", "", "" },
    { "record_at_start", "", REC("1", "\"a\"") },
    { "record_after_garbage", "garbage\n", REC("1", "\"a\"") },
    { "cut_inside_a_record", "32:37.361 UTC,\"x\",,1,,\n", REC("1", "\"a\"") },
    { "cut_at_session_start_time", "2026-11-22 02:32:37 UTC,3/5,0,LOG,00000,\"m\"\n",
      REC("1", "\"a\"") },
    { "cut_at_session_start_without_vxid", "2026-11-22 02:32:37 UTC,,0,LOG,00000,\"m\"\n",
      REC("1", "\"a\"") },
    { "quoted_names_with_escapes", "x\n", T ",\"a\"\"b\",\"\",42," },
    { "continuation_line_is_skipped", "  FROM t\n", T ",,,7," },
    { "timestamp_then_no_pid", T ",,,x,\n", "" },
    { "timestamp_then_unquoted_user", T ",bench,,1,\n", "" },
    { "no_record", "junk\nmore junk\n", "" },
    { "truncated_candidate", "junk\n2026-11-22 02:3", "" },
};

static void sync_finds_the_next_record_start(void **state)
{
    (void)state;
    check_sync_cases(sync_cases, ARRAY_SIZE(sync_cases));
}

/* ---- pathological inputs ---------------------------------------------------- */

static void unterminated_quote_of_50mb_is_read_once(void **state)
{
    (void)state;
    struct buf in = BUF_INIT;
    buf_addstr(&in, REC("1", "\"a\""));
    buf_addstr(&in, T ",,,2,,,,,,,,LOG,00000,\"never closed");
    size_t lines = 0;
    while (in.len < 50u << 20) {
        buf_addstr(
            &in, "\n  SELECT 'no quote here', 12345678901234567890123456789012345678901234567890");
        lines++;
    }
    struct sink s;
    sink_init(&s, false);
    double t0 = now_s();
    uint64_t end = read_steps(in.ptr, in.len, 4096, &s);
    double took = now_s() - t0;
    assert_int_equal(s.events, 2);
    assert_int_equal(s.unparsed, 1);
    assert_int_equal(end, 2 + lines);
    assert_true(strncmp(s.text.ptr, "L1 other pid=1 msg=\"a\"\nL2 unparsed", 34) == 0);
    /* Rescanning per 4 KB feed would be 12 800 passes over ~25 MB: minutes, not seconds. */
    if (took > 10.0)
        fail_msg("50 MB unterminated quote took %.1f s", took);
    buf_release(&in);
    sink_release(&s);
}

static void field_of_10mb_is_read(void **state)
{
    (void)state;
    check_field_of_10mb(T ",,,1,,,,,,,,LOG,00000,\"", "\"\"end\",,,,,,,,,,,,0\n" REC("2", "\"b\""));
}

static void garbage_line_of_10mb_is_one_event(void **state)
{
    (void)state;
    check_garbage_line_of_10mb(REC("1", "\"a\""), REC("3", "\"c\""));
}

static void statement_of_100k_lines_keeps_line_numbers(void **state)
{
    (void)state;
    struct buf in = BUF_INIT;
    buf_addstr(&in, T ",,,1,,,,,,,,ERROR,42601,\"syntax error\",,,,,,\"SELECT");
    for (int i = 0; i < 100000; i++)
        buf_addstr(&in, "\n  1,");
    buf_addstr(&in, "\",,,,,,0\n" REC("2", "\"b\""));
    struct sink s;
    sink_init(&s, false);
    uint64_t end = read_steps(in.ptr, in.len, 4096, &s);
    assert_int_equal(s.events, 2);
    assert_int_equal(s.unparsed, 0);
    assert_int_equal(end, 100003);
    assert_non_null(strstr(s.text.ptr, "\nL100002 other pid=2"));
    buf_release(&in);
    sink_release(&s);
}

/* ---- the real log ------------------------------------------------------------- */

/*
 * Reference numbers for pgbench.csv.gz, from Python's csv module (and
 * `wc -l`), not from this reader:
 *   rows = list(csv.reader(gzip.open(path, 'rt', newline='')))
 */
#define REAL_RECORDS   167344 /* len(rows), all with 26 columns */
#define REAL_LINES     167537 /* wc -l: records plus the newlines inside fields */
#define REAL_DURATIONS 160734 /* rows whose message starts with "duration:" */
#define REAL_ERRORS    112    /* error_severity ERROR; the rest is LOG */
#define REAL_BYTES     47321390

/* Line numbers from csv.reader's line_num; fields checked against the file by eye. */
static const struct real_record real_records[] = {
    { "first_record", 1,
      "L1 other LOG pid=1668 ts=1795314757361000 tz=0 dur=-1 val=0 ph=0 fl=0 in=3 "
      "state=\"00000\" msg=\"starting PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on "
      "x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit\"\n" },
    { "deadlock", 35771,
      "L35771 error ERROR pid=2450 ts=1795314767816000 tz=0 dur=-1 val=0 ph=0 fl=1 in=3 "
      "user=\"bench\" db=\"benchdb\" app=\"dl_b\" client=\"[local]\" state=\"40P01\" "
      "msg=\"deadlock detected\" stmt=\"UPDATE dl SET v = v + 1 WHERE id = 1;\" "
      "detail=\"Process 2450 waits for ShareLock on transaction 5160; blocked by process "
      "2451.\\nProcess 2451 waits for ShareLock on transaction 5159; blocked by process "
      "2450.\\nProcess 2450: UPDATE dl SET v = v + 1 WHERE id = 1;\\nProcess 2451: UPDATE dl "
      "SET v = v + 1 WHERE id = 2;\" hint=\"See server log for query details.\" "
      "ctx=\"while updating tuple (0,4) in relation \\\"dl\\\"\"\n" },
    { "multi_line_statement", 92,
      "L92 temp_file LOG pid=1688 ts=1795314758706000 tz=0 dur=-1 val=7000000 ph=0 fl=0 in=3 "
      "user=\"bench\" db=\"benchdb\" app=\"psql\" client=\"[local]\" state=\"00000\" "
      "msg=\"temporary file: path \\\"base/pgsql_tmp/pgsql_tmp1688.0\\\", size 7000000\" "
      "stmt=\"CREATE TABLE perf_noindex AS\\n  SELECT g AS id, (random()*100000)::int AS val, "
      "md5(g::text) AS pad\\n  FROM generate_series(1, 500000) g;\"\n" },
    { "after_multi_line_statement", 95,
      "L95 query LOG pid=1688 ts=1795314758706000 tz=0 dur=666389 val=0 ph=1 fl=0 in=3 "
      "user=\"bench\" db=\"benchdb\" app=\"psql\" client=\"[local]\" state=\"00000\" "
      "msg=\"duration: 666.389 ms  statement: CREATE TABLE perf_noindex AS\\n  SELECT g AS id, "
      "(random()*100000)::int AS val, md5(g::text) AS pad\\n  FROM generate_series(1, 500000) "
      "g;\" stmt=\"CREATE TABLE perf_noindex AS\\n  SELECT g AS id, (random()*100000)::int AS "
      "val, md5(g::text) AS pad\\n  FROM generate_series(1, 500000) g;\"\n" },
    { "detail_parameters", 63152,
      "L63152 query LOG pid=3240 ts=1795314776913000 tz=0 dur=608 val=0 ph=3 fl=0 in=3 "
      "user=\"bench\" db=\"benchdb\" app=\"pgbench\" client=\"127.0.0.1\" state=\"00000\" "
      "msg=\"duration: 0.608 ms  bind <unnamed>: UPDATE pgbench_accounts SET abalance = "
      "abalance + $1 WHERE aid = $2;\" stmt=\"UPDATE pgbench_accounts SET abalance = abalance "
      "+ $1 WHERE aid = $2;\" name=\"<unnamed>\" params=\"$1 = '649', $2 = '20887'\"\n" },
};

static const struct real_spec real_spec = {
    .file = "pgbench.csv.gz",
    .bytes = REAL_BYTES,
    .events = REAL_RECORDS,
    .durations = REAL_DURATIONS,
    .errors = REAL_ERRORS,
    .lines = REAL_LINES,
    .records = real_records,
    .nrecords = ARRAY_SIZE(real_records),
    .chunks = { 65536, 4093 },
};

static int load_real(void **state)
{
    (void)state;
    return real_log_load(&real_spec);
}

static int free_real(void **state)
{
    (void)state;
    real_log_release();
    return 0;
}

static void real_log_counts_match_python_csv(void **state)
{
    (void)state;
    check_real_counts();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feed_cases_give_expected_events),
        cmocka_unit_test(record_fills_every_field),
        cmocka_unit_test(old_column_sets_are_read),
        cmocka_unit_test(client_is_the_host_without_port),
        cmocka_unit_test(severity_words_map_to_enum),
        cmocka_unit_test(timestamps_parse_with_zone_and_fraction),
        cmocka_unit_test(partial_record_without_eof_needs_more),
        cmocka_unit_test(caller_sets_line_numbers),
        cmocka_unit_test(setting_line_drops_a_saved_scan),
        cmocka_unit_test(unparsed_message_holds_the_bytes),
        cmocka_unit_test(sync_finds_the_next_record_start),
        cmocka_unit_test(unterminated_quote_of_50mb_is_read_once),
        cmocka_unit_test(field_of_10mb_is_read),
        cmocka_unit_test(garbage_line_of_10mb_is_one_event),
        cmocka_unit_test(statement_of_100k_lines_keeps_line_numbers),
        cmocka_unit_test(real_log_counts_match_python_csv),
        cmocka_unit_test(real_log_records_have_exact_fields),
        cmocka_unit_test(real_log_chunked_feeds_match_whole),
        cmocka_unit_test(real_log_sync_splits_at_record_starts),
    };
    return cmocka_run_group_tests(tests, load_real, free_real);
}
