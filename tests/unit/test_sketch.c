/*
 * Unit tests for struct sketch: the 1% bound against sorted arrays, exact
 * and order-independent merges, the bucket layout, memory and export.
 */
#include "stats/sketch.h"

#include "util/compat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* cmocka 1.1.5 needs these four first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/banned.h"

/* The quantiles every distribution is checked at, in thousandths. */
static const int qs_permille[] = { 0, 500, 900, 950, 990, 1000 };
#define NQ ARRAY_SIZE(qs_permille)

/* splitmix64: a fixed seed gives the same inputs on every machine. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *state)
{
    return (double)(rng_next(state) >> 11) / 9007199254740992.0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The value at rank ceil(q * n) - 1 of sorted, in integers so the reference is exact. */
static int64_t ref_quantile(const int64_t *sorted, size_t n, int permille)
{
    size_t k = ((size_t)permille * n + 999) / 1000;
    return sorted[k ? k - 1 : 0];
}

/* |est - truth| <= 1% of truth, without overflow near INT64_MAX. */
static void assert_within_1pct(int64_t est, int64_t truth)
{
    int64_t diff = est > truth ? est - truth : truth - est;
    if (diff > truth / 100)
        fail_msg("estimate %lld is not within 1%% of %lld", (long long)est, (long long)truth);
}

static void sketch_of(struct sketch *s, const int64_t *v, size_t n)
{
    sketch_init(s);
    for (size_t i = 0; i < n; i++)
        sketch_add(s, v[i]);
}

/* Feeds v to a sketch and checks every quantile against the sorted values. */
static void check_against_sorted(const int64_t *v, size_t n)
{
    struct sketch s;
    sketch_of(&s, v, n);
    int64_t *sorted = malloc(n * sizeof(*sorted));
    assert_non_null(sorted);
    memcpy(sorted, v, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_i64);

    assert_int_equal(sketch_count(&s), n);
    for (size_t i = 0; i < NQ; i++) {
        int64_t truth = ref_quantile(sorted, n, qs_permille[i]);
        assert_within_1pct(sketch_quantile(&s, qs_permille[i] / 1000.0), truth);
    }
    /* A finer grid catches rank slips between the named quantiles. */
    for (int p = 0; p <= 1000; p++)
        assert_within_1pct(sketch_quantile(&s, p / 1000.0), ref_quantile(sorted, n, p));
    assert_int_equal(sketch_quantile(&s, 0.0), sorted[0]);
    assert_int_equal(sketch_quantile(&s, 1.0), sorted[n - 1]);
    free(sorted);
    sketch_release(&s);
}

static void gen_uniform(int64_t *v, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        v[i] = 1 + (int64_t)(rng_next(rng) % 1000000);
}

/* exp(normal): median 2 ms, sigma 1.5, like real statement durations. */
static void gen_lognormal(int64_t *v, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        double z = -6.0;
        for (int k = 0; k < 12; k++)
            z += rng_unit(rng);
        v[i] = (int64_t)llround(exp(log(2000.0) + 1.5 * z));
    }
}

static void gen_constant(int64_t *v, size_t n, uint64_t *rng)
{
    (void)rng;
    for (size_t i = 0; i < n; i++)
        v[i] = 4242;
}

/* Index hits around 200 µs and reports around 2 s. */
static void gen_bimodal(int64_t *v, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(rng);
        v[i] = r & 1 ? 150 + (int64_t)(r >> 1) % 101 : 1800000 + (int64_t)(r >> 1) % 400001;
    }
}

/* Every scale from 1 µs to INT64_MAX, a fifth of them zero. */
static void gen_all_scales(int64_t *v, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(rng);
        v[i] = r % 5 == 0 ? 0 : (int64_t)(rng_next(rng) >> (1 + r % 63));
    }
}

struct dist_case {
    const char *name;
    void (*gen)(int64_t *v, size_t n, uint64_t *rng);
    size_t n;
};

