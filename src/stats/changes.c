/*
 * The changes a log shows, the candidates for an incident's trigger and
 * fix: schema changes and ANALYZE from the statements (log_statement =
 * 'ddl' or log_min_duration_statement = 0 logs them), settings from
 * ALTER SYSTEM / DATABASE / ROLE ... SET and from the "parameter ...
 * changed to ..." lines of a reload, server starts; and when each
 * application_name was first seen, so a new one (a release) can be told.
 * Ranges append in input order, so the list is the one-pass list.
 */
#include "stats/internal.h"

#include "core/sample.h"
#include "sql/ddl.h"
#include "sql/redact.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* At most this many changes are kept; a log with more is a bulk load, not a migration. */
#define CHANGES_MAX 100000

void changes_init(struct collector *c)
{
    hmap_init(&c->app_index);
}

static void change_release(struct log_change *x)
{
    free(x->object);
    free(x->table);
    free(x->detail);
    free(x->statement);
}

void changes_release(struct collector *c)
{
    for (size_t i = 0; i < c->nchanges; i++)
        change_release(&c->changes[i]);
    free(c->changes);
    free(c->apps);
    hmap_release(&c->app_index);
}

static struct log_change *change_add(struct collector *c, int kind, int64_t ts_us)
{
    if (c->nchanges >= CHANGES_MAX)
        return NULL;
    c->changes = xgrow(c->changes, &c->capchanges, c->nchanges + 1, sizeof(*c->changes));
    struct log_change *x = &c->changes[c->nchanges++];
    memset(x, 0, sizeof(*x));
    x->kind = kind;
    x->ts_us = ts_us;
    return x;
}

static int change_kind_of(enum ddl_kind k)
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

static struct app_seen *app_at(struct collector *c, uint32_t name)
{
    uint32_t idx;
    if (hmap_get(&c->app_index, hmap_mix64(name), NULL, NULL, &idx))
        return &c->apps[idx];
    c->apps = xgrow(c->apps, &c->capapps, c->napps + 1, sizeof(*c->apps));
    struct app_seen *a = &c->apps[c->napps];
    *a = (struct app_seen){ name, INT64_MAX, INT64_MIN, 0 };
    hmap_put(&c->app_index, hmap_mix64(name), (uint32_t)c->napps);
    c->napps++;
    return a;
}

static void app_note(struct collector *c, uint32_t name, int64_t first_us, int64_t last_us,
                     uint64_t calls)
{
    struct app_seen *a = app_at(c, name);
    if (first_us < a->first_us)
        a->first_us = first_us;
    if (last_us > a->last_us)
        a->last_us = last_us;
    a->calls += calls;
}

void changes_note_call(struct collector *c, const char *query, struct str raw, int64_t ts_us,
                       int32_t pid, uint32_t app, uint32_t user, uint32_t input, uint64_t line)
{
    if (ts_us == TS_NONE)
        return;
    if (names_get(&c->names, app).len)
        app_note(c, app, ts_us, ts_us, 1);
    if (!ddl_candidate(query))
        return;
    struct buf text = BUF_INIT;
    buf_addslice(&text, raw);
    struct ddl d;
    bool ok = ddl_parse(text.ptr, &d);
    buf_release(&text);
    if (!ok)
        return;
    struct log_change *x = change_add(c, change_kind_of(d.kind), ts_us);
    if (!x)
        return;
    x->pid = pid;
    x->input = input;
    x->line = line;
    x->app = app;
    x->user = user;
    x->object = xstrdup(d.object);
    x->table = xstrdup(d.table);
    const char *scope = strrchr(d.detail, '(');
    if (c->opts->no_examples && d.kind == DDL_SETTING && scope) {
        /* No literal at all: the setting's name and scope, not its value. */
        struct buf v = BUF_INIT;
        buf_addf(&v, "(value not kept) %s", scope);
        x->detail = buf_detach(&v, NULL);
    } else {
        x->detail = xstrdup(d.detail);
    }
    x->statement = xstrdup(query);
}

/* The text between the first pair of double quotes after from, into out. */
static bool quoted(struct str m, size_t from, struct buf *out, size_t *end)
{
    size_t i = from;
    while (i < m.len && m.ptr[i] != '"')
        i++;
    size_t j = i + 1;
    while (j < m.len && m.ptr[j] != '"')
        j++;
    if (j >= m.len)
        return false;
    buf_reset(out);
    buf_add(out, m.ptr + i + 1, j - i - 1);
    *end = j + 1;
    return true;
}

void changes_note_message(struct collector *c, const struct event *ev)
{
    struct str m = ev->message;
    if (ev->ts_us == TS_NONE || ev->severity != SEV_LOG)
        return;
    if (str_starts(m, "database system is ready to accept connections")) {
        struct log_change *x = change_add(c, CHANGE_RESTART, ev->ts_us);
        if (x) {
            x->input = ev->input;
            x->line = ev->line;
            x->object = xstrdup("server");
            x->table = xstrdup("");
            x->detail = xstrdup("");
            x->statement = xstrdup("");
        }
        return;
    }
    if (!str_starts(m, "parameter \""))
        return;
    struct buf name = BUF_INIT, value = BUF_INIT;
    size_t end;
    if (quoted(m, 0, &name, &end) && m.len - end > 12 &&
        memcmp(m.ptr + end, " changed to ", 12) == 0 && quoted(m, end, &value, &end)) {
        struct log_change *x = change_add(c, CHANGE_SETTING, ev->ts_us);
        if (x) {
            x->input = ev->input;
            x->line = ev->line;
            x->object = xstrdup(name.ptr);
            x->table = xstrdup("");
            /* A setting that may hold a key (redact_setting): no value. */
            struct buf d = BUF_INIT;
            buf_addf(&d, "%s (configuration file)",
                     redact_setting(name.ptr) || c->opts->no_examples ? "(value not kept)"
                                                                      : value.ptr);
            x->detail = buf_detach(&d, NULL);
            x->statement = xstrdup("");
        }
    }
    buf_release(&name);
    buf_release(&value);
}

void changes_merge(struct collector *dst, const struct collector *src, uint64_t line_base)
{
    for (size_t i = 0; i < src->nchanges; i++) {
        const struct log_change *s = &src->changes[i];
        struct log_change *x = change_add(dst, s->kind, s->ts_us);
        if (!x)
            break;
        *x = *s;
        x->line += line_base;
        x->app = names_intern(&dst->names, names_get(&src->names, s->app));
        x->user = names_intern(&dst->names, names_get(&src->names, s->user));
        x->object = xstrdup(s->object);
        x->table = xstrdup(s->table);
        x->detail = xstrdup(s->detail);
        x->statement = xstrdup(s->statement);
    }
    for (size_t i = 0; i < src->napps; i++) {
        const struct app_seen *a = &src->apps[i];
        app_note(dst, names_intern(&dst->names, names_get(&src->names, a->name)), a->first_us,
                 a->last_us, a->calls);
    }
}
