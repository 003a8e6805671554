/*
 * Reading access logs into struct web (web.h: web_read). Each input's
 * layout is decided once (given, or detected from its first 256 KB); a
 * plain file of 16 MB or more is split into byte ranges that start after a
 * newline, read by worker threads into a struct web each, and merged in
 * input order as soon as each is read (the ones waiting for an earlier
 * range are all that is held), so the result does not depend on the number
 * of threads and memory not on the log's size.
 * Streams (stdin, compressed files, archive members) are one range, read
 * sequentially.
 */
#include "web.h"

#include "input/source.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"

#define READ_BUF    (1u << 20)
#define MIN_CHUNK   (8u << 20)
#define DETECT_SIZE (256u << 10)

struct chunk {
    size_t input;
    uint64_t start, end; /* byte range of a plain file */
    bool stream;
    struct web w;
    struct web_input st; /* bytes, lines, requests, bad and oversize lines of this range */
    int rc;
    struct err err;
    char *format; /* the layout a stream detected */
    bool done;    /* read: the merging thread may take it (under job.lock) */
};

struct job {
    struct web *w;
    struct source **sources;        /* they never move: libarchive holds their addresses */
    struct access_format **formats; /* per input; NULL: a stream detects its own */
    struct chunk *chunks;
    size_t nchunks;
    atomic_size_t next;
    pthread_mutex_t lock;
    pthread_cond_t chunk_done;
};

static void line_bad(struct web_input *in, uint64_t line)
{
    if (!in->bad_lines++)
        in->first_bad_line = line;
}

/* The next bytes of the chunk's range or stream; 0 at its end, -1 on error. */
static ssize_t chunk_read(struct source *src, struct chunk *ch, uint64_t *pos, char *buf,
                          size_t len)
{
    if (ch->stream)
        return source_read(src, buf, len, &ch->err);
    if (len > ch->end - *pos)
        len = (size_t)(ch->end - *pos);
    if (!len)
        return 0;
    ssize_t n = source_pread(src, buf, len, *pos, &ch->err);
    if (n > 0)
        *pos += (uint64_t)n;
    return n;
}

/*
 * Reads one range line by line. A line longer than WEB_MAX_LINE is counted
 * and skipped up to its newline without being held.
 */
static int read_chunk(struct job *jb, struct chunk *ch)
{
    struct source *src = jb->sources[ch->input];
    const char *path = jb->w->inputs[ch->input].path;
    struct access_format *detected = NULL;
    const struct access_format *f = jb->formats[ch->input];
    struct access_scan scan;
    access_scan_init(&scan);
    char *buf = xmalloc(READ_BUF);
    size_t have = 0;
    bool skipping = false, eof = false;
    uint64_t line = 1, pos = ch->start;
    int rc = 0;
    while (!eof) {
        ssize_t n = chunk_read(src, ch, &pos, buf + have, READ_BUF - have);
        if (n < 0) {
            rc = -1;
            break;
        }
        eof = n == 0;
        have += (size_t)n;
        ch->st.bytes += (uint64_t)n;
        if (!f && (have == READ_BUF || eof)) {
            f = detected = access_format_detect(buf, have);
            if (!f) {
                err_set(&ch->err, ERR_PARSE,
                        "'%s': not an access log this reads (give --access-format)", path);
                rc = -1;
                break;
            }
        }
        if (!f)
            continue;
        /*
         * Each request is added after the next line is parsed: its client's
         * slot, prefetched when it was parsed, has arrived by then. Not for
         * JSON lines, whose record points into the parsed document that the
         * next line replaces.
         */
        bool ahead = !access_format_is_json(f);
        struct access_record rec[2];
        uint64_t hash[2];
        int cur = 0;
        bool pending = false;
        size_t at = 0;
        for (;;) {
            char *nl = memchr(buf + at, '\n', have - at);
            if (!nl && !(eof && at < have))
                break;
            size_t end = nl ? (size_t)(nl - buf) : have;
            struct str text = str_make(buf + at, end - at);
            at = nl ? end + 1 : have;
            if (skipping) {
                skipping = false;
                line++;
                continue;
            }
            if (text.len && access_parse(f, &scan, text, &rec[cur])) {
                ch->st.requests++;
                hash[cur] = web_client_hash(&ch->w, &rec[cur]);
                if (pending)
                    web_add_hashed(&ch->w, &rec[!cur], hash[!cur]);
                pending = ahead;
                if (ahead)
                    cur = !cur;
                else
                    web_add_hashed(&ch->w, &rec[cur], hash[cur]);
            } else if (text.len) {
                line_bad(&ch->st, line);
            }
            line++;
        }
        if (pending) /* before its line's bytes move */
            web_add_hashed(&ch->w, &rec[!cur], hash[!cur]);
        memmove(buf, buf + at, have - at);
        have -= at;
        if (have == READ_BUF) {
            /* One line fills the buffer: count it once, drop it as it streams by. */
            if (!skipping) {
                ch->st.oversize++;
                line_bad(&ch->st, line);
            }
            skipping = true;
            have = 0;
        }
    }
    ch->st.lines = line - 1 + (skipping ? 1 : 0);
    if (detected)
        ch->format = xstrdup(access_format_spec(detected));
    access_scan_release(&scan);
    access_format_free(detected);
    free(buf);
    return rc;
}

