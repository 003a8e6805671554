/*
 * struct incident: names, lifecycle and the JSON form (see incident.h).
 * The JSON form is also what the store keeps, so incident_from_json reads
 * back exactly what incident_json wrote.
 */
#include "core/incident.h"

#include "util/jsonstr.h"
#include "util/xalloc.h"

#include <math.h>
#include <string.h>

#include "util/banned.h"

static const char *const cause_names[] = {
#define X(e, name, what) name,
    CAUSE_KINDS(X)
#undef X
};

static const char *const cause_whats[] = {
#define X(e, name, what) what,
    CAUSE_KINDS(X)
#undef X
};

const char *cause_kind_name(enum cause_kind k)
{
    return (unsigned)k < CAUSE__COUNT ? cause_names[k] : "unknown";
}

const char *cause_kind_what(enum cause_kind k)
{
    return (unsigned)k < CAUSE__COUNT ? cause_whats[k] : "";
}

enum cause_kind cause_kind_parse(const char *name)
{
    for (int k = 0; name && k < CAUSE__COUNT; k++)
        if (strcmp(cause_names[k], name) == 0)
            return (enum cause_kind)k;
    return CAUSE_UNKNOWN;
}

const char *verdict_name(enum verdict v)
{
    switch (v) {
    case VERDICT_RULED_OUT:
        return "ruled_out";
    case VERDICT_CANNOT_TELL:
        return "cannot_tell";
    case VERDICT_CONFIRMED:
        return "confirmed";
    }
    return "cannot_tell";
}

