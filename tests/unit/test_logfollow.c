/*
 * Tests of live/logfollow: a log file in a temp dir, appended to in steps,
 * rotated by rename and by copytruncate, created after the follower
 * opened it, and cut in the middle of a line. The log lines are real
 * PostgreSQL 15 output: copied from tests/data/pgbench-stderr.log.gz and
 * pgbench.csv.gz (prefix '%t [%p]: user=%u,db=%d,app=%a,client=%h '),
 * the refused connections from a PostgreSQL 15 run with max_connections = 3.
 */
#include "test_util.h"

#include "live/logfollow.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define P_ERR \
    "2026-11-22 02:32:46 UTC [2423]: user=bench,db=benchdb,app=psql_errors,client=[local] "
#define P_WAIT "2026-11-22 02:32:47 UTC [2440]: user=bench,db=benchdb,app=waiter,client=127.0.0.1 "
#define P_DL   "2026-11-22 02:32:47 UTC [2450]: user=bench,db=benchdb,app=dl_b,client=[local] "

/* Nothing the follower counts. */
static const char QUERIES[] =
    "2026-11-22 02:32:37 UTC [1679]: user=postgres,db=postgres,app=psql,client=[local] LOG:  "
    "duration: 0.280 ms  statement: CREATE ROLE bench LOGIN;\n"
    "2026-11-22 02:32:37 UTC [1679]: user=postgres,db=postgres,app=psql,client=[local] LOG:  "
    "disconnection: session time: 0:00:00.110 user=postgres database=postgres host=[local]\n";

/* One error with its STATEMENT line. */
static const char DIV0[] = P_ERR "ERROR:  division by zero\n" P_ERR "STATEMENT:  SELECT 1/0;\n";

/* One error, one timeout. */
static const char TIMEOUT[] = P_ERR "ERROR:  canceling statement due to statement timeout\n" P_ERR
                                    "STATEMENT:  SELECT pg_sleep(0.1);\n";

/* One lock wait (a LOG record with DETAIL, CONTEXT and STATEMENT). */
static const char LOCK_WAIT[] = P_WAIT
    "LOG:  process 2440 still waiting for ShareLock on transaction 5157 after 100.227 ms\n" P_WAIT
    "DETAIL:  Process holding the lock: 2441. Wait queue: 2440.\n" P_WAIT
    "CONTEXT:  while updating tuple (0,1) in relation \"dl\"\n" P_WAIT
    "STATEMENT:  UPDATE dl SET v = v + 10 WHERE id = 1;\n";

/* One error, one deadlock; the DETAIL goes on over tab-indented lines. */
static const char DEADLOCK[] = P_DL
    "LOG:  process 2450 detected deadlock while waiting for ShareLock on transaction 5160 after "
    "100.292 ms\n" P_DL "DETAIL:  Process holding the lock: 2451. Wait queue: .\n" P_DL
    "CONTEXT:  while updating tuple (0,4) in relation \"dl\"\n" P_DL
    "STATEMENT:  UPDATE dl SET v = v + 1 WHERE id = 1;\n" P_DL "ERROR:  deadlock detected\n" P_DL
    "DETAIL:  Process 2450 waits for ShareLock on transaction 5160; blocked by process 2451.\n"
    "\tProcess 2451 waits for ShareLock on transaction 5159; blocked by process 2450.\n"
    "\tProcess 2450: UPDATE dl SET v = v + 1 WHERE id = 1;\n"
    "\tProcess 2451: UPDATE dl SET v = v + 1 WHERE id = 2;\n" P_DL
    "HINT:  See server log for query details.\n" P_DL
    "CONTEXT:  while updating tuple (0,4) in relation \"dl\"\n" P_DL
    "STATEMENT:  UPDATE dl SET v = v + 1 WHERE id = 1;\n";

/* Two errors, both refused connections. */
static const char REFUSED[] =
    "2026-11-22 05:27:54 UTC [21023]: user=app,db=postgres,app=[unknown],client=[local] FATAL:  "
    "remaining connection slots are reserved for non-replication superuser connections\n"
    "2026-11-22 05:27:54 UTC [21038]: user=postgres,db=postgres,app=[unknown],client=[local] "
    "FATAL:  sorry, too many clients already\n";

