/*
 * The webhook sink against a real HTTP receiver on 127.0.0.1 (libmicrohttpd,
 * a thread per connection): the exact body of each format, retries,
 * permanent errors, a receiver that never answers, queue overflow, the
 * flush on free, and URL redaction in errors. Nothing here measures time:
 * the receiver holds requests behind a gate the test opens, and waits are
 * for states (bounded only so that a bug fails instead of hanging).
 */
#include "test_alert.h"
#include "test_util.h"

#include "core/incident.h"
#include "sink/webhook.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/tstamp.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <time.h>

#define MAX_BODIES 16

struct receiver {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int statuses[8]; /* answers in turn; 200 after them */
    int n_statuses;
    int answered;
    int arrived; /* requests whose whole body came */
    bool gate_closed;
    char *bodies[MAX_BODIES];
    char paths[MAX_BODIES][64];
    char content_type[64];
};

static struct receiver rcv;

static void buf_free_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct buf *b = *con_cls;
    if (b) {
        buf_release(b);
        free(b);
        *con_cls = NULL;
    }
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct receiver *r = cls;
    (void)version;
    if (!*con_cls) {
        struct buf *b = calloc(1, sizeof(*b));
        *b = (struct buf)BUF_INIT;
        *con_cls = b;
        return MHD_YES;
    }
    struct buf *b = *con_cls;
    if (*upload_size) {
        buf_add(b, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    int status = 200;
    pthread_mutex_lock(&r->mu);
    if (strcmp(method, "POST") == 0 && r->arrived < MAX_BODIES) {
        r->bodies[r->arrived] = strdup(b->ptr);
        snprintf(r->paths[r->arrived], sizeof(r->paths[0]), "%s", url);
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
    r->arrived++;
    pthread_cond_broadcast(&r->cv);
    while (r->gate_closed)
        pthread_cond_wait(&r->cv, &r->mu);
    if (r->answered < r->n_statuses)
        status = r->statuses[r->answered];
    r->answered++;
    pthread_mutex_unlock(&r->mu);

    struct MHD_Response *resp =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static int receiver_start(void **state)
{
    (void)state;
    memset(&rcv, 0, sizeof(rcv));
    pthread_mutex_init(&rcv.mu, NULL);
    pthread_cond_init(&rcv.cv, NULL);
    struct sockaddr_in sa = { 0 };
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rcv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                             NULL, NULL, handler, &rcv, MHD_OPTION_SOCK_ADDR, &sa,
                             MHD_OPTION_NOTIFY_COMPLETED, buf_free_cb, NULL, MHD_OPTION_END);
    if (!rcv.d)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(rcv.d, MHD_DAEMON_INFO_BIND_PORT);
    rcv.port = info ? info->port : 0;
    return rcv.port > 0 ? 0 : -1;
}

static int receiver_stop(void **state)
{
    (void)state;
    pthread_mutex_lock(&rcv.mu);
    rcv.gate_closed = false;
    pthread_cond_broadcast(&rcv.cv);
    pthread_mutex_unlock(&rcv.mu);
    MHD_stop_daemon(rcv.d);
    for (int i = 0; i < MAX_BODIES; i++)
        free(rcv.bodies[i]);
    pthread_cond_destroy(&rcv.cv);
    pthread_mutex_destroy(&rcv.mu);
    return 0;
}

static void gate(bool closed)
{
    pthread_mutex_lock(&rcv.mu);
    rcv.gate_closed = closed;
    pthread_cond_broadcast(&rcv.cv);
    pthread_mutex_unlock(&rcv.mu);
}

static int arrived(void)
{
    pthread_mutex_lock(&rcv.mu);
    int n = rcv.arrived;
    pthread_mutex_unlock(&rcv.mu);
    return n;
}

/* Waits until n requests have arrived at the receiver. */
static void wait_arrived(int n)
{
    struct timespec limit;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 120; /* a hang guard, not a timing assertion */
    pthread_mutex_lock(&rcv.mu);
    while (rcv.arrived < n)
        if (pthread_cond_timedwait(&rcv.cv, &rcv.mu, &limit) != 0)
            break;
    int got = rcv.arrived;
    pthread_mutex_unlock(&rcv.mu);
    assert_int_equal(got, n);
}

/* Waits until sent + failed reaches n. */
static void wait_done(struct webhook *w, uint64_t n)
{
    uint64_t sent = 0, failed = 0;
    for (int i = 0; i < 60000; i++) { /* a hang guard of about 2 minutes */
        webhook_stats(w, &sent, &failed, NULL, NULL);
        if (sent + failed >= n)
            break;
        nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
    }
    assert_int_equal(sent + failed, n);
}

static void url(char *out, size_t size, const char *path)
{
    snprintf(out, size, "http://127.0.0.1:%d%s", rcv.port, path);
}

#define QUERY   "SELECT * FROM orders\n WHERE total > $1 AND note <> '&'"
#define SUMMARY "mean time 0.75 ms -> 45.00 ms at 42.5 calls/s"

static void fixture(struct incident *inc)
{
    test_incident(inc, QUERY, SUMMARY);
}

static struct webhook *open_webhook_opts(const char *path, struct webhook_opts *o)
{
    char u[128];
    url(u, sizeof(u), path);
    o->url = u;
    struct webhook *w = NULL;
    struct err err;
    err_clear(&err);
    assert_int_equal(webhook_new(&w, o, &err), 0);
    return w;
}

static struct webhook *open_webhook(const char *path, enum webhook_format format)
{
    struct webhook_opts o;
    webhook_opts_init(&o);
    o.format = format;
    o.backoff_us = 1000;
    return open_webhook_opts(path, &o);
}

static void assert_json_body(int i, const char *expected)
{
    json_error_t je;
    json_t *want = json_loads(expected, 0, &je);
    if (!want)
        fail_msg("expected JSON does not parse: %s", je.text);
    json_t *got = json_loads(rcv.bodies[i], 0, &je);
    if (!got)
        fail_msg("body %d does not parse: %s", i, je.text);
    if (!json_equal(want, got))
        fail_msg("body %d:\n%s\nexpected:\n%s", i, rcv.bodies[i], expected);
    json_decref(want);
    json_decref(got);
}

/* Compares body i with want (a new reference, which this takes). */
static void assert_body_equal(int i, json_t *want)
{
    char *text = json_dumps(want, JSON_COMPACT);
    assert_non_null(text);
    json_decref(want);
    assert_json_body(i, text);
    free(text);
}

static void generic_body_wraps_incident_json(void **state)
{
    (void)state;
    struct webhook_opts o;
    webhook_opts_init(&o);
    o.instance = "db1";
    struct webhook *w = open_webhook_opts("/hook", &o);
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    /* The body was rendered at send: the incident may go at once. */
    incident_release(&inc);
    wait_done(w, 1);
    uint64_t sent, failed, dropped;
    webhook_stats(w, &sent, &failed, &dropped, NULL);
    assert_int_equal(sent, 1);
    assert_int_equal(failed, 0);
    assert_int_equal(dropped, 0);
    webhook_free(w, 0);

    assert_int_equal(arrived(), 1);
    assert_string_equal(rcv.paths[0], "/hook");
    assert_string_equal(rcv.content_type, "application/json");
    char *incident =
        test_incident_json("SELECT * FROM orders\\n WHERE total > $1 AND note <> '&'", SUMMARY);
    struct buf want = BUF_INIT;
    buf_addf(&want,
             "{\"source\":\"sleuth\",\"instance\":\"db1\",\"change\":\"opened\",\"incident\":%s}",
             incident);
    /* The same members in the same order: "instance" follows "source". */
    assert_string_equal(rcv.bodies[0], want.ptr);
    buf_release(&want);
    free(incident);
}

/* A Slack section block of mrkdwn text. */
static json_t *slack_section(const char *mrkdwn)
{
    return json_pack("{s:s,s:{s:s,s:s}}", "type", "section", "text", "type", "mrkdwn", "text",
                     mrkdwn);
}

/* The message: text, then an attachment of color with the blocks (taken) and a context line. */
static json_t *slack_message(const char *text, const char *color, json_t *blocks,
                             const char *context)
{
    json_array_append_new(blocks, json_pack("{s:s,s:[{s:s,s:s}]}", "type", "context", "elements",
                                            "type", "mrkdwn", "text", context));
    return json_pack("{s:s,s:[{s:s,s:o}]}", "text", text, "attachments", "color", color, "blocks",
                     blocks);
}

#define SLACK_QUERY \
    "*Query*\n```SELECT * FROM orders WHERE total &gt; $1 AND note &lt;&gt; '&amp;'```"
#define SLACK_TRIGGER "*Trigger* 14:02:49Z drop_index orders_customer_id_idx by 'migration'"
#define SLACK_SINCE \
    "since 2026-03-14T14:02:50Z \xC2\xB7 2 alerts \xC2\xB7 db1 &lt;eu&gt; \xC2\xB7 sleuth"
#define SLACK_SUMMARY "mean time 0.75 ms -&gt; 45.00 ms at 42.5 calls/s"

static void slack_body_escapes_and_colors(void **state)
{
    (void)state;
    struct webhook_opts o;
    webhook_opts_init(&o);
    o.format = WEBHOOK_SLACK;
    o.instance = "db1 <eu>";
    struct webhook *w = open_webhook_opts("/services/T0/B0/secret", &o);
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    inc.critical = false;
    webhook_send(w, INCIDENT_CHANGE_UPDATED, &inc);
    inc.critical = true;
    test_incident_resolve(&inc);
    webhook_send(w, INCIDENT_CHANGE_RESOLVED, &inc);
    char *long_query = malloc(5001);
    memset(long_query, '<', 5000);
    long_query[5000] = '\0';
    test_set_str(&inc.causes[0].query, long_query);
    free(long_query);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    incident_release(&inc);
    wait_done(w, 4);
    webhook_free(w, 0);

    assert_int_equal(arrived(), 4);
    assert_string_equal(rcv.paths[0], "/services/T0/B0/secret");
    /* Red when critical; &, < and > escaped everywhere, the instance too. */
    const char *head = "INCIDENT #1 critical missing_index on public.orders: " SLACK_SUMMARY;
    assert_body_equal(
        0, slack_message(head, "#d50200",
                         json_pack("[o,o,o,o]",
                                   slack_section("*INCIDENT #1 critical missing_index "
                                                 "on public.orders: " SLACK_SUMMARY "*"),
                                   slack_section(SLACK_QUERY), slack_section(SLACK_TRIGGER),
                                   slack_section("*Fix* create an index on public.orders "
                                                 "(customer_id)")),
                         SLACK_SINCE));
    /* Amber when a warning. */
    json_t *upd = json_loads(rcv.bodies[1], 0, NULL);
    const char *text = NULL, *color = NULL;
    assert_int_equal(
        json_unpack(upd, "{s:s,s:[{s:s}]}", "text", &text, "attachments", "color", &color), 0);
    assert_string_equal(
        text, "UPDATED incident #1 warning missing_index on public.orders: " SLACK_SUMMARY);
    assert_string_equal(color, "#daa038");
    json_decref(upd);
    /* Green when resolved, with what it was and what fixed it, and no fix to make. */
    assert_body_equal(
        2,
        slack_message(
            "RESOLVED incident #1 critical missing_index on public.orders after 7m12s", "#2eb886",
            json_pack("[o,o,o,o,o]",
                      slack_section("*RESOLVED incident #1 critical missing_index on "
                                    "public.orders after 7m12s*"),
                      slack_section("*Was* " SLACK_SUMMARY), slack_section(SLACK_QUERY),
                      slack_section(SLACK_TRIGGER),
                      slack_section("*Fixed by* 14:09:30Z create_index orders_customer_id_idx1 "
                                    "by 'psql'")),
            SLACK_SINCE));

    /* Slack refuses a section over 3000 characters: "&lt;" x 5000 is cut to fit. */
    json_t *big = json_loads(rcv.bodies[3], 0, NULL);
    assert_non_null(big);
    json_t *first = NULL;
    text = NULL;
    assert_int_equal(json_unpack(big, "{s:[{s:[o,{s:{s:s}}]}]}", "attachments", "blocks", &first,
                                 "text", "text", &text),
                     0);
    size_t chars = 0;
    for (const char *p = text; *p; p++)
        chars += ((unsigned char)*p & 0xc0) != 0x80;
    assert_int_equal(chars, strlen("*Query*\n```") + 2800 + 3);
    assert_int_equal(strncmp(text, "*Query*\n```&lt;&lt;", 19), 0);
    assert_string_equal(text + strlen(text) - 6, "\xE2\x80\xA6```");
    json_decref(big);
}

#define AM_GENERATOR "http://sleuth:8080/incidents/0123456789abcdef"

/* The fixture's one Alertmanager alert; ends_at NULL while it fires. */
static json_t *am_alert(const char *severity, const char *ends_at)
{
    char summary[200];
    snprintf(summary, sizeof(summary), "INCIDENT #1 %s missing_index on public.orders: " SUMMARY,
             severity);
    json_t *a = json_pack("{s:{s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s},s:s,s:s}", "labels",
                          "alertname", "sleuth_incident", "incident_id", "0123456789abcdef",
                          "instance", "db1", "source", "sleuth", "annotations", "summary", summary,
                          "severity", severity, "cause", "missing_index", "table", "public.orders",
                          "query", "SELECT * FROM orders WHERE total > $1 AND note <> '&'", "fix",
                          "create an index on public.orders (customer_id)", "trigger",
                          "14:02:49Z drop_index orders_customer_id_idx by 'migration'", "startsAt",
                          "2026-03-14T14:02:50.000+00:00", "generatorURL", AM_GENERATOR);
    if (ends_at)
        json_object_set_new(a, "endsAt", json_string(ends_at));
    return json_pack("[o]", a);
}

static void alertmanager_bodies_follow_the_incident(void **state)
{
    (void)state;
    struct webhook_opts o;
    webhook_opts_init(&o);
    o.format = WEBHOOK_ALERTMANAGER;
    o.instance = "db1";
    o.generator_url = AM_GENERATOR;
    struct webhook *w = open_webhook_opts("/api/v2/alerts", &o);

    struct incident inc;
    fixture(&inc);
    inc.critical = false;
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    inc.critical = true;
    inc.updated_us = test_alert_at(14, 4, 0);
    webhook_send(w, INCIDENT_CHANGE_UPDATED, &inc);
    webhook_refresh(w, &inc);
    test_incident_resolve(&inc);
    webhook_send(w, INCIDENT_CHANGE_RESOLVED, &inc);
    webhook_refresh(w, &inc); /* resolved: nothing to re-assert */
    incident_release(&inc);

    /* No cause yet: the annotations say only what is known; the id is zero-padded. */
    struct incident bare;
    incident_init(&bare);
    bare.id = 0xff;
    bare.seq = 2;
    bare.onset_us = test_alert_at(15, 0, 0);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &bare);
    incident_release(&bare);
    wait_done(w, 5);
    webhook_free(w, 0);

    assert_int_equal(arrived(), 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(rcv.paths[i], "/api/v2/alerts");
    /* One alert whose labels never change: Alertmanager updates it, never adds another. */
    assert_body_equal(0, am_alert("warning", NULL));
    assert_body_equal(1, am_alert("critical", NULL));
    assert_body_equal(2, am_alert("critical", NULL));
    assert_body_equal(3, am_alert("critical", "2026-03-14T14:10:02.000+00:00"));
    assert_json_body(4, "[{\"labels\":{\"alertname\":\"sleuth_incident\","
                        "\"incident_id\":\"00000000000000ff\",\"instance\":\"db1\","
                        "\"source\":\"sleuth\"},\"annotations\":{\"summary\":\"INCIDENT #2 "
                        "warning\",\"severity\":\"warning\"},"
                        "\"startsAt\":\"2026-03-14T15:00:00.000+00:00\","
                        "\"generatorURL\":\"" AM_GENERATOR "\"}]");
}

static void alertmanager_text_is_made_safe(void **state)
{
    (void)state;
    struct webhook_opts o;
    webhook_opts_init(&o);
    o.format = WEBHOOK_ALERTMANAGER;
    struct webhook *w = open_webhook_opts("/api/v2/alerts", &o);
    struct incident inc;
    test_incident(&inc, "SELECT '\033[2J\xFF'\r\n  FROM t", "slow\n\tnow");
    test_set_str(&inc.trigger.app, "mig\033]0;x\007");
    char *long_fix = malloc(5001);
    memset(long_fix, 'f', 5000);
    long_fix[5000] = '\0';
    test_set_str(&inc.causes[0].fix, long_fix);
    free(long_fix);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    incident_release(&inc);
    wait_done(w, 1);
    webhook_free(w, 0);
    assert_int_equal(arrived(), 1);

    json_t *body = json_loads(rcv.bodies[0], 0, NULL);
    assert_non_null(body);
    const char *summary, *query, *fix, *trigger;
    json_t *labels;
    assert_int_equal(json_unpack(body, "[{s:o,s:{s:s,s:s,s:s,s:s}}]", "labels", &labels,
                                 "annotations", "summary", &summary, "query", &query, "fix", &fix,
                                 "trigger", &trigger),
                     0);
    assert_string_equal(summary, "INCIDENT #1 critical missing_index on public.orders: slow now");
    assert_string_equal(query, "SELECT ' [2J\xEF\xBF\xBD' FROM t");
    assert_string_equal(trigger, "14:02:49Z drop_index orders_customer_id_idx by 'mig ]0;x '");
    /* Annotations are capped at 4000 characters, the last one an ellipsis. */
    assert_int_equal(strlen(fix), 3999 + 3);
    assert_string_equal(fix + 3999, "\xE2\x80\xA6");
    /* No instance set: no instance label. */
    assert_null(json_object_get(labels, "instance"));
    assert_int_equal(json_object_size(labels), 3);
    json_decref(body);
}

static void refresh_is_a_no_op_for_other_formats(void **state)
{
    (void)state;
    struct webhook *w = open_webhook("/hook", WEBHOOK_GENERIC);
    struct incident inc;
    fixture(&inc);
    webhook_refresh(w, &inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    incident_release(&inc);
    wait_done(w, 1);
    uint64_t sent, failed, dropped;
    webhook_stats(w, &sent, &failed, &dropped, NULL);
    webhook_free(w, 0);
    assert_int_equal(sent + failed + dropped, 1);
    assert_int_equal(arrived(), 1);
    assert_non_null(strstr(rcv.bodies[0], "\"change\":\"opened\""));
}

static void server_errors_are_retried_then_delivered_once(void **state)
{
    (void)state;
    rcv.statuses[0] = 500;
    rcv.statuses[1] = 503;
    rcv.n_statuses = 2;
    struct webhook *w = open_webhook("/hook", WEBHOOK_GENERIC);
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    incident_release(&inc);
    wait_done(w, 1);
    uint64_t sent, failed, dropped;
    webhook_stats(w, &sent, &failed, &dropped, NULL);
    webhook_free(w, 0);
    assert_int_equal(sent, 1);
    assert_int_equal(failed, 0);
    assert_int_equal(dropped, 0);
    assert_int_equal(arrived(), 3);
    assert_string_equal(rcv.bodies[0], rcv.bodies[2]);
}

static void retries_run_out_and_errors_hide_secrets(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        rcv.statuses[i] = 500;
    rcv.n_statuses = 3;
    struct webhook_opts o;
    webhook_opts_init(&o);
    char u[160];
    snprintf(u, sizeof(u), "http://user:hunter2@127.0.0.1:%d/hook/T0/sekrit?token=abc123",
             rcv.port);
    o.url = u;
    o.retries = 2;
    o.backoff_us = 1000;
    struct webhook *w = NULL;
    struct err err;
    assert_int_equal(webhook_new(&w, &o, &err), 0);
    assert_false(webhook_last_error(w, &err));
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    incident_release(&inc);
    wait_done(w, 1);
    uint64_t sent, failed;
    webhook_stats(w, &sent, &failed, NULL, NULL);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 1);
    assert_true(webhook_last_error(w, &err));
    webhook_free(w, 0);
    assert_int_equal(arrived(), 3);
    char want[200];
    snprintf(want, sizeof(want),
             "POST to 'http://127.0.0.1:%d/hook/\xE2\x80\xA6?\xE2\x80\xA6': HTTP 500", rcv.port);
    assert_string_equal(err.msg, want);
    assert_int_equal(err.code, ERR_IO);
}

static void client_errors_are_not_retried(void **state)
{
    (void)state;
    rcv.statuses[0] = 400;
    rcv.n_statuses = 1;
    struct webhook *w = open_webhook("/hook", WEBHOOK_GENERIC);
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    webhook_send(w, INCIDENT_CHANGE_RESOLVED, &inc);
    incident_release(&inc);
    wait_done(w, 2);
    uint64_t sent, failed;
    webhook_stats(w, &sent, &failed, NULL, NULL);
    webhook_free(w, 0);
    assert_int_equal(sent, 1);
    assert_int_equal(failed, 1);
    assert_int_equal(arrived(), 2);
    assert_non_null(strstr(rcv.bodies[0], "\"change\":\"opened\""));
    assert_non_null(strstr(rcv.bodies[1], "\"change\":\"resolved\""));
}

static void a_silent_receiver_never_blocks_send(void **state)
{
    (void)state;
    gate(true); /* the receiver takes requests but answers none */
    struct webhook_opts o;
    webhook_opts_init(&o);
    char u[128];
    url(u, sizeof(u), "/hook");
    o.url = u;
    o.timeout_us = 200000;
    o.retries = 1;
    o.backoff_us = 1000;
    struct webhook *w = NULL;
    struct err err;
    assert_int_equal(webhook_new(&w, &o, &err), 0);
    struct incident inc;
    fixture(&inc);
    /* Had send waited for an answer, it could never have returned: the gate is shut. */
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    webhook_send(w, INCIDENT_CHANGE_RESOLVED, &inc);
    incident_release(&inc);
    pthread_mutex_lock(&rcv.mu);
    assert_int_equal(rcv.answered, 0);
    pthread_mutex_unlock(&rcv.mu);

    wait_done(w, 2);
    uint64_t sent, failed, dropped;
    webhook_stats(w, &sent, &failed, &dropped, NULL);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 2);
    assert_int_equal(dropped, 0);
    assert_true(webhook_last_error(w, &err));
    char want[200];
    snprintf(want, sizeof(want), "POST to 'http://127.0.0.1:%d/hook': Timeout was reached",
             rcv.port);
    assert_string_equal(err.msg, want);
    webhook_free(w, 0);
    gate(false);
}

static void a_full_queue_drops_the_oldest(void **state)
{
    (void)state;
    gate(true);
    struct webhook_opts o;
    webhook_opts_init(&o);
    char u[128];
    url(u, sizeof(u), "/hook");
    o.url = u;
    o.timeout_us = 600 * INT64_C(1000000); /* far beyond the test: only the gate decides */
    o.queue_capacity = 2;
    struct webhook *w = NULL;
    struct err err;
    assert_int_equal(webhook_new(&w, &o, &err), 0);

    /* Incidents #1 to #4. */
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    wait_arrived(1); /* #1 is in flight, held at the gate; the queue is empty */
    for (int i = 2; i <= 4; i++) {
        inc.seq = i;
        webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    }
    incident_release(&inc);
    uint64_t sent, failed, dropped;
    webhook_stats(w, &sent, &failed, &dropped, NULL);
    assert_int_equal(dropped, 1); /* #2, pushed out by #4 */
    assert_int_equal(sent, 0);

    gate(false);
    wait_done(w, 3);
    webhook_stats(w, &sent, &failed, &dropped, NULL);
    webhook_free(w, 0);
    assert_int_equal(sent, 3);
    assert_int_equal(failed, 0);
    assert_int_equal(dropped, 1);
    assert_int_equal(arrived(), 3);
    assert_non_null(strstr(rcv.bodies[0], "\"seq\":1,"));
    assert_non_null(strstr(rcv.bodies[1], "\"seq\":3,"));
    assert_non_null(strstr(rcv.bodies[2], "\"seq\":4,"));
}

static void free_flushes_the_queue_before_its_deadline(void **state)
{
    (void)state;
    gate(true);
    struct webhook *w = open_webhook("/hook", WEBHOOK_GENERIC);
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    wait_arrived(1);
    webhook_send(w, INCIDENT_CHANGE_UPDATED, &inc);
    webhook_send(w, INCIDENT_CHANGE_RESOLVED, &inc);
    incident_release(&inc);
    gate(false);
    webhook_free(w, clock_mono_us() + 300 * INT64_C(1000000));
    assert_int_equal(arrived(), 3);
    assert_non_null(strstr(rcv.bodies[0], "\"change\":\"opened\""));
    assert_non_null(strstr(rcv.bodies[1], "\"change\":\"updated\""));
    assert_non_null(strstr(rcv.bodies[2], "\"change\":\"resolved\""));
}

static void free_without_time_abandons_the_queue(void **state)
{
    (void)state;
    gate(true);
    struct webhook_opts o;
    webhook_opts_init(&o);
    char u[128];
    url(u, sizeof(u), "/hook");
    o.url = u;
    o.timeout_us = 600 * INT64_C(1000000); /* only the abort can end the request in flight */
    struct webhook *w = NULL;
    struct err err;
    assert_int_equal(webhook_new(&w, &o, &err), 0);
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    wait_arrived(1);
    webhook_send(w, INCIDENT_CHANGE_UPDATED, &inc);
    webhook_send(w, INCIDENT_CHANGE_RESOLVED, &inc);
    incident_release(&inc);
    webhook_free(w, 0);
    assert_int_equal(arrived(), 1); /* the queued two were never tried */
    gate(false);
}

static void stop_counts_what_it_drops(void **state)
{
    (void)state;
    gate(true);
    struct webhook_opts o;
    webhook_opts_init(&o);
    char u[128];
    url(u, sizeof(u), "/hook");
    o.url = u;
    o.timeout_us = 600 * INT64_C(1000000); /* only the abort can end the request in flight */
    struct webhook *w = NULL;
    struct err err;
    assert_int_equal(webhook_new(&w, &o, &err), 0);
    struct incident inc;
    fixture(&inc);
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    wait_arrived(1);
    webhook_send(w, INCIDENT_CHANGE_UPDATED, &inc);
    webhook_send(w, INCIDENT_CHANGE_RESOLVED, &inc);
    uint64_t sent, failed, dropped, queued;
    webhook_stats(w, &sent, &failed, &dropped, &queued);
    assert_int_equal(queued, 2);
    assert_int_equal(dropped, 0);

    webhook_stop(w, 0);
    webhook_stats(w, &sent, &failed, &dropped, &queued);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 1);  /* the one in flight, aborted */
    assert_int_equal(dropped, 2); /* the two never tried */
    assert_int_equal(queued, 0);
    /* After the stop a change is counted, not queued for a thread that is gone. */
    webhook_send(w, INCIDENT_CHANGE_OPENED, &inc);
    webhook_stop(w, 0);
    webhook_stats(w, &sent, &failed, &dropped, &queued);
    assert_int_equal(dropped, 3);
    assert_int_equal(queued, 0);
    incident_release(&inc);
    webhook_free(w, 0);
    gate(false);
}

