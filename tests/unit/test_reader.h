/*
 * What the csvlog and jsonlog unit tests share (header-only, cmocka): a sink
 * that counts and renders the events a reader emits; runs of a fresh reader
 * over an input fed whole, in chunks, split at every offset, or in steps
 * straight from the input; the table-driven feed and sync cases; and the
 * real log from $SLEUTH_DATA with the checks that do not depend on its
 * format.
 *
 * The including test defines test_reader(), the reader under test (with
 * FEED_READER() of feed.h), and the table behind its real log.
 */
#ifndef SLEUTH_TESTS_UNIT_TEST_READER_H
#define SLEUTH_TESTS_UNIT_TEST_READER_H

#include "../feed.h"

#include "util/buf.h"
#include "util/compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* cmocka 1.1.5 needs these four first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The reader under test; the including file defines it. */
static const struct feed_reader *test_reader(void);

/* ---- collecting events ------------------------------------------------ */

/* What the table cases compare: line, kind, pid, message, detail, statement. */
static void render_short(struct buf *b, const struct event *ev)
{
    buf_addf(b, "L%llu %s", (unsigned long long)ev->line, event_kind_name(ev->kind));
    if (ev->kind == EV_UNPARSED) {
        struct str head = ev->message;
        if (head.len > 12)
            head.len = 12;
        feed_add_field(b, "at", head);
        buf_addch(b, '\n');
        return;
    }
    buf_addf(b, " pid=%d", ev->pid);
    feed_add_field(b, "msg", ev->message);
    feed_add_field(b, "detail", ev->detail);
    feed_add_field(b, "stmt", ev->statement);
    buf_addch(b, '\n');
}

#define MAX_WANT 8

struct sink {
    bool full;        /* feed_render_event instead of render_short */
    bool keep_text;   /* keep the rendered stream in text */
    bool keep_hashes; /* keep each event's hash (rendered without its line) and line */
    bool no_00000;    /* hash an sqlstate of "00000" as none, as jsonlog writes it */
    struct buf text;
    struct buf one; /* the event being rendered */
    uint64_t hash;  /* FNV-1a of the whole rendered stream, lines included */
    uint64_t *hashes;
    uint64_t *lines;
    size_t nhashes, cap_hashes;
    size_t events;
    size_t unparsed;
    size_t durations; /* messages that start with "duration:" */
    size_t errors;    /* severity ERROR */
    /* feed_render_event of the events that start on these lines */
    uint64_t want_line[MAX_WANT];
    struct buf wanted[MAX_WANT];
    struct event wanted_ev; /* scalars of the first wanted event; its slices are stale */
};

static void sink_init(struct sink *s, bool full)
{
    memset(s, 0, sizeof(*s));
    buf_init(&s->text, 0);
    buf_init(&s->one, 0);
    for (int i = 0; i < MAX_WANT; i++)
        buf_init(&s->wanted[i], 0);
    s->full = full;
    s->keep_text = true;
    s->hash = 14695981039346656037ULL;
}

static void sink_release(struct sink *s)
{
    buf_release(&s->text);
    buf_release(&s->one);
    for (int i = 0; i < MAX_WANT; i++)
        buf_release(&s->wanted[i]);
    free(s->hashes);
    free(s->lines);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ULL;
    return h;
}

static void keep_hash(struct sink *s, const struct event *ev)
{
    struct event e = *ev;
    e.line = 0;
    if (s->no_00000 && str_eq_cstr(e.sqlstate, "00000"))
        e.sqlstate = STR_NULL;
    buf_reset(&s->one);
    feed_render_event(&s->one, &e);
    if (s->nhashes == s->cap_hashes) {
        s->cap_hashes = s->cap_hashes ? 2 * s->cap_hashes : 1024;
        s->hashes = realloc(s->hashes, s->cap_hashes * sizeof(*s->hashes));
        s->lines = realloc(s->lines, s->cap_hashes * sizeof(*s->lines));
        assert_true(s->hashes && s->lines);
    }
    s->hashes[s->nhashes] = fnv(14695981039346656037ULL, s->one.ptr, s->one.len);
    s->lines[s->nhashes++] = ev->line;
}

static void on_event(void *ctx, const struct event *ev)
{
    struct sink *s = ctx;
    s->events++;
    s->unparsed += ev->kind == EV_UNPARSED;
    s->durations += str_starts(ev->message, "duration:");
    s->errors += ev->severity == SEV_ERROR;
    for (int i = 0; i < MAX_WANT && s->want_line[i]; i++) {
        if (ev->line == s->want_line[i]) {
            feed_render_event(&s->wanted[i], ev);
            if (i == 0)
                s->wanted_ev = *ev;
        }
    }
    if (s->keep_hashes)
        keep_hash(s, ev);
    buf_reset(&s->one);
    if (s->full)
        feed_render_event(&s->one, ev);
    else
        render_short(&s->one, ev);
    s->hash = fnv(s->hash, s->one.ptr, s->one.len);
    if (s->keep_text)
        buf_addslice(&s->text, str_make(s->one.ptr, s->one.len));
}

