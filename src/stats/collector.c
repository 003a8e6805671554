/*
 * The aggregates stage; see collector.h.
 *
 * Pairing. PostgreSQL may log one call as two records of the same process:
 * "statement: …" (log_statement) and later "duration: … ms" alone, or an
 * auto_explain "plan:" and then "duration: … ms  statement: …". Each
 * process has a small state: the statement waiting for its duration and
 * the plan waiting for its statement, and the bind waiting to see whether
 * an execute follows it (a bind without one is a call of its own, timed by
 * the bind). A range of input may start in the
 * middle of such a pair, so a process's first record in a range is kept
 * aside (the "head") and settled by collector_merge against what the range
 * before left pending: the result is the one a single pass would give.
 */
#include "collector.h"

#include "internal.h"
#include "sql/fingerprint.h"
#include "sql/redact.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* A call as the pairing logic hands it to the aggregates. */
struct call {
    struct str text, params, plan;
    int64_t duration_us, ts_us;
    uint64_t line;
    uint32_t input;
    int32_t pid;
    uint32_t dims[DIM__COUNT];
};

/* An owned copy of a call, kept while it waits for its partner record. */
struct pending {
    bool active;
    struct buf text, params, plan;
    int64_t duration_us, ts_us;
    uint64_t line;
    uint32_t input;
    uint32_t dims[DIM__COUNT];
};

enum head_kind {
    HEAD_NONE,     /* no query record from this process in the range yet */
    HEAD_DURATION, /* the first was a bare duration line: kept for the merge */
    HEAD_QUERY,    /* the first was a query with its text (already counted) */
    HEAD_OTHER,    /* the first was a statement or plan left pending, or a disconnection */
};

struct pid_state {
    int32_t pid;
    enum head_kind head;
    int64_t head_duration_us, head_ts_us;
    uint64_t head_line;
    uint32_t head_input;
    struct pending stmt, plan;
    /*
     * The range's first plan-consuming event, when it is a plan: it is the previous range's last
     * execute's if that one matches (decided at the merge); otherwise it
     * meets the fate one pass would have given it here: paired with the
     * next call if that is its statement, else counted as a call of its own.
     */
    struct pending head_plan;
    enum { FATE_OPEN, FATE_ATTACH, FATE_SETTLE } head_plan_fate;
    uint64_t fate_fp, fate_line; /* FATE_ATTACH: the call it pairs with */
    uint32_t fate_input;
    /*
     * The range's first event that settles or takes a plan left pending by
     * the previous range: a call (takes it if it is its statement), a plan
     * or a disconnect (settle it). Statements without a duration, bare
     * durations, parse and bind leave a pending plan alone.
     */
    enum { CONS_NONE, CONS_CALL, CONS_PLAN, CONS_DISCONNECT } cons;
    uint64_t cons_fp, cons_line; /* CONS_CALL */
    uint32_t cons_input;
    bool last_touched; /* an event of the range set or cleared last_ok */
    /*
     * The last bind with its duration, until the process's next query
     * record: an execute is its call (the bind is counted beside it);
     * anything else, a disconnection or the end leaves it a call of its
     * own. bind_res is the range's first such record, for the merge: it
     * decides a bind the previous range left pending.
     */
    struct pending bind;
    enum { BRES_NONE, BRES_EXECUTE, BRES_OTHER } bind_res;
    /*
     * The last execute recorded with its duration. With the extended
     * protocol auto_explain logs the plan after the execute line (the
     * portal ends at the next message), so a plan with the same query and
     * duration right after it is that call's. (With the simple protocol
     * the plan comes first, before its statement line.)
     */
    bool last_ok;
    uint64_t last_fp, last_line;
    uint32_t last_input;
    int64_t last_duration_us;
};

/* ---- small helpers ---------------------------------------------------- */

static bool in_list(const char *const *list, struct str s)
{
    if (!list)
        return true;
    for (; *list; list++)
        if (str_eq_cstr(s, *list))
            return true;
    return false;
}

static bool keep_event(const struct collector *c, const struct event *ev)
{
    const struct collector_opts *o = c->opts;
    if (o->since_us != TS_NONE && (ev->ts_us == TS_NONE || ev->ts_us < o->since_us))
        return false;
    if (o->until_us != TS_NONE && (ev->ts_us == TS_NONE || ev->ts_us >= o->until_us))
        return false;
    return in_list(o->dbs, ev->db) && in_list(o->users, ev->user) && in_list(o->apps, ev->app);
}

static int64_t bucket_of(const struct collector *c, int64_t ts_us)
{
    int64_t w = c->opts->interval_us;
    int64_t b = ts_us / w;
    if (ts_us < 0 && b * w != ts_us)
        b--;
    return b * w;
}

static void pending_init(struct pending *p)
{
    memset(p, 0, sizeof(*p));
    buf_init(&p->text, 0);
    buf_init(&p->params, 0);
    buf_init(&p->plan, 0);
}

static void pending_release(struct pending *p)
{
    buf_release(&p->text);
    buf_release(&p->params);
    buf_release(&p->plan);
    p->active = false;
}

static void pending_set(struct pending *p, const struct call *k)
{
    buf_reset(&p->text);
    buf_reset(&p->params);
    buf_reset(&p->plan);
    buf_addslice(&p->text, k->text);
    buf_addslice(&p->params, k->params);
    buf_addslice(&p->plan, k->plan);
    p->duration_us = k->duration_us;
    p->ts_us = k->ts_us;
    p->line = k->line;
    p->input = k->input;
    memcpy(p->dims, k->dims, sizeof(p->dims));
    p->active = true;
}

static struct call pending_call(const struct pending *p, int32_t pid)
{
    struct call k = {
        .text = str_make(p->text.ptr, p->text.len),
        .params = str_make(p->params.ptr, p->params.len),
        .plan = str_make(p->plan.ptr, p->plan.len),
        .duration_us = p->duration_us,
        .ts_us = p->ts_us,
        .line = p->line,
        .input = p->input,
        .pid = pid,
    };
    memcpy(k.dims, p->dims, sizeof(k.dims));
    return k;
}

/* ---- lifecycle -------------------------------------------------------- */

static void qstat_init(struct qstat *q, uint64_t fp)
{
    memset(q, 0, sizeof(*q));
    q->fingerprint = fp;
    q->min_us = INT64_MAX;
    q->max_us = INT64_MIN;
    q->first_us = INT64_MAX;
    q->last_us = INT64_MIN;
    q->first_line = UINT64_MAX;
    q->first_input = UINT32_MAX;
    q->slowest.duration_us = -2;
    sketch_init(&q->sketch);
}

void collector_init(struct collector *c, const struct collector_opts *opts)
{
    memset(c, 0, sizeof(*c));
    c->opts = opts;
    arena_init(&c->arena, 256 * 1024);
    names_init(&c->names);
    buf_init(&c->norm, 4096);
    buf_init(&c->plan_outline, 256);
    hmap_init(&c->by_text);
    hmap_init(&c->by_fp);
    hmap_init(&c->tl_index);
    hmap_init(&c->err_index);
    hmap_init(&c->table_index);
    hmap_init(&c->pid_index);
    finetl_init(c);
    changes_init(c);
    xacts_init(c);
    c->first_us = INT64_MAX;
    c->last_us = INT64_MIN;
    c->max_queries = SIZE_MAX;
    if (opts->query_memory)
        c->max_queries = opts->query_memory > QSTAT_BYTES ? opts->query_memory / QSTAT_BYTES : 1;
    c->keep_max = UINT64_MAX;
    qstat_init(&c->other, 0);
}

