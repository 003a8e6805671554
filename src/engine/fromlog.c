/*
 * The engine over a log (see engine_run_log in fromlog.h): the log's fine
 * timeline cut into steps, each judged like a live poll, with onsets and
 * ends placed on the fine timeline.
 */
#include "engine/fromlog.h"

#include "stats/tosample.h"

#include "util/banned.h"

struct feed {
    struct engine *e;
    const struct collector *c;
    bool first;
};

static int64_t refine(void *ctx, uint64_t fp, int64_t at_us, int64_t window_us, bool rising)
{
    const struct feed *f = ctx;
    return collector_change_point(f->c, fp, at_us, window_us, rising);
}

static void feed_sample(void *ctx, const struct sample *s)
{
    struct feed *f = ctx;
    if (f->first && !s->gap) {
        /* The first step is the baseline, as the first poll of a watcher is. */
        struct sample base = *s;
        base.baseline_only = true;
        f->first = false;
        engine_step(f->e, &base);
    }
    engine_step(f->e, s);
}

struct engine *engine_run_log(const struct collector *c, const struct detect_config *cfg,
                              int64_t *step_us)
{
    struct feed f = { NULL, c, true };
    struct engine_hooks hooks = { .refine = refine, .ctx = &f };
    f.e = engine_new(cfg, &hooks);
    int64_t step = collector_step_us(c, cfg->min_calls);
    if (step_us)
        *step_us = step;
    collector_to_samples(c, step, cfg->min_history + 1, feed_sample, &f);
    return f.e;
}
