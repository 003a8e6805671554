/*
 * The staged outages of `sleuth demo`: names, the alert kinds that tell
 * each one, and their injection into a running shop. The DDL runs as the
 * application's role on a "migration" connection, the way a deploy would
 * run it, so the server log shows who changed the schema and when; the
 * release-side faults are a switch of the traffic paths (demo/traffic.c).
 */
#include "demo/fault.h"

#include "demo/traffic.h"

#include "util/xalloc.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char *const names[] = {
#define X(e, name, desc) name,
    DEMO_FAULTS(X)
#undef X
};

static const char *const descriptions[] = {
#define X(e, name, desc) desc,
    DEMO_FAULTS(X)
#undef X
};

const char *demo_fault_name(enum demo_fault f)
{
    return (unsigned)f < DEMO_FAULT__COUNT ? names[f] : "?";
}

const char *demo_fault_description(enum demo_fault f)
{
    return (unsigned)f < DEMO_FAULT__COUNT ? descriptions[f] : "?";
}

int demo_fault_parse(const char *name, enum demo_fault *out)
{
    for (int i = 0; i < DEMO_FAULT__COUNT; i++) {
        const char *n = names[i];
        size_t k = 0;
        while (n[k] && name[k] && (n[k] == name[k] || (n[k] == '-' && name[k] == '_')))
            k++;
        if (!n[k] && !name[k]) {
            *out = (enum demo_fault)i;
            return 0;
        }
    }
    return -1;
}

#define K(kind) (1u << (kind))

void demo_fault_signals(enum demo_fault f, struct demo_fault_signals *out)
{
    memset(out, 0, sizeof(*out));
    switch (f) {
    case DEMO_STEADY:
    case DEMO_FAULT__COUNT:
        break;
    case DEMO_MISSING_INDEX:
        out->groups[out->ngroups++] = K(FK_LATENCY_REGRESSION) | K(FK_SEQ_SCAN_GROWTH);
        /* DROP INDEX waits for its exclusive lock; the busy CPU slows every query. */
        out->allowed = K(FK_LOCK_WAITS) | K(FK_BLOCKING) | K(FK_DB_LOAD);
        break;
    case DEMO_HOT_INDEX:
        out->groups[out->ngroups++] = K(FK_HOT_RATIO_DROP) | K(FK_INDEX_ON_UPDATED);
        /*
         * CREATE INDEX blocks writes while it builds; updates then
         * write every index.
         */
        out->allowed = K(FK_LOCK_WAITS) | K(FK_BLOCKING) | K(FK_LATENCY_REGRESSION) | K(FK_DB_LOAD);
        break;
    case DEMO_POOL_EXHAUSTION:
        out->groups[out->ngroups++] = K(FK_CONN_SATURATION) | K(FK_CONN_REFUSED);
        out->groups[out->ngroups++] = K(FK_IDLE_IN_TRANSACTION);
        /* Each refused connection is a FATAL line in the log. */
        out->allowed = K(FK_ERROR_SPIKE);
        break;
    case DEMO_DEPLOY_SURGE:
        out->groups[out->ngroups++] = K(FK_CALL_SURGE) | K(FK_NEW_HEAVY_QUERY) | K(FK_CALL_RATE);
        /* The new query scans order_items; the busy CPU slows every query. */
        out->allowed = K(FK_SEQ_SCAN_GROWTH) | K(FK_LATENCY_REGRESSION) | K(FK_DB_LOAD);
        break;
    case DEMO_REDUNDANT_FETCH:
        out->groups[out->ngroups++] = K(FK_ROWS_PER_CALL);
        /* The wide query is new and takes most of the database's time. */
        out->allowed = K(FK_NEW_HEAVY_QUERY) | K(FK_LATENCY_REGRESSION) | K(FK_DB_LOAD);
        break;
    case DEMO_TRAFFIC_SURGE:
        out->groups[out->ngroups++] =
            K(FK_CONN_RATE) | K(FK_CALL_RATE) | K(FK_DB_LOAD) | K(FK_LATENCY_REGRESSION);
        /* The same pages, more of them: every query is called more and waits for the CPU. */
        out->allowed = K(FK_CALL_SURGE) | K(FK_CONN_SATURATION) | K(FK_CONN_REFUSED) |
                       K(FK_ERROR_SPIKE) | K(FK_SEQ_SCAN_GROWTH);
        break;
    case DEMO_LOCK_CONTENTION:
        out->groups[out->ngroups++] = K(FK_BLOCKING) | K(FK_LOCK_WAITS);
        /* The migration waits in its transaction; the pages queue and the time they take rises. */
        out->allowed = K(FK_IDLE_IN_TRANSACTION) | K(FK_LATENCY_REGRESSION) | K(FK_DB_LOAD) |
                       K(FK_LONG_RUNNING);
        break;
    case DEMO_PLAN_REGRESSION:
        out->groups[out->ngroups++] =
            K(FK_LATENCY_REGRESSION) | K(FK_DB_LOAD) | K(FK_SEQ_SCAN_GROWTH);
        out->allowed = K(FK_ROWS_PER_CALL) | K(FK_HOT_RATIO_DROP);
        break;
    }
    for (int i = 0; i < out->ngroups; i++)
        out->allowed |= out->groups[i];
}