static void example_release(struct example *e)
{
    free(e->text);
    free(e->params);
    free(e->plan);
    e->text = e->params = e->plan = NULL;
}

static void qstat_release(struct qstat *q)
{
    sketch_release(&q->sketch);
    example_release(&q->slowest);
    for (int d = 0; d < DIM__COUNT; d++)
        free(q->dims[d].items);
    free(q->series);
    free(q->fine);
    plans_release(q);
}

void collector_release(struct collector *c)
{
    for (size_t i = 0; i < c->nq; i++)
        qstat_release(&c->q[i]);
    qstat_release(&c->other);
    free(c->q);
    free(c->text_q);
    free(c->texts);
    free(c->text_len);
    free(c->raw);
    for (size_t i = 0; i < c->ntl; i++)
        sketch_release(&c->tl[i].sketch);
    free(c->tl);
    for (size_t i = 0; i < c->nerrs; i++) {
        free(c->errs[i].message);
        free(c->errs[i].statement);
    }
    free(c->errs);
    free(c->samples.gap_spans);
    free(c->inputs);
    free(c->tables);
    for (size_t i = 0; i < c->npids; i++) {
        pending_release(&c->pids[i].stmt);
        pending_release(&c->pids[i].plan);
        pending_release(&c->pids[i].head_plan);
        pending_release(&c->pids[i].bind);
    }
    free(c->pids);
    hmap_release(&c->by_text);
    hmap_release(&c->by_fp);
    hmap_release(&c->tl_index);
    hmap_release(&c->err_index);
    hmap_release(&c->table_index);
    hmap_release(&c->pid_index);
    finetl_release(c);
    changes_release(c);
    xacts_release(c);
    pooler_release(c);
    buf_release(&c->norm);
    buf_release(&c->plan_outline);
    names_release(&c->names);
    arena_release(&c->arena);
}

/* ---- lookups ---------------------------------------------------------- */

static struct input_stat *input_of(struct collector *c, uint32_t input)
{
    if (input >= c->ninputs) {
        c->inputs = xrealloc(c->inputs, (input + 1) * sizeof(*c->inputs));
        memset(c->inputs + c->ninputs, 0, (input + 1 - c->ninputs) * sizeof(*c->inputs));
        c->ninputs = input + 1;
    }
    return &c->inputs[input];
}

static struct tl_bucket *tl_at(struct collector *c, int64_t ts_us)
{
    int64_t b = bucket_of(c, ts_us);
    uint32_t idx;
    if (c->ntl && c->tl[c->ntl - 1].bucket == b)
        return &c->tl[c->ntl - 1];
    if (hmap_get(&c->tl_index, hmap_mix64((uint64_t)b), NULL, NULL, &idx))
        return &c->tl[idx];
    c->tl = xgrow(c->tl, &c->captl, c->ntl + 1, sizeof(*c->tl));
    struct tl_bucket *t = &c->tl[c->ntl];
    memset(t, 0, sizeof(*t));
    t->bucket = b;
    sketch_init(&t->sketch);
    hmap_put(&c->tl_index, hmap_mix64((uint64_t)b), (uint32_t)c->ntl);
    c->ntl++;
    return t;
}

struct text_key {
    const struct collector *c;
    struct str s;
};

static bool text_eq(const void *ctx, uint32_t val)
{
    const struct text_key *k = ctx;
    return k->c->text_len[val] == k->s.len && memcmp(k->c->texts[val], k->s.ptr, k->s.len) == 0;
}

/*
 * The raw cache: statements as logged, mapped to their normalised text.
 * Extended-protocol statements ($1 parameters) and statements without
 * literals repeat byte for byte, and parse, bind and execute log the same
 * text three times; a hash and a compare then replace the normaliser. A
 * direct-mapped table of fixed size: memory does not grow with the input.
 */
#define RAW_CACHE     1024
#define RAW_CACHE_MAX 256 /* longer statements are not cached */

struct raw_entry {
    uint64_t hash;
    uint32_t len;
    uint32_t text; /* text slot + 1; 0 = empty */
    char bytes[RAW_CACHE_MAX];
};

static struct qstat *qstat_by_fp(struct collector *c, uint64_t fp, bool create)
{
    uint32_t idx;
    if (hmap_get(&c->by_fp, fp, NULL, NULL, &idx))
        return &c->q[idx];
    if (!create)
        return NULL;
    c->q = xgrow(c->q, &c->capq, c->nq + 1, sizeof(*c->q));
    struct qstat *q = &c->q[c->nq];
    qstat_init(q, fp);
    hmap_put(&c->by_fp, fp, (uint32_t)c->nq);
    c->nq++;
    return q;
}

static bool keeps(const struct collector *c, uint64_t fp)
{
    return hmap_mix64(fp) <= c->keep_max;
}

static void qstat_fold(struct collector *dst, struct collector *src, struct qstat *d,
                       struct qstat *s, uint64_t line_base);

/*
 * Halves keep_max and folds the queries above it into `other`; the texts
 * of the rest are indexed again (those of the folded stay in the arena
 * until the end: a few bytes each, and a fold halves the queries) and the
 * raw cache, which names text slots, is emptied.
 */
static void collector_fold(struct collector *c)
{
    c->keep_max >>= 1;
    uint32_t *slot = xmalloc((c->nq ? c->nq : 1) * sizeof(*slot)); /* old index -> new */
    size_t n = 0;
    hmap_release(&c->by_fp);
    hmap_init(&c->by_fp);
    for (size_t i = 0; i < c->nq; i++) {
        if (!keeps(c, c->q[i].fingerprint)) {
            c->fine_points -= c->q[i].nfine;
            qstat_fold(c, c, &c->other, &c->q[i], 0);
            qstat_release(&c->q[i]);
            slot[i] = UINT32_MAX;
            continue;
        }
        if (n != i)
            c->q[n] = c->q[i];
        hmap_put(&c->by_fp, c->q[n].fingerprint, (uint32_t)n);
        slot[i] = (uint32_t)n++;
    }
    c->nq = n;
    size_t m = 0;
    hmap_release(&c->by_text);
    hmap_init(&c->by_text);
    for (size_t t = 0; t < c->ntexts; t++) {
        if (slot[c->text_q[t]] == UINT32_MAX)
            continue;
        c->texts[m] = c->texts[t];
        c->text_len[m] = c->text_len[t];
        c->text_q[m] = slot[c->text_q[t]];
        hmap_put(&c->by_text, fingerprint_hash(str_make(c->texts[m], c->text_len[m])), (uint32_t)m);
        m++;
    }
    c->ntexts = m;
    free(slot);
    if (c->raw)
        memset(c->raw, 0, RAW_CACHE * sizeof(*c->raw));
}

/* The qstat of fp, new if fp is kept (folding others first when full); NULL: fp is folded. */
static struct qstat *qstat_admit(struct collector *c, uint64_t fp)
{
    struct qstat *q = qstat_by_fp(c, fp, false);
    if (q)
        return q;
    while (keeps(c, fp) && c->nq >= c->max_queries)
        collector_fold(c);
    return keeps(c, fp) ? qstat_by_fp(c, fp, true) : NULL;
}

