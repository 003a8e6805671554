/*
 * Unit tests for sql/facts.c. Each case is a statement and its facts
 * rendered as one line (libpg_query's {input, expected} style):
 *
 *   <command> | <tables> | <columns> | limit=<kind> offset=<kind> | <flags>
 *
 * A table is "schema.name alias [target] [star] [nested]"; a column is
 * "table.column role opclass op [nested] [or] [desc]", with "?" for a
 * column that cannot be attributed without the catalog. Expected values
 * were worked out by hand from the rules in facts.h.
 */
#include "sql/facts.h"

#include "util/compat.h"

#include "test_util.h"

static const char *limit_name(enum sqlfacts_limit l)
{
    switch (l) {
    case SQLFACTS_LIMIT_NONE:
        return "none";
    case SQLFACTS_LIMIT_CONST:
        return "const";
    case SQLFACTS_LIMIT_PARAM:
        return "param";
    case SQLFACTS_LIMIT_EXPR:
        return "expr";
    }
    return "?";
}

/* The one-line rendering described at the top of the file. */
static void render(const struct sqlfacts *f, struct buf *b)
{
    buf_addf(b, "%s |", sqlfacts_command_name(f->command));
    for (size_t i = 0; i < f->n_tables; i++) {
        const struct sqlfacts_table *t = &f->tables[i];
        buf_addf(b, "%s %s%s%s", i ? "," : "", t->schema, t->schema[0] ? "." : "", t->name);
        if (t->alias[0])
            buf_addf(b, " %s", t->alias);
        if (t->flags & SQLFACTS_TAB_TARGET)
            buf_addstr(b, " target");
        if (t->flags & SQLFACTS_TAB_STAR)
            buf_addstr(b, " star");
        if (t->flags & SQLFACTS_TAB_NESTED)
            buf_addstr(b, " nested");
    }
    buf_addstr(b, " |");
    for (size_t i = 0; i < f->n_cols; i++) {
        const struct sqlfacts_column *c = &f->cols[i];
        buf_addf(b, "%s %s.%s %s", i ? "," : "", c->table >= 0 ? f->tables[c->table].name : "?",
                 c->name, sqlfacts_role_name(c->role));
        if (c->opclass != SQLFACTS_OPC_NONE)
            buf_addf(b, " %s %s", sqlfacts_opclass_name(c->opclass), sqlfacts_op_name(c->op));
        if (c->flags & SQLFACTS_COL_NESTED)
            buf_addstr(b, " nested");
        if (c->flags & SQLFACTS_COL_OR)
            buf_addstr(b, " or");
        if (c->flags & SQLFACTS_COL_DESC)
            buf_addstr(b, " desc");
    }
    buf_addf(b, " | limit=%s", limit_name(f->limit));
    if (f->limit == SQLFACTS_LIMIT_CONST)
        buf_addf(b, ":%lld", (long long)f->limit_value);
    buf_addf(b, " offset=%s", limit_name(f->offset));
    if (f->offset == SQLFACTS_LIMIT_CONST)
        buf_addf(b, ":%lld", (long long)f->offset_value);
    buf_addstr(b, " |");
    static const struct {
        unsigned bit;
        const char *name;
    } flags[] = {
        { SQLFACTS_SELECT_STAR, "star" },
        { SQLFACTS_SUBQUERY, "subquery" },
        { SQLFACTS_CTE, "cte" },
        { SQLFACTS_SETOP, "setop" },
        { SQLFACTS_ORDER_MIXED, "order_mixed" },
        { SQLFACTS_MULTI, "multi" },
        { SQLFACTS_TRUNCATED, "truncated" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
        if (f->flags & flags[i].bit)
            buf_addf(b, " %s", flags[i].name);
}

struct facts_case {
    const char *sql;
    const char *facts;
    /* "table=cols" index candidates, ";"-separated; NULL for none checked. */
    const char *candidates;
};

static const struct facts_case cases[] = {
    /* A lookup: unqualified columns of a single-table query belong to its table. */
    { "select id, name from customers where email = $1",
      "select | customers | customers.id select, customers.name select, customers.email filter eq "
      "= | limit=none offset=none |",
      "customers=email" },
    /* sleuth's collapsed IN list, with its marker comment. */
    { "select * from orders where status in ($1 /*, ... */)",
      "select | orders | orders.status filter eq in | limit=none offset=none | star",
      "orders=status" },
    /* Aliases resolve; ON is read before the select list and WHERE. */
    { "select o.id, o.total from orders o join customers c on c.id = o.customer_id where c.email "
      "= $1",
      "select | orders o, customers c | customers.id join eq =, orders.customer_id join eq =, "
      "orders.id select, orders.total select, customers.email filter eq = | limit=none "
      "offset=none |",
      "customers=email;orders=customer_id;o=" },
    /* Equality then the sort: the classic (customer_id, created_at) index. */
    { "select * from orders where customer_id = $1 order by created_at desc limit $2",
      "select | orders | orders.customer_id filter eq =, orders.created_at order desc | "
      "limit=param offset=none | star",
      "orders=customer_id, created_at" },
    /* UPDATE: SET columns (they break HOT if indexed), the target, the WHERE. */
    { "update orders set status = $1, updated_at = now() where id = $2",
      "update | orders target | orders.status set, orders.updated_at set, orders.id filter eq = | "
      "limit=none offset=none |",
      "orders=id" },
    { "insert into orders (customer_id, total) values ($1, $2) returning id",
      "insert | orders target | orders.customer_id insert, orders.total insert, orders.id select "
      "| limit=none offset=none |",
      "orders=" },
    { "select * from products", "select | products | | limit=none offset=none | star",
      "products=" },
    /* t.* marks the table, not the statement. */
    { "select o.*, c.name from orders o join customers c on c.id = o.customer_id",
      "select | orders o star, customers c | customers.id join eq =, orders.customer_id join eq "
      "=, customers.name select | limit=none offset=none |",
      "orders=customer_id;customers=id" },
    /* A CTE: its body's facts are nested; its columns (r.*) are not table columns. */
    { "with recent as (select * from orders where created_at > $1) select r.id, c.name from "
      "recent r join customers c on c.id = r.customer_id",
      "select | orders nested, customers c | orders.created_at filter range > nested, "
      "customers.id join eq =, customers.name select | limit=none offset=none | cte",
      "orders=created_at;recent=" },
    /* IN (SELECT ...) joins the column to the subquery. */
    { "select id from customers where id in (select customer_id from orders where total > $1)",
      "select | customers, orders nested | customers.id select, customers.id join eq in, "
      "orders.customer_id select nested, orders.total filter range > nested | limit=none "
      "offset=none | subquery",
      "customers=id;orders=total" },
    /* Schema-qualified, IS NULL counts as an equality. */
    { "select a.id from public.accounts a where a.owner_id = $1 and a.deleted_at is null",
      "select | public.accounts a | accounts.id select, accounts.owner_id filter eq =, "
      "accounts.deleted_at filter eq is null | limit=none offset=none |",
      "public.accounts=owner_id, deleted_at;accounts=owner_id, deleted_at;other.accounts=" },
    /* Quoted identifiers keep their case and are quoted again in the candidate. */
    { "select \"Id\" from \"Order\" where \"CustomerId\" = $1 order by \"CreatedAt\"",
      "select | Order | Order.Id select, Order.CustomerId filter eq =, Order.CreatedAt order | "
      "limit=none offset=none |",
      "Order=\"CustomerId\", \"CreatedAt\"" },
    /* $1 <= ts is ts >= $1; one range column after the equality. */
    { "select count(*) from events where $1 <= ts and kind = $2 and ts < $3",
      "select | events | events.ts filter range >=, events.kind filter eq =, events.ts filter "
      "range < | limit=none offset=none |",
      "events=kind, ts" },
    { "select id from events where ts between $1 and $2 and user_id = any($3)",
      "select | events | events.id select, events.ts filter range between, events.user_id filter "
      "eq any | limit=none offset=none |",
      "events=user_id, ts" },
    /* LIKE with a constant prefix is a range; with a parameter it is unknown. */
    { "select id from users where email like 'bob%'",
      "select | users | users.id select, users.email filter range like prefix | limit=none "
      "offset=none |",
      "users=email" },
    { "select id from users where email like $1 or email like '%@x.org'",
      "select | users | users.id select, users.email filter other other or | limit=none "
      "offset=none |",
      "users=" },
    /* Under OR, nothing leads an index. */
    { "select id from orders where status = $1 or customer_id = $2",
      "select | orders | orders.id select, orders.status filter eq = or, orders.customer_id "
      "filter eq = or | limit=none offset=none |",
      "orders=" },
    /* An unqualified column of a join is not guessed. */
    { "select o.id from orders o join customers c on c.id = o.customer_id where email = $1",
      "select | orders o, customers c | customers.id join eq =, orders.customer_id join eq =, "
      "orders.id select, ?.email filter eq = | limit=none offset=none |",
      "customers=id;orders=customer_id" },
    /* GROUP BY; ORDER BY an aggregate cannot use an index. */
    { "select status, count(*) from orders where created_at >= $1 group by status order by 2 "
      "desc",
      "select | orders | orders.status select, orders.created_at filter range >=, orders.status "
      "group | limit=none offset=none | order_mixed",
      "orders=created_at" },
    { "select o.id from orders o join customers c on c.id = o.customer_id order by c.name, "
      "o.created_at",
      "select | orders o, customers c | customers.id join eq =, orders.customer_id join eq =, "
      "orders.id select | limit=none offset=none | order_mixed",
      NULL },
    /* ORDER BY an output alias; a uniform DESC needs no DESC in the index. */
    { "select created_at as t from orders where customer_id = $1 order by t desc, id desc limit "
      "10 offset $2",
      "select | orders | orders.created_at select, orders.customer_id filter eq =, "
      "orders.created_at order desc, orders.id order desc | limit=const:10 offset=param |",
      "orders=customer_id, created_at, id" },
    { "select id from orders where status = $1 order by priority desc, created_at",
      "select | orders | orders.id select, orders.status filter eq =, orders.priority order desc, "
      "orders.created_at order | limit=none offset=none |",
      "orders=status, priority DESC, created_at" },
    /* A range column serves the sort only when it is the first ORDER BY column. */
    { "select * from orders where created_at > $1 order by created_at limit 50",
      "select | orders | orders.created_at filter range >, orders.created_at order | "
      "limit=const:50 offset=none | star",
      "orders=created_at" },
    { "select * from orders where total > $1 and status = $2 order by created_at limit 50",
      "select | orders | orders.total filter range >, orders.status filter eq =, "
      "orders.created_at order | limit=const:50 offset=none | star",
      "orders=status, total" },
    /* An equality column drops out of the sort it fixes. */
    { "select * from orders where status = $1 and created_at < $2 order by status, created_at "
      "desc",
      "select | orders | orders.status filter eq =, orders.created_at filter range <, "
      "orders.status order, orders.created_at order desc | limit=none offset=none | star",
      "orders=status, created_at" },
    { "delete from sessions s using users u where s.user_id = u.id and u.banned",
      "delete | sessions s target, users u | sessions.user_id join eq =, users.id join eq =, "
      "users.banned filter other expr | limit=none offset=none |",
      "sessions=user_id;users=id" },
    /* ON CONFLICT DO UPDATE writes columns too; excluded.* is not a table. */
    { "insert into counters (k, n) values ($1, $2) on conflict (k) do update set n = counters.n "
      "+ excluded.n",
      "insert | counters target | counters.k insert, counters.n insert, counters.n set | "
      "limit=none offset=none |",
      "counters=" },
    { "select id from a where x = $1 union all select id from b where y = $2 limit 5",
      "select | a, b | a.id select, a.x filter eq =, b.id select, b.y filter eq = | "
      "limit=const:5 offset=none | setop",
      "a=x;b=y" },
    { "select s.n from (select customer_id, count(*) n from orders group by customer_id) s where "
      "s.n > $1",
      "select | orders nested | orders.customer_id select nested, orders.customer_id group "
      "nested | limit=none offset=none | subquery",
      "orders=" },
    /* A correlated subquery sees the outer alias. */
    { "select id from customers c where exists (select 1 from orders o where o.customer_id = "
      "c.id and o.status = $1)",
      "select | customers c, orders o nested | customers.id select, orders.customer_id join eq "
      "= nested, customers.id join eq = nested, orders.status filter eq = nested | limit=none "
      "offset=none | subquery",
      "orders=status;customers=id" },
    { "select id from t where a not in ($1) and b <> $2 and c is not null and d = (select max(d) "
      "from u)",
      "select | t, u nested | t.id select, t.a filter other <>, t.b filter other <>, t.c filter "
      "other other, t.d filter eq =, u.d select nested | limit=none offset=none | subquery",
      "t=d" },
    { "update orders o set status = $1 from customers c where c.id = o.customer_id and c.tier = "
      "$2",
      "update | orders o target, customers c | orders.status set, customers.id join eq =, "
      "orders.customer_id join eq =, customers.tier filter eq = | limit=none offset=none |",
      "customers=tier;orders=customer_id" },
    /* A column inside an expression needs an expression index: "expr", not "=". */
    { "select id from users where lower(email) = $1",
      "select | users | users.id select, users.email filter other expr | limit=none offset=none |",
      "users=" },
    /* A self-join: one table, both aliases' facts. */
    { "select a.id from nodes a join nodes b on b.parent_id = a.id where b.name = $1",
      "select | nodes a | nodes.parent_id join eq =, nodes.id join eq =, nodes.id select, "
      "nodes.name filter eq = | limit=none offset=none |",
      "nodes=name" },
    { "select * from orders join customers using (customer_id) where orders.status = $1",
      "select | orders, customers | orders.customer_id join eq =, customers.customer_id join eq "
      "=, orders.status filter eq = | limit=none offset=none | star",
      "orders=status;customers=customer_id" },
    { "select a from t limit all offset 0", "select | t | t.a select | limit=none offset=const:0 |",
      NULL },
    { "select a from t fetch first 3 rows only",
      "select | t | t.a select | limit=const:3 offset=none |", NULL },
    { "select 1; select 2", "select | | | limit=none offset=none | multi", NULL },
    { "begin", "other | | | limit=none offset=none |", NULL },
    { "explain select * from t where a = $1", "other | | | limit=none offset=none |", NULL },
};

static void check_candidates(const struct sqlfacts *f, const char *sql, const char *spec)
{
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", spec);
    char *save = NULL;
    for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(item, '=');
        assert_non_null(eq);
        *eq = '\0';
        struct buf cols = BUF_INIT;
        int n = sqlfacts_index_candidate(f, item, &cols);
        int want_n = eq[1] ? 1 : 0;
        for (const char *p = eq + 1; *p; p++)
            want_n += *p == ',';
        if (strcmp(cols.ptr, eq + 1) != 0 || n != want_n)
            fail_msg("'%s': candidate for %s is '%s' (%d), want '%s' (%d)", sql, item, cols.ptr, n,
                     eq + 1, want_n);
        buf_release(&cols);
    }
}

static void statements_give_their_facts_and_index_candidates(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct sqlfacts f;
        struct err err = { 0 };
        if (sqlfacts_parse(&f, cases[i].sql, &err) != 0)
            fail_msg("'%s': %s", cases[i].sql, err.msg);
        struct buf b = BUF_INIT;
        render(&f, &b);
        if (strcmp(b.ptr, cases[i].facts) != 0) {
            print_error("'%s'\n  got  %s\n  want %s\n", cases[i].sql, b.ptr, cases[i].facts);
            bad++;
        }
        if (cases[i].candidates)
            check_candidates(&f, cases[i].sql, cases[i].candidates);
        buf_release(&b);
        sqlfacts_release(&f);
    }
    assert_int_equal(bad, 0);
}

