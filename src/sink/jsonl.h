/*
 * The JSON-lines sink: each alert change as one compact JSON object on its
 * own line (`sleuth watch --format=json`, or a file a log shipper tails).
 * The object is alert_json(alert, change) from detect/finding.h, so it
 * carries "change" ("fired", "updated", "resolved") next to the alert's
 * fields; that is the stable machine format.
 *
 * Pointer arguments are borrowed.
 */
#ifndef SLEUTH_SINK_JSONL_H
#define SLEUTH_SINK_JSONL_H

#include "detect/finding.h"
#include "util/err.h"

#include <stdio.h>

/*
 * Writes the line and flushes f, so a reader of a pipe or file sees every
 * alert as it happens. Returns 0, or -1 with ERR_IO when writing or flushing
 * fails (a full disk, a closed pipe; /dev/full): the line may then be
 * partly written. Safe to call from several threads on one FILE (stdio
 * locks it), though lines may then interleave only whole.
 */
MUST_CHECK int jsonl_alert_write(FILE *f, enum alert_change change, const struct alert *a,
                                 struct err *err);

#endif