/* Interns normalised text n (hash h) as a new text slot of q. */
static uint32_t text_add(struct collector *c, struct str n, uint64_t h, const struct qstat *q)
{
    c->texts = xgrow(c->texts, &c->captexts, c->ntexts + 1, sizeof(*c->texts));
    c->text_q = xrealloc(c->text_q, c->captexts * sizeof(*c->text_q));
    c->text_len = xrealloc(c->text_len, c->captexts * sizeof(*c->text_len));
    uint32_t t = (uint32_t)c->ntexts++;
    c->texts[t] = arena_strdup(&c->arena, n);
    c->text_len[t] = n.len;
    c->text_q[t] = (uint32_t)(q - c->q);
    hmap_put(&c->by_text, h, t);
    return t;
}

/* text_for's answer for a statement of a folded query. */
#define TEXT_OTHER UINT32_MAX

/*
 * The text slot of a statement as logged: normalise, then look the text
 * up. TEXT_OTHER when its query is folded: other.fingerprint is then its
 * fingerprint and c->norm its text (such statements are not cached, so
 * each is normalised again).
 */
static uint32_t text_for(struct collector *c, struct str raw)
{
    uint64_t rh = 0;
    struct raw_entry *re = NULL;
    if (raw.len <= RAW_CACHE_MAX) {
        rh = fingerprint_hash(raw);
        if (!c->raw)
            c->raw = xcalloc(RAW_CACHE, sizeof(*c->raw));
        re = &c->raw[rh & (RAW_CACHE - 1)];
        if (re->text && re->hash == rh && re->len == raw.len &&
            memcmp(re->bytes, raw.ptr, raw.len) == 0)
            return re->text - 1;
    }
    buf_reset(&c->norm);
    redact_normalize(raw, &c->norm, NULL);
    struct str n = str_make(c->norm.ptr, c->norm.len);
    uint64_t h = fingerprint_hash(n);
    struct text_key key = { c, n };
    uint32_t t;
    if (!hmap_get(&c->by_text, h, text_eq, &key, &t)) {
        /* A new text: libpg_query's fingerprint, once. */
        bool parsed;
        uint64_t fp = fingerprint_sql(c->norm.ptr, c->norm.len, &parsed);
        struct qstat *q = qstat_admit(c, fp);
        if (!q) {
            c->other.fingerprint = fp;
            return TEXT_OTHER;
        }
        t = text_add(c, n, h, q);
        if (!q->query) {
            q->query = c->texts[t];
            q->parsed = parsed;
        }
    }
    if (re) {
        re->hash = rh;
        re->len = (uint32_t)raw.len;
        memcpy(re->bytes, raw.ptr, raw.len);
        re->text = t + 1;
    }
    return t;
}

/* The qstat of a statement; among texts libpg_query calls the same, it shows the first seen. */
static struct qstat *qstat_for(struct collector *c, struct str raw, uint64_t line, uint32_t input)
{
    uint32_t t = text_for(c, raw);
    if (t == TEXT_OTHER)
        return &c->other;
    struct qstat *q = &c->q[c->text_q[t]];
    if (!q->own && fingerprint_is_own(raw))
        q->own = true;
    if (input < q->first_input || (input == q->first_input && line < q->first_line)) {
        q->query = c->texts[t];
        q->first_line = line;
        q->first_input = input;
    }
    return q;
}

struct qstat *collector_qstat(struct collector *c, uint64_t fingerprint, struct str text,
                              uint32_t input, uint64_t line)
{
    struct qstat *q = qstat_admit(c, fingerprint);
    if (!q)
        return &c->other;
    uint64_t h = fingerprint_hash(text);
    struct text_key key = { c, text };
    uint32_t t;
    bool known = hmap_get(&c->by_text, h, text_eq, &key, &t);
    if (!known)
        t = text_add(c, text, h, q);
    if (!q->query) {
        /* Whether libpg_query parses it: the watcher knew but does not store it. */
        bool parsed;
        (void)fingerprint_sql(c->texts[t], c->text_len[t], &parsed);
        q->parsed = parsed;
    }
    if (!q->query || input < q->first_input || (input == q->first_input && line < q->first_line)) {
        q->query = c->texts[t];
        q->first_line = line;
        q->first_input = input;
    }
    return q;
}

/* Interns a name, remembering the last one per dimension (they repeat line after line). */
static uint32_t dim_name(struct collector *c, enum dim d, struct str s)
{
    struct str last = c->last_name_str[d];
    if (last.ptr && last.len == s.len) {
        /* Names are short: a loop beats a call to memcmp. */
        size_t i = 0;
        while (i < s.len && last.ptr[i] == s.ptr[i])
            i++;
        if (i == s.len)
            return c->last_name[d];
    }
    uint32_t id = names_intern(&c->names, s);
    c->last_name[d] = id;
    c->last_name_str[d] = names_get(&c->names, id);
    return id;
}

/* Is position (input, line) before the first sighting of item? */
static bool seen_before(uint32_t input, uint64_t line, const struct dim_count *item)
{
    return input < item->first_input || (input == item->first_input && line < item->first_line);
}

/*
 * Counts a name of one dimension, first seen at (input, line). Only the
 * DIM_MAX names seen first in the input are kept by name; the others count
 * as `other`. Choosing by input position, not by arrival, makes the kept
 * set the same whatever order the ranges of a file are merged in; a range's
 * collector (keep_all) keeps every name, so no count is lost to its own
 * `other` before the merge decides.
 */
static void dim_add(struct dim_top *d, uint32_t name, uint64_t count, uint32_t input, uint64_t line,
                    bool keep_all)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->items[i].name == name) {
            d->items[i].count += count;
            if (seen_before(input, line, &d->items[i])) {
                d->items[i].first_input = input;
                d->items[i].first_line = line;
            }
            return;
        }
    }
    struct dim_count item = { name, input, line, count };
    if (d->n < DIM_MAX || keep_all) {
        d->items = xgrow(d->items, &d->cap, d->n + 1, sizeof(*d->items));
        d->items[d->n++] = item;
        return;
    }
    size_t last = 0;
    for (size_t i = 1; i < d->n; i++)
        if (seen_before(d->items[last].first_input, d->items[last].first_line, &d->items[i]))
            last = i;
    if (seen_before(input, line, &d->items[last])) {
        d->other += d->items[last].count;
        d->items[last] = item;
    } else {
        d->other += count;
    }
}

bool series_put(struct series_point **v, size_t *n, size_t *cap, int64_t bucket, uint64_t calls,
                int64_t total_us)
{
    size_t i = *n;
    while (i > 0 && (*v)[i - 1].bucket > bucket)
        i--;
    if (i > 0 && (*v)[i - 1].bucket == bucket) {
        (*v)[i - 1].calls += calls;
        (*v)[i - 1].total_us += total_us;
        return false;
    }
    *v = xgrow(*v, cap, *n + 1, sizeof(**v));
    memmove(*v + i + 1, *v + i, (*n - i) * sizeof(**v));
    (*v)[i] = (struct series_point){ bucket, calls, total_us };
    (*n)++;
    return true;
}

static void series_add(struct qstat *q, int64_t bucket, uint64_t calls, int64_t total_us)
{
    series_put(&q->series, &q->nseries, &q->capseries, bucket, calls, total_us);
}

static char *dup_or_null(struct str s)
{
    return s.len ? xmemdup(s.ptr, s.len) : NULL;
}

/* Does candidate (duration, input, line) beat the current example? Longer wins, then earlier. */
static bool beats(int64_t dur, uint32_t input, uint64_t line, const struct example *e)
{
    if (dur != e->duration_us)
        return dur > e->duration_us;
    return input < e->input || (input == e->input && line < e->line);
}

