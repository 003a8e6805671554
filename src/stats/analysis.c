/*
 * The scan driver; see analysis.h.
 *
 * Work is a list of chunks: a byte range of a plain file, or a whole stream
 * (stdin, compressed files). Workers take chunks in order; the main thread
 * merges finished chunks strictly in order (so pairing across a range
 * boundary sees the ranges as one pass would) and draws the progress bar.
 */
#include "analysis.h"

#include "input/pgprefix.h"
#include "input/pgsyslog.h"
#include "input/source.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

/* Ranges smaller than this are not worth a thread. */
#define MIN_CHUNK   (8u << 20)
#define READ_BUF    (1u << 20)
#define DETECT_SIZE (256u << 10)

struct chunk {
    size_t input;
    uint64_t start, end; /* byte range of a seekable input */
    bool stream;
    struct collector col;
    uint64_t lines;
    uint64_t bytes;
    int failed;
    struct err err;
    uint64_t oversize;            /* records longer than max_record_bytes, skipped */
    uint64_t first_oversize_line; /* the first one's line, counted from the chunk's start */
    bool shrunk;                  /* the file ended before the range did */
    enum log_format format;       /* what the parser found (streams decide late) */
    unsigned formats;             /* every format it read (logparser_formats_seen) */
    char *prefix;                 /* the prefix it used, for streams */
    char **prefixes;              /* every prefix it read with (logparser_prefixes) */
    size_t nprefixes;
    atomic_bool done;
};

struct shared {
    struct analysis *a;
    struct source **sources; /* they never move: libarchive holds their addresses */
    struct pgprefix **prefixes;
    struct chunk *chunks;
    size_t nchunks;
    atomic_size_t next;
    atomic_uint_fast64_t bytes_done;
    pthread_mutex_t mu;
    pthread_cond_t cond;
};

/* Reads the next bytes of a chunk into buf; returns their count (0 at its end) or -1. */
static ssize_t read_more(struct source *src, struct chunk *ch, char *buf, size_t len, uint64_t *pos)
{
    if (ch->stream)
        return source_read(src, buf, len, &ch->err);
    if (len > ch->end - *pos)
        len = (size_t)(ch->end - *pos);
    ssize_t n = len ? source_pread(src, buf, len, *pos, &ch->err) : 0;
    if (n >= 0 && (size_t)n < len) {
        ch->end = *pos + (uint64_t)n; /* the file shrank under us */
        ch->shrunk = true;
    }
    if (n > 0)
        *pos += (uint64_t)n;
    return n;
}

/*
 * Turns NUL bytes into 0xFF. PostgreSQL writes C strings, so a NUL is damage
 * (a crash, a disk error); left alone it would end every text copied from
 * its record early. 0xFF is never UTF-8: each renderer shows it as U+FFFD,
 * and the readers keep the record, in every format.
 */
static void hide_nuls(char *p, size_t n)
{
    char *end = p + n;
    while ((p = memchr(p, '\0', (size_t)(end - p))) != NULL)
        *p++ = (char)0xFF;
}

/* Counts an oversize record of a chunk starting at line. */
static void count_oversize(struct chunk *ch, uint64_t line)
{
    if (ch->oversize++ == 0)
        ch->first_oversize_line = line;
}

/*
 * Makes room when the pending record fills buf[0..have) whole, so that
 * memory stays bounded whatever the input. The complete lines in it are
 * parsed as if the input ended there: a record of many lines is cut (and
 * counted as oversize when it took most of the buffer), and a record the
 * next line would have continued ends. A last line that is too long on its
 * own starts a skip (*skipping, *skip_line): it is dropped as it arrives,
 * up to its newline. Returns the bytes left in buf.
 */
