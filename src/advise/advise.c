/*
 * advise_run: reads what every advice family needs once (server version,
 * hypopg, the age of the statistics, pg_stat_statements of the connected
 * database, its indexes, and a store's peaks and statements), then runs
 * the families (index.c, harmful.c, pool.c, fetch.c) and sorts their
 * advice. Sits at the end of the pipeline beside diagnose: the diagnosis
 * says what went wrong, this says what to change.
 */
#include "advise/advise.h"

#include "advise/internal.h"
#include "live/pgqueries.h"
#include "sql/fingerprint.h"
#include "store/store.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Statements read from pg_stat_statements, most total time first. */
#define ADV_MAX_STMTS 500

void advise_opts_init(struct advise_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->min_mean_ms = 20;
    o->min_calls = 50;
    o->min_stats_age_s = 7 * 86400;
}

static void first_line(char *dst, size_t cap, const char *msg)
{
    size_t n = strcspn(msg, "\n");
    snprintf(dst, cap, "%.*s", (int)n, msg);
}

PGresult *adv_exec(struct adv_ctx *c, const char *sql, int nparams, const char *const *params,
                   struct err *err)
{
    /* The tag keeps the advisor's statements out of the watcher's deltas and of its own input. */
    struct buf tagged = BUF_INIT;
    if (strncmp(sql, PGQ_TAG, sizeof(PGQ_TAG) - 1) != 0)
        buf_addstr(&tagged, PGQ_TAG);
    buf_addstr(&tagged, sql);
    PGresult *r = PQexecParams(c->conn, tagged.ptr, nparams, NULL, params, NULL, NULL, 0);
    buf_release(&tagged);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    char reason[200];
    first_line(reason, sizeof(reason), r ? PQresultErrorMessage(r) : PQerrorMessage(c->conn));
    PQclear(r);
    err_set(err, PQstatus(c->conn) == CONNECTION_OK ? ERR_SQL : ERR_CONN, "%s", reason);
    return NULL;
}

bool adv_fatal(const struct adv_ctx *c, const struct err *err)
{
    return err->code == ERR_CONN || PQstatus(c->conn) != CONNECTION_OK;
}

double adv_num(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtod(PQgetvalue(r, row, col), NULL);
}

bool adv_bool(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't';
}

char *adv_qualified(const char *schema, const char *name)
{
    struct buf b = BUF_INIT;
    buf_addf(&b, "%s.%s", schema, name);
    return buf_detach(&b, NULL);
}

/* Server version, hypopg, and the ages of the statistics. */
static int read_server(struct adv_ctx *c, struct err *err)
{
    PGresult *r = adv_exec(c,
                           "SELECT current_setting('server_version_num')::int, "
                           "extract(epoch FROM now() - coalesce((SELECT stats_reset FROM "
                           "pg_stat_database WHERE datname = current_database()), "
                           "pg_postmaster_start_time())), "
                           "(SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace "
                           "n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'), "
                           "(SELECT extversion FROM pg_extension WHERE extname = 'hypopg'), "
                           "current_database()",
                           0, NULL, err);
    if (!r)
        return -1;
    c->server_version = (int)adv_num(r, 0, 0);
    c->stats_age_s = adv_num(r, 0, 1);
    c->pgss_age_s = c->stats_age_s;
    if (!PQgetisnull(r, 0, 2)) {
        snprintf(c->hypopg_schema, sizeof(c->hypopg_schema), "%s", PQgetvalue(r, 0, 2));
        snprintf(c->hypopg_version, sizeof(c->hypopg_version), "%s", PQgetvalue(r, 0, 3));
    }
    json_t *ctx = c->out->context;
    json_object_set_new(ctx, "server_version_num", json_integer(c->server_version));
    json_object_set_new(ctx, "database", json_string(PQgetvalue(r, 0, 4)));
    json_object_set_new(ctx, "hypopg",
                        c->hypopg_version[0] ? json_string(c->hypopg_version) : json_null());
    json_object_set_new(ctx, "stats_age_s", json_real(c->stats_age_s));
    PQclear(r);
    return 0;
}

static void stmt_add(struct adv_ctx *c, int64_t queryid, const char *query, int64_t calls,
                     double total_ms, int64_t rows, int64_t blks, bool from_store)
{
    c->stmts = xrealloc(c->stmts, (c->nstmts + 1) * sizeof(*c->stmts));
    struct adv_stmt *s = &c->stmts[c->nstmts++];
    memset(s, 0, sizeof(*s));
    s->queryid = queryid;
    s->query = xstrdup(query);
    s->calls = calls;
    s->total_ms = total_ms;
    s->mean_ms = calls > 0 ? total_ms / (double)calls : 0;
    s->rows = rows;
    s->blks = blks;
    s->from_store = from_store;
    struct err perr;
    s->parsed = sqlfacts_parse(&s->facts, query, &perr) == 0;
    if (c->opts->nfocus) {
        bool parsed;
        uint64_t fp = fingerprint_sql(query, strlen(query), &parsed);
        for (size_t i = 0; i < c->opts->nfocus && !s->focus; i++)
            s->focus = c->opts->focus[i] == fp;
    }
}

