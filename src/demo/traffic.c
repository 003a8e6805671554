/*
 * The demo shop's web traffic (see traffic.h): client threads that run a
 * weighted mix of page requests against PostgreSQL with libpq, each page a
 * few parameterised statements, and count every request as ok or failed
 * with its latency. It is the load that `sleuth demo` watches; it knows
 * nothing of sleuth beyond the fault switch.
 */
#include "demo/traffic.h"

#include "util/xalloc.h"

#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"

enum path {
    PATH_BROWSE,   /* web-browse */
    PATH_SEARCH,   /* web-search */
    PATH_CHECKOUT, /* web-checkout */
    PATH_ORDERS,   /* web-orders */
    PATH__COUNT
};

static const char *const app_names[PATH__COUNT] = { "web-browse", "web-search", "web-checkout",
                                                    "web-orders" };
/* Share of requests per path, in percent. */
static const int path_weights[PATH__COUNT] = { 40, 20, 10, 30 };

/* Latency buckets: bucket i holds latencies up to 50 µs * 2^(i/4). */
#define NBUCKETS 100

struct counts {
    int64_t ok, failed;
    uint32_t buckets[NBUCKETS];
};

/* A checkout transaction left open by the pool-exhaustion release. */
struct leak {
    PGconn *conn;
    int64_t until_us;
};

#define MAX_LEAKS 64

struct client {
    struct demo_traffic *t;
    pthread_t thread;
    bool started;
    bool fresh;        /* a surge visitor: every page on a connection of its own */
    int first_visitor; /* a surge thread's visitors: 16 from here */
    atomic_bool quit;  /* set to stop this client alone (the surge ends) */
    uint64_t rng;
    PGconn *conn[PATH__COUNT];
    int64_t retry_at_us[PATH__COUNT]; /* no connection attempt before (monotonic µs) */
    int backoff_ms[PATH__COUNT];
    struct leak leaks[MAX_LEAKS];
    int nleaks;
};

/* Seconds of requests counted one by one: longer than any demo runs. */
#define TRAFFIC_SECONDS 3600

/* Visitors a run can have: the regular ones and 16 for each surge thread. */
#define MAX_VISITORS (DEMO_VISITORS + 16 * 64)

struct demo_traffic {
    struct demo_traffic_opts o;
    pthread_mutex_t mu;
    struct counts window, phase[2];
    FILE *access;                   /* the access log (borrowed), or NULL */
    int64_t requests, failed, slow; /* the whole run */
    uint8_t visitor[MAX_VISITORS];  /* bit 1: seen, bit 2: saw a failed or slow page */
    int64_t first_second;           /* realtime second of the first request */
    struct {
        int64_t requests, failed, slow;
    } second[TRAFFIC_SECONDS]; /* per realtime second from first_second */
    int64_t start_us, window_start_us, fault_us, stop_us; /* monotonic µs; 0 = not yet */
    atomic_int fault;
    atomic_bool stopping;
    atomic_llong max_order_id;
    struct client *clients; /* o.clients regular ones, then SURGE_FACTOR times as many visitors */
    int nstarted;
    bool surging;
    bool stopped;
};

