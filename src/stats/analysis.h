/*
 * struct analysis: one run of `sleuth analyze` over its inputs. It opens
 * each input, decides its format and prefix, splits plain files into byte
 * ranges that start on record boundaries, parses the ranges on worker
 * threads (one collector each) and merges the collectors in input order,
 * so the result does not depend on the number of threads.
 */
#ifndef SLEUTH_STATS_ANALYSIS_H
#define SLEUTH_STATS_ANALYSIS_H

#include "collector.h"
#include "input/logparser.h"
#include "util/compat.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

struct analysis_opts {
    struct collector_opts filter;
    enum log_format format;    /* LOGFMT_AUTO to detect per input */
    const char *prefix;        /* log_line_prefix, NULL to detect */
    int jobs;                  /* worker threads, >= 1 */
    uint64_t max_record_bytes; /* a longer record is skipped and counted (oversize_records) */
    bool progress;             /* draw a progress bar on stderr */
};

struct input_info {
    char *path;
    enum log_format format;
    unsigned formats;        /* formats read, 1 << format each (several: it changed) */
    const char *compression; /* NULL for plain */
    const char *archive;     /* a member's archive: "zip", "7z", "tar", "tar.gz", ...; or NULL */
    char *prefix;            /* the log_line_prefix used (stderr logs) */
    char **prefixes;         /* every one read with, in order (a log whose prefix changed) */
    size_t nprefixes;
    uint64_t bytes; /* bytes read (decompressed) */
    uint64_t lines;
    char *error; /* why it could not be read at all, or NULL */
    /*
     * Records longer than max_record_bytes: each was skipped up to the first
     * newline after the limit, without being held in memory.
     */
    uint64_t oversize_records;
    uint64_t first_oversize_line; /* line where the first one starts, 0 if none */
    /*
     * Why reading stopped early (a truncated or corrupt compressed file, an
     * I/O error) after damage_bytes decompressed bytes, whose records were
     * analysed; NULL when the input was read to its end.
     */
    char *damage;
    uint64_t damage_bytes;
    /* A plain file that got shorter while it was read (copytruncate log rotation). */
    bool shrunk;
    uint64_t size_before, size_after; /* bytes at open and after reading */
};

/*
 * Where a report of stored history came from (`analyze --store`): filled
 * by the caller that reads the store, which folds its intervals into
 * analysis.c with collector_add_sample (stats/fromsample.h).
 */
struct analysis_store {
    char *path;                 /* the store file, as given */
    char *target;               /* meta "target": the watched server, password redacted; or NULL */
    int64_t since_us, until_us; /* the range asked for, TS_NONE when open */
    int64_t first_us, last_us;  /* the stored intervals' span; both 0 for an empty store */
};

struct analysis {
    struct analysis_opts opts;
    struct collector c; /* everything, merged */
    struct input_info *inputs;
    size_t ninputs;
    size_t failed_inputs;
    double seconds;               /* wall time of the scan */
    struct analysis_store *store; /* malloc'd, for stored history; NULL for logs */
};

/* The default max_record_bytes: 64 MB. */
#define ANALYSIS_MAX_RECORD_DEFAULT (64ull << 20)
/* The smallest max_record_bytes analysis_run accepts (it reads in pieces of up to 1 MB). */
#define ANALYSIS_MAX_RECORD_MIN (64ull << 10)
/* The default --query-memory: 512 MB, at most 262,144 distinct queries (QSTAT_BYTES). */
#define ANALYSIS_QUERY_MEMORY ((size_t)512 << 20)

/*
 * Sets the defaults: keep everything, 1-minute intervals, detect formats,
 * one job, records up to ANALYSIS_MAX_RECORD_DEFAULT, ANALYSIS_QUERY_MEMORY
 * for the queries.
 */
void analysis_opts_init(struct analysis_opts *opts);

/*
 * Reads every input; an archive's members are inputs of their own, named
 * "ARCHIVE:MEMBER" (source_open_all). An input that cannot be opened or
 * read is recorded with its error and skipped; one whose reading fails part
 * way keeps what was read and records the failure as its damage. Returns -1 (err set to
 * the first failure) only when no input could be read at all.
 */
MUST_CHECK int analysis_run(struct analysis *a, char *const *paths, size_t npaths,
                            const struct analysis_opts *opts, struct err *err);
/*
 * Starts an analysis of stored history: no inputs, a.c ready for
 * collector_add_sample, a.store set to a copy of path and target (may be
 * NULL) and the range of opts->filter. Release with analysis_release.
 */
void analysis_init_store(struct analysis *a, const struct analysis_opts *opts, const char *path,
                         const char *target);
void analysis_release(struct analysis *a);

#endif