static const struct dist_case dist_cases[] = {
    { "uniform", gen_uniform, 100000 },       { "lognormal", gen_lognormal, 100000 },
    { "lognormal_small", gen_lognormal, 37 }, { "constant", gen_constant, 1000 },
    { "bimodal", gen_bimodal, 100000 },       { "bimodal_small", gen_bimodal, 17 },
    { "all_scales", gen_all_scales, 100000 },
};

static void quantiles_within_1pct_of_sorted(void **state)
{
    (void)state;
    for (size_t c = 0; c < ARRAY_SIZE(dist_cases); c++) {
        const struct dist_case *dc = &dist_cases[c];
        uint64_t rng = 42 + c;
        int64_t *v = malloc(dc->n * sizeof(*v));
        assert_non_null(v);
        dc->gen(v, dc->n, &rng);
        check_against_sorted(v, dc->n);
        free(v);
    }
}

static void constant_input_is_exact(void **state)
{
    (void)state;
    struct sketch s;
    sketch_init(&s);
    for (int i = 0; i < 1000; i++)
        sketch_add(&s, 4242);
    for (size_t i = 0; i < NQ; i++)
        assert_int_equal(sketch_quantile(&s, qs_permille[i] / 1000.0), 4242);
    sketch_release(&s);
}

/* Inputs small enough to state every answer. */
struct tiny_case {
    size_t n;
    int64_t values[3];
    int64_t expect[NQ]; /* at q = 0, 0.5, 0.9, 0.95, 0.99, 1 */
};

static const struct tiny_case tiny_cases[] = {
    { 1, { 1 }, { 1, 1, 1, 1, 1, 1 } },
    { 1, { 123456789 }, { 123456789, 123456789, 123456789, 123456789, 123456789, 123456789 } },
    { 2, { 2, 1 }, { 1, 1, 2, 2, 2, 2 } },
    /* Values below 99 have exact buckets. */
    { 3, { 1000, 0, 7 }, { 0, 7, 1000, 1000, 1000, 1000 } },
    /* One bucket [149, 151] with representative 150. */
    { 3, { 150, 149, 151 }, { 149, 150, 151, 151, 151, 151 } },
    /* 101 is in [101, 103], representative 102: 0.99% high. */
    { 3, { 100, 101, 102 }, { 100, 102, 102, 102, 102, 102 } },
};

static void tiny_inputs_give_stated_answers(void **state)
{
    (void)state;
    for (size_t c = 0; c < ARRAY_SIZE(tiny_cases); c++) {
        const struct tiny_case *tc = &tiny_cases[c];
        struct sketch s;
        sketch_of(&s, tc->values, tc->n);
        for (size_t i = 0; i < NQ; i++)
            assert_int_equal(sketch_quantile(&s, qs_permille[i] / 1000.0), tc->expect[i]);
        sketch_release(&s);
        check_against_sorted(tc->values, tc->n);
    }
}

/* 0.07 * 100 is 7.000000000000001 in doubles; the rank must still be 6. */
static void rank_survives_float_rounding(void **state)
{
    (void)state;
    struct sketch s;
    sketch_init(&s);
    for (int64_t v = 1; v <= 100; v++)
        sketch_add(&s, v);
    static const struct {
        double q;
        int64_t expect;
    } cases[] = { { 0.07, 7 },   { 0.14, 14 },  { 0.29, 29 }, { 0.57, 57 },  { 0.5, 50 },
                  { 0.505, 51 }, { 0.0001, 1 }, { 0.99, 99 }, { 0.991, 100 } };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_int_equal(sketch_quantile(&s, cases[i].q), cases[i].expect);
    sketch_release(&s);
}

