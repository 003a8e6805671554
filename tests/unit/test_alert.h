/*
 * The alert the sink tests render: a latency regression of one query,
 * firing since 14:02:50Z on 2026-03-14 (static strings, never freed).
 */
#ifndef SLEUTH_TEST_ALERT_H
#define SLEUTH_TEST_ALERT_H

#include "detect/finding.h"
#include "util/tstamp.h"

static inline int64_t test_alert_at(int h, int m, int s)
{
    return (tstamp_days_from_civil(2026, 3, 14) * 86400 + h * 3600 + m * 60 + s) * 1000000;
}

static inline struct alert test_query_alert(const char *query, const char *summary)
{
    struct alert a = { 0 };
    a.id = 0x0123456789abcdefULL;
    a.f.kind = FK_LATENCY_REGRESSION;
    a.f.severity = FINDING_CRITICAL;
    a.f.key = "fp:1a2b3c4d5e6f7788";
    a.f.fingerprint = 0x1a2b3c4d5e6f7788ULL;
    a.f.query = (char *)query;
    a.f.value = 45.0;
    a.f.baseline = 0.75;
    a.f.threshold = 4.0;
    a.f.unit = "ms";
    a.f.summary = (char *)summary;
    a.f.next = "run EXPLAIN (ANALYZE, BUFFERS) on it";
    a.since_us = test_alert_at(14, 2, 50);
    a.updated_us = test_alert_at(14, 3, 12);
    a.peak = 45.0;
    return a;
}

#endif
