/*
 * The live page of `sleuth watch --listen` (GET /): one self-contained HTML
 * document, inline CSS and script, no external resource, that fetches
 * /api/state, /api/alerts and /api/history every few seconds and draws
 * alerts, top queries, sessions, the blocking tree and charts over time
 * (inline SVG). The document itself holds no data: everything from the
 * database arrives as JSON and enters the DOM through textContent and
 * attribute setters only, so no database string can become markup.
 */
#ifndef SLEUTH_SINK_PAGE_H
#define SLEUTH_SINK_PAGE_H

#include <stddef.h>

/* The page, NUL-terminated, and its length without the NUL. */
extern const char page_html[];
extern const size_t page_html_len;

#endif