const char *incident_change_name(enum incident_change_kind c)
{
    switch (c) {
    case INCIDENT_CHANGE_OPENED:
        return "opened";
    case INCIDENT_CHANGE_UPDATED:
        return "updated";
    case INCIDENT_CHANGE_RESOLVED:
        return "resolved";
    }
    return "updated";
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

void cause_release(struct cause *c)
{
    free(c->query);
    free(c->table);
    for (size_t i = 0; i < c->ncolumns; i++)
        free(c->columns[i]);
    free(c->columns);
    free(c->index);
    json_decref(c->evidence);
    free(c->summary);
    free(c->fix);
    memset(c, 0, sizeof(*c));
}

void cause_copy(struct cause *dst, const struct cause *src)
{
    *dst = *src;
    dst->query = dup_or_null(src->query);
    dst->table = dup_or_null(src->table);
    dst->columns = src->ncolumns ? xmalloc(src->ncolumns * sizeof(char *)) : NULL;
    for (size_t i = 0; i < src->ncolumns; i++)
        dst->columns[i] = xstrdup(src->columns[i]);
    dst->index = dup_or_null(src->index);
    dst->evidence = src->evidence ? json_deep_copy(src->evidence) : json_object();
    dst->summary = dup_or_null(src->summary);
    dst->fix = dup_or_null(src->fix);
}

void incident_change_release(struct incident_change *c)
{
    free(c->object);
    free(c->table);
    free(c->detail);
    free(c->statement);
    free(c->app);
    free(c->user);
    free(c->why);
    memset(c, 0, sizeof(*c));
}

static void change_copy(struct incident_change *dst, const struct incident_change *src)
{
    *dst = *src;
    dst->object = dup_or_empty(src->object);
    dst->table = dup_or_empty(src->table);
    dst->detail = dup_or_empty(src->detail);
    dst->statement = dup_or_empty(src->statement);
    dst->app = dup_or_empty(src->app);
    dst->user = dup_or_empty(src->user);
    dst->why = dup_or_empty(src->why);
}

void incident_change_set(struct incident_change *dst, const struct sample_change *src,
                         const char *why)
{
    incident_change_release(dst);
    dst->kind = src->kind;
    dst->ts_us = src->ts_us;
    dst->pid = src->pid;
    dst->object = dup_or_empty(src->object);
    dst->table = dup_or_empty(src->table);
    dst->detail = dup_or_empty(src->detail);
    dst->statement = dup_or_empty(src->statement);
    dst->app = dup_or_empty(src->app);
    dst->user = dup_or_empty(src->user);
    dst->why = dup_or_empty(why);
}

void incident_init(struct incident *inc)
{
    memset(inc, 0, sizeof(*inc));
}

static void alert_release(struct incident_alert *a)
{
    free(a->kind);
    free(a->key);
    free(a->unit);
    free(a->summary);
}

void incident_release(struct incident *inc)
{
    for (size_t i = 0; i < inc->ncauses; i++)
        cause_release(&inc->causes[i]);
    free(inc->causes);
    for (size_t i = 0; i < inc->nsuspicions; i++) {
        free(inc->suspicions[i].name);
        free(inc->suspicions[i].evidence);
        free(inc->suspicions[i].needs);
    }
    free(inc->suspicions);
    incident_change_release(&inc->trigger);
    incident_change_release(&inc->fix);
    for (size_t i = 0; i < inc->nalerts; i++)
        alert_release(&inc->alerts[i]);
    free(inc->alerts);
    json_decref(inc->impact);
    memset(inc, 0, sizeof(*inc));
}

void incident_copy(struct incident *dst, const struct incident *src)
{
    *dst = *src;
    dst->causes = src->ncauses ? xmalloc(src->ncauses * sizeof(*dst->causes)) : NULL;
    for (size_t i = 0; i < src->ncauses; i++)
        cause_copy(&dst->causes[i], &src->causes[i]);
    dst->suspicions =
        src->nsuspicions ? xmalloc(src->nsuspicions * sizeof(*dst->suspicions)) : NULL;
    for (size_t i = 0; i < src->nsuspicions; i++) {
        const struct suspicion *s = &src->suspicions[i];
        dst->suspicions[i] = (struct suspicion){ xstrdup(s->name), s->verdict,
                                                 dup_or_null(s->evidence), dup_or_null(s->needs) };
    }
    memset(&dst->trigger, 0, sizeof(dst->trigger));
    memset(&dst->fix, 0, sizeof(dst->fix));
    if (src->has_trigger)
        change_copy(&dst->trigger, &src->trigger);
    if (src->has_fix)
        change_copy(&dst->fix, &src->fix);
    dst->alerts = src->nalerts ? xmalloc(src->nalerts * sizeof(*dst->alerts)) : NULL;
    for (size_t i = 0; i < src->nalerts; i++) {
        const struct incident_alert *a = &src->alerts[i];
        dst->alerts[i] = *a;
        dst->alerts[i].kind = xstrdup(a->kind);
        dst->alerts[i].key = xstrdup(a->key);
        dst->alerts[i].unit = xstrdup(a->unit ? a->unit : "");
        dst->alerts[i].summary = dup_or_null(a->summary);
    }
    dst->impact = src->impact ? json_deep_copy(src->impact) : NULL;
}

/* --- JSON ------------------------------------------------------------------ */

json_t *cause_json(const struct cause *g)
{
    json_t *o = json_object();
    json_object_set_new(o, "cause", json_string(cause_kind_name(g->kind)));
    json_object_set_new(o, "score", jsonstr_num(g->score));
    json_object_set_new(o, "fingerprint", jsonstr_hex64(g->fingerprint));
    json_object_set_new(o, "query", jsonstr_new(g->query));
    json_object_set_new(o, "table", jsonstr_new(g->table));
    json_t *cols = json_array();
    for (size_t k = 0; k < g->ncolumns; k++)
        json_array_append_new(cols, jsonstr_new(g->columns[k]));
    json_object_set_new(o, "columns", cols);
    json_object_set_new(o, "index", jsonstr_new(g->index));
    json_object_set_new(o, "start", jsonstr_time(g->start_us));
    json_object_set_new(o, "detected_at", jsonstr_time(g->detected_us));
    json_object_set_new(o, "evidence", g->evidence ? json_incref(g->evidence) : json_object());
    json_object_set_new(o, "summary", jsonstr_new(g->summary));
    json_object_set_new(o, "fix", jsonstr_new(g->fix));
    return o;
}

static json_t *change_json(const struct incident_change *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(sample_change_kind_name(c->kind)));
    json_object_set_new(o, "at", jsonstr_time(c->ts_us));
    json_object_set_new(o, "object", jsonstr_new(c->object));
    json_object_set_new(o, "table", jsonstr_new(c->table));
    json_object_set_new(o, "detail", jsonstr_new(c->detail));
    json_object_set_new(o, "statement", jsonstr_new(c->statement));
    json_object_set_new(o, "application", jsonstr_new(c->app));
    json_object_set_new(o, "user", jsonstr_new(c->user));
    json_object_set_new(o, "pid", c->pid ? json_integer(c->pid) : json_null());
    json_object_set_new(o, "why", jsonstr_new(c->why));
    return o;
}

