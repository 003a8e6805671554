#!/bin/bash
# sleuth advise against a real PostgreSQL 15 with pg_stat_statements and
# hypopg that this test starts: a shop schema (orders 200k rows with
# fillfactor 70, customers 20k, products 5k with a 500-byte description)
# and one workload per outage, each followed by exact advice: the missing
# index (with and without hypopg), a new unindexed query after a deploy,
# an index on updated columns, prefix-redundant, unused and invalid
# indexes, idle-in-transaction sessions near the connection limit, a
# SELECT * without LIMIT, and a steady workload that must get no index
# advice. The advisor's session must leave the schema as it found it.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pg.sh"
tmp=$(mktemp -d)
HOLD_PIDS=
cleanup() {
    for p in $HOLD_PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    pg_stop
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

if ! pg_start "$tmp/pg" "shared_preload_libraries = 'pg_stat_statements'" \
    "max_connections = 12" "max_parallel_workers_per_gather = 0"; then
    ok 1 "PostgreSQL 15 starts (initdb and pg_ctl in $PGBIN)"
    done_testing
    exit 1
fi
ok 0 "PostgreSQL 15 starts"

psql_ -d postgres -c "CREATE EXTENSION pg_stat_statements" -c "CREATE EXTENSION hypopg" >"$tmp/ext.out" 2>&1
ok $? "pg_stat_statements and hypopg are installed"
psql_ -d postgres <<'SQL' >/dev/null
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL);
INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 20000) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz, total numeric NOT NULL) WITH (fillfactor = 70);
INSERT INTO orders SELECT g, 1 + g % 20000, (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
    '2026-01-01'::timestamptz + g * interval '1 minute', NULL, g % 500 FROM generate_series(1, 200000) g;
CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, price numeric NOT NULL, description text NOT NULL);
INSERT INTO products SELECT g, 'product ' || g, g % 100, left(repeat(md5(g::text), 16), 500) FROM generate_series(1, 5000) g;
VACUUM ANALYZE;
SQL
is "$(psql_ -d postgres -At -c "SELECT count(*) FROM orders")" 200000 "orders has 200k rows"

bench() { # bench NAME TRANSACTIONS SCRIPT: pgbench -M prepared, one client
    printf '%s\n' "$3" >"$tmp/$1.sql"
    chmod 644 "$tmp/$1.sql"
    pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PGBIN/pgbench" -n -M prepared -t "$2" -c 1 \
        -f "$tmp/$1.sql" -U postgres postgres >"$tmp/$1.bench" 2>&1
}
reset_stats() {
    psql_ -d postgres -c "SELECT pg_stat_statements_reset()" -c "SELECT pg_stat_reset()" >/dev/null
}
advise() { # advise NAME [options]: JSON into $tmp/NAME.json
    local name=$1
    shift
    "$SLEUTH" advise --format json -o "$tmp/$name.json" "$@" "dbname=postgres" 2>"$tmp/$name.err"
}
q() { jq -r "$2" "$tmp/$1.json"; }
indexes() { psql_ -d postgres -At -c "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'"; }

# 1. Missing index: 100 lookups by customer, newest first; and, as after a deploy, a new
#    query by e-mail that no index serves.
reset_stats
bench lookup 100 '\set c random(1, 20000)
SELECT id, status FROM orders WHERE customer_id = :c ORDER BY created_at DESC LIMIT 10;'
ok $? "100 lookups by customer ran"
bench deploy 120 '\set c random(1, 20000)
SELECT id, name FROM customers WHERE email = '"'"'c'"'"' || :c || '"'"'@example.com'"'"';'
ok $? "120 lookups by e-mail ran"
before=$(indexes)
advise missing --min-mean 0
is $? 0 "advise exits 0"
is "$(indexes)" "$before" "advise created or dropped nothing"
ci='.advice[] | select(.kind == "create_index" and .table == "public.orders")'
is "$(q missing "[$ci] | length")" 1 "one create_index on orders"
is "$(q missing "$ci | .columns | join(\",\")")" "customer_id,created_at" \
    "its columns: the filter, then the ORDER BY"
