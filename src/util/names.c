/*
 * String interning; see names.h.
 */
#include "names.h"

#include "xalloc.h"

#include <stdlib.h>
#include <xxhash.h>

#include "banned.h"

void names_init(struct names *n)
{
    hmap_init(&n->index);
    arena_init(&n->arena, 16 * 1024);
    n->items = NULL;
    n->n = n->cap = 0;
    names_intern(n, STR_LIT(""));
}

void names_release(struct names *n)
{
    hmap_release(&n->index);
    arena_release(&n->arena);
    free(n->items);
    n->items = NULL;
    n->n = n->cap = 0;
}

struct lookup {
    const struct names *n;
    struct str s;
};

static bool eq(const void *ctx, uint32_t val)
{
    const struct lookup *l = ctx;
    return str_eq(l->n->items[val], l->s);
}

uint32_t names_intern(struct names *n, struct str s)
{
    uint64_t h = XXH3_64bits(s.ptr, s.len);
    struct lookup l = { n, s };
    uint32_t id;
    if (hmap_get(&n->index, h, eq, &l, &id))
        return id;
    n->items = xgrow(n->items, &n->cap, n->n + 1, sizeof(*n->items));
    n->items[n->n] = str_make(arena_strdup(&n->arena, s), s.len);
    id = (uint32_t)n->n++;
    hmap_put(&n->index, h, id);
    return id;
}
