/*
 * The webhook sink (see webhook.h): the network end of `sleuth watch`.
 * The watch loop calls webhook_send with each alert change the alert book
 * produced; the body is rendered at once (from alert_json and the console
 * sink's sentences) and queued, and one sender thread per webhook owns the
 * libcurl easy handle and does all HTTP. The loop therefore never waits on
 * a slow or dead receiver, and a bounded ring that drops its oldest entry
 * keeps memory flat whatever the receiver does.
 */
#include "sink/webhook.h"

#include "sink/console.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/banned.h"

#define DEFAULT_TIMEOUT_US (5 * INT64_C(1000000))
#define DEFAULT_RETRIES    3
#define DEFAULT_BACKOFF_US INT64_C(1000000)
#define DEFAULT_CAPACITY   256
#define MAX_BACKOFF_US     (60 * INT64_C(1000000))
#define SLACK_TEXT_CHARS   2800 /* a Slack section holds 3000 characters */
#define ANNOTATION_CHARS   4000 /* Alertmanager has no limit; receivers do */

/* How one queued body ended. */
enum outcome {
    OUT_SENT,   /* a 2xx answer */
    OUT_FAILED, /* retries used up, a permanent error, or cut by the deadline */
};

struct webhook {
    /* Set by webhook_new, then read-only. */
    char *url;
    char url_shown[200]; /* redacted: scheme://host[:port]/first/… */
    enum webhook_format format;
    int64_t timeout_us;
    int retries;
    int64_t backoff_us;
    char *instance;
    char *generator_url;
    CURL *curl; /* used only by the sender thread after webhook_new */
    struct curl_slist *headers;
    pthread_t thread;

    /* Everything below is guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* queue grew, or stopping was set */
    char **ring;         /* bodies, oldest at head */
    size_t cap, head, count;
    bool stopping;
    bool stopped;             /* the sender thread is joined: nothing more is sent */
    int64_t deadline_mono_us; /* valid once stopping */
    uint64_t sent, failed, dropped;
    bool has_error;
    struct err last_err;
};

void webhook_opts_init(struct webhook_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->format = WEBHOOK_GENERIC;
    opts->timeout_us = DEFAULT_TIMEOUT_US;
    opts->retries = DEFAULT_RETRIES;
    opts->backoff_us = DEFAULT_BACKOFF_US;
    opts->queue_capacity = DEFAULT_CAPACITY;
}

static const char *const format_names[] = {
    [WEBHOOK_GENERIC] = "generic",
    [WEBHOOK_SLACK] = "slack",
    [WEBHOOK_ALERTMANAGER] = "alertmanager",
};

const char *webhook_format_name(enum webhook_format format)
{
    return (unsigned)format < ARRAY_SIZE(format_names) ? format_names[format] : "unknown";
}

int webhook_format_parse(const char *name, enum webhook_format *out, struct err *err)
{
    for (size_t i = 0; i < ARRAY_SIZE(format_names); i++) {
        if (name && strcmp(name, format_names[i]) == 0) {
            *out = (enum webhook_format)i;
            return 0;
        }
    }
    return err_set(err, ERR_USAGE,
                   "unknown webhook format '%s' (expected generic, slack or alertmanager)",
                   name ? name : "");
}

/* ---- libcurl setup ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/*
 * curl_global_init is not thread-safe before libcurl 7.84 and must run
 * once; pthread_once covers every webhook in this process. There is no
 * matching cleanup: other webhooks may still run, and exit frees it.
 */
static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*
 * The URL as errors may show it: scheme, host, port and the first path
 * segment. The rest of the path, the query and the user info are where
 * services put their secrets (Slack: /services/T…/B…/<token>).
 */
bool webhook_url_scrub(char *url)
{
    char *auth = strstr(url, "://");
    if (!auth)
        return false;
    auth += 3;
    char *end = auth + strcspn(auth, "/?#");
    bool any = false;
    for (char *p = auth; p < end; p++) {
        if (*p == '@') {
            /* user:password@host: the whole userinfo goes. */
            for (char *q = auth; q < p; q++)
                *q = 'x';
            any = auth < p;
        }
    }
    /* Past the first path segment, keeping the '/', '?' or '#' that ends it. */
    char *from = *end == '/' ? end + 1 + strcspn(end + 1, "/?#") : end;
    if (*from)
        from++;
    for (char *p = from; *p; p++) {
        *p = 'x';
        any = true;
    }
    return any;
}

