/*
 * Bump allocator; see arena.h. Large requests get a block of their own so
 * that a 10 MB statement does not waste a whole standard block's tail.
 */
#include "arena.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t used, size;
    _Alignas(16) char data[];
};

void arena_init(struct arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->total = 0;
}

void arena_release(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t bsize = size > a->block_size / 4 ? size : a->block_size;
        struct arena_block *nb = xmalloc(sizeof(*nb) + bsize);
        nb->used = 0;
        nb->size = bsize;
        if (b && bsize == size && b->size - b->used >= 64) {
            /* Keep the current block on top: it still has room for small requests. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->total += size;
    return p;
}

char *arena_strdup(struct arena *a, struct str s)
{
    char *p = arena_alloc(a, s.len + 1);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}
