/*
 * `sleuth demo [SCENARIO]`: stages a database outage and lets sleuth find
 * it, live. It starts a private PostgreSQL (demo/server.c), loads a small
 * shop (demo/shop.c), drives web traffic at it (demo/traffic.c), watches
 * it the way `sleuth watch` does (poller, log follower, the incident
 * engine), injects one fault after a steady phase (demo/fault.c) and tells
 * the story as it happens: the traffic, the fault at T, the incident at
 * T+x, its diagnosis; then undoes the fault (the fix) and watches the
 * incident resolve. It keeps the watch's history in a store in the output
 * dir, writes the server log, its HTML report and demo.json there, stops
 * the server and removes it. One thread runs the loop; the traffic has its
 * own threads.
 */
#include "cmd.h"

#include "advise/advise.h"
#include "demo/fault.h"
#include "demo/server.h"
#include "demo/shop.h"
#include "demo/traffic.h"
#include "detect/config.h"
#include "engine/engine.h"
#include "engine/fromlog.h"
#include "live/conninfo.h"
#include "live/logfollow.h"
#include "live/poll.h"
#include "report/postmortem.h"
#include "report/render.h"
#include "report/web.h"
#include "sink/console.h"
#include "stats/analysis.h"
#include "stats/web.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

static const char *const usage[] = {
    "usage: sleuth demo [options] [SCENARIO]",
    "",
    "Stages a database outage and shows sleuth finding it. Starts a private PostgreSQL 15",
    "in a temp dir (as the 'postgres' user when run as root), loads a small shop, drives web",
    "traffic at it from several client threads, watches it like `sleuth watch`, injects the",
    "fault after a steady phase and prints each alert with how long detection took. Then",
    "writes the server log, its HTML report and demo.json to the output dir, stops the",
    "server and removes the temp dir.",
    "",
    "Scenarios:",
    "  missing-index     (the default) a migration drops the index the order history uses",
    "  hot-index         a migration indexes the columns every order update changes",
    "  pool-exhaustion   checkouts keep their transaction open; connections run out",
    "  deploy-surge      a release turns the order history into an N+1 loop",
    "  redundant-fetch   a release fetches every column of every product in a category",
    "  traffic-surge     a campaign brings three times the visitors, a connection each",
    "  lock-contention   a migration alters orders and keeps its transaction open",
    "  plan-regression   index scans are turned off server-wide: the plans change",
    "  steady            the same traffic with no fault: sleuth must stay quiet",
    "",
    "  -s, --scale N         shop size (default 1: 300k orders, 900k order items)",
    "      --steady DUR      traffic before the fault (default 40s)",
    "      --after DUR       longest wait for detection after the fault (default 40s); the",
    "                        steady scenario runs --steady plus --after",
    "      --recover DUR     after the fix, longest wait for the incident to resolve",
    "                        (default 30s)",
    "      --no-undo         leave the fault in place: no fix, no recovery",
    "  -i, --interval DUR    watch interval (default 2s)",
    "  -c, --clients N       traffic threads (default 4)",
    "      --set NAME=VALUE  set one detector threshold, as in sleuth watch (repeatable)",
    "  -o, --output DIR      where the log, report.html, postmortem.md, demo.json and the store",
    "                        (sleuth.db) go (default ./sleuth-demo)",
    "      --keep            keep the server's temp dir (the server is stopped)",
    "      --no-color        no colours in the alerts",
    "  -h, --help            this help",
    "",
    "Exit status: 0 done (whether or not sleuth detected the fault: see demo.json), 2 usage",
    "error, 3 the outputs could not be written, 4 the server could not be started or the",
    "fault not injected, 128+N stopped by signal N.",
};

void cmd_demo_help(void)
{
    for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
        printf("%s\n", usage[i]);
}

enum {
    OPT_STEADY = 256,
    OPT_AFTER,
    OPT_RECOVER,
    OPT_NO_UNDO,
    OPT_SET,
    OPT_KEEP,
    OPT_NO_COLOR,
};

