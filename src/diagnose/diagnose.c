/*
 * One incident's diagnosis (see diagnose.h): the windows before and after
 * its onset, then its causes (causes.c), the change that triggered it and
 * the one that fixed it (changes.c), the usual suspicions (suspicions.c),
 * and its peak and impact from the summary of its intervals.
 */
#include "diagnose/internal.h"

#include "util/jsonstr.h"
#include "util/xalloc.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static void clear(struct incident *inc)
{
    for (size_t i = 0; i < inc->ncauses; i++)
        cause_release(&inc->causes[i]);
    free(inc->causes);
    inc->causes = NULL;
    inc->ncauses = 0;
    for (size_t i = 0; i < inc->nsuspicions; i++) {
        free(inc->suspicions[i].name);
        free(inc->suspicions[i].evidence);
        free(inc->suspicions[i].needs);
    }
    free(inc->suspicions);
    inc->suspicions = NULL;
    inc->nsuspicions = 0;
    incident_change_release(&inc->trigger);
    incident_change_release(&inc->fix);
    inc->has_trigger = inc->has_fix = false;
    json_decref(inc->impact);
    inc->impact = NULL;
}

static double secs_of(const struct dpoint *p)
{
    double s = (double)(p->end_us - p->start_us) / 1e6;
    return s > 0.001 ? s : 0.001;
}

/* The peak (the interval with the most database time a second) and the incident's numbers. */
static void peak_and_impact(const struct diag_ctx *x)
{
    struct incident *inc = x->inc;
    const struct window *b = x->before, *a = x->after;
    inc->peak_us = 0;
    inc->peak_db_s = 0;
    for (size_t i = 0; i < a->n; i++) {
        double db = a->p[i]->total_ms / 1000 / secs_of(a->p[i]);
        if (!inc->peak_us || db > inc->peak_db_s) {
            inc->peak_db_s = db;
            inc->peak_us = a->p[i]->start_us;
        }
    }
    double db0 = diag_rate(diag_total_ms(b), b) / 1000;
    double db1 = diag_total_ms(a) / 1000;
    json_t *o = json_object();
    json_object_set_new(o, "database_time_s", jsonstr_num(db1));
    json_object_set_new(o, "database_time_above_normal_s",
                        jsonstr_num(isfinite(db0) ? db1 - db0 * a->secs : NAN));
    json_object_set_new(o, "calls", json_integer((json_int_t)diag_total_calls(a)));
    json_object_set_new(o, "calls_per_s_before",
                        jsonstr_num(diag_rate((double)diag_total_calls(b), b)));
    json_object_set_new(o, "calls_per_s_during",
                        jsonstr_num(diag_rate((double)diag_total_calls(a), a)));
    json_object_set_new(o, "errors_logged",
                        json_integer((json_int_t)diag_sum(a, offsetof(struct dpoint, errors))));
    json_object_set_new(o, "connections_refused",
                        json_integer((json_int_t)diag_sum(a, offsetof(struct dpoint, refused))));
    json_object_set_new(o, "lock_waits_logged",
                        json_integer((json_int_t)diag_sum(a, offsetof(struct dpoint, lock_waits))));
    json_object_set_new(o, "connections_max",
                        json_integer(diag_max_int(a, offsetof(struct dpoint, connections))));
    json_object_set_new(o, "intervals", json_integer((json_int_t)a->n));
    json_object_set_new(o, "baseline_intervals", json_integer((json_int_t)b->n));
    inc->impact = o;
}

void diagnoser_diagnose(struct diagnoser *d, int64_t onset_us, int64_t end_us, struct incident *inc)
{
    clear(inc);
    /* The catalog as it was in the middle of the incident: a fix later must not hide it. */
    int64_t last = end_us;
    for (size_t i = 0; !last && i < d->npoints; i++)
        last = d->points[(d->head + d->npoints - 1) % DIAG_POINTS].end_us;
    d->as_of_us = last > onset_us ? onset_us + (last - onset_us) / 2 : onset_us;
    d->last_us = last;
    struct window *before = xmalloc(sizeof(*before)), *after = xmalloc(sizeof(*after));
    diag_windows(d, onset_us, end_us, before, after);
    struct diag_ctx x = { d, onset_us, end_us, before, after, inc };
    diag_causes(&x);
    diag_trigger_and_fix(&x);
    diag_suspicions(&x);
    peak_and_impact(&x);
    free(before);
    free(after);
}
