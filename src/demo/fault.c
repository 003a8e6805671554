/*
 * The staged outages of `sleuth demo`: names, the alert kinds that tell
 * each one, and their injection into a running shop. The DDL runs as the
 * application's role on a "migration" connection, the way a deploy would
 * run it, so the server log shows who changed the schema and when; the
 * release-side faults are a switch of the traffic paths (demo/traffic.c).
 */
#include "demo/fault.h"

#include "demo/traffic.h"

#include <libpq-fe.h>
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
        out->allowed = K(FK_LOCK_WAITS) | K(FK_BLOCKING);
        break;
    case DEMO_HOT_INDEX:
        out->groups[out->ngroups++] = K(FK_HOT_RATIO_DROP);
        /*
         * CREATE INDEX blocks writes while it builds and, tracked by
         * pg_stat_statements, is itself a new heavy statement; updates then
         * write every index.
         */
        out->allowed =
            K(FK_LOCK_WAITS) | K(FK_BLOCKING) | K(FK_LATENCY_REGRESSION) | K(FK_NEW_HEAVY_QUERY);
        break;
    case DEMO_POOL_EXHAUSTION:
        out->groups[out->ngroups++] = K(FK_CONN_SATURATION) | K(FK_CONN_REFUSED);
        out->groups[out->ngroups++] = K(FK_IDLE_IN_TRANSACTION);
        /* Each refused connection is a FATAL line in the log. */
        out->allowed = K(FK_ERROR_SPIKE);
        break;
    case DEMO_DEPLOY_SURGE:
        out->groups[out->ngroups++] = K(FK_CALL_SURGE) | K(FK_NEW_HEAVY_QUERY);
        /* The new query scans order_items; the busy CPU slows every query. */
        out->allowed = K(FK_SEQ_SCAN_GROWTH) | K(FK_LATENCY_REGRESSION);
        break;
    case DEMO_REDUNDANT_FETCH:
        out->groups[out->ngroups++] = K(FK_ROWS_PER_CALL);
        /* The wide query is new and takes most of the database's time. */
        out->allowed = K(FK_NEW_HEAVY_QUERY) | K(FK_LATENCY_REGRESSION);
        break;
    }
    for (int i = 0; i < out->ngroups; i++)
        out->allowed |= out->groups[i];
}

static const char *fault_ddl(enum demo_fault f)
{
    switch (f) {
    case DEMO_MISSING_INDEX:
        return "DROP INDEX orders_customer_id_idx";
    case DEMO_HOT_INDEX:
        return "CREATE INDEX orders_status_updated_at_idx ON orders (status, updated_at)";
    default:
        return NULL;
    }
}

int demo_fault_inject(const char *conninfo, enum demo_fault f, struct demo_traffic *t,
                      struct err *err)
{
    const char *ddl = fault_ddl(f);
    if (ddl) {
        const char *keys[] = { "dbname", "application_name", NULL };
        const char *vals[] = { conninfo, "migration", NULL };
        PGconn *conn = PQconnectdbParams(keys, vals, 1);
        if (PQstatus(conn) != CONNECTION_OK) {
            const char *m = PQerrorMessage(conn);
            err_set(err, ERR_CONN, "cannot connect for the migration: %.*s", (int)strcspn(m, "\n"),
                    m);
            PQfinish(conn);
            return -1;
        }
        PGresult *res = PQexec(conn, ddl);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            const char *m = PQresultErrorMessage(res);
            err_set(err, ERR_SQL, "'%s' failed: %.*s", ddl, (int)strcspn(m, "\n"), m);
        }
        PQclear(res);
        PQfinish(conn);
        if (!ok)
            return -1;
    }
    if (t)
        demo_traffic_set_fault(t, f);
    return 0;
}
