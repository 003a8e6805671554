/*
 * Harmful and useless indexes, from the catalog and the statistics read
 * once by advise_run:
 *  - indexes on columns that frequent UPDATEs write (their SET lists from
 *    libpg_query): every such update must touch the index and loses HOT;
 *    dropped when they are scanned rarely compared with the updates, or
 *    replaced by an index on their other columns when queries filter on
 *    those;
 *  - invalid indexes (a failed CREATE INDEX CONCURRENTLY): maintained on
 *    every write, never used;
 *  - duplicate and prefix-redundant btree indexes;
 *  - unused indexes (no scan since statistics at least --min-stats-age old).
 * Unique, primary-key and constraint indexes are never proposed for
 * dropping: they enforce something.
 */
#include "advise/internal.h"

#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/*
 * An index scanned fewer times than this fraction of its table's updates costs more than it gives.
 */
#define HOT_SCAN_RATIO 0.1

static bool droppable(const struct adv_index *x)
{
    return !x->unique && !x->primary && !x->constraint;
}

static char *index_id(const struct adv_index *x)
{
    return adv_qualified(x->schema, x->name);
}

static struct advice *add_drop(struct adv_ctx *c, const struct adv_index *x, double confidence)
{
    struct advice *a = advice_list_add(c->out, ADVICE_DROP_INDEX);
    struct buf sql = BUF_INIT;
    advice_drop_index_sql(&sql, x->schema, x->name);
    a->sql = buf_detach(&sql, NULL);
    a->table = adv_qualified(x->schema, x->table);
    a->index = index_id(x);
    for (size_t k = 0; k < x->keys.ncols; k++)
        advice_add_column(a, x->keys.cols[k]);
    a->confidence = confidence;
    json_object_set_new(a->evidence, "index", json_string(a->index));
    json_object_set_new(a->evidence, "definition", json_string(x->def));
    json_object_set_new(a->evidence, "idx_scan", json_integer(x->idx_scan));
    json_object_set_new(a->evidence, "index_bytes", json_integer(x->bytes));
    json_object_set_new(a->evidence, "stats_age_s", json_real(c->stats_age_s));
    return a;
}

/* The columns of one table that frequent UPDATEs write, and how many such calls there were. */
struct writes {
    const char *cols[SQLFACTS_MAX_COLUMNS];
    size_t n;
    int64_t calls;
    json_t *queryids;
};

static void collect_writes(const struct adv_ctx *c, const struct adv_index *x, struct writes *w)
{
    for (size_t i = 0; i < c->nstmts; i++) {
        const struct adv_stmt *s = &c->stmts[i];
        if (!s->parsed || s->facts.command != SQLFACTS_CMD_UPDATE ||
            (!s->focus && s->calls < c->opts->min_calls))
            continue;
        char name[2 * SQLFACTS_NAME_MAX + 2];
        snprintf(name, sizeof(name), "%s.%s", x->schema, x->table);
        int t = sqlfacts_find_table(&s->facts, name);
        if (t < 0)
            t = sqlfacts_find_table(&s->facts, x->table);
        if (t < 0 || !(s->facts.tables[t].flags & SQLFACTS_TAB_TARGET))
            continue;
        bool counted = false;
        for (size_t k = 0; k < s->facts.n_cols; k++) {
            const struct sqlfacts_column *col = &s->facts.cols[k];
            if (col->table != t || col->role != SQLFACTS_ROLE_SET)
                continue;
            if (!indexdef_has_column(&x->keys, col->name, x->keys.ncols))
                continue;
            bool seen = false;
            for (size_t j = 0; j < w->n && !seen; j++)
                seen = strcmp(w->cols[j], col->name) == 0;
            if (!seen && w->n < SQLFACTS_MAX_COLUMNS)
                w->cols[w->n++] = col->name;
            if (!counted) {
                w->calls += s->calls;
                json_array_append_new(w->queryids, json_integer(s->queryid));
                counted = true;
            }
        }
    }
}