static void expect_parse_error(const char *sql, const char *msg_start)
{
    struct sqlfacts f;
    struct err err = { 0 };
    assert_int_equal(sqlfacts_parse(&f, sql, &err), -1);
    assert_int_equal(err.code, ERR_PARSE);
    if (strncmp(err.msg, msg_start, strlen(msg_start)) != 0)
        fail_msg("error '%s', want it to start with '%s'", err.msg, msg_start);
    /* The result is empty and may be released (again). */
    assert_null(f.tables);
    assert_null(f.cols);
    assert_int_equal(f.n_tables + f.n_cols, 0);
    sqlfacts_release(&f);
}

static void unparsable_text_fails_with_libpg_query_message(void **state)
{
    (void)state;
    expect_parse_error("selec * from t",
                       "cannot parse statement: syntax error at or near \"selec\" at offset 1");
    expect_parse_error("select * from t where a = = $1",
                       "cannot parse statement: syntax error at or near \"=\" at offset 27");
}

static void empty_text_has_no_statement(void **state)
{
    (void)state;
    expect_parse_error("", "no statement in the text");
    expect_parse_error("  /* only a comment */ ;", "no statement in the text");
}

/* Appends s n times. */
static void add_times(struct buf *b, const char *s, int n)
{
    for (int i = 0; i < n; i++)
        buf_addstr(b, s);
}

