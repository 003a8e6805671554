/*
 * The incident engine over a log analysis: the collector's fine timeline
 * (stats/finetl.c) in steps of collector_step_us, each step a sample
 * (stats/tosample.h) that the engine judges as it judges a live poll, the
 * first one as the baseline. Onsets and ends are then placed on the fine
 * timeline (collector_change_point), so a 2-minute log and a 2-week one are
 * both diagnosed and the onset lands within a fine bucket of the change.
 */
#ifndef SLEUTH_ENGINE_FROMLOG_H
#define SLEUTH_ENGINE_FROMLOG_H

#include "engine/engine.h"
#include "stats/collector.h"

/*
 * A new engine that has judged the whole log with cfg's thresholds; the
 * caller reads its incidents and frees it (engine_free). *step_us (may be
 * NULL) gets the step used (0: the log has no timed record).
 */
struct engine *engine_run_log(const struct collector *c, const struct detect_config *cfg,
                              int64_t *step_us);

#endif
