/*
 * Missing indexes. For every statement of pg_stat_statements that is slow
 * and frequent enough (--min-mean, --min-calls), libpg_query's parse tree
 * gives a btree column order per table (sqlfacts_index_candidate:
 * equalities, one range, then the ORDER BY). The candidate is checked
 * against the server: EXPLAIN of the statement's generic plan (PG15 has
 * no EXPLAIN (GENERIC_PLAN): PREPARE, force_generic_plan, EXECUTE with
 * NULLs) before, and, when hypopg is installed, after a hypothetical
 * index. Dexter's rule accepts it: the plan costs at least 100 and the
 * index cuts it by half or more. Without hypopg a Seq Scan filtering the
 * candidate's first column is the evidence, with a lower confidence.
 */
#include "advise/internal.h"

#include "util/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define MAX_CAND_COLS 8
/* Dexter: a plan cheaper than this is not worth an index. */
#define MIN_COST 100.0

/* The highest $n in a normalised statement: the parameters PREPARE will infer. */
static int count_params(const char *q)
{
    int max = 0;
    for (const char *p = q; *p; p++) {
        if (*p == '$' && isdigit((unsigned char)p[1]) &&
            (p == q || !isalnum((unsigned char)p[-1]))) {
            int n = atoi(p + 1);
            if (n > max && n < 1000)
                max = n;
        }
    }
    return max;
}

/*
 * EXPLAIN of the statement's generic plan: the cost of its top node and
 * the plan as JSON (a new reference). The prepared statement is
 * deallocated on every path. A statement prepared *before*
 * hypopg_create_index would keep its cached plan, so each call prepares
 * anew.
 */
static int explain(struct adv_ctx *c, const char *query, bool analyze, double *cost, json_t **plan,
                   struct err *err)
{
    char name[48];
    snprintf(name, sizeof(name), "sleuth_advise_%u", ++c->prepared);
    struct buf sql = BUF_INIT;
    size_t len = strlen(query);
    while (len && (query[len - 1] == ';' || isspace((unsigned char)query[len - 1])))
        len--;
    buf_addf(&sql, "PREPARE %s AS %.*s", name, (int)len, query);
    PGresult *r = adv_exec(c, sql.ptr, 0, NULL, err);
    buf_release(&sql);
    if (!r)
        return -1;
    PQclear(r);
    int nparams = count_params(query);
    buf_addf(&sql, "EXPLAIN (FORMAT JSON%s) EXECUTE %s", analyze ? ", ANALYZE" : "", name);
    if (nparams) {
        buf_addch(&sql, '(');
        for (int i = 0; i < nparams; i++)
            buf_addstr(&sql, i ? ", NULL" : "NULL");
        buf_addch(&sql, ')');
    }
    r = adv_exec(c, sql.ptr, 0, NULL, err);
    buf_release(&sql);
    int rc = -1;
    if (r) {
        json_error_t jerr;
        json_t *doc = PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, &jerr) : NULL;
        json_t *top = json_object_get(json_array_get(doc, 0), "Plan");
        if (top) {
            *cost = json_number_value(json_object_get(top, "Total Cost"));
            *plan = json_incref(json_array_get(doc, 0));
            rc = 0;
        } else {
            err_set(err, ERR_SQL, "EXPLAIN returned no plan");
        }
        json_decref(doc);
        PQclear(r);
    }
    char dealloc[80];
    snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", name);
    struct err derr;
    PGresult *d = adv_exec(c, dealloc, 0, NULL, &derr);
    PQclear(d);
    return rc;
}

/* Whether some node of the plan is a Seq Scan on table whose Filter mentions col. */
static bool plan_seq_filter(json_t *node, const char *table, const char *col)
{
    if (!node)
        return false;
    const char *type = json_string_value(json_object_get(node, "Node Type"));
    const char *rel = json_string_value(json_object_get(node, "Relation Name"));
    const char *filter = json_string_value(json_object_get(node, "Filter"));
    if (type && rel && strcmp(type, "Seq Scan") == 0 && strcmp(rel, table) == 0 &&
        (!col || (filter && strstr(filter, col))))
        return true;
    size_t i;
    json_t *child;
    json_array_foreach(json_object_get(node, "Plans"), i, child)
    {
        if (plan_seq_filter(child, table, col))
            return true;
    }
    return false;
}

/* Whether some node of the plan scans the index named name. */
static bool plan_uses_index(json_t *node, const char *name)
{
    if (!node)
        return false;
    const char *idx = json_string_value(json_object_get(node, "Index Name"));
    if (idx && strcmp(idx, name) == 0)
        return true;
    size_t i;
    json_t *child;
    json_array_foreach(json_object_get(node, "Plans"), i, child)
    {
        if (plan_uses_index(child, name))
            return true;
    }
    return false;
}

