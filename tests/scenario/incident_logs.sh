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

done_testing
