/*
 * Unit tests for the jsonlog reader: small inline logs fed whole, byte by
 * byte and split at every offset (the streams must agree), the fields of
 * a record, total parsing of bad lines, pathological sizes, and the real
 * pgbench.json.gz from $SLEUTH_DATA with counts checked against Python's
 * json module, and against the csvlog of the same run.
 */
#include "input/pgjson.h"

#include "input/pgcsv.h"
#include "util/buf.h"
#include "util/compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_reader.h"

#include "util/banned.h"

FEED_READER(pgjson);

static const struct feed_reader *test_reader(void)
{
    return &feed_pgjson;
}

/* ---- inline logs -------------------------------------------------------- */

#define T "2026-11-22 02:32:37.361 UTC"

/* A PostgreSQL 15 jsonlog line; the arguments are raw JSON values. */
#define JSON15(ts, pid, sev, msg, more)                                                     \
    "{\"timestamp\":" ts ",\"user\":\"bench\",\"dbname\":\"benchdb\",\"pid\":" pid          \
    ",\"remote_host\":\"127.0.0.1\",\"remote_port\":40750,\"session_id\":\"6b025445.693\"," \
    "\"line_num\":1,\"ps\":\"SELECT\",\"session_start\":\"2026-11-22 02:32:37 UTC\","       \
    "\"vxid\":\"3/5\",\"txid\":0,\"error_severity\":" sev ",\"message\":" msg more          \
    ",\"application_name\":\"pgbench\",\"backend_type\":\"client backend\",\"query_id\":0}\n"
#define REC(pid, msg) JSON15("\"" T "\"", pid, "\"LOG\"", msg, "")