is "$(q missing "$ci | .sql")" "CREATE INDEX CONCURRENTLY ON public.orders (customer_id, created_at);" \
    "the exact CREATE INDEX"
is "$(q missing "$ci | .evidence.cost_before >= 100")" true "the plan cost before is at least 100"
is "$(q missing "$ci | .evidence.cost_after < .evidence.cost_before / 2")" true \
    "the hypothetical index halves it at least"
is "$(q missing "$ci | .evidence.estimated_size_bytes > 1000000")" true "the index size is estimated"
is "$(q missing "$ci | .confidence_word")" high "validated by hypopg: high confidence"
is "$(q missing "$ci | .evidence.calls")" 100 "the evidence has the 100 calls"
cost_before=$(q missing "$ci | .evidence.cost_before")
cost_after=$(q missing "$ci | .evidence.cost_after")
echo "# orders (customer_id, created_at): cost $cost_before -> $cost_after," \
    "size $(q missing "$ci | .evidence.estimated_size_bytes") bytes"
cc='.advice[] | select(.kind == "create_index" and .table == "public.customers")'
is "$(q missing "$cc | .sql")" "CREATE INDEX CONCURRENTLY ON public.customers (email);" \
    "the new query after a deploy: an index on customers (email)"
is "$(q missing "$cc | .confidence_word")" high "also validated by hypopg"
is "$(q missing '.context.explain_analyze')" false "EXPLAIN ran without ANALYZE"
like "$(q missing '.notes | join(" ")')" "without ANALYZE" "and the output says so"
is "$(q missing '.context.hypopg != null')" true "hypopg was found"

advise thresholds --min-calls 1000
is "$(q thresholds '[.advice[] | select(.kind == "create_index")] | length')" 0 \
    "--min-calls 1000: no statement qualifies"
advise analyze --min-mean 0 --analyze
is "$(q analyze "$ci | .evidence.actual_ms_before > 0")" true "--analyze adds the measured time"
"$SLEUTH" advise --min-mean 0 "dbname=postgres" >"$tmp/missing.txt" 2>&1
like "$(cat "$tmp/missing.txt")" "CREATE INDEX CONCURRENTLY ON public.orders \(customer_id, created_at\);" \
    "the text output has the SQL"
"$SLEUTH" advise --min-mean 0 --format md "dbname=postgres" >"$tmp/missing.md" 2>&1
like "$(cat "$tmp/missing.md")" '```sql' "the Markdown output has an SQL block"

psql_ -d postgres -c "DROP EXTENSION hypopg" >/dev/null
advise nohypo --min-mean 0
is "$(q nohypo "$ci | .columns | join(\",\")")" "customer_id,created_at" "without hypopg: the same columns"
is "$(q nohypo "$ci | .confidence_word")" medium "with a lower confidence"
is "$(q nohypo "$ci | .evidence.hypopg")" false "and says hypopg was not used"
like "$(q nohypo '.notes | join(" ")')" "hypopg is not installed" "and that hypopg would help"
psql_ -d postgres -c "CREATE EXTENSION hypopg" >/dev/null

# 2. Hot index: an index on the columns 2000 updates write.
psql_ -d postgres -c "CREATE INDEX orders_status_updated_at_idx ON orders (status, updated_at)" >/dev/null
reset_stats
bench update 2000 '\set id random(1, 200000)
UPDATE orders SET status = '"'"'paid'"'"', updated_at = now() WHERE id = :id;'
ok $? "2000 updates ran"
advise hot
hi='.advice[] | select(.index == "public.orders_status_updated_at_idx")'
is "$(q hot "[$hi] | length")" 1 "one piece of advice on the hot index"
is "$(q hot "$hi | .kind")" drop_index "drop it"
is "$(q hot "$hi | .sql")" "DROP INDEX CONCURRENTLY public.orders_status_updated_at_idx;" "the exact DROP INDEX"
is "$(q hot "$hi | .evidence.reason")" hot_index "because updates write its columns"
is "$(q hot "$hi | .evidence.set_columns | sort | join(\",\")")" "status,updated_at" "the SET columns"
is "$(q hot "$hi | .evidence.update_calls")" 2000 "the update calls"
is "$(q hot "$hi | .evidence.n_tup_upd")" 2000 "the table's updates"
is "$(q hot "$hi | .evidence.hot_ratio")" 0 "the HOT ratio: no update was HOT"
is "$(q hot "$hi | .evidence.updates_per_s > 0")" true "the write rate"
is "$(q hot "$hi | .confidence_word")" high "high confidence"
psql_ -d postgres -c "DROP INDEX orders_status_updated_at_idx" >/dev/null