static int url_check(const char *url, char *shown, size_t shown_size, struct err *err)
{
    CURLU *u = curl_url();
    if (!u)
        return err_set(err, ERR_IO, "cannot parse webhook URL: out of memory");
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int rc = -1;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        /* The text may hold a secret and we cannot tell which part: don't echo it. */
        err_set(err, ERR_USAGE, "invalid webhook URL: %s", curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        err_set(err, ERR_USAGE, "webhook URL must start with http:// or https:// (not '%s:')",
                scheme ? scheme : "");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        err_set(err, ERR_USAGE, "webhook URL has no host");
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);

    struct buf b = BUF_INIT;
    buf_addf(&b, "%s://%s", scheme, host);
    if (port)
        buf_addf(&b, ":%s", port);
    const char *p = path && *path == '/' ? path + 1 : "";
    size_t seg = strcspn(p, "/");
    buf_addch(&b, '/');
    buf_add(&b, p, seg);
    if (p[seg] == '/' && p[seg + 1])
        buf_addstr(&b, "/\xE2\x80\xA6");
    else if (p[seg] == '/')
        buf_addch(&b, '/');
    if (query && *query)
        buf_addstr(&b, "?\xE2\x80\xA6");
    snprintf(shown, shown_size, "%s", b.ptr);
    buf_release(&b);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return rc;
}

/* ---- bodies ---- */

static void set_str(json_t *o, const char *key, const char *val)
{
    if (val)
        json_object_set_new(o, key, json_string(val));
}

/* Sets key to s made safe (valid UTF-8, one line, at most max_chars). */
static void set_clean(json_t *o, const char *key, const char *s, size_t max_chars)
{
    if (!s)
        return;
    struct buf b = BUF_INIT;
    console_text_append(&b, s, max_chars);
    json_object_set_new(o, key, json_string(b.ptr));
    buf_release(&b);
}

static void set_time(json_t *o, const char *key, int64_t ts_us)
{
    struct buf b = BUF_INIT;
    tstamp_format(&b, ts_us, 0);
    json_object_set_new(o, key, json_string(b.ptr));
    buf_release(&b);
}

/* The top cause, or NULL. */
static const struct cause *top_cause(const struct incident *inc)
{
    return inc->ncauses ? &inc->causes[0] : NULL;
}

static json_t *generic_body(const struct webhook *w, enum incident_change_kind change,
                            const struct incident *inc)
{
    json_t *o = json_object();
    set_str(o, "source", "sleuth");
    set_str(o, "instance", w->instance);
    set_str(o, "change", incident_change_name(change));
    json_object_set_new(o, "incident", incident_json(inc));
    return o;
}

/* Slack mrkdwn: &, < and > are control characters and must be escaped. */
static void slack_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            buf_addstr(b, "&amp;");
        else if (*s == '<')
            buf_addstr(b, "&lt;");
        else if (*s == '>')
            buf_addstr(b, "&gt;");
        else
            buf_addch(b, *s);
    }
}

static json_t *slack_section(const char *mrkdwn)
{
    json_t *text = json_object();
    set_str(text, "type", "mrkdwn");
    set_str(text, "text", mrkdwn);
    json_t *s = json_object();
    set_str(s, "type", "section");
    json_object_set_new(s, "text", text);
    return s;
}

/*
 * Appends a "*Label* text" section with text made safe and escaped. The cut
 * comes after escaping, because Slack rejects the whole message when a
 * section's text passes 3000 characters and "&lt;" counts as four; a cut
 * inside an entity only shows as "&l…".
 */
