/*
 * The subcommands: one file each under cmd/, dispatched by sleuth.c's
 * command table. Each returns the process exit code (see sleuth.1).
 */
#ifndef SLEUTH_CMD_CMD_H
#define SLEUTH_CMD_CMD_H

enum exit_code {
    EXIT_OK = 0,       /* done */
    EXIT_FINDINGS = 1, /* done, and findings the caller asked to fail on */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_INPUT = 3,    /* input or output could not be read or written */
    EXIT_DB = 4,       /* database connection or query failed */
    EXIT_BUG = 70,     /* internal error */
};

int cmd_analyze(int argc, char **argv);
void cmd_analyze_help(void);
/* `sleuth report --store PATH`: analyze's code, reading a store (see cmd/analyze.c). */
int cmd_report(int argc, char **argv);
void cmd_report_help(void);
int cmd_postmortem(int argc, char **argv);
void cmd_postmortem_help(void);
int cmd_watch(int argc, char **argv);
void cmd_watch_help(void);
int cmd_demo(int argc, char **argv);
void cmd_demo_help(void);
int cmd_advise(int argc, char **argv);
void cmd_advise_help(void);

/* Shared option parsing helpers (cmd/options.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/logparser.h"
/* "500ms", "10s", "1m", "2h", "1d"; a plain number is in default_unit_us. */
bool parse_duration_us(const char *s, int64_t default_unit_us, int64_t *out);
/* "512M", "2G", "64K" (powers of 1024, an optional B), or plain bytes. */
bool parse_bytes(const char *s, size_t *out);
/* Appends the comma-separated values of s to a NULL-terminated list. */
void list_add_csv(const char ***list, size_t *n, const char *s);
/* "auto", "stderr", "csvlog", "jsonlog", "syslog" (also "csv", "json"); -1 if unknown. */
int parse_log_format(const char *s, enum log_format *f);
/*
 * Stop signals for the long-running commands (cmd/stop.c): after setup,
 * SIGINT, SIGTERM and SIGHUP set a flag and wake stop_sleep_until (a
 * second one ends the process at once); SIGPIPE is ignored. stop_sleep_until returns false when a
 * stop signal came.
 */
int stop_signals_setup(void);
int stop_signal_received(void);        /* 0, or the signal */
const char *stop_signal_name(int sig); /* "SIGINT", "SIGTERM", "SIGHUP" */
bool stop_sleep_until(int64_t deadline_mono_us);
/*
 * Takes a command-line argument that may hold a password or a token (NULL
 * gives NULL): returns an owned copy to use, then lets scrub (conninfo_scrub,
 * webhook_url_scrub) overwrite the secret in the argument itself, which is
 * argv's memory: ps and /proc/PID/cmdline show the overwritten text from
 * then on, as with PostgreSQL's tools and most daemons.
 */
char *secret_arg_take(char *arg, bool (*scrub)(char *arg));
/*
 * The first line of FILE ('-': standard input) without its newline, owned
 * by the caller: a token kept off the command line. NULL, with a message in
 * msg, when the file cannot be read or its first line is empty.
 */
char *secret_read_file(const char *path, char *msg, size_t msg_size);
/* Prints "sleuth CMD: MSG" and "try 'sleuth CMD --help'" to stderr; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
