/*
 * Changes between polls (see changes.h): each look keeps the indexes (by
 * schema and name), the settings (by scope and name) and the DDL sessions
 * it saw, and reports what differs from the previous look.
 */
#include "live/changes.h"

#include "sql/ddl.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* A name and what it holds: an index (key "schema.name") or a setting (key "scope\tname"). */
struct kv {
    char *key, *table, *value;
};

struct kvset {
    struct kv *v;
    size_t n, cap;
};

/* DDL sessions already reported: (pid, statement hash). */
struct seen_ddl {
    int pid;
    uint64_t hash;
};

/* Applications remembered; past this many, new names are no longer told. */
#define APPS_MAX 1000

struct live_changes {
    bool indexes_known, settings_known, apps_known;
    struct kvset indexes, settings, apps;
    struct seen_ddl *ddl;
    size_t nddl, capddl;
};

struct live_changes *live_changes_new(void)
{
    return xcalloc(1, sizeof(struct live_changes));
}

static void kvset_clear(struct kvset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        free(s->v[i].table);
        free(s->v[i].value);
    }
    s->n = 0;
}

void live_changes_free(struct live_changes *lc)
{
    if (!lc)
        return;
    kvset_clear(&lc->indexes);
    kvset_clear(&lc->settings);
    kvset_clear(&lc->apps);
    free(lc->indexes.v);
    free(lc->settings.v);
    free(lc->apps.v);
    free(lc->ddl);
    free(lc);
}

static void kvset_add(struct kvset *s, const char *key, const char *table, const char *value)
{
    s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
    s->v[s->n++] =
        (struct kv){ xstrdup(key), xstrdup(table ? table : ""), xstrdup(value ? value : "") };
}

static const struct kv *kvset_find(const struct kvset *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].key, key) == 0)
            return &s->v[i];
    return NULL;
}

static void add(struct sample *s, enum sample_change_kind kind, const char *object,
                const char *table, const char *detail, const char *statement, const char *app,
                const char *user, int pid)
{
    struct sample_change c = {
        kind, s->start_us, object, table, detail, statement, app, user, pid
    };
    sample_add_change(s, &c);
}

static bool has_change(const struct sample *s, enum sample_change_kind kind, const char *object)
{
    for (int i = 0; i < s->nchanges; i++)
        if (s->changes[i].kind == kind && strcmp(s->changes[i].object, object) == 0)
            return true;
    return false;
}

static void note_indexes(struct live_changes *lc, struct sample *s)
{
    struct kvset now = { 0 };
    struct buf key = BUF_INIT, table = BUF_INIT;
    for (int i = 0; i < s->nindexes; i++) {
        const struct sample_index *x = &s->indexes[i];
        buf_reset(&key);
        buf_reset(&table);
        buf_addf(&key, "%s.%s", x->schema, x->name);
        buf_addf(&table, "%s.%s", x->schema, x->table);
        kvset_add(&now, key.ptr, table.ptr, x->def);
        if (lc->indexes_known && !kvset_find(&lc->indexes, key.ptr))
            add(s, CHANGE_CREATE_INDEX, x->name, table.ptr, x->def, "", "", "", 0);
    }
    for (size_t i = 0; lc->indexes_known && i < lc->indexes.n; i++) {
        const struct kv *old = &lc->indexes.v[i];
        if (!kvset_find(&now, old->key))
            add(s, CHANGE_DROP_INDEX, strchr(old->key, '.') + 1, old->table, old->value, "", "", "",
                0);
    }
    buf_release(&key);
    buf_release(&table);
    kvset_clear(&lc->indexes);
    free(lc->indexes.v);
    lc->indexes = now;
    lc->indexes_known = true;
}