/* Key columns of x that no update writes and that frequent queries filter, join or sort on. */
static size_t read_columns(const struct adv_ctx *c, const struct adv_index *x,
                           const struct writes *w, const char **out)
{
    size_t n = 0;
    for (size_t k = 0; k < x->keys.ncols; k++) {
        const char *key = x->keys.cols[k];
        bool written = false;
        for (size_t j = 0; j < w->n && !written; j++)
            written = strcmp(w->cols[j], key) == 0;
        if (written)
            continue;
        bool used = false;
        for (size_t i = 0; i < c->nstmts && !used; i++) {
            const struct adv_stmt *s = &c->stmts[i];
            if (!s->parsed || s->calls < c->opts->min_calls)
                continue;
            int t = sqlfacts_find_table(&s->facts, x->table);
            for (size_t m = 0; t >= 0 && m < s->facts.n_cols && !used; m++) {
                const struct sqlfacts_column *col = &s->facts.cols[m];
                used = col->table == t && strcmp(col->name, key) == 0 &&
                       (col->role == SQLFACTS_ROLE_FILTER || col->role == SQLFACTS_ROLE_JOIN ||
                        col->role == SQLFACTS_ROLE_ORDER);
            }
        }
        if (used)
            out[n++] = key;
    }
    return n;
}

static void hot_index(struct adv_ctx *c, const struct adv_index *x)
{
    struct writes w = { .n = 0, .queryids = json_array() };
    collect_writes(c, x, &w);
    if (w.n == 0) {
        json_decref(w.queryids);
        return;
    }
    double hot_ratio = x->tab_upd > 0 ? (double)x->tab_hot_upd / (double)x->tab_upd : 1;
    double per_s = c->pgss_age_s > 0 ? (double)w.calls / c->pgss_age_s : 0;
    const char *keep[INDEXDEF_MAX_COLS];
    size_t nkeep = read_columns(c, x, &w, keep);
    bool rarely = (double)x->idx_scan < HOT_SCAN_RATIO * (double)w.calls;
    if (!rarely && nkeep == 0) {
        advice_list_note(c->out,
                         "index %s.%s is on columns updates write but is scanned %lld times "
                         "against %lld updates: kept",
                         x->schema, x->name, (long long)x->idx_scan, (long long)w.calls);
        json_decref(w.queryids);
        return;
    }
    struct advice *a;
    struct buf why = BUF_INIT, sum = BUF_INIT;
    double conf = rarely && hot_ratio < 0.5 ? ADVICE_HIGH : ADVICE_MEDIUM;
    if (nkeep > 0 && nkeep < x->keys.ncols) {
        a = add_drop(c, x, conf);
        a->kind = ADVICE_REPLACE_INDEX;
        struct buf sql = BUF_INIT;
        advice_create_index_sql(&sql, x->schema, x->table, keep, nkeep);
        buf_addch(&sql, '\n');
        advice_drop_index_sql(&sql, x->schema, x->name);
        free(a->sql);
        a->sql = buf_detach(&sql, NULL);
        json_t *k = json_array();
        for (size_t i = 0; i < nkeep; i++)
            json_array_append_new(k, json_string(keep[i]));
        json_object_set_new(a->evidence, "replacement_columns", k);
        buf_addf(&sum, "replace %s.%s by an index without the columns updates write", x->schema,
                 x->name);
        buf_addf(&why, "Queries filter on its other columns, so an index on those alone "
                       "keeps serving them while updates of the written columns can be HOT "
                       "again. ");
    } else if (rarely) {
        a = add_drop(c, x, conf);
        buf_addf(&sum, "drop %s.%s: updates write its columns and it is rarely scanned", x->schema,
                 x->name);
    } else {
        json_decref(w.queryids);
        return;
    }
    json_t *set = json_array();
    for (size_t i = 0; i < w.n; i++)
        json_array_append_new(set, json_string(w.cols[i]));
    json_object_set_new(a->evidence, "set_columns", set);
    json_object_set_new(a->evidence, "update_queryids", w.queryids);
    json_object_set_new(a->evidence, "update_calls", json_integer(w.calls));
    json_object_set_new(a->evidence, "updates_per_s", json_real(per_s));
    json_object_set_new(a->evidence, "n_tup_upd", json_integer(x->tab_upd));
    json_object_set_new(a->evidence, "n_tup_hot_upd", json_integer(x->tab_hot_upd));
    json_object_set_new(a->evidence, "hot_ratio", json_real(hot_ratio));
    json_object_set_new(a->evidence, "reason", json_string("hot_index"));
    buf_addf(&why,
             "%lld updates (%.2f/s) write its key column(s); the table's HOT ratio is "
             "%.0f%% (%lld of %lld updates) and the index was scanned %lld times, fewer "
             "than %.0f%% of the updates.",
             (long long)w.calls, per_s, 100 * hot_ratio, (long long)x->tab_hot_upd,
             (long long)x->tab_upd, (long long)x->idx_scan, 100 * HOT_SCAN_RATIO);
    a->reasoning = buf_detach(&why, NULL);
    a->summary = buf_detach(&sum, NULL);
}

