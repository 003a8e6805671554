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
        { SQLFACTS_SELECT_STAR, "star" },   { SQLFACTS_SUBQUERY, "subquery" },
        { SQLFACTS_CTE, "cte" },            { SQLFACTS_SETOP, "setop" },
        { SQLFACTS_ORDER_MIXED, "order_mixed" }, { SQLFACTS_MULTI, "multi" },
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
    { "select id, name from customers where email = $1", "", "" },
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
            fail_msg("'%s': candidate for %s is '%s' (%d), want '%s' (%d)", sql, item, cols.ptr,
                     n, eq + 1, want_n);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(statements_give_their_facts_and_index_candidates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