static void empty_sketch_reports_nothing(void **state)
{
    (void)state;
    struct sketch s;
    sketch_init(&s);
    assert_int_equal(sketch_count(&s), 0);
    for (size_t i = 0; i < NQ; i++)
        assert_int_equal(sketch_quantile(&s, qs_permille[i] / 1000.0), 0);
    assert_int_equal(sketch_memory(&s), 0);
    int64_t lo[4], hi[4];
    uint64_t cnt[4];
    assert_int_equal(sketch_buckets(&s, lo, hi, cnt, 4), 0);

    struct sketch t;
    sketch_init(&t);
    sketch_add(&t, 5);
    sketch_merge(&t, &s);
    sketch_merge(&s, &s);
    assert_int_equal(sketch_count(&t), 1);
    assert_int_equal(sketch_quantile(&t, 0.5), 5);
    sketch_merge(&s, &t);
    assert_int_equal(sketch_count(&s), 1);
    assert_int_equal(sketch_quantile(&s, 1.0), 5);
    sketch_release(&s);
    sketch_release(&t);
}

static void zero_values_use_zero_bucket(void **state)
{
    (void)state;
    static const int64_t v[] = { 0, 5, 0, 0 };
    struct sketch s;
    sketch_of(&s, v, ARRAY_SIZE(v));
    assert_int_equal(sketch_quantile(&s, 0.0), 0);
    assert_int_equal(sketch_quantile(&s, 0.5), 0);
    assert_int_equal(sketch_quantile(&s, 0.75), 0);
    assert_int_equal(sketch_quantile(&s, 0.76), 5);
    assert_int_equal(sketch_quantile(&s, 1.0), 5);

    int64_t lo[4], hi[4];
    uint64_t cnt[4];
    assert_int_equal(sketch_buckets(&s, lo, hi, cnt, 4), 2);
    assert_int_equal(lo[0], 0);
    assert_int_equal(hi[0], 0);
    assert_int_equal(cnt[0], 3);
    assert_int_equal(lo[1], 5);
    assert_int_equal(hi[1], 5);
    assert_int_equal(cnt[1], 1);
    sketch_release(&s);

    sketch_init(&s);
    for (int i = 0; i < 10; i++)
        sketch_add(&s, 0);
    assert_int_equal(sketch_quantile(&s, 0.5), 0);
    assert_int_equal(sketch_quantile(&s, 1.0), 0);
    assert_int_equal(sketch_memory(&s), 0);
    sketch_release(&s);
}

static void huge_values_within_1pct(void **state)
{
    (void)state;
    static const int64_t v[] = {
        86400000000,         /* a day-long statement */
        100000000000,        /* 1e11 */
        100000000001,        /* */
        99128839831,         /* first value of 1e11's bucket */
        101131442655,        /* last value of that bucket */
        INT64_MAX - 1,       /* */
        INT64_MAX,           /* */
        9150110443487142133, /* first value of the last bucket */
        65535,               /* last value of the lookup table */
        65536,               /* first value through log() */
    };
    check_against_sorted(v, ARRAY_SIZE(v));

    struct sketch s;
    sketch_of(&s, v, 2);
    assert_int_equal(sketch_quantile(&s, 0.0), 86400000000);
    assert_int_equal(sketch_quantile(&s, 1.0), 100000000000);
    sketch_release(&s);
}

/*
 * Walks every bucket through the public API and checks the layout: buckets
 * tile [1, INT64_MAX] (2,050 of them, 1,133 up to 1e11), values 1..99 are
 * exact, a bucket is at most gamma wide, and its representative is within
 * 1% of both ends, hence of every value inside.
 */
