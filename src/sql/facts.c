/*
 * Statement facts from libpg_query's parse tree; see facts.h. This sits
 * between the aggregates (one normalised text per queryid) and the
 * diagnosis and index advisor, and runs once per distinct statement, so
 * it takes the simple road: pg_query_parse gives the tree as JSON text,
 * jansson decodes it, and a walker with an explicit depth limit reads the
 * nodes it knows (SelectStmt, InsertStmt, UpdateStmt, DeleteStmt, FROM
 * items, A_Expr, NullTest, BoolExpr, SubLink, ColumnRef) and looks through
 * every other node only for subqueries and column references.
 *
 * Name resolution keeps a stack of scopes, one per query level, holding
 * the FROM items of that level (real tables and "derived" relations: CTE
 * references, subqueries, functions), and a stack of the CTE names in
 * sight. Both are fixed arrays; the walk cannot go deeper than
 * SQLFACTS_MAX_DEPTH, so neither can they.
 */
#include "facts.h"

#include <ctype.h>
#include <jansson.h>
#include <pg_query.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/xalloc.h"

#include "util/banned.h"

#define DERIVED     (-2) /* a FROM item that is not a table: CTE, subquery, function */
#define MAX_ENTRIES 256  /* FROM items in sight, all levels */
#define MAX_CTES    64   /* CTE names in sight, all levels */
#define MAX_ORDER   32   /* ORDER BY items looked at */
#define NAME_CUT    (SQLFACTS_NAME_MAX - 1)

struct entry {
    char schema[SQLFACTS_NAME_MAX];
    char name[SQLFACTS_NAME_MAX];
    char alias[SQLFACTS_NAME_MAX];
    int table; /* index into sqlfacts.tables, or DERIVED */
};

struct walker {
    struct sqlfacts *f;
    struct entry entries[MAX_ENTRIES];
    size_t n_entries;
    size_t frames[SQLFACTS_MAX_DEPTH + 2]; /* start of each scope in entries */
    size_t n_frames;
    char ctes[MAX_CTES][SQLFACTS_NAME_MAX];
    size_t n_ctes;
};

/* How bare column references found while walking an expression are recorded. */
struct ctx {
    int depth;
    bool top;          /* the statement's own query level (select list, LIMIT, ORDER BY) */
    unsigned colflags; /* SQLFACTS_COL_NESTED, SQLFACTS_COL_OR */
    bool record;       /* record bare columns at all */
    enum sqlfacts_role role;
    enum sqlfacts_opclass opclass;
    enum sqlfacts_op op;
};

static void walk_stmt(struct walker *w, json_t *node, struct ctx c);
static void walk_select(struct walker *w, json_t *sel, struct ctx c);
static void walk_expr(struct walker *w, json_t *node, struct ctx c);
static void walk_pred(struct walker *w, json_t *node, struct ctx c);

/* ---- small helpers ---- */

static void copy_name(char dst[SQLFACTS_NAME_MAX], const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > NAME_CUT)
        n = NAME_CUT;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool too_deep(struct walker *w, struct ctx *c)
{
    if (++c->depth > SQLFACTS_MAX_DEPTH) {
        w->f->flags |= SQLFACTS_TRUNCATED;
        return true;
    }
    return false;
}

/* The type of a node wrapper {"Type": {...}} and its body, or NULL. */
static const char *node_type(json_t *node, json_t **body)
{
    if (!json_is_object(node) || json_object_size(node) != 1)
        return NULL;
    void *it = json_object_iter(node);
    const char *key = json_object_iter_key(it);
    if (!key || key[0] < 'A' || key[0] > 'Z')
        return NULL;
    *body = json_object_iter_value(it);
    return key;
}

static json_t *node_is(json_t *node, const char *type)
{
    json_t *body;
    const char *t = node_type(node, &body);
    return t && strcmp(t, type) == 0 ? body : NULL;
}

static const char *get_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* The sval of a {"String": {"sval": ...}} node, or NULL. */
static const char *string_node(json_t *node)
{
    json_t *s = node_is(node, "String");
    if (!s)
        return NULL;
    const char *v = get_str(s, "sval");
    return v ? v : "";
}

/* The last name of an operator name list: [String "pg_catalog", String "="] gives "=". */
static const char *op_name(json_t *names)
{
    size_t n = json_array_size(names);
    return n ? string_node(json_array_get(names, n - 1)) : NULL;
}

/* ---- tables and scopes ---- */

static int table_add(struct walker *w, const char *schema, const char *name, const char *alias,
                     bool nested)
{
    struct sqlfacts *f = w->f;
    /* Zeroed whole: the arrays are copied whole, so facts compare with memcmp. */
    char s[SQLFACTS_NAME_MAX] = { 0 }, n[SQLFACTS_NAME_MAX] = { 0 };
    copy_name(s, schema);
    copy_name(n, name);
    for (size_t i = 0; i < f->n_tables; i++) {
        if (strcmp(f->tables[i].schema, s) == 0 && strcmp(f->tables[i].name, n) == 0) {
            if (!nested)
                f->tables[i].flags &= ~(unsigned)SQLFACTS_TAB_NESTED;
            if (!f->tables[i].alias[0])
                copy_name(f->tables[i].alias, alias);
            return (int)i;
        }
    }
    if (f->n_tables >= SQLFACTS_MAX_TABLES) {
        f->flags |= SQLFACTS_TRUNCATED;
        return SQLFACTS_UNKNOWN;
    }
    if (!f->tables)
        f->tables = xcalloc(SQLFACTS_MAX_TABLES, sizeof(*f->tables));
    struct sqlfacts_table *t = &f->tables[f->n_tables];
    memcpy(t->schema, s, sizeof(s));
    memcpy(t->name, n, sizeof(n));
    copy_name(t->alias, alias);
    t->flags = nested ? SQLFACTS_TAB_NESTED : 0;
    return (int)f->n_tables++;
}

