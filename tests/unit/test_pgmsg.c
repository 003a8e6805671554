/* Unit tests for input/pgmsg.c: message classification. */
#include "input/pgmsg.h"

#include "test_util.h"

struct msg_case {
    enum severity sev;
    const char *message;
    const char *sqlstate; /* given by the log, or NULL */
    enum event_kind kind;
    enum stmt_phase phase;
    int64_t duration_us;
    int64_t value;
    const char *statement; /* expected statement slice, or NULL for empty */
    const char *extra;     /* stmt_name, object, or the inferred sqlstate */
    unsigned flags;
};

static const struct msg_case cases[] = {
    { SEV_LOG, "duration: 0.017 ms  statement: BEGIN;", NULL, EV_QUERY, PH_SIMPLE, 17, 0, "BEGIN;",
      "", 0 },
    { SEV_LOG, "duration: 104.847 ms  statement: CREATE DATABASE benchdb OWNER bench;", NULL,
      EV_QUERY, PH_SIMPLE, 104847, 0, "CREATE DATABASE benchdb OWNER bench;", "", 0 },
    { SEV_LOG, "duration: 0.045 ms  execute P_7: SELECT abalance FROM t WHERE aid = $1;", NULL,
      EV_QUERY, PH_EXECUTE, 45, 0, "SELECT abalance FROM t WHERE aid = $1;", "P_7", 0 },
    { SEV_LOG, "duration: 0.511 ms  parse <unnamed>: UPDATE t SET a = $1", NULL, EV_QUERY, PH_PARSE,
      511, 0, "UPDATE t SET a = $1", "<unnamed>", 0 },
    { SEV_LOG, "duration: 0.008 ms  bind S_1/C_2: SELECT 1", NULL, EV_QUERY, PH_BIND, 8, 0,
      "SELECT 1", "S_1/C_2", 0 },
    { SEV_LOG, "duration: 12 ms", NULL, EV_QUERY, PH_NONE, 12000, 0, NULL, "", 0 },
    { SEV_LOG, "duration: 1.2345 ms", NULL, EV_QUERY, PH_NONE, 1235, 0, NULL, "", 0 },
    { SEV_LOG, "statement: SELECT 1", NULL, EV_QUERY, PH_SIMPLE, -1, 0, "SELECT 1", "", 0 },
    { SEV_LOG, "execute <unnamed>: SELECT $1", NULL, EV_QUERY, PH_EXECUTE, -1, 0, "SELECT $1",
      "<unnamed>", 0 },
    { SEV_LOG,
      "duration: 61.500 ms  plan:\n\tQuery Text: SELECT * FROM t\n\t  WHERE v = 1\n\tSeq Scan on t  "
      "(cost=0.00..10.00 rows=1 width=4)\n\t  Filter: (v = 1)",
      NULL, EV_PLAN, PH_NONE, 61500, 0, "SELECT * FROM t\n\t  WHERE v = 1", "", 0 },
    { SEV_LOG,
      "duration: 3.000 ms  plan:\n{\n  \"Query Text\": \"SELECT \\\"x\\\" FROM t\",\n  \"Plan\": {}}",
      NULL, EV_PLAN, PH_NONE, 3000, 0, "SELECT \\\"x\\\" FROM t", "", EVF_PLAN_JSON },
    { SEV_LOG, "process 2440 still waiting for ShareLock on transaction 5157 after 100.227 ms",
      NULL, EV_LOCK_WAIT, PH_NONE, 100227, 0, NULL, "ShareLock on transaction 5157", 0 },
    { SEV_LOG, "process 2440 acquired ShareLock on transaction 5157 after 312.000 ms", NULL,
      EV_LOCK_ACQUIRED, PH_NONE, 312000, 0, NULL, "ShareLock on transaction 5157", 0 },
    { SEV_LOG, "process 2450 detected deadlock while waiting for ShareLock on transaction 5160",
      NULL, EV_OTHER, PH_NONE, -1, 0, NULL, "", 0 },
    { SEV_ERROR, "deadlock detected", NULL, EV_ERROR, PH_NONE, -1, 0, NULL, "40P01", EVF_DEADLOCK },
    { SEV_FATAL, "sorry, too many clients already", NULL, EV_ERROR, PH_NONE, -1, 0, NULL, "53300",
      EVF_TOO_MANY_CLIENTS },
    { SEV_FATAL, "remaining connection slots are reserved for roles with the SUPERUSER attribute",
      NULL, EV_ERROR, PH_NONE, -1, 0, NULL, "53300", EVF_TOO_MANY_CLIENTS },
    { SEV_ERROR, "canceling statement due to statement timeout", NULL, EV_ERROR, PH_NONE, -1, 0,
      NULL, "57014", EVF_CANCELED },
    { SEV_ERROR, "relation \"no_such_table\" does not exist", NULL, EV_ERROR, PH_NONE, -1, 0, NULL,
      "42P01", 0 },
    { SEV_ERROR, "division by zero", "22012", EV_ERROR, PH_NONE, -1, 0, NULL, "22012", 0 },
    { SEV_ERROR, "something new", NULL, EV_ERROR, PH_NONE, -1, 0, NULL, "", 0 },
    { SEV_LOG, "connection received: host=127.0.0.1 port=40750", NULL, EV_CONN_RECEIVED, PH_NONE,
      -1, 0, NULL, "", 0 },
    { SEV_LOG, "connection authorized: user=bench database=benchdb application_name=x", NULL,
      EV_CONNECT, PH_NONE, -1, 0, NULL, "", 0 },
    { SEV_LOG, "disconnection: session time: 1:02:03.456 user=a database=b host=[local]", NULL,
      EV_DISCONNECT, PH_NONE, -1, 3723456000LL, NULL, "", 0 },
    /* Damaged session times that used to overflow int64 (fuzz_stderr): unknown, or cut short. */
    { SEV_LOG, "disconnection: session time: 7751640039368423472:00:00.000 user=a", NULL,
      EV_DISCONNECT, PH_NONE, -1, 0, NULL, "", 0 },
    { SEV_LOG, "disconnection: session time: 0:00:99999999999999.5 user=a", NULL, EV_DISCONNECT,
      PH_NONE, -1, 999999999999000000LL, NULL, "", 0 },
    { SEV_LOG,
      "checkpoint complete: wrote 14178 buffers (43.3%); 0 WAL file(s) added, 0 removed, 7 "
      "recycled; write=0.075 s, sync=0.001 s, total=0.077 s; sync files=0",
      NULL, EV_CHECKPOINT, PH_NONE, 77000, 14178, NULL, "", 0 },
    { SEV_LOG, "temporary file: path \"base/pgsql_tmp/pgsql_tmp2592.0\", size 1196032", NULL,
      EV_TEMP_FILE, PH_NONE, -1, 1196032, NULL, "", 0 },
    { SEV_LOG,
      "automatic vacuum of table \"benchdb.public.pgbench_accounts\": index scans: 1\n\tsystem "
      "usage: CPU: user: 0.03 s, system: 0.00 s, elapsed: 0.06 s",
      NULL, EV_AUTOVACUUM, PH_NONE, 60000, 0, NULL, "benchdb.public.pgbench_accounts", 0 },
    { SEV_LOG, "automatic analyze of table \"benchdb.public.t\"", NULL, EV_AUTOANALYZE, PH_NONE, -1,
      0, NULL, "benchdb.public.t", 0 },
    { SEV_LOG, "database system is ready to accept connections", NULL, EV_OTHER, PH_NONE, -1, 0,
      NULL, "", 0 },
    { SEV_LOG, "duration: abc ms  statement: x", NULL, EV_OTHER, PH_NONE, -1, 0, NULL, "", 0 },
    { SEV_WARNING, "duration: 1 ms  statement: x", NULL, EV_OTHER, PH_NONE, -1, 0, NULL, "", 0 },
    /* log_error_verbosity = verbose: the SQLSTATE before the text, taken off it. */
    { SEV_LOG, "00000: duration: 2.000 ms  statement: SELECT 1", NULL, EV_QUERY, PH_SIMPLE, 2000, 0,
      "SELECT 1", "", 0 },
    { SEV_ERROR, "42P01: relation \"t\" does not exist", NULL, EV_ERROR, PH_NONE, -1, 0, NULL,
      "42P01", 0 },
    { SEV_ERROR, "40P01: deadlock detected", "40P01", EV_ERROR, PH_NONE, -1, 0, NULL, "40P01",
      EVF_DEADLOCK },
    { SEV_LOG, "ABCDE: not a SQLSTATE class", NULL, EV_OTHER, PH_NONE, -1, 0, NULL, "", 0 },
};