static const struct option long_options[] = {
    { "scale", required_argument, NULL, 's' },
    { "steady", required_argument, NULL, OPT_STEADY },
    { "after", required_argument, NULL, OPT_AFTER },
    { "recover", required_argument, NULL, OPT_RECOVER },
    { "no-undo", no_argument, NULL, OPT_NO_UNDO },
    { "interval", required_argument, NULL, 'i' },
    { "clients", required_argument, NULL, 'c' },
    { "set", required_argument, NULL, OPT_SET },
    { "output", required_argument, NULL, 'o' },
    { "keep", no_argument, NULL, OPT_KEEP },
    { "no-color", no_argument, NULL, OPT_NO_COLOR },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

struct demo_opts {
    enum demo_fault fault;
    double scale;
    int64_t steady_us, after_us, recover_us, interval_us;
    bool undo;
    int clients;
    const char *output;
    bool keep;
    bool color;
    struct detect_config detect;
};

/*
 * The shop's pages take a few milliseconds: one over 100 ms is slow for its
 * users (the --slow a team would set for such a shop; sleuth's default of
 * 1 s suits pages that do more). The clients count with it and the access
 * log is read with it.
 */
#define DEMO_SLOW_US 100000

struct demo_run {
    struct demo_opts o;
    struct demo_fault_signals sig;
    struct demo_shop_sizes sizes;
    double load_s;
    struct demo_server *srv;
    struct demo_traffic *traffic;
    struct poller *poller;
    struct logfollow *log;
    struct engine *engine;
    int64_t start_us; /* realtime, traffic start */
    int64_t fault_us; /* realtime, 0 before the fault */
    int64_t poll_us;  /* realtime of the poll being judged */
    int64_t undo_us;  /* realtime of the fix, 0 before */
    const char *undo_what;
    struct demo_fault_state *fault_state;
    struct store *store;
    int polls_after;   /* polls since the fault */
    unsigned fired;    /* kinds fired since the fault, as (1u << kind) */
    int64_t detect_us; /* first alert of the first signal group, 0 if none */
    int detect_polls;
    json_t *alerts;        /* every detector alert fired, with when */
    json_t *incidents;     /* every incident change the sinks would get, with when */
    json_t *diagnosis;     /* engine_json of the live engine, after the run */
    json_t *advice;        /* advice_list_json, after the run */
    json_t *log_diagnosis; /* engine_json of the server log's analysis */
    char *access_path;     /* the web clients' access log, in the output dir */
    FILE *access;          /* open on it while the traffic runs */
};

/* --- the story -------------------------------------------------------------- */

static void say_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("  %s\n", line);
    fflush(stdout);
}

/* Seconds since the traffic started, for the story's time column. */
static double since_start_s(const struct demo_run *r, int64_t ts_us)
{
    return (double)(ts_us - r->start_us) / 1e6;
}

static void iso_time(struct buf *b, int64_t ts_us)
{
    tstamp_format(b, ts_us, 0);
}

static json_t *json_iso(int64_t ts_us)
{
    if (!ts_us)
        return json_null();
    struct buf b = BUF_INIT;
    iso_time(&b, ts_us);
    json_t *j = json_string(b.ptr);
    buf_release(&b);
    return j;
}

static bool kind_in(unsigned set, enum finding_kind k)
{
    return (set >> k) & 1u;
}

/* Whether every signal group of the fault has an alert since the fault. */
static bool all_groups_fired(const struct demo_run *r)
{
    if (r->sig.ngroups == 0)
        return false;
    for (int i = 0; i < r->sig.ngroups; i++)
        if (!(r->fired & r->sig.groups[i]))
            return false;
    return true;
}

/* A detector alert: recorded with when it fired (the story tells incidents). */
static void on_alert(void *ctx, enum alert_change change, const struct alert *a)
{
    struct demo_run *r = ctx;
    struct err err;
    err_clear(&err);
    if (r->store && store_write_alert(r->store, change, a, &err) < 0)
        log_warn("sleuth demo: %s", err.msg);
    if (change != ALERT_FIRED)
        return;
    json_t *j = alert_json(a, ALERT_FIRED);
    json_object_set_new(j, "detected_at", json_iso(r->poll_us));
    json_object_set_new(j, "detected_at_s", json_real(since_start_s(r, r->poll_us)));
    bool after = r->fault_us != 0;
    json_object_set_new(j, "after_fault", json_boolean(after));
    json_object_set_new(j, "expected", json_boolean(kind_in(r->sig.allowed, a->f.kind)));
    if (after) {
        json_object_set_new(j, "detected_after_s",
                            json_real((double)(r->poll_us - r->fault_us) / 1e6));
        json_object_set_new(j, "detected_after_intervals", json_integer(r->polls_after));
        if (r->sig.ngroups && kind_in(r->sig.groups[0], a->f.kind) && !r->detect_us) {
            r->detect_us = r->poll_us;
            r->detect_polls = r->polls_after;
        }
        r->fired |= 1u << a->f.kind;
    }
    json_array_append_new(r->alerts, j);
}

/* An incident change: one block, as the console of `sleuth watch` prints it. */
static void on_incident(void *ctx, enum incident_change_kind change, const struct incident *inc)
{
    struct demo_run *r = ctx;
    struct err err;
    err_clear(&err);
    if (r->store && store_write_incident(r->store, inc, &err) < 0)
        log_warn("sleuth demo: %s", err.msg);
    struct buf b = BUF_INIT;
    console_incident_format(&b, change, inc, r->o.color);
    fputs(b.ptr, stdout);
    buf_release(&b);
    if (change == INCIDENT_CHANGE_RESOLVED && r->undo_us && inc->end_us)
        printf("    back to normal at T+%.1f s, %.1f s after the fix\n",
               since_start_s(r, inc->end_us), (double)(inc->end_us - r->undo_us) / 1e6);
    if (r->fault_us && change == INCIDENT_CHANGE_OPENED)
        printf("    detected at T+%.1f s (%d interval%s after the fault)\n",
               (double)(r->poll_us - r->fault_us) / 1e6, r->polls_after,
               r->polls_after == 1 ? "" : "s");
    else if (!r->fault_us && change == INCIDENT_CHANGE_OPENED)
        printf("    (before any fault: a false alarm)\n");
    json_t *j = json_object();
    json_object_set_new(j, "change", json_string(incident_change_name(change)));
    json_object_set_new(j, "at", json_iso(r->poll_us));
    json_object_set_new(j, "after_fault", json_boolean(r->fault_us != 0));
    json_object_set_new(j, "incident", incident_json(inc));
    json_array_append_new(r->incidents, j);
    fflush(stdout);
}