static bool cte_visible(const struct walker *w, const char *name)
{
    for (size_t i = w->n_ctes; i-- > 0;)
        if (strncmp(w->ctes[i], name, NAME_CUT) == 0)
            return true;
    return false;
}

static void scope_push(struct walker *w)
{
    ASSERT(w->n_frames < ARRAY_SIZE(w->frames));
    w->frames[w->n_frames++] = w->n_entries;
}

static void scope_pop(struct walker *w)
{
    ASSERT(w->n_frames > 0);
    w->n_entries = w->frames[--w->n_frames];
}

static void scope_add(struct walker *w, const char *schema, const char *name, const char *alias,
                      int table)
{
    if (w->n_entries >= MAX_ENTRIES) {
        w->f->flags |= SQLFACTS_TRUNCATED;
        return;
    }
    struct entry *e = &w->entries[w->n_entries++];
    copy_name(e->schema, schema);
    copy_name(e->name, name);
    copy_name(e->alias, alias);
    e->table = table;
}

/* Adds a RangeVar body to the current scope; returns its table index or DERIVED. */
static int scope_add_rangevar(struct walker *w, json_t *rv, const struct ctx *c)
{
    const char *schema = get_str(rv, "schemaname");
    const char *name = get_str(rv, "relname");
    const char *alias = get_str(json_object_get(rv, "alias"), "aliasname");
    if (!name)
        return DERIVED;
    int table;
    if (!schema && cte_visible(w, name))
        table = DERIVED;
    else
        table = table_add(w, schema, name, alias, (c->colflags & SQLFACTS_COL_NESTED) != 0);
    scope_add(w, schema, name, alias, table);
    return table;
}

/* The table a qualifier names, innermost scope first: index, DERIVED or SQLFACTS_UNKNOWN. */
static int scope_find(const struct walker *w, const char *schema, const char *qual)
{
    for (size_t i = w->n_entries; i-- > 0;) {
        const struct entry *e = &w->entries[i];
        bool hit;
        if (e->alias[0])
            hit = !schema && strncmp(e->alias, qual, NAME_CUT) == 0;
        else
            hit = strncmp(e->name, qual, NAME_CUT) == 0 &&
                  (!schema || !e->schema[0] || strncmp(e->schema, schema, NAME_CUT) == 0);
        if (hit)
            return e->table;
    }
    return SQLFACTS_UNKNOWN;
}

/* The table of an unqualified column: the only FROM item of the innermost level that has any. */
static int scope_unqualified(const struct walker *w)
{
    size_t end = w->n_entries;
    for (size_t fr = w->n_frames; fr-- > 0;) {
        size_t start = w->frames[fr];
        if (end - start == 1)
            return w->entries[start].table;
        if (end > start)
            return SQLFACTS_UNKNOWN;
        end = start;
    }
    return SQLFACTS_UNKNOWN;
}

/* ---- column facts ---- */

static void col_add(struct walker *w, int table, const char *name, enum sqlfacts_role role,
                    enum sqlfacts_opclass opclass, enum sqlfacts_op op, unsigned flags)
{
    struct sqlfacts *f = w->f;
    char n[SQLFACTS_NAME_MAX] = { 0 };
    copy_name(n, name);
    for (size_t i = 0; i < f->n_cols; i++) {
        const struct sqlfacts_column *k = &f->cols[i];
        if (k->table == table && k->role == role && k->op == op && k->flags == flags &&
            strcmp(k->name, n) == 0)
            return;
    }
    if (f->n_cols >= SQLFACTS_MAX_COLUMNS) {
        f->flags |= SQLFACTS_TRUNCATED;
        return;
    }
    if (!f->cols)
        f->cols = xcalloc(SQLFACTS_MAX_COLUMNS, sizeof(*f->cols));
    struct sqlfacts_column *k = &f->cols[f->n_cols++];
    k->table = table;
    memcpy(k->name, n, sizeof(n));
    k->role = role;
    k->opclass = opclass;
    k->op = op;
    k->flags = flags;
}

/*
 * Resolves a ColumnRef body: its column name and table (index, DERIVED or
 * SQLFACTS_UNKNOWN). Returns false for a star (*star_table says whose) or
 * a reference with no name.
 */
static bool colref_resolve(const struct walker *w, json_t *cref, const char **name, int *table,
                           bool *star)
{
    json_t *fields = json_object_get(cref, "fields");
    size_t n = json_array_size(fields);
    *star = false;
    *table = SQLFACTS_UNKNOWN;
    if (n == 0)
        return false;
    json_t *last = json_array_get(fields, n - 1);
    const char *qual = n >= 2 ? string_node(json_array_get(fields, n - 2)) : NULL;
    const char *schema = n >= 3 ? string_node(json_array_get(fields, n - 3)) : NULL;
    if (n == 1)
        *table = scope_unqualified(w);
    else if (qual)
        *table = scope_find(w, schema, qual);
    if (node_is(last, "A_Star")) {
        *star = true;
        return false;
    }
    *name = string_node(last);
    return *name != NULL;
}

/* Records a column reference with the role, opclass and op given. */
static void record_colref(struct walker *w, json_t *cref, const struct ctx *c,
                          enum sqlfacts_role role, enum sqlfacts_opclass opclass,
                          enum sqlfacts_op op, unsigned extra_flags)
{
    const char *name;
    int table;
    bool star;
    if (!colref_resolve(w, cref, &name, &table, &star) || table == DERIVED)
        return;
    col_add(w, table, name, role, opclass, op, c->colflags | extra_flags);
}

/* ---- expressions ---- */

