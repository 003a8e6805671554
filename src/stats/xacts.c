/*
 * Who held connections and locks, from a log alone: per backend process,
 * its transaction (BEGIN to COMMIT, ROLLBACK or the session's end) and
 * its last statement. A transaction that held its connection for at least
 * XACT_LONG_US is kept, as is a single statement that ran that long and
 * every transaction still open where the log ends; the lock waits keep
 * the pids that held the lock (their DETAIL line). The diagnosis then
 * names the sessions that filled the pool or held a lock: application,
 * last statement, how long.
 *
 * Ranges merge exactly: a range records, per pid, the first event that
 * settles a transaction the previous range may have left open (an end, or
 * a BEGIN), the statements before it, and which of its own transactions
 * began first; the merge joins the previous range's open transaction to
 * them as one pass would have.
 */
#include "stats/internal.h"

#include "sql/fingerprint.h"
#include "sql/redact.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

struct xact_pid {
    int32_t pid;
    uint32_t app, user;
    bool in_xact;
    int64_t begin_us, last_us;
    uint64_t last_fp;
    /*
     * The head: what the range saw of this pid before its first BEGIN or
     * end, for a transaction the previous range left open.
     */
    bool head_done;          /* a BEGIN or an end settled it */
    bool head_end;           /* the settling event was an end */
    enum xact_end head_kind; /* head_end: how it ended */
    int64_t head_end_us;     /* head_end: when */
    int64_t head_last_us;    /* the last statement before it, 0 if none */
    uint64_t head_last_fp;
    /*
     * The range's first transaction of this pid (begun by the BEGIN that
     * settled the head): the previous range's open transaction, if any,
     * is the same one (a BEGIN inside a transaction is ignored). Its
     * record, once closed (always kept, even when short, until the end),
     * or -1 while it is open or when there is none.
     */
    bool first_open; /* it is the transaction now open */
    long first_rec;  /* its record's index once closed */
    long open_wait;  /* index of its lock wait that has not ended, or -1 */
    /* The first event that ends a wait, before any wait began in the range (0 if none). */
    int64_t head_wait_end_us;
    bool wait_seen; /* a wait began, or head_wait_end_us was set: later ends are not heads */
};

static uint64_t pid_hash(int32_t pid)
{
    return hmap_mix64((uint64_t)(uint32_t)pid);
}

void xacts_init(struct collector *c)
{
    hmap_init(&c->xpid_index);
}

void xacts_release(struct collector *c)
{
    for (size_t i = 0; i < c->nlockwaits; i++)
        free(c->lockwaits[i].statement);
    free(c->lockwaits);
    free(c->xacts);
    free(c->xpids);
    hmap_release(&c->xpid_index);
}

static struct xact_pid *xpid_at(struct collector *c, int32_t pid)
{
    uint32_t idx;
    if (hmap_get(&c->xpid_index, pid_hash(pid), NULL, NULL, &idx))
        return &c->xpids[idx];
    c->xpids = xgrow(c->xpids, &c->capxpids, c->nxpids + 1, sizeof(*c->xpids));
    struct xact_pid *x = &c->xpids[c->nxpids];
    memset(x, 0, sizeof(*x));
    x->pid = pid;
    x->first_rec = -1;
    x->open_wait = -1;
    hmap_put(&c->xpid_index, pid_hash(pid), (uint32_t)c->nxpids);
    c->nxpids++;
    return x;
}

static bool word_is(const char *q, const char *w)
{
    size_t n = strlen(w);
    return strncasecmp(q, w, n) == 0 && (q[n] == '\0' || q[n] == ' ' || q[n] == ';');
}

/* 1 for BEGIN / START TRANSACTION, 2 for COMMIT / END, 3 for ROLLBACK / ABORT, else 0. */
static int xact_word(const char *q)
{
    if (!q)
        return 0;
    if (word_is(q, "begin") || strncasecmp(q, "start transaction", 17) == 0)
        return 1;
    if (word_is(q, "commit") || word_is(q, "end"))
        return strncasecmp(q, "commit prepared", 15) == 0 ? 0 : 2;
    if ((word_is(q, "rollback") && strncasecmp(q, "rollback to", 11) != 0 &&
         strncasecmp(q, "rollback prepared", 17) != 0) ||
        word_is(q, "abort"))
        return 3;
    return 0;
}

