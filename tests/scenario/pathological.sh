#!/bin/bash
# Inputs that break naive log parsers: a 10 MB statement, a 50 MB line with
# no newline, NUL bytes, invalid UTF-8 (stderr, csvlog, jsonlog), CRLF line
# ends, a statement of 10^5 lines, SQL nested 10,000 parentheses deep, a
# 300 MB line over --max-record, a truncated gzip, a log truncated while it
# is read, a log_line_prefix that changes mid-file. Each must be analysed as far as it can be, with the rest of the
# log intact; a generous time limit catches quadratic behaviour (this is not
# a benchmark).
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
# A line of 300 MB of NUL bytes in a gzip, between valid lines: skipped as it streams by, in
# bounded memory, and counted with its line number.
{
    for i in 1 2 3; do printf '%sLOG:  duration: 1.000 ms  statement: SELECT %d\n' "$P" "$i"; done
    head -c 300000000 /dev/zero
    printf '\n%s\n%s\n' "$tail_line" "$tail_line"
} | gzip -1 >"$tmp/zeros.log.gz"
/usr/bin/time -f '%M' -o "$tmp/zeros.rss" "$SLEUTH" analyze --max-record 1M --format json \
    -o "$tmp/zeros.json" "$tmp/zeros.log.gz" 2>"$tmp/zeros.err"
rss_kb=$(tail -n 1 "$tmp/zeros.rss")
is "$(q zeros '[.summary.queries, .inputs[0].lines, .inputs[0].oversize_records, .inputs[0].first_oversize_line] | join(",")')" \
    "5,6,1,4" "a 300 MB line over --max-record 1M: skipped, the 5 queries around it counted"
grep -q "^sleuth analyze: '$tmp/zeros.log.gz':4: record longer than --max-record (1048576 bytes) skipped (1 in all)$" \
    "$tmp/zeros.err"
ok $? "a warning names its file and line"
[ "${rss_kb:-999999}" -lt 100000 ]; ok $? "in bounded memory (max RSS ${rss_kb:-?} kB < 100 MB)"

# The same in a plain file split into ranges: the same counts at -j 1 and -j 2, and a record of
# many lines longer than the limit is cut and counted too.
{
    printf '%s\n' "$tail_line"
    head -c 3000000 /dev/zero | tr '\0' 'z'
    printf '\n%sLOG:  duration: 1.000 ms  statement: SELECT\n' "$P"
    for _ in $(seq 250000); do printf '\t, 1\n'; done
    printf '%s\n' "$tail_line"
    for _ in $(seq 300000); do printf '%s\n' "$tail_line"; done
} >"$tmp/over.log"
for j in 1 2; do
    "$SLEUTH" analyze -j $j --max-record 1M --format json -o "$tmp/over$j.json" "$tmp/over.log" 2>/dev/null
    is "$(q over$j '[.summary.queries, .inputs[0].lines, .inputs[0].oversize_records, .inputs[0].first_oversize_line, .inputs[0].unparsed_lines] | join(",")')" \
        "300003,550004,2,2,40305" "-j $j: a 3 MB line skipped, a 1.25 MB record cut (its last 40305 lines unparsed)"
done
err=$("$SLEUTH" analyze --max-record 1k "$tmp/over.log" 2>&1); is $? 2 "--max-record below 64K is a usage error"

# A gzip cut in half, alone: its first half is analysed, the damage named, and the exit status 3.
gz=$(dirname "$0")/../data/pgbench-stderr.log.gz
head -c $(($(stat -c %s "$gz") / 2)) "$gz" >"$tmp/half.log.gz"
"$SLEUTH" analyze --format json -o "$tmp/half.json" "$tmp/half.log.gz" 2>"$tmp/half.err"
is $? 3 "a truncated gzip exits 3"
is "$(q half '[.summary.queries, .inputs[0].lines, .inputs[0].damage.after_bytes, .inputs[0].error] | join(",")')" \
    "64437,84077,14676010," "with the report of what could be read"
is "$(q half '.inputs[0].damage.error')" "cannot decompress '$tmp/half.log.gz': truncated gzip input" \
    "and the damage in the report"
grep -q "^sleuth analyze: cannot decompress '$tmp/half.log.gz': truncated gzip input, after 14676010 bytes (decompressed); the records before are analysed$" \
    "$tmp/half.err"
ok $? "and on stderr"