static size_t cut_oversize(struct chunk *ch, struct logparser *p, char *buf, size_t have,
                           bool *skipping, uint64_t *skip_line)
{
    size_t lines_end = have;
    while (lines_end > 0 && buf[lines_end - 1] != '\n')
        lines_end--;
    if (lines_end >= have / 2) {
        count_oversize(ch, logparser_line(p));
        logparser_feed(p, buf, lines_end, true, collector_add_event, &ch->col);
        memmove(buf, buf + lines_end, have - lines_end);
        return have - lines_end;
    }
    if (lines_end > 0)
        logparser_feed(p, buf, lines_end, true, collector_add_event, &ch->col);
    *skipping = true;
    *skip_line = logparser_line(p);
    count_oversize(ch, *skip_line);
    return 0;
}

/* The bytes format and prefix are decided on: DETECT_SIZE, or what a record may hold if less. */
static size_t detect_size(const struct analysis *a)
{
    return DETECT_SIZE < a->opts.max_record_bytes ? DETECT_SIZE : (size_t)a->opts.max_record_bytes;
}

static int scan_chunk(struct shared *sh, struct chunk *ch)
{
    struct analysis *a = sh->a;
    struct source *src = sh->sources[ch->input];
    struct input_info *info = &a->inputs[ch->input];
    struct logparser *p = logparser_new(info->format, sh->prefixes[ch->input], (uint32_t)ch->input);
    if (a->opts.prefix)
        logparser_keep_prefix(p);
    if (a->opts.format != LOGFMT_AUTO)
        logparser_keep_format(p);
    uint64_t max = a->opts.max_record_bytes;
    /*
     * Format and prefix are decided on as many bytes as detect() reads of a
     * file, at a stream's head and wherever the format changes, so that a
     * log piped or compressed is read as the file is.
     */
    logparser_set_detect_bytes(p, detect_size(a));
    size_t cap = READ_BUF < max ? READ_BUF : (size_t)max, have = 0;
    char *buf = xmalloc(cap);
    uint64_t pos = ch->start;
    /* Skipping an oversize record: the line it started on and the newlines already dropped. */
    bool skipping = false;
    uint64_t skip_line = 0;
    int rc = 0;
    for (;;) {
        if (have == cap && cap < max) {
            cap = cap > max / 2 ? (size_t)max : cap * 2;
            buf = xrealloc(buf, cap);
        } else if (have == cap) {
            have = cut_oversize(ch, p, buf, have, &skipping, &skip_line);
        }
        ssize_t n = read_more(src, ch, buf + have, cap - have, &pos);
        bool eof = n == 0 || (!ch->stream && pos >= ch->end);
        if (n < 0) {
            rc = -1;
            eof = true;
            n = 0;
        }
        hide_nuls(buf + have, (size_t)n);
        have += (size_t)n;
        ch->bytes += (uint64_t)n;
        atomic_fetch_add(&sh->bytes_done, (uint64_t)n);
        if (skipping) {
            const char *nl = memchr(buf, '\n', have);
            size_t cut = nl ? (size_t)(nl - buf) + 1 : have;
            memmove(buf, buf + cut, have - cut);
            have -= cut;
            if (!nl && !eof)
                continue;
            skipping = false;
            logparser_set_line(p, skip_line + 1);
        }
        size_t used = logparser_feed(p, buf, have, eof, collector_add_event, &ch->col);
        memmove(buf, buf + used, have - used);
        have -= used;
        if (eof)
            break;
    }
    ch->lines = logparser_line(p) - 1;
    ch->format = logparser_format(p);
    ch->formats = logparser_formats_seen(p);
    if (logparser_prefix(p))
        ch->prefix = xstrdup(pgprefix_spec(logparser_prefix(p)));
    char *const *specs;
    ch->nprefixes = logparser_prefixes(p, &specs);
    ch->prefixes = xcalloc(ch->nprefixes ? ch->nprefixes : 1, sizeof(*ch->prefixes));
    for (size_t i = 0; i < ch->nprefixes; i++)
        ch->prefixes[i] = xstrdup(specs[i]);
    free(buf);
    logparser_free(p);
    return rc;
}

