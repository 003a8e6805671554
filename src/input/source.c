/*
 * Input files and streams; see source.h. Plain files avoid libarchive so
 * the scanner can split them by byte range; libarchive's raw format does
 * the decompression of everything else.
 */
#include "source.h"

#include "util/xalloc.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

/* Enough bytes of standard input to see a compression magic number. */
#define PEEK_SIZE (64 * 1024)

static const char *magic_compression(const unsigned char *b, size_t n)
{
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return "gzip";
    if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
        return "bzip2";
    if (n >= 6 && memcmp(b,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return "xz";
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return "zstd";
    return NULL;
}

/* libarchive reads through this: first the peeked bytes, then the descriptor. */
static la_ssize_t archive_read_cb(struct archive *a, void *ctx, const void **out)
{
    (void)a;
    struct source *s = ctx;
    if (s->peek_pos < s->peek_len) {
        *out = s->peek + s->peek_pos;
        la_ssize_t n = (la_ssize_t)(s->peek_len - s->peek_pos);
        s->peek_pos = s->peek_len;
        return n;
    }
    if (!s->peek)
        s->peek = xmalloc(PEEK_SIZE);
    for (;;) {
        ssize_t n = read(s->fd, s->peek, PEEK_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            archive_set_error(a, errno, "%s", strerror(errno));
        *out = s->peek;
        s->peek_len = s->peek_pos = n > 0 ? (size_t)n : 0;
        return n;
    }
}

static int open_archive(struct source *s, struct err *err)
{
    s->ar = archive_read_new();
    archive_read_support_filter_all(s->ar);
    archive_read_support_format_raw(s->ar);
    archive_read_support_format_empty(s->ar); /* a compressed empty file */
    if (archive_read_open(s->ar, s, NULL, archive_read_cb, NULL) != ARCHIVE_OK) {
        err_set(err, ERR_IO, "cannot read '%s': %s", s->path, archive_error_string(s->ar));
        return -1;
    }
    struct archive_entry *entry;
    int rc = archive_read_next_header(s->ar, &entry);
    if (rc == ARCHIVE_EOF) {
        s->eof = true;
        return 0;
    }
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
        err_set(err, ERR_IO, "cannot read '%s': %s", s->path, archive_error_string(s->ar));
        return -1;
    }
    return 0;
}

/* Reads the first bytes of a stream (a pipe cannot be read twice) to see its compression. */
static int open_stream(struct source *s, struct err *err)
{
    s->peek = xmalloc(PEEK_SIZE);
    while (s->peek_len < PEEK_SIZE) {
        ssize_t n = read(s->fd, s->peek + s->peek_len, PEEK_SIZE - s->peek_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(err, ERR_IO, "cannot read '%s': %s", s->path, strerror(errno));
        if (n == 0)
            break;
        s->peek_len += (size_t)n;
    }
    s->compression = magic_compression((const unsigned char *)s->peek, s->peek_len);
    return s->compression ? open_archive(s, err) : 0;
}

int source_open(struct source *s, const char *path, struct err *err)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->path = xstrdup(path);
    if (strcmp(path, "-") == 0) {
        s->fd = STDIN_FILENO;
        return open_stream(s, err);
    }
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        return err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(s->fd, &st) < 0)
        return err_set(err, ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return err_set(err, ERR_IO, "cannot read '%s': Is a directory", path);
    if (!S_ISREG(st.st_mode))
        return open_stream(s, err); /* a pipe or a device: <(zcat x.gz) */
    unsigned char head[8];
    ssize_t n = pread(s->fd, head, sizeof(head), 0);
    if (n < 0)
        return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    s->size = (uint64_t)st.st_size;
    s->compression = magic_compression(head, (size_t)n);
    if (!s->compression) {
        s->seekable = true;
        return 0;
    }
    return open_archive(s, err);
}

void source_close(struct source *s)
{
    if (s->ar)
        archive_read_free(s->ar);
    if (s->fd > STDIN_FILENO)
        close(s->fd);
    free(s->peek);
    free(s->path);
    memset(s, 0, sizeof(*s));
    s->fd = -1;
}

ssize_t source_read(struct source *s, char *buf, size_t len, struct err *err)
{
    if (s->eof)
        return 0;
    if (!s->ar && s->peek_pos < s->peek_len) {
        /* Plain standard input: the peeked bytes come first. */
        size_t n = s->peek_len - s->peek_pos < len ? s->peek_len - s->peek_pos : len;
        memcpy(buf, s->peek + s->peek_pos, n);
        s->peek_pos += n;
        return (ssize_t)n;
    }
    if (s->ar) {
        la_ssize_t n = archive_read_data(s->ar, buf, len);
        if (n < 0) {
            err_set(err, ERR_IO, "cannot decompress '%s': %s", s->path,
                    archive_error_string(s->ar));
            return -1;
        }
        if (n == 0)
            s->eof = true;
        return n;
    }
    for (;;) {
        ssize_t n = read(s->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err_set(err, ERR_IO, "cannot read '%s': %s", s->path, strerror(errno));
        if (n == 0)
            s->eof = true;
        return n;
    }
}

ssize_t source_pread(struct source *s, char *buf, size_t len, uint64_t off, struct err *err)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(s->fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_set(err, ERR_IO, "cannot read '%s': %s", s->path, strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

uint64_t source_size_now(const struct source *s)
{
    struct stat st;
    return fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : s->size;
}

int source_expand(const char *arg, char ***paths, size_t *n, size_t *cap, struct err *err)
{
    if (!strpbrk(arg, "*?[")) {
        *paths = xgrow(*paths, cap, *n + 1, sizeof(**paths));
        (*paths)[(*n)++] = xstrdup(arg);
        return 0;
    }
    glob_t g;
    int rc = glob(arg, 0, NULL, &g);
    if (rc == GLOB_NOMATCH)
        return err_set(err, ERR_IO, "no file matches '%s'", arg);
    if (rc != 0)
        return err_set(err, ERR_IO, "cannot expand '%s'", arg);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        *paths = xgrow(*paths, cap, *n + 1, sizeof(**paths));
        (*paths)[(*n)++] = xstrdup(g.gl_pathv[i]);
    }
    globfree(&g);
    return 0;
}
