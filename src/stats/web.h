/*
 * struct web: the users' side of a run, from web server access logs. Per
 * interval (the analysis's own width, so it sits beside the database's
 * timeline): requests, status classes, latency sketch, slow requests,
 * upstream time, and every client and route seen with its requests,
 * failures and slow pages; per second the counts that place the web tier's
 * onset and end; per route (ids folded, access_route) its totals.
 *
 * A request *failed* when its status is 5xx; it was *slow* when the server
 * took longer than opts.slow_us. A client is the user or session the log
 * names, else its address.
 *
 * A client is known by the XXH3 of its name (2^-64 collisions): no string is
 * kept for it. The lists of each interval's clients and routes are what
 * grows with the log (16 and 32 bytes an entry); past opts.lists_memory
 * the finished intervals' lists go to an unlinked temporary file and are
 * read back by the few readers that need them (web_clients_of,
 * web_routes_of), so memory stays flat in the log's size.
 */
#ifndef SLEUTH_STATS_WEB_H
#define SLEUTH_STATS_WEB_H

#include "input/access.h"
#include "stats/sketch.h"
#include "util/compat.h"
#include "util/err.h"
#include "util/hmap.h"
#include "util/names.h"

#include <stdbool.h>
#include <stdint.h>

struct web_opts {
    int64_t interval_us;        /* bucket width */
    int64_t slow_us;            /* a request slower than this was slow (default 1 s) */
    int64_t since_us, until_us; /* TS_NONE when open */
    const char *format;         /* --access-format, or NULL to detect per input */
    int jobs;                   /* worker threads for plain files, >= 1 */
    size_t lists_memory;        /* bytes of interval lists held before spilling; 0: the default */
};

#define WEB_LISTS_MEMORY (4u << 20)

/* Requests, failures and slow pages of one client or route, or of one second. */
struct web_count {
    uint32_t requests, failed, slow;
};

/*
 * The clients or routes seen in one interval: an id and its counts each
 * (a route also its request times). In a time-ordered log an id is listed
 * once; a line that goes back to an earlier interval may list it again
 * there (readers add the counts up and count it once).
 */
struct web_visit {
    uint32_t id; /* first: the lists' code reads it from either kind */
    struct web_count c;
};

struct web_route_visit {
    uint32_t id;
    struct web_count c;
    uint32_t timed;     /* requests with a request time */
    int64_t latency_us; /* their request times, summed */
};

/*
 * One interval's list of either kind: the entries in memory, then those
 * spilled to the temporary file as a chain of segments, newest first.
 */
struct web_list {
    void *v;
    size_t n, cap;
    size_t spilled;     /* entries in the file */
    int64_t spilled_at; /* the newest segment's offset (valid when spilled) */
};

static inline size_t web_list_len(const struct web_list *l)
{
    return l->n + l->spilled;
}

#define WEB_STATUS_CLASSES 6 /* 1xx .. 5xx, and no status */

struct web_bucket {
    int64_t start_us;
    uint64_t requests, failed, slow;
    uint64_t status[WEB_STATUS_CLASSES];
    struct sketch latency; /* requests with a request time */
    int64_t upstream_us;   /* summed over the requests that logged both times */
    int64_t timed_us;      /* their request times, summed */
    uint64_t cache_logged, cache_hits;
    struct web_list clients; /* struct web_visit */
    struct web_list routes;  /* struct web_route_visit */
};

struct web_route {
    uint64_t requests, failed, slow;
    struct sketch latency;
};

struct web_input {
    char *path;
    char *format; /* the layout read, or NULL when none fits */
    const char *compression;
    const char *archive; /* a member's archive ("zip", "tar.gz", ...), or NULL */
    uint64_t bytes, lines, requests;
    uint64_t bad_lines, first_bad_line;
    uint64_t oversize; /* lines longer than WEB_MAX_LINE, skipped */
    char *error;
};

/* Where an id was last listed: its interval and slot, for the next line's count. */
struct web_last {
    int64_t bucket; /* bucket number (start / interval), INT64_MIN: never */
    uint32_t slot;
    uint32_t id; /* whose (a client's slot in the table knows its id) */
};

