/*
 * Unit tests for the access-log reader (input/access.h) and the web tier's
 * aggregates and impact (stats/web.h, stats/webimpact.h): every layout
 * read field by field, detection, route folding, counted bad lines, and
 * the impact numbers of a hand-made stretch of failures.
 */
#include "input/access.h"
#include "stats/web.h"
#include "stats/webimpact.h"

#include "util/compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka 1.1.5 needs these four first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/banned.h"

/* 2026-12-06 22:10:35 UTC */
#define T0 1796595035LL

static struct access_format *compile(const char *spec)
{
    struct err err;
    struct access_format *f = access_format_compile(spec, &err);
    if (!f)
        fail_msg("%s: %s", spec, err.msg);
    return f;
}

static bool parse(const struct access_format *f, const char *line, struct access_record *rec)
{
    struct access_scan scan;
    access_scan_init(&scan);
    bool ok = access_parse(f, &scan, str_cstr(line), rec);
    /* Keep a JSON line's tree alive for the caller's checks: strings point into it. */
    if (!access_format_is_json(f))
        access_scan_release(&scan);
    return ok;
}

static void assert_str(struct str s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

static void nginx_combined_with_times(void **state)
{
    (void)state;
    struct access_format *f = compile("combined+rt");
    struct access_record r;
    assert_true(parse(f,
                      "203.0.113.7 - alice [06/Dec/2026:23:10:35 +0100] \"GET "
                      "/orders/123/items?page=2 HTTP/1.1\" 504 167 \"-\" \"curl/8.0 \\\"x\\\"\" "
                      "2.503 2.501, 0.002",
                      &r));
    assert_int_equal(r.ts_us, T0 * 1000000);
    assert_int_equal(r.offset_s, 3600);
    assert_str(r.client, "203.0.113.7");
    assert_str(r.user, "alice");
    assert_str(r.method, "GET");
    assert_str(r.path, "/orders/123/items?page=2");
    assert_int_equal(r.status, 504);
    assert_int_equal(r.latency_us, 2503000);
    assert_int_equal(r.upstream_us, 2503000); /* retries summed */
    /* "-" is no user and no upstream time. */
    assert_true(parse(f,
                      "10.0.0.1 - - [06/Dec/2026:22:10:35 +0000] \"GET / HTTP/2.0\" 200 5 \"-\" "
                      "\"-\" 0.000 -",
                      &r));
    assert_int_equal(r.user.len, 0);
    assert_int_equal(r.latency_us, 0);
    assert_int_equal(r.upstream_us, -1);
    /* A line of another layout is not read. */
    assert_false(parse(f, "not an access log line", &r));
    assert_false(parse(f,
                       "10.0.0.1 - - [06/Dec/2026:22:10:35 +0000] \"GET / HTTP/1.1\" OK 5 \"-\" "
                       "\"-\" 0.1 0.1",
                       &r));
    access_format_free(f);
}

static void apache_formats(void **state)
{
    (void)state;
    struct access_format *f = compile("%h %l %u %t \\\"%r\\\" %>s %b %D");
    struct access_record r;
    assert_true(parse(f,
                      "192.0.2.1 - - [06/Dec/2026:22:10:35 +0000] \"POST /login HTTP/1.1\" 302 "
                      "- 1250",
                      &r));
    assert_int_equal(r.ts_us, T0 * 1000000);
    assert_str(r.method, "POST");
    assert_str(r.path, "/login");
    assert_int_equal(r.status, 302);
    assert_int_equal(r.latency_us, 1250);
    access_format_free(f);
    f = compile("%a %t %>s %{ms}T \"%r\"");
    assert_true(parse(f, "192.0.2.1 [06/Dec/2026:22:10:35 +0000] 500 75 \"GET /x HTTP/1.0\"", &r));
    assert_int_equal(r.status, 500);
    assert_int_equal(r.latency_us, 75000);
    assert_str(r.path, "/x");
    access_format_free(f);
    /* The common layout has no time taken: unknown, not zero. */
    f = compile("common");
    assert_true(parse(f, "h - - [06/Dec/2026:22:10:35 +0000] \"GET / HTTP/1.1\" 200 1", &r));
    assert_int_equal(r.latency_us, -1);
    access_format_free(f);
}

static void json_lines(void **state)
{
    (void)state;
    struct access_format *f = compile("json");
    struct access_record r;
    struct access_scan scan;
    access_scan_init(&scan);
    /* nginx escape=json */
    assert_true(access_parse(f, &scan,
                             str_cstr("{\"time_iso8601\":\"2026-12-06T22:10:35+00:00\","
                                      "\"remote_addr\":\"10.1.1.1\",\"request\":\"GET /a/42 "
                                      "HTTP/1.1\",\"status\":\"502\",\"request_time\":\"1.200\","
                                      "\"upstream_response_time\":\"1.100\"}"),
                             &r));
    assert_int_equal(r.ts_us, T0 * 1000000);
    assert_str(r.client, "10.1.1.1");
    assert_str(r.path, "/a/42");
    assert_int_equal(r.status, 502);
    assert_int_equal(r.latency_us, 1200000);
    assert_int_equal(r.upstream_us, 1100000);
    /* Caddy: nested request, epoch time, duration in seconds. */
    assert_true(access_parse(f, &scan,
                             str_cstr("{\"level\":\"info\",\"ts\":1796595035.5,\"request\":{"
                                      "\"remote_ip\":\"10.2.2.2\",\"method\":\"GET\",\"uri\":\"/"
                                      "b\"},\"status\":200,\"duration\":0.25}"),
                             &r));
    assert_int_equal(r.ts_us, T0 * 1000000 + 500000);
    assert_str(r.client, "10.2.2.2");
    assert_str(r.method, "GET");
    assert_str(r.path, "/b");
    assert_int_equal(r.latency_us, 250000);
    /* Traefik: durations in nanoseconds. */
    assert_true(access_parse(f, &scan,
                             str_cstr("{\"ClientHost\":\"10.3.3.3\",\"DownstreamStatus\":503,"
                                      "\"Duration\":3000000000,\"OriginDuration\":2900000000,"
                                      "\"RequestMethod\":\"GET\",\"RequestPath\":\"/c\","
                                      "\"StartUTC\":\"2026-12-06T22:10:35.25Z\"}"),
                             &r));
    assert_int_equal(r.ts_us, T0 * 1000000 + 250000);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.latency_us, 3000000);
    assert_int_equal(r.upstream_us, 2900000);
    /* No status, or not JSON: not read. */
    assert_false(access_parse(f, &scan, str_cstr("{\"time\":\"2026-12-06T22:10:35Z\"}"), &r));
    assert_false(access_parse(f, &scan, str_cstr("{\"status\": 200, "), &r));
    access_scan_release(&scan);
    access_format_free(f);
    /* A field map for any other JSON. */
    f = compile("json:time=at,client=who.ip,status=code,latency_ms=took,path=url");
    access_scan_init(&scan);
    assert_true(access_parse(f, &scan,
                             str_cstr("{\"at\":\"2026-12-06 22:10:35Z\",\"who\":{\"ip\":\"h\"},"
                                      "\"code\":404,\"took\":12.5,\"url\":\"/d\"}"),
                             &r));
    assert_str(r.client, "h");
    assert_int_equal(r.status, 404);
    assert_int_equal(r.latency_us, 12500);
    access_scan_release(&scan);
    access_format_free(f);
}

