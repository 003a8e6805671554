/*
 * struct incident: an outage as sleuth tells it, the type that the engine
 * (engine/engine.h) writes and every reader after the fact reads: the
 * console, the alert sinks, the store, `report --store`, the reports and
 * the page. An incident has an onset (the first interval that left the
 * normal stretch before it), a detection time (the interval whose alert
 * opened it), a peak, an end (when the numbers were back to normal; 0
 * while it is open), its causes ranked, the change that triggered it and
 * the change that fixed it when they were seen, the suspicions the data
 * rules out or cannot rule out, and the alerts that are its evidence.
 *
 * Every string and array is malloc'd and owned by the incident
 * (incident_release); json_t members hold one reference each.
 */
#ifndef SLEUTH_CORE_INCIDENT_H
#define SLEUTH_CORE_INCIDENT_H

#include "core/sample.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(enum, JSON name, what it means) */
#define CAUSE_KINDS(X)                                                                            \
    X(CAUSE_MISSING_INDEX, "missing_index", "a frequent query scans a table it filters")          \
    X(CAUSE_HOT_INDEX, "hot_index", "an index on updated columns makes updates lose HOT")         \
    X(CAUSE_POOL_EXHAUSTION, "pool_exhaustion", "sessions hold connections until none is left")   \
    X(CAUSE_DEPLOY_SURGE, "deploy_surge", "a release multiplied a query's calls or added new")    \
    X(CAUSE_TRAFFIC_SURGE, "traffic_surge", "more traffic reached the database, the same mix")    \
    X(CAUSE_REDUNDANT_FETCH, "redundant_fetch", "a query fetches far more rows than used")        \
    X(CAUSE_PLAN_REGRESSION, "plan_regression", "the same query does far more work per call")     \
    X(CAUSE_QUERY_REGRESSION, "query_regression", "a query became slower; the data says no more") \
    X(CAUSE_LOCK_CONTENTION, "lock_contention", "sessions wait on a lock another one holds")      \
    X(CAUSE_RESOURCE_SATURATION, "resource_saturation",                                           \
      "every query got slower for the same work: the machine, not a query")                       \
    X(CAUSE_UNKNOWN, "unknown", "the evidence points nowhere better")

enum cause_kind {
#define X(e, name, what) e,
    CAUSE_KINDS(X)
#undef X
        CAUSE__COUNT
};

/* One likely cause of an incident. */
struct cause {
    enum cause_kind kind;
    double score;         /* how much of the incident it explains, 0..1; ranks the list */
    uint64_t fingerprint; /* 0 when no query is named */
    char *query;          /* normalised text, or NULL */
    char *table;          /* "orders" or "schema.orders", or NULL */
    char **columns;       /* the columns involved */
    size_t ncolumns;
    char *index;         /* the index involved, or NULL */
    int64_t start_us;    /* when its signal began (start of the first abnormal interval) */
    int64_t detected_us; /* end of the interval in which it was first detected */
    json_t *evidence;    /* {"before": {...}, "after": {...}, ...}; never NULL */
    char *summary;       /* one line */
    char *fix;           /* one line; the exact SQL is advise's job */
};

/* What the data says of a usual suspicion. */
enum verdict {
    VERDICT_RULED_OUT,   /* the evidence excludes it */
    VERDICT_CANNOT_TELL, /* these data cannot exclude it (see needs) */
    VERDICT_CONFIRMED,   /* it is the cause (it is also among the causes) */
};

struct suspicion {
    char *name; /* "traffic surge or DDoS", "network", "server resources" */
    enum verdict verdict;
    char *evidence; /* the numbers */
    char *needs;    /* CANNOT_TELL: the data that would tell; else NULL */
};

/* A change tied to an incident as its trigger or its fix. */
struct incident_change {
    enum sample_change_kind kind;
    int64_t ts_us;
    char *object, *table, *detail, *statement, *app, *user; /* never NULL ("" if unknown) */
    int pid;
    char *why; /* how it is tied: "by time and table", ... */
};