static void print_header(void)
{
    printf("  %7s %7s %7s %8s | %8s %8s %6s\n", "time", "req/s", "500s/s", "p95 ms", "calls/s",
           "mean ms", "conns");
}

/* One line per interval: the application's view, then the watcher's. */
static void print_interval(const struct demo_run *r, const struct sample *s, bool up)
{
    struct demo_traffic_stats w;
    demo_traffic_window(r->traffic, &w);
    printf("  %+6.0fs %7.0f %7.1f %8.1f | ", since_start_s(r, r->poll_us), w.rps, w.eps, w.p95_ms);
    if (!up) {
        printf("%8s %8s %6s  (no answer)\n", "-", "-", "-");
    } else if (s->baseline_only) {
        printf("%8s %8s %6d  (baseline)\n", "-", "-", s->connections);
    } else {
        int64_t calls = 0;
        double ms = 0;
        for (int i = 0; i < s->nqueries; i++) {
            calls += s->queries[i].calls;
            ms += s->queries[i].total_ms;
        }
        printf("%8.0f %8.2f %6d\n", (double)calls / sample_seconds(s),
               calls ? ms / (double)calls : 0.0, s->connections);
    }
    fflush(stdout);
}

/* Prints the worst incident's causes and suspicions. */
static void print_diagnosis(struct demo_run *r)
{
    const struct incident *inc = engine_worst_incident(r->engine);
    printf("\nDiagnosis\n");
    if (!inc) {
        printf("  %s\n", r->o.fault == DEMO_STEADY ? "nothing abnormal: no cause to name"
                                                   : "no known cause matches the alerts");
        return;
    }
    for (size_t i = 0; i < inc->ncauses && i < 3; i++) {
        const struct cause *g = &inc->causes[i];
        printf("  %zu. %s%s%s: %s\n", i + 1, cause_kind_name(g->kind), g->table ? " on " : "",
               g->table ? g->table : "", g->summary ? g->summary : "");
        if (g->query)
            printf("     query  %.160s\n", g->query);
        if (g->index)
            printf("     index  %s\n", g->index);
        if (g->fix)
            printf("     fix    %s\n", g->fix);
    }
    if (inc->has_trigger)
        printf("  trigger: %s %s%s%s\n", sample_change_kind_name(inc->trigger.kind),
               inc->trigger.object, *inc->trigger.app ? " by " : "", inc->trigger.app);
    for (size_t i = 0; i < inc->nsuspicions; i++)
        printf("  %s %s: %s\n", verdict_name(inc->suspicions[i].verdict), inc->suspicions[i].name,
               inc->suspicions[i].evidence ? inc->suspicions[i].evidence : "");
}

/*
 * Runs sleuth advise against the demo server while the fault still runs
 * (as the superuser, which keeps its reserved slots when the pool is full).
 */
static void print_advice(struct demo_run *r)
{
    PGconn *conn;
    struct err err;
    err_clear(&err);
    if (conninfo_connect(&conn, demo_server_conninfo(r->srv), 30000, &err) < 0) {
        fprintf(stderr, "sleuth demo: advise: %s\n", err.msg);
        return;
    }
    struct advise_opts ao;
    advise_opts_init(&ao);
    /* The queries the diagnosis named are looked at whatever their averages since start. */
    uint64_t focus[8];
    size_t nfocus = 0;
    const struct incident *inc = engine_worst_incident(r->engine);
    for (size_t i = 0; inc && i < inc->ncauses && nfocus < 8; i++)
        if (inc->causes[i].fingerprint)
            focus[nfocus++] = inc->causes[i].fingerprint;
    ao.focus = focus;
    ao.nfocus = nfocus;
    struct advice_list l;
    advice_list_init(&l);
    if (advise_run(conn, &ao, &l, &err) < 0) {
        fprintf(stderr, "sleuth demo: advise: %s\n", err.msg);
    } else {
        struct buf b = BUF_INIT;
        advice_render_text(&b, &l, "the demo server");
        printf("\n%s", b.ptr);
        buf_release(&b);
        r->advice = advice_list_json(&l);
    }
    advice_list_release(&l);
    PQfinish(conn);
}

/* --- watching ---------------------------------------------------------------- */

static void watch_interval(struct demo_run *r)
{
    struct sample s;
    sample_init(&s);
    struct err err;
    err_clear(&err);
    r->poll_us = clock_realtime_us();
    bool up = poller_poll(r->poller, r->poll_us, &s, &err) == 0;
    if (!up)
        log_warn("sleuth demo: poll: %s", err.msg);
    if (r->log && logfollow_read(r->log, &s, &err) < 0)
        log_debug("sleuth demo: log: %s", err.msg);
    if (r->fault_us)
        r->polls_after++;
    print_interval(r, &s, up);
    engine_step(r->engine, &s);
    if (r->store && store_write_sample(r->store, &s, &err) < 0)
        log_warn("sleuth demo: %s", err.msg);
    sample_release(&s);
}

