/*
 * struct collector: the aggregates stage. It consumes events (one
 * collector per byte range of input, fed by one thread), pairs the records
 * that describe one call (a statement logged by log_statement and its later
 * duration line, an auto_explain plan and its statement line), and keeps:
 *
 *   - per query fingerprint: calls, durations and their quantile sketch,
 *     parse and bind time, first and last seen, the slowest example with
 *     its parameters and plan, and the users, databases, apps and clients;
 *   - a timeline per interval, globally and per fingerprint;
 *   - the other events: errors grouped by SQLSTATE and message, lock waits,
 *     deadlocks, refused connections, connections, checkpoints, temp files,
 *     autovacuum; and the lines that were not recognised;
 *   - from a PgBouncer log: its stats lines and the clients it turned away
 *     (stats/pooler.c);
 *   - for the diagnosis, independent of the report's interval: a fine
 *     timeline, globally and per fingerprint (stats/finetl.c); the changes
 *     the log shows, DDL, settings, new applications, restarts
 *     (stats/changes.c); the long transactions and the lock waits, with
 *     who held what (stats/xacts.c).
 *
 * Collectors of consecutive ranges merge exactly (collector_merge in input
 * order), so a run split over threads gives the same result as one thread.
 * Not thread-safe: one collector per thread.
 */
#ifndef SLEUTH_STATS_COLLECTOR_H
#define SLEUTH_STATS_COLLECTOR_H

#include "input/event.h"
#include "sketch.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/hmap.h"
#include "util/names.h"

#include <stdbool.h>
#include <stdint.h>

/* What to keep; borrowed by the collector for its lifetime. */
struct collector_opts {
    int64_t since_us, until_us; /* TS_NONE when not set */
    const char *const *dbs;     /* NULL-terminated lists, NULL = any */
    const char *const *users;
    const char *const *apps;
    int64_t min_duration_us; /* -1 = keep all */
    int64_t interval_us;     /* timeline bucket width */
    bool no_examples;        /* keep no literal: examples, errors and plans normalised */
    size_t query_memory;     /* bytes for the queries kept by fingerprint; 0 = no limit */
};

/*
 * What one distinct query costs, by estimate: its struct qstat with the
 * slack of a growing array, its text, its example, names, series and
 * sketch, and its share of the report (bench/fingerprints: the peak RSS of
 * `analyze --format json` grows by 1.8 to 2.1 KB per query kept).
 * query_memory / QSTAT_BYTES queries are kept (at least one).
 */
#define QSTAT_BYTES 2048

enum dim {
    DIM_USER,   /* role name */
    DIM_DB,     /* database */
    DIM_APP,    /* application_name */
    DIM_CLIENT, /* client host */
    DIM__COUNT
};

/*
 * Distinct values kept per dimension and query (the first seen in the
 * input); more go to `other`.
 */
#define DIM_MAX 32

struct dim_count {
    uint32_t name; /* id in the collector's names */
    uint32_t first_input;
    uint64_t first_line; /* where the name was first seen with this query */
    uint64_t count;
};

struct dim_top {
    struct dim_count *items;
    size_t n, cap;
    uint64_t other;
};

/* One point of a per-query or global series. */
struct series_point {
    int64_t bucket; /* bucket start, µs */
    uint64_t calls;
    int64_t total_us;
};

/* A call kept as an example (the slowest of its query). */
struct example {
    int64_t duration_us; /* -1 if not known */
    int64_t ts_us;
    uint64_t line;
    uint32_t input;
    int32_t pid;
    char *text;    /* the statement as logged, or normalised (redact.h), malloc'd */
    char *params;  /* bind parameters, malloc'd or NULL */
    char *plan;    /* auto_explain plan, malloc'd or NULL */
    bool redacted; /* text is normalised: no parameters or plan go with it */
};

/* Distinct plan shapes kept per query (stats/plans.c); more are counted in plans_other. */
#define PLAN_SHAPES_MAX 16

