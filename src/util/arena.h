/*
 * struct arena: a bump allocator for data that lives and dies together
 * (a batch, the aggregates of a run, a report). Allocations are never freed
 * one by one; arena_release frees them all. Not thread-safe: one arena per
 * thread.
 */
#ifndef SLEUTH_UTIL_ARENA_H
#define SLEUTH_UTIL_ARENA_H

#include "str.h"

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head;
    size_t block_size;
    size_t total; /* bytes handed out, for memory accounting */
};

void arena_init(struct arena *a, size_t block_size);
void arena_release(struct arena *a);
/* Returns zero-filled-nothing: memory is uninitialised, aligned to 8 bytes. */
void *arena_alloc(struct arena *a, size_t size);
/* NUL-terminated copy of the slice, owned by the arena. */
char *arena_strdup(struct arena *a, struct str s);

#endif
