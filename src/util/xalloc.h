/*
 * Allocation that never returns NULL: out of memory aborts with a message
 * (as cmark's xcalloc and redis' zmalloc do), so ENOMEM is never threaded
 * through the pipeline. Results belong to the caller.
 */
#ifndef SLEUTH_UTIL_XALLOC_H
#define SLEUTH_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows an array of nmemb elements to hold at least need; updates *cap. */
void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size);
/*
 * For a large table probed at random: from 2 MB up, aligned to and
 * advised as huge pages, so a probe costs a cache miss and not also a
 * page walk. Released with free().
 */
void *xmalloc_huge(size_t size);
char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t len); /* NUL-terminated copy of len bytes */

#endif