static long rec_add(struct collector *c, const struct xact_rec *r)
{
    c->xacts = xgrow(c->xacts, &c->capxacts, c->nxacts + 1, sizeof(*c->xacts));
    c->xacts[c->nxacts] = *r;
    return (long)c->nxacts++;
}

/* Closes x's open transaction at ts_us; keeps it when long, or when it is the range's first. */
static void close_xact(struct collector *c, struct xact_pid *x, int64_t ts_us, enum xact_end how)
{
    struct xact_rec r = { x->pid,     x->app,     x->user, x->begin_us, ts_us,
                          x->last_us, x->last_fp, how,     false };
    if (x->first_open) {
        x->first_rec = rec_add(c, &r);
        x->first_open = false;
    } else if (ts_us - x->begin_us >= XACT_LONG_US) {
        rec_add(c, &r);
    }
    x->in_xact = false;
}

static void settle_head(struct xact_pid *x, bool end, enum xact_end how, int64_t ts_us)
{
    if (x->head_done)
        return;
    x->head_done = true;
    x->head_end = end;
    x->head_kind = how;
    x->head_end_us = ts_us;
}

static void wait_end(struct collector *c, struct xact_pid *x, int64_t ts_us)
{
    if (x->open_wait >= 0) {
        c->lockwaits[x->open_wait].end_us = ts_us;
        x->open_wait = -1;
    } else if (!x->wait_seen) {
        /* Its wait may have begun in the previous range: the merge decides. */
        x->head_wait_end_us = ts_us;
        x->wait_seen = true;
    }
}

void xacts_note_call(struct collector *c, uint64_t fp, const char *query, int64_t ts_us,
                     int64_t duration_us, int32_t pid, uint32_t app, uint32_t user)
{
    if (ts_us == TS_NONE || pid == 0)
        return;
    struct xact_pid *x = xpid_at(c, pid);
    x->app = app;
    x->user = user;
    wait_end(c, x, ts_us); /* a statement that completes is no longer waiting */
    int w = xact_word(query);
    if (w == 1) {
        if (!x->in_xact) {
            x->first_open = !x->head_done;
            settle_head(x, false, XACT_OPEN, ts_us);
            x->in_xact = true;
            x->begin_us = ts_us;
            x->last_us = ts_us;
            x->last_fp = 0;
        }
        return;
    }
    if (w) {
        enum xact_end how = w == 2 ? XACT_COMMIT : XACT_ROLLBACK;
        if (x->in_xact)
            close_xact(c, x, ts_us, how);
        else
            settle_head(x, true, how, ts_us);
        return;
    }
    if (x->in_xact) {
        x->last_us = ts_us;
        x->last_fp = fp;
        return;
    }
    if (!x->head_done) {
        x->head_last_us = ts_us;
        x->head_last_fp = fp;
    }
    if (duration_us >= XACT_LONG_US) {
        /* Before the head is settled it may be inside the previous range's transaction. */
        struct xact_rec r = { pid,   app, user,           ts_us - duration_us, ts_us,
                              ts_us, fp,  XACT_STATEMENT, !x->head_done };
        rec_add(c, &r);
    }
}

void xacts_note_end(struct collector *c, int32_t pid, int64_t ts_us)
{
    if (ts_us == TS_NONE || pid == 0)
        return;
    struct xact_pid *x = xpid_at(c, pid);
    if (x->in_xact)
        close_xact(c, x, ts_us, XACT_DISCONNECT);
    else
        settle_head(x, true, XACT_DISCONNECT, ts_us);
}

/* "Process holding the lock: 123. Wait queue: ..." or "Processes holding the lock: 1, 2. ..." */
static int parse_holders(struct str detail, int32_t *out, int max)
{
    long at = str_find(detail, "holding the lock: ");
    if (at < 0)
        return 0;
    const char *p = detail.ptr + at + 18, *end = detail.ptr + detail.len;
    int n = 0;
    while (p < end && n < max) {
        long v = 0;
        const char *s = p;
        while (p < end && *p >= '0' && *p <= '9' && v < 100000000)
            v = v * 10 + (*p++ - '0');
        if (p == s)
            break;
        out[n++] = (int32_t)v;
        if (p + 1 < end && p[0] == ',' && p[1] == ' ')
            p += 2;
        else
            break;
    }
    return n;
}

