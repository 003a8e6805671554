/*
 * The catalog and the statements, as the diagnosis sees them: the indexes
 * known (from the catalog live, from CREATE and DROP INDEX in the changes
 * of a log), each with when it appeared and went; the statements' facts
 * from libpg_query, parsed once per fingerprint; and the questions the
 * rules ask of both (does an index lead with the column this query
 * filters, which index covers a column this UPDATE sets).
 */
#include "diagnose/internal.h"

#include "sql/ddl.h"
#include "sql/indexdef.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

const struct sqlfacts *diag_facts(struct diagnoser *d, uint64_t fp)
{
    d->clock++;
    for (size_t i = 0; i < d->nfacts; i++)
        if (d->facts[i].fp == fp) {
            d->facts[i].used = d->clock;
            return d->facts[i].ok ? &d->facts[i].f : NULL;
        }
    const char *text = diag_text_of(d, fp);
    if (!fp || !text)
        return NULL;
    size_t slot = d->nfacts;
    if (d->nfacts == DIAG_FACTS) {
        slot = 0;
        for (size_t i = 1; i < d->nfacts; i++)
            if (d->facts[i].used < d->facts[slot].used)
                slot = i;
        if (d->facts[slot].ok)
            sqlfacts_release(&d->facts[slot].f);
    } else {
        d->nfacts++;
    }
    struct dfacts *x = &d->facts[slot];
    struct err err;
    x->fp = fp;
    x->used = d->clock;
    x->ok = sqlfacts_parse(&x->f, text, &err) == 0;
    return x->ok ? &x->f : NULL;
}

void diag_forget_facts(struct diagnoser *d, uint64_t fp)
{
    for (size_t i = 0; i < d->nfacts; i++)
        if (d->facts[i].fp == fp) {
            if (d->facts[i].ok)
                sqlfacts_release(&d->facts[i].f);
            d->facts[i].ok = false;
            d->facts[i].fp = 0; /* no fingerprint is 0: the slot is free to take */
            d->facts[i].used = 0;
        }
}

static struct dindex *index_find(struct diagnoser *d, const char *table, const char *name)
{
    const char *bare = strchr(name, '.') ? strchr(name, '.') + 1 : name;
    for (size_t i = 0; i < d->nindexes; i++) {
        struct dindex *x = &d->indexes[i];
        if (strcmp(x->name, bare) == 0 && (!table || !*table || diag_table_match(x->table, table)))
            return x;
    }
    return NULL;
}

bool diag_index_present(const struct dindex *x, int64_t t)
{
    if (x->born_us && t < x->born_us)
        return false;
    if (x->dropped_us && t >= x->dropped_us)
        return false;
    return !(x->gone_to && t >= x->gone_from && t < x->gone_to);
}

/* x is there again at t after an absence. */
static void index_back(struct dindex *x, int64_t t)
{
    x->gone_from = x->dropped_us;
    x->gone_to = t;
    x->dropped_us = 0;
    x->first_us = t;
}

void diag_note_indexes(struct diagnoser *d, const struct sample *s)
{
    d->catalog |= s->nindexes > 0;
    bool *seen = xcalloc(d->nindexes + 1, sizeof(bool));
    for (int i = 0; i < s->nindexes; i++) {
        const struct sample_index *x = &s->indexes[i];
        char table[NAME_LEN];
        snprintf(table, sizeof(table), "%s.%s", x->schema, x->table);
        size_t k = 0;
        while (k < d->nindexes &&
               (strcmp(d->indexes[k].table, table) || strcmp(d->indexes[k].name, x->name)))
            k++;
        if (k == d->nindexes) {
            if (d->nindexes == DIAG_INDEXES)
                continue;
            struct dindex *n = &d->indexes[d->nindexes++];
            memset(n, 0, sizeof(*n));
            snprintf(n->table, sizeof(n->table), "%s", table);
            snprintf(n->name, sizeof(n->name), "%s", x->name);
            snprintf(n->def, sizeof(n->def), "%s", x->def ? x->def : "");
            n->first_us = n->born_us = d->started ? s->start_us : 0;
            seen = xrealloc(seen, (d->nindexes + 1) * sizeof(bool));
        }
        seen[k] = true;
        if (d->indexes[k].dropped_us)
            index_back(&d->indexes[k], s->start_us);
    }
    /* Only a poll that read the indexes can say one is gone (a failed read lists none). */
    if (s->nindexes > 0)
        for (size_t k = 0; k < d->nindexes; k++)
            if (!seen[k] && !d->indexes[k].dropped_us)
                d->indexes[k].dropped_us = s->start_us;
    free(seen);
}

