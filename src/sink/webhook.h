/*
 * The webhook sink: POSTs incident changes as JSON to an HTTP(S) endpoint
 * from a background thread, so the `sleuth watch` poll loop never waits on
 * the network. webhook_send renders the body and puts it on a bounded
 * queue; the sender thread delivers the queue in order with a timeout and
 * retries with exponential backoff. When the queue is full the oldest
 * change is dropped and counted (a stalled receiver must not grow memory or
 * block polling).
 *
 * One incident is one alert: it is sent when it opens, when it changes
 * (its top cause, severity, trigger or fix) and when it resolves, however
 * many sessions or queries it involves.
 *
 * Body formats (Content-Type: application/json):
 *   WEBHOOK_GENERIC       {"source":"sleuth","change":"opened","incident":
 *                         {...}} where "incident" is incident_json, the
 *                         same object as an --alerts-jsonl line; an
 *                         "instance" member follows "source" when set.
 *   WEBHOOK_SLACK         a Slack incoming-webhook message: {"text": one
 *                         line, "attachments":[{"color", "blocks":[...]}]},
 *                         red for critical, amber for warning, green for
 *                         resolved; text escaped for Slack mrkdwn.
 *   WEBHOOK_ALERTMANAGER  a JSON array of one Alertmanager v2 alert for
 *                         POST /api/v2/alerts: labels {alertname
 *                         "sleuth_incident", incident_id, instance when
 *                         set, source} that stay the same for the
 *                         incident's life, annotations {summary, severity,
 *                         cause, table, query, fix, trigger}, startsAt (the
 *                         onset), endsAt on resolve, generatorURL when set.
 *
 * Delivery: a 2xx answer is success. Connection errors, timeouts, 408, 429
 * and 5xx are retried up to opts.retries more times, waiting backoff_us,
 * then twice that, and so on (capped at 60 s); any other status fails at
 * once. Errors never contain the URL's user, password, query string or
 * path past its first segment (Slack and Discord put the secret in the
 * path): only "scheme://host[:port]/first/…".
 *
 * Pointer arguments are borrowed; webhook_new copies the options' strings.
 * webhook_send, webhook_refresh, webhook_stats and webhook_last_error may be
 * called from any thread; webhook_free from one, once, after all of them. Times named *_mono_us are
 * CLOCK_MONOTONIC microseconds (clock_mono_us in util/clock.h).
 */
#ifndef SLEUTH_SINK_WEBHOOK_H
#define SLEUTH_SINK_WEBHOOK_H

#include "core/incident.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

struct webhook;

enum webhook_format {
    WEBHOOK_GENERIC,      /* {"source":"sleuth","change":...,"incident":{...}} */
    WEBHOOK_SLACK,        /* Slack incoming webhook message */
    WEBHOOK_ALERTMANAGER, /* Alertmanager v2 API alert array */
};

struct webhook_opts {
    const char *url; /* http:// or https:// only */
    enum webhook_format format;
    int64_t timeout_us;        /* per attempt, connection included; default 5 s */
    int retries;               /* extra attempts after the first; default 3 */
    int64_t backoff_us;        /* wait before the first retry, doubling; default 1 s */
    int queue_capacity;        /* changes waiting to be sent; default 256 */
    const char *instance;      /* optional: the watched server's name, a label */
    const char *generator_url; /* optional: Alertmanager generatorURL (sleuth's page) */
};

/* Fills opts with the defaults above (url NULL, WEBHOOK_GENERIC). */
void webhook_opts_init(struct webhook_opts *opts);

/*
 * Parses "generic", "slack" or "alertmanager" (the --webhook-format value).
 * Returns 0, or -1 with ERR_USAGE naming the accepted values.
 */
MUST_CHECK int webhook_format_parse(const char *name, enum webhook_format *out, struct err *err);
const char *webhook_format_name(enum webhook_format format);

/*
 * Overwrites with 'x', in place and keeping its length, what a webhook URL
 * may hide a token in: user:password@, the path after its first segment
 * and the query (as webhook errors show it: scheme://host[:port]/first/…).
 * For the argv copy that ps shows, once the caller has its own copy.
 * Returns whether anything was overwritten.
 */
bool webhook_url_scrub(char *url);

/*
 * Checks the options, initialises libcurl once per process (thread-safe)
 * and starts the sender thread. Returns 0 and sets *out, or -1 with
 * ERR_USAGE (bad URL, scheme or option value) or ERR_IO (libcurl or thread
 * start failed); nothing is started then.
 */
MUST_CHECK int webhook_new(struct webhook **out, const struct webhook_opts *opts, struct err *err);

/*
 * Queues one incident change and returns at once: it never waits on the
 * network or the sender thread's progress (only on a mutex held for
 * queue operations). The body is rendered now, so inc may change or be
 * freed right after. A full queue drops its oldest entry.
 */
void webhook_send(struct webhook *w, enum incident_change_kind change, const struct incident *inc);

/*
 * Alertmanager forgets a firing alert it has not heard about for its
 * resolve_timeout (5 min by default) and resolves it by itself, so a
 * sender must re-assert firing alerts (Prometheus does it every
 * evaluation). Call this for the open incident about once a minute; it
 * queues it as firing for WEBHOOK_ALERTMANAGER and does nothing for the
 * other formats, which hear only of changes.
 */
void webhook_refresh(struct webhook *w, const struct incident *inc);

/*
 * Counters since webhook_new: bodies delivered (2xx), bodies given up on
 * after their retries, and bodies dropped (queue overflow, or still queued
 * when webhook_stop's deadline passed); and the bodies queued now, not yet
 * tried. Any pointer may be NULL. After webhook_stop they are final:
 * queued is 0 and every body is sent, failed or dropped.
 */
void webhook_stats(struct webhook *w, uint64_t *sent, uint64_t *failed, uint64_t *dropped,
                   uint64_t *queued);

/*
 * Copies the most recent delivery failure into err ("POST to
 * 'https://hooks.slack.com/services/…': HTTP 500") and returns true, or
 * returns false if no delivery has failed.
 */
bool webhook_last_error(struct webhook *w, struct err *err);

/*
 * Delivers what is queued until flush_deadline_mono_us, then stops the
 * sender thread; what is still queued then is dropped and counted.
 * Attempts and backoff waits are cut to the deadline; a request already in
 * flight is aborted within about a second of it (libcurl's progress
 * callback). Pass 0 (or a past time) to stop at once. webhook_send after
 * it only counts the change as dropped; a second call does nothing.
 */
void webhook_stop(struct webhook *w, int64_t flush_deadline_mono_us);

/* webhook_stop (if not done yet), then frees everything. NULL is a no-op. */
void webhook_free(struct webhook *w, int64_t flush_deadline_mono_us);

#endif