/* ---- recording -------------------------------------------------------- */

static void note_time(struct collector *c, int64_t ts_us)
{
    if (ts_us == TS_NONE)
        return;
    if (ts_us < c->first_us)
        c->first_us = ts_us;
    if (ts_us > c->last_us)
        c->last_us = ts_us;
}

/* Counts one execution. */
static struct qstat *record_call(struct collector *c, const struct call *k)
{
    if (c->opts->min_duration_us >= 0 && k->duration_us < c->opts->min_duration_us)
        return NULL;
    struct qstat *q = qstat_for(c, k->text, k->line, k->input);
    q->calls++;
    c->queries++;
    if (k->duration_us >= 0) {
        int64_t d = k->duration_us;
        q->timed++;
        q->total_us += d;
        q->sumsq_us2 += (unsigned __int128)((uint64_t)d) * (uint64_t)d;
        if (d < q->min_us)
            q->min_us = d;
        if (d > q->max_us)
            q->max_us = d;
        sketch_add(&q->sketch, d);
        c->timed_queries++;
        c->total_us += d;
    }
    int64_t dur = k->duration_us;
    if (beats(dur, k->input, k->line, &q->slowest)) {
        example_release(&q->slowest);
        struct buf text = BUF_INIT;
        bool redacted = redact_statement(k->text, !c->opts->no_examples, &text);
        q->slowest = (struct example){ dur,
                                       k->ts_us,
                                       k->line,
                                       k->input,
                                       k->pid,
                                       buf_detach(&text, NULL),
                                       redacted ? NULL : dup_or_null(k->params),
                                       redacted ? NULL : dup_or_null(k->plan),
                                       redacted };
    }
    for (int d = 0; d < DIM__COUNT; d++)
        dim_add(&q->dims[d], k->dims[d], 1, k->input, k->line, c->keep_all_names);
    if (k->ts_us != TS_NONE) {
        if (k->ts_us < q->first_us)
            q->first_us = k->ts_us;
        if (k->ts_us > q->last_us)
            q->last_us = k->ts_us;
        int64_t b = bucket_of(c, k->ts_us);
        series_add(q, b, 1, k->duration_us > 0 ? k->duration_us : 0);
        struct tl_bucket *t = tl_at(c, k->ts_us);
        t->queries++;
        if (k->duration_us >= 0) {
            t->total_us += k->duration_us;
            sketch_add(&t->sketch, k->duration_us);
        }
        /* A folded call's text is still in c->norm (text_for). */
        bool folded = q == &c->other;
        const char *text = folded ? c->norm.ptr : q->query;
        finetl_add_call(c, folded ? NULL : q, k->ts_us, k->duration_us);
        changes_note_call(c, text, k->text, k->ts_us, k->pid, k->dims[DIM_APP], k->dims[DIM_USER],
                          k->input, k->line);
        xacts_note_call(c, q->fingerprint, text, k->ts_us, k->duration_us, k->pid, k->dims[DIM_APP],
                        k->dims[DIM_USER]);
    }
    return q;
}

static void record_prep(struct collector *c, const struct call *k, enum stmt_phase phase)
{
    if (k->duration_us < 0)
        return;
    struct qstat *q = qstat_for(c, k->text, k->line, k->input);
    if (phase == PH_PARSE) {
        q->parse_calls++;
        q->parse_us += k->duration_us;
    } else {
        q->bind_calls++;
        q->bind_us += k->duration_us;
    }
}

static void record_orphan(struct collector *c, int64_t duration_us)
{
    c->orphan_durations++;
    c->orphan_us += duration_us;
}

static struct pid_state *pid_at(struct collector *c, int32_t pid)
{
    uint32_t idx;
    uint64_t h = hmap_mix64((uint64_t)(uint32_t)pid);
    if (hmap_get(&c->pid_index, h, NULL, NULL, &idx))
        return &c->pids[idx];
    c->pids = xgrow(c->pids, &c->cappids, c->npids + 1, sizeof(*c->pids));
    struct pid_state *s = &c->pids[c->npids];
    memset(s, 0, sizeof(*s));
    s->pid = pid;
    pending_init(&s->stmt);
    pending_init(&s->plan);
    pending_init(&s->head_plan);
    pending_init(&s->bind);
    hmap_put(&c->pid_index, h, (uint32_t)c->npids);
    c->npids++;
    return s;
}

/* Counts a pending statement or plan as a call of its own. */
static void settle(struct collector *c, struct pending *p, int32_t pid)
{
    if (!p->active)
        return;
    struct call k = pending_call(p, pid);
    record_call(c, &k);
    p->active = false;
}

static void attach_plan(struct qstat *q, const struct pending *plan, uint32_t input, uint64_t line)
{
    if (q && q->slowest.input == input && q->slowest.line == line && !q->slowest.plan &&
        !q->slowest.redacted)
        q->slowest.plan = xmemdup(plan->plan.ptr, plan->plan.len);
}

/* Whether a plan of fingerprint fp that took duration_us is the last call's (see pid_state). */
static bool plan_follows_last(const struct pid_state *s, uint64_t fp, int64_t duration_us)
{
    if (!s->last_ok || s->last_fp != fp)
        return false;
    int64_t diff = duration_us - s->last_duration_us, tol = s->last_duration_us / 50;
    return (diff < 0 ? -diff : diff) <= (tol > 1000 ? tol : 1000);
}

static void on_query(struct collector *c, const struct event *ev, struct call *k)
{
    struct pid_state *s = pid_at(c, ev->pid);
    bool first = s->head == HEAD_NONE;
    if (s->bind_res == BRES_NONE)
        s->bind_res = ev->phase == PH_EXECUTE ? BRES_EXECUTE : BRES_OTHER;
    if (ev->phase == PH_EXECUTE)
        s->bind.active = false;
    else
        settle(c, &s->bind, ev->pid);
    if (ev->phase == PH_PARSE || ev->phase == PH_BIND) {
        record_prep(c, k, ev->phase);
        if (ev->phase == PH_BIND && k->duration_us >= 0)
            pending_set(&s->bind, k);
        return;
    }
    if (ev->phase == PH_NONE) {
        /* A bare duration closes the statement logged before it. */
        if (s->stmt.active) {
            s->stmt.duration_us = k->duration_us;
            settle(c, &s->stmt, ev->pid);
        } else if (first) {
            s->head = HEAD_DURATION;
            s->head_duration_us = k->duration_us;
            s->head_ts_us = k->ts_us;
            s->head_line = k->line;
            s->head_input = k->input;
            return;
        } else {
            record_orphan(c, k->duration_us);
        }
        if (first)
            s->head = HEAD_OTHER;
        return;
    }
    settle(c, &s->stmt, ev->pid);
    s->last_ok = false;
    s->last_touched = true;
    if (k->duration_us < 0) {
        /* log_statement: wait for the duration line. */
        pending_set(&s->stmt, k);
        if (first)
            s->head = HEAD_OTHER;
        return;
    }
    struct pending *plan = &s->plan;
    uint64_t plan_fp = 0;
    if (plan->active) {
        plan_fp = qstat_for(c, str_make(plan->text.ptr, plan->text.len), plan->line, plan->input)
                      ->fingerprint;
    }
    struct qstat *q = record_call(c, k);
    /* Read now: a later lookup of a folded statement changes other's fingerprint. */
    uint64_t qfp = q ? q->fingerprint : 0;
    /* Only an execute's plan comes after it; a simple statement's comes before. */
    s->last_ok = q != NULL && ev->phase == PH_EXECUTE;
    if (q) {
        s->last_fp = qfp;
        s->last_line = k->line;
        s->last_input = k->input;
        s->last_duration_us = k->duration_us;
    }
    if (first) {
        s->head = HEAD_QUERY;
        s->head_line = k->line;
        s->head_input = k->input;
    }
    if (s->cons == CONS_NONE) {
        s->cons = CONS_CALL;
        s->cons_fp = qfp;
        s->cons_line = k->line;
        s->cons_input = k->input;
    }
    if (plan->active) {
        if (q && plan_fp == qfp)
            attach_plan(q, plan, k->input, k->line);
        else
            settle(c, plan, ev->pid);
        plan->active = false;
    } else if (s->head_plan.active && s->head_plan_fate == FATE_OPEN) {
        uint64_t fp = qstat_for(c, str_make(s->head_plan.text.ptr, s->head_plan.text.len),
                                s->head_plan.line, s->head_plan.input)
                          ->fingerprint;
        if (q && fp == qfp) {
            s->head_plan_fate = FATE_ATTACH;
            s->fate_fp = fp;
            s->fate_input = k->input;
            s->fate_line = k->line;
        } else {
            s->head_plan_fate = FATE_SETTLE;
        }
    }
}