/* A user's cancel is an error but not a timeout. */
static const char CANCEL[] = P_ERR "ERROR:  canceling statement due to user request\n" P_ERR
                                   "STATEMENT:  SELECT pg_sleep(10);\n";

/* csvlog: a division by zero and a statement timeout. */
static const char CSV_ERRORS[] =
    "2026-11-22 02:32:46.938 UTC,\"bench\",\"benchdb\",2423,\"[local]\",6b02544e.977,4,\"SELECT\","
    "2026-11-22 02:32:46 UTC,3/4259,0,ERROR,22012,\"division by zero\",,,,,,\"SELECT 1/0;\",,,"
    "\"psql_errors\",\"client backend\",,0\n"
    "2026-11-22 02:32:46.961 UTC,\"bench\",\"benchdb\",2423,\"[local]\",6b02544e.977,14,\"SELECT\","
    "2026-11-22 02:32:46 UTC,3/4266,0,ERROR,57014,\"canceling statement due to statement "
    "timeout\",,,,,,\"SELECT pg_sleep(0.1);\",,,\"psql_errors\",\"client backend\",,0\n";

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/sleuth-logfollow-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/postgresql.log", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/*
 * The follower takes the last record of a read as whole once the file has
 * been quiet for 200 ms. Tests set the file's mtime instead of sleeping:
 * two seconds ago (the server has finished writing) or ten seconds ahead
 * (the server is writing right now).
 */
enum writer { DONE, BUSY };

static void set_mtime(const char *path, enum writer w)
{
    struct timespec now;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &now), 0);
    struct timespec times[2] = { now, now };
    times[1].tv_sec += w == DONE ? -2 : 10;
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void write_as(const char *path, const char *data, size_t len, int flags, enum writer w)
{
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    set_mtime(path, w);
}

static void write_bytes(const char *path, const char *data, size_t len, int flags)
{
    write_as(path, data, len, flags, DONE);
}

static void append(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text), O_APPEND);
}

/* Replaces the file's content in place (same inode), as copytruncate leaves it. */
static void overwrite(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text), O_TRUNC);
}

struct counts {
    int64_t errors, refused, lock_waits, deadlocks, timeouts;
    bool has_log;
    int nproblems;
};

static struct counts read_counts(struct logfollow *lf)
{
    struct sample s;
    sample_init(&s);
    struct err err;
    err_clear(&err);
    assert_int_equal(logfollow_read(lf, &s, &err), 0);
    struct counts c = { s.log_errors,   s.log_refused, s.log_lock_waits, s.log_deadlocks,
                        s.log_timeouts, s.has_log,     s.nproblems };
    for (int i = 0; i < s.nproblems; i++)
        assert_string_equal(s.problems[i].check, "log");
    sample_release(&s);
    return c;
}

#define assert_counts(expr, e, r, lw, dl, to)  \
    do {                                       \
        struct counts c_ = (expr);             \
        assert_int_equal(c_.errors, (e));      \
        assert_int_equal(c_.refused, (r));     \
        assert_int_equal(c_.lock_waits, (lw)); \
        assert_int_equal(c_.deadlocks, (dl));  \
        assert_int_equal(c_.timeouts, (to));   \
    } while (0)

static struct logfollow *follow(const char *path, enum log_format fmt)
{
    struct logfollow *lf;
    struct err err;
    err_clear(&err);
    assert_int_equal(logfollow_open(&lf, path, fmt, NULL, &err), 0);
    assert_non_null(lf);
    return lf;
}

static void existing_lines_do_not_count(void **state)
{
    struct fixture *f = *state;
    append(f->path, QUERIES);
    append(f->path, DIV0);
    append(f->path, REFUSED);
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    assert_int_equal(logfollow_format(lf), LOGFMT_STDERR);
    struct counts c = read_counts(lf);
    assert_counts(c, 0, 0, 0, 0, 0);
    assert_true(c.has_log);
    assert_int_equal(c.nproblems, 0);
    logfollow_free(lf);
}