static void classifies_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct msg_case *c = &cases[i];
        struct event ev;
        event_clear(&ev);
        ev.kind = EV_OTHER;
        ev.severity = c->sev;
        ev.message = str_cstr(c->message);
        if (c->sqlstate)
            ev.sqlstate = str_cstr(c->sqlstate);
        pgmsg_classify(&ev);
        if (ev.kind != c->kind || ev.phase != c->phase || ev.duration_us != c->duration_us ||
            ev.value != c->value || ev.flags != c->flags)
            fail_msg("case %zu '%s': kind %d phase %d dur %lld value %lld flags %u", i, c->message,
                     ev.kind, ev.phase, (long long)ev.duration_us, (long long)ev.value, ev.flags);
        if (!str_eq_cstr(ev.statement, c->statement ? c->statement : ""))
            fail_msg("case %zu: statement '%.*s'", i, (int)ev.statement.len, ev.statement.ptr);
        struct str extra = ev.kind == EV_QUERY   ? ev.stmt_name
                           : ev.kind == EV_ERROR ? ev.sqlstate
                                                 : ev.object;
        if (!str_eq_cstr(extra, c->extra))
            fail_msg("case %zu: extra '%.*s', want '%s'", i, (int)extra.len, extra.ptr, c->extra);
    }
}

