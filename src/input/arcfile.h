/*
 * struct arcfile: an archive whose members are sleuth's inputs: a zip, a
 * 7z, a tar, or a tar compressed with gzip, bzip2, xz or zstd (libarchive
 * reads them all). arcfile_open lists the regular files in one pass; then
 * one libarchive reader goes through the archive once more and the members
 * are read from it in that order, each by whichever thread reads that
 * input: arcfile_begin waits for the member's turn, arcfile_end passes the
 * turn on. A compressed tarball is therefore decompressed twice (to list,
 * to read); a zip or a 7z is listed from its directory.
 *
 * Directories, links and other entries that are not regular files are not
 * members: their files are. The functions are thread-safe as used: any
 * thread may begin member i once members 0..i-1 have ended.
 */
#ifndef SLEUTH_INPUT_ARCFILE_H
#define SLEUTH_INPUT_ARCFILE_H

#include "util/compat.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct arcfile;

struct arcfile_member {
    char *name;              /* its path inside the archive */
    uint64_t entry;          /* its header's position among all the archive's headers */
    uint64_t size;           /* bytes, as the header says (0 when it does not) */
    const char *compression; /* its own: "gzip", "bzip2", "xz", "zstd" or NULL */
};

/*
 * Opens the archive at path (a regular file) and lists its members. An
 * archive damaged part way keeps the members listed before the damage;
 * reading the last of them ends with the damage as its error. Returns NULL
 * (err set, naming path) when nothing could be listed; an archive without
 * a regular file is an ERR_IO error too. The result holds one reference.
 */
MUST_CHECK struct arcfile *arcfile_open(const char *path, struct err *err);
/* Takes one more reference; arcfile_unref drops one and frees with the last. */
struct arcfile *arcfile_ref(struct arcfile *af);
void arcfile_unref(struct arcfile *af);

size_t arcfile_count(const struct arcfile *af);
/* Member i < arcfile_count(af). */
const struct arcfile_member *arcfile_member(const struct arcfile *af, size_t i);
/* "zip", "7z", "tar", "tar.gz", "tar.bz2", "tar.xz", "tar.zst" (static strings). */
const char *arcfile_format(const struct arcfile *af);

/*
 * Waits until members 0..i-1 have ended, then positions the reader at
 * member i. name is the member's input name, for the error message.
 */
MUST_CHECK int arcfile_begin(struct arcfile *af, size_t i, const char *name, struct err *err);
/* Reads member i (begun) on; returns bytes read, 0 at its end, or -1 (err set). */
MUST_CHECK ssize_t arcfile_read(struct arcfile *af, size_t i, char *buf, size_t len,
                                const char *name, struct err *err);
/*
 * Ends member i, begun or not (an unbegun member first waits for its
 * turn): member i + 1 may begin. What is left of member i is skipped.
 */
void arcfile_end(struct arcfile *af, size_t i);

#endif
