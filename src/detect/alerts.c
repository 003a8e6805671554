/*
 * The alert book: the stage after the detectors (see alerts.h). It keeps
 * two small lists, pending streaks (a finding seen but not yet for long
 * enough) and firing alerts, plus a ring of recently resolved ones. Each
 * interval it marks which entries saw their finding, moves entries between
 * the lists by the hysteresis rules, and only then tells the callback what
 * changed, so the callback always sees a settled book.
 *
 * The lists are searched linearly: they hold the alerts of one server
 * (tens, rarely thousands), and a linear search keeps removal trivial.
 */
#include "detect/alerts.h"

#include "util/buf.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/banned.h"

/* A pending streak or a firing alert. */
struct entry {
    struct alert a;                /* a.f.severity is the alert's (hysteresis) severity */
    int hits;                      /* consecutive intervals with the finding */
    int clear;                     /* consecutive intervals without it (firing only) */
    int lower;                     /* consecutive intervals at a lower severity (firing only) */
    bool hit;                      /* the finding is in the current interval */
    enum finding_severity raw_sev; /* the finding's severity in the current interval */
};

/* A change waiting to be told to the callback once the book is settled. */
struct event {
    enum alert_change change; /* what happened */
    uint64_t id;              /* to which alert */
};

struct alert_book {
    struct detect_config cfg;
    struct entry *firing, *pending;
    size_t nfiring, capfiring, npending, cappending;
    struct alert *view; /* shallow copies of firing[].a, for the accessors */
    size_t capview;
    struct alert *resolved; /* newest first, at most alert_resolved_max */
    size_t nresolved;
    struct alert *gone; /* resolved in the current interval, until told */
    size_t ngone, capgone;
    struct event *events;
    size_t nevents, capevents;
};

uint64_t alert_id(enum finding_kind kind, const char *key)
{
    struct buf b = BUF_INIT;
    buf_addstr(&b, finding_kind_name(kind));
    buf_addch(&b, '\0');
    buf_addstr(&b, key ? key : "");
    uint64_t h = XXH3_64bits(b.ptr, b.len);
    buf_release(&b);
    return h;
}

/*
 * Deadlocks, new queries and refused connections are events: they need no
 * streak; so is a finding its rule marks as one (clients a pooler turned away).
 */
static bool is_event(const struct finding *f)
{
    enum finding_kind k = f->kind;
    return f->event || k == FK_DEADLOCKS || k == FK_NEW_HEAVY_QUERY || k == FK_CONN_REFUSED ||
           k == FK_INDEX_ON_UPDATED;
}

/* For a HOT ratio, lower is worse; for every other measure, higher. */
static bool worse(enum finding_kind k, double value, double than)
{
    if (isnan(than))
        return !isnan(value);
    return k == FK_HOT_RATIO_DROP ? value < than : value > than;
}

struct alert_book *alert_book_new(const struct detect_config *cfg)
{
    struct alert_book *b = xcalloc(1, sizeof(*b));
    b->cfg = *cfg;
    if (b->cfg.alert_resolved_max > 0)
        b->resolved = xcalloc((size_t)b->cfg.alert_resolved_max, sizeof(*b->resolved));
    return b;
}

static void release_gone(struct alert_book *b)
{
    for (size_t i = 0; i < b->ngone; i++)
        finding_release(&b->gone[i].f);
    b->ngone = 0;
}

void alert_book_free(struct alert_book *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nfiring; i++)
        finding_release(&b->firing[i].a.f);
    for (size_t i = 0; i < b->npending; i++)
        finding_release(&b->pending[i].a.f);
    for (size_t i = 0; i < b->nresolved; i++)
        finding_release(&b->resolved[i].f);
    release_gone(b);
    free(b->view);
    free(b->firing);
    free(b->pending);
    free(b->resolved);
    free(b->gone);
    free(b->events);
    free(b);
}

