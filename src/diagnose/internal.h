/*
 * What the files of diagnose/ share and nothing else may use: the
 * diagnoser itself (recorder.c fills it), the windows of intervals the
 * rules read, the catalog and SQL helpers (objects.c), and the steps of a
 * diagnosis: causes (causes.c), suspicions (suspicions.c), trigger and fix
 * (changes.c). Pointer arguments are borrowed.
 */
#ifndef SLEUTH_DIAGNOSE_INTERNAL_H
#define SLEUTH_DIAGNOSE_INTERNAL_H

#include "diagnose/diagnose.h"
#include "sql/facts.h"
#include "util/compat.h"

#include <jansson.h>
#include <stdbool.h>

#define DIAG_POINTS   720  /* intervals summarised (two hours at 10 s) */
#define DIAG_TOPQ     40   /* queries kept per interval, by time */
#define DIAG_TOPT     40   /* tables kept per interval, by activity */
#define DIAG_TEXTS    256  /* query texts remembered */
#define DIAG_FACTS    128  /* parsed statements remembered */
#define DIAG_EVENTS   128  /* distinct (kind, key) findings remembered */
#define DIAG_INDEXES  4096 /* indexes known */
#define DIAG_HOLDERS  16   /* distinct (statement, application) holding connections */
#define DIAG_BLOCKERS 8    /* root blockers remembered */
#define DIAG_CHANGES  256  /* changes remembered */
#define DIAG_BASELINE 30   /* intervals before an incident that make "before" */
#define DIAG_RUN_GAP  2    /* intervals without a call that still continue a statement's run */
#define NAME_LEN      128

/* One query in one interval. */
struct dq {
    uint64_t fp;
    int64_t calls, rows, blks; /* blks: shared blocks hit + read, -1 when unknown (a log) */
    double total_ms;
    bool is_new;
};

/* One table in one interval. */
struct dt {
    char name[NAME_LEN]; /* schema.table */
    int64_t seq_tup_read, upd, hot_upd;
};

/* The summary of one interval. */
struct dpoint {
    int64_t start_us, end_us;
    int64_t calls, sessions, refused, lock_waits, deadlocks, errors;
    double total_ms;
    int connections, usable, idle_in_tx, waiting, clients;
    /* PgBouncer: clients turned away, transactions through it, clients waiting and the oldest */
    int64_t pool_refused, pool_xacts;
    int pool_waiting;
    double pool_wait_ms, pool_oldest_ms;
    bool has_blks; /* queries carry block counts (pg_stat_statements) */
    struct dq q[DIAG_TOPQ];
    int nq;
    struct dt t[DIAG_TOPT];
    int nt;
};

struct dtext {
    uint64_t fp;
    char *text;
    uint64_t used; /* clock of the last use, to evict the oldest */
};

/* A statement parsed once (libpg_query is the costly part of a diagnosis). */
struct dfacts {
    uint64_t fp;
    bool ok;
    struct sqlfacts f;
    uint64_t used;
};

/* A finding followed over time: when its (kind, key) was first and last seen. */
struct devent {
    enum finding_kind kind;
    char key[NAME_LEN];
    uint64_t fp;
    char table[NAME_LEN];
    int pid;
    int64_t start_us, detected_us, last_us; /* last_us: end of the last interval it was seen in */
    double value, baseline;
    char *query;
};

struct dindex {
    char table[NAME_LEN]; /* schema.table, or the table as a DDL statement named it */
    char name[NAME_LEN];
    char def[512];
    int64_t born_us;            /* first seen; 0 if present from the start */
    int64_t first_us;           /* its latest creation; 0 if present from the start */
    int64_t dropped_us;         /* when it disappeared, 0 while present */
    int64_t gone_from, gone_to; /* its last absence that ended (0, 0 if none) */
};

/* Sessions that held connections: one statement and application, how many, how long. */
struct dholder {
    char *text, *app;
    int count, idle; /* idle: of them, idle in transaction */
    double max_age_s;
};

/* A session that blocked others (a root of the blocking tree). */
struct dblocker {
    int pid;
    char *query, *app, *user, *state, *object; /* object: the relation its victims wait for */
    double xact_age_s;                         /* how long its transaction had been open */
    int victims;
    int64_t first_us, last_us; /* when it was seen blocking */
    int64_t waits_since_us;    /* when the longest wait behind it began */
};

/* A change kept with owned strings. */
struct dchange {
    struct sample_change c; /* its strings malloc'd */
};

struct window {
    const struct dpoint *p[DIAG_POINTS];
    size_t n;
    double secs;
};

struct diagnoser {
    struct dpoint *points; /* ring */
    size_t head, npoints;
    bool started; /* a sample has been seen (the first one's indexes are the initial set) */
    bool catalog; /* a sample listed indexes: the catalog is known, not only DDL of a log */
    struct dtext texts[DIAG_TEXTS];
    size_t ntexts;
    struct dfacts facts[DIAG_FACTS];
    size_t nfacts;
    uint64_t clock;
    struct devent events[DIAG_EVENTS];
    size_t nevents;
    struct dindex *indexes; /* DIAG_INDEXES */
    size_t nindexes;
    struct dholder holders[DIAG_HOLDERS]; /* the largest crowd of holders seen */
    int nholders, holders_total;
    int64_t holders_us; /* when that crowd was seen */
    struct dblocker blockers[DIAG_BLOCKERS];
    int nblockers;
    struct dchange changes[DIAG_CHANGES]; /* ring, oldest first from chead */
    size_t chead, nchanges;
    int64_t as_of_us;    /* the catalog is read as it was then (mid-incident) */
    int64_t last_us;     /* the incident's end, or the newest interval's while open */
    struct dpoint *base; /* the normal stretch kept by diagnoser_begin */
    size_t nbase;
    int64_t base_onset_us;
};

