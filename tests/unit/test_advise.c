/*
 * Unit tests for the pure parts of advise/advice.c: identifier quoting,
 * the CREATE/DROP INDEX text, splitting sqlfacts_index_candidate's column
 * list, the prefix-redundancy test, the JSON of one advice and the list's
 * ordering. Table-driven: {input, expected} rows worked out by hand.
 */
#include "advise/advice.h"

#include "util/compat.h"

#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static void identifiers_are_quoted_only_when_needed(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "orders", "orders" },
        { "customer_id", "customer_id" },
        { "_x9", "_x9" },
        { "Orders", "\"Orders\"" },
        { "order", "\"order\"" },
        { "user", "\"user\"" },
        { "created at", "\"created at\"" },
        { "a\"b", "\"a\"\"b\"" },
        { "9lives", "\"9lives\"" },
        { "naïve", "\"naïve\"" },
        { "col$", "\"col$\"" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = BUF_INIT;
        advice_quote_ident(&b, cases[i].in);
        assert_string_equal(b.ptr, cases[i].out);
        buf_release(&b);
    }
}

static void index_statements_are_exact(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    const char *cols[] = { "customer_id", "created_at" };
    advice_create_index_sql(&b, "public", "orders", cols, 2);
    assert_string_equal(b.ptr,
                        "CREATE INDEX CONCURRENTLY ON public.orders (customer_id, created_at);");
    buf_reset(&b);
    const char *odd[] = { "Customer", "order DESC", "x" };
    advice_create_index_sql(&b, "My Shop", "order", odd, 3);
    assert_string_equal(b.ptr, "CREATE INDEX CONCURRENTLY ON \"My Shop\".\"order\" (\"Customer\", "
                               "\"order\" DESC, x);");
    buf_reset(&b);
    advice_drop_index_sql(&b, "public", "orders_status_updated_at_idx");
    assert_string_equal(b.ptr, "DROP INDEX CONCURRENTLY public.orders_status_updated_at_idx;");
    buf_reset(&b);
    advice_drop_index_sql(&b, "app", "Idx\"1");
    assert_string_equal(b.ptr, "DROP INDEX CONCURRENTLY app.\"Idx\"\"1\";");
    buf_release(&b);
}

static void candidate_lists_split_into_names(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *out[3];
    } cases[] = {
        { "customer_id, created_at", 2, { "customer_id", "created_at" } },
        { "a, b DESC", 2, { "a", "b DESC" } },
        { "\"Big, Col\", \"x\"\"y\" DESC", 2, { "Big, Col", "x\"y DESC" } },
        { "", 0, { NULL } },
        { "a, b, c, d", 3, { "a", "b", "c" } }, /* capped at max */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *cols[3];
        size_t n = advice_split_columns(cases[i].in, cols, 3);
        assert_int_equal(n, cases[i].n);
        for (size_t k = 0; k < n; k++) {
            assert_string_equal(cols[k], cases[i].out[k]);
            free(cols[k]);
        }
    }
}

static void prefix_redundancy(void **state)
{
    (void)state;
    static const struct {
        const char *a[3];
        size_t na;
        const char *b[3];
        size_t nb;
        bool redundant;
    } cases[] = {
        { { "customer_id" }, 1, { "customer_id", "created_at" }, 2, true },
        { { "customer_id", "created_at" }, 2, { "customer_id", "created_at" }, 2, true },
        { { "created_at" }, 1, { "customer_id", "created_at" }, 2, false },
        { { "customer_id", "created_at" }, 2, { "customer_id" }, 1, false },
        { { "a", "c" }, 2, { "a", "b", "c" }, 3, false },
        { { NULL }, 0, { "a" }, 1, false },
        { { "A" }, 1, { "a", "b" }, 2, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(advice_cols_prefix(cases[i].a, cases[i].na, cases[i].b, cases[i].nb),
                         cases[i].redundant);
}

static void advice_json_has_the_documented_names(void **state)
{
    (void)state;
    struct advice_list l;
    advice_list_init(&l);
    struct advice *a = advice_list_add(&l, ADVICE_DROP_INDEX);
    a->sql = strdup("DROP INDEX CONCURRENTLY public.i;");
    a->table = strdup("public.t");
    a->index = strdup("public.i");
    advice_add_column(a, "status");
    a->confidence = 0.904;
    json_object_set_new(a->evidence, "hot_ratio", json_real(0));
    json_t *o = advice_json(a);
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "drop_index");
    assert_string_equal(json_string_value(json_object_get(o, "sql")),
                        "DROP INDEX CONCURRENTLY public.i;");
    assert_string_equal(json_string_value(json_object_get(o, "table")), "public.t");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "columns"), 0)),
                        "status");
    assert_true(json_is_object(json_object_get(o, "evidence")));
    assert_true(json_real_value(json_object_get(o, "confidence")) == 0.9);
    assert_string_equal(json_string_value(json_object_get(o, "confidence_word")), "high");
    assert_true(json_is_null(json_object_get(o, "summary")));
    json_decref(o);
    advice_list_release(&l);
}

static void list_sorts_by_kind_then_confidence(void **state)
{
    (void)state;
    struct advice_list l;
    advice_list_init(&l);
    advice_list_add(&l, ADVICE_SETTING)->confidence = 0.9;
    advice_list_add(&l, ADVICE_DROP_INDEX)->confidence = 0.6;
    advice_list_add(&l, ADVICE_CREATE_INDEX)->confidence = 0.6;
    advice_list_add(&l, ADVICE_CREATE_INDEX)->confidence = 0.9;
    struct advice *d = advice_list_add(&l, ADVICE_DROP_INDEX);
    d->index = strdup("public.x");
    d->confidence = 0.9;
    advice_list_sort(&l);
    assert_int_equal(l.items[0].kind, ADVICE_CREATE_INDEX);
    assert_true(l.items[0].confidence == 0.9);
    assert_int_equal(l.items[1].kind, ADVICE_CREATE_INDEX);
    assert_int_equal(l.items[2].kind, ADVICE_DROP_INDEX);
    assert_true(l.items[2].confidence == 0.9);
    assert_int_equal(l.items[4].kind, ADVICE_SETTING);
    assert_true(advice_list_has_index(&l, "public.x"));
    assert_false(advice_list_has_index(&l, "public.y"));
    assert_string_equal(advice_confidence_word(0.5), "medium");
    assert_string_equal(advice_confidence_word(0.3), "low");
    assert_string_equal(advice_kind_name(ADVICE_REWRITE_QUERY), "rewrite_query");
    advice_list_release(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identifiers_are_quoted_only_when_needed),
        cmocka_unit_test(index_statements_are_exact),
        cmocka_unit_test(candidate_lists_split_into_names),
        cmocka_unit_test(prefix_redundancy),
        cmocka_unit_test(advice_json_has_the_documented_names),
        cmocka_unit_test(list_sorts_by_kind_then_confidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
