/*
 * struct source: one input of `sleuth analyze` as a byte stream: a plain
 * file (read with pread, so threads can share it by byte ranges), standard
 * input ("-"), a gzip, bzip2, xz or zstd compressed file or stream
 * (decompressed with libarchive, read sequentially), or a member of an
 * archive file (zip, 7z, tar, compressed tarball; arcfile.h), itself
 * decompressed when it is compressed, read sequentially. Compression and
 * archives are told by the first bytes, not by the file name.
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
struct arcfile;

struct source {
    char *path; /* as given; "-" for stdin; "ARCHIVE:MEMBER" for a member */
    int fd;
    bool seekable;           /* a plain file: source_pread works */
    const char *compression; /* "gzip", "bzip2", "xz", "zstd" or NULL */
    uint64_t size;           /* bytes on disk (0 for streams) */
    struct archive *ar;      /* compressed input */
    bool eof;
    char *peek; /* stdin's first bytes, read to tell its compression */
    size_t peek_len, peek_pos;
    const char *archive; /* a member's archive format ("zip", "tar.gz", ...), else NULL */
    struct arcfile *arc; /* a member's archive, shared by its members */
    size_t member;       /* its index in arc */
    bool begun, ended;   /* its turn in arc was taken, given on */
    char *member_error;  /* why reading the member failed under its decompression */
    bool failed;         /* source_open_all: it could not be opened, err says why */
    struct err err;
};

/*
 * Opens path into s, which must not move until source_close (libarchive
 * keeps its address). A directory, a missing or unreadable file is an
 * ERR_IO error,
 * and so is an archive (its members are inputs: see source_open_all).
 */
MUST_CHECK int source_open(struct source *s, const char *path, struct err *err);
void source_close(struct source *s);

/*
 * Opens the inputs named by paths (as source_expand gives them): a file or
 * "-" is one source; an archive file is one source per regular file in it,
 * in the archive's order, named "ARCHIVE:MEMBER" (e.g.
 * "logs.zip:pg/postgresql-Mon.log"). Never fails as a whole: a source that
 * could not be opened has `failed` set and `err` saying why, and is not to
 * be read. Returns a malloc'd array of *n malloc'd sources, for
 * source_close_all.
 *
 * The members of one archive share one reader: each must be read in one
 * go, in order, and source_done called when its reading is over (at its
 * end, on an error, or given up part way); the first read of a member waits
 * until the members before it are done. Any thread may read any member.
 */
struct source **source_open_all(char *const *paths, size_t npaths, size_t *n);
void source_close_all(struct source **sources, size_t n);
/* Reading s is over for now; an archive member lets the next one be read. No-op otherwise. */
void source_done(struct source *s);
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