/*
 * A client in the open-addressed table (XXH3 of its name, 2^-64
 * collisions): one cache line a line holds all a request touches.
 */
struct web_client_slot {
    uint64_t hash;
    int64_t first; /* the bucket number it was first seen in; INT64_MIN: an empty slot */
    struct web_last last;
};

/* A client by id, for the readers: its hash (its identity across merges) and first bucket. */
struct web_client {
    uint64_t hash;
    int64_t first;
};

/* A raw request path's route id, by the path's XXH3: folding and interning once a path. */
struct web_route_memo {
    uint64_t hash;
    uint32_t route_plus_1; /* 0: an empty slot */
};

#define WEB_ROUTE_MEMO 16384 /* slots, direct-mapped */

struct web {
    struct web_opts opts;
    struct web_client_slot *ctab; /* power-of-two slots, at most half used */
    size_t ctab_cap;
    struct web_client *client; /* by id */
    size_t nclients, client_cap;
    struct names routes;
    struct web_last *route_last;
    struct web_route *route_totals; /* by route id */
    struct web_route_memo *route_memo;
    size_t nroute_totals;
    struct web_bucket *buckets; /* dense, in time order from buckets[0].start_us */
    size_t nbuckets, capbuckets;
    struct web_count *seconds; /* per second from first_second */
    size_t nseconds, capseconds;
    int64_t first_second; /* seconds since the epoch */
    int offset_s;         /* the logs' zone */
    uint64_t requests, failed, slow, untimed;
    uint64_t status[WEB_STATUS_CLASSES];
    struct web_input *inputs;
    size_t ninputs;
    double seconds_taken;
    size_t lists_held; /* bytes of interval lists in memory */
    int spill_fd;      /* -1: none yet; -2: none can be had (lists stay in memory) */
    int64_t spill_end;
};

#define WEB_MAX_LINE (1u << 20) /* no request line is longer; longer ones are counted, skipped */

void web_init(struct web *w, const struct web_opts *opts);
void web_release(struct web *w);
/* Takes one request. */
void web_add(struct web *w, const struct access_record *rec);
/*
 * The same in two steps, for a reader that parses the next line between
 * them: web_client_hash starts loading the request's client slot (the one
 * cache miss a line) and returns what web_add_hashed takes.
 */
uint64_t web_client_hash(const struct web *w, const struct access_record *rec);
void web_add_hashed(struct web *w, const struct access_record *rec, uint64_t client_hash);

/*
 * Reads every access log (files, globs expanded by the caller, "-", any
 * compression source.c reads; each member of an archive is an input of its
 * own, "ARCHIVE:MEMBER"); plain files of 16 MB or more are split into
 * line-aligned byte ranges read by opts.jobs threads and merged in order
 * (webread.c). An input that cannot be read is recorded
 * with its error; returns -1 (err set) only when none could be read, or
 * when opts.format does not compile.
 */
MUST_CHECK int web_read(struct web *w, char *const *paths, size_t npaths, struct err *err);

/*
 * Adds everything src holds to dst (the same options): what one pass over
 * both inputs would give, whatever the order of merges. src may be left
 * empty (its aggregates taken over when dst has none); release it after.
 */
void web_merge(struct web *dst, struct web *src);

/* A reader's buffer for the lists of one interval, reused across calls. */
struct web_buf {
    void *p;
    size_t cap;
};

/*
 * The clients (routes) listed in bucket b, in memory and spilled alike, as
 * one array of *n entries: b's own array, or buf filled with them. Valid
 * until the next call with buf or a change to w.
 */
const struct web_visit *web_clients_of(const struct web *w, const struct web_bucket *b,
                                       struct web_buf *buf, size_t *n);
const struct web_route_visit *web_routes_of(const struct web *w, const struct web_bucket *b,
                                            struct web_buf *buf, size_t *n);
void web_buf_release(struct web_buf *buf);

/* Adds the request times of the whole run to out. */
void web_latency(const struct web *w, struct sketch *out);

/* The bucket that holds ts_us, or NULL. */
const struct web_bucket *web_bucket_at(const struct web *w, int64_t ts_us);

#endif