static struct entry *find_entry(struct entry *v, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].a.id == id)
            return &v[i];
    return NULL;
}

static void add_event(struct alert_book *b, enum alert_change change, uint64_t id)
{
    b->events = xgrow(b->events, &b->capevents, b->nevents + 1, sizeof(*b->events));
    b->events[b->nevents++] = (struct event){ change, id };
}

/* Records finding f for the interval in its entry (created pending if new). */
static void take_finding(struct alert_book *b, const struct finding *f, int64_t start_us,
                         int64_t end_us)
{
    uint64_t id = alert_id(f->kind, f->key);
    struct entry *e = find_entry(b->firing, b->nfiring, id);
    if (!e)
        e = find_entry(b->pending, b->npending, id);
    if (!e) {
        b->pending = xgrow(b->pending, &b->cappending, b->npending + 1, sizeof(*b->pending));
        e = &b->pending[b->npending++];
        memset(e, 0, sizeof(*e));
        e->a.id = id;
        e->a.since_us = start_us;
        e->a.peak = NAN;
        e->a.f.severity = f->severity;
    }
    if (e->hit && f->severity <= e->raw_sev)
        return; /* a duplicate in this interval, not more severe */
    enum finding_severity kept = e->a.f.severity;
    finding_release(&e->a.f);
    finding_copy(&e->a.f, f);
    e->a.f.severity = kept;
    e->raw_sev = f->severity;
    if (!e->hit)
        e->hits++;
    e->hit = true;
    e->a.updated_us = end_us;
    if (worse(f->kind, f->value, e->a.peak))
        e->a.peak = f->value;
}

/* Moves a resolved alert into the step's list; told, then kept in the ring. */
static void resolve(struct alert_book *b, struct entry *e, int64_t end_us)
{
    e->a.resolved_us = end_us;
    b->gone = xgrow(b->gone, &b->capgone, b->ngone + 1, sizeof(*b->gone));
    b->gone[b->ngone++] = e->a;
    add_event(b, ALERT_RESOLVED, e->a.id);
}

/* Applies the interval to the firing alerts: severity changes and resolutions. */
static void settle_firing(struct alert_book *b, int64_t end_us)
{
    const struct detect_config *c = &b->cfg;
    size_t kept = 0;
    for (size_t i = 0; i < b->nfiring; i++) {
        struct entry *e = &b->firing[i];
        if (e->hit) {
            e->clear = 0;
            if (e->raw_sev > e->a.f.severity) {
                e->a.f.severity = e->raw_sev;
                e->lower = 0;
                add_event(b, ALERT_UPDATED, e->a.id);
            } else if (e->raw_sev < e->a.f.severity && ++e->lower >= c->alert_clear) {
                e->a.f.severity = e->raw_sev;
                e->lower = 0;
                add_event(b, ALERT_UPDATED, e->a.id);
            } else if (e->raw_sev == e->a.f.severity) {
                e->lower = 0;
            }
        } else {
            e->hits = 0;
            if (++e->clear >= c->alert_clear) {
                resolve(b, e, end_us);
                continue;
            }
        }
        b->firing[kept++] = *e;
    }
    b->nfiring = kept;
}

/* Applies the interval to the pending streaks: drop the broken, fire the long enough. */
static void settle_pending(struct alert_book *b)
{
    const struct detect_config *c = &b->cfg;
    size_t kept = 0;
    for (size_t i = 0; i < b->npending; i++) {
        struct entry *e = &b->pending[i];
        if (!e->hit) {
            finding_release(&e->a.f);
            continue;
        }
        int need = e->raw_sev == FINDING_CRITICAL ? c->alert_for_critical : c->alert_for_warning;
        if (e->hits >= need || is_event(&e->a.f)) {
            e->a.f.severity = e->raw_sev;
            e->clear = 0;
            e->lower = 0;
            b->firing = xgrow(b->firing, &b->capfiring, b->nfiring + 1, sizeof(*b->firing));
            b->firing[b->nfiring++] = *e;
            add_event(b, ALERT_FIRED, e->a.id);
            continue;
        }
        e->a.f.severity = e->raw_sev;
        b->pending[kept++] = *e;
    }
    b->npending = kept;
}

