/*
 * struct demo_traffic: the shop's web application, as client threads that
 * each play a web worker with libpq (the extended protocol, like real
 * drivers), one connection per code path with a fixed application_name:
 *
 *   web-browse    product page (product by id) and the customer's last
 *                 orders; one page in four opens an order's items
 *   web-search    products of a category, 20 per page
 *   web-checkout  BEGIN; INSERT an order; INSERT its items; COMMIT
 *   web-orders    the order pipeline: status changes of two recent orders
 *                 (a hot set) in one transaction
 *
 * with a seeded PRNG per thread and a small random think time between
 * requests. Every request is counted as ok or failed (an HTTP 500) with its
 * latency, comes from a visitor (one of DEMO_VISITORS regular addresses; a
 * surge brings new ones) and, with access_log set, is written there as
 * nginx would (combined + $request_time $upstream_response_time), so the
 * impact sleuth reads off it can be checked against the clients' own
 * counts (demo_traffic_totals). A request fails when a statement fails or its connection cannot
 * be made; a thread whose connection was refused waits (backoff) before it
 * tries again, failing the requests of that path meanwhile.
 *
 * demo_traffic_set_fault switches the paths to a faulty release:
 *   DEMO_POOL_EXHAUSTION  checkout takes a new connection, leaves its
 *                         transaction open ("waiting on the payment
 *                         provider") and keeps it for hold_s
 *   DEMO_DEPLOY_SURGE     the order history fetches the items of every
 *                         order (N+1) and the product page counts the
 *                         product's sales (order_items has no index on
 *                         product_id)
 *   DEMO_REDUNDANT_FETCH  search loads every column of every product of
 *                         the category and shows twenty
 * and does nothing for the other faults (they are schema changes).
 *
 * Thread safety: every function is called from one controlling thread;
 * the client threads only share the counters, under a mutex.
 */
#ifndef SLEUTH_DEMO_TRAFFIC_H
#define SLEUTH_DEMO_TRAFFIC_H

#include "demo/fault.h"
#include "demo/shop.h"
#include "util/compat.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct demo_traffic_opts {
    const char *conninfo; /* the application's role */
    struct demo_shop_sizes sizes;
    int clients;      /* threads */
    int think_min_ms; /* think time between requests, uniform in [min, max] */
    int think_max_ms;
    int hot_set; /* order updates pick among the newest this many orders */
    int hold_s;  /* how long a leaked checkout transaction stays open */
    uint64_t seed;
    FILE *access_log; /* write the requests here (borrowed; flushed at stop), or NULL */
    int64_t slow_us;  /* a page slower than this was slow (default 1 s) */
};

#define DEMO_VISITORS 64 /* regular visitors' addresses; each surge thread brings 16 new ones */

/* The whole run as the clients saw it. */
struct demo_traffic_totals {
    int64_t requests, failed, slow;
    int clients, clients_hurt; /* distinct visitors, and those with a failed or slow page */
};

/* Requests over some span: counts and the latency distribution. */
struct demo_traffic_stats {
    int64_t ok, failed;
    double seconds;
    double rps, eps;       /* ok + failed per second; failed per second */
    double p50_ms, p95_ms; /* over every request, failed ones included (0 when none) */
};

struct demo_traffic;

void demo_traffic_opts_init(struct demo_traffic_opts *o);

/*
 * Starts the client threads; they connect lazily. Errors: ERR_IO when a
 * thread cannot be created (those started are stopped again).
 */
MUST_CHECK int demo_traffic_start(struct demo_traffic **out, const struct demo_traffic_opts *o,
                                  struct err *err);
/*
 * Switches the paths' behaviour (see above); takes effect at each thread's
 * next request. DEMO_STEADY is the old release again: the leaked
 * transactions end at each thread's next request.
 */
void demo_traffic_set_fault(struct demo_traffic *t, enum demo_fault f);
/*
 * Starts (on) or stops a surge of visitors: three times as many client
 * threads again, each page on a connection of its own, the same pages.
 * Errors: ERR_IO when a thread cannot be started.
 */
MUST_CHECK int demo_traffic_surge(struct demo_traffic *t, bool on, struct err *err);
/* The requests since the previous call (or the start), and resets that window. */
void demo_traffic_window(struct demo_traffic *t, struct demo_traffic_stats *out);
/* The requests before the fault (phase 0) or since (phase 1). */
void demo_traffic_phase(struct demo_traffic *t, int phase, struct demo_traffic_stats *out);
/* Every request so far. */
void demo_traffic_totals(struct demo_traffic *t, struct demo_traffic_totals *out);

/* The requests of one second (realtime, when each page ended, as its access-log line says). */
struct demo_traffic_second {
    int64_t t_s;
    int64_t requests, failed, slow;
};

/*
 * The seconds with requests, in order, up to max (the first hour); returns
 * how many were written and sets *first_s to the first request's second.
 */
size_t demo_traffic_seconds(struct demo_traffic *t, int64_t *first_s,
                            struct demo_traffic_second *out, size_t max);
/* Stops and joins the threads, closes every connection (leaked ones roll back). Idempotent. */
void demo_traffic_stop(struct demo_traffic *t);
/* Stops if needed and frees; NULL is a no-op. */
void demo_traffic_free(struct demo_traffic *t);

#endif