/* A traffic surge brings this many times the regular clients, as new visitors. */
#define SURGE_FACTOR 3

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* splitmix64: small, fast and good enough to shape traffic. */
static uint64_t rnd(struct client *c)
{
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t rnd_between(struct client *c, int64_t lo, int64_t hi)
{
    return hi <= lo ? lo : lo + (int64_t)(rnd(c) % (uint64_t)(hi - lo + 1));
}

void demo_traffic_opts_init(struct demo_traffic_opts *o)
{
    memset(o, 0, sizeof(*o));
    demo_shop_sizes(1, &o->sizes);
    o->clients = 4;
    o->think_min_ms = 10;
    o->think_max_ms = 30;
    o->hot_set = 40;
    o->hold_s = 120;
    o->seed = 42;
    o->slow_us = 1000000;
}

/* --- counting -------------------------------------------------------------- */

static int bucket_of(int64_t us)
{
    if (us <= 50)
        return 0;
    int b = (int)ceil(4.0 * log2((double)us / 50.0));
    return b < NBUCKETS ? b : NBUCKETS - 1;
}

static double bucket_ms(int b)
{
    return 0.05 * pow(2.0, b / 4.0);
}

/* What one page was, for the access log. */
struct page {
    const char *method;
    char path[64];
    int visitor;
};

/* The access log's line of a page, as nginx writes combined + request and upstream times. */
/*
 * The access log's line of a page, as nginx writes combined + request and
 * upstream times: to the millisecond, as the page is counted.
 */
static void log_access(FILE *f, const struct page *pg, bool ok, time_t when_s, int64_t ms)
{
    char when[40];
    struct tm tm;
    gmtime_r(&when_s, &tm);
    strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
    int v = pg->visitor;
    fprintf(f,
            "%s%d.%d - - [%s] \"%s %s HTTP/1.1\" %d %d \"-\" \"sleuth-demo\" %lld.%03lld "
            "%lld.%03lld\n",
            v < DEMO_VISITORS ? "10.20." : "198.51.", v / 200, v % 200 + 1, when, pg->method,
            pg->path, ok ? 200 : 500, ok ? 5120 : 180, (long long)(ms / 1000),
            (long long)(ms % 1000), (long long)(ms / 1000), (long long)(ms % 1000));
}

static void record(struct demo_traffic *t, const struct page *pg, bool ok, int64_t latency_us)
{
    int b = bucket_of(latency_us);
    /* Slow as the log tells it: the time to the millisecond. */
    int64_t ms = (latency_us + 500) / 1000;
    bool slow = ms * 1000 > t->o.slow_us;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&t->mu);
    struct counts *ph = &t->phase[t->fault_us ? 1 : 0];
    if (ok) {
        t->window.ok++;
        ph->ok++;
    } else {
        t->window.failed++;
        ph->failed++;
    }
    t->window.buckets[b]++;
    ph->buckets[b]++;
    t->requests++;
    t->failed += !ok;
    t->slow += slow;
    t->visitor[pg->visitor] |= 1 | (!ok || slow ? 2 : 0);
    if (!t->first_second)
        t->first_second = now.tv_sec;
    int64_t k = now.tv_sec - t->first_second;
    if (k >= 0 && k < TRAFFIC_SECONDS) {
        t->second[k].requests++;
        t->second[k].failed += !ok;
        t->second[k].slow += slow;
    }
    if (t->access)
        log_access(t->access, pg, ok, now.tv_sec, ms);
    pthread_mutex_unlock(&t->mu);
}

size_t demo_traffic_seconds(struct demo_traffic *t, int64_t *first_s,
                            struct demo_traffic_second *out, size_t max)
{
    pthread_mutex_lock(&t->mu);
    *first_s = t->first_second;
    size_t n = 0;
    for (size_t k = 0; k < TRAFFIC_SECONDS && n < max; k++)
        if (t->second[k].requests)
            out[n++] =
                (struct demo_traffic_second){ t->first_second + (int64_t)k, t->second[k].requests,
                                              t->second[k].failed, t->second[k].slow };
    pthread_mutex_unlock(&t->mu);
    return n;
}

void demo_traffic_totals(struct demo_traffic *t, struct demo_traffic_totals *out)
{
    pthread_mutex_lock(&t->mu);
    out->requests = t->requests;
    out->failed = t->failed;
    out->slow = t->slow;
    out->clients = out->clients_hurt = 0;
    for (int v = 0; v < MAX_VISITORS; v++) {
        out->clients += (t->visitor[v] & 1) != 0;
        out->clients_hurt += (t->visitor[v] & 2) != 0;
    }
    pthread_mutex_unlock(&t->mu);
}

static double quantile_ms(const struct counts *c, double q)
{
    int64_t n = c->ok + c->failed;
    if (n == 0)
        return 0;
    int64_t want = (int64_t)ceil(q * (double)n), seen = 0;
    for (int b = 0; b < NBUCKETS; b++) {
        seen += c->buckets[b];
        if (seen >= want)
            return bucket_ms(b);
    }
    return bucket_ms(NBUCKETS - 1);
}