static int inject(struct demo_run *r)
{
    struct err err;
    err_clear(&err);
    int64_t t = clock_realtime_us();
    printf("\n>>> T = %+.0fs: fault injected: %s\n\n", since_start_s(r, t),
           demo_fault_description(r->o.fault));
    fflush(stdout);
    r->fault_us = t;
    if (demo_fault_inject(demo_server_app_conninfo(r->srv), demo_server_conninfo(r->srv),
                          r->o.fault, r->traffic, &r->fault_state, &err) < 0) {
        fprintf(stderr, "sleuth demo: cannot inject the fault: %s\n", err.msg);
        return EXIT_DB;
    }
    return 0;
}

/* The fix, then the watch goes on until the incident resolves or --recover has passed. */
static int recover(struct demo_run *r)
{
    struct err err;
    err_clear(&err);
    r->undo_us = clock_realtime_us();
    int rc = demo_fault_undo(demo_server_app_conninfo(r->srv), demo_server_conninfo(r->srv),
                             r->o.fault, r->traffic, r->fault_state, &r->undo_what, &err);
    r->fault_state = NULL;
    printf("\n>>> T = %+.0fs: the fix: %s\n\n", since_start_s(r, r->undo_us), r->undo_what);
    fflush(stdout);
    if (rc < 0) {
        fprintf(stderr, "sleuth demo: cannot undo the fault: %s\n", err.msg);
        return EXIT_DB;
    }
    print_header();
    int64_t start = clock_mono_us(), next = start;
    for (;;) {
        watch_interval(r);
        size_t n;
        engine_incidents(r->engine, &n);
        if ((n && !engine_open_incident(r->engine)) || clock_mono_us() - start >= r->o.recover_us)
            break;
        next += r->o.interval_us;
        if (next < clock_mono_us())
            next = clock_mono_us();
        if (!stop_sleep_until(next))
            return 128 + stop_signal_received();
    }
    if (engine_open_incident(r->engine))
        printf("\nthe incident is still open %.0f s after the fix\n",
               (double)r->o.recover_us / 1e6);
    return EXIT_OK;
}

/* Watches until the fault is detected or --after has passed since it; returns the exit code. */
static int run_loop(struct demo_run *r)
{
    int64_t start = clock_mono_us(), next = start, fault_mono = 0;
    bool steady = r->o.fault == DEMO_STEADY;
    int linger = -1; /* intervals still to watch once the fault is detected */
    print_header();
    for (;;) {
        watch_interval(r);
        int64_t now = clock_mono_us();
        /* Two more intervals once detected: the alerts that follow are part of the story. */
        if (linger < 0 && fault_mono && all_groups_fired(r))
            linger = 2;
        if (linger == 0 || (fault_mono && now - fault_mono >= r->o.after_us))
            break;
        if (linger > 0)
            linger--;
        if (steady && now - start >= r->o.steady_us + r->o.after_us)
            break;
        /* The fault goes in right after a poll, so its first interval is whole. */
        if (!steady && !fault_mono && now - start >= r->o.steady_us) {
            int rc = inject(r);
            if (rc)
                return rc;
            fault_mono = now;
        }
        next += r->o.interval_us;
        if (next < clock_mono_us())
            next = clock_mono_us();
        if (!stop_sleep_until(next))
            return 128 + stop_signal_received();
    }
    return EXIT_OK;
}

/* --- outputs ------------------------------------------------------------------ */

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return -1;
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
        if (fwrite(chunk, 1, n, out) != n)
            rc = -1;
    if (ferror(in))
        rc = -1;
    fclose(in);
    if (fclose(out) != 0)
        rc = -1;
    return rc;
}

/*
 * Analyses the server log as `sleuth analyze` would (the report's timeline
 * at the watcher's interval; the diagnosis on the log's own fine timeline)
 * and writes report.html and report.json, and the postmortem of its worst
 * incident (postmortem.md, postmortem.html) when it has one; *log_diag gets
 * the log's incidents and diagnosis (engine_json).
 */
