/*
 * `sleuth advise`: connects to a live server (read-only session), runs the
 * advisor (advise/advise.h) and writes its advice as text, JSON or
 * Markdown (advise/render.c, advice_list_json). The only code that prints
 * the advice.
 */
#include "cmd.h"

#include "advise/advise.h"
#include "live/conninfo.h"
#include "util/err.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/banned.h"

/* The statement_timeout of the advisor's session: EXPLAIN of one statement, not its run. */
#define ADVISE_TIMEOUT_MS 30000

static const char *const usage[] = {
    "usage: sleuth advise [options] [CONNINFO|URI]",
    "",
    "Turns a live server's statistics into fixes: missing indexes (from the slow",
    "statements' predicates, joins and ORDER BY, checked by EXPLAIN and, when the hypopg",
    "extension is installed, by a hypothetical index), harmful, unused, duplicate and",
    "invalid indexes, connection settings, and queries that fetch more than they need.",
    "Every piece of advice has its exact SQL (never executed), its evidence and a",
    "confidence. The session is read-only; EXPLAIN runs without ANALYZE unless asked.",
    "",
    "  -d, --dbname CONNINFO     the server (or give it as the argument; PG* variables apply)",
    "  -f, --format FMT          text (default), json, md",
    "  -o, --output FILE         write the advice to FILE instead of stdout",
    "      --min-mean DUR        index candidates: mean time at least DUR (default 20ms)",
    "      --min-calls N         statements called at least N times (default 50)",
    "      --min-stats-age DUR   judge unused indexes only on statistics this old (default 7d)",
    "      --analyze             allow EXPLAIN ANALYZE of SELECT statements (runs them)",
    "      --store PATH          also read peaks and statements from a watch store",
    "      --store-force         read the store even if PRAGMA quick_check finds it damaged",
    "  -h, --help                this help",
    "",
    "Exit status: 0 done (with or without advice), 2 usage error, 3 the output or the",
    "store could not be written or read, 4 cannot connect or query the server.",
};

void cmd_advise_help(void)
{
    for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
        printf("%s\n", usage[i]);
}

enum {
    OPT_MIN_MEAN = 256,
    OPT_MIN_CALLS,
    OPT_MIN_STATS_AGE,
    OPT_ANALYZE,
    OPT_STORE,
    OPT_STORE_FORCE
};

static const struct option long_options[] = {
    { "dbname", required_argument, NULL, 'd' },
    { "format", required_argument, NULL, 'f' },
    { "output", required_argument, NULL, 'o' },
    { "help", no_argument, NULL, 'h' },
    { "min-mean", required_argument, NULL, OPT_MIN_MEAN },
    { "min-calls", required_argument, NULL, OPT_MIN_CALLS },
    { "min-stats-age", required_argument, NULL, OPT_MIN_STATS_AGE },
    { "analyze", no_argument, NULL, OPT_ANALYZE },
    { "store", required_argument, NULL, OPT_STORE },
    { "store-force", no_argument, NULL, OPT_STORE_FORCE },
    { NULL, 0, NULL, 0 },
};

enum advise_format { FMT_TEXT, FMT_JSON, FMT_MD };

struct cli {
    char *conninfo; /* owned (secret_arg_take) */
    const char *output;
    enum advise_format format;
    struct advise_opts o;
};