static void slack_add_section(json_t *blocks, const char *label, const char *text, bool code,
                              size_t max_chars)
{
    if (!text || !*text)
        return;
    struct buf clean = BUF_INIT, esc = BUF_INIT, md = BUF_INIT;
    console_text_append(&clean, text, SIZE_MAX);
    slack_escape(&esc, clean.ptr);
    buf_addf(&md, "*%s*%s", label, code ? "\n```" : " ");
    console_text_append(&md, esc.ptr, max_chars);
    if (code)
        buf_addstr(&md, "```");
    json_array_append_new(blocks, slack_section(md.ptr));
    buf_release(&clean);
    buf_release(&esc);
    buf_release(&md);
}

/* "14:02:49Z drop_index orders_customer_id_idx by 'migration'" */
static void change_text(struct buf *b, const struct incident_change *c)
{
    console_time_append(b, c->ts_us, false);
    buf_addf(b, " %s", sample_change_kind_name(c->kind));
    if (*c->object)
        buf_addf(b, " %s", c->object);
    if (*c->app)
        buf_addf(b, " by '%s'", c->app);
}

static json_t *slack_body(const struct webhook *w, enum incident_change_kind change,
                          const struct incident *inc)
{
    const struct cause *g = top_cause(inc);
    struct buf line = BUF_INIT, md = BUF_INIT;
    console_incident_headline(&line, change, inc);

    json_t *blocks = json_array();
    buf_addstr(&md, "*");
    slack_escape(&md, line.ptr);
    buf_addstr(&md, "*");
    json_array_append_new(blocks, slack_section(md.ptr));
    if (g && change == INCIDENT_CHANGE_RESOLVED)
        slack_add_section(blocks, "Was", g->summary, false, SLACK_TEXT_CHARS);
    if (g && g->query)
        slack_add_section(blocks, "Query", g->query, true, SLACK_TEXT_CHARS);
    if (inc->has_trigger) {
        buf_reset(&md);
        change_text(&md, &inc->trigger);
        slack_add_section(blocks, "Trigger", md.ptr, false, SLACK_TEXT_CHARS);
    }
    if (inc->has_fix) {
        buf_reset(&md);
        change_text(&md, &inc->fix);
        slack_add_section(blocks, "Fixed by", md.ptr, false, SLACK_TEXT_CHARS);
    }
    if (g && change != INCIDENT_CHANGE_RESOLVED)
        slack_add_section(blocks, "Fix", g->fix, false, SLACK_TEXT_CHARS);

    buf_reset(&md);
    buf_addstr(&md, "since ");
    console_time_append(&md, inc->onset_us, true);
    buf_addf(&md, " \xC2\xB7 %zu alert%s", inc->nalerts, inc->nalerts == 1 ? "" : "s");
    if (w->instance) {
        buf_addstr(&md, " \xC2\xB7 ");
        struct buf clean = BUF_INIT;
        console_text_append(&clean, w->instance, 200);
        slack_escape(&md, clean.ptr);
        buf_release(&clean);
    }
    buf_addstr(&md, " \xC2\xB7 sleuth");
    json_t *ctx_text = json_object();
    set_str(ctx_text, "type", "mrkdwn");
    set_str(ctx_text, "text", md.ptr);
    json_t *ctx = json_object();
    set_str(ctx, "type", "context");
    json_object_set_new(ctx, "elements", json_pack("[o]", ctx_text));
    json_array_append_new(blocks, ctx);

    const char *color = change == INCIDENT_CHANGE_RESOLVED ? "#2eb886"
                        : inc->critical                    ? "#d50200"
                                                           : "#daa038";
    json_t *att = json_object();
    set_str(att, "color", color);
    json_object_set_new(att, "blocks", blocks);

    buf_reset(&md);
    slack_escape(&md, line.ptr);
    json_t *o = json_object();
    set_str(o, "text", md.ptr);
    json_object_set_new(o, "attachments", json_pack("[o]", att));
    buf_release(&line);
    buf_release(&md);
    return o;
}

/*
 * One Alertmanager alert for the incident; ends_us 0 leaves endsAt out
 * (firing). Its labels are fixed for its life (the id), so Alertmanager
 * sees one alert that updates and resolves, never a new one per change;
 * the cause and severity of the moment go to the annotations.
 */