static void options_and_urls_are_checked(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *msg;
    } bad[] = {
        { "ftp://example.com/x", "webhook URL must start with http:// or https:// (not 'ftp:')" },
        { "", "webhook URL is empty" },
        { "http://", "invalid webhook URL: No host part in the URL" },
        { "http://a b@/x?token=s3cret", NULL },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct webhook_opts o;
        webhook_opts_init(&o);
        o.url = bad[i].url;
        struct webhook *w = (struct webhook *)&o;
        struct err err;
        err_clear(&err);
        assert_int_equal(webhook_new(&w, &o, &err), -1);
        assert_null(w);
        assert_int_equal(err.code, ERR_USAGE);
        if (bad[i].msg)
            assert_string_equal(err.msg, bad[i].msg);
        assert_null(strstr(err.msg, "s3cret"));
    }
    struct webhook_opts o;
    webhook_opts_init(&o);
    o.url = "http://127.0.0.1:9/";
    o.queue_capacity = 0;
    struct webhook *w = NULL;
    struct err err;
    assert_int_equal(webhook_new(&w, &o, &err), -1);
    assert_string_equal(err.msg, "webhook queue capacity must be at least 1");

    static const struct {
        const char *name;
        int format; /* -1: rejected */
    } names[] = {
        { "generic", WEBHOOK_GENERIC },
        { "slack", WEBHOOK_SLACK },
        { "alertmanager", WEBHOOK_ALERTMANAGER },
        { "Slack", -1 },
        { "", -1 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        enum webhook_format f = WEBHOOK_GENERIC;
        err_clear(&err);
        int rc = webhook_format_parse(names[i].name, &f, &err);
        if (names[i].format < 0) {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, ERR_USAGE);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(f, names[i].format);
            assert_string_equal(webhook_format_name(f), names[i].name);
        }
    }
    assert_int_equal(webhook_format_parse("slak", &(enum webhook_format){ 0 }, &err), -1);
    assert_string_equal(err.msg,
                        "unknown webhook format 'slak' (expected generic, slack or alertmanager)");
    webhook_free(NULL, 0);
}