/* Whether an expression refers to a column outside any subquery (depth-limited). */
static bool has_columns(json_t *node, int depth)
{
    if (depth > SQLFACTS_MAX_DEPTH)
        return false;
    json_t *body;
    const char *t = node_type(node, &body);
    if (t) {
        if (strcmp(t, "ColumnRef") == 0)
            return true;
        if (strcmp(t, "SubLink") == 0 || strcmp(t, "SelectStmt") == 0)
            return false;
        return has_columns(body, depth + 1);
    }
    if (json_is_object(node)) {
        const char *key;
        json_t *v;
        json_object_foreach(node, key, v)
        {
            if (has_columns(v, depth + 1))
                return true;
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v)
        {
            if (has_columns(v, depth + 1))
                return true;
        }
    }
    return false;
}

static struct ctx nested_ctx(struct walker *w, struct ctx c)
{
    w->f->flags |= SQLFACTS_SUBQUERY;
    c.top = false;
    c.colflags = (c.colflags | SQLFACTS_COL_NESTED) & ~(unsigned)SQLFACTS_COL_OR;
    return c;
}

/* Walks a SubLink: its test expression as an expression, its query as a nested query. */
static void walk_sublink(struct walker *w, json_t *sl, struct ctx c)
{
    json_t *test = json_object_get(sl, "testexpr");
    if (test)
        walk_expr(w, test, c);
    json_t *sub = node_is(json_object_get(sl, "subselect"), "SelectStmt");
    if (sub)
        walk_select(w, sub, nested_ctx(w, c));
}

/*
 * Walks any expression: records bare column references as c says (when
 * c.record), walks subqueries as nested queries, and looks through every
 * other node.
 */
static void walk_expr(struct walker *w, json_t *node, struct ctx c)
{
    if (!node || too_deep(w, &c))
        return;
    json_t *body;
    const char *t = node_type(node, &body);
    if (t) {
        if (strcmp(t, "ColumnRef") == 0) {
            if (c.record)
                record_colref(w, body, &c, c.role, c.opclass, c.op, 0);
        } else if (strcmp(t, "SubLink") == 0) {
            walk_sublink(w, body, c);
        } else if (strcmp(t, "SelectStmt") == 0) {
            walk_select(w, body, nested_ctx(w, c));
        } else {
            walk_expr(w, body, c);
        }
        return;
    }
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(node)) {
        json_object_foreach(node, key, v)
        {
            walk_expr(w, v, c);
        }
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, v)
        {
            walk_expr(w, v, c);
        }
    }
}

/* The op for an operator name with the column on the left, or OTHER. */
static enum sqlfacts_op op_from_name(const char *name, enum sqlfacts_opclass *opclass)
{
    static const struct {
        const char *name;
        enum sqlfacts_op op;
        enum sqlfacts_opclass opclass;
    } ops[] = {
        { "=", SQLFACTS_OP_EQ, SQLFACTS_OPC_EQ },     { "<", SQLFACTS_OP_LT, SQLFACTS_OPC_RANGE },
        { ">", SQLFACTS_OP_GT, SQLFACTS_OPC_RANGE },  { "<=", SQLFACTS_OP_LE, SQLFACTS_OPC_RANGE },
        { ">=", SQLFACTS_OP_GE, SQLFACTS_OPC_RANGE }, { "<>", SQLFACTS_OP_NE, SQLFACTS_OPC_OTHER },
        { "!=", SQLFACTS_OP_NE, SQLFACTS_OPC_OTHER },
    };
    for (size_t i = 0; name && i < ARRAY_SIZE(ops); i++) {
        if (strcmp(name, ops[i].name) == 0) {
            *opclass = ops[i].opclass;
            return ops[i].op;
        }
    }
    *opclass = SQLFACTS_OPC_OTHER;
    return SQLFACTS_OP_OTHER;
}

/* $1 < a is a > $1. */
static enum sqlfacts_op op_flip(enum sqlfacts_op op)
{
    switch (op) {
    case SQLFACTS_OP_LT:
        return SQLFACTS_OP_GT;
    case SQLFACTS_OP_GT:
        return SQLFACTS_OP_LT;
    case SQLFACTS_OP_LE:
        return SQLFACTS_OP_GE;
    case SQLFACTS_OP_GE:
        return SQLFACTS_OP_LE;
    default:
        return op;
    }
}

/*
 * One side of a comparison: a bare column gets (role, opclass, op); any
 * other expression has its columns recorded as OTHER/EXPR with the same
 * role, and its subqueries walked.
 */
static void walk_operand(struct walker *w, json_t *side, struct ctx c, enum sqlfacts_role role,
                         enum sqlfacts_opclass opclass, enum sqlfacts_op op)
{
    json_t *cref = node_is(side, "ColumnRef");
    if (cref) {
        record_colref(w, cref, &c, role, opclass, op, 0);
        return;
    }
    c.record = true;
    c.role = role;
    c.opclass = SQLFACTS_OPC_OTHER;
    c.op = SQLFACTS_OP_EXPR;
    walk_expr(w, side, c);
}

/* Whether a LIKE pattern constant can use a btree range: it does not start with a wildcard. */
static bool like_prefix(json_t *pattern)
{
    json_t *k = node_is(pattern, "A_Const");
    const char *s = k ? get_str(json_object_get(k, "sval"), "sval") : NULL;
    return s && s[0] && s[0] != '%' && s[0] != '_';
}

