/*
 * Redundant fetch: SELECT statements that return many rows per call
 * (pg_stat_statements rows/calls) or read every column of a wide table
 * (SELECT * from the parse tree; the row width from pg_stats.avg_width,
 * or the table's pages over its rows before ANALYZE). PostgreSQL counts
 * no bytes sent per query, so bytes per call is rows per call times the
 * row width. The rewrite keeps the narrow columns a list page plausibly
 * shows and leaves out the wide ones, and adds a LIMIT when the statement
 * has none and returns many rows.
 */
#include "advise/internal.h"

#include "util/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

/* Rows per call that flag a statement (and ask for a LIMIT when it has none). */
#define MANY_ROWS 1000
/* A row this wide (bytes) makes SELECT * costly. */
#define WIDE_ROW 200
/* A column this wide (bytes, average) is left out of the proposed column list. */
#define WIDE_COLUMN 100
/* The page size proposed for a missing LIMIT. */
#define PAGE_ROWS 100

struct table_shape {
    char schema[SQLFACTS_NAME_MAX], name[SQLFACTS_NAME_MAX];
    double row_width;
    bool from_stats;
    json_t *columns; /* [[name, avg_width or null], ...] */
};

static int read_shape(struct adv_ctx *c, const struct sqlfacts_table *t, struct table_shape *sh,
                      struct err *err)
{
    struct buf q = BUF_INIT;
    advice_quote_qualified(&q, t->schema, t->name);
    const char *params[] = { q.ptr };
    PGresult *r = adv_exec(
        c,
        "SELECT n.nspname, c.relname, c.reltuples, "
        "c.relpages::float8 * current_setting('block_size')::int, a.attname, s.avg_width "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname "
        "AND s.attname = a.attname "
        "WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'm') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY a.attnum",
        1, params, err);
    buf_release(&q);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n == 0) {
        PQclear(r);
        return 0;
    }
    snprintf(sh->schema, sizeof(sh->schema), "%s", PQgetvalue(r, 0, 0));
    snprintf(sh->name, sizeof(sh->name), "%s", PQgetvalue(r, 0, 1));
    double sum = 0;
    bool all = true;
    for (int i = 0; i < n; i++) {
        json_t *col = json_array();
        json_array_append_new(col, json_string(PQgetvalue(r, i, 4)));
        if (PQgetisnull(r, i, 5)) {
            all = false;
            json_array_append_new(col, json_null());
        } else {
            sum += adv_num(r, i, 5);
            json_array_append_new(col, json_integer((json_int_t)adv_num(r, i, 5)));
        }
        json_array_append_new(sh->columns, col);
    }
    double tuples = adv_num(r, 0, 2), bytes = adv_num(r, 0, 3);
    PQclear(r);
    sh->from_stats = all;
    /* 24 bytes of tuple header and item pointer per row, as pages over rows would include. */
    if (all)
        sh->row_width = sum + 24;
    else
        sh->row_width = tuples > 0 ? bytes / tuples : 0;
    return 1;
}

/* "select * from ..." rewritten with the narrow columns; NULL when the text is not that simple. */
static char *rewrite_star(const char *query, const struct table_shape *sh, bool add_limit,
                          json_t *left_out)
{
    const char *p = query;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "select", 6) != 0)
        return NULL;
    p += 6;
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '*')
        return NULL;
    p++;
    struct buf b = BUF_INIT;
    buf_addstr(&b, "SELECT ");
    size_t i, kept = 0;
    json_t *col;
    json_array_foreach(sh->columns, i, col)
    {
        const char *name = json_string_value(json_array_get(col, 0));
        json_t *w = json_array_get(col, 1);
        if (json_is_integer(w) && json_integer_value(w) >= WIDE_COLUMN) {
            json_array_append_new(left_out, json_string(name));
            continue;
        }
        if (kept++)
            buf_addstr(&b, ", ");
        advice_quote_ident(&b, name);
    }
    if (kept == 0) {
        buf_release(&b);
        return NULL;
    }
    size_t len = strlen(p);
    while (len && (p[len - 1] == ';' || isspace((unsigned char)p[len - 1])))
        len--;
    buf_add(&b, p, len);
    if (add_limit)
        buf_addf(&b, " LIMIT %d", PAGE_ROWS);
    buf_addch(&b, ';');
    return buf_detach(&b, NULL);
}