static json_t *am_alert(const struct webhook *w, const struct incident *inc, int64_t ends_us)
{
    const struct cause *g = top_cause(inc);
    char hex[17];
    json_t *labels = json_object();
    set_str(labels, "alertname", "sleuth_incident");
    snprintf(hex, sizeof(hex), "%016" PRIx64, inc->id);
    set_str(labels, "incident_id", hex);
    set_clean(labels, "instance", w->instance, 200);
    set_str(labels, "source", "sleuth");

    struct buf b = BUF_INIT;
    json_t *ann = json_object();
    console_incident_headline(&b, INCIDENT_CHANGE_OPENED, inc);
    set_clean(ann, "summary", b.ptr, ANNOTATION_CHARS);
    set_str(ann, "severity", inc->critical ? "critical" : "warning");
    if (g) {
        set_str(ann, "cause", cause_kind_name(g->kind));
        set_clean(ann, "table", g->table, 200);
        set_clean(ann, "query", g->query, ANNOTATION_CHARS);
        set_clean(ann, "fix", g->fix, ANNOTATION_CHARS);
    }
    if (inc->has_trigger) {
        buf_reset(&b);
        change_text(&b, &inc->trigger);
        set_clean(ann, "trigger", b.ptr, ANNOTATION_CHARS);
    }
    buf_release(&b);

    json_t *o = json_object();
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "annotations", ann);
    set_time(o, "startsAt", inc->onset_us);
    if (ends_us)
        set_time(o, "endsAt", ends_us);
    set_str(o, "generatorURL", w->generator_url);
    return o;
}

static json_t *alertmanager_body(const struct webhook *w, enum incident_change_kind change,
                                 const struct incident *inc)
{
    int64_t ends =
        change == INCIDENT_CHANGE_RESOLVED ? (inc->end_us ? inc->end_us : inc->updated_us) : 0;
    return json_pack("[o]", am_alert(w, inc, ends));
}

/* ---- the queue ---- */

static char *render(const struct webhook *w, enum incident_change_kind change,
                    const struct incident *inc)
{
    json_t *o;
    switch (w->format) {
    case WEBHOOK_SLACK:
        o = slack_body(w, change, inc);
        break;
    case WEBHOOK_ALERTMANAGER:
        o = alertmanager_body(w, change, inc);
        break;
    default:
        o = generic_body(w, change, inc);
        break;
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    return text;
}

static void enqueue(struct webhook *w, char *body)
{
    pthread_mutex_lock(&w->mu);
    if (!body) {
        /* json_dumps fails only on bad input; count it rather than abort the watch. */
        w->failed++;
    } else if (w->stopped) {
        free(body);
        w->dropped++;
    } else {
        if (w->count == w->cap) {
            free(w->ring[w->head]);
            w->head = (w->head + 1) % w->cap;
            w->count--;
            w->dropped++;
        }
        w->ring[(w->head + w->count) % w->cap] = body;
        w->count++;
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->mu);
}

void webhook_send(struct webhook *w, enum incident_change_kind change, const struct incident *inc)
{
    enqueue(w, render(w, change, inc));
}

void webhook_refresh(struct webhook *w, const struct incident *inc)
{
    if (w->format == WEBHOOK_ALERTMANAGER && inc->state == INCIDENT_OPEN)
        enqueue(w, render(w, INCIDENT_CHANGE_UPDATED, inc));
}

void webhook_stats(struct webhook *w, uint64_t *sent, uint64_t *failed, uint64_t *dropped,
                   uint64_t *queued)
{
    pthread_mutex_lock(&w->mu);
    if (queued)
        *queued = w->count;
    if (sent)
        *sent = w->sent;
    if (failed)
        *failed = w->failed;
    if (dropped)
        *dropped = w->dropped;
    pthread_mutex_unlock(&w->mu);
}

bool webhook_last_error(struct webhook *w, struct err *err)
{
    pthread_mutex_lock(&w->mu);
    bool has = w->has_error;
    if (has)
        *err = w->last_err;
    pthread_mutex_unlock(&w->mu);
    return has;
}

/* ---- the sender thread ---- */

/* Whether webhook_free's deadline has passed. Called with mu held. */
static bool past_deadline_locked(const struct webhook *w, int64_t now)
{
    return w->stopping && now >= w->deadline_mono_us;
}

static bool past_deadline(struct webhook *w)
{
    pthread_mutex_lock(&w->mu);
    bool past = past_deadline_locked(w, clock_mono_us());
    pthread_mutex_unlock(&w->mu);
    return past;
}

/* How long the next attempt may take: the timeout, cut to the deadline once stopping. */
static int64_t attempt_budget_us(struct webhook *w)
{
    int64_t budget = w->timeout_us;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        int64_t left = w->deadline_mono_us - clock_mono_us();
        if (left < budget)
            budget = left;
    }
    pthread_mutex_unlock(&w->mu);
    return budget;
}

