/*
 * The outages `sleuth demo` can stage, how each is injected into the
 * running shop and how it is undone: a schema change (DROP INDEX, CREATE
 * INDEX, an ALTER TABLE whose transaction stays open) made by a
 * "migration" session of its own, a setting changed with ALTER SYSTEM,
 * a switch of the traffic paths (demo/traffic.h) to the faulty release,
 * or a surge of visitors; and the fix: the index created again or
 * dropped, the migration committed, the setting reset, the old release
 * back, the surge over.
 *
 * Each fault also names the alert kinds that tell it (detect/finding.h),
 * in groups: the demo and its test wait until one kind of every group has
 * fired. Pointer arguments are borrowed; names and descriptions are static.
 */
#ifndef SLEUTH_DEMO_FAULT_H
#define SLEUTH_DEMO_FAULT_H

#include "detect/finding.h"
#include "util/compat.h"
#include "util/err.h"

#include <stdbool.h>

/* X(enum, name, one-line description) */
#define DEMO_FAULTS(X)                                                                           \
    X(DEMO_STEADY, "steady", "the same traffic and no fault: sleuth must stay quiet")            \
    X(DEMO_MISSING_INDEX, "missing-index",                                                       \
      "a migration drops the index on orders(customer_id) that every page's order history uses") \
    X(DEMO_HOT_INDEX, "hot-index",                                                               \
      "a migration indexes orders(status, updated_at), the columns every order update changes")  \
    X(DEMO_POOL_EXHAUSTION, "pool-exhaustion",                                                   \
      "a release keeps each checkout's transaction open while it waits on the payment provider") \
    X(DEMO_DEPLOY_SURGE, "deploy-surge",                                                         \
      "a release fetches order items once per order (N+1) and counts sales of each product")     \
    X(DEMO_REDUNDANT_FETCH, "redundant-fetch",                                                   \
      "a release loads every column of every product in the category to show twenty of them")    \
    X(DEMO_TRAFFIC_SURGE, "traffic-surge",                                                       \
      "a campaign brings three times the visitors, each page on a connection of its own")        \
    X(DEMO_LOCK_CONTENTION, "lock-contention",                                                   \
      "a migration alters the orders table and keeps its transaction open")                      \
    X(DEMO_PLAN_REGRESSION, "plan-regression",                                                   \
      "someone turns index scans off server-wide (ALTER SYSTEM): the same queries change plans")

enum demo_fault {
#define X(e, name, desc) e,
    DEMO_FAULTS(X)
#undef X
        DEMO_FAULT__COUNT
};

/* At most this many groups of signals per fault. */
#define DEMO_SIGNAL_GROUPS 3

/*
 * The alert kinds that tell a fault: groups[i] is a bit set of
 * (1u << enum finding_kind); the fault is detected once an alert of one
 * kind of each group has fired. The first group is the one expected
 * within two intervals; later groups may need longer (idle_in_transaction
 * waits for its 30 s threshold). `allowed` adds the kinds that are honest
 * side effects of the fault (a saturated CPU slows every query). DEMO_STEADY
 * has no groups and allows nothing.
 */
struct demo_fault_signals {
    unsigned groups[DEMO_SIGNAL_GROUPS];
    int ngroups;
    unsigned allowed; /* groups included */
};

struct demo_traffic;
/* What an injected fault holds until it is undone (the migration's connection). */
struct demo_fault_state;

const char *demo_fault_name(enum demo_fault f);
const char *demo_fault_description(enum demo_fault f);
/* "missing-index" (or "missing_index"); returns -1 for an unknown name. */
int demo_fault_parse(const char *name, enum demo_fault *out);
void demo_fault_signals(enum demo_fault f, struct demo_fault_signals *out);

/*
 * Injects f: runs its DDL on a connection of its own to app_conninfo (the
 * application's role, application_name "migration"; the statement is
 * logged by log_statement = 'ddl'; the lock-contention migration keeps its
 * connection and transaction in *state), changes a setting on
 * admin_conninfo (a superuser: ALTER SYSTEM), then switches traffic (may
 * be NULL) to the faulty behaviour. DEMO_STEADY does nothing. *state is
 * the caller's: demo_fault_undo frees it. Errors: ERR_CONN, ERR_SQL
 * (traffic is then left as it was), ERR_IO (the surge's threads).
 */
MUST_CHECK int demo_fault_inject(const char *app_conninfo, const char *admin_conninfo,
                                 enum demo_fault f, struct demo_traffic *t,
                                 struct demo_fault_state **state, struct err *err);
/*
 * The fix: undoes f (creates the index again, drops the new one, commits
 * the migration, resets the setting, brings the old release back, ends
 * the surge) and frees state. *what gets a static one-line description.
 * Errors as demo_fault_inject's.
 */
/* Frees state without undoing anything (the server is going away); NULL is a no-op. */
void demo_fault_state_free(struct demo_fault_state *state);
MUST_CHECK int demo_fault_undo(const char *app_conninfo, const char *admin_conninfo,
                               enum demo_fault f, struct demo_traffic *t,
                               struct demo_fault_state *state, const char **what, struct err *err);

#endif
