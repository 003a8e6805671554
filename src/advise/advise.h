/*
 * sleuth advise: turns a live server's statistics (and optionally a watch
 * store's history) into fixes: missing indexes checked by EXPLAIN and, when
 * the hypopg extension is installed, by a hypothetical index; harmful,
 * unused, redundant and invalid indexes; connection settings; and queries
 * that fetch more than they need. Every piece of advice carries its
 * evidence and a confidence (advise/advice.h).
 *
 * Nothing here changes the server: the session is the read-only one
 * conninfo_connect makes, the SQL in the advice is text, hypopg's
 * hypothetical indexes live in the session's memory only (and are reset),
 * and EXPLAIN runs without ANALYZE unless opts->analyze says otherwise.
 * The extension is used only when it is already installed.
 *
 * Not thread-safe (one connection). Pointer arguments are borrowed.
 */
#ifndef SLEUTH_ADVISE_ADVISE_H
#define SLEUTH_ADVISE_ADVISE_H

#include "advise/advice.h"
#include "util/compat.h"
#include "util/err.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct advise_opts {
    double min_mean_ms;      /* index candidates: mean execution time (default 20, PgHero) */
    int64_t min_calls;       /* every family: calls a statement needs (default 50) */
    bool analyze;            /* allow EXPLAIN ANALYZE of SELECTs (off by default) */
    int64_t min_stats_age_s; /* unused indexes: statistics at least this old (default 7 days) */
    const char *store_path;  /* a watch store to read peaks and statements from, or NULL */
    bool store_force;        /* read it even if damaged (store_open's force) */
    /*
     * Fingerprints a diagnosis named (fingerprint_sql): their statements
     * are considered whatever min_mean_ms and min_calls say, since a
     * fresh regression has not yet moved the averages since the server
     * started. Borrowed.
     */
    const uint64_t *focus;
    size_t nfocus;
};

/* Fills o with the defaults above. */
void advise_opts_init(struct advise_opts *o);

/*
 * Reads the statistics of the database conn is connected to and appends
 * the advice to out (initialised by the caller), sorted, with notes about
 * what could not be checked and a context object. A family whose query the
 * server refuses adds a note instead of failing. Returns -1 with ERR_CONN
 * or ERR_SQL only when the connection is lost or the basic catalog queries
 * fail, and ERR_IO when the store cannot be read.
 */
MUST_CHECK int advise_run(PGconn *conn, const struct advise_opts *o, struct advice_list *out,
                          struct err *err);

#endif
