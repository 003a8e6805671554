/*
 * struct finding: what a detector says about one interval, and struct
 * alert: a finding followed over time (fired, updated, resolved). The
 * detectors (detect/detect.c) produce findings from samples; the alert
 * book (detect/alerts.c) turns them into alerts with hysteresis; sinks,
 * the store and the HTTP API render alerts and never compute.
 *
 * Strings in a finding or alert are malloc'd and owned by it
 * (finding_release / alert_release).
 */
#ifndef SLEUTH_DETECT_FINDING_H
#define SLEUTH_DETECT_FINDING_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* X(enum, json name, scope): scope says what the key names. */
#define FINDING_KINDS(X)                                                                      \
    X(FK_LATENCY_REGRESSION, "latency_regression", "query")  /* mean time up vs baseline */   \
    X(FK_CALL_SURGE, "call_surge", "query")                  /* calls/s up vs baseline */     \
    X(FK_NEW_HEAVY_QUERY, "new_heavy_query", "query")        /* unseen query, big share */    \
    X(FK_CONN_SATURATION, "connection_saturation", "server") /* used / usable slots */        \
    X(FK_CONN_REFUSED, "connections_refused", "server")      /* too many clients */           \
    X(FK_LONG_RUNNING, "long_running_query", "session")      /* active for long */            \
    X(FK_IDLE_IN_TRANSACTION, "idle_in_transaction", "session")                               \
    X(FK_BLOCKING, "blocking_chain", "session") /* a root blocker */                          \
    X(FK_LOCK_WAITS, "lock_waits", "server")    /* sessions waiting on locks */               \
    X(FK_DEADLOCKS, "deadlocks", "server")                                                    \
    X(FK_ROLLBACK_SPIKE, "rollback_spike", "server")                                          \
    X(FK_ERROR_SPIKE, "error_spike", "server")        /* log errors */                        \
    X(FK_SEQ_SCAN_GROWTH, "seq_scan_growth", "table") /* rows read by seq scans */            \
    X(FK_HOT_RATIO_DROP, "hot_ratio_drop", "table")   /* updates lose HOT */                  \
    X(FK_ROWS_PER_CALL, "rows_per_call", "query")     /* fetches far more rows */             \
    X(FK_DB_LOAD, "database_load", "server")          /* database time per second up */       \
    X(FK_CALL_RATE, "call_rate", "server")            /* calls per second, all queries, up */ \
    X(FK_CONN_RATE, "connection_rate", "server")      /* new connections per second up */     \
    X(FK_INDEX_ON_UPDATED, "index_on_updated_columns", "table") /* new index, SET column */   \
    X(FK_POOL_SATURATION, "pooler_saturation", "server")        /* clients wait at PgBouncer */

enum finding_kind {
#define X(e, name, scope) e,
    FINDING_KINDS(X)
#undef X
        FK__COUNT
};

enum finding_severity {
    FINDING_WARNING,  /* worth a look */
    FINDING_CRITICAL, /* an outage, or about to be */
};

struct finding {
    enum finding_kind kind;
    enum finding_severity severity;
    char *key; /* what it is about: "fp:<16 hex>", "table:public.orders", "pid:123", "server" */
    uint64_t fingerprint; /* 0 unless about a query */
    char *query;          /* normalised text, or the session's statement; NULL if none */
    char *table;          /* "schema.name", NULL if none */
    int pid;              /* 0 unless about a session */
    double value;         /* the measure now */
    double baseline;      /* what it usually is (NAN when there is no baseline) */
    double threshold;     /* the threshold crossed */
    const char *unit;     /* static: "ms", "calls/s", "%", "sessions", "s", "rows/s", ... */
    char *summary;        /* one line: what and how bad against the baseline */
    char *next;           /* one line: what to look at next */
    bool event; /* a one-off of a kind that is otherwise a level (a pooler's refusals): alerts at
                   once */
};

struct alert {
    uint64_t id;         /* stable for one (kind, key): hash of both */
    struct finding f;    /* the latest finding (values updated while firing) */
    int64_t since_us;    /* start of the first interval that met the condition */
    int64_t updated_us;  /* last interval that met it */
    int64_t resolved_us; /* 0 while firing */
    double peak;         /* worst value seen while firing */
};

/* What happened to an alert in this interval, for the sinks. */
enum alert_change {
    ALERT_FIRED,    /* new */
    ALERT_UPDATED,  /* still firing and its severity changed */
    ALERT_RESOLVED, /* clear for long enough */
};

const char *finding_kind_name(enum finding_kind k);
const char *finding_kind_scope(enum finding_kind k);
const char *finding_severity_name(enum finding_severity s);
const char *alert_change_name(enum alert_change c);
/*
 * JSON objects (jansson, new reference) with the fields above under their
 * names, times as ISO 8601 UTC strings, NaN as null. alert_json adds
 * "change" when change >= 0 (pass -1 for the alert's state alone).
 */
json_t *finding_json(const struct finding *f);
json_t *alert_json(const struct alert *a, int change);
/* Deep copy of src into dst. */
void finding_copy(struct finding *dst, const struct finding *src);
void finding_release(struct finding *f);

#endif