static const struct feed_case feed_cases[] = {
    { "records_come_out_in_order", REC("1", "\"a\"") REC("2", "\"b\""), 0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 other pid=2 msg=\"b\"\n",
      3 },
    { "escapes_are_decoded", REC("1", "\"a\\nb \\\"q\\\" \\u00e9\\t\\\\ \\ud83d\\ude00\""), 0,
      "L1 other pid=1 msg=\"a\\nb \\\"q\\\" \\xc3\\xa9\\x09\\\\ \\xf0\\x9f\\x98\\x80\"\n", 2 },
    { "detail_and_statement_keys_are_read",
      JSON15("\"" T "\"", "5", "\"ERROR\"", "\"division by zero\"",
             ",\"detail\":\"d\",\"statement\":\"SELECT 1/0;\",\"cursor_position\":8"),
      0, "L1 error pid=5 msg=\"division by zero\" detail=\"d\" stmt=\"SELECT 1/0;\"\n", 2 },
    { "missing_trailing_newline_is_unparsed",
      REC("1", "\"a\"") "{\"timestamp\":\"" T "\",\"pid\":2,\"error_severity\":\"LOG\"}", 0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 unparsed at=\"{\\\"timestamp\\\"\"\n",
      2 },
    { "garbage_line_between_good_ones", REC("1", "\"a\"") "this is not json\n" REC("3", "\"c\""), 0,
      "L1 other pid=1 msg=\"a\"\n"
      "L2 unparsed at=\"this is not \"\n"
      "L3 other pid=3 msg=\"c\"\n",
      4 },
    { "each_bad_line_is_one_event", "x\n{\"y\":\ny}\n" REC("4", "\"d\""), 0,
      "L1 unparsed at=\"x\"\n"
      "L2 unparsed at=\"{\\\"y\\\":\"\n"
      "L3 unparsed at=\"y}\"\n"
      "L4 other pid=4 msg=\"d\"\n",
      5 },
    { "truncated_line_is_unparsed", "{\"timestamp\":\"" T "\",\"pid\":1,\"mess\n" REC("2", "\"b\""),
      0,
      "L1 unparsed at=\"{\\\"timestamp\\\"\"\n"
      "L2 other pid=2 msg=\"b\"\n",
      3 },
    { "invalid_utf8_becomes_u_fffd", REC("1", "\"caf\xe9\"") REC("2", "\"b\""), 0,
      "L1 other pid=1 msg=\"caf\\xef\\xbf\\xbd\"\n"
      "L2 other pid=2 msg=\"b\"\n",
      3 },
    { "nul_byte_becomes_u_fffd", WITH_NUL(REC("1", "\"a\0b\"") REC("2", "\"b\"")),
      "L1 other pid=1 msg=\"a\\xef\\xbf\\xbdb\"\n"
      "L2 other pid=2 msg=\"b\"\n",
      3 },
    { "escaped_nul_is_unparsed", REC("1", "\"a\\u0000b\""), 0,
      "L1 unparsed at=\"{\\\"timestamp\\\"\"\n", 2 },
    { "raw_control_byte_is_kept", REC("1", "\"a\tb\""), 0, "L1 other pid=1 msg=\"a\\x09b\"\n", 2 },
    { "non_objects_are_unparsed", "[1,2]\n42\n\"s\"\nnull\n{}\n", 0,
      "L1 unparsed at=\"[1,2]\"\n"
      "L2 unparsed at=\"42\"\n"
      "L3 unparsed at=\"\\\"s\\\"\"\n"
      "L4 unparsed at=\"null\"\n"
      "L5 unparsed at=\"{}\"\n",
      6 },
    { "two_objects_on_a_line_are_unparsed", "{\"a\":1}{\"b\":2}\n", 0,
      "L1 unparsed at=\"{\\\"a\\\":1}{\\\"b\\\":\"\n", 2 },
    { "missing_timestamp_is_unparsed", "{\"pid\":1,\"error_severity\":\"LOG\",\"message\":\"m\"}\n",
      0, "L1 unparsed at=\"{\\\"pid\\\":1,\\\"er\"\n", 2 },
    { "missing_severity_is_unparsed", "{\"timestamp\":\"" T "\",\"pid\":1,\"message\":\"m\"}\n", 0,
      "L1 unparsed at=\"{\\\"timestamp\\\"\"\n", 2 },
    { "bad_timestamp_is_unparsed",
      JSON15("\"2026-11-22 02:32:37.361 UTC x\"", "1", "\"LOG\"", "\"a\"", ""), 0,
      "L1 unparsed at=\"{\\\"timestamp\\\"\"\n", 2 },
    { "timestamp_of_wrong_type_is_unparsed", JSON15("1795314757", "1", "\"LOG\"", "\"a\"", ""), 0,
      "L1 unparsed at=\"{\\\"timestamp\\\"\"\n", 2 },
    { "severity_of_wrong_type_is_unparsed", JSON15("\"" T "\"", "1", "40", "\"a\"", ""), 0,
      "L1 unparsed at=\"{\\\"timestamp\\\"\"\n", 2 },
    { "pid_as_string_is_unparsed", REC("\"1\"", "\"a\""), 0,
      "L1 unparsed at=\"{\\\"timestamp\\\"\"\n", 2 },
    { "negative_pid_is_unparsed", REC("-1", "\"a\""), 0, "L1 unparsed at=\"{\\\"timestamp\\\"\"\n",
      2 },
    { "message_of_wrong_type_is_unparsed", REC("1", "[\"a\"]"), 0,
      "L1 unparsed at=\"{\\\"timestamp\\\"\"\n", 2 },
    { "null_value_is_unparsed", REC("1", "null"), 0, "L1 unparsed at=\"{\\\"timestamp\\\"\"\n", 2 },
    { "unknown_keys_are_ignored",
      JSON15("\"" T "\"", "1", "\"LOG\"", "\"a\"", ",\"future\":[1,{\"x\":null}],\"ps\":7"), 0,
      "L1 other pid=1 msg=\"a\"\n", 2 },
    { "minimal_record_is_read", "{\"timestamp\":\"" T "\",\"error_severity\":\"LOG\"}\n", 0,
      "L1 other pid=0\n", 2 },
    { "empty_lines_are_skipped", "\n" REC("2", "\"b\"") "\n\n" REC("5", "\"e\""), 0,
      "L2 other pid=2 msg=\"b\"\n"
      "L5 other pid=5 msg=\"e\"\n",
      6 },
    { "crlf_line_ends_are_read",
      "{\"timestamp\":\"" T "\",\"pid\":1,\"error_severity\":\"LOG\",\"message\":\"a\"}\r\n", 0,
      "L1 other pid=1 msg=\"a\"\n", 2 },
    { "whitespace_only_line_is_unparsed", " \n", 0, "L1 unparsed at=\" \"\n", 2 },
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
    const char *in =
        "{\"timestamp\":\"2026-11-22 02:32:47.816 UTC\",\"user\":\"bench\",\"dbname\":\"benchdb\","
        "\"pid\":2450,\"remote_host\":\"[local]\",\"session_id\":\"6b02544f.992\",\"line_num\":7,"
        "\"ps\":\"UPDATE\",\"session_start\":\"2026-11-22 02:32:47 UTC\",\"vxid\":\"3/4293\","
        "\"txid\":5159,\"error_severity\":\"ERROR\",\"state_code\":\"40P01\",\"message\":"
        "\"deadlock detected\",\"detail\":\"Process 2450 waits\\nProcess 2451 waits\",\"hint\":"
        "\"See server log for query details.\",\"context\":\"while updating tuple (0,4) in "
        "relation \\\"dl\\\"\",\"statement\":\"UPDATE dl SET v = v + 1 WHERE id = 1;\","
        "\"application_name\":\"dl_b\",\"backend_type\":\"client backend\",\"query_id\":0}\n";
    check_record_fills_every_field(in);
}

