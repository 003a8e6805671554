/*
 * Prometheus text exposition (format 0.0.4) of the watcher: GET /metrics.
 * Every family is named sleuth_…, with # HELP and # TYPE lines.
 *
 * Counters (…_total) count since the watcher started: struct metrics_state
 * adds each sample's deltas to running totals (metrics_state_add, once per
 * sample), so a scraper sees monotonic counters although the poller only
 * produces per-interval deltas. Gauges come from the latest sample.
 *
 * Cardinality is bounded. Per-query series (labels fingerprint, db, user)
 * exist for the top_n fingerprints by execution time, decayed with a
 * half-life of METRICS_HALF_LIFE_S so that a query that became heavy
 * recently gets a series; work done by any fingerprint while outside the
 * top N is added to fingerprint="other" (db="", user=""). A fingerprint's
 * own counter counts all its work since the watcher first saw it, so a
 * series that appears may start high; Prometheus' rate() takes no step
 * from a new series, and sum(rate(…)) over all series stays right once a
 * series exists. Tables are bounded the same way (labels schema, table;
 * "other" for the rest), ranked by rows read by sequential scans plus rows
 * updated. At most METRICS_TRACKED fingerprints and tables are followed;
 * the least busy one is forgotten when a new one arrives.
 *
 * Label values are escaped as the format requires (\\, \", \n) and bytes
 * that are not UTF-8 become U+FFFD. Pointer arguments are borrowed. Not
 * thread-safe: the watch loop renders, the HTTP thread serves the text.
 */
#ifndef SLEUTH_SINK_METRICS_H
#define SLEUTH_SINK_METRICS_H

#include "core/incident.h"
#include "core/sample.h"
#include "detect/finding.h"
#include "util/buf.h"

#include <stddef.h>

#define METRICS_DEFAULT_TOP  20
#define METRICS_TRACKED      1000
#define METRICS_HALF_LIFE_S  300.0
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_state;

/* Running totals with top_n query and table series (METRICS_DEFAULT_TOP when 0). */
struct metrics_state *metrics_state_new(int top_n);
void metrics_state_free(struct metrics_state *st);
/* Adds one sample: its deltas to the totals, its time as the last poll (unless a gap). */
void metrics_state_add(struct metrics_state *st, const struct sample *s);
/*
 * Sets the webhook's delivery counters (webhook_stats): rendered as
 * sleuth_webhook_{sent,failed,dropped}_total and sleuth_webhook_queued
 * from then on; without a call there is no webhook family at all.
 */
void metrics_state_set_webhook(struct metrics_state *st, uint64_t sent, uint64_t failed,
                               uint64_t dropped, uint64_t queued);

/*
 * Appends the exposition to out: sleuth_up (1 when latest is not a gap),
 * sleuth_source_up{source} (0 for a source with a problem in latest, all
 * 0 when the server was unreachable), sleuth_privileges_ok (0 when rows
 * were hidden from the role), the last successful poll's time, server gauges from latest (NULL:
 * none yet), the running counters, sleuth_alerts_firing{kind,severity} for every kind and severity
 * (0 when none) over the alerts that have not resolved, sleuth_incident_open{cause,severity} for
 * the open incident and sleuth_incidents_total (the incidents opened).
 */
void metrics_render(const struct metrics_state *st, const struct sample *latest,
                    const struct alert *alerts, size_t nalerts, const struct incident *incs,
                    size_t nincs, struct buf *out);

/* Appends v as a label value: escaped, valid UTF-8 (without the quotes). */
void metrics_escape_label(struct buf *out, const char *v);

#endif