static void counts_per_read_are_exact(void **state)
{
    struct fixture *f = *state;
    append(f->path, QUERIES);
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    assert_counts(read_counts(lf), 0, 0, 0, 0, 0);

    append(f->path, DIV0);
    append(f->path, QUERIES);
    append(f->path, TIMEOUT);
    append(f->path, LOCK_WAIT);
    append(f->path, DEADLOCK);
    append(f->path, REFUSED);
    struct counts c = read_counts(lf);
    assert_counts(c, 5, 2, 1, 1, 1);
    assert_true(c.has_log);

    /* Nothing new: nothing counted again. */
    assert_counts(read_counts(lf), 0, 0, 0, 0, 0);

    append(f->path, CANCEL);
    append(f->path, TIMEOUT);
    append(f->path, TIMEOUT);
    assert_counts(read_counts(lf), 3, 0, 0, 0, 2);

    /* The last record of a read is not held back for a line that may follow. */
    append(f->path, LOCK_WAIT);
    assert_counts(read_counts(lf), 0, 0, 1, 0, 0);

    struct logfollow_stats st;
    logfollow_stats(lf, &st);
    assert_int_equal(st.unparsed, 0);
    assert_int_equal(st.rotations, 0);
    logfollow_free(lf);
}

static void busy_file_holds_its_last_record(void **state)
{
    struct fixture *f = *state;
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    /* The STATEMENT line of the error may still be on its way. */
    write_as(f->path, DIV0, strlen(DIV0), O_APPEND, BUSY);
    assert_counts(read_counts(lf), 0, 0, 0, 0, 0);
    /* The next record shows the error was whole. */
    write_as(f->path, REFUSED, strlen(REFUSED), O_APPEND, BUSY);
    assert_counts(read_counts(lf), 2, 1, 0, 0, 0);
    /* Quiet again: the last record is counted. */
    set_mtime(f->path, DONE);
    assert_counts(read_counts(lf), 1, 1, 0, 0, 0);
    struct logfollow_stats st;
    logfollow_stats(lf, &st);
    assert_int_equal(st.unparsed, 0);
    logfollow_free(lf);
}

static void counts_add_to_the_sample(void **state)
{
    struct fixture *f = *state;
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    append(f->path, DIV0);
    struct sample s;
    sample_init(&s);
    s.log_errors = 10;
    struct err err;
    err_clear(&err);
    assert_int_equal(logfollow_read(lf, &s, &err), 0);
    assert_int_equal(s.log_errors, 11);
    sample_release(&s);
    logfollow_free(lf);
}

static void partial_line_is_completed_later(void **state)
{
    struct fixture *f = *state;
    append(f->path, QUERIES);
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    size_t half = strlen(TIMEOUT) / 3;
    write_bytes(f->path, TIMEOUT, half, O_APPEND);
    assert_counts(read_counts(lf), 0, 0, 0, 0, 0);
    append(f->path, TIMEOUT + half);
    assert_counts(read_counts(lf), 1, 0, 0, 0, 1);

    /* Cut inside the STATEMENT line: the error is counted once. */
    size_t cut = strlen(DIV0) - 5;
    write_bytes(f->path, DIV0, cut, O_APPEND);
    struct counts c = read_counts(lf);
    append(f->path, DIV0 + cut);
    struct counts d = read_counts(lf);
    assert_int_equal(c.errors + d.errors, 1);
    logfollow_free(lf);
}

static void partial_line_at_open_is_skipped(void **state)
{
    struct fixture *f = *state;
    append(f->path, QUERIES);
    /* The first refused connection is half written when the follower starts. */
    size_t half = 60;
    write_bytes(f->path, REFUSED, half, O_APPEND);
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    append(f->path, REFUSED + half);
    append(f->path, DIV0);
    assert_counts(read_counts(lf), 2, 1, 0, 0, 0);
    struct logfollow_stats st;
    logfollow_stats(lf, &st);
    assert_int_equal(st.unparsed, 0);
    logfollow_free(lf);
}

