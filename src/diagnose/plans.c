/*
 * The plans behind an incident's queries (see diagnose_plans in
 * diagnose.h). Where the source logged plans, a query that became slower
 * at the onset usually ran another plan from then on: the plans before and
 * after are the evidence a DBA reads first, and when no index was dropped
 * they tell a plan regression (the planner chose worse, after a settings
 * or statistics change) from a query that merely got slower.
 */
#include "diagnose/internal.h"

#include "util/xalloc.h"

#include <stdlib.h>

#include "util/banned.h"

static const char *outline_of(const json_t *plans, const char *which)
{
    const char *s = json_string_value(json_object_get(json_object_get(plans, which), "outline"));
    return s ? s : "?";
}

void diagnose_plans(struct incident *inc, diag_plans_fn *plans, void *ctx, int64_t window_us)
{
    if (!plans)
        return;
    /*
     * A dropped index explains the new plan (a missing index). While the
     * whole server slowed, a changed plan is still one (its rank, below
     * the broad cause, stays).
     */
    bool keep_kind = inc->has_trigger && inc->trigger.kind == CHANGE_DROP_INDEX;
    for (size_t i = 0; i < inc->ncauses; i++) {
        struct cause *g = &inc->causes[i];
        if (!g->fingerprint)
            continue;
        json_t *p = plans(ctx, g->fingerprint, g->start_us, window_us);
        if (!p)
            continue;
        json_object_set_new(g->evidence, "plans", p);
        char *summary = diag_fmt("%s; its plan changed from %s to %s", g->summary ? g->summary : "",
                                 outline_of(p, "before"), outline_of(p, "after"));
        free(g->summary);
        g->summary = summary;
        if (g->kind != CAUSE_QUERY_REGRESSION || keep_kind)
            continue;
        g->kind = CAUSE_PLAN_REGRESSION;
        free(g->fix);
        g->fix = xstrdup("compare the plans before and after (evidence.plans): undo the setting "
                         "or statistics change that flipped it, ANALYZE the table, or give the "
                         "query an index that makes the good plan the cheap one");
    }
}