static void invalid_index(struct adv_ctx *c, const struct adv_index *x)
{
    struct advice *a = add_drop(c, x, ADVICE_HIGH);
    struct buf re = BUF_INIT;
    /* pg_get_indexdef writes "CREATE [UNIQUE] INDEX name ON ...". */
    const char *p = strstr(x->def, "INDEX ");
    if (p) {
        buf_add(&re, x->def, (size_t)(p - x->def));
        buf_addf(&re, "INDEX CONCURRENTLY %s;", p + strlen("INDEX "));
    }
    json_object_set_new(a->evidence, "recreate", json_string(re.ptr));
    json_object_set_new(a->evidence, "reason", json_string("invalid"));
    buf_release(&re);
    struct buf sum = BUF_INIT;
    buf_addf(&sum, "drop the invalid index %s.%s", x->schema, x->name);
    a->summary = buf_detach(&sum, NULL);
    a->reasoning = xstrdup("A failed CREATE INDEX CONCURRENTLY left it invalid: every write "
                           "still maintains it and no query can use it. Drop it, fix what made "
                           "the build fail (for a unique index: the duplicates), then recreate "
                           "it with the statement in evidence.recreate if it is still wanted.");
}

/* Whether a (droppable) is made redundant by b; *exact when their keys are equal. */
static bool redundant(const struct adv_index *a, const struct adv_index *b, bool *exact)
{
    if (a == b || strcmp(a->schema, b->schema) != 0 || strcmp(a->table, b->table) != 0 ||
        !a->valid || !b->valid || a->partial || b->partial ||
        strcmp(a->keys.method, b->keys.method) != 0 || a->keys.ncols == 0)
        return false;
    const char *ka[INDEXDEF_MAX_COLS], *kb[INDEXDEF_MAX_COLS];
    for (size_t k = 0; k < a->keys.ncols; k++)
        ka[k] = a->keys.cols[k];
    for (size_t k = 0; k < b->keys.ncols; k++)
        kb[k] = b->keys.cols[k];
    *exact = a->keys.ncols == b->keys.ncols;
    /* Only a btree serves a prefix of its keys; other methods must match exactly. */
    if (!*exact && strcmp(a->keys.method, "btree") != 0)
        return false;
    if (!advice_cols_prefix(ka, a->keys.ncols, kb, b->keys.ncols))
        return false;
    /* Of two exact duplicates, keep the one that enforces something, else the more scanned. */
    if (*exact && droppable(b) &&
        (b->idx_scan > a->idx_scan || (b->idx_scan == a->idx_scan && strcmp(b->name, a->name) < 0)))
        return false;
    return true;
}

