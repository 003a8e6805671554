/*
 * The rules judged per table, against its own history: seq_scan_growth
 * (rows read by sequential scans of a large table) and hot_ratio_drop
 * (updates that used to be HOT no longer are).
 */
#include "detect/internal.h"

#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

/* seq_scan_growth: rows read by full scans of a large table, against its baseline. */
static void judge_seq_scan(struct detector *d, struct series *se, const struct sample_table *t,
                           double secs)
{
    const struct detect_config *c = &d->cfg;
    double rate = (double)t->seq_tup_read / secs;
    double per_scan = t->seq_scan > 0 ? (double)t->seq_tup_read / (double)t->seq_scan : 0;
    struct ring *r = &se->rings[M_SEQ_ROWS_S];
    enum metric m = M_SEQ_ROWS_S;
    struct baseline b = detect_baseline(d, r);
    double thr = b.ok ? detect_threshold(d, b, c->seq_scan_ratio, c->seq_scan_min_increase) : 0;
    bool unusual = b.ok && rate > thr && t->n_live_tup >= c->seq_scan_min_table_rows &&
                   per_scan >= c->seq_scan_table_fraction * (double)t->n_live_tup;
    detect_observe(d, se, m, rate, unusual);
    if (!unusual)
        return;
    struct finding *f = detect_add_finding(d, FK_SEQ_SCAN_GROWTH, FINDING_WARNING,
                                           detect_fmt("table:%s", se->name));
    f->table = xstrdup(se->name);
    f->value = rate;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "rows/s";
    char n0[32], n1[32], n2[32], n3[32];
    f->summary = detect_fmt(
        "sequential scans read %s rows/s of %s (usually %s/s): %s rows per scan "
        "of a %s-row table",
        detect_num(n1, sizeof(n1), rate), se->name, detect_num(n0, sizeof(n0), b.median),
        detect_num(n2, sizeof(n2), per_scan), detect_num(n3, sizeof(n3), (double)t->n_live_tup));
    f->next =
        detect_fmt("a query scans all of %s: find it among the slow or surging queries, EXPLAIN "
                   "it and index the columns of its WHERE clause",
                   se->name);
}

/* hot_ratio_drop: updates that used to be HOT no longer are (a new index on an updated column). */
static void judge_hot(struct detector *d, struct series *se, const struct sample_table *t)
{
    const struct detect_config *c = &d->cfg;
    if (t->n_tup_upd < c->hot_min_updates)
        return;
    double ratio = (double)t->n_tup_hot_upd / (double)t->n_tup_upd;
    struct ring *r = &se->rings[M_HOT_RATIO];
    enum metric m = M_HOT_RATIO;
    struct baseline b = detect_baseline(d, r);
    bool unusual = b.ok && b.median >= c->hot_baseline && ratio < c->hot_drop;
    detect_observe(d, se, m, ratio, unusual);
    if (!unusual)
        return;
    struct finding *f =
        detect_add_finding(d, FK_HOT_RATIO_DROP, FINDING_WARNING, detect_fmt("table:%s", se->name));
    f->table = xstrdup(se->name);
    f->value = 100 * ratio;
    f->baseline = 100 * b.median;
    f->threshold = 100 * c->hot_drop;
    f->unit = "%";
    f->summary =
        detect_fmt("HOT updates of %s fell to %.0f%% (usually %.0f%%) over %" PRId64 " updates",
                   se->name, 100 * ratio, 100 * b.median, t->n_tup_upd);
    f->next =
        detect_fmt("an index on a column that is updated stops HOT updates: look for an index "
                   "added to %s recently, or lower its fillfactor",
                   se->name);
}

void detect_judge_tables(struct detector *d, const struct sample *s)
{
    double secs = sample_seconds(s);
    for (int i = 0; i < s->ntables; i++) {
        const struct sample_table *t = &s->tables[i];
        buf_reset(&d->name);
        buf_addf(&d->name, "%s.%s", t->schema ? t->schema : "", t->name ? t->name : "");
        bool known;
        struct series *se = detect_series_get(d, &d->tables, 0, d->name.ptr, &known);
        judge_seq_scan(d, se, t, secs);
        judge_hot(d, se, t);
    }
}