static json_t *seconds_between(int64_t from_us, int64_t to_us)
{
    return from_us && to_us ? jsonstr_num((double)(to_us - from_us) / 1e6) : json_null();
}

json_t *incident_json(const struct incident *inc)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", jsonstr_hex64(inc->id));
    json_object_set_new(o, "seq", json_integer(inc->seq));
    json_object_set_new(o, "state", json_string(inc->state == INCIDENT_OPEN ? "open" : "resolved"));
    json_object_set_new(o, "severity", json_string(inc->critical ? "critical" : "warning"));
    json_object_set_new(o, "onset", jsonstr_time(inc->onset_us));
    json_object_set_new(o, "detected_at", jsonstr_time(inc->detected_us));
    json_object_set_new(o, "peak", jsonstr_time(inc->peak_us));
    json_object_set_new(o, "peak_db_time_s_per_s", jsonstr_num(inc->peak_db_s));
    json_object_set_new(o, "end", jsonstr_time(inc->end_us));
    json_object_set_new(o, "updated_at", jsonstr_time(inc->updated_us));
    json_object_set_new(
        o, "duration_s",
        seconds_between(inc->onset_us, inc->end_us ? inc->end_us : inc->updated_us));
    json_object_set_new(o, "time_to_detect_s", seconds_between(inc->onset_us, inc->detected_us));
    json_object_set_new(o, "time_to_recover_s",
                        inc->has_fix && inc->end_us ? seconds_between(inc->fix.ts_us, inc->end_us)
                                                    : json_null());
    json_object_set_new(o, "trigger", inc->has_trigger ? change_json(&inc->trigger) : json_null());
    json_object_set_new(o, "fix", inc->has_fix ? change_json(&inc->fix) : json_null());
    json_t *arr = json_array();
    for (size_t i = 0; i < inc->ncauses; i++)
        json_array_append_new(arr, cause_json(&inc->causes[i]));
    json_object_set_new(o, "causes", arr);
    json_t *ruled = json_array(), *sus = json_array();
    for (size_t i = 0; i < inc->nsuspicions; i++) {
        const struct suspicion *s = &inc->suspicions[i];
        json_t *j = json_object();
        json_object_set_new(j, "suspicion", jsonstr_new(s->name));
        json_object_set_new(j, "verdict", json_string(verdict_name(s->verdict)));
        json_object_set_new(j, "evidence", jsonstr_new(s->evidence));
        json_object_set_new(j, "needs", jsonstr_new(s->needs));
        if (s->verdict == VERDICT_RULED_OUT)
            json_array_append(ruled, j);
        json_array_append_new(sus, j);
    }
    json_object_set_new(o, "ruled_out", ruled);
    json_object_set_new(o, "suspicions", sus);
    arr = json_array();
    for (size_t i = 0; i < inc->nalerts; i++) {
        const struct incident_alert *a = &inc->alerts[i];
        json_t *j = json_object();
        json_object_set_new(j, "kind", jsonstr_new(a->kind));
        json_object_set_new(j, "key", jsonstr_new(a->key));
        json_object_set_new(j, "severity", json_string(a->critical ? "critical" : "warning"));
        json_object_set_new(j, "since", jsonstr_time(a->since_us));
        json_object_set_new(j, "updated_at", jsonstr_time(a->updated_us));
        json_object_set_new(j, "resolved_at", jsonstr_time(a->resolved_us));
        json_object_set_new(j, "peak", jsonstr_num(a->peak));
        json_object_set_new(j, "unit", jsonstr_new(a->unit));
        json_object_set_new(j, "summary", jsonstr_new(a->summary));
        json_array_append_new(arr, j);
    }
    json_object_set_new(o, "alerts", arr);
    json_object_set_new(o, "impact", inc->impact ? json_incref(inc->impact) : json_object());
    return o;
}