/* A comparison A_Expr in a predicate position. */
static void walk_aexpr(struct walker *w, json_t *ae, struct ctx c)
{
    const char *kind = get_str(ae, "kind");
    const char *name = op_name(json_object_get(ae, "name"));
    json_t *l = json_object_get(ae, "lexpr");
    json_t *r = json_object_get(ae, "rexpr");
    enum sqlfacts_opclass opc = SQLFACTS_OPC_OTHER;
    enum sqlfacts_op op = SQLFACTS_OP_OTHER;
    bool flippable = false;
    if (!kind)
        kind = "";
    if (strcmp(kind, "AEXPR_OP") == 0) {
        op = op_from_name(name, &opc);
        flippable = true;
    } else if (strcmp(kind, "AEXPR_IN") == 0) {
        bool eq = name && strcmp(name, "=") == 0;
        op = eq ? SQLFACTS_OP_IN : SQLFACTS_OP_NE;
        opc = eq ? SQLFACTS_OPC_EQ : SQLFACTS_OPC_OTHER;
    } else if (strcmp(kind, "AEXPR_OP_ANY") == 0) {
        bool eq = name && strcmp(name, "=") == 0;
        op = eq ? SQLFACTS_OP_ANY : SQLFACTS_OP_OTHER;
        opc = eq ? SQLFACTS_OPC_EQ : SQLFACTS_OPC_OTHER;
    } else if (strcmp(kind, "AEXPR_OP_ALL") == 0) {
        op = name && strcmp(name, "<>") == 0 ? SQLFACTS_OP_NE : SQLFACTS_OP_OTHER;
    } else if (strcmp(kind, "AEXPR_BETWEEN") == 0 || strcmp(kind, "AEXPR_BETWEEN_SYM") == 0) {
        op = SQLFACTS_OP_BETWEEN;
        opc = SQLFACTS_OPC_RANGE;
    } else if (strcmp(kind, "AEXPR_LIKE") == 0 && name && strcmp(name, "~~") == 0 &&
               like_prefix(r)) {
        op = SQLFACTS_OP_LIKE_PREFIX;
        opc = SQLFACTS_OPC_RANGE;
    }
    /*
     * The column is on the left, except for "$1 < a" (a plain operator, bare column on the right).
     */
    bool l_cols = has_columns(l, 0), r_cols = has_columns(r, 0);
    bool r_is_col = node_is(r, "ColumnRef") != NULL;
    if (flippable && r_is_col && !node_is(l, "ColumnRef") && !l_cols) {
        walk_operand(w, r, c, SQLFACTS_ROLE_FILTER, opc, op_flip(op));
        walk_expr(w, l, c);
        return;
    }
    enum sqlfacts_role lrole = r_cols ? SQLFACTS_ROLE_JOIN : SQLFACTS_ROLE_FILTER;
    if (l_cols)
        walk_operand(w, l, c, lrole, opc, op);
    else
        walk_expr(w, l, c);
    if (flippable && r_is_col && l_cols)
        walk_operand(w, r, c, SQLFACTS_ROLE_JOIN, opc, op_flip(op));
    else if (r_cols)
        walk_operand(w, r, c, l_cols ? SQLFACTS_ROLE_JOIN : SQLFACTS_ROLE_FILTER,
                     SQLFACTS_OPC_OTHER, SQLFACTS_OP_EXPR);
    else
        walk_expr(w, r, c);
}

/* A SubLink in a predicate position: a IN (SELECT ...), EXISTS (...), a = ANY (SELECT ...). */
static void walk_pred_sublink(struct walker *w, json_t *sl, struct ctx c)
{
    const char *type = get_str(sl, "subLinkType");
    json_t *test = json_object_get(sl, "testexpr");
    json_t *cref = node_is(test, "ColumnRef");
    if (type && strcmp(type, "ANY_SUBLINK") == 0 && cref) {
        const char *name = op_name(json_object_get(sl, "operName"));
        bool eq = !name || strcmp(name, "=") == 0;
        record_colref(w, cref, &c, SQLFACTS_ROLE_JOIN, eq ? SQLFACTS_OPC_EQ : SQLFACTS_OPC_OTHER,
                      eq ? SQLFACTS_OP_IN : SQLFACTS_OP_OTHER, 0);
        test = NULL;
    }
    if (test)
        walk_operand(w, test, c, SQLFACTS_ROLE_JOIN, SQLFACTS_OPC_OTHER, SQLFACTS_OP_EXPR);
    json_t *sub = node_is(json_object_get(sl, "subselect"), "SelectStmt");
    if (sub)
        walk_select(w, sub, nested_ctx(w, c));
}

/* A node in a predicate position: a WHERE or ON clause, or an argument of AND / OR / NOT. */
static void walk_pred(struct walker *w, json_t *node, struct ctx c)
{
    if (!node || too_deep(w, &c))
        return;
    json_t *body;
    const char *t = node_type(node, &body);
    if (t && strcmp(t, "BoolExpr") == 0) {
        const char *op = get_str(body, "boolop");
        if (!op || strcmp(op, "AND_EXPR") != 0)
            c.colflags |= SQLFACTS_COL_OR;
        size_t i;
        json_t *arg;
        json_array_foreach(json_object_get(body, "args"), i, arg)
        {
            walk_pred(w, arg, c);
        }
    } else if (t && strcmp(t, "A_Expr") == 0) {
        walk_aexpr(w, body, c);
    } else if (t && strcmp(t, "NullTest") == 0) {
        const char *type = get_str(body, "nulltesttype");
        bool is_null = type && strcmp(type, "IS_NULL") == 0;
        walk_operand(w, json_object_get(body, "arg"), c, SQLFACTS_ROLE_FILTER,
                     is_null ? SQLFACTS_OPC_EQ : SQLFACTS_OPC_OTHER,
                     is_null ? SQLFACTS_OP_IS_NULL : SQLFACTS_OP_OTHER);
    } else if (t && strcmp(t, "SubLink") == 0) {
        walk_pred_sublink(w, body, c);
    } else {
        walk_operand(w, node, c, SQLFACTS_ROLE_FILTER, SQLFACTS_OPC_OTHER, SQLFACTS_OP_EXPR);
    }
}

/* ---- FROM ---- */

/* The table a join side reads, when it is a single table; for USING. */
static int join_side_table(struct walker *w, json_t *side)
{
    json_t *rv = node_is(side, "RangeVar");
    if (!rv)
        return SQLFACTS_UNKNOWN;
    const char *alias = get_str(json_object_get(rv, "alias"), "aliasname");
    const char *name = get_str(rv, "relname");
    return alias ? scope_find(w, NULL, alias) : name ? scope_find(w, NULL, name) : DERIVED;
}

