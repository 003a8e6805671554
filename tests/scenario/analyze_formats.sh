#!/bin/bash
# sleuth analyze on logs written with other settings (tests/data, see
# README.formats.md): each log_line_prefix detected with its users and
# databases, log_error_verbosity = verbose, the syslog flavours, csvlog of
# older servers; counts
# checked against grep, threads against one thread, every output format.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
DATA=$(data_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The parts of a report that do not depend on the format the events came in.
same() { jq -c '{summary: (.summary | del(.first, .last)), queries: [.queries[] | {fingerprint, calls, total_ms, users, databases}],
                 errors: [.events.errors[] | {sqlstate, severity, message, count, statement}]}' "$1"; }

# many NAME FILE TIMES: FILE repeated TIMES over (big enough to be split in ranges) read at -j 1
# and -j 2 into $tmp/NAME.1.json and .2.json; checks that both reports are the same.
many() {
    local name=$1 f=$2 times=$3 j
    for _ in $(seq "$times"); do cat "$f"; done >"$tmp/$name.log"
    for j in 1 2; do
        "$SLEUTH" analyze -j $j -f json -o "$tmp/$name.$j.json" "$tmp/$name.log" 2>/dev/null
    done
    is "$(jq -S 'del(.summary.seconds, .summary.mb_per_s)' "$tmp/$name.1.json" | md5sum)" \
        "$(jq -S 'del(.summary.seconds, .summary.mb_per_s)' "$tmp/$name.2.json" | md5sum)" "$name: the same report at -j 1 and -j 2"
}

check() { # FILE PREFIX-OR-FORMAT
    local f=$DATA/$1 name=$1 r=$tmp/$1.json
    local n_q n_bind n_err
    n_q=$(grep -c -E 'duration: [0-9.]+ ms  (statement|execute)' "$f")
    n_bind=$(grep -c -E 'duration: [0-9.]+ ms  bind' "$f")
    n_err=$(grep -c -E '(ERROR|FATAL|PANIC):  ' "$f")
    "$SLEUTH" analyze --format json -j 1 -o "$r" "$f"; ok $? "$name: analyze exits 0"
    is "$(jq -r '.inputs[0] | if .format == "stderr" then .prefix else .format + " " + .prefix end' "$r")" "$2" "$name: detected as '$2'"
    is "$(jq '.inputs[0].unparsed_lines' "$r")" 0 "$name: every line recognised"
    is "$(jq '.summary.queries' "$r")" "$n_q" "$name: $n_q queries, as many as statement and execute lines"
    is "$(jq '[.queries[].bind_calls] | add' "$r")" "$n_bind" "$name: $n_bind binds"
    is "$(jq '.summary.errors' "$r")" "$n_err" "$name: $n_err errors"
    is "$(jq -c '[.queries[].users[].name] | unique' "$r")" '["app","postgres"]' "$name: users read"
    is "$(jq -c '[.queries[].databases[].name] | unique' "$r")" '["postgres","shop"]' "$name: databases read"
    is "$(jq -c '[.events.errors[].sqlstate] | sort' "$r")" '["23505","42P01"]' "$name: SQLSTATEs"
    "$SLEUTH" analyze --format json -j 4 -o "$tmp/j4.json" "$f"
    cmp -s "$r" "$tmp/j4.json"; ok $? "$name: -j 4 gives the same JSON as -j 1"
    "$SLEUTH" analyze --format json --user app -o "$tmp/app.json" "$f"
    is "$(jq '.summary.queries' "$tmp/app.json")" "$(grep -E 'duration: [0-9.]+ ms  (statement|execute)' "$f" | grep -c -E '(user=app|app@|\|app\|)')" "$name: --user app keeps app's queries"
    for fmt in text md html; do
        "$SLEUTH" analyze --format $fmt -o "$tmp/out.$fmt" "$f"; ok $? "$name: --format $fmt exits 0"
    done
}

check prefix-pgbadger.log '%t [%p]: [%l-1] user=%u,db=%d '
check prefix-user-db.log '%m [%p] user=%u,db=%d '
check prefix-sqlstate.log '%m [%p] %e: db=%d,user=%u,app=%a,client=%h '
check prefix-debian9.log '%t [%p-%l] %q%u@%d '
check prefix-pgreplay.log '%m|%u|%d|%c|'
check prefix-queryid.log '%m [%p] [queryid=%Q] %q%u@%d '
check prefix-rds.log '%t:%r:%u@%d:[%p]:'
check prefix-rds-cloudwatch.log '%m %t:%r:%u@%d:[%p]:'
check verbose.log '%m [%p] %q%u@%d '
# Azure Database for PostgreSQL's default prefix: no user, no database; the pid from the session id.
f=$DATA/prefix-azure.log
"$SLEUTH" analyze -f json -j 1 -o "$tmp/azure.json" "$f"
is "$(jq -c '[.inputs[0].prefix, .inputs[0].unparsed_lines, .summary.queries, .summary.errors, ([.events.errors[].sqlstate] | sort)]' "$tmp/azure.json")" \
    "[\"%t-%c-\",0,$(grep -c -E 'duration: [0-9.]+ ms  (statement|execute)' "$f"),2,[\"23505\",\"42P01\"]]" \
    "prefix-azure.log: '%t-%c-' detected, every query and error read"
is "$(jq -c '[.queries[] | select(.query | startswith("select total")) | .calls, .bind_calls]' "$tmp/azure.json")" '[6,6]' \
    "prefix-azure.log: pgbench's executes and binds paired by the session's pid"
"$SLEUTH" analyze -f json -j 4 -o "$tmp/azure4.json" "$f"
cmp -s "$tmp/azure.json" "$tmp/azure4.json"; ok $? "prefix-azure.log: -j 4 gives the same JSON as -j 1"
for fmt in text md html; do
    "$SLEUTH" analyze --format $fmt -o "$tmp/azure.$fmt" "$f"; ok $? "prefix-azure.log: --format $fmt exits 0"
done
for fl in bsd-us rfc5424 iso; do
    check syslog-$fl.log 'syslog user=%u,db=%d '
done

[ "$(grep -c 'queryid=-' "$DATA/prefix-queryid.log")" -gt 0 ]; ok $? "the query id log has negative query ids"
is "$(jq -c '[.queries[].apps[].name] | unique' "$tmp/prefix-sqlstate.log.json")" '["pgbench","psql"]' "applications read"
is "$(jq -c '[.events.errors[].message] | sort' "$tmp/verbose.log.json")" \
    '["duplicate key value violates unique constraint \"orders_pkey\"","relation \"missing_table\" does not exist at character 15"]' \
    "verbose: the SQLSTATE is not left in the message"
for f in prefix-debian9.log prefix-pgreplay.log prefix-queryid.log prefix-rds.log verbose.log syslog-bsd-us.log syslog-rfc5424.log syslog-iso.log; do
    is "$(same "$tmp/$f.json" | jq -c '.queries | map(del(.total_ms))')" "$(same "$tmp/prefix-user-db.log.json" | jq -c '.queries | map(del(.total_ms))')" \
        "$f: the same queries, users and databases as the plain stderr log"
done
for fl in bsd-us rfc5424 iso; do
    is "$(same "$tmp/syslog-$fl.log.json")" "$(same "$tmp/prefix-user-db.log.json")" "syslog-$fl: the same report as the stderr log it was made from"
done

# Heroku's logplex: no host, app[postgres.PID], an attachment, Heroku's own prefix (no user, no db).
for j in 1 2; do
    "$SLEUTH" analyze -j $j -f json -o "$tmp/logplex.$j.json" "$DATA/syslog-logplex.log"
done
is "$(jq -c '.inputs[0] | [.format, .prefix, .unparsed_lines]' "$tmp/logplex.1.json")" '["syslog","sql_error_code = %e ",0]' \
    "logplex: detected, Heroku's prefix found, every line read"
is "$(jq -c '.queries | map([.calls, .query])' "$tmp/logplex.1.json")" "$(jq -c '.queries | map([.calls, .query])' "$tmp/prefix-user-db.log.json")" \
    "logplex: the same queries as the stderr log it was made from"
is "$(jq -c '[.summary.errors, ([.events.errors[] | .sqlstate] | sort)]' "$tmp/logplex.1.json")" '[2,["23505","42P01"]]' \
    "logplex: the errors with their SQLSTATE from sql_error_code"
cmp -s "$tmp/logplex.1.json" "$tmp/logplex.2.json"; ok $? "logplex: -j 2 gives the same JSON as -j 1"
for f in text md html; do
    "$SLEUTH" analyze --log-format logplex -f $f -o "$tmp/logplex.$f" "$DATA/syslog-logplex.log"
    ok $? "logplex, --log-format logplex: the $f report"
done

# Google Cloud SQL: Cloud Logging entries, the record in textPayload (README.formats.md).
"$SLEUTH" analyze -f json -o "$tmp/cloudsql.json" "$DATA/cloudsql.json"
is "$(jq -c '.inputs[0] | [.format, .prefix, .records, .unparsed_lines]' "$tmp/cloudsql.json")" \
    '["syslog","[%l-1] db=%d,user=%u ",54,0]' "Cloud SQL: detected, Cloud SQL's prefix found, its 57 entries read as the stderr log's 54 records"
is "$(same "$tmp/cloudsql.json")" "$(same "$tmp/prefix-user-db.log.json")" "Cloud SQL: the same report as the stderr log it was made from"
{ head -3 "$DATA/cloudsql.json"; echo '{"insertId": "x", "jsonPayload": {"message": "not a record"}}'; tail -n +4 "$DATA/cloudsql.json"; } >"$tmp/cloudsql-other.json"
"$SLEUTH" analyze --log-format cloudsql -f json -o "$tmp/cloudsql-other.out.json" "$tmp/cloudsql-other.json" 2>/dev/null
is "$(jq -c '.inputs[0] | [.records, .unparsed_lines, .first_unparsed_lines[0]]' "$tmp/cloudsql-other.out.json")" '[54,1,4]' \
    "Cloud SQL, --log-format cloudsql: an entry without textPayload counted with its line"
for f in text md html; do
    "$SLEUTH" analyze -f $f -o "$tmp/cloudsql.$f" "$DATA/cloudsql.json"
    ok $? "Cloud SQL: the $f report"
done
many cloudsql-big "$DATA/cloudsql.json" 600 # 20 MB
is "$(jq -c '[.summary.queries, .summary.errors, .inputs[0].unparsed_lines]' "$tmp/cloudsql-big.1.json")" "[7800,1200,0]" \
    "Cloud SQL x600: every record"

# csvlog with the columns of PostgreSQL 8.4 (22) and 9.0-12 (23), cut from a PostgreSQL 15 one.
for v in pg15 pg90 pg84; do
    f=$DATA/csvlog-$v.csv r=$tmp/csvlog-$v.json
    "$SLEUTH" analyze --format json -j 1 -o "$r" "$f"; ok $? "csvlog-$v: analyze exits 0"
    is "$(jq -r '.inputs[0].format' "$r")" csvlog "csvlog-$v: detected as csvlog"
    is "$(jq '.inputs[0].unparsed_lines' "$r")" 0 "csvlog-$v: every line recognised"
    is "$(jq '.summary.queries' "$r")" "$(grep -c -E 'duration: [0-9.]+ ms  (statement|execute)' "$f")" "csvlog-$v: queries as many as the lines say"
    is "$(jq '.summary.errors' "$r")" "$(grep -c ',ERROR,' "$f")" "csvlog-$v: errors"
    is "$(jq -c '[.queries[].users[].name] | unique' "$r")" '["app","postgres"]' "csvlog-$v: users read"
    "$SLEUTH" analyze --format json -j 4 -o "$tmp/j4.json" "$f"
    cmp -s "$r" "$tmp/j4.json"; ok $? "csvlog-$v: -j 4 gives the same JSON as -j 1"
done
is "$(jq -c '[.queries[].apps[].name] | unique' "$tmp/csvlog-pg84.json")" '[""]' "8.4 has no application column"
is "$(jq -c '[.queries[].apps[].name] | unique' "$tmp/csvlog-pg90.json")" '["pgbench","psql"]' "9.0 has one"
same_csv() { jq -c '[.queries[] | {fingerprint, calls, total_ms, users, databases}], .summary, .events.errors' "$1"; }
is "$(same_csv "$tmp/csvlog-pg84.json")" "$(same_csv "$tmp/csvlog-pg15.json")" "csvlog-pg84: the same report as the PostgreSQL 15 csvlog"
is "$(same_csv "$tmp/csvlog-pg90.json")" "$(same_csv "$tmp/csvlog-pg15.json")" "csvlog-pg90: the same report as the PostgreSQL 15 csvlog"

# Binds that no execute follows (the executes were under log_min_duration_statement): calls of their own.
f=$DATA/lone-bind.log r=$tmp/lone-bind.json
"$SLEUTH" analyze --format json -j 1 -o "$r" "$f"; ok $? "lone-bind: analyze exits 0"
n_stmt=$(grep -c -E 'duration: [0-9.]+ ms  statement: ' "$f")
n_bind=$(grep -c -E 'duration: [0-9.]+ ms  bind ' "$f")
is "$(grep -c -E 'duration: [0-9.]+ ms  execute ' "$f")" 0 "lone-bind: the log has no execute line"
is "$(jq '.summary.queries' "$r")" $((n_stmt + n_bind)) "lone-bind: $n_stmt statements and $n_bind binds are the calls"
is "$(jq -c '.queries[] | select(.query | startswith("select $1 from t t1")) | [.calls, .bind_calls, .parse_calls, .total_ms, .bind_ms]' "$r")" \
    "[3,3,1,$(grep -o -E 'duration: [0-9.]+ ms  bind' "$f" | awk '{s += $2} END {printf "%.3f,%.3f", s, s}')]" \
    "lone-bind: the join is 3 calls timed by their binds, shown as binds too"
"$SLEUTH" analyze --format json -j 4 -o "$tmp/j4.json" "$f"
cmp -s "$r" "$tmp/j4.json"; ok $? "lone-bind: -j 4 gives the same JSON as -j 1"

# --prefix as postgresql.conf has it, but without the trailing blank.
"$SLEUTH" analyze --format json --prefix '%t [%p]: [%l-1] user=%u,db=%d' -o "$tmp/given.json" "$DATA/prefix-pgbadger.log"
ok $? "--prefix without its trailing blank exits 0"
is "$(jq 'del(.inputs)' "$tmp/given.json" | md5sum)" "$(jq 'del(.inputs)' "$tmp/prefix-pgbadger.log.json" | md5sum)" "and reads the log as detection does"

# --- logs of several formats concatenated: each stretch read in its own format -----------------
# The same pgbench run as stderr, csvlog and jsonlog (README.pgbench.md), 20,000 lines of each.
gzip -dc "$DATA/pgbench-stderr.log.gz" | head -20000 > "$tmp/part.log"
gzip -dc "$DATA/pgbench.csv.gz" | head -20000 > "$tmp/part.csv"
gzip -dc "$DATA/pgbench.json.gz" | head -20000 > "$tmp/part.json"
for f in part.log part.csv part.json; do
    "$SLEUTH" analyze -f json -o "$tmp/$f.out" "$tmp/$f"
done
sum=$(jq -s '[.[].summary.queries] | add' "$tmp/part.log.out" "$tmp/part.csv.out" "$tmp/part.json.out" "$tmp/part.log.out")
errs=$(jq -s '[.[].summary.errors] | add' "$tmp/part.log.out" "$tmp/part.csv.out" "$tmp/part.json.out" "$tmp/part.log.out")
cat "$tmp/part.log" "$tmp/part.csv" "$tmp/part.json" "$tmp/part.log" > "$tmp/mixed.log"
for j in 1 2; do
    "$SLEUTH" analyze -j $j -f json -o "$tmp/mixed.$j.json" "$tmp/mixed.log"
done
is "$(jq -c '[.summary.queries, .summary.errors, .inputs[0].format, .inputs[0].unparsed_lines]' "$tmp/mixed.1.json")" \
    "[$sum,$errs,\"stderr+csvlog+jsonlog\",0]" "stderr, csvlog, jsonlog, stderr concatenated: every query of each part, no line lost"
is "$(jq -S 'del(.summary.seconds, .summary.mb_per_s)' "$tmp/mixed.1.json" | md5sum)" \
    "$(jq -S 'del(.summary.seconds, .summary.mb_per_s)' "$tmp/mixed.2.json" | md5sum)" "... the same report at -j 1 and -j 2"
"$SLEUTH" analyze --log-format stderr -f json -o "$tmp/kept.json" "$tmp/mixed.log"
is "$(jq -c '[.inputs[0].format, .inputs[0].unparsed_lines > 0]' "$tmp/kept.json")" '["stderr",true]' \
    "--log-format keeps the format named: the other parts are counted as lines not recognised"
# One stray line in another format is not a change of format.
at=$(awk 'NR > 100 && /^2026-/ { print NR; exit }' "$tmp/part.log") # a record's first line
{ head -$((at - 1)) "$tmp/part.log"; echo '{"note": "a line some tool wrote"}'; sed -n "$at,200p" "$tmp/part.log"; } > "$tmp/stray.log"
"$SLEUTH" analyze -f json -o "$tmp/stray.json" "$tmp/stray.log"
is "$(jq -c '[.inputs[0].format, .inputs[0].unparsed_lines, .inputs[0].first_unparsed_lines[0]]' "$tmp/stray.json")" \
    "[\"stderr\",1,$at]" "a stray line of JSON in a stderr log: counted, the log read on as stderr"

# --- CloudNativePG: PostgreSQL's records as JSON lines under "record" (README.formats.md) ------
"$SLEUTH" analyze -f json -o "$tmp/cnpg.json" "$DATA/cnpg.json" 2>"$tmp/cnpg.err"
ok $? "CloudNativePG log: analyze exits 0"
"$SLEUTH" analyze -f json -o "$tmp/pg15.json" "$DATA/csvlog-pg15.csv"
is "$(jq -S 'del(.inputs)' "$tmp/cnpg.json" | md5sum)" "$(jq -S 'del(.inputs)' "$tmp/pg15.json" | md5sum)" \
    "CloudNativePG log: the same report as the csvlog of the same records"
is "$(jq -c '.inputs[0] | [.format, .records, .unparsed_lines, .first_unparsed_lines[0]]' "$tmp/cnpg.json")" \
    '["jsonlog",55,3,2]' "CloudNativePG log: the operator's own lines counted as not recognised, the first at line 2"
for f in text md html; do
    "$SLEUTH" analyze --log-format cnpg -f $f -o "$tmp/cnpg.$f" "$DATA/cnpg.json" 2>/dev/null
    ok $? "CloudNativePG log, --log-format cnpg: the $f report"
done
like "$(cat "$tmp/cnpg.md")" "app" "CloudNativePG log: users read"
many cnpg-big "$DATA/cnpg.json" 600 # 24 MB
is "$(jq -c '[.summary.queries, .summary.errors, .inputs[0].unparsed_lines]' "$tmp/cnpg-big.1.json")" "[7800,1200,1800]" \
    "CloudNativePG log x600: every record"

# --- PgBouncer's log next to the server's: a pool exhausted by idle transactions -----------------
pgb=$DATA/pgbouncer-pool.log
srv=$DATA/pgbouncer-server.log.gz
"$SLEUTH" analyze -f json -o "$tmp/srv.json" "$srv"
is "$(jq -c '[.inputs[0].format, (.incidents | length)]' "$tmp/srv.json")" '["stderr",0]' \
    "pool exhaustion behind PgBouncer: the server's log alone shows no incident"
for j in 1 2; do
    "$SLEUTH" analyze -j $j -f json -o "$tmp/pgb.$j.json" "$pgb" "$srv"
    ok $? "PgBouncer and server logs, -j $j: analyze exits 0"
done
is "$(jq -S 'del(.summary.seconds, .summary.mb_per_s)' "$tmp/pgb.1.json" | md5sum)" \
    "$(jq -S 'del(.summary.seconds, .summary.mb_per_s)' "$tmp/pgb.2.json" | md5sum)" "... the same report at -j 1 and -j 2"
is "$(jq -c '.inputs[0] | [.format, .records, .unparsed_lines]' "$tmp/pgb.1.json")" '["pgbouncer",90,0]' \
    "PgBouncer log: detected without flags, its 90 lines read"
is "$(jq -c '[.events.errors[] | select(.message | startswith("pooler error")) | [.severity, .message, .count]]' "$tmp/pgb.1.json")" \
    '[["ERROR","pooler error: query_wait_timeout",13],["ERROR","pooler error: no more connections allowed (max_client_conn)",3]]' \
    "PgBouncer log: its pooler errors grouped, with their counts"
is "$(jq -c '.events.pgbouncer | [.clients_turned_away, .clients_gave_up_waiting, (.stats | length), (.stats | map(.xacts_per_s) | min), (.stats | map(.xacts_per_s) | max), .stats[0].wait_ms_per_s, .stats[1].period_s]' "$tmp/pgb.1.json")" \
    '[16,13,11,0,40,5.264,10.002]' "PgBouncer log: 11 stats lines (0 to 40 transactions/s), 16 clients turned away, 13 after waiting"
is "$(jq -c '[.summary.queries, .summary.errors, .events.too_many_connections]' "$tmp/pgb.1.json")" '[2820,16,0]' \
    "PgBouncer log: the server's queries counted once, no refusal blamed on the server"
is "$(jq -c '[(.incidents | length), .incidents[0].causes[0].cause, .incidents[0].onset, .incidents[0].end]' "$tmp/pgb.1.json")" \
    '[1,"pool_exhaustion","2026-12-07T07:02:22.000+00:00","2026-12-07T07:02:50.000+00:00"]' \
    "PgBouncer and server logs: one incident, pool exhaustion, from the idle transactions' start (07:02:21.99) to the timeouts' end"
is "$(jq -r '.incidents[0].causes[0].summary' "$tmp/pgb.1.json")" \
    "PgBouncer turned 16 clients away and kept up to 13 waiting (the oldest 20.0 s) while 3 sessions held the server connections (3 idle in transaction)" \
    "... the cause names the pooler's figures and the three sessions idle in transaction"
is "$(jq -c '.incidents[0].causes[0].evidence.pgbouncer | [.clients_turned_away, .clients_waiting_max, .transactions_per_s_before > 30]' "$tmp/pgb.1.json")" \
    '[16,13,true]' "... its evidence: clients turned away and waiting, the transactions before"
"$SLEUTH" analyze --log-format pgbouncer -f json -o "$tmp/pgb-named.json" "$pgb"
is "$(jq -c '[.inputs[0].format, .inputs[0].records, .incidents[0].causes[0].cause]' "$tmp/pgb-named.json")" \
    '["pgbouncer",90,"pool_exhaustion"]' "--log-format pgbouncer: the same reading; the pooler's log alone finds the exhaustion"
for f in text md html; do
    "$SLEUTH" analyze -f $f -o "$tmp/pgb.$f" "$pgb" "$srv"
    ok $? "PgBouncer and server logs: the $f report"
    like "$(cat "$tmp/pgb.$f")" "16 clients turned away, 13 after waiting up to 20 s for a server" "... the $f report's PgBouncer line"
    like "$(grep '07:01:55.582' "$tmp/pgb.$f" | tail -n 1)" "36.0.*0.895.*5.3" "... its stats lines' table: the first row, with its wait"
    like "$(grep '07:02:55.581' "$tmp/pgb.$f")" "578.676" "... the row of the idle transactions' end: their 579 ms mean"
done
"$SLEUTH" postmortem -o "$tmp/pgb-pm.md" "$pgb" "$srv"
ok $? "PgBouncer and server logs: postmortem exits 0"
like "$(head -1 "$tmp/pgb-pm.md")" "^# Postmortem: pool.?_exhaustion" "... of the pool exhaustion"
like "$(cat "$tmp/pgb-pm.md")" "Behind PgBouncer, let it close what the application leaves open" "... with PgBouncer's own measure"
like "$(cat "$tmp/pgb-pm.md")" "pool_wait = 250ms" "... and the alert's thresholds"
# Only stats lines, at PgBouncer's default stats_period: three minutes when clients waited for a
# server (5 s of waiting a second, 10 transactions a second) in half an hour.
for i in $(seq 0 29); do
    w=1200 x=40
    [ "$i" -ge 15 ] && [ "$i" -lt 18 ] && w=5000000 x=10
    printf '2026-12-07 10:%02d:00.000 UTC [77] LOG stats: %d xacts/s, %d queries/s, in 100 B/s, out 100 B/s, xact 900 us, query 800 us, wait %d us\n' "$i" "$x" "$x" "$w"
done >"$tmp/pgb-wait.log"
"$SLEUTH" analyze -f json -o "$tmp/pgb-wait.json" "$tmp/pgb-wait.log"
is "$(jq -c '[(.incidents | length), .incidents[0].onset, .incidents[0].end, .incidents[0].causes[0].cause, .incidents[0].alerts[0].severity]' "$tmp/pgb-wait.json")" \
    '[1,"2026-12-07T10:14:00.000+00:00","2026-12-07T10:17:00.000+00:00","pool_exhaustion","warning"]' \
    "PgBouncer's stats lines alone: clients waiting 500 ms a transaction for three minutes are one incident, from the first such line's period"
is "$(jq -r '.incidents[0].causes[0].summary' "$tmp/pgb-wait.json")" \
    "PgBouncer made its clients wait 500 ms a transaction for a server: every server connection of the pool was taken; the server's log shows by whom" \
    "... pool exhaustion, with the wait"
many pgb-big "$pgb" 2000 # 24 MB
is "$(jq -c '[.inputs[0].records, .summary.errors, .events.pgbouncer.clients_turned_away, (.events.pgbouncer.stats | length)]' "$tmp/pgb-big.1.json")" \
    "[180000,32000,32000,22000]" "PgBouncer log x2000: every line"

done_testing
