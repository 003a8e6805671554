/*
 * The distinct plans each query ran, from the plans auto_explain logged:
 * a plan's shape is its tree of nodes with the relations and indexes they
 * read (costs, row counts, times and conditions left out, so one plan
 * with other parameters is the same shape), kept per query with when it
 * was first and last seen, how often, and its slowest plan as logged.
 *
 * The text format is read by hand (a node is the first line or a line
 * that starts with "->", its depth is its indentation); the JSON format
 * with jansson. Other formats give no shape. At most PLAN_SHAPES_MAX
 * shapes are kept per query: those with the smallest shape hashes, so
 * that which ones are kept, and their counts, do not depend on how the
 * log was split between workers (the merge is exact).
 */
#include "stats/internal.h"

#include "util/buf.h"
#include "util/tstamp.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/banned.h"

/* Outlines longer than this are cut (the shape hash is taken over all of it). */
#define OUTLINE_MAX 240

/*
 * A plan node: its depth and its name ("Index Scan using t_pkey on t") at
 * base + off; its parent is the nearest node before it that is less deep,
 * its children the nodes whose parent it is (rendered in order).
 */
struct node {
    int depth;
    size_t off, len;
    size_t parent, kid, next; /* NONE when there is none */
};

#define NONE SIZE_MAX

/* Links each node to its parent, first child and next sibling (nodes are in plan order). */
static void link_nodes(struct node *nodes, size_t n)
{
    size_t *stack = xmalloc((n ? n : 1) * sizeof(*stack)), top = 0;
    size_t *last_kid = xmalloc((n ? n : 1) * sizeof(*last_kid));
    for (size_t i = 0; i < n; i++) {
        while (top && nodes[stack[top - 1]].depth >= nodes[i].depth)
            top--;
        nodes[i].parent = top ? stack[top - 1] : NONE;
        nodes[i].kid = nodes[i].next = last_kid[i] = NONE;
        size_t p = nodes[i].parent;
        if (p != NONE) {
            if (last_kid[p] == NONE)
                nodes[p].kid = i;
            else
                nodes[last_kid[p]].next = i;
            last_kid[p] = i;
        }
        stack[top++] = i;
    }
    free(last_kid);
    free(stack);
}

/* Appends the subtree of node i ("A > B" for one child, "A (B, C)" for more). */
static void render(struct buf *out, const char *base, const struct node *nodes, size_t i)
{
    const struct node *self = &nodes[i];
    buf_add(out, base + self->off, self->len);
    if (self->kid == NONE)
        return;
    bool one = nodes[self->kid].next == NONE;
    buf_addstr(out, one ? " > " : " (");
    for (size_t k = self->kid; k != NONE; k = nodes[k].next) {
        if (k != self->kid)
            buf_addstr(out, ", ");
        render(out, base, nodes, k);
    }
    if (!one)
        buf_addch(out, ')');
}

/* The nodes of a text plan: the first line and every "->" line, by indentation. */
static size_t text_nodes(struct str plan, struct node **out, size_t *cap)
{
    size_t n = 0;
    const char *p = plan.ptr, *end = plan.ptr + plan.len;
    bool first = true;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *s = p;
        while (s < eol && (*s == ' ' || *s == '\t'))
            s++;
        bool arrow = eol - s >= 2 && s[0] == '-' && s[1] == '>';
        if ((first && s < eol) || arrow) {
            int depth = (int)(s - p);
            if (arrow) {
                s += 2;
                while (s < eol && *s == ' ')
                    s++;
            }
            /* The name ends where its numbers begin: "  (cost=" or "  (actual". */
            const char *e = s;
            while (e < eol && !(e + 2 < eol && e[0] == ' ' && e[1] == ' ' && e[2] == '('))
                e++;
            while (e > s && e[-1] == ' ')
                e--;
            if (e > s) {
                *out = xgrow(*out, cap, n + 1, sizeof(**out));
                (*out)[n++] = (struct node){ .depth = first ? -1 : depth,
                                             .off = (size_t)(s - plan.ptr),
                                             .len = (size_t)(e - s) };
            }
            first = false;
        }
        p = eol + 1;
    }
    return n;
}