/* Sleeps until until_mono_us; false if the deadline cut the wait short. */
static bool backoff_wait(struct webhook *w, int64_t until_mono_us)
{
    pthread_mutex_lock(&w->mu);
    for (;;) {
        int64_t now = clock_mono_us();
        if (past_deadline_locked(w, now) || (w->stopping && w->deadline_mono_us < until_mono_us))
            break;
        if (now >= until_mono_us) {
            pthread_mutex_unlock(&w->mu);
            return true;
        }
        struct timespec ts = { .tv_sec = until_mono_us / 1000000,
                               .tv_nsec = (long)(until_mono_us % 1000000) * 1000 };
        pthread_cond_timedwait(&w->wake, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return false;
}

/* libcurl's progress hook: aborts a request in flight once the deadline has passed. */
static int progress_cb(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return past_deadline(ctx) ? 1 : 0;
}

static size_t discard_cb(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    (void)ptr, (void)ctx;
    return size * nmemb;
}

/* Keeps "POST to '<redacted URL>': <detail or HTTP status>" for webhook_last_error. */
static void record_error(struct webhook *w, const char *detail, long status)
{
    pthread_mutex_lock(&w->mu);
    w->has_error = true;
    err_clear(&w->last_err);
    if (detail)
        err_set(&w->last_err, ERR_IO, "POST to '%s': %s", w->url_shown, detail);
    else
        err_set(&w->last_err, ERR_IO, "POST to '%s': HTTP %ld", w->url_shown, status);
    pthread_mutex_unlock(&w->mu);
}

/*
 * One POST. Returns 1 on a 2xx, 0 on an error worth retrying (network,
 * timeout, 408, 429, 5xx) and -1 on one that is not.
 */
static int attempt(struct webhook *w, const char *body, int64_t budget_us)
{
    int64_t ms = budget_us / 1000 > 0 ? budget_us / 1000 : 1;
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)ms);
    curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ms);
    CURLcode rc = curl_easy_perform(w->curl);
    if (rc != CURLE_OK) {
        /* curl_easy_strerror, not the error buffer: it never names the URL. */
        record_error(w, curl_easy_strerror(rc), 0);
        return rc == CURLE_ABORTED_BY_CALLBACK ? -1 : 0;
    }
    long status = 0;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        return 1;
    record_error(w, NULL, status);
    return status == 408 || status == 429 || status >= 500 ? 0 : -1;
}

static enum outcome deliver(struct webhook *w, const char *body)
{
    int64_t backoff = w->backoff_us;
    for (int i = 0;; i++) {
        int64_t budget = attempt_budget_us(w);
        if (budget <= 0)
            return OUT_FAILED;
        int r = attempt(w, body, budget);
        if (r > 0)
            return OUT_SENT;
        if (r < 0 || i >= w->retries)
            return OUT_FAILED;
        if (!backoff_wait(w, clock_mono_us() + backoff))
            return OUT_FAILED;
        backoff = backoff > MAX_BACKOFF_US / 2 ? MAX_BACKOFF_US : backoff * 2;
    }
}

static void *sender_main(void *arg)
{
    struct webhook *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->wake, &w->mu);
        if (w->count == 0)
            break;
        if (past_deadline_locked(w, clock_mono_us())) {
            /* Out of time: what is still queued was never tried. */
            while (w->count > 0) {
                free(w->ring[w->head]);
                w->head = (w->head + 1) % w->cap;
                w->count--;
                w->dropped++;
            }
            break;
        }
        char *body = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
        pthread_mutex_unlock(&w->mu);

        enum outcome out = deliver(w, body);
        free(body);

        pthread_mutex_lock(&w->mu);
        if (out == OUT_SENT)
            w->sent++;
        else
            w->failed++;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- lifecycle ---- */

