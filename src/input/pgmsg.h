/*
 * Classifies the text of one PostgreSQL log record into an event kind and
 * its numbers: durations, statement text and protocol phase, lock waits,
 * checkpoints, temp files, connections, autovacuum. Shared by the stderr,
 * csvlog and jsonlog readers, which only split records into fields.
 *
 * Messages are matched in English: sleuth asks for lc_messages = 'C', as
 * pgBadger does.
 */
#ifndef SLEUTH_INPUT_PGMSG_H
#define SLEUTH_INPUT_PGMSG_H

#include "event.h"

/*
 * On entry ev->severity, ev->message and, where the log has them,
 * ev->sqlstate, ev->detail and ev->statement (the STATEMENT: field) are set
 * and ev->kind is EV_OTHER. On return kind and the kind's fields are set:
 * for EV_QUERY the statement slice points into the message, phase and
 * duration_us are set and a "parameters: …" detail has moved to params.
 * Never fails: an unknown message stays EV_OTHER.
 */
void pgmsg_classify(struct event *ev);

/*
 * Parses "SEVERITY:" at the front of s (s starts at the word); returns the
 * length of "SEVERITY:" or 0. Sets *sev; *is_aux is set for the secondary
 * fields (DETAIL, HINT, CONTEXT, STATEMENT, QUERY, LOCATION) whose kind is
 * stored in *aux (one of 'D', 'H', 'C', 'S', 'Q', 'L').
 */
size_t pgmsg_severity(struct str s, enum severity *sev, char *aux);
/*
 * The shortest and longest "SEVERITY:" words pgmsg_severity() knows
 * ("LOG:", "STATEMENT:"). Each word is capital letters and at most a digit
 * ("DEBUG1:"), then its only colon, which lets a search for them go from
 * colon to colon (pgprefix.c).
 */
#define PGMSG_SEVERITY_MIN_LEN 4
#define PGMSG_SEVERITY_MAX_LEN 10

#endif