static void rotation_by_rename(void **state)
{
    struct fixture *f = *state;
    char old[160];
    snprintf(old, sizeof(old), "%s.1", f->path);
    append(f->path, QUERIES);
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    append(f->path, DIV0);
    /* The server wrote its last lines to the old file after the rename. */
    assert_int_equal(rename(f->path, old), 0);
    append(old, TIMEOUT);
    append(f->path, REFUSED);
    append(f->path, DEADLOCK);
    assert_counts(read_counts(lf), 5, 2, 0, 1, 1);

    /* The old file is done with; the new one is followed. */
    append(old, DIV0);
    append(f->path, LOCK_WAIT);
    assert_counts(read_counts(lf), 0, 0, 1, 0, 0);
    struct logfollow_stats st;
    logfollow_stats(lf, &st);
    assert_int_equal(st.rotations, 1);
    assert_int_equal(st.unparsed, 0);
    logfollow_free(lf);
}

static void rotation_with_a_gap(void **state)
{
    struct fixture *f = *state;
    char old[160];
    snprintf(old, sizeof(old), "%s.1", f->path);
    append(f->path, QUERIES);
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    assert_int_equal(rename(f->path, old), 0);
    append(old, DIV0);
    /* Renamed and not yet created again: the old file is still read. */
    struct counts c = read_counts(lf);
    assert_counts(c, 1, 0, 0, 0, 0);
    assert_true(c.has_log);
    assert_int_equal(c.nproblems, 1);
    append(f->path, REFUSED);
    c = read_counts(lf);
    assert_counts(c, 2, 2, 0, 0, 0);
    assert_int_equal(c.nproblems, 0);
    logfollow_free(lf);
}

static void copytruncate_restarts_at_zero(void **state)
{
    struct fixture *f = *state;
    append(f->path, QUERIES);
    append(f->path, QUERIES);
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    append(f->path, DIV0);
    assert_counts(read_counts(lf), 1, 0, 0, 0, 0);
    /* logrotate copied the file and emptied it; the server went on writing at 0. */
    overwrite(f->path, TIMEOUT);
    assert_counts(read_counts(lf), 1, 0, 0, 0, 1);
    append(f->path, REFUSED);
    assert_counts(read_counts(lf), 2, 2, 0, 0, 0);
    struct logfollow_stats st;
    logfollow_stats(lf, &st);
    assert_int_equal(st.truncations, 1);
    assert_int_equal(st.rotations, 0);
    logfollow_free(lf);
}

static void file_created_after_open(void **state)
{
    struct fixture *f = *state;
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    struct sample s;
    sample_init(&s);
    struct err err;
    err_clear(&err);
    assert_int_equal(logfollow_read(lf, &s, &err), 0);
    assert_false(s.has_log);
    assert_int_equal(s.nproblems, 1);
    assert_string_equal(s.problems[0].check, "log");
    assert_non_null(strstr(s.problems[0].message, "No such file or directory"));
    assert_non_null(strstr(s.problems[0].message, f->path));
    sample_release(&s);

    /* A new file is read from its start. */
    append(f->path, DIV0);
    append(f->path, DEADLOCK);
    struct counts c = read_counts(lf);
    assert_counts(c, 2, 0, 0, 1, 0);
    assert_true(c.has_log);
    assert_int_equal(c.nproblems, 0);
    assert_int_equal(logfollow_format(lf), LOGFMT_STDERR);
    logfollow_free(lf);
}

static void csvlog_is_followed(void **state)
{
    struct fixture *f = *state;
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    size_t cut = 100;
    write_bytes(f->path, CSV_ERRORS, cut, O_APPEND);
    assert_counts(read_counts(lf), 0, 0, 0, 0, 0);
    append(f->path, CSV_ERRORS + cut);
    assert_counts(read_counts(lf), 2, 0, 0, 0, 1);
    assert_int_equal(logfollow_format(lf), LOGFMT_CSV);
    struct logfollow_stats st;
    logfollow_stats(lf, &st);
    assert_int_equal(st.unparsed, 0);
    assert_int_equal(st.records, 2);
    logfollow_free(lf);
}

