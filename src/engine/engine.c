/*
 * The incident engine (see engine.h): one step per interval, detectors ->
 * alert book -> incidents -> diagnosis, and the hooks told what changed.
 * An incident is the stretch during which at least one alert fires; its
 * alerts are kept in it, its diagnosis is redone every interval while it
 * is open (statements are parsed once, so this is cheap), and the sinks
 * hear of it when it opens, when its top cause, severity, trigger or fix
 * changes, and when it resolves.
 */
#include "engine/engine.h"

#include "detect/detect.h"
#include "diagnose/diagnose.h"
#include "util/jsonstr.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/banned.h"

struct engine {
    struct detect_config cfg;
    struct engine_hooks hooks;
    struct detector *det;
    struct alert_book *book;
    struct diagnoser *diag;
    struct finding *findings; /* the last step's */
    size_t nfindings;
    struct incident *incidents;
    size_t n, cap;
    long open;       /* index of the open incident, or -1 */
    long open_steps; /* intervals it has been open */
    long quiet;      /* intervals since its last alert resolved, none firing */
    int seq;
    long steps;
    int64_t step_us; /* the last interval's length */
    /* Alert changes of the current step, applied to the incident after the book's update. */
    struct change {
        enum alert_change change;
        uint64_t id;
    } * changes;
    size_t nchanges, capchanges;
};

struct engine *engine_new(const struct detect_config *cfg, const struct engine_hooks *hooks)
{
    struct engine *e = xcalloc(1, sizeof(*e));
    e->cfg = *cfg;
    if (hooks)
        e->hooks = *hooks;
    e->det = detector_new(cfg);
    e->book = alert_book_new(cfg);
    e->diag = diagnoser_new();
    e->open = -1;
    return e;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    detector_findings_free(e->findings, e->nfindings);
    for (size_t i = 0; i < e->n; i++)
        incident_release(&e->incidents[i]);
    free(e->incidents);
    free(e->changes);
    diagnoser_free(e->diag);
    alert_book_free(e->book);
    detector_free(e->det);
    free(e);
}

/* --- alerts of the incident ---------------------------------------------------------- */

static void on_alert(void *ctx, enum alert_change change, const struct alert *a)
{
    struct engine *e = ctx;
    if (e->hooks.alert)
        e->hooks.alert(e->hooks.ctx, change, a);
    e->changes = xgrow(e->changes, &e->capchanges, e->nchanges + 1, sizeof(*e->changes));
    e->changes[e->nchanges++] = (struct change){ change, a->id };
}

static struct incident_alert *member(struct incident *inc, uint64_t id)
{
    for (size_t i = 0; i < inc->nalerts; i++)
        if (inc->alerts[i].id == id)
            return &inc->alerts[i];
    return NULL;
}

static void member_set(struct incident_alert *m, const struct alert *a)
{
    free(m->summary);
    m->critical = a->f.severity == FINDING_CRITICAL;
    /* An alert that fired again while the incident was quiet keeps its first start. */
    m->since_us = m->since_us && m->since_us < a->since_us ? m->since_us : a->since_us;
    m->updated_us = a->updated_us;
    m->resolved_us = a->resolved_us;
    m->peak = a->peak;
    m->summary = a->f.summary ? xstrdup(a->f.summary) : NULL;
}

/* Adds a fired alert; returns whether it brought a kind the incident did not have. */
static bool member_add(struct incident *inc, const struct alert *a)
{
    const char *kind = finding_kind_name(a->f.kind);
    bool new_kind = true;
    for (size_t i = 0; i < inc->nalerts && new_kind; i++)
        new_kind = strcmp(inc->alerts[i].kind, kind) != 0;
    if (inc->nalerts >= ENGINE_INCIDENT_ALERTS) {
        json_t *n = json_object_get(inc->impact, "alerts_not_listed");
        json_object_set_new(inc->impact, "alerts_not_listed",
                            json_integer(json_integer_value(n) + 1));
        return new_kind;
    }
    inc->alerts = xrealloc(inc->alerts, (inc->nalerts + 1) * sizeof(*inc->alerts));
    struct incident_alert *m = &inc->alerts[inc->nalerts++];
    memset(m, 0, sizeof(*m));
    m->id = a->id;
    m->kind = xstrdup(kind);
    m->key = xstrdup(a->f.key ? a->f.key : "");
    m->unit = xstrdup(a->f.unit ? a->f.unit : "");
    member_set(m, a);
    if (a->f.severity == FINDING_CRITICAL)
        inc->critical = true;
    return new_kind;
}

