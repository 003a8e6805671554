/*
 * Connection limits: how many of the usable connections (max_connections
 * minus the reserved slots) are in use now and at the store's peak, which
 * sessions hold theirs longest, and the settings that give connections
 * back: idle_in_transaction_session_timeout when sessions sit idle in a
 * transaction without one, statement_timeout when queries run for minutes
 * without one, and an application pool size when usage nears the limit.
 * The settings are read from pg_settings.reset_val: this session's own
 * timeouts (conninfo_connect sets them) must not hide the server's.
 */
#include "advise/internal.h"

#include "util/xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* The share of usable connections above which the pool size is advised. */
#define POOL_PRESSURE 0.8
/* Sessions listed as holding connections longest. */
#define TOP_SESSIONS 5

static const char activity_sql[] =
    "SELECT count(*), count(*) FILTER (WHERE state = 'active'), "
    "count(*) FILTER (WHERE state LIKE 'idle in transaction%'), "
    "coalesce(max(extract(epoch FROM now() - state_change)) "
    "FILTER (WHERE state LIKE 'idle in transaction%'), 0), "
    "coalesce(max(extract(epoch FROM now() - query_start)) FILTER (WHERE state = 'active'), 0), "
    "count(DISTINCT (coalesce(host(client_addr), 'local'), application_name)), "
    "(SELECT usename FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "AND pid <> pg_backend_pid() AND usename IS NOT NULL GROUP BY usename "
    "ORDER BY count(*) DESC, usename LIMIT 1) "
    "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";

static const char settings_sql[] =
    "SELECT current_setting('max_connections')::int, "
    "current_setting('superuser_reserved_connections')::int, "
    "(SELECT reset_val::bigint FROM pg_settings WHERE name = 'statement_timeout'), "
    "(SELECT reset_val::bigint FROM pg_settings WHERE name = "
    "'idle_in_transaction_session_timeout'), "
    "coalesce((SELECT reset_val::int FROM pg_settings WHERE name = 'reserved_connections'), 0)";

static const char sessions_sql[] =
    "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), "
    "coalesce(host(client_addr), 'local'), coalesce(state, ''), "
    "extract(epoch FROM now() - backend_start), "
    "coalesce(extract(epoch FROM now() - state_change), 0), "
    "coalesce(extract(epoch FROM now() - xact_start), -1) "
    "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
    "ORDER BY (state LIKE 'idle in transaction%') DESC, xact_start NULLS LAST, backend_start "
    "LIMIT 5";

struct pool_facts {
    int connections, active, idle_in_tx, instances, usable, peak;
    double oldest_iit_s, longest_active_s;
    int64_t statement_timeout_ms, iit_timeout_ms;
    char busiest_role[128];
    json_t *sessions;
};

static void add_common(const struct pool_facts *p, struct advice *a)
{
    json_t *e = a->evidence;
    json_object_set_new(e, "connections", json_integer(p->connections));
    json_object_set_new(e, "usable_connections", json_integer(p->usable));
    json_object_set_new(e, "peak_connections", json_integer(p->peak));
    json_object_set_new(e, "active", json_integer(p->active));
    json_object_set_new(e, "idle_in_transaction", json_integer(p->idle_in_tx));
    json_object_set_new(e, "oldest_idle_in_transaction_s", json_real(p->oldest_iit_s));
    json_object_set_new(e, "longest_active_s", json_real(p->longest_active_s));
    json_object_set(e, "longest_holders", p->sessions);
}