static void ten_thousand_parentheses_fail_cleanly(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_addstr(&b, "select * from t where a = ");
    add_times(&b, "(", 10000);
    buf_addstr(&b, "$1");
    add_times(&b, ")", 10000);
    /* libpg_query's bison stack (10000 levels) runs out first. */
    expect_parse_error(b.ptr, "cannot parse statement: memory exhausted");
    buf_release(&b);
}

static void tree_deeper_than_jansson_reads_fails_cleanly(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_addstr(&b, "select 1 from t where ");
    add_times(&b, "not ", 3000);
    buf_addstr(&b, "a");
    /* libpg_query parses it; its JSON is deeper than jansson's 2048 levels. */
    expect_parse_error(b.ptr, "cannot read the parse tree: maximum parsing depth reached");
    buf_release(&b);
}

static void nesting_past_the_walk_limit_truncates(void **state)
{
    (void)state;
    /* 250 nested IN (SELECT ...): about 1250 JSON levels, within jansson's 2048, past our 400. */
    struct buf b = BUF_INIT;
    add_times(&b, "select a from t where a in (", 250);
    buf_addstr(&b, "select b from u where c = $1");
    add_times(&b, ")", 250);
    struct sqlfacts f;
    struct err err = { 0 };
    assert_int_equal(sqlfacts_parse(&f, b.ptr, &err), 0);
    assert_int_equal(f.command, SQLFACTS_CMD_SELECT);
    assert_true(f.flags & SQLFACTS_TRUNCATED);
    assert_true(f.flags & SQLFACTS_SUBQUERY);
    assert_int_equal(f.n_tables, 1); /* u is below the limit */
    assert_string_equal(f.tables[0].name, "t");
    assert_int_equal(f.tables[0].flags, 0);
    sqlfacts_release(&f);
    buf_release(&b);
}

