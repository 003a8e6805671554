/*
 * struct names: interns short strings (user, database, application and
 * client names, table names) to dense 32-bit ids, so aggregates count ids
 * instead of copying text. Id 0 is the empty string.
 */
#ifndef SLEUTH_UTIL_NAMES_H
#define SLEUTH_UTIL_NAMES_H

#include "arena.h"
#include "hmap.h"
#include "str.h"

#include <stdint.h>

struct names {
    struct hmap index;
    struct arena arena;
    struct str *items; /* items[id], NUL-terminated in the arena */
    size_t n, cap;
};

void names_init(struct names *n);
void names_release(struct names *n);
uint32_t names_intern(struct names *n, struct str s);
static inline struct str names_get(const struct names *n, uint32_t id)
{
    return n->items[id];
}

#endif
