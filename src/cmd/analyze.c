/*
 * `sleuth analyze`: read PostgreSQL logs and report what took the
 * database's time. Parses options, runs the analysis (stats/analysis.c)
 * and renders the report (report/). The only code that writes the report
 * to stdout or -o FILE.
 *
 * With --store PATH (and as `sleuth report`, the same code under another
 * name) the history that `sleuth watch` stored is read instead of logs:
 * its intervals are folded into the aggregates (stats/fromsample.h) and
 * its alerts listed, and the same renderers write the report.
 */
#include "cmd.h"

#include "detect/config.h"
#include "engine/fromlog.h"
#include "input/source.h"
#include "report/postmortem.h"
#include "report/render.h"
#include "stats/analysis.h"
#include "stats/fromsample.h"
#include "stats/web.h"
#include "store/store.h"
#include "util/err.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

static const char *const usage[] = {
    "usage: sleuth analyze [options] FILE|GLOB|- ...",
    "   or: sleuth analyze --store PATH [options]",
    "   or: sleuth report --store PATH [options]",
    "   or: sleuth postmortem [options] FILE|GLOB|- ... | --store PATH",
    "   or: sleuth analyze|postmortem --access LOG [options] [FILE ...]",
    "",
    "Reads PostgreSQL logs (stderr with any log_line_prefix, csvlog, jsonlog,",
    "syslog; plain or gzip/bzip2/xz/zstd compressed; '-' is standard input; each file",
    "in a zip, 7z or tar archive is an input named ARCHIVE:MEMBER) and reports",
    "which queries took the database's time, when, and what else went wrong.",
    "With --store, reads the history 'sleuth watch --store' kept instead (durations",
    "from pg_stat_statements: means only) and lists its alerts; 'sleuth report' is",
    "the same. 'sleuth postmortem' writes the draft postmortem of one incident",
    "(the worst unless --incident N) from the same inputs, as md (default), html",
    "or json.",
    "",
    "  -f, --format FMT        text (default), json, md, html",
    "  -o, --output FILE       write the report to FILE instead of stdout",
    "      --log-format FMT    auto (default), stderr, csvlog, jsonlog, cnpg, syslog,",
    "                          logplex, cloudsql, pgbouncer",
    "      --prefix PREFIX     the server's log_line_prefix (default: detect)",
    "      --access FILE       a web server access log (repeatable; GLOB, -, compressed",
    "                          files and archives too): the users' side, impact and false leads",
    "      --access-format F   combined, common, combined+rt, json, json:KEY=MEMBER,...,",
    "                          an nginx log_format or an Apache LogFormat (default: detect)",
    "      --slow D            a request slower than D was slow (default 1s)",
    "      --store PATH        report from a watch store instead of logs",
    "      --store-force       read the store even if PRAGMA quick_check finds it damaged",
    "      --since TIME        keep records at or after TIME (ISO 8601; UTC if no zone)",
    "      --until TIME        keep records before TIME",
    "      --db NAME[,NAME]    keep only these databases (repeatable)",
    "      --user NAME[,NAME]  keep only these users (repeatable)",
    "      --app NAME[,NAME]   keep only these application names (repeatable)",
    "      --min-duration D    keep only statements that took at least D (ms, or 1s, 500ms)",
    "      --interval D        timeline interval (default 1m; 10s, 5m, or seconds)",
    "      --no-examples       show no literal: examples and error statements normalised,",
    "                          messages masked, plans as outlines",
    "      --top N             rows per ranking (default 20; JSON: all)",
    "      --query-memory SIZE memory for the queries kept one by one (default 512M; 0: no",
    "                          limit); the queries beyond it are folded into `other`",
    "      --incident N        postmortem: the incident numbered N (default: the worst)",
    "  -j, --jobs N            worker threads (default: all cores)",
    "      --max-record SIZE   skip and count records longer than SIZE (default 64M; 1G, 512K)",
    "      --progress          force the progress bar (default: when stderr is a terminal)",
    "      --no-progress       never draw it",
    "  -h, --help              this help",
    "",
    "Exit status: 0 done, 2 usage error, 3 no input could be read, an input was",
    "damaged (the report covers what was read) or the report could not be written;",
    "postmortem: 1 when there is no incident to write.",
};