/* --- the worst of several, and a list ---------------------------------------- */

static double extra_db_s(const struct incident *inc)
{
    double v = json_number_value(json_object_get(inc->impact, "database_time_above_normal_s"));
    return isfinite(v) ? v : 0;
}

const struct incident *incident_worst(const struct incident *incs, size_t n)
{
    const struct incident *w = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct incident *x = &incs[i];
        if (!x->ncauses)
            continue;
        if (!w || (x->state == INCIDENT_OPEN) > (w->state == INCIDENT_OPEN) ||
            ((x->state == INCIDENT_OPEN) == (w->state == INCIDENT_OPEN) &&
             (x->critical > w->critical ||
              (x->critical == w->critical && extra_db_s(x) > extra_db_s(w)))))
            w = x;
    }
    return w;
}

json_t *incident_list_json(const struct incident *incs, size_t n)
{
    json_t *o = json_object(), *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, incident_json(&incs[i]));
    json_object_set_new(o, "incidents", arr);
    const struct incident *w = incident_worst(incs, n);
    json_t *causes = json_array(), *ruled = json_array();
    if (w) {
        json_t *j = incident_json(w);
        json_array_extend(causes, json_object_get(j, "causes"));
        json_array_extend(ruled, json_object_get(j, "ruled_out"));
        json_decref(j);
    }
    json_object_set_new(o, "diagnosis", causes);
    json_object_set_new(o, "ruled_out", ruled);
    return o;
}

/* --- reading it back ----------------------------------------------------------- */

static char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? xstrdup(s) : NULL;
}

static double num_of(const json_t *o, const char *key)
{
    const json_t *j = json_object_get(o, key);
    return json_is_number(j) ? json_number_value(j) : NAN;
}

static enum sample_change_kind change_kind_parse(const char *name)
{
    for (int k = 0; name && k < CHANGE__COUNT; k++)
        if (strcmp(sample_change_kind_name((enum sample_change_kind)k), name) == 0)
            return (enum sample_change_kind)k;
    return CHANGE_DDL;
}

static void change_from_json(struct incident_change *c, const json_t *j)
{
    memset(c, 0, sizeof(*c));
    c->kind = change_kind_parse(json_string_value(json_object_get(j, "kind")));
    c->ts_us = jsonstr_time_value(json_object_get(j, "at"));
    c->pid = (int)json_integer_value(json_object_get(j, "pid"));
    const char *keys[] = { "object", "table", "detail", "statement", "application", "user", "why" };
    char **dst[] = { &c->object, &c->table, &c->detail, &c->statement, &c->app, &c->user, &c->why };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *v = str_of(j, keys[i]);
        *dst[i] = v ? v : xstrdup("");
    }
}

static void cause_from_json(struct cause *g, const json_t *j)
{
    memset(g, 0, sizeof(*g));
    g->kind = cause_kind_parse(json_string_value(json_object_get(j, "cause")));
    g->score = num_of(j, "score");
    g->fingerprint = jsonstr_hex64_value(json_object_get(j, "fingerprint"));
    g->query = str_of(j, "query");
    g->table = str_of(j, "table");
    const json_t *cols = json_object_get(j, "columns");
    g->ncolumns = json_array_size(cols);
    g->columns = g->ncolumns ? xmalloc(g->ncolumns * sizeof(char *)) : NULL;
    for (size_t i = 0; i < g->ncolumns; i++) {
        const char *s = json_string_value(json_array_get(cols, i));
        g->columns[i] = xstrdup(s ? s : "");
    }
    g->index = str_of(j, "index");
    g->start_us = jsonstr_time_value(json_object_get(j, "start"));
    g->detected_us = jsonstr_time_value(json_object_get(j, "detected_at"));
    const json_t *ev = json_object_get(j, "evidence");
    g->evidence = json_is_object(ev) ? json_deep_copy(ev) : json_object();
    g->summary = str_of(j, "summary");
    g->fix = str_of(j, "fix");
}

