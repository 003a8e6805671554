/*
 * The JSON-lines sink: each incident change as one compact JSON object on
 * its own line (`sleuth watch --alerts-jsonl FILE`, or a file a log
 * shipper tails): {"change": "opened" | "updated" | "resolved",
 * "incident": incident_json(...)} (core/incident.h), the stable machine
 * format; one incident is one line per change however many sessions or
 * queries it involves.
 *
 * Pointer arguments are borrowed.
 */
#ifndef SLEUTH_SINK_JSONL_H
#define SLEUTH_SINK_JSONL_H

#include "core/incident.h"
#include "util/err.h"

#include <stdio.h>

/*
 * Writes the line and flushes f, so a reader of a pipe or file sees every
 * incident change as it happens. Returns 0, or -1 with ERR_IO when writing or flushing
 * fails (a full disk, a closed pipe; /dev/full): the line may then be
 * partly written. Safe to call from several threads on one FILE (stdio
 * locks it), though lines may then interleave only whole.
 */
MUST_CHECK int jsonl_incident_write(FILE *f, enum incident_change_kind change,
                                    const struct incident *inc, struct err *err);

#endif
