/*
 * Quantile sketch for query durations (see sketch.h). The log scanner calls
 * sketch_add once per statement, millions of times a second, so the hot path
 * is a table lookup and an increment; aggregates merge sketches per query,
 * per database and per period, and reports read quantiles and histograms.
 *
 * Why integer buckets rather than DDSketch's ceil(log_gamma(v)): with that
 * mapping a bucket can hold two integers that no integer answer is within
 * 1% of (50 and 51: 50 is 1.96% below 51, 51 is 2% above 50), and such
 * buckets occur at every scale. Building the bounds from integers makes the
 * 1% promise hold for every int64_t and keeps bucket numbers independent of
 * libm, so sketches stored on one machine merge exactly with another's.
 */
#include "sketch.h"

#include "util/compat.h"
#include "util/xalloc.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Buckets produced by table_build()'s recurrence over [1, INT64_MAX]. */
#define NBUCKETS 2050
/* Values below this map to a bucket through small_bucket[]; above, log(). */
#define SMALL_LIMIT 65536
/* Sparse entries: bucket in the top 12 bits, count in the low 52. */
#define ENTRY_SHIFT 52
#define ENTRY_COUNT ((UINT64_C(1) << ENTRY_SHIFT) - 1)
_Static_assert(NBUCKETS <= 1 << (64 - ENTRY_SHIFT), "bucket numbers must fit an entry");
/*
 * A sketch with more distinct buckets than this turns dense. 16 entries are
 * 128 bytes, as much as a dense array spanning 16 buckets, and most
 * statements never get there: a query's durations usually spread over far
 * more buckets than they occupy (10 values between 0.1 and 10 ms would need
 * 233 dense counts). The linear scan stays within two cache lines.
 */
#define SPARSE_MAX 16

/*
 * Process-wide tables, built once by table_build() under pthread_once and
 * read-only afterwards. sketch_init runs the pthread_once, so sketch_add
 * needs no check of its own: whoever hands an initialised sketch to another
 * thread synchronises with it, which also publishes the tables.
 */
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static uint16_t small_bucket[SMALL_LIMIT]; /* value (>= 1) -> bucket */
static int64_t bucket_min[NBUCKETS];       /* smallest value of each bucket */
static int64_t bucket_rep[NBUCKETS];       /* value reported for each bucket */
static double log_scale;                   /* 1 / ln(gamma) */
static double log_offset;                  /* bucket ~ ln(v) * log_scale + log_offset */

/* Largest value of bucket i. */
static int64_t bucket_max(unsigned i)
{
    return i + 1 < NBUCKETS ? bucket_min[i + 1] - 1 : INT64_MAX;
}

/*
 * The representative of [m, M] must lie in [M - M/100 rounded up, m + m/100
 * rounded down]: 0.99 M <= r <= 1.01 m. Within that, take the integer
 * nearest the harmonic mean 2mM / (m + M), which balances the relative
 * errors at both ends. Plain IEEE double arithmetic: no libm, so the same
 * everywhere.
 */
static int64_t bucket_rep_of(int64_t m, int64_t big_m)
{
    int64_t lo = big_m - big_m / 100;
    int64_t hi = m > INT64_MAX - m / 100 ? INT64_MAX : m + m / 100;
    double dm = (double)m;
    double h = dm + dm * (double)(big_m - m) / (dm + (double)big_m);
    if (h <= (double)lo)
        return lo;
    if (h >= (double)hi)
        return hi;
    return (int64_t)(h + 0.5);
}

