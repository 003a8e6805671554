/*
 * The web tier in words and JSON, for every renderer and the postmortem:
 * the impact of an incident on users, the web tier's verdict on the usual
 * false leads (a traffic surge or DDoS, the network or a CDN), and, for a
 * stretch where pages failed or slowed with no database incident, whether
 * the database is to blame at all. Built from struct web (stats/web.h) and
 * the database's timeline; nothing here is computed twice.
 */
#ifndef SLEUTH_REPORT_WEB_H
#define SLEUTH_REPORT_WEB_H

#include "report/render.h"
#include "stats/webimpact.h"

#include <jansson.h>

/* A false lead as the web tier sees it. */
struct report_web_lead {
    const char *name;    /* "traffic surge or DDoS", "network or CDN" */
    const char *db_name; /* the database's suspicion on the same lead (struct suspicion) */
    enum verdict verdict;
    char *evidence; /* the numbers (malloc'd) */
};

#define REPORT_WEB_LEADS 2

/* "412 of 5210 requests failed (7.9 %), 35 were slow (over 1 s); 48 of 120 clients ..." */
char *report_web_impact_text(const struct report *r, const struct web_impact *imp);
/* Fills out[REPORT_WEB_LEADS]; free each evidence. */
void report_web_leads(const struct web_impact *imp, struct report_web_lead *out);

/* The database over a web incident's window. */
struct report_web_db {
    enum verdict verdict; /* RULED_OUT: flat; CONFIRMED: a database incident overlaps */
    int incident;         /* that incident's seq, or 0 */
    double db_s_per_s_before, db_s_per_s_during;
    uint64_t errors_before, errors_during;
    char *evidence; /* malloc'd */
};

void report_web_db(const struct report *r, const struct web_window *win, struct report_web_db *out);

/*
 * How the web tier followed the database over the intervals around
 * [from_us, to_us) (as long again before and after, at least 3 intervals
 * each side): the Pearson correlation of each interval's 5xx count and of
 * its p95 request time with the database's time. NAN when either series is
 * flat or there are fewer than 4 intervals with requests.
 */
struct report_web_follow {
    double failed_r, p95_r;
    size_t intervals;
};

void report_web_follow(const struct report *r, int64_t from_us, int64_t to_us,
                       struct report_web_follow *out);

/* The web tier's section: one labelled line per fact (release with report_rows_free). */
struct report_row *report_web_rows(const struct report *r, size_t *n);
/* Rows added to an incident: its users' side and the web tier's leads. */
void report_web_incident_rows(const struct report *r, const struct incident *inc,
                              struct report_row **rows, size_t *n);
/* The "web" member of the JSON report (docs/json-output.md); NULL without access logs. */
json_t *report_web_json(const struct report *r);
/*
 * The impact as JSON numbers; with the fingerprint of the query an incident
 * blames (0: none), each route hurt says how its share of failed or slow
 * requests follows that query's mean time (routes_hurt[].follows_query_r).
 */
json_t *report_web_impact_json(const struct report *r, const struct web_impact *imp,
                               uint64_t fingerprint);
/*
 * Pearson's r, over the intervals around [from_us, to_us), of a route's
 * mean request time (its share of failed or slow requests when the log has
 * no request times for it: *by_time false) with the mean time of the query
 * with this fingerprint; NAN with fewer than 4 intervals where both are
 * known or either is flat. *intervals gets how many there were.
 */
/* What report_web_route_follows compared: "mean request time" or the share. */
const char *report_web_follow_measure(bool by_time);
double report_web_route_follows(const struct report *r, uint64_t fingerprint, uint32_t route,
                                int64_t from_us, int64_t to_us, size_t *intervals, bool *by_time);

#endif
