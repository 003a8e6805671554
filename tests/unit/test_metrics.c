/*
 * The Prometheus exposition of the watcher: exact lines for hand-built
 * samples, running totals across samples, label escaping, the top-N cap
 * with fingerprint="other", alerts and incidents, and the HELP/TYPE
 * discipline of the format.
 */
#include "test_util.h"

#include "core/incident.h"
#include "sink/metrics.h"

#include "util/xalloc.h"

#define T0 1795000000000000LL /* 2026-11-18T11:06:40Z, µs */

/* A sample of one second ending at T0 + i s, with server gauges set. */
static void sample_at(struct sample *s, int i)
{
    sample_init(s);
    s->start_us = T0 + (int64_t)(i - 1) * 1000000;
    s->end_us = T0 + (int64_t)i * 1000000;
    s->server_version_num = 150004;
    s->max_connections = 100;
    s->reserved_connections = 3;
    s->connections = 12;
    s->active = 4;
    s->idle = 6;
    s->idle_in_transaction = 2;
    s->waiting = 1;
    s->distinct_clients = 3;
}

static void add_query(struct sample *s, uint64_t fp, const char *db, const char *user,
                      int64_t calls, double total_ms, int64_t rows)
{
    s->queries = xrealloc(s->queries, (size_t)(s->nqueries + 1) * sizeof(*s->queries));
    struct sample_query *q = &s->queries[s->nqueries++];
    memset(q, 0, sizeof(*q));
    q->fingerprint = fp;
    q->db = db;
    q->user = user;
    q->query = "SELECT $1";
    q->calls = calls;
    q->total_ms = total_ms;
    q->rows = rows;
}

/* Queries are malloc'd here (not in the arena) to keep the tests short. */
static void sample_done(struct sample *s)
{
    free(s->queries);
    free(s->tables);
    sample_release(s);
}

static char *render_all(const struct metrics_state *st, const struct sample *latest,
                        const struct alert *alerts, size_t n, const struct incident *incs,
                        size_t nincs)
{
    struct buf b = BUF_INIT;
    metrics_render(st, latest, alerts, n, incs, nincs, &b);
    return buf_detach(&b, NULL);
}

static char *render(const struct metrics_state *st, const struct sample *latest,
                    const struct alert *alerts, size_t n)
{
    return render_all(st, latest, alerts, n, NULL, 0);
}

/* Whether text has line as a whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void assert_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fail_msg("missing line: %s\n--- exposition ---\n%s", line, text);
}

static void assert_no_line(const char *text, const char *line)
{
    if (has_line(text, line))
        fail_msg("unexpected line: %s", line);
}

static int count_prefix(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, len) == 0;
    return n;
}

static void server_gauges_from_the_latest_sample(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct sample s;
    sample_at(&s, 1);
    metrics_state_add(st, &s);
    char *m = render(st, &s, NULL, 0);
    const char *want[] = {
        ("# HELP sleuth_up 1 if the last poll gave an interval (0: a gap, the server unreachable "
         "or rows hidden from the role)."),
        "# TYPE sleuth_up gauge",
        "sleuth_up 1",
        "# TYPE sleuth_last_poll_timestamp_seconds gauge",
        "sleuth_last_poll_timestamp_seconds 1795000001",
        "# TYPE sleuth_polls_total counter",
        "sleuth_polls_total 1",
        "sleuth_poll_failures_total 0",
        "sleuth_server_version_num 150004",
        "sleuth_max_connections 100",
        "sleuth_connections_usable 97",
        "sleuth_connections 12",
        "# TYPE sleuth_sessions gauge",
        "sleuth_sessions{state=\"active\"} 4",
        "sleuth_sessions{state=\"idle\"} 6",
        "sleuth_sessions{state=\"idle in transaction\"} 2",
        "sleuth_sessions_waiting 1",
        "sleuth_clients_distinct 3",
        "sleuth_problems 0",
    };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_line(m, want[i]);
    free(m);
    sample_done(&s);
    metrics_state_free(st);
}

static void counters_are_running_totals_and_skip_the_baseline(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct sample s;
    for (int i = 1; i <= 3; i++) {
        sample_at(&s, i);
        s.baseline_only = i == 1;
        s.db.xact_commit = 100 * i; /* the baseline's 100 is not a delta */
        s.db.xact_rollback = 1;
        s.db.deadlocks = i == 3;
        add_query(&s, 0xabcdefULL, "app", "web", 10, 250.0, 20);
        metrics_state_add(st, &s);
        if (i < 3)
            sample_done(&s);
    }
    char *m = render(st, &s, NULL, 0);
    assert_line(m, "# TYPE sleuth_xact_commit_total counter");
    assert_line(m, "sleuth_xact_commit_total 500");
    assert_line(m, "sleuth_xact_rollback_total 2");
    assert_line(m, "sleuth_deadlocks_total 1");
    assert_line(m, "sleuth_polls_total 3");
    assert_line(m, "# TYPE sleuth_query_calls_total counter");
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"0000000000abcdef\",db=\"app\","
                   "user=\"web\"} 20");
    assert_line(m, "sleuth_query_exec_seconds_total{fingerprint=\"0000000000abcdef\",db=\"app\","
                   "user=\"web\"} 0.5");
    assert_line(m, "sleuth_query_rows_total{fingerprint=\"0000000000abcdef\",db=\"app\","
                   "user=\"web\"} 40");
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"other\",db=\"\",user=\"\"} 0");
    /* No log followed: no log counters at all rather than zeros that mean nothing. */
    assert_null(strstr(m, "sleuth_log_errors_total"));
    free(m);
    sample_done(&s);
    metrics_state_free(st);
}

