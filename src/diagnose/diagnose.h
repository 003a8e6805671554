/*
 * struct diagnoser: turns the detectors' findings over an incident into a
 * ranked diagnosis. It is fed one interval at a time (the sample and the
 * findings detector_step gave for it), keeps a bounded summary of the
 * recent intervals, and on request names the most likely causes among the
 * five outages sleuth knows (and "query regression", "lock contention",
 * "unknown"), each with the responsible query, table, columns and index,
 * the evidence in numbers before and after, and the fix; and the usual
 * suspicions the data rules out (a traffic surge or DDoS, the network,
 * server resources), each with its evidence.
 *
 * Live, the samples come from the poller; from logs, from the timeline of
 * a log analysis, so that both reach the same cause when the log holds the
 * evidence. Not thread-safe. Results belong to the caller (diagnosis_release).
 */
#ifndef SLEUTH_DIAGNOSE_DIAGNOSE_H
#define SLEUTH_DIAGNOSE_DIAGNOSE_H

#include "detect/finding.h"
#include "live/sample.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* X(enum, JSON name, what it means) */
#define DIAG_CAUSES(X)                                                                          \
    X(CAUSE_MISSING_INDEX, "missing_index", "a frequent query scans a table it filters")        \
    X(CAUSE_HOT_INDEX, "hot_index", "an index on updated columns makes updates lose HOT")       \
    X(CAUSE_POOL_EXHAUSTION, "pool_exhaustion", "sessions hold connections until none is left") \
    X(CAUSE_DEPLOY_SURGE, "deploy_surge", "a query's calls jumped, as after a deploy")          \
    X(CAUSE_REDUNDANT_FETCH, "redundant_fetch", "a query fetches far more rows than used")      \
    X(CAUSE_QUERY_REGRESSION, "query_regression", "a query became slower")                      \
    X(CAUSE_LOCK_CONTENTION, "lock_contention", "sessions wait on each other's locks")          \
    X(CAUSE_UNKNOWN, "unknown", "the evidence points nowhere better")

enum diag_cause {
#define X(e, name, what) e,
    DIAG_CAUSES(X)
#undef X
        CAUSE__COUNT
};

struct diagnosis {
    enum diag_cause cause;
    double score;         /* how much of the incident it explains, 0..1; ranks the list */
    uint64_t fingerprint; /* 0 when no query is named */
    char *query;          /* normalised text, or NULL */
    char *table;          /* "orders" or "schema.orders", or NULL */
    char **columns;       /* the columns involved */
    size_t ncolumns;
    char *index;         /* the index involved, or NULL */
    int64_t start_us;    /* when the change began (start of the first abnormal interval) */
    int64_t detected_us; /* end of the interval in which it was first detected */
    json_t *evidence;    /* {"before": {...}, "after": {...}, ...} */
    char *summary;       /* one line */
    char *fix;           /* one line; the exact SQL is advise's job */
};

struct ruled_out {
    char *suspicion; /* "traffic surge or DDoS", "network", "server resources" */
    char *evidence;
};

struct diag_result {
    struct diagnosis *items; /* most likely first */
    size_t n;
    struct ruled_out *ruled_out;
    size_t nruled_out;
};

struct diagnoser;

struct diagnoser *diagnoser_new(void);
void diagnoser_free(struct diagnoser *d);
/*
 * Takes in one interval and the findings detector_step gave for it (n may
 * be 0). Gap and baseline-only samples only mark time.
 */
void diagnoser_add(struct diagnoser *d, const struct sample *s, const struct finding *f, size_t n);
/* The diagnosis of what has been taken in so far; empty when nothing was found. */
void diagnoser_result(const struct diagnoser *d, struct diag_result *out);
void diag_result_release(struct diag_result *r);
/* {"diagnosis": [...], "ruled_out": [...]} as the JSON output documents it. A new reference. */
json_t *diag_result_json(const struct diag_result *r);
const char *diag_cause_name(enum diag_cause c);

struct collector;
struct detect_config;
/*
 * The diagnosis of a log analysis: its timeline as samples
 * (collector_to_samples), judged by the detectors with cfg, taken in by a
 * diagnoser. out is filled as by diagnoser_result.
 */
void diagnose_collector(const struct collector *c, const struct detect_config *cfg,
                        struct diag_result *out);

#endif