static void every_bucket_keeps_the_bound(void **state)
{
    (void)state;
    size_t buckets = 0, upto_1e11 = 0;
    int64_t v = 1;
    for (;;) {
        struct sketch s;
        int64_t lo, hi;
        uint64_t cnt;
        sketch_init(&s);
        sketch_add(&s, v);
        assert_int_equal(sketch_buckets(&s, &lo, &hi, &cnt, 1), 1);
        assert_int_equal(lo, v);
        if (v < 99)
            assert_int_equal(hi, v);
        assert_true((long double)hi / (long double)lo <= 1.01L / 0.99L);
        sketch_release(&s);

        /* The last value lands in the same bucket. */
        int64_t lo2, hi2;
        sketch_init(&s);
        sketch_add(&s, hi);
        assert_int_equal(sketch_buckets(&s, &lo2, &hi2, &cnt, 1), 1);
        assert_int_equal(lo2, lo);
        assert_int_equal(hi2, hi);
        sketch_release(&s);

        /* 0 and INT64_MAX keep min and max from clamping the answer. */
        const int64_t probe[] = { 0, lo, hi, INT64_MAX };
        sketch_of(&s, probe, 4);
        assert_within_1pct(sketch_quantile(&s, 0.5), lo);
        assert_within_1pct(sketch_quantile(&s, 0.75), hi);
        sketch_release(&s);

        buckets++;
        upto_1e11 += lo <= 100000000000;
        if (hi == INT64_MAX)
            break;
        v = hi + 1;
    }
    assert_int_equal(buckets, 2050);
    assert_int_equal(upto_1e11, 1133);
}

/* Values through log() land in the bucket whose bounds contain them. */
static void large_values_find_their_bucket(void **state)
{
    (void)state;
    uint64_t rng = 7;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = rng_next(&rng);
        int64_t v = (int64_t)(rng_next(&rng) >> (1 + r % 48));
        if (v < 65536)
            v += 65536;
        struct sketch s;
        int64_t lo, hi;
        uint64_t cnt;
        sketch_init(&s);
        sketch_add(&s, v);
        assert_int_equal(sketch_buckets(&s, &lo, &hi, &cnt, 1), 1);
        assert_true(lo <= v && v <= hi);
        sketch_release(&s);
    }
}

#define EXPORT_MAX 4096

struct export
{
    size_t n;
    int64_t lo[EXPORT_MAX], hi[EXPORT_MAX];
    uint64_t cnt[EXPORT_MAX];
};

/* Equal bucket for bucket, and in every quantile. */
static void assert_sketch_equal(const struct sketch *a, const struct sketch *b)
{
    static struct export ea, eb;
    assert_int_equal(sketch_count(a), sketch_count(b));
    ea.n = sketch_buckets(a, ea.lo, ea.hi, ea.cnt, EXPORT_MAX);
    eb.n = sketch_buckets(b, eb.lo, eb.hi, eb.cnt, EXPORT_MAX);
    assert_true(ea.n < EXPORT_MAX);
    assert_int_equal(ea.n, eb.n);
    assert_memory_equal(ea.lo, eb.lo, ea.n * sizeof(ea.lo[0]));
    assert_memory_equal(ea.hi, eb.hi, ea.n * sizeof(ea.hi[0]));
    assert_memory_equal(ea.cnt, eb.cnt, ea.n * sizeof(ea.cnt[0]));
    for (int p = 0; p <= 1000; p++)
        assert_int_equal(sketch_quantile(a, p / 1000.0), sketch_quantile(b, p / 1000.0));
}

/* Four parts that exercise every layout: sparse, dense, zeros, huge. */
#define NPARTS 4

struct parts {
    int64_t *v[NPARTS];
    size_t n[NPARTS];
    struct sketch s[NPARTS];
    struct sketch all; /* fed every value directly, interleaved */
};

static int parts_setup(void **state)
{
    static const size_t sizes[NPARTS] = { 5, 50000, 2000, 40 };
    struct parts *p = calloc(1, sizeof(*p));
    uint64_t rng = 99;
    for (int i = 0; i < NPARTS; i++) {
        p->n[i] = sizes[i];
        p->v[i] = malloc(sizes[i] * sizeof(int64_t));
    }
    static const int64_t sparse[] = { 10, 20, 30, 20, 0 };
    memcpy(p->v[0], sparse, sizeof(sparse));
    gen_lognormal(p->v[1], p->n[1], &rng);
    for (size_t k = 0; k < p->n[2]; k++)
        p->v[2][k] = k % 3 ? 0 : (int64_t)(rng_next(&rng) % 300);
    for (size_t k = 0; k < p->n[3]; k++)
        p->v[3][k] = 86400000000 + (int64_t)(rng_next(&rng) % 100000000000);

    sketch_init(&p->all);
    for (size_t k = 0; k < sizes[1]; k++) {
        for (int i = 0; i < NPARTS; i++) {
            if (k < p->n[i])
                sketch_add(&p->all, p->v[i][k]);
        }
    }
    for (int i = 0; i < NPARTS; i++)
        sketch_of(&p->s[i], p->v[i], p->n[i]);
    *state = p;
    return 0;
}