static void a_gap_is_down_and_keeps_the_last_poll_time(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct sample s, gap;
    sample_at(&s, 1);
    metrics_state_add(st, &s);
    sample_at(&gap, 2);
    gap.gap = true;
    metrics_state_add(st, &gap);
    char *m = render(st, &gap, NULL, 0);
    assert_line(m, "sleuth_up 0");
    assert_line(m, "sleuth_last_poll_timestamp_seconds 1795000001");
    assert_line(m, "sleuth_polls_total 2");
    assert_line(m, "sleuth_poll_failures_total 1");
    /* Gauges of a server we cannot see would be stale: none are written. */
    assert_null(strstr(m, "sleuth_connections "));
    free(m);
    char *none = render(st, NULL, NULL, 0);
    assert_line(none, "sleuth_up 0");
    free(none);
    sample_done(&s);
    sample_done(&gap);
    metrics_state_free(st);
}

static void webhook_counters_only_with_a_webhook(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct sample s;
    sample_at(&s, 1);
    metrics_state_add(st, &s);
    char *m = render(st, &s, NULL, 0);
    assert_null(strstr(m, "sleuth_webhook"));
    free(m);
    metrics_state_set_webhook(st, 1, 2, 29, 3);
    m = render(st, &s, NULL, 0);
    assert_line(m, "# TYPE sleuth_webhook_dropped_total counter");
    assert_line(m, "sleuth_webhook_sent_total 1");
    assert_line(m, "sleuth_webhook_failed_total 2");
    assert_line(m, "sleuth_webhook_dropped_total 29");
    assert_line(m, "sleuth_webhook_queued 3");
    free(m);
    sample_done(&s);
    metrics_state_free(st);
}

static void sources_are_down_when_unreachable_or_hidden(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct sample ok, hidden, down;
    sample_at(&ok, 1);
    metrics_state_add(st, &ok);
    char *m = render(st, &ok, NULL, 0);
    assert_line(m, "# TYPE sleuth_source_up gauge");
    assert_line(m, "sleuth_source_up{source=\"pg_stat_activity\"} 1");
    assert_line(m, "sleuth_source_up{source=\"pg_stat_statements\"} 1");
    assert_line(m, "sleuth_privileges_ok 1");
    /* Not followed: no log source at all. */
    assert_null(strstr(m, "source=\"log\""));
    free(m);

    /* What the poller makes of a role that lost pg_monitor. */
    sample_at(&hidden, 2);
    hidden.gap = true;
    sample_add_problem(&hidden, "pg_stat_activity", "5 of 6 sessions are hidden from this role",
                       "");
    sample_add_problem(&hidden, "privileges", "this role cannot see", "GRANT pg_monitor");
    metrics_state_add(st, &hidden);
    m = render(st, &hidden, NULL, 0);
    assert_line(m, "sleuth_up 0");
    assert_line(m, "sleuth_poll_failures_total 1");
    assert_line(m, "sleuth_source_up{source=\"connection\"} 1");
    assert_line(m, "sleuth_source_up{source=\"pg_stat_activity\"} 0");
    assert_line(m, "sleuth_source_up{source=\"pg_stat_database\"} 1");
    assert_line(m, "sleuth_privileges_ok 0");
    assert_null(strstr(m, "sleuth_connections "));
    free(m);

    sample_at(&down, 3);
    down.gap = true;
    sample_add_problem(&down, "connection", "cannot connect", "");
    metrics_state_add(st, &down);
    m = render(st, &down, NULL, 0);
    assert_line(m, "sleuth_source_up{source=\"connection\"} 0");
    assert_line(m, "sleuth_source_up{source=\"pg_stat_database\"} 0");
    assert_line(m, "sleuth_privileges_ok 0");
    free(m);
    sample_done(&ok);
    sample_done(&hidden);
    sample_done(&down);
    metrics_state_free(st);
}

