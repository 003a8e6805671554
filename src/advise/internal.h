/*
 * What the advice families share: the statements read from
 * pg_stat_statements (and a store), the server facts, and small libpq
 * helpers. Private to src/advise/.
 */
#ifndef SLEUTH_ADVISE_INTERNAL_H
#define SLEUTH_ADVISE_INTERNAL_H

#include "advise/advise.h"
#include "sql/facts.h"
#include "sql/indexdef.h"

#include <libpq-fe.h>

/* One pg_stat_statements entry of the connected database (or a store's). */
struct adv_stmt {
    int64_t queryid;
    char *query; /* normalised, $n placeholders */
    int64_t calls;
    double total_ms, mean_ms;
    int64_t rows;
    int64_t blks; /* shared blocks hit + read */
    bool from_store;
    bool parsed; /* facts are valid */
    bool focus;  /* named by the diagnosis (advise_opts.focus) */
    struct sqlfacts facts;
};

/* An index of the connected database, with its table's write counters. */
struct adv_index {
    char *schema, *table, *name, *def;
    struct indexdef keys; /* key columns from pg_get_indexdef */
    int64_t idx_scan, bytes;
    bool unique, primary, constraint, valid, partial, expression;
    int64_t tab_upd, tab_hot_upd, tab_live;
};

struct adv_ctx {
    PGconn *conn;
    const struct advise_opts *opts;
    struct advice_list *out;
    int server_version;
    char hypopg_schema[128]; /* quoted; "" when hypopg is not installed */
    char hypopg_version[32];
    double stats_age_s; /* age of the database's statistics (stats_reset or server start) */
    double pgss_age_s;  /* age of pg_stat_statements' counters */
    int peak_connections, peak_idle_in_tx; /* from the store; -1 without one */
    struct adv_stmt *stmts;
    size_t nstmts;
    struct adv_index *indexes;
    size_t nindexes;
    unsigned prepared; /* counter for statement names */
};

/*
 * Runs sql with text parameters; returns the result when its status is
 * TUPLES_OK or COMMAND_OK, else clears it, fills err (ERR_SQL, or
 * ERR_CONN when the connection is gone) and returns NULL.
 */
PGresult *adv_exec(struct adv_ctx *c, const char *sql, int nparams, const char *const *params,
                   struct err *err);
/* Whether the failure in err is a lost connection (fatal) rather than a refused query. */
bool adv_fatal(const struct adv_ctx *c, const struct err *err);
/* The value of a result cell as a number (0 when NULL or not a number). */
double adv_num(const PGresult *r, int row, int col);
/* 't' cells. */
bool adv_bool(const PGresult *r, int row, int col);

/* "schema.table" for an index or table, unquoted (for JSON and matching). */
char *adv_qualified(const char *schema, const char *name);

/* The advice families, in the order advise_run calls them. Each returns -1 only when fatal. */
MUST_CHECK int advise_missing_indexes(struct adv_ctx *c, struct err *err);
MUST_CHECK int advise_harmful_indexes(struct adv_ctx *c, struct err *err);
MUST_CHECK int advise_connections(struct adv_ctx *c, struct err *err);
MUST_CHECK int advise_fetch(struct adv_ctx *c, struct err *err);

#endif
