/*
 * Names and lifecycle of findings and alerts (see finding.h). The
 * detectors and the alert book live in detect.c and alerts.c.
 */
#include "detect/finding.h"

#include "util/buf.h"
#include "util/jsonstr.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char *const kind_names[] = {
#define X(e, name, scope) name,
    FINDING_KINDS(X)
#undef X
};

static const char *const kind_scopes[] = {
#define X(e, name, scope) scope,
    FINDING_KINDS(X)
#undef X
};

const char *finding_kind_name(enum finding_kind k)
{
    return (unsigned)k < FK__COUNT ? kind_names[k] : "unknown";
}

const char *finding_kind_scope(enum finding_kind k)
{
    return (unsigned)k < FK__COUNT ? kind_scopes[k] : "server";
}

const char *finding_severity_name(enum finding_severity s)
{
    return s == FINDING_CRITICAL ? "critical" : "warning";
}

const char *alert_change_name(enum alert_change c)
{
    switch (c) {
    case ALERT_FIRED:
        return "fired";
    case ALERT_UPDATED:
        return "updated";
    case ALERT_RESOLVED:
        return "resolved";
    }
    return "unknown";
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void finding_copy(struct finding *dst, const struct finding *src)
{
    *dst = *src;
    dst->key = dup_or_null(src->key);
    dst->query = dup_or_null(src->query);
    dst->table = dup_or_null(src->table);
    dst->summary = dup_or_null(src->summary);
    dst->next = dup_or_null(src->next);
}

void finding_release(struct finding *f)
{
    free(f->key);
    free(f->query);
    free(f->table);
    free(f->summary);
    free(f->next);
    memset(f, 0, sizeof(*f));
}

static void set_str(json_t *o, const char *key, const char *val)
{
    json_object_set_new(o, key, jsonstr_new(val));
}

static void set_num(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, isfinite(v) ? json_real(v) : json_null());
}

static void set_time(json_t *o, const char *key, int64_t ts_us)
{
    if (ts_us == 0) {
        json_object_set_new(o, key, json_null());
        return;
    }
    struct buf b = BUF_INIT;
    tstamp_format(&b, ts_us, 0);
    json_object_set_new(o, key, json_string(b.ptr));
    buf_release(&b);
}

json_t *finding_json(const struct finding *f)
{
    json_t *o = json_object();
    set_str(o, "kind", finding_kind_name(f->kind));
    set_str(o, "scope", finding_kind_scope(f->kind));
    set_str(o, "severity", finding_severity_name(f->severity));
    set_str(o, "key", f->key);
    if (f->fingerprint) {
        char hex[17];
        snprintf(hex, sizeof(hex), "%016" PRIx64, f->fingerprint);
        set_str(o, "fingerprint", hex);
    } else {
        json_object_set_new(o, "fingerprint", json_null());
    }
    set_str(o, "query", f->query);
    set_str(o, "table", f->table);
    json_object_set_new(o, "pid", f->pid ? json_integer(f->pid) : json_null());
    set_num(o, "value", f->value);
    set_num(o, "baseline", f->baseline);
    set_num(o, "threshold", f->threshold);
    set_str(o, "unit", f->unit);
    set_str(o, "summary", f->summary);
    set_str(o, "next", f->next);
    return o;
}

json_t *alert_json(const struct alert *a, int change)
{
    json_t *o = finding_json(&a->f);
    char id[17];
    snprintf(id, sizeof(id), "%016" PRIx64, a->id);
    set_str(o, "id", id);
    if (change >= 0)
        set_str(o, "change", alert_change_name((enum alert_change)change));
    set_str(o, "state", a->resolved_us ? "resolved" : "firing");
    set_time(o, "since", a->since_us);
    set_time(o, "updated", a->updated_us);
    set_time(o, "resolved", a->resolved_us);
    set_num(o, "peak", a->peak);
    return o;
}