/* An alert that is evidence of the incident (detect/finding.h names its kind). */
struct incident_alert {
    uint64_t id; /* the alert's id (detect/alerts.h alert_id) */
    char *kind;  /* "latency_regression", ... */
    char *key;   /* "fp:...", "table:...", "pid:...", "server" */
    bool critical;
    int64_t since_us, updated_us, resolved_us; /* resolved_us 0 while firing */
    double peak;
    char *unit;
    char *summary;
};

enum incident_state {
    INCIDENT_OPEN,     /* still abnormal */
    INCIDENT_RESOLVED, /* back to normal */
};

/* What happened to an incident in an interval, for the sinks. */
enum incident_change_kind {
    INCIDENT_CHANGE_OPENED,   /* detected: its first alert fired */
    INCIDENT_CHANGE_UPDATED,  /* a new top cause, a severity change, a trigger or fix found */
    INCIDENT_CHANGE_RESOLVED, /* its alerts resolved: the numbers are back to normal */
};

struct incident {
    uint64_t id; /* stable: XXH3 of the onset and the first alert's key */
    int seq;     /* 1, 2, ... in the order the engine opened them */
    enum incident_state state;
    bool critical;
    int64_t onset_us;     /* start of the first abnormal interval */
    int64_t detected_us;  /* end of the interval whose alert opened it */
    int64_t peak_us;      /* the interval with the most database time (or connections) */
    double peak_db_s;     /* database time per second at the peak */
    int64_t end_us;       /* end of the last abnormal interval; 0 while open */
    int64_t updated_us;   /* end of the last interval taken in */
    struct cause *causes; /* most likely first */
    size_t ncauses;
    struct suspicion *suspicions;
    size_t nsuspicions;
    bool has_trigger, has_fix;
    struct incident_change trigger, fix;
    struct incident_alert *alerts; /* in the order they fired */
    size_t nalerts;
    json_t *impact; /* numbers over the incident: {"db_time_s", "calls", "errors", ...}; or NULL */
};

const char *cause_kind_name(enum cause_kind k);
const char *cause_kind_what(enum cause_kind k);
/* The kind with this JSON name; CAUSE_UNKNOWN when none has it. */
enum cause_kind cause_kind_parse(const char *name);
const char *verdict_name(enum verdict v);
const char *incident_change_name(enum incident_change_kind c);

void cause_release(struct cause *c);
void cause_copy(struct cause *dst, const struct cause *src);
void incident_change_release(struct incident_change *c);
/* A change of the incident from a sample's change; why is copied. */
void incident_change_set(struct incident_change *dst, const struct sample_change *src,
                         const char *why);
void incident_init(struct incident *inc);
void incident_release(struct incident *inc);
/* Deep copy into dst (which is overwritten, not released). */
void incident_copy(struct incident *dst, const struct incident *src);

/*
 * The incident as docs/json-output.md documents it (a new reference):
 * id (16 hex), seq, state, severity, onset, detected_at, peak, end,
 * duration_s, time_to_detect_s, trigger, fix, causes[], ruled_out[],
 * suspicions[], alerts[], impact.
 */
json_t *incident_json(const struct incident *inc);
/* {"cause", "score", "fingerprint", "query", ...} of one cause. */
json_t *cause_json(const struct cause *c);
/*
 * The worst incident of incs (the one a postmortem is about): open before
 * resolved, then critical, then the most database time above normal; NULL
 * when none has a cause.
 */
const struct incident *incident_worst(const struct incident *incs, size_t n);
/*
 * {"incidents": [...], "diagnosis": [...], "ruled_out": [...]}: every
 * incident (incident_json), and the causes and ruled-out suspicions of the
 * worst one (empty arrays when there is none). A new reference.
 */
json_t *incident_list_json(const struct incident *incs, size_t n);
/* Reads incident_json's output back (what the store keeps); -1 if it is not one. */
int incident_from_json(struct incident *out, const json_t *j);

#endif