/* The node types of a plan, top first: "Limit > Sort > Seq Scan". */
static void plan_shape(json_t *node, struct buf *out)
{
    while (node) {
        const char *type = json_string_value(json_object_get(node, "Node Type"));
        if (out->len)
            buf_addstr(out, " > ");
        buf_addstr(out, type ? type : "?");
        if (json_is_true(json_object_get(node, "Parallel Aware")))
            buf_addstr(out, " (parallel)");
        node = json_array_get(json_object_get(node, "Plans"), 0);
    }
}

/* Resolves a table named in a statement through the search_path: schema, name, rows. */
static int resolve_table(struct adv_ctx *c, const struct sqlfacts_table *t, char *schema,
                         char *name, double *reltuples, struct err *err)
{
    struct buf q = BUF_INIT;
    advice_quote_qualified(&q, t->schema, t->name);
    const char *params[] = { q.ptr };
    PGresult *r = adv_exec(c,
                           "SELECT n.nspname, c.relname, c.reltuples FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'm') "
                           "AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
                           1, params, err);
    buf_release(&q);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        snprintf(schema, SQLFACTS_NAME_MAX, "%s", PQgetvalue(r, 0, 0));
        snprintf(name, SQLFACTS_NAME_MAX, "%s", PQgetvalue(r, 0, 1));
        *reltuples = adv_num(r, 0, 2);
    }
    PQclear(r);
    return found ? 1 : 0;
}

/* The column name without a " DESC" suffix, in a caller's buffer. */
static const char *bare(const char *col, char *tmp, size_t cap)
{
    size_t len = strlen(col);
    if (len > 5 && strcmp(col + len - 5, " DESC") == 0)
        len -= 5;
    snprintf(tmp, cap, "%.*s", (int)len, col);
    return tmp;
}

/* A valid btree index whose leading keys are the candidate's columns. */
static const struct adv_index *existing_index(const struct adv_ctx *c, const char *schema,
                                              const char *table, char **cols, size_t n)
{
    const char *names[MAX_CAND_COLS];
    char tmp[MAX_CAND_COLS][SQLFACTS_NAME_MAX];
    for (size_t i = 0; i < n; i++)
        names[i] = bare(cols[i], tmp[i], sizeof(tmp[i]));
    for (size_t i = 0; i < c->nindexes; i++) {
        const struct adv_index *x = &c->indexes[i];
        if (strcmp(x->schema, schema) != 0 || strcmp(x->table, table) != 0 || !x->valid ||
            x->partial || strcmp(x->keys.method, "btree") != 0)
            continue;
        const char *keys[INDEXDEF_MAX_COLS];
        for (size_t k = 0; k < x->keys.ncols; k++)
            keys[k] = x->keys.cols[k];
        if (advice_cols_prefix(names, n, keys, x->keys.ncols))
            return x;
    }
    return NULL;
}

/* The create_index advice already given for these columns, to add a statement to. */
static struct advice *same_advice(struct adv_ctx *c, const char *sql)
{
    for (size_t i = 0; i < c->out->n; i++)
        if (c->out->items[i].kind == ADVICE_CREATE_INDEX && strcmp(c->out->items[i].sql, sql) == 0)
            return &c->out->items[i];
    return NULL;
}

struct hypo {
    double cost_after;
    int64_t size_bytes;
    bool used;
    json_t *plan;
};

/* Creates the hypothetical index, explains again, measures it, and resets hypopg. */
static int hypo_check(struct adv_ctx *c, const struct adv_stmt *s, const char *create_sql,
                      struct hypo *h, struct err *err)
{
    /* hypopg wants a plain CREATE INDEX. */
    struct buf def = BUF_INIT, sql = BUF_INIT;
    buf_addf(&def, "CREATE INDEX %s", create_sql + strlen("CREATE INDEX CONCURRENTLY "));
    buf_addf(&sql,
             "SELECT indexrelid, indexname, %s.hypopg_relation_size(indexrelid) FROM "
             "%s.hypopg_create_index($1)",
             c->hypopg_schema, c->hypopg_schema);
    const char *params[] = { def.ptr };
    PGresult *r = adv_exec(c, sql.ptr, 1, params, err);
    buf_release(&def);
    buf_release(&sql);
    if (!r)
        return -1;
    char name[128];
    snprintf(name, sizeof(name), "%s", PQntuples(r) ? PQgetvalue(r, 0, 1) : "");
    h->size_bytes = PQntuples(r) ? (int64_t)adv_num(r, 0, 2) : 0;
    PQclear(r);
    int rc = explain(c, s->query, false, &h->cost_after, &h->plan, err);
    if (rc == 0)
        h->used = plan_uses_index(json_object_get(h->plan, "Plan"), name);
    buf_addf(&sql, "SELECT %s.hypopg_reset()", c->hypopg_schema);
    struct err rerr;
    PQclear(adv_exec(c, sql.ptr, 0, NULL, &rerr));
    buf_release(&sql);
    return rc;
}

