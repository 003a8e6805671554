#!/bin/bash
# sleuth watch against a real PostgreSQL 15 with pg_stat_statements that
# this test starts: a pg_monitor role (not a superuser) with a password
# that must never show; a known workload between the two polls of --once
# (exact calls and rows per fingerprint, an idle-in-transaction session, a
# blocking chain); a database without the extension; an unreachable
# server; and a server restarted under a running watcher, which must keep
# going, record the gap, fire an alert and stop cleanly on SIGTERM.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pg.sh"
tmp=$(mktemp -d)
HOLD_PIDS=
WATCH_PID=
cleanup() {
    [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
    for p in $HOLD_PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    pg_stop
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

if ! pg_start "$tmp/pg" "shared_preload_libraries = 'pg_stat_statements'" \
    "log_line_prefix = '%m [%p] %q%u@%d '"; then
    ok 1 "PostgreSQL 15 starts (initdb and pg_ctl in $PGBIN)"
    done_testing
    exit 1
fi
ok 0 "PostgreSQL 15 starts"

secret=Sekret-PW-never-shown
psql_ -d postgres -c "CREATE EXTENSION pg_stat_statements" \
    -c "CREATE TABLE t (id int PRIMARY KEY, v int)" \
    -c "INSERT INTO t SELECT g, g % 10 FROM generate_series(1, 1000) g" \
    -c "CREATE TABLE locked (id int)" \
    -c "CREATE ROLE monitor LOGIN PASSWORD '$secret' IN ROLE pg_monitor" \
    -c "GRANT SELECT ON t, locked TO PUBLIC" -c "CREATE DATABASE nopgss" >/dev/null
ok $? "schema, a pg_monitor role and a database without pg_stat_statements"
conn="host=$PGHOST port=$PGPORT dbname=postgres user=monitor password=$secret"

wait_for() { # wait_for FILE REGEX SECONDS
    for _ in $(seq 1 $(($3 * 10))); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# A session that keeps a transaction open: psql reading from a fifo we hold open.
hold_session() { # hold_session NAME SQL: starts psql, runs SQL, keeps the session
    mkfifo "$tmp/$1.fifo"
    chmod 666 "$tmp/$1.fifo"
    psql_ -d postgres -At <"$tmp/$1.fifo" >"$tmp/$1.out" 2>&1 &
    HOLD_PIDS="$HOLD_PIDS $!"
    eval "exec {fd_$1}>\"$tmp/$1.fifo\""
    local fd
    eval "fd=\$fd_$1"
    printf '%s\n' "$2" >&"$fd"
}

# 1. --once: a known workload between its two polls.
"$SLEUTH" -v watch --once --interval 4s "$conn" >"$tmp/once.json" 2>"$tmp/once.err" &
WATCH_PID=$!
wait_for "$tmp/once.err" "first poll done" 30
ok $? "--once made its first poll"
for i in $(seq 1 40); do echo "SELECT v FROM t WHERE id = $i;"; done | psql_ -d postgres >/dev/null
psql_ -d postgres -c "CREATE INDEX t_v_idx ON t (v)" >/dev/null
hold_session idle "SELECT pg_backend_pid(); BEGIN; SELECT 1;"
hold_session holder "SELECT pg_backend_pid(); BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE;"
wait_for "$tmp/holder.out" '^[0-9]+$' 10
psql_ -d postgres -At -c "SELECT pg_backend_pid()" -c "SELECT count(*) FROM locked" \
    >"$tmp/waiter.out" 2>&1 &
HOLD_PIDS="$HOLD_PIDS $!"
wait "$WATCH_PID"
is "$?" 0 "--once exits 0"
WATCH_PID=
sleep 0.2
holder_pid=$(head -1 "$tmp/holder.out")
waiter_pid=$(head -1 "$tmp/waiter.out")
idle_pid=$(head -1 "$tmp/idle.out")
j=$tmp/once.json
ok "$(jq -e . "$j" >/dev/null; echo $?)" "--once prints one JSON document"
is "$(jq '[.state.queries[] | select(.query == "select v from t where id = $1")] | length' "$j")" 1 \
    "the lookup is one fingerprint, with the text log analysis gives it"
is "$(jq '.state.queries[] | select(.query == "select v from t where id = $1") | .calls' "$j")" 40 \
    "its calls in the interval: exactly the 40 run between the polls"
is "$(jq '.state.queries[] | select(.query == "select v from t where id = $1") | .rows' "$j")" 40 \
    "and its rows: 40"
like "$(jq -r '.state.queries[] | select(.query == "select v from t where id = $1") | .fingerprint' "$j")" \
    '^[0-9a-f]{16}$' "fingerprints are 16 hex digits"
is "$(jq '.state.baseline_only' "$j")" false "the second poll has deltas"
is "$(jq '.state.connections.idle_in_transaction' "$j")" 2 \
    "two sessions idle in transaction (the idle one and the lock holder)"
is "$(jq -r --argjson p "$idle_pid" '.state.sessions[] | select(.pid == $p) | .query' "$j")" \
    'select $1' "a session's statement is shown normalised (no literals)"
is "$(jq --argjson p "$holder_pid" '[.state.blocking[] | select(.pid == $p)] | length' "$j")" 1 \
    "the lock holder is a root of the blocking tree"
is "$(jq --argjson p "$holder_pid" '.state.blocking[] | select(.pid == $p) | .children[0].pid' "$j")" \
    "$waiter_pid" "the waiting session hangs under it"
is "$(jq --argjson p "$waiter_pid" '.state.sessions[] | select(.pid == $p) | .blocked_by[0]' "$j")" \
    "$holder_pid" "the waiter's blocked_by names the holder"
is "$(jq '.state.connections.waiting' "$j")" 1 "one session waits on a lock"
is "$(jq -r '.state.indexes[] | select(.name == "t_pkey") | .def' "$j")" \
    "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)" "index definitions are read"
is "$(jq -r '.state.indexes[] | select(.name == "t_v_idx") | .def' "$j")" \
    "CREATE INDEX t_v_idx ON public.t USING btree (v)" "and that of an index created between the polls"
is "$(jq '[.state.queries[] | select(.query | test("^create index"))] | length' "$j")" 1 \
    "the DDL statement is among the interval's statements"
is "$(jq '[.state.queries[] | select(.query | test("pg_stat_statements|pg_stat_activity"))] | length' "$j")" 0 \
    "the watcher's own statements are left out"
is "$(jq '.state.settings.max_connections' "$j")" 100 "max_connections read"
is "$(jq '.state.settings.usable_connections' "$j")" 97 "usable: 100 minus 3 reserved"
is "$(jq -r '[.state.problems[].check] | join(",")' "$j")" "" "pg_monitor is enough: no problem"
like "$(jq -r .target "$j")" "^monitor@" "the target names the role"
ok "$(grep -c -- "$secret" "$j" "$tmp/once.err" | grep -vc ':0$')" "the password appears nowhere"
echo "SELECT 1;" >&"$fd_holder"
for p in $HOLD_PIDS; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
HOLD_PIDS=

# 1b. pg_stat_statements_reset() between the polls: counters start again, no negative delta.
for i in 1 2; do echo "SELECT id FROM t WHERE v = $i;"; done | psql_ -d postgres >/dev/null
"$SLEUTH" -v watch --once --interval 4s "$conn" >"$tmp/reset.json" 2>"$tmp/reset.err" &
WATCH_PID=$!
wait_for "$tmp/reset.err" "first poll done" 30
{
    for i in $(seq 1 10); do echo "SELECT v FROM t WHERE id = $i;"; done
    echo "SELECT pg_stat_statements_reset();"
    for i in $(seq 1 5); do echo "SELECT v FROM t WHERE id = $i;"; done
    for i in $(seq 1 7); do echo "SELECT id FROM t WHERE v = $i;"; done
} | psql_ -d postgres >/dev/null
wait "$WATCH_PID"
WATCH_PID=
is "$(jq '.state.queries[] | select(.query == "select v from t where id = $1") | .calls' "$tmp/reset.json")" 5 \
    "after a reset the interval counts the calls since the reset (5), never a negative delta"
is "$(jq '[.state.queries[] | select(.calls < 0 or .total_ms < 0)] | length' "$tmp/reset.json")" 0 \
    "no query has negative calls or time"
is "$(jq '.state.queries[] | select(.query == "select id from t where v = $1") | .calls' "$tmp/reset.json")" 7 \
    "a query that ran more after the reset than before it counts all 7 calls (stats_reset moved)"

# 1c. A role without pg_monitor: other roles' rows are hidden, so the interval is a gap (not
# zeros) that says what is missing and how to grant it.
psql_ -d postgres -c "CREATE ROLE nomon LOGIN" >/dev/null
"$SLEUTH" watch --once --interval 200ms "host=$PGHOST port=$PGPORT dbname=postgres user=nomon" \
    >"$tmp/nomon.json" 2>"$tmp/nomon.err"
is "$?" 0 "--once as a role without pg_monitor exits 0"
like "$(jq -r '.state.problems[] | select(.check == "privileges") | .hint' "$tmp/nomon.json")" \
    "GRANT pg_monitor" "the problem says to grant pg_monitor"
is "$(jq '.state.gap' "$tmp/nomon.json")" true "and the interval is a gap"
is "$(jq '.state.connections.total' "$tmp/nomon.json")" 0 "with no partial values in it"

# 2. No pg_stat_statements in that database: say how to fix it, keep the rest.
"$SLEUTH" watch --once --interval 200ms "host=$PGHOST port=$PGPORT dbname=nopgss user=monitor" \
    >"$tmp/nopgss.json" 2>"$tmp/nopgss.err"
is "$?" 0 "--once without the extension still exits 0"
like "$(jq -r '.state.problems[] | select(.check == "pg_stat_statements") | .hint' "$tmp/nopgss.json")" \
    "shared_preload_libraries.*CREATE EXTENSION pg_stat_statements" \
    "the problem says how to install pg_stat_statements"
is "$(jq '.state.settings.max_connections' "$tmp/nopgss.json")" 100 "the other checks still ran"
like "$(cat "$tmp/nopgss.err")" "pg_stat_statements" "the problem is on stderr too"

# 3. Nobody there: exit 4, a clear message, no password.
"$SLEUTH" watch --once --interval 200ms "host=$PGHOST port=1 user=monitor password=$secret" \
    >"$tmp/down.json" 2>"$tmp/down.err"
is "$?" 4 "--once against a server that is not there exits 4"
like "$(cat "$tmp/down.err")" "cannot connect to '.*port=1" "the message names the target"
is "$(grep -c -- "$secret" "$tmp/down.err")" 0 "and not its password"

# 4. A running watcher while the server restarts; a long query fires an alert. Its webhook
# points at a loopback port nobody listens on: every change must be counted at exit.
dead_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SLEUTH" -v watch --interval 500ms --store "$tmp/s.db" --alerts-jsonl "$tmp/alerts.jsonl" \
    --webhook "http://127.0.0.1:$dead_port/hook" \
    --no-color --set long_running=1s "$conn" >"$tmp/loop.out" 2>"$tmp/loop.err" &
WATCH_PID=$!
wait_for "$tmp/loop.err" "poll 2:" 30
ok $? "the watcher polls"
pg_as "$PGBIN/pg_ctl" -D "$tmp/pg/data" -m fast -w stop >/dev/null
wait_for "$tmp/loop.err" "poll [0-9]+: gap" 10
ok $? "a poll during the outage is a gap"
pg_as "$PGBIN/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/pg_ctl.log" -w start >/dev/null
ok $? "the server is back"
wait_for "$tmp/loop.err" "poll [0-9]+: ok.*\(baseline\)" 30
n=$(grep -Ec "poll [0-9]+: ok" "$tmp/loop.err")
wait_for "$tmp/loop.err" "poll $((n + 3)): ok" 30
psql_ -d postgres -c "SELECT pg_sleep(3)" >/dev/null &
sleep_pid=$!
wait_for "$tmp/alerts.jsonl" '"kind":"long_running_query"' 20
ok $? "a query running longer than long_running fires an alert"
wait "$sleep_pid"
wait_for "$tmp/alerts.jsonl" '"change":"resolved"' 20
ok $? "and it resolves once the query is done"
kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
is "$?" 0 "SIGTERM stops the watcher with status 0"
WATCH_PID=
like "$(cat "$tmp/loop.err")" "stopping \(SIGTERM\)" "and it says so"
changes=$(wc -l <"$tmp/alerts.jsonl")
summary=$(grep -o 'webhook: [0-9]* alert changes sent, [0-9]* failed, [0-9]* dropped' "$tmp/loop.err")
like "$summary" '^webhook: 0 alert changes sent' "the dead webhook delivered nothing, and the exit log says so"
failed=$(printf '%s' "$summary" | sed 's/.* sent, \([0-9]*\) failed, \([0-9]*\) dropped/\1/')
dropped=$(printf '%s' "$summary" | sed 's/.* sent, \([0-9]*\) failed, \([0-9]*\) dropped/\2/')
is "$((failed + dropped))" "$changes" \
    "every incident change ($changes) is counted as failed or dropped, none lost silently"
if [ "$dropped" -gt 0 ]; then
    like "$(cat "$tmp/loop.err")" "webhook: $dropped of [0-9]+ alert changes still queued at exit were dropped unsent" \
        "the changes still queued at exit are logged as dropped"
else
    like "$(cat "$tmp/loop.err")" "webhook: last error: POST to 'http://127.0.0.1:$dead_port/hook'" \
        "nothing was left queued; the last error names the webhook"
fi
long=$(grep '"kind":"long_running_query"' "$tmp/alerts.jsonl")
is "$(printf '%s\n' "$long" | grep -c '"change":"opened"')" 1 "the incident opened once (no flapping)"
is "$(printf '%s\n' "$long" | grep -c '"change":"resolved"')" 1 "and resolved once"
like "$long" '"query":"select pg_sleep\(\$1\)"' "the incident names the session's statement"
like "$(cat "$tmp/loop.out")" "INCIDENT #1 " "the console shows it too"
like "$(cat "$tmp/loop.out")" "alerts +long_running_query" "with the alert that is its evidence"
is "$(grep -c -- "$secret" "$tmp/loop.err" "$tmp/loop.out" "$tmp/alerts.jsonl" | grep -vc ':0$')" \
    0 "no password in any output"
is "$(grep -c -a -- "$secret" "$tmp/s.db")" 0 "nor in the store"

# 4b. A webhook that accepts connections and never answers: at exit the change still queued
# behind the one in flight is dropped, and the log counts it.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$tmp/hang.port" &
HOLD_PIDS="$HOLD_PIDS $!"
wait_for "$tmp/hang.port" '^[0-9]+$' 10
"$SLEUTH" -v watch --interval 500ms --no-store --alerts-jsonl "$tmp/hang.jsonl" \
    --webhook "http://127.0.0.1:$(cat "$tmp/hang.port")/hook" --set long_running=1s "$conn" \
    >/dev/null 2>"$tmp/hang.err" &
WATCH_PID=$!
wait_for "$tmp/hang.err" "poll 2: ok" 30
psql_ -d postgres -c "SELECT pg_sleep(2)" >/dev/null
wait_for "$tmp/hang.jsonl" '"change":"resolved"' 20
ok $? "an incident opened and resolved while the webhook hangs"
kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
WATCH_PID=
changes=$(wc -l <"$tmp/hang.jsonl")
# Usually the first change is in flight and the rest queued. When the exit comes more than
# the webhook's 5 s timeout after the first change was sent (a loaded machine), that attempt
# has already failed and the next change is the one in flight: 2 failed, 0 dropped. What must
# hold either way: nothing sent, every change counted failed or dropped, and the dropped ones
# logged as still queued (the summary lines are shown on a failure).
summary=$(grep -o 'webhook: [0-9]* alert changes sent, [0-9]* failed, [0-9]* dropped' "$tmp/hang.err")
like "$summary" '^webhook: 0 alert changes sent, [1-9][0-9]* failed' \
    "the hanging webhook got nothing through, the change in flight counted as failed"
failed=$(printf '%s' "$summary" | sed 's/.* sent, \([0-9]*\) failed, \([0-9]*\) dropped/\1/')
dropped=$(printf '%s' "$summary" | sed 's/.* sent, \([0-9]*\) failed, \([0-9]*\) dropped/\2/')
ok $([ -n "$failed" ] && [ $((failed + dropped)) -eq "$changes" ]; echo $?) \
    "every change ($changes) counted as failed ($failed) or dropped ($dropped)"
if [ "${dropped:-0}" -gt 0 ]; then
    like "$(grep 'webhook: ' "$tmp/hang.err")" "webhook: $dropped of $dropped alert changes still queued at exit were dropped unsent" \
        "the $dropped change(s) still queued at exit are logged as dropped"
fi
[ -n "$failed" ] && [ $((failed + dropped)) -eq "$changes" ] || tail -n 6 "$tmp/hang.err" | sed 's/^/# /'

# 5. pg_stat_statements fails for a few polls (dropped, then created again): the counters
# that come back are diffed against the last ones read, not counted again since the reset.
for i in $(seq 1 20); do echo "SELECT v FROM t WHERE id = $i;"; done | psql_ -d postgres >/dev/null
"$SLEUTH" -v watch --interval 500ms --store "$tmp/s2.db" "$conn" >/dev/null 2>"$tmp/s2.err" &
WATCH_PID=$!
wait_for "$tmp/s2.err" "poll 2: ok" 30
psql_ -d postgres -c "DROP EXTENSION pg_stat_statements" >/dev/null
wait_for "$tmp/s2.err" "poll [0-9]+: pg_stat_statements: .*does not exist" 20
ok $? "a failing pg_stat_statements is reported as a problem"
psql_ -d postgres -c "CREATE EXTENSION pg_stat_statements" >/dev/null
n=$(grep -Ec "poll [0-9]+: ok" "$tmp/s2.err")
wait_for "$tmp/s2.err" "poll $((n + 2)): ok" 20
for i in $(seq 1 7); do echo "SELECT v FROM t WHERE id = $i;"; done | psql_ -d postgres >/dev/null
n=$(grep -Ec "poll [0-9]+: ok" "$tmp/s2.err")
wait_for "$tmp/s2.err" "poll $((n + 3)): ok" 20
kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
WATCH_PID=
is "$("$SLEUTH" report --store "$tmp/s2.db" -f json | jq '[.queries[] | select(.query == "select v from t where id = $1")][0].calls')" \
    7 "only the 7 calls made while watching are counted, not the 20 from before"

# 5. The same reports from the stored history.
"$SLEUTH" report --store "$tmp/s.db" --format json >"$tmp/report.json" 2>"$tmp/report.err"
is "$?" 0 "report --store exits 0"
r=$tmp/report.json
is "$(jq '[.queries[] | select(.query == "select pg_sleep($1)")] | length' "$r")" 1 \
    "the stored pg_sleep query is one entry, with the text log analysis gives it"
is "$(jq '.queries[] | select(.query == "select pg_sleep($1)") | .calls' "$r")" 1 \
    "with its one call"
ok "$(jq -e '.queries[] | select(.query == "select pg_sleep($1)") | .mean_ms >= 3000' "$r" >/dev/null; echo $?)" \
    "and its mean time: at least the 3 s it slept"
is "$(jq -c '.queries[] | select(.query == "select pg_sleep($1)") | [.min_ms, .max_ms, .p95_ms]' "$r")" \
    "[null,null,null]" "per-call statistics are unknown, not zero"
is "$(jq '.summary.per_call_durations' "$r")" false "the summary says durations are means only"
ok "$(jq -e '.store.intervals >= 4' "$r" >/dev/null; echo $?)" "the stored intervals are counted"
ok "$(jq -e '.store.gap_intervals >= 1 and (.store.gaps | length) >= 1' "$r" >/dev/null; echo $?)" \
    "the restart is a gap"
like "$(jq -r .store.target "$r")" "user=monitor dbname=postgres host=" "the header names the target"
is "$(jq '[.alerts[] | select(.kind == "long_running_query")] | length' "$r")" 1 \
    "the stored long_running_query alert is listed"
"$SLEUTH" analyze --store "$tmp/s.db" >"$tmp/report.txt" 2>>"$tmp/report.err"
is "$?" 0 "analyze --store renders the text report"
like "$(cat "$tmp/report.txt")" "means only" "which says the durations are means only"
like "$(cat "$tmp/report.txt")" "long_running_query" "and lists the alert"
is "$(grep -c -- "$secret" "$r" "$tmp/report.txt" "$tmp/report.err" | grep -vc ':0$')" 0 \
    "no password in the reports"
done_testing