static void log_counters_appear_once_a_log_is_followed(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct sample s;
    sample_at(&s, 1);
    s.has_log = true;
    s.log_errors = 7;
    s.log_refused = 2;
    metrics_state_add(st, &s);
    char *m = render(st, &s, NULL, 0);
    assert_line(m, "# HELP sleuth_log_errors_total ERROR, FATAL and PANIC messages in the server "
                   "log.");
    assert_line(m, "sleuth_log_errors_total 7");
    assert_line(m, "sleuth_log_connections_refused_total 2");
    free(m);
    sample_done(&s);
    metrics_state_free(st);
}

static void label_values_are_escaped(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "plain" },
        { "back\\slash", "back\\\\slash" },
        { "say \"hi\"", "say \\\"hi\\\"" },
        { "two\nlines", "two\\nlines" },
        { "caf\xc3\xa9", "caf\xc3\xa9" },
        { "bad \xff byte", "bad \xef\xbf\xbd byte" },
        { "", "" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        buf_reset(&b);
        metrics_escape_label(&b, cases[i].in);
        assert_string_equal(b.ptr, cases[i].out);
    }
    buf_release(&b);

    struct metrics_state *st = metrics_state_new(0);
    struct sample s;
    sample_at(&s, 1);
    add_query(&s, 0x1ULL << 60, "d\"b", "us\\er\n", 1, 1.0, 1);
    metrics_state_add(st, &s);
    char *m = render(st, &s, NULL, 0);
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"1000000000000000\",db=\"d\\\"b\","
                   "user=\"us\\\\er\\n\"} 1");
    free(m);
    sample_done(&s);
    metrics_state_free(st);
}

static void only_the_top_n_fingerprints_get_series(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(3);
    struct sample s;
    sample_at(&s, 1);
    /* Five queries; 1..3 have the most execution time, 4 and 5 go to "other". */
    for (uint64_t fp = 1; fp <= 5; fp++)
        add_query(&s, fp, "app", "web", (int64_t)fp * 10, 1000.0 * (double)(6 - fp), 1);
    metrics_state_add(st, &s);
    char *m = render(st, &s, NULL, 0);
    assert_int_equal(count_prefix(m, "sleuth_query_calls_total{"), 4);
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"0000000000000001\",db=\"app\","
                   "user=\"web\"} 10");
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"0000000000000003\",db=\"app\","
                   "user=\"web\"} 30");
    assert_no_line(m, "sleuth_query_calls_total{fingerprint=\"0000000000000004\",db=\"app\","
                      "user=\"web\"} 40");
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"other\",db=\"\",user=\"\"} 90");
    assert_line(m, "sleuth_query_exec_seconds_total{fingerprint=\"other\",db=\"\",user=\"\"} 3");
    assert_line(m, "sleuth_query_rows_total{fingerprint=\"other\",db=\"\",user=\"\"} 2");
    free(m);
    sample_done(&s);

    /* The default cap is 20, whatever the number of fingerprints. */
    struct metrics_state *st20 = metrics_state_new(0);
    sample_at(&s, 1);
    for (uint64_t fp = 1; fp <= 60; fp++)
        add_query(&s, fp, "app", "web", 1, (double)fp, 1);
    metrics_state_add(st20, &s);
    m = render(st20, &s, NULL, 0);
    assert_int_equal(count_prefix(m, "sleuth_query_calls_total{"), 21);
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"other\",db=\"\",user=\"\"} 40");
    free(m);
    sample_done(&s);
    metrics_state_free(st20);
    metrics_state_free(st);
}

