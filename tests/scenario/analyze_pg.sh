#!/bin/bash
# sleuth analyze on logs written by a real PostgreSQL 15 that this test
# starts and drives with a known workload: every count is known exactly.
# The same server writes stderr, csvlog and jsonlog; all three must agree.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pg.sh"
tmp=$(mktemp -d)
trap 'pg_stop; rm -rf "$tmp"' EXIT

if ! pg_start "$tmp/pg" "log_destination = 'stderr,csvlog,jsonlog'" \
    "log_line_prefix = '%m [%p] %q%u@%d '" "log_min_duration_statement = 0" \
    "log_connections = on" "log_disconnections = on" "log_lock_waits = on" \
    "deadlock_timeout = '100ms'" "log_temp_files = 0" "log_checkpoints = on"; then
    ok 1 "PostgreSQL 15 starts (initdb and pg_ctl in $PGBIN)"
    done_testing
    exit 1
fi
ok 0 "PostgreSQL 15 starts"

psql_ -d postgres -c "CREATE TABLE t (id int PRIMARY KEY, v int)" \
    -c "INSERT INTO t SELECT g, g % 10 FROM generate_series(1, 1000) g" >/dev/null

# 1. Simple protocol: 30 lookups with literals.
for i in $(seq 1 30); do echo "SELECT v FROM t WHERE id = $i;"; done | psql_ -d postgres >/dev/null
# 2. log_statement with separate duration lines: 20 more lookups, paired by pid.
{
    echo "SET log_min_duration_statement = -1; SET log_statement = 'all'; SET log_duration = on;"
    for i in $(seq 1 20); do echo "SELECT v FROM t WHERE id = $((i * 7));"; done
} | psql_ -d postgres >/dev/null
# 3. auto_explain plans before their statement lines: 10 counts, not 20.
{
    echo "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;"
    for i in $(seq 1 10); do echo "SELECT count(*) FROM t WHERE v > $i;"; done
} | psql_ -d postgres >/dev/null
# 4. Extended protocol, prepared: 25 executes of the same lookup (parse once, bind 25 times).
printf '\\set id random(1, 1000)\nSELECT v FROM t WHERE id = :id;\n' > "$tmp/lookup.sql"
chmod 644 "$tmp/lookup.sql"
pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/pgbench" -n -M prepared -t 25 -c 1 \
    -f "$tmp/lookup.sql" -U postgres postgres >/dev/null 2>&1
ok $? "pgbench ran 25 prepared transactions"
# 5. Three errors, one multi-line statement.
printf 'SELECT 1/0;\nSELECT 1/0;\nSELECT * FROM missing_table;\nSELECT id,\n  v\nFROM t WHERE id = 5;\n' |
    psql_ -d postgres >/dev/null 2>&1
psql_ -d postgres -c "CHECKPOINT" >/dev/null
pg_stop

log=$tmp/pg/log/postgresql
for f in "$log" "$log.csv" "$log.json"; do
    ok "$([ -s "$f" ]; echo $?)" "the server wrote $(basename "$f")"
done

q() { # q FILE JQ
    jq -r "$2" "$1"
}
for ext in "" .csv .json; do
    name=${ext:-.stderr}
    out=$tmp/report$name.json
    "$SLEUTH" analyze --format json -o "$out" "$log$ext" 2>"$tmp/err"
    ok $? "analyze $name exits 0"
    is "$(q "$out" '.inputs[0].unparsed_lines')" 0 "$name: every line recognised"
    is "$(q "$out" '.queries[] | select(.query == "select v from t where id = $1") | .calls')" 75 \
        "$name: the lookup ran 30 + 20 + 25 times"
    is "$(q "$out" '.queries[] | select(.query == "select v from t where id = $1") | .timed_calls')" 75 \
        "$name: every lookup has its duration (log_statement lines paired)"
    is "$(q "$out" '.queries[] | select(.query == "select v from t where id = $1") | .bind_calls')" 25 \
        "$name: 25 binds beside the executes"
    is "$(q "$out" '.queries[] | select(.query == "select count(*) from t where v > $1") | .calls')" 10 \
        "$name: auto_explain plans are not counted as extra calls"
    like "$(q "$out" '.queries[] | select(.query == "select count(*) from t where v > $1") | .example_plan')" \
        'Seq Scan on t' "$name: the plan is attached to the example"
    is "$(q "$out" '.queries[] | select(.query == "select id, v from t where id = $1") | .calls')" 1 \
        "$name: the multi-line statement is one call"
    is "$(q "$out" '.summary.errors')" 3 "$name: three errors"
    is "$(q "$out" '[.events.errors[] | select(.sqlstate == "22012")][0].count')" 2 "$name: two divisions by zero"
    is "$(q "$out" '.events.errors[] | select(.sqlstate == "42P01") | .statement')" \
        "SELECT * FROM missing_table;" "$name: the error keeps its statement"
    is "$(q "$out" '.events.checkpoints >= 1')" true "$name: the checkpoint is counted"
    is "$(q "$out" '.events.connections == .events.disconnections')" true "$name: every session ended"
done
is "$(jq -c '[.summary.queries, .summary.errors, .summary.distinct_queries]' "$tmp/report.stderr.json")" \
   "$(jq -c '[.summary.queries, .summary.errors, .summary.distinct_queries]' "$tmp/report.csv.json")" \
   "stderr and csvlog agree on queries, errors and distinct queries"
is "$(jq -c '[.summary.queries, .summary.errors, .summary.distinct_queries]' "$tmp/report.stderr.json")" \
   "$(jq -c '[.summary.queries, .summary.errors, .summary.distinct_queries]' "$tmp/report.json.json")" \
   "stderr and jsonlog agree"
done_testing
