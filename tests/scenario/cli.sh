#!/bin/bash
# The command line: help, version, usage errors, exit codes, and clear
# messages for inputs that are not logs.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$SLEUTH" --version); ok $? "--version exits 0"
like "$out" '^sleuth [0-9]+\.[0-9]+\.[0-9]+$' "--version prints the version"
out=$("$SLEUTH" --help); ok $? "--help exits 0"
like "$out" 'analyze' "--help lists analyze"
out=$("$SLEUTH" help analyze); ok $? "help analyze exits 0"
like "$out" '^usage: sleuth analyze' "help analyze prints the usage"
is "$("$SLEUTH" analyze --help)" "$out" "analyze --help is the same text as help analyze"

"$SLEUTH" >/dev/null 2>&1; is $? 2 "no command is a usage error (2)"
err=$("$SLEUTH" frobnicate 2>&1); is $? 2 "an unknown command exits 2"
like "$err" "unknown command 'frobnicate'" "and says which"
err=$("$SLEUTH" analyze --format xml x 2>&1); is $? 2 "a bad --format exits 2"
like "$err" "unknown format 'xml'" "and names the value"
like "$err" "try 'sleuth analyze --help'" "and points at the help"
err=$("$SLEUTH" analyze 2>&1); is $? 2 "analyze without a file exits 2"
err=$("$SLEUTH" analyze --prefix '%t %Z' /dev/null 2>&1); is $? 2 "a bad --prefix exits 2"
like "$err" "unknown escape '%Z'" "and names the escape"
err=$("$SLEUTH" analyze --since yesterday x 2>&1); is $? 2 "a bad --since exits 2"

err=$("$SLEUTH" analyze "$tmp/missing.log" 2>&1 >/dev/null); is $? 3 "a missing file exits 3"
like "$err" "cannot open '$tmp/missing.log': No such file or directory" "and says why"
err=$("$SLEUTH" analyze "$tmp" 2>&1 >/dev/null); is $? 3 "a directory exits 3"
like "$err" "Is a directory" "and says so"
: > "$tmp/empty.log"
out=$("$SLEUTH" analyze --format json "$tmp/empty.log" 2>"$tmp/err"); is $? 3 "an empty file exits 3 (no record read)"
like "$(cat "$tmp/err")" "'$tmp/empty.log' is empty" "and reported as empty"
like "$(cat "$tmp/err")" "no PostgreSQL log record in 1 input" "and the run as reading nothing"
is "$(printf '%s' "$out" | jq '.summary.queries')" 0 "with no queries"
head -c 20000 /dev/urandom > "$tmp/binary.log"
"$SLEUTH" analyze --format json -o "$tmp/bin.json" "$tmp/binary.log" 2>"$tmp/err"; is $? 3 "a binary file does not crash; no record read exits 3"
like "$(cat "$tmp/err")" "no PostgreSQL log record found" "a binary file is reported as not a log"
ok "$(jq -e '.inputs[0].unparsed_lines > 0' "$tmp/bin.json" >/dev/null; echo $?)" "its lines are counted as unparsed"

out=$(: | "$SLEUTH" analyze --format json - 2>"$tmp/err"); is $? 3 "empty standard input exits 3"
like "$(cat "$tmp/err")" "'-' is empty" "and reported as empty"
printf '2026-11-22 10:00:00 UTC [1]: LOG:  duration: 2.500 ms  statement: SELECT 2\n' |
    "$SLEUTH" analyze --format json - > "$tmp/stdin.json"; is $? 0 "plain standard input is analysed"
is "$(jq -c '[.inputs[0].path, .inputs[0].compression, .summary.queries, .summary.total_ms]' "$tmp/stdin.json")" \
    '["-",null,1,2.5]' "as one uncompressed input with its query"

# A good log next to a missing one: analysed, with the failure reported.
printf '2026-11-22 10:00:00 UTC [1]: LOG:  duration: 1.500 ms  statement: SELECT 1\n' > "$tmp/good.log"
out=$("$SLEUTH" analyze --format json "$tmp/good.log" "$tmp/missing.log" 2>"$tmp/err"); is $? 0 "one readable input is enough"
is "$(printf '%s' "$out" | jq '.summary.queries')" 1 "the readable one is analysed"
is "$(printf '%s' "$out" | jq -r '.inputs[1].error')" "cannot open '$tmp/missing.log': No such file or directory" "the other's error is in the report"
"$SLEUTH" analyze "$tmp/good.log" > /dev/full 2>/dev/null; is $? 3 "a full disk on stdout exits 3"
"$SLEUTH" analyze -j 0 "$tmp/good.log" >/dev/null 2>&1; is $? 2 "-j 0 is a usage error"

# Stored history: `report` is analyze reading a store; a missing store is not created.
is "$("$SLEUTH" help report | head -1)" "$("$SLEUTH" help analyze | head -1)" "help report is analyze's help"
err=$("$SLEUTH" report 2>&1); is $? 2 "report without --store exits 2"
like "$err" "no store given" "and says what is missing"
err=$("$SLEUTH" analyze --store "$tmp/s.db" "$tmp/good.log" 2>&1); is $? 2 "--store with a log file exits 2"
err=$("$SLEUTH" report --store "$tmp/s.db" --app web 2>&1); is $? 2 "--app with --store exits 2"
err=$("$SLEUTH" report --store "$tmp/s.db" 2>&1); is $? 3 "a missing store exits 3"
like "$err" "cannot open store '$tmp/s.db': No such file or directory" "and says why"
ok "$([ ! -e "$tmp/s.db" ]; echo $?)" "and is not created"

# Every long option of every command's --help is documented in the man page.
man=$(dirname "$0")/../../docs/sleuth.1
for cmd in analyze watch advise demo; do
    missing=""
    for opt in $("$SLEUTH" "$cmd" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        grep -q -- "$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" "$man" || missing="$missing $opt"
    done
    is "$missing" "" "the man page documents every option of $cmd --help"
done
# Every detector setting is documented in the man page.
missing=""
for key in $(grep -oE '^ \*   [a-z_]+ = ' "$(dirname "$0")/../../src/detect/config.h" | awk '{print $2}'); do
    grep -q -- "$(printf '%s' "$key" | sed 's/-/\\\\-/g')" "$man" || missing="$missing $key"
done
is "$missing" "" "the man page documents every detector setting"
out=$("$SLEUTH" help advise); ok $? "help advise exits 0"
like "$out" '^usage: sleuth advise' "help advise prints the usage"
err=$("$SLEUTH" advise --format xml 2>&1); is $? 2 "advise: a bad --format exits 2"
err=$("$SLEUTH" advise --min-calls 0 2>&1); is $? 2 "advise: --min-calls 0 exits 2"
err=$("$SLEUTH" advise --min-mean soon 2>&1); is $? 2 "advise: a bad --min-mean exits 2"
err=$("$SLEUTH" advise "host=$tmp/nosocket port=1" 2>&1); is $? 4 "advise: an unreachable server exits 4"
like "$err" "cannot connect" "and says so"
err=$("$SLEUTH" advise --store "$tmp/nostore.db" "host=$tmp/nosocket port=1" 2>&1); is $? 3 "advise: a missing store exits 3"
ok "$([ ! -e "$tmp/nostore.db" ]; echo $?)" "and is not created"
done_testing
