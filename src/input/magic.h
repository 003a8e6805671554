/*
 * What the first bytes of an input say it is: a compressed stream or an
 * archive. sleuth tells both by content, never by the file name, so a
 * rotated `postgresql.log.1` that logrotate compressed without renaming is
 * still read.
 */
#ifndef SLEUTH_INPUT_MAGIC_H
#define SLEUTH_INPUT_MAGIC_H

#include <stddef.h>

/* Bytes enough for every magic number below (tar's sits at offset 257). */
#define MAGIC_HEAD_SIZE 512

/* "gzip", "bzip2", "xz", "zstd", or NULL when head starts none of them. */
const char *magic_compression(const void *head, size_t n);
/*
 * "zip", "7z" or "tar" (POSIX or GNU), or NULL. A compressed tarball is told
 * only once decompressed: libarchive does it (see arcfile.h).
 */
const char *magic_archive(const void *head, size_t n);

#endif
