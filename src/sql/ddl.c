/*
 * Schema and settings changes from their statements (see ddl.h): one
 * libpg_query parse to JSON, then a look at the top node. Only the first
 * statement of a multi-statement text counts; these are rare lines (a
 * migration), never the hot path.
 */
#include "sql/ddl.h"

#include "sql/redact.h"

#include <jansson.h>
#include <pg_query.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

static const char *const candidate_words[] = {
    "create", "drop", "alter", "reindex", "analyze", "analyse", "vacuum", "truncate", "cluster",
};

bool ddl_candidate(const char *sql)
{
    if (!sql)
        return false;
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '(')
        sql++;
    for (size_t i = 0; i < sizeof(candidate_words) / sizeof(candidate_words[0]); i++) {
        size_t n = strlen(candidate_words[i]);
        if (strncasecmp(sql, candidate_words[i], n) == 0 &&
            (sql[n] == ' ' || sql[n] == '\t' || sql[n] == '\n' || sql[n] == '\0'))
            return true;
    }
    return false;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* "schema.name" or "name" of a RangeVar. */
static void range_name(const json_t *rv, char *out, size_t cap)
{
    const char *schema = jstr(rv, "schemaname"), *rel = jstr(rv, "relname");
    if (*schema)
        snprintf(out, cap, "%s.%s", schema, rel);
    else
        snprintf(out, cap, "%s", rel);
}

/* "a.b.c" of a List of String nodes (a dropped object's qualified name). */
static void list_name(const json_t *list, char *out, size_t cap)
{
    const json_t *items = json_object_get(json_object_get(list, "List"), "items");
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *s = jstr(json_object_get(json_array_get(items, i), "String"), "sval");
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", i ? "." : "", s);
        if (n >= cap)
            break;
    }
}

static void index_def(const json_t *st, struct ddl *d)
{
    range_name(json_object_get(st, "relation"), d->table, sizeof(d->table));
    snprintf(d->object, sizeof(d->object), "%s", jstr(st, "idxname"));
    d->concurrent = json_is_true(json_object_get(st, "concurrent"));
    const char *am = jstr(st, "accessMethod");
    size_t n = (size_t)snprintf(d->detail, sizeof(d->detail), "CREATE %sINDEX %s ON %s USING %s (",
                                json_is_true(json_object_get(st, "unique")) ? "UNIQUE " : "",
                                d->object, d->table, *am ? am : "btree");
    const json_t *params = json_object_get(st, "indexParams");
    for (size_t i = 0; i < json_array_size(params) && n < sizeof(d->detail); i++) {
        const json_t *e = json_object_get(json_array_get(params, i), "IndexElem");
        const char *name = jstr(e, "name");
        bool desc = strcmp(jstr(e, "ordering"), "SORTBY_DESC") == 0;
        /* An expression key stays unnamed: it never matches a plain column. */
        n += (size_t)snprintf(d->detail + n, sizeof(d->detail) - n, "%s%s%s", i ? ", " : "",
                              *name ? name : "(expression)", desc ? " DESC" : "");
    }
    if (n < sizeof(d->detail))
        n += (size_t)snprintf(d->detail + n, sizeof(d->detail) - n, ")%s",
                              json_object_get(st, "whereClause") ? " WHERE (partial)" : "");
}

static const char *alter_words(const char *subtype)
{
    static const struct {
        const char *subtype, *words;
    } map[] = {
        { "AT_AddColumn", "add column" },
        { "AT_DropColumn", "drop column" },
        { "AT_AlterColumnType", "alter column type" },
        { "AT_SetNotNull", "set not null" },
        { "AT_DropNotNull", "drop not null" },
        { "AT_ColumnDefault", "set default" },
        { "AT_AddConstraint", "add constraint" },
        { "AT_DropConstraint", "drop constraint" },
        { "AT_ValidateConstraint", "validate constraint" },
        { "AT_SetStatistics", "set statistics" },
        { "AT_ClusterOn", "cluster on" },
        { "AT_SetRelOptions", "set storage parameters" },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].subtype, subtype) == 0)
            return map[i].words;
    return "alter";
}

static void alter_table(const json_t *st, struct ddl *d)
{
    range_name(json_object_get(st, "relation"), d->table, sizeof(d->table));
    snprintf(d->object, sizeof(d->object), "%s", d->table);
    const json_t *cmd =
        json_object_get(json_array_get(json_object_get(st, "cmds"), 0), "AlterTableCmd");
    const char *col = jstr(cmd, "name");
    if (!*col)
        col = jstr(json_object_get(json_object_get(cmd, "def"), "ColumnDef"), "colname");
    snprintf(d->detail, sizeof(d->detail), "%s%s%s", alter_words(jstr(cmd, "subtype")),
             *col ? " " : "", col);
}

/* The value of a SET (a constant or a word), unless the setting may hold a secret. */
static void setting(const json_t *set, const char *scope, struct ddl *d)
{
    const char *name = jstr(set, "name");
    snprintf(d->object, sizeof(d->object), "%s", name);
    const json_t *arg = json_object_get(json_array_get(json_object_get(set, "args"), 0), "A_Const");
    char value[128] = "";
    if (redact_setting(name))
        snprintf(value, sizeof(value), "(value not kept)");
    else if (json_object_get(arg, "sval"))
        snprintf(value, sizeof(value), "%s", jstr(json_object_get(arg, "sval"), "sval"));
    else if (json_object_get(arg, "ival"))
        snprintf(
            value, sizeof(value), "%lld",
            (long long)json_integer_value(json_object_get(json_object_get(arg, "ival"), "ival")));
    else if (json_object_get(arg, "fval"))
        snprintf(value, sizeof(value), "%s", jstr(json_object_get(arg, "fval"), "fval"));
    else if (strcmp(jstr(set, "kind"), "VAR_RESET") == 0)
        snprintf(value, sizeof(value), "(reset)");
    snprintf(d->detail, sizeof(d->detail), "%s%s(%s)", value, *value ? " " : "", scope);
}