static int write_reports(const struct demo_run *r, const char *log_path, const char *dir,
                         json_t **log_diag, bool *wrote_postmortem)
{
    *wrote_postmortem = false;
    struct analysis_opts opts;
    analysis_opts_init(&opts);
    opts.prefix = demo_server_log_prefix();
    opts.filter.interval_us = r->o.interval_us;
    opts.jobs = 2;
    char *paths[] = { (char *)log_path };
    struct analysis a;
    struct err err;
    err_clear(&err);
    if (analysis_run(&a, paths, 1, &opts, &err) < 0) {
        fprintf(stderr, "sleuth demo: cannot analyse the server log: %s\n", err.msg);
        analysis_release(&a);
        return EXIT_INPUT;
    }
    /* The users' side: the web clients' access log, at the same interval. */
    struct web web;
    struct web_opts wo = { .interval_us = r->o.interval_us,
                           .slow_us = DEMO_SLOW_US,
                           .since_us = TS_NONE,
                           .until_us = TS_NONE,
                           .format = "combined+rt" };
    web_init(&web, &wo);
    char *access[] = { r->access_path };
    if (web_read(&web, access, 1, &err) < 0)
        fprintf(stderr, "sleuth demo: cannot read the access log: %s\n", err.msg);
    struct engine *e = engine_run_log(&a.c, &r->o.detect, NULL);
    *log_diag = engine_json(e);
    size_t nincs;
    const struct incident *incs = engine_incidents(e, &nincs);
    int rc = EXIT_OK;
    static const struct {
        const char *name;
        enum report_format format;
        bool postmortem; /* of the worst incident, when there is one */
    } outs[] = { { "report.html", REPORT_HTML, false },
                 { "report.json", REPORT_JSON, false },
                 { "postmortem.md", REPORT_MARKDOWN, true },
                 { "postmortem.html", REPORT_HTML, true },
                 { "postmortem.json", REPORT_JSON, true } };
    const struct incident *worst = postmortem_pick(incs, nincs, 0);
    for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
        if (outs[i].postmortem && !worst)
            continue;
        struct buf path = BUF_INIT;
        buf_addf(&path, "%s/%s", dir, outs[i].name);
        FILE *f = fopen(path.ptr, "w");
        struct report_opts ro = { .format = outs[i].format,
                                  .top = outs[i].format == REPORT_JSON ? 0 : 20 };
        struct report rep;
        int wrc = -1;
        if (f) {
            report_init(&rep, &a, &ro);
            report_set_incidents(&rep, incs, nincs);
            report_set_web(&rep, web.requests ? &web : NULL);
            wrc = outs[i].postmortem ? postmortem_write(&rep, worst, f) : report_write(&rep, f);
            if (outs[i].format == REPORT_MARKDOWN && rep.web) {
                /* The story ends with what the users saw, as the postmortem says it. */
                struct web_impact imp;
                web_impact(&web, worst->onset_us, worst->end_us ? worst->end_us : worst->updated_us,
                           &imp);
                char *u = report_web_impact_text(&rep, &imp);
                printf("\n  users (from the clients' access log): %s\n", u);
                free(u);
            }
            report_release(&rep);
            if (fclose(f) != 0)
                wrc = -1;
        }
        if (wrc < 0) {
            fprintf(stderr, "sleuth demo: cannot write '%s': %s\n", path.ptr, strerror(errno));
            rc = EXIT_INPUT;
        }
        buf_release(&path);
    }
    *wrote_postmortem = worst != NULL && rc == EXIT_OK;
    engine_free(e);
    web_release(&web);
    analysis_release(&a);
    return rc;
}

static json_t *traffic_json(const struct demo_traffic_stats *s)
{
    json_t *j = json_object();
    json_object_set_new(j, "requests", json_integer(s->ok + s->failed));
    json_object_set_new(j, "failed", json_integer(s->failed));
    json_object_set_new(j, "seconds", json_real(s->seconds));
    json_object_set_new(j, "requests_per_s", json_real(s->rps));
    json_object_set_new(j, "failed_per_s", json_real(s->eps));
    json_object_set_new(j, "p50_ms", json_real(s->p50_ms));
    json_object_set_new(j, "p95_ms", json_real(s->p95_ms));
    return j;
}

