/*
 * Out-of-memory policy for the whole program: print and abort.
 */
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void oom(size_t size)
{
    fprintf(stderr, "sleuth: out of memory (allocating %zu bytes)\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return ptr;
    /* Start small: aggregates keep many tiny arrays (the users of one query). */
    size_t n = *cap ? *cap : 2;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem_size)
        oom(SIZE_MAX);
    *cap = n;
    return xrealloc(ptr, n * elem_size);
}

void *xmalloc_huge(size_t size)
{
    size_t huge = 2u << 20;
    if (size < huge)
        return xmalloc(size);
    size = (size + huge - 1) & ~(huge - 1);
    void *p = aligned_alloc(huge, size);
    if (!p)
        oom(size);
    madvise(p, size, MADV_HUGEPAGE); /* advice: without it the table still works */
    return p;
}

char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s));
}

char *xmemdup(const void *p, size_t len)
{
    char *d = xmalloc(len + 1);
    if (len)
        memcpy(d, p, len);
    d[len] = '\0';
    return d;
}