# A log truncated while it is read (copytruncate rotation): a preloaded pread truncates it the
# first time sleuth reads past its first MB.
cat >"$tmp/shrink.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
typedef ssize_t pread_fn(int, void *, size_t, off_t);
static ssize_t shrink(const char *name, int fd, void *buf, size_t n, off_t off)
{
    static int done;
    if (!done && off >= (1 << 20)) {
        done = 1;
        if (truncate(getenv("SHRINK_PATH"), atoll(getenv("SHRINK_TO"))) != 0)
            abort();
    }
    return ((pread_fn *)dlsym(RTLD_NEXT, name))(fd, buf, n, off);
}
ssize_t pread(int fd, void *buf, size_t n, off_t off) { return shrink("pread", fd, buf, n, off); }
ssize_t pread64(int fd, void *buf, size_t n, off_t off) { return shrink("pread64", fd, buf, n, off); }
C
for i in $(seq 30000); do printf '%sLOG:  duration: 1.000 ms  statement: SELECT %d\n' "$P" "$i"; done >"$tmp/rot.log"
if cc -shared -fPIC -o "$tmp/shrink.so" "$tmp/shrink.c" -ldl 2>/dev/null; then
    size=$(stat -c %s "$tmp/rot.log")
    SHRINK_PATH=$tmp/rot.log SHRINK_TO=1500000 ASAN_OPTIONS=verify_asan_link_order=0 \
        LD_PRELOAD=$tmp/shrink.so "$SLEUTH" analyze -j 1 --format json -o "$tmp/rot.json" \
        "$tmp/rot.log" 2>"$tmp/rot.err"
    is $? 0 "a log truncated while read exits 0"
    is "$(q rot '[.summary.queries, .inputs[0].shrunk.size_before, .inputs[0].shrunk.size_after] | join(",")')" \
        "14122,$size,1500000" "its records up to the new end are counted, the shrink reported"
    grep -q "^sleuth analyze: '$tmp/rot.log' shrank from $size to 1500000 bytes while it was read" "$tmp/rot.err"
    ok $? "and warned about"
else
    echo "ok $((T_N += 1)) # SKIP no C compiler for the pread shim"
fi

# csvlog and jsonlog records with a NUL byte or bytes that are not UTF-8 are kept, the bytes shown
# as U+FFFD.
row='2026-11-22 10:00:0%d.000 UTC,"u","d",42,"[local]",1,1,"SELECT",2026-11-22 10:00:00 UTC,1/2,0,LOG,00000,"duration: %d.000 ms  statement: %b",,,,,,,,,"psql","client backend",,0\n'
obj='{"timestamp":"2026-11-22 10:00:0%d.000 UTC","user":"u","dbname":"d","pid":42,"error_severity":"LOG","message":"duration: %d.000 ms  statement: %b"}\n'
for f in csv json; do
    fmt=$row
    [ $f = json ] && fmt=$obj
    # shellcheck disable=SC2059
    printf "$fmt$fmt$fmt" 0 9 'SELECT a\0000b FROM t' 1 8 'SELECT x FROM caf\0351\0377' 2 1 'SELECT 2' >"$tmp/bytes-$f.log"
    run bytes-$f; ok $? "$f: NUL bytes and invalid UTF-8 are analysed"
    is "$(q bytes-$f '[.summary.queries, .inputs[0].unparsed_lines, (.queries | map(.example) | join("|"))] | join(",")')" \
        "3,0,SELECT a�b FROM t|SELECT x FROM caf��|SELECT 2" "$f: every record kept, the bad bytes shown as U+FFFD"
done
# A log whose log_line_prefix changes twice (a server reconfigured, logs concatenated): 20,000
# records under each of three prefixes, all read, the same at -j 1 and -j 2 (20 MB: two ranges,
# the second starting under the first prefix). A prefix given with --prefix is kept.
awk 'BEGIN {
    pad = sprintf("%700s", ""); gsub(/ /, "x", pad)
    for (i = 0; i < 20000; i++)
        printf "2026-11-22 10:%02d:%02d UTC [42]: user=u,db=d,app=a,client=c LOG:  duration: 1.000 ms  statement: SELECT 1 /* %s */\n", int(i / 60) % 60, i % 60, pad
    for (i = 0; i < 20000; i++)
        printf "2026-11-22 11:%02d:%02d UTC:10.0.0.1(5432):v@e:[43]:LOG:  duration: 2.000 ms  statement: SELECT 2\n", int(i / 60) % 60, i % 60
    for (i = 0; i < 20000; i++)
        printf "2026-11-22 12:%02d:%02d.000 UTC [44] w@f LOG:  duration: 3.000 ms  statement: SELECT 3\n", int(i / 60) % 60, i % 60
}' >"$tmp/three.log"
for j in 1 2; do
    "$SLEUTH" analyze -j $j --format json -o "$tmp/three$j.json" "$tmp/three.log"
    is "$(q three$j '[.summary.queries, .summary.total_ms, .inputs[0].unparsed_lines, (.queries[0].users | map("\(.name)=\(.calls)") | join(" ")), (.queries[0].databases | map("\(.name)=\(.calls)") | join(" "))] | join(",")')" \
        "60000,120000,0,u=20000 v=20000 w=20000,d=20000 e=20000 f=20000" \
        "-j $j: three prefixes in one log, every record read with its user and database"
    is "$(q three$j '.inputs[0].prefixes | join("|")')" \
        "%t [%p]: user=%u,db=%d,app=%a,client=%h |%t:%r:%u@%d:[%p]:|%m [%p] %q%u@%d " \
        "-j $j: the input names the three prefixes in the order the log used them"
done
"$SLEUTH" analyze -j 1 --prefix '%t [%p]: user=%u,db=%d,app=%a,client=%h ' --format json \
    -o "$tmp/three-given.json" "$tmp/three.log" 2>/dev/null