# 3. Prefix-redundant, invalid and unused indexes.
psql_ -d postgres -c "CREATE INDEX orders_customer_id_idx ON orders (customer_id)" \
    -c "CREATE INDEX orders_customer_id_created_at_idx ON orders (customer_id, created_at)" >/dev/null
psql_ -d postgres -c "CREATE UNIQUE INDEX CONCURRENTLY orders_status_key ON orders (status)" >/dev/null 2>&1
is "$(psql_ -d postgres -At -c "SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_status_key'::regclass")" f \
    "the failed CREATE UNIQUE INDEX CONCURRENTLY left an invalid index"
advise redundant
ri='.advice[] | select(.index == "public.orders_customer_id_idx")'
is "$(q redundant "$ri | .kind")" drop_index "the prefix-redundant index is dropped"
is "$(q redundant "$ri | .sql")" "DROP INDEX CONCURRENTLY public.orders_customer_id_idx;" "the exact DROP INDEX"
is "$(q redundant "$ri | .evidence.reason")" prefix "because its keys are a prefix"
is "$(q redundant "$ri | .evidence.covered_by")" orders_customer_id_created_at_idx "of the two-column index"
ii='.advice[] | select(.index == "public.orders_status_key")'
is "$(q redundant "$ii | .sql")" "DROP INDEX CONCURRENTLY public.orders_status_key;" "the invalid index is dropped"
is "$(q redundant "$ii | .evidence.reason")" invalid "because it is invalid"
is "$(q redundant "$ii | .evidence.recreate")" \
    "CREATE UNIQUE INDEX CONCURRENTLY orders_status_key ON public.orders USING btree (status);" \
    "with the statement that recreates it"
is "$(q redundant '[.advice[] | select(.evidence.reason == "unused")] | length')" 0 \
    "statistics younger than 7 days: no index judged unused"
advise unused --min-stats-age 0s
is "$(q unused '.advice[] | select(.index == "public.orders_customer_id_created_at_idx") | .evidence.reason')" \
    unused "--min-stats-age 0s: the never-scanned index is unused"
is "$(q unused '[.advice[] | select(.index == "public.orders_pkey" or .index == "public.products_pkey")] | length')" 0 \
    "primary keys are never dropped"

