# A private PostgreSQL 15 for the end-to-end tests (sourced): initdb in a
# temp dir, a Unix socket only, stopped and removed on exit. PostgreSQL
# refuses to run as root: then the server runs as the 'postgres' user.
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# The postgres user may not be allowed into the directory the tests run from (a checkout in
# /root): its commands run from /.
pg_as() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- env --chdir=/ "$@"
    else
        "$@"
    fi
}

# pg_start DIR [extra postgresql.conf lines...]: sets PGHOST/PGPORT/PGUSER.
pg_start() {
    PG_DIR=$1
    shift
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$PG_DIR"
        chmod o+x "$(dirname "$PG_DIR")" # mktemp -d made it 0700
    fi
    chmod 755 "$PG_DIR"
    pg_as "$PGBIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C \
        --no-sync >/dev/null || return 1
    PGPORT=$((20000 + RANDOM % 20000))
    {
        echo "listen_addresses = ''"
        echo "port = $PGPORT"
        echo "unix_socket_directories = '$PG_DIR'"
        echo "fsync = off"
        echo "lc_messages = 'C'"
        echo "logging_collector = on"
        echo "log_directory = '$PG_DIR/log'"
        echo "log_filename = 'postgresql'"
        echo "log_rotation_age = 0"
        echo "log_rotation_size = 0"
        for line in "$@"; do echo "$line"; done
    } | pg_as tee -a "$PG_DIR/data/postgresql.conf" >/dev/null
    pg_as "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/pg_ctl.log" -w start >/dev/null || {
        cat "$PG_DIR/pg_ctl.log" >&2
        return 1
    }
    export PGHOST=$PG_DIR PGPORT PGUSER=postgres PGDATABASE=postgres
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ] &&
        pg_as "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    return 0
}

psql_() {
    pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres "$PGBIN/psql" -X -q -v ON_ERROR_STOP=0 "$@"
}
