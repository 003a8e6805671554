/*
 * Retention for the history store (`--retention 14d`): deleting what is
 * older than the retention and folding older polled intervals into one
 * interval per hour, so a long history stays small while reading it back
 * still yields ordinary samples. The watcher calls store_prune now and
 * then (say hourly); it runs in one transaction like every write.
 */
#include "store/store.h"

#include "store/internal.h"
#include "util/xalloc.h"

#include <stdlib.h>

#include "util/banned.h"

#define FOLD_FROM " WHERE interval_id IN (SELECT old_id FROM temp.fold_map WHERE bucket = ?2)"

/*
 * The child rows of a bucket's intervals folded into the new interval ?1:
 * deltas summed, gauges and sizes at their maximum, problems and counts
 * kept once per name, changes all kept. Sessions are a point-in-time snapshot and are not
 * folded.
 */
static const char *const fold_children[] = {
    "INSERT INTO query_stats SELECT ?1, fingerprint, sum(calls), sum(total_ms), sum(rows),"
    " sum(blks_hit), sum(blks_read), sum(blks_dirtied), sum(temp_blks), sum(wal_bytes),"
    " max(is_new) FROM query_stats" FOLD_FROM " GROUP BY fingerprint",
    "INSERT INTO table_stats SELECT ?1, row_number() OVER (ORDER BY min(seq), rel_id) - 1, rel_id,"
    " sum(seq_scan), sum(seq_tup_read), sum(idx_scan), sum(idx_tup_fetch), sum(n_tup_ins),"
    " sum(n_tup_upd), sum(n_tup_hot_upd), sum(n_tup_del), max(n_live_tup), max(n_dead_tup),"
    " max(bytes) FROM table_stats" FOLD_FROM " GROUP BY rel_id",
    "INSERT INTO index_stats SELECT ?1, row_number() OVER (ORDER BY min(seq), rel_id) - 1, rel_id,"
    " sum(idx_scan), max(bytes), min(valid) FROM index_stats" FOLD_FROM " GROUP BY rel_id",
    "INSERT INTO session_counts SELECT ?1, kind,"
    " row_number() OVER (PARTITION BY kind ORDER BY max(count) DESC, name) - 1, name, max(count)"
    " FROM session_counts" FOLD_FROM " GROUP BY kind, name",
    "INSERT INTO pools SELECT ?1, row_number() OVER (ORDER BY db, usr) - 1, db, usr,"
    " max(cl_active), max(cl_waiting), max(sv_active), max(sv_idle), max(sv_used),"
    " max(maxwait_s) FROM pools" FOLD_FROM " GROUP BY db, usr",
    "INSERT INTO problems SELECT ?1,"
    " row_number() OVER (ORDER BY min(seq), check_name, message, hint) - 1, check_name, message,"
    " hint FROM problems" FOLD_FROM " GROUP BY check_name, message, hint",
    /* Changes are events: every one is kept, in time order. */
    "INSERT INTO changes SELECT ?1, row_number() OVER (ORDER BY ts_us, interval_id, seq) - 1,"
    " kind, ts_us, object, tbl, detail, statement, app, usr, pid FROM changes" FOLD_FROM,
    /* Last: the cascade removes the folded intervals' rows, sessions included. */
    ("DELETE FROM intervals WHERE id IN"
     " (SELECT old_id FROM temp.fold_map WHERE bucket = ?2)"),
};

static int delete_old(struct store *s, int64_t cutoff_us, struct err *err)
{
    static const char *const sql[] = {
        "DELETE FROM intervals WHERE end_us <= ?1",
        /* last_seen_us is at most the slack older than the newest interval using the text. */
        "DELETE FROM queries WHERE last_seen_us <= ?1 - ?2",
        "DELETE FROM alerts WHERE resolved_us <> 0 AND resolved_us <= ?1",
        "DELETE FROM incidents WHERE end_us <> 0 AND end_us <= ?1",
    };
    for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) != SQLITE_OK)
            return store_fail(s, err, "cannot prune store");
        sqlite3_bind_int64(st, 1, cutoff_us);
        if (sqlite3_bind_parameter_count(st) > 1)
            sqlite3_bind_int64(st, 2, STORE_LAST_SEEN_SLACK_US);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return store_fail(s, err, "cannot prune store");
    }
    return 0;
}