static void other_stays_monotonic_when_the_top_changes(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(1);
    struct sample s;
    /* Interval 1: A is the top one, B goes to other. */
    sample_at(&s, 1);
    add_query(&s, 0xA, "app", "web", 5, 100.0, 0);
    add_query(&s, 0xB, "app", "web", 7, 10.0, 0);
    metrics_state_add(st, &s);
    sample_done(&s);
    /* Interval 2: B becomes far heavier and takes the one slot. */
    sample_at(&s, 2);
    add_query(&s, 0xA, "app", "web", 1, 1.0, 0);
    add_query(&s, 0xB, "app", "web", 3, 100000.0, 0);
    metrics_state_add(st, &s);
    char *m = render(st, &s, NULL, 0);
    assert_int_equal(count_prefix(m, "sleuth_query_calls_total{"), 2);
    /* B's own series counts all its calls; other keeps B's 7 and adds A's 1. */
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"000000000000000b\",db=\"app\","
                   "user=\"web\"} 10");
    assert_line(m, "sleuth_query_calls_total{fingerprint=\"other\",db=\"\",user=\"\"} 8");
    free(m);
    sample_done(&s);
    metrics_state_free(st);
}

static void table_counters(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct sample s;
    sample_at(&s, 1);
    s.tables = xcalloc(1, sizeof(*s.tables));
    s.ntables = 1;
    s.tables[0] = (struct sample_table){ .schema = "public",
                                         .name = "orders",
                                         .seq_scan = 3,
                                         .seq_tup_read = 30000,
                                         .idx_scan = 9,
                                         .n_tup_upd = 50,
                                         .n_tup_hot_upd = 20 };
    metrics_state_add(st, &s);
    metrics_state_add(st, &s);
    char *m = render(st, &s, NULL, 0);
    assert_line(m, "# TYPE sleuth_table_seq_tup_read_total counter");
    assert_line(m, "sleuth_table_seq_tup_read_total{schema=\"public\",table=\"orders\"} 60000");
    assert_line(m, "sleuth_table_n_tup_upd_total{schema=\"public\",table=\"orders\"} 100");
    assert_line(m, "sleuth_table_n_tup_hot_upd_total{schema=\"public\",table=\"orders\"} 40");
    assert_line(m, "sleuth_table_seq_tup_read_total{schema=\"\",table=\"other\"} 0");
    free(m);
    sample_done(&s);
    metrics_state_free(st);
}

static void alerts_firing_by_kind_and_severity(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct alert a[3];
    memset(a, 0, sizeof(a));
    a[0].f.kind = FK_BLOCKING;
    a[0].f.severity = FINDING_CRITICAL;
    a[1].f.kind = FK_BLOCKING;
    a[1].f.severity = FINDING_CRITICAL;
    a[2].f.kind = FK_LATENCY_REGRESSION;
    a[2].f.severity = FINDING_WARNING;
    a[2].resolved_us = T0; /* resolved: not firing */
    char *m = render(st, NULL, a, 3);
    assert_line(m, "# TYPE sleuth_alerts_firing gauge");
    assert_line(m, "sleuth_alerts_firing{kind=\"blocking_chain\",severity=\"critical\"} 2");
    assert_line(m, "sleuth_alerts_firing{kind=\"blocking_chain\",severity=\"warning\"} 0");
    assert_line(m, "sleuth_alerts_firing{kind=\"latency_regression\",severity=\"warning\"} 0");
    assert_int_equal(count_prefix(m, "sleuth_alerts_firing{"), 2 * FK__COUNT);
    free(m);
    metrics_state_free(st);
}

/* An incident with the given top cause (none: CAUSE__COUNT); free with incident_release. */
static void incident_at(struct incident *inc, int seq, enum incident_state st, bool critical,
                        enum cause_kind cause)
{
    incident_init(inc);
    inc->id = (uint64_t)seq;
    inc->seq = seq;
    inc->state = st;
    inc->critical = critical;
    inc->onset_us = T0 + (int64_t)seq * 60000000;
    if (cause == CAUSE__COUNT)
        return;
    inc->causes = xcalloc(1, sizeof(*inc->causes));
    inc->ncauses = 1;
    inc->causes[0].kind = cause;
    inc->causes[0].evidence = json_object();
}