static int parts_teardown(void **state)
{
    struct parts *p = *state;
    for (int i = 0; i < NPARTS; i++) {
        sketch_release(&p->s[i]);
        free(p->v[i]);
    }
    sketch_release(&p->all);
    free(p);
    return 0;
}

static void merge_of_four_equals_one_sketch(void **state)
{
    struct parts *p = *state;
    struct sketch m;
    sketch_init(&m);
    for (int i = 0; i < NPARTS; i++)
        sketch_merge(&m, &p->s[i]);
    assert_sketch_equal(&m, &p->all);
    sketch_release(&m);
}

/* Every order of the four parts, folded into an empty sketch or into a copy of the first. */
static void merge_order_does_not_matter(void **state)
{
    struct parts *p = *state;
    int perm[NPARTS] = { 0, 1, 2, 3 };
    for (int round = 0; round < 24; round++) {
        /* The round-th permutation in the factorial number system. */
        int pool[NPARTS] = { 0, 1, 2, 3 }, left = NPARTS, r = round;
        for (int i = 0; i < NPARTS; i++) {
            int f = 1;
            for (int k = 2; k < left; k++)
                f *= k;
            int pick = r / f;
            r %= f;
            perm[i] = pool[pick];
            memmove(&pool[pick], &pool[pick + 1], (size_t)(left - pick - 1) * sizeof(int));
            left--;
        }
        struct sketch m;
        sketch_init(&m);
        for (int i = 0; i < NPARTS; i++)
            sketch_merge(&m, &p->s[perm[i]]);
        assert_sketch_equal(&m, &p->all);
        sketch_release(&m);

        /* Into a non-empty destination, then as a tree. */
        struct sketch a, b;
        sketch_of(&a, p->v[perm[0]], p->n[perm[0]]);
        sketch_merge(&a, &p->s[perm[1]]);
        sketch_init(&b);
        sketch_merge(&b, &p->s[perm[2]]);
        sketch_merge(&b, &p->s[perm[3]]);
        sketch_merge(&a, &b);
        assert_sketch_equal(&a, &p->all);
        sketch_release(&a);
        sketch_release(&b);
    }
}

static void merge_with_itself_doubles(void **state)
{
    struct parts *p = *state;
    for (int i = 0; i < NPARTS; i++) {
        struct sketch a, twice;
        sketch_init(&a);
        sketch_merge(&a, &p->s[i]);
        sketch_merge(&a, &a);
        sketch_init(&twice);
        sketch_merge(&twice, &p->s[i]);
        sketch_merge(&twice, &p->s[i]);
        assert_sketch_equal(&a, &twice);
        sketch_release(&a);
        sketch_release(&twice);
    }
}

/*
 * Sparse entries keep counts in 52 bits; doubling a sketch by merging it
 * with itself reaches 2^60 values quickly and must switch layouts cleanly.
 */
