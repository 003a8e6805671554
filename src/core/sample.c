/*
 * struct sample: the per-interval record of a live server (see sample.h).
 * This file holds only its lifecycle and the few numbers derived from its
 * fields; filling it is the poller's job.
 */
#include "core/sample.h"

#include <string.h>

#include "util/banned.h"

void sample_init(struct sample *s)
{
    memset(s, 0, sizeof(*s));
    arena_init(&s->arena, 64 * 1024);
}

void sample_release(struct sample *s)
{
    arena_release(&s->arena);
    memset(s, 0, sizeof(*s));
}

const char *sample_strdup(struct sample *s, const char *str)
{
    if (!str)
        return "";
    return arena_strdup(&s->arena, (struct str){ str, strlen(str) });
}

void sample_add_problem(struct sample *s, const char *check, const char *message, const char *hint)
{
    struct sample_problem *np = arena_alloc(&s->arena, sizeof(*np) * (size_t)(s->nproblems + 1));
    if (s->nproblems)
        memcpy(np, s->problems, sizeof(*np) * (size_t)s->nproblems);
    np[s->nproblems].check = sample_strdup(s, check);
    np[s->nproblems].message = sample_strdup(s, message);
    np[s->nproblems].hint = sample_strdup(s, hint);
    s->problems = np;
    s->nproblems++;
}

bool sample_has_problem(const struct sample *s, const char *check)
{
    for (int i = 0; i < s->nproblems; i++)
        if (strcmp(s->problems[i].check, check) == 0)
            return true;
    return false;
}

void sample_add_change(struct sample *s, const struct sample_change *c)
{
    struct sample_change *nc = arena_alloc(&s->arena, sizeof(*nc) * (size_t)(s->nchanges + 1));
    if (s->nchanges)
        memcpy(nc, s->changes, sizeof(*nc) * (size_t)s->nchanges);
    struct sample_change *n = &nc[s->nchanges];
    *n = *c;
    n->object = sample_strdup(s, c->object);
    n->table = sample_strdup(s, c->table);
    n->detail = sample_strdup(s, c->detail);
    n->statement = sample_strdup(s, c->statement);
    n->app = sample_strdup(s, c->app);
    n->user = sample_strdup(s, c->user);
    s->changes = nc;
    s->nchanges++;
}

static const char *const change_names[] = {
#define X(e, name, what) name,
    SAMPLE_CHANGE_KINDS(X)
#undef X
};

const char *sample_change_kind_name(enum sample_change_kind k)
{
    return (unsigned)k < CHANGE__COUNT ? change_names[k] : "unknown";
}

int sample_usable_connections(const struct sample *s)
{
    int usable = s->max_connections - s->reserved_connections;
    return usable > 0 ? usable : 0;
}

double sample_seconds(const struct sample *s)
{
    int64_t us = s->end_us - s->start_us;
    return us < 1000 ? 0.001 : (double)us / 1e6;
}
