/*
 * Statements that may carry a secret. The normaliser replaces literals in
 * DML, but utility statements keep theirs (DDL needs its constants), so
 * CREATE/ALTER ROLE ... PASSWORD, ALTER SYSTEM, user mappings, COPY ...
 * PROGRAM and DO blocks would show a password or a token as written.
 * Such a statement is cut to its first two words and a note before it is
 * shown, stored or served, live (session statements, pg_stat_statements
 * texts) and in log reports (query texts and examples).
 */
#ifndef SLEUTH_SQL_REDACT_H
#define SLEUTH_SQL_REDACT_H

#include "util/buf.h"

#include <stdbool.h>

/* What a cut statement ends with. */
#define REDACT_NOTE " … (hidden: may contain a secret)"

/* Cuts text when it may hold a secret; returns whether it did. Meant for
 * utility statements (normalize_sql's NORM_UTILITY): DML keeps no literal. */
bool redact_secrets(struct buf *text);

#endif
