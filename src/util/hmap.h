/*
 * struct hmap: open-addressing hash index from a 64-bit hash to a 32-bit
 * value (usually an index into the caller's own array of entries). The
 * caller owns the entries and says whether a candidate matches, so one
 * index type serves every table (fingerprints, interned names, pids).
 * Linear probing, power-of-two capacity, load factor at most 1/2.
 */
#ifndef SLEUTH_UTIL_HMAP_H
#define SLEUTH_UTIL_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
    uint64_t hash;
    uint32_t val;
    uint32_t used;
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
};

/* Says whether the caller's entry `val` is the key being looked up. */
typedef bool hmap_eq_fn(const void *ctx, uint32_t val);

void hmap_init(struct hmap *m);
void hmap_release(struct hmap *m);
/*
 * Looks up hash; eq (may be NULL: the hash alone decides) confirms a
 * candidate. Returns true and sets *val when found.
 */
bool hmap_get(const struct hmap *m, uint64_t hash, hmap_eq_fn *eq, const void *ctx, uint32_t *val);
/* Adds a new mapping; the caller has checked that the key is absent. */
void hmap_put(struct hmap *m, uint64_t hash, uint32_t val);
/* Fast 64-bit mixer for integer keys. */
static inline uint64_t hmap_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

#endif
