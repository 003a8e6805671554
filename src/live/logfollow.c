/*
 * Following a server log for `sleuth watch` (see logfollow.h). This is a
 * source in front of the ordinary log parser: it only decides which bytes
 * are new (end of file, rotation, truncation, a partial last line) and
 * hands them to logparser_feed, whose events it counts into the watcher's
 * struct sample. No parsing of log text happens here.
 *
 * State per followed file: its descriptor, identity (device and inode) and
 * the offset read so far. Bytes read but not yet parsed wait in `pending`:
 * a partial last line, or lines that arrived before the format was known.
 */
#include "live/logfollow.h"

#include "input/pgprefix.h"
#include "input/pgsyslog.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

enum {
    READ_CHUNK = 1 << 20,   /* bytes per read(2) */
    MAX_PENDING = 16 << 20, /* a longer line without its newline is parsed as it is */
    QUIET_MS = 200,         /* a log unchanged this long holds whole records only */
};

/* The interval's counts, added to the sample at the end of a read. */
struct log_counts {
    int64_t errors, refused, lock_waits, deadlocks, timeouts;
};

struct logfollow {
    char *path;
    enum log_format format;  /* LOGFMT_AUTO until known */
    struct pgprefix *prefix; /* owned; the stderr/syslog prefix, NULL until known */
    bool detected;           /* format (and prefix where it has one) decided */
    struct logparser *parser;

    int fd; /* -1: no file open */
    dev_t dev;
    ino_t ino;
    off_t off;           /* bytes of fd read so far */
    bool skip_partial;   /* drop bytes up to the next newline (we started mid-line) */
    bool quiet;          /* nothing was written for QUIET_MS after our last read */
    struct buf pending;  /* read, not yet parsed */
    struct log_counts c; /* during the current read */
    struct logfollow_stats stats;
};

static bool is_timeout(const struct event *ev)
{
    struct str st = ev->sqlstate;
    if (str_eq_cstr(st, "25P03") || str_eq_cstr(st, "57P05"))
        return true;
    /* 57014 is also a user's cancel and 55P03 a NOWAIT lock that failed. */
    if ((ev->flags & EVF_CANCELED) || str_eq_cstr(st, "55P03"))
        return str_find(ev->message, "timeout") >= 0;
    return false;
}

static void count_event(void *ctx, const struct event *ev)
{
    struct logfollow *lf = ctx;
    if (ev->kind == EV_UNPARSED) {
        lf->stats.unparsed++;
        return;
    }
    lf->stats.records++;
    if (ev->kind == EV_LOCK_WAIT) {
        lf->c.lock_waits++;
    } else if (ev->kind == EV_ERROR) {
        lf->c.errors++;
        if (ev->flags & EVF_TOO_MANY_CLIENTS)
            lf->c.refused++;
        if (ev->flags & EVF_DEADLOCK)
            lf->c.deadlocks++;
        if (is_timeout(ev))
            lf->c.timeouts++;
    }
}

/* Length of buf up to and including its last newline (0 if none). */
static size_t complete_lines(const char *buf, size_t len)
{
    while (len > 0 && buf[len - 1] != '\n')
        len--;
    return len;
}

/*
 * Decides the format and prefix from some complete lines of the log.
 * Returns false if they show no log record yet (more bytes are needed).
 */
static bool detect(struct logfollow *lf, const char *buf, size_t len, bool force)
{
    if (lf->format == LOGFMT_AUTO)
        lf->format = logparser_detect(buf, len);
    if (!lf->prefix && lf->format == LOGFMT_STDERR)
        lf->prefix = pgprefix_detect(buf, len);
    else if (!lf->prefix && lf->format == LOGFMT_SYSLOG)
        lf->prefix = pgsyslog_detect_prefix(buf, len);
    if ((lf->format == LOGFMT_STDERR || lf->format == LOGFMT_SYSLOG) && !lf->prefix) {
        if (!force)
            return false;
        lf->prefix = pgprefix_loose();
    }
    lf->detected = true;
    return true;
}

/* A parser for the current file, started at once (format and prefix are known). */
static void parser_start(struct logfollow *lf)
{
    logparser_free(lf->parser);
    lf->parser = logparser_new(lf->format, lf->prefix, 0);
    /* A server writes one format to a file; the follower's partial reads are no place to guess. */
    logparser_keep_format(lf->parser);
    /* Format and prefix are known: an empty eof feed starts the parser. */
    size_t used = logparser_feed(lf->parser, "", 0, true, count_event, lf);
    ASSERT(used == 0);
}