void cmd_analyze_help(void)
{
    for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
        printf("%s\n", usage[i]);
}

void cmd_report_help(void)
{
    cmd_analyze_help();
}

void cmd_postmortem_help(void)
{
    cmd_analyze_help();
}

enum {
    OPT_LOG_FORMAT = 256,
    OPT_PREFIX,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_DB,
    OPT_USER,
    OPT_APP,
    OPT_MIN_DURATION,
    OPT_INTERVAL,
    OPT_TOP,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_STORE,
    OPT_INCIDENT,
    OPT_STORE_FORCE,
    OPT_NO_EXAMPLES,
    OPT_ACCESS,
    OPT_ACCESS_FORMAT,
    OPT_SLOW,
    OPT_MAX_RECORD,
    OPT_QUERY_MEMORY,
};

static const struct option long_options[] = {
    { "format", required_argument, NULL, 'f' },
    { "output", required_argument, NULL, 'o' },
    { "jobs", required_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
    { "prefix", required_argument, NULL, OPT_PREFIX },
    { "since", required_argument, NULL, OPT_SINCE },
    { "until", required_argument, NULL, OPT_UNTIL },
    { "db", required_argument, NULL, OPT_DB },
    { "user", required_argument, NULL, OPT_USER },
    { "app", required_argument, NULL, OPT_APP },
    { "min-duration", required_argument, NULL, OPT_MIN_DURATION },
    { "interval", required_argument, NULL, OPT_INTERVAL },
    { "top", required_argument, NULL, OPT_TOP },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
    { "store", required_argument, NULL, OPT_STORE },
    { "incident", required_argument, NULL, OPT_INCIDENT },
    { "store-force", no_argument, NULL, OPT_STORE_FORCE },
    { "no-examples", no_argument, NULL, OPT_NO_EXAMPLES },
    { "access", required_argument, NULL, OPT_ACCESS },
    { "access-format", required_argument, NULL, OPT_ACCESS_FORMAT },
    { "slow", required_argument, NULL, OPT_SLOW },
    { "max-record", required_argument, NULL, OPT_MAX_RECORD },
    { "query-memory", required_argument, NULL, OPT_QUERY_MEMORY },
    { NULL, 0, NULL, 0 },
};

struct lists {
    const char **dbs, **users, **apps;
    size_t ndbs, nusers, napps;
};

static void lists_free(struct lists *l)
{
    const char **all[] = { l->dbs, l->users, l->apps };
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; all[k] && all[k][i]; i++)
            free((char *)all[k][i]);
        free(all[k]);
    }
}

static bool parse_time_arg(const char *s, int64_t *out)
{
    /* Accept a date alone ("2026-11-22") as its midnight. */
    char tmp[64];
    if (strlen(s) == 10) {
        snprintf(tmp, sizeof(tmp), "%s 00:00:00", s);
        s = tmp;
    }
    int off;
    size_t n = tstamp_parse(str_cstr(s), out, &off, NULL);
    return n && n == strlen(s);
}

static int parse_format(const char *s, enum report_format *f)
{
    if (strcmp(s, "text") == 0)
        *f = REPORT_TEXT;
    else if (strcmp(s, "json") == 0)
        *f = REPORT_JSON;
    else if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)
        *f = REPORT_MARKDOWN;
    else if (strcmp(s, "html") == 0)
        *f = REPORT_HTML;
    else
        return -1;
    return 0;
}

/*
 * Writes the report, or for `postmortem` the postmortem of the incident
 * numbered ro->incident (the worst when 0): EXIT_FINDINGS when there is none.
 */
