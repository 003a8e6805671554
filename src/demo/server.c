/*
 * A private PostgreSQL for `sleuth demo`: initdb into a temp dir, the
 * logging sleuth recommends, pg_ctl start and stop, and removal of the
 * whole dir. Programs run through fork and exec with their output in
 * <dir>/commands.log; as root they first drop to an unprivileged user,
 * since PostgreSQL refuses to run as root. This sits outside the
 * pipeline: it makes the server that the rest of sleuth then watches.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "demo/server.h"

#include "util/buf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

#define LOG_PREFIX "%m [%p] %q%u@%d app=%a "

struct demo_server {
    char *dir, *bindir, *datadir, *logdir, *logpath, *cmdlog;
    char *conninfo, *app_conninfo;
    int port;
    bool as_user; /* run programs as uid/gid */
    uid_t uid;
    gid_t gid;
    bool running;
    bool removed;
    bool hypopg;
    demo_say_fn *say;
    void *say_ctx;
};

void demo_server_opts_init(struct demo_server_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_connections = 40;
    o->log_min_duration_ms = 0;
}

static void say(struct demo_server *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void say(struct demo_server *s, const char *fmt, ...)
{
    if (!s->say)
        return;
    struct buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    s->say(s->say_ctx, b.ptr);
    buf_release(&b);
}

static char *path_join(const char *a, const char *b)
{
    struct buf p = BUF_INIT;
    buf_addf(&p, "%s/%s", a, b);
    return buf_detach(&p, NULL);
}

static bool is_executable(const char *dir, const char *prog)
{
    char *p = path_join(dir, prog);
    bool ok = access(p, X_OK) == 0;
    free(p);
    return ok;
}

/* $PGBIN, the Debian PostgreSQL 15 directory, then `pg_config --bindir`. */
static char *find_bindir(const char *given, struct err *err)
{
    if (given) {
        if (is_executable(given, "initdb") && is_executable(given, "pg_ctl"))
            return xstrdup(given);
        err_set(err, ERR_CONFIG, "no initdb and pg_ctl in '%s'", given);
        return NULL;
    }
    const char *env = getenv("PGBIN");
    if (env && *env) {
        if (is_executable(env, "initdb") && is_executable(env, "pg_ctl"))
            return xstrdup(env);
        err_set(err, ERR_CONFIG, "no initdb and pg_ctl in $PGBIN '%s'", env);
        return NULL;
    }
    const char *debian = "/usr/lib/postgresql/15/bin";
    if (is_executable(debian, "initdb") && is_executable(debian, "pg_ctl"))
        return xstrdup(debian);
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    if (p) {
        char line[4096];
        char *got = fgets(line, sizeof(line), p);
        pclose(p);
        if (got) {
            line[strcspn(line, "\n")] = '\0';
            if (is_executable(line, "initdb") && is_executable(line, "pg_ctl"))
                return xstrdup(line);
        }
    }
    err_set(err, ERR_CONFIG,
            "cannot find PostgreSQL's initdb and pg_ctl (tried $PGBIN, %s and pg_config "
            "--bindir); install postgresql-15 or set PGBIN",
            debian);
    return NULL;
}

/* The last non-empty line of the command log, for error messages. */
static void last_output_line(const struct demo_server *s, char *dst, size_t cap)
{
    dst[0] = '\0';
    FILE *f = fopen(s->cmdlog, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(line);
        if (n == 0)
            continue;
        if (n >= cap)
            n = cap - 1;
        memcpy(dst, line, n);
        dst[n] = '\0';
    }
    fclose(f);
}

/* Runs argv (argv[0] a path) as the server's user, output appended to the command log. */
static int run(struct demo_server *s, char *const argv[], struct err *err)
{
    int fd = open(s->cmdlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(err, ERR_IO, "cannot open '%s': %s", s->cmdlog, strerror(errno));
    if (s->as_user && fchown(fd, s->uid, s->gid) != 0) {
        close(fd);
        return err_set(err, ERR_IO, "cannot chown '%s': %s", s->cmdlog, strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return err_set(err, ERR_IO, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (s->as_user && (setgroups(0, NULL) != 0 || setgid(s->gid) != 0 || setuid(s->uid) != 0))
            _exit(126);
        if (chdir(s->dir) != 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return err_set(err, ERR_IO, "cannot wait for '%s': %s", argv[0], strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char last[200];
    last_output_line(s, last, sizeof(last));
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (WIFEXITED(status))
        return err_set(err, ERR_IO, "%s failed (exit %d)%s%s", prog, WEXITSTATUS(status),
                       last[0] ? ": " : "", last);
    return err_set(err, ERR_IO, "%s was killed by signal %d", prog, WTERMSIG(status));
}

static int run_as_setup(struct demo_server *s, const char *user, struct err *err)
{
    if (geteuid() != 0)
        return 0;
    const char *name = user ? user : "postgres";
    struct passwd *pw = getpwnam(name);
    if (!pw || pw->pw_uid == 0)
        return err_set(err, ERR_CONFIG,
                       "PostgreSQL refuses to run as root and there is no unprivileged '%s' "
                       "user to run it as; run sleuth demo as an ordinary user or create one "
                       "(useradd --system %s)",
                       name, name);
    s->as_user = true;
    s->uid = pw->pw_uid;
    s->gid = pw->pw_gid;
    say(s, "running as root: initdb and the server run as the '%s' user (uid %d)", name,
        (int)pw->pw_uid);
    return 0;
}

static int make_dir(struct demo_server *s, const char *parent, struct err *err)
{
    if (!parent || !*parent)
        parent = getenv("TMPDIR");
    if (!parent || !*parent)
        parent = "/tmp";
    struct buf t = BUF_INIT;
    buf_addf(&t, "%s/sleuth-demo-XXXXXX", parent);
    if (!mkdtemp(t.ptr)) {
        err_set(err, ERR_IO, "cannot create a temp dir in '%s': %s", parent, strerror(errno));
        buf_release(&t);
        return -1;
    }
    s->dir = buf_detach(&t, NULL);
    s->datadir = path_join(s->dir, "data");
    s->logdir = path_join(s->dir, "log");
    s->logpath = path_join(s->logdir, "postgresql.log");
    s->cmdlog = path_join(s->dir, "commands.log");
    if (s->as_user && chown(s->dir, s->uid, s->gid) != 0)
        return err_set(err, ERR_IO, "cannot chown '%s': %s", s->dir, strerror(errno));
    /* The server's user must reach the dir; the socket's mode is up to the server. */
    if (chmod(s->dir, 0755) != 0)
        return err_set(err, ERR_IO, "cannot chmod '%s': %s", s->dir, strerror(errno));
    return 0;
}

/* Appends a single-quoted postgresql.conf or conninfo value. */
static void add_quoted(struct buf *b, const char *v)
{
    buf_addch(b, '\'');
    for (; *v; v++) {
        if (*v == '\'' || *v == '\\')
            buf_addch(b, '\\');
        buf_addch(b, *v);
    }
    buf_addch(b, '\'');
}

static int write_config(struct demo_server *s, const struct demo_server_opts *o, struct err *err)
{
    struct buf c = BUF_INIT;
    buf_addf(&c, "\n# sleuth demo\nlisten_addresses = ''\nport = %d\n", s->port);
    buf_addstr(&c, "unix_socket_directories = ");
    add_quoted(&c, s->dir);
    buf_addf(&c, "\nmax_connections = %d\n", o->max_connections);
    buf_addstr(&c, "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                   "shared_buffers = 128MB\nmaintenance_work_mem = 128MB\n"
                   "checkpoint_timeout = 30min\nmax_wal_size = 2GB\n"
                   "lc_messages = 'C'\ntrack_io_timing = on\n"
                   "shared_preload_libraries = 'pg_stat_statements,auto_explain'\n"
                   "pg_stat_statements.track = top\n"
                   "logging_collector = on\nlog_destination = 'stderr'\nlog_directory = ");
    add_quoted(&c, s->logdir);
    buf_addstr(&c, "\nlog_filename = 'postgresql.log'\nlog_rotation_age = 0\n"
                   "log_rotation_size = 0\nlog_line_prefix = '" LOG_PREFIX "'\n");
    /*
     * The shape sleuth recommends: statements with durations, plans of the
     * slow ones, lock waits past deadlock_timeout, DDL, temp files, vacuum,
     * connections (a surge of them is a story the log must tell too).
     */
    buf_addf(&c, "log_min_duration_statement = %d\n", o->log_min_duration_ms);
    buf_addstr(&c, "log_statement = 'ddl'\nlog_lock_waits = on\ndeadlock_timeout = 200ms\n"
                   "log_temp_files = 0\nlog_checkpoints = on\n"
                   "log_autovacuum_min_duration = 0\nlog_connections = on\n"
                   "log_disconnections = on\n"
                   "auto_explain.log_min_duration = 5ms\nauto_explain.log_analyze = off\n");
    char *conf = path_join(s->datadir, "postgresql.conf");
    FILE *f = fopen(conf, "a");
    int rc = 0;
    if (!f || fwrite(c.ptr, 1, c.len, f) != c.len)
        rc = err_set(err, ERR_IO, "cannot write '%s': %s", conf, strerror(errno));
    if (f && fclose(f) != 0 && rc == 0)
        rc = err_set(err, ERR_IO, "cannot write '%s': %s", conf, strerror(errno));
    free(conf);
    buf_release(&c);
    return rc;
}

static int exec_sql(PGconn *conn, const char *sql, bool quiet_fail, struct err *err)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok && !quiet_fail) {
        const char *m = PQresultErrorMessage(res);
        err_set(err, ERR_SQL, "'%s' failed: %.*s", sql, (int)strcspn(m, "\n"), m);
    }
    PQclear(res);
    return ok ? 0 : -1;
}

static PGconn *connect_db(const char *conninfo, struct err *err)
{
    const char *keys[] = { "dbname", "application_name", NULL };
    const char *vals[] = { conninfo, "sleuth-demo", NULL };
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *m = PQerrorMessage(conn);
        err_set(err, ERR_CONN, "cannot connect to the demo server: %.*s", (int)strcspn(m, "\n"), m);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static char *make_conninfo(const struct demo_server *s, const char *db, const char *user)
{
    struct buf b = BUF_INIT;
    buf_addstr(&b, "host=");
    add_quoted(&b, s->dir);
    buf_addf(&b, " port=%d dbname=%s user=%s", s->port, db, user);
    return buf_detach(&b, NULL);
}

static int create_shop_db(struct demo_server *s, struct err *err)
{
    char *admin = make_conninfo(s, "postgres", "postgres");
    PGconn *conn = connect_db(admin, err);
    free(admin);
    if (!conn)
        return -1;
    int rc = exec_sql(conn, "CREATE ROLE shop LOGIN", false, err);
    if (rc == 0)
        rc = exec_sql(conn, "CREATE DATABASE shop OWNER shop", false, err);
    PQfinish(conn);
    if (rc < 0)
        return -1;
    conn = connect_db(s->conninfo, err);
    if (!conn)
        return -1;
    rc = exec_sql(conn, "CREATE EXTENSION pg_stat_statements", false, err);
    s->hypopg = rc == 0 && exec_sql(conn, "CREATE EXTENSION hypopg", true, err) == 0;
    PQfinish(conn);
    return rc;
}

static int start_server(struct demo_server *s, const struct demo_server_opts *o, struct err *err)
{
    char *initdb = path_join(s->bindir, "initdb");
    char *argv_init[] = { initdb, "-D",   s->datadir,   "-U",        "postgres", "--auth=trust",
                          "-E",   "UTF8", "--locale=C", "--no-sync", NULL };
    say(s, "initdb in %s", s->dir);
    int rc = run(s, argv_init, err);
    free(initdb);
    if (rc < 0)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->port = 20000 + (int)(((unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec) % 30000);
    s->conninfo = make_conninfo(s, "shop", "postgres");
    s->app_conninfo = make_conninfo(s, "shop", "shop");
    if (write_config(s, o, err) < 0)
        return -1;
    char *pg_ctl = path_join(s->bindir, "pg_ctl");
    char *ctl_log = path_join(s->dir, "pg_ctl.log");
    char *argv_start[] = {
        pg_ctl, "-D", s->datadir, "-l", ctl_log, "-w", "-t", "60", "start", NULL
    };
    /* A start that timed out may still bring the server up: stop it either way. */
    s->running = true;
    rc = run(s, argv_start, err);
    free(pg_ctl);
    free(ctl_log);
    if (rc < 0)
        return -1;
    say(s, "PostgreSQL started on socket %s/.s.PGSQL.%d", s->dir, s->port);
    return create_shop_db(s, err);
}

int demo_server_start(struct demo_server **out, const struct demo_server_opts *o, struct err *err)
{
    *out = NULL;
    struct demo_server *s = xcalloc(1, sizeof(*s));
    s->say = o->say;
    s->say_ctx = o->say_ctx;
    s->removed = true; /* nothing to remove yet */
    s->bindir = find_bindir(o->pgbin, err);
    int rc = s->bindir ? run_as_setup(s, o->run_as, err) : -1;
    if (rc == 0) {
        s->removed = false;
        rc = make_dir(s, o->tmp_dir, err);
    }
    if (rc == 0)
        rc = start_server(s, o, err);
    if (rc < 0) {
        struct err ignored;
        err_clear(&ignored);
        if (demo_server_stop(s, &ignored) < 0)
            s->running = false; /* the first failure is the one to report */
        demo_server_remove(s);
        demo_server_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

const char *demo_server_conninfo(const struct demo_server *s)
{
    return s->conninfo;
}

const char *demo_server_app_conninfo(const struct demo_server *s)
{
    return s->app_conninfo;
}

const char *demo_server_log_path(const struct demo_server *s)
{
    return s->logpath;
}

const char *demo_server_log_prefix(void)
{
    return LOG_PREFIX;
}

const char *demo_server_dir(const struct demo_server *s)
{
    return s->dir;
}

bool demo_server_has_hypopg(const struct demo_server *s)
{
    return s->hypopg;
}

int demo_server_stop(struct demo_server *s, struct err *err)
{
    if (!s || !s->running)
        return 0;
    s->running = false;
    char *pg_ctl = path_join(s->bindir, "pg_ctl");
    char *argv_stop[] = { pg_ctl, "-D", s->datadir, "-m", "fast", "-w", "-t", "60", "stop", NULL };
    int rc = run(s, argv_stop, err);
    if (rc < 0) {
        /* Sessions that will not end: immediate shutdown, as a last resort. */
        struct err again;
        err_clear(&again);
        argv_stop[4] = "immediate";
        if (run(s, argv_stop, &again) == 0)
            rc = 0;
    }
    free(pg_ctl);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void demo_server_remove(struct demo_server *s)
{
    if (!s || s->removed || !s->dir)
        return;
    /* Never pull the files from under a server that is still running. */
    bool alive = false;
    if (s->datadir) {
        char *pidfile = path_join(s->datadir, "postmaster.pid");
        alive = access(pidfile, F_OK) == 0;
        free(pidfile);
    }
    if (alive) {
        say(s, "the server in %s did not stop: its files are kept", s->dir);
        return;
    }
    s->removed = true;
    nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void demo_server_free(struct demo_server *s)
{
    if (!s)
        return;
    struct err ignored;
    err_clear(&ignored);
    if (demo_server_stop(s, &ignored) < 0)
        s->running = false;
    free(s->dir);
    free(s->bindir);
    free(s->datadir);
    free(s->logdir);
    free(s->logpath);
    free(s->cmdlog);
    free(s->conninfo);
    free(s->app_conninfo);
    free(s);
}
