/*
 * sleuth: finds the database query behind a web-stack outage. This file is
 * the command table and the global options; each subcommand lives in
 * cmd/ and everything else in libsleuth.
 */
#include "cmd/cmd.h"
#include "util/log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*help)(void);
    const char *summary;
};

static const struct command commands[] = {
    { "analyze", cmd_analyze, cmd_analyze_help, "summarize PostgreSQL log files" },
    { "report", cmd_report, cmd_report_help, "report from the history a watch store kept" },
    { "postmortem", cmd_postmortem, cmd_postmortem_help,
      "draft the postmortem of an incident from logs or a store" },
    { "watch", cmd_watch, cmd_watch_help, "watch a live server, keep its history, alert" },
    { "demo", cmd_demo, cmd_demo_help, "stage a database outage and watch sleuth find it" },
    { "advise", cmd_advise, cmd_advise_help, "indexes, settings and rewrites to fix it" },
};

static void main_help(void)
{
    printf("usage: sleuth [-v|-q] <command> [options] [args]\n"
           "       sleuth help <command>\n"
           "       sleuth --version\n\n"
           "Finds the database query behind a web-stack outage.\n\n"
           "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %-12s %s\n", commands[i].name, commands[i].summary);
    printf("\nGlobal options:\n"
           "  -v, --verbose   say more on stderr (repeat for debug)\n"
           "  -q, --quiet     errors only\n"
           "  -h, --help      this help\n"
           "  -V, --version   print the version\n\n"
           "See 'sleuth help <command>' and sleuth(1).\n");
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int finish(int rc)
{
    /* A report truncated by a full disk or a closed pipe must not exit 0. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "sleuth: cannot write to standard output\n");
        return rc == EXIT_OK ? EXIT_INPUT : rc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "+vqhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'v':
            if (log_current_level < LOG_LEVEL_DEBUG)
                log_current_level++;
            break;
        case 'q':
            log_current_level = LOG_LEVEL_ERROR;
            break;
        case 'h':
            main_help();
            return finish(EXIT_OK);
        case 'V':
            printf("sleuth %s\n", SLEUTH_VERSION);
            return finish(EXIT_OK);
        default:
            fprintf(stderr, "try 'sleuth --help'\n");
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        main_help();
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        if (optind + 1 >= argc) {
            main_help();
            return finish(EXIT_OK);
        }
        const struct command *c = find_command(argv[optind + 1]);
        if (!c) {
            fprintf(stderr, "sleuth: unknown command '%s'\ntry 'sleuth --help'\n",
                    argv[optind + 1]);
            return EXIT_USAGE;
        }
        c->help();
        return finish(EXIT_OK);
    }
    const struct command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "sleuth: unknown command '%s'\ntry 'sleuth --help'\n", name);
        return EXIT_USAGE;
    }
    return finish(c->run(argc - optind, argv + optind));
}