static void incidents_open_by_cause_and_opened_in_total(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);

    /* None yet: the families are there, with no open series and a zero count. */
    char *m = render_all(st, NULL, NULL, 0, NULL, 0);
    assert_line(m, "# HELP sleuth_incident_open 1 while an incident is open, by its most likely "
                   "cause and severity.");
    assert_line(m, "# TYPE sleuth_incident_open gauge");
    assert_int_equal(count_prefix(m, "sleuth_incident_open{"), 0);
    assert_line(m, "# TYPE sleuth_incidents_total counter");
    assert_line(m, "sleuth_incidents_total 0");
    free(m);

    /* Two resolved, then the open one (the engine's order); its cause is the top one. */
    struct incident incs[3];
    incident_at(&incs[0], 4, INCIDENT_RESOLVED, true, CAUSE_MISSING_INDEX);
    incident_at(&incs[1], 5, INCIDENT_RESOLVED, false, CAUSE_HOT_INDEX);
    incident_at(&incs[2], 6, INCIDENT_OPEN, false, CAUSE_LOCK_CONTENTION);
    m = render_all(st, NULL, NULL, 0, incs, 3);
    assert_int_equal(count_prefix(m, "sleuth_incident_open{"), 1);
    assert_line(m, "sleuth_incident_open{cause=\"lock_contention\",severity=\"warning\"} 1");
    /* The oldest kept are gone: the count is the highest number, not the number kept. */
    assert_line(m, "sleuth_incidents_total 6");
    free(m);

    /* Open and critical, before any cause is known. */
    incident_release(&incs[2]);
    incident_at(&incs[2], 6, INCIDENT_OPEN, true, CAUSE__COUNT);
    m = render_all(st, NULL, NULL, 0, incs, 3);
    assert_int_equal(count_prefix(m, "sleuth_incident_open{"), 1);
    assert_line(m, "sleuth_incident_open{cause=\"unknown\",severity=\"critical\"} 1");
    assert_line(m, "sleuth_incidents_total 6");
    free(m);

    /* All resolved: no open series. */
    incs[2].state = INCIDENT_RESOLVED;
    m = render_all(st, NULL, NULL, 0, incs, 3);
    assert_int_equal(count_prefix(m, "sleuth_incident_open{"), 0);
    assert_line(m, "sleuth_incidents_total 6");
    free(m);
    for (int i = 0; i < 3; i++)
        incident_release(&incs[i]);
    metrics_state_free(st);
}

/* Every sample line belongs to a family announced by # HELP and # TYPE just before. */
static void every_family_has_help_and_type(void **state)
{
    (void)state;
    struct metrics_state *st = metrics_state_new(0);
    struct sample s;
    sample_at(&s, 1);
    s.has_log = s.has_pgbouncer = true;
    add_query(&s, 42, "app", "web", 1, 1.0, 1);
    metrics_state_add(st, &s);
    struct incident inc;
    incident_at(&inc, 1, INCIDENT_OPEN, true, CAUSE_MISSING_INDEX);
    char *m = render_all(st, &s, NULL, 0, &inc, 1);
    incident_release(&inc);
    assert_non_null(strstr(m, "\nsleuth_incident_open{"));
    char family[128] = "";
    bool help = false;
    int families = 0;
    for (char *line = m; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        char name[128];
        if (sscanf(line, "# HELP %127s", name) == 1) {
            assert_string_not_equal(name, family);
            snprintf(family, sizeof(family), "%s", name);
            help = true;
        } else if (sscanf(line, "# TYPE %127s", name) == 1) {
            assert_true(help);
            assert_string_equal(name, family);
            assert_true(strstr(line, " counter") || strstr(line, " gauge"));
            if (strstr(line, " counter"))
                assert_non_null(strstr(name, "_total"));
            families++;
            help = false;
        } else {
            assert_int_equal(strncmp(line, family, strlen(family)), 0);
            char c = line[strlen(family)];
            assert_true(c == ' ' || c == '{');
            assert_int_equal(strncmp(line, "sleuth_", 7), 0);
        }
        line = nl + 1;
    }
    assert_true(families > 40);
    free(m);
    sample_done(&s);
    metrics_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(server_gauges_from_the_latest_sample),
        cmocka_unit_test(counters_are_running_totals_and_skip_the_baseline),
        cmocka_unit_test(a_gap_is_down_and_keeps_the_last_poll_time),
        cmocka_unit_test(sources_are_down_when_unreachable_or_hidden),
        cmocka_unit_test(webhook_counters_only_with_a_webhook),
        cmocka_unit_test(log_counters_appear_once_a_log_is_followed),
        cmocka_unit_test(label_values_are_escaped),
        cmocka_unit_test(only_the_top_n_fingerprints_get_series),
        cmocka_unit_test(other_stays_monotonic_when_the_top_changes),
        cmocka_unit_test(table_counters),
        cmocka_unit_test(alerts_firing_by_kind_and_severity),
        cmocka_unit_test(incidents_open_by_cause_and_opened_in_total),
        cmocka_unit_test(every_family_has_help_and_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