static void on_plan(struct collector *c, const struct event *ev, struct call *k)
{
    struct pid_state *s = pid_at(c, ev->pid);
    c->plans++;
    settle(c, &s->plan, ev->pid);
    if (k->text.len) {
        struct qstat *q = qstat_for(c, k->text, k->line, k->input);
        bool secret = c->opts->no_examples;
        if (!secret) {
            buf_reset(&c->norm);
            redact_normalize(k->text, &c->norm, &secret);
        }
        plans_note(c, q, ev->plan, !secret, k->ts_us, k->duration_us, k->input, k->line);
    }
    if (s->head_plan.active && s->head_plan_fate == FATE_OPEN)
        s->head_plan_fate = FATE_SETTLE;
    k->plan = ev->plan;
    if (s->last_ok && k->text.len) {
        struct qstat *q = qstat_for(c, k->text, k->line, k->input);
        if (q && plan_follows_last(s, q->fingerprint, k->duration_us)) {
            struct pending tmp;
            pending_init(&tmp);
            pending_set(&tmp, k);
            attach_plan(q, &tmp, s->last_input, s->last_line);
            pending_release(&tmp);
            s->last_ok = false;
            if (s->cons == CONS_NONE)
                s->cons = CONS_PLAN; /* it would have settled a plan left pending */
            s->last_touched = true;
            return;
        }
    }
    s->last_ok = false;
    bool inherited = !s->last_touched; /* last_ok is still the previous range's */
    s->last_touched = true;
    if (s->cons == CONS_NONE)
        s->cons = CONS_PLAN; /* it settles a plan the previous range left pending */
    if (inherited) {
        /* Its call may be the previous range's last execute: the merge decides. */
        pending_set(&s->head_plan, k);
        return;
    }
    pending_set(&s->plan, k);
}

struct err_key {
    const struct collector *c;
    struct str key;
};

static bool err_eq(const void *ctx, uint32_t val)
{
    const struct err_key *k = ctx;
    return strcmp(k->c->errs[val].key, k->key.ptr) == 0;
}

static struct errgroup *errgroup_for(struct collector *c, struct str sqlstate, struct str key,
                                     bool *created)
{
    uint64_t h = fingerprint_hash(key);
    struct err_key ek = { c, key };
    uint32_t idx;
    *created = false;
    if (hmap_get(&c->err_index, h, err_eq, &ek, &idx))
        return &c->errs[idx];
    c->errs = xgrow(c->errs, &c->caperrs, c->nerrs + 1, sizeof(*c->errs));
    struct errgroup *g = &c->errs[c->nerrs];
    memset(g, 0, sizeof(*g));
    g->key = arena_strdup(&c->arena, key);
    if (sqlstate.len)
        memcpy(g->sqlstate, sqlstate.ptr, sqlstate.len < 5 ? sqlstate.len : 5);
    g->first_us = INT64_MAX;
    g->last_us = INT64_MIN;
    g->first_line = UINT64_MAX;
    hmap_put(&c->err_index, h, (uint32_t)c->nerrs);
    c->nerrs++;
    *created = true;
    return g;
}

/* Whether an error at (input, line) is the one g shows: the first in the input. */
static bool errgroup_takes(const struct errgroup *g, uint32_t input, uint64_t line)
{
    return input < g->first_input || (input == g->first_input && line < g->first_line) ||
           !g->message;
}

/* Notes an error of g; message and statement are already as they may be shown. */
static void errgroup_note(struct errgroup *g, enum severity sev, int64_t ts, uint32_t input,
                          uint64_t line, struct str message, struct str statement)
{
    if (ts != TS_NONE && ts < g->first_us)
        g->first_us = ts;
    if (ts != TS_NONE && ts > g->last_us)
        g->last_us = ts;
    if (errgroup_takes(g, input, line)) {
        free(g->message);
        free(g->statement);
        g->message = xmemdup(message.ptr, message.len);
        g->statement = dup_or_null(statement);
        g->first_input = input;
        g->first_line = line;
        g->severity = sev;
    }
}

static void on_error(struct collector *c, const struct event *ev)
{
    struct tl_bucket *t = ev->ts_us != TS_NONE ? tl_at(c, ev->ts_us) : NULL;
    struct fine_bucket *f = ev->ts_us != TS_NONE ? finetl_bucket(c, ev->ts_us) : NULL;
    xacts_note_wait_end(c, ev->pid, ev->ts_us);
    c->errors++;
    if (ev->severity == SEV_FATAL)
        c->fatals++;
    if (ev->severity == SEV_PANIC)
        c->panics++;
    if (t) {
        t->errors++;
        f->errors++;
    }
    if (ev->flags & EVF_DEADLOCK) {
        c->deadlocks++;
        if (t) {
            t->deadlocks++;
            f->deadlocks++;
        }
    }
    if (ev->flags & EVF_POOL_REFUSED) {
        pooler_note_refused(c, ev);
    } else if (ev->flags & EVF_TOO_MANY_CLIENTS) {
        c->refused++;
        if (t) {
            t->refused++;
            f->refused++;
        }
    } else if (ev->severity >= SEV_FATAL) {
        /* A FATAL ends the session (an idle-in-transaction timeout, a termination). */
        xacts_note_end(c, ev->pid, ev->ts_us);
    }
    struct buf key = BUF_INIT;
    buf_add(&key, ev->sqlstate.ptr, ev->sqlstate.len);
    buf_addch(&key, ' ');
    redact_message(ev->message, &key);
    bool created;
    struct errgroup *g = errgroup_for(c, ev->sqlstate, str_make(key.ptr, key.len), &created);
    g->count++;
    struct str message = ev->message, statement = ev->statement;
    struct buf shown = BUF_INIT, stmt = BUF_INIT;
    if (errgroup_takes(g, ev->input, ev->line)) {
        /* PostgreSQL quotes the token it choked on: a secret statement's message is masked. */
        bool redacted = statement.len && redact_statement(statement, !c->opts->no_examples, &stmt);
        if (redacted)
            statement = str_make(stmt.ptr, stmt.len);
        if (redacted || c->opts->no_examples) {
            redact_message(message, &shown);
            message = str_make(shown.ptr, shown.len);
        }
    }
    errgroup_note(g, ev->severity, ev->ts_us, ev->input, ev->line, message, statement);
    buf_release(&shown);
    buf_release(&stmt);
    buf_release(&key);
}

