/*
 * The diagnosis of a log (see diagnose_collector in diagnose.h): the same
 * detectors and diagnoser that judge a live server, fed the log's
 * timeline one bucket at a time.
 */
#include "diagnose/diagnose.h"

#include "detect/config.h"
#include "detect/detect.h"
#include "stats/tosample.h"

#include "util/banned.h"

struct feed {
    struct detector *det;
    struct diagnoser *diag;
    bool first;
};

static void feed_sample(void *ctx, const struct sample *s)
{
    struct feed *f = ctx;
    struct finding *findings = NULL;
    size_t n = 0;
    if (f->first) {
        /* The first bucket is the baseline, as the first poll of a watcher is. */
        struct sample base = *s;
        base.baseline_only = true;
        f->first = false;
        diagnoser_add(f->diag, &base, NULL, 0);
    }
    detector_step(f->det, s, &findings, &n);
    diagnoser_add(f->diag, s, findings, n);
    detector_findings_free(findings, n);
}

void diagnose_collector(const struct collector *c, const struct detect_config *cfg,
                        struct diag_result *out)
{
    struct feed f = { detector_new(cfg), diagnoser_new(), true };
    collector_to_samples(c, cfg->min_history + 1, feed_sample, &f);
    diagnoser_result(f.diag, out);
    diagnoser_free(f.diag);
    detector_free(f.det);
}