static int check_opts(const struct webhook_opts *o, struct err *err)
{
    if (!o->url || !*o->url)
        return err_set(err, ERR_USAGE, "webhook URL is empty");
    if ((unsigned)o->format >= ARRAY_SIZE(format_names))
        return err_set(err, ERR_USAGE, "unknown webhook format %d", (int)o->format);
    if (o->timeout_us < 1000)
        return err_set(err, ERR_USAGE, "webhook timeout must be at least 1 ms");
    if (o->retries < 0 || o->retries > 100)
        return err_set(err, ERR_USAGE, "webhook retries must be between 0 and 100");
    if (o->backoff_us < 0)
        return err_set(err, ERR_USAGE, "webhook backoff must not be negative");
    if (o->queue_capacity < 1)
        return err_set(err, ERR_USAGE, "webhook queue capacity must be at least 1");
    return 0;
}

static int setup_curl(struct webhook *w, struct err *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return err_set(err, ERR_IO, "cannot initialise libcurl: %s",
                       curl_easy_strerror(curl_init_rc));
    w->curl = curl_easy_init();
    if (!w->curl)
        return err_set(err, ERR_IO, "cannot initialise libcurl: curl_easy_init failed");
    w->headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* No "Expect: 100-continue" round trip for larger bodies. */
    w->headers = curl_slist_append(w->headers, "Expect:");
    CURL *c = w->curl;
    bool ok = curl_easy_setopt(c, CURLOPT_URL, w->url) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              /* Threads and signals: libcurl must not use SIGALRM for DNS timeouts. */
              curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->headers) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_USERAGENT, "sleuth/" SLEUTH_VERSION) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_XFERINFODATA, w) == CURLE_OK;
    if (!w->headers || !ok)
        return err_set(err, ERR_IO, "cannot set up libcurl for '%s'", w->url_shown);
    return 0;
}

static void destroy(struct webhook *w)
{
    for (size_t i = 0; i < w->count; i++)
        free(w->ring[(w->head + i) % w->cap]);
    free(w->ring);
    if (w->curl)
        curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->headers);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w->url);
    free(w->instance);
    free(w->generator_url);
    free(w);
}

int webhook_new(struct webhook **out, const struct webhook_opts *opts, struct err *err)
{
    *out = NULL;
    if (check_opts(opts, err) < 0)
        return -1;
    struct webhook *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    w->url = xstrdup(opts->url);
    w->format = opts->format;
    w->timeout_us = opts->timeout_us;
    w->retries = opts->retries;
    w->backoff_us = opts->backoff_us;
    w->instance = opts->instance ? xstrdup(opts->instance) : NULL;
    w->generator_url = opts->generator_url ? xstrdup(opts->generator_url) : NULL;
    w->cap = (size_t)opts->queue_capacity;
    w->ring = xcalloc(w->cap, sizeof(*w->ring));
    if (url_check(opts->url, w->url_shown, sizeof(w->url_shown), err) < 0 ||
        setup_curl(w, err) < 0) {
        destroy(w);
        return -1;
    }

    /* The sender takes no signals: the watch loop's handlers and sigwait stay on its thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, sender_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        destroy(w);
        return err_set(err, ERR_IO, "cannot start the webhook thread: %s", strerror(rc));
    }
    *out = w;
    return 0;
}

void webhook_stop(struct webhook *w, int64_t flush_deadline_mono_us)
{
    pthread_mutex_lock(&w->mu);
    bool stopped = w->stopped;
    w->stopping = true;
    w->deadline_mono_us = flush_deadline_mono_us;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
    if (stopped)
        return;
    pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->mu);
    w->stopped = true;
    pthread_mutex_unlock(&w->mu);
}

void webhook_free(struct webhook *w, int64_t flush_deadline_mono_us)
{
    if (!w)
        return;
    webhook_stop(w, flush_deadline_mono_us);
    destroy(w);
}