static void on_table(struct collector *c, const struct event *ev)
{
    uint32_t name = names_intern(&c->names, ev->object);
    uint32_t idx;
    uint64_t h = hmap_mix64(name);
    if (!hmap_get(&c->table_index, h, NULL, NULL, &idx)) {
        c->tables = xgrow(c->tables, &c->captables, c->ntables + 1, sizeof(*c->tables));
        memset(&c->tables[c->ntables], 0, sizeof(*c->tables));
        c->tables[c->ntables].name = name;
        idx = (uint32_t)c->ntables++;
        hmap_put(&c->table_index, h, idx);
    }
    struct table_stat *ts = &c->tables[idx];
    int64_t d = ev->duration_us > 0 ? ev->duration_us : 0;
    if (ev->kind == EV_AUTOVACUUM) {
        ts->vacuums++;
        ts->vacuum_us += d;
        c->autovacuums++;
    } else {
        ts->analyzes++;
        ts->analyze_us += d;
        c->autoanalyzes++;
    }
}

static void on_disconnect(struct collector *c, const struct event *ev)
{
    c->disconnections++;
    c->session_us += ev->value;
    if (ev->ts_us != TS_NONE) {
        tl_at(c, ev->ts_us)->disconnections++;
        finetl_bucket(c, ev->ts_us)->disconnections++;
    }
    xacts_note_end(c, ev->pid, ev->ts_us);
    /* A statement still waiting for its duration will not get one now. */
    struct pid_state *s = pid_at(c, ev->pid);
    if (s->head == HEAD_NONE)
        s->head = HEAD_OTHER;
    settle(c, &s->stmt, ev->pid);
    settle(c, &s->plan, ev->pid);
    if (s->bind_res == BRES_NONE)
        s->bind_res = BRES_OTHER;
    settle(c, &s->bind, ev->pid);
    if (s->head_plan.active && s->head_plan_fate == FATE_OPEN)
        s->head_plan_fate = FATE_SETTLE;
    if (s->cons == CONS_NONE)
        s->cons = CONS_DISCONNECT;
}

void collector_add_event(void *ctx, const struct event *ev)
{
    struct collector *c = ctx;
    struct input_stat *in = input_of(c, ev->input);
    if (ev->kind == EV_UNPARSED) {
        in->unparsed++;
        if (in->nfirst < ARRAY_SIZE(in->first_unparsed))
            in->first_unparsed[in->nfirst++] = ev->line;
        return;
    }
    in->records++;
    if (!keep_event(c, ev)) {
        c->filtered++;
        return;
    }
    note_time(c, ev->ts_us);
    if (ev->ts_us != TS_NONE && !c->tz_known) {
        c->tz_offset_s = ev->tz_offset_s;
        c->tz_known = true;
    }
    struct tl_bucket *t;
    switch (ev->kind) {
    case EV_QUERY:
    case EV_PLAN: {
        struct call k = { .text = ev->statement,
                          .params = ev->params,
                          .duration_us = ev->duration_us,
                          .ts_us = ev->ts_us,
                          .line = ev->line,
                          .input = ev->input,
                          .pid = ev->pid };
        k.dims[DIM_USER] = dim_name(c, DIM_USER, ev->user);
        k.dims[DIM_DB] = dim_name(c, DIM_DB, ev->db);
        k.dims[DIM_APP] = dim_name(c, DIM_APP, ev->app);
        k.dims[DIM_CLIENT] = dim_name(c, DIM_CLIENT, ev->client);
        if (ev->kind == EV_PLAN)
            on_plan(c, ev, &k);
        else
            on_query(c, ev, &k);
        break;
    }
    case EV_ERROR:
        on_error(c, ev);
        break;
    case EV_LOCK_WAIT:
        c->lock_waits++;
        if (ev->ts_us != TS_NONE) {
            tl_at(c, ev->ts_us)->lock_waits++;
            finetl_bucket(c, ev->ts_us)->lock_waits++;
        }
        xacts_note_lock_wait(c, ev);
        break;
    case EV_LOCK_ACQUIRED:
        xacts_note_wait_end(c, ev->pid, ev->ts_us);
        c->lock_acquired++;
        c->lock_wait_us += ev->duration_us > 0 ? ev->duration_us : 0;
        break;
    case EV_CONN_RECEIVED:
        c->conn_received++;
        break;
    case EV_CONNECT:
        c->connections++;
        if (ev->ts_us != TS_NONE) {
            tl_at(c, ev->ts_us)->connections++;
            finetl_bucket(c, ev->ts_us)->connections++;
        }
        break;
    case EV_DISCONNECT:
        on_disconnect(c, ev);
        break;
    case EV_CHECKPOINT:
        c->checkpoints++;
        c->checkpoint_us += ev->duration_us > 0 ? ev->duration_us : 0;
        if (ev->ts_us != TS_NONE)
            tl_at(c, ev->ts_us)->checkpoints++;
        break;
    case EV_TEMP_FILE:
        c->temp_files++;
        c->temp_bytes += ev->value;
        if (ev->ts_us != TS_NONE) {
            t = tl_at(c, ev->ts_us);
            t->temp_files++;
            t->temp_bytes += ev->value;
        }
        break;
    case EV_AUTOVACUUM:
    case EV_AUTOANALYZE:
        on_table(c, ev);
        break;
    case EV_POOL_STATS:
        pooler_note_stats(c, ev);
        break;
    default:
        if (ev->flags & EVF_POOL_WAITED)
            pooler_note_wait(c, ev);
        if (ev->severity == SEV_WARNING)
            c->warnings++;
        changes_note_message(c, ev);
        break;
    }
}

/* ---- merging ---------------------------------------------------------- */

static uint32_t remap_name(struct collector *dst, const struct collector *src, uint32_t id)
{
    return names_intern(&dst->names, names_get(&src->names, id));
}

/* A pending call's names are ids of the collector it was seen in: move them to dst's. */
static void remap_pending(struct collector *dst, const struct collector *src, struct pending *p)
{
    for (int d = 0; d < DIM__COUNT; d++)
        p->dims[d] = remap_name(dst, src, p->dims[d]);
}

static void merge_example(struct example *dst, struct example *src, uint64_t line_base)
{
    if (src->duration_us == -2)
        return;
    src->line += line_base;
    if (dst->duration_us == -2 || beats(src->duration_us, src->input, src->line, dst)) {
        example_release(dst);
        *dst = *src;
        src->text = src->params = src->plan = NULL;
    }
}

