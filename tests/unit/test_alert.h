/*
 * The incident the sink tests render. A migration dropped the index
 * orders_customer_id_idx at 14:02:49Z on 2026-03-14; from 14:02:50Z (the
 * onset) one query scans public.orders. The incident is open and critical,
 * was detected at 14:03:00Z and last updated at 14:03:12Z; its evidence is
 * a latency regression of that query (critical) and the growth of
 * sequential scans on the table (warning); the data rules out a traffic
 * surge. Every string is malloc'd, as incident_release expects. Its
 * numbers are exact in binary (0.75, 3.5, 45.0), so JSON text shows them
 * the same whatever precision it is printed with.
 */
#ifndef SLEUTH_TEST_ALERT_H
#define SLEUTH_TEST_ALERT_H

#include "core/incident.h"
#include "util/buf.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TEST_INCIDENT_ID 0x0123456789abcdefULL
#define TEST_INCIDENT_FP 0x1a2b3c4d5e6f7788ULL

/* 2026-03-14 h:m:s UTC in microseconds. */
static inline int64_t test_alert_at(int h, int m, int s)
{
    return (tstamp_days_from_civil(2026, 3, 14) * 86400 + h * 3600 + m * 60 + s) * 1000000;
}

/* Replaces the malloc'd string *dst with a copy of s (NULL stays NULL). */
static inline void test_set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? xstrdup(s) : NULL;
}

/* Appends an alert to inc's evidence. */
static inline void test_incident_add_alert(struct incident *inc, const char *kind, const char *key,
                                           bool critical, double peak, const char *unit,
                                           const char *summary)
{
    inc->alerts = xrealloc(inc->alerts, (inc->nalerts + 1) * sizeof(*inc->alerts));
    struct incident_alert *a = &inc->alerts[inc->nalerts++];
    memset(a, 0, sizeof(*a));
    a->id = 0xa1e47000ULL + inc->nalerts;
    a->kind = xstrdup(kind);
    a->key = xstrdup(key);
    a->critical = critical;
    a->since_us = test_alert_at(14, 2, 50);
    a->updated_us = test_alert_at(14, 3, 12);
    a->peak = peak;
    a->unit = xstrdup(unit);
    a->summary = summary ? xstrdup(summary) : NULL;
}

/* Appends a cause after the ones inc has (a lesser one: it ranks below). */
static inline struct cause *test_incident_add_cause(struct incident *inc, enum cause_kind kind,
                                                    double score, const char *summary)
{
    inc->causes = xrealloc(inc->causes, (inc->ncauses + 1) * sizeof(*inc->causes));
    struct cause *g = &inc->causes[inc->ncauses++];
    memset(g, 0, sizeof(*g));
    g->kind = kind;
    g->score = score;
    g->evidence = json_object();
    g->summary = summary ? xstrdup(summary) : NULL;
    return g;
}

static inline void test_incident_add_suspicion(struct incident *inc, const char *name,
                                               enum verdict verdict, const char *evidence,
                                               const char *needs)
{
    inc->suspicions = xrealloc(inc->suspicions, (inc->nsuspicions + 1) * sizeof(*inc->suspicions));
    inc->suspicions[inc->nsuspicions++] =
        (struct suspicion){ xstrdup(name), verdict, evidence ? xstrdup(evidence) : NULL,
                            needs ? xstrdup(needs) : NULL };
}

/* Fills inc with the incident above; query and summary (of the top cause) may be NULL. */
static inline void test_incident(struct incident *inc, const char *query, const char *summary)
{
    incident_init(inc);
    inc->id = TEST_INCIDENT_ID;
    inc->seq = 1;
    inc->state = INCIDENT_OPEN;
    inc->critical = true;
    inc->onset_us = test_alert_at(14, 2, 50);
    inc->detected_us = test_alert_at(14, 3, 0);
    inc->peak_us = test_alert_at(14, 3, 10);
    inc->peak_db_s = 3.5;
    inc->updated_us = test_alert_at(14, 3, 12);

    struct cause *g = test_incident_add_cause(inc, CAUSE_MISSING_INDEX, 0.75, summary);
    g->fingerprint = TEST_INCIDENT_FP;
    g->query = query ? xstrdup(query) : NULL;
    g->table = xstrdup("public.orders");
    g->columns = xmalloc(sizeof(*g->columns));
    g->columns[g->ncolumns++] = xstrdup("customer_id");
    g->index = xstrdup("orders_customer_id_idx");
    g->start_us = test_alert_at(14, 2, 50);
    g->detected_us = test_alert_at(14, 3, 0);
    json_decref(g->evidence);
    g->evidence =
        json_pack("{s:{s:f},s:{s:f}}", "before", "mean_ms", 0.75, "after", "mean_ms", 45.0);
    g->fix = xstrdup("create an index on public.orders (customer_id)");

    test_incident_add_suspicion(inc, "traffic surge or DDoS", VERDICT_RULED_OUT,
                                "calls 41.0/s before, 42.5/s after", NULL);

    inc->has_trigger = true;
    struct incident_change *t = &inc->trigger;
    t->kind = CHANGE_DROP_INDEX;
    t->ts_us = test_alert_at(14, 2, 49);
    t->object = xstrdup("orders_customer_id_idx");
    t->table = xstrdup("public.orders");
    t->detail = xstrdup("");
    t->statement = xstrdup("DROP INDEX orders_customer_id_idx");
    t->app = xstrdup("migration");
    t->user = xstrdup("deploy");
    t->pid = 4242;
    t->why = xstrdup("by time and table");

    test_incident_add_alert(inc, "latency_regression", "fp:1a2b3c4d5e6f7788", true, 45.0, "ms",
                            "mean time rose from 0.8 ms to 45.0 ms (60x)");
    test_incident_add_alert(inc, "seq_scan_growth", "table:public.orders", false, 120000.0,
                            "rows/s", "sequential scans read 120000 rows/s");

    inc->impact = json_pack("{s:f,s:i}", "database_time_above_normal_s", 95.25, "calls", 5200);
}