static void check_stmt(struct adv_ctx *c, const struct adv_stmt *s, struct err *err)
{
    const struct sqlfacts *f = &s->facts;
    double rows = s->calls ? (double)s->rows / (double)s->calls : 0;
    /* The first top-level table: the one a list query reads. */
    const struct sqlfacts_table *t = NULL;
    for (size_t i = 0; i < f->n_tables && !t; i++)
        if (!(f->tables[i].flags & SQLFACTS_TAB_NESTED))
            t = &f->tables[i];
    if (!t)
        return;
    bool star = (f->flags & SQLFACTS_SELECT_STAR) || (t->flags & SQLFACTS_TAB_STAR);
    bool no_limit = f->limit == SQLFACTS_LIMIT_NONE;
    struct table_shape sh = { .columns = json_array() };
    int found = read_shape(c, t, &sh, err);
    if (found <= 0) {
        json_decref(sh.columns);
        return;
    }
    bool wide = sh.row_width >= WIDE_ROW || json_array_size(sh.columns) >= 20;
    bool many = rows >= MANY_ROWS;
    if (!(star && wide) && !many) {
        json_decref(sh.columns);
        return;
    }
    bool add_limit = many && no_limit;
    struct advice *a = advice_list_add(c->out, ADVICE_REWRITE_QUERY);
    a->table = adv_qualified(sh.schema, sh.name);
    json_t *e = a->evidence;
    json_t *left_out = json_array();
    if (star) {
        advice_add_column(a, "*");
        a->sql = rewrite_star(s->query, &sh, add_limit, left_out);
    } else {
        for (size_t i = 0; i < f->n_cols; i++)
            if (f->cols[i].role == SQLFACTS_ROLE_SELECT &&
                !(f->cols[i].flags & SQLFACTS_COL_NESTED))
                advice_add_column(a, f->cols[i].name);
    }
    if (!a->sql) {
        struct buf sql = BUF_INIT;
        buf_addf(&sql, "-- %s%s%s", star ? "name the columns the caller uses instead of *" : "",
                 star && add_limit ? "; " : "",
                 add_limit ? "add LIMIT n (page through with a key, not OFFSET)" : "");
        if (!star && !add_limit)
            buf_addstr(&sql, "fetch only the rows the caller shows (tighter WHERE, LIMIT n)");
        a->sql = buf_detach(&sql, NULL);
    }
    json_object_set_new(e, "queryid", json_integer(s->queryid));
    json_object_set_new(e, "query", json_string(s->query));
    json_object_set_new(e, "calls", json_integer(s->calls));
    json_object_set_new(e, "mean_ms", json_real(s->mean_ms));
    json_object_set_new(e, "rows_per_call", json_real(rows));
    json_object_set_new(e, "row_width_bytes", json_real(sh.row_width));
    json_object_set_new(e, "row_width_from", json_string(sh.from_stats ? "pg_stats" : "relpages"));
    json_object_set_new(e, "bytes_per_call", json_real(rows * sh.row_width));
    json_object_set_new(e, "select_star", json_boolean(star));
    json_object_set_new(e, "has_limit", json_boolean(!no_limit));
    json_object_set_new(e, "missing_limit", json_boolean(add_limit));
    json_object_set_new(e, "table_columns", json_integer((json_int_t)json_array_size(sh.columns)));
    json_object_set_new(e, "wide_columns", left_out);
    a->confidence = star && wide && many ? 0.8 : ADVICE_MEDIUM;
    struct buf sum = BUF_INIT, why = BUF_INIT;
    buf_addf(&sum, "%s%s%s on %s: %.0f rows and about %.0f kB per call", star ? "SELECT *" : "",
             star && add_limit ? " without LIMIT" : (!star && add_limit ? "no LIMIT" : ""),
             !star && !add_limit ? "many rows" : "", a->table, rows, rows * sh.row_width / 1024);
    buf_addf(&why,
             "pg_stat_statements: %lld calls returned %.0f rows each; a %s row is about "
             "%.0f bytes (%s), so each call ships about %.0f kB. ",
             (long long)s->calls, rows, a->table, sh.row_width,
             sh.from_stats ? "pg_stats.avg_width" : "pages over rows", rows * sh.row_width / 1024);
    if (star)
        buf_addf(&why, "SELECT * sends all %zu columns%s; name the ones the caller uses. ",
                 json_array_size(sh.columns),
                 json_array_size(left_out) ? ", including wide ones a list rarely shows" : "");
    if (add_limit)
        buf_addf(&why, "No LIMIT: a caller that shows a page needs %d rows, not %.0f.", PAGE_ROWS,
                 rows);
    a->summary = buf_detach(&sum, NULL);
    a->reasoning = buf_detach(&why, NULL);
    json_decref(sh.columns);
}

int advise_fetch(struct adv_ctx *c, struct err *err)
{
    for (size_t i = 0; i < c->nstmts; i++) {
        const struct adv_stmt *s = &c->stmts[i];
        if (!s->parsed || s->facts.command != SQLFACTS_CMD_SELECT ||
            (!s->focus && s->calls < c->opts->min_calls))
            continue;
        struct err serr = { 0 };
        check_stmt(c, s, &serr);
        if (serr.code != ERR_NONE) {
            if (adv_fatal(c, &serr)) {
                *err = serr;
                return -1;
            }
            advice_list_note(c->out, "queryid %lld: %s", (long long)s->queryid, serr.msg);
        }
    }
    return 0;
}