static void note_settings(struct live_changes *lc, struct sample *s, const PGresult *r)
{
    struct kvset now = { 0 };
    struct buf key = BUF_INIT, detail = BUF_INIT;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0), *value = PQgetvalue(r, i, 1);
        const char *scope = PQgetvalue(r, i, 2);
        buf_reset(&key);
        buf_addf(&key, "%s\t%s", scope, name);
        kvset_add(&now, key.ptr, scope, value);
        const struct kv *old = kvset_find(&lc->settings, key.ptr);
        if (!lc->settings_known || (old && strcmp(old->value, value) == 0))
            continue;
        /* An application's own (dotted) setting may hold a key: its value is not kept. */
        bool hide = strchr(name, '.') != NULL;
        buf_reset(&detail);
        buf_addf(&detail, "%s (%s%s%s)", hide ? "(value not kept)" : value, scope,
                 old && !hide ? ", was " : "", old && !hide ? old->value : "");
        add(s, CHANGE_SETTING, name, "", detail.ptr, "", "", "", 0);
    }
    for (size_t i = 0; lc->settings_known && i < lc->settings.n; i++) {
        const struct kv *old = &lc->settings.v[i];
        if (kvset_find(&now, old->key))
            continue;
        buf_reset(&detail);
        buf_addf(&detail, "(reset) (%s)", old->table);
        add(s, CHANGE_SETTING, strchr(old->key, '\t') + 1, "", detail.ptr, "", "", "", 0);
    }
    buf_release(&key);
    buf_release(&detail);
    kvset_clear(&lc->settings);
    free(lc->settings.v);
    lc->settings = now;
    lc->settings_known = true;
}

static enum sample_change_kind kind_of(enum ddl_kind k)
{
    switch (k) {
    case DDL_CREATE_INDEX:
        return CHANGE_CREATE_INDEX;
    case DDL_DROP_INDEX:
        return CHANGE_DROP_INDEX;
    case DDL_REINDEX:
        return CHANGE_REINDEX;
    case DDL_ALTER_TABLE:
        return CHANGE_ALTER_TABLE;
    case DDL_ANALYZE:
        return CHANGE_ANALYZE;
    case DDL_SETTING:
        return CHANGE_SETTING;
    case DDL_OTHER:
    case DDL_NONE:
        break;
    }
    return CHANGE_DDL;
}

/* A DDL statement pg_stat_statements counted in the interval, unless the catalog told it. */
static void note_statements(struct sample *s)
{
    int n = s->nqueries;
    for (int i = 0; i < n; i++) {
        const struct sample_query *q = &s->queries[i];
        struct ddl d;
        if (!ddl_parse(q->query, &d))
            continue;
        enum sample_change_kind k = kind_of(d.kind);
        if ((k == CHANGE_CREATE_INDEX || k == CHANGE_DROP_INDEX) && has_change(s, k, d.object))
            continue;
        add(s, k, d.object, d.table, d.detail, q->query, "", q->user, 0);
    }
}

/* A session running a DDL statement, or idle in the transaction one began: once per statement. */
static void note_sessions(struct live_changes *lc, struct sample *s)
{
    struct seen_ddl *now = NULL;
    size_t nnow = 0, cap = 0;
    for (int i = 0; i < s->nsessions; i++) {
        const struct sample_session *x = &s->sessions[i];
        if (!ddl_candidate(x->query))
            continue;
        uint64_t h = 1469598103934665603ULL;
        for (const char *p = x->query; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        now = xgrow(now, &cap, nnow + 1, sizeof(*now));
        now[nnow++] = (struct seen_ddl){ x->pid, h };
        bool seen = false;
        for (size_t k = 0; k < lc->nddl && !seen; k++)
            seen = lc->ddl[k].pid == x->pid && lc->ddl[k].hash == h;
        struct ddl d;
        if (seen || !ddl_parse(x->query, &d))
            continue;
        enum sample_change_kind k = kind_of(d.kind);
        if ((k == CHANGE_CREATE_INDEX || k == CHANGE_DROP_INDEX) && has_change(s, k, d.object))
            continue;
        add(s, k, d.object, d.table, d.detail, x->query, x->app, x->user, x->pid);
    }
    free(lc->ddl);
    lc->ddl = now;
    lc->nddl = nnow;
    lc->capddl = cap;
}

/* An application_name never seen before: a release, a job, a new client. */
static void note_apps(struct live_changes *lc, struct sample *s)
{
    for (int i = 0; i < s->nby_app; i++) {
        const char *name = s->by_app[i].name;
        if (!name || !*name || kvset_find(&lc->apps, name) || lc->apps.n >= APPS_MAX)
            continue;
        kvset_add(&lc->apps, name, "", "");
        if (lc->apps_known)
            add(s, CHANGE_NEW_APP, name, "", "", "", name, "", 0);
    }
    lc->apps_known = true;
}

void live_changes_note(struct live_changes *lc, struct sample *s, bool indexes_ok,
                       const PGresult *settings)
{
    note_apps(lc, s);
    if (indexes_ok)
        note_indexes(lc, s);
    if (settings)
        note_settings(lc, s, settings);
    note_sessions(lc, s);
    if (!s->baseline_only)
        note_statements(s);
}
