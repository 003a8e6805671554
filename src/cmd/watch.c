/*
 * `sleuth watch`: follow a live PostgreSQL. Every interval it polls the
 * server (live/poll.c), adds what the followed log and PgBouncer say, and
 * hands the interval to the incident engine (engine/engine.h: detectors,
 * alerts with hysteresis, incidents and their diagnosis), then to the
 * store and the HTTP server; each incident change goes to the console and
 * the alert sinks. One thread runs the loop, so polls never overlap; the
 * webhook and the HTTP server have their own threads and never wait on it.
 */
#include "cmd.h"

#include "detect/config.h"
#include "engine/engine.h"
#include "live/conninfo.h"
#include "live/logfollow.h"
#include "live/pgbouncer.h"
#include "live/poll.h"
#include "sink/api.h"
#include "sink/console.h"
#include "sink/history.h"
#include "sink/httpd.h"
#include "sink/jsonl.h"
#include "sink/metrics.h"
#include "sink/page.h"
#include "sink/webhook.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

static const char *const usage[] = {
    "usage: sleuth watch [options] [CONNINFO|URI]",
    "",
    "Follows a live PostgreSQL server (13 to 17) through libpq: pg_stat_statements,",
    "pg_stat_activity, blocking, pg_stat_database, table and index statistics. Keeps the",
    "history in SQLite, detects regressions, surges, saturation and lock contention as they",
    "start, alerts, and serves Prometheus metrics and a live page. The connection takes a",
    "conninfo string or URI and the PG* environment variables, like psql; the pg_monitor",
    "role is enough. A password on the command line is overwritten in the process's",
    "argv at start (ps shows x's); PGPASSWORD, PGPASSFILE and ~/.pgpass keep it off.",
    "",
    "  -d, --dbname CONNINFO     the server to watch (or give it as the argument)",
    "  -i, --interval DUR        poll every DUR (default 10s; 500ms, 10s, 1m or seconds)",
    "      --once                poll twice one interval apart, print the state and the",
    "                            findings as JSON on stdout, and exit",
    "      --count N             stop after N polls",
    "      --duration DUR        stop after DUR",
    "  -s, --store PATH          keep the history in this SQLite file (default ./sleuth.db)",
    "      --no-store            keep no history",
    "      --store-force         write into the store even if PRAGMA quick_check finds it",
    "                            damaged (without it, sleuth refuses a damaged store)",
    "      --retention DUR       drop history older than DUR (default 14d); older than a",
    "                            day is kept per hour",
    "      --listen ADDR:PORT    serve /metrics, /api/... and a live page (127.0.0.1 unless",
    "                            an address is given; port 0 picks a free one)",
    "      --alerts-jsonl FILE   append alert changes as JSON lines to FILE ('-' = stdout)",
    "      --webhook URL         POST alert changes to URL (its token is scrubbed from",
    "                            the command line; better: --webhook-file or the",
    "                            SLEUTH_WEBHOOK_URL environment variable)",
    "      --webhook-file FILE   read the webhook URL from FILE's first line ('-' = stdin)",
    "      --webhook-format F    generic (default), slack, alertmanager",
    "  -c, --config FILE         detector thresholds (name = value lines; see sleuth(1))",
    "      --set NAME=VALUE      set one threshold (repeatable; after --config)",
    "      --log PATH            follow the server's log file too (like tail -F)",
    "      --log-format FMT      auto (default), stderr, csvlog, jsonlog",
    "      --prefix PREFIX       the log's log_line_prefix (default: detect)",
    "      --pgbouncer CONNINFO  also poll a PgBouncer admin console (SHOW POOLS, SHOW STATS)",
    "      --no-color            no colours in the console alerts",
    "  -h, --help                this help",
    "",
    "Exit status: 0 stopped (SIGINT, SIGTERM, --count, --duration) or --once done, 2 usage",
    "error, 3 the store or an output could not be opened, 4 --once could not reach the",
    "server.",
};

