#!/bin/bash
# Makes a stderr log with a given log_line_prefix from the workload of
# README.formats.md's stderr logs: psql as postgres creates the role app
# and the database shop; psql as app creates and fills a table, runs two
# selects (one spanning four lines), a select on a missing table (42P01), a
# duplicate key insert (23505) and pg_sleep(0.05); pgbench -n -t 3 runs a
# select in extended and in prepared mode.
# Usage: tests/data/make-prefix-log.sh 'PREFIX' OUT.log
set -euo pipefail
prefix=${1:?usage: make-prefix-log.sh PREFIX OUT.log}
out=$(cd "$(dirname "${2:?usage: make-prefix-log.sh PREFIX OUT.log}")" && pwd)/$(basename "$2")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scenario/pg.sh"
tmp=$(mktemp -d)
trap 'pg_stop; rm -rf "$tmp"' EXIT
pg_start "$tmp/pg" "log_min_duration_statement = 0" "log_connections = on" "log_disconnections = on" \
    "log_line_prefix = '$prefix'" "log_timezone = 'UTC'" "compute_query_id = on"
psql_ -d postgres -c "CREATE ROLE app LOGIN" -c "CREATE DATABASE shop OWNER app" >/dev/null
pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=app "$PGBIN/psql" -X -q -d shop >/dev/null 2>&1 <<'SQL' || true
CREATE TABLE orders (id int PRIMARY KEY, item text, total int);
INSERT INTO orders SELECT g, 'item ' || g, g * 10 FROM generate_series(1, 100) g;
SELECT count(*) FROM orders;
SELECT id,
       item,
       total
  FROM orders WHERE id < 5;
SELECT * FROM missing_table;
INSERT INTO orders VALUES (1, 'dup', 0);
SELECT pg_sleep(0.05);
SQL
echo 'SELECT total FROM orders WHERE id = 42;' >"$tmp/q.sql"
chmod 644 "$tmp/q.sql"
for mode in extended prepared; do
    pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=app PGAPPNAME=pgbench "$PGBIN/pgbench" -n -t 3 \
        -M $mode -f "$tmp/q.sql" shop >/dev/null 2>&1
done
pg_stop
cp "$tmp/pg/log/postgresql" "$out"
