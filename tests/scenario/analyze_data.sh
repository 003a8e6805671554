#!/bin/bash
# sleuth analyze on the real logs in tests/data (one pgbench run written
# as stderr, csvlog and jsonlog): counts checked against grep, the three
# formats against each other, threads against one thread, compressed and
# piped input against plain files, and the filters.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
DATA=$(data_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gzip -dc "$DATA/pgbench-stderr.log.gz" > "$tmp/pg.log"
log=$tmp/pg.log

# Expected values, counted with grep on the decompressed log.
n_stmt=$(grep -c 'LOG:  duration: [0-9.]* ms  statement: ' "$log")
n_exec=$(grep -c 'LOG:  duration: [0-9.]* ms  execute ' "$log")
n_bind=$(grep -c 'LOG:  duration: [0-9.]* ms  bind ' "$log")
n_err=$(grep -c -E '(ERROR|FATAL|PANIC):  ' "$log")
n_conn=$(grep -c 'connection authorized' "$log")
n_temp=$(grep -c 'temporary file: ' "$log")
n_wait=$(grep -c 'still waiting for' "$log")
n_dl=$(grep -c 'ERROR:  deadlock detected' "$log")
n_reporter=$(grep 'user=reporter,' "$log" | grep -c -E 'LOG:  duration: [0-9.]* ms  (statement:|execute) ')

"$SLEUTH" analyze --format json -j 1 -o "$tmp/j1.json" "$log"; ok $? "analyze -j 1 exits 0"
r=$tmp/j1.json
is "$(jq '.summary.queries' "$r")" $((n_stmt + n_exec)) "queries = statement + execute duration lines"
is "$(jq '.summary.timed_queries' "$r")" $((n_stmt + n_exec)) "all of them timed"
is "$(jq '[.queries[].bind_calls] | add' "$r")" "$n_bind" "binds are reported beside executes, not as calls"
is "$(jq '.summary.errors' "$r")" "$n_err" "errors = ERROR/FATAL/PANIC records"
is "$(jq '.events.connections' "$r")" "$n_conn" "connections"
is "$(jq '.events.temp_files' "$r")" "$n_temp" "temporary files"
is "$(jq '.events.lock_waits' "$r")" "$n_wait" "lock waits"
is "$(jq '.events.deadlocks' "$r")" "$n_dl" "deadlocks"
is "$(jq '.inputs[0].unparsed_lines' "$r")" 0 "every line recognised"
is "$(jq -r '.inputs[0].prefix' "$r")" "%t [%p]: user=%u,db=%d,app=%a,client=%h " "the prefix is detected"
is "$(jq '[.queries[].calls] | add' "$r")" "$(jq '.summary.queries' "$r")" "query calls add up to the summary"
is "$(jq '[.queries[] | .total_ms] | (.[0] >= .[1] and .[1] >= .[2])' "$r")" true "queries sorted by total time"
is "$(jq '[.queries[].fingerprint | test("^[0-9a-f]{16}$")] | all' "$r")" true "fingerprints are 16 hex digits"
is "$(jq '[.queries[] | .p50_ms <= .p95_ms and .p95_ms <= .p99_ms and .p99_ms <= .max_ms and .min_ms <= .p50_ms] | all' "$r")" true "quantiles are ordered within min and max"
like "$(jq -r '.summary.first' "$r")" '^2026-11-22T02:32:37\.000\+00:00$' "first is ISO 8601 with offset"
is "$(jq '[.timeline[].queries] | add' "$r")" "$(jq '.summary.queries' "$r")" "the timeline adds up"
like "$(jq -r '.queries[] | select(.query | startswith("select id, pad from perf_noindex")) | .example' "$r")" \
    "^SELECT id, pad FROM perf_noindex WHERE val = '?[0-9]+'?;?$" "examples carry real literals (parameters put back)"

"$SLEUTH" analyze --format json -j 2 -o "$tmp/j2.json" "$log"; ok $? "analyze -j 2 exits 0"
cmp -s "$tmp/j1.json" "$tmp/j2.json"; ok $? "-j 2 gives byte-identical JSON to -j 1"
"$SLEUTH" analyze --format json -j 7 -o "$tmp/j7.json" "$log"
cmp -s "$tmp/j1.json" "$tmp/j7.json"; ok $? "-j 7 too"

strip() { jq 'del(.inputs)' "$1"; }
for c in gzip bzip2 xz zstd; do
    $c -c "$log" > "$tmp/pg.log.$c" 2>/dev/null
    "$SLEUTH" analyze --format json -o "$tmp/c.json" "$tmp/pg.log.$c"
    is "$(jq -r '.inputs[0].compression' "$tmp/c.json")" "$c" "$c input is recognised"
    is "$(strip "$tmp/c.json" | md5sum)" "$(strip "$r" | md5sum)" "$c input gives the same report"
done
"$SLEUTH" analyze --format json -o "$tmp/stdin.json" - < "$tmp/pg.log.gzip"
is "$(strip "$tmp/stdin.json" | md5sum)" "$(strip "$r" | md5sum)" "compressed standard input gives the same report"

mkdir "$tmp/split"
split -n l/3 -d "$log" "$tmp/split/part" && for f in "$tmp"/split/part*; do mv "$f" "$f.log"; done
"$SLEUTH" analyze --format json -o "$tmp/glob.json" "$tmp/split/*.log"
is "$(jq '.inputs | length' "$tmp/glob.json")" 3 "a glob expands to its files"
is "$(jq '.summary.queries' "$tmp/glob.json")" "$(jq '.summary.queries' "$r")" "three parts count as the whole"

"$SLEUTH" analyze --format json --user reporter -o "$tmp/f.json" "$log"
is "$(jq '.summary.queries' "$tmp/f.json")" "$n_reporter" "--user keeps one user's queries"
"$SLEUTH" analyze --format json --min-duration 10 -o "$tmp/f.json" "$log"
is "$(jq '[.queries[].min_ms] | min >= 10' "$tmp/f.json")" true "--min-duration 10 keeps only statements of 10 ms or more"
"$SLEUTH" analyze --format json --since '2026-11-22 02:33:00' --until '2026-11-22 02:33:05' -o "$tmp/f.json" "$log"
is "$(jq -r '[.summary.first >= "2026-11-22T02:33:00", .summary.last < "2026-11-22T02:33:05"] | all' "$tmp/f.json")" true "--since/--until bound the period"

for fmt in csv json; do
    f=$DATA/pgbench.$fmt.gz
    "$SLEUTH" analyze --format json -o "$tmp/$fmt.json" "$f"; ok $? "analyze $fmt exits 0"
    is "$(jq '.inputs[0].unparsed_lines' "$tmp/$fmt.json")" 0 "$fmt: every record recognised"
    is "$(jq -c '[.summary.queries, .summary.errors, .summary.distinct_queries, .events.deadlocks, .events.connections]' "$tmp/$fmt.json")" \
       "$(jq -c '[.summary.queries, .summary.errors, .summary.distinct_queries, .events.deadlocks, .events.connections]' "$r")" \
       "$fmt agrees with stderr on queries, errors, distinct queries, deadlocks, connections"
done

# The same log as syslog would have it: "[N-M]" parts, #011 for the tab that
# starts a continuation, the DETAIL/STATEMENT lines as later parts.
awk '/^\t/ { part++; sub(/^\t/, "#011"); printf "Nov 22 %s db1 postgres[%s]: [%d-%d] %s\n", t, pid, seq, part, $0; next }
     { t = $2; pid = $4; gsub(/[\[\]:]/, "", pid); line = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", line)
       if (line ~ /^[^ ]* (DETAIL|STATEMENT|HINT|CONTEXT|QUERY):  /) part++; else { seq++; part = 1 }
       printf "Nov 22 %s db1 postgres[%s]: [%d-%d] %s\n", t, pid, seq, part, line }' "$log" > "$tmp/syslog.log"
"$SLEUTH" analyze --format json -o "$tmp/syslog.json" "$tmp/syslog.log"; ok $? "analyze syslog exits 0"
is "$(jq -r '.inputs[0].format' "$tmp/syslog.json")" syslog "the syslog format is detected"
is "$(jq '.inputs[0].unparsed_lines' "$tmp/syslog.json")" 0 "syslog: every line recognised"
is "$(strip "$tmp/syslog.json" | md5sum)" "$(strip "$r" | md5sum)" "syslog gives the same report as stderr"
"$SLEUTH" analyze --format json -j 2 -o "$tmp/syslog2.json" "$tmp/syslog.log"
cmp -s "$tmp/syslog.json" "$tmp/syslog2.json"; ok $? "syslog: -j 2 gives the same JSON as -j 1"

"$SLEUTH" analyze --top 5 "$log" > "$tmp/report.txt"; ok $? "the text report renders"
like "$(cat "$tmp/report.txt")" 'Queries by total time' "with its rankings"
"$SLEUTH" analyze --format md -o "$tmp/report.md" "$log"; ok $? "the Markdown report renders"
like "$(head -c 20000 "$tmp/report.md")" '\| *fingerprint' "with a query table"
done_testing