static void table_build(void)
{
    int64_t m = 1;
    unsigned n = 0;
    for (;;) {
        ASSERT(n < NBUCKETS);
        /* floor(1.01 m), then floor(r * 100 / 99), saturating at INT64_MAX. */
        int64_t r = m > INT64_MAX - m / 100 ? INT64_MAX : m + m / 100;
        int64_t big_m = r > INT64_MAX - r / 99 ? INT64_MAX : r + r / 99;
        bucket_min[n] = m;
        bucket_rep[n] = bucket_rep_of(m, big_m);
        for (int64_t v = m; v <= big_m && v < SMALL_LIMIT; v++)
            small_bucket[v] = (uint16_t)n;
        n++;
        if (big_m == INT64_MAX)
            break;
        m = big_m + 1;
    }
    ASSERT(n == NBUCKETS);

    /*
     * Above 99 the bucket starts grow by gamma each, so the bucket of v is
     * ln(v) / ln(gamma) plus a constant, give or take one. Calibrate the
     * constant on the first bucket of the log() range; bucket_of_large()
     * corrects the guess against bucket_min[], so libm rounding cannot
     * change which bucket a value lands in.
     */
    unsigned first = small_bucket[SMALL_LIMIT - 1];
    log_scale = 1.0 / log(1.01 / 0.99);
    log_offset = (double)first - log((double)bucket_min[first]) * log_scale;
}

static unsigned bucket_of_large(int64_t v)
{
    double guess = log((double)v) * log_scale + log_offset;
    unsigned i = guess < NBUCKETS - 1 ? (unsigned)guess : NBUCKETS - 1;
    while (i + 1 < NBUCKETS && bucket_min[i + 1] <= v)
        i++;
    while (bucket_min[i] > v)
        i--;
    return i;
}

static inline unsigned entry_bucket(uint64_t e)
{
    return (unsigned)(e >> ENTRY_SHIFT);
}

static inline uint64_t entry_count(uint64_t e)
{
    return e & ENTRY_COUNT;
}

/* Iteration over the non-empty buckets, ascending, in either layout. */
struct bucket_iter {
    const struct sketch *s;
    size_t pos;
};

static bool bucket_next(struct bucket_iter *it, unsigned *bucket, uint64_t *count)
{
    const struct sketch *s = it->s;
    if (!s->dense) {
        if (it->pos >= s->len)
            return false;
        uint64_t e = s->slots[it->pos++];
        *bucket = entry_bucket(e);
        *count = entry_count(e);
        return true;
    }
    while (it->pos < s->cap) {
        size_t k = it->pos++;
        if (s->slots[k]) {
            *bucket = s->lo + (unsigned)k;
            *count = s->slots[k];
            return true;
        }
    }
    return false;
}

/* First and last non-empty bucket; false if there is none. */
static bool bucket_range(const struct sketch *s, unsigned *first, unsigned *last)
{
    if (!s->dense) {
        if (!s->len)
            return false;
        *first = entry_bucket(s->slots[0]);
        *last = entry_bucket(s->slots[s->len - 1]);
        return true;
    }
    size_t a = 0, b = s->cap;
    while (a < b && !s->slots[a])
        a++;
    if (a == b)
        return false;
    while (!s->slots[b - 1])
        b--;
    *first = s->lo + (unsigned)a;
    *last = s->lo + (unsigned)(b - 1);
    return true;
}

/*
 * Makes the dense array cover [first, last], keeping some slack on the side
 * it grows so that a sketch creeping outwards does not reallocate each time.
 * Converts a sparse sketch on the way.
 */
static void dense_cover(struct sketch *s, unsigned first, unsigned last)
{
    unsigned old_first, old_last;
    bool had = bucket_range(s, &old_first, &old_last);
    if (s->dense && had && first >= s->lo && last < s->lo + (unsigned)s->cap)
        return;
    unsigned lo = first, hi = last;
    if (had) {
        lo = old_first < lo ? old_first : lo;
        hi = old_last > hi ? old_last : hi;
    }
    unsigned slack = (hi - lo + 1) / 8 + 4;
    if (!s->dense || first < s->lo)
        lo = lo > slack ? lo - slack : 0;
    if (!s->dense || last >= s->lo + (unsigned)s->cap)
        hi = hi + slack < NBUCKETS ? hi + slack : NBUCKETS - 1;

    size_t cap = hi - lo + 1;
    uint64_t *slots = xcalloc(cap, sizeof(*slots));
    struct bucket_iter it = { s, 0 };
    unsigned b;
    uint64_t c;
    while (bucket_next(&it, &b, &c))
        slots[b - lo] = c;
    free(s->slots);
    s->slots = slots;
    s->lo = (uint16_t)lo;
    s->cap = (uint16_t)cap;
    s->len = 0;
    s->dense = true;
}

