/*
 * What every unit test includes: cmocka needs these headers first
 * (cmocka 1.1.5), and the real logs live in SLEUTH_DATA.
 */
#ifndef SLEUTH_TEST_UTIL_H
#define SLEUTH_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Path of a file of the real logs (SLEUTH_DATA: tests/data), in a static buffer. */
static inline const char *test_data_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("SLEUTH_DATA");
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
    return path;
}

/* Runs a shell command; fails the test if it does not exit 0. */
static inline void test_run(const char *cmd)
{
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

/* Reads a whole (possibly gzip-compressed) file; the caller frees. */
static inline char *test_read_gz(const char *path, size_t *len)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "gzip -dcf '%s'", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 1 << 20, n = 0, got;
    char *buf = malloc(cap);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    assert_int_equal(pclose(f), 0);
    *len = n;
    return buf;
}

/* Reads a (gzip-compressed) file of SLEUTH_DATA whole into b; false if it cannot be read. */
static inline bool test_read_data(const char *name, struct buf *b)
{
    const char *dir = getenv("SLEUTH_DATA");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/data", name);
    struct archive *a = archive_read_new();
    struct archive_entry *entry;
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    bool ok = archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK &&
              archive_read_next_header(a, &entry) == ARCHIVE_OK;
    while (ok) {
        buf_grow(b, 1 << 16);
        la_ssize_t n = archive_read_data(a, b->ptr + b->len, 1 << 16);
        if (n < 0)
            ok = false;
        if (n <= 0)
            break;
        b->len += (size_t)n;
    }
    b->ptr[b->len] = '\0';
    archive_read_free(a);
    return ok;
}

#endif
