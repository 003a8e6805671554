#!/bin/bash
# Incidents on schemas that are not the demo's shop, each staged on its own
# private PostgreSQL 15 with pgbench traffic, watched live every second,
# undone, and then judged three ways: live (/api/diagnosis), from the store
# (`sleuth report --store`) and from the server log (`sleuth analyze`).
# Each channel must name the cause and what it is about, place the onset
# within an interval live and within 5 s in the log, find the trigger and
# the fix, and the end after the undo; a steady run with a ramp and bursts
# must raise nothing anywhere. The last lines print the confusion matrix
# (scenario x channel). SLEUTH_INCIDENTS limits the run to some scenarios;
# SLEUTH_KEEP keeps their files.
# The scenarios load the CPU: meson runs this test alone.
set -u
SLEUTH=$1
here=$(dirname "$0")
. "$here/tap.sh"
. "$here/pg.sh"
. "$here/incident_lib.sh"
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() {
    [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
    pg_stop
    if [ -n "${SLEUTH_KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

STEADY=${SLEUTH_STEADY:-16}
FAULT=${SLEUTH_FAULT:-16}
AFTER=${SLEUTH_AFTER:-12}
SCENARIOS=${SLEUTH_INCIDENTS:-missing_index hot_index pool_exhaustion deploy_surge redundant_fetch plan_regression lock_contention traffic_surge resource_saturation two_faults steady_ramp}
MATRIX=()

# begin NAME SCHEMA PREFIX [conf...]: a server with the schema, traffic started by the
# scenario, the watcher following it.
begin() {
    local name=$1 schema=$2 prefix=$3
    shift 3
    DIR=$tmp/$name
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    server "$DIR" "$prefix" "$@" || return 1
    "schema_$schema" || return 1
}

# expect NAME CAUSE TABLE_REGEX: the top cause and its table in every channel.
expect() {
    local name=$1 cause=$2 table=$3 row="$1"
    for ch in api store log; do
        local got
        got=$(verdict $ch '.causes[0].cause')
        row="$row $ch=$got"
        is "$got" "$cause" "$name: $ch: the cause is $cause"
        [ -n "$table" ] && like "$(verdict $ch '.causes[0].table')" "$table" \
            "$name: $ch: on table $table"
    done
    # The postmortem is about the same incident, from the store and from the log.
    is "$(jq -r '.incident.causes[0].cause' "$DIR/pm-store.json" 2>/dev/null)" "$cause" \
        "$name: store: the postmortem's root cause is $cause"
    is "$(jq -r '.incident.causes[0].cause' "$DIR/pm-log.json" 2>/dev/null)" "$cause" \
        "$name: log: the postmortem's root cause is $cause"
    MATRIX+=("$row")
}

# timing NAME FAULT_T UNDO_T: the onset near the fault (live: one interval; log: 5 s), the end
# after the undo.
timing() {
    local name=$1 fault=$2 undo=$3 d dl
    d=$(seconds_from api .onset "$fault")
    dl=$(seconds_from log .onset "$fault")
    # pg_stat_statements and the log both count a call when it ends: when the fault's first
    # calls take seconds (a cold cache on a loaded machine), both see it start that late. A
    # live onset later than an interval must then agree with the log's within a second.
    ok $([ "$d" != none ] && [ "$d" -ge -1 ] && { [ "$d" -le 2 ] ||
        { [ "$dl" != none ] && [ "$d" -le 5 ] && [ $((d - dl)) -ge -1 ] && [ $((d - dl)) -le 1 ]; }; }
    echo $?) "$name: live onset within an interval of the fault, or of the log's ($d s, log $dl s)"
    d=$dl
    ok $([ "$d" != none ] && [ "$d" -ge -5 ] && [ "$d" -le 5 ]; echo $?) \
        "$name: the log's onset within 5 s of the fault ($d s)"
    if [ -n "$undo" ]; then
        # As early as the log's onset may be late: pgbench -T times its run from its own
        # start, and on a loaded machine its last rate-limited calls come late or not at all.
        for ch in api log; do
            d=$(seconds_from $ch .end "$undo")
            ok $([ "$d" != none ] && [ "$d" -ge -5 ] && [ "$d" -le 12 ]; echo $?) \
                "$name: $ch: the end follows the undo ($d s)"
        done
    fi
    echo "# $name: detection: live $(verdict api .time_to_detect_s) s, log $(verdict log .time_to_detect_s) s"
}

# change NAME WHICH KIND OBJECT_REGEX: the trigger or fix of every channel.
change() {
    local name=$1 which=$2 kind=$3 object=$4
    for ch in api store log; do
        is "$(verdict $ch ".$which.kind")" "$kind" "$name: $ch: the $which is a $kind"
        [ -n "$object" ] && like "$(verdict $ch ".$which.object")" "$object" \
            "$name: $ch: the $which is $object"
    done
}

one_incident() {
    for ch in api store log; do
        is "$(jq '.incidents | length' "$DIR/$ch.json")" 1 "$1: $ch: one incident"
    done
}

# --- the scenarios -----------------------------------------------------------------------

sc_missing_index() {
    begin missing_index library '%m [%p] %q%u@%d ' || return
    script lookup <<'EOF'
\set a random(1, 20000)
SELECT id, title, published FROM books WHERE author_id = :a ORDER BY published DESC LIMIT 10;
EOF
    script member <<'EOF'
\set m random(1, 10000)
SELECT count(*) FROM loans WHERE member_id = :m;
EOF
    watch_start
    traffic web web-library 80 $((STEADY + FAULT + AFTER)) -f "$DIR/lookup.sql@3" -f "$DIR/member.sql@1"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    APP=migration app_sql appdb "DROP INDEX books_author_id_idx"
    sleep "$FAULT"
    undo=$(now)
    APP=migration app_sql appdb "CREATE INDEX CONCURRENTLY books_author_id_idx ON books (author_id)"
    sleep "$AFTER"
    stop_traffic web
    collect
    one_incident missing_index
    expect missing_index missing_index books
    for ch in api store log; do
        is "$(verdict $ch '.causes[0].columns[0]')" author_id "missing_index: $ch: column author_id"
    done
    change missing_index trigger drop_index books_author_id_idx
    change missing_index fix create_index books_author_id_idx
    timing missing_index "$fault" "$undo"
    # The report's interval is for charts: the diagnosis does not depend on it.
    "$SLEUTH" analyze --interval 10s -f json "$DIR/postgresql.log" >"$DIR/log10s.json" 2>/dev/null
    is "$(verdict log10s '.causes[0].cause') $(verdict log10s '.trigger.object')" \
        "missing_index books_author_id_idx" "missing_index: log at --interval 10s: the same verdict"
}

sc_hot_index() {
    begin hot_index tickets '%m [%p] %q[user=%u,db=%d,app=%a] ' || return
    script view <<'EOF'
\set t random(1, 200000)
SELECT id, status, subject FROM tickets WHERE id = :t;
SELECT body FROM comments WHERE ticket_id = :t ORDER BY created_at LIMIT 20;
EOF
    script work <<'EOF'
\set t random(1, 3000)
UPDATE tickets SET status = (ARRAY['open', 'pending', 'closed'])[1 + :t % 3], updated_at = now() WHERE id = :t;
EOF
    watch_start
    traffic web web-desk 120 $((STEADY + FAULT + AFTER)) -f "$DIR/view.sql@1" -f "$DIR/work.sql@2"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    APP=migration app_sql appdb "CREATE INDEX tickets_status_updated_idx ON tickets (status, updated_at)"
    sleep "$FAULT"
    undo=$(now)
    APP=migration app_sql appdb "DROP INDEX tickets_status_updated_idx"
    sleep "$AFTER"
    stop_traffic web
    collect
    one_incident hot_index
    expect hot_index hot_index tickets
    for ch in api store log; do
        is "$(verdict $ch '.causes[0].index')" tickets_status_updated_idx \
            "hot_index: $ch: the index is named"
        like "$(verdict $ch '.causes[0].query')" '^update tickets set status' \
            "hot_index: $ch: the UPDATE that lost HOT"
    done
    change hot_index trigger create_index tickets_status_updated_idx
    change hot_index fix drop_index tickets_status_updated_idx
    timing hot_index "$fault" "$undo"
}

# Sessions that begin a transaction, touch a row and wait (a worker that calls a slow API
# inside its transaction), until the pool and then the server's slots are gone.
leak() {
    local n=$1 secs=$2
    for i in $(seq 1 "$n"); do
        (
            echo "BEGIN;"
            echo "UPDATE users SET karma = karma + 1 WHERE id = $((i * 7));"
            sleep "$secs"
            echo "COMMIT;"
        ) | PGAPPNAME=blog-worker "$PSQL" -X -q -h "$PGHOST" -p "$PGPORT" -U app -d appdb \
            >/dev/null 2>&1 &
    done
}

sc_pool_exhaustion() {
    begin pool_exhaustion blog '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ' \
        "max_connections = 25" || return
    script page <<'EOF'
\set p random(1, 100000)
SELECT id, title, body FROM posts WHERE id = :p;
SELECT user_id, body FROM comments WHERE post_id = :p LIMIT 50;
EOF
    watch_start
    # Every page opens its own connection (-C), as a web tier without a pooler does.
    traffic web web-blog 40 $((STEADY + FAULT + AFTER)) -C -f "$DIR/page.sql"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    leak 20 "$FAULT"
    # The leaked transactions commit FAULT s after they began: that is the undo, however long
    # starting twenty of them took.
    sleep_until "$(awk -v f="$fault" -v d="$FAULT" 'BEGIN { printf "%.3f", f + d }')"
    undo=$(now)
    sleep "$AFTER"
    stop_traffic web
    collect
    expect pool_exhaustion pool_exhaustion users
    for ch in api store log; do
        is "$(verdict $ch '.causes[0].evidence.holders[0].application')" blog-worker \
            "pool_exhaustion: $ch: the sessions that held the connections are named"
        like "$(verdict $ch '.causes[0].query')" '^update users set karma' \
            "pool_exhaustion: $ch: their last statement"
    done
    like "$(verdict log '.causes[0].evidence.after.refused_connections')" '^[1-9]' \
        "pool_exhaustion: log: connections were refused"
    timing pool_exhaustion "$fault" "$undo"
}

sc_deploy_surge() {
    begin deploy_surge blog '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ' || return
    script front <<'EOF'
\set u random(1, 10000)
SELECT id, title, published_at FROM posts WHERE user_id = :u ORDER BY published_at DESC LIMIT 10;
EOF
    # The release shows each post with its comment count: one query per post (N+1).
    script front2 <<'EOF'
\set u random(1, 10000)
SELECT id, title, published_at FROM posts WHERE user_id = :u ORDER BY published_at DESC LIMIT 10;
\set p1 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p1;
\set p2 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p2;
\set p3 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p3;
\set p4 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p4;
\set p5 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p5;
\set p6 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p6;
\set p7 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p7;
\set p8 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p8;
\set p9 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p9;
\set p10 random(1, 100000)
SELECT count(*) FROM comments WHERE post_id = :p10;
EOF
    watch_start
    traffic v1 blog-v1 60 $((STEADY)) -f "$DIR/front.sql"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    traffic v2 blog-v2 60 $((FAULT)) -f "$DIR/front2.sql"
    sleep "$FAULT"
    undo=$(now)
    traffic v1b blog-v1 60 $((AFTER)) -f "$DIR/front.sql"
    sleep "$AFTER"
    collect
    expect deploy_surge deploy_surge comments
    for ch in api store log; do
        like "$(verdict $ch '.causes[0].query')" 'from comments where post_id' \
            "deploy_surge: $ch: the per-post query"
    done
    change deploy_surge trigger new_application blog-v2
    timing deploy_surge "$fault" "$undo"
}

sc_redundant_fetch() {
    begin redundant_fetch library '%m [%p] %q%u@%d ' || return
    script list <<'EOF'
\set a random(1, 20000)
SELECT id, title FROM books WHERE author_id = :a ORDER BY published DESC LIMIT 20;
EOF
    # The release loads every column of every book published since a date, to show twenty.
    script list2 <<'EOF'
\set d random(1, 900)
SELECT * FROM books WHERE published > date '1990-01-01' + 11000 + :d;
EOF
    watch_start
    traffic web web-library 60 $((STEADY + FAULT + AFTER)) -f "$DIR/list.sql"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    traffic v2 web-library-v2 5 "$FAULT" -f "$DIR/list2.sql"
    sleep "$FAULT"
    undo=$(now)
    sleep "$AFTER"
    stop_traffic web
    collect
    expect redundant_fetch redundant_fetch books
    for ch in api store log; do
        like "$(verdict $ch '.causes[0].query')" '^select \* from books' \
            "redundant_fetch: $ch: the query that fetches every column"
    done
    timing redundant_fetch "$fault" "$undo"
}

sc_plan_regression() {
    # auto_explain logs every plan: the log shows the plan before and after.
    begin plan_regression tickets '%m [%p] %q[user=%u,db=%d,app=%a] ' \
        "shared_preload_libraries = 'pg_stat_statements,auto_explain'" \
        "auto_explain.log_min_duration = 0" || return
    script list <<'EOF'
\set a random(1, 2000)
SELECT id, subject, status FROM tickets WHERE account_id = :a ORDER BY id DESC LIMIT 20;
\set t random(1, 200000)
SELECT body FROM comments WHERE ticket_id = :t LIMIT 20;
EOF
    watch_start
    traffic web web-desk 40 $((STEADY + FAULT + AFTER)) -f "$DIR/list.sql"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    psql_ -d postgres -c "ALTER SYSTEM SET enable_indexscan = off" \
        -c "ALTER SYSTEM SET enable_bitmapscan = off" -c "SELECT pg_reload_conf()" >/dev/null
    sleep "$FAULT"
    undo=$(now)
    psql_ -d postgres -c "ALTER SYSTEM RESET enable_indexscan" \
        -c "ALTER SYSTEM RESET enable_bitmapscan" -c "SELECT pg_reload_conf()" >/dev/null
    sleep "$AFTER"
    stop_traffic web
    collect
    expect plan_regression plan_regression '(tickets|comments)'
    change plan_regression trigger setting 'enable_(index|bitmap)scan'
    change plan_regression fix setting 'enable_(index|bitmap)scan'
    like "$(verdict log '.causes[0].evidence.plans.before.outline')" \
        'Index (Only )?Scan using|Bitmap Index Scan on' \
        "plan_regression: log: the plan before used an index"
    like "$(verdict log '.causes[0].evidence.plans.after.outline')" 'Seq Scan on' \
        "plan_regression: log: the plan after scans the table"
    timing plan_regression "$fault" "$undo"
}

sc_lock_contention() {
    begin lock_contention tickets '%m [%p] %q[user=%u,db=%d,app=%a] ' || return
    script view <<'EOF'
\set t random(1, 200000)
SELECT id, status, subject FROM tickets WHERE id = :t;
EOF
    watch_start
    traffic web web-desk 60 $((STEADY + FAULT + AFTER)) -f "$DIR/view.sql"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    # A migration that alters the table and then holds its transaction open.
    (
        echo "BEGIN;"
        echo "ALTER TABLE tickets ADD COLUMN note text;"
        sleep "$FAULT"
        echo "COMMIT;"
    ) | PGAPPNAME=migration "$PSQL" -X -q -h "$PGHOST" -p "$PGPORT" -U app -d appdb >/dev/null 2>&1 &
    sleep "$FAULT"
    undo=$(now)
    sleep "$AFTER"
    stop_traffic web
    collect
    expect lock_contention lock_contention tickets
    for ch in api store log; do
        like "$(verdict $ch '.causes[0].query')" '^alter table tickets add column' \
            "lock_contention: $ch: the blocker's statement"
        is "$(verdict $ch '.causes[0].evidence.blocker.application')" migration \
            "lock_contention: $ch: the blocker's application"
        is "$(verdict $ch '.causes[0].evidence.blocker.migration')" true \
            "lock_contention: $ch: a migration"
    done
    change lock_contention fix transaction_end ''
    timing lock_contention "$fault" "$undo"
}

sc_traffic_surge() {
    begin traffic_surge blog '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ' || return
    script page <<'EOF'
\set p random(1, 100000)
SELECT id, title, body FROM posts WHERE id = :p;
SELECT user_id, body FROM comments WHERE post_id = :p LIMIT 50;
EOF
    watch_start
    traffic web web-blog 60 $((STEADY + FAULT + AFTER)) -f "$DIR/page.sql"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    # The same pages from many more clients, each opening its own connection.
    PGAPPNAME=web-blog "$PGBENCH" -n -h "$PGHOST" -p "$PGPORT" -U app -c 12 -j 2 -C -T "$FAULT" \
        -f "$DIR/page.sql" appdb >"$DIR/surge.out" 2>&1
    undo=$(now)
    sleep "$AFTER"
    stop_traffic web
    collect
    expect traffic_surge traffic_surge ''
    for ch in api store log; do
        is "$(verdict $ch '.causes[0].query')" null "traffic_surge: $ch: no query is blamed"
    done
    timing traffic_surge "$fault" "$undo"
}

# Busy loops, each in a session of its own: the kernel shares the CPU between sessions
# (autogroups), so four per core leave the server's processes a fifth of the machine.
hog() {
    local secs=$1 n
    n=$((4 * $(nproc)))
    for _ in $(seq 1 "$n"); do
        setsid timeout "$secs" sh -c 'while :; do :; done' &
    done
}

sc_resource_saturation() {
    begin resource_saturation library '%m [%p] %q%u@%d ' || return
    # A reporting page: three aggregates of about 5 ms each, some 0.4 s of CPU a second in
    # all: more than the server keeps once the hogs run. Each is longer than a scheduler
    # slice: a statement of 2 ms mostly ends before the hogs preempt it and barely slows.
    script report <<'EOF'
\set d random(1, 10000)
SELECT count(*), avg(pages) FROM books WHERE published BETWEEN date '1990-01-01' + :d AND date '1990-01-01' + :d + 1500;
\set m random(1, 4000)
SELECT count(*), max(loaned_at) FROM loans WHERE member_id BETWEEN :m AND :m + 6000;
\set a random(1, 12000)
SELECT author_id, count(*) FROM books WHERE author_id BETWEEN :a AND :a + 6000 GROUP BY author_id ORDER BY 2 DESC LIMIT 5;
EOF
    watch_start
    traffic web web-library 24 $((STEADY + FAULT + AFTER)) -f "$DIR/report.sql"
    sleep "$STEADY"
    local fault undo
    fault=$(now)
    hog "$FAULT"
    sleep_until "$(awk -v f="$fault" -v d="$FAULT" 'BEGIN { printf "%.3f", f + d }')"
    undo=$(now)
    sleep "$AFTER"
    stop_traffic web
    collect
    expect resource_saturation resource_saturation ''
    for ch in api store log; do
        is "$(verdict $ch '.causes[0].query')" null "resource_saturation: $ch: no query is blamed"
    done
    timing resource_saturation "$fault" "$undo"
}

sc_two_faults() {
    begin two_faults library '%m [%p] %q%u@%d ' || return
    script lookup <<'EOF'
\set a random(1, 20000)
SELECT id, title, published FROM books WHERE author_id = :a ORDER BY published DESC LIMIT 10;
\set m random(1, 10000)
SELECT count(*) FROM loans WHERE member_id = :m;
EOF
    watch_start
    traffic web web-library 60 $((STEADY + 3 * FAULT + 2 * AFTER)) -f "$DIR/lookup.sql"
    sleep "$STEADY"
    APP=migration app_sql appdb "DROP INDEX books_author_id_idx"
    sleep "$FAULT"
    APP=migration app_sql appdb "CREATE INDEX books_author_id_idx ON books (author_id)"
    sleep "$AFTER"
    local fault2
    fault2=$(now)
    APP=migration app_sql appdb "DROP INDEX loans_member_id_idx"
    sleep "$FAULT"
    APP=migration app_sql appdb "CREATE INDEX loans_member_id_idx ON loans (member_id)"
    sleep "$AFTER"
    stop_traffic web
    collect
    for ch in api store log; do
        is "$(jq '.incidents | length' "$DIR/$ch.json")" 2 "two_faults: $ch: two incidents"
        is "$(jq -r '[.incidents[].causes[0].cause] | join(",")' "$DIR/$ch.json")" \
            missing_index,missing_index "two_faults: $ch: both missing indexes"
        is "$(jq -r '[.incidents[].causes[0].table] | join(",")' "$DIR/$ch.json")" books,loans \
            "two_faults: $ch: books, then loans"
        is "$(jq -r '[.incidents[].trigger.object] | join(",")' "$DIR/$ch.json")" \
            books_author_id_idx,loans_member_id_idx "two_faults: $ch: each with its trigger"
    done
    MATRIX+=("two_faults $(for ch in api store log; do printf '%s=%s ' $ch "$(jq -r '[.incidents[].causes[0].cause] | join("+")' "$DIR/$ch.json")"; done)")
    local d
    d=$(jq -r --arg t "$fault2" 'def t: sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601;
        (.incidents[1].onset | t) - ($t | tonumber | floor)' "$DIR/log.json" 2>/dev/null)
    ok $([ -n "$d" ] && [ "$d" -ge -5 ] && [ "$d" -le 5 ]; echo $?) \
        "two_faults: the second's onset in the log within 5 s of its fault ($d s)"
}

# Traffic that rises threefold and falls back, with short bursts: nothing is wrong.
sc_steady_ramp() {
    begin steady_ramp blog '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ' || return
    script page <<'EOF'
\set p random(1, 100000)
SELECT id, title, body FROM posts WHERE id = :p;
SELECT user_id, body FROM comments WHERE post_id = :p LIMIT 50;
EOF
    watch_start
    local rate
    for rate in 30 40 50 60 70 80 90 70 50 30; do
        traffic web web-blog "$rate" 4 -f "$DIR/page.sql"
        stop_traffic burst
        wait "$(cat "$DIR/web.pid")" 2>/dev/null
        [ "$rate" = 60 ] && traffic burst web-blog 60 2 -f "$DIR/page.sql"
    done
    sleep 2
    collect
    for ch in api store log; do
        is "$(jq '.incidents | length' "$DIR/$ch.json")" 0 "steady_ramp: $ch: no incident"
        is "$(jq '.diagnosis | length' "$DIR/$ch.json")" 0 "steady_ramp: $ch: no diagnosis"
    done
    is "$(wc -l <"$DIR/incidents.jsonl" 2>/dev/null || echo 0)" 0 "steady_ramp: no alert reached a sink"
    is "$(cat "$DIR/pm-store.json" "$DIR/pm-log.json" | wc -c)" 0 "steady_ramp: no postmortem to write"
    MATRIX+=("steady_ramp $(for ch in api store log; do printf '%s=%s ' $ch "$(jq '.incidents | length' "$DIR/$ch.json") incidents"; done)")
}

for s in $SCENARIOS; do
    start=$(date +%s)
    "sc_$s"
    echo "# $s: $(($(date +%s) - start)) s"
done
echo "# confusion matrix (scenario: top cause live / stored / from the log):"
for row in "${MATRIX[@]}"; do echo "#   $row"; done
done_testing
