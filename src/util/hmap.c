/*
 * Open-addressing hash index; see hmap.h.
 */
#include "hmap.h"

#include "xalloc.h"

#include <stdlib.h>

void hmap_init(struct hmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void hmap_release(struct hmap *m)
{
    free(m->slots);
    hmap_init(m);
}

bool hmap_get(const struct hmap *m, uint64_t hash, hmap_eq_fn *eq, const void *ctx, uint32_t *val)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const struct hmap_slot *s = &m->slots[i];
        if (!s->used)
            return false;
        if (s->hash == hash && (!eq || eq(ctx, s->val))) {
            *val = s->val;
            return true;
        }
    }
}

static void insert_slot(struct hmap_slot *slots, size_t cap, uint64_t hash, uint32_t val)
{
    size_t mask = cap - 1;
    size_t i = hash & mask;
    while (slots[i].used)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].val = val;
    slots[i].used = 1;
}

void hmap_put(struct hmap *m, uint64_t hash, uint32_t val)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        struct hmap_slot *ns = xcalloc(ncap, sizeof(*ns));
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].used)
                insert_slot(ns, ncap, m->slots[i].hash, m->slots[i].val);
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    insert_slot(m->slots, m->cap, hash, val);
    m->count++;
}
