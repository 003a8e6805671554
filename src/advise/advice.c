/*
 * The advice list and the pure text helpers every advice family shares:
 * identifier quoting, CREATE/DROP INDEX statements, the prefix test for
 * redundant indexes and advice_json. Nothing here talks to a server, so
 * the unit tests (tests/unit/test_advise.c) cover it whole.
 */
#include "advise/advice.h"

#include "util/jsonstr.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char *const kind_names[] = {
#define X(e, name, what) name,
    ADVICE_KINDS(X)
#undef X
};

/* Sorting rank of each kind: indexes first, then settings and rewrites. */
static const int kind_rank[] = { 0, 2, 1, 3, 4 };

const char *advice_kind_name(enum advice_kind k)
{
    return kind_names[k];
}

const char *advice_confidence_word(double confidence)
{
    if (confidence >= 0.8)
        return "high";
    if (confidence >= 0.5)
        return "medium";
    return "low";
}

void advice_list_init(struct advice_list *l)
{
    memset(l, 0, sizeof(*l));
    l->notes = json_array();
    l->context = json_object();
}

void advice_list_release(struct advice_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct advice *a = &l->items[i];
        free(a->sql);
        free(a->table);
        for (size_t k = 0; k < a->ncolumns; k++)
            free(a->columns[k]);
        free(a->columns);
        free(a->index);
        json_decref(a->evidence);
        free(a->summary);
        free(a->reasoning);
    }
    free(l->items);
    json_decref(l->notes);
    json_decref(l->context);
    memset(l, 0, sizeof(*l));
}

struct advice *advice_list_add(struct advice_list *l, enum advice_kind kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    struct advice *a = &l->items[l->n++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->evidence = json_object();
    return a;
}

void advice_list_note(struct advice_list *l, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    json_array_append_new(l->notes, jsonstr_new(b.ptr));
    buf_release(&b);
}

bool advice_list_has_index(const struct advice_list *l, const char *index)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].index && strcmp(l->items[i].index, index) == 0)
            return true;
    return false;
}

static int advice_cmp(const void *pa, const void *pb)
{
    const struct advice *a = pa, *b = pb;
    if (kind_rank[a->kind] != kind_rank[b->kind])
        return kind_rank[a->kind] - kind_rank[b->kind];
    if (a->confidence != b->confidence)
        return a->confidence > b->confidence ? -1 : 1;
    return strcmp(a->summary ? a->summary : "", b->summary ? b->summary : "");
}

void advice_list_sort(struct advice_list *l)
{
    if (l->n > 1)
        qsort(l->items, l->n, sizeof(*l->items), advice_cmp);
}

void advice_add_column(struct advice *a, const char *col)
{
    a->columns = xrealloc(a->columns, (a->ncolumns + 1) * sizeof(*a->columns));
    a->columns[a->ncolumns++] = xstrdup(col);
}

void advice_set_columns(struct advice *a, const char *const *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        advice_add_column(a, cols[i]);
}

json_t *advice_json(const struct advice *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(advice_kind_name(a->kind)));
    json_object_set_new(o, "sql", jsonstr_new(a->sql));
    json_object_set_new(o, "table", jsonstr_new(a->table));
    json_t *cols = json_array();
    for (size_t i = 0; i < a->ncolumns; i++)
        json_array_append_new(cols, jsonstr_new(a->columns[i]));
    json_object_set_new(o, "columns", cols);
    json_object_set_new(o, "index", jsonstr_new(a->index));
    json_object_set(o, "evidence", a->evidence ? a->evidence : json_null());
    /* Two decimals: a confidence is a judgement, not a measurement. */
    json_object_set_new(o, "confidence", json_real((double)(int)(a->confidence * 100 + 0.5) / 100));
    json_object_set_new(o, "confidence_word", json_string(advice_confidence_word(a->confidence)));
    json_object_set_new(o, "summary", jsonstr_new(a->summary));
    json_object_set_new(o, "reasoning", jsonstr_new(a->reasoning));
    return o;
}

/* PostgreSQL's reserved key words (and the type/function names quote_ident quotes). */
static const char *const reserved[] = {
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
};

static bool is_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(reserved[i], name) == 0)
            return true;
    return false;
}

void advice_quote_ident(struct buf *out, const char *name)
{
    bool plain = (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_';
    for (const char *p = name; plain && *p; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (plain && !is_reserved(name)) {
        buf_addstr(out, name);
        return;
    }
    buf_addch(out, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            buf_addch(out, '"');
        buf_addch(out, *p);
    }
    buf_addch(out, '"');
}

void advice_quote_qualified(struct buf *out, const char *schema, const char *name)
{
    if (schema && *schema) {
        advice_quote_ident(out, schema);
        buf_addch(out, '.');
    }
    advice_quote_ident(out, name);
}

void advice_create_index_sql(struct buf *out, const char *schema, const char *table,
                             const char *const *cols, size_t ncols)
{
    buf_addstr(out, "CREATE INDEX CONCURRENTLY ON ");
    advice_quote_qualified(out, schema, table);
    buf_addstr(out, " (");
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            buf_addstr(out, ", ");
        size_t len = strlen(cols[i]);
        bool desc = len > 5 && strcmp(cols[i] + len - 5, " DESC") == 0;
        if (desc) {
            char *name = xmemdup(cols[i], len - 5);
            advice_quote_ident(out, name);
            free(name);
            buf_addstr(out, " DESC");
        } else {
            advice_quote_ident(out, cols[i]);
        }
    }
    buf_addstr(out, ");");
}

void advice_drop_index_sql(struct buf *out, const char *schema, const char *index)
{
    buf_addstr(out, "DROP INDEX CONCURRENTLY ");
    advice_quote_qualified(out, schema, index);
    buf_addch(out, ';');
}

bool advice_cols_prefix(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na == 0 || na > nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

size_t advice_split_columns(const char *list, char **cols, size_t max)
{
    size_t n = 0;
    const char *p = list;
    while (*p && n < max) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        struct buf b = BUF_INIT;
        if (*p == '"') {
            for (p++; *p; p++) {
                if (*p == '"' && p[1] == '"') {
                    buf_addch(&b, '"');
                    p++;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    buf_addch(&b, *p);
                }
            }
        }
        /* The rest up to the comma: a plain name and/or " DESC". */
        while (*p && *p != ',')
            buf_addch(&b, *p++);
        cols[n++] = buf_detach(&b, NULL);
    }
    return n;
}

json_t *advice_list_json(const struct advice_list *l)
{
    json_t *o = json_object();
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(arr, advice_json(&l->items[i]));
    json_object_set_new(o, "advice", arr);
    json_object_set(o, "notes", l->notes);
    json_object_set(o, "context", l->context);
    return o;
}
