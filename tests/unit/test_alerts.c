/*
 * Tests of detect/alerts.c: when alerts fire, update and resolve, that a
 * value oscillating around its threshold does not flap, the bounded list
 * of resolved alerts, ids, and what the callback sees.
 */
#include "test_util.h"

#include "detect/alerts.h"

#include <math.h>
#include <xxhash.h>

#define STEP_US 10000000LL

struct log {
    int fired, updated, resolved;
    enum alert_change changes[64];
    int n;
    const struct alert_book *book;
    bool settled; /* every callback saw the book in its settled state */
};

static void on_change(void *ctx, enum alert_change change, const struct alert *a)
{
    struct log *l = ctx;
    if (l->n < 64)
        l->changes[l->n++] = change;
    if (change == ALERT_FIRED)
        l->fired++;
    else if (change == ALERT_UPDATED)
        l->updated++;
    else
        l->resolved++;
    const struct alert *firing = alert_book_find(l->book, a->id);
    if (change == ALERT_RESOLVED ? firing != NULL || a->resolved_us == 0 : firing != a)
        l->settled = false;
}

static size_t nfiring(const struct alert_book *b)
{
    size_t n;
    alert_book_firing(b, &n);
    return n;
}

static const struct alert *firing(const struct alert_book *b, size_t i)
{
    size_t n;
    const struct alert *a = alert_book_firing(b, &n);
    assert_true(i < n);
    return &a[i];
}

static size_t nresolved(const struct alert_book *b)
{
    size_t n;
    alert_book_resolved(b, &n);
    return n;
}

static const struct alert *resolved(const struct alert_book *b, size_t i)
{
    size_t n;
    const struct alert *a = alert_book_resolved(b, &n);
    return i < n ? &a[i] : NULL;
}

struct fixture {
    struct detect_config cfg;
    struct alert_book *book;
    struct log log;
    int64_t t;
};

static void fixture_init(struct fixture *fx)
{
    detect_config_init(&fx->cfg);
    memset(&fx->log, 0, sizeof(fx->log));
    fx->log.settled = true;
    fx->book = alert_book_new(&fx->cfg);
    fx->log.book = fx->book;
    fx->t = 1700000000000000LL;
}

static void fixture_reinit(struct fixture *fx)
{
    alert_book_free(fx->book);
    fx->book = alert_book_new(&fx->cfg);
    fx->log.book = fx->book;
}

static struct finding make(enum finding_kind kind, enum finding_severity sev, const char *key,
                           double value)
{
    struct finding f;
    memset(&f, 0, sizeof(f));
    f.kind = kind;
    f.severity = sev;
    f.key = (char *)key;
    f.value = value;
    f.baseline = NAN;
    f.threshold = 80;
    f.unit = "%";
    f.summary = (char *)"summary";
    f.next = (char *)"next";
    return f;
}

/* One interval with n findings (n may be 0). */
static void step(struct fixture *fx, const struct finding *f, size_t n)
{
    alert_book_step(fx->book, fx->t, fx->t + STEP_US, f, n, on_change, &fx->log);
    fx->t += STEP_US;
}

static void step1(struct fixture *fx, enum finding_kind kind, enum finding_severity sev,
                  const char *key, double value)
{
    struct finding f = make(kind, sev, key, value);
    step(fx, &f, 1);
}

static void critical_fires_on_its_first_interval(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    int64_t t0 = fx.t;
    step1(&fx, FK_CONN_SATURATION, FINDING_CRITICAL, "server", 96);
    assert_int_equal(fx.log.fired, 1);
    assert_int_equal(nfiring(fx.book), 1);
    const struct alert *a = firing(fx.book, 0);
    assert_int_equal(a->id, alert_id(FK_CONN_SATURATION, "server"));
    assert_int_equal(a->since_us, t0);
    assert_int_equal(a->updated_us, t0 + STEP_US);
    assert_int_equal(a->resolved_us, 0);
    assert_true(a->peak == 96);
    assert_string_equal(a->f.key, "server");
    /* Values move silently; the peak keeps the worst. */
    step1(&fx, FK_CONN_SATURATION, FINDING_CRITICAL, "server", 99);
    step1(&fx, FK_CONN_SATURATION, FINDING_CRITICAL, "server", 97);
    a = firing(fx.book, 0);
    assert_true(a->f.value == 97);
    assert_true(a->peak == 99);
    assert_int_equal(a->since_us, t0);
    assert_int_equal(a->updated_us, t0 + 3 * STEP_US);
    assert_int_equal(fx.log.n, 1);
    assert_true(fx.log.settled);
    alert_book_free(fx.book);
}