static const struct severity_case severity_cases[] = {
    { "DEBUG2", SEV_DEBUG },    { "LOG", SEV_LOG },     { "NOTICE", SEV_NOTICE },
    { "WARNING", SEV_WARNING }, { "FATAL", SEV_FATAL }, { "PANIC", SEV_PANIC },
    { "FEHLER", SEV_NONE },     { "", SEV_NONE },
};

/*
 * The reader's own scanner and jansson read every line alike: each line
 * below through both (no_scanner), the events rendered and compared. The
 * lines are the scanner's edges: escapes, numbers, literals, keys given
 * twice, nesting, bad bytes, bad JSON.
 */
static void scanner_agrees_with_jansson(void **state)
{
    (void)state;
    static const char *const lines[] = {
        REC("1", "\"plain\""),
        REC("1", "\"a\\nb \\\"q\\\" \\u00e9\\u20ac\\t\\\\ \\/\\b\\f\\r\""),
        REC("1", "\"\\ud83d\\ude00 pair, \\ud83d lone\""),
        REC("1", "\"nul \\u0000 escaped\""),
        REC("-1", "\"negative pid\""),
        REC("-0", "\"minus zero\""),
        REC("01", "\"leading zero\""),
        REC("1.0", "\"real pid\""),
        REC("1e3", "\"exponent pid\""),
        REC("99999999999", "\"pid too big\""),
        REC("123456789012345678901234", "\"integer too big for jansson\""),
        REC("\"7\"", "\"pid as a string\""),
        REC("null", "\"null pid\""),
        REC("1", "null"),
        REC("1", "true"),
        REC("1", "\"\""),
        JSON15("\"" T "\"", "1", "\"LOG\"", "\"first\"", ",\"message\":\"second\""),
        JSON15("\"" T "\"", "1", "\"LOG\"", "\"m\"", ",\"extra\":{\"a\":[1,2,{\"b\":null}]}"),
        JSON15("\"" T "\"", "1", "\"LOG\"", "\"m\"", ",\"extra\":\"x\",\"extra\":3"),
        JSON15("\"" T "\"", "1", "\"LOG\"", "\"m\"", ",\"f\":-1.5e-3,\"g\":false"),
        JSON15("\"bad time\"", "1", "\"LOG\"", "\"m\"", ""),
        JSON15("\"" T "\"", "1", "\"LOG\"", "\"raw \x01 control\"", ""),
        JSON15("\"" T "\"", "1", "\"LOG\"", "\"bad \xff\xfe utf-8\"", ""),
        JSON15("\"" T "\"", "1", "\"LOG\"", "\"surrogate \xed\xa0\x80 in utf-8\"", ""),
        JSON15("\"" T "\"", "1", "\"LOG\"", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", ""),
        "  {\"timestamp\" : \"" T "\" , \"pid\" : 3 , \"error_severity\" : \"LOG\" , "
        "\"message\" : \"spaced\" }  \n",
        "{\"time\\u0073tamp\":\"" T "\",\"pid\":3,\"error_severity\":\"LOG\",\"message\":\"k\"}\n",
        "{\"timestamp\":\"" T "\",\"pid\":3,\"error_severity\":\"LOG\",\"message\":\"x\"} junk\n",
        "{\"timestamp\":\"" T "\",\"pid\":3,\"error_severity\":\"LOG\",\"message\":\"x\",}\n",
        "{\"timestamp\":\"" T "\",\"pid\":3,\"error_severity\":\"LOG\",\"message\":\"x\"\n",
        "{\"timestamp\":\"" T
        "\",\"pid\":3,\"error_severity\":\"LOG\",\"message\":\"unterminated}\n",
        "{\"timestamp\":\"" T "\",\"pid\":3,\"error_severity\":\"LOG\",\"message\":\"\\x\"}\n",
        "{\"timestamp\":\"" T "\",\"pid\":3,\"error_severity\":\"LOG\",\"message\":\"\\u12\"}\n",
        "{}\n",
        "[1,2]\n",
        "\"string\"\n",
        "{\"a\":nul}\n",
        "{\"pid\":3,\"pid\":4,\"timestamp\":\"" T "\",\"error_severity\":\"LOG\"}\n",
    };
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        struct buf out[2] = { BUF_INIT, BUF_INIT };
        for (int jansson = 0; jansson < 2; jansson++) {
            struct pgjson_reader r;
            pgjson_init(&r, 0);
            r.no_scanner = jansson;
            size_t len = strlen(lines[i]);
            assert_int_equal(pgjson_feed(&r, lines[i], len, true, feed_render, &out[jansson]), len);
            pgjson_release(&r);
        }
        if (strcmp(out[0].ptr, out[1].ptr) != 0)
            fail_msg("line %zu: scanner\n%s\njansson\n%s", i, out[0].ptr, out[1].ptr);
        buf_release(&out[0]);
        buf_release(&out[1]);
    }
}