/* Returns -1 to go on, or the exit code. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
    advise_opts_init(&cli->o);
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "d:f:o:h", long_options, NULL)) != -1) {
        int64_t us;
        char *end;
        switch (ch) {
        case 'd':
            cli->conninfo = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0)
                cli->format = FMT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                cli->format = FMT_JSON;
            else if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
                cli->format = FMT_MD;
            else
                return usage_error("advise", "unknown --format '%s' (text, json, md)", optarg);
            break;
        case 'o':
            cli->output = optarg;
            break;
        case 'h':
            cmd_advise_help();
            return EXIT_OK;
        case OPT_MIN_MEAN:
            if (!parse_duration_us(optarg, 1000, &us))
                return usage_error("advise", "invalid --min-mean '%s'", optarg);
            cli->o.min_mean_ms = (double)us / 1000;
            break;
        case OPT_MIN_CALLS:
            errno = 0;
            cli->o.min_calls = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || cli->o.min_calls < 1)
                return usage_error("advise", "invalid --min-calls '%s' (a count >= 1)", optarg);
            break;
        case OPT_MIN_STATS_AGE:
            if (!parse_duration_us(optarg, 86400 * 1000000LL, &us))
                return usage_error("advise", "invalid --min-stats-age '%s'", optarg);
            cli->o.min_stats_age_s = us / 1000000;
            break;
        case OPT_ANALYZE:
            cli->o.analyze = true;
            break;
        case OPT_STORE:
            cli->o.store_path = optarg;
            break;
        case OPT_STORE_FORCE:
            cli->o.store_force = true;
            break;
        default:
            fprintf(stderr, "try 'sleuth advise --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        if (cli->conninfo || optind + 1 < argc)
            return usage_error("advise", "one server to advise on: give CONNINFO once");
        cli->conninfo = argv[optind];
    }
    cli->conninfo = secret_arg_take(cli->conninfo, conninfo_scrub);
    return -1;
}

static int write_output(const struct cli *cli, const struct buf *text)
{
    FILE *out = stdout;
    if (cli->output && strcmp(cli->output, "-") != 0) {
        out = fopen(cli->output, "w");
        if (!out) {
            fprintf(stderr, "sleuth advise: cannot write '%s': %s\n", cli->output, strerror(errno));
            return EXIT_INPUT;
        }
    }
    int rc = fwrite(text->ptr, 1, text->len, out) == text->len ? 0 : -1;
    if (fflush(out) != 0 || ferror(out))
        rc = -1;
    if (out != stdout && fclose(out) != 0)
        rc = -1;
    if (rc < 0) {
        fprintf(stderr, "sleuth advise: cannot write the advice to '%s': %s\n",
                cli->output ? cli->output : "stdout", strerror(errno));
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

int cmd_advise(int argc, char **argv)
{
    struct cli cli = { .format = FMT_TEXT };
    int rc = parse_args(argc, argv, &cli);
    if (rc >= 0)
        return rc;
    struct err err;
    err_clear(&err);
    /* store_open would create a missing file: a typo must not leave an empty store behind. */
    struct stat st;
    if (cli.o.store_path && stat(cli.o.store_path, &st) != 0) {
        fprintf(stderr, "sleuth advise: cannot open store '%s': %s\n", cli.o.store_path,
                strerror(errno));
        free(cli.conninfo);
        return EXIT_INPUT;
    }
    PGconn *conn;
    rc = conninfo_connect(&conn, cli.conninfo, ADVISE_TIMEOUT_MS, &err);
    free(cli.conninfo);
    if (rc < 0) {
        fprintf(stderr, "sleuth advise: %s\n", err.msg);
        return EXIT_DB;
    }
    struct buf target = BUF_INIT;
    conninfo_describe(&target, conn);
    struct advice_list list;
    advice_list_init(&list);
    if (advise_run(conn, &cli.o, &list, &err) < 0) {
        fprintf(stderr, "sleuth advise: %s: %s\n", target.ptr, err.msg);
        rc = err.code == ERR_IO ? EXIT_INPUT : EXIT_DB;
        goto done;
    }
    struct buf text = BUF_INIT;
    if (cli.format == FMT_JSON) {
        json_t *doc = advice_list_json(&list);
        json_object_set_new(doc, "target", json_string(target.ptr));
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
        buf_addstr(&text, s ? s : "{}");
        buf_addch(&text, '\n');
        free(s);
    } else if (cli.format == FMT_MD) {
        advice_render_markdown(&text, &list, target.ptr);
    } else {
        advice_render_text(&text, &list, target.ptr);
    }
    rc = write_output(&cli, &text);
    buf_release(&text);
done:
    advice_list_release(&list);
    buf_release(&target);
    PQfinish(conn);
    return rc;
}