static void advise_iit(struct adv_ctx *c, const struct pool_facts *p)
{
    struct advice *a = advice_list_add(c->out, ADVICE_SETTING);
    a->sql = xstrdup("ALTER SYSTEM SET idle_in_transaction_session_timeout = '60s';\n"
                     "SELECT pg_reload_conf();");
    advice_add_column(a, "idle_in_transaction_session_timeout");
    a->confidence = p->idle_in_tx >= 3 || p->oldest_iit_s >= 60 ? ADVICE_HIGH : 0.7;
    json_object_set_new(a->evidence, "setting", json_string("idle_in_transaction_session_timeout"));
    json_object_set_new(a->evidence, "current", json_string("0"));
    json_object_set_new(a->evidence, "proposed", json_string("60s"));
    add_common(p, a);
    struct buf sum = BUF_INIT, why = BUF_INIT;
    buf_addf(&sum,
             "set idle_in_transaction_session_timeout = 60s: %d session(s) idle in a "
             "transaction, the oldest for %.0f s",
             p->idle_in_tx, p->oldest_iit_s);
    buf_addf(&why,
             "idle_in_transaction_session_timeout is 0 (never), and %d session(s) hold a "
             "connection, locks and the xmin horizon while the application does something "
             "else. 60 s ends leaked transactions without touching a request that is "
             "still working; lower it when the application's transactions are short. "
             "ALTER ROLE app SET ... limits it to the application's role.",
             p->idle_in_tx);
    a->summary = buf_detach(&sum, NULL);
    a->reasoning = buf_detach(&why, NULL);
}

static void advise_statement_timeout(struct adv_ctx *c, const struct pool_facts *p)
{
    struct advice *a = advice_list_add(c->out, ADVICE_SETTING);
    struct buf sql = BUF_INIT;
    buf_addstr(&sql, "ALTER ROLE ");
    advice_quote_ident(&sql, p->busiest_role[0] ? p->busiest_role : "app");
    buf_addstr(&sql, " SET statement_timeout = '30s';");
    a->sql = buf_detach(&sql, NULL);
    advice_add_column(a, "statement_timeout");
    a->confidence = ADVICE_MEDIUM;
    json_object_set_new(a->evidence, "setting", json_string("statement_timeout"));
    json_object_set_new(a->evidence, "current", json_string("0"));
    json_object_set_new(a->evidence, "proposed", json_string("30s"));
    json_object_set_new(a->evidence, "role", json_string(p->busiest_role));
    add_common(p, a);
    struct buf sum = BUF_INIT;
    if (p->longest_active_s >= 60)
        buf_addf(&sum, "set statement_timeout = 30s for role %s: a query has been running %.0f s",
                 p->busiest_role, p->longest_active_s);
    else
        buf_addf(&sum,
                 "set statement_timeout = 30s for role %s: %d of %d usable connections in "
                 "use and no statement_timeout",
                 p->busiest_role, p->peak, p->usable);
    a->summary = buf_detach(&sum, NULL);
    a->reasoning = xstrdup("statement_timeout is 0, so a runaway query holds its connection "
                           "until it ends; with the pool near its limit every such query takes "
                           "a slot from the requests queued behind it. 30 s is above any web "
                           "request's own timeout; set it on the application role only, so "
                           "maintenance jobs keep theirs.");
}

static void advise_pool_size(struct adv_ctx *c, const struct pool_facts *p)
{
    int instances = p->instances > 0 ? p->instances : 1;
    int size = (int)floor((double)p->usable * POOL_PRESSURE / instances);
    if (size < 1)
        size = 1;
    struct advice *a = advice_list_add(c->out, ADVICE_SETTING);
    struct buf sql = BUF_INIT;
    buf_addf(&sql,
             "-- application pool: at most %d connections per instance (%d instance(s) "
             "seen); PgBouncer: default_pool_size = %d",
             size, instances, size);
    a->sql = buf_detach(&sql, NULL);
    advice_add_column(a, "pool_size");
    a->confidence = ADVICE_MEDIUM;
    json_object_set_new(a->evidence, "setting", json_string("pool_size"));
    json_object_set_new(a->evidence, "proposed", json_integer(size));
    json_object_set_new(a->evidence, "instances", json_integer(instances));
    add_common(p, a);
    struct buf sum = BUF_INIT, why = BUF_INIT;
    buf_addf(&sum,
             "cap the application pool at %d per instance: %d of %d usable connections "
             "in use at the peak",
             size, p->peak, p->usable);
    buf_addf(&why,
             "Pool size = usable connections (%d) x 0.8 / application instances (%d, "
             "distinct client and application name) = %d, leaving room for "
             "maintenance and monitoring sessions.",
             p->usable, instances, size);
    a->summary = buf_detach(&sum, NULL);
    a->reasoning = buf_detach(&why, NULL);
}

