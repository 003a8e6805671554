/*
 * What the web tier says of a stretch of time: where its own incidents
 * are (stretches in which failed or slow pages stood out), and the impact
 * on users over a window: failed and slow requests, the clients who saw
 * one, the routes hurt most, and the numbers that rule a traffic surge, a
 * DDoS or the network in or out.
 */
#ifndef SLEUTH_STATS_WEBIMPACT_H
#define SLEUTH_STATS_WEBIMPACT_H

#include "stats/web.h"

#include <stddef.h>
#include <stdint.h>

/* A stretch where the web tier was hurt: [from_us, to_us), to the second. */
struct web_window {
    int64_t from_us, to_us;
};

/*
 * The web tier's incidents: runs of intervals whose share of failed or slow
 * requests stood out from the usual share (the intervals' lower quartile), at
 * least 2 % and three times the usual, with 3 or more such requests; their
 * edges placed to the second. Returns how many; *out is malloc'd.
 */
size_t web_incidents(const struct web *w, struct web_window **out);

#define WEB_TOP_ROUTES 5

struct web_route_hurt {
    uint32_t route; /* id in w->routes */
    struct web_count c;
};

struct web_impact {
    struct web_window window;              /* what was counted */
    bool from_web;                         /* the window is a web incident's (else the one asked) */
    bool same_window;                      /* ... and that incident's edges are the ones asked */
    uint64_t requests, failed, slow, hurt; /* hurt: failed or slow */
    uint64_t clients, clients_hurt;        /* distinct, over the intervals the window touches */
    struct web_route_hurt routes[WEB_TOP_ROUTES];
    size_t nroutes;
    /* The stretch before (as long as the window, up to 10 intervals) against the window. */
    double rps_before, rps_during;
    double clients_before, clients_during; /* distinct clients per interval */
    double top10_share;                    /* of the window's requests, by its 10 busiest clients */
    double new_clients_share;              /* window's clients never seen before it */
    int64_t p95_before_us, p95_during_us;  /* -1 when no request time is logged */
    double upstream_share_before, upstream_share_during; /* of the request time; NAN if unlogged */
    double cache_hit_before, cache_hit_during;           /* NAN if unlogged */
    uint64_t failed_before;
};

/*
 * Distinct clients of the intervals touching [from_us, to_us), and those with a failed or slow
 * request.
 */
void web_clients(const struct web *w, int64_t from_us, int64_t to_us, uint64_t *clients,
                 uint64_t *hurt);

/*
 * The impact over [from_us, to_us): over the web incident that overlaps it
 * most (with its own edges, which can differ from the database's) when
 * there is one, else over the window as given.
 */
void web_impact(const struct web *w, int64_t from_us, int64_t to_us, struct web_impact *out);

#endif