static void *worker(void *arg)
{
    struct job *jb = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&jb->next, 1);
        if (i >= jb->nchunks)
            break;
        jb->chunks[i].rc = read_chunk(jb, &jb->chunks[i]);
        if (jb->chunks[i].stream)
            source_done(jb->sources[jb->chunks[i].input]);
        pthread_mutex_lock(&jb->lock);
        jb->chunks[i].done = true;
        pthread_cond_broadcast(&jb->chunk_done);
        pthread_mutex_unlock(&jb->lock);
    }
    return NULL;
}

/* The layout of a plain file, from its first bytes; NULL (err set) when none fits. */
static struct access_format *detect_file(struct source *src, const char *path, struct err *err)
{
    char *buf = xmalloc(DETECT_SIZE);
    ssize_t n = source_pread(src, buf, DETECT_SIZE, 0, err);
    struct access_format *f = n > 0 ? access_format_detect(buf, (size_t)n) : NULL;
    free(buf);
    if (!f && n >= 0)
        err_set(err, ERR_PARSE, "'%s': not an access log this reads (give --access-format)", path);
    return f;
}

/* Splits input i into ranges that start after a newline (one range for streams). */
static void plan(struct job *jb, size_t i, int jobs, size_t *cap)
{
    struct source *src = jb->sources[i];
    size_t parts = 1;
    if (src->seekable && jobs > 1 && src->size >= 2 * (uint64_t)MIN_CHUNK) {
        parts = (size_t)(src->size / MIN_CHUNK);
        if (parts > (size_t)jobs * 8)
            parts = (size_t)jobs * 8;
    }
    uint64_t start = 0;
    char buf[4096];
    for (size_t k = 1; k <= parts; k++) {
        uint64_t end = src->seekable ? src->size : 0;
        if (k < parts) {
            uint64_t at = src->size / parts * k;
            struct err err;
            ssize_t got = source_pread(src, buf, sizeof(buf), at, &err);
            const char *nl = got > 0 ? memchr(buf, '\n', (size_t)got) : NULL;
            if (!nl)
                continue; /* no line ends near here: widen the range */
            end = at + (uint64_t)(nl - buf) + 1;
            if (end <= start)
                continue;
        }
        jb->chunks = xgrow(jb->chunks, cap, jb->nchunks + 1, sizeof(*jb->chunks));
        struct chunk *ch = &jb->chunks[jb->nchunks++];
        memset(ch, 0, sizeof(*ch));
        ch->input = i;
        ch->start = start;
        ch->end = end;
        ch->stream = !src->seekable;
        web_init(&ch->w, &jb->w->opts);
        start = end;
    }
}