/* Puts a resolved alert first in the bounded list, dropping the oldest. */
static void keep_resolved(struct alert_book *b, struct alert *a)
{
    size_t cap = b->cfg.alert_resolved_max > 0 ? (size_t)b->cfg.alert_resolved_max : 0;
    if (cap == 0) {
        finding_release(&a->f);
        return;
    }
    if (b->nresolved == cap)
        finding_release(&b->resolved[--b->nresolved].f);
    memmove(b->resolved + 1, b->resolved, b->nresolved * sizeof(*b->resolved));
    b->resolved[0] = *a;
    b->nresolved++;
    memset(a, 0, sizeof(*a));
}

/* Refreshes the contiguous view of the firing alerts. */
static void refresh_view(struct alert_book *b)
{
    b->view = xgrow(b->view, &b->capview, b->nfiring ? b->nfiring : 1, sizeof(*b->view));
    for (size_t i = 0; i < b->nfiring; i++)
        b->view[i] = b->firing[i].a;
}

static const struct alert *find_gone(const struct alert_book *b, uint64_t id)
{
    for (size_t i = 0; i < b->ngone; i++)
        if (b->gone[i].id == id)
            return &b->gone[i];
    return NULL;
}

void alert_book_step(struct alert_book *b, int64_t start_us, int64_t end_us,
                     const struct finding *f, size_t n, alert_fn *fn, void *ctx)
{
    for (size_t i = 0; i < b->nfiring; i++)
        b->firing[i].hit = false;
    for (size_t i = 0; i < b->npending; i++)
        b->pending[i].hit = false;
    b->nevents = 0;
    for (size_t i = 0; i < n; i++)
        take_finding(b, &f[i], start_us, end_us);
    settle_firing(b, end_us);
    settle_pending(b);
    refresh_view(b);
    for (size_t i = 0; i < b->nevents && fn; i++) {
        const struct event *ev = &b->events[i];
        const struct alert *a =
            ev->change == ALERT_RESOLVED ? find_gone(b, ev->id) : alert_book_find(b, ev->id);
        ASSERT(a != NULL);
        fn(ctx, ev->change, a);
    }
    for (size_t i = 0; i < b->ngone; i++)
        keep_resolved(b, &b->gone[i]);
    b->ngone = 0;
}

void alert_book_update(struct alert_book *b, const struct sample *s, const struct finding *f,
                       size_t n, alert_fn *fn, void *ctx)
{
    if (s->gap || s->baseline_only)
        return;
    alert_book_step(b, s->start_us, s->end_us, f, n, fn, ctx);
}

const struct alert *alert_book_firing(const struct alert_book *b, size_t *n)
{
    *n = b->nfiring;
    return b->view;
}

const struct alert *alert_book_find(const struct alert_book *b, uint64_t id)
{
    for (size_t i = 0; i < b->nfiring; i++)
        if (b->view[i].id == id)
            return &b->view[i];
    return NULL;
}

const struct alert *alert_book_resolved(const struct alert_book *b, size_t *n)
{
    *n = b->nresolved;
    return b->resolved;
}

json_t *alert_book_json(const struct alert_book *b)
{
    json_t *firing = json_array(), *resolved = json_array();
    for (size_t i = 0; i < b->nfiring; i++)
        json_array_append_new(firing, alert_json(&b->view[i], -1));
    for (size_t i = 0; i < b->nresolved; i++)
        json_array_append_new(resolved, alert_json(&b->resolved[i], -1));
    json_t *o = json_object();
    json_object_set_new(o, "firing", firing);
    json_object_set_new(o, "resolved", resolved);
    return o;
}
