#!/bin/bash
# Inputs that break naive log parsers: a 10 MB statement, a 50 MB line with
# no newline, NUL bytes, invalid UTF-8, CRLF line ends, a statement of 10^5
# lines, SQL nested 10,000 parentheses deep. Each must be analysed as far as
# it can be, with the rest of the log intact; a generous time limit catches
# quadratic behaviour (this is not a benchmark).
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
P='2026-11-22 10:00:00 UTC [42]: user=u,db=d,app=a,client=c '
tail_line="${P}LOG:  duration: 1.000 ms  statement: SELECT 'after'"

run() { # run NAME: analyse $tmp/NAME.log into $tmp/NAME.json within 120 s
    timeout 120 "$SLEUTH" analyze --format json -o "$tmp/$1.json" "$tmp/$1.log" 2>"$tmp/$1.err"
}
q() { jq -r "$2" "$tmp/$1.json"; }

{
    printf '%sLOG:  duration: 5.000 ms  statement: SELECT ' "$P"
    head -c 10000000 /dev/zero | tr '\0' 'x'
    printf ' FROM t\n%s\n' "$tail_line"
} > "$tmp/big.log"
run big; ok $? "a 10 MB statement is analysed"
is "$(q big '.summary.queries')" 2 "the 10 MB statement and the next one are counted"

{
    printf '%s\n' "$tail_line"
    head -c 50000000 /dev/zero | tr '\0' 'y'
} > "$tmp/noeol.log"
run noeol; ok $? "a 50 MB line without a newline at the end is analysed"
is "$(q noeol '.summary.queries'),$(q noeol '.inputs[0].unparsed_lines')" "1,1" "one query, one unparsed line"

{
    printf '%sLOG:  duration: 2.000 ms  statement: SELECT \000\001 FROM t\n' "$P"
    printf '%sLOG:  duration: 3.000 ms  statement: SELECT '"'"'\377\376 caf\303'"'"'\n' "$P"
    printf 'garbage\000line\n'
    printf '%s\n' "$tail_line"
} > "$tmp/bytes.log"
run bytes; ok $? "NUL bytes and invalid UTF-8 are analysed"
is "$(q bytes '.summary.queries'),$(q bytes '.inputs[0].unparsed_lines')" "3,1" "three queries, one unparsed line"
jq -e . "$tmp/bytes.json" >/dev/null; ok $? "the JSON report stays valid"

printf '%sLOG:  duration: 1.500 ms  statement: SELECT 1\r\n%s\r\n' "$P" "$tail_line" > "$tmp/crlf.log"
run crlf; ok $? "CRLF line ends"
is "$(q crlf '.summary.queries'),$(q crlf '.summary.total_ms')" "2,2.5" "both statements with their durations"

{
    printf '%sLOG:  duration: 7.000 ms  statement: SELECT 1\n' "$P"
    for _ in $(seq 100000); do printf '\t, 1\n'; done
    printf '%s\n' "$tail_line"
} > "$tmp/lines.log"
run lines; ok $? "a statement of 100,000 lines is analysed"
is "$(q lines '.summary.queries'),$(q lines '.inputs[0].lines')" "2,100002" "as one statement, with every line counted"

{
    printf '%sLOG:  duration: 9.000 ms  statement: SELECT ' "$P"
    printf '(%.0s' $(seq 10000)
    printf '1'
    printf ')%.0s' $(seq 10000)
    printf '\n%s\n' "$tail_line"
} > "$tmp/deep.log"
run deep; ok $? "SQL nested 10,000 parentheses deep"
is "$(q deep '.summary.queries')" 2 "is counted"

printf '%sLOG:  duration: 4.000 ms  statement: SELECT 1' "$P" > "$tmp/trunc.log"
run trunc; ok $? "a truncated last line"
is "$(q trunc '.summary.queries')" 1 "is still a record"

# Two lines 24 years apart: the empty stretch is one gap for the diagnosis, not 12 million buckets.
printf '2000-01-01 00:00:00.000 UTC [1] LOG:  duration: 1.000 ms  statement: SELECT 1\n2024-01-01 00:00:00.000 UTC [1] LOG:  duration: 1.000 ms  statement: SELECT 1\n' >"$tmp/sparse.log"
run sparse; ok $? "a log with lines 24 years apart"
is "$(q sparse '.summary.queries')" 2 "has both records"
is "$(q sparse '.diagnosis | length')" 0 "and no diagnosis"

# A password in a utility statement (which keeps its literals) is never shown, in any format.
printf '%s\n' "2026-01-01 00:00:00.000 UTC [1] LOG:  duration: 1.000 ms  statement: ALTER ROLE bob PASSWORD 'hunter2-secret'" \
    "2026-01-01 00:00:01.000 UTC [1] LOG:  duration: 1.000 ms  statement: COPY t TO PROGRAM 'curl -u u:hunter2-secret x'" \
    "2026-01-01 00:00:02.000 UTC [1] LOG:  duration: 1.000 ms  statement: select * from user_tokens where id = 5" >"$tmp/pw.log"
n=0
for f in text json md html; do
    "$SLEUTH" analyze -f $f "$tmp/pw.log" 2>&1 | grep -c hunter2 >"$tmp/pw.$f" && n=$((n + $(cat "$tmp/pw.$f")))
done
is "$n" 0 "a password or token in a utility statement appears in no report format"
run pw
is "$(q pw '[.queries[] | select(.query == "select * from user_tokens where id = $1")][0].example')" \
    "select * from user_tokens where id = 5" "while an ordinary query keeps its example"
done_testing
