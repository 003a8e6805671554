/*
 * struct source: one input of `sleuth analyze` as a byte stream: a plain
 * file (read with pread, so threads can share it by byte ranges), standard
 * input ("-"), or a gzip, bzip2, xz or zstd compressed file or stream
 * (decompressed with libarchive, read sequentially). Compression is told by
 * the first bytes, not by the file name.
 */
#ifndef SLEUTH_INPUT_SOURCE_H
#define SLEUTH_INPUT_SOURCE_H

#include "util/compat.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct archive;

struct source {
    char *path; /* as given; "-" for stdin */
    int fd;
    bool seekable;           /* a plain file: source_pread works */
    const char *compression; /* "gzip", "bzip2", "xz", "zstd" or NULL */
    uint64_t size;           /* bytes on disk (0 for streams) */
    struct archive *ar;      /* compressed input */
    bool eof;
    char *peek; /* stdin's first bytes, read to tell its compression */
    size_t peek_len, peek_pos;
};

/* Opens path; a directory, a missing or unreadable file is an ERR_IO error. */
MUST_CHECK int source_open(struct source *s, const char *path, struct err *err);
void source_close(struct source *s);
/* Reads up to len bytes sequentially; returns bytes read (0 at the end) or -1. */
MUST_CHECK ssize_t source_read(struct source *s, char *buf, size_t len, struct err *err);
/* Reads up to len bytes at off of a seekable source; returns bytes read or -1. */
MUST_CHECK ssize_t source_pread(struct source *s, char *buf, size_t len, uint64_t off,
                                struct err *err);

/*
 * The size on disk of a seekable source now (a log may be truncated or
 * grow while it is read); its size at open if that cannot be told.
 */
uint64_t source_size_now(const struct source *s);

/*
 * Expands a command-line argument: a glob pattern (logs/\*.csv) gives its
 * matches, sorted; anything else is returned as given. Appends malloc'd
 * strings to *paths.
 */
MUST_CHECK int source_expand(const char *arg, char ***paths, size_t *n, size_t *cap,
                             struct err *err);

#endif
