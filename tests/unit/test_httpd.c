/*
 * The watcher's HTTP server over real loopback sockets, fetched with
 * libcurl: what a path serves, replacement by httpd_publish, the security
 * and caching headers, 404 and 405, HEAD, and the listen address rules.
 */
#include "test_util.h"

#include "sink/httpd.h"

#include <curl/curl.h>

struct reply {
    long status;
    struct buf body;
    struct buf headers; /* raw header lines, lower-cased names */
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    buf_add(&((struct reply *)ctx)->body, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct buf *b = &((struct reply *)ctx)->headers;
    size_t len = size * n;
    bool in_name = true;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == ':')
            in_name = false;
        if (in_name && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != '\r')
            buf_addch(b, c);
    }
    return len;
}

/* Fetches http://127.0.0.1:PORT/path with method; returns the reply (caller releases). */
static struct reply fetch(const struct httpd *h, const char *method, const char *path)
{
    struct reply r = { 0, BUF_INIT, BUF_INIT };
    char url[256];
    snprintf(url, sizeof(url), "http://%s%s", httpd_authority(h), path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a=1&b=2");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("fetching %s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(c);
    return r;
}

static void reply_release(struct reply *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

static bool has_header(const struct reply *r, const char *line)
{
    return strstr(r->headers.ptr, line) != NULL;
}

static int setup(void **state)
{
    struct err err;
    struct httpd *h = NULL;
    if (httpd_start(&h, "127.0.0.1:0", &err) < 0)
        fail_msg("httpd_start: %s", err.msg);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    httpd_stop(*state);
    return 0;
}

static void binds_a_free_loopback_port(void **state)
{
    struct httpd *h = *state;
    assert_true(httpd_port(h) > 0);
    char want[32];
    snprintf(want, sizeof(want), "127.0.0.1:%d", httpd_port(h));
    assert_string_equal(httpd_authority(h), want);
}

static void serves_what_was_published(void **state)
{
    struct httpd *h = *state;
    httpd_publish(h, "/metrics", "text/plain; version=0.0.4; charset=utf-8", "sleuth_up 1\n", 12);
    struct reply r = fetch(h, "GET", "/metrics");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.ptr, "sleuth_up 1\n");
    assert_true(has_header(&r, "content-type: text/plain; version=0.0.4; charset=utf-8\n"));
    assert_true(has_header(&r, "content-length: 12\n"));
    reply_release(&r);
}

static void security_and_cache_headers_on_every_reply(void **state)
{
    struct httpd *h = *state;
    httpd_publish(h, "/", "text/html; charset=utf-8", "<!DOCTYPE html>", 15);
    const char *paths[] = { "/", "/nothing-here" };
    for (size_t i = 0; i < 2; i++) {
        struct reply r = fetch(h, "GET", paths[i]);
        assert_true(has_header(&r, "cache-control: no-store\n"));
        assert_true(has_header(&r, "x-content-type-options: nosniff\n"));
        assert_true(has_header(&r, "content-security-policy: default-src 'none'; script-src "
                                   "'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
                                   "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                                   "frame-ancestors 'none'\n"));
        reply_release(&r);
    }
}

static void publish_replaces_the_document(void **state)
{
    struct httpd *h = *state;
    httpd_publish(h, "/api/state", "application/json", "{\"v\":1}", 7);
    httpd_publish(h, "/api/state", "application/json; charset=utf-8", "{\"v\":22}", 8);
    struct reply r = fetch(h, "GET", "/api/state");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.ptr, "{\"v\":22}");
    assert_true(has_header(&r, "content-type: application/json; charset=utf-8\n"));
    reply_release(&r);
}

static void body_may_hold_nul_bytes(void **state)
{
    struct httpd *h = *state;
    httpd_publish(h, "/bin", "application/octet-stream", "a\0b", 3);
    struct reply r = fetch(h, "GET", "/bin");
    assert_int_equal(r.body.len, 3);
    assert_memory_equal(r.body.ptr, "a\0b", 3);
    reply_release(&r);
}

static void unknown_path_is_404(void **state)
{
    struct httpd *h = *state;
    httpd_publish(h, "/api/alerts", "application/json", "[]", 2);
    const char *paths[] = { "/api", "/api/alerts/", "/API/ALERTS", "/favicon.ico" };
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        struct reply r = fetch(h, "GET", paths[i]);
        assert_int_equal(r.status, 404);
        assert_string_equal(r.body.ptr, "not found\n");
        reply_release(&r);
    }
}

static void query_string_is_ignored(void **state)
{
    struct httpd *h = *state;
    httpd_publish(h, "/api/alerts", "application/json", "[]", 2);
    struct reply r = fetch(h, "GET", "/api/alerts?since=1&x=%3Cscript%3E");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.ptr, "[]");
    reply_release(&r);
}

