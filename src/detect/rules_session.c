/*
 * The rules judged on the server's sessions, against fixed thresholds:
 * connection_saturation and connections_refused (used against usable
 * slots, refusals in the log), long_running_query and idle_in_transaction
 * (per session), blocking_chain (per root blocker of the blocking tree)
 * lock_waits (sessions waiting on heavyweight locks) and pooler_saturation
 * (clients waiting for a server connection at PgBouncer, or turned away).
 */
#include "detect/internal.h"

#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* The largest application holding connections, for the next steps. */
static const char *top_app(const struct sample *s, int *count)
{
    *count = 0;
    if (s->nby_app <= 0 || !s->by_app[0].name)
        return NULL;
    *count = s->by_app[0].count;
    return s->by_app[0].name;
}

/* connection_saturation and connections_refused. */
static void judge_connections(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    int usable = sample_usable_connections(s);
    int napp;
    const char *app = top_app(s, &napp);
    char who[160] = "";
    if (app && *app)
        snprintf(who, sizeof(who), " (most from '%.100s': %d)", app, napp);
    bool refused_log = s->has_log && s->log_refused > 0;
    if (refused_log || (usable > 0 && s->connections >= usable)) {
        struct finding *f =
            detect_add_finding(d, FK_CONN_REFUSED, FINDING_CRITICAL, xstrdup("server"));
        if (refused_log) {
            f->value = (double)s->log_refused;
            f->threshold = 1;
            f->unit = "refused";
            f->summary =
                detect_fmt("%" PRId64 " connections refused (too many clients already); %d "
                           "of %d usable connections in use",
                           s->log_refused, s->connections, usable);
        } else {
            f->value = s->connections;
            f->threshold = usable;
            f->unit = "connections";
            f->summary =
                detect_fmt("all %d usable connections are in use: new clients are refused", usable);
        }
        f->next = detect_fmt("find who holds the connections%s before raising max_connections; "
                             "put a pooler in front",
                             who);
    }
    if (usable <= 0)
        return;
    double used = (double)s->connections / usable;
    if (used < c->connections_warning)
        return;
    bool crit = used >= c->connections_critical;
    struct finding *f = detect_add_finding(
        d, FK_CONN_SATURATION, crit ? FINDING_CRITICAL : FINDING_WARNING, xstrdup("server"));
    f->value = 100 * used;
    f->threshold = 100 * (crit ? c->connections_critical : c->connections_warning);
    f->unit = "%";
    f->summary = detect_fmt("%.0f%% of usable connections in use (%d of %d; %d active, %d idle in "
                            "transaction)",
                            100 * used, s->connections, usable, s->active, s->idle_in_transaction);
    f->next = detect_fmt("see who holds them%s: idle-in-transaction sessions mean a leak in the "
                         "application, many active ones mean slow queries or a surge",
                         who);
}

static struct finding *add_session_finding(struct detector *d, enum finding_kind kind,
                                           enum finding_severity sev,
                                           const struct sample_session *ss)
{
    struct finding *f = detect_add_finding(d, kind, sev, detect_fmt("pid:%d", ss->pid));
    f->pid = ss->pid;
    f->query = ss->query && *ss->query ? xstrdup(ss->query) : NULL;
    f->unit = "s";
    return f;
}

/* " (app 'x', user 'y')" for a summary, or "" */
static void session_who(char *out, size_t size, const struct sample_session *ss)
{
    const char *app = ss->app && *ss->app ? ss->app : NULL;
    const char *user = ss->user && *ss->user ? ss->user : NULL;
    if (app && user)
        snprintf(out, size, " (app '%.60s', user '%.60s')", app, user);
    else if (app || user)
        snprintf(out, size, " (%s '%.60s')", app ? "app" : "user", app ? app : user);
    else
        out[0] = '\0';
}