void xacts_note_lock_wait(struct collector *c, const struct event *ev)
{
    if (ev->ts_us == TS_NONE)
        return;
    c->lockwaits = xgrow(c->lockwaits, &c->caplockwaits, c->nlockwaits + 1, sizeof(*c->lockwaits));
    struct lock_wait_rec *w = &c->lockwaits[c->nlockwaits++];
    memset(w, 0, sizeof(*w));
    w->ts_us = ev->ts_us;
    w->end_us = INT64_MAX;
    w->pid = ev->pid;
    w->waited_us = ev->duration_us > 0 ? ev->duration_us : 0;
    w->nholders = parse_holders(ev->detail, w->holders, 4);
    struct xact_pid *x = xpid_at(c, ev->pid);
    x->open_wait = (long)(c->nlockwaits - 1);
    x->wait_seen = true;
    size_t mode = 0;
    while (mode < ev->object.len && ev->object.ptr[mode] != ' ' && mode + 1 < sizeof(w->mode))
        mode++;
    memcpy(w->mode, ev->object.ptr, mode);
    w->mode[mode] = '\0';
    if (ev->statement.len) {
        struct buf n = BUF_INIT;
        redact_normalize(ev->statement, &n, NULL);
        bool parsed;
        w->fp = fingerprint_sql(n.ptr, n.len, &parsed);
        w->statement = buf_detach(&n, NULL);
    }
}

void xacts_note_wait_end(struct collector *c, int32_t pid, int64_t ts_us)
{
    if (ts_us != TS_NONE && pid != 0)
        wait_end(c, xpid_at(c, pid), ts_us);
}

static uint32_t remap(struct collector *dst, const struct collector *src, uint32_t id)
{
    return names_intern(&dst->names, names_get(&src->names, id));
}

/* Joins a's open transaction to what b's range saw of the same pid first. */
static void join(struct collector *dst, struct xact_pid *a, const struct xact_pid *b,
                 struct collector *src)
{
    if (!b->head_done) {
        /* b saw only statements: the transaction goes on, and b's state is a's. */
        if (b->head_last_us) {
            a->last_us = b->head_last_us;
            a->last_fp = b->head_last_fp;
        }
        a->app = remap(dst, src, b->app);
        a->user = remap(dst, src, b->user);
        return;
    }
    if (b->head_last_us) {
        a->last_us = b->head_last_us;
        a->last_fp = b->head_last_fp;
    }
    if (b->head_end) {
        close_xact(dst, a, b->head_end_us, b->head_kind);
        return;
    }
    /* b's first BEGIN was inside a's transaction: one pass ignores it, so b's first is a's. */
    if (b->first_open) {
        a->in_xact = false;
    } else if (b->first_rec >= 0) {
        struct xact_rec *r = &src->xacts[b->first_rec];
        r->begin_us = a->begin_us;
        if (!r->last_fp) {
            r->last_us = a->last_us;
            r->last_fp = a->last_fp;
        }
        a->in_xact = false;
    }
}