static void shallow_nesting_is_read_whole(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    add_times(&b, "select a from t where a in (", 20);
    buf_addstr(&b, "select b from u where c = $1");
    add_times(&b, ")", 20);
    struct sqlfacts f;
    struct err err = { 0 };
    assert_int_equal(sqlfacts_parse(&f, b.ptr, &err), 0);
    assert_false(f.flags & SQLFACTS_TRUNCATED);
    assert_int_equal(f.n_tables, 2);
    assert_int_equal(sqlfacts_find_table(&f, "u"), 1);
    struct buf cols = BUF_INIT;
    assert_int_equal(sqlfacts_index_candidate(&f, "u", &cols), 1);
    assert_string_equal(cols.ptr, "c");
    buf_release(&cols);
    sqlfacts_release(&f);
    buf_release(&b);
}

static void caps_keep_the_first_tables_and_columns(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_addstr(&b, "select 1 from t0");
    for (int i = 1; i < 40; i++)
        buf_addf(&b, ", t%d", i);
    buf_addstr(&b, " where t0.c0 = $1");
    for (int i = 1; i < 300; i++)
        buf_addf(&b, " and t0.c%d = $1", i);
    struct sqlfacts f;
    struct err err = { 0 };
    assert_int_equal(sqlfacts_parse(&f, b.ptr, &err), 0);
    assert_true(f.flags & SQLFACTS_TRUNCATED);
    assert_int_equal(f.n_tables, SQLFACTS_MAX_TABLES);
    assert_string_equal(f.tables[31].name, "t31");
    assert_int_equal(f.n_cols, SQLFACTS_MAX_COLUMNS);
    assert_string_equal(f.cols[255].name, "c255");
    /* t32..t39 are in scope but not recorded: their columns would be unknown, not misplaced. */
    for (size_t i = 0; i < f.n_cols; i++)
        assert_int_equal(f.cols[i].table, 0);
    sqlfacts_release(&f);
    buf_release(&b);
}