static void head_has_headers_and_no_body(void **state)
{
    struct httpd *h = *state;
    httpd_publish(h, "/metrics", "text/plain", "sleuth_up 1\n", 12);
    struct reply r = fetch(h, "HEAD", "/metrics");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    assert_true(has_header(&r, "content-length: 12\n"));
    reply_release(&r);
}

static void other_methods_are_405(void **state)
{
    struct httpd *h = *state;
    httpd_publish(h, "/metrics", "text/plain", "sleuth_up 1\n", 12);
    const char *methods[] = { "POST", "PUT", "DELETE", "OPTIONS" };
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        struct reply r = fetch(h, methods[i], "/metrics");
        assert_int_equal(r.status, 405);
        assert_true(has_header(&r, "allow: GET, HEAD\n"));
        assert_string_equal(r.body.ptr, "method not allowed\n");
        reply_release(&r);
    }
    /* The server still answers after refusing a request with a body. */
    struct reply r = fetch(h, "GET", "/metrics");
    assert_int_equal(r.status, 200);
    reply_release(&r);
}

static void a_large_document_arrives_whole(void **state)
{
    struct httpd *h = *state;
    struct buf big = BUF_INIT;
    for (int i = 0; i < 200000; i++)
        buf_addf(&big, "%d,", i % 10);
    httpd_publish(h, "/big", "text/plain", big.ptr, big.len);
    struct reply r = fetch(h, "GET", "/big");
    assert_int_equal(r.body.len, big.len);
    assert_memory_equal(r.body.ptr, big.ptr, big.len);
    reply_release(&r);
    buf_release(&big);
}

/* --- addresses ------------------------------------------------------------ */

static void start_fails(const char *addr, enum err_code code, const char *msg)
{
    struct err err;
    err_clear(&err);
    struct httpd *h = (struct httpd *)1;
    assert_int_equal(httpd_start(&h, addr, &err), -1);
    assert_null(h);
    assert_int_equal(err.code, code);
    assert_string_equal(err.msg, msg);
}

static void malformed_addresses_are_usage_errors(void **state)
{
    (void)state;
    start_fails("127.0.0.1", ERR_USAGE, "invalid listen address '127.0.0.1': expected HOST:PORT");
    start_fails("127.0.0.1:", ERR_USAGE, "invalid listen address '127.0.0.1:': expected HOST:PORT");
    start_fails("127.0.0.1:70000", ERR_USAGE,
                "invalid listen address '127.0.0.1:70000': expected HOST:PORT");
    start_fails("127.0.0.1:http", ERR_USAGE,
                "invalid listen address '127.0.0.1:http': expected HOST:PORT");
    start_fails("::1:9187", ERR_USAGE,
                "invalid listen address '::1:9187': write an IPv6 address in brackets");
    start_fails("[]:9187", ERR_USAGE, "invalid listen address '[]:9187': bad host");
}

static void port_only_means_loopback(void **state)
{
    (void)state;
    const char *addrs[] = { ":0", "0", "localhost:0" };
    for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
        struct err err;
        struct httpd *h = NULL;
        if (httpd_start(&h, addrs[i], &err) < 0)
            fail_msg("httpd_start %s: %s", addrs[i], err.msg);
        char want[32];
        snprintf(want, sizeof(want), "127.0.0.1:%d", httpd_port(h));
        /* localhost may resolve to ::1 first on some hosts. */
        if (strcmp(addrs[i], "localhost:0") != 0 || httpd_authority(h)[0] != '[')
            assert_string_equal(httpd_authority(h), want);
        httpd_publish(h, "/", "text/plain", "hi", 2);
        struct reply r = fetch(h, "GET", "/");
        assert_string_equal(r.body.ptr, "hi");
        reply_release(&r);
        httpd_stop(h);
    }
}

static void port_in_use_is_an_io_error(void **state)
{
    struct httpd *h = *state;
    char addr[64], msg[160];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", httpd_port(h));
    snprintf(msg, sizeof(msg), "cannot listen on '%s': Address already in use", addr);
    start_fails(addr, ERR_IO, msg);
}

static void stop_of_null_is_a_no_op(void **state)
{
    (void)state;
    httpd_stop(NULL);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(binds_a_free_loopback_port, setup, teardown),
        cmocka_unit_test_setup_teardown(serves_what_was_published, setup, teardown),
        cmocka_unit_test_setup_teardown(security_and_cache_headers_on_every_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(publish_replaces_the_document, setup, teardown),
        cmocka_unit_test_setup_teardown(body_may_hold_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_path_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(query_string_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(head_has_headers_and_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(other_methods_are_405, setup, teardown),
        cmocka_unit_test_setup_teardown(a_large_document_arrives_whole, setup, teardown),
        cmocka_unit_test(malformed_addresses_are_usage_errors),
        cmocka_unit_test(port_only_means_loopback),
        cmocka_unit_test_setup_teardown(port_in_use_is_an_io_error, setup, teardown),
        cmocka_unit_test(stop_of_null_is_a_no_op),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
