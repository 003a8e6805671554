/*
 * JSON strings from text that may not be valid UTF-8 (log lines, query
 * texts, names from a server in another encoding): jansson refuses such
 * text, so invalid bytes become U+FFFD instead of the value going missing.
 */
#ifndef SLEUTH_UTIL_JSONSTR_H
#define SLEUTH_UTIL_JSONSTR_H

#include <jansson.h>

#include <stdint.h>

/* A new JSON string for s, or JSON null when s is NULL. */
json_t *jsonstr_new(const char *s);
/*
 * The conventions of sleuth's JSON output, each a new reference: a time
 * as ISO 8601 UTC ("2026-11-22T02:32:37.000+00:00"), null for 0; a 64-bit
 * fingerprint or id as 16 hex digits, null for 0; a number rounded to
 * three decimals, null when not finite.
 */
json_t *jsonstr_time(int64_t ts_us);
json_t *jsonstr_hex64(uint64_t v);
json_t *jsonstr_num(double v);
/* The inverses: 0 for null or a value of another form. */
int64_t jsonstr_time_value(const json_t *j);
uint64_t jsonstr_hex64_value(const json_t *j);

#endif