/* Buckets (hour numbers) with polled intervals whose whole hour ended by cutoff_us. */
static int fold_map(struct store *s, int64_t cutoff_us, int64_t **buckets, size_t *n,
                    struct err *err)
{
    if (store_exec(s,
                   "CREATE TEMP TABLE IF NOT EXISTS fold_map (old_id INTEGER PRIMARY KEY,"
                   " bucket INTEGER NOT NULL);"
                   "CREATE INDEX IF NOT EXISTS temp.fold_map_bucket ON fold_map (bucket);"
                   "DELETE FROM temp.fold_map;",
                   err, "cannot prune store") < 0)
        return -1;
    /* Earlier folds of the same hour join in, so a late interval merges with its hour. */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO temp.fold_map SELECT id, start_us / ?1 FROM intervals"
                           " WHERE start_us / ?1 IN (SELECT DISTINCT start_us / ?1 FROM intervals"
                           " WHERE resolution_us = 0 AND start_us >= 0"
                           " AND (start_us / ?1 + 1) * ?1 <= ?2)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, err, "cannot prune store");
    sqlite3_bind_int64(st, 1, STORE_DOWNSAMPLE_US);
    sqlite3_bind_int64(st, 2, cutoff_us);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, err, "cannot prune store");
    if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT bucket FROM temp.fold_map ORDER BY bucket", -1,
                           &st, NULL) != SQLITE_OK)
        return store_fail(s, err, "cannot prune store");
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *buckets = xgrow(*buckets, &cap, *n + 1, sizeof(**buckets));
        (*buckets)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, err, "cannot prune store");
    return 0;
}

static int downsample(struct store *s, int64_t cutoff_us, struct err *err)
{
    int64_t *buckets = NULL;
    size_t nbuckets = 0;
    sqlite3_stmt *children[ARRAY_SIZE(fold_children)] = { NULL };
    int ret = -1;
    if (fold_map(s, cutoff_us, &buckets, &nbuckets, err) < 0)
        goto out;
    for (size_t i = 0; i < ARRAY_SIZE(children) && nbuckets; i++)
        if (sqlite3_prepare_v2(s->db, fold_children[i], -1, &children[i], NULL) != SQLITE_OK) {
            store_fail(s, err, "cannot prune store");
            goto out;
        }
    for (size_t b = 0; b < nbuckets; b++) {
        sqlite3_stmt *fold = store_stmt(s, ST_INTERVAL_FOLD, err);
        if (!fold)
            goto out;
        sqlite3_bind_int64(fold, 1, STORE_DOWNSAMPLE_US);
        sqlite3_bind_int64(fold, 2, buckets[b]);
        if (store_run(s, fold, err, "cannot prune store") < 0)
            goto out;
        int64_t id = sqlite3_last_insert_rowid(s->db);
        for (size_t i = 0; i < ARRAY_SIZE(children); i++) {
            sqlite3_bind_int64(children[i], 1, id);
            sqlite3_bind_int64(children[i], 2, buckets[b]);
            if (store_run(s, children[i], err, "cannot prune store") < 0)
                goto out;
        }
    }
    ret = 0;
out:
    for (size_t i = 0; i < ARRAY_SIZE(children); i++)
        sqlite3_finalize(children[i]);
    free(buckets);
    return ret;
}

int store_prune(struct store *s, int64_t now_us, int64_t retention_us, int64_t downsample_after_us,
                struct err *err)
{
    sqlite3_stmt *begin = store_stmt(s, ST_BEGIN, err);
    if (!begin || store_run(s, begin, err, "cannot prune store") < 0)
        return -1;
    if (retention_us > 0 && delete_old(s, now_us - retention_us, err) < 0)
        goto fail;
    if (downsample_after_us > 0 && downsample(s, now_us - downsample_after_us, err) < 0)
        goto fail;
    /* Names no stats row uses any more (one scan each: NOT IN builds its index once). */
    if (store_exec(s,
                   "DELETE FROM relations WHERE id NOT IN (SELECT rel_id FROM table_stats)"
                   " AND id NOT IN (SELECT rel_id FROM index_stats)",
                   err, "cannot prune store") < 0)
        goto fail;
    sqlite3_stmt *commit = store_stmt(s, ST_COMMIT, err);
    if (!commit || store_run(s, commit, err, "cannot prune store") < 0)
        goto fail;
    store_forget_cache(s);
    return 0;
fail:
    store_rollback(s);
    store_forget_cache(s);
    return -1;
}