static void redundant_index(struct adv_ctx *c, const struct adv_index *a, const struct adv_index *b,
                            bool exact)
{
    struct advice *ad = add_drop(c, a, exact ? ADVICE_HIGH : 0.8);
    json_object_set_new(ad->evidence, "reason", json_string(exact ? "duplicate" : "prefix"));
    json_object_set_new(ad->evidence, "covered_by", json_string(b->name));
    json_object_set_new(ad->evidence, "covered_by_definition", json_string(b->def));
    json_object_set_new(ad->evidence, "covered_by_idx_scan", json_integer(b->idx_scan));
    struct buf sum = BUF_INIT, why = BUF_INIT;
    buf_addf(&sum, "drop %s.%s: %s %s", a->schema, a->name,
             exact ? "it duplicates" : "its keys are a prefix of", b->name);
    buf_addf(&why,
             "%s has the same method and %s key columns; it can serve every query %s "
             "serves (%lld scans so far), and one index less is one less to maintain on "
             "each write (%lld bytes freed). Check that operator classes and collations "
             "match before dropping.",
             b->name, exact ? "the same" : "begins with the same", a->name, (long long)a->idx_scan,
             (long long)a->bytes);
    ad->summary = buf_detach(&sum, NULL);
    ad->reasoning = buf_detach(&why, NULL);
}

static void unused_index(struct adv_ctx *c, const struct adv_index *x)
{
    double conf = c->stats_age_s >= 4.0 * (double)c->opts->min_stats_age_s && c->stats_age_s > 0
                      ? 0.8
                      : ADVICE_MEDIUM;
    struct advice *a = add_drop(c, x, conf);
    json_object_set_new(a->evidence, "reason", json_string("unused"));
    json_object_set_new(a->evidence, "min_stats_age_s", json_integer(c->opts->min_stats_age_s));
    struct buf sum = BUF_INIT, why = BUF_INIT;
    buf_addf(&sum, "drop %s.%s: no scan in %.1f days of statistics", x->schema, x->name,
             c->stats_age_s / 86400);
    buf_addf(&why,
             "pg_stat_user_indexes counts no scan since the statistics began %.1f days "
             "ago, yet every write maintains its %lld bytes. Statistics are per server: "
             "check replicas before dropping.",
             c->stats_age_s / 86400, (long long)x->bytes);
    a->summary = buf_detach(&sum, NULL);
    a->reasoning = buf_detach(&why, NULL);
}

int advise_harmful_indexes(struct adv_ctx *c, struct err *err)
{
    (void)err;
    for (size_t i = 0; i < c->nindexes; i++) {
        const struct adv_index *x = &c->indexes[i];
        /* A failed CREATE UNIQUE INDEX enforces nothing: only constraints are kept. */
        if (!x->valid && !x->primary && !x->constraint)
            invalid_index(c, x);
    }
    for (size_t i = 0; i < c->nindexes; i++) {
        const struct adv_index *x = &c->indexes[i];
        if (x->valid && droppable(x))
            hot_index(c, x);
    }
    for (size_t i = 0; i < c->nindexes; i++) {
        const struct adv_index *a = &c->indexes[i];
        char *id = index_id(a);
        bool done = !droppable(a) || advice_list_has_index(c->out, id);
        free(id);
        for (size_t j = 0; j < c->nindexes && !done; j++) {
            bool exact;
            if (redundant(a, &c->indexes[j], &exact)) {
                redundant_index(c, a, &c->indexes[j], exact);
                done = true;
            }
        }
    }
    bool old_enough = c->stats_age_s >= (double)c->opts->min_stats_age_s;
    for (size_t i = 0; i < c->nindexes; i++) {
        const struct adv_index *x = &c->indexes[i];
        char *id = index_id(x);
        if (x->valid && droppable(x) && x->idx_scan == 0 && old_enough &&
            !advice_list_has_index(c->out, id))
            unused_index(c, x);
        free(id);
    }
    if (!old_enough)
        advice_list_note(c->out,
                         "unused indexes not judged: the statistics are %.1f days old, less than "
                         "--min-stats-age (%.1f days)",
                         c->stats_age_s / 86400, (double)c->opts->min_stats_age_s / 86400);
    return 0;
}