static void add_create(struct adv_ctx *c, const struct adv_stmt *s, const char *schema,
                       const char *table, char **cols, size_t n, const char *sql,
                       double cost_before, json_t *plan_before, const struct hypo *h,
                       double reltuples, double actual_ms)
{
    struct advice *a = advice_list_add(c->out, ADVICE_CREATE_INDEX);
    a->sql = xstrdup(sql);
    a->table = adv_qualified(schema, table);
    char tmp[SQLFACTS_NAME_MAX];
    for (size_t i = 0; i < n; i++)
        advice_add_column(a, bare(cols[i], tmp, sizeof(tmp)));
    json_t *e = a->evidence;
    json_object_set_new(e, "queryid", json_integer(s->queryid));
    json_object_set_new(e, "query", json_string(s->query));
    json_object_set_new(e, "calls", json_integer(s->calls));
    json_object_set_new(e, "mean_ms", json_real(s->mean_ms));
    json_object_set_new(e, "rows_per_call",
                        json_real(s->calls ? (double)s->rows / (double)s->calls : 0));
    json_object_set_new(e, "blocks_per_call",
                        json_real(s->calls ? (double)s->blks / (double)s->calls : 0));
    json_object_set_new(e, "table_rows", json_real(reltuples));
    json_object_set_new(e, "cost_before", json_real(cost_before));
    struct buf shape = BUF_INIT;
    plan_shape(json_object_get(plan_before, "Plan"), &shape);
    json_object_set_new(e, "plan_before", json_string(shape.ptr));
    buf_reset(&shape);
    if (actual_ms >= 0)
        json_object_set_new(e, "actual_ms_before", json_real(actual_ms));
    json_object_set_new(e, "hypopg", json_boolean(h != NULL));
    struct buf why = BUF_INIT;
    if (h) {
        json_object_set_new(e, "cost_after", json_real(h->cost_after));
        json_object_set_new(e, "cost_reduction",
                            json_real(cost_before > 0 ? 1 - h->cost_after / cost_before : 0));
        json_object_set_new(e, "estimated_size_bytes", json_integer(h->size_bytes));
        plan_shape(json_object_get(h->plan, "Plan"), &shape);
        json_object_set_new(e, "plan_after", json_string(shape.ptr));
        a->confidence = ADVICE_HIGH;
        buf_addf(&why,
                 "The statement's generic plan costs %.0f; with a hypothetical index "
                 "(hypopg) it costs %.0f (%.0f%% less) and uses the index. Dexter's rule "
                 "(start cost >= 100, cut >= 50%%) accepts it.",
                 cost_before, h->cost_after, 100 * (1 - h->cost_after / cost_before));
    } else {
        a->confidence = ADVICE_MEDIUM;
        buf_addf(&why,
                 "The statement's generic plan costs %.0f and reads %s with a Seq Scan "
                 "filtering %s. Not validated: installing hypopg would let sleuth check "
                 "the index with a hypothetical one and raise the confidence.",
                 cost_before, table, a->columns[0]);
    }
    buf_release(&shape);
    a->reasoning = buf_detach(&why, NULL);
    struct buf sum = BUF_INIT;
    buf_addf(&sum, "index %s (", a->table);
    for (size_t i = 0; i < a->ncolumns; i++)
        buf_addf(&sum, "%s%s", i ? ", " : "", a->columns[i]);
    buf_addf(&sum, ") for a query called %lld times, %.1f ms on average", (long long)s->calls,
             s->mean_ms);
    a->summary = buf_detach(&sum, NULL);
}