/* long_running_query and idle_in_transaction, per session. */
static void judge_session(struct detector *d, const struct sample_session *ss)
{
    const struct detect_config *c = &d->cfg;
    char who[160];
    session_who(who, sizeof(who), ss);
    const char *state = ss->state ? ss->state : "";
    if (strcmp(state, "active") == 0 && ss->query_age_s >= c->long_running_s) {
        bool crit = ss->query_age_s >= c->long_running_critical_s;
        struct finding *f =
            add_session_finding(d, FK_LONG_RUNNING, crit ? FINDING_CRITICAL : FINDING_WARNING, ss);
        f->value = ss->query_age_s;
        f->threshold = crit ? c->long_running_critical_s : c->long_running_s;
        char *q = detect_brief_dup(ss->query);
        f->summary =
            detect_fmt("pid %d%s has been running %s for %.0f s", ss->pid, who, q, ss->query_age_s);
        free(q);
        f->next = detect_fmt("EXPLAIN the statement; if it is not needed, cancel it with SELECT "
                             "pg_cancel_backend(%d) and set a statement_timeout",
                             ss->pid);
    }
    if (strncmp(state, "idle in transaction", 19) == 0 &&
        ss->state_age_s >= c->idle_in_transaction_s) {
        bool crit = ss->state_age_s >= c->idle_in_transaction_critical_s;
        struct finding *f = add_session_finding(d, FK_IDLE_IN_TRANSACTION,
                                                crit ? FINDING_CRITICAL : FINDING_WARNING, ss);
        f->value = ss->state_age_s;
        f->threshold = crit ? c->idle_in_transaction_critical_s : c->idle_in_transaction_s;
        char *q = detect_brief_dup(ss->query);
        f->summary = detect_fmt("pid %d%s has been %s for %.0f s; its last statement was %s",
                                ss->pid, who, state, ss->state_age_s, q);
        free(q);
        f->next = detect_fmt("the application left a transaction open: find the code path that "
                             "misses COMMIT/ROLLBACK, set idle_in_transaction_session_timeout; "
                             "SELECT pg_terminate_backend(%d) ends it now",
                             ss->pid);
    }
}

static int session_index(const struct sample *s, int pid)
{
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].pid == pid)
            return i;
    return -1;
}

/*
 * Adds to roots every root blocker above waiter w: walks pg_blocking_pids
 * upwards (mark[] guards against cycles, which a deadlock can show for an
 * instant) and counts w once per root.
 */
static void find_roots(const struct sample *s, int w, int *stack, char *mark, struct root **roots,
                       size_t *nroots, size_t *cap)
{
    memset(mark, 0, (size_t)s->nsessions);
    const struct sample_session *waiter = &s->sessions[w];
    double wait = waiter->query_age_s >= 0 ? waiter->query_age_s : waiter->state_age_s;
    int sp = 0;
    mark[w] = 1;
    stack[sp++] = w;
    while (sp > 0) {
        const struct sample_session *ss = &s->sessions[stack[--sp]];
        for (int k = 0; k < ss->nblocked_by; k++) {
            int pid = ss->blocked_by[k];
            int idx = session_index(s, pid);
            if (idx >= 0 && mark[idx])
                continue;
            if (idx >= 0)
                mark[idx] = 1;
            if (idx >= 0 && s->sessions[idx].nblocked_by > 0) {
                stack[sp++] = idx;
                continue;
            }
            size_t r = 0;
            while (r < *nroots && (*roots)[r].pid != pid)
                r++;
            if (r == *nroots) {
                *roots = xgrow(*roots, cap, *nroots + 1, sizeof(**roots));
                (*roots)[(*nroots)++] = (struct root){ pid, idx, 0, 0, -1 };
            }
            if ((*roots)[r].last == w)
                continue;
            (*roots)[r].last = w;
            (*roots)[r].victims++;
            if (wait > (*roots)[r].wait_s)
                (*roots)[r].wait_s = wait;
        }
    }
}

/* blocking_chain: one finding per root blocker whose victims have waited long enough. */
static void judge_blocking(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    if (s->nsessions <= 0)
        return;
    struct root *roots = NULL;
    size_t nroots = 0, cap = 0;
    int *stack = xmalloc((size_t)s->nsessions * sizeof(*stack));
    char *mark = xmalloc((size_t)s->nsessions);
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].nblocked_by > 0)
            find_roots(s, i, stack, mark, &roots, &nroots, &cap);
    for (size_t r = 0; r < nroots; r++) {
        const struct root *rt = &roots[r];
        if (rt->wait_s < c->blocking_min_wait_s)
            continue;
        bool crit = rt->victims >= c->blocking_critical_sessions ||
                    rt->wait_s >= c->blocking_critical_wait_s;
        const struct sample_session *ss = rt->idx >= 0 ? &s->sessions[rt->idx] : NULL;
        struct finding *f =
            detect_add_finding(d, FK_BLOCKING, crit ? FINDING_CRITICAL : FINDING_WARNING,
                               detect_fmt("pid:%d", rt->pid));
        f->pid = rt->pid;
        f->query = ss && ss->query && *ss->query ? xstrdup(ss->query) : NULL;
        f->value = rt->victims;
        f->threshold = c->blocking_critical_sessions;
        f->unit = "sessions";
        const char *state = ss && ss->state && *ss->state ? ss->state : "state unknown";
        char *q = detect_brief_dup(ss ? ss->query : NULL);
        f->summary =
            detect_fmt("pid %d (%s) blocks %d session%s, waiting up to %.0f s; its "
                       "statement: %s",
                       rt->pid, state, rt->victims, rt->victims == 1 ? "" : "s", rt->wait_s, q);
        free(q);
        f->next = detect_fmt("pid %d holds the lock the others wait for: if it is stuck or idle in "
                             "transaction, SELECT pg_terminate_backend(%d), then find why it holds "
                             "locks that long",
                             rt->pid, rt->pid);
    }
    free(roots);
    free(stack);
    free(mark);
}

