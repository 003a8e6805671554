/*
 * Connections to the watched server (see conninfo.h). libpq parses the
 * conninfo (PQconninfoParse takes both forms); we only choose what to show
 * of it and what to set on each new session.
 */
#include "live/conninfo.h"

#include "sql/redact.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/*
 * Whether an option's value may itself hold a password: a connection string
 * or URI given as a dbname inside another (libpq expands only the outer one,
 * so the inner one is a database name that a server error quotes back).
 */
static bool may_hold_password(const char *val)
{
    return str_has_uri_userinfo(str_cstr(val)) || str_contains_nocase(str_cstr(val), "password");
}

bool conninfo_redact(struct buf *out, const char *conninfo)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &errmsg);
    if (!opts) {
        /* libpq's message quotes what it could not parse, which may be a password. */
        PQfreemem(errmsg);
        buf_addstr(out, "(invalid conninfo)");
        return true;
    }
    bool first = true, hidden = false;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        /* libpq marks its secrets ('*': password, sslpassword). */
        if (!o->val || (o->dispchar && o->dispchar[0] == '*'))
            continue;
        if (!first)
            buf_addch(out, ' ');
        first = false;
        if (may_hold_password(o->val)) {
            buf_addf(out, "%s=(hidden)", o->keyword);
            hidden = true;
        } else {
            buf_addf(out, "%s=%s", o->keyword, o->val);
        }
    }
    if (first)
        buf_addstr(out, "(defaults)");
    PQconninfoFree(opts);
    return hidden;
}

static bool overwrite(char *from, char *to)
{
    bool any = from < to;
    for (; from < to; from++)
        *from = 'x';
    return any;
}

/* Whether the URI query key [k, end) is "password" once percent-decoded, as libpq reads it. */
static bool is_password_key(const char *k, const char *end)
{
    static const char want[] = "password";
    size_t n = 0;
    while (k < end) {
        int ch = (unsigned char)*k++;
        if (ch == '%' && end - k >= 2 && isxdigit((unsigned char)k[0]) &&
            isxdigit((unsigned char)k[1])) {
            char hex[3] = { k[0], k[1], '\0' };
            ch = (int)strtol(hex, NULL, 16);
            k += 2;
        }
        if (n >= sizeof(want) - 1 || ch != want[n++])
            return false;
    }
    return n == sizeof(want) - 1;
}

/*
 * A URI's password: user:PASSWORD@ before the host, password=... in the
 * query. As in libpq, the user info ends at the first '@' before any '/'
 * (a password may hold '?' or '#'), a host that starts with '[' may hold
 * anything up to ']', and query keys are percent-decoded.
 */
static bool scrub_uri(char *s)
{
    char *auth = strstr(s, "://") + 3;
    char *at = auth + strcspn(auth, "@/");
    char *rest = auth;
    bool any = false;
    if (*at == '@') {
        char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon)
            any = overwrite(colon + 1, at);
        rest = at + 1;
    }
    /* The query follows the hosts (an IPv6 [...] may hold '/' or '?') and the path. */
    char *p = rest;
    for (; *p && *p != '/' && *p != '?'; p++)
        if (*p == '[' && (p == rest || p[-1] == ',') && strchr(p, ']'))
            p = strchr(p, ']');
    for (char *q = strchr(p, '?'); q; q = strchr(q, '&')) {
        q++;
        char *eq = q + strcspn(q, "=&");
        if (*eq == '=' && is_password_key(q, eq))
            any |= overwrite(eq + 1, eq + 1 + strcspn(eq + 1, "&"));
    }
    return any;
}

bool conninfo_scrub(char *conninfo)
{
    if (!conninfo)
        return false;
    if (strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0)
        return scrub_uri(conninfo);
    /* key = value pairs; a bare or '...' value, both with \' and \\ escapes as libpq reads them. */
    bool any = false;
    char *p = conninfo;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        char *key = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p))
            p++;
        bool is_password = p - key == 8 && strncmp(key, "password", 8) == 0;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=')
            break;
        p++;
        while (isspace((unsigned char)*p))
            p++;
        char *val = p;
        bool quoted = *p == '\'';
        if (quoted)
            val = ++p;
        while (*p && (quoted ? *p != '\'' : !isspace((unsigned char)*p))) {
            if (*p == '\\') {
                if (!p[1])
                    break; /* libpq drops a backslash that ends the string */
                p++;
            }
            p++;
        }
        if (is_password)
            any |= overwrite(val, p);
        if (*p == '\'')
            p++;
    }
    return any;
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
        struct buf target = BUF_INIT, said = BUF_INIT;
        /*
         * The server quotes a database name back (FATAL: database "postgresql://u:pw@h" ...),
         * and libpq what it could not parse.
         */
        if (conninfo_redact(&target, conninfo))
            redact_message(str_cstr(reason), &said);
        else
            buf_addstr(&said, reason);
        err_set(err, ERR_CONN, "cannot connect to '%s': %s", target.ptr, said.ptr);
        buf_release(&target);
        buf_release(&said);
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