is "$(q three-given '[.summary.queries, .inputs[0].unparsed_lines] | join(",")')" "20000,40000" \
    "a prefix given with --prefix is kept for the whole log"
# Lines of 1 kB under three prefixes, in stretches: stretches u:N v:N w:N ... (u's log_line_prefix
# is pgBadger's advice without %l, v's AWS RDS's, w's Debian's default).
stretches() {
    awk -v spec="$*" 'BEGIN {
        pad = sprintf("%900s", ""); gsub(/ /, "x", pad)
        n = split(spec, parts, " ")
        for (k = 1; k <= n; k++) {
            split(parts[k], kv, ":")
            for (i = 0; i < kv[2]; i++) {
                m = int(i / 60) % 60; s = i % 60
                if (kv[1] == "u")
                    printf "2026-11-22 10:%02d:%02d UTC [42]: user=u,db=d,app=a,client=c LOG:  duration: 1.000 ms  statement: SELECT 1 /* %s */\n", m, s, pad
                else if (kv[1] == "v")
                    printf "2026-11-22 11:%02d:%02d UTC:10.0.0.1(5432):v@e:[43]:LOG:  duration: 2.000 ms  statement: SELECT 2 /* %s */\n", m, s, pad
                else
                    printf "2026-11-22 12:%02d:%02d.000 UTC [44] w@f LOG:  duration: 3.000 ms  statement: SELECT 3 /* %s */\n", m, s, pad
            }
        }
    }'
}
# A short stretch of a second prefix (20 lines) between two long ones, where -j 2 cuts the log:
# the second range starts ten lines into it, under the log's first prefix, with more lines of the
# third prefix than of the second in its look-ahead. Every line is still read, at -j 1 and -j 2.
stretches u:10000 v:20 w:10000 >"$tmp/short.log"
for j in 1 2; do
    "$SLEUTH" analyze -j $j --format json -o "$tmp/short$j.json" "$tmp/short.log"
    is "$(q short$j '[.summary.queries, .inputs[0].unparsed_lines, (.queries[0].users | map("\(.name)=\(.calls)") | sort | join(" ")), .inputs[0].prefixes[1]] | join(",")')" \
        "20020,0,u=10000 v=20 w=10000,%t:%r:%u@%d:[%p]:" \
        "-j $j: a 20-line stretch of a prefix before a long one of another, cut by a range: every line read"
done
# The same log as a file, piped and gzipped: the prefix is decided on the same first 256 kB (100
# lines of 1 kB of one prefix, then 300 of another: the first 64 kB alone would pick the first),
# also where a csvlog turns into it.
stretches u:100 w:300 >"$tmp/ab.log"
{ printf '2026-11-22 09:00:00.000 UTC,,,7,,6b15e294.7,1,,2026-11-22 09:00:00 UTC,,0,LOG,00000,"ready",,,,,,,,,"","postmaster",,0\n'; cat "$tmp/ab.log"; } >"$tmp/cab.log"
for log in ab cab; do
    gzip -k "$tmp/$log.log"
    "$SLEUTH" analyze --format json -o "$tmp/$log-file.json" "$tmp/$log.log"
    "$SLEUTH" analyze --format json -o "$tmp/$log-pipe.json" - <"$tmp/$log.log"
    "$SLEUTH" analyze --format json -o "$tmp/$log-gz.json" "$tmp/$log.log.gz"
    for how in file pipe gz; do
        is "$(q $log-$how '[.summary.queries, .inputs[0].unparsed_lines, .inputs[0].prefix, (.inputs[0].prefixes | length)] | map(tostring) | join(",")')" \
            "400,0,%m [%p] %q%u@%d ,2" "$log: a log's prefix is decided on its first 256 kB ($how)"
    done
done
"$SLEUTH" analyze --max-record 64K --format json -o "$tmp/ab-file64.json" "$tmp/ab.log"
"$SLEUTH" analyze --max-record 64K --format json -o "$tmp/ab-pipe64.json" - <"$tmp/ab.log"
for how in file pipe; do
    is "$(q ab-${how}64 '.inputs[0].prefix')" "%t [%p]: user=%u,db=%d,app=%a,client=%h " \
        "... or on --max-record if less ($how)"
done
# One line of a second prefix between two long stretches: that line alone is not recognised (a
# new prefix must read two), and the third prefix is read from its first line on.
stretches u:10000 v:1 w:10000 >"$tmp/lone.log"
for j in 1 2; do
    "$SLEUTH" analyze -j $j --format json -o "$tmp/lone$j.json" "$tmp/lone.log" 2>"$tmp/lone$j.err"
    is "$(q lone$j '[.summary.queries, .inputs[0].unparsed_lines, (.queries[0].users | map("\(.name)=\(.calls)") | sort | join(" "))] | join(",")')" \
        "20000,1,u=10000 w=10000" \
        "-j $j: one line of a prefix between long stretches of two others: only that line not recognised"
    like "$(cat "$tmp/lone$j.err")" "lone.log': 1 line not recognised, first at line 10001" "... and named on stderr"
done
done_testing
