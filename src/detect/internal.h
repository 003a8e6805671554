/*
 * What the files of detect/ share and nothing else may use: the detector,
 * its history of each key (series of rings), the robust baselines, the
 * recording of values that may be learned, and the words of findings. The
 * rules live one family a file: rules_query.c (per fingerprint),
 * rules_table.c (per table), rules_session.c (connections, sessions,
 * blocking), rules_server.c (the whole server). Pointer arguments are
 * borrowed.
 */
#ifndef SLEUTH_DETECT_INTERNAL_H
#define SLEUTH_DETECT_INTERNAL_H

#include "detect/detect.h"
#include "util/buf.h"
#include "util/compat.h"
#include "util/hmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Calls per second below which a server is idle: a new query there is its whole load. */
#define IN_USE_CALLS_S 1.0

/* Rings kept per entry; a query uses the first three, a table the next two, the server the rest. */
enum metric {
    M_MEAN_MS,    /* query: mean execution time per call */
    M_CALLS_S,    /* query: calls per second */
    M_ROWS_CALL,  /* query: rows per call */
    M_SEQ_ROWS_S, /* table: rows read by sequential scans per second */
    M_HOT_RATIO,  /* table: HOT updates / updates */
    M_ROLLBACK,   /* server: rollbacks / transactions */
    M_ERRORS_S,   /* server: log errors per second */
    M_DB_S,       /* server: seconds of execution per second */
    M_CALLS_ALL,  /* server: calls per second, all queries */
    M_CONN_S,     /* server: new connections per second */
    M__COUNT,     /* how many there are */
};

/* A fixed-size ring of the last values of one measure of one key. */
struct ring {
    double *v;   /* `history` slots, owned by the entry */
    int n;       /* values held, at most history */
    int head;    /* next slot to write */
    int unusual; /* consecutive intervals judged unusual (kept out of v) */
};

/* One key's history: a fingerprint or a table. */
struct series {
    uint64_t id;    /* the fingerprint, or the hash of name */
    char *name;     /* "schema.table", NULL for fingerprints */
    long last_step; /* last interval the key was in a sample, for eviction */
    long born;      /* the interval it was first seen in */
    long heavy;     /* the last interval judged a new heavy query, 0 if none */
    double *store;  /* M__COUNT * history doubles, the rings' storage */
    struct ring rings[M__COUNT];
};

struct series_table {
    struct series *items;
    size_t n, cap;
    struct hmap index; /* hash -> position in items */
};

/* A root blocker found in the sessions of one sample. */
struct root {
    int pid;
    int idx;       /* its session, -1 if not in the sample */
    int victims;   /* sessions it blocks, directly or through others */
    double wait_s; /* the longest wait among them */
    int last;      /* the waiter counted last, so that two paths count once */
};

/* A value judged usual, recorded at the end of the step if the step may teach. */
struct pending_obs {
    int table;    /* 0: queries, 1: tables, 2: the server */
    uint32_t idx; /* the entry in its table */
    enum metric m;
    double v;
};

struct detector {
    struct detect_config cfg;
    long steps;
    bool hold;                   /* detector_hold: learn nothing */
    double known_calls;          /* this step's calls of queries with a history (rules_query.c) */
    double known_usual;          /* the calls those queries usually make in a step */
    struct pending_obs *pending; /* this step's usual values */
    size_t npending, cappending;
    struct series_table queries, tables;
    struct series server;     /* the server-wide rings */
    struct finding *findings; /* the current step's, handed to the caller at its end */
    size_t nfindings, capfindings;
    double *scratch; /* history doubles, for medians */
    struct buf name; /* scratch for "schema.table" */
};

/* The baseline of one ring: median and floored, scaled MAD. */
struct baseline {
    bool ok;       /* enough history to judge */
    double median; /* median of the ring */
    double spread; /* 1.4826 * MAD, at least mad_floor * median */
};

/* --- detect.c ------------------------------------------------------------------ */

/*
 * The entry of (id, name) in t, created if absent (*known says which). The
 * pointer is valid until the next detect_series_get on the same table
 * (the array may grow); entries are only evicted between steps.
 */
struct series *detect_series_get(struct detector *d, struct series_table *t, uint64_t id,
                                 const char *name, bool *known);
struct baseline detect_baseline(struct detector *d, const struct ring *r);
/*
 * The value above which a measure is unusual: above the robust bound, at
 * least ratio times the median and at least min_increase above it.
 */
double detect_threshold(const struct detector *d, struct baseline b, double ratio,
                        double min_increase);
/*
 * Judges that se's metric m had value v this interval. An unusual value is
 * never recorded until it has lasted `relearn` intervals (an incident must
 * not become its own baseline); a usual one is recorded at the end of the
 * step, unless the detector is held or the step had a finding.
 */
void detect_observe(struct detector *d, struct series *se, enum metric m, double v, bool unusual);
struct finding *detect_add_finding(struct detector *d, enum finding_kind kind,
                                   enum finding_severity sev, char *key);
struct finding *detect_add_query_finding(struct detector *d, enum finding_kind kind,
                                         enum finding_severity sev, const struct sample_query *q);

/* --- words.c: the numbers and statements of summaries --------------------------- */

char *detect_fmt(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* A short form of a statement for a summary line: blanks collapsed, the middle elided. */
void detect_brief(struct buf *b, const char *q);
char *detect_brief_dup(const char *q);
/* "12.3M", "4.5k", "812", "0.25" */
const char *detect_num(char *out, size_t size, double v);
/* "0.8 ms", "45.0 ms", "0.05 ms" */
const char *detect_ms(char *out, size_t size, double ms);
/* "56×", "2.5×" (the baseline may be 0: then "new") */
const char *detect_ratio(char *out, size_t size, double value, double base);

/* --- the rule families ------------------------------------------------------------ */

void detect_judge_queries(struct detector *d, const struct sample *s);
void detect_judge_tables(struct detector *d, const struct sample *s);
void detect_judge_sessions(struct detector *d, const struct sample *s);
void detect_judge_server(struct detector *d, const struct sample *s);

#endif