/* Folds s (of src, lines from line_base) into d (of dst); src may be dst. */
static void qstat_fold(struct collector *dst, struct collector *src, struct qstat *d,
                       struct qstat *s, uint64_t line_base)
{
    bool other = d == &dst->other;
    uint64_t sline = s->first_line == UINT64_MAX ? UINT64_MAX : s->first_line + line_base;
    if (!other && (!d->query || s->first_input < d->first_input ||
                   (s->first_input == d->first_input && sline < d->first_line))) {
        d->query = arena_strdup(&dst->arena, str_cstr(s->query));
        d->parsed = s->parsed;
        d->first_line = sline;
        d->first_input = s->first_input;
    }
    d->own |= s->own;
    d->calls += s->calls;
    d->timed += s->timed;
    d->total_us += s->total_us;
    d->sumsq_us2 += s->sumsq_us2;
    if (s->min_us < d->min_us)
        d->min_us = s->min_us;
    if (s->max_us > d->max_us)
        d->max_us = s->max_us;
    sketch_merge(&d->sketch, &s->sketch);
    if (s->first_us < d->first_us)
        d->first_us = s->first_us;
    if (s->last_us > d->last_us)
        d->last_us = s->last_us;
    d->parse_calls += s->parse_calls;
    d->bind_calls += s->bind_calls;
    d->parse_us += s->parse_us;
    d->bind_us += s->bind_us;
    merge_example(&d->slowest, &s->slowest, line_base);
    for (int k = 0; k < DIM__COUNT; k++) {
        for (size_t i = 0; i < s->dims[k].n; i++)
            dim_add(&d->dims[k], remap_name(dst, src, s->dims[k].items[i].name),
                    s->dims[k].items[i].count, s->dims[k].items[i].first_input,
                    s->dims[k].items[i].first_line + line_base, dst->keep_all_names);
        d->dims[k].other += s->dims[k].other;
    }
    for (size_t i = 0; i < s->nseries; i++)
        series_add(d, s->series[i].bucket, s->series[i].calls, s->series[i].total_us);
    if (!other)
        finetl_merge_series(dst, d, s);
    plans_merge(d, s, line_base);
}

static void merge_qstat(struct collector *dst, struct collector *src, struct qstat *s,
                        uint64_t line_base)
{
    struct qstat *d = qstat_admit(dst, s->fingerprint);
    qstat_fold(dst, src, d ? d : &dst->other, s, line_base);
}

/*
 * Gives the first plan of the input's first range its fate (no earlier
 * range can claim it): paired with its call, counted alone, or, still
 * open, left waiting as the pid's pending plan.
 */
static void resolve_head_plan(struct collector *c, struct pid_state *s)
{
    if (!s->head_plan.active)
        return;
    if (s->head_plan_fate == FATE_ATTACH) {
        attach_plan(qstat_by_fp(c, s->fate_fp, false), &s->head_plan, s->fate_input, s->fate_line);
        s->head_plan.active = false;
    } else if (s->head_plan_fate == FATE_SETTLE || s->plan.active) {
        settle(c, &s->head_plan, s->pid);
    } else {
        struct pending tmp = s->plan;
        s->plan = s->head_plan;
        s->head_plan = tmp;
        s->head_plan.active = false;
    }
    s->head_plan_fate = FATE_OPEN;
}

/* Settles what dst left pending against src's first records (see the file comment). */
static void merge_pairs(struct collector *dst, struct collector *src, uint64_t line_base)
{
    for (size_t i = 0; i < src->npids; i++) {
        struct pid_state *s = &src->pids[i];
        struct pid_state *d = pid_at(dst, s->pid);
        resolve_head_plan(dst, d); /* dst starts the input */
        if (s->bind_res == BRES_EXECUTE)
            d->bind.active = false;
        else if (s->bind_res == BRES_OTHER)
            settle(dst, &d->bind, s->pid);
        if (d->bind_res == BRES_NONE)
            d->bind_res = s->bind_res;
        if (s->bind.active) {
            s->bind.line += line_base;
            remap_pending(dst, src, &s->bind);
            struct pending tmp = d->bind;
            d->bind = s->bind;
            s->bind = tmp;
            s->bind.active = false;
        }
        if (s->head == HEAD_DURATION) {
            if (d->stmt.active) {
                d->stmt.duration_us = s->head_duration_us;
                settle(dst, &d->stmt, s->pid);
            } else {
                record_orphan(dst, s->head_duration_us);
            }
        } else if (s->head != HEAD_NONE) {
            settle(dst, &d->stmt, s->pid);
        }
        /* A plan dst left waiting meets src's first plan-consuming event. */
        if (d->plan.active && s->cons == CONS_CALL) {
            struct pending *plan = &d->plan;
            uint64_t plan_fp =
                qstat_for(dst, str_make(plan->text.ptr, plan->text.len), plan->line, plan->input)
                    ->fingerprint;
            if (s->cons_fp == plan_fp) {
                attach_plan(qstat_by_fp(src, s->cons_fp, false), plan, s->cons_input, s->cons_line);
                plan->active = false;
            } else {
                settle(dst, plan, s->pid);
            }
        } else if (s->cons == CONS_PLAN || s->cons == CONS_DISCONNECT) {
            settle(dst, &d->plan, s->pid);
        }
        if (s->head_plan.active) {
            struct qstat *q = qstat_for(dst, str_make(s->head_plan.text.ptr, s->head_plan.text.len),
                                        s->head_plan.line + line_base, s->head_plan.input);
            if (q && plan_follows_last(d, q->fingerprint, s->head_plan.duration_us)) {
                attach_plan(q, &s->head_plan, d->last_input, d->last_line);
            } else if (s->head_plan_fate == FATE_ATTACH) {
                attach_plan(qstat_by_fp(src, s->fate_fp, false), &s->head_plan, s->fate_input,
                            s->fate_line);
            } else {
                s->head_plan.line += line_base;
                remap_pending(dst, src, &s->head_plan);
                if (s->head_plan_fate == FATE_SETTLE) {
                    settle(dst, &s->head_plan, s->pid);
                } else {
                    /* Still waiting for its statement, now in a later range. */
                    struct pending tmp = d->plan;
                    d->plan = s->head_plan;
                    s->head_plan = tmp;
                }
            }
            s->head_plan.active = false;
            s->head_plan_fate = FATE_OPEN;
        }
        /* What src leaves pending is now dst's. */
        if (s->head != HEAD_NONE || s->stmt.active || s->plan.active) {
            if (s->stmt.active) {
                s->stmt.line += line_base;
                remap_pending(dst, src, &s->stmt);
                struct pending tmp = d->stmt;
                d->stmt = s->stmt;
                s->stmt = tmp;
                s->stmt.active = false;
            }
            if (s->plan.active) {
                s->plan.line += line_base;
                remap_pending(dst, src, &s->plan);
                struct pending tmp = d->plan;
                d->plan = s->plan;
                s->plan = tmp;
                s->plan.active = false;
            }
            if (d->head == HEAD_NONE)
                d->head = HEAD_OTHER;
        }
        if (s->last_touched) {
            d->last_ok = s->last_ok;
            d->last_fp = s->last_fp;
            d->last_line = s->last_line + line_base;
            d->last_input = s->last_input;
            d->last_duration_us = s->last_duration_us;
        }
    }
}