static void stats_of(const struct counts *c, double seconds, struct demo_traffic_stats *out)
{
    out->ok = c->ok;
    out->failed = c->failed;
    out->seconds = seconds;
    double s = seconds > 1e-3 ? seconds : 1e-3;
    out->rps = (double)(c->ok + c->failed) / s;
    out->eps = (double)c->failed / s;
    out->p50_ms = quantile_ms(c, 0.50);
    out->p95_ms = quantile_ms(c, 0.95);
}

void demo_traffic_window(struct demo_traffic *t, struct demo_traffic_stats *out)
{
    pthread_mutex_lock(&t->mu);
    int64_t now = mono_us();
    stats_of(&t->window, (double)(now - t->window_start_us) / 1e6, out);
    memset(&t->window, 0, sizeof(t->window));
    t->window_start_us = now;
    pthread_mutex_unlock(&t->mu);
}

void demo_traffic_phase(struct demo_traffic *t, int phase, struct demo_traffic_stats *out)
{
    pthread_mutex_lock(&t->mu);
    int64_t end = t->stop_us ? t->stop_us : mono_us();
    int64_t from = phase == 0 ? t->start_us : t->fault_us;
    int64_t to = phase == 0 && t->fault_us ? t->fault_us : end;
    if (phase != 0 && !t->fault_us)
        from = to;
    stats_of(&t->phase[phase ? 1 : 0], (double)(to - from) / 1e6, out);
    pthread_mutex_unlock(&t->mu);
}

void demo_traffic_set_fault(struct demo_traffic *t, enum demo_fault f)
{
    pthread_mutex_lock(&t->mu);
    if (f != DEMO_STEADY && !t->fault_us)
        t->fault_us = mono_us();
    pthread_mutex_unlock(&t->mu);
    atomic_store(&t->fault, (int)f);
}

/* --- connections ---------------------------------------------------------- */

static PGconn *connect_as(const struct demo_traffic *t, enum path p)
{
    const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
    const char *vals[] = { t->o.conninfo, app_names[p], "5", NULL };
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* The path's connection, made if needed; NULL while refused (the request fails). */
static PGconn *path_conn(struct client *c, enum path p)
{
    if (c->conn[p] && PQstatus(c->conn[p]) == CONNECTION_OK)
        return c->conn[p];
    if (c->conn[p]) {
        PQfinish(c->conn[p]);
        c->conn[p] = NULL;
    }
    int64_t now = mono_us();
    if (now < c->retry_at_us[p])
        return NULL;
    c->conn[p] = connect_as(c->t, p);
    if (c->conn[p]) {
        c->backoff_ms[p] = 0;
        return c->conn[p];
    }
    c->backoff_ms[p] = c->backoff_ms[p] ? c->backoff_ms[p] * 2 : 100;
    if (c->backoff_ms[p] > 2000)
        c->backoff_ms[p] = 2000;
    c->retry_at_us[p] = now + (int64_t)c->backoff_ms[p] * 1000;
    return NULL;
}

/*
 * Runs one statement with text parameters. Returns the result when it
 * succeeded (the caller PQclears it), NULL when it failed.
 */
static PGresult *run(PGconn *conn, const char *sql, int n, const char *const *vals)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    PQclear(res);
    return NULL;
}

/* run() for statements whose result is not needed. */
static bool run_ok(PGconn *conn, const char *sql, int n, const char *const *vals)
{
    PGresult *res = run(conn, sql, n, vals);
    PQclear(res);
    return res != NULL;
}

static void rollback(PGconn *conn)
{
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        run_ok(conn, "ROLLBACK", 0, NULL);
}

/* --- the pages -------------------------------------------------------------- */

static bool order_items_of(PGconn *conn, const char *order_id)
{
    const char *v[] = { order_id };
    return run_ok(conn, "SELECT product_id, qty, price FROM order_items WHERE order_id = $1", 1, v);
}