/* ---- running a reader ------------------------------------------------- */

/*
 * Runs a new reader (input 3) over in[0..len) with feed_split(): a first
 * window of first bytes, then windows of chunk new bytes, each in a heap
 * block of exactly its size. Returns the reader's line afterwards.
 */
static uint64_t read_split(const char *in, size_t len, size_t first, size_t chunk, struct sink *s)
{
    const struct feed_reader *rd = test_reader();
    void *r = rd->new_reader(3);
    feed_split(rd->feed, r, in, len, first, chunk, on_event, s);
    uint64_t line = *rd->line(r);
    rd->free_reader(r);
    return line;
}

static uint64_t read_chunked(const char *in, size_t len, size_t chunk, struct sink *s)
{
    return read_split(in, len, chunk, chunk, s);
}

static uint64_t read_whole(const char *in, size_t len, struct sink *s)
{
    return read_chunked(in, len, len ? len : 1, s);
}

/*
 * Runs a new reader over in[0..len) in steps of step new bytes straight
 * from in (no copies), the way a reader of a mapped file would.
 */
static uint64_t read_steps(const char *in, size_t len, size_t step, struct sink *s)
{
    const struct feed_reader *rd = test_reader();
    void *r = rd->new_reader(3);
    size_t start = 0, avail = 0;
    while (avail < len) {
        avail = len - avail < step ? len : avail + step;
        start += rd->feed(r, in + start, avail - start, false, on_event, s);
    }
    start += rd->feed(r, in + start, len - start, true, on_event, s);
    assert_int_equal(start, len);
    uint64_t line = *rd->line(r);
    rd->free_reader(r);
    return line;
}

/* ---- table cases -------------------------------------------------------- */

struct feed_case {
    const char *name;
    const char *input;
    size_t len; /* 0: strlen(input) */
    const char *expect;
    uint64_t end_line; /* the reader's line after eof */
};

#define WITH_NUL(s) s, sizeof(s) - 1

static void check_feed_case(const struct feed_case *c)
{
    size_t len = c->len ? c->len : strlen(c->input);
    struct sink whole;
    sink_init(&whole, false);
    uint64_t end = read_whole(c->input, len, &whole);
    if (strcmp(whole.text.ptr, c->expect) != 0)
        fail_msg("%s: got\n%s\nwant\n%s", c->name, whole.text.ptr, c->expect);
    assert_int_equal(end, c->end_line);

    /* Small chunk sizes, and every split into a first part and the rest. */
    for (size_t k = 1; k <= len; k++) {
        struct sink a, b;
        sink_init(&a, false);
        sink_init(&b, false);
        assert_int_equal(read_split(c->input, len, k, len, &a), end);
        if (strcmp(a.text.ptr, c->expect) != 0)
            fail_msg("%s, split at %zu: got\n%s", c->name, k, a.text.ptr);
        if (k <= 17) {
            assert_int_equal(read_chunked(c->input, len, k, &b), end);
            if (strcmp(b.text.ptr, c->expect) != 0)
                fail_msg("%s, chunks of %zu: got\n%s", c->name, k, b.text.ptr);
        }
        sink_release(&a);
        sink_release(&b);
    }
    sink_release(&whole);
}

static void check_feed_cases(const struct feed_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_feed_case(&cases[i]);
}

struct sync_case {
    const char *name;
    const char *head; /* the bytes before the expected record start */
    const char *tail; /* the record start and after; "" when there is none */
};

static void check_sync_cases(const struct sync_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct sync_case *c = &cases[i];
        struct buf in = BUF_INIT;
        buf_addstr(&in, c->head);
        buf_addstr(&in, c->tail);
        size_t got = test_reader()->sync(in.ptr, in.len);
        if (got != strlen(c->head))
            fail_msg("%s: got %zu, want %zu", c->name, got, strlen(c->head));
        buf_release(&in);
    }
}

/* ---- one record, the feed protocol --------------------------------------- */

/*
 * in holds one record: the deadlock of the real log, shortened, in the
 * format under test. Every field of the event is checked.
 */
static void check_record_fills_every_field(const char *in)
{
    struct sink s;
    sink_init(&s, true);
    read_whole(in, strlen(in), &s);
    assert_string_equal(s.text.ptr,
                        "L1 error ERROR pid=2450 ts=1795314767816000 tz=0 dur=-1 val=0 ph=0 fl=1 "
                        "in=3 user=\"bench\" db=\"benchdb\" app=\"dl_b\" client=\"[local]\" "
                        "state=\"40P01\" msg=\"deadlock detected\" stmt=\"UPDATE dl SET v = v + 1 "
                        "WHERE id = 1;\" detail=\"Process 2450 waits\\nProcess 2451 waits\" "
                        "hint=\"See server log for query details.\" ctx=\"while updating tuple "
                        "(0,4) in relation \\\"dl\\\"\"\n");
    sink_release(&s);
}