/* One table of one statement: candidate, plan, validation, advice. */
static int check_table(struct adv_ctx *c, const struct adv_stmt *s, const struct sqlfacts_table *t,
                       struct err *err)
{
    char schema[SQLFACTS_NAME_MAX], table[SQLFACTS_NAME_MAX];
    double reltuples = 0;
    struct buf list = BUF_INIT, sql = BUF_INIT;
    char *cols[MAX_CAND_COLS];
    size_t n = 0;
    json_t *plan = NULL;
    struct hypo h = { 0 };
    int rc = 0;
    char qualified[2 * SQLFACTS_NAME_MAX + 2];
    snprintf(qualified, sizeof(qualified), "%s%s%s", t->schema, t->schema[0] ? "." : "", t->name);
    if (sqlfacts_index_candidate(&s->facts, qualified, &list) == 0)
        goto done;
    int found = resolve_table(c, t, schema, table, &reltuples, err);
    if (found <= 0) {
        rc = found;
        goto done;
    }
    n = advice_split_columns(list.ptr, cols, MAX_CAND_COLS);
    if (n == 0 || existing_index(c, schema, table, cols, n))
        goto done;
    advice_create_index_sql(&sql, schema, table, (const char *const *)cols, n);
    struct advice *prev = same_advice(c, sql.ptr);
    if (prev) {
        json_t *also = json_object_get(prev->evidence, "also_queryids");
        if (!also)
            json_object_set_new(prev->evidence, "also_queryids", also = json_array());
        json_array_append_new(also, json_integer(s->queryid));
        goto done;
    }
    double cost = 0, actual_ms = -1;
    if (explain(c, s->query, false, &cost, &plan, err) < 0) {
        rc = -1;
        goto done;
    }
    if (c->opts->analyze && s->facts.command == SQLFACTS_CMD_SELECT) {
        json_t *aplan = NULL;
        double acost;
        if (explain(c, s->query, true, &acost, &aplan, err) == 0)
            actual_ms = json_number_value(
                json_object_get(json_object_get(aplan, "Plan"), "Actual Total Time"));
        json_decref(aplan);
    }
    char tmp[SQLFACTS_NAME_MAX];
    if (cost < MIN_COST)
        goto done;
    if (c->hypopg_schema[0]) {
        if (hypo_check(c, s, sql.ptr, &h, err) < 0) {
            rc = -1;
            goto done;
        }
        if (!h.used || h.cost_after > cost / 2) {
            advice_list_note(c->out,
                             "index candidate %s.%s (%s) for queryid %lld rejected: cost %.0f -> "
                             "%.0f with a hypothetical index%s",
                             schema, table, list.ptr, (long long)s->queryid, cost, h.cost_after,
                             h.used ? "" : " (the planner did not use it)");
            goto done;
        }
        add_create(c, s, schema, table, cols, n, sql.ptr, cost, plan, &h, reltuples, actual_ms);
    } else if (plan_seq_filter(json_object_get(plan, "Plan"), table,
                               bare(cols[0], tmp, sizeof(tmp)))) {
        add_create(c, s, schema, table, cols, n, sql.ptr, cost, plan, NULL, reltuples, actual_ms);
    }
done:
    json_decref(plan);
    json_decref(h.plan);
    for (size_t i = 0; i < n; i++)
        free(cols[i]);
    buf_release(&list);
    buf_release(&sql);
    return rc;
}

int advise_missing_indexes(struct adv_ctx *c, struct err *err)
{
    struct err serr;
    PQclear(adv_exec(c, "SET plan_cache_mode = force_generic_plan", 0, NULL, &serr));
    if (!c->hypopg_schema[0])
        advice_list_note(c->out, "hypopg is not installed in this database: index candidates "
                                 "are checked against the plan only (lower confidence)");
    size_t considered = 0;
    for (size_t i = 0; i < c->nstmts; i++) {
        const struct adv_stmt *s = &c->stmts[i];
        if (!s->parsed ||
            (!s->focus && (s->calls < c->opts->min_calls || s->mean_ms < c->opts->min_mean_ms)))
            continue;
        if (s->facts.command != SQLFACTS_CMD_SELECT && s->facts.command != SQLFACTS_CMD_UPDATE &&
            s->facts.command != SQLFACTS_CMD_DELETE)
            continue;
        considered++;
        for (size_t t = 0; t < s->facts.n_tables; t++) {
            struct err terr = { 0 };
            if (check_table(c, s, &s->facts.tables[t], &terr) < 0) {
                if (adv_fatal(c, &terr)) {
                    *err = terr;
                    return -1;
                }
                advice_list_note(c->out, "queryid %lld, table %s: %s", (long long)s->queryid,
                                 s->facts.tables[t].name, terr.msg);
            }
        }
    }
    json_object_set_new(c->out->context, "index_candidates", json_integer((json_int_t)considered));
    PQclear(adv_exec(c, "RESET plan_cache_mode", 0, NULL, &serr));
    return 0;
}