/* pg_stat_statements of the connected database; a note when it is missing. */
static int read_statements(struct adv_ctx *c, struct err *err)
{
    PGresult *r = adv_exec(c, pgq_find_pgss, 0, NULL, err);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        advice_list_note(c->out, "pg_stat_statements is not installed in this database: no "
                                 "index, write or fetch advice from queries");
        return 0;
    }
    char schema[128], sql[1400];
    snprintf(schema, sizeof(schema), "%s", PQgetvalue(r, 0, 0));
    int version = pgq_extversion_num(PQgetvalue(r, 0, 1));
    PQclear(r);
    json_object_set_new(c->out->context, "pg_stat_statements", json_integer(version));
    /* 1.9 keys entries by toplevel too; nested statements would count twice. */
    snprintf(sql, sizeof(sql),
             "SELECT queryid, query, sum(calls)::bigint, sum(total_exec_time), "
             "sum(rows)::bigint, sum(shared_blks_hit + shared_blks_read)::bigint "
             "FROM %s.pg_stat_statements(true) "
             "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
             "AND queryid IS NOT NULL %s AND calls > 0 "
             "GROUP BY queryid, query ORDER BY 4 DESC LIMIT %d",
             schema, version >= 10900 ? "AND toplevel" : "", ADV_MAX_STMTS);
    r = adv_exec(c, sql, 0, NULL, err);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        if (strncmp(PQgetvalue(r, i, 1), PGQ_TAG, sizeof(PGQ_TAG) - 1) != 0)
            stmt_add(c, (int64_t)strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
                     (int64_t)adv_num(r, i, 2), adv_num(r, i, 3), (int64_t)adv_num(r, i, 4),
                     (int64_t)adv_num(r, i, 5), false);
    PQclear(r);
    if (version >= 10900) {
        snprintf(sql, sizeof(sql),
                 "SELECT extract(epoch FROM now() - stats_reset) FROM %s.pg_stat_statements_info",
                 schema);
        r = adv_exec(c, sql, 0, NULL, err);
        if (!r)
            return -1;
        if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
            c->pgss_age_s = adv_num(r, 0, 0);
        PQclear(r);
    }
    return 0;
}

static const char indexes_sql[] =
    "SELECT n.nspname, t.relname, ic.relname, pg_get_indexdef(i.indexrelid), "
    "coalesce(s.idx_scan, 0), ic.relpages::bigint * current_setting('block_size')::bigint, "
    "i.indisunique, i.indisprimary, i.indisvalid, "
    "EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid), "
    "i.indpred IS NOT NULL, i.indexprs IS NOT NULL, "
    "coalesce(st.n_tup_upd, 0), coalesce(st.n_tup_hot_upd, 0), coalesce(st.n_live_tup, 0) "
    "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
    "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
    "LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid "
    "LEFT JOIN pg_stat_user_tables st ON st.relid = t.oid "
    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname !~ '^pg_toast' ORDER BY 1, 2, 3 LIMIT 10000";

