/*
 * The engine over a log (see engine_run_log in fromlog.h): the log's fine
 * timeline cut into steps, each judged like a live poll, with onsets and
 * ends placed on the fine timeline.
 */
#include "engine/fromlog.h"

#include "stats/tosample.h"
#include "util/jsonstr.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

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

/* The plan text kept in evidence: enough to read, bounded for the store. */
#define PLAN_TEXT_MAX 8192

static json_t *shape_json(const struct plan_shape *p)
{
    json_t *o = json_object();
    /* Log text may be in any encoding: jsonstr_new keeps it valid JSON. */
    json_object_set_new(o, "outline", jsonstr_new(p->outline));
    json_object_set_new(o, "calls", json_integer((json_int_t)p->count));
    json_object_set_new(o, "first_seen", jsonstr_time(p->first_us));
    json_object_set_new(o, "last_seen", jsonstr_time(p->last_us));
    json_object_set_new(o, "slowest_ms",
                        p->slowest_us >= 0 ? json_real((double)p->slowest_us / 1000) : json_null());
    /* A long plan is cut at a line end (or a character's start), and says so. */
    size_t full = strlen(p->plan), len = full;
    if (len > PLAN_TEXT_MAX) {
        len = PLAN_TEXT_MAX;
        while (len && p->plan[len] != '\n')
            len--;
        len = len ? len : utf8_cut(p->plan, PLAN_TEXT_MAX);
    }
    char *text = xmemdup(p->plan, len);
    json_object_set_new(o, "plan", jsonstr_new(text));
    free(text);
    json_object_set_new(o, "plan_cut", json_boolean(len < full));
    return o;
}

static json_t *plans(void *ctx, uint64_t fp, int64_t at_us, int64_t window_us)
{
    const struct feed *f = ctx;
    const struct plan_shape *before, *after;
    if (!collector_plan_change(f->c, fp, at_us, window_us, &before, &after))
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "before", shape_json(before));
    json_object_set_new(o, "after", shape_json(after));
    return o;
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
    struct engine_hooks hooks = { .refine = refine, .plans = plans, .ctx = &f };
    f.e = engine_new(cfg, &hooks);
    int64_t step = collector_step_us(c, cfg->min_calls);
    if (step_us)
        *step_us = step;
    collector_to_samples(c, step, cfg->min_history + 1, feed_sample, &f);
    engine_finish(f.e);
    return f.e;
}