/* --- recorder.c: windows over the summary ------------------------------------ */

const char *diag_text_of(const struct diagnoser *d, uint64_t fp);
/* Keeps fp's text (the oldest text used is forgotten when the cache is full). */
void diag_remember(struct diagnoser *d, uint64_t fp, const char *text);
/* Drops what was parsed of fp's text (its text changed). */
void diag_forget_facts(struct diagnoser *d, uint64_t fp);
/* Takes in s's changes (DDL, settings, releases; index changes into the catalog). */
void diag_note_changes(struct diagnoser *d, const struct sample *s);
/* The intervals before onset_us (at most DIAG_BASELINE) and in [onset_us, end_us). */
void diag_windows(const struct diagnoser *d, int64_t onset_us, int64_t end_us,
                  struct window *before, struct window *after);

struct qsum {
    int64_t calls, rows, blks;
    double ms;
    bool has_blks;
};

struct qsum diag_query_sum(const struct window *w, uint64_t fp);
double diag_total_ms(const struct window *w);
int64_t diag_total_calls(const struct window *w);
int64_t diag_sum(const struct window *w, size_t field_offset); /* an int64 field of dpoint */
int diag_max_int(const struct window *w, size_t field_offset); /* an int field of dpoint */
double diag_median_int(const struct window *w, size_t field_offset);
double diag_rate(double v, const struct window *w);
/* {calls_per_s, mean_ms, rows_per_call, blocks_per_call, time_share_pct, intervals} */
json_t *diag_query_numbers(const struct window *w, uint64_t fp);
void diag_table_sums(const struct window *w, const char *table, int64_t *seq_tup_read, int64_t *upd,
                     int64_t *hot);
double diag_share(const struct window *w, uint64_t fp);
/* Whether a finding of kind k was seen in [onset_us, end_us) (end_us 0: up to now). */
bool diag_has_kind(const struct diagnoser *d, enum finding_kind k, int64_t onset_us,
                   int64_t end_us);
bool diag_event_in(const struct devent *e, int64_t onset_us, int64_t end_us);
/* "public.orders" matches "orders" and "public.orders". */
bool diag_table_match(const char *full, const char *name);
/*
 * Whether one of inc's causes slowed the whole server (a traffic surge, a
 * starved machine, a lock): its slower queries are symptoms, not causes.
 */
bool diag_broad_cause(const struct incident *inc);

/*
 * A query this much slower per call counts as slowed in the whole mix. A
 * saturated machine slows its queries unevenly (the longer ones lose more
 * time slices), so the bar is below the 2x of one query's latency
 * regression.
 */
#define SLOW_RATIO 1.5
char *diag_fmt(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* --- objects.c: the catalog and the statements ---------------------------- */

/* The parsed facts of the statement of fp, or NULL when unknown or unparsable. */
const struct sqlfacts *diag_facts(struct diagnoser *d, uint64_t fp);
/* Whether x existed at t. */
bool diag_index_present(const struct dindex *x, int64_t t);
/* Index DDL and catalog changes of one sample. */
void diag_note_indexes(struct diagnoser *d, const struct sample *s);
void diag_note_index_change(struct diagnoser *d, const struct sample_change *c);

struct index_gap {
    char table[NAME_LEN];
    char cols[256];
};

/* Whether fp filters a table that no present index leads with; prefer_table first. */
bool diag_index_gap(struct diagnoser *d, uint64_t fp, const char *prefer_table,
                    struct index_gap *gap);
/* The index on table covering a column the UPDATE upd_fp sets (sets filled), or NULL. */
const struct dindex *diag_set_index(struct diagnoser *d, const char *table, uint64_t upd_fp,
                                    char sets[][NAME_LEN], size_t *nsets);
/* The table an UPDATE writes into table ("" if fp is not an UPDATE). */
void diag_update_target(struct diagnoser *d, uint64_t fp, char *table, size_t cap);
/* Whether an index covering a column the UPDATE fp sets was created while watching. */
bool diag_update_behind_new_index(struct diagnoser *d, uint64_t fp, char *table, size_t cap);
/* The busiest query of the window that reads (SELECT) or writes (UPDATE) table, or 0. */
uint64_t diag_busiest_on_table(struct diagnoser *d, const struct window *w, const char *table,
                               bool want_update);
/* The UPDATE that took the most time in the window, or 0. */
uint64_t diag_busiest_update(struct diagnoser *d, const struct window *w);
/* Whether an index on table was dropped in [from_us, to_us]. */
const struct dindex *diag_dropped_index(const struct diagnoser *d, const char *table,
                                        int64_t from_us, int64_t to_us);
/* The first table a statement names ("" if none), into out. */
void diag_first_table(struct diagnoser *d, uint64_t fp, char *out, size_t cap);
/* Whether a statement text is DDL (ALTER, CREATE, DROP, ...). */
bool diag_is_ddl(const char *text);

/* --- causes.c, suspicions.c, changes.c: the steps of a diagnosis ---------------- */

struct diag_ctx {
    struct diagnoser *d;
    int64_t onset_us, end_us; /* end_us 0: still going on */
    struct window *before, *after;
    struct incident *inc;
};

/* Appends a cause of kind with score, its times from e (NULL: the incident's). */
struct cause *diag_new_cause(struct diag_ctx *x, enum cause_kind kind, double score,
                             const struct devent *e);
void diag_add_column(struct cause *g, const char *col);
void diag_causes(struct diag_ctx *x);
void diag_suspicions(struct diag_ctx *x);
void diag_trigger_and_fix(struct diag_ctx *x);

#endif
