#!/bin/bash
# sleuth analyze, postmortem and --access on logs inside archives (tests/data,
# README.archives.md): zip, 7z and tarballs of every compression, a
# compressed member, an empty one and one that is not a log; every member an
# input named ARCHIVE:MEMBER with the counts its own file gives; damaged
# archives read up to the damage.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
DATA=$(data_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The parts of a report that do not depend on where the events came from.
same() { jq -c '{summary: (.summary | del(.first, .last)), queries: [.queries[] | {fingerprint, calls, total_ms, users, databases}],
                 errors: [.events.errors[] | {sqlstate, severity, message, count, statement}]}' "$1"; }

# The zip's second log is prefix-sqlstate.log with a line that is not PostgreSQL's as line 2.
{ head -n 1 "$DATA/prefix-sqlstate.log"; echo "this line is not from PostgreSQL"; tail -n +2 "$DATA/prefix-sqlstate.log"; } >"$tmp/prefix-sqlstate-bad.log"
"$SLEUTH" analyze --format json -j 1 -o "$tmp/direct.json" "$DATA/prefix-user-db.log" "$tmp/prefix-sqlstate-bad.log" 2>/dev/null
is "$(jq -c '[.summary.queries, .summary.errors]' "$tmp/direct.json")" "[26,4]" "the two logs read directly: 26 queries, 4 errors"

# --- zip and 7z: two logs, one with a line that is not a log's -------------------------------
for a in archive-logs.zip archive-logs.7z; do
    r=$tmp/$a.json kind=${a##*.}
    "$SLEUTH" analyze --format json -j 1 -o "$r" "$DATA/$a" 2>"$tmp/$a.err"
    is $? 0 "$a: analyze exits 0"
    is "$(jq -c '[.inputs[].path | sub(".*/"; "")]' "$r")" \
        "[\"prefix-user-db.log\",\"prefix-sqlstate-bad.log\"]" "$a: one input per log, the directory entry none"
    is "$(jq -c '[.inputs[].path | startswith("'"$DATA/$a"':pg/")] | unique' "$r")" "[true]" \
        "$a: inputs named ARCHIVE:MEMBER"
    is "$(jq -r '[.inputs[].archive] | unique | join(",")' "$r")" "$kind" "$a: the archive's kind in inputs[]"
    is "$(jq -c '[.inputs[] | [.lines, .records, .unparsed_lines]]' "$r")" "[[60,54,0],[61,54,1]]" \
        "$a: lines, records and unparsed lines of each member"
    is "$(jq -c '.inputs[1].first_unparsed_lines' "$r")" "[2]" "$a: the bad line at its line in the member"
    grep -qF "sleuth analyze: '$DATA/$a:pg/prefix-sqlstate-bad.log': 1 line not recognised, first at line 2" "$tmp/$a.err"
    ok $? "$a: the warning names the member and the line"
    is "$(same "$r")" "$(same "$tmp/direct.json")" "$a: the same queries, calls and errors as the files read directly"
    "$SLEUTH" analyze --format json -j 4 -o "$tmp/j4.json" "$DATA/$a" 2>/dev/null
    cmp -s "$r" "$tmp/j4.json"; ok $? "$a: -j 4 gives the same JSON as -j 1"
done
"$SLEUTH" analyze --format text "$DATA/archive-logs.zip" >"$tmp/zip.txt" 2>/dev/null
grep -qF "archive-logs.zip:pg/prefix-user-db.log" "$tmp/zip.txt"; ok $? "the text report lists the member"

# Archives beside compressed files of several MB (read in many pieces): each read whole.
cp "$DATA/pgbench-stderr.log.gz" "$tmp/copy.log.gz"
"$SLEUTH" analyze --format json -j 2 -o "$tmp/one.json" "$DATA/pgbench-stderr.log.gz" 2>/dev/null
"$SLEUTH" analyze --format json -j 2 -o "$tmp/mixed.json" "$DATA/pgbench-stderr.log.gz" "$tmp/copy.log.gz" "$DATA/archive-logs.zip" 2>/dev/null
q=$(jq '.summary.queries' "$tmp/one.json")
is "$(jq -c '[.summary.queries, ([.inputs[] | .damage] | unique)]' "$tmp/mixed.json")" "[$((2 * q + 26)),[null]]" \
    "two gzip logs and a zip: every query of each ($q, $q, 26), no damage"

# --- tarballs: /var/log/postgresql after logrotate, in every compression ---------------------
"$SLEUTH" analyze --format json -j 1 -o "$tmp/rot.direct.json" "$DATA/prefix-debian9.log" "$DATA/prefix-pgbadger.log"
zcat "$DATA/archive-rotated.tar.gz" >"$tmp/rotated.tar"
bzip2 -c "$tmp/rotated.tar" >"$tmp/rotated.tar.bz2"
xz -c "$tmp/rotated.tar" >"$tmp/rotated.tar.xz"
zstd -q -c "$tmp/rotated.tar" >"$tmp/rotated.tar.zst"
cp "$DATA/archive-rotated.tar.gz" "$tmp/rotated.tgz"
for t in rotated.tgz:tar.gz rotated.tar:tar rotated.tar.bz2:tar.bz2 rotated.tar.xz:tar.xz rotated.tar.zst:tar.zst; do
    f=$tmp/${t%%:*} kind=${t#*:} r=$tmp/${t%%:*}.json
    "$SLEUTH" analyze --format json -j 2 -o "$r" "$f" 2>"$r.err"
    is $? 0 "$kind: analyze exits 0"
    is "$(jq -c '[.inputs[] | [(.path | sub(".*:"; "")), .archive, .compression, .lines, .records]]' "$r")" \
        "[[\"postgresql/postgresql-15-main.log\",\"$kind\",null,60,54],[\"postgresql/postgresql-15-main.log.1.gz\",\"$kind\",\"gzip\",60,54],[\"postgresql/postgresql-15-main.log.2\",\"$kind\",null,0,0]]" \
        "$kind: three members; the .gz member decompressed; the empty one empty"
    is "$(same "$r")" "$(same "$tmp/rot.direct.json")" "$kind: the same report as the two logs read directly"
    grep -qF "sleuth analyze: '$f:postgresql/postgresql-15-main.log.2' is empty" "$r.err"
    ok $? "$kind: the empty member said empty, as an empty file is"
done

# --- access logs in a zip, with a member that is not a log -----------------------------------
PG=$DATA/missing-index-short.log.gz
"$SLEUTH" analyze -j 2 --interval 10s --access "$DATA/archive-access.zip" "$PG" -f json -o "$tmp/acc.json" 2>"$tmp/acc.err"
is $? 0 "access zip: analyze exits 0"
"$SLEUTH" analyze -j 2 --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG" -f json -o "$tmp/acc.direct.json" 2>/dev/null
is "$(jq -c '[.web.inputs[] | [(.path | sub(".*/"; "")), .archive, .format, .lines, .requests, .bad_lines]]' "$tmp/acc.json")" \
    '[["archive-access.zip:access.log","zip","combined+rt",3720,3720,0],["archive-access.zip:notes.txt","zip",null,0,0,0]]' \
    "access zip: each member an input"
is "$(jq -r '.web.inputs[1].error' "$tmp/acc.json")" \
    "'$DATA/archive-access.zip:notes.txt': not an access log this reads (give --access-format)" \
    "access zip: the member that is not a log refused as such a file is"
grep -qF "sleuth analyze: '$DATA/archive-access.zip:notes.txt': not an access log" "$tmp/acc.err"
ok $? "access zip: and said on stderr"
is "$(jq -c '.web | del(.inputs, .seconds_taken)' "$tmp/acc.json")" "$(jq -c '.web | del(.inputs, .seconds_taken)' "$tmp/acc.direct.json")" \
    "access zip: the same web section as the log read directly"
is "$(jq -c '[.web.requests, .web.failed, .web.slow, .web.clients]' "$tmp/acc.json")" "[3720,18,131,40]" \
    "access zip: requests, 5xx, slow, clients"

# postmortem with both sides in archives (the server log a .gz member of a tarball).
tar -C "$DATA" -czf "$tmp/pg.tar.gz" missing-index-short.log.gz
"$SLEUTH" postmortem --interval 10s --access "$DATA/archive-access.zip" "$tmp/pg.tar.gz" -o "$tmp/pm.md" 2>/dev/null
is $? 0 "postmortem from archives exits 0"
"$SLEUTH" postmortem --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG" -o "$tmp/pm.direct.md" 2>/dev/null
like "$(cat "$tmp/pm.md")" "^# Postmortem: missing\\\\_index on readings" "postmortem: the database's cause from the archived log"
like "$(cat "$tmp/pm.md")" "Ruled out: traffic surge or DDoS \(access log\)" "postmortem: the archived access log read"
like "$(cat "$tmp/pm.md")" "Written from '$tmp/pg.tar.gz:missing-index-short.log.gz' \\(the server log\\) and '$DATA/archive-access.zip:access.log'" \
    "postmortem: the members it was written from"
cmp -s <(grep -v -e "$tmp" -e "$DATA" "$tmp/pm.md") <(grep -v -e "$tmp" -e "$DATA" "$tmp/pm.direct.md")
ok $? "postmortem: the same as from the logs themselves, but for the lines naming the inputs"

# --- damaged archives: what could be read is analysed, the damage named, exit 3 --------------
head -c 2500 "$DATA/archive-logs.zip" >"$tmp/cut.zip"
"$SLEUTH" analyze --format json -o "$tmp/cut.zip.json" "$tmp/cut.zip" 2>"$tmp/cut.zip.err"
is $? 3 "a truncated zip exits 3"
is "$(jq -c '.inputs[0] | [.records, .damage, .error]' "$tmp/cut.zip.json")" "[54,null,null]" \
    "truncated zip: the whole member before the cut read"
is "$(jq -r '.inputs[1].damage.error' "$tmp/cut.zip.json")" \
    "cannot read '$tmp/cut.zip:pg/prefix-sqlstate-bad.log': ZIP decompression failed (-5)" \
    "truncated zip: the member cut named, with libarchive's reason"
is "$(jq -c '.inputs[1] | [.damage.after_bytes > 0, .records > 0]' "$tmp/cut.zip.json")" "[true,true]" \
    "truncated zip: the cut member's first records analysed"
grep -qF "sleuth analyze: cannot read '$tmp/cut.zip:pg/prefix-sqlstate-bad.log': ZIP decompression failed (-5), after" "$tmp/cut.zip.err"
ok $? "truncated zip: the damage said on stderr"

# A tarball cut in the middle of its second member (big enough for gzip to hand out its first half).
mkdir "$tmp/big"
cp "$DATA/prefix-user-db.log" "$tmp/big/a.log"
zcat "$DATA/pgbench-stderr.log.gz" >"$tmp/big/b.log"
tar -C "$tmp/big" -czf "$tmp/big.tar.gz" a.log b.log
head -c $(($(stat -c %s "$tmp/big.tar.gz") / 2)) "$tmp/big.tar.gz" >"$tmp/cut.tar.gz"
"$SLEUTH" analyze --format json -o "$tmp/cut.tgz.json" "$tmp/cut.tar.gz" 2>"$tmp/cut.tgz.err"
is $? 3 "a truncated tar.gz exits 3"
is "$(jq -c '[.inputs[] | .path | sub(".*:"; "")]' "$tmp/cut.tgz.json")" '["a.log","b.log"]' \
    "truncated tar.gz: both members listed"
is "$(jq -c '.inputs[0] | [.records, .damage]' "$tmp/cut.tgz.json")" "[54,null]" "truncated tar.gz: the first member whole"
is "$(jq -r '.inputs[1].damage.error' "$tmp/cut.tgz.json")" "cannot read '$tmp/cut.tar.gz:b.log': truncated gzip input" \
    "truncated tar.gz: the damage in the member it cut"
after=$(jq '.inputs[1].damage.after_bytes' "$tmp/cut.tgz.json")
head -c "$after" "$tmp/big/b.log" >"$tmp/b-head.log"
"$SLEUTH" analyze --format json -o "$tmp/b-head.json" "$tmp/b-head.log" 2>/dev/null
is "$(jq -c '.inputs[1] | [.lines, .records]' "$tmp/cut.tgz.json")" "$(jq -c '.inputs[0] | [.lines, .records]' "$tmp/b-head.json")" \
    "truncated tar.gz: every record of the $after bytes before the damage analysed"
ok $(( after > 10000000 ? 0 : 1 )) "truncated tar.gz: most of the first half ($after bytes) handed out"

# A plain tar cut inside a header after its first member: that member whole, the damage after it.
head -c 7700 "$tmp/rotated.tar" >"$tmp/cuthdr.tar"
"$SLEUTH" analyze --format json -o "$tmp/cuthdr.json" "$tmp/cuthdr.tar" 2>/dev/null
is $? 3 "a tar cut in a header exits 3"
is "$(jq -c '.inputs[0] | [.records, .damage.after_bytes, .damage.error]' "$tmp/cuthdr.json")" \
    "[54,6617,\"cannot read '$tmp/cuthdr.tar' past its member 'postgresql/postgresql-15-main.log': Truncated tar archive\"]" \
    "tar cut in a header: the member before it whole, the damage past it"

# Nothing readable: a 7z without its end (the header is there), alone: exit 3, the reason said.
head -c 1500 "$DATA/archive-logs.7z" >"$tmp/cut.7z"
err=$("$SLEUTH" analyze --format json -o "$tmp/cut7z.json" "$tmp/cut.7z" 2>&1)
is $? 3 "a 7z cut short exits 3"
is "$err" "sleuth analyze: cannot read '$tmp/cut.7z': damaged or truncated archive" "7z cut short: the archive named"

# An archive on standard input cannot be listed, then read: refused by its kind.
err=$("$SLEUTH" analyze - <"$DATA/archive-logs.zip" 2>&1)
is $? 3 "a zip on standard input exits 3"
is "$err" "sleuth analyze: cannot read '-': a zip archive as a stream; give it by its file name" \
    "a zip on standard input: refused, the file name asked for"
err=$("$SLEUTH" analyze - <"$DATA/archive-rotated.tar.gz" 2>&1)
like "$err" "cannot read '-': a tar archive as a stream" "a tar.gz on standard input: refused too"

done_testing