static int write_report(const char *name, const struct analysis *a, const struct web *web,
                        const struct report_opts *ro, const struct alert *alerts, size_t nalerts,
                        const struct incident *incs, size_t nincs, const char *path)
{
    const struct incident *inc = NULL;
    struct incident web_inc;
    bool web_only = false;
    struct report r;
    report_init(&r, a, ro);
    report_set_alerts(&r, alerts, nalerts);
    report_set_incidents(&r, incs, nincs);
    report_set_web(&r, web);
    if (strcmp(name, "postmortem") == 0) {
        inc = postmortem_pick(incs, nincs, ro->incident);
        if (!inc && !ro->incident && postmortem_web_incident(&r, &web_inc)) {
            inc = &web_inc;
            web_only = true;
        }
        if (!inc) {
            if (ro->incident)
                fprintf(stderr, "sleuth postmortem: no incident numbered %d (%zu found)\n",
                        ro->incident, nincs);
            else
                fprintf(stderr, "sleuth postmortem: no incident in these data: nothing to write\n");
            report_release(&r);
            return EXIT_FINDINGS;
        }
    }
    FILE *out = stdout;
    if (path && strcmp(path, "-") != 0) {
        out = fopen(path, "w");
        if (!out) {
            fprintf(stderr, "sleuth %s: cannot write '%s': %s\n", name, path, strerror(errno));
            if (web_only)
                incident_release(&web_inc);
            report_release(&r);
            return EXIT_INPUT;
        }
    }
    int rc = web_only ? postmortem_write_web(&r, inc, out)
             : inc    ? postmortem_write(&r, inc, out)
                      : report_write(&r, out);
    if (web_only)
        incident_release(&web_inc);
    report_release(&r);
    /* A report cut short by a full disk must not exit 0. */
    if (fflush(out) != 0 || ferror(out))
        rc = -1;
    if (out != stdout && fclose(out) != 0)
        rc = -1;
    if (rc < 0) {
        fprintf(stderr, "sleuth %s: cannot write the report to '%s': %s\n", name,
                path ? path : "stdout", strerror(errno));
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* Warns about an input read only in part; returns whether it was damaged. */
static bool warn_partial(const struct analysis *a, const struct input_info *in)
{
    if (in->oversize_records)
        fprintf(stderr,
                "sleuth analyze: '%s':%llu: record longer than --max-record (%llu bytes) "
                "skipped (%llu in all)\n",
                in->path, (unsigned long long)in->first_oversize_line,
                (unsigned long long)a->opts.max_record_bytes,
                (unsigned long long)in->oversize_records);
    if (in->shrunk)
        fprintf(stderr,
                "sleuth analyze: '%s' shrank from %llu to %llu bytes while it was read "
                "(rotated with copytruncate?); what it lost was not analysed\n",
                in->path, (unsigned long long)in->size_before, (unsigned long long)in->size_after);
    if (in->damage)
        fprintf(stderr,
                "sleuth analyze: %s, after %llu bytes (decompressed); the records before "
                "are analysed\n",
                in->damage, (unsigned long long)in->damage_bytes);
    return in->damage != NULL;
}

/* Warns about every input that was not read whole; returns whether one was damaged. */
static bool warn_inputs(const struct analysis *a)
{
    bool damaged = false;
    for (size_t i = 0; i < a->ninputs; i++) {
        const struct input_info *in = &a->inputs[i];
        const struct input_stat *st = i < a->c.ninputs ? &a->c.inputs[i] : NULL;
        if (in->error) {
            fprintf(stderr, "sleuth analyze: %s\n", in->error);
            continue;
        }
        damaged |= warn_partial(a, in);
        uint64_t records = st ? st->records : 0, unparsed = st ? st->unparsed : 0;
        if (in->bytes == 0)
            fprintf(stderr, "sleuth analyze: '%s' is empty\n", in->path);
        else if (records == 0)
            fprintf(stderr,
                    "sleuth analyze: '%s': no PostgreSQL log record found (%llu line%s not "
                    "recognised; is it a log? try --log-format or --prefix)\n",
                    in->path, (unsigned long long)unparsed, unparsed == 1 ? "" : "s");
        else if (unparsed)
            fprintf(stderr,
                    "sleuth analyze: '%s': %llu line%s not recognised, first at line %llu\n",
                    in->path, (unsigned long long)unparsed, unparsed == 1 ? "" : "s",
                    (unsigned long long)st->first_unparsed[0]);
    }
    return damaged;
}

/* What went wrong reading the access logs, one line an input. */
static void warn_access(const char *name, const struct web *w)
{
    for (size_t i = 0; i < w->ninputs; i++) {
        const struct web_input *in = &w->inputs[i];
        if (in->error)
            fprintf(stderr, "sleuth %s: %s\n", name, in->error);
        else if (in->bad_lines)
            fprintf(stderr, "sleuth %s: '%s': %llu line%s not read as %s, first at line %llu\n",
                    name, in->path, (unsigned long long)in->bad_lines,
                    in->bad_lines == 1 ? "" : "s", in->format,
                    (unsigned long long)in->first_bad_line);
    }
}

/* Whether some input yielded a record: a run that read none failed, whatever the files were. */
static bool any_record(const struct analysis *a)
{
    for (size_t i = 0; i < a->c.ninputs; i++)
        if (a->c.inputs[i].records)
            return true;
    return false;
}

/* Alerts read back from a store, deep-copied (the store frees its own after each call). */
struct alert_list {
    struct alert *v;
    size_t n, cap;
};

static void collect_alert(void *ctx, const struct alert *a)
{
    struct alert_list *l = ctx;
    l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
    struct alert *dst = &l->v[l->n++];
    *dst = *a;
    finding_copy(&dst->f, &a->f);
}

/* Incidents read back from a store, deep-copied. */
struct incident_list {
    struct incident *v;
    size_t n, cap;
};

static void collect_incident(void *ctx, const struct incident *inc)
{
    struct incident_list *l = ctx;
    l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
    incident_copy(&l->v[l->n++], inc);
}

/* One pass over the stored intervals: the report's aggregates, and the engine if it runs. */
struct fold {
    struct collector *c;
    struct engine *engine; /* NULL when the store keeps the watcher's incidents */
};

static void fold_sample(void *ctx, const struct sample *smp)
{
    struct fold *f = ctx;
    collector_add_sample(f->c, smp);
    if (f->engine)
        engine_step(f->engine, smp);
}

/*
 * Reads the store's intervals, alerts and incidents in the --since/--until
 * range into a. The incidents are the ones the watcher stored, the verdict
 * its console printed; a store from a watcher that kept none (before
 * incidents existed) has the engine run over its intervals instead.
 */
static int read_store(struct store *st, struct analysis *a, struct alert_list *alerts,
                      struct incident_list *incs, struct err *err)
{
    int64_t since = a->opts.filter.since_us, until = a->opts.filter.until_us;
    since = since == TS_NONE ? INT64_MIN : since;
    until = until == TS_NONE ? INT64_MAX : until;
    struct buf flag = BUF_INIT;
    bool stored;
    if (store_get_meta(st, "incidents", &flag, &stored, err) < 0) {
        buf_release(&flag);
        return -1;
    }
    buf_release(&flag);
    struct detect_config cfg;
    detect_config_init(&cfg);
    struct fold f = { &a->c, stored ? NULL : engine_new(&cfg, NULL) };
    int rc = 0;
    if (store_time_range(st, &a->store->first_us, &a->store->last_us, err) < 0 ||
        store_read_samples(st, since, until, fold_sample, &f, err) < 0 ||
        store_read_alerts(st, since, until, collect_alert, alerts, err) < 0 ||
        (stored && store_read_incidents(st, since, until, collect_incident, incs, err) < 0))
        rc = -1;
    if (f.engine) {
        engine_finish(f.engine);
        size_t n;
        const struct incident *v = engine_incidents(f.engine, &n);
        for (size_t i = 0; i < n; i++)
            collect_incident(incs, &v[i]);
        engine_free(f.engine);
    }
    return rc;
}

/* `--store PATH`: the report from stored history instead of logs. */
static int run_store(const char *name, const char *path, bool force,
                     const struct analysis_opts *opts, const struct web *web,
                     const struct report_opts *ro, const char *output)
{
    /* store_open creates a missing file: a typo must not report an empty store. */
    struct stat sb;
    if (stat(path, &sb) < 0) {
        fprintf(stderr, "sleuth %s: cannot open store '%s': %s\n", name, path, strerror(errno));
        return EXIT_INPUT;
    }
    struct err err;
    err_clear(&err);
    struct store *st;
    if (store_open(&st, path, force, &err) < 0) {
        fprintf(stderr, "sleuth %s: %s\n", name, err.msg);
        return EXIT_INPUT;
    }
    struct buf target = BUF_INIT;
    bool found = false;
    int rc = EXIT_OK;
    struct analysis a;
    struct alert_list alerts = { 0 };
    struct incident_list incs = { 0 };
    if (store_get_meta(st, "target", &target, &found, &err) < 0) {
        fprintf(stderr, "sleuth %s: %s\n", name, err.msg);
        store_close(st);
        buf_release(&target);
        return EXIT_INPUT;
    }
    analysis_init_store(&a, opts, path, found ? target.ptr : NULL);
    if (read_store(st, &a, &alerts, &incs, &err) < 0) {
        fprintf(stderr, "sleuth %s: %s\n", name, err.msg);
        rc = EXIT_INPUT;
    }
    if (rc == EXIT_OK) {
        if (!a.c.samples.intervals && !a.c.samples.gaps)
            fprintf(stderr, "sleuth %s: '%s' holds no interval in this range\n", name, path);
        rc = write_report(name, &a, web, ro, alerts.v, alerts.n, incs.v, incs.n, output);
    }
    for (size_t i = 0; i < incs.n; i++)
        incident_release(&incs.v[i]);
    free(incs.v);
    for (size_t i = 0; i < alerts.n; i++)
        finding_release(&alerts.v[i].f);
    free(alerts.v);
    /* Only now: the alerts' unit strings belong to the store. */
    store_close(st);
    analysis_release(&a);
    buf_release(&target);
    return rc;
}

static int run(const char *name, int argc, char **argv)
{
    struct analysis_opts opts;
    struct report_opts ro = { .format =
                                  strcmp(name, "postmortem") == 0 ? REPORT_MARKDOWN : REPORT_TEXT,
                              .top = 20 };
    bool top_given = false;
    int progress = -1;
    const char *output = NULL, *store = NULL, *log_only = NULL;
    bool store_force = false;
    struct lists l = { 0 };
    char **access = NULL;
    size_t naccess = 0, access_cap = 0;
    struct web_opts wo = { .slow_us = 1000000 };
    struct web web_data, *web = NULL;
    analysis_opts_init(&opts);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    opts.jobs = ncpu > 0 ? (int)ncpu : 1;
    int rc = EXIT_OK;

    optind = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "f:o:j:h", long_options, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'f':
            if (parse_format(optarg, &ro.format) < 0)
                rc = usage_error(name, "unknown format '%s' (text, json, md, html)", optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'j':
            opts.jobs = (int)strtol(optarg, &end, 10);
            if (*end || opts.jobs < 1 || opts.jobs > 1024)
                rc = usage_error(name, "--jobs takes a number from 1 to 1024, not '%s'", optarg);
            break;
        case 'h':
            cmd_analyze_help();
            lists_free(&l);
            return EXIT_OK;
        case OPT_LOG_FORMAT:
            if (parse_log_format(optarg, &opts.format) < 0)
                rc = usage_error(name,
                                 "unknown log format '%s' (auto, stderr, csvlog, jsonlog, syslog)",
                                 optarg);
            log_only = "--log-format";
            break;
        case OPT_PREFIX:
            opts.prefix = optarg;
            log_only = "--prefix";
            break;
        case OPT_STORE:
            store = optarg;
            break;
        case OPT_INCIDENT:
            ro.incident = (int)strtol(optarg, &end, 10);
            if (*end || ro.incident < 1 || strcmp(name, "postmortem") != 0)
                rc = usage_error(name, "--incident takes a number from 1, for postmortem only");
            break;
        case OPT_STORE_FORCE:
            store_force = true;
            break;
        case OPT_SINCE:
            if (!parse_time_arg(optarg, &opts.filter.since_us))
                rc = usage_error(name, "--since takes a time like '2026-11-22 10:00', not '%s'",
                                 optarg);
            break;
        case OPT_UNTIL:
            if (!parse_time_arg(optarg, &opts.filter.until_us))
                rc = usage_error(name, "--until takes a time like '2026-11-22 10:00', not '%s'",
                                 optarg);
            break;
        case OPT_DB:
            list_add_csv(&l.dbs, &l.ndbs, optarg);
            break;
        case OPT_USER:
            list_add_csv(&l.users, &l.nusers, optarg);
            break;
        case OPT_APP:
            list_add_csv(&l.apps, &l.napps, optarg);
            log_only = "--app";
            break;
        case OPT_MIN_DURATION:
            if (!parse_duration_us(optarg, 1000, &opts.filter.min_duration_us))
                rc = usage_error(name, "--min-duration takes a duration like 250 or 1s, not '%s'",
                                 optarg);
            log_only = "--min-duration";
            break;
        case OPT_INTERVAL:
            if (!parse_duration_us(optarg, 1000000, &opts.filter.interval_us) ||
                opts.filter.interval_us < 1000000)
                rc = usage_error(name, "--interval takes a duration of at least 1s, not '%s'",
                                 optarg);
            break;
        case OPT_TOP:
            ro.top = (size_t)strtoul(optarg, &end, 10);
            top_given = true;
            if (*end || !*optarg)
                rc = usage_error(name, "--top takes a number, not '%s'", optarg);
            break;
        case OPT_QUERY_MEMORY: {
            uint64_t bytes;
            if (!parse_size_bytes(optarg, &bytes) || bytes > SIZE_MAX)
                rc = usage_error(name, "--query-memory takes a size (512M, 2G), not '%s'", optarg);
            else
                opts.filter.query_memory = (size_t)bytes;
            break;
        }
        case OPT_PROGRESS:
            progress = 1;
            break;
        case OPT_NO_PROGRESS:
            progress = 0;
            break;
        case OPT_NO_EXAMPLES:
            opts.filter.no_examples = true;
            break;
        case OPT_ACCESS: {
            struct err e;
            if (source_expand(optarg, &access, &naccess, &access_cap, &e) < 0)
                rc = usage_error(name, "%s", e.msg);
            break;
        }
        case OPT_ACCESS_FORMAT:
            wo.format = optarg;
            break;
        case OPT_SLOW:
            if (!parse_duration_us(optarg, 1000, &wo.slow_us) || wo.slow_us < 1)
                rc =
                    usage_error(name, "--slow takes a duration like 500ms or 2s, not '%s'", optarg);
            break;
        case OPT_MAX_RECORD:
            if (!parse_size_bytes(optarg, &opts.max_record_bytes) ||
                opts.max_record_bytes < ANALYSIS_MAX_RECORD_MIN)
                rc = usage_error(name, "--max-record takes a size of at least 64K, not '%s'",
                                 optarg);
            log_only = "--max-record";
            break;
        default:
            rc = usage_error(name, "unknown option");
            break;
        }
        if (rc != EXIT_OK)
            goto done;
    }
    if (store && optind < argc)
        rc = usage_error(name, "give log files or --store, not both");
    else if (store && log_only)
        rc = usage_error(name, "%s does not apply to --store (pg_stat_statements has no %s)",
                         log_only,
                         strcmp(log_only, "--app") == 0            ? "application names"
                         : strcmp(log_only, "--min-duration") == 0 ? "single calls"
                                                                   : "log lines");
    else if (strcmp(name, "postmortem") == 0 && ro.format == REPORT_TEXT)
        rc = usage_error(name, "a postmortem is md, html or json");
    else if (!store && strcmp(name, "report") == 0)
        rc = usage_error(name, "no store given (--store PATH; for logs use 'sleuth analyze')");
    else if (!store && optind >= argc && !naccess)
        rc = usage_error(name, "no log file given (use - for standard input)");
    if (rc != EXIT_OK)
        goto done;
    if (ro.format == REPORT_JSON && !top_given)
        ro.top = 0;
    opts.filter.dbs = l.dbs;
    opts.filter.users = l.users;
    opts.filter.apps = l.apps;
    opts.progress = progress < 0 ? isatty(STDERR_FILENO) : progress;

    if (naccess) {
        struct err e;
        wo.interval_us = opts.filter.interval_us;
        wo.jobs = opts.jobs;
        wo.since_us = opts.filter.since_us;
        wo.until_us = opts.filter.until_us;
        web_init(&web_data, &wo);
        web = &web_data;
        if (web_read(web, access, naccess, &e) < 0) {
            rc = e.code == ERR_USAGE ? usage_error(name, "%s", e.msg) : EXIT_INPUT;
            if (e.code != ERR_USAGE)
                warn_access(name, web);
            goto done;
        }
        warn_access(name, web);
    }
    if (store) {
        rc = run_store(name, store, store_force, &opts, web, &ro, output);
        goto done;
    }
    char **paths = NULL;
    size_t npaths = 0, cap = 0;
    struct err err;
    err_clear(&err);
    for (int i = optind; i < argc; i++) {
        if (source_expand(argv[i], &paths, &npaths, &cap, &err) < 0) {
            fprintf(stderr, "sleuth %s: %s\n", name, err.msg);
            rc = EXIT_INPUT;
        }
    }
    struct analysis a;
    if (npaths == 0 && !web) {
        rc = EXIT_INPUT;
    } else if (analysis_run(&a, paths, npaths, &opts, &err) < 0) {
        if (err.code == ERR_USAGE) {
            rc = usage_error(name, "%s", err.msg);
        } else {
            warn_inputs(&a);
            rc = EXIT_INPUT;
        }
        analysis_release(&a);
    } else {
        if (warn_inputs(&a))
            rc = EXIT_INPUT; /* the report is written all the same */
        if (npaths && !any_record(&a)) {
            fprintf(stderr, "sleuth %s: no PostgreSQL log record in %zu input%s\n", name, a.ninputs,
                    a.ninputs == 1 ? "" : "s");
            rc = EXIT_INPUT;
        }
        /* The same engine as a watcher's, run on the log's timeline. */
        struct detect_config cfg;
        detect_config_init(&cfg);
        struct engine *e = engine_run_log(&a.c, &cfg, NULL);
        size_t nincs;
        const struct incident *incs = engine_incidents(e, &nincs);
        int wrc = write_report(name, &a, web, &ro, NULL, 0, incs, nincs, output);
        if (wrc != EXIT_OK)
            rc = wrc;
        engine_free(e);
        analysis_release(&a);
    }
    for (size_t i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
done:
    if (web)
        web_release(web);
    for (size_t i = 0; i < naccess; i++)
        free(access[i]);
    free(access);
    lists_free(&l);
    return rc;
}

int cmd_analyze(int argc, char **argv)
{
    return run("analyze", argc, argv);
}

int cmd_report(int argc, char **argv)
{
    return run("report", argc, argv);
}

int cmd_postmortem(int argc, char **argv)
{
    return run("postmortem", argc, argv);
}