# 4. Pool: eight sessions idle in a transaction, without idle_in_transaction_session_timeout,
#    take 8 of the 9 usable connections.
hold_session() { # hold_session NAME SQL: a psql session that stays open
    mkfifo "$tmp/$1.fifo"
    chmod 666 "$tmp/$1.fifo"
    psql_ -d postgres -At <"$tmp/$1.fifo" >"$tmp/$1.out" 2>&1 &
    HOLD_PIDS="$HOLD_PIDS $!"
    eval "exec {fd_$1}>\"$tmp/$1.fifo\""
    local fd
    eval "fd=\$fd_$1"
    printf '%s\n' "$2" >&"$fd"
}
for i in 1 2 3 4 5 6 7 8; do hold_session "idle$i" "BEGIN; SELECT 1;"; done
for _ in $(seq 1 100); do
    n=$(psql_ -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
    [ "$n" = 8 ] && break
    sleep 0.1
done
is "$n" 8 "eight sessions are idle in a transaction"
advise pool
pi='.advice[] | select(.kind == "setting" and .columns == ["idle_in_transaction_session_timeout"])'
is "$(q pool "$pi | .sql")" "ALTER SYSTEM SET idle_in_transaction_session_timeout = '60s';
SELECT pg_reload_conf();" "idle_in_transaction_session_timeout = 60s"
is "$(q pool "$pi | .evidence.idle_in_transaction")" 8 "the evidence counts the eight sessions"
is "$(q pool "$pi | .evidence.usable_connections")" 9 "of 9 usable connections"
is "$(q pool "$pi | .evidence.longest_holders | length")" 5 "the sessions holding connections longest"
"$SLEUTH" watch --store "$tmp/watch.db" --interval 1s --count 2 "dbname=postgres" >"$tmp/watch.out" 2>&1
ok $? "a watcher kept two intervals in a store"
ps='.advice[] | select(.kind == "setting" and .columns == ["pool_size"])'
is "$(q pool "$ps | .evidence.proposed")" 7 "pool size: 9 usable x 0.8 / 1 instance"
is "$(q pool "[.advice[] | select(.kind == \"setting\" and .columns == [\"statement_timeout\"])] | .[0].sql")" \
    "ALTER ROLE postgres SET statement_timeout = '30s';" "statement_timeout for the role holding them"
for i in 1 2 3 4 5 6 7 8; do eval "exec {fd_idle$i}>&-"; done # EOF: each psql ends its session
wait 2>/dev/null
HOLD_PIDS=
for _ in $(seq 1 100); do
    n=$(psql_ -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
    [ "$n" = 0 ] && break
    sleep 0.1
done
is "$n" 0 "the idle sessions are gone"

advise store --store "$tmp/watch.db"
is "$(q store '.context.store.peak_connections')" 8 "--store: the peak of the stored intervals"
is "$(q store '.context.connections.connections')" 0 "while none is in use now"
is "$(q store "$ps | .evidence.proposed")" 7 "the pool size still follows the peak"
is "$(q store "[$pi] | length")" 1 "and the stored idle sessions still ask for the timeout"

# 5. Redundant fetch: 60 x SELECT * FROM products (5000 rows with a 500-byte description).
reset_stats
bench fetch 60 'SELECT * FROM products;'
ok $? "60 full reads of products ran"
advise fetch
fi_='.advice[] | select(.kind == "rewrite_query" and .table == "public.products")'
is "$(q fetch "$fi_ | .columns | join(\",\")")" "*" "it names SELECT *"
is "$(q fetch "$fi_ | .evidence.rows_per_call")" 5000 "5000 rows per call"
is "$(q fetch "$fi_ | .evidence.missing_limit")" true "and no LIMIT"
is "$(q fetch "$fi_ | .evidence.row_width_bytes > 500")" true "a row is wider than 500 bytes"
is "$(q fetch "$fi_ | .evidence.wide_columns | join(\",\")")" description "the wide column"
is "$(q fetch "$fi_ | .sql")" "SELECT id, name, price FROM products LIMIT 100;" \
    "the rewrite: the narrow columns and a LIMIT"

# 6. Steady: the advice applied, then a workload every index serves.
psql_ -d postgres -c "DROP INDEX orders_customer_id_idx" -c "DROP INDEX orders_status_key" \
    -c "$(q missing "$cc | .sql")" >/dev/null
reset_stats
bench steady1 100 '\set c random(1, 20000)
SELECT id, status FROM orders WHERE customer_id = :c ORDER BY created_at DESC LIMIT 10;'
bench steady2 100 '\set c random(1, 20000)
SELECT id, name FROM customers WHERE email = '"'"'c'"'"' || :c || '"'"'@example.com'"'"';'
bench steady3 100 '\set p random(1, 5000)
SELECT name, price FROM products WHERE id = :p;'
is "$(psql_ -d postgres -At -c "SELECT idx_scan > 0 FROM pg_stat_user_indexes WHERE indexrelname = 'orders_customer_id_created_at_idx'")" t \
    "the lookups use orders_customer_id_created_at_idx"
advise steady --min-mean 0 --min-stats-age 0s
is "$(q steady '[.advice[] | select(.kind == "create_index" or .kind == "drop_index" or .kind == "replace_index")] | map(.sql) | join(" ")')" "" \
    "steady: no index to create or drop"
is "$(q steady '[.advice[] | select(.index == "public.orders_customer_id_created_at_idx" or .index == "public.customers_email_idx")] | length')" 0 \
    "the used indexes are in no drop advice"
is "$(q steady '.advice | length')" 0 "no advice at all"

done_testing