/* --- the incident's lifecycle ---------------------------------------------------------- */

static void tell(struct engine *e, enum incident_change_kind change, const struct incident *inc)
{
    if (e->hooks.incident)
        e->hooks.incident(e->hooks.ctx, change, inc);
}

static int64_t refine(struct engine *e, uint64_t fp, int64_t at_us, bool rising)
{
    if (!e->hooks.refine || !e->step_us)
        return at_us;
    /*
     * A finer change point moves the time within the intervals around it, no
     * further: an onset within the interval before the first abnormal one
     * (which was judged normal, so the change cannot be older), an end
     * within the last two.
     */
    int64_t back = rising ? e->step_us : 2 * e->step_us;
    int64_t t = e->hooks.refine(e->hooks.ctx, fp, at_us, back, rising);
    return t >= at_us - back && t <= at_us + e->step_us ? t : at_us;
}

static uint64_t top_fp(const struct incident *inc)
{
    return inc->ncauses ? inc->causes[0].fingerprint : 0;
}

/* Keeps at most ENGINE_KEEP incidents: the oldest resolved ones go. */
static void make_room(struct engine *e)
{
    if (e->n < ENGINE_KEEP)
        return;
    size_t drop = 0;
    while (drop < e->n && (long)drop == e->open)
        drop++;
    incident_release(&e->incidents[drop]);
    memmove(&e->incidents[drop], &e->incidents[drop + 1],
            (e->n - drop - 1) * sizeof(*e->incidents));
    e->n--;
    if (e->open > (long)drop)
        e->open--;
}

static void open_incident(struct engine *e, const struct sample *s)
{
    make_room(e);
    e->incidents = xgrow(e->incidents, &e->cap, e->n + 1, sizeof(*e->incidents));
    struct incident *inc = &e->incidents[e->n];
    incident_init(inc);
    e->open = (long)e->n++;
    e->open_steps = 0;
    e->quiet = 0;
    inc->seq = ++e->seq;
    inc->state = INCIDENT_OPEN;
    inc->detected_us = s->end_us;
    inc->onset_us = s->start_us;
    const char *first_key = "";
    for (size_t i = 0; i < e->nchanges; i++) {
        const struct alert *a = alert_book_find(e->book, e->changes[i].id);
        if (!a || e->changes[i].change != ALERT_FIRED)
            continue;
        if (a->since_us < inc->onset_us || !*first_key) {
            if (a->since_us < inc->onset_us)
                inc->onset_us = a->since_us;
            first_key = a->f.key ? a->f.key : "";
        }
    }
    struct {
        int64_t t;
        char key[128];
    } seed = { inc->onset_us, "" };
    memset(seed.key, 0, sizeof(seed.key));
    strncpy(seed.key, first_key, sizeof(seed.key) - 1);
    inc->id = XXH3_64bits(&seed, sizeof(seed));
    inc->impact = json_object();
}

/* The causes' identity, to tell when the top one changed. */
struct top {
    enum cause_kind kind;
    uint64_t fp;
    bool critical, trigger, fix;
};

static struct top top_of(const struct incident *inc)
{
    struct top t = { CAUSE__COUNT, 0, inc->critical, inc->has_trigger, inc->has_fix };
    if (inc->ncauses) {
        t.kind = inc->causes[0].kind;
        t.fp = inc->causes[0].fingerprint;
    }
    return t;
}

/* The end of the incident before inc (0 if none): the normal stretch starts there. */
static int64_t normal_from(const struct engine *e, const struct incident *inc)
{
    int64_t from = 0;
    for (size_t i = 0; i < e->n; i++)
        if (&e->incidents[i] != inc && e->incidents[i].end_us &&
            e->incidents[i].end_us <= inc->onset_us && e->incidents[i].end_us > from)
            from = e->incidents[i].end_us;
    return from;
}

