/*
 * Connections to the watched server (see conninfo.h). libpq parses the
 * conninfo (PQconninfoParse takes both forms); we only choose what to show
 * of it and what to set on each new session.
 */
#include "live/conninfo.h"

#include <stdio.h>
#include <string.h>

#include "util/banned.h"

void conninfo_redact(struct buf *out, const char *conninfo)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &errmsg);
    if (!opts) {
        PQfreemem(errmsg);
        buf_addstr(out, "(invalid conninfo)");
        return;
    }
    bool first = true;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || strcmp(o->keyword, "password") == 0)
            continue;
        if (!first)
            buf_addch(out, ' ');
        first = false;
        buf_addf(out, "%s=%s", o->keyword, o->val);
    }
    if (first)
        buf_addstr(out, "(defaults)");
    PQconninfoFree(opts);
}

void conninfo_describe(struct buf *out, const PGconn *conn)
{
    const char *host = PQhost(conn);
    buf_addf(out, "%s@%s:%s/%s", PQuser(conn), host && *host ? host : "localhost", PQport(conn),
             PQdb(conn));
}

/* libpq's messages end with a newline, sometimes two lines; keep the first line. */
static void first_line(char *dst, size_t cap, const char *msg)
{
    size_t n = strcspn(msg, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, msg, n);
    dst[n] = '\0';
}

int conninfo_connect(PGconn **out, const char *conninfo, int statement_timeout_ms, struct err *err)
{
    /*
     * TCP keepalives and a user timeout: a host that drops off the network
     * mid-query must fail the poll in seconds (a gap, an alert), not hang
     * it for the kernel's minutes of retransmissions. The conninfo's own
     * values win (expand_dbname applies it after these).
     */
    const char *keys[] = { "fallback_application_name",
                           "connect_timeout",
                           "keepalives",
                           "keepalives_idle",
                           "keepalives_interval",
                           "keepalives_count",
                           "tcp_user_timeout",
                           "dbname",
                           NULL };
    const char *vals[] = { "sleuth", "10", "1",     "10",
                           "5",      "3",  "30000", conninfo && *conninfo ? conninfo : NULL,
                           NULL };
    *out = NULL;
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn)
        return err_set(err, ERR_CONN, "cannot connect: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        char reason[200];
        first_line(reason, sizeof(reason), PQerrorMessage(conn));
        struct buf target = BUF_INIT;
        conninfo_redact(&target, conninfo);
        err_set(err, ERR_CONN, "cannot connect to '%s': %s", target.ptr, reason);
        buf_release(&target);
        PQfinish(conn);
        return -1;
    }
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SET statement_timeout = %d; SET lock_timeout = 1000; "
             "SET idle_in_transaction_session_timeout = 60000; "
             "SET default_transaction_read_only = on",
             statement_timeout_ms);
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        char reason[200];
        first_line(reason, sizeof(reason), PQerrorMessage(conn));
        struct buf target = BUF_INIT;
        conninfo_describe(&target, conn);
        err_set(err, ERR_SQL, "cannot set up the session on '%s': %s", target.ptr, reason);
        buf_release(&target);
        PQfinish(conn);
        return -1;
    }
    *out = conn;
    return 0;
}