static void warning_needs_two_intervals(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    /* One interval then clear: never fires. */
    step1(&fx, FK_LONG_RUNNING, FINDING_WARNING, "pid:7", 61);
    step(&fx, NULL, 0);
    assert_int_equal(fx.log.n, 0);
    int64_t t0 = fx.t;
    step1(&fx, FK_LONG_RUNNING, FINDING_WARNING, "pid:7", 62);
    assert_int_equal(fx.log.n, 0);
    step1(&fx, FK_LONG_RUNNING, FINDING_WARNING, "pid:7", 72);
    assert_int_equal(fx.log.fired, 1);
    /* since is the start of the streak, not of the interval that fired it */
    assert_int_equal(firing(fx.book, 0)->since_us, t0);
    assert_true(firing(fx.book, 0)->peak == 72);
    alert_book_free(fx.book);
}

static void events_fire_at_once(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    step1(&fx, FK_DEADLOCKS, FINDING_WARNING, "server", 1);
    assert_int_equal(fx.log.fired, 1);
    step1(&fx, FK_NEW_HEAVY_QUERY, FINDING_WARNING, "fp:00000000000000aa", 30);
    assert_int_equal(fx.log.fired, 2);
    assert_int_equal(nfiring(fx.book), 2);
    /* A pooler's wait is a level that needs a streak; the clients it turned away, an event. */
    struct finding wait = make(FK_POOL_SATURATION, FINDING_WARNING, "server", 300);
    step(&fx, &wait, 1);
    assert_int_equal(fx.log.fired, 2);
    struct finding refused = make(FK_POOL_SATURATION, FINDING_WARNING, "pgbouncer", 3);
    refused.event = true;
    step(&fx, &refused, 1);
    assert_int_equal(fx.log.fired, 3);
    alert_book_free(fx.book);
}

static void resolves_after_three_clear_intervals(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    step1(&fx, FK_BLOCKING, FINDING_CRITICAL, "pid:10", 3);
    step(&fx, NULL, 0);
    step(&fx, NULL, 0);
    /* Back before the third clear interval: the count starts again. */
    step1(&fx, FK_BLOCKING, FINDING_CRITICAL, "pid:10", 4);
    step(&fx, NULL, 0);
    step(&fx, NULL, 0);
    assert_int_equal(fx.log.resolved, 0);
    assert_int_equal(nfiring(fx.book), 1);
    int64_t end = fx.t + STEP_US;
    step(&fx, NULL, 0);
    assert_int_equal(fx.log.resolved, 1);
    assert_int_equal(nfiring(fx.book), 0);
    assert_int_equal(nresolved(fx.book), 1);
    const struct alert *r = resolved(fx.book, 0);
    assert_int_equal(r->resolved_us, end);
    assert_true(r->peak == 4);
    assert_string_equal(r->f.key, "pid:10");
    assert_true(fx.log.settled);
    alert_book_free(fx.book);
}

static void gaps_do_not_count_as_clear(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    step1(&fx, FK_BLOCKING, FINDING_CRITICAL, "pid:10", 3);
    for (int i = 0; i < 10; i++) {
        struct sample s;
        sample_init(&s);
        s.gap = i % 2 == 0;
        s.baseline_only = !s.gap;
        alert_book_update(fx.book, &s, NULL, 0, on_change, &fx.log);
        sample_release(&s);
    }
    assert_int_equal(nfiring(fx.book), 1);
    assert_int_equal(fx.log.resolved, 0);
    struct sample s;
    sample_init(&s);
    s.start_us = fx.t;
    s.end_us = fx.t + STEP_US;
    for (int i = 0; i < 3; i++)
        alert_book_update(fx.book, &s, NULL, 0, on_change, &fx.log);
    assert_int_equal(fx.log.resolved, 1);
    assert_int_equal(resolved(fx.book, 0)->resolved_us, fx.t + STEP_US);
    sample_release(&s);
    alert_book_free(fx.book);
}

