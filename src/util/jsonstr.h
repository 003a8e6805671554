/*
 * JSON strings from text that may not be valid UTF-8 (log lines, query
 * texts, names from a server in another encoding): jansson refuses such
 * text, so invalid bytes become U+FFFD instead of the value going missing.
 */
#ifndef SLEUTH_UTIL_JSONSTR_H
#define SLEUTH_UTIL_JSONSTR_H

#include <jansson.h>

/* A new JSON string for s, or JSON null when s is NULL. */
json_t *jsonstr_new(const char *s);

#endif
