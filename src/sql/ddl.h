/*
 * What a schema or settings change does, from its statement: the facts an
 * incident needs to tie a change to the query it hurt (the dropped index's
 * table is the slow query's table; the new index's columns are the columns
 * an UPDATE sets). Parsed with libpg_query (PostgreSQL 15's grammar), from
 * the statement as logged or as pg_stat_statements keeps it.
 *
 * Pointer arguments are borrowed; a struct ddl is self-contained.
 */
#ifndef SLEUTH_SQL_DDL_H
#define SLEUTH_SQL_DDL_H

#include <stdbool.h>

#define DDL_NAME_MAX 130 /* "schema.name" of two NAMEDATALEN names */

enum ddl_kind {
    DDL_NONE,         /* not a change sleuth follows (or not parsable) */
    DDL_CREATE_INDEX, /* object: the index; table; def: as pg_get_indexdef writes it */
    DDL_DROP_INDEX,   /* object: the (first) index dropped */
    DDL_REINDEX,      /* object: the index or table */
    DDL_ALTER_TABLE,  /* table; detail: the first subcommand ("add column x", "alter column v type")
                       */
    DDL_OTHER,        /* CREATE/DROP TABLE, TRUNCATE, CLUSTER, RENAME...; table when there is one */
    DDL_ANALYZE,      /* ANALYZE or VACUUM ANALYZE; table: the first one ("" for all) */
    DDL_SETTING,      /* ALTER SYSTEM / DATABASE / ROLE ... SET; object: the setting */
};

struct ddl {
    enum ddl_kind kind;
    char object[DDL_NAME_MAX];
    char table[DDL_NAME_MAX];
    char detail[512]; /* index definition, ALTER TABLE subcommand, "value (scope)" of a setting */
    bool concurrent;
};

/*
 * A cheap test on a normalised or raw statement: whether it starts with a
 * word that ddl_parse may recognise (create, drop, alter, reindex,
 * analyze, vacuum, truncate, cluster), case-insensitively.
 */
bool ddl_candidate(const char *sql);
/*
 * Fills out (always: DDL_NONE when the statement is not a followed change
 * or does not parse). Returns whether it is one. The value of a custom
 * setting (one with a dot in its name, where applications keep keys) is
 * never kept.
 */
bool ddl_parse(const char *sql, struct ddl *out);

#endif
