/*
 * Archives whose members are inputs; see arcfile.h. Two passes of
 * libarchive over one descriptor: the first lists the regular files (and
 * the first bytes of each, to tell a compressed member), the second reads
 * them in order for source.c, which decompresses a compressed member. The
 * passes read through pread at their own offsets and may seek, which the
 * zip and 7z readers use to go straight to the central directory.
 */
#include "arcfile.h"

#include "magic.h"
#include "util/xalloc.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

#define BLOCK (64u << 10)

/* One libarchive pass over the file, at its own offset. */
struct pass {
    int fd;
    int64_t off, size;
    char *buf;
};

struct arcfile {
    char *path;
    int fd;
    int64_t size;
    struct arcfile_member *members;
    size_t n, cap;
    const char *format;
    char *tail_error;   /* why listing stopped after the last member, or NULL */
    struct archive *ar; /* the reading pass, opened when member 0 begins */
    struct pass rd;
    uint64_t headers; /* headers the reading pass has read */
    /* What is left of the last data block of the member being read, and where it starts. */
    const char *blk;
    size_t blk_len;
    int64_t blk_off, out_off; /* out_off: the member's bytes handed out */
    char *failed;             /* why the reading pass could not start, or NULL */
    pthread_mutex_t mu;
    pthread_cond_t turn_cond;
    size_t turn; /* the member that may be read; all before it have ended */
    int refs;
};

static const char *ar_msg(struct archive *a)
{
    const char *m = archive_error_string(a);
    return m && *m ? m : "damaged or truncated archive";
}

static la_ssize_t pass_read(struct archive *a, void *ctx, const void **out)
{
    struct pass *p = ctx;
    for (;;) {
        ssize_t n = pread(p->fd, p->buf, BLOCK, (off_t)p->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            archive_set_error(a, errno, "%s", strerror(errno));
            return -1;
        }
        p->off += n;
        *out = p->buf;
        return n;
    }
}

static la_int64_t pass_seek(struct archive *a, void *ctx, la_int64_t off, int whence)
{
    struct pass *p = ctx;
    int64_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? p->off + off : p->size + off;
    if (to < 0) {
        archive_set_error(a, EINVAL, "seek before the start of the file");
        return ARCHIVE_FATAL;
    }
    p->off = to;
    return to;
}

/* Skips at most to the end, so that a short file reads as truncated. */
static la_int64_t pass_skip(struct archive *a, void *ctx, la_int64_t n)
{
    (void)a;
    struct pass *p = ctx;
    if (n > p->size - p->off)
        n = p->off < p->size ? p->size - p->off : 0;
    p->off += n;
    return n;
}