/* One shape of plan a query ran: its nodes and relations, numbers left out. */
struct plan_shape {
    uint64_t shape;     /* XXH3 of the whole outline */
    char *outline;      /* "Limit > Sort > Seq Scan on books" (cut at 240 bytes), malloc'd */
    char *plan;         /* the slowest plan of the shape as logged, malloc'd */
    int64_t slowest_us; /* its duration (-1 if unknown) */
    uint32_t input;     /* where it is logged, to break ties */
    uint64_t line;
    int64_t first_us, last_us;
    uint64_t count;
};

struct qstat {
    uint64_t fingerprint;
    struct series_point *fine; /* the fine timeline (collector.fine_us buckets), by bucket */
    size_t nfine, capfine;
    char *query;         /* normalised text, in the collector's arena */
    bool parsed;         /* libpg_query could parse it */
    bool own;            /* sleuth's own statement (SQL_OWN_TAG): left out of detection */
    uint64_t first_line; /* where its text was first seen, to choose among texts */
    uint32_t first_input;
    uint64_t calls; /* executions: simple statements and executes */
    uint64_t timed; /* calls with a known duration */
    int64_t total_us, min_us, max_us;
    unsigned __int128 sumsq_us2; /* exact, so merging in any order gives one stddev */
    struct sketch sketch;
    int64_t first_us, last_us;
    uint64_t parse_calls, bind_calls;
    int64_t parse_us, bind_us;
    struct example slowest;
    struct dim_top dims[DIM__COUNT];
    struct series_point *series;
    size_t nseries, capseries;
    struct plan_shape *plans; /* by shape hash */
    size_t nplans, capplans;
    uint64_t plans_other; /* plans of shapes beyond PLAN_SHAPES_MAX */
};

struct tl_bucket {
    int64_t bucket; /* start, µs */
    uint64_t queries;
    int64_t total_us;
    struct sketch sketch;
    uint64_t errors, connections, disconnections, lock_waits, deadlocks, refused;
    uint64_t temp_files, checkpoints;
    int64_t temp_bytes;
};

struct errgroup {
    char *key; /* sqlstate + masked message, arena */
    char sqlstate[6];
    enum severity severity;
    uint64_t count;
    int64_t first_us, last_us;
    uint64_t first_line;
    uint32_t first_input;
    char *message;   /* first message, malloc'd */
    char *statement; /* its statement, malloc'd or NULL */
};

struct input_stat {
    uint64_t records, unparsed;
    uint64_t first_unparsed[5];
    size_t nfirst;
};

struct table_stat {
    uint32_t name;
    uint64_t vacuums, analyzes;
    int64_t vacuum_us, analyze_us;
};

/* A stretch of stored history without data: consecutive gap intervals joined. */
struct gap_span {
    int64_t start_us, end_us;
};

/* What stored intervals brought (collector_add_sample, stats/fromsample.h); zero for logs. */
struct interval_stat {
    uint64_t intervals;         /* with deltas, folded into the aggregates */
    uint64_t gaps;              /* the server could not be polled: no data, not zeros */
    uint64_t baselines;         /* first polls (after a start or a gap): gauges only, no deltas */
    int64_t covered_us;         /* total length of the intervals with deltas */
    struct gap_span *gap_spans; /* in the order folded (time order from the store) */
    size_t ngap_spans, capgap_spans;
};

/*
 * One bucket of the fine timeline: what the diagnosis judges, at the finest
 * resolution the log allows (see stats/finetl.c).
 */
struct fine_bucket {
    int64_t bucket; /* start, µs */
    uint64_t queries;
    int64_t total_us;
    uint32_t errors, refused, connections, disconnections, lock_waits, deadlocks;
    uint32_t pool_refused; /* clients a pooler turned away (not in refused: the server's) */
};

/* A client that waited at PgBouncer for a server connection until it was turned away. */
struct pool_wait {
    int64_t start_us, end_us;
};

/* A PgBouncer stats line (stats/pooler.c): its averages over the period that ends at ts_us. */
struct pool_stat {
    int64_t ts_us;
    int64_t period_us; /* since the line before of the same input (collector_finish) */
    struct pool_stats avg;
    uint32_t input;
    uint64_t line;
};

