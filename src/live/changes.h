/*
 * struct live_changes: the changes a watcher sees between two polls, as
 * core/sample.h's change events, the candidates for an incident's trigger
 * and fix: an index that appeared or went (the catalog), a setting that
 * changed (pg_settings and ALTER DATABASE / ROLE ... SET), a DDL statement
 * that pg_stat_statements counted, a session running (or holding a
 * transaction open after) a DDL statement, with its application and pid,
 * and an application_name never seen before (the first 1000 are followed).
 * The first look only learns what there is: nothing is a change yet.
 *
 * Pointer arguments are borrowed. Not thread-safe.
 */
#ifndef SLEUTH_LIVE_CHANGES_H
#define SLEUTH_LIVE_CHANGES_H

#include "core/sample.h"

#include <libpq-fe.h>
#include <stdbool.h>

struct live_changes;

struct live_changes *live_changes_new(void);
void live_changes_free(struct live_changes *lc);

/*
 * Adds to s the changes its catalog, statements and sessions show against
 * the previous call's: s's indexes (when indexes_ok: a failed read lists
 * none, which is not a drop), queries and sessions must be filled; settings
 * is pgq_settings_changed's result (NULL when it failed). Changes are
 * timed at s's start (the poll cannot say when within the interval).
 */
void live_changes_note(struct live_changes *lc, struct sample *s, bool indexes_ok,
                       const PGresult *settings);

#endif