void diag_note_index_change(struct diagnoser *d, const struct sample_change *c)
{
    if (c->kind == CHANGE_DROP_INDEX) {
        struct dindex *x = index_find(d, NULL, c->object);
        if (x && !x->dropped_us)
            x->dropped_us = c->ts_us;
        else if (!x && d->nindexes < DIAG_INDEXES) {
            /* A log: the index was there before; its table may be unknown. */
            x = &d->indexes[d->nindexes++];
            memset(x, 0, sizeof(*x));
            snprintf(x->table, sizeof(x->table), "%s", c->table);
            snprintf(x->name, sizeof(x->name), "%s",
                     strchr(c->object, '.') ? strchr(c->object, '.') + 1 : c->object);
            x->dropped_us = c->ts_us;
        }
        return;
    }
    if (c->kind != CHANGE_CREATE_INDEX || !*c->object)
        return;
    struct dindex *x = index_find(d, c->table, c->object);
    if (x) {
        /* The catalog told already, or it is back after a drop. */
        if (x->dropped_us)
            index_back(x, c->ts_us);
        if (!*x->def && *c->detail)
            snprintf(x->def, sizeof(x->def), "%s", c->detail);
        return;
    }
    if (d->nindexes == DIAG_INDEXES)
        return;
    x = &d->indexes[d->nindexes++];
    memset(x, 0, sizeof(*x));
    snprintf(x->table, sizeof(x->table), "%s", c->table);
    snprintf(x->name, sizeof(x->name), "%s", c->object);
    snprintf(x->def, sizeof(x->def), "%s", c->detail);
    x->first_us = x->born_us = c->ts_us;
}

/*
 * Whether an index on table leads with col. Without a catalog (a log) only
 * the indexes its DDL named are known: one that leads with col and is gone
 * is a gap; an index the log never named may well exist, so no gap is
 * claimed for it.
 */
static bool index_leads_with(const struct diagnoser *d, const char *table, const char *col)
{
    if (!d->catalog) {
        const char *bare = strchr(table, '.') ? strchr(table, '.') + 1 : table;
        size_t blen = strlen(bare);
        for (size_t i = 0; i < d->nindexes; i++) {
            const struct dindex *x = &d->indexes[i];
            struct indexdef def;
            bool on_table = *x->table ? diag_table_match(x->table, table)
                                      : strncmp(x->name, bare, blen) == 0 && x->name[blen] == '_';
            if (!on_table || diag_index_present(x, d->as_of_us))
                continue;
            /* Gone, and it led with col, or its columns were never logged. */
            if (indexdef_parse(x->def, &def) < 0 || indexdef_has_column(&def, col, 1))
                return false;
        }
        return true;
    }
    for (size_t i = 0; i < d->nindexes; i++) {
        const struct dindex *x = &d->indexes[i];
        struct indexdef def;
        if (!diag_index_present(x, d->as_of_us) || !diag_table_match(x->table, table) ||
            indexdef_parse(x->def, &def) < 0)
            continue;
        if (!def.partial && indexdef_has_column(&def, col, 1))
            return true;
    }
    return false;
}

bool diag_index_gap(struct diagnoser *d, uint64_t fp, const char *prefer_table,
                    struct index_gap *gap)
{
    const struct sqlfacts *f = diag_facts(d, fp);
    if (!f)
        return false;
    bool found = false;
    for (int pass = 0; pass < 2 && !found; pass++) {
        for (size_t t = 0; t < f->n_tables && !found; t++) {
            const char *name = f->tables[t].name;
            bool preferred = prefer_table && *prefer_table && diag_table_match(prefer_table, name);
            if ((pass == 0) != preferred)
                continue;
            struct buf cols = BUF_INIT;
            if (sqlfacts_index_candidate(f, name, &cols) > 0) {
                char first[NAME_LEN];
                snprintf(first, sizeof(first), "%.*s", (int)strcspn(cols.ptr, ", "), cols.ptr);
                if (!index_leads_with(d, name, first)) {
                    snprintf(gap->table, sizeof(gap->table), "%s", name);
                    snprintf(gap->cols, sizeof(gap->cols), "%s", cols.ptr);
                    found = true;
                }
            }
            buf_release(&cols);
        }
    }
    return found;
}