static struct archive *pass_open(struct arcfile *af, struct pass *p, struct err *err)
{
    p->fd = af->fd;
    p->off = 0;
    p->size = af->size;
    if (!p->buf)
        p->buf = xmalloc(BLOCK);
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_zip(a);
    archive_read_support_format_7zip(a);
    archive_read_support_format_tar(a);
    archive_read_set_read_callback(a, pass_read);
    archive_read_set_seek_callback(a, pass_seek);
    archive_read_set_skip_callback(a, pass_skip);
    archive_read_set_callback_data(a, p);
    if (archive_read_open1(a) != ARCHIVE_OK) {
        err_set(err, ERR_IO, "cannot read '%s': %s", af->path, ar_msg(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static const char *format_name(struct archive *a)
{
    switch (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_ZIP:
        return "zip";
    case ARCHIVE_FORMAT_7ZIP:
        return "7z";
    default:
        break;
    }
    switch (archive_filter_code(a, 0)) {
    case ARCHIVE_FILTER_GZIP:
        return "tar.gz";
    case ARCHIVE_FILTER_BZIP2:
        return "tar.bz2";
    case ARCHIVE_FILTER_XZ:
        return "tar.xz";
    case ARCHIVE_FILTER_ZSTD:
        return "tar.zst";
    default:
        return "tar";
    }
}

static const char *entry_name(struct archive_entry *e)
{
    const char *name = archive_entry_pathname(e);
    if (!name)
        name = archive_entry_pathname_utf8(e);
    return name ? name : "?";
}

/*
 * The listing pass. A header that cannot be read stops it and is the
 * archive's tail_error; data that cannot be skipped stops it too, but is
 * the member's own damage, which reading it will tell.
 */
static void list_members(struct arcfile *af, struct archive *a)
{
    struct archive_entry *e;
    for (uint64_t entry = 0;; entry++) {
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF)
            return;
        if (rc < ARCHIVE_WARN) {
            af->tail_error = xstrdup(ar_msg(a));
            return;
        }
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
            continue;
        af->members = xgrow(af->members, &af->cap, af->n + 1, sizeof(*af->members));
        struct arcfile_member *m = &af->members[af->n++];
        memset(m, 0, sizeof(*m));
        m->name = xstrdup(entry_name(e));
        m->entry = entry;
        m->size = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
        char head[8];
        la_ssize_t got = archive_read_data(a, head, sizeof(head));
        if (got > 0)
            m->compression = magic_compression(head, (size_t)got);
        if (archive_read_data_skip(a) < ARCHIVE_WARN)
            return;
    }
}

struct arcfile *arcfile_open(const char *path, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err_set(err, ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct arcfile *af = xcalloc(1, sizeof(*af));
    af->path = xstrdup(path);
    af->fd = fd;
    af->size = (int64_t)st.st_size;
    af->refs = 1;
    pthread_mutex_init(&af->mu, NULL);
    pthread_cond_init(&af->turn_cond, NULL);
    struct pass p = { .buf = NULL };
    struct archive *a = pass_open(af, &p, err);
    if (a) {
        list_members(af, a);
        af->format = format_name(a);
        archive_read_free(a);
    }
    free(p.buf);
    if (!a) {
        arcfile_unref(af);
        return NULL;
    }
    if (af->n == 0) {
        if (af->tail_error)
            err_set(err, ERR_IO, "cannot read '%s': %s", path, af->tail_error);
        else
            err_set(err, ERR_IO, "cannot read '%s': no file in the %s archive", path, af->format);
        arcfile_unref(af);
        return NULL;
    }
    return af;
}

struct arcfile *arcfile_ref(struct arcfile *af)
{
    pthread_mutex_lock(&af->mu);
    af->refs++;
    pthread_mutex_unlock(&af->mu);
    return af;
}

void arcfile_unref(struct arcfile *af)
{
    if (!af)
        return;
    pthread_mutex_lock(&af->mu);
    int left = --af->refs;
    pthread_mutex_unlock(&af->mu);
    if (left > 0)
        return;
    if (af->ar)
        archive_read_free(af->ar);
    free(af->rd.buf);
    close(af->fd);
    for (size_t i = 0; i < af->n; i++)
        free(af->members[i].name);
    free(af->members);
    free(af->tail_error);
    free(af->failed);
    free(af->path);
    pthread_cond_destroy(&af->turn_cond);
    pthread_mutex_destroy(&af->mu);
    free(af);
}

size_t arcfile_count(const struct arcfile *af)
{
    return af->n;
}

const struct arcfile_member *arcfile_member(const struct arcfile *af, size_t i)
{
    ASSERT(i < af->n);
    return &af->members[i];
}

const char *arcfile_format(const struct arcfile *af)
{
    return af->format;
}

static void wait_turn(struct arcfile *af, size_t i)
{
    pthread_mutex_lock(&af->mu);
    while (af->turn < i)
        pthread_cond_wait(&af->turn_cond, &af->mu);
    pthread_mutex_unlock(&af->mu);
}

int arcfile_begin(struct arcfile *af, size_t i, const char *name, struct err *err)
{
    ASSERT(i < af->n);
    wait_turn(af, i);
    if (!af->ar && !af->failed) {
        struct err e;
        af->ar = pass_open(af, &af->rd, &e);
        if (!af->ar)
            af->failed = xstrdup(e.msg);
    }
    if (af->failed)
        return err_set(err, ERR_IO, "%s", af->failed);
    while (af->headers <= af->members[i].entry) {
        struct archive_entry *e;
        int rc = archive_read_next_header(af->ar, &e);
        if (rc == ARCHIVE_EOF)
            return err_set(err, ERR_IO, "cannot read '%s': the archive ended before it", name);
        if (rc < ARCHIVE_WARN)
            return err_set(err, ERR_IO, "cannot read '%s': %s", name, ar_msg(af->ar));
        af->headers++;
    }
    af->blk_len = 0;
    af->blk_off = af->out_off = 0;
    return 0;
}

/*
 * Hands out the member's data block by block: archive_read_data would drop
 * the bytes it had copied when the same call then fails (a truncated
 * archive), and those are the records before the damage.
 */
ssize_t arcfile_read(struct arcfile *af, size_t i, char *buf, size_t len, const char *name,
                     struct err *err)
{
    while (af->blk_len == 0) {
        const void *p;
        size_t size;
        la_int64_t off;
        int rc = archive_read_data_block(af->ar, &p, &size, &off);
        if (rc == ARCHIVE_EOF && i + 1 == af->n && af->tail_error)
            return err_set(err, ERR_IO, "cannot read '%s' past its member '%s': %s", af->path,
                           af->members[i].name, af->tail_error);
        if (rc == ARCHIVE_EOF)
            return 0;
        if (rc < ARCHIVE_WARN)
            return err_set(err, ERR_IO, "cannot read '%s': %s", name, ar_msg(af->ar));
        af->blk = p;
        af->blk_len = size;
        af->blk_off = off;
    }
    size_t n;
    if (af->blk_off > af->out_off) {
        /* A hole in a sparse member reads as zeros. */
        n = (uint64_t)(af->blk_off - af->out_off) < len ? (size_t)(af->blk_off - af->out_off) : len;
        memset(buf, 0, n);
    } else {
        n = af->blk_len < len ? af->blk_len : len;
        memcpy(buf, af->blk, n);
        af->blk += n;
        af->blk_len -= n;
        af->blk_off += (int64_t)n;
    }
    af->out_off += (int64_t)n;
    return (ssize_t)n;
}

void arcfile_end(struct arcfile *af, size_t i)
{
    pthread_mutex_lock(&af->mu);
    while (af->turn < i)
        pthread_cond_wait(&af->turn_cond, &af->mu);
    if (af->turn == i) {
        af->turn = i + 1;
        pthread_cond_broadcast(&af->turn_cond);
    }
    pthread_mutex_unlock(&af->mu);
}