struct demo_fault_state {
    PGconn *migration; /* lock-contention: the migration holding its transaction */
};

static PGconn *connect_migration(const char *conninfo, struct err *err)
{
    const char *keys[] = { "dbname", "application_name", NULL };
    const char *vals[] = { conninfo, "migration", NULL };
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) == CONNECTION_OK)
        return conn;
    const char *m = PQerrorMessage(conn);
    err_set(err, ERR_CONN, "cannot connect for the migration: %.*s", (int)strcspn(m, "\n"), m);
    PQfinish(conn);
    return NULL;
}

/* Runs sql on conn; an error sets err. */
static int exec_ok(PGconn *conn, const char *sql, struct err *err)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        const char *m = PQresultErrorMessage(res);
        err_set(err, ERR_SQL, "'%s' failed: %.*s", sql, (int)strcspn(m, "\n"), m);
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* Runs statements on a connection of their own to conninfo, as the migration. */
static int migrate(const char *conninfo, const char *const *sql, struct err *err)
{
    PGconn *conn = connect_migration(conninfo, err);
    if (!conn)
        return -1;
    int rc = 0;
    for (size_t i = 0; sql[i] && rc == 0; i++)
        rc = exec_ok(conn, sql[i], err);
    PQfinish(conn);
    return rc;
}

int demo_fault_inject(const char *app_conninfo, const char *admin_conninfo, enum demo_fault f,
                      struct demo_traffic *t, struct demo_fault_state **state, struct err *err)
{
    *state = xcalloc(1, sizeof(**state));
    static const char *const drop[] = { "DROP INDEX orders_customer_id_idx", NULL };
    static const char *const hot[] = {
        "CREATE INDEX orders_status_updated_at_idx ON orders (status, updated_at)", NULL
    };
    static const char *const noindex[] = { "ALTER SYSTEM SET enable_indexscan = off",
                                           "ALTER SYSTEM SET enable_bitmapscan = off",
                                           "SELECT pg_reload_conf()", NULL };
    int rc = 0;
    switch (f) {
    case DEMO_MISSING_INDEX:
        rc = migrate(app_conninfo, drop, err);
        break;
    case DEMO_HOT_INDEX:
        rc = migrate(app_conninfo, hot, err);
        break;
    case DEMO_PLAN_REGRESSION:
        rc = migrate(admin_conninfo, noindex, err);
        break;
    case DEMO_LOCK_CONTENTION:
        /* The ALTER takes ACCESS EXCLUSIVE; the open transaction keeps it. */
        (*state)->migration = connect_migration(app_conninfo, err);
        rc = (*state)->migration && exec_ok((*state)->migration, "BEGIN", err) == 0 &&
                     exec_ok((*state)->migration, "ALTER TABLE orders ADD COLUMN gift_note text",
                             err) == 0
                 ? 0
                 : -1;
        break;
    case DEMO_TRAFFIC_SURGE:
        rc = t ? demo_traffic_surge(t, true, err) : 0;
        break;
    default:
        break;
    }
    if (rc == 0 && t)
        demo_traffic_set_fault(t, f);
    return rc;
}

int demo_fault_undo(const char *app_conninfo, const char *admin_conninfo, enum demo_fault f,
                    struct demo_traffic *t, struct demo_fault_state *state, const char **what,
                    struct err *err)
{
    static const char *const create[] = {
        "CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id, created_at)", NULL
    };
    static const char *const drop_hot[] = { "DROP INDEX orders_status_updated_at_idx", NULL };
    static const char *const reset[] = { "ALTER SYSTEM RESET enable_indexscan",
                                         "ALTER SYSTEM RESET enable_bitmapscan",
                                         "SELECT pg_reload_conf()", NULL };
    int rc = 0;
    *what = "nothing to undo";
    switch (f) {
    case DEMO_MISSING_INDEX:
        *what = "the index is created again (CREATE INDEX CONCURRENTLY)";
        rc = migrate(app_conninfo, create, err);
        break;
    case DEMO_HOT_INDEX:
        *what = "the index on the updated columns is dropped";
        rc = migrate(app_conninfo, drop_hot, err);
        break;
    case DEMO_PLAN_REGRESSION:
        *what = "the settings are reset (ALTER SYSTEM RESET)";
        rc = migrate(admin_conninfo, reset, err);
        break;
    case DEMO_LOCK_CONTENTION:
        *what = "the migration commits";
        if (state && state->migration)
            rc = exec_ok(state->migration, "COMMIT", err);
        break;
    case DEMO_TRAFFIC_SURGE:
        *what = "the campaign ends";
        rc = t ? demo_traffic_surge(t, false, err) : 0;
        break;
    case DEMO_POOL_EXHAUSTION:
    case DEMO_DEPLOY_SURGE:
    case DEMO_REDUNDANT_FETCH:
        *what = "the previous release is deployed again";
        break;
    default:
        break;
    }
    if (t)
        demo_traffic_set_fault(t, DEMO_STEADY);
    demo_fault_state_free(state);
    return rc;
}

void demo_fault_state_free(struct demo_fault_state *state)
{
    if (!state)
        return;
    PQfinish(state->migration);
    free(state);
}
