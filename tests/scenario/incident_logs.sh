#!/bin/bash
# sleuth analyze on logs of incidents that a real server wrote (tests/data,
# each made as its README says): one incident each, its cause, trigger, fix
# and times, and nothing where an application merely started.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
DATA=$(data_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

epoch() { date -u -d "$1" +%s.%N; }
# seconds from $1 to $2 (ISO or log times), rounded
delta() { awk -v a="$(epoch "$1")" -v b="$(epoch "$2")" 'BEGIN { printf "%.0f", b - a }'; }

# --- an index on updated columns, built for 4 s while the UPDATEs wait ---------------------
# The log begins with the database's creation and the application's start: that is its normal,
# not a release. The CREATE INDEX is logged when it ends; the waits began when it started.
gzip -dc "$DATA/hot-index-build.log.gz" > "$tmp/hot.log"
create=$(grep -m1 'statement: create index jobs_state_touched_idx' "$tmp/hot.log")
created_at=$(cut -c1-23 <<<"$create")
build_ms=$(sed -E 's/.*duration: ([0-9.]+) ms.*/\1/' <<<"$create")
fault=$(date -u -d "@$(awk -v t="$(epoch "$created_at")" -v d="$build_ms" 'BEGIN { printf "%.3f", t - d / 1000 }')" +%FT%T.%3N)
dropped_at=$(grep -m1 'statement: drop index jobs_state_touched_idx' "$tmp/hot.log" | cut -c1-23)

"$SLEUTH" analyze --format json -o "$tmp/hot.json" "$tmp/hot.log"
ok $? "hot index build: analyze exits 0"
j=$tmp/hot.json
is "$(jq '.incidents | length' "$j")" 1 "hot index build: one incident (the application's start is none)"
is "$(jq -r '.incidents[0].causes[0].cause' "$j")" hot_index "hot index build: the cause is hot_index"
is "$(jq -r '.incidents[0].causes[0].index' "$j")" jobs_state_touched_idx \
    "hot index build: the index built during the waits is named"
is "$(jq -r '.incidents[0].causes[0].columns | join(",")' "$j")" state,touched_at \
    "hot index build: its columns"
like "$(jq -r '.incidents[0].causes[0].query' "$j")" '^update jobs set state = ' \
    "hot index build: the UPDATE that lost HOT"
is "$(jq -r '.incidents[0].trigger.kind + " " + .incidents[0].trigger.object' "$j")" \
    "create_index jobs_state_touched_idx" "hot index build: the trigger is the CREATE INDEX, logged after the detection"
is "$(jq -r '.incidents[0].fix.kind + " " + .incidents[0].fix.object' "$j")" \
    "drop_index jobs_state_touched_idx" "hot index build: the fix is the DROP INDEX"
d=$(delta "$fault" "$(jq -r '.incidents[0].onset' "$j")")
ok $((d < -5 || d > 5)) "hot index build: onset within 5 s of the build's start ($d s)"
d=$(delta "$dropped_at" "$(jq -r '.incidents[0].end' "$j")")
ok $((d < -5 || d > 5)) "hot index build: the end within 5 s of the drop ($d s)"
is "$(jq -r '.incidents[0].state' "$j")" resolved "hot index build: resolved"

# --- the short log of a small app: an index dropped, recreated a minute later -----------------
gzip -dc "$DATA/missing-index-short.log.gz" > "$tmp/short.log"
dropped_at=$(grep -m1 'statement: drop index readings_sensor_taken_idx' "$tmp/short.log" | cut -c1-23)
rebuilt_at=$(grep -m1 'statement: create index concurrently readings_sensor_taken_idx' "$tmp/short.log" | cut -c1-23)
for iv in default 10s; do
    args=()
    [ "$iv" = default ] || args=(--interval "$iv")
    "$SLEUTH" analyze --format json "${args[@]}" -o "$tmp/short-$iv.json" "$tmp/short.log"
    ok $? "short log ($iv): analyze exits 0"
    j=$tmp/short-$iv.json
    is "$(jq -r '.inputs[0].prefix + " " + (.queries[0].users[0].name // "none")' "$j")" \
        "%m [%p] %q%u@%d %a  postgres" "short log ($iv): its prefix is detected, with the user"
    is "$(jq '.incidents | length' "$j")" 1 "short log ($iv): one incident"
    is "$(jq -r '.incidents[0].causes[0] | [.cause, .table, (.columns | join(",")), .index] | join(" ")' "$j")" \
        "missing_index readings sensor_id,taken_at readings_sensor_taken_idx" \
        "short log ($iv): missing_index on the lookup's table and columns, naming the dropped index"
    like "$(jq -r '.incidents[0].causes[0].query' "$j")" '^select taken_at, value from readings where sensor_id = ' \
        "short log ($iv): the lookup is the query"
    is "$(jq -r '.incidents[0].trigger.kind + " " + .incidents[0].trigger.object' "$j")" \
        "drop_index readings_sensor_taken_idx" "short log ($iv): the trigger is the DROP INDEX"
    is "$(jq -r '.incidents[0].fix.kind + " " + .incidents[0].fix.object' "$j")" \
        "create_index readings_sensor_taken_idx" "short log ($iv): the fix is the rebuild"
    d=$(delta "$dropped_at" "$(jq -r '.incidents[0].onset' "$j")")
    ok $((d < -5 || d > 5)) "short log ($iv): onset within 5 s of the drop ($d s)"
    d=$(delta "$rebuilt_at" "$(jq -r '.incidents[0].end' "$j")")
    ok $((d < -5 || d > 5)) "short log ($iv): the end within 5 s of the rebuild ($d s)"
done

# --- the postmortem of each, from the log alone ---------------------------------------------
words() { sed '/^```/,/^```/d' "$1" | wc -w; }
sections='## Issue summary|## Timeline|## Root cause and resolution|## Corrective and preventive measures|## Playbook for the next time'
"$SLEUTH" postmortem -o "$tmp/short.md" "$tmp/short.log"
ok $? "postmortem (short log): exits 0"
is "$(grep -cE "^($sections)\$" "$tmp/short.md")" 5 "postmortem (short log): the five sections"
grep -qxF 'CREATE INDEX CONCURRENTLY ON readings (sensor_id, taken_at);' "$tmp/short.md"
ok $? "postmortem (short log): the exact SQL of the index to keep"
grep -q '^- \*\*[0-9T:.+-]*\*\* Trigger: drop\\_index readings\\_sensor\\_taken\\_idx' "$tmp/short.md"
ok $? "postmortem (short log): the trigger on the timeline"
is "$(sed -n '/^# sleuth.conf$/,/^```$/p' "$tmp/short.md" | sed '1d;$d' | tr '\n' ' ')" \
    "latency_ratio = 2 latency_min_increase = 5ms " \
    "postmortem (short log): the opening alert's thresholds as a watch setting"
grep -q 'Escalation: who was paged, who decided: \\_\\_\\_\\_' "$tmp/short.md"
ok $? "postmortem (short log): a blank for what no log knows"
grep -q 'Impact on users: cannot tell from these sources' "$tmp/short.md"
ok $? "postmortem (short log): the users' side is said to be missing, not invented"
n=$(words "$tmp/short.md")
ok $((n < 400 || n > 700)) "postmortem (short log): 400-700 words of prose ($n)"
"$SLEUTH" postmortem -f json -o "$tmp/short-pm.json" "$tmp/short.log"
ok $? "postmortem json (short log): exits 0"
j=$tmp/short-pm.json
is "$(jq -r '.incident.causes[0].cause' "$j")" missing_index "postmortem json: the incident it is about"
is "$(jq '[.numbers[] | select(.name == "time_to_detect_s")][0].value' "$j")" \
    "$(jq '.incidents[0].time_to_detect_s' "$tmp/short-default.json")" \
    "postmortem json: its time to detect is the analysis's"
is "$(jq -r '[.timeline[].kind] | map(select(. == "trigger" or . == "onset" or . == "detection" or . == "fix" or . == "recovery")) | join(" ")' "$j")" \
    "onset trigger detection fix recovery" "postmortem json: the timeline in time order"
is "$(jq '[.numbers[] | select(.source == null or .source == "")] | length' "$j")" 0 \
    "postmortem json: every number says where it came from"
"$SLEUTH" postmortem -o "$tmp/hot.md" "$tmp/hot.log"
grep -qxF 'DROP INDEX CONCURRENTLY jobs_state_touched_idx;' "$tmp/hot.md"
ok $? "postmortem (hot index): the exact SQL of the index to keep out"
grep -q 'sleuth demo hot-index' "$tmp/hot.md"
ok $? "postmortem (hot index): the drill for its kind"
"$SLEUTH" postmortem --incident 2 "$tmp/short.log" > /dev/null 2> "$tmp/pm.err"
is $? 1 "postmortem --incident 2 of a log with one: exit 1"
like "$(cat "$tmp/pm.err")" 'no incident numbered 2 \(1 found\)' "postmortem: says which incidents exist"
# The steady minute before the drop: nothing to write.
awk -v until="$dropped_at" 'substr($0, 1, 23) < until' "$tmp/short.log" > "$tmp/steady.log"
"$SLEUTH" postmortem "$tmp/steady.log" > "$tmp/steady.md" 2> "$tmp/pm.err"
is $? 1 "postmortem of a steady log: exit 1"
is "$(wc -c < "$tmp/steady.md")" 0 "postmortem of a steady log: nothing written"
like "$(cat "$tmp/pm.err")" 'no incident in these data' "postmortem of a steady log: says so"
# A statement that carries markup: escaped in HTML and Markdown.
sed 's/select taken_at, value from readings/select taken_at, value AS "<script>alert(1)<\/script>" from readings/' \
    "$tmp/short.log" > "$tmp/markup.log"
"$SLEUTH" postmortem -f html -o "$tmp/markup.html" "$tmp/markup.log"
ok $? "postmortem html: exits 0"
is "$(grep -c '<script>' "$tmp/markup.html")" 0 "postmortem html: no raw <script> from the log"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$tmp/markup.html"
ok $? "postmortem html: the statement shown escaped"
"$SLEUTH" postmortem -o "$tmp/markup.md" "$tmp/markup.log"
is "$(sed '/^```/,/^```/d' "$tmp/markup.md" | grep -c '[^\\]<script>')" 0 \
    "postmortem md: markup escaped outside code blocks"

# --- a watcher polls an idle server, then the application starts ------------------------------
# sleuth watch's own statements (/* sleuth */, logged with log_min_duration_statement = 0) are not
# the workload: the stretch before the application is idle, and its start is no release.
awk 'BEGIN {
    split("SELECT pid, state FROM pg_stat_activity WHERE pid <> pg_backend_pid()|SELECT queryid, calls FROM pg_stat_statements|SELECT relid, seq_scan FROM pg_stat_user_tables|SELECT locktype, granted FROM pg_locks", mon, "|")
    for (t = 0; t < 3000; t++) { # 300 s in tenths
        s = t / 10
        if (t % 10 == 0)
            for (k = 1; k <= 4; k++)
                printf "2026-12-07 01:%02d:%06.3f UTC [900] monitor@appdb LOG:  duration: 0.800 ms  statement: /* sleuth */ %s\n", int(s / 60), s % 60 + k / 1000, mon[k]
        if (s >= 120)
            for (k = 0; k < 20; k++) {
                printf "2026-12-07 01:%02d:%06.3f UTC [%d] app@appdb LOG:  duration: 1.%03d ms  statement: SELECT id, title FROM books WHERE author_id = %d\n", int(s / 60), s % 60 + 0.01 + k / 500, 1000 + k, k, k * 7 + t % 50
                if (k % 4 == 0)
                    printf "2026-12-07 01:%02d:%06.3f UTC [%d] app@appdb LOG:  duration: 0.%03d ms  statement: SELECT count(*) FROM loans WHERE book_id = %d\n", int(s / 60), s % 60 + 0.011 + k / 500, 1000 + k, k + 100, k + t
            }
    }
}' > "$tmp/app-start.log"
"$SLEUTH" analyze -f json -o "$tmp/app-start.json" "$tmp/app-start.log"
ok $? "watcher then application start: analyze exits 0"
is "$(jq '.incidents | length' "$tmp/app-start.json")" 0 \
    "watcher then application start: the watcher's polls are not a workload, the start is no incident"
is "$(jq '[.queries[] | select(.query | test("pg_stat_activity|pg_stat_statements|pg_stat_user_tables|pg_locks")) | .calls] | add' "$tmp/app-start.json")" \
    1200 "watcher then application start: the watcher's statements are still counted in the report"

done_testing