static void severity_words_map_to_enum(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(severity_cases); i++)
        check_severity_in_record("{\"timestamp\":\"" T "\",\"pid\":1,\"error_severity\":\"",
                                 &severity_cases[i], "\"}\n");
}

static void timestamps_keep_zone_offset(void **state)
{
    (void)state;
    const char *in =
        "{\"timestamp\":\"2026-11-22 03:32:56.912 CET\",\"pid\":1,\"error_severity\":\"LOG\"}\n"
        "{\"timestamp\":\"2026-11-22 03:32:56.100 CET\",\"pid\":2,\"error_severity\":\"LOG\"}\n"
        "{\"timestamp\":\"2026-11-22 02:32:56 UTC\",\"pid\":3,\"error_severity\":\"LOG\"}\n";
    struct sink s;
    sink_init(&s, true);
    read_whole(in, strlen(in), &s);
    assert_non_null(strstr(s.text.ptr, "pid=1 ts=1795314776912000 tz=3600 "));
    assert_non_null(strstr(s.text.ptr, "pid=2 ts=1795314776100000 tz=3600 "));
    assert_non_null(strstr(s.text.ptr, "pid=3 ts=1795314776000000 tz=0 "));
    sink_release(&s);
}

/* ---- the feed protocol ---------------------------------------------------- */

