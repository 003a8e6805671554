/*
 * struct sketch: a mergeable quantile sketch for durations in microseconds
 * with at most 1% relative error (DDSketch-style, relative accuracy
 * a = 0.01, bucket ratio gamma = (1 + a) / (1 - a)).
 *
 * Buckets are ranges of whole microseconds [m, M] built so that one integer,
 * the bucket's representative, is within 1% of every value in the range:
 * M = floor(floor(1.01 m) * 100 / 99). Their width grows by gamma per bucket
 * as in DDSketch, but the bounds are integers fixed by integer arithmetic,
 * so bucket numbers are the same on every machine. Values 1..99 each get a
 * bucket of their own; 0 has a separate zero bucket. 2,050 buckets cover
 * every int64_t.
 *
 * Counts are integers, so merging is exact and order-independent: any
 * sequence of adds and merges over the same multiset of values yields the
 * same quantiles and the same bucket export.
 *
 * Storage grows with the data: an empty sketch allocates nothing, a sketch
 * with up to 16 distinct buckets keeps sorted (bucket, count) pairs (8 bytes
 * each), a larger one a dense array of counts over the bucket range it has
 * seen.
 *
 * Pointer arguments are borrowed. Not thread-safe: one writer per sketch,
 * with no concurrent readers. Different sketches may be used from different
 * threads at the same time.
 */
#ifndef SLEUTH_STATS_SKETCH_H
#define SLEUTH_STATS_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embed in the caller's struct; the fields are private. */
struct sketch {
    /*
     * Sparse mode: len entries (bucket << 52 | count), sorted by bucket.
     * Dense mode: cap counts, slots[k] for bucket lo + k. NULL if cap is 0.
     */
    uint64_t *slots;
    uint64_t count;      /* all values, zeros included */
    uint64_t zero_count; /* values equal to 0 */
    int64_t min_us;      /* INT64_MAX while empty */
    int64_t max_us;      /* 0 while empty */
    uint16_t lo;         /* dense mode: bucket of slots[0] */
    uint16_t len;        /* sparse mode: entries in use */
    uint16_t cap;        /* slots allocated */
    bool dense;          /* which of the two layouts slots holds */
};

/*
 * Makes an empty sketch; allocates nothing. Must be called before any other
 * function (the first call also builds the process-wide lookup tables,
 * thread-safely, in well under a millisecond).
 */
void sketch_init(struct sketch *s);
/* Frees the storage; the sketch is then empty and may be reused. */
void sketch_release(struct sketch *s);

/*
 * Records one value. value_us must be >= 0 (ASSERT); 0 goes in the zero
 * bucket. Every value up to INT64_MAX is accepted. Hot path: no log() for
 * values below 65,536 µs.
 */
void sketch_add(struct sketch *s, int64_t value_us);
/*
 * Adds every value of src to dst (dst == src doubles it). Exact: the result
 * does not depend on the order of merges and adds.
 */
void sketch_merge(struct sketch *dst, const struct sketch *src);

/* Number of values added, zeros included. */
uint64_t sketch_count(const struct sketch *s);
/*
 * The value of rank ceil(q * n) - 1 in the sorted values (q = 0 gives the
 * minimum, q = 1 the maximum, both exact), within 1% of the true value at
 * that rank, in µs. q must be in [0, 1] (ASSERT). Returns 0 if empty.
 */
int64_t sketch_quantile(const struct sketch *s, double q);
/*
 * Heap bytes the sketch holds, for memory accounting; sizeof(struct sketch)
 * is not included because it is part of the caller's struct.
 */
size_t sketch_memory(const struct sketch *s);

/*
 * Exports the non-empty buckets in ascending order for a histogram: fills
 * lower_us[i], upper_us[i] (inclusive bounds in µs) and counts[i], and
 * returns how many were written, at most max. The zero bucket is [0, 0].
 * When there are more than max non-empty buckets, runs of adjacent buckets
 * of equal width in log scale are merged (the zero bucket stays separate
 * unless max is 1). Empty groups are skipped, so ranges need not touch.
 */
size_t sketch_buckets(const struct sketch *s, int64_t *lower_us, int64_t *upper_us,
                      uint64_t *counts, size_t max);

#endif
