/*
 * Throughput of normalize_sql, in MB/s of input, on typical statements.
 * A standalone program, built by hand for now:
 *
 *   gcc -std=c17 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc \
 *       bench/normalize_bench.c src/sql/normalize.c src/util/buf.c \
 *       src/util/xalloc.c src/util/bug.c src/util/str.c -o /tmp/normalize_bench
 *   /tmp/normalize_bench [seconds per statement, default 2] [case name]
 *
 * Each statement is normalized into the same reused buffer (as a reader
 * thread does), so the figure is the lexer's speed, not malloc's.
 */
#include "sql/normalize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"

#define TRIALS 9

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Normalizes sql repeatedly for about secs seconds; returns MB/s of input. */
static double run_once(const char *sql, double secs, size_t *out_len)
{
    struct buf out = BUF_INIT;
    struct str s = str_cstr(sql);
    unsigned long iters = 0, batch = 1000;
    volatile unsigned sink = 0;
    double t0 = now_s(), t;
    do {
        for (unsigned long i = 0; i < batch; i++) {
            buf_reset(&out);
            sink += normalize_sql(s, &out);
        }
        iters += batch;
        t = now_s();
    } while (t - t0 < secs);
    *out_len = out.len;
    buf_release(&out);
    (void)sink;
    return (double)s.len * (double)iters / (t - t0) / 1e6;
}

/*
 * The best of several short runs: on a shared machine the slow runs measure
 * the neighbours, not the code.
 */
static double run(const char *sql, double secs, size_t *out_len, double *median)
{
    double r[TRIALS];
    for (int i = 0; i < TRIALS; i++)
        r[i] = run_once(sql, secs / TRIALS, out_len);
    for (int i = 1; i < TRIALS; i++) {
        for (int j = i; j > 0 && r[j - 1] > r[j]; j--) {
            double t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    }
    *median = r[TRIALS / 2];
    return r[TRIALS - 1];
}

int main(int argc, char **argv)
{
    static char select_in[2048];
    char *p = select_in;
    const char *head =
        "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id "
        "LEFT JOIN items i ON i.order_id = o.id WHERE o.status = 'shipped' AND o.id IN (";
    p += snprintf(p, sizeof(select_in), "%s", head);
    for (int i = 0; i < 50; i++)
        p += snprintf(p, sizeof(select_in) - (size_t)(p - select_in), "%s%d", i ? ", " : "",
                      10 + i * 7);
    snprintf(p, sizeof(select_in) - (size_t)(p - select_in), ") ORDER BY o.id DESC LIMIT 20;");

    const char *cases[][2] = {
        { "pgbench update",
          "UPDATE pgbench_accounts SET abalance = abalance + 4321 WHERE aid = 123456;" },
        { "select + in(50)", select_in },
        { "insert values",
          "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (7, 1, 63459, -2381, "
          "CURRENT_TIMESTAMP);" },
        { "ddl (kept)", "create table pgbench_accounts(aid    int not null,bid int,abalance "
                        "int,filler char(84)) with (fillfactor=100)" },
    };
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (argc > 2 && strcmp(argv[2], cases[i][0]) != 0)
            continue;
        size_t out_len;
        double median, best = run(cases[i][1], secs, &out_len, &median);
        printf("%-16s %4zu bytes -> %4zu  best %7.1f MB/s  median %7.1f MB/s\n", cases[i][0],
               strlen(cases[i][1]), out_len, best, median);
    }
    return 0;
}
