/*
 * struct engine: the incident engine, the one step that every way into
 * sleuth calls: `watch` and `demo` with each live poll, `analyze` with each
 * step of a log's timeline (stats/tosample.h), `report --store` with each
 * stored interval. It takes one interval (core/sample.h) and
 *
 *   1. runs the detectors (detect/detect.h) and the change findings of the
 *      diagnosis (an index created on updated columns);
 *   2. turns the findings into alerts with hysteresis (detect/alerts.h);
 *   3. groups the alerts into incidents (core/incident.h): the first alert
 *      to fire opens one, every alert that fires while it is open joins it,
 *      and it resolves once none has fired for alert_clear intervals (an
 *      alert that fires again before that rejoins it: one outage, one
 *      incident); its onset is the start of its first abnormal interval,
 *      its end the end of the last one;
 *   4. diagnoses the open incident each interval against the normal
 *      stretch before its onset (diagnose/diagnose.h), and while one is
 *      open the detectors learn nothing, so an incident never becomes its
 *      own baseline and the return to normal is never read as a change.
 *
 * It hands each alert change and each incident change to the hooks (the
 * store, the sinks). Memory is bounded: the detectors and the diagnoser
 * are, and at most ENGINE_KEEP incidents are kept (the oldest resolved
 * ones go first). Not thread-safe. Pointer arguments are borrowed.
 */
#ifndef SLEUTH_ENGINE_ENGINE_H
#define SLEUTH_ENGINE_ENGINE_H

#include "core/incident.h"
#include "core/sample.h"
#include "detect/alerts.h"
#include "detect/config.h"
#include "detect/finding.h"
#include "diagnose/diagnose.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Incidents kept, open and resolved. */
#define ENGINE_KEEP 1000
/* Alerts listed in one incident; more are counted in its impact. */
#define ENGINE_INCIDENT_ALERTS 100

struct engine_hooks {
    /* A detector alert fired, changed or resolved (the store keeps them); may be NULL. */
    alert_fn *alert;
    /* An incident opened, changed or resolved; inc is valid during the call; may be NULL. */
    void (*incident)(void *ctx, enum incident_change_kind change, const struct incident *inc);
    /*
     * Where a change near at_us really happened, at a finer resolution than
     * the intervals (a log's fine timeline: collector_change_point): fp is
     * the query of the top cause (0: the whole database time); rising is
     * true for an onset, false for an end. May be NULL.
     */
    int64_t (*refine)(void *ctx, uint64_t fp, int64_t at_us, int64_t window_us, bool rising);
    /* The plans a query ran around a time, where the source logged them; may be NULL. */
    diag_plans_fn *plans;
    void *ctx;
};

struct engine;

/* An engine with cfg's thresholds (copied) and hooks (copied; may be NULL). */
struct engine *engine_new(const struct detect_config *cfg, const struct engine_hooks *hooks);
void engine_free(struct engine *e);

/*
 * Judges one interval. Gap and baseline-only samples only mark time: no
 * data is neither normal nor abnormal. Calls the hooks for what changed.
 */
void engine_step(struct engine *e, const struct sample *s);

/* The incidents kept, in the order they opened (the open one, if any, last). */
const struct incident *engine_incidents(const struct engine *e, size_t *n);
/* The incident that is open, or NULL. */
const struct incident *engine_open_incident(const struct engine *e);
/* The worst incident: open before resolved, then critical, then the most database time. */
const struct incident *engine_worst_incident(const struct engine *e);
/* The findings of the last judged interval (borrowed until the next step). */
const struct finding *engine_findings(const struct engine *e, size_t *n);
/* The alert book (for the API and metrics). */
const struct alert_book *engine_alert_book(const struct engine *e);
/* Intervals judged. */
/*
 * The input ended (a log, a store's range): an open incident whose alerts
 * have all resolved is resolved now, as the quiet intervals that did not
 * come would have done.
 */
void engine_finish(struct engine *e);
long engine_steps(const struct engine *e);

/* incident_list_json of the incidents kept. A new reference. */
json_t *engine_json(const struct engine *e);

#endif