/* Adds a range's prefixes to its input's, each once, in the order of the ranges. */
static void take_prefixes(struct input_info *info, struct chunk *ch)
{
    for (size_t i = 0; i < ch->nprefixes; i++) {
        size_t k = 0;
        while (k < info->nprefixes && strcmp(info->prefixes[k], ch->prefixes[i]) != 0)
            k++;
        if (k < info->nprefixes) {
            free(ch->prefixes[i]);
            continue;
        }
        info->prefixes = xrealloc(info->prefixes, (info->nprefixes + 1) * sizeof(*info->prefixes));
        info->prefixes[info->nprefixes++] = ch->prefixes[i];
    }
    free(ch->prefixes);
    ch->prefixes = NULL;
    ch->nprefixes = 0;
}

static void *worker(void *arg)
{
    struct shared *sh = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->nchunks)
            break;
        struct chunk *ch = &sh->chunks[i];
        ch->failed = scan_chunk(sh, ch);
        if (ch->stream)
            source_done(sh->sources[ch->input]);
        pthread_mutex_lock(&sh->mu);
        atomic_store(&ch->done, true);
        pthread_cond_broadcast(&sh->cond);
        pthread_mutex_unlock(&sh->mu);
    }
    return NULL;
}

/* Decides format and prefix of a seekable input from its first bytes. */
static void detect(struct analysis *a, struct source *src, struct input_info *info,
                   struct pgprefix **prefix, const struct pgprefix *given)
{
    if (!src->seekable) {
        /* Streams decide on their first feed (logparser does it). */
        if (given)
            *prefix = pgprefix_dup(given);
        return;
    }
    size_t size = detect_size(a);
    char *buf = xmalloc(size);
    struct err err;
    ssize_t n = source_pread(src, buf, size, 0, &err);
    if (n < 0)
        n = 0;
    if (info->format == LOGFMT_AUTO)
        info->format = logparser_detect(buf, (size_t)n);
    if (info->format == LOGFMT_STDERR) {
        *prefix = given ? pgprefix_dup(given) : pgprefix_detect(buf, (size_t)n);
        if (!*prefix)
            *prefix = pgprefix_loose();
    } else if (info->format == LOGFMT_SYSLOG) {
        /* Decided once for the file, so that every byte range uses the same. */
        *prefix = given ? pgprefix_dup(given) : pgsyslog_detect_prefix(buf, (size_t)n);
        if (!*prefix)
            *prefix = pgprefix_loose();
    }
    free(buf);
}