static json_t *run_json(const struct demo_run *r, int64_t end_us)
{
    json_t *j = json_object();
    json_object_set_new(j, "scenario", json_string(demo_fault_name(r->o.fault)));
    json_object_set_new(j, "description", json_string(demo_fault_description(r->o.fault)));
    json_object_set_new(j, "scale", json_real(r->o.scale));
    json_object_set_new(j, "clients", json_integer(r->o.clients));
    json_object_set_new(j, "interval_s", json_real((double)r->o.interval_us / 1e6));
    json_t *shop = json_object();
    json_object_set_new(shop, "customers", json_integer(r->sizes.customers));
    json_object_set_new(shop, "products", json_integer(r->sizes.products));
    json_object_set_new(shop, "orders", json_integer(r->sizes.orders));
    json_object_set_new(shop, "order_items", json_integer(r->sizes.order_items));
    json_object_set_new(shop, "load_s", json_real(r->load_s));
    json_object_set_new(j, "shop", shop);
    json_object_set_new(j, "started_at", json_iso(r->start_us));
    json_object_set_new(j, "fault_at", json_iso(r->fault_us));
    json_object_set_new(j, "fault_at_s",
                        r->fault_us ? json_real(since_start_s(r, r->fault_us)) : json_null());
    json_object_set_new(j, "undo_at", json_iso(r->undo_us));
    json_object_set_new(j, "undo", r->undo_us ? json_string(r->undo_what) : json_null());
    json_object_set_new(j, "duration_s", json_real(since_start_s(r, end_us)));
    json_t *expected = json_array();
    for (int g = 0; g < r->sig.ngroups; g++) {
        json_t *group = json_array();
        for (int k = 0; k < FK__COUNT; k++)
            if (kind_in(r->sig.groups[g], (enum finding_kind)k))
                json_array_append_new(group, json_string(finding_kind_name(k)));
        json_array_append_new(expected, group);
    }
    json_object_set_new(j, "expected", expected);
    json_object_set_new(j, "detected", json_boolean(r->detect_us != 0));
    json_object_set_new(j, "detected_after_s",
                        r->detect_us ? json_real((double)(r->detect_us - r->fault_us) / 1e6)
                                     : json_null());
    json_object_set_new(j, "detected_after_intervals",
                        r->detect_us ? json_integer(r->detect_polls) : json_null());
    json_object_set_new(j, "alerts", json_incref(r->alerts));
    json_object_set_new(j, "incident_changes", json_incref(r->incidents));
    json_t *none = json_array();
    json_object_set_new(
        j, "incidents",
        json_incref(r->diagnosis ? json_object_get(r->diagnosis, "incidents") : none));
    json_object_set_new(
        j, "log_incidents",
        json_incref(r->log_diagnosis ? json_object_get(r->log_diagnosis, "incidents") : none));
    json_object_set_new(
        j, "diagnosis",
        json_incref(r->diagnosis ? json_object_get(r->diagnosis, "diagnosis") : none));
    json_object_set_new(
        j, "ruled_out",
        json_incref(r->diagnosis ? json_object_get(r->diagnosis, "ruled_out") : none));
    json_object_set_new(j, "advice",
                        json_incref(r->advice ? json_object_get(r->advice, "advice") : none));
    json_object_set_new(
        j, "log_diagnosis",
        json_incref(r->log_diagnosis ? json_object_get(r->log_diagnosis, "diagnosis") : none));
    json_decref(none);
    struct demo_traffic_stats before, after;
    demo_traffic_phase(r->traffic, 0, &before);
    demo_traffic_phase(r->traffic, 1, &after);
    json_t *t = json_object();
    json_object_set_new(t, "before_fault", traffic_json(&before));
    json_object_set_new(t, "after_fault", traffic_json(&after));
    struct demo_traffic_totals tot;
    demo_traffic_totals(r->traffic, &tot);
    json_object_set_new(t, "whole_run",
                        json_pack("{s:I, s:I, s:I, s:i, s:i}", "requests", (json_int_t)tot.requests,
                                  "failed", (json_int_t)tot.failed, "slow", (json_int_t)tot.slow,
                                  "clients", tot.clients, "clients_hurt", tot.clients_hurt));
    /* Per second, as the clients counted: [epoch second, requests, failed, slow]. */
    struct demo_traffic_second *secs = xcalloc(3600, sizeof(*secs));
    int64_t first_s;
    size_t nsecs = demo_traffic_seconds(r->traffic, &first_s, secs, 3600);
    json_t *ps = json_array();
    for (size_t i = 0; i < nsecs; i++)
        json_array_append_new(ps, json_pack("[I, I, I, I]", (json_int_t)secs[i].t_s,
                                            (json_int_t)secs[i].requests,
                                            (json_int_t)secs[i].failed, (json_int_t)secs[i].slow));
    json_object_set_new(t, "per_second", ps);
    free(secs);
    json_object_set_new(j, "traffic", t);
    return j;
}

static int make_dirs(const char *dir)
{
    struct buf p = BUF_INIT;
    buf_addstr(&p, dir);
    int rc = 0;
    for (size_t i = 1; i <= p.len && rc == 0; i++) {
        if (p.ptr[i] != '/' && p.ptr[i] != '\0')
            continue;
        char c = p.ptr[i];
        p.ptr[i] = '\0';
        if (mkdir(p.ptr, 0755) != 0 && errno != EEXIST)
            rc = -1;
        p.ptr[i] = c;
    }
    buf_release(&p);
    return rc;
}

static int write_outputs(struct demo_run *r, int64_t end_us)
{
    const char *dir = r->o.output;
    if (make_dirs(dir) < 0) {
        fprintf(stderr, "sleuth demo: cannot create '%s': %s\n", dir, strerror(errno));
        return EXIT_INPUT;
    }
    int rc = EXIT_OK;
    bool postmortem = false;
    struct buf log = BUF_INIT, json_path = BUF_INIT;
    buf_addf(&log, "%s/postgresql.log", dir);
    buf_addf(&json_path, "%s/demo.json", dir);
    if (copy_file(demo_server_log_path(r->srv), log.ptr) < 0) {
        fprintf(stderr, "sleuth demo: cannot copy the server log to '%s': %s\n", log.ptr,
                strerror(errno));
        rc = EXIT_INPUT;
    } else {
        int wrc = write_reports(r, log.ptr, dir, &r->log_diagnosis, &postmortem);
        if (wrc != EXIT_OK)
            rc = wrc;
    }
    json_t *j = run_json(r, end_us);
    if (json_dump_file(j, json_path.ptr,
                       JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) != 0) {
        fprintf(stderr, "sleuth demo: cannot write '%s'\n", json_path.ptr);
        rc = EXIT_INPUT;
    }
    json_decref(j);
    if (rc == EXIT_OK)
        printf("\nsleuth demo: the server log, the access log, its report (report.html, "
               "report.json)%s and demo.json are in %s/\n",
               postmortem ? ", the postmortem (postmortem.md, postmortem.html)" : "", dir);
    buf_release(&log);
    buf_release(&json_path);
    return rc;
}