static void counts_beyond_52_bits(void **state)
{
    (void)state;
    static const int64_t v[] = { 7, 7000 };
    struct sketch big, zeros, small;
    sketch_of(&big, v, 2);
    for (int i = 0; i < 59; i++)
        sketch_merge(&big, &big);
    assert_int_equal(sketch_count(&big), UINT64_C(1) << 60);
    assert_int_equal(sketch_quantile(&big, 0.5), 7);
    assert_int_equal(sketch_quantile(&big, 0.75), 6967); /* [6899, 7037] */
    assert_int_equal(sketch_quantile(&big, 1.0), 7000);

    /* Only zeros: past 2^52 values and still without buckets. */
    sketch_init(&zeros);
    sketch_add(&zeros, 0);
    for (int i = 0; i < 53; i++)
        sketch_merge(&zeros, &zeros);
    assert_int_equal(sketch_memory(&zeros), 0);
    sketch_of(&small, v, 2);
    sketch_merge(&zeros, &small);
    sketch_merge(&zeros, &big);
    assert_int_equal(sketch_count(&zeros), (UINT64_C(1) << 53) + (UINT64_C(1) << 60) + 2);

    int64_t lo[4], hi[4];
    uint64_t cnt[4];
    assert_int_equal(sketch_buckets(&zeros, lo, hi, cnt, 4), 3);
    assert_int_equal(cnt[0], UINT64_C(1) << 53);
    assert_int_equal(lo[1], 7);
    assert_int_equal(cnt[1], (UINT64_C(1) << 59) + 1);
    assert_int_equal(lo[2], 6899);
    assert_int_equal(hi[2], 7037);
    assert_int_equal(cnt[2], (UINT64_C(1) << 59) + 1);
    assert_int_equal(sketch_quantile(&zeros, 0.5), 7);
    sketch_release(&big);
    sketch_release(&zeros);
    sketch_release(&small);
}

/* Ascending and descending input grow the dense array in opposite directions. */
static void insertion_order_does_not_matter(void **state)
{
    (void)state;
    enum { N = 3000 };
    static int64_t v[N];
    for (int i = 0; i < N; i++)
        v[i] = (int64_t)i * i * 7 + 1;
    struct sketch up, down;
    sketch_of(&up, v, N);
    sketch_init(&down);
    for (int i = N - 1; i >= 0; i--)
        sketch_add(&down, v[i]);
    assert_sketch_equal(&up, &down);
    sketch_release(&up);
    sketch_release(&down);
    check_against_sorted(v, N);

    /* 16 distinct buckets stay sparse, the 17th turns the sketch dense. */
    struct sketch s;
    sketch_init(&s);
    for (int64_t x = 1; x <= 17; x++) {
        sketch_add(&s, x * 1000);
        assert_int_equal(sketch_quantile(&s, 1.0), x * 1000);
    }
    assert_within_1pct(sketch_quantile(&s, 0.5), 9000);
    sketch_release(&s);
}

static void one_value_sketch_is_small(void **state)
{
    (void)state;
    struct sketch s;
    sketch_init(&s);
    assert_int_equal(sketch_memory(&s), 0);
    sketch_add(&s, 1234);
    assert_in_range(sketch_memory(&s), 1, 64);
    for (int i = 0; i < 100000; i++)
        sketch_add(&s, 1234);
    assert_in_range(sketch_memory(&s), 1, 64);
    sketch_release(&s);
    assert_int_equal(sketch_memory(&s), 0);
    assert_int_equal(sketch_count(&s), 0);
    assert_true(sizeof(struct sketch) <= 48);

    /* Every bucket in use costs no more than the full dense array. */
    sketch_init(&s);
    uint64_t rng = 3;
    int64_t v[1000];
    gen_all_scales(v, 1000, &rng);
    for (int i = 0; i < 1000; i++)
        sketch_add(&s, v[i]);
    assert_in_range(sketch_memory(&s), 1, 2050 * sizeof(uint64_t));
    sketch_release(&s);
}

/*
 * The budget from the design: 100,000 sketches, most with 1-10 values
 * spread over 0.1-50 ms, a few with a million, in well under 100 MB.
 */