static size_t count_of(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0) {
            n++;
            i += nl - 1;
        }
    }
    return n;
}

/*
 * The real log appended in 4093-byte steps (cut anywhere, mid-line and
 * between the lines of a record) while the server is busy, then quiet,
 * counts what a grep of its lines counts.
 */
static void real_log_in_odd_steps(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *log = test_read_gz(test_data_path("pgbench-stderr.log.gz"), &len);
    /* The first 200 KB exist before the follower starts, the file ends mid-line. */
    size_t start = 200 * 1000;
    write_bytes(f->path, log, start, O_APPEND);
    struct logfollow *lf = follow(f->path, LOGFMT_AUTO);
    const char *nl = memchr(log + start, '\n', len - start);
    const char *rest = nl + 1;
    size_t rest_len = len - (size_t)(rest - log);
    struct counts total = { 0 };
    for (size_t at = start; at < len; at += 4093) {
        size_t n = len - at < 4093 ? len - at : 4093;
        bool last = at + n == len;
        write_as(f->path, log + at, n, O_APPEND, last ? DONE : BUSY);
        struct counts c = read_counts(lf);
        total.errors += c.errors;
        total.refused += c.refused;
        total.lock_waits += c.lock_waits;
        total.deadlocks += c.deadlocks;
        total.timeouts += c.timeouts;
    }
    size_t errors = count_of(rest, rest_len, " ERROR:  ") + count_of(rest, rest_len, " FATAL:  ") +
                    count_of(rest, rest_len, " PANIC:  ");
    assert_true(errors > 10);
    assert_int_equal(total.errors, errors);
    assert_int_equal(total.deadlocks, count_of(rest, rest_len, " ERROR:  deadlock detected\n"));
    assert_int_equal(total.lock_waits, count_of(rest, rest_len, " still waiting for "));
    assert_int_equal(
        total.timeouts,
        count_of(rest, rest_len, " ERROR:  canceling statement due to statement timeout"));
    assert_true(total.deadlocks > 0 && total.lock_waits > 0 && total.timeouts > 0);
    struct logfollow_stats st;
    logfollow_stats(lf, &st);
    assert_int_equal(st.unparsed, 0);
    assert_int_equal(st.bytes, rest_len);
    logfollow_free(lf);
    free(log);
}

static void bad_arguments(void **state)
{
    struct fixture *f = *state;
    struct logfollow *lf = (struct logfollow *)1;
    struct err err;
    err_clear(&err);
    /* A directory exists but is no log file. */
    assert_int_equal(logfollow_open(&lf, f->dir, LOGFMT_AUTO, NULL, &err), -1);
    assert_null(lf);
    assert_int_equal(err.code, ERR_IO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    err_clear(&err);
    assert_int_equal(logfollow_open(&lf, f->path, LOGFMT_STDERR, "%m [%p] %", &err), -1);
    assert_null(lf);
    assert_int_equal(err.code, ERR_USAGE);
    /* A given prefix is used as it is. */
    err_clear(&err);
    assert_int_equal(logfollow_open(&lf, f->path, LOGFMT_STDERR,
                                    "%t [%p]: user=%u,db=%d,app=%a,client=%h ", &err),
                     0);
    append(f->path, REFUSED);
    assert_counts(read_counts(lf), 2, 2, 0, 0, 0);
    logfollow_free(lf);
    logfollow_free(NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(existing_lines_do_not_count),
        T(counts_per_read_are_exact),
        T(busy_file_holds_its_last_record),
        T(counts_add_to_the_sample),
        T(partial_line_is_completed_later),
        T(partial_line_at_open_is_skipped),
        T(rotation_by_rename),
        T(rotation_with_a_gap),
        T(copytruncate_restarts_at_zero),
        T(file_created_after_open),
        T(csvlog_is_followed),
        T(real_log_in_odd_steps),
        T(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