/* A JSON node's name as EXPLAIN's text format writes it, so both formats give one shape. */
static void json_name(json_t *plan, const char *type, struct buf *names)
{
    const char *strategy = json_string_value(json_object_get(plan, "Strategy"));
    const char *join = json_string_value(json_object_get(plan, "Join Type"));
    const char *dir = json_string_value(json_object_get(plan, "Scan Direction"));
    const char *index = json_string_value(json_object_get(plan, "Index Name"));
    const char *rel = json_string_value(json_object_get(plan, "Relation Name"));
    const char *alias = json_string_value(json_object_get(plan, "Alias"));
    size_t tlen = strlen(type);
    if (json_is_true(json_object_get(plan, "Parallel Aware")))
        buf_addstr(names, "Parallel ");
    if (strcmp(type, "Aggregate") == 0 && strategy && strcmp(strategy, "Plain") != 0) {
        /* Sorted, Hashed, Mixed: GroupAggregate, HashAggregate, MixedAggregate */
        buf_addstr(names, strcmp(strategy, "Sorted") == 0   ? "GroupAggregate"
                          : strcmp(strategy, "Hashed") == 0 ? "HashAggregate"
                                                            : "MixedAggregate");
    } else if (join && strcmp(join, "Inner") != 0 && tlen > 5 &&
               strcmp(type + tlen - 5, " Join") == 0) {
        buf_addf(names, "%.*s %s Join", (int)(tlen - 5), type, join); /* Hash Left Join */
    } else {
        buf_addstr(names, type);
    }
    if (dir && strcmp(dir, "Backward") == 0)
        buf_addstr(names, " Backward");
    if (index && rel)
        buf_addf(names, " using %s", index);
    else if (index)
        buf_addf(names, " on %s", index); /* Bitmap Index Scan on idx */
    if (rel) {
        buf_addf(names, " on %s", rel);
        if (alias && strcmp(alias, rel) != 0)
            buf_addf(names, " %s", alias);
    }
}

/* The nodes of a JSON plan ({"Plan": {"Node Type", "Plans": [...]}} or a list of it). */
static void json_nodes(json_t *plan, int depth, struct buf *names, struct node **out, size_t *n,
                       size_t *cap)
{
    const char *type = json_string_value(json_object_get(plan, "Node Type"));
    if (!type)
        return;
    size_t at = names->len;
    json_name(plan, type, names);
    *out = xgrow(*out, cap, *n + 1, sizeof(**out));
    (*out)[(*n)++] = (struct node){ .depth = depth, .off = at, .len = names->len - at };
    size_t i;
    json_t *kid;
    json_array_foreach(json_object_get(plan, "Plans"), i, kid)
        json_nodes(kid, depth + 1, names, out, n, cap);
}

bool plan_outline(struct str plan, struct buf *outline, uint64_t *shape)
{
    struct node *nodes = NULL;
    size_t n = 0, cap = 0;
    struct buf names = BUF_INIT;
    const char *base = plan.ptr;
    size_t i = 0;
    while (i < plan.len && (plan.ptr[i] == ' ' || plan.ptr[i] == '\n' || plan.ptr[i] == '\t'))
        i++;
    if (i < plan.len && (plan.ptr[i] == '{' || plan.ptr[i] == '[')) {
        json_t *j = json_loadb(plan.ptr, plan.len, 0, NULL);
        json_t *top = json_is_array(j) ? json_array_get(j, 0) : j;
        json_nodes(json_object_get(top, "Plan"), 0, &names, &nodes, &n, &cap);
        json_decref(j);
        base = names.ptr;
    } else {
        n = text_nodes(plan, &nodes, &cap);
    }
    link_nodes(nodes, n);
    buf_reset(outline);
    /* A node less indented than the first (not EXPLAIN's output) starts a tree of its own. */
    for (size_t k = 0; k < n; k++) {
        if (nodes[k].parent != NONE)
            continue;
        if (outline->len)
            buf_addstr(outline, "; ");
        render(outline, base, nodes, k);
    }
    free(nodes);
    buf_release(&names);
    if (!outline->len)
        return false;
    *shape = XXH3_64bits(outline->ptr, outline->len);
    if (outline->len > OUTLINE_MAX) {
        /* Cut at a character's start: the outline goes into JSON. */
        buf_setlen(outline, utf8_cut(outline->ptr, OUTLINE_MAX - 3));
        buf_addstr(outline, "...");
    }
    return true;
}

static void shape_release(struct plan_shape *p)
{
    free(p->outline);
    free(p->plan);
}

/* Whether the call (duration_us, input, line) is the slower example of p (ties: the first). */
static bool slower(int64_t duration_us, uint32_t input, uint64_t line, const struct plan_shape *p)
{
    if (duration_us != p->slowest_us)
        return duration_us > p->slowest_us;
    return input < p->input || (input == p->input && line < p->line);
}

/*
 * Adds src (moved) to q's shapes: folded into the shape of the same hash,
 * or kept if among the PLAN_SHAPES_MAX smallest hashes (the largest one
 * then goes to plans_other).
 */
