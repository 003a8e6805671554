/*
 * struct alert_book: turns each judged interval's findings (detect.h) into
 * alerts that fire, change severity and resolve, with hysteresis so that a
 * value hovering around a threshold does not page again and again:
 *
 *   - An alert is identified by (kind, key): alert_id hashes both.
 *   - It FIRES once its finding has held for `alert_for_critical`
 *     consecutive intervals (critical) or `alert_for_warning` (warning).
 *     Deadlocks, new heavy queries and refused connections are events and
 *     fire on their first interval whatever their severity.
 *   - While firing, the latest value, updated time and peak are kept
 *     current silently. It is UPDATED only when its severity changes: at
 *     once upwards, and downwards only after `alert_clear` consecutive
 *     intervals at the lower severity.
 *   - It RESOLVES after `alert_clear` consecutive intervals without its
 *     finding. An interval with the finding again resets the count.
 *
 * Times: since_us is the start of the first interval of the streak that
 * fired it, updated_us the end of the last interval with the finding,
 * resolved_us the end of the interval that resolved it.
 *
 * Pointer arguments are borrowed (findings are copied). Returned alerts
 * are borrowed from the book and valid until the next alert_book_step or
 * alert_book_free. Not thread-safe: a sink on another thread (the HTTP
 * API) must be handed a copy, e.g. alert_book_json after each step.
 */
#ifndef SLEUTH_DETECT_ALERTS_H
#define SLEUTH_DETECT_ALERTS_H

#include "core/sample.h"
#include "detect/config.h"
#include "detect/finding.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct alert_book;

/*
 * Called once per change, after the book has taken in the whole interval,
 * in this order: changes of alerts already firing (in the order they
 * fired), then new alerts (in the order of the findings). A resolved alert
 * is no longer in the firing list. The callback may use the accessors
 * below but must not call alert_book_update/step or alert_book_free; a is
 * valid during the callback only.
 */
typedef void alert_fn(void *ctx, enum alert_change change, const struct alert *a);

/* A book using cfg's alert_* settings (copied). */
struct alert_book *alert_book_new(const struct detect_config *cfg);
void alert_book_free(struct alert_book *b);

/*
 * Takes in the n findings detector_step gave for sample s, and calls fn
 * (may be NULL) for each change. A sample the detector does not judge
 * (s->gap, s->baseline_only) is ignored: no data is not a clear interval.
 * An interval without an alert's finding counts towards resolving it. Two
 * findings with the same kind and key in one interval count once (the
 * more severe).
 */
void alert_book_update(struct alert_book *b, const struct sample *s, const struct finding *f,
                       size_t n, alert_fn *fn, void *ctx);
/* The same for a judged interval [start_us, end_us) (UTC µs) given by its times. */
void alert_book_step(struct alert_book *b, int64_t start_us, int64_t end_us,
                     const struct finding *f, size_t n, alert_fn *fn, void *ctx);

/* The stable id of (kind, key): XXH3-64 of the kind's name, a NUL and the key. */
uint64_t alert_id(enum finding_kind kind, const char *key);

/* The firing alerts, *n of them, in the order they fired. */
const struct alert *alert_book_firing(const struct alert_book *b, size_t *n);
/* The firing alert with this id, or NULL. */
const struct alert *alert_book_find(const struct alert_book *b, uint64_t id);
/* The recently resolved alerts (at most alert_resolved_max), *n of them, newest first. */
const struct alert *alert_book_resolved(const struct alert_book *b, size_t *n);

/*
 * {"firing": [alert, ...], "resolved": [alert, ...]} with alert_json's
 * objects (no "change"), in the orders above. A new reference.
 */
json_t *alert_book_json(const struct alert_book *b);

#endif