/* Pass 1 over a FROM item: put its relations in the current scope. */
static void from_collect(struct walker *w, json_t *item, struct ctx c)
{
    if (too_deep(w, &c))
        return;
    json_t *body;
    const char *t = node_type(item, &body);
    if (!t)
        return;
    if (strcmp(t, "RangeVar") == 0) {
        scope_add_rangevar(w, body, &c);
    } else if (strcmp(t, "JoinExpr") == 0) {
        from_collect(w, json_object_get(body, "larg"), c);
        from_collect(w, json_object_get(body, "rarg"), c);
        const char *alias = get_str(json_object_get(body, "alias"), "aliasname");
        if (alias)
            scope_add(w, NULL, alias, alias, DERIVED);
    } else if (strcmp(t, "RangeTableSample") == 0) {
        from_collect(w, json_object_get(body, "relation"), c);
    } else {
        /* Subqueries, functions, XMLTABLE: relations whose columns are not table columns. */
        const char *alias = get_str(json_object_get(body, "alias"), "aliasname");
        scope_add(w, NULL, alias ? alias : "", alias ? alias : "", DERIVED);
    }
}

/* Pass 2 over a FROM item: join conditions, subqueries, function arguments. */
static void from_walk(struct walker *w, json_t *item, struct ctx c)
{
    if (too_deep(w, &c))
        return;
    json_t *body;
    const char *t = node_type(item, &body);
    if (!t)
        return;
    if (strcmp(t, "JoinExpr") == 0) {
        json_t *l = json_object_get(body, "larg"), *r = json_object_get(body, "rarg");
        from_walk(w, l, c);
        from_walk(w, r, c);
        size_t i;
        json_t *u;
        json_array_foreach(json_object_get(body, "usingClause"), i, u)
        {
            const char *col = string_node(u);
            int lt = join_side_table(w, l), rt = join_side_table(w, r);
            if (col && lt != DERIVED)
                col_add(w, lt, col, SQLFACTS_ROLE_JOIN, SQLFACTS_OPC_EQ, SQLFACTS_OP_EQ,
                        c.colflags);
            if (col && rt != DERIVED)
                col_add(w, rt, col, SQLFACTS_ROLE_JOIN, SQLFACTS_OPC_EQ, SQLFACTS_OP_EQ,
                        c.colflags);
        }
        walk_pred(w, json_object_get(body, "quals"), c);
    } else if (strcmp(t, "RangeSubselect") == 0) {
        json_t *sub = node_is(json_object_get(body, "subquery"), "SelectStmt");
        if (sub)
            walk_select(w, sub, nested_ctx(w, c));
    } else if (strcmp(t, "RangeVar") != 0) {
        c.record = false;
        walk_expr(w, body, c);
    }
}

static void walk_from(struct walker *w, json_t *list, struct ctx c)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        from_collect(w, item, c);
    }
    json_array_foreach(list, i, item)
    {
        from_walk(w, item, c);
    }
}

/* ---- query levels ---- */

static enum sqlfacts_limit limit_kind(json_t *node, int64_t *value)
{
    json_t *k = node_is(node, "A_Const");
    if (!node)
        return SQLFACTS_LIMIT_NONE;
    if (k) {
        if (json_is_true(json_object_get(k, "isnull")))
            return SQLFACTS_LIMIT_NONE;
        json_t *ival = json_object_get(k, "ival");
        if (json_is_object(ival)) {
            /* libpg_query leaves out zero values: {"ival": {}} is LIMIT 0. */
            *value = json_integer_value(json_object_get(ival, "ival"));
            return SQLFACTS_LIMIT_CONST;
        }
        return SQLFACTS_LIMIT_EXPR;
    }
    json_t *cast = node_is(node, "TypeCast");
    if (node_is(node, "ParamRef") || (cast && node_is(json_object_get(cast, "arg"), "ParamRef")))
        return SQLFACTS_LIMIT_PARAM;
    return SQLFACTS_LIMIT_EXPR;
}

/* The select list or RETURNING list: stars and the columns used. */
static void walk_targets(struct walker *w, json_t *list, struct ctx c)
{
    size_t i;
    json_t *item;
    c.record = true;
    c.role = SQLFACTS_ROLE_SELECT;
    c.opclass = SQLFACTS_OPC_NONE;
    c.op = SQLFACTS_OP_NONE;
    json_array_foreach(list, i, item)
    {
        json_t *rt = node_is(item, "ResTarget");
        json_t *val = rt ? json_object_get(rt, "val") : NULL;
        json_t *cref = node_is(val, "ColumnRef");
        if (cref) {
            const char *name;
            int table;
            bool star;
            if (colref_resolve(w, cref, &name, &table, &star)) {
                if (table != DERIVED)
                    col_add(w, table, name, c.role, c.opclass, c.op, c.colflags);
            } else if (star && c.top) {
                json_t *fields = json_object_get(cref, "fields");
                if (json_array_size(fields) == 1)
                    w->f->flags |= SQLFACTS_SELECT_STAR;
                else if (table >= 0)
                    w->f->tables[table].flags |= SQLFACTS_TAB_STAR;
            }
        } else {
            walk_expr(w, val, c);
        }
    }
}

/*
 * What an ORDER BY or GROUP BY item stands for: "1" is the first select
 * list item, an unqualified name that is a select list alias is that
 * item's expression.
 */
static json_t *resolve_output_ref(json_t *item, json_t *targets)
{
    json_t *k = node_is(item, "A_Const");
    if (k) {
        json_t *ival = json_object_get(k, "ival");
        json_int_t n = json_integer_value(json_object_get(ival, "ival"));
        json_t *rt = n >= 1 ? node_is(json_array_get(targets, (size_t)(n - 1)), "ResTarget") : NULL;
        return rt ? json_object_get(rt, "val") : item;
    }
    json_t *cref = node_is(item, "ColumnRef");
    json_t *fields = cref ? json_object_get(cref, "fields") : NULL;
    const char *name = json_array_size(fields) == 1 ? string_node(json_array_get(fields, 0)) : NULL;
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t)
    {
        json_t *rt = node_is(t, "ResTarget");
        const char *alias = rt ? get_str(rt, "name") : NULL;
        if (name && alias && strcmp(alias, name) == 0)
            return json_object_get(rt, "val");
    }
    return item;
}