static bool page_browse(struct client *c, enum demo_fault f)
{
    PGconn *conn = path_conn(c, PATH_BROWSE);
    if (!conn)
        return false;
    const struct demo_shop_sizes *sz = &c->t->o.sizes;
    char product[24], customer[24];
    int64_t pid = rnd_between(c, 1, sz->products);
    snprintf(product, sizeof(product), "%lld", (long long)pid);
    snprintf(customer, sizeof(customer), "%lld", (long long)rnd_between(c, 1, sz->customers));
    const char *v1[] = { product };
    if (!run_ok(conn, "SELECT id, name, price, stock FROM products WHERE id = $1", 1, v1))
        return false;
    bool surge = f == DEMO_DEPLOY_SURGE;
    const char *v2[] = { customer, surge ? "20" : "10" };
    PGresult *orders = run(conn,
                           "SELECT id, status, total, created_at FROM orders WHERE customer_id = "
                           "$1 ORDER BY created_at DESC LIMIT $2",
                           2, v2);
    if (!orders)
        return false;
    bool ok = true;
    int n = PQntuples(orders);
    if (surge) {
        /* The new release: every order's items, one query each, and a sales count. */
        for (int i = 0; i < n && ok; i++)
            ok = order_items_of(conn, PQgetvalue(orders, i, 0));
        if (ok && pid % 2 == 0)
            ok = run_ok(conn, "SELECT count(*) FROM order_items WHERE product_id = $1", 1, v1);
    } else if (n > 0 && rnd(c) % 4 == 0) {
        ok = order_items_of(conn, PQgetvalue(orders, 0, 0));
    }
    PQclear(orders);
    return ok;
}

static bool page_search(struct client *c, enum demo_fault f)
{
    PGconn *conn = path_conn(c, PATH_SEARCH);
    if (!conn)
        return false;
    char cat[16];
    snprintf(cat, sizeof(cat), "%d", (int)rnd_between(c, 0, c->t->o.sizes.categories - 1));
    const char *v[] = { cat };
    if (f == DEMO_REDUNDANT_FETCH) /* shows twenty of them, like the old page */
        return run_ok(conn, "SELECT * FROM products WHERE category = $1", 1, v);
    return run_ok(conn,
                  "SELECT id, name, price FROM products WHERE category = $1 ORDER BY id LIMIT 20",
                  1, v);
}

/* BEGIN, the order, its items; returns whether all succeeded (the transaction is left open). */
static bool checkout_begin(struct client *c, PGconn *conn)
{
    const struct demo_shop_sizes *sz = &c->t->o.sizes;
    char customer[24], total[24], items[96];
    snprintf(customer, sizeof(customer), "%lld", (long long)rnd_between(c, 1, sz->customers));
    snprintf(total, sizeof(total), "%d.99", (int)rnd_between(c, 10, 400));
    snprintf(items, sizeof(items), "{%lld,%lld,%lld}", (long long)rnd_between(c, 1, sz->products),
             (long long)rnd_between(c, 1, sz->products),
             (long long)rnd_between(c, 1, sz->products));
    if (!run_ok(conn, "BEGIN", 0, NULL))
        return false;
    const char *v1[] = { customer, total };
    PGresult *res = run(conn,
                        "INSERT INTO orders (customer_id, status, total, created_at, updated_at) "
                        "VALUES ($1, 'new', $2, now(), now()) RETURNING id",
                        2, v1);
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return false;
    }
    char id[24];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    long long idv = atoll(id), cur = atomic_load(&c->t->max_order_id);
    while (idv > cur && !atomic_compare_exchange_weak(&c->t->max_order_id, &cur, idv))
        ;
    const char *v2[] = { id, items };
    return run_ok(conn,
                  "INSERT INTO order_items (order_id, product_id, qty, price) SELECT $1, id, 1, "
                  "price FROM products WHERE id = ANY ($2::bigint[])",
                  2, v2);
}

static void leak_release(struct leak *l)
{
    if (PQstatus(l->conn) == CONNECTION_OK)
        run_ok(l->conn, "COMMIT", 0, NULL);
    PQfinish(l->conn);
    l->conn = NULL;
}

