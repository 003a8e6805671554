/*
 * The one redaction policy for statements and server messages. The
 * normaliser replaces literals in DML, but utility statements keep theirs
 * (DDL needs its constants), a SET may take its value as a bare word, and
 * the statement as logged (an example, an error's STATEMENT) keeps every
 * literal. A statement that may carry a secret (a role's password, a
 * setting's value, EXECUTE parameters, COPY ... PROGRAM, user mapping and
 * server OPTIONS, pgcrypto keys, dblink connection strings, DO blocks) is
 * therefore shown only normalised, and cut to its first two words and a
 * note when even that keeps a value. The test is lexical, so it holds for
 * statements that failed or do not parse. Everything that shows a
 * statement (log reports, the live sessions view, pg_stat_statements texts,
 * the store, alerts) takes it from here.
 *
 * Pointer arguments are borrowed; nothing here keeps state, so every
 * function is reentrant and thread-safe.
 */
#ifndef SLEUTH_SQL_REDACT_H
#define SLEUTH_SQL_REDACT_H

#include "util/buf.h"
#include "util/str.h"

#include <stdbool.h>

/* What a cut statement ends with. */
#define REDACT_NOTE " … (hidden: may contain a secret)"

/*
 * Appends sql normalised (normalize_sql) to out and, when the statement may
 * carry a secret and the normalised text still holds a value, cuts what it
 * appended to the first two words and REDACT_NOTE. Returns normalize_sql's
 * flags; *secret (may be NULL) tells whether the statement may carry a
 * secret, in which case its literals must not be shown anywhere.
 */
unsigned redact_normalize(struct str sql, struct buf *out, bool *secret);

/*
 * Appends what may be shown of sql as logged, literals included: sql itself,
 * or, when it may carry a secret (or keep_literals is false), its
 * redact_normalize text. Returns whether the literals were dropped (and with
 * them any bind parameters or plan that go with the statement).
 */
bool redact_statement(struct str sql, bool keep_literals, struct buf *out);

/*
 * Appends the first line of a server message with every double-quoted value
 * shown as "…" and every number as N, at most about 200 bytes: the key that
 * groups errors, and what is shown of a message whose statement may carry a
 * secret (PostgreSQL quotes the offending token: syntax error at or near
 * "secret").
 */
void redact_message(struct str msg, struct buf *out);

/*
 * Whether a setting's value may be a secret, by its name: an extension's
 * (dotted) setting, or a connection string, passphrase or command.
 */
bool redact_setting(const char *name);

#endif
