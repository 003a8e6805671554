/*
 * struct event: the one record type every source produces (the "events"
 * stage of the pipeline). A reader fills an event and calls emit(ctx, &ev).
 *
 * Ownership: an event and every struct str in it are borrowed from the
 * reader and valid only during the callback (cmark's iterator contract).
 * A consumer that keeps anything copies it into its own storage.
 */
#ifndef SLEUTH_INPUT_EVENT_H
#define SLEUTH_INPUT_EVENT_H

#include "util/str.h"

#include <stdint.h>

/* X(name, json_name, what it is) */
#define EVENT_KIND_MAP(X)                                                              \
    X(UNPARSED, "unparsed", "a line that is not a recognisable log record")            \
    X(OTHER, "other", "a log record that carries nothing sleuth counts")               \
    X(QUERY, "query", "a statement execution: duration line, statement line, or both") \
    X(PLAN, "plan", "an auto_explain plan with its duration and query text")           \
    X(ERROR, "error", "an ERROR, FATAL or PANIC record")                               \
    X(LOCK_WAIT, "lock_wait", "'still waiting for … lock' (log_lock_waits)")           \
    X(LOCK_ACQUIRED, "lock_acquired", "'acquired … lock after' (log_lock_waits)")      \
    X(CONN_RECEIVED, "connection_received", "a connection attempt reached the server") \
    X(CONNECT, "connection", "a connection was authorized")                            \
    X(DISCONNECT, "disconnection", "a session ended, with its session time")           \
    X(CHECKPOINT, "checkpoint", "a checkpoint or restartpoint completed")              \
    X(TEMP_FILE, "temp_file", "a temporary file was removed, with its size")           \
    X(AUTOVACUUM, "autovacuum", "an automatic vacuum of a table finished")             \
    X(AUTOANALYZE, "autoanalyze", "an automatic analyze of a table finished")          \
    X(POOL_STATS, "pool_stats", "a PgBouncer stats line: its averages over stats_period")

enum event_kind {
#define EVENT_KIND_ENUM(name, json, doc) EV_##name,
    EVENT_KIND_MAP(EVENT_KIND_ENUM)
#undef EVENT_KIND_ENUM
        EV__COUNT
};

/* PostgreSQL message severities, in increasing order. */
enum severity {
    SEV_NONE,    /* not known (unparsed line) */
    SEV_DEBUG,   /* DEBUG1..DEBUG5 */
    SEV_INFO,    /* INFO */
    SEV_NOTICE,  /* NOTICE */
    SEV_WARNING, /* WARNING */
    SEV_LOG,     /* LOG: most of what sleuth reads */
    SEV_ERROR,   /* ERROR: the statement failed */
    SEV_FATAL,   /* FATAL: the session ended */
    SEV_PANIC,   /* PANIC: the server restarts */
};

/* Which protocol step a query event comes from. */
enum stmt_phase {
    PH_NONE,     /* a bare "duration:" line: the text was logged before */
    PH_SIMPLE,   /* "statement:" (simple query protocol) */
    PH_PARSE,    /* "parse <name>:" (extended protocol) */
    PH_BIND,     /* "bind <name>:" */
    PH_EXECUTE,  /* "execute <name>:" */
    PH_FASTPATH, /* "fastpath function call:" */
};

/* Flags on an event. */
enum event_flag {
    EVF_DEADLOCK = 1 << 0,         /* ERROR "deadlock detected" (SQLSTATE 40P01) */
    EVF_TOO_MANY_CLIENTS = 1 << 1, /* connection refused for lack of slots (53300) */
    EVF_PLAN_JSON = 1 << 2,        /* EV_PLAN in auto_explain's JSON format */
    EVF_CANCELED = 1 << 3,         /* statement timeout or user cancel (57014) */
    EVF_POOL_REFUSED = 1 << 4, /* a pooler turned a client away (PgBouncer's query_wait_timeout…) */
    EVF_POOL_WAITED = 1 << 5, /* a client closed after waiting duration_us for a server */
};

/*
 * A PgBouncer "stats:" line: averages over its stats_period, all pools
 * together (the log's counterpart of SHOW STATS's avg_* columns).
 */
struct pool_stats {
    int64_t xacts_per_s, queries_per_s;
    int64_t xact_us, query_us; /* mean transaction and query time */
    int64_t wait_us;           /* client wait per second of the period (avg_wait_time) */
};

struct event {
    enum event_kind kind;
    enum severity severity;
    enum stmt_phase phase;
    unsigned flags;      /* enum event_flag bits */
    int32_t pid;         /* backend process id, 0 if not known */
    int32_t tz_offset_s; /* offset of the log's time zone, east of UTC */
    int64_t ts_us;       /* UTC microseconds, TS_NONE if not known */
    int64_t duration_us; /* query/plan duration, lock wait so far; -1 if none */
    int64_t value;       /* temp file bytes, session µs, checkpoint buffers written */
    struct str user, db, app, client;
    struct str sqlstate;  /* five characters when the log has it */
    struct str message;   /* primary message text, without the severity */
    struct str statement; /* SQL text: the query's, or the STATEMENT: field's */
    struct str stmt_name; /* prepared statement or portal name */
    struct str params;    /* bind parameters: "$1 = '42', $2 = 'x'" */
    struct str detail, hint, context;
    struct str plan;               /* auto_explain plan body */
    struct str object;             /* table of an autovacuum, lock type of a lock wait */
    const struct pool_stats *pool; /* EV_POOL_STATS only, else NULL */
    uint64_t line;                 /* 1-based line of the record's start in its input */
    uint32_t input;                /* index of the input the record came from */
};

typedef void event_fn(void *ctx, const struct event *ev);

/* The JSON name of a kind ("query", "lock_wait", …). */
const char *event_kind_name(enum event_kind kind);
const char *severity_name(enum severity sev);
/* Resets ev to an empty event (no time, no duration). */
void event_clear(struct event *ev);
/* Emits an EV_UNPARSED event for text (a line or a bad record) at line of input. */
void event_emit_unparsed(event_fn *emit, void *ctx, uint32_t input, uint64_t line, struct str text);

#endif