static void url_tokens_are_scrubbed_from_argv(void **state)
{
    (void)state;
    static const struct {
        const char *url, *want;
        bool scrubbed;
    } cases[] = {
        { "https://hooks.slack.com/services/T0/B0/tok3n",
          "https://hooks.slack.com/services/xxxxxxxxxxx", true },
        { "https://u:pw@h:8443/hook?key=tok3n", "https://xxxx@h:8443/hook?xxxxxxxxx", true },
        { "http://h/alerts/", "http://h/alerts/", false },
        { "http://h", "http://h", false },
        { "not a url", "not a url", false },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *url = strdup(cases[i].url);
        assert_int_equal(webhook_url_scrub(url), cases[i].scrubbed);
        assert_string_equal(url, cases[i].want);
        free(url);
    }
}

int main(void)
{
    /* The receiver is on loopback: a proxy from the environment must not see the requests. */
    static const char *const proxies[] = { "http_proxy",  "HTTP_PROXY", "https_proxy",
                                           "HTTPS_PROXY", "all_proxy",  "ALL_PROXY" };
    for (size_t i = 0; i < ARRAY_SIZE(proxies); i++)
        unsetenv(proxies[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(generic_body_wraps_incident_json, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(slack_body_escapes_and_colors, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(alertmanager_bodies_follow_the_incident, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(alertmanager_text_is_made_safe, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(refresh_is_a_no_op_for_other_formats, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(server_errors_are_retried_then_delivered_once,
                                        receiver_start, receiver_stop),
        cmocka_unit_test_setup_teardown(retries_run_out_and_errors_hide_secrets, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(client_errors_are_not_retried, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(a_silent_receiver_never_blocks_send, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(a_full_queue_drops_the_oldest, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(free_flushes_the_queue_before_its_deadline, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(free_without_time_abandons_the_queue, receiver_start,
                                        receiver_stop),
        cmocka_unit_test_setup_teardown(stop_counts_what_it_drops, receiver_start, receiver_stop),
        cmocka_unit_test(options_and_urls_are_checked),
        cmocka_unit_test(url_tokens_are_scrubbed_from_argv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