/* --- setup ---------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct demo_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->fault = DEMO_MISSING_INDEX;
    o->scale = 1;
    o->steady_us = 40 * 1000000LL;
    o->after_us = 40 * 1000000LL;
    o->recover_us = 30 * 1000000LL;
    o->undo = true;
    o->interval_us = 2 * 1000000LL;
    o->clients = 4;
    o->output = "sleuth-demo";
    o->color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    detect_config_init(&o->detect);
    struct err err;
    err_clear(&err);
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "s:i:c:o:h", long_options, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 's':
            o->scale = strtod(optarg, &end);
            if (*end || !(o->scale >= 0.01 && o->scale <= 100))
                return usage_error("demo", "--scale takes a number from 0.01 to 100, not '%s'",
                                   optarg);
            break;
        case OPT_STEADY:
            if (!parse_duration_us(optarg, 1000000, &o->steady_us) || o->steady_us < 0)
                return usage_error("demo", "invalid --steady '%s'", optarg);
            break;
        case OPT_AFTER:
            if (!parse_duration_us(optarg, 1000000, &o->after_us) || o->after_us <= 0)
                return usage_error("demo", "invalid --after '%s'", optarg);
            break;
        case OPT_RECOVER:
            if (!parse_duration_us(optarg, 1000000, &o->recover_us) || o->recover_us <= 0)
                return usage_error("demo", "invalid --recover '%s'", optarg);
            break;
        case OPT_NO_UNDO:
            o->undo = false;
            break;
        case 'i':
            if (!parse_duration_us(optarg, 1000000, &o->interval_us) || o->interval_us < 100000)
                return usage_error("demo", "invalid --interval '%s' (at least 100ms)", optarg);
            break;
        case 'c':
            o->clients = (int)strtol(optarg, &end, 10);
            if (*end || o->clients < 1 || o->clients > 32)
                return usage_error("demo", "--clients takes a number from 1 to 32, not '%s'",
                                   optarg);
            break;
        case OPT_SET:
            if (detect_config_set_arg(&o->detect, optarg, &err) < 0)
                return usage_error("demo", "%s", err.msg);
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_KEEP:
            o->keep = true;
            break;
        case OPT_NO_COLOR:
            o->color = false;
            break;
        case 'h':
            cmd_demo_help();
            return -1;
        default:
            fprintf(stderr, "try 'sleuth demo --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        if (optind + 1 < argc)
            return usage_error("demo", "one scenario at a time");
        if (demo_fault_parse(argv[optind], &o->fault) < 0)
            return usage_error("demo", "unknown scenario '%s' (see sleuth demo --help)",
                               argv[optind]);
    }
    /* Baselines need min_history judged intervals, after the first (baseline-only) poll. */
    int64_t need = (int64_t)(o->detect.min_history + 2) * o->interval_us;
    if (o->steady_us < need)
        log_warn("sleuth demo: --steady %.0fs leaves fewer than %d judged intervals before the "
                 "fault: detectors without a baseline will not judge it",
                 (double)o->steady_us / 1e6, o->detect.min_history + 1);
    return 0;
}

/* The watch's history, in the output dir: a fresh store for this story. */
static int open_store(struct demo_run *r)
{
    struct buf path = BUF_INIT;
    struct err err;
    err_clear(&err);
    int rc = 0;
    if (make_dirs(r->o.output) < 0) {
        fprintf(stderr, "sleuth demo: cannot create '%s': %s\n", r->o.output, strerror(errno));
        rc = -1;
    }
    static const char *const files[] = { "", "-wal", "-shm" };
    for (size_t i = 0; rc == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
        buf_reset(&path);
        buf_addf(&path, "%s/sleuth.db%s", r->o.output, files[i]);
        unlink(path.ptr);
    }
    buf_reset(&path);
    buf_addf(&path, "%s/sleuth.db", r->o.output);
    if (rc == 0 && (store_open(&r->store, path.ptr, false, &err) < 0 ||
                    store_set_meta(r->store, "target", "sleuth demo", &err) < 0 ||
                    store_set_meta(r->store, "incidents", "1", &err) < 0)) {
        fprintf(stderr, "sleuth demo: %s\n", err.msg);
        rc = -1;
    }
    buf_release(&path);
    return rc;
}