static void drop_front(struct buf *b, size_t n)
{
    memmove(b->ptr, b->ptr + n, b->len - n);
    buf_setlen(b, b->len - n);
}

/*
 * Parses what is complete in pending. With final (the file is finished)
 * everything goes, a last line without its newline included.
 */
static void parse_pending(struct logfollow *lf, bool final)
{
    struct buf *b = &lf->pending;
    if (lf->skip_partial) {
        const char *nl = memchr(b->ptr, '\n', b->len);
        size_t n = nl ? (size_t)(nl - b->ptr) + 1 : b->len;
        drop_front(b, n);
        lf->skip_partial = nl == NULL && !final;
    }
    if (b->len == 0)
        return;
    bool flush = final || b->len > MAX_PENDING;
    size_t n = flush ? b->len : complete_lines(b->ptr, b->len);
    if (n == 0)
        return;
    if (!lf->detected && !detect(lf, b->ptr, n, flush || n > LOGPARSER_DETECT_BYTES))
        return;
    if (!lf->parser)
        parser_start(lf);
    size_t used;
    if (lf->format == LOGFMT_CSV || lf->format == LOGFMT_JSON) {
        /* Their records end at their own newline: the reader keeps a partial one. */
        used = logparser_feed(lf->parser, b->ptr, b->len, flush, count_event, lf);
    } else {
        /*
         * A stderr record goes on until the next one starts, so the reader
         * holds the last one back. PostgreSQL writes a record at once (in a
         * few write() calls for a long one): once the file has been quiet
         * for a moment, the lines at hand are whole records.
         */
        used = logparser_feed(lf->parser, b->ptr, n, flush, count_event, lf);
        if (used < n && lf->quiet)
            used += logparser_feed(lf->parser, b->ptr + used, n - used, true, count_event, lf);
    }
    lf->stats.bytes += used;
    drop_front(b, used);
}

static void close_file(struct logfollow *lf)
{
    if (lf->fd >= 0)
        close(lf->fd);
    lf->fd = -1;
    lf->off = 0;
    buf_reset(&lf->pending);
    lf->skip_partial = false;
}

