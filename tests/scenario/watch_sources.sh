#!/bin/bash
# sleuth watch with its two extra sources, against a real PostgreSQL 15
# and a real PgBouncer 1.18 that this test starts: --log follows the
# server's stderr log, --pgbouncer polls the admin console. A known
# workload runs between the two polls of --once, so every count is known:
# six errors (two divisions by zero, a statement timeout, a deadlock, two
# connections refused), one lock wait; and through PgBouncer (pool_size 2)
# five quick queries, then four clients in pg_sleep: two run, two wait.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pg.sh"
tmp=$(mktemp -d)
PGB_PID=
WATCH_PID=
cleanup() {
    [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
    [ -n "$PGB_PID" ] && kill "$PGB_PID" 2>/dev/null
    wait 2>/dev/null
    pg_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! pg_start "$tmp/pg" "log_line_prefix = '%m [%p] %q%u@%d '" "log_lock_waits = on" \
    "deadlock_timeout = '100ms'" "shared_preload_libraries = 'pg_stat_statements'"; then
    ok 1 "PostgreSQL 15 starts (initdb and pg_ctl in $PGBIN)"
    done_testing
    exit 1
fi
ok 0 "PostgreSQL 15 starts"
log=$tmp/pg/log/postgresql

psql_ -d postgres -c "CREATE EXTENSION pg_stat_statements" \
    -c "CREATE TABLE dl (id int PRIMARY KEY, v int)" -c "INSERT INTO dl VALUES (1, 0), (2, 0)" \
    -c "CREATE ROLE capped LOGIN CONNECTION LIMIT 0" >/dev/null
ok $? "schema and roles created"

# PgBouncer on a Unix socket in the temp dir, as the postgres user when root.
PGB_DIR=$tmp/pgb
PGB_PORT=$((PGPORT + 1))
mkdir -p "$PGB_DIR"
cat >"$PGB_DIR/pgbouncer.ini" <<EOF
[databases]
bench = host=$PGHOST port=$PGPORT dbname=postgres

[pgbouncer]
listen_addr =
listen_port = $PGB_PORT
unix_socket_dir = $PGB_DIR
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
admin_users = postgres
pool_mode = session
default_pool_size = 2
max_client_conn = 50
logfile = $PGB_DIR/pgbouncer.log
pidfile = $PGB_DIR/pgbouncer.pid
EOF
echo '"postgres" ""' >"$PGB_DIR/userlist.txt"
[ "$(id -u)" = 0 ] && chown -R postgres "$PGB_DIR"
chmod 755 "$PGB_DIR"
pg_as /usr/sbin/pgbouncer -d "$PGB_DIR/pgbouncer.ini" >/dev/null 2>&1
for _ in $(seq 1 50); do
    [ -S "$PGB_DIR/.s.PGSQL.$PGB_PORT" ] && break
    sleep 0.1
done
PGB_PID=$(cat "$PGB_DIR/pgbouncer.pid" 2>/dev/null)
ok "$([ -S "$PGB_DIR/.s.PGSQL.$PGB_PORT" ]; echo $?)" "PgBouncer listens on $PGB_DIR"

bouncer() { # bouncer DB ARGS...: psql through PgBouncer
    local db=$1
    shift
    pg_as env PGHOST="$PGB_DIR" PGPORT="$PGB_PORT" PGUSER=postgres "$PGBIN/psql" -X -q -d "$db" "$@"
}
is "$(bouncer bench -At -c "SELECT 42")" 42 "a query goes through PgBouncer"

# The password is not needed (trust) but must never be shown.
secret=s3cret-never-shown
pgb_conninfo="host=$PGB_DIR port=$PGB_PORT user=postgres password=$secret"
out=$tmp/once.json
"$SLEUTH" -v watch -d "host=$PGHOST port=$PGPORT user=postgres dbname=postgres" \
    --interval 4s --once --log "$log" --pgbouncer "$pgb_conninfo" >"$out" 2>"$tmp/watch.err" &
WATCH_PID=$!

# The workload must fall between the two polls: wait for the first.
for _ in $(seq 1 100); do
    grep -q "first poll done" "$tmp/watch.err" && break
    kill -0 "$WATCH_PID" 2>/dev/null || break
    sleep 0.1
done
ok "$(grep -q "first poll done" "$tmp/watch.err"; echo $?)" "sleuth watch made its first poll"

# Through PgBouncer: five quick queries, then four sleepers for a pool of two.
bouncer bench -c "SELECT 1" -c "SELECT 2" -c "SELECT 3" -c "SELECT 4" -c "SELECT 5" >/dev/null
for _ in 1 2 3 4; do
    bouncer bench -c "SELECT pg_sleep(8)" >/dev/null 2>&1 &
done

# Straight to PostgreSQL: the errors and the lock wait.
printf 'SELECT 1/0;\nSELECT 1/0;\nSET statement_timeout = 50;\nSELECT pg_sleep(1);\n' |
    psql_ -d postgres >/dev/null 2>&1
# A waits for B's row (one "still waiting" after deadlock_timeout), then B
# waits for A's: B is the deadlock's victim.
psql_ -d postgres -c "BEGIN" -c "UPDATE dl SET v = 1 WHERE id = 1" -c "SELECT pg_sleep(0.2)" \
    -c "UPDATE dl SET v = 1 WHERE id = 2" -c "COMMIT" >/dev/null 2>&1 &
a=$!
psql_ -d postgres -c "BEGIN" -c "UPDATE dl SET v = 2 WHERE id = 2" -c "SELECT pg_sleep(0.6)" \
    -c "UPDATE dl SET v = 2 WHERE id = 1" -c "COMMIT" >/dev/null 2>&1
wait "$a"
for _ in 1 2; do
    pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -U capped -d postgres -c "SELECT 1" \
        >/dev/null 2>&1
done

wait "$WATCH_PID"
rc=$?
WATCH_PID=
is "$rc" 0 "sleuth watch --once exits 0"
if ! jq -e . "$out" >/dev/null 2>&1; then
    ok 1 "--once prints one JSON object"
    sed 's/^/# /' "$tmp/watch.err" | head -20
    done_testing
    exit 1
fi
ok 0 "--once prints one JSON object"

q() { jq -r "$1" "$out"; }
# The log between the two polls; lines from before the first do not count.
is "$(q '.state.log.errors')" 6 "log: 2 divisions by zero + a timeout + a deadlock + 2 refused"
is "$(q '.state.log.refused')" 2 "log: two connections over the role's limit"
is "$(q '.state.log.timeouts')" 1 "log: one statement timeout"
is "$(q '.state.log.deadlocks')" 1 "log: one deadlock"
is "$(q '.state.log.lock_waits')" 1 "log: one lock wait"

# PgBouncer at the second poll: two sleepers have the servers, two wait.
pool='.state.pgbouncer.pools[] | select(.db == "bench" and .user == "postgres")'
is "$(q "[$pool] | length")" 1 "pgbouncer: one pool bench/postgres"
is "$(q "$pool | .cl_active")" 2 "pgbouncer: two clients active"
is "$(q "$pool | .cl_waiting")" 2 "pgbouncer: two clients waiting"
is "$(q "$pool | .sv_active")" 2 "pgbouncer: both servers of the pool busy"
is "$(q "$pool | .sv_idle")" 0 "pgbouncer: no idle server"
is "$(q "$pool | .maxwait_s >= 1 and .maxwait_s < 8")" true "pgbouncer: the oldest client has waited a while"
is "$(q '[.state.pgbouncer.pools[] | select(.db == "pgbouncer")] | length')" 0 \
    "pgbouncer: the admin console is not a pool"
# SHOW STATS counts a query when the client sends it: 5 quick + 4 sleepers.
is "$(q '.state.pgbouncer.queries')" 9 "pgbouncer: nine queries since the first poll"
is "$(q '.state.pgbouncer.xacts')" 9 "pgbouncer: nine transactions since the first poll"
is "$(q '.state.pgbouncer.wait_ms | type')" number "pgbouncer: wait_ms is a number"
# Clients kept waiting over a second for a server: pooler_saturation, its summary with the figures.
is "$(jq -c '[.findings[] | select(.kind == "pooler_saturation") | .key]' "$out")" '["server"]' \
    "pgbouncer: clients waiting a while make a pooler_saturation finding"
like "$(q '.findings[] | select(.kind == "pooler_saturation") | .summary')" \
    "^2 clients waiting at PgBouncer for a server connection, the oldest for [0-9]+ ms" \
    "... which names the waiting clients and the oldest wait"
is "$(q '[.state.problems[] | select(.check == "log" or .check == "pgbouncer")] | length')" 0 \
    "no problem with the extra sources"
ok "$(! grep -q "$secret" "$out" "$tmp/watch.err"; echo $?)" "the PgBouncer password is not shown"

# PgBouncer gone: a problem in the state, not a failure of the watcher.
# The pid file is read again now: it may not have been written when the socket appeared.
PGB_PID=$(cat "$PGB_DIR/pgbouncer.pid" 2>/dev/null || echo "$PGB_PID")
kill "$PGB_PID" 2>/dev/null
for _ in $(seq 1 50); do
    kill -0 "$PGB_PID" 2>/dev/null || break
    sleep 0.1
done
kill -9 "$PGB_PID" 2>/dev/null
rm -f "$PGB_DIR/.s.PGSQL.$PGB_PORT"
PGB_PID=
"$SLEUTH" watch -d "host=$PGHOST port=$PGPORT user=postgres dbname=postgres" --interval 1s --once \
    --pgbouncer "$pgb_conninfo" --log "$tmp/not-yet.log" >"$out" 2>"$tmp/watch.err"
is "$?" 0 "sleuth watch --once exits 0 without PgBouncer and without the log file"
is "$(q '.state.pgbouncer')" null "pgbouncer: no data"
like "$(q '.state.problems[] | select(.check == "pgbouncer") | .message')" \
    "cannot connect to PgBouncer 'postgres@$PGB_DIR:$PGB_PORT/pgbouncer'" "pgbouncer: the problem names the target"
is "$(q '.state.log')" null "log: no data while the file does not exist"
like "$(q '.state.problems[] | select(.check == "log") | .message')" "not-yet.log.*No such file" \
    "log: the missing file is a problem"
ok "$(! grep -q "$secret" "$out" "$tmp/watch.err"; echo $?)" "the PgBouncer password is not shown"

done_testing
