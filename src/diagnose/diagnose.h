/*
 * struct diagnoser: says why. It is fed one interval at a time (the sample
 * and the findings the detectors gave for it), keeps a bounded summary of
 * the recent intervals (totals, the busiest queries and tables, sessions,
 * connections), the indexes it has seen come and go, the sessions holding
 * connections or locks, the changes (DDL, settings, releases) and when
 * each finding was seen; and on request diagnoses one incident, the
 * stretch [onset, end): its causes ranked, each with the query, table,
 * columns and index, the evidence before (the normal stretch before the
 * onset) and after, and the fix; the usual suspicions with what the data
 * says of each; the change that triggered it and the one that fixed it.
 *
 * Live, the samples come from the poller; from logs, from the timeline of
 * a log analysis; from the store, from stored intervals: one diagnosis.
 * Not thread-safe. Pointer arguments are borrowed.
 */
#ifndef SLEUTH_DIAGNOSE_DIAGNOSE_H
#define SLEUTH_DIAGNOSE_DIAGNOSE_H

#include "core/incident.h"
#include "core/sample.h"
#include "detect/finding.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct diagnoser;

struct diagnoser *diagnoser_new(void);
void diagnoser_free(struct diagnoser *d);
/* Empties d as if new, keeping its memory (some megabytes that diagnoser_new zeroes). */
void diagnoser_reset(struct diagnoser *d);

/*
 * Takes in the catalog and the changes of one interval (the first
 * interval's indexes are the starting point: they are not "new"), and
 * returns the findings they make before any number moves: an index created
 * while watching that covers a column an UPDATE sets, for as long as the
 * index is there and the UPDATE runs (index_on_updated_columns). Call it
 * for every sample, before diagnoser_add; *out (NULL when none) is the
 * caller's (detector_findings_free). Returns how many.
 */
size_t diagnoser_change_findings(struct diagnoser *d, const struct sample *s, struct finding **out);

/*
 * Takes in one interval and the findings detector_step gave for it (n may
 * be 0), after diagnoser_change_findings. Gap and baseline-only samples
 * only mark time.
 */
void diagnoser_add(struct diagnoser *d, const struct sample *s, const struct finding *f, size_t n);

/*
 * Keeps the normal stretch before onset_us (from normal_from_us on: the
 * end of the incident before, 0 if none) as the baseline of the incident
 * that begins there; the summary ring may forget it while a long incident
 * runs. Call when an incident opens (and again when its onset moves),
 * before diagnoser_diagnose.
 */
void diagnoser_begin(struct diagnoser *d, int64_t onset_us, int64_t normal_from_us);

/*
 * Where the run of calls of statement fp that reaches onset_us began (no
 * two calls further apart than DIAG_RUN_GAP empty intervals), within
 * [from_us, onset_us): the start of its first interval when the statement
 * was new there (not seen before by the source, which was watched for more
 * than DIAG_RUN_GAP intervals without it), else onset_us. A stray call long
 * before the run moves nothing.
 */
int64_t diagnoser_first_call(const struct diagnoser *d, uint64_t fp, int64_t from_us,
                             int64_t onset_us);

/*
 * Diagnoses the incident [onset_us, end_us) (end_us 0: still going on):
 * fills inc's causes, suspicions, trigger, fix, peak and impact, replacing
 * what they held. The findings taken in since onset_us are its evidence.
 * Leaves inc without causes when no finding was seen in the stretch.
 */
void diagnoser_diagnose(struct diagnoser *d, int64_t onset_us, int64_t end_us,
                        struct incident *inc);

/*
 * The plans query fp ran before and after at_us, where the source logged
 * them (auto_explain): {"before": {...}, "after": {...}} (a new reference)
 * when it changed plans within window_us of at_us, else NULL.
 */
typedef json_t *diag_plans_fn(void *ctx, uint64_t fp, int64_t at_us, int64_t window_us);

/*
 * Gives each cause of inc that names a query the plans it ran before its
 * start and since (evidence "plans") when plans knows them; a query
 * regression whose plan changed with no index dropped becomes a plan
 * regression. Call after diagnoser_diagnose (diagnose/plans.c).
 */
void diagnose_plans(struct incident *inc, diag_plans_fn *plans, void *ctx, int64_t window_us);

#endif