/* lock_waits: sessions waiting on heavyweight locks, or lock waits in the log. */
static void judge_lock_waits(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    int waiting = 0;
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].wait_event_type && strcmp(s->sessions[i].wait_event_type, "Lock") == 0)
            waiting++;
    int64_t logged = s->has_log ? s->log_lock_waits : 0;
    /* A small pool is all stuck with fewer waiters than a big one: a share counts too. */
    bool by_sessions =
        waiting >= c->lock_waits_sessions || (c->lock_waits_share > 0 && waiting >= 2 &&
                                              waiting >= c->lock_waits_share * (double)s->active);
    if (!by_sessions && logged < c->lock_waits_logged)
        return;
    bool crit = waiting >= c->lock_waits_critical;
    struct finding *f = detect_add_finding(
        d, FK_LOCK_WAITS, crit ? FINDING_CRITICAL : FINDING_WARNING, xstrdup("server"));
    if (by_sessions) {
        f->value = waiting;
        f->threshold = crit ? c->lock_waits_critical : c->lock_waits_sessions;
        f->unit = "sessions";
    } else {
        f->value = (double)logged;
        f->threshold = c->lock_waits_logged;
        f->unit = "lock waits";
    }
    f->summary = detect_fmt("%d session%s waiting on locks, %" PRId64 " lock waits logged", waiting,
                            waiting == 1 ? "" : "s", logged);
    f->next = xstrdup("follow the blocking chain (pg_blocking_pids) to the session holding the "
                      "lock; keep transactions short and set lock_timeout");
}

/*
 * pooler_saturation: PgBouncer's clients wait for a server connection. The
 * mean wait per transaction comes from SHOW STATS (or the stats lines of a
 * log), the oldest waiter's from SHOW POOLS. A client turned away (the
 * log's query_wait_timeout, max_client_conn) is critical at once: the
 * application got an error. The server sees none of this: its connections
 * stay at the pool's size.
 */
static void judge_pooler(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    if (!s->has_pgbouncer)
        return;
    double mean_ms = s->pgb_xacts > 0 ? s->pgb_wait_ms / (double)s->pgb_xacts : 0;
    double oldest_ms = 0;
    int waiting = 0;
    for (int i = 0; i < s->npools; i++) {
        waiting += s->pools[i].cl_waiting;
        if (s->pools[i].cl_waiting > 0 && 1000 * s->pools[i].maxwait_s > oldest_ms)
            oldest_ms = 1000 * s->pools[i].maxwait_s;
    }
    double wait_ms = mean_ms > oldest_ms ? mean_ms : oldest_ms;
    if (s->pgb_refused <= 0 && wait_ms < c->pool_wait_ms)
        return;
    bool crit = s->pgb_refused > 0 || wait_ms >= c->pool_wait_critical_ms;
    struct finding *f = detect_add_finding(
        d, FK_POOL_SATURATION, crit ? FINDING_CRITICAL : FINDING_WARNING, xstrdup("server"));
    if (s->pgb_refused > 0) {
        f->value = (double)s->pgb_refused;
        f->threshold = 1;
        f->unit = "clients turned away";
        f->event = true;
        f->summary = detect_fmt("PgBouncer turned %" PRId64 " client%s away (no server connection "
                                "in time, or no client slot); %.0f transactions/s went through",
                                s->pgb_refused, s->pgb_refused == 1 ? "" : "s",
                                (double)s->pgb_xacts / ((double)(s->end_us - s->start_us) / 1e6));
    } else {
        f->value = wait_ms;
        f->threshold = crit ? c->pool_wait_critical_ms : c->pool_wait_ms;
        f->unit = "ms";
        f->summary = waiting > 0
                         ? detect_fmt("%d client%s waiting at PgBouncer for a server connection, "
                                      "the oldest for %.0f ms; %.0f ms waited a transaction",
                                      waiting, waiting == 1 ? "" : "s", oldest_ms, mean_ms)
                         : detect_fmt("PgBouncer's clients waited %.0f ms a transaction for a "
                                      "server connection",
                                      mean_ms);
    }
    f->next = xstrdup("the pool's server connections are all taken: find the sessions that hold "
                      "them (idle in transaction, or slow queries) before raising the pool size");
}

void detect_judge_sessions(struct detector *d, const struct sample *s)
{
    judge_connections(d, s);
    judge_pooler(d, s);
    for (int i = 0; i < s->nsessions; i++)
        judge_session(d, &s->sessions[i]);
    judge_blocking(d, s);
    judge_lock_waits(d, s);
}