static int read_indexes(struct adv_ctx *c, struct err *err)
{
    PGresult *r = adv_exec(c, indexes_sql, 0, NULL, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    c->indexes = xcalloc((size_t)n + 1, sizeof(*c->indexes));
    for (int i = 0; i < n; i++) {
        struct adv_index *x = &c->indexes[c->nindexes];
        x->schema = xstrdup(PQgetvalue(r, i, 0));
        x->table = xstrdup(PQgetvalue(r, i, 1));
        x->name = xstrdup(PQgetvalue(r, i, 2));
        x->def = xstrdup(PQgetvalue(r, i, 3));
        if (indexdef_parse(x->def, &x->keys) < 0)
            memset(&x->keys, 0, sizeof(x->keys));
        x->idx_scan = (int64_t)adv_num(r, i, 4);
        x->bytes = (int64_t)adv_num(r, i, 5);
        x->unique = adv_bool(r, i, 6);
        x->primary = adv_bool(r, i, 7);
        x->valid = adv_bool(r, i, 8);
        x->constraint = adv_bool(r, i, 9);
        x->partial = adv_bool(r, i, 10);
        x->expression = adv_bool(r, i, 11);
        x->tab_upd = (int64_t)adv_num(r, i, 12);
        x->tab_hot_upd = (int64_t)adv_num(r, i, 13);
        x->tab_live = (int64_t)adv_num(r, i, 14);
        c->nindexes++;
    }
    PQclear(r);
    return 0;
}

struct store_fold {
    struct adv_ctx *c;
    int peak, peak_iit;
    int64_t peak_at_us;
    /* statements by text: calls, time and rows summed over the intervals */
    char **text;
    int64_t *calls, *rows;
    double *ms;
    size_t n;
};

static void fold_sample(void *ctx, const struct sample *s)
{
    struct store_fold *f = ctx;
    if (s->gap)
        return;
    if (s->connections > f->peak) {
        f->peak = s->connections;
        f->peak_at_us = s->end_us;
    }
    if (s->idle_in_transaction > f->peak_iit)
        f->peak_iit = s->idle_in_transaction;
    if (s->baseline_only)
        return;
    for (int i = 0; i < s->nqueries; i++) {
        const struct sample_query *q = &s->queries[i];
        if (!q->query || !*q->query)
            continue;
        size_t k = 0;
        while (k < f->n && strcmp(f->text[k], q->query) != 0)
            k++;
        if (k == f->n) {
            if (f->n >= ADV_MAX_STMTS)
                continue;
            f->text = xrealloc(f->text, (f->n + 1) * sizeof(*f->text));
            f->calls = xrealloc(f->calls, (f->n + 1) * sizeof(*f->calls));
            f->rows = xrealloc(f->rows, (f->n + 1) * sizeof(*f->rows));
            f->ms = xrealloc(f->ms, (f->n + 1) * sizeof(*f->ms));
            f->text[k] = xstrdup(q->query);
            f->calls[k] = f->rows[k] = 0;
            f->ms[k] = 0;
            f->n++;
        }
        f->calls[k] += q->calls;
        f->rows[k] += q->rows;
        f->ms[k] += q->total_ms;
    }
}

/*
 * A store adds the peak connections and the statements it recorded that
 * pg_stat_statements no longer holds (evicted or reset since).
 */
static int read_store(struct adv_ctx *c, struct err *err)
{
    struct store *st;
    if (store_open(&st, c->opts->store_path, c->opts->store_force, err) < 0)
        return -1;
    struct store_fold f = { .c = c };
    int rc = store_read_samples(st, INT64_MIN, INT64_MAX, fold_sample, &f, err);
    store_close(st);
    if (rc == 0) {
        c->peak_connections = f.peak;
        c->peak_idle_in_tx = f.peak_iit;
        size_t added = 0;
        for (size_t k = 0; k < f.n; k++) {
            bool known = false;
            for (size_t i = 0; i < c->nstmts && !known; i++)
                known = strcmp(c->stmts[i].query, f.text[k]) == 0;
            if (!known) {
                stmt_add(c, 0, f.text[k], f.calls[k], f.ms[k], f.rows[k], 0, true);
                added++;
            }
        }
        json_t *o = json_object();
        json_object_set_new(o, "peak_connections", json_integer(f.peak));
        json_object_set_new(o, "peak_idle_in_transaction", json_integer(f.peak_iit));
        json_object_set_new(o, "statements_added", json_integer((json_int_t)added));
        json_object_set_new(c->out->context, "store", o);
    }
    for (size_t k = 0; k < f.n; k++)
        free(f.text[k]);
    free(f.text);
    free(f.calls);
    free(f.rows);
    free(f.ms);
    return rc;
}

static void ctx_release(struct adv_ctx *c)
{
    for (size_t i = 0; i < c->nstmts; i++) {
        free(c->stmts[i].query);
        sqlfacts_release(&c->stmts[i].facts);
    }
    free(c->stmts);
    for (size_t i = 0; i < c->nindexes; i++) {
        free(c->indexes[i].schema);
        free(c->indexes[i].table);
        free(c->indexes[i].name);
        free(c->indexes[i].def);
    }
    free(c->indexes);
}

int advise_run(PGconn *conn, const struct advise_opts *o, struct advice_list *out, struct err *err)
{
    struct adv_ctx c = {
        .conn = conn, .opts = o, .out = out, .peak_connections = -1, .peak_idle_in_tx = -1
    };
    int rc = -1;
    if (read_server(&c, err) < 0 || read_statements(&c, err) < 0 || read_indexes(&c, err) < 0)
        goto done;
    if (o->store_path && read_store(&c, err) < 0) {
        err_prefix(err, "reading the store '%s'", o->store_path);
        goto done;
    }
    json_t *ctx = out->context;
    json_object_set_new(ctx, "statements", json_integer((json_int_t)c.nstmts));
    json_object_set_new(ctx, "min_mean_ms", json_real(o->min_mean_ms));
    json_object_set_new(ctx, "min_calls", json_integer(o->min_calls));
    json_object_set_new(ctx, "min_stats_age_s", json_integer(o->min_stats_age_s));
    json_object_set_new(ctx, "explain_analyze", json_boolean(o->analyze));
    if (!o->analyze)
        advice_list_note(out, "plans are estimates: EXPLAIN ran without ANALYZE (--analyze "
                              "allows it)");
    if (advise_missing_indexes(&c, err) < 0 || advise_harmful_indexes(&c, err) < 0 ||
        advise_connections(&c, err) < 0 || advise_fetch(&c, err) < 0)
        goto done;
    advice_list_sort(out);
    rc = 0;
done:
    ctx_release(&c);
    return rc;
}