/* Ends the leaked transactions whose time is up. */
static void leaks_expire(struct client *c, int64_t now)
{
    int k = 0;
    for (int i = 0; i < c->nleaks; i++) {
        if (c->leaks[i].until_us <= now)
            leak_release(&c->leaks[i]);
        else
            c->leaks[k++] = c->leaks[i];
    }
    c->nleaks = k;
}

static bool page_checkout(struct client *c, enum demo_fault f)
{
    if (f == DEMO_POOL_EXHAUSTION) {
        /* The new release keeps the transaction open while it calls the payment provider. */
        PGconn *conn = connect_as(c->t, PATH_CHECKOUT);
        if (!conn)
            return false;
        if (!checkout_begin(c, conn)) {
            PQfinish(conn);
            return false;
        }
        if (c->nleaks == MAX_LEAKS) {
            leak_release(&c->leaks[0]);
            memmove(&c->leaks[0], &c->leaks[1], sizeof(c->leaks[0]) * (MAX_LEAKS - 1));
            c->nleaks--;
        }
        c->leaks[c->nleaks].conn = conn;
        c->leaks[c->nleaks].until_us = mono_us() + (int64_t)c->t->o.hold_s * 1000000;
        c->nleaks++;
        return true;
    }
    PGconn *conn = path_conn(c, PATH_CHECKOUT);
    if (!conn)
        return false;
    bool ok = checkout_begin(c, conn) && run_ok(conn, "COMMIT", 0, NULL);
    if (!ok)
        rollback(conn);
    return ok;
}

static bool page_orders(struct client *c)
{
    PGconn *conn = path_conn(c, PATH_ORDERS);
    if (!conn)
        return false;
    static const char *const statuses[] = { "paid", "packed", "shipped", "delivered" };
    long long top = atomic_load(&c->t->max_order_id);
    long long a = top - (long long)rnd_between(c, 0, c->t->o.hot_set - 1);
    long long b = top - (long long)rnd_between(c, 0, c->t->o.hot_set - 1);
    if (a > b) { /* always lock in id order: no deadlocks between workers */
        long long x = a;
        a = b;
        b = x;
    }
    char ida[24], idb[24];
    snprintf(ida, sizeof(ida), "%lld", a);
    snprintf(idb, sizeof(idb), "%lld", b);
    const char *sql = "UPDATE orders SET status = $1, updated_at = now() WHERE id = $2";
    const char *va[] = { statuses[rnd(c) % 4], ida };
    const char *vb[] = { statuses[rnd(c) % 4], idb };
    bool ok = run_ok(conn, "BEGIN", 0, NULL) && run_ok(conn, sql, 2, va) &&
              (a == b || run_ok(conn, sql, 2, vb)) && run_ok(conn, "COMMIT", 0, NULL);
    if (!ok)
        rollback(conn);
    return ok;
}

/* --- the threads ---------------------------------------------------------------- */

static void think(struct client *c)
{
    int64_t ms = rnd_between(c, c->t->o.think_min_ms, c->t->o.think_max_ms);
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct demo_traffic *t = c->t;
    while (!atomic_load(&t->stopping) && !atomic_load(&c->quit)) {
        enum demo_fault f = (enum demo_fault)atomic_load(&t->fault);
        int64_t t0 = mono_us();
        /* Back to the old release: its open transactions end too. */
        leaks_expire(c, f == DEMO_POOL_EXHAUSTION ? t0 : INT64_MAX);
        int pick = (int)(rnd(c) % 100), p = 0;
        while (p < PATH__COUNT - 1 && pick >= path_weights[p])
            pick -= path_weights[p++];
        struct page pg = { .method = "GET",
                           .visitor = c->fresh ? c->first_visitor + (int)(rnd(c) % 16)
                                               : (int)(rnd(c) % DEMO_VISITORS) };
        static const char *const urls[PATH__COUNT] = { "/products/%d", "/search?category=%d",
                                                       "/checkout", "/orders/%d/status" };
        snprintf(pg.path, sizeof(pg.path), urls[p], (int)(rnd(c) % 5000) + 1);
        if (p == PATH_CHECKOUT || p == PATH_ORDERS)
            pg.method = "POST";
        bool ok;
        switch ((enum path)p) {
        case PATH_BROWSE:
            ok = page_browse(c, f);
            break;
        case PATH_SEARCH:
            ok = page_search(c, f);
            break;
        case PATH_CHECKOUT:
            ok = page_checkout(c, f);
            break;
        default:
            ok = page_orders(c);
            break;
        }
        record(t, &pg, ok, mono_us() - t0);
        if (c->fresh)
            for (int k = 0; k < PATH__COUNT; k++) {
                PQfinish(c->conn[k]);
                c->conn[k] = NULL;
            }
        think(c);
    }
    for (int i = 0; i < c->nleaks; i++)
        PQfinish(c->leaks[i].conn); /* rolls back */
    c->nleaks = 0;
    for (int p = 0; p < PATH__COUNT; p++) {
        PQfinish(c->conn[p]);
        c->conn[p] = NULL;
    }
    return NULL;
}