/* Opens path; *missing is set when it does not exist. */
static int open_file(struct logfollow *lf, bool *missing, struct err *err)
{
    *missing = false;
    int fd = open(lf->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *missing = errno == ENOENT;
        return err_set(err, ERR_IO, "cannot open '%s': %s", lf->path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_set(err, ERR_IO, "cannot stat '%s': %s", lf->path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, ERR_IO, "cannot follow '%s': not a regular file", lf->path);
    }
    lf->fd = fd;
    lf->dev = st.st_dev;
    lf->ino = st.st_ino;
    lf->off = 0;
    /* Line numbers count from the start of each file. */
    if (lf->parser)
        parser_start(lf);
    return 0;
}

/* Reads the open file to its end, parsing as it goes. */
/* Whether the open file was last written QUIET_MS ago or more. */
static bool file_is_quiet(const struct logfollow *lf)
{
    struct stat st;
    struct timespec now;
    if (fstat(lf->fd, &st) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0)
        return false;
    int64_t age_ms = ((int64_t)now.tv_sec - (int64_t)st.st_mtim.tv_sec) * 1000 +
                     (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
    return age_ms >= QUIET_MS;
}

/* Reads the open file to its end, parsing as it goes. */
static int drain(struct logfollow *lf, struct err *err)
{
    struct stat st;
    if (fstat(lf->fd, &st) != 0)
        return err_set(err, ERR_IO, "cannot stat '%s': %s", lf->path, strerror(errno));
    if (st.st_size < lf->off) {
        /* copytruncate: the file was emptied and written again from 0. */
        lf->stats.truncations++;
        lf->off = 0;
        buf_reset(&lf->pending);
        lf->skip_partial = false;
        if (lf->parser)
            parser_start(lf);
    }
    lf->quiet = false;
    for (;;) {
        buf_grow(&lf->pending, READ_CHUNK);
        ssize_t n = pread(lf->fd, lf->pending.ptr + lf->pending.len, READ_CHUNK, lf->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(err, ERR_IO, "cannot read '%s': %s", lf->path, strerror(errno));
        if (n == 0)
            break;
        /* buf_grow made room; the bytes are ours now. */
        lf->pending.len += (size_t)n;
        lf->pending.ptr[lf->pending.len] = '\0';
        lf->off += n;
        parse_pending(lf, false);
    }
    /* Asked after the last read: a write since then makes the file not quiet. */
    lf->quiet = file_is_quiet(lf);
    if (lf->quiet)
        parse_pending(lf, false);
    return 0;
}

/* At open: an existing file is followed from its end; its tail decides the format. */
static void seek_end(struct logfollow *lf)
{
    struct stat st;
    if (fstat(lf->fd, &st) != 0 || st.st_size == 0)
        return;
    off_t from = st.st_size > LOGPARSER_DETECT_BYTES ? st.st_size - LOGPARSER_DETECT_BYTES : 0;
    char *tail = xmalloc(LOGPARSER_DETECT_BYTES);
    ssize_t n = pread(lf->fd, tail, (size_t)(st.st_size - from), from);
    if (n > 0) {
        size_t len = (size_t)n, start = 0;
        if (from > 0) {
            const char *nl = memchr(tail, '\n', len);
            start = nl ? (size_t)(nl - tail) + 1 : len;
        }
        size_t end = start + complete_lines(tail + start, len - start);
        if (end > start && detect(lf, tail + start, end - start, false))
            parser_start(lf);
        lf->skip_partial = tail[len - 1] != '\n';
    }
    free(tail);
    lf->off = from + (n > 0 ? n : 0);
}

int logfollow_open(struct logfollow **out, const char *path, enum log_format fmt,
                   const char *prefix, struct err *err)
{
    *out = NULL;
    struct pgprefix *pp = NULL;
    if (prefix && !(pp = pgprefix_compile(prefix, err))) {
        err->code = ERR_USAGE;
        err_prefix(err, "log_line_prefix '%s'", prefix);
        return -1;
    }
    struct logfollow *lf = xcalloc(1, sizeof(*lf));
    lf->path = xstrdup(path);
    lf->format = fmt;
    lf->prefix = pp;
    lf->fd = -1;
    buf_init(&lf->pending, 0);
    if ((fmt == LOGFMT_CSV || fmt == LOGFMT_JSON) || (fmt != LOGFMT_AUTO && pp))
        lf->detected = true;
    bool missing;
    if (open_file(lf, &missing, err) != 0) {
        if (!missing) {
            logfollow_free(lf);
            return -1;
        }
        err_clear(err);
    } else {
        seek_end(lf);
    }
    *out = lf;
    return 0;
}

void logfollow_free(struct logfollow *lf)
{
    if (!lf)
        return;
    close_file(lf);
    buf_release(&lf->pending);
    logparser_free(lf->parser);
    pgprefix_free(lf->prefix);
    free(lf->path);
    free(lf);
}

/* The path names another file than the open one: finish the old, start the new. */
static void rotate(struct logfollow *lf, struct sample *s)
{
    struct err e;
    err_clear(&e);
    parse_pending(lf, true);
    close_file(lf);
    lf->stats.rotations++;
    bool missing;
    if (open_file(lf, &missing, &e) != 0) {
        sample_add_problem(s, "log", e.msg, "sleuth tries again at the next interval");
        return;
    }
    if (drain(lf, &e) != 0)
        sample_add_problem(s, "log", e.msg, "check the permissions of the log file");
}

int logfollow_read(struct logfollow *lf, struct sample *s, struct err *err)
{
    (void)err;
    struct err e;
    err_clear(&e);
    memset(&lf->c, 0, sizeof(lf->c));
    if (lf->fd < 0) {
        bool missing;
        if (open_file(lf, &missing, &e) != 0) {
            sample_add_problem(s, "log", e.msg,
                               missing
                                   ? "check --log (log_directory and log_filename); sleuth keeps "
                                     "waiting for the file"
                                   : "let sleuth read the log (group adm or postgres)");
            return 0;
        }
    }
    /* Read the old file to its end before looking at what the path names now. */
    if (drain(lf, &e) != 0)
        sample_add_problem(s, "log", e.msg, "check the permissions of the log file");
    struct stat st;
    if (stat(lf->path, &st) != 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "log file '%s' is gone (%s); still reading the old one",
                 lf->path, strerror(errno));
        sample_add_problem(s, "log", msg, "sleuth switches to the new file when it appears");
    } else if (st.st_dev != lf->dev || st.st_ino != lf->ino) {
        rotate(lf, s);
    }
    s->has_log = lf->fd >= 0 || s->has_log;
    s->log_errors += lf->c.errors;
    s->log_refused += lf->c.refused;
    s->log_lock_waits += lf->c.lock_waits;
    s->log_deadlocks += lf->c.deadlocks;
    s->log_timeouts += lf->c.timeouts;
    return 0;
}

void logfollow_stats(const struct logfollow *lf, struct logfollow_stats *out)
{
    *out = lf->stats;
}

enum log_format logfollow_format(const struct logfollow *lf)
{
    return lf->detected ? lf->format : LOGFMT_AUTO;
}