void collector_merge(struct collector *dst, struct collector *src, uint64_t line_base)
{
    finetl_align(dst, src);
    /* A query src folded is folded in the whole input too: dst comes down to src's level. */
    while (dst->keep_max > src->keep_max)
        collector_fold(dst);
    merge_pairs(dst, src, line_base);
    qstat_fold(dst, src, &dst->other, &src->other, line_base);
    for (size_t i = 0; i < src->nq; i++) {
        merge_qstat(dst, src, &src->q[i], line_base);
        /* Freed at once, not with src: the peak then holds one copy of the queries, not two. */
        qstat_release(&src->q[i]);
        memset(&src->q[i], 0, sizeof(src->q[i]));
    }
    for (size_t i = 0; i < src->ntl; i++) {
        struct tl_bucket *s = &src->tl[i];
        struct tl_bucket *d = tl_at(dst, s->bucket);
        d->queries += s->queries;
        d->total_us += s->total_us;
        sketch_merge(&d->sketch, &s->sketch);
        d->errors += s->errors;
        d->connections += s->connections;
        d->disconnections += s->disconnections;
        d->lock_waits += s->lock_waits;
        d->deadlocks += s->deadlocks;
        d->refused += s->refused;
        d->temp_files += s->temp_files;
        d->checkpoints += s->checkpoints;
        d->temp_bytes += s->temp_bytes;
    }
    for (size_t i = 0; i < src->nerrs; i++) {
        struct errgroup *s = &src->errs[i];
        bool created;
        struct errgroup *d = errgroup_for(dst, str_cstr(s->sqlstate), str_cstr(s->key), &created);
        d->count += s->count;
        if (s->first_us < d->first_us)
            d->first_us = s->first_us;
        if (s->last_us > d->last_us)
            d->last_us = s->last_us;
        errgroup_note(d, s->severity, TS_NONE, s->first_input, s->first_line + line_base,
                      str_cstr(s->message), str_cstr(s->statement ? s->statement : ""));
    }
    for (size_t i = 0; i < src->ninputs; i++) {
        struct input_stat *s = &src->inputs[i];
        struct input_stat *d = input_of(dst, (uint32_t)i);
        d->records += s->records;
        d->unparsed += s->unparsed;
        for (size_t k = 0; k < s->nfirst && d->nfirst < ARRAY_SIZE(d->first_unparsed); k++)
            d->first_unparsed[d->nfirst++] = s->first_unparsed[k] + line_base;
    }
    for (size_t i = 0; i < src->ntables; i++) {
        struct table_stat *s = &src->tables[i];
        struct event ev;
        event_clear(&ev);
        ev.object = names_get(&src->names, s->name);
        /* Reuse on_table for the lookup, then add the counts. */
        uint32_t name = names_intern(&dst->names, ev.object);
        uint32_t idx;
        if (!hmap_get(&dst->table_index, hmap_mix64(name), NULL, NULL, &idx)) {
            dst->tables =
                xgrow(dst->tables, &dst->captables, dst->ntables + 1, sizeof(*dst->tables));
            memset(&dst->tables[dst->ntables], 0, sizeof(*dst->tables));
            dst->tables[dst->ntables].name = name;
            idx = (uint32_t)dst->ntables++;
            hmap_put(&dst->table_index, hmap_mix64(name), idx);
        }
        struct table_stat *d = &dst->tables[idx];
        d->vacuums += s->vacuums;
        d->analyzes += s->analyzes;
        d->vacuum_us += s->vacuum_us;
        d->analyze_us += s->analyze_us;
    }
    finetl_merge_buckets(dst, src);
    changes_merge(dst, src, line_base);
    xacts_merge(dst, src);
    pooler_merge(dst, src, line_base);
    for (size_t i = 0; i < src->samples.ngap_spans; i++)
        collector_add_gap(dst, src->samples.gap_spans[i].start_us,
                          src->samples.gap_spans[i].end_us);
    dst->samples.intervals += src->samples.intervals;
    dst->samples.gaps += src->samples.gaps;
    dst->samples.baselines += src->samples.baselines;
    dst->samples.covered_us += src->samples.covered_us;
    if (src->first_us < dst->first_us)
        dst->first_us = src->first_us;
    if (src->last_us > dst->last_us)
        dst->last_us = src->last_us;
    if (!dst->tz_known && src->tz_known) {
        dst->tz_offset_s = src->tz_offset_s;
        dst->tz_known = true;
    }
#define ADD(f) dst->f += src->f
    ADD(queries);
    ADD(timed_queries);
    ADD(errors);
    ADD(fatals);
    ADD(panics);
    ADD(warnings);
    ADD(total_us);
    ADD(orphan_durations);
    ADD(orphan_us);
    ADD(lock_waits);
    ADD(lock_acquired);
    ADD(deadlocks);
    ADD(refused);
    ADD(connections);
    ADD(conn_received);
    ADD(disconnections);
    ADD(checkpoints);
    ADD(temp_files);
    ADD(autovacuums);
    ADD(autoanalyzes);
    ADD(plans);
    ADD(lock_wait_us);
    ADD(session_us);
    ADD(temp_bytes);
    ADD(checkpoint_us);
    ADD(filtered);
#undef ADD
}

void collector_finish(struct collector *c)
{
    for (size_t i = 0; i < c->npids; i++) {
        /*
         * A range that was never merged after another: its first bare
         * duration had no statement before it.
         */
        if (c->pids[i].head == HEAD_DURATION) {
            record_orphan(c, c->pids[i].head_duration_us);
            c->pids[i].head = HEAD_OTHER;
        }
        resolve_head_plan(c, &c->pids[i]);
        settle(c, &c->pids[i].stmt, c->pids[i].pid);
        settle(c, &c->pids[i].plan, c->pids[i].pid);
        settle(c, &c->pids[i].bind, c->pids[i].pid);
    }
    xacts_finish(c);
    pooler_finish(c);
}

uint64_t collector_folded_queries(const struct collector *c)
{
    if (c->keep_max == UINT64_MAX)
        return 0;
    /* keep_max + 1 is a power of two, the kept share of the hashes. */
    int shift = 64 - __builtin_popcountll(c->keep_max);
    unsigned __int128 all = (unsigned __int128)c->nq << shift;
    return all - c->nq > UINT64_MAX ? UINT64_MAX : (uint64_t)(all - c->nq);
}

double qstat_stddev_ms(const struct qstat *q)
{
    if (q->timed < 2)
        return 0.0;
    long double n = (long double)q->timed;
    long double mean = (long double)q->total_us / n;
    long double var = ((long double)q->sumsq_us2 - n * mean * mean) / (n - 1);
    return var > 0 ? (double)(sqrtl(var) / 1000.0L) : 0.0;
}

/* ---- for the other aggregators of stats/ (internal.h) ------------------ */

bool collector_keeps(const char *const *list, struct str s)
{
    return in_list(list, s);
}

int64_t collector_bucket_start(const struct collector *c, int64_t ts_us)
{
    return bucket_of(c, ts_us);
}

struct tl_bucket *collector_bucket(struct collector *c, int64_t ts_us)
{
    return tl_at(c, ts_us);
}

void collector_note_time(struct collector *c, int64_t ts_us)
{
    note_time(c, ts_us);
}

void qstat_add_point(struct qstat *q, int64_t bucket, uint64_t calls, int64_t total_us)
{
    series_add(q, bucket, calls, total_us);
}

void collector_count_dim(struct collector *c, struct qstat *q, enum dim d, struct str name,
                         uint64_t count, uint32_t input, uint64_t line)
{
    dim_add(&q->dims[d], dim_name(c, d, name), count, input, line, c->keep_all_names);
}

void collector_add_gap(struct collector *c, int64_t start_us, int64_t end_us)
{
    struct interval_stat *st = &c->samples;
    struct gap_span *last = st->ngap_spans ? &st->gap_spans[st->ngap_spans - 1] : NULL;
    if (last && start_us <= last->end_us && end_us >= last->start_us) {
        /* Touches the previous span: one outage, not two. */
        if (start_us < last->start_us)
            last->start_us = start_us;
        if (end_us > last->end_us)
            last->end_us = end_us;
        return;
    }
    st->gap_spans =
        xgrow(st->gap_spans, &st->capgap_spans, st->ngap_spans + 1, sizeof(*st->gap_spans));
    st->gap_spans[st->ngap_spans++] = (struct gap_span){ start_us, end_us };
}