/*
 * test_incident's incident_json as compact text, written out by hand (a
 * new string, freed with free); query_json and summary_json are the JSON
 * string contents (escaped) of the top cause's query and summary.
 */
static inline char *test_incident_json(const char *query_json, const char *summary_json)
{
    struct buf b = BUF_INIT;
    buf_addf(
        &b,
        "{\"id\":\"0123456789abcdef\",\"seq\":1,\"state\":\"open\",\"severity\":\"critical\","
        "\"onset\":\"2026-03-14T14:02:50.000+00:00\","
        "\"detected_at\":\"2026-03-14T14:03:00.000+00:00\","
        "\"peak\":\"2026-03-14T14:03:10.000+00:00\",\"peak_db_time_s_per_s\":3.5,\"end\":null,"
        "\"updated_at\":\"2026-03-14T14:03:12.000+00:00\",\"duration_s\":22.0,"
        "\"time_to_detect_s\":10.0,\"time_to_recover_s\":null,"
        "\"trigger\":{\"kind\":\"drop_index\",\"at\":\"2026-03-14T14:02:49.000+00:00\","
        "\"object\":\"orders_customer_id_idx\",\"table\":\"public.orders\",\"detail\":\"\","
        "\"statement\":\"DROP INDEX orders_customer_id_idx\",\"application\":\"migration\","
        "\"user\":\"deploy\",\"pid\":4242,\"why\":\"by time and table\"},\"fix\":null,"
        "\"causes\":[{\"cause\":\"missing_index\",\"score\":0.75,"
        "\"fingerprint\":\"1a2b3c4d5e6f7788\",\"query\":\"%s\",\"table\":\"public.orders\","
        "\"columns\":[\"customer_id\"],\"index\":\"orders_customer_id_idx\","
        "\"start\":\"2026-03-14T14:02:50.000+00:00\","
        "\"detected_at\":\"2026-03-14T14:03:00.000+00:00\","
        "\"evidence\":{\"before\":{\"mean_ms\":0.75},\"after\":{\"mean_ms\":45.0}},"
        "\"summary\":\"%s\",\"fix\":\"create an index on public.orders (customer_id)\"}],"
        "\"ruled_out\":[{\"suspicion\":\"traffic surge or DDoS\",\"verdict\":\"ruled_out\","
        "\"evidence\":\"calls 41.0/s before, 42.5/s after\",\"needs\":null}],"
        "\"suspicions\":[{\"suspicion\":\"traffic surge or DDoS\",\"verdict\":\"ruled_out\","
        "\"evidence\":\"calls 41.0/s before, 42.5/s after\",\"needs\":null}],"
        "\"alerts\":[{\"kind\":\"latency_regression\",\"key\":\"fp:1a2b3c4d5e6f7788\","
        "\"severity\":\"critical\",\"since\":\"2026-03-14T14:02:50.000+00:00\","
        "\"updated_at\":\"2026-03-14T14:03:12.000+00:00\",\"resolved_at\":null,\"peak\":45.0,"
        "\"unit\":\"ms\",\"summary\":\"mean time rose from 0.8 ms to 45.0 ms (60x)\"},"
        "{\"kind\":\"seq_scan_growth\",\"key\":\"table:public.orders\",\"severity\":\"warning\","
        "\"since\":\"2026-03-14T14:02:50.000+00:00\","
        "\"updated_at\":\"2026-03-14T14:03:12.000+00:00\",\"resolved_at\":null,"
        "\"peak\":120000.0,\"unit\":\"rows/s\","
        "\"summary\":\"sequential scans read 120000 rows/s\"}],"
        "\"impact\":{\"database_time_above_normal_s\":95.25,\"calls\":5200}}",
        query_json, summary_json);
    return buf_detach(&b, NULL);
}

/*
 * Resolves inc: someone created the index again at 14:09:30Z and the
 * numbers were back to normal at 14:10:02Z (7m12s after the onset).
 */
static inline void test_incident_resolve(struct incident *inc)
{
    inc->state = INCIDENT_RESOLVED;
    inc->end_us = test_alert_at(14, 10, 2);
    inc->updated_us = test_alert_at(14, 10, 2);
    for (size_t i = 0; i < inc->nalerts; i++)
        inc->alerts[i].resolved_us = test_alert_at(14, 10, 2);
    inc->has_fix = true;
    struct incident_change *f = &inc->fix;
    f->kind = CHANGE_CREATE_INDEX;
    f->ts_us = test_alert_at(14, 9, 30);
    f->object = xstrdup("orders_customer_id_idx1");
    f->table = xstrdup("public.orders");
    f->detail = xstrdup("");
    f->statement = xstrdup("CREATE INDEX CONCURRENTLY ON orders (customer_id)");
    f->app = xstrdup("psql");
    f->user = xstrdup("dba");
    f->pid = 5151;
    f->why = xstrdup("by time and table");
}

#endif
