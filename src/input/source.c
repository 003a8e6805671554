/*
 * Input files and streams; see source.h. Plain files avoid libarchive so
 * the scanner can split them by byte range; libarchive's raw format does
 * the decompression of everything else. Archives are listed and read by
 * arcfile.c; a source here is one of their members.
 */
#include "source.h"

#include "arcfile.h"
#include "magic.h"
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

/*
 * libarchive reads through this: first the peeked bytes, then the
 * descriptor, or the archive of a member.
 */
static la_ssize_t archive_read_cb(struct archive *a, void *ctx, const void **out)
{
    struct source *s = ctx;
    if (s->peek_pos < s->peek_len) {
        *out = s->peek + s->peek_pos;
        la_ssize_t n = (la_ssize_t)(s->peek_len - s->peek_pos);
        s->peek_pos = s->peek_len;
        return n;
    }
    if (!s->peek)
        s->peek = xmalloc(PEEK_SIZE);
    if (s->arc) {
        struct err e;
        ssize_t n = arcfile_read(s->arc, s->member, s->peek, PEEK_SIZE, s->path, &e);
        if (n < 0) {
            free(s->member_error);
            s->member_error = xstrdup(e.msg);
            archive_set_error(a, EIO, "%s", e.msg);
        }
        *out = s->peek;
        return n;
    }
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

/* libarchive's message, or the member's own when reading the member failed first. */
static const char *ar_msg(const struct source *s)
{
    if (s->member_error)
        return s->member_error;
    const char *m = archive_error_string(s->ar);
    return m && *m ? m : "unknown error";
}

/*
 * Opens the decompression of s. Outside an archive a tar is told here too
 * (a compressed tarball): *archive is then set and nothing is read.
 */
static int open_archive(struct source *s, const char **archive, struct err *err)
{
    s->ar = archive_read_new();
    archive_read_support_filter_all(s->ar);
    archive_read_support_format_raw(s->ar);
    archive_read_support_format_empty(s->ar); /* a compressed empty file */
    if (!s->arc)
        archive_read_support_format_tar(s->ar); /* bids above raw when the data is a tar */
    if (archive_read_open(s->ar, s, NULL, archive_read_cb, NULL) != ARCHIVE_OK) {
        err_set(err, ERR_IO, "cannot read '%s': %s", s->path, ar_msg(s));
        return -1;
    }
    struct archive_entry *entry;
    int rc = archive_read_next_header(s->ar, &entry);
    if (rc == ARCHIVE_EOF) {
        s->eof = true;
        return 0;
    }
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
        if (s->member_error)
            return err_set(err, ERR_IO, "%s", s->member_error);
        err_set(err, ERR_IO, "cannot read '%s': %s", s->path, ar_msg(s));
        return -1;
    }
    if ((archive_format(s->ar) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR)
        *archive = "tar";
    return 0;
}

/*
 * Reads the first bytes of a stream (a pipe cannot be read twice) to see its
 * compression; an archive on a stream is an error.
 */
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
    s->compression = magic_compression(s->peek, s->peek_len);
    const char *kind = magic_archive(s->peek, s->peek_len);
    if (s->compression && open_archive(s, &kind, err) < 0)
        return -1;
    /* An archive is listed, then read: a stream cannot be read twice. */
    if (kind)
        return err_set(err, ERR_IO,
                       "cannot read '%s': a %s archive as a stream; give it by its file name",
                       s->path, kind);
    return 0;
}

/*
 * Opens path as one stream, or sets *archive to the archive's kind ("zip",
 * "7z", "tar") when it is an archive file, which arcfile.c reads.
 */
static int open_path(struct source *s, const char *path, const char **archive, struct err *err)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->path = xstrdup(path);
    *archive = NULL;
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
    unsigned char head[MAGIC_HEAD_SIZE];
    ssize_t n = pread(s->fd, head, sizeof(head), 0);
    if (n < 0)
        return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    s->size = (uint64_t)st.st_size;
    s->compression = magic_compression(head, (size_t)n);
    *archive = magic_archive(head, (size_t)n);
    if (*archive)
        return 0;
    if (!s->compression) {
        s->seekable = true;
        return 0;
    }
    return open_archive(s, archive, err);
}

