/*
 * Micro-benchmark for the quantile sketch's hot path (sketch_add) and its
 * memory use. Not part of the build; compile by hand:
 *
 *   gcc -std=c17 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc \
 *       src/stats/sketch.c src/util/xalloc.c src/util/bug.c \
 *       bench/sketch_bench.c -lm -lpthread -o /tmp/sketch_bench
 *
 * Inputs are generated up front so the timings cover sketch_add alone.
 */
#include "stats/sketch.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/banned.h"

#define NVALUES (1 << 20) /* a power of two: wrap with a mask */
#define ROUNDS  16

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* exp(normal), median median_us, sigma 1.5. */
static void fill_lognormal(int64_t *v, double median_us, uint64_t *rng)
{
    for (size_t i = 0; i < NVALUES; i++) {
        double z = -6.0;
        for (int k = 0; k < 12; k++)
            z += (double)(rng_next(rng) >> 11) / 9007199254740992.0;
        v[i] = (int64_t)llround(exp(log(median_us) + 1.5 * z));
    }
}

/* Adds ROUNDS * NVALUES values, value i to sketch idx[i] % nsketch; returns ns per add. */
static double time_adds(struct sketch *sk, size_t nsketch, const int64_t *v, const uint32_t *idx)
{
    double t0 = now_ns();
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < NVALUES; i++)
            sketch_add(&sk[idx ? idx[i] % nsketch : 0], v[i]);
    }
    return (now_ns() - t0) / ((double)ROUNDS * NVALUES);
}

static void report(const char *what, struct sketch *sk, size_t nsketch, double ns)
{
    size_t bytes = nsketch * sizeof(*sk);
    for (size_t i = 0; i < nsketch; i++)
        bytes += sketch_memory(&sk[i]);
    printf("%-44s %6.2f ns/add  %10.1f KB in %zu sketches\n", what, ns, bytes / 1024.0, nsketch);
}

int main(void)
{
    int64_t *v = malloc(NVALUES * sizeof(*v));
    uint32_t *idx = malloc(NVALUES * sizeof(*idx));
    enum { MANY = 100000 };
    struct sketch *sk = malloc(MANY * sizeof(*sk));
    if (!v || !idx || !sk)
        return 1;
    uint64_t rng = 1;
    for (size_t i = 0; i < NVALUES; i++)
        idx[i] = (uint32_t)rng_next(&rng);

    fill_lognormal(v, 2000.0, &rng);
    sketch_init(&sk[0]);
    report("1 sketch, lognormal median 2 ms", sk, 1, time_adds(sk, 1, v, NULL));
    sketch_release(&sk[0]);

    fill_lognormal(v, 2e6, &rng);
    sketch_init(&sk[0]);
    report("1 sketch, lognormal median 2 s (log path)", sk, 1, time_adds(sk, 1, v, NULL));
    sketch_release(&sk[0]);

    fill_lognormal(v, 2000.0, &rng);
    for (size_t n = 1000; n <= MANY; n *= 100) {
        for (size_t i = 0; i < n; i++)
            sketch_init(&sk[i]);
        char what[64];
        snprintf(what, sizeof(what), "%zu sketches, random order, median 2 ms", n);
        report(what, sk, n, time_adds(sk, n, v, idx));
        for (size_t i = 0; i < n; i++)
            sketch_release(&sk[i]);
    }

    /* The memory budget case: most sketches hold 1-10 values, a few a million. */
    size_t bytes = MANY * sizeof(*sk);
    for (size_t i = 0; i < MANY; i++) {
        sketch_init(&sk[i]);
        size_t n = i < 10 ? 1000000 : 1 + rng_next(&rng) % 10;
        for (size_t k = 0; k < n; k++)
            sketch_add(&sk[i], v[rng_next(&rng) % NVALUES]);
        bytes += sketch_memory(&sk[i]);
    }
    printf("100000 sketches (10 x 1e6 values, rest 1-10): %.1f MB (struct %zu bytes)\n",
           bytes / 1e6, sizeof(*sk));

    double t0 = now_ns();
    struct sketch m;
    sketch_init(&m);
    for (size_t i = 0; i < MANY; i++)
        sketch_merge(&m, &sk[i]);
    double t1 = now_ns();
    int64_t p99 = 0;
    for (int i = 0; i < 1000; i++)
        p99 += sketch_quantile(&m, 0.99);
    double t2 = now_ns();
    printf("merge of all: %.0f ns/merge; quantile: %.0f ns; p99 %lld us\n", (t1 - t0) / MANY,
           (t2 - t1) / 1000, (long long)(p99 / 1000));
    sketch_release(&m);
    for (size_t i = 0; i < MANY; i++)
        sketch_release(&sk[i]);
    free(sk);
    free(idx);
    free(v);
    return 0;
}