/*
 * Adds count to bucket b of a sparse sketch, turning it dense when the
 * entries run out or the total could overflow an entry's 52-bit count.
 */
static void sparse_add(struct sketch *s, unsigned b, uint64_t count)
{
    ASSERT(!s->dense);
    size_t i = 0;
    while (i < s->len && entry_bucket(s->slots[i]) < b)
        i++;
    if (s->count <= ENTRY_COUNT) {
        if (i < s->len && entry_bucket(s->slots[i]) == b) {
            s->slots[i] += count;
            return;
        }
        if (s->len < SPARSE_MAX) {
            if (s->len == s->cap) {
                s->cap = s->cap ? (uint16_t)(s->cap * 2) : 2;
                s->slots = xrealloc(s->slots, s->cap * sizeof(*s->slots));
            }
            memmove(&s->slots[i + 1], &s->slots[i], (s->len - i) * sizeof(*s->slots));
            s->slots[i] = (uint64_t)b << ENTRY_SHIFT | count;
            s->len++;
            return;
        }
    }
    dense_cover(s, b, b);
    s->slots[b - s->lo] += count;
}

/* The part of sketch_add after the dense fast path misses. */
static void add_slow(struct sketch *s, unsigned b)
{
    if (!s->dense) {
        sparse_add(s, b, 1);
        return;
    }
    dense_cover(s, b, b);
    s->slots[b - s->lo]++;
}

void sketch_init(struct sketch *s)
{
    if (pthread_once(&table_once, table_build) != 0)
        BUG("pthread_once failed");
    s->slots = NULL;
    s->count = 0;
    s->zero_count = 0;
    s->min_us = INT64_MAX;
    s->max_us = 0;
    s->lo = 0;
    s->len = 0;
    s->cap = 0;
    s->dense = false;
}

void sketch_release(struct sketch *s)
{
    free(s->slots);
    sketch_init(s);
}

void sketch_add(struct sketch *s, int64_t value_us)
{
    ASSERT(value_us >= 0);
    s->count++;
    if (value_us < s->min_us)
        s->min_us = value_us;
    if (value_us > s->max_us)
        s->max_us = value_us;
    if (value_us == 0) {
        s->zero_count++;
        return;
    }
    unsigned b =
        LIKELY(value_us < SMALL_LIMIT) ? small_bucket[value_us] : bucket_of_large(value_us);
    unsigned k = b - s->lo;
    if (LIKELY(s->dense && k < s->cap)) {
        s->slots[k]++;
        return;
    }
    add_slow(s, b);
}

/* dst == src: every count doubles. */
static void merge_self(struct sketch *s)
{
    ASSERT(s->count <= UINT64_MAX / 2);
    unsigned first, last;
    if (!s->dense && s->count * 2 > ENTRY_COUNT && bucket_range(s, &first, &last))
        dense_cover(s, first, last);
    s->count *= 2;
    s->zero_count *= 2;
    if (s->dense) {
        for (size_t k = 0; k < s->cap; k++)
            s->slots[k] *= 2;
    } else {
        for (size_t i = 0; i < s->len; i++)
            s->slots[i] += entry_count(s->slots[i]);
    }
}

void sketch_merge(struct sketch *dst, const struct sketch *src)
{
    if (!src->count)
        return;
    if (dst == src) {
        merge_self(dst);
        return;
    }
    ASSERT(dst->count <= UINT64_MAX - src->count);
    dst->count += src->count;
    dst->zero_count += src->zero_count;
    if (src->min_us < dst->min_us)
        dst->min_us = src->min_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;

    unsigned first, last;
    if (!bucket_range(src, &first, &last))
        return;
    if (!dst->dense && (src->dense || dst->len + src->len > SPARSE_MAX || dst->count > ENTRY_COUNT))
        dense_cover(dst, first, last);
    struct bucket_iter it = { src, 0 };
    unsigned b;
    uint64_t c;
    if (!dst->dense) {
        while (bucket_next(&it, &b, &c))
            sparse_add(dst, b, c);
        return;
    }
    dense_cover(dst, first, last);
    while (bucket_next(&it, &b, &c))
        dst->slots[b - dst->lo] += c;
}

