/*
 * The watcher's bounded history (see history.h): after each poll the watch
 * loop adds the sample, and api.c turns the ring into the columns the live
 * page charts. Everything is allocated in history_new; adding a point only
 * overwrites, so a watcher that runs for months holds the same memory as
 * one that started a minute ago.
 */
#include "sink/history.h"

#include "util/compat.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct history *history_new(size_t capacity)
{
    struct history *h = xcalloc(1, sizeof(*h));
    h->cap = capacity ? capacity : HISTORY_DEFAULT_CAPACITY;
    h->points = xcalloc(h->cap, sizeof(*h->points));
    return h;
}

void history_free(struct history *h)
{
    if (!h)
        return;
    free(h->points);
    free(h);
}

size_t history_len(const struct history *h)
{
    return h->len;
}

const struct history_point *history_at(const struct history *h, size_t i)
{
    ASSERT(i < h->len);
    size_t oldest = (h->head + h->cap - h->len) % h->cap;
    return &h->points[(oldest + i) % h->cap];
}

const char *history_query_text(const struct history *h, uint64_t fingerprint)
{
    for (size_t i = 0; i < HISTORY_TEXTS; i++)
        if (h->texts[i].fingerprint == fingerprint && fingerprint)
            return h->texts[i].text;
    return NULL;
}

/* Remembers fp's text, replacing the least recently seen text when the table is full. */
static void remember_text(struct history *h, uint64_t fp, const char *text)
{
    struct history_text *slot = NULL;
    for (size_t i = 0; i < HISTORY_TEXTS; i++) {
        struct history_text *t = &h->texts[i];
        if (t->fingerprint == fp) {
            t->last_seen = h->seq;
            return;
        }
        if (!slot || t->last_seen < slot->last_seen || (!t->fingerprint && slot->fingerprint))
            slot = t;
    }
    size_t n = strlen(text ? text : "");
    if (n > HISTORY_TEXT_BYTES) {
        n = utf8_cut(text, HISTORY_TEXT_BYTES); /* never a UTF-8 sequence in two */
    }
    slot->fingerprint = fp;
    slot->last_seen = h->seq;
    memcpy(slot->text, text ? text : "", n);
    slot->text[n] = '\0';
}

static void add_top_queries(struct history *h, struct history_point *p, const struct sample *s)
{
    double total_ms = 0;
    for (int i = 0; i < s->nqueries; i++)
        total_ms += s->queries[i].total_ms;
    /* The poller sorts queries by total time; pick the top anyway so no order is assumed. */
    int idx[HISTORY_TOP];
    int n = 0;
    for (int i = 0; i < s->nqueries; i++) {
        const struct sample_query *q = &s->queries[i];
        if (!q->fingerprint || q->calls <= 0)
            continue;
        int at = n < HISTORY_TOP ? n++ : -1;
        if (at < 0) {
            if (q->total_ms <= s->queries[idx[HISTORY_TOP - 1]].total_ms)
                continue;
            at = HISTORY_TOP - 1;
        }
        while (at > 0 && s->queries[idx[at - 1]].total_ms < q->total_ms) {
            idx[at] = idx[at - 1];
            at--;
        }
        idx[at] = i;
    }
    double secs = sample_seconds(s);
    for (int k = 0; k < n; k++) {
        const struct sample_query *q = &s->queries[idx[k]];
        p->top[k].fingerprint = q->fingerprint;
        p->top[k].calls_per_s = (double)q->calls / secs;
        p->top[k].mean_ms = q->total_ms / (double)q->calls;
        p->top[k].time_pct = total_ms > 0 ? 100.0 * q->total_ms / total_ms : 0;
        remember_text(h, q->fingerprint, q->query);
    }
}

void history_add(struct history *h, const struct sample *s)
{
    struct history_point *p = &h->points[h->head];
    memset(p, 0, sizeof(*p));
    h->head = (h->head + 1) % h->cap;
    if (h->len < h->cap)
        h->len++;
    h->seq++;

    p->end_us = s->end_us;
    p->seconds = sample_seconds(s);
    p->gap = s->gap;
    if (s->gap)
        return;
    p->connections = s->connections;
    p->usable = sample_usable_connections(s);
    p->active = s->active;
    p->idle_in_transaction = s->idle_in_transaction;
    p->waiting = s->waiting;
    p->has_log = s->has_log;
    p->has_rates = !s->baseline_only;
    if (!p->has_rates)
        return;

    int64_t calls = 0;
    double total_ms = 0;
    for (int i = 0; i < s->nqueries; i++) {
        calls += s->queries[i].calls;
        total_ms += s->queries[i].total_ms;
    }
    p->calls_per_s = (double)calls / p->seconds;
    p->mean_ms = calls ? total_ms / (double)calls : 0;
    p->db_time_per_s = total_ms / 1000.0 / p->seconds;
    p->errors = s->log_errors;
    p->refused = s->log_refused;
    /* pg_stat_database and the log both see a deadlock: count it once. */
    p->deadlocks = s->db.deadlocks > s->log_deadlocks ? s->db.deadlocks : s->log_deadlocks;
    p->commits_per_s = (double)s->db.xact_commit / p->seconds;
    p->rollbacks_per_s = (double)s->db.xact_rollback / p->seconds;
    add_top_queries(h, p, s);
}