static void partial_line_without_eof_needs_more(void **state)
{
    (void)state;
    const char *in = REC("1", "\"a\"") REC("2", "\"c\"");
    size_t first = strlen(REC("1", "\"a\""));
    struct pgjson_reader r;
    pgjson_init(&r, 0);
    struct sink s;
    sink_init(&s, false);
    assert_int_equal(pgjson_feed(&r, in, 40, false, on_event, &s), 0);
    assert_int_equal(s.events, 0);
    assert_int_equal(pgjson_feed(&r, in, first + 10, false, on_event, &s), first);
    assert_int_equal(r.line, 2);
    assert_int_equal(pgjson_feed(&r, in + first, strlen(in) - first, false, on_event, &s),
                     strlen(in) - first);
    assert_string_equal(s.text.ptr, "L1 other pid=1 msg=\"a\"\n"
                                    "L2 other pid=2 msg=\"c\"\n");
    assert_int_equal(r.line, 3);
    pgjson_release(&r);
    sink_release(&s);
}

static void caller_sets_line_numbers(void **state)
{
    (void)state;
    check_caller_sets_line_numbers(REC("1", "\"a\""), REC("3", "\"c\""));
}

static void setting_line_drops_a_saved_search(void **state)
{
    (void)state;
    const char *a = REC("1", "\"aaaaaaaaaaaaaaaaaaaaaaaa\"");
    const char *b = "{\"timestamp\":\"" T "\",\"pid\":2,\"error_severity\":\"LOG\"}\n";
    struct pgjson_reader r;
    pgjson_init(&r, 0);
    struct sink s;
    sink_init(&s, false);
    /* a's first bytes are searched and found to hold no newline... */
    assert_int_equal(pgjson_feed(&r, a, strlen(b) + 5, false, on_event, &s), 0);
    /* ...then the caller starts over elsewhere, where a newline is within those bytes. */
    r.line = 50;
    assert_int_equal(pgjson_feed(&r, b, strlen(b), false, on_event, &s), strlen(b));
    assert_string_equal(s.text.ptr, "L50 other pid=2\n");
    pgjson_release(&r);
    sink_release(&s);
}

static const struct sync_case sync_cases[] = {
    { "empty", "", "" },
    { "record_at_start", "", REC("1", "\"a\"") },
    { "record_after_garbage", "garbage\n", REC("1", "\"a\"") },
    { "cut_inside_a_line", "ssage\":\"x{\",\"pid\":1}\n", REC("1", "\"a\"") },
    { "cut_at_a_brace_in_a_string", "{1,2}\",\"pid\":1}\n", REC("1", "\"a\"") },
    { "cut_at_a_string_ending_in_a_brace", "{\",\"pid\":1}\n", REC("1", "\"a\"") },
    { "no_record", "junk\n[1]\n{}\n", "" },
};

static void sync_finds_the_next_record_start(void **state)
{
    (void)state;
    check_sync_cases(sync_cases, ARRAY_SIZE(sync_cases));
}

/* ---- pathological inputs ---------------------------------------------------- */

static void unterminated_line_of_50mb_is_read_once(void **state)
{
    (void)state;
    struct buf in = BUF_INIT;
    buf_addstr(&in, REC("1", "\"a\""));
    buf_addstr(&in, "{\"timestamp\":\"" T "\",\"message\":\"");
    add_run(&in, 'x', 50u << 20);
    struct sink s;
    sink_init(&s, false);
    double t0 = now_s();
    uint64_t end = read_steps(in.ptr, in.len, 4096, &s);
    double took = now_s() - t0;
    assert_string_equal(s.text.ptr, "L1 other pid=1 msg=\"a\"\n"
                                    "L2 unparsed at=\"{\\\"timestamp\\\"\"\n");
    assert_int_equal(end, 2);
    /* Searching the line again on every 4 KB feed would be quadratic: minutes. */
    if (took > 10.0)
        fail_msg("50 MB line took %.1f s", took);
    buf_release(&in);
    sink_release(&s);
}

static void string_of_10mb_is_read(void **state)
{
    (void)state;
    check_field_of_10mb("{\"timestamp\":\"" T
                        "\",\"pid\":1,\"error_severity\":\"LOG\",\"message\":\"",
                        "\\\"end\"}\n" REC("2", "\"b\""));
}

static void garbage_line_of_10mb_is_one_event(void **state)
{
    (void)state;
    check_garbage_line_of_10mb(REC("1", "\"a\""), REC("3", "\"c\""));
}