static void walk_order(struct walker *w, json_t *sort, json_t *targets, struct ctx c)
{
    size_t n = json_array_size(sort);
    if (n == 0)
        return;
    const char *names[MAX_ORDER];
    bool desc[MAX_ORDER];
    int table = DERIVED;
    bool usable = n <= MAX_ORDER;
    for (size_t i = 0; usable && i < n; i++) {
        json_t *sb = node_is(json_array_get(sort, i), "SortBy");
        json_t *cref =
            sb ? node_is(resolve_output_ref(json_object_get(sb, "node"), targets), "ColumnRef")
               : NULL;
        int t;
        bool star;
        const char *dir = sb ? get_str(sb, "sortby_dir") : NULL;
        if (!cref || !colref_resolve(w, cref, &names[i], &t, &star) || t == DERIVED ||
            (i > 0 && t != table) || (dir && strcmp(dir, "SORTBY_USING") == 0)) {
            usable = false;
            break;
        }
        table = t;
        desc[i] = dir && strcmp(dir, "SORTBY_DESC") == 0;
    }
    if (usable) {
        for (size_t i = 0; i < n; i++)
            col_add(w, table, names[i], SQLFACTS_ROLE_ORDER, SQLFACTS_OPC_NONE, SQLFACTS_OP_NONE,
                    c.colflags | (desc[i] ? SQLFACTS_COL_DESC : 0));
    } else if (c.top) {
        w->f->flags |= SQLFACTS_ORDER_MIXED;
    }
    c.record = false;
    walk_expr(w, sort, c);
}

static void walk_group(struct walker *w, json_t *group, json_t *targets, struct ctx c)
{
    size_t i;
    json_t *item;
    c.record = true;
    c.role = SQLFACTS_ROLE_GROUP;
    c.opclass = SQLFACTS_OPC_NONE;
    c.op = SQLFACTS_OP_NONE;
    json_array_foreach(group, i, item)
    {
        walk_expr(w, resolve_output_ref(item, targets), c);
    }
}

/* A WITH clause: registers the names (for recursive CTEs too), then walks the bodies. */
static void walk_with(struct walker *w, json_t *with, struct ctx c)
{
    json_t *ctes = json_object_get(with, "ctes");
    size_t i;
    json_t *item;
    if (!with)
        return;
    w->f->flags |= SQLFACTS_CTE;
    json_array_foreach(ctes, i, item)
    {
        const char *name = get_str(node_is(item, "CommonTableExpr"), "ctename");
        if (!name)
            continue;
        if (w->n_ctes >= MAX_CTES) {
            w->f->flags |= SQLFACTS_TRUNCATED;
            break;
        }
        copy_name(w->ctes[w->n_ctes++], name);
    }
    struct ctx nc = c;
    nc.top = false;
    nc.colflags = (c.colflags | SQLFACTS_COL_NESTED) & ~(unsigned)SQLFACTS_COL_OR;
    json_array_foreach(ctes, i, item)
    {
        walk_stmt(w, json_object_get(node_is(item, "CommonTableExpr"), "ctequery"), nc);
    }
}

/* A SelectStmt body (also the raw larg / rarg of a set operation). */
static void walk_select(struct walker *w, json_t *sel, struct ctx c)
{
    if (!json_is_object(sel) || too_deep(w, &c))
        return;
    c.record = false;
    size_t saved_ctes = w->n_ctes;
    walk_with(w, json_object_get(sel, "withClause"), c);
    const char *setop = get_str(sel, "op");
    if (setop && strcmp(setop, "SETOP_NONE") != 0) {
        if (c.top)
            w->f->flags |= SQLFACTS_SETOP;
        walk_select(w, json_object_get(sel, "larg"), c);
        walk_select(w, json_object_get(sel, "rarg"), c);
    } else {
        scope_push(w);
        walk_from(w, json_object_get(sel, "fromClause"), c);
        json_t *targets = json_object_get(sel, "targetList");
        walk_targets(w, targets, c);
        struct ctx nr = c;
        nr.record = false;
        walk_expr(w, json_object_get(sel, "valuesLists"), nr);
        walk_pred(w, json_object_get(sel, "whereClause"), c);
        walk_group(w, json_object_get(sel, "groupClause"), targets, c);
        walk_expr(w, json_object_get(sel, "havingClause"), nr);
        walk_order(w, json_object_get(sel, "sortClause"), targets, c);
        scope_pop(w);
    }
    if (c.top) {
        w->f->limit = limit_kind(json_object_get(sel, "limitCount"), &w->f->limit_value);
        w->f->offset = limit_kind(json_object_get(sel, "limitOffset"), &w->f->offset_value);
    }
    w->n_ctes = saved_ctes;
}

/* The target of INSERT / UPDATE / DELETE: a table in a new scope, flagged TARGET. */
static int target_push(struct walker *w, json_t *stmt, struct ctx c)
{
    scope_push(w);
    json_t *rv = json_object_get(stmt, "relation");
    int t = rv ? scope_add_rangevar(w, rv, &c) : DERIVED;
    if (t >= 0)
        w->f->tables[t].flags |= SQLFACTS_TAB_TARGET;
    return t;
}

static void add_set_columns(struct walker *w, json_t *list, int table, enum sqlfacts_role role,
                            struct ctx c)
{
    size_t i;
    json_t *item;
    c.record = false;
    json_array_foreach(list, i, item)
    {
        json_t *rt = node_is(item, "ResTarget");
        const char *name = rt ? get_str(rt, "name") : NULL;
        if (name && table != DERIVED)
            col_add(w, table, name, role, SQLFACTS_OPC_NONE, SQLFACTS_OP_NONE, c.colflags);
        walk_expr(w, rt ? json_object_get(rt, "val") : NULL, c);
    }
}