static void long_names_are_cut_like_postgresql_does(void **state)
{
    (void)state;
    char sql[512];
    char name[101];
    memset(name, 'x', 100);
    name[100] = '\0';
    snprintf(sql, sizeof(sql), "select 1 from \"%s\" where \"%s\" = $1", name, name);
    struct sqlfacts f;
    struct err err = { 0 };
    assert_int_equal(sqlfacts_parse(&f, sql, &err), 0);
    assert_int_equal(f.n_tables, 1);
    assert_int_equal(strlen(f.tables[0].name), 63);
    assert_int_equal(f.n_cols, 1);
    assert_int_equal(strlen(f.cols[0].name), 63);
    assert_int_equal(f.cols[0].table, 0);
    sqlfacts_release(&f);
}

static void names_of_enums(void **state)
{
    (void)state;
    assert_string_equal(sqlfacts_command_name(SQLFACTS_CMD_UPDATE), "update");
    assert_string_equal(sqlfacts_role_name(SQLFACTS_ROLE_SET), "set");
    assert_string_equal(sqlfacts_opclass_name(SQLFACTS_OPC_RANGE), "range");
    assert_string_equal(sqlfacts_op_name(SQLFACTS_OP_LIKE_PREFIX), "like prefix");
    assert_string_equal(sqlfacts_op_name(SQLFACTS_OP_GE), ">=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(statements_give_their_facts_and_index_candidates),
        cmocka_unit_test(unparsable_text_fails_with_libpg_query_message),
        cmocka_unit_test(empty_text_has_no_statement),
        cmocka_unit_test(ten_thousand_parentheses_fail_cleanly),
        cmocka_unit_test(tree_deeper_than_jansson_reads_fails_cleanly),
        cmocka_unit_test(nesting_past_the_walk_limit_truncates),
        cmocka_unit_test(shallow_nesting_is_read_whole),
        cmocka_unit_test(caps_keep_the_first_tables_and_columns),
        cmocka_unit_test(long_names_are_cut_like_postgresql_does),
        cmocka_unit_test(names_of_enums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