/* A change the log shows (DDL, a setting, a restart), as core/sample.h's kinds. */
struct log_change {
    int kind; /* enum sample_change_kind */
    int64_t ts_us;
    int32_t pid;
    uint32_t input;
    uint64_t line;
    uint32_t app, user;                        /* names ids */
    char *object, *table, *detail, *statement; /* malloc'd, never NULL */
};

/* When an application_name was first and last seen, and its calls. */
struct app_seen {
    uint32_t name; /* names id */
    int64_t first_us, last_us;
    uint64_t calls;
};

/*
 * A transaction that held its connection for at least XACT_LONG_US (or a
 * single statement that ran that long), or one still open at the end of
 * the log: BEGIN to COMMIT/ROLLBACK or the session's end.
 */
enum xact_end {
    XACT_OPEN,       /* still open where the log ends */
    XACT_COMMIT,     /* COMMIT or END */
    XACT_ROLLBACK,   /* ROLLBACK or ABORT */
    XACT_DISCONNECT, /* the session ended (or was terminated) inside it */
    XACT_STATEMENT,  /* one statement outside a transaction block, running that long */
};

#define XACT_LONG_US 1000000

struct xact_rec {
    int32_t pid;
    uint32_t app, user; /* names ids */
    int64_t begin_us;   /* BEGIN's time (a statement's start) */
    int64_t end_us;     /* the end's time; INT64_MAX while open */
    int64_t last_us;    /* the last statement in it */
    uint64_t last_fp;   /* that statement's fingerprint (a qstat's), 0 if none */
    enum xact_end end;
    bool head; /* a statement seen before the range settled its pid (xacts.c's merge) */
};

/*
 * A "still waiting for ... lock" line (log_lock_waits), with who held the
 * lock and when the wait ended ("acquired ... after", or the waiter's next
 * statement or error).
 */
struct lock_wait_rec {
    int64_t ts_us;
    int64_t end_us; /* INT64_MAX while not known to have ended */
    int32_t pid;
    int32_t holders[4]; /* from its DETAIL line */
    int nholders;
    int64_t waited_us;
    char mode[40];   /* "AccessShareLock" */
    char *statement; /* the waiting statement, normalised (malloc'd, or NULL) */
    uint64_t fp;     /* its fingerprint, 0 if none */
};

struct pid_state;
struct raw_entry;
struct xact_pid;

struct collector {
    const struct collector_opts *opts;
    bool keep_all_names; /* a range's collector keeps every name (see dim_add) */
    struct arena arena;
    struct names names;
    struct buf norm;         /* scratch for normalisation */
    struct buf plan_outline; /* scratch for plan shapes */

    /* normalised text -> qstat index, and fingerprint -> qstat index */
    struct hmap by_text, by_fp;
    struct qstat *q;
    size_t nq, capq;
    /*
     * The query memory budget. A query is kept while hmap_mix64(fingerprint)
     * <= keep_max; when a new one would make more than max_queries, keep_max
     * halves and the queries above it are folded into `other` (collector_fold).
     * The queries kept are then the same whatever the order of the input and
     * however threads split it: those whose hash is under the largest step of
     * the halving ladder at which the whole input's queries fit. `other` holds
     * every call of the rest: calls, time, sketch, names, series (not the
     * fine timeline, whose buckets count them), so the totals stay exact.
     */
    size_t max_queries;
    uint64_t keep_max;
    struct qstat other; /* its fingerprint is the last one folded, for the pairing logic */
    uint32_t *text_q;   /* by_text values index this: text slot -> qstat */
    char **texts;
    size_t *text_len;
    size_t ntexts, captexts;
    struct raw_entry *raw;          /* RAW_CACHE slots: statement as logged -> text slot */
    uint32_t last_name[DIM__COUNT]; /* the last name interned per dimension */
    struct str last_name_str[DIM__COUNT];

    struct tl_bucket *tl;
    size_t ntl, captl;
    struct hmap tl_index;

