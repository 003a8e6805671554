#!/bin/bash
# No secret in any output. A real PostgreSQL 15 with log_statement = 'all'
# runs every kind of statement that can carry a secret, successful, failed
# and unparsable, each with its own token (zqsec_...). Every report of the
# stderr, csvlog and jsonlog logs (json, html, md, text), --no-examples, a
# watcher's --once state, store, alerts and report, and the argv of a
# running watcher given a password and a webhook token must not contain
# one, while the statements' normalised forms are still reported.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pg.sh"
tmp=$(mktemp -d)
WATCH_PID=
cleanup() {
    [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
    wait 2>/dev/null
    pg_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! pg_start "$tmp/pg" "log_destination = 'stderr,csvlog,jsonlog'" \
    "log_line_prefix = '%m [%p] %q%u@%d '" "log_statement = 'all'" \
    "log_min_duration_statement = 0" "shared_preload_libraries = 'pg_stat_statements'"; then
    ok 1 "PostgreSQL 15 starts (initdb and pg_ctl in $PGBIN)"
    done_testing
    exit 1
fi
ok 0 "PostgreSQL 15 starts"

psql_ -d postgres -c "CREATE EXTENSION pgcrypto" -c "CREATE EXTENSION dblink" \
    -c "CREATE EXTENSION postgres_fdw" -c "CREATE EXTENSION pg_stat_statements" \
    -c "CREATE TABLE t (id int PRIMARY KEY, v int)" \
    -c "INSERT INTO t SELECT g, g % 10 FROM generate_series(1, 1000) g" >/dev/null
ok $? "pgcrypto, dblink, postgres_fdw and a table"

# Every route, one token each; ON_ERROR_STOP=0 runs the failing ones too.
psql_ -d postgres >/dev/null 2>&1 <<'SQL'
CREATE ROLE victim LOGIN PASSWORD 'zqsec_create_role';
ALTER ROLE victim PASSWORD 'zqsec_alter_role';
ALTER ROLE nosuchrole PASSWORD 'zqsec_alter_missing';
ALTER ROLE victim PASSWORD zqsec_unquoted;
ALTER USER victim WITH ENCRYPTED PASSWORD 'zqsec_alter_user';
SET app.api_key = 'zqsec_set_quoted';
SET app.api_key = zqsec_set_bare;
SET app.api_key TO 'zqsec_set_to';
SET app.api_key zqsec_set_syntax;
ALTER SYSTEM SET app.token = 'zqsec_alter_system';
ALTER SYSTEM RESET app.token;
ALTER ROLE victim SET app.key = 'zqsec_role_setting';
SELECT set_config('app.api_key', 'zqsec_set_config', false);
PREPARE setkey(text) AS SELECT set_config('app.api_key', $1, false);
EXECUTE setkey('zqsec_execute');
EXECUTE setkey(zqsec_execute_bad);
COPY (SELECT 1) TO PROGRAM 'cat >/dev/null # zqsec_copy_program';
COPY (SELECT 1) TO PROGRAM 'exit 3 # zqsec_copy_fail';
CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', dbname 'zqsec_server');
ALTER SERVER remote OPTIONS (ADD sslpassword 'zqsec_alter_server');
CREATE USER MAPPING FOR victim SERVER remote OPTIONS (user 'u', password 'zqsec_mapping');
CREATE USER MAPPING FOR nosuchrole SERVER remote OPTIONS (password 'zqsec_mapping_fail');
SELECT pgp_sym_encrypt('card', 'zqsec_pgp_key');
SELECT pgp_sym_decrypt('\x00'::bytea, 'zqsec_pgp_fail');
SELECT encrypt('data', 'zqsec_encrypt_key', 'aes');
SELECT dblink_connect('c', 'dbname=postgres host=/nonexistent password=zqsec_dblink');
DO $$BEGIN PERFORM 'zqsec_do_block'; END$$;
DO E'BEGIN PERFORM ''zqsec_do_escape''; END';
SELECT digest('zqsec_digest', 'sha256');
CREATE SUBSCRIPTION sub CONNECTION 'postgresql://rep:zqsec_subscription@/nonexistent'
    PUBLICATION p WITH (connect = false);
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_verbose = on;
SELECT pgp_sym_encrypt(v::text, 'zqsec_plan_key') FROM t WHERE id = 1;
SELECT count(*) FROM t WHERE v > 424242;
SELECT * FROM t WHERE id = 'zz424242';
SQL
# Extended protocol: the key comes as a bind parameter (DETAIL: parameters: $1 = '...').
printf '\\set k 918273645\nSELECT set_config('"'"'app.n'"'"', :k::text, false);\n' >"$tmp/bind.sql"
chmod 644 "$tmp/bind.sql"
pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/pgbench" -n -M extended -t 3 -c 1 \
    -f "$tmp/bind.sql" -U postgres postgres >/dev/null 2>&1
ok $? "pgbench sent the key as a bind parameter"

log=$tmp/pg/log/postgresql
secrets='zqsec|918273645'
# The test can fail: each log holds the tokens, including PostgreSQL's own messages.
for ext in "" .csv .json; do
    like "$(grep -Eci "$secrets" "$log$ext")" '^[1-9][0-9]+$' \
        "the ${ext:-stderr} log holds the secrets the reports must not show"
done
like "$(grep -c 'syntax error at or near "zqsec_unquoted"' "$log")" '^[1-9]' \
    "PostgreSQL's own message carries the unquoted password"

q() { jq -r "$2" "$1"; }
hidden='… (hidden: may contain a secret)'
for ext in "" .csv .json; do
    name=${ext:-.stderr}
    for fmt in json html md text; do
        out=$tmp/report$name.$fmt
        "$SLEUTH" analyze --format $fmt -o "$out" "$log$ext" 2>"$tmp/err"
        ok $? "analyze $name --format $fmt exits 0"
        is "$(grep -Eci "$secrets" "$out")" 0 "$name $fmt: no secret in the report"
    done
    j=$tmp/report$name.json
    is "$(q "$j" "[.queries[] | select(.query == \"alter role $hidden\")] | length")" 1 \
        "$name: ALTER ROLE ... PASSWORD is reported as its first words"
    is "$(q "$j" "[.queries[] | select(.query == \"set app.api_key = \$1\")][0].calls")" 2 \
        "$name: SET app.api_key = '...' is reported normalised"
    is "$(q "$j" "[.queries[] | select(.query == \"set app.api_key = \$1\")][0].example")" \
        'set app.api_key = $1' "$name: its example is normalised too"
    is "$(q "$j" "[.queries[] | select(.query == \"execute setkey(\$1)\")][0].example")" \
        'execute setkey($1)' "$name: EXECUTE's example keeps no parameter"
    is "$(q "$j" "[.queries[] | select(.query == \"select pgp_sym_encrypt(\$1, \$2)\")] | length")" 1 \
        "$name: pgp_sym_encrypt is reported normalised"
    is "$(q "$j" "[.queries[] | select(.query | startswith(\"select pgp_sym_encrypt(v::text\"))][0].example_plan")" \
        null "$name: the plan of a secret statement is not kept"
    is "$(q "$j" "[.queries[] | select(.query == \"select set_config(\$1, \$1::text, false)\" or .query == \"select set_config(\$1, \$2::text, false)\")][0].example")" \
        "$(q "$j" "[.queries[] | select(.query == \"select set_config(\$1, \$1::text, false)\" or .query == \"select set_config(\$1, \$2::text, false)\")][0].query")" \
        "$name: a bound set_config's example is its normalised text, without parameters"
    is "$(q "$j" "[.events.errors[] | select(.statement == \"alter role $hidden\")] | length")" 2 \
        "$name: the failed and the unparsable ALTER ROLE keep only their first words"
    like "$(q "$j" '.events.errors[] | select(.sqlstate == "42601") | .message')" \
        '^syntax error at or near "…"' "$name: the syntax error's message is masked"
    is "$(q "$j" '[.events.errors[] | select(.statement == "copy (" + "'"$hidden"'")] | length')" \
        0 "$name: no error statement is cut inside a parenthesis"
    like "$(q "$j" '.events.errors[] | select(.message | startswith("program")) | .message')" \
        '^program "…" failed' "$name: COPY ... PROGRAM's failure message is masked"
    is "$(q "$j" '[.queries[] | select(.query == "select count(*) from t where v > $1")][0].example')" \
        'SELECT count(*) FROM t WHERE v > 424242;' "$name: an ordinary example keeps its literal"
    like "$(q "$j" '.events.errors[] | select(.sqlstate == "22P02") | .message')" \
        '^invalid input syntax for type integer: "zz424242"' \
        "$name: an ordinary message is kept whole"
done

# --no-examples: no literal at all, the normalised statements still there.
for fmt in json html md text; do
    out=$tmp/noex.$fmt
    "$SLEUTH" analyze --no-examples --format $fmt -o "$out" "$log.csv" 2>"$tmp/err"
    ok $? "analyze --no-examples --format $fmt exits 0"
    is "$(grep -Eci "$secrets|424242" "$out")" 0 "--no-examples $fmt: not even an ordinary literal"
done
is "$(q "$tmp/noex.json" '[.queries[] | select(.query == "select count(*) from t where v > $1")][0].example')" \
    'select count(*) from t where v > $1' "--no-examples: the example is the normalised statement"
like "$(q "$tmp/noex.json" '[.queries[] | select(.query == "select count(*) from t where v > $1")][0].example_plan')" \
    '^null$' "--no-examples: no plan text"
is "$(q "$tmp/noex.json" '.events.errors[] | select(.sqlstate == "22P02") | .message')" \
    'invalid input syntax for type integer: "…"' \
    "--no-examples: error messages are masked"
is "$(q "$tmp/noex.json" '.events.errors[] | select(.sqlstate == "22P02") | .statement')" \
    'select * from t where id = $1' "--no-examples: error statements are normalised"

# Live: sessions, pg_stat_statements texts, the store, alerts, and argv.
uri="postgresql://postgres:zqsec_argv_pw@/postgres?host=$PGHOST&port=$PGPORT"
psql_ -d postgres -c "DO \$\$BEGIN PERFORM pg_sleep(4); PERFORM 'zqsec_live_do'; END\$\$" \
    >/dev/null 2>&1 &
sleep 0.5
"$SLEUTH" watch --once -i 1s "$uri" >"$tmp/once.json" 2>"$tmp/once.err"
ok $? "watch --once with a password in its URI"
is "$(q "$tmp/once.json" '[.. | strings | select(startswith("do "))] | unique | join(",")')" \
    "do $hidden" "--once: the DO session is shown as its first word"
is "$(grep -Eci "$secrets" "$tmp/once.json" "$tmp/once.err" | awk -F: '{s += $2} END {print s}')" 0 \
    "--once: no secret in the state or on stderr"
wait

"$SLEUTH" watch -i 1s --count 6 --store "$tmp/s.db" --alerts-jsonl "$tmp/alerts.jsonl" \
    --webhook "http://127.0.0.1:9/services/zqsec_hook_id/zqsec_hook_token" "$uri" \
    >"$tmp/watch.out" 2>"$tmp/watch.err" &
WATCH_PID=$!
sleep 1.5
cmdline=$(tr '\0' ' ' <"/proc/$WATCH_PID/cmdline")
like "$cmdline" "postgresql://postgres:x+@/postgres" "argv: the watcher's URI is still there, password overwritten"
like "$cmdline" "http://127.0.0.1:9/services/x+" "argv: the webhook URL keeps its host and first segment"
is "$(printf '%s' "$cmdline" | grep -Eci "$secrets")" 0 "argv: /proc/PID/cmdline shows no password or token"
like "$(ps -o args= -p "$WATCH_PID")" "postgres:x+@" "argv: ps shows the scrubbed URI"
# pg_stat_statements texts and sessions while the watcher polls.
psql_ -d postgres >/dev/null 2>&1 <<'SQL'
ALTER ROLE victim PASSWORD 'zqsec_pgss_role';
SET app.api_key = zqsec_pgss_set;
COPY (SELECT 1) TO PROGRAM 'cat >/dev/null # zqsec_pgss_copy';
SELECT pg_sleep(1.5), pgp_sym_encrypt('x', 'zqsec_pgss_pgp');
SQL
wait "$WATCH_PID"
ok $? "the watcher stops after --count"
WATCH_PID=
is "$(sqlite3 "$tmp/s.db" .dump | grep -Eci "$secrets")" 0 "the store holds no secret"
like "$(sqlite3 "$tmp/s.db" .dump | grep -c 'alter role')" '^[1-9]' \
    "the store has the ALTER ROLE, normalised"
is "$(cat "$tmp/alerts.jsonl" "$tmp/watch.out" "$tmp/watch.err" 2>/dev/null | grep -Eci "$secrets")" 0 \
    "alerts, console and stderr hold no secret"
for fmt in json html md text; do
    "$SLEUTH" report --store "$tmp/s.db" --format $fmt -o "$tmp/store.$fmt" 2>/dev/null
    ok $? "report --store --format $fmt exits 0"
    is "$(grep -Eci "$secrets" "$tmp/store.$fmt")" 0 "report --store $fmt: no secret"
done

# A dbname holding a URI is a database name to libpq, which the server quotes back.
"$SLEUTH" watch --once -i 100ms \
    "host=$PGHOST port=$PGPORT user=postgres dbname=postgresql://u:zqsec_dbname_uri@h/db" \
    >/dev/null 2>"$tmp/dburi.err"
is $? 4 "watch: a dbname holding a URI fails to connect (exit 4)"
like "$(cat "$tmp/dburi.err")" "cannot connect to '.*dbname=\(hidden\).*': .*database \"…\" does not exist" \
    "the error hides that dbname and what the server quoted of it"
is "$(grep -Eci "$secrets" "$tmp/dburi.err")" 0 "no password in that connection error"
# libpq quotes back what it cannot parse; sslpassword is libpq's secret too.
"$SLEUTH" watch --once -i 100ms "host=$PGHOST port=$PGPORT password=abc zqsec_unparsable" \
    >/dev/null 2>"$tmp/badci.err"
is $? 4 "watch: a conninfo libpq cannot parse fails to connect (exit 4)"
like "$(cat "$tmp/badci.err")" "cannot connect to '\(invalid conninfo\)': missing \"…\" after \"…\"" \
    "the error masks what libpq quoted of it"
"$SLEUTH" advise "postgresql://u:zqsec_percent%zz@127.0.0.1:1/d" >/dev/null 2>>"$tmp/badci.err"
"$SLEUTH" watch --once -i 100ms "sslpassword=zqsec_sslpassword host=$PGHOST port=1" \
    >/dev/null 2>>"$tmp/badci.err"
like "$(cat "$tmp/badci.err")" "cannot connect to 'host=[^ ]* port=1'" "sslpassword is left out of the target"
is "$(grep -Eci "$secrets" "$tmp/badci.err")" 0 "no password in those errors"

# The webhook URL from a file or the environment: nothing on the command line.
printf 'http://127.0.0.1:9/services/zqsec_file_token\n' >"$tmp/hook"
"$SLEUTH" watch --once -i 100ms --webhook-file "$tmp/hook" "$uri" >/dev/null 2>"$tmp/hook.err"
ok $? "watch --webhook-file reads the URL"
printf 'notaurl\n' >"$tmp/hook"
"$SLEUTH" watch --once -i 100ms --webhook-file "$tmp/hook" "$uri" >/dev/null 2>"$tmp/hook.err"
is $? 2 "the URL from --webhook-file is used (an invalid one is refused)"
"$SLEUTH" watch --once -i 100ms --webhook-file "$tmp/missing" "$uri" >/dev/null 2>"$tmp/hook.err"
is $? 2 "a missing --webhook-file is a usage error"
like "$(cat "$tmp/hook.err")" "--webhook-file: cannot read '.*missing'" "which names the file"
SLEUTH_WEBHOOK_URL="notaurl" "$SLEUTH" watch --once -i 100ms "$uri" >/dev/null 2>"$tmp/env.err"
is $? 2 "SLEUTH_WEBHOOK_URL is used (an invalid one is refused)"

done_testing