/*
 * When the top cause began, where it knows better than the alerts (two
 * minutes before them at most): a lock by its oldest wait; a release's
 * statement (a surge of new calls, a new fetch of too much) by its first
 * call, when it was new there. Alerts wait for enough calls in one
 * interval, and on a loaded server a new statement's first intervals can
 * hold few. Other causes are about a statement that ran before (a log
 * that keeps only slow statements shows it first when it turned slow).
 * 0 when the alerts' onset stands.
 */
static int64_t cause_began(const struct engine *e, const struct incident *inc)
{
    int64_t onset = inc->onset_us, from = onset - 120 * 1000000LL, t = onset;
    if (!inc->ncauses)
        return 0;
    const struct cause *g = &inc->causes[0];
    if (g->kind == CAUSE_LOCK_CONTENTION) {
        t = g->start_us;
    } else if (g->kind == CAUSE_DEPLOY_SURGE || g->kind == CAUSE_REDUNDANT_FETCH) {
        int64_t normal = normal_from(e, inc);
        t = diagnoser_first_call(e->diag, g->fingerprint, normal > from ? normal : from, onset);
    }
    return t < onset && t >= from ? t : 0;
}

static void diagnose(struct engine *e, struct incident *inc, int64_t end_us)
{
    json_t *kept = inc->impact ? json_incref(inc->impact) : NULL;
    json_t *unlisted = json_object_get(kept, "alerts_not_listed");
    json_int_t not_listed = json_integer_value(unlisted);
    json_decref(kept);
    diagnoser_diagnose(e->diag, inc->onset_us, end_us, inc);
    diagnose_plans(inc, e->hooks.plans, e->hooks.ctx, 2 * e->step_us);
    if (not_listed)
        json_object_set_new(inc->impact, "alerts_not_listed", json_integer(not_listed));
}

/* Applies this step's alert changes to the open incident; returns whether its story grew. */
static bool take_changes(struct engine *e, struct incident *inc)
{
    bool grew = false;
    for (size_t i = 0; i < e->nchanges; i++) {
        const struct change *c = &e->changes[i];
        struct incident_alert *m = member(inc, c->id);
        const struct alert *a = alert_book_find(e->book, c->id);
        if (c->change == ALERT_FIRED && a && !m) {
            grew |= member_add(inc, a);
        } else if (m && c->change == ALERT_RESOLVED) {
            m->resolved_us = inc->updated_us;
        } else if (m && a) {
            member_set(m, a);
            if (a->f.severity == FINDING_CRITICAL && !inc->critical) {
                inc->critical = true;
                grew = true;
            }
        }
    }
    /* The firing ones' latest numbers. */
    for (size_t i = 0; i < inc->nalerts; i++) {
        const struct alert *a = alert_book_find(e->book, inc->alerts[i].id);
        if (a)
            member_set(&inc->alerts[i], a);
    }
    return grew;
}

static int64_t last_abnormal(const struct incident *inc)
{
    int64_t end = 0;
    for (size_t i = 0; i < inc->nalerts; i++)
        if (inc->alerts[i].updated_us > end)
            end = inc->alerts[i].updated_us;
    return end;
}

/* Back to normal: the end is the end of the last interval that was not. */
static void resolve_incident(struct engine *e, struct incident *inc, int64_t now_us)
{
    int64_t end = last_abnormal(inc);
    inc->end_us = refine(e, top_fp(inc), end ? end : now_us, false);
    if (inc->end_us <= inc->onset_us)
        inc->end_us = end ? end : now_us;
    inc->state = INCIDENT_RESOLVED;
    diagnose(e, inc, inc->end_us);
    e->open = -1;
    tell(e, INCIDENT_CHANGE_RESOLVED, inc);
}