static void oscillation_does_not_flap(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    /* Above the threshold every other interval, or twice in three, for 60 intervals. */
    for (int i = 0; i < 60; i++) {
        bool above = i < 30 ? i % 2 == 0 : i % 3 != 2;
        if (above)
            step1(&fx, FK_CONN_SATURATION, FINDING_CRITICAL, "server", 95.5);
        else
            step(&fx, NULL, 0);
    }
    assert_int_equal(fx.log.fired, 1);
    assert_int_equal(fx.log.updated, 0);
    assert_int_equal(fx.log.resolved, 0);
    for (int i = 0; i < 3; i++)
        step(&fx, NULL, 0);
    assert_int_equal(fx.log.resolved, 1);
    assert_int_equal(fx.log.n, 2);
    alert_book_free(fx.book);
}

static void severity_changes_update_with_hysteresis(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    step1(&fx, FK_CONN_SATURATION, FINDING_WARNING, "server", 85);
    step1(&fx, FK_CONN_SATURATION, FINDING_WARNING, "server", 86);
    assert_int_equal(fx.log.fired, 1);
    assert_int_equal(firing(fx.book, 0)->f.severity, FINDING_WARNING);
    /* Up at once. */
    step1(&fx, FK_CONN_SATURATION, FINDING_CRITICAL, "server", 96);
    assert_int_equal(fx.log.updated, 1);
    assert_int_equal(firing(fx.book, 0)->f.severity, FINDING_CRITICAL);
    /* Hovering around 95%: stays critical. */
    for (int i = 0; i < 10; i++)
        step1(&fx, FK_CONN_SATURATION, i % 2 ? FINDING_CRITICAL : FINDING_WARNING, "server",
              94 + i % 2 * 2);
    assert_int_equal(fx.log.updated, 1);
    assert_int_equal(firing(fx.book, 0)->f.severity, FINDING_CRITICAL);
    /* Down after three intervals in a row at warning. */
    step1(&fx, FK_CONN_SATURATION, FINDING_WARNING, "server", 90);
    step1(&fx, FK_CONN_SATURATION, FINDING_WARNING, "server", 90);
    assert_int_equal(fx.log.updated, 1);
    step1(&fx, FK_CONN_SATURATION, FINDING_WARNING, "server", 90);
    assert_int_equal(fx.log.updated, 2);
    assert_int_equal(firing(fx.book, 0)->f.severity, FINDING_WARNING);
    assert_true(firing(fx.book, 0)->peak == 96);
    assert_int_equal(fx.log.fired, 1);
    alert_book_free(fx.book);
}

static void duplicates_in_an_interval_count_once(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    struct finding f[3] = {
        make(FK_LOCK_WAITS, FINDING_WARNING, "server", 6),
        make(FK_LOCK_WAITS, FINDING_CRITICAL, "server", 25),
        make(FK_LOCK_WAITS, FINDING_WARNING, "server", 7),
    };
    step(&fx, f, 3);
    assert_int_equal(fx.log.fired, 1);
    const struct alert *a = firing(fx.book, 0);
    assert_int_equal(a->f.severity, FINDING_CRITICAL);
    assert_true(a->f.value == 25);
    /* Two warnings in one interval are not two intervals. */
    struct finding w[2] = {
        make(FK_ROLLBACK_SPIKE, FINDING_WARNING, "server", 20),
        make(FK_ROLLBACK_SPIKE, FINDING_WARNING, "server", 21),
    };
    step(&fx, w, 2);
    assert_int_equal(fx.log.fired, 1);
    alert_book_free(fx.book);
}

static void ids_are_stable_hashes_of_kind_and_key(void **state)
{
    (void)state;
    assert_int_equal(alert_id(FK_DEADLOCKS, "server"), XXH3_64bits("deadlocks\0server", 16));
    assert_int_equal(alert_id(FK_LONG_RUNNING, "pid:1"), alert_id(FK_LONG_RUNNING, "pid:1"));
    assert_true(alert_id(FK_LONG_RUNNING, "pid:1") != alert_id(FK_LONG_RUNNING, "pid:2"));
    assert_true(alert_id(FK_LONG_RUNNING, "pid:1") != alert_id(FK_BLOCKING, "pid:1"));
}