uint64_t sketch_count(const struct sketch *s)
{
    return s->count;
}

/*
 * ceil(q * n) - 1, clamped to [0, n - 1]. q * n is rounded: 0.07 * 100 is
 * 7.000000000000001 in doubles, which must still be rank 6, so a product
 * within a few ulps above an integer counts as that integer.
 */
static uint64_t quantile_rank(double q, uint64_t n)
{
    double x = q * (double)n;
    double f = floor(x);
    if (x - f <= x * 4 * DBL_EPSILON)
        x = f;
    double k = ceil(x);
    if (k < 1)
        return 0;
    if (k >= (double)n)
        return n - 1;
    return (uint64_t)k - 1;
}

int64_t sketch_quantile(const struct sketch *s, double q)
{
    ASSERT(q >= 0.0 && q <= 1.0);
    if (!s->count)
        return 0;
    uint64_t rank = quantile_rank(q, s->count);
    if (rank == 0)
        return s->min_us;
    if (rank == s->count - 1)
        return s->max_us;
    if (rank < s->zero_count)
        return 0;
    uint64_t seen = s->zero_count;
    struct bucket_iter it = { s, 0 };
    unsigned b;
    uint64_t c;
    while (bucket_next(&it, &b, &c)) {
        seen += c;
        if (rank < seen) {
            /* min and max are exact, and closer to the truth when they cut the bucket. */
            int64_t v = bucket_rep[b];
            return v < s->min_us ? s->min_us : v > s->max_us ? s->max_us : v;
        }
    }
    BUG("sketch counts add up to less than its total %llu", (unsigned long long)s->count);
}

size_t sketch_memory(const struct sketch *s)
{
    return (size_t)s->cap * sizeof(*s->slots);
}

size_t sketch_buckets(const struct sketch *s, int64_t *lower_us, int64_t *upper_us,
                      uint64_t *counts, size_t max)
{
    if (!s->count || !max)
        return 0;
    unsigned first = 0, last = 0;
    bool any = bucket_range(s, &first, &last);
    size_t nonempty = s->zero_count ? 1 : 0;
    if (any)
        nonempty += s->dense ? 0 : s->len;
    if (any && s->dense) {
        for (unsigned b = first; b <= last; b++)
            nonempty += s->slots[b - s->lo] != 0;
    }

    if (max == 1 && nonempty > 1) {
        lower_us[0] = s->zero_count ? 0 : bucket_min[first];
        upper_us[0] = bucket_max(last);
        counts[0] = s->count;
        return 1;
    }

    size_t n = 0;
    if (s->zero_count) {
        lower_us[n] = 0;
        upper_us[n] = 0;
        counts[n] = s->zero_count;
        n++;
    }
    if (!any)
        return n;
    /* Group width in buckets: 1 when everything fits. */
    size_t groups = max - n;
    size_t span = last - first + 1;
    unsigned width = nonempty <= max ? 1 : (unsigned)((span + groups - 1) / groups);
    struct bucket_iter it = { s, 0 };
    unsigned b;
    uint64_t c;
    unsigned group = UINT_MAX;
    while (bucket_next(&it, &b, &c)) {
        unsigned g = (b - first) / width;
        if (g != group) {
            unsigned start = first + g * width;
            unsigned end = start + width - 1 < last ? start + width - 1 : last;
            ASSERT(n < max);
            lower_us[n] = bucket_min[start];
            upper_us[n] = bucket_max(end);
            counts[n] = 0;
            n++;
            group = g;
        }
        counts[n - 1] += c;
    }
    return n;
}