int demo_traffic_start(struct demo_traffic **out, const struct demo_traffic_opts *o,
                       struct err *err)
{
    *out = NULL;
    struct demo_traffic *t = xcalloc(1, sizeof(*t));
    t->o = *o;
    if (t->o.clients < 1)
        t->o.clients = 1;
    if (t->o.hot_set < 1)
        t->o.hot_set = 1;
    pthread_mutex_init(&t->mu, NULL);
    atomic_init(&t->fault, DEMO_STEADY);
    atomic_init(&t->stopping, false);
    atomic_init(&t->max_order_id, (long long)o->sizes.orders);
    t->start_us = t->window_start_us = mono_us();
    t->clients = xcalloc((size_t)t->o.clients * (1 + SURGE_FACTOR), sizeof(*t->clients));
    for (int i = 0; i < t->o.clients * (1 + SURGE_FACTOR); i++) {
        struct client *c = &t->clients[i];
        c->t = t;
        c->rng = o->seed * 1000003u + (uint64_t)i * 7919u + 1;
        c->fresh = i >= t->o.clients;
        c->first_visitor = DEMO_VISITORS + 16 * ((i - t->o.clients) % 64);
        atomic_init(&c->quit, false);
    }
    t->access = o->access_log;
    for (int i = 0; i < t->o.clients; i++) {
        struct client *c = &t->clients[i];
        if (pthread_create(&c->thread, NULL, client_main, c) != 0) {
            err_set(err, ERR_IO, "cannot start traffic thread %d", i + 1);
            demo_traffic_free(t);
            return -1;
        }
        c->started = true;
        t->nstarted++;
    }
    *out = t;
    return 0;
}

int demo_traffic_surge(struct demo_traffic *t, bool on, struct err *err)
{
    if (on == t->surging)
        return 0;
    int first = t->o.clients, n = t->o.clients * SURGE_FACTOR;
    for (int i = first; i < first + n; i++) {
        struct client *c = &t->clients[i];
        if (on) {
            atomic_store(&c->quit, false);
            if (pthread_create(&c->thread, NULL, client_main, c) != 0)
                return err_set(err, ERR_IO, "cannot start surge thread %d", i + 1);
            c->started = true;
        } else if (c->started) {
            atomic_store(&c->quit, true);
            pthread_join(c->thread, NULL);
            c->started = false;
        }
    }
    t->surging = on;
    return 0;
}

void demo_traffic_stop(struct demo_traffic *t)
{
    if (!t || t->stopped)
        return;
    t->stopped = true;
    atomic_store(&t->stopping, true);
    for (int i = 0; i < t->o.clients * (1 + SURGE_FACTOR); i++)
        if (t->clients[i].started) {
            pthread_join(t->clients[i].thread, NULL);
            t->clients[i].started = false;
        }
    pthread_mutex_lock(&t->mu);
    t->stop_us = mono_us();
    if (t->access)
        fflush(t->access);
    pthread_mutex_unlock(&t->mu);
}

void demo_traffic_free(struct demo_traffic *t)
{
    if (!t)
        return;
    demo_traffic_stop(t);
    pthread_mutex_destroy(&t->mu);
    free(t->clients);
    free(t);
}