static void bad_formats(void **state)
{
    (void)state;
    struct err err;
    assert_null(access_format_compile("$remote_addr $request_time", &err));
    assert_non_null(strstr(err.msg, "no status field"));
    assert_null(access_format_compile("%h %>s", &err));
    assert_non_null(strstr(err.msg, "no time field"));
    assert_null(access_format_compile("json:speed=x,status=s", &err));
    assert_non_null(strstr(err.msg, "unknown key 'speed'"));
    assert_null(access_format_compile("plain words", &err));
    assert_null(access_format_compile("%h %t %{%d/%b}t %>s", &err));
}

static const char *detect_name(const char *text)
{
    static char name[64];
    struct access_format *f = access_format_detect(text, strlen(text));
    if (!f)
        return "none";
    snprintf(name, sizeof(name), "%s", access_format_spec(f));
    access_format_free(f);
    return name;
}

static void detection(void **state)
{
    (void)state;
    const char *head = "1.2.3.4 - - [06/Dec/2026:22:10:35 +0000] \"GET / HTTP/1.1\" 200 12";
    char buf[2048];
    snprintf(buf, sizeof(buf), "%s \"-\" \"ua\" 0.010 0.009\n%s \"-\" \"ua\" 0.020 -\n", head,
             head);
    assert_string_equal(detect_name(buf), "combined+rt");
    snprintf(buf, sizeof(buf), "%s \"-\" \"ua\" 0.010 0.009 HIT\n", head);
    assert_string_equal(detect_name(buf), "combined+rt+cache");
    snprintf(buf, sizeof(buf), "%s \"-\" \"ua\" 1234\n%s \"-\" \"ua\" 99\n", head, head);
    assert_string_equal(detect_name(buf), "combined+D");
    snprintf(buf, sizeof(buf), "%s \"-\" \"ua\" 0.010\n", head);
    assert_string_equal(detect_name(buf), "combined+request_time");
    snprintf(buf, sizeof(buf), "%s \"-\" \"ua\"\n", head);
    assert_string_equal(detect_name(buf), "combined");
    snprintf(buf, sizeof(buf), "%s\n%s 5000\n", head, head);
    assert_string_equal(detect_name(buf), "common");
    assert_string_equal(detect_name("{\"status\":200,\"time\":\"2026-12-06T22:10:35Z\"}\n"),
                        "json");
    assert_string_equal(detect_name("2026-12-06 22:10:35 UTC [12] LOG:  duration: 1 ms\n"), "none");
}