struct severity_case {
    const char *word;
    enum severity sev;
};

/*
 * The record head, c->word, tail is read (a word PostgreSQL does not write
 * untranslated is no reason to give up the record) with c->sev.
 */
static void check_severity_in_record(const char *head, const struct severity_case *c,
                                     const char *tail)
{
    struct buf in = BUF_INIT;
    buf_addstr(&in, head);
    buf_addstr(&in, c->word);
    buf_addstr(&in, tail);
    struct sink s;
    sink_init(&s, true);
    s.want_line[0] = 1;
    read_whole(in.ptr, in.len, &s);
    assert_int_equal(s.unparsed, 0);
    assert_int_equal(s.wanted_ev.severity, c->sev);
    buf_release(&in);
    sink_release(&s);
}

/*
 * rec1 (pid 1, message "a"), a line "junk" and rec3 (pid 3, message "c"),
 * fed to a reader whose caller set its line to 1000.
 */
static void check_caller_sets_line_numbers(const char *rec1, const char *rec3)
{
    struct buf in = BUF_INIT;
    buf_addstr(&in, rec1);
    buf_addstr(&in, "junk\n");
    buf_addstr(&in, rec3);
    const struct feed_reader *rd = test_reader();
    void *r = rd->new_reader(0);
    *rd->line(r) = 1000;
    struct sink s;
    sink_init(&s, false);
    assert_int_equal(rd->feed(r, in.ptr, in.len, true, on_event, &s), in.len);
    assert_string_equal(s.text.ptr, "L1000 other pid=1 msg=\"a\"\n"
                                    "L1001 unparsed at=\"junk\"\n"
                                    "L1002 other pid=3 msg=\"c\"\n");
    assert_int_equal(*rd->line(r), 1003);
    rd->free_reader(r);
    buf_release(&in);
    sink_release(&s);
}

/* ---- pathological inputs ---------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void add_run(struct buf *b, char c, size_t n)
{
    char *run = malloc(n);
    assert_non_null(run);
    memset(run, c, n);
    buf_add(b, run, n);
    free(run);
}

/*
 * A record whose message is head, 10 MB of 'a', then tail: tail closes the
 * message with an escaped quote and "end" and is followed by a second
 * record. Both are read; the message is whole.
 */
static void check_field_of_10mb(const char *head, const char *tail)
{
    struct buf in = BUF_INIT;
    buf_addstr(&in, head);
    add_run(&in, 'a', 10u << 20);
    buf_addstr(&in, tail);
    struct sink s;
    sink_init(&s, false);
    s.want_line[0] = 1;
    read_steps(in.ptr, in.len, 65536, &s);
    assert_int_equal(s.events, 2);
    assert_int_equal(s.unparsed, 0);
    /* The want copy renders the message: 10 MB of a, the quote, "end". */
    assert_non_null(strstr(s.wanted[0].ptr, "aaaa\\\"end\""));
    assert_true(s.wanted[0].len > 10u << 20);
    buf_release(&in);
    sink_release(&s);
}

/*
 * A 10 MB line of garbage between the records rec1 (pid 1, message "a", on
 * line 1) and rec3 (pid 3, message "c"): one unparsed event on line 2.
 */
static void check_garbage_line_of_10mb(const char *rec1, const char *rec3)
{
    struct buf in = BUF_INIT;
    buf_addstr(&in, rec1);
    add_run(&in, 'z', 10u << 20);
    buf_addch(&in, '\n');
    buf_addstr(&in, rec3);
    struct sink s;
    sink_init(&s, false);
    read_steps(in.ptr, in.len, 4096, &s);
    assert_string_equal(s.text.ptr, "L1 other pid=1 msg=\"a\"\n"
                                    "L2 unparsed at=\"zzzzzzzzzzzz\"\n"
                                    "L3 other pid=3 msg=\"c\"\n");
    buf_release(&in);
    sink_release(&s);
}

/* ---- the real log ------------------------------------------------------------- */

struct real_record {
    const char *what;
    uint64_t line;
    const char *want; /* feed_render_event of the event */
};

/* A real log and what is known about it from other tools than this reader. */
struct real_spec {
    const char *file; /* gzip-compressed, in $SLEUTH_DATA */
    size_t bytes;     /* decompressed */
    size_t events;    /* records */
    size_t durations; /* records whose message starts with "duration:" */
    size_t errors;    /* records of severity ERROR */
    uint64_t lines;   /* wc -l */
    const struct real_record *records;
    size_t nrecords;  /* at most MAX_WANT */
    size_t chunks[2]; /* chunk sizes fed to compare with the whole feed; 0 ends the list */
    bool no_00000;    /* keep the hashes as sink.no_00000 says */
};