    struct errgroup *errs;
    size_t nerrs, caperrs;
    struct hmap err_index;

    struct input_stat *inputs;
    size_t ninputs;

    struct table_stat *tables;
    size_t ntables, captables;
    struct hmap table_index;

    struct pid_state *pids;
    size_t npids, cappids;
    struct hmap pid_index;

    int64_t first_us, last_us;
    int tz_offset_s;
    bool tz_known;
    uint64_t queries, timed_queries, errors, fatals, panics, warnings;
    int64_t total_us;
    uint64_t orphan_durations; /* duration lines whose statement was never logged */
    int64_t orphan_us;
    uint64_t lock_waits, lock_acquired, deadlocks, refused, connections, conn_received;
    uint64_t disconnections, checkpoints, temp_files, autovacuums, autoanalyzes, plans;
    int64_t lock_wait_us, session_us, temp_bytes, checkpoint_us;
    uint64_t filtered; /* records left out by --since/--until/--db/… */
    struct interval_stat samples;

    /* the fine timeline (stats/finetl.c) */
    int64_t fine_us; /* its resolution, one of finetl's ladder */
    struct fine_bucket *fine;
    size_t nfine, capfine;
    struct hmap fine_index;
    size_t fine_points; /* per-query points plus buckets, kept under FINETL_MAX_POINTS */

    /* changes and applications (stats/changes.c) */
    struct log_change *changes;
    size_t nchanges, capchanges;
    struct app_seen *apps;
    size_t napps, capapps;
    struct hmap app_index;

    /* transactions and lock waits (stats/xacts.c) */
    struct xact_pid *xpids;
    size_t nxpids, capxpids;
    struct hmap xpid_index;
    struct xact_rec *xacts;
    size_t nxacts, capxacts;
    struct lock_wait_rec *lockwaits;
    size_t nlockwaits, caplockwaits;

    /* a PgBouncer log (stats/pooler.c) */
    struct pool_stat *pool_stats; /* in time order after collector_finish */
    size_t npool_stats, cappool_stats;
    struct pool_wait *pool_waits; /* clients that waited and gave up, by end after finish */
    size_t npool_waits, cappool_waits;
    uint64_t pool_refused; /* clients the pooler turned away (counted in errors too) */
};

void collector_init(struct collector *c, const struct collector_opts *opts);
void collector_release(struct collector *c);
/* The event_fn to pass to a reader, with the collector as ctx. */
void collector_add_event(void *collector, const struct event *ev);
/*
 * Folds src (the collector of the input range right after dst's) into dst.
 * Lines in src are relative to its range: line_base is added to them.
 * src is emptied.
 */
void collector_merge(struct collector *dst, struct collector *src, uint64_t line_base);
/* Settles what is still pending (statements waiting for a duration line). */
void collector_finish(struct collector *c);

/*
 * The outline of an auto_explain plan (text or JSON format) into outline:
 * its nodes with the relations and indexes they read, "A > B" for one
 * child and "A (B, C)" for more, numbers and conditions left out; *shape
 * is its hash. False when the plan has no node this can read.
 */
bool plan_outline(struct str plan, struct buf *outline, uint64_t *shape);
/*
 * Whether query fp changed plans around at_us: *after is the most run of
 * the shapes first seen within window_us of at_us and still run at at_us
 * or later, *before the most run of those first seen earlier. Both are set (and
 * differ) when it returns true; either may be NULL otherwise.
 */
bool collector_plan_change(const struct collector *c, uint64_t fp, int64_t at_us, int64_t window_us,
                           const struct plan_shape **before, const struct plan_shape **after);
/* Sample standard deviation of a query's timed calls, ms. */
double qstat_stddev_ms(const struct qstat *q);
/*
 * How many distinct queries the input had beyond those kept, by estimate:
 * the kept ones are the share keep_max / 2^64 of the hashes, so about
 * nq * 2^64 / (keep_max + 1) - nq. Exact (0) when nothing was folded.
 */
uint64_t collector_folded_queries(const struct collector *c);

#endif