static void routes(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "/orders/123/items?x=1", "/orders/{id}/items" },
        { "/u/550e8400-e29b-41d4-a716-446655440000/", "/u/{id}/" },
        { "/static/app.css", "/static/app.css" },
        { "/blog/2026/why-postgres", "/blog/{id}/why-postgres" },
        { "/s/deadbeef42", "/s/{id}" },
        { "/api/v2/users", "/api/v2/users" },
        { "https://example.com/a/7#top", "/a/{id}" },
        { "", "-" },
        { "/search?q=1", "/search" },
    };
    char out[256];
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        access_route(str_cstr(cases[i][0]), out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
    /* A record whose request did not parse has no path at all. */
    access_route(STR_NULL, out, sizeof(out));
    assert_string_equal(out, "-");
    /* Cut to the buffer, NUL-terminated. */
    assert_int_equal(access_route(str_cstr("/abcdefgh"), out, 5), 4);
    assert_string_equal(out, "/abc");
}

static struct access_record req(int64_t s, const char *client, const char *path, int status,
                                int64_t latency_ms)
{
    return (struct access_record){ .ts_us = (T0 + s) * 1000000,
                                   .client = str_cstr(client),
                                   .path = str_cstr(path),
                                   .status = status,
                                   .latency_us = latency_ms * 1000,
                                   .upstream_us = latency_ms * 900 };
}

/*
 * 10 minutes of 10 clients, one request each a second; from minute 5 to
 * minute 7 clients 0-3 get a 503 on every /pay request (every 2nd second)
 * and client 4 a 2 s page on /slow every 10th second.
 */
static void fill(struct web *w)
{
    static const char *const clients[] = { "c0", "c1", "c2", "c3", "c4",
                                           "c5", "c6", "c7", "c8", "c9" };
    for (int64_t s = 0; s < 600; s++) {
        for (int c = 0; c < 10; c++) {
            bool fault = s >= 300 && s < 420;
            struct access_record r = req(s, clients[c], "/home", 200, 20);
            if (fault && c < 4 && s % 2 == 0)
                r = req(s, clients[c], "/pay/77", 503, 30);
            if (fault && c == 4 && s % 10 == 0)
                r = req(s, clients[c], "/slow", 200, 2000);
            web_add(w, &r);
        }
    }
}

