/*
 * struct store: the watcher's history in an embedded SQLite file (`--store
 * PATH`, default ./sleuth.db). It sits beside the pipeline: `watch` writes
 * one struct sample per interval, every alert change and every incident
 * change (the incident as the console told it) into it; `report --store`
 * and `analyze --store` read samples, alerts and incidents back.
 *
 * Durability: the file is in WAL mode with synchronous=NORMAL and every
 * interval is written in one transaction, so a watcher killed at any point
 * (SIGKILL included) leaves a store that opens and holds every interval
 * whose store_write_sample returned 0. A power loss may lose the last few
 * committed intervals, never the file.
 *
 * Schema: versioned with PRAGMA user_version and migrated on open, one
 * transaction per step; a store written by a newer sleuth is refused.
 * Times are int64 µs UTC. 64-bit fingerprints and alert ids are stored as
 * the int64 with the same bits. The store never holds a password: it only
 * receives samples, alerts and the meta strings the caller passes.
 *
 * Ownership: pointer arguments are borrowed. A struct sample or struct
 * alert passed to a read callback is borrowed and valid only during the
 * callback (copy what you keep: sample data lives in its arena, alert
 * strings are freed after the call; an alert's static `unit` string lives
 * until store_close).
 *
 * Not thread-safe: one struct store per thread. The callbacks of the read
 * functions must not call into the same store.
 */
#ifndef SLEUTH_STORE_STORE_H
#define SLEUTH_STORE_STORE_H

#include "core/incident.h"
#include "core/sample.h"
#include "detect/finding.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

struct store;

/* The schema version this binary writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 2
/* Width of a downsampled interval. */
#define STORE_DOWNSAMPLE_US (3600LL * 1000000LL)
/* Sessions kept per interval: the most notable ones (blockers, waiters, oldest). */
#define STORE_MAX_SESSIONS 50

/*
 * Opens (creating if needed) the store at path and migrates its schema to
 * STORE_SCHEMA_VERSION. Fails with ERR_IO when the file cannot be opened,
 * is not a sleuth store, or was written by a newer sleuth (its version is
 * newer than STORE_SCHEMA_VERSION). *out is NULL on failure.
 *
 * The file is checked with PRAGMA quick_check first (a full read of it:
 * about a second per GB). A damaged store fails with ERR_IO naming the
 * path, the first damage found and the number of findings, unless force is
 * set: then it opens anyway, and reads and writes may fail or miss rows
 * on the damaged pages.
 */
MUST_CHECK int store_open(struct store **out, const char *path, bool force, struct err *err);
/* Finalizes every statement and closes the file; NULL is a no-op. */
void store_close(struct store *s);

/* The store's schema version (after migration, STORE_SCHEMA_VERSION). */
int store_schema_version(const struct store *s);

/*
 * Writes one interval: its gauges and counters, per-query, per-table and
 * per-index stats, session counts, pools, problems, changes and at most
 * STORE_MAX_SESSIONS sessions. Query texts are stored once per
 * fingerprint. One transaction: on failure nothing of the sample is kept.
 */
MUST_CHECK int store_write_sample(struct store *s, const struct sample *smp, struct err *err);

/*
 * Records an alert change: upserts the alert (keyed by id and since_us)
 * with its latest values and appends a row to its event log.
 */
MUST_CHECK int store_write_alert(struct store *s, enum alert_change change, const struct alert *a,
                                 struct err *err);

/*
 * Records an incident as it opens, changes and resolves: upserts it by id
 * with its document (incident_json) and the columns a SQL user filters on.
 * A watcher that writes incidents sets the meta key "incidents" to "1" when
 * it opens the store: readers then take the stored verdicts as they are.
 */
MUST_CHECK int store_write_incident(struct store *s, const struct incident *inc, struct err *err);

/* Sets a meta string (e.g. "target" with a redacted description, "sleuth_version"). */
MUST_CHECK int store_set_meta(struct store *s, const char *key, const char *value, struct err *err);
/* Reads a meta string into value (replacing its content); *found says whether it exists. */
MUST_CHECK int store_get_meta(struct store *s, const char *key, struct buf *value, bool *found,
                              struct err *err);

/*
 * Retention, in one transaction:
 *   - deletes intervals that ended at or before now_us - retention_us with
 *     everything that belongs to them, query texts no interval uses any
 *     more, and alerts resolved before that;
 *   - downsamples the intervals of every whole hour that ended at or
 *     before now_us - downsample_after_us into one interval per hour
 *     (STORE_DOWNSAMPLE_US): counters and per-query/table/index deltas
 *     are summed, gauges and sizes keep their maximum, sessions are
 *     dropped and problems are kept once each.
 * A value <= 0 for retention_us or downsample_after_us disables that part.
 * Read back, a downsampled interval is one sample spanning its hour.
 */
MUST_CHECK int store_prune(struct store *s, int64_t now_us, int64_t retention_us,
                           int64_t downsample_after_us, struct err *err);

typedef void store_sample_fn(void *ctx, const struct sample *smp);
typedef void store_alert_fn(void *ctx, const struct alert *a);
typedef void store_incident_fn(void *ctx, const struct incident *inc);

/*
 * Calls fn for every stored interval that overlaps [since_us, until_us),
 * oldest first, rebuilt as a struct sample: queries by total time (most
 * first), tables, indexes, sessions, problems, pools and counts in the
 * order they were written. Pass INT64_MIN / INT64_MAX for an open range.
 */
MUST_CHECK int store_read_samples(struct store *s, int64_t since_us, int64_t until_us,
                                  store_sample_fn *fn, void *ctx, struct err *err);

/*
 * Calls fn for every alert that was firing during [since_us, until_us), by
 * since_us, with its latest values (alerts of a kind this binary does not
 * know are skipped). alert_events keeps each change for SQL users.
 */
MUST_CHECK int store_read_alerts(struct store *s, int64_t since_us, int64_t until_us,
                                 store_alert_fn *fn, void *ctx, struct err *err);

/*
 * Calls fn for every stored incident that overlaps [since_us, until_us)
 * (an open one reaches to now), by onset, rebuilt from its document. inc
 * is valid during the call only.
 */
MUST_CHECK int store_read_incidents(struct store *s, int64_t since_us, int64_t until_us,
                                    store_incident_fn *fn, void *ctx, struct err *err);

/*
 * The start of the first and the end of the last stored interval; both 0
 * when the store holds no interval.
 */
MUST_CHECK int store_time_range(struct store *s, int64_t *first_us, int64_t *last_us,
                                struct err *err);

#endif