static void shape_put(struct qstat *q, struct plan_shape *src)
{
    size_t i = 0;
    while (i < q->nplans && q->plans[i].shape < src->shape)
        i++;
    if (i < q->nplans && q->plans[i].shape == src->shape) {
        struct plan_shape *d = &q->plans[i];
        d->count += src->count;
        if (src->first_us < d->first_us)
            d->first_us = src->first_us;
        if (src->last_us > d->last_us)
            d->last_us = src->last_us;
        if (slower(src->slowest_us, src->input, src->line, d)) {
            free(d->plan);
            d->plan = src->plan;
            src->plan = NULL;
            d->slowest_us = src->slowest_us;
            d->input = src->input;
            d->line = src->line;
        }
        shape_release(src);
        return;
    }
    if (i == PLAN_SHAPES_MAX) {
        q->plans_other += src->count;
        shape_release(src);
        return;
    }
    if (q->nplans == PLAN_SHAPES_MAX) {
        q->plans_other += q->plans[PLAN_SHAPES_MAX - 1].count;
        shape_release(&q->plans[--q->nplans]);
    }
    q->plans = xgrow(q->plans, &q->capplans, q->nplans + 1, sizeof(*q->plans));
    memmove(&q->plans[i + 1], &q->plans[i], (q->nplans - i) * sizeof(*q->plans));
    q->plans[i] = *src;
    q->nplans++;
}

void plans_note(struct collector *c, struct qstat *q, struct str plan, bool keep_text,
                int64_t ts_us, int64_t duration_us, uint32_t input, uint64_t line)
{
    uint64_t shape;
    if (ts_us == TS_NONE || !plan_outline(plan, &c->plan_outline, &shape))
        return;
    /* A plan shows the query's constants (Filter: (key = 'k')); its outline shows none. */
    if (!keep_text)
        plan = str_make(c->plan_outline.ptr, c->plan_outline.len);
    /* Most plans repeat a known shape: look before copying anything. */
    for (size_t i = 0; i < q->nplans; i++) {
        struct plan_shape *d = &q->plans[i];
        if (d->shape != shape)
            continue;
        d->count++;
        if (ts_us < d->first_us)
            d->first_us = ts_us;
        if (ts_us > d->last_us)
            d->last_us = ts_us;
        if (slower(duration_us, input, line, d)) {
            free(d->plan);
            d->plan = xmemdup(plan.ptr, plan.len);
            d->slowest_us = duration_us;
            d->input = input;
            d->line = line;
        }
        return;
    }
    /* A shape beyond the kept ones is only counted: nothing to copy. */
    if (q->nplans == PLAN_SHAPES_MAX && shape > q->plans[PLAN_SHAPES_MAX - 1].shape) {
        q->plans_other++;
        return;
    }
    struct plan_shape p = { .shape = shape,
                            .outline = xstrdup(c->plan_outline.ptr),
                            .plan = xmemdup(plan.ptr, plan.len),
                            .slowest_us = duration_us,
                            .input = input,
                            .line = line,
                            .first_us = ts_us,
                            .last_us = ts_us,
                            .count = 1 };
    shape_put(q, &p);
}

void plans_merge(struct qstat *d, struct qstat *s, uint64_t line_base)
{
    for (size_t i = 0; i < s->nplans; i++) {
        s->plans[i].line += line_base;
        shape_put(d, &s->plans[i]);
    }
    d->plans_other += s->plans_other;
    s->nplans = 0;
}

void plans_release(struct qstat *q)
{
    for (size_t i = 0; i < q->nplans; i++)
        shape_release(&q->plans[i]);
    free(q->plans);
    q->plans = NULL;
    q->nplans = q->capplans = 0;
}

bool collector_plan_change(const struct collector *c, uint64_t fp, int64_t at_us, int64_t window_us,
                           const struct plan_shape **before, const struct plan_shape **after)
{
    *before = *after = NULL;
    uint32_t idx;
    if (!hmap_get(&c->by_fp, fp, NULL, NULL, &idx))
        return false;
    const struct qstat *q = &c->q[idx];
    for (size_t i = 0; i < q->nplans; i++) {
        const struct plan_shape *p = &q->plans[i];
        /* New around at_us and still run after it: the plan of the change. */
        if (p->first_us >= at_us - window_us && p->first_us <= at_us + window_us &&
            p->last_us >= at_us && (!*after || p->count > (*after)->count))
            *after = p;
        /* Run before the change, still near it if one was: the usual plan. */
        if (p->first_us < at_us - window_us) {
            bool recent = p->last_us >= at_us - window_us;
            bool best_recent = *before && (*before)->last_us >= at_us - window_us;
            if (!*before || recent > best_recent ||
                (recent == best_recent && p->count > (*before)->count))
                *before = p;
        }
    }
    return *before && *after;
}
