/*
 * struct demo_server: a private PostgreSQL for `sleuth demo` and its
 * scenario test. It finds the binaries ($PGBIN, else
 * /usr/lib/postgresql/15/bin, else `pg_config --bindir`), runs initdb in a
 * new temp dir, configures the server as sleuth recommends (pg_stat_statements
 * and auto_explain preloaded; durations, plans of slow statements, lock
 * waits, DDL and refused connections in a plain stderr log under
 * <dir>/log), starts it on a Unix socket in that dir only, and creates the
 * database "shop" owned by the application role "shop" with
 * pg_stat_statements (and hypopg when installed).
 *
 * PostgreSQL refuses to run as root: then initdb and the server run as an
 * unprivileged system user (opts.run_as, default "postgres"), and the
 * temp dir is given to that user.
 *
 * Pointer arguments are borrowed. Returned strings belong to the server and
 * live until demo_server_free. Not thread-safe. Never prints: progress goes
 * to opts.say.
 */
#ifndef SLEUTH_DEMO_SERVER_H
#define SLEUTH_DEMO_SERVER_H

#include "util/compat.h"
#include "util/err.h"

#include <stdbool.h>

/* Receives one line of progress (no trailing newline), e.g. to print it. */
typedef void demo_say_fn(void *ctx, const char *line);

struct demo_server_opts {
    const char *pgbin;   /* directory of initdb and pg_ctl; NULL to search */
    const char *run_as;  /* the user to run as when we are root; NULL = "postgres" */
    const char *tmp_dir; /* parent of the temp dir; NULL = $TMPDIR or /tmp */
    int max_connections; /* the server's max_connections */
    /* log_min_duration_statement in ms: 0 logs every statement, -1 none */
    int log_min_duration_ms;
    demo_say_fn *say; /* may be NULL */
    void *say_ctx;
};

struct demo_server;

void demo_server_opts_init(struct demo_server_opts *o);

/*
 * Creates, configures and starts the server, and creates the shop database
 * and role. On failure everything made so far is stopped and removed and
 * *out is NULL. Errors: ERR_CONFIG (no binaries, root without an
 * unprivileged user), ERR_IO (temp dir, config file, running a program:
 * the program's last output line is in the message), ERR_CONN, ERR_SQL.
 */
MUST_CHECK int demo_server_start(struct demo_server **out, const struct demo_server_opts *o,
                                 struct err *err);

/* "host=<dir> port=<n> dbname=shop user=postgres": the superuser, for the watcher. */
const char *demo_server_conninfo(const struct demo_server *s);
/* The same as the application role "shop" (not a superuser: it has no reserved slots). */
const char *demo_server_app_conninfo(const struct demo_server *s);
/* The server log (stderr format, prefix demo_server_log_prefix()). */
const char *demo_server_log_path(const struct demo_server *s);
const char *demo_server_log_prefix(void);
/* The temp dir holding the data directory, the socket and the log. */
const char *demo_server_dir(const struct demo_server *s);
/* Whether CREATE EXTENSION hypopg worked. */
bool demo_server_has_hypopg(const struct demo_server *s);

/*
 * Stops the server (pg_ctl stop -m fast). Idempotent: a stopped server is
 * left alone. Returns -1 with err set when pg_ctl failed.
 */
MUST_CHECK int demo_server_stop(struct demo_server *s, struct err *err);
/* Removes the temp dir and everything in it (the server must be stopped). Idempotent. */
void demo_server_remove(struct demo_server *s);
/* Stops the server if it runs and frees s; the temp dir stays unless removed. NULL is a no-op. */
void demo_server_free(struct demo_server *s);

#endif
