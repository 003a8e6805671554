#!/bin/bash
# Makes pgbouncer-pool.log and pgbouncer-server.log.gz (see README.formats.md):
# a PostgreSQL 15 behind PgBouncer 1.18 in transaction pooling with three
# server connections; pgbench runs a short select through it, then three
# sessions open transactions and leave them idle for 30 s, so the clients
# wait for a server (the ones served waited seconds; the others time out,
# query_wait_timeout) and more clients than max_client_conn are refused;
# then the transactions end and the pool recovers.
# Usage: tests/data/make-pgbouncer.sh OUTDIR (takes about two minutes).
set -euo pipefail
out=$(cd "${1:?usage: make-pgbouncer.sh OUTDIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scenario/pg.sh"
tmp=$(mktemp -d)
trap 'pg_as kill "$(cat "$tmp/pgb/pgbouncer.pid" 2>/dev/null)" 2>/dev/null; pg_stop; rm -rf "$tmp"' EXIT
pg_start "$tmp/pg" "log_min_duration_statement = 0" "log_connections = on" "log_disconnections = on" \
    "log_line_prefix = '%m [%p] %q%u@%d '" "log_timezone = 'UTC'" "max_connections = 20"
psql_ -d postgres -c "CREATE TABLE item (id int PRIMARY KEY, price int)" \
    -c "INSERT INTO item SELECT g, g % 100 FROM generate_series(1, 1000) g" >/dev/null

mkdir -p "$tmp/pgb"
port=$((PGPORT + 1))
cat >"$tmp/pgb/pgbouncer.ini" <<INI
[databases]
shop = host=$PGHOST port=$PGPORT dbname=postgres

[pgbouncer]
listen_addr =
listen_port = $port
unix_socket_dir = $tmp/pgb
auth_type = trust
auth_file = $tmp/pgb/userlist.txt
pool_mode = transaction
default_pool_size = 3
max_client_conn = 16
query_wait_timeout = 20
stats_period = 10
logfile = $tmp/pgb/pgbouncer.log
pidfile = $tmp/pgb/pgbouncer.pid
INI
echo '"postgres" ""' >"$tmp/pgb/userlist.txt"
[ "$(id -u)" = 0 ] && chown -R postgres "$tmp/pgb"
chmod 755 "$tmp/pgb"
pg_as /usr/sbin/pgbouncer -d "$tmp/pgb/pgbouncer.ini"
sleep 1
echo 'SELECT price FROM item WHERE id = 1 + (random() * 999)::int;' >"$tmp/select.sql"
chmod 644 "$tmp/select.sql"
bench() { # bench SECONDS CLIENTS: the application, 40 calls a second
    pg_as env PGAPPNAME=shop-web "$PGBIN/pgbench" -n -h "$tmp/pgb" -p "$port" -U postgres \
        -f "$tmp/select.sql" -c "$2" -j 1 -R 40 -T "$1" shop >/dev/null 2>&1 || true
}
bench 35 4
# Three sessions take the three server connections and sit idle in transaction.
for i in 1 2 3; do
    pg_as env PGAPPNAME=shop-worker "$PGBIN/psql" -X -q -h "$tmp/pgb" -p "$port" -U postgres shop \
        -c "BEGIN" -c "SELECT count(*) FROM item" -c '\! sleep 30' -c "COMMIT" >/dev/null 2>&1 &
done
sleep 1
bench 40 8 &
sleep 5
# More clients than max_client_conn allows.
for i in $(seq 1 8); do
    pg_as "$PGBIN/psql" -X -q -h "$tmp/pgb" -p "$port" -U postgres shop -c "SELECT 1" >/dev/null 2>&1 &
done
wait
bench 35 4
sleep 11 # one more stats line after the recovery
cp "$tmp/pgb/pgbouncer.log" "$out/pgbouncer-pool.log"
gzip -9c "$tmp/pg/log/postgresql" >"$out/pgbouncer-server.log.gz"