static void parameters_detail_moves_to_params(void **state)
{
    (void)state;
    struct event ev;
    event_clear(&ev);
    ev.severity = SEV_LOG;
    ev.message = STR_LIT("duration: 1.000 ms  execute <unnamed>: SELECT $1");
    ev.detail = STR_LIT("parameters: $1 = '42'");
    pgmsg_classify(&ev);
    assert_true(str_eq_cstr(ev.params, "$1 = '42'"));
    assert_int_equal(ev.detail.len, 0);
}

static void severity_words(void **state)
{
    (void)state;
    const struct {
        const char *in;
        size_t len;
        enum severity sev;
        char aux;
    } words[] = {
        { "LOG:  x", 4, SEV_LOG, 0 },        { "ERROR:  x", 6, SEV_ERROR, 0 },
        { "DETAIL:  x", 7, SEV_NONE, 'D' },  { "STATEMENT:  x", 10, SEV_NONE, 'S' },
        { "DEBUG3:  x", 7, SEV_DEBUG, 0 },   { "PANIC:  x", 6, SEV_PANIC, 0 },
        { "LOGX", 0, SEV_NONE, 0 },          { "log:  x", 0, SEV_NONE, 0 },
        { "CONTEXT:  x", 8, SEV_NONE, 'C' }, { "HINT:  x", 5, SEV_NONE, 'H' },
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        enum severity sev = SEV_NONE;
        char aux = 0;
        size_t n = pgmsg_severity(str_cstr(words[i].in), &sev, &aux);
        assert_int_equal(n, words[i].len);
        if (n) {
            assert_int_equal(sev, words[i].sev);
            assert_int_equal(aux, words[i].aux);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classifies_table),
        cmocka_unit_test(parameters_detail_moves_to_params),
        cmocka_unit_test(severity_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