static int start_all(struct demo_run *r)
{
    struct err err;
    err_clear(&err);
    struct demo_server_opts so;
    demo_server_opts_init(&so);
    so.say = say_line;
    int64_t t0 = clock_mono_us();
    if (demo_server_start(&r->srv, &so, &err) < 0) {
        fprintf(stderr, "sleuth demo: cannot start PostgreSQL: %s\n", err.msg);
        return EXIT_DB;
    }
    printf("  server ready in %.1f s%s\n", (double)(clock_mono_us() - t0) / 1e6,
           demo_server_has_hypopg(r->srv) ? " (with hypopg)" : "");
    if (stop_signal_received())
        return 128 + stop_signal_received();
    demo_shop_sizes(r->o.scale, &r->sizes);
    printf("  loading the shop: %lld customers, %lld products, %lld orders, %lld order items\n",
           (long long)r->sizes.customers, (long long)r->sizes.products, (long long)r->sizes.orders,
           (long long)r->sizes.order_items);
    fflush(stdout);
    t0 = clock_mono_us();
    if (demo_shop_load(demo_server_app_conninfo(r->srv), &r->sizes, &err) < 0) {
        fprintf(stderr, "sleuth demo: %s\n", err.msg);
        return EXIT_DB;
    }
    r->load_s = (double)(clock_mono_us() - t0) / 1e6;
    printf("  shop loaded in %.1f s\n", r->load_s);
    if (stop_signal_received())
        return 128 + stop_signal_received();

    struct demo_traffic_opts to;
    demo_traffic_opts_init(&to);
    to.conninfo = demo_server_app_conninfo(r->srv);
    to.sizes = r->sizes;
    to.clients = r->o.clients;
    if (make_dirs(r->o.output) < 0) {
        fprintf(stderr, "sleuth demo: cannot create '%s': %s\n", r->o.output, strerror(errno));
        return EXIT_INPUT;
    }
    struct buf ap = BUF_INIT;
    buf_addf(&ap, "%s/access.log", r->o.output);
    r->access_path = buf_detach(&ap, NULL);
    r->access = fopen(r->access_path, "w");
    if (!r->access) {
        fprintf(stderr, "sleuth demo: cannot create '%s': %s\n", r->access_path, strerror(errno));
        return EXIT_INPUT;
    }
    to.access_log = r->access;
    to.slow_us = DEMO_SLOW_US;
    if (demo_traffic_start(&r->traffic, &to, &err) < 0) {
        fprintf(stderr, "sleuth demo: %s\n", err.msg);
        return EXIT_BUG;
    }
    r->start_us = clock_realtime_us();
    struct poller_opts po;
    poller_opts_init(&po);
    r->poller = poller_new(demo_server_conninfo(r->srv), &po);
    if (logfollow_open(&r->log, demo_server_log_path(r->srv), LOGFMT_STDERR,
                       demo_server_log_prefix(), &err) < 0)
        log_warn("sleuth demo: not following the server log: %s", err.msg);
    struct engine_hooks hooks = { .alert = on_alert, .incident = on_incident, .ctx = r };
    r->engine = engine_new(&r->o.detect, &hooks);
    if (open_store(r) < 0)
        return EXIT_INPUT;
    printf("\nTraffic: %d clients (browse, search, checkout, order updates); sleuth watches "
           "every %.3g s; the fault comes at T = %+.0fs\n\n",
           r->o.clients, (double)r->o.interval_us / 1e6,
           r->o.fault == DEMO_STEADY ? 0.0 : (double)r->o.steady_us / 1e6);
    return 0;
}

static int stop_all(struct demo_run *r, bool outputs)
{
    int rc = EXIT_OK;
    int64_t end = clock_realtime_us();
    demo_traffic_stop(r->traffic);
    if (r->access && fclose(r->access) != 0)
        fprintf(stderr, "sleuth demo: cannot write '%s': %s\n", r->access_path, strerror(errno));
    r->access = NULL;
    logfollow_free(r->log);
    r->log = NULL;
    poller_free(r->poller);
    r->poller = NULL;
    if (r->srv) {
        struct err err;
        err_clear(&err);
        if (demo_server_stop(r->srv, &err) < 0)
            fprintf(stderr, "sleuth demo: cannot stop PostgreSQL: %s\n", err.msg);
        if (outputs && r->traffic)
            rc = write_outputs(r, end);
        if (r->o.keep)
            printf("sleuth demo: the server's files are kept in %s\n", demo_server_dir(r->srv));
        else
            demo_server_remove(r->srv);
    }
    demo_traffic_free(r->traffic);
    free(r->access_path);
    r->access_path = NULL;
    demo_server_free(r->srv);
    demo_fault_state_free(r->fault_state);
    r->fault_state = NULL;
    engine_free(r->engine);
    store_close(r->store);
    r->store = NULL;
    json_decref(r->alerts);
    json_decref(r->incidents);
    json_decref(r->diagnosis);
    json_decref(r->advice);
    json_decref(r->log_diagnosis);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    struct demo_run r;
    memset(&r, 0, sizeof(r));
    int rc = parse_args(argc, argv, &r.o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    if (stop_signals_setup() < 0) {
        fprintf(stderr, "sleuth demo: cannot set up signals: %s\n", strerror(errno));
        return EXIT_BUG;
    }
    demo_fault_signals(r.o.fault, &r.sig);
    r.alerts = json_array();
    r.incidents = json_array();
    printf("sleuth demo: %s: %s\n", demo_fault_name(r.o.fault), demo_fault_description(r.o.fault));
    fflush(stdout);
    rc = start_all(&r);
    if (rc == 0)
        rc = run_loop(&r);
    bool finished = rc == EXIT_OK;
    if (finished) {
        if (r.o.fault != DEMO_STEADY && !r.detect_us)
            printf("\nsleuth did not detect the fault within %.0f s\n", (double)r.o.after_us / 1e6);
        print_diagnosis(&r);
        /* Advice while the fault still runs: the sessions holding connections are still there. */
        print_advice(&r);
        if (r.o.undo && r.o.fault != DEMO_STEADY)
            rc = recover(&r);
        r.diagnosis = engine_json(r.engine);
        demo_traffic_stop(r.traffic);
    } else if (rc > 128) {
        printf("\nsleuth demo: stopping (%s)\n", stop_signal_name(rc - 128));
    }
    fflush(stdout);
    int orc = stop_all(&r, finished);
    if (rc == EXIT_OK)
        rc = orc;
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = rc ? rc : EXIT_INPUT;
    return rc;
}