static struct real_log {
    const struct real_spec *spec;
    struct buf text;   /* the decompressed file */
    struct sink whole; /* the whole file fed at once, rendered in full, with hashes */
    uint64_t end_line; /* the reader's line after eof */
} real = { .text = BUF_INIT };

/* Appends the decompressed $SLEUTH_DATA/name to out; -1 if that fails or gives nothing. */
static int load_gz(const char *name, struct buf *out)
{
    const char *dir = getenv("SLEUTH_DATA");
    if (!dir || !*dir)
        dir = "tests/data";
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "gzip -dc '%s/%s'", dir, name);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, n);
    return pclose(f) == 0 && out->len > 0 ? 0 : -1;
}

/* Loads spec's file into real and reads it whole; -1 if it cannot be loaded. */
static int real_log_load(const struct real_spec *spec)
{
    real.spec = spec;
    if (spec->nrecords > MAX_WANT || load_gz(spec->file, &real.text) != 0)
        return -1;
    sink_init(&real.whole, true);
    real.whole.keep_text = false;
    real.whole.keep_hashes = true;
    real.whole.no_00000 = spec->no_00000;
    for (size_t i = 0; i < spec->nrecords; i++)
        real.whole.want_line[i] = spec->records[i].line;
    real.end_line = read_whole(real.text.ptr, real.text.len, &real.whole);
    return 0;
}

static void real_log_release(void)
{
    buf_release(&real.text);
    sink_release(&real.whole);
}

static void check_real_counts(void)
{
    const struct real_spec *spec = real.spec;
    assert_int_equal(real.text.len, spec->bytes);
    assert_int_equal(real.whole.events, spec->events);
    assert_int_equal(real.whole.unparsed, 0);
    assert_int_equal(real.whole.durations, spec->durations);
    assert_int_equal(real.whole.errors, spec->errors);
    assert_int_equal(real.end_line, spec->lines + 1);
}

static void real_log_records_have_exact_fields(void **state)
{
    (void)state;
    const struct real_spec *spec = real.spec;
    for (size_t i = 0; i < spec->nrecords; i++) {
        if (strcmp(real.whole.wanted[i].ptr, spec->records[i].want) != 0)
            fail_msg("%s: got\n%s\nwant\n%s", spec->records[i].what, real.whole.wanted[i].ptr,
                     spec->records[i].want);
    }
}

static void real_log_chunked_feeds_match_whole(void **state)
{
    (void)state;
    const size_t *chunks = real.spec->chunks;
    for (size_t i = 0; i < ARRAY_SIZE(real.spec->chunks) && chunks[i]; i++) {
        struct sink s;
        sink_init(&s, true);
        s.keep_text = false;
        assert_int_equal(read_steps(real.text.ptr, real.text.len, chunks[i], &s), real.end_line);
        assert_int_equal(s.events, real.whole.events);
        assert_int_equal(s.hash, real.whole.hash);
        sink_release(&s);
    }
}

/*
 * A worker that starts at the reader's sync(cut) sees the same records,
 * with the same line numbers, as a reader of the whole file. Checked on the
 * first megabyte after each cut.
 */
static void real_log_sync_splits_at_record_starts(void **state)
{
    (void)state;
    const struct feed_reader *rd = test_reader();
    const struct buf *text = &real.text;
    const struct sink *whole = &real.whole;
    for (int k = 1; k < 8; k++) {
        size_t cut = text->len / 8 * (size_t)k + (size_t)k * 7919;
        size_t at = cut + rd->sync(text->ptr + cut, text->len - cut);
        assert_true(at < text->len);
        assert_true(text->ptr[at - 1] == '\n');
        uint64_t line = 1;
        for (size_t i = 0; i < at; i++)
            line += text->ptr[i] == '\n';
        size_t first = 0;
        while (first < whole->nhashes && whole->lines[first] < line)
            first++;
        assert_true(first < whole->nhashes);
        assert_int_equal(whole->lines[first], line);

        void *r = rd->new_reader(3);
        *rd->line(r) = line;
        struct sink part;
        sink_init(&part, true);
        part.keep_text = false;
        part.keep_hashes = true;
        rd->feed(r, text->ptr + at, 1u << 20, false, on_event, &part);
        rd->free_reader(r);
        assert_true(part.events > 1000);
        assert_int_equal(part.unparsed, 0);
        assert_memory_equal(part.hashes, whole->hashes + first, part.events * sizeof(uint64_t));
        assert_memory_equal(part.lines, whole->lines + first, part.events * sizeof(uint64_t));
        sink_release(&part);
    }
}

#endif