/* The SET columns of an UPDATE on table, or 0 when fp is not one. */
static size_t set_columns(struct diagnoser *d, uint64_t fp, const char *table,
                          char cols[][NAME_LEN], size_t max)
{
    const struct sqlfacts *f = diag_facts(d, fp);
    size_t n = 0;
    if (f && f->command == SQLFACTS_CMD_UPDATE)
        for (size_t i = 0; i < f->n_cols && n < max; i++) {
            const struct sqlfacts_column *c = &f->cols[i];
            if (c->role == SQLFACTS_ROLE_SET && c->table >= 0 &&
                diag_table_match(table, f->tables[c->table].name))
                snprintf(cols[n++], NAME_LEN, "%s", c->name);
        }
    return n;
}

const struct dindex *diag_set_index(struct diagnoser *d, const char *table, uint64_t upd_fp,
                                    char sets[][NAME_LEN], size_t *nsets)
{
    *nsets = set_columns(d, upd_fp, table, sets, 16);
    const struct dindex *best = NULL;
    for (size_t i = 0; i < d->nindexes; i++) {
        const struct dindex *x = &d->indexes[i];
        struct indexdef def;
        /*
         * A log tells of an index when its CREATE ends: one built during the incident (the
         * updates waited behind the build) is the incident's index too.
         */
        bool built_during = x->born_us > d->as_of_us && x->born_us <= d->last_us;
        if (!(diag_index_present(x, d->as_of_us) || built_during) ||
            !diag_table_match(x->table, table) || indexdef_parse(x->def, &def) < 0)
            continue;
        bool covers_set = false;
        for (size_t k = 0; k < *nsets && !covers_set; k++)
            covers_set = indexdef_has_column(&def, sets[k], def.ncols);
        /* One created while watching beats one that was always there. */
        if (covers_set && (!best || (x->first_us && !best->first_us)))
            best = x;
    }
    return best;
}

void diag_update_target(struct diagnoser *d, uint64_t fp, char *table, size_t cap)
{
    const struct sqlfacts *f = diag_facts(d, fp);
    *table = '\0';
    if (f && f->command == SQLFACTS_CMD_UPDATE)
        for (size_t i = 0; i < f->n_tables; i++)
            if (f->tables[i].flags & SQLFACTS_TAB_TARGET)
                snprintf(table, cap, "%s", f->tables[i].name);
}

bool diag_update_behind_new_index(struct diagnoser *d, uint64_t fp, char *table, size_t cap)
{
    diag_update_target(d, fp, table, cap);
    if (!*table)
        return false;
    char sets[16][NAME_LEN];
    size_t nsets;
    const struct dindex *x = diag_set_index(d, table, fp, sets, &nsets);
    return x && x->first_us;
}

uint64_t diag_busiest_on_table(struct diagnoser *d, const struct window *w, const char *table,
                               bool want_update)
{
    uint64_t best = 0;
    double best_ms = -1;
    const char *bare = strchr(table, '.') ? strchr(table, '.') + 1 : table;
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nq; k++) {
            const struct dq *q = &w->p[i]->q[k];
            if (q->total_ms <= best_ms)
                continue;
            const struct sqlfacts *f = diag_facts(d, q->fp);
            if (f && f->command == (want_update ? SQLFACTS_CMD_UPDATE : SQLFACTS_CMD_SELECT) &&
                sqlfacts_find_table(f, bare) >= 0) {
                best = q->fp;
                best_ms = q->total_ms;
            }
        }
    return best;
}

uint64_t diag_busiest_update(struct diagnoser *d, const struct window *w)
{
    uint64_t best = 0;
    double best_ms = 0;
    for (size_t i = 0; i < w->n; i++)
        for (int k = 0; k < w->p[i]->nq; k++) {
            const struct dq *q = &w->p[i]->q[k];
            if (q->total_ms <= best_ms)
                continue;
            const struct sqlfacts *f = diag_facts(d, q->fp);
            if (f && f->command == SQLFACTS_CMD_UPDATE) {
                best = q->fp;
                best_ms = q->total_ms;
            }
        }
    return best;
}

const struct dindex *diag_dropped_index(const struct diagnoser *d, const char *table,
                                        int64_t from_us, int64_t to_us)
{
    for (size_t i = 0; i < d->nindexes; i++) {
        const struct dindex *x = &d->indexes[i];
        int64_t gone = x->dropped_us ? x->dropped_us : x->gone_from;
        if (gone && gone >= from_us && gone <= to_us &&
            (!*x->table || diag_table_match(x->table, table)))
            return x;
    }
    return NULL;
}

void diag_first_table(struct diagnoser *d, uint64_t fp, char *out, size_t cap)
{
    const struct sqlfacts *f = diag_facts(d, fp);
    snprintf(out, cap, "%s", f && f->n_tables ? f->tables[0].name : "");
}

bool diag_is_ddl(const char *text)
{
    return ddl_candidate(text);
}