/* Splits a seekable input into ranges that start on record boundaries. */
static void plan_chunks(struct shared *sh, size_t input, int jobs, struct chunk **chunks, size_t *n,
                        size_t *cap)
{
    struct source *src = sh->sources[input];
    struct input_info *info = &sh->a->inputs[input];
    uint64_t size = src->size;
    size_t parts = 1;
    if (src->seekable && jobs > 1 && size >= 2 * (uint64_t)MIN_CHUNK) {
        /*
         * Many more ranges than threads, so that no thread idles at the end
         * while another finishes a big last range.
         */
        parts = (size_t)(size / MIN_CHUNK);
        if (parts > (size_t)jobs * 16)
            parts = (size_t)jobs * 16;
    }
    uint64_t start = 0;
    char *buf = parts > 1 ? xmalloc(1u << 20) : NULL;
    for (size_t k = 1; k <= parts; k++) {
        uint64_t end = size;
        if (k < parts) {
            uint64_t at = size / parts * k;
            struct err err;
            ssize_t got = source_pread(src, buf, 1u << 20, at, &err);
            if (got <= 0)
                continue;
            size_t off = logparser_sync(info->format, sh->prefixes[input], buf, (size_t)got);
            if (off >= (size_t)got)
                continue; /* no record starts near here: widen the range */
            end = at + off;
            if (end <= start)
                continue;
        }
        *chunks = xgrow(*chunks, cap, *n + 1, sizeof(**chunks));
        struct chunk *ch = &(*chunks)[(*n)++];
        memset(ch, 0, sizeof(*ch));
        ch->input = input;
        ch->start = start;
        ch->end = end;
        ch->stream = !src->seekable;
        start = end;
    }
    free(buf);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw_progress(struct shared *sh, uint64_t total, double t0)
{
    uint64_t done = atomic_load(&sh->bytes_done);
    double el = now_s() - t0;
    double mbs = el > 0 ? (double)done / 1e6 / el : 0;
    if (total)
        fprintf(stderr, "\rsleuth: %3d%% %8.1f MB of %.1f MB, %6.0f MB/s ",
                (int)(done * 100 / (total ? total : 1)), (double)done / 1e6, (double)total / 1e6,
                mbs);
    else
        fprintf(stderr, "\rsleuth: %8.1f MB, %6.0f MB/s ", (double)done / 1e6, mbs);
    fflush(stderr);
}

void analysis_opts_init(struct analysis_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->filter.since_us = TS_NONE;
    opts->filter.until_us = TS_NONE;
    opts->filter.min_duration_us = -1;
    opts->filter.interval_us = 60 * 1000000LL;
    opts->filter.query_memory = ANALYSIS_QUERY_MEMORY;
    opts->format = LOGFMT_AUTO;
    opts->jobs = 1;
    opts->max_record_bytes = ANALYSIS_MAX_RECORD_DEFAULT;
}

int analysis_run(struct analysis *a, char *const *paths, size_t npaths,
                 const struct analysis_opts *opts, struct err *err)
{
    memset(a, 0, sizeof(*a));
    a->opts = *opts;
    collector_init(&a->c, &a->opts.filter);
    if (opts->max_record_bytes < ANALYSIS_MAX_RECORD_MIN)
        return err_set(err, ERR_USAGE, "--max-record takes a size of at least 64K, not %llu bytes",
                       (unsigned long long)opts->max_record_bytes);
    struct pgprefix *given = NULL;
    if (opts->prefix) {
        given = pgprefix_compile(opts->prefix, err);
        if (!given)
            return -1;
    }
    double t0 = now_s();
    struct shared sh = { .a = a };
    /* An archive is one input per member from here on. */
    size_t ninputs;
    sh.sources = source_open_all(paths, npaths, &ninputs);
    a->inputs = xcalloc(ninputs ? ninputs : 1, sizeof(*a->inputs));
    a->ninputs = ninputs;
    sh.prefixes = xcalloc(ninputs ? ninputs : 1, sizeof(*sh.prefixes));
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cond, NULL);
    size_t cap = 0;
    uint64_t total = 0;
    struct err first_err;
    err_clear(&first_err);
    for (size_t i = 0; i < ninputs; i++) {
        struct input_info *info = &a->inputs[i];
        info->path = xstrdup(sh.sources[i]->path);
        info->format = opts->format;
        if (sh.sources[i]->failed) {
            info->error = xstrdup(sh.sources[i]->err.msg);
            a->failed_inputs++;
            if (first_err.code == ERR_NONE)
                first_err = sh.sources[i]->err;
            continue;
        }
        info->compression = sh.sources[i]->compression;
        info->archive = sh.sources[i]->archive;
        total += sh.sources[i]->seekable ? sh.sources[i]->size : 0;
        detect(a, sh.sources[i], info, &sh.prefixes[i], given);
        plan_chunks(&sh, i, opts->jobs, &sh.chunks, &sh.nchunks, &cap);
    }
    for (size_t k = 0; k < sh.nchunks; k++) {
        collector_init(&sh.chunks[k].col, &a->opts.filter);
        sh.chunks[k].col.keep_all_names = true;
    }

    int nthreads = opts->jobs < 1 ? 1 : opts->jobs;
    if ((size_t)nthreads > sh.nchunks)
        nthreads = sh.nchunks ? (int)sh.nchunks : 1;
    pthread_t *threads = xcalloc((size_t)nthreads, sizeof(*threads));
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&threads[t], NULL, worker, &sh) != 0)
            BUG("cannot start a worker thread");

    /* Merge in order as chunks finish. */
    uint64_t line_base = 0;
    size_t last_input = SIZE_MAX;
    for (size_t k = 0; k < sh.nchunks; k++) {
        struct chunk *ch = &sh.chunks[k];
        pthread_mutex_lock(&sh.mu);
        while (!atomic_load(&ch->done)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&sh.cond, &sh.mu, &until);
            if (opts->progress)
                draw_progress(&sh, total, t0);
        }
        pthread_mutex_unlock(&sh.mu);
        if (ch->input != last_input) {
            line_base = 0;
            last_input = ch->input;
        }
        struct input_info *info = &a->inputs[ch->input];
        bool member = sh.sources[ch->input]->arc != NULL;
        if (ch->failed && (info->bytes + ch->bytes > 0 || member) && !info->error &&
            !info->damage) {
            /*
             * Reading stopped part way: what came before is analysed. A member
             * that fails is the archive's damage, even before its first byte.
             */
            info->damage = xstrdup(ch->err.msg);
            info->damage_bytes = ch->start + ch->bytes;
        } else if (ch->failed && !info->error && !info->damage) {
            info->error = xstrdup(ch->err.msg);
            a->failed_inputs++;
            if (first_err.code == ERR_NONE)
                first_err = ch->err;
        }
        if (ch->oversize && !info->oversize_records)
            info->first_oversize_line = line_base + ch->first_oversize_line;
        info->oversize_records += ch->oversize;
        info->shrunk |= ch->shrunk;
        if (info->format == LOGFMT_AUTO)
            info->format = ch->format;
        info->formats |= ch->formats;
        if (ch->prefix && !info->prefix)
            info->prefix = ch->prefix;
        else
            free(ch->prefix);
        take_prefixes(info, ch);
        collector_merge(&a->c, &ch->col, line_base);
        collector_release(&ch->col);
        line_base += ch->lines;
        info->lines += ch->lines;
        info->bytes += ch->bytes;
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(threads[t], NULL);
    free(threads);
    if (opts->progress) {
        draw_progress(&sh, total, t0);
        fputc('\n', stderr);
    }
    collector_finish(&a->c);

    for (size_t i = 0; i < ninputs; i++) {
        if (sh.prefixes[i] && !a->inputs[i].prefix)
            a->inputs[i].prefix = xstrdup(pgprefix_spec(sh.prefixes[i]));
        pgprefix_free(sh.prefixes[i]);
        if (a->inputs[i].shrunk) {
            a->inputs[i].size_before = sh.sources[i]->size;
            a->inputs[i].size_after = source_size_now(sh.sources[i]);
        }
    }
    source_close_all(sh.sources, ninputs);
    free(sh.prefixes);
    free(sh.chunks);
    pgprefix_free(given);
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.cond);
    a->seconds = now_s() - t0;
    if (ninputs && a->failed_inputs == ninputs) {
        *err = first_err;
        return -1;
    }
    return 0;
}

void analysis_init_store(struct analysis *a, const struct analysis_opts *opts, const char *path,
                         const char *target)
{
    memset(a, 0, sizeof(*a));
    a->opts = *opts;
    collector_init(&a->c, &a->opts.filter);
    a->store = xcalloc(1, sizeof(*a->store));
    a->store->path = xstrdup(path);
    a->store->target = target ? xstrdup(target) : NULL;
    a->store->since_us = opts->filter.since_us;
    a->store->until_us = opts->filter.until_us;
}

void analysis_release(struct analysis *a)
{
    collector_release(&a->c);
    if (a->store) {
        free(a->store->path);
        free(a->store->target);
        free(a->store);
    }
    for (size_t i = 0; i < a->ninputs; i++) {
        free(a->inputs[i].path);
        free(a->inputs[i].prefix);
        for (size_t k = 0; k < a->inputs[i].nprefixes; k++)
            free(a->inputs[i].prefixes[k]);
        free(a->inputs[i].prefixes);
        free(a->inputs[i].error);
        free(a->inputs[i].damage);
    }
    free(a->inputs);
    memset(a, 0, sizeof(*a));
}