int source_open(struct source *s, const char *path, struct err *err)
{
    const char *archive;
    if (open_path(s, path, &archive, err) < 0)
        return -1;
    if (archive)
        return err_set(err, ERR_IO, "cannot read '%s' as one stream: a %s archive", path, archive);
    return 0;
}

/* A new source that is not open (fd -1); it never moves, as libarchive needs. */
static struct source *source_new(struct source ***v, size_t *n, size_t *cap)
{
    *v = xgrow(*v, cap, *n + 1, sizeof(**v));
    struct source *s = xcalloc(1, sizeof(*s));
    s->fd = -1;
    (*v)[(*n)++] = s;
    return s;
}

/* Appends one source per member of the archive at path (or a failed one saying why). */
static void open_members(const char *path, struct source ***v, size_t *n, size_t *cap)
{
    struct err e;
    struct arcfile *af = arcfile_open(path, &e);
    if (!af) {
        struct source *s = source_new(v, n, cap);
        s->path = xstrdup(path);
        s->failed = true;
        s->err = e;
        return;
    }
    for (size_t i = 0; i < arcfile_count(af); i++) {
        const struct arcfile_member *m = arcfile_member(af, i);
        struct source *s = source_new(v, n, cap);
        size_t len = strlen(path) + 1 + strlen(m->name) + 1;
        s->path = xmalloc(len);
        snprintf(s->path, len, "%s:%s", path, m->name);
        s->arc = i == 0 ? af : arcfile_ref(af);
        s->member = i;
        s->archive = arcfile_format(af);
        s->compression = m->compression;
        s->size = m->size;
    }
}

struct source **source_open_all(char *const *paths, size_t npaths, size_t *n)
{
    struct source **v = NULL;
    size_t cap = 0;
    *n = 0;
    for (size_t i = 0; i < npaths; i++) {
        struct source *s = source_new(&v, n, &cap);
        const char *archive;
        struct err e;
        int rc = open_path(s, paths[i], &archive, &e);
        if (rc == 0 && archive) {
            source_close(s);
            free(s);
            (*n)--;
            open_members(paths[i], &v, n, &cap);
            continue;
        }
        if (rc < 0) {
            s->failed = true;
            s->err = e;
        }
    }
    return v;
}

void source_close_all(struct source **sources, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        source_close(sources[i]);
        free(sources[i]);
    }
    free(sources);
}

void source_done(struct source *s)
{
    if (s->arc && !s->ended) {
        s->ended = true;
        arcfile_end(s->arc, s->member);
    }
}

void source_close(struct source *s)
{
    if (s->arc && s->begun)
        source_done(s);
    arcfile_unref(s->arc);
    free(s->member_error);
    if (s->ar)
        archive_read_free(s->ar);
    if (s->fd > STDIN_FILENO)
        close(s->fd);
    free(s->peek);
    free(s->path);
    memset(s, 0, sizeof(*s));
    s->fd = -1;
}

/* Takes a member's turn in its archive and opens its decompression. */
static int begin_member(struct source *s, struct err *err)
{
    s->begun = true;
    if (arcfile_begin(s->arc, s->member, s->path, err) < 0)
        return -1;
    const char *archive = NULL;
    return s->compression ? open_archive(s, &archive, err) : 0;
}

ssize_t source_read(struct source *s, char *buf, size_t len, struct err *err)
{
    if (s->arc && !s->begun && begin_member(s, err) < 0) {
        s->eof = true;
        return -1;
    }
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
        if (n < 0 && s->member_error) {
            err_set(err, ERR_IO, "%s", s->member_error);
            return -1;
        }
        if (n < 0) {
            err_set(err, ERR_IO, "cannot decompress '%s': %s", s->path, ar_msg(s));
            return -1;
        }
        if (n == 0)
            s->eof = true;
        return n;
    }
    if (s->arc) {
        ssize_t n = arcfile_read(s->arc, s->member, buf, len, s->path, err);
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
