#!/bin/bash
# sleuth watch when its role loses pg_monitor under it (PostgreSQL 15 with
# pg_stat_statements, started here): other roles' sessions and statements
# are then hidden, and the watcher must say so on the console, the page's
# state and /metrics, store those intervals as gaps (never as zeros), and
# come back on its own once pg_monitor is granted again. Then a copy of that
# store with damaged pages: refused by watch and report, unless --store-force.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pg.sh"
tmp=$(mktemp -d)
HOLD_PID=
WATCH_PID=
cleanup() {
    [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
    [ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
    wait 2>/dev/null
    pg_stop
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

if ! pg_start "$tmp/pg" "shared_preload_libraries = 'pg_stat_statements'"; then
    ok 1 "PostgreSQL 15 starts (initdb and pg_ctl in $PGBIN)"
    done_testing
    exit 1
fi
ok 0 "PostgreSQL 15 starts"

psql_ -d postgres -c "CREATE EXTENSION pg_stat_statements" -c "CREATE TABLE t (id int)" \
    -c "CREATE ROLE monitor LOGIN IN ROLE pg_monitor" -c "CREATE ROLE app LOGIN" \
    -c "GRANT ALL ON t TO app" >/dev/null
ok $? "a pg_monitor role and an application role"
conn="host=$PGHOST port=$PGPORT dbname=postgres user=monitor"

wait_for() { # wait_for FILE REGEX SECONDS
    for _ in $(seq 1 $(($3 * 10))); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
app_calls() { # app_calls N: N statements as the application role
    for i in $(seq 1 "$1"); do echo "INSERT INTO t VALUES ($i);"; done |
        pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -q -U app -d postgres >/dev/null
}
# One application session stays connected throughout: a poll that sees no session is blind.
mkfifo "$tmp/hold.fifo"
chmod 666 "$tmp/hold.fifo"
pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/psql" -X -q -U app -d postgres \
    <"$tmp/hold.fifo" >/dev/null 2>&1 &
HOLD_PID=$!
exec {hold}>"$tmp/hold.fifo"
echo "SELECT 1;" >&"$hold"

"$SLEUTH" -v watch --interval 300ms --store "$tmp/s.db" --listen 127.0.0.1:0 --no-color "$conn" \
    >"$tmp/watch.out" 2>"$tmp/watch.err" &
WATCH_PID=$!
wait_for "$tmp/watch.err" "poll 3: ok" 30
ok $? "the watcher polls with pg_monitor"
url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*/' "$tmp/watch.err" | head -1 |
    sed 's/^listening on //')
metrics() { curl -s --max-time 5 "${url}metrics"; }
has_line() { # has_line TEXT LINE "what": TEXT has LINE as a whole line
    printf '%s\n' "$1" | grep -Fxq -- "$2"
    ok $? "$3"
}
m=$(metrics)
has_line "$m" 'sleuth_privileges_ok 1' "/metrics: sleuth_privileges_ok 1 with pg_monitor"
has_line "$m" 'sleuth_source_up{source="pg_stat_activity"} 1' \
    "/metrics: pg_stat_activity is up"

# Blind: the role loses pg_monitor while the application keeps working.
psql_ -d postgres -c "REVOKE pg_monitor FROM monitor" >/dev/null
ok $? "REVOKE pg_monitor FROM monitor"
app_calls 20
wait_for "$tmp/watch.err" "gap, rows hidden from this role" 10
ok $? "the console says the poll is a gap with rows hidden"
n=$(grep -c "gap, rows hidden" "$tmp/watch.err")
app_calls 20
wait_for "$tmp/watch.err" "poll [0-9]+: gap, rows hidden" 10
for _ in $(seq 1 50); do
    [ "$(grep -c "gap, rows hidden" "$tmp/watch.err")" -ge $((n + 2)) ] && break
    sleep 0.1
done
like "$(cat "$tmp/watch.err")" "privileges: this role cannot see other roles' sessions and statements: the interval is a gap; GRANT pg_monitor" \
    "the console names the missing privilege and how to grant it"
like "$(cat "$tmp/watch.err")" "pg_stat_activity: [0-9]+ of [0-9]+ sessions are hidden from this role" \
    "it counts the hidden sessions"
like "$(cat "$tmp/watch.err")" "pg_stat_statements: [0-9]+ entries of other roles are hidden from this role" \
    "and the hidden pg_stat_statements entries"
is "$(grep -Ec "poll [0-9]+: ok, 0 connections" "$tmp/watch.err")" 0 \
    "no poll passes off the blindness as 'ok, 0 connections'"
m=$(metrics)
has_line "$m" 'sleuth_up 0' "/metrics: sleuth_up 0 while blind"
has_line "$m" 'sleuth_privileges_ok 0' "/metrics: sleuth_privileges_ok 0"
has_line "$m" 'sleuth_source_up{source="pg_stat_activity"} 0' \
    "/metrics: pg_stat_activity is down"
has_line "$m" 'sleuth_source_up{source="pg_stat_statements"} 0' \
    "/metrics: pg_stat_statements is down"
has_line "$m" 'sleuth_source_up{source="pg_stat_database"} 1' \
    "/metrics: pg_stat_database, which hides nothing, is up"
state=$(curl -s --max-time 5 "${url}api/state")
is "$(printf '%s' "$state" | jq '.gap')" true "the page's state is a gap"
is "$(printf '%s' "$state" | jq -r '[.problems[].check] | sort | join(",")')" \
    "pg_stat_activity,pg_stat_statements,privileges" "with the three problems the page lists"

# Sight again.
psql_ -d postgres -c "GRANT pg_monitor TO monitor" >/dev/null
ok $? "GRANT pg_monitor TO monitor"
n_ok=$(grep -Ec "poll [0-9]+: ok" "$tmp/watch.err")
for _ in $(seq 1 100); do
    [ "$(grep -Ec "poll [0-9]+: ok" "$tmp/watch.err")" -ge $((n_ok + 3)) ] && break
    sleep 0.1
done
last=$(grep -E "poll [0-9]+: " "$tmp/watch.err" | tail -1)
like "$last" "poll [0-9]+: ok, [1-9][0-9]* connections" "after the GRANT the polls are ok again"
m=$(metrics)
has_line "$m" 'sleuth_up 1' "/metrics: sleuth_up 1 again"
has_line "$m" 'sleuth_privileges_ok 1' "/metrics: sleuth_privileges_ok 1 again"
has_line "$m" 'sleuth_source_up{source="pg_stat_activity"} 1' \
    "/metrics: pg_stat_activity is up again"
kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
is "$?" 0 "SIGTERM stops the watcher"
WATCH_PID=

q() { sqlite3 "$tmp/s.db" "$1"; }
like "$(q "SELECT count(*) FROM intervals i WHERE gap = 1 AND EXISTS (SELECT 1 FROM problems p
    WHERE p.interval_id = i.id AND p.check_name = 'privileges')")" '^([2-9]|[1-9][0-9]+)$' \
    "the store keeps the blind intervals as gaps with the privileges problem"
is "$(q "SELECT count(*) FROM intervals WHERE gap = 0 AND connections = 0")" 0 \
    "no stored interval has zero connections (the application session was always there)"
is "$(q "SELECT count(*) FROM intervals i JOIN problems p ON p.interval_id = i.id
    WHERE p.check_name = 'privileges' AND i.gap = 0")" 0 "every interval with hidden rows is a gap"
is "$(q "SELECT count(*) FROM intervals WHERE gap = 1 AND (connections <> 0 OR xact_commit <> 0)")" 0 \
    "a gap stores no partial values"
is "$(q "SELECT gap FROM intervals ORDER BY end_us DESC LIMIT 1")" 0 \
    "the last stored interval, after the GRANT, has data"

# A copy of the store with a data page of its intervals overwritten, as a bad disk block would.
cp "$tmp/s.db" "$tmp/bad.db"
page=$(q "SELECT max(pageno) FROM dbstat WHERE name = 'intervals' AND pagetype = 'leaf'")
psize=$(q "PRAGMA page_size")
head -c "$psize" /dev/zero | tr '\0' '\245' |
    dd of="$tmp/bad.db" bs="$psize" seek=$((page - 1)) conv=notrunc status=none
sum_before=$(md5sum <"$tmp/bad.db")
"$SLEUTH" watch --count 1 --interval 100ms --store "$tmp/bad.db" "$conn" >/dev/null 2>"$tmp/bad.err"
is "$?" 3 "watch refuses a damaged store (exit 3)"
like "$(cat "$tmp/bad.err")" "store '$tmp/bad.db' is damaged \(quick_check: .+\): move it away, or pass --store-force" \
    "and says which file, what quick_check found and how to go on"
is "$(md5sum <"$tmp/bad.db")" "$sum_before" "it wrote nothing into it"
"$SLEUTH" report --store "$tmp/bad.db" >/dev/null 2>"$tmp/bad-report.err"
is "$?" 3 "report refuses it too"
like "$(cat "$tmp/bad-report.err")" "is damaged \(quick_check:" "with the same message"
"$SLEUTH" watch --count 1 --interval 100ms --store "$tmp/bad.db" --store-force "$conn" \
    >/dev/null 2>"$tmp/forced.err"
is "$?" 0 "--store-force writes into it anyway"

done_testing