static int read_facts(struct adv_ctx *c, struct pool_facts *p, struct err *err)
{
    PGresult *r = adv_exec(c, activity_sql, 0, NULL, err);
    if (!r)
        return -1;
    p->connections = (int)adv_num(r, 0, 0);
    p->active = (int)adv_num(r, 0, 1);
    p->idle_in_tx = (int)adv_num(r, 0, 2);
    p->oldest_iit_s = adv_num(r, 0, 3);
    p->longest_active_s = adv_num(r, 0, 4);
    p->instances = (int)adv_num(r, 0, 5);
    snprintf(p->busiest_role, sizeof(p->busiest_role), "%s", PQgetvalue(r, 0, 6));
    PQclear(r);
    if (!(r = adv_exec(c, settings_sql, 0, NULL, err)))
        return -1;
    p->usable = (int)adv_num(r, 0, 0) - (int)adv_num(r, 0, 1) - (int)adv_num(r, 0, 4);
    p->statement_timeout_ms = (int64_t)adv_num(r, 0, 2);
    p->iit_timeout_ms = (int64_t)adv_num(r, 0, 3);
    PQclear(r);
    if (!(r = adv_exec(c, sessions_sql, 0, NULL, err)))
        return -1;
    for (int i = 0; i < PQntuples(r) && i < TOP_SESSIONS; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "pid", json_integer((json_int_t)adv_num(r, i, 0)));
        json_object_set_new(s, "user", json_string(PQgetvalue(r, i, 1)));
        json_object_set_new(s, "application_name", json_string(PQgetvalue(r, i, 2)));
        json_object_set_new(s, "client", json_string(PQgetvalue(r, i, 3)));
        json_object_set_new(s, "state", json_string(PQgetvalue(r, i, 4)));
        json_object_set_new(s, "connected_s", json_real(adv_num(r, i, 5)));
        json_object_set_new(s, "state_s", json_real(adv_num(r, i, 6)));
        json_object_set_new(s, "xact_s", json_real(adv_num(r, i, 7)));
        json_array_append_new(p->sessions, s);
    }
    PQclear(r);
    p->peak = c->peak_connections > p->connections ? c->peak_connections : p->connections;
    return 0;
}

int advise_connections(struct adv_ctx *c, struct err *err)
{
    struct pool_facts p = { .sessions = json_array() };
    struct err ferr = { 0 };
    if (read_facts(c, &p, &ferr) < 0) {
        json_decref(p.sessions);
        if (adv_fatal(c, &ferr)) {
            *err = ferr;
            return -1;
        }
        advice_list_note(c->out, "connection facts not read: %s", ferr.msg);
        return 0;
    }
    json_t *ctx = json_object();
    json_object_set_new(ctx, "connections", json_integer(p.connections));
    json_object_set_new(ctx, "peak_connections", json_integer(p.peak));
    json_object_set_new(ctx, "usable_connections", json_integer(p.usable));
    json_object_set_new(ctx, "idle_in_transaction", json_integer(p.idle_in_tx));
    json_object_set_new(ctx, "statement_timeout_ms", json_integer(p.statement_timeout_ms));
    json_object_set_new(ctx, "idle_in_transaction_session_timeout_ms",
                        json_integer(p.iit_timeout_ms));
    json_object_set(ctx, "longest_holders", p.sessions);
    json_object_set_new(c->out->context, "connections", ctx);
    bool pressure = p.usable > 0 && (double)p.peak >= POOL_PRESSURE * p.usable;
    if (p.iit_timeout_ms == 0 && (p.idle_in_tx > 0 || c->peak_idle_in_tx > 0))
        advise_iit(c, &p);
    if (p.statement_timeout_ms == 0 && (p.longest_active_s >= 60 || pressure) && p.busiest_role[0])
        advise_statement_timeout(c, &p);
    if (pressure)
        advise_pool_size(c, &p);
    json_decref(p.sessions);
    return 0;
}