static void impact_of_a_fault(void **state)
{
    (void)state;
    struct web w;
    struct web_opts o = {
        .interval_us = 60000000, .slow_us = 1000000, .since_us = TS_NONE, .until_us = TS_NONE
    };
    web_init(&w, &o);
    fill(&w);
    assert_int_equal(w.requests, 6000);
    assert_int_equal(w.failed, 4 * 60);
    assert_int_equal(w.slow, 12);
    assert_int_equal(w.status[4], 240);
    struct web_window *wins;
    size_t n = web_incidents(&w, &wins);
    assert_int_equal(n, 1);
    assert_int_equal(wins[0].from_us, (T0 + 300) * 1000000);
    assert_int_equal(wins[0].to_us, (T0 + 419) * 1000000); /* the last hurt second is 418 */
    free(wins);
    /* Asked for a database incident's window (minute 5 to 6): the web tier's own edges. */
    struct web_impact imp;
    web_impact(&w, (T0 + 300) * 1000000, (T0 + 360) * 1000000, &imp);
    assert_true(imp.from_web);
    assert_int_equal(imp.window.from_us, (T0 + 300) * 1000000);
    assert_int_equal(imp.requests, 1190);
    assert_int_equal(imp.failed, 240);
    assert_int_equal(imp.slow, 12);
    assert_int_equal(imp.clients, 10);
    assert_int_equal(imp.clients_hurt, 5);
    assert_int_equal(imp.nroutes, 2);
    assert_string_equal(names_get(&w.routes, imp.routes[0].route).ptr, "/pay/{id}");
    assert_int_equal(imp.routes[0].c.failed, 240);
    assert_string_equal(names_get(&w.routes, imp.routes[1].route).ptr, "/slow");
    assert_int_equal(imp.routes[1].c.slow, 12);
    /* Same traffic before and during: no surge; no client new. */
    assert_true(imp.rps_before > 9.9 && imp.rps_before < 10.1);
    assert_true(imp.rps_during > 9.9 && imp.rps_during < 10.1);
    assert_true(imp.new_clients_share == 0);
    assert_true(imp.upstream_share_during > 0.89 && imp.upstream_share_during < 0.91);
    web_release(&w);
}

static void assert_same_impact(const struct web *a, const struct web *b, int64_t from_s,
                               int64_t to_s)
{
    struct web_impact x, y;
    web_impact(a, (T0 + from_s) * 1000000, (T0 + to_s) * 1000000, &x);
    web_impact(b, (T0 + from_s) * 1000000, (T0 + to_s) * 1000000, &y);
    assert_int_equal(x.requests, y.requests);
    assert_int_equal(x.failed, y.failed);
    assert_int_equal(x.slow, y.slow);
    assert_int_equal(x.clients, y.clients);
    assert_int_equal(x.clients_hurt, y.clients_hurt);
    assert_int_equal(x.nroutes, y.nroutes);
    for (size_t i = 0; i < x.nroutes; i++)
        assert_int_equal(x.routes[i].c.failed, y.routes[i].c.failed);
}

/*
 * Past the memory budget the finished intervals' lists go to a temporary
 * file: read back, with a line back in time and a merge, they are the
 * lists that stayed in memory.
 */
static void spilled_lists_read_the_same(void **state)
{
    (void)state;
    struct web_opts o = { .interval_us = 60000000, .since_us = TS_NONE, .until_us = TS_NONE };
    struct web held, spilled, late_part;
    web_init(&held, &o);
    o.lists_memory = 1; /* spill at every new line */
    web_init(&spilled, &o);
    web_init(&late_part, &o);
    fill(&held);
    fill(&spilled);
    assert_true(spilled.spill_fd >= 0);
    assert_int_equal(spilled.buckets[5].clients.n, 0);
    assert_int_equal(spilled.buckets[5].clients.spilled, 10);
    assert_int_equal(spilled.buckets[spilled.nbuckets - 1].clients.n, 10); /* the last stays */
    /* Minute 5 again, from another range merged in: c7 fails once on a new route. */
    struct access_record late = req(310, "c7", "/pay/78", 503, 40);
    web_add(&held, &late);
    web_add(&late_part, &late);
    web_merge(&spilled, &late_part);
    web_release(&late_part);
    assert_int_equal(spilled.buckets[5].clients.spilled + spilled.buckets[5].clients.n, 11);
    assert_same_impact(&held, &spilled, 300, 360);
    assert_same_impact(&held, &spilled, 0, 600);
    struct web_impact imp;
    web_impact(&spilled, (T0 + 300) * 1000000, (T0 + 360) * 1000000, &imp);
    assert_int_equal(imp.clients_hurt, 6); /* c0-c4 and c7 */
    struct web_buf a = { NULL, 0 }, b = { NULL, 0 };
    for (size_t i = 0; i < held.nbuckets; i++) {
        size_t na, nb;
        const struct web_route_visit *ra = web_routes_of(&held, &held.buckets[i], &a, &na);
        const struct web_route_visit *rb = web_routes_of(&spilled, &spilled.buckets[i], &b, &nb);
        assert_int_equal(na, nb);
        for (size_t k = 0; k < na; k++) {
            assert_string_equal(names_get(&held.routes, ra[k].id).ptr,
                                names_get(&spilled.routes, rb[k].id).ptr);
            assert_int_equal(ra[k].c.requests, rb[k].c.requests);
            assert_int_equal(ra[k].timed, rb[k].timed);
            assert_int_equal(ra[k].latency_us, rb[k].latency_us);
        }
    }
    /* /home in the second interval (a whole minute): 10 clients a second at 20 ms. */
    size_t n;
    const struct web_route_visit *r0 = web_routes_of(&spilled, &spilled.buckets[1], &b, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r0[0].c.requests, 600);
    assert_int_equal(r0[0].latency_us, 600 * 20000);
    web_buf_release(&a);
    web_buf_release(&b);
    web_release(&held);
    web_release(&spilled);
}