static bool from_stmt(const json_t *stmt, struct ddl *d)
{
    const char *type = NULL;
    const json_t *st = NULL;
    json_object_foreach((json_t *)stmt, type, st)
    {
        break;
    }
    if (!type)
        return false;
    if (strcmp(type, "IndexStmt") == 0) {
        d->kind = DDL_CREATE_INDEX;
        index_def(st, d);
    } else if (strcmp(type, "DropStmt") == 0) {
        const char *rt = jstr(st, "removeType");
        d->kind = strcmp(rt, "OBJECT_INDEX") == 0 ? DDL_DROP_INDEX : DDL_OTHER;
        d->concurrent = json_is_true(json_object_get(st, "concurrent"));
        list_name(json_array_get(json_object_get(st, "objects"), 0), d->object, sizeof(d->object));
        if (strcmp(rt, "OBJECT_TABLE") == 0)
            snprintf(d->table, sizeof(d->table), "%s", d->object);
        if (d->kind == DDL_OTHER) {
            /* "drop table", "drop view", ...: the object type in lower case. */
            size_t n = (size_t)snprintf(d->detail, sizeof(d->detail), "drop ");
            for (const char *p = rt + (strncmp(rt, "OBJECT_", 7) ? 0 : 7);
                 *p && n + 1 < sizeof(d->detail); p++)
                d->detail[n++] = *p == '_' ? ' ' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            d->detail[n] = '\0';
        }
    } else if (strcmp(type, "AlterTableStmt") == 0) {
        d->kind = strcmp(jstr(st, "objtype"), "OBJECT_TABLE") == 0 ? DDL_ALTER_TABLE : DDL_OTHER;
        alter_table(st, d);
    } else if (strcmp(type, "ReindexStmt") == 0) {
        d->kind = DDL_REINDEX;
        const json_t *rel = json_object_get(st, "relation");
        if (rel)
            range_name(rel, d->object, sizeof(d->object));
        else
            snprintf(d->object, sizeof(d->object), "%s", jstr(st, "name"));
        if (strcmp(jstr(st, "kind"), "REINDEX_OBJECT_TABLE") == 0)
            snprintf(d->table, sizeof(d->table), "%s", d->object);
    } else if (strcmp(type, "VacuumStmt") == 0) {
        bool analyze = !json_is_true(json_object_get(st, "is_vacuumcmd"));
        const json_t *opts = json_object_get(st, "options");
        for (size_t i = 0; i < json_array_size(opts); i++)
            analyze |= strcmp(jstr(json_object_get(json_array_get(opts, i), "DefElem"), "defname"),
                              "analyze") == 0;
        if (!analyze)
            return false;
        d->kind = DDL_ANALYZE;
        const json_t *rel = json_object_get(
            json_object_get(json_array_get(json_object_get(st, "rels"), 0), "VacuumRelation"),
            "relation");
        if (rel)
            range_name(rel, d->table, sizeof(d->table));
        snprintf(d->object, sizeof(d->object), "%s", d->table);
    } else if (strcmp(type, "AlterSystemStmt") == 0) {
        d->kind = DDL_SETTING;
        setting(json_object_get(st, "setstmt"), "system", d);
    } else if (strcmp(type, "AlterDatabaseSetStmt") == 0) {
        char scope[DDL_NAME_MAX + 16];
        snprintf(scope, sizeof(scope), "database %s", jstr(st, "dbname"));
        d->kind = DDL_SETTING;
        setting(json_object_get(st, "setstmt"), scope, d);
    } else if (strcmp(type, "AlterRoleSetStmt") == 0) {
        char scope[DDL_NAME_MAX + 16];
        snprintf(scope, sizeof(scope), "role %s", jstr(json_object_get(st, "role"), "rolename"));
        d->kind = DDL_SETTING;
        setting(json_object_get(st, "setstmt"), scope, d);
    } else if (strcmp(type, "CreateStmt") == 0 || strcmp(type, "TruncateStmt") == 0 ||
               strcmp(type, "ClusterStmt") == 0 || strcmp(type, "RenameStmt") == 0) {
        d->kind = DDL_OTHER;
        const json_t *rel = json_object_get(st, "relation");
        if (!rel)
            rel = json_object_get(json_array_get(json_object_get(st, "relations"), 0), "RangeVar");
        if (rel)
            range_name(rel, d->table, sizeof(d->table));
        snprintf(d->object, sizeof(d->object), "%s", d->table);
        snprintf(d->detail, sizeof(d->detail), "%s", type);
    } else {
        return false;
    }
    return true;
}

bool ddl_parse(const char *sql, struct ddl *out)
{
    memset(out, 0, sizeof(*out));
    if (!ddl_candidate(sql))
        return false;
    PgQueryParseResult r = pg_query_parse(sql);
    bool ok = false;
    if (!r.error && r.parse_tree) {
        json_t *root = json_loads(r.parse_tree, 0, NULL);
        const json_t *stmt =
            json_object_get(json_array_get(json_object_get(root, "stmts"), 0), "stmt");
        ok = stmt && from_stmt(stmt, out);
        json_decref(root);
    }
    pg_query_free_parse_result(r);
    if (!ok)
        memset(out, 0, sizeof(*out));
    return ok;
}