void cmd_watch_help(void)
{
    for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
        printf("%s\n", usage[i]);
}

enum {
    OPT_ONCE = 256,
    OPT_COUNT,
    OPT_DURATION,
    OPT_NO_STORE,
    OPT_STORE_FORCE,
    OPT_RETENTION,
    OPT_LISTEN,
    OPT_ALERTS_JSONL,
    OPT_WEBHOOK,
    OPT_WEBHOOK_FORMAT,
    OPT_WEBHOOK_FILE,
    OPT_SET,
    OPT_LOG,
    OPT_LOG_FORMAT,
    OPT_PREFIX,
    OPT_PGBOUNCER,
    OPT_NO_COLOR,
};

static const struct option long_options[] = {
    { "dbname", required_argument, NULL, 'd' },
    { "interval", required_argument, NULL, 'i' },
    { "once", no_argument, NULL, OPT_ONCE },
    { "count", required_argument, NULL, OPT_COUNT },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "store", required_argument, NULL, 's' },
    { "no-store", no_argument, NULL, OPT_NO_STORE },
    { "store-force", no_argument, NULL, OPT_STORE_FORCE },
    { "retention", required_argument, NULL, OPT_RETENTION },
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "alerts-jsonl", required_argument, NULL, OPT_ALERTS_JSONL },
    { "webhook", required_argument, NULL, OPT_WEBHOOK },
    { "webhook-format", required_argument, NULL, OPT_WEBHOOK_FORMAT },
    { "webhook-file", required_argument, NULL, OPT_WEBHOOK_FILE },
    { "config", required_argument, NULL, 'c' },
    { "set", required_argument, NULL, OPT_SET },
    { "log", required_argument, NULL, OPT_LOG },
    { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
    { "prefix", required_argument, NULL, OPT_PREFIX },
    { "pgbouncer", required_argument, NULL, OPT_PGBOUNCER },
    { "no-color", no_argument, NULL, OPT_NO_COLOR },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

struct watch_opts {
    char *conninfo; /* owned, like webhook and pgbouncer (secret_arg_take) */
    int64_t interval_us;
    bool once;
    long count;          /* 0 = no limit */
    int64_t duration_us; /* 0 = no limit */
    const char *store;   /* NULL = none */
    bool store_force;    /* write into it even if quick_check finds damage */
    int64_t retention_us;
    const char *listen;
    const char *alerts_jsonl;
    char *webhook;
    enum webhook_format webhook_format;
    const char *log_path;
    enum log_format log_format;
    const char *prefix;
    char *pgbouncer;
    bool color;
    struct detect_config detect;
};

struct watch {
    struct watch_opts o;
    struct poller *poller;
    struct logfollow *log;
    struct pgbouncer *pgb;
    struct engine *engine;
    struct store *store;
    struct httpd *httpd;
    struct history *hist;
    struct metrics_state *metrics;
    struct webhook *wh;
    FILE *jsonl;
    bool jsonl_failed;
    uint64_t polls;
    int64_t last_prune_us;
    int64_t last_refresh_us; /* Alertmanager forgets alerts it has not heard of for 5 min */
    struct sample latest;    /* what the HTTP server shows */
    bool have_latest;
};

/* --- alerts and incidents ----------------------------------------------------- */

/* A detector alert: the store keeps each change (the sinks hear of incidents). */
static void on_alert(void *ctx, enum alert_change change, const struct alert *a)
{
    struct watch *w = ctx;
    struct err err;
    err_clear(&err);
    if (w->store && store_write_alert(w->store, change, a, &err) < 0)
        log_error("sleuth watch: %s", err.msg);
}

/* An incident opened, changed or resolved: one block on the console, one alert per sink. */
static void on_incident(void *ctx, enum incident_change_kind change, const struct incident *inc)
{
    struct watch *w = ctx;
    struct err err;
    err_clear(&err);
    if (!w->o.once) {
        struct buf b = BUF_INIT;
        console_incident_format(&b, change, inc, w->o.color);
        fputs(b.ptr, stdout);
        fflush(stdout);
        buf_release(&b);
    }
    if (w->jsonl && !w->jsonl_failed && jsonl_incident_write(w->jsonl, change, inc, &err) < 0) {
        log_error("sleuth watch: %s (no more incidents go there)", err.msg);
        w->jsonl_failed = true;
    }
    if (w->wh)
        webhook_send(w->wh, change, inc);
    if (w->store && store_write_incident(w->store, inc, &err) < 0)
        log_error("sleuth watch: %s", err.msg);
}

/* --- one interval --------------------------------------------------------- */

static void publish(struct watch *w)
{
    if (!w->httpd || !w->have_latest)
        return;
    if (w->wh) {
        uint64_t sent, failed, dropped, queued;
        webhook_stats(w->wh, &sent, &failed, &dropped, &queued);
        metrics_state_set_webhook(w->metrics, sent, failed, dropped, queued);
    }
    size_t nalerts, nincs;
    const struct alert *alerts = alert_book_firing(engine_alert_book(w->engine), &nalerts);
    const struct incident *incs = engine_incidents(w->engine, &nincs);
    api_publish_all(w->httpd, &w->latest, alerts, nalerts, incs, nincs, w->hist, w->metrics);
}

static void log_problems(const struct sample *s, uint64_t poll)
{
    for (int i = 0; i < s->nproblems; i++)
        log_warn("sleuth watch: poll %llu: %s: %s%s%s", (unsigned long long)poll,
                 s->problems[i].check, s->problems[i].message, *s->problems[i].hint ? "; " : "",
                 s->problems[i].hint);
}

/* Polls every source into s. Returns whether the server answered. */
static bool poll_sources(struct watch *w, struct sample *s)
{
    struct err err;
    err_clear(&err);
    struct timespec c0, c1;
    int64_t t0 = clock_mono_us();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    bool up = poller_poll(w->poller, clock_realtime_us(), s, &err) == 0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    /* bench/watch reads this: the poll's wall time and the watcher's CPU time in it. */
    log_debug("sleuth watch: poll timing: %.3f ms wall, %.3f ms cpu",
              (double)(clock_mono_us() - t0) / 1e3,
              (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6);
    /* Both record what went wrong as problems in the sample, logged below. */
    if (w->log && logfollow_read(w->log, s, &err) < 0)
        log_debug("sleuth watch: log: %s", err.msg);
    if (w->pgb && pgbouncer_poll(w->pgb, s, &err) < 0)
        log_debug("sleuth watch: pgbouncer: %s", err.msg);
    w->polls++;
    log_problems(s, w->polls);
    if (!up)
        log_info("sleuth watch: poll %llu: gap", (unsigned long long)w->polls);
    else if (s->gap) /* the server answered but hid rows: say so at the default level */
        log_warn("sleuth watch: poll %llu: gap, rows hidden from this role: no data kept",
                 (unsigned long long)w->polls);
    else
        log_info("sleuth watch: poll %llu: ok, %d connections, %d queries%s",
                 (unsigned long long)w->polls, s->connections, s->nqueries,
                 s->baseline_only ? " (baseline)" : "");
    return up;
}

static void store_interval(struct watch *w, const struct sample *s)
{
    if (!w->store)
        return;
    struct err err;
    err_clear(&err);
    if (store_write_sample(w->store, s, &err) < 0)
        log_error("sleuth watch: %s", err.msg);
    /* Pruning is cheap but not free: once an hour is enough for a retention in days. */
    if (s->end_us - w->last_prune_us >= 3600 * 1000000LL) {
        w->last_prune_us = s->end_us;
        if (store_prune(w->store, s->end_us, w->o.retention_us, 86400 * 1000000LL, &err) < 0)
            log_error("sleuth watch: %s", err.msg);
    }
}

static void interval(struct watch *w, struct sample *s)
{
    engine_step(w->engine, s);
    const struct incident *open = engine_open_incident(w->engine);
    if (w->wh && open && s->end_us - w->last_refresh_us >= 60 * 1000000LL) {
        w->last_refresh_us = s->end_us;
        webhook_refresh(w->wh, open);
    }
    store_interval(w, s);
    history_add(w->hist, s);
    metrics_state_add(w->metrics, s);
    if (w->have_latest)
        sample_release(&w->latest);
    w->latest = *s; /* the sample's arena moves with it */
    sample_init(s);
    w->have_latest = true;
    publish(w);
}

/* --- --once --------------------------------------------------------------- */

static int run_once(struct watch *w)
{
    struct sample s;
    for (int poll = 0; poll < 2; poll++) {
        if (poll && !stop_sleep_until(clock_mono_us() + w->o.interval_us))
            return EXIT_OK;
        sample_init(&s);
        if (!poll_sources(w, &s)) {
            log_error("sleuth watch: %s", s.nproblems ? s.problems[0].message : "no answer");
            sample_release(&s);
            return EXIT_DB;
        }
        engine_step(w->engine, &s);
        if (!poll) {
            log_info("sleuth watch: first poll done");
            sample_release(&s);
        }
    }
    json_t *out = json_object();
    json_object_set_new(out, "target", json_string(poller_target(w->poller)));
    json_object_set_new(out, "state", api_sample_json(&s));
    size_t nfindings;
    const struct finding *findings = engine_findings(w->engine, &nfindings);
    json_t *arr = json_array();
    for (size_t i = 0; i < nfindings; i++)
        json_array_append_new(arr, finding_json(&findings[i]));
    json_object_set_new(out, "findings", arr);
    json_t *dj = engine_json(w->engine);
    json_object_update(out, dj);
    json_decref(dj);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(out);
    sample_release(&s);
    return EXIT_OK;
}

/* --- the loop ---------------------------------------------------------------- */

static int run_loop(struct watch *w)
{
    int64_t start = clock_mono_us(), next = start;
    log_warn("sleuth watch: watching %s every %.3g s%s%s", poller_target(w->poller),
             (double)w->o.interval_us / 1e6, w->o.store ? ", history in " : "",
             w->o.store ? w->o.store : "");
    for (;;) {
        struct sample s;
        sample_init(&s);
        poll_sources(w, &s);
        interval(w, &s);
        sample_release(&s);
        if (w->o.count && w->polls >= (uint64_t)w->o.count)
            break;
        next += w->o.interval_us;
        /* A poll that overran its interval is not made up for: the next starts now. */
        if (next < clock_mono_us())
            next = clock_mono_us();
        if (w->o.duration_us && next - start > w->o.duration_us)
            break;
        if (!stop_sleep_until(next))
            break;
    }
    if (stop_signal_received())
        log_warn("sleuth watch: stopping (%s)", stop_signal_name(stop_signal_received()));
    return EXIT_OK;
}

/* --- setup ------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, struct watch_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->interval_us = 10 * 1000000LL;
    o->store = "sleuth.db";
    o->retention_us = 14 * 86400 * 1000000LL;
    o->color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    detect_config_init(&o->detect);
    struct err err;
    err_clear(&err);
    int ch;
    const char *webhook_file = NULL;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "d:i:s:c:h", long_options, NULL)) != -1) {
        switch (ch) {
        case 'd':
            o->conninfo = optarg;
            break;
        case 'i':
            if (!parse_duration_us(optarg, 1000000, &o->interval_us) || o->interval_us < 100000)
                return usage_error("watch", "invalid --interval '%s' (at least 100ms)", optarg);
            break;
        case OPT_ONCE:
            o->once = true;
            break;
        case OPT_COUNT: {
            char *end;
            o->count = strtol(optarg, &end, 10);
            if (*end || o->count < 1)
                return usage_error("watch", "invalid --count '%s'", optarg);
            break;
        }
        case OPT_DURATION:
            if (!parse_duration_us(optarg, 1000000, &o->duration_us) || o->duration_us <= 0)
                return usage_error("watch", "invalid --duration '%s'", optarg);
            break;
        case 's':
            o->store = optarg;
            break;
        case OPT_NO_STORE:
            o->store = NULL;
            break;
        case OPT_STORE_FORCE:
            o->store_force = true;
            break;
        case OPT_RETENTION:
            if (!parse_duration_us(optarg, 86400 * 1000000LL, &o->retention_us) ||
                o->retention_us < 3600 * 1000000LL)
                return usage_error("watch", "invalid --retention '%s' (at least 1h)", optarg);
            break;
        case OPT_LISTEN:
            o->listen = optarg;
            break;
        case OPT_ALERTS_JSONL:
            o->alerts_jsonl = optarg;
            break;
        case OPT_WEBHOOK:
            o->webhook = optarg;
            break;
        case OPT_WEBHOOK_FILE:
            webhook_file = optarg;
            break;
        case OPT_WEBHOOK_FORMAT:
            if (webhook_format_parse(optarg, &o->webhook_format, &err) < 0)
                return usage_error("watch", "%s", err.msg);
            break;
        case 'c':
            if (detect_config_load(&o->detect, optarg, &err) < 0) {
                fprintf(stderr, "sleuth watch: %s\n", err.msg);
                return EXIT_USAGE;
            }
            break;
        case OPT_SET:
            if (detect_config_set_arg(&o->detect, optarg, &err) < 0)
                return usage_error("watch", "%s", err.msg);
            break;
        case OPT_LOG:
            o->log_path = optarg;
            break;
        case OPT_LOG_FORMAT:
            if (parse_log_format(optarg, &o->log_format) < 0)
                return usage_error("watch", "unknown --log-format '%s'", optarg);
            break;
        case OPT_PREFIX:
            o->prefix = optarg;
            break;
        case OPT_PGBOUNCER:
            o->pgbouncer = optarg;
            break;
        case OPT_NO_COLOR:
            o->color = false;
            break;
        case 'h':
            cmd_watch_help();
            return -1;
        default:
            fprintf(stderr, "try 'sleuth watch --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        if (o->conninfo || optind + 1 < argc)
            return usage_error("watch", "one server to watch: give CONNINFO once");
        o->conninfo = argv[optind];
    }
    if (o->once)
        o->store = NULL; /* a one-shot look keeps no history */
    const char *env_url = getenv("SLEUTH_WEBHOOK_URL");
    if (o->webhook) {
        o->webhook = secret_arg_take(o->webhook, webhook_url_scrub);
    } else if (webhook_file) {
        char msg[300];
        o->webhook = secret_read_file(webhook_file, msg, sizeof(msg));
        if (!o->webhook)
            return usage_error("watch", "--webhook-file: %s", msg);
    } else if (env_url && *env_url) {
        o->webhook = xstrdup(env_url);
    }
    o->conninfo = secret_arg_take(o->conninfo, conninfo_scrub);
    o->pgbouncer = secret_arg_take(o->pgbouncer, conninfo_scrub);
    return 0;
}

static int open_outputs(struct watch *w)
{
    struct err err;
    err_clear(&err);
    if (w->o.store && store_open(&w->store, w->o.store, w->o.store_force, &err) < 0) {
        fprintf(stderr, "sleuth watch: %s\n", err.msg);
        return EXIT_INPUT;
    }
    if (w->store && (store_set_meta(w->store, "target", poller_target(w->poller), &err) < 0 ||
                     store_set_meta(w->store, "sleuth_version", SLEUTH_VERSION, &err) < 0 ||
                     store_set_meta(w->store, "incidents", "1", &err) < 0)) {
        fprintf(stderr, "sleuth watch: %s\n", err.msg);
        return EXIT_INPUT;
    }
    if (w->o.alerts_jsonl) {
        w->jsonl = strcmp(w->o.alerts_jsonl, "-") == 0 ? stdout : fopen(w->o.alerts_jsonl, "a");
        if (!w->jsonl) {
            fprintf(stderr, "sleuth watch: cannot open '%s': %s\n", w->o.alerts_jsonl,
                    strerror(errno));
            return EXIT_INPUT;
        }
    }
    if (w->o.webhook) {
        struct webhook_opts wo;
        webhook_opts_init(&wo);
        wo.url = w->o.webhook;
        wo.format = w->o.webhook_format;
        wo.instance = poller_target(w->poller);
        if (webhook_new(&w->wh, &wo, &err) < 0) {
            fprintf(stderr, "sleuth watch: %s\n", err.msg);
            return EXIT_USAGE;
        }
    }
    if (w->o.log_path &&
        logfollow_open(&w->log, w->o.log_path, w->o.log_format, w->o.prefix, &err) < 0) {
        fprintf(stderr, "sleuth watch: %s\n", err.msg);
        return EXIT_INPUT;
    }
    if (w->o.pgbouncer)
        w->pgb = pgbouncer_new(w->o.pgbouncer);
    if (w->o.listen) {
        if (httpd_start(&w->httpd, w->o.listen, &err) < 0) {
            fprintf(stderr, "sleuth watch: %s\n", err.msg);
            return EXIT_INPUT;
        }
        log_warn("sleuth watch: listening on http://%s/", httpd_authority(w->httpd));
        httpd_publish(w->httpd, "/", "text/html; charset=utf-8", page_html, page_html_len);
    }
    return 0;
}

static void watch_close(struct watch *w)
{
    if (w->httpd)
        httpd_stop(w->httpd);
    if (w->wh) {
        /* Stop first: what the deadline leaves queued is dropped, and must be in the count. */
        uint64_t sent, failed, dropped, queued, dropped_before;
        struct err err;
        webhook_stats(w->wh, NULL, NULL, &dropped_before, &queued);
        webhook_stop(w->wh, clock_mono_us() + 5 * 1000000LL);
        webhook_stats(w->wh, &sent, &failed, &dropped, NULL);
        if (dropped > dropped_before)
            log_warn("sleuth watch: webhook: %llu of %llu alert changes still queued at exit "
                     "were dropped unsent",
                     (unsigned long long)(dropped - dropped_before), (unsigned long long)queued);
        if (failed || dropped)
            log_warn("sleuth watch: webhook: %llu alert changes sent, %llu failed, %llu dropped",
                     (unsigned long long)sent, (unsigned long long)failed,
                     (unsigned long long)dropped);
        if (webhook_last_error(w->wh, &err))
            log_warn("sleuth watch: webhook: last error: %s", err.msg);
        webhook_free(w->wh, 0);
    }
    if (w->jsonl && w->jsonl != stdout)
        fclose(w->jsonl);
    store_close(w->store);
    logfollow_free(w->log);
    pgbouncer_free(w->pgb);
    poller_free(w->poller);
    engine_free(w->engine);
    history_free(w->hist);
    metrics_state_free(w->metrics);
    if (w->have_latest)
        sample_release(&w->latest);
    free(w->o.conninfo);
    free(w->o.pgbouncer);
    free(w->o.webhook);
}

int cmd_watch(int argc, char **argv)
{
    struct watch w;
    memset(&w, 0, sizeof(w));
    int rc = parse_args(argc, argv, &w.o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    if (stop_signals_setup() < 0) {
        fprintf(stderr, "sleuth watch: cannot set up signals: %s\n", strerror(errno));
        return EXIT_BUG;
    }
    struct poller_opts po;
    poller_opts_init(&po);
    w.poller = poller_new(w.o.conninfo, &po);
    struct engine_hooks hooks = { .alert = on_alert, .incident = on_incident, .ctx = &w };
    w.engine = engine_new(&w.o.detect, &hooks);
    w.hist = history_new(1440);
    w.metrics = metrics_state_new(20);
    rc = open_outputs(&w);
    if (rc == 0)
        rc = w.o.once ? run_once(&w) : run_loop(&w);
    watch_close(&w);
    return rc;
}