static void follow_incidents(struct engine *e, const struct sample *s)
{
    size_t nfiring;
    alert_book_firing(e->book, &nfiring);
    if (e->open < 0) {
        if (!nfiring)
            return;
        open_incident(e, s);
    }
    struct incident *inc = &e->incidents[e->open];
    inc->updated_us = s->end_us;
    e->open_steps++;
    struct top before = top_of(inc);
    bool opened = inc->nalerts == 0;
    bool grew = take_changes(e, inc);
    /*
     * An alert that flaps (a value hovering at its threshold, a statement
     * run a few times an interval) must not split one outage into many:
     * the incident resolves only after alert_clear intervals with none
     * firing, and an alert firing again before that rejoins it.
     */
    if (nfiring == 0) {
        if (++e->quiet >= e->cfg.alert_clear)
            resolve_incident(e, inc, s->end_us);
        return;
    }
    e->quiet = 0;
    if (opened)
        diagnoser_begin(e->diag, inc->onset_us, normal_from(e, inc));
    diagnose(e, inc, 0);
    if (opened) {
        int64_t onset = refine(e, top_fp(inc), inc->onset_us, true);
        int64_t began = cause_began(e, inc);
        if (began && began < onset)
            onset = began;
        if (onset != inc->onset_us) {
            inc->onset_us = onset;
            diagnoser_begin(e->diag, inc->onset_us, normal_from(e, inc));
            diagnose(e, inc, 0);
        }
        tell(e, INCIDENT_CHANGE_OPENED, inc);
        return;
    }
    struct top after = top_of(inc);
    if (grew || after.kind != before.kind || after.fp != before.fp ||
        after.critical != before.critical || after.trigger != before.trigger ||
        after.fix != before.fix)
        tell(e, INCIDENT_CHANGE_UPDATED, inc);
}

void engine_step(struct engine *e, const struct sample *s)
{
    detector_findings_free(e->findings, e->nfindings);
    e->findings = NULL;
    e->nfindings = 0;
    e->nchanges = 0;
    struct finding *extra = NULL;
    size_t nextra = diagnoser_change_findings(e->diag, s, &extra);
    if (s->gap) {
        diagnoser_add(e->diag, s, NULL, 0);
        return;
    }
    /* Nothing learned while an incident is open, unless it outlasts relearn: the new normal. */
    detector_hold(e->det, e->open >= 0 && (e->cfg.relearn == 0 || e->open_steps < e->cfg.relearn));
    struct finding *f = NULL;
    size_t n = 0;
    bool judged = detector_step(e->det, s, &f, &n);
    if (judged) {
        if (nextra) {
            f = xrealloc(f, (n + nextra) * sizeof(*f));
            memcpy(f + n, extra, nextra * sizeof(*f));
            n += nextra;
        }
        e->steps++;
        e->step_us = s->end_us - s->start_us;
    } else {
        detector_findings_free(extra, nextra);
        extra = NULL;
    }
    free(extra);
    e->findings = f;
    e->nfindings = n;
    alert_book_update(e->book, s, f, n, on_alert, e);
    diagnoser_add(e->diag, s, f, n);
    if (judged)
        follow_incidents(e, s);
}

/* --- reading ----------------------------------------------------------------------- */

const struct incident *engine_incidents(const struct engine *e, size_t *n)
{
    *n = e->n;
    return e->incidents;
}

const struct incident *engine_open_incident(const struct engine *e)
{
    return e->open >= 0 ? &e->incidents[e->open] : NULL;
}

const struct incident *engine_worst_incident(const struct engine *e)
{
    return incident_worst(e->incidents, e->n);
}

const struct finding *engine_findings(const struct engine *e, size_t *n)
{
    *n = e->nfindings;
    return e->findings;
}

const struct alert_book *engine_alert_book(const struct engine *e)
{
    return e->book;
}

void engine_finish(struct engine *e)
{
    if (e->open >= 0 && e->quiet > 0)
        resolve_incident(e, &e->incidents[e->open], e->incidents[e->open].updated_us);
}

long engine_steps(const struct engine *e)
{
    return e->steps;
}

json_t *engine_json(const struct engine *e)
{
    return incident_list_json(e->incidents, e->n);
}