static void resolved_list_is_bounded_newest_first(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    fx.cfg.alert_resolved_max = 2;
    fixture_reinit(&fx);
    const char *keys[] = { "pid:1", "pid:2", "pid:3" };
    for (int k = 0; k < 3; k++) {
        step1(&fx, FK_LONG_RUNNING, FINDING_CRITICAL, keys[k], 700);
        for (int i = 0; i < 3; i++)
            step(&fx, NULL, 0);
    }
    assert_int_equal(fx.log.resolved, 3);
    assert_int_equal(nresolved(fx.book), 2);
    assert_string_equal(resolved(fx.book, 0)->f.key, "pid:3");
    assert_string_equal(resolved(fx.book, 1)->f.key, "pid:2");
    assert_null(resolved(fx.book, 2));
    /* A resolved alert can fire again, with the same id. */
    step1(&fx, FK_LONG_RUNNING, FINDING_CRITICAL, "pid:1", 700);
    assert_int_equal(fx.log.fired, 4);
    assert_int_equal(firing(fx.book, 0)->id, alert_id(FK_LONG_RUNNING, "pid:1"));

    fx.cfg.alert_resolved_max = 0;
    fixture_reinit(&fx);
    step1(&fx, FK_LONG_RUNNING, FINDING_CRITICAL, "pid:1", 700);
    for (int i = 0; i < 3; i++)
        step(&fx, NULL, 0);
    assert_int_equal(nresolved(fx.book), 0);
    alert_book_free(fx.book);
}

static void hot_ratio_peak_is_the_lowest(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    step1(&fx, FK_HOT_RATIO_DROP, FINDING_WARNING, "table:public.users", 30);
    step1(&fx, FK_HOT_RATIO_DROP, FINDING_WARNING, "table:public.users", 10);
    step1(&fx, FK_HOT_RATIO_DROP, FINDING_WARNING, "table:public.users", 20);
    assert_true(firing(fx.book, 0)->peak == 10);
    alert_book_free(fx.book);
}

static void json_lists_firing_and_resolved(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_init(&fx);
    step1(&fx, FK_DEADLOCKS, FINDING_WARNING, "server", 2);
    for (int i = 0; i < 3; i++)
        step(&fx, NULL, 0);
    step1(&fx, FK_CONN_REFUSED, FINDING_CRITICAL, "server", 12);
    json_t *j = alert_book_json(fx.book);
    json_t *firing = json_object_get(j, "firing");
    json_t *resolved = json_object_get(j, "resolved");
    assert_int_equal(json_array_size(firing), 1);
    assert_int_equal(json_array_size(resolved), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(firing, 0), "kind")),
                        "connections_refused");
    assert_string_equal(json_string_value(json_object_get(json_array_get(firing, 0), "state")),
                        "firing");
    assert_null(json_object_get(json_array_get(firing, 0), "change"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(resolved, 0), "kind")),
                        "deadlocks");
    assert_string_equal(json_string_value(json_object_get(json_array_get(resolved, 0), "state")),
                        "resolved");
    json_decref(j);
    alert_book_free(fx.book);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(critical_fires_on_its_first_interval),
        cmocka_unit_test(warning_needs_two_intervals),
        cmocka_unit_test(events_fire_at_once),
        cmocka_unit_test(resolves_after_three_clear_intervals),
        cmocka_unit_test(gaps_do_not_count_as_clear),
        cmocka_unit_test(oscillation_does_not_flap),
        cmocka_unit_test(severity_changes_update_with_hysteresis),
        cmocka_unit_test(duplicates_in_an_interval_count_once),
        cmocka_unit_test(ids_are_stable_hashes_of_kind_and_key),
        cmocka_unit_test(resolved_list_is_bounded_newest_first),
        cmocka_unit_test(hot_ratio_peak_is_the_lowest),
        cmocka_unit_test(json_lists_firing_and_resolved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