static void deep_nesting_is_unparsed(void **state)
{
    (void)state;
    struct buf in = BUF_INIT;
    buf_addstr(&in, "{\"timestamp\":\"" T "\",\"error_severity\":\"LOG\",\"x\":");
    add_run(&in, '[', 100000);
    add_run(&in, ']', 100000);
    buf_addstr(&in, "}\n" REC("2", "\"b\""));
    struct sink s;
    sink_init(&s, false);
    read_whole(in.ptr, in.len, &s);
    assert_string_equal(s.text.ptr, "L1 unparsed at=\"{\\\"timestamp\\\"\"\n"
                                    "L2 other pid=2 msg=\"b\"\n");
    buf_release(&in);
    sink_release(&s);
}

/* ---- the real log ------------------------------------------------------------- */

/*
 * Reference numbers for pgbench.json.gz, from Python's json module (one
 * json.loads per line) and `wc -l`, not from this reader.
 */
#define REAL_RECORDS   167344 /* lines, all objects */
#define REAL_DURATIONS 160734 /* records whose message starts with "duration:" */
#define REAL_ERRORS    112    /* error_severity ERROR; the rest is LOG */
#define REAL_BYTES     79385678

/* Line numbers from enumerate() over the file's lines; fields checked against the file by eye. */
static const struct real_record real_records[] = {
    { "first_record", 1,
      "L1 other LOG pid=1668 ts=1795314757361000 tz=0 dur=-1 val=0 ph=0 fl=0 in=3 "
      "msg=\"starting PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, "
      "compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit\"\n" },
    { "deadlock", 35767,
      "L35767 error ERROR pid=2450 ts=1795314767816000 tz=0 dur=-1 val=0 ph=0 fl=1 in=3 "
      "user=\"bench\" db=\"benchdb\" app=\"dl_b\" client=\"[local]\" state=\"40P01\" "
      "msg=\"deadlock detected\" stmt=\"UPDATE dl SET v = v + 1 WHERE id = 1;\" "
      "detail=\"Process 2450 waits for ShareLock on transaction 5160; blocked by process "
      "2451.\\nProcess 2451 waits for ShareLock on transaction 5159; blocked by process "
      "2450.\\nProcess 2450: UPDATE dl SET v = v + 1 WHERE id = 1;\\nProcess 2451: UPDATE dl "
      "SET v = v + 1 WHERE id = 2;\" hint=\"See server log for query details.\" "
      "ctx=\"while updating tuple (0,4) in relation \\\"dl\\\"\"\n" },
    { "multi_line_statement", 92,
      "L92 temp_file LOG pid=1688 ts=1795314758706000 tz=0 dur=-1 val=7000000 ph=0 fl=0 in=3 "
      "user=\"bench\" db=\"benchdb\" app=\"psql\" client=\"[local]\" "
      "msg=\"temporary file: path \\\"base/pgsql_tmp/pgsql_tmp1688.0\\\", size 7000000\" "
      "stmt=\"CREATE TABLE perf_noindex AS\\n  SELECT g AS id, (random()*100000)::int AS val, "
      "md5(g::text) AS pad\\n  FROM generate_series(1, 500000) g;\"\n" },
    { "detail_parameters", 63039,
      "L63039 query LOG pid=3240 ts=1795314776913000 tz=0 dur=608 val=0 ph=3 fl=0 in=3 "
      "user=\"bench\" db=\"benchdb\" app=\"pgbench\" client=\"127.0.0.1\" "
      "msg=\"duration: 0.608 ms  bind <unnamed>: UPDATE pgbench_accounts SET abalance = "
      "abalance + $1 WHERE aid = $2;\" stmt=\"UPDATE pgbench_accounts SET abalance = abalance "
      "+ $1 WHERE aid = $2;\" name=\"<unnamed>\" params=\"$1 = '649', $2 = '20887'\"\n" },
};

static const struct real_spec real_spec = {
    .file = "pgbench.json.gz",
    .bytes = REAL_BYTES,
    .events = REAL_RECORDS,
    .durations = REAL_DURATIONS,
    .errors = REAL_ERRORS,
    .lines = REAL_RECORDS,
    .records = real_records,
    .nrecords = ARRAY_SIZE(real_records),
    /* One odd size: jansson makes each full pass slow under ASan. */
    .chunks = { 4093 },
    .no_00000 = true,
};