static void walk_insert(struct walker *w, json_t *ins, struct ctx c)
{
    size_t saved_ctes = w->n_ctes;
    walk_with(w, json_object_get(ins, "withClause"), c);
    int t = target_push(w, ins, c);
    add_set_columns(w, json_object_get(ins, "cols"), t, SQLFACTS_ROLE_INSERT, c);
    struct ctx src = c;
    src.top = false;
    walk_stmt(w, json_object_get(ins, "selectStmt"), src);
    /* A struct member, not a node: libpg_query writes it without the {"Type": ...} wrapper. */
    json_t *oc = json_object_get(ins, "onConflictClause");
    add_set_columns(w, json_object_get(oc, "targetList"), t, SQLFACTS_ROLE_SET, c);
    walk_targets(w, json_object_get(ins, "returningList"), c);
    scope_pop(w);
    w->n_ctes = saved_ctes;
}

static void walk_update_delete(struct walker *w, json_t *st, bool update, struct ctx c)
{
    size_t saved_ctes = w->n_ctes;
    walk_with(w, json_object_get(st, "withClause"), c);
    int t = target_push(w, st, c);
    walk_from(w, json_object_get(st, update ? "fromClause" : "usingClause"), c);
    if (update)
        add_set_columns(w, json_object_get(st, "targetList"), t, SQLFACTS_ROLE_SET, c);
    walk_pred(w, json_object_get(st, "whereClause"), c);
    walk_targets(w, json_object_get(st, "returningList"), c);
    scope_pop(w);
    w->n_ctes = saved_ctes;
}

/* A statement node wrapper: SELECT, INSERT, UPDATE, DELETE; anything else is skipped. */
static void walk_stmt(struct walker *w, json_t *node, struct ctx c)
{
    if (!node || too_deep(w, &c))
        return;
    json_t *body;
    const char *t = node_type(node, &body);
    if (!t)
        return;
    if (strcmp(t, "SelectStmt") == 0)
        walk_select(w, body, c);
    else if (strcmp(t, "InsertStmt") == 0)
        walk_insert(w, body, c);
    else if (strcmp(t, "UpdateStmt") == 0)
        walk_update_delete(w, body, true, c);
    else if (strcmp(t, "DeleteStmt") == 0)
        walk_update_delete(w, body, false, c);
}

static enum sqlfacts_command command_of(json_t *stmt)
{
    json_t *body;
    const char *t = node_type(stmt, &body);
    if (!t)
        return SQLFACTS_CMD_OTHER;
    if (strcmp(t, "SelectStmt") == 0)
        return SQLFACTS_CMD_SELECT;
    if (strcmp(t, "InsertStmt") == 0)
        return SQLFACTS_CMD_INSERT;
    if (strcmp(t, "UpdateStmt") == 0)
        return SQLFACTS_CMD_UPDATE;
    if (strcmp(t, "DeleteStmt") == 0)
        return SQLFACTS_CMD_DELETE;
    return SQLFACTS_CMD_OTHER;
}

/* ---- the API ---- */

static int facts_from_json(struct sqlfacts *out, const char *tree, struct err *err)
{
    json_error_t jerr;
    json_t *root = json_loads(tree, 0, &jerr);
    if (!root)
        return err_set(err, ERR_PARSE, "cannot read the parse tree: %s", jerr.text);
    json_t *stmts = json_object_get(root, "stmts");
    json_t *stmt = json_object_get(json_array_get(stmts, 0), "stmt");
    if (!stmt) {
        json_decref(root);
        return err_set(err, ERR_PARSE, "no statement in the text");
    }
    if (json_array_size(stmts) > 1)
        out->flags |= SQLFACTS_MULTI;
    out->command = command_of(stmt);
    struct walker *w = xcalloc(1, sizeof(*w));
    w->f = out;
    struct ctx c = { .top = true };
    walk_stmt(w, stmt, c);
    ASSERT(w->n_frames == 0);
    free(w);
    json_decref(root);
    return 0;
}

/*
 * A normalised text with a typed literal (date '2020-01-01' becomes
 * date $1) is no longer SQL: the same text with the type names before
 * parameters dropped, or NULL when there are none. (The facts do not
 * depend on a parameter's type.)
 */
