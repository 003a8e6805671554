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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path of a file in ../shared/data (SLEUTH_DATA), in a static buffer. */
static inline const char *test_data_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("SLEUTH_DATA");
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/work/shared/data", name);
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

#endif