int incident_from_json(struct incident *inc, const json_t *j)
{
    incident_init(inc);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "id")))
        return -1;
    inc->id = jsonstr_hex64_value(json_object_get(j, "id"));
    inc->seq = (int)json_integer_value(json_object_get(j, "seq"));
    const char *state = json_string_value(json_object_get(j, "state"));
    inc->state = state && strcmp(state, "open") == 0 ? INCIDENT_OPEN : INCIDENT_RESOLVED;
    const char *sev = json_string_value(json_object_get(j, "severity"));
    inc->critical = sev && strcmp(sev, "critical") == 0;
    inc->onset_us = jsonstr_time_value(json_object_get(j, "onset"));
    inc->detected_us = jsonstr_time_value(json_object_get(j, "detected_at"));
    inc->peak_us = jsonstr_time_value(json_object_get(j, "peak"));
    inc->peak_db_s = num_of(j, "peak_db_time_s_per_s");
    inc->end_us = jsonstr_time_value(json_object_get(j, "end"));
    inc->updated_us = jsonstr_time_value(json_object_get(j, "updated_at"));
    const json_t *t = json_object_get(j, "trigger"), *f = json_object_get(j, "fix");
    if ((inc->has_trigger = json_is_object(t)))
        change_from_json(&inc->trigger, t);
    if ((inc->has_fix = json_is_object(f)))
        change_from_json(&inc->fix, f);
    const json_t *arr = json_object_get(j, "causes");
    inc->ncauses = json_array_size(arr);
    inc->causes = inc->ncauses ? xcalloc(inc->ncauses, sizeof(*inc->causes)) : NULL;
    for (size_t i = 0; i < inc->ncauses; i++)
        cause_from_json(&inc->causes[i], json_array_get(arr, i));
    arr = json_object_get(j, "suspicions");
    inc->nsuspicions = json_array_size(arr);
    inc->suspicions = inc->nsuspicions ? xcalloc(inc->nsuspicions, sizeof(*inc->suspicions)) : NULL;
    for (size_t i = 0; i < inc->nsuspicions; i++) {
        const json_t *s = json_array_get(arr, i);
        const char *v = json_string_value(json_object_get(s, "verdict"));
        struct suspicion *d = &inc->suspicions[i];
        d->name = str_of(s, "suspicion");
        if (!d->name)
            d->name = xstrdup("");
        d->verdict = v && strcmp(v, "ruled_out") == 0   ? VERDICT_RULED_OUT
                     : v && strcmp(v, "confirmed") == 0 ? VERDICT_CONFIRMED
                                                        : VERDICT_CANNOT_TELL;
        d->evidence = str_of(s, "evidence");
        d->needs = str_of(s, "needs");
    }
    arr = json_object_get(j, "alerts");
    inc->nalerts = json_array_size(arr);
    inc->alerts = inc->nalerts ? xcalloc(inc->nalerts, sizeof(*inc->alerts)) : NULL;
    for (size_t i = 0; i < inc->nalerts; i++) {
        const json_t *a = json_array_get(arr, i);
        struct incident_alert *d = &inc->alerts[i];
        char *kind = str_of(a, "kind"), *key = str_of(a, "key"), *unit = str_of(a, "unit");
        d->kind = kind ? kind : xstrdup("");
        d->key = key ? key : xstrdup("");
        d->unit = unit ? unit : xstrdup("");
        const char *as = json_string_value(json_object_get(a, "severity"));
        d->critical = as && strcmp(as, "critical") == 0;
        d->since_us = jsonstr_time_value(json_object_get(a, "since"));
        d->updated_us = jsonstr_time_value(json_object_get(a, "updated_at"));
        d->resolved_us = jsonstr_time_value(json_object_get(a, "resolved_at"));
        d->peak = num_of(a, "peak");
        d->summary = str_of(a, "summary");
    }
    const json_t *impact = json_object_get(j, "impact");
    inc->impact = json_is_object(impact) ? json_deep_copy(impact) : NULL;
    return 0;
}