static char *untyped(const char *sql)
{
    static const char *const types[] = { "date",     "timestamptz", "timestamp", "time",
                                         "interval", "numeric",     "bigint",    "integer",
                                         "int",      "text",        "uuid",      "inet",
                                         "jsonb",    "json",        "boolean",   "bool" };
    struct buf b = BUF_INIT;
    bool changed = false;
    for (const char *p = sql; *p;) {
        size_t skip = 0;
        bool word_start = p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        for (size_t i = 0; word_start && !skip && i < sizeof(types) / sizeof(types[0]); i++) {
            size_t n = strlen(types[i]);
            if (strncasecmp(p, types[i], n) == 0 && p[n] == ' ' && p[n + 1] == '$')
                skip = n + 1;
        }
        if (skip) {
            p += skip;
            changed = true;
        } else {
            buf_addch(&b, *p++);
        }
    }
    if (!changed) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

int sqlfacts_parse(struct sqlfacts *out, const char *sql, struct err *err)
{
    memset(out, 0, sizeof(*out));
    PgQueryParseResult r = pg_query_parse(sql);
    char *retry = r.error ? untyped(sql) : NULL;
    if (retry) {
        pg_query_free_parse_result(r);
        r = pg_query_parse(retry);
        free(retry);
    }
    int rc;
    if (r.error) {
        rc = err_set(err, ERR_PARSE, "cannot parse statement: %s at offset %d",
                     r.error->message ? r.error->message : "unknown error", r.error->cursorpos);
    } else {
        rc = facts_from_json(out, r.parse_tree ? r.parse_tree : "", err);
    }
    pg_query_free_parse_result(r);
    if (rc != 0)
        sqlfacts_release(out);
    return rc;
}

void sqlfacts_release(struct sqlfacts *f)
{
    free(f->tables);
    free(f->cols);
    memset(f, 0, sizeof(*f));
}

int sqlfacts_find_table(const struct sqlfacts *f, const char *name)
{
    const char *dot = strchr(name, '.');
    for (size_t i = 0; i < f->n_tables; i++) {
        const struct sqlfacts_table *t = &f->tables[i];
        if (dot) {
            size_t sl = (size_t)(dot - name);
            if (strlen(t->schema) == sl && memcmp(t->schema, name, sl) == 0 &&
                strcmp(t->name, dot + 1) == 0)
                return (int)i;
        } else if (strcmp(t->name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- the index candidate ---- */

struct cand {
    const char *names[SQLFACTS_MAX_COLUMNS];
    bool desc[SQLFACTS_MAX_COLUMNS];
    size_t n;
};

static bool cand_has(const struct cand *k, const char *name)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->names[i], name) == 0)
            return true;
    return false;
}

static void cand_add(struct cand *k, const char *name, bool desc)
{
    if (!cand_has(k, name) && k->n < SQLFACTS_MAX_COLUMNS) {
        k->names[k->n] = name;
        k->desc[k->n++] = desc;
    }
}

/* Appends the equality columns of one role; returns how many it added. */
static size_t cand_add_eq(struct cand *k, const struct sqlfacts *f, int table,
                          enum sqlfacts_role role)
{
    size_t before = k->n;
    for (size_t i = 0; i < f->n_cols; i++) {
        const struct sqlfacts_column *c = &f->cols[i];
        if (c->table == table && c->role == role && c->opclass == SQLFACTS_OPC_EQ &&
            !(c->flags & SQLFACTS_COL_OR))
            cand_add(k, c->name, false);
    }
    return k->n - before;
}

static void append_ident(struct buf *b, const char *name)
{
    bool plain = (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_';
    for (const char *p = name; plain && *p; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '$';
    if (plain) {
        buf_addstr(b, name);
        return;
    }
    buf_addch(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            buf_addch(b, '"');
        buf_addch(b, *p);
    }
    buf_addch(b, '"');
}

/* Appends the top-level ORDER BY columns when the sort can use them after the range column. */
static void cand_add_order(struct cand *k, const struct sqlfacts *f, int table, const char *range)
{
    struct cand order = { .n = 0 };
    for (size_t i = 0; i < f->n_cols; i++) {
        const struct sqlfacts_column *c = &f->cols[i];
        if (c->table == table && c->role == SQLFACTS_ROLE_ORDER &&
            !(c->flags & SQLFACTS_COL_NESTED) && !cand_has(k, c->name))
            cand_add(&order, c->name, (c->flags & SQLFACTS_COL_DESC) != 0);
    }
    if (range && (order.n == 0 || strcmp(order.names[0], range) != 0)) {
        cand_add(k, range, false);
        return;
    }
    bool mixed = false;
    for (size_t i = 1; i < order.n; i++)
        mixed |= order.desc[i] != order.desc[0];
    for (size_t i = 0; i < order.n; i++)
        cand_add(k, order.names[i], mixed && order.desc[i]);
}

int sqlfacts_index_candidate(const struct sqlfacts *f, const char *table, struct buf *cols)
{
    int t = sqlfacts_find_table(f, table);
    if (t < 0)
        return 0;
    struct cand *k = xcalloc(1, sizeof(*k));
    bool from_filters = cand_add_eq(k, f, t, SQLFACTS_ROLE_FILTER) > 0;
    if (!from_filters)
        cand_add_eq(k, f, t, SQLFACTS_ROLE_JOIN);
    const char *range = NULL;
    for (size_t i = 0; i < f->n_cols && !range; i++) {
        const struct sqlfacts_column *c = &f->cols[i];
        if (c->table == t && c->role == SQLFACTS_ROLE_FILTER && c->opclass == SQLFACTS_OPC_RANGE &&
            !(c->flags & SQLFACTS_COL_OR) && !cand_has(k, c->name))
            range = c->name;
    }
    if (from_filters || k->n == 0)
        cand_add_order(k, f, t, range);
    else if (range)
        cand_add(k, range, false);
    for (size_t i = 0; i < k->n; i++) {
        if (i)
            buf_addstr(cols, ", ");
        append_ident(cols, k->names[i]);
        if (k->desc[i])
            buf_addstr(cols, " DESC");
    }
    int n = (int)k->n;
    free(k);
    return n;
}

/* ---- names ---- */

const char *sqlfacts_command_name(enum sqlfacts_command c)
{
    switch (c) {
#define X(name, json, doc)    \
    case SQLFACTS_CMD_##name: \
        return json;
        SQLFACTS_COMMAND_MAP(X)
#undef X
    }
    return "other";
}

const char *sqlfacts_role_name(enum sqlfacts_role r)
{
    switch (r) {
#define X(name, json, doc)     \
    case SQLFACTS_ROLE_##name: \
        return json;
        SQLFACTS_ROLE_MAP(X)
#undef X
    }
    return "?";
}

const char *sqlfacts_opclass_name(enum sqlfacts_opclass c)
{
    switch (c) {
#define X(name, json, doc)    \
    case SQLFACTS_OPC_##name: \
        return json;
        SQLFACTS_OPCLASS_MAP(X)
#undef X
    }
    return "?";
}

const char *sqlfacts_op_name(enum sqlfacts_op op)
{
    switch (op) {
#define X(name, json, doc)   \
    case SQLFACTS_OP_##name: \
        return json;
        SQLFACTS_OP_MAP(X)
#undef X
    }
    return "?";
}
