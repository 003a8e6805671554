/*
 * The watcher's HTTP server (libmicrohttpd, one internal thread): it serves
 * a table of documents, path → (content type, bytes), that the watch loop
 * replaces after each poll with httpd_publish. The server thread only ever
 * copies published bytes into responses; it never sees a sample, an alert
 * or anything else the watch loop owns, so the two share nothing but the
 * table and its mutex.
 *
 * Every response carries Cache-Control: no-store, X-Content-Type-Options:
 * nosniff and a Content-Security-Policy that allows the live page's own
 * inline style and script, fetch() to the same origin, and nothing else.
 * Only GET and HEAD are served (405 with Allow otherwise); an unknown or
 * not yet published path is 404. The query string is ignored.
 *
 * Slow clients cannot starve a scrape: a connection has 5 s to send a
 * request head (after connecting or after its previous answer) and 30 s
 * to take its answer, or it is closed; one address holds at most 16
 * connections and all of them at most 64, and a newcomer beyond either
 * limit pushes out the connection that has waited longest for a request
 * head rather than being refused.
 *
 * Pointer arguments are borrowed; httpd_publish copies what it is given.
 * All functions but httpd_start/httpd_stop may be called from any thread.
 */
#ifndef SLEUTH_SINK_HTTPD_H
#define SLEUTH_SINK_HTTPD_H

#include "util/compat.h"
#include "util/err.h"

#include <stddef.h>

struct httpd;

/* The default of --listen: loopback only. */
#define HTTPD_DEFAULT_LISTEN "127.0.0.1:9187"

/*
 * Binds and starts listening on listen, which is "HOST:PORT", "[V6ADDR]:PORT",
 * ":PORT" or "PORT" (the last two on 127.0.0.1: the server is never exposed
 * unless an address is typed). HOST may be a name ("localhost"): the first
 * address it resolves to is used. PORT 0 picks a free port (httpd_port).
 * Fails with ERR_USAGE for a malformed address and ERR_IO when the socket
 * cannot be bound ("cannot listen on '…': Address already in use").
 */
MUST_CHECK int httpd_start(struct httpd **out, const char *listen, struct err *err);
/* Stops serving, closes the socket and frees everything; NULL is a no-op. */
void httpd_stop(struct httpd *h);
/* The bound TCP port. */
int httpd_port(const struct httpd *h);
/* The bound address as a URL authority: "127.0.0.1:9187", "[::1]:9187". */
const char *httpd_authority(const struct httpd *h);

/*
 * Makes path ("/metrics") serve a copy of body (len bytes, may hold NULs)
 * with content_type, replacing what it served before in one step: a request
 * gets either the old or the new document, never a mix.
 */
void httpd_publish(struct httpd *h, const char *path, const char *content_type, const char *body,
                   size_t len);

#endif
