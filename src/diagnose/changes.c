/*
 * Triggers and fixes: which change started an incident and which one
 * ended it, tied by time and by object. A change is a trigger candidate
 * from five minutes before the onset to the detection, a schema change
 * to the end (a CREATE INDEX is logged when it ends, after the writes it
 * blocked); it must fit the top
 * cause: the dropped index was on the slow query's table, the new index
 * covers what the UPDATE sets, the ALTER TABLE is on the blocked table, a
 * setting or ANALYZE came before a plan changed, a new application or new
 * statements began with the surge. A fix is a change between the onset and
 * the recovery that undoes it: the index came back, the hot index went,
 * the release's statements stopped, the blocking transaction ended.
 *
 * The same knowledge makes one finding of its own: an index created on
 * columns that frequent UPDATEs set is worth an alert before latency moves
 * (diagnoser_change_findings).
 */
#include "diagnose/internal.h"

#include "sql/indexdef.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define LOOKBACK_US (300 * 1000000LL)

/* Whether a setting steers the planner (a change of it can flip a plan). */
static bool planner_setting(const char *name)
{
    static const char *const prefixes[] = {
        "enable_",
        "random_page_cost",
        "seq_page_cost",
        "cpu_",
        "effective_cache_size",
        "work_mem",
        "default_statistics_target",
        "jit",
        "plan_cache_mode",
        "from_collapse",
        "join_collapse",
        "geqo",
        "parallel_",
        "max_parallel",
        "min_parallel",
        "constraint_excl",
        "effective_io_concurrency",
        "hash_mem_multiplier",
    };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* Whether a statement is not DDL (its text may be NULL). */
static bool ddl_free(const char *text)
{
    return text && !diag_is_ddl(text);
}

/* CREATE or DROP INDEX, REINDEX, ALTER TABLE or other DDL. */
static bool schema_change(enum sample_change_kind k)
{
    return k == CHANGE_CREATE_INDEX || k == CHANGE_DROP_INDEX || k == CHANGE_REINDEX ||
           k == CHANGE_ALTER_TABLE || k == CHANGE_DDL;
}

/* The table a change is on: its own, or the index registry's for an index change. */
static const char *change_table(const struct diagnoser *d, const struct sample_change *c)
{
    if (*c->table)
        return c->table;
    if (c->kind == CHANGE_DROP_INDEX || c->kind == CHANGE_CREATE_INDEX ||
        c->kind == CHANGE_REINDEX) {
        const char *bare = strchr(c->object, '.') ? strchr(c->object, '.') + 1 : c->object;
        for (size_t i = 0; i < d->nindexes; i++)
            if (strcmp(d->indexes[i].name, bare) == 0 && *d->indexes[i].table)
                return d->indexes[i].table;
    }
    return "";
}

/* Whether an index name says it is on table ("orders_customer_id_idx" on orders). */
static bool named_for(const char *index, const char *table)
{
    const char *bare = strchr(table, '.') ? strchr(table, '.') + 1 : table;
    size_t n = strlen(bare);
    return n && strncmp(index, bare, n) == 0 && index[n] == '_';
}

static bool on_table(const struct diagnoser *d, const struct sample_change *c, const char *table,
                     const char **why)
{
    if (!table || !*table)
        return false;
    const char *t = change_table(d, c);
    if (*t && diag_table_match(t, table)) {
        *why = "by time and table";
        return true;
    }
    if (!*t && (c->kind == CHANGE_DROP_INDEX || c->kind == CHANGE_CREATE_INDEX) &&
        named_for(c->object, table)) {
        *why = "by time and the index's name";
        return true;
    }
    return false;
}

/* How well change c fits as the trigger of cause g (0: not at all). */
static double trigger_fit(const struct diag_ctx *x, const struct cause *g,
                          const struct sample_change *c, const char **why)
{
    const struct diagnoser *d = x->d;
    *why = "by time";
    switch (g->kind) {
    case CAUSE_MISSING_INDEX:
        if (c->kind == CHANGE_DROP_INDEX && g->index && strcmp(c->object, g->index) == 0) {
            *why = "by time and index";
            return 1;
        }
        if (c->kind == CHANGE_DROP_INDEX && on_table(d, c, g->table, why))
            return 0.9;
        if ((c->kind == CHANGE_ALTER_TABLE || c->kind == CHANGE_DDL) &&
            on_table(d, c, g->table, why))
            return 0.5;
        return c->kind == CHANGE_DROP_INDEX ? 0.2 : 0;
    case CAUSE_HOT_INDEX:
        if (c->kind == CHANGE_CREATE_INDEX && g->index &&
            strcmp(strchr(c->object, '.') ? strchr(c->object, '.') + 1 : c->object, g->index) ==
                0) {
            *why = "by time and index: it covers the columns the UPDATE sets";
            return 1;
        }
        return c->kind == CHANGE_CREATE_INDEX && on_table(d, c, g->table, why) ? 0.7 : 0;
    case CAUSE_LOCK_CONTENTION:
        if (schema_change(c->kind) && on_table(d, c, g->table, why))
            return 1;
        return schema_change(c->kind) ? 0.4 : 0;
    case CAUSE_PLAN_REGRESSION:
    case CAUSE_QUERY_REGRESSION:
        /* What changes plans: the planner's settings and statistics, then the indexes. */
        if (c->kind == CHANGE_SETTING) {
            *why = "by time: a planner setting changed";
            return planner_setting(c->object) ? 1 : 0.6;
        }
        if (c->kind == CHANGE_ANALYZE && on_table(d, c, g->table, why))
            return 0.9;
        if (c->kind == CHANGE_DROP_INDEX && on_table(d, c, g->table, why))
            return 0.8;
        if (schema_change(c->kind) && on_table(d, c, g->table, why))
            return 0.5;
        return 0;
    case CAUSE_DEPLOY_SURGE:
    case CAUSE_POOL_EXHAUSTION:
    case CAUSE_REDUNDANT_FETCH:
        if (c->kind == CHANGE_NEW_APP) {
            *why = "by time: a new application_name appeared with it";
            return 0.9;
        }
        return c->kind == CHANGE_RELEASE ? 0.8 : 0;
    case CAUSE_RESOURCE_SATURATION:
        return c->kind == CHANGE_RESTART ? 0.3 : 0;
    default:
        return schema_change(c->kind) && on_table(d, c, g->table, why) ? 0.5 : 0;
    }
}

/* How well change c undoes the trigger or the cause (0: not at all). */
static double fix_fit(const struct diag_ctx *x, const struct cause *g,
                      const struct sample_change *c, const char **why)
{
    const struct diagnoser *d = x->d;
    const struct incident *inc = x->inc;
    switch (g->kind) {
    case CAUSE_MISSING_INDEX:
        if (c->kind != CHANGE_CREATE_INDEX || !on_table(d, c, g->table, why))
            return 0;
        *why = "the index is back on the slow query's table";
        if (g->ncolumns && *c->detail) {
            struct indexdef def;
            if (indexdef_parse(c->detail, &def) == 0 && indexdef_has_column(&def, g->columns[0], 1))
                return 1;
        }
        return 0.7;
    case CAUSE_HOT_INDEX:
        if (c->kind == CHANGE_DROP_INDEX && g->index &&
            strcmp(strchr(c->object, '.') ? strchr(c->object, '.') + 1 : c->object, g->index) ==
                0) {
            *why = "the index on the updated columns was dropped";
            return 1;
        }
        return 0;
    case CAUSE_PLAN_REGRESSION:
    case CAUSE_QUERY_REGRESSION:
        if (c->kind == CHANGE_SETTING && inc->has_trigger && inc->trigger.kind == CHANGE_SETTING &&
            strcmp(inc->trigger.object, c->object) == 0) {
            *why = "the setting was changed back";
            return 1;
        }
        if ((c->kind == CHANGE_ANALYZE || c->kind == CHANGE_CREATE_INDEX) &&
            on_table(d, c, g->table, why))
            return 0.7;
        return 0;
    case CAUSE_DEPLOY_SURGE:
    case CAUSE_REDUNDANT_FETCH:
        if (c->kind == CHANGE_ROLLBACK) {
            *why = "the release's statements stopped";
            return 1;
        }
        return 0;
    case CAUSE_LOCK_CONTENTION:
        if (c->kind == CHANGE_XACT_END) {
            *why = "the transaction holding the lock ended";
            return 1;
        }
        return 0;
    default:
        return 0;
    }
}

/* --- derived changes: a release, its rollback, the blocker's end ------------------ */

static void derived(struct diag_ctx *x, const struct cause *g, struct sample_change *out, int *nout)
{
    struct diagnoser *d = x->d;
    /* A release: the first interval in which new statements took a share of the time. */
    for (size_t i = 0; i < x->after->n && *nout < 2; i++) {
        const struct dpoint *p = x->after->p[i];
        for (int k = 0; k < p->nq; k++) {
            if (!p->q[k].is_new || diag_query_sum(x->before, p->q[k].fp).calls)
                continue;
            out[(*nout)++] = (struct sample_change){ CHANGE_RELEASE,
                                                     p->start_us,
                                                     "new statements",
                                                     "",
                                                     "",
                                                     diag_text_of(d, p->q[k].fp),
                                                     "",
                                                     "",
                                                     0 };
            i = x->after->n;
            break;
        }
    }
    /* Its rollback: the surging query stopped before the end. */
    if (g->fingerprint && (g->kind == CAUSE_DEPLOY_SURGE || g->kind == CAUSE_REDUNDANT_FETCH)) {
        int64_t last = 0;
        for (size_t i = 0; i < x->after->n; i++)
            for (int k = 0; k < x->after->p[i]->nq; k++)
                if (x->after->p[i]->q[k].fp == g->fingerprint && x->after->p[i]->q[k].calls)
                    last = x->after->p[i]->end_us;
        int64_t last_point = x->after->n ? x->after->p[x->after->n - 1]->end_us : 0;
        if (last && last < last_point)
            out[(*nout)++] =
                (struct sample_change){ CHANGE_ROLLBACK,          last, "release", "", "",
                                        g->query ? g->query : "", "",   "",        0 };
    }
    /* The blocker's end: the last interval it was seen blocking. */
    if (g->kind == CAUSE_LOCK_CONTENTION) {
        json_t *b = json_object_get(g->evidence, "blocker");
        int pid = (int)json_integer_value(json_object_get(b, "pid"));
        for (int i = 0; pid && i < d->nblockers; i++)
            if (d->blockers[i].pid == pid && x->end_us && d->blockers[i].last_us <= x->end_us)
                out[(*nout)++] =
                    (struct sample_change){ CHANGE_XACT_END,
                                            d->blockers[i].last_us,
                                            "blocking transaction",
                                            g->table ? g->table : "",
                                            "",
                                            d->blockers[i].query ? d->blockers[i].query : "",
                                            d->blockers[i].app ? d->blockers[i].app : "",
                                            "",
                                            pid };
    }
}

/*
 * A query that became slower right after a planner setting or its
 * table's statistics changed runs another plan: without the work per call
 * (a log), the change is the evidence. Not when the whole server slowed
 * (more traffic, a starved machine, a lock): its queries are symptoms, and
 * an ANALYZE that autovacuum ran meanwhile is a coincidence.
 */
static void plan_story(struct incident *inc)
{
    bool planner = (inc->trigger.kind == CHANGE_SETTING && planner_setting(inc->trigger.object)) ||
                   inc->trigger.kind == CHANGE_ANALYZE;
    if (diag_broad_cause(inc))
        return;
    for (size_t i = 0; planner && i < inc->ncauses; i++) {
        struct cause *g = &inc->causes[i];
        if (g->kind != CAUSE_QUERY_REGRESSION)
            continue;
        /* Statistics change plans of their own table's queries only. */
        const char *analyzed = inc->trigger.table[0] ? inc->trigger.table : inc->trigger.object;
        if (inc->trigger.kind == CHANGE_ANALYZE && analyzed[0] &&
            !diag_table_match(g->table ? g->table : "", analyzed))
            continue;
        g->kind = CAUSE_PLAN_REGRESSION;
        char *summary =
            diag_fmt("%s, right after %s %s changed: the planner chose another plan",
                     g->summary ? g->summary : "slower",
                     inc->trigger.kind == CHANGE_SETTING ? "the setting" : "the statistics of",
                     inc->trigger.object);
        free(g->summary);
        g->summary = summary;
        free(g->fix);
        g->fix = diag_fmt("undo the change of %s, or compare the plan before and after (EXPLAIN, "
                          "auto_explain) and fix the statistics or the query",
                          inc->trigger.object);
    }
}

static const struct sample_change *change_at(const struct diagnoser *d, size_t i)
{
    return &d->changes[(d->chead + i) % DIAG_CHANGES].c;
}

void diag_trigger_and_fix(struct diag_ctx *x)
{
    struct incident *inc = x->inc;
    struct diagnoser *d = x->d;
    if (!inc->ncauses)
        return;
    const struct cause *g = &inc->causes[0];
    struct sample_change extra[4];
    int nextra = 0;
    derived(x, g, extra, &nextra);
    int64_t until = inc->detected_us > x->onset_us ? inc->detected_us : x->onset_us;
    /* A schema change is logged when it ends, which can be long after the waits it caused. */
    int64_t ddl_until = x->end_us ? x->end_us : d->last_us;
    double best = 0;
    const struct sample_change *pick = NULL;
    const char *pick_why = "";
    size_t total = d->nchanges + (size_t)nextra;
    for (size_t i = 0; i < total; i++) {
        const struct sample_change *c = i < d->nchanges ? change_at(d, i) : &extra[i - d->nchanges];
        if (c->ts_us < x->onset_us - LOOKBACK_US ||
            c->ts_us > (schema_change(c->kind) ? ddl_until : until))
            continue;
        const char *why;
        double fit = trigger_fit(x, g, c, &why);
        /* Closer to the onset is likelier; a change after it must have been logged at its end. */
        int64_t dist = c->ts_us > x->onset_us ? c->ts_us - x->onset_us : x->onset_us - c->ts_us;
        fit -= 0.3 * (double)dist / (double)LOOKBACK_US;
        if (fit > best && fit >= 0.3) {
            best = fit;
            pick = c;
            pick_why = why;
        }
    }
    if (pick) {
        incident_change_set(&inc->trigger, pick, pick_why);
        inc->has_trigger = true;
        plan_story(inc);
    }
    int64_t fix_until =
        x->end_us ? x->end_us + (x->end_us - x->onset_us) / 4 + 60 * 1000000LL : INT64_MAX;
    best = 0;
    pick = NULL;
    for (size_t i = 0; i < total; i++) {
        const struct sample_change *c = i < d->nchanges ? change_at(d, i) : &extra[i - d->nchanges];
        if (c->ts_us < x->onset_us || c->ts_us > fix_until ||
            (inc->has_trigger && c->ts_us <= inc->trigger.ts_us))
            continue;
        const char *why = "";
        double fit = fix_fit(x, g, c, &why);
        if (fit > best && fit >= 0.5) {
            best = fit;
            pick = c;
            pick_why = why;
        }
    }
    if (pick) {
        incident_change_set(&inc->fix, pick, pick_why);
        inc->has_fix = true;
    }
}

/* --- the finding of a new index on updated columns -------------------------------- */

/* Whether fp ran in an interval that ended before t (in the summary ring). */
static bool ran_before(const struct diagnoser *d, uint64_t fp, int64_t t)
{
    for (size_t i = 0; i < d->npoints; i++) {
        const struct dpoint *p = &d->points[(d->head + i) % DIAG_POINTS];
        if (p->end_us > t)
            break;
        for (int k = 0; k < p->nq; k++)
            if (p->q[k].fp == fp && p->q[k].calls)
                return true;
    }
    return false;
}

/* The first column of def that the UPDATE fp sets on table, or NULL. */
static const char *set_in_index(struct diagnoser *d, uint64_t fp, const char *table,
                                const struct indexdef *def, char *col, size_t cap)
{
    const struct sqlfacts *f = diag_facts(d, fp);
    if (!f || f->command != SQLFACTS_CMD_UPDATE)
        return NULL;
    for (size_t k = 0; k < f->n_cols; k++) {
        const struct sqlfacts_column *c = &f->cols[k];
        if (c->role == SQLFACTS_ROLE_SET && c->table >= 0 &&
            diag_table_match(table, f->tables[c->table].name) &&
            indexdef_has_column(def, c->name, def->ncols)) {
            snprintf(col, cap, "%s", c->name);
            return col;
        }
    }
    return NULL;
}

static void add_finding(struct finding **out, size_t *n, const struct dindex *x, uint64_t upd,
                        const char *text, const char *col, double rate)
{
    *out = xrealloc(*out, (*n + 1) * sizeof(**out));
    struct finding *fi = &(*out)[(*n)++];
    memset(fi, 0, sizeof(*fi));
    fi->kind = FK_INDEX_ON_UPDATED;
    fi->severity = FINDING_WARNING;
    fi->key = diag_fmt("table:%s", x->table);
    fi->table = xstrdup(x->table);
    fi->fingerprint = upd;
    fi->query = text ? xstrdup(text) : NULL;
    fi->value = rate;
    fi->baseline = NAN;
    fi->threshold = 1;
    fi->unit = "updates/s";
    fi->summary = diag_fmt("index %s on %s, created while the updates ran, covers %s, a column "
                           "an UPDATE sets %.1f times a second: those updates can no longer be HOT",
                           x->name, x->table, col, rate);
    fi->next = diag_fmt("drop index %s, or build it without %s", x->name, col);
}

size_t diagnoser_change_findings(struct diagnoser *d, const struct sample *s, struct finding **out)
{
    *out = NULL;
    if (s->gap)
        return 0;
    diag_note_indexes(d, s);
    diag_note_changes(d, s);
    if (s->baseline_only)
        return 0;
    size_t n = 0;
    double secs = sample_seconds(s);
    for (size_t i = 0; i < d->nindexes; i++) {
        const struct dindex *x = &d->indexes[i];
        struct indexdef def;
        if (!x->first_us || !*x->table || !diag_index_present(x, s->end_us) ||
            indexdef_parse(x->def, &def) < 0)
            continue;
        for (int q = 0; q < s->nqueries; q++) {
            const struct sample_query *sq = &s->queries[q];
            double rate = (double)sq->calls / secs;
            char col[NAME_LEN];
            if (rate < 1 || !ddl_free(sq->query))
                continue;
            diag_remember(d, sq->fingerprint, sq->query);
            /* An UPDATE that ran before the index came: the index changed its workload. */
            if (!set_in_index(d, sq->fingerprint, x->table, &def, col, sizeof(col)) ||
                !ran_before(d, sq->fingerprint, x->first_us))
                continue;
            add_finding(out, &n, x, sq->fingerprint, sq->query, col, rate);
            break;
        }
    }
    return n;
}
