/*
 * Names and lifecycle of findings and alerts (see finding.h). The
 * detectors and the alert book live in detect.c and alerts.c.
 */
#include "detect/finding.h"

#include "util/xalloc.h"

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
    return s == SEV_CRITICAL ? "critical" : "warning";
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
