/*
 * struct detector: turns each interval's sample (core/sample.h) into
 * findings (detect/finding.h). It keeps a bounded history per key: for
 * each query fingerprint and each table, fixed-size rings of the last
 * `history` intervals of the measures it judges (mean ms/call, calls/s,
 * rows/call; seq-scan rows/s, HOT ratio), plus server-wide rings for the
 * rollback ratio and errors/s. At most `max_keys` fingerprints and
 * `max_keys` tables are tracked; beyond that the least recently seen are
 * forgotten, so memory stays bounded however long the watcher runs.
 *
 * Baselines are robust: the median and MAD of a key's recent intervals,
 * once it has `min_history` of them. A value counts as unusual only when
 * it is above median + k * MAD (MAD floored at a share of the median) AND
 * above every absolute floor of its detector (see config.h), so small or
 * rare queries never page. Unusual values are kept out of the baseline
 * (the baseline stays what was normal before the incident) until they have
 * lasted `relearn` intervals, when the new level is accepted.
 *
 * Detectors: latency_regression, call_surge, new_heavy_query,
 * connection_saturation, connections_refused, long_running_query,
 * idle_in_transaction, blocking_chain, lock_waits, deadlocks,
 * rollback_spike, error_spike, seq_scan_growth, hot_ratio_drop and
 * rows_per_call (finding.h lists their keys' scope). Each finding fills
 * kind, severity, key, value, baseline (NAN when none), threshold, unit,
 * the fingerprint/query/table/pid it is about, a one-line summary with the
 * numbers and a one-line next step.
 *
 * Pointer arguments are borrowed; the findings detector_step returns are
 * the caller's. Not thread-safe: one thread steps a detector.
 */
#ifndef SLEUTH_DETECT_DETECT_H
#define SLEUTH_DETECT_DETECT_H

#include "core/sample.h"
#include "detect/config.h"
#include "detect/finding.h"

#include <stdbool.h>
#include <stddef.h>

struct detector;

/* A detector with a copy of cfg (later changes to *cfg do not apply). */
struct detector *detector_new(const struct detect_config *cfg);
void detector_free(struct detector *d);

/*
 * Judges one interval. Returns false, with no findings, for a sample that
 * cannot be judged (s->gap: no data, which is not zeros; s->baseline_only:
 * counters not diffed yet); such samples leave the history untouched. (The
 * alert book ignores them too.) Returns true otherwise, with *out set to
 * *nout findings (NULL when none), critical first, then in kind order,
 * then by key. The findings belong to the caller: detector_findings_free.
 */
bool detector_step(struct detector *d, const struct sample *s, struct finding **out, size_t *nout);
/* Releases n findings from detector_step and the array; NULL is a no-op. */
void detector_findings_free(struct finding *f, size_t n);

/*
 * While held, the detector judges as always but learns nothing: the values
 * of the intervals it judges stay out of every baseline (an incident must
 * not become its own baseline; its end must not look like a change). Even
 * when not held, an interval with a finding that is not about one session
 * teaches nothing. Unusual values still count towards `relearn`.
 */
void detector_hold(struct detector *d, bool hold);
/* Intervals judged so far. */
long detector_steps(const struct detector *d);
/* Fingerprints and tables currently tracked (each at most max_keys). */
size_t detector_tracked_queries(const struct detector *d);
size_t detector_tracked_tables(const struct detector *d);

#endif