static void quiet_log_has_no_incident(void **state)
{
    (void)state;
    struct web w;
    struct web_opts o = { .interval_us = 60000000, .since_us = TS_NONE, .until_us = TS_NONE };
    web_init(&w, &o);
    /* 1 % of pages fail all along: the usual share, not an incident. */
    for (int64_t s = 0; s < 600; s++)
        for (int c = 0; c < 10; c++) {
            struct access_record r = req(s, "c", "/", (s * 10 + c) % 100 == 0 ? 500 : 200, 5);
            web_add(&w, &r);
        }
    struct web_window *wins;
    assert_int_equal(web_incidents(&w, &wins), 0);
    free(wins);
    assert_int_equal(w.failed, 60);
    web_release(&w);
}

static void read_counts_bad_and_long_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/sleuth-access-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    const char *ok = "1.2.3.4 - - [06/Dec/2026:22:10:35 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" "
                     "\"ua\" 0.010 0.009\n";
    fputs(ok, f);
    fputs("garbage\n", f);
    fputs(ok, f);
    for (size_t i = 0; i < WEB_MAX_LINE + 10; i++)
        fputc('x', f);
    fputc('\n', f);
    fputs(ok, f);
    fputs("1.2.3.4 - - [06/Dec/2026:22:10:36 +0000] \"GET / HTTP/1.1\" 500 1 \"-\" \"ua\" 0.5 0.4",
          f); /* no newline at the end */
    fclose(f);
    struct web w;
    struct web_opts o = { .interval_us = 60000000, .since_us = TS_NONE, .until_us = TS_NONE };
    web_init(&w, &o);
    struct err err;
    char *paths[] = { path };
    assert_int_equal(web_read(&w, paths, 1, &err), 0);
    assert_int_equal(w.inputs[0].lines, 6);
    assert_int_equal(w.inputs[0].requests, 4);
    assert_int_equal(w.inputs[0].bad_lines, 2);
    assert_int_equal(w.inputs[0].first_bad_line, 2);
    assert_int_equal(w.inputs[0].oversize, 1);
    assert_string_equal(w.inputs[0].format, "combined+rt");
    assert_int_equal(w.failed, 1);
    web_release(&w);
    /* Not an access log at all: the input fails with its name. */
    f = fopen(path, "w");
    fputs("2026-12-06 22:10:35 UTC [1] LOG:  checkpoint starting\n", f);
    fclose(f);
    web_init(&w, &o);
    assert_int_equal(web_read(&w, paths, 1, &err), -1);
    assert_non_null(strstr(err.msg, "not an access log"));
    web_release(&w);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nginx_combined_with_times),
        cmocka_unit_test(apache_formats),
        cmocka_unit_test(json_lines),
        cmocka_unit_test(bad_formats),
        cmocka_unit_test(detection),
        cmocka_unit_test(routes),
        cmocka_unit_test(impact_of_a_fault),
        cmocka_unit_test(spilled_lists_read_the_same),
        cmocka_unit_test(quiet_log_has_no_incident),
        cmocka_unit_test(read_counts_bad_and_long_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