static void population_fits_budget(void **state)
{
    (void)state;
    enum { SKETCHES = 100000, BIG = 5 };
    struct sketch *all = malloc(SKETCHES * sizeof(*all));
    assert_non_null(all);
    uint64_t rng = 11;
    size_t bytes = SKETCHES * sizeof(*all);
    for (int i = 0; i < SKETCHES; i++) {
        sketch_init(&all[i]);
        int n = i < BIG ? 1000000 : 1 + (int)(rng_next(&rng) % 10);
        for (int k = 0; k < n; k++)
            sketch_add(&all[i], 100 + (int64_t)(rng_next(&rng) % 50000));
        bytes += sketch_memory(&all[i]);
    }
    assert_true(bytes < 20 * 1000 * 1000);
    for (int i = 0; i < SKETCHES; i++)
        sketch_release(&all[i]);
    free(all);
}

static void bucket_export_merges_to_fit(void **state)
{
    (void)state;
    static const int64_t v[] = { 0, 1, 1, 2, 150, 151, 1000000 };
    struct sketch s;
    sketch_of(&s, v, ARRAY_SIZE(v));

    static const struct {
        size_t max, n;
        int64_t lo[5], hi[5];
        uint64_t cnt[5];
    } cases[] = {
        { 100, 5, { 0, 1, 2, 149, 983924 }, { 0, 1, 2, 151, 1003801 }, { 1, 2, 1, 2, 1 } },
        { 5, 5, { 0, 1, 2, 149, 983924 }, { 0, 1, 2, 151, 1003801 }, { 1, 2, 1, 2, 1 } },
        /* Buckets 0..556 in two groups of 279: [0, 278] and [279, 556]. */
        { 3, 3, { 0, 1, 3860 }, { 0, 3859, 1003801 }, { 1, 5, 1 } },
        { 1, 1, { 0 }, { 1003801 }, { 7 } },
        { 0, 0, { 0 }, { 0 }, { 0 } },
    };
    for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
        int64_t lo[8], hi[8];
        uint64_t cnt[8];
        size_t n = sketch_buckets(&s, lo, hi, cnt, cases[c].max);
        assert_int_equal(n, cases[c].n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(lo[i], cases[c].lo[i]);
            assert_int_equal(hi[i], cases[c].hi[i]);
            assert_int_equal(cnt[i], cases[c].cnt[i]);
        }
    }
    sketch_release(&s);

    /* A dense sketch squeezed into 10 groups keeps every value, in order. */
    uint64_t rng = 5;
    int64_t w[20000];
    gen_lognormal(w, 20000, &rng);
    sketch_of(&s, w, 20000);
    int64_t lo[10], hi[10];
    uint64_t cnt[10], total = 0;
    size_t n = sketch_buckets(&s, lo, hi, cnt, 10);
    assert_in_range(n, 2, 10);
    for (size_t i = 0; i < n; i++) {
        assert_true(lo[i] <= hi[i]);
        if (i)
            assert_true(hi[i - 1] < lo[i]);
        total += cnt[i];
    }
    assert_int_equal(total, 20000);
    sketch_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantiles_within_1pct_of_sorted),
        cmocka_unit_test(constant_input_is_exact),
        cmocka_unit_test(tiny_inputs_give_stated_answers),
        cmocka_unit_test(rank_survives_float_rounding),
        cmocka_unit_test(empty_sketch_reports_nothing),
        cmocka_unit_test(zero_values_use_zero_bucket),
        cmocka_unit_test(huge_values_within_1pct),
        cmocka_unit_test(every_bucket_keeps_the_bound),
        cmocka_unit_test(large_values_find_their_bucket),
        cmocka_unit_test(counts_beyond_52_bits),
        cmocka_unit_test(insertion_order_does_not_matter),
        cmocka_unit_test(one_value_sketch_is_small),
        cmocka_unit_test(population_fits_budget),
        cmocka_unit_test(bucket_export_merges_to_fit),
        cmocka_unit_test_setup_teardown(merge_of_four_equals_one_sketch, parts_setup,
                                        parts_teardown),
        cmocka_unit_test_setup_teardown(merge_order_does_not_matter, parts_setup, parts_teardown),
        cmocka_unit_test_setup_teardown(merge_with_itself_doubles, parts_setup, parts_teardown),
    };
    return cmocka_run_group_tests_name("sketch", tests, NULL, NULL);
}