static struct buf real_csv = BUF_INIT; /* the csvlog of the same run */

static int load_real(void **state)
{
    (void)state;
    if (real_log_load(&real_spec) || load_gz("pgbench.csv.gz", &real_csv))
        return -1;
    return 0;
}

static int free_real(void **state)
{
    (void)state;
    real_log_release();
    buf_release(&real_csv);
    return 0;
}

static void real_log_counts_match_python_json(void **state)
{
    (void)state;
    check_real_counts();
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/*
 * The csvlog and jsonlog of one run hold the same events, but not in the
 * same order: the logger writes each destination as messages reach it, and
 * 10 507 of 167 344 positions differ. Compared as multisets of events
 * without line numbers, and without csvlog's sqlstate "00000" for LOG
 * records (jsonlog leaves state_code out for them).
 */
static void real_log_matches_the_csvlog_of_the_same_run(void **state)
{
    (void)state;
    struct sink cs;
    sink_init(&cs, true);
    cs.keep_text = false;
    cs.keep_hashes = true;
    cs.no_00000 = true;
    struct pgcsv_reader cr;
    pgcsv_init(&cr, 3);
    pgcsv_feed(&cr, real_csv.ptr, real_csv.len, true, on_event, &cs);
    pgcsv_release(&cr);
    assert_int_equal(cs.events, REAL_RECORDS);
    uint64_t *js = malloc(REAL_RECORDS * sizeof(uint64_t));
    assert_non_null(js);
    memcpy(js, real.whole.hashes, REAL_RECORDS * sizeof(uint64_t));
    qsort(js, REAL_RECORDS, sizeof(uint64_t), cmp_u64);
    qsort(cs.hashes, REAL_RECORDS, sizeof(uint64_t), cmp_u64);
    assert_memory_equal(js, cs.hashes, REAL_RECORDS * sizeof(uint64_t));
    free(js);
    sink_release(&cs);
}

/* Found by fuzzing: an empty "timestamp" left the event's time uninitialised. */
static void empty_timestamp_is_not_a_record(void **state)
{
    (void)state;
    static const char line[] =
        "{\"timestamp\":\"\",\"pid\":7,\"error_severity\":\"LOG\",\"message\":\"x\"}\n";
    struct pgjson_reader r;
    pgjson_init(&r, 0);
    struct buf out = BUF_INIT;
    assert_int_equal(pgjson_feed(&r, line, strlen(line), true, feed_render, &out), strlen(line));
    assert_non_null(strstr(out.ptr, "L1 unparsed"));
    buf_release(&out);
    pgjson_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feed_cases_give_expected_events),
        cmocka_unit_test(scanner_agrees_with_jansson),
        cmocka_unit_test(empty_timestamp_is_not_a_record),
        cmocka_unit_test(record_fills_every_field),
        cmocka_unit_test(severity_words_map_to_enum),
        cmocka_unit_test(timestamps_keep_zone_offset),
        cmocka_unit_test(partial_line_without_eof_needs_more),
        cmocka_unit_test(caller_sets_line_numbers),
        cmocka_unit_test(setting_line_drops_a_saved_search),
        cmocka_unit_test(sync_finds_the_next_record_start),
        cmocka_unit_test(unterminated_line_of_50mb_is_read_once),
        cmocka_unit_test(string_of_10mb_is_read),
        cmocka_unit_test(garbage_line_of_10mb_is_one_event),
        cmocka_unit_test(deep_nesting_is_unparsed),
        cmocka_unit_test(real_log_counts_match_python_json),
        cmocka_unit_test(real_log_records_have_exact_fields),
        cmocka_unit_test(real_log_chunked_feeds_match_whole),
        cmocka_unit_test(real_log_sync_splits_at_record_starts),
        cmocka_unit_test(real_log_matches_the_csvlog_of_the_same_run),
    };
    return cmocka_run_group_tests(tests, load_real, free_real);
}