void xacts_merge(struct collector *dst, struct collector *src)
{
    /*
     * First the open transactions of dst that src's range continues: src's
     * early statements of those pids were inside them, not on their own.
     */
    size_t wait_base = dst->nlockwaits;
    for (size_t i = 0; i < src->nxpids; i++) {
        const struct xact_pid *b = &src->xpids[i];
        uint32_t idx;
        if (b->head_wait_end_us && hmap_get(&dst->xpid_index, pid_hash(b->pid), NULL, NULL, &idx))
            wait_end(dst, &dst->xpids[idx], b->head_wait_end_us);
    }
    bool *joined = xcalloc(src->nxpids + 1, sizeof(bool));
    struct hmap joined_pids;
    hmap_init(&joined_pids);
    for (size_t i = 0; i < src->nxpids; i++) {
        const struct xact_pid *b = &src->xpids[i];
        uint32_t idx;
        if (!hmap_get(&dst->xpid_index, pid_hash(b->pid), NULL, NULL, &idx) ||
            !dst->xpids[idx].in_xact)
            continue;
        joined[i] = true;
        hmap_put(&joined_pids, pid_hash(b->pid), (uint32_t)i);
        join(dst, &dst->xpids[idx], b, src);
    }
    long *moved = xmalloc((src->nxacts + 1) * sizeof(long));
    for (size_t i = 0; i < src->nxacts; i++) {
        struct xact_rec r = src->xacts[i];
        uint32_t bi;
        moved[i] = -1;
        if (r.head && hmap_get(&joined_pids, pid_hash(r.pid), NULL, NULL, &bi) &&
            src->xpids[bi].pid == r.pid)
            continue;
        r.app = remap(dst, src, r.app);
        r.user = remap(dst, src, r.user);
        moved[i] = rec_add(dst, &r);
    }
    for (size_t i = 0; i < src->nxpids; i++) {
        const struct xact_pid *b = &src->xpids[i];
        uint32_t idx;
        bool had = hmap_get(&dst->xpid_index, pid_hash(b->pid), NULL, NULL, &idx);
        struct xact_pid *a = xpid_at(dst, b->pid);
        struct xact_pid saved = *a;
        bool goes_on = joined[i] && a->in_xact; /* a's transaction runs through all of b */
        if (!goes_on) {
            *a = *b;
            a->app = remap(dst, src, b->app);
            a->user = remap(dst, src, b->user);
            a->first_rec = b->first_rec >= 0 ? moved[b->first_rec] : -1;
            a->open_wait = b->open_wait >= 0 ? b->open_wait + (long)wait_base : -1;
            /* b's first transaction, still open, is the one dst's range began. */
            if (joined[i] && b->first_open)
                a->begin_us = saved.begin_us;
        }
        if (goes_on)
            a->open_wait = b->open_wait >= 0 ? b->open_wait + (long)wait_base : saved.open_wait;
        if (!had)
            continue;
        if (saved.wait_seen) {
            a->wait_seen = true;
            a->head_wait_end_us = saved.head_wait_end_us;
        }
        if (saved.head_done) {
            /* The merged range's head and first transaction are dst's. */
            a->head_done = true;
            a->head_end = saved.head_end;
            a->head_kind = saved.head_kind;
            a->head_end_us = saved.head_end_us;
            a->head_last_us = saved.head_last_us;
            a->head_last_fp = saved.head_last_fp;
            a->first_open = goes_on && saved.first_open;
            a->first_rec = saved.first_rec;
        } else if (!b->head_last_us) {
            a->head_last_us = saved.head_last_us;
            a->head_last_fp = saved.head_last_fp;
        }
    }
    free(moved);
    free(joined);
    hmap_release(&joined_pids);
    for (size_t i = 0; i < src->nlockwaits; i++) {
        dst->lockwaits =
            xgrow(dst->lockwaits, &dst->caplockwaits, dst->nlockwaits + 1, sizeof(*dst->lockwaits));
        dst->lockwaits[dst->nlockwaits++] = src->lockwaits[i];
        src->lockwaits[i].statement = NULL;
    }
}

static int cmp_rec(const void *a, const void *b)
{
    const struct xact_rec *x = a, *y = b;
    if (x->begin_us != y->begin_us)
        return x->begin_us < y->begin_us ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->end_us > y->end_us) - (x->end_us < y->end_us);
}

void xacts_finish(struct collector *c)
{
    size_t k = 0;
    /* Short ones kept only as a range's first transaction go now. */
    for (size_t i = 0; i < c->nxacts; i++)
        if (c->xacts[i].end == XACT_STATEMENT ||
            c->xacts[i].end_us - c->xacts[i].begin_us >= XACT_LONG_US)
            c->xacts[k++] = c->xacts[i];
    c->nxacts = k;
    for (size_t i = 0; i < c->nxpids; i++) {
        const struct xact_pid *x = &c->xpids[i];
        if (x->in_xact) {
            struct xact_rec r = { x->pid,     x->app,     x->user,   x->begin_us, INT64_MAX,
                                  x->last_us, x->last_fp, XACT_OPEN, false };
            rec_add(c, &r);
        }
    }
    if (c->nxacts) /* qsort wants an array even for none */
        qsort(c->xacts, c->nxacts, sizeof(*c->xacts), cmp_rec);
}