/* Adds a finished range to its input's counts (line numbers continue from the ranges before). */
static void take_chunk(struct web *w, struct chunk *ch, uint64_t line_base, size_t *failed,
                       struct err *first)
{
    struct web_input *in = &w->inputs[ch->input];
    in->bytes += ch->st.bytes;
    in->requests += ch->st.requests;
    in->oversize += ch->st.oversize;
    if (ch->st.bad_lines && !in->bad_lines)
        in->first_bad_line = line_base + ch->st.first_bad_line;
    in->bad_lines += ch->st.bad_lines;
    in->lines += ch->st.lines;
    if (ch->format && !in->format)
        in->format = ch->format;
    else
        free(ch->format);
    if (ch->rc < 0 && !in->error) {
        in->error = xstrdup(ch->err.msg);
        if (!(*failed)++)
            *first = ch->err;
    }
    web_merge(w, &ch->w);
    web_release(&ch->w);
}

int web_read(struct web *w, char *const *paths, size_t npaths, struct err *err)
{
    struct access_format *given = NULL;
    if (w->opts.format) {
        given = access_format_compile(w->opts.format, err);
        if (!given)
            return -1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct job jb = { .w = w };
    pthread_mutex_init(&jb.lock, NULL);
    pthread_cond_init(&jb.chunk_done, NULL);
    /* An archive is one input per member from here on. */
    size_t ninputs;
    jb.sources = source_open_all(paths, npaths, &ninputs);
    w->inputs = xcalloc(ninputs ? ninputs : 1, sizeof(*w->inputs));
    w->ninputs = ninputs;
    jb.formats = xcalloc(ninputs ? ninputs : 1, sizeof(*jb.formats));
    size_t failed = 0, cap = 0;
    struct err first;
    err_clear(&first);
    for (size_t i = 0; i < ninputs; i++) {
        struct web_input *in = &w->inputs[i];
        struct source *src = jb.sources[i];
        in->path = xstrdup(src->path);
        struct err e = src->err;
        if (src->failed ||
            (src->seekable && !given && !(jb.formats[i] = detect_file(src, src->path, &e)))) {
            in->error = xstrdup(e.msg);
            if (!failed++)
                first = e;
            continue;
        }
        in->compression = src->compression;
        in->archive = src->archive;
        if (given && !jb.formats[i])
            jb.formats[i] = given;
        in->format = jb.formats[i] ? xstrdup(access_format_spec(jb.formats[i])) : NULL;
        plan(&jb, i, w->opts.jobs, &cap);
    }
    int nthreads = w->opts.jobs < 1 ? 1 : w->opts.jobs;
    if ((size_t)nthreads > jb.nchunks)
        nthreads = jb.nchunks ? (int)jb.nchunks : 1;
    pthread_t *threads = xcalloc((size_t)nthreads, sizeof(*threads));
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&threads[t], NULL, worker, &jb) != 0)
            BUG("cannot start a worker thread");
    uint64_t line_base = 0;
    for (size_t k = 0; k < jb.nchunks; k++) {
        pthread_mutex_lock(&jb.lock);
        while (!jb.chunks[k].done)
            pthread_cond_wait(&jb.chunk_done, &jb.lock);
        pthread_mutex_unlock(&jb.lock);
        if (k == 0 || jb.chunks[k].input != jb.chunks[k - 1].input)
            line_base = 0;
        uint64_t lines = jb.chunks[k].st.lines;
        take_chunk(w, &jb.chunks[k], line_base, &failed, &first);
        line_base += lines;
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(threads[t], NULL);
    free(threads);
    pthread_cond_destroy(&jb.chunk_done);
    pthread_mutex_destroy(&jb.lock);
    for (size_t i = 0; i < ninputs; i++)
        if (jb.formats[i] != given)
            access_format_free(jb.formats[i]);
    source_close_all(jb.sources, ninputs);
    access_format_free(given);
    free(jb.formats);
    free(jb.chunks);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    w->seconds_taken = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (ninputs && failed == ninputs) {
        *err = first;
        return -1;
    }
    return 0;
}
