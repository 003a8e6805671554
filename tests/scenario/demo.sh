#!/bin/bash
# The outage scenarios of `sleuth demo`, each against its own private
# PostgreSQL 15 (as the postgres user when run as root): a steady run with
# no fault must raise no alert at all; each fault must be told by its own
# signals (demo_fault_signals in src/demo/fault.c), the first of them
# within two intervals of the fault plus one for poll timing, with no
# false alarm before the fault and no alert of an unrelated kind after it
# (honest side effects, such as a CPU-bound server slowing every query,
# are listed per fault in fault.c).
# The scenarios load the CPU: meson runs this test alone (is_parallel).
# SLEUTH_DEMO_SCENARIOS limits the run to some scenarios.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

INTERVAL=2
STEADY=24s
AFTER=40s
RECOVER=30s
SCENARIOS=${SLEUTH_DEMO_SCENARIOS:-steady missing-index hot-index pool-exhaustion deploy-surge redundant-fetch traffic-surge lock-contention plan-regression}

# expected SCENARIO: the kinds of the first signal group (any one must fire first)
expected() {
    case $1 in
    missing-index) echo "latency_regression seq_scan_growth" ;;
    hot-index) echo "hot_ratio_drop" ;;
    pool-exhaustion) echo "connection_saturation connections_refused" ;;
    deploy-surge) echo "call_surge new_heavy_query call_rate" ;;
    redundant-fetch) echo "rows_per_call" ;;
    traffic-surge) echo "connection_rate call_rate database_load latency_regression" ;;
    lock-contention) echo "blocking_chain lock_waits" ;;
    plan-regression) echo "latency_regression database_load seq_scan_growth" ;;
    esac
}

# the trigger and the fix each fault's incident must show ("-": none is a change sleuth sees)
trigger_of() {
    case $1 in
    missing-index) echo drop_index ;;
    hot-index) echo create_index ;;
    lock-contention) echo alter_table ;;
    plan-regression) echo setting ;;
    *) echo - ;;
    esac
}
fix_of() {
    case $1 in
    missing-index) echo create_index ;;
    hot-index) echo drop_index ;;
    lock-contention) echo transaction_end ;;
    plan-regression) echo setting ;;
    *) echo - ;;
    esac
}

# [requests, failed, slow] a postmortem counted, and the clients' own count over its users' window.
pm_counts() {
    jq -c '[.numbers[] | select(.name == "requests" or .name == "requests_failed" or .name == "requests_slow") | .value]' "$1"
}
own_counts() { # own_counts POSTMORTEM DEMO_JSON
    jq -c --slurpfile pm "$1" '
        def secs: sub("\\.[0-9]+\\+00:00$"; "Z") | fromdateiso8601;
        def up: if test("\\.000\\+00:00$") then secs else secs + 1 end;
        ($pm[0].summary.users_window.from | secs) as $a | ($pm[0].summary.users_window.to | up) as $b |
        [.traffic.per_second[] | select(.[0] >= $a and .[0] < $b)] |
        [(map(.[1]) | add // 0), (map(.[2]) | add // 0), (map(.[3]) | add // 0)]' "$2"
}

for s in $SCENARIOS; do
    out=$tmp/$s
    start=$(date +%s)
    "$SLEUTH" demo "$s" --steady $STEADY --after $AFTER --recover $RECOVER --interval ${INTERVAL}s \
        --no-color -o "$out" >"$tmp/$s.log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    is "$rc" 0 "$s: sleuth demo exits 0 (in ${took}s)"
    [ "$rc" = 0 ] || { sed 's/^/#   /' "$tmp/$s.log" | tail -30; continue; }
    ok $((took > 150)) "$s: the scenario ends within 2.5 minutes (${took}s)"
    j=$out/demo.json
    ok $([ -s "$out/report.html" ] && [ -s "$out/postgresql.log" ]; echo $?) \
        "$s: the server log and its HTML report are written"
    is "$(jq -r .scenario "$j")" "$s" "$s: demo.json names the scenario"
    echo "# $s: alerts: $(jq -c '[.alerts[] | {kind, key, after: .detected_after_s, n: .detected_after_intervals}]' "$j")"
    echo "# $s: traffic: $(jq -c '.traffic' "$j")"
    # The users' side: the access log the web clients wrote, read back, is their own count.
    "$SLEUTH" analyze --access "$out/access.log" --slow 100ms --interval ${INTERVAL}s -f json \
        -o "$tmp/$s.web.json"
    is "$(jq -c '.web | [.requests, .failed, .slow, .clients, .clients_hurt, .inputs[0].bad_lines]' "$tmp/$s.web.json")" \
        "$(jq -c '.traffic.whole_run | [.requests, .failed, .slow, .clients, .clients_hurt, 0]' "$j")" \
        "$s: the access log gives the clients' own requests, failures, slow pages, clients and clients hurt"
    if [ "$s" = steady ]; then
        is "$(jq '.alerts | length' "$j")" 0 "steady: no alert at all"
        is "$(jq '.traffic.before_fault.failed' "$j")" 0 "steady: no failed request"
        is "$(jq '.diagnosis | length' "$j")" 0 "steady: no diagnosis"
        is "$(jq '.incidents | length' "$j")" 0 "steady: no incident"
        is "$(jq '.log_incidents | length' "$j")" 0 "steady: none in the log"
        is "$("$SLEUTH" report --store "$out/sleuth.db" -f json | jq '.incidents | length')" 0 \
            "steady: none in the store"
        is "$(jq '.log_diagnosis | length' "$j")" 0 "steady: the log's analysis finds nothing either"
        is "$(jq -r '[.advice[] | select(.kind == "drop_index" or .kind == "replace_index" or .kind == "create_index")] | length' "$j")" \
            0 "steady: no index created or dropped"
        ok $([ ! -e "$out/postmortem.md" ]; echo $?) "steady: no postmortem to write"
        is "$(jq '.web.failed' "$tmp/$s.web.json")" 0 "steady: no page failed"
        continue
    fi
    is "$(jq '[.alerts[] | select(.after_fault | not)] | length' "$j")" 0 \
        "$s: no alert before the fault"
    want=$(expected "$s")
    # The first alert of the fault's own signals; an honest side effect may come first
    # (the migration's CREATE INDEX is itself a new heavy statement).
    first=$(jq -r --arg w " $want " '[.alerts[] | select(.after_fault and (.kind as $k | $w | contains(" " + $k + " ")))][0].kind // "none"' "$j")
    like " $want " " $first " "$s: one of $want fired (first: $first)"
    after=$(jq -r '.detected_after_intervals // 99' "$j")
    ok $((after > 3)) "$s: $first within 2 intervals + 1 of the fault ($after, $(jq -r '.detected_after_s // "-"' "$j") s)"
    unrelated=$(jq -r '[.alerts[] | select(.after_fault and (.expected | not)) | .kind] | unique | join(" ")' "$j")
    is "$unrelated" "" "$s: no alert of an unrelated kind"
    for group in $(jq -r '.expected[] | join(",")' "$j"); do
        n=$(jq --arg g "$group" '[.alerts[] | select(.after_fault and ((.kind) as $k | $g | split(",") | index($k)))] | length' "$j")
        ok $((n == 0)) "$s: an alert of $group fired"
    done
    # The diagnosis, live and from the server log alone, and the fix.
    d0='.diagnosis[0]'
    l0='.log_diagnosis[0]'
    echo "# $s: diagnosis: $(jq -c '[.diagnosis[] | {cause, table, columns, index, fingerprint}]' "$j")"
    echo "# $s: log diagnosis: $(jq -c '[.log_diagnosis[] | {cause, table, columns, index, fingerprint}]' "$j")"
    echo "# $s: advice: $(jq -c '[.advice[] | {kind, sql}]' "$j")"
    cause=$(echo "$s" | tr - _)
    is "$(jq -r "$d0.cause" "$j")" "$cause" "$s: the diagnosis names the cause"
    is "$(jq -r "$l0.cause" "$j")" "$cause" "$s: the server log alone reaches the same cause"
    grep -q "^- Cause: ${cause//_/\\\\_} " "$out/postmortem.md" 2>/dev/null
    ok $? "$s: postmortem.md gives the same root cause"
    ok $([ -s "$out/postmortem.html" ]; echo $?) "$s: postmortem.html is written"
    pm=$out/postmortem.json
    echo "# $s: postmortem numbers: $(jq -c '[.numbers[] | {(.name): .value}] | add' "$pm")"
    is "$(pm_counts "$pm")" "$(own_counts "$pm" "$j")" \
        "$s: the postmortem's requests, failures and slow pages are the clients' own over its window"
    hurt=$(jq '.numbers[] | select(.name == "clients_hurt") | .value' "$pm")
    ok $(jq -e --argjson h "$hurt" '$h <= .traffic.whole_run.clients_hurt' "$j" >/dev/null; echo $?) \
        "$s: the postmortem's clients hurt ($hurt) are among those the clients counted"
    "$SLEUTH" postmortem --store "$out/sleuth.db" --access "$out/access.log" --slow 100ms \
        --interval ${INTERVAL}s -f json -o "$tmp/$s.store-pm.json"
    is "$(pm_counts "$tmp/$s.store-pm.json")" "$(own_counts "$tmp/$s.store-pm.json" "$j")" \
        "$s: from the watch store and the access log too"
    lead=$(jq -r '[.timeline[] | select(.kind == "false_lead") | .text | select(test("traffic surge or DDoS \\(access log\\)"))][0] // ""' "$pm")
    case $s in
    traffic-surge) like "$lead" "^Confirmed: traffic surge or DDoS \(access log\) \(requests" \
        "traffic-surge: the access log confirms the surge, with its numbers" ;;
    missing-index | hot-index | plan-regression) like "$lead" "^Ruled out: traffic surge or DDoS \(access log\) \(requests" \
        "$s: the access log rules out a surge, with its numbers" ;;
    esac
    users=$(jq -r '[.timeline[] | select(.kind == "users")][0].at // empty' "$pm")
    if [ -n "$users" ]; then
        d=$(jq -n --arg u "$users" --arg f "$(jq -r .fault_at "$j")" \
            '(($u | sub("\\.[0-9]+\\+00:00$"; "Z") | fromdateiso8601) - ($f | sub("\\.[0-9]+\\+00:00$"; "Z") | fromdateiso8601))')
        # An access log times a request when it ends: a page blocked by a lock is logged when
        # the lock lets go, so lock-contention's users' onset is the first blocked page's end.
        [ "$s" = lock-contention ] ||
            ok $([ "$d" -ge -$INTERVAL ] && [ "$d" -le $((2 * INTERVAL)) ]; echo $?) \
                "$s: the users' trouble began within an interval of the fault ($d s)"
    fi
    "$SLEUTH" report --store "$out/sleuth.db" -f json >"$tmp/$s.store.json"
    is "$(jq -r '.diagnosis[0].cause' "$tmp/$s.store.json")" "$cause" \
        "$s: the store keeps the same verdict"
    # One incident, one page: however many alerts it gathered, the sinks heard of it once.
    is "$(jq '.incidents | length' "$j")" 1 "$s: one incident"
    is "$(jq '[.incident_changes[] | select(.change == "opened")] | length' "$j")" 1 \
        "$s: it opened once ($(jq '.incidents[0].alerts | length' "$j") alerts in it)"
    is "$(jq -r '.incidents[0].state' "$j")" resolved "$s: the fix ends it"
    echo "# $s: incident: $(jq -c '.incidents[0] | {onset, detected_at, "end": .end, time_to_detect_s, time_to_recover_s, trigger: .trigger.kind, fix: .fix.kind}' "$j")"
    want=$(trigger_of "$s")
    [ "$want" != - ] && is "$(jq -r '.incidents[0].trigger.kind' "$j")" "$want" "$s: the trigger is a $want"
    want=$(fix_of "$s")
    [ "$want" != - ] && is "$(jq -r '.incidents[0].fix.kind' "$j")" "$want" "$s: the fix is a $want"
    undo=$(jq -r .undo_at "$j")
    rec=$(jq -n --arg e "$(jq -r '.incidents[0].end' "$j")" --arg u "$undo" \
        '(($e | sub("\\.[0-9]+\\+00:00$"; "Z") | fromdateiso8601) - ($u | sub("\\.[0-9]+\\+00:00$"; "Z") | fromdateiso8601))')
    ok $([ "$rec" -ge -$((2 * INTERVAL)) ] && [ "$rec" -le 30 ]; echo $?) \
        "$s: back to normal after the fix ($rec s)"
    alert_fp=$(jq -r '[.alerts[] | select(.after_fault and .fingerprint != null and .kind != "new_heavy_query")][0].fingerprint // ""' "$j")
    detected=$(jq -r "$d0.detected_at" "$j")
    fault=$(jq -r .fault_at "$j")
    lag=$(jq -n --arg d "$detected" --arg f "$fault" '(($d | sub("\\.[0-9]+\\+00:00$"; "Z") | fromdateiso8601) - ($f | sub("\\.[0-9]+\\+00:00$"; "Z") | fromdateiso8601))')
    ok $((lag > 3 * INTERVAL + 1)) "$s: the diagnosed cause was detected within two intervals of the fault (+$lag s)"
    case $s in
    missing-index)
        is "$(jq -r "$d0.table" "$j")" orders "missing-index: table orders"
        is "$(jq -r "$d0.columns | join(\",\")" "$j")" customer_id,created_at "missing-index: columns customer_id, created_at"
        is "$(jq -r "$d0.fingerprint" "$j")" "$alert_fp" "missing-index: the fingerprint of the regressed query"
        like "$(jq -r "$d0.query" "$j")" "^select .* from orders where customer_id = \\\$1" "missing-index: its text"
        is "$(jq -r "$l0.fingerprint" "$j")" "$alert_fp" "missing-index: the log names the same fingerprint"
        is "$(jq -r "$l0.columns | join(\",\")" "$j")" customer_id,created_at "missing-index: and the same columns"
        is "$(jq -r '[.advice[] | select(.kind == "create_index")][0].sql' "$j")" \
            "CREATE INDEX CONCURRENTLY ON public.orders (customer_id, created_at);" "missing-index: the advice creates that index"
        ;;
    hot-index)
        is "$(jq -r "$d0.index" "$j")" orders_status_updated_at_idx "hot-index: the new index is named"
        is "$(jq -r "$d0.columns | join(\",\")" "$j")" status,updated_at "hot-index: its columns"
        like "$(jq -r "$d0.table" "$j")" "orders$" "hot-index: table orders"
        like "$(jq -r "$d0.query" "$j")" "^update orders set status = " "hot-index: the UPDATE that lost HOT"
        is "$(jq -r "$l0.index" "$j")" orders_status_updated_at_idx "hot-index: the log names the same index"
        is "$(jq -r '[.advice[] | select(.kind == "drop_index")][0].sql' "$j")" \
            "DROP INDEX CONCURRENTLY public.orders_status_updated_at_idx;" "hot-index: the advice drops it"
        ;;
    pool-exhaustion)
        like "$(jq -r "$d0.query" "$j")" "^insert into order_items" "pool-exhaustion: the statement the holding sessions ran"
        ok $(jq -e "$d0.evidence.after.refused_connections > 0 and $d0.evidence.after.connections_max >= 35" "$j" >/dev/null; echo $?) \
            "pool-exhaustion: evidence: connections at the limit and refused"
        like "$(jq -r '[.advice[] | select(.kind == "setting")] | map(.sql) | join(" ")' "$j")" \
            "idle_in_transaction_session_timeout = '[0-9]+s'" "pool-exhaustion: the advice sets idle_in_transaction_session_timeout"
        ;;
    deploy-surge)
        like "$(jq -r "$d0.query" "$j")" "from order_items where order_id = " "deploy-surge: the N+1 query"
        is "$(jq -r "$d0.table" "$j")" order_items "deploy-surge: table order_items"
        like "$(jq -r "$d0.evidence.new_queries[0].query" "$j")" "where product_id = " "deploy-surge: the new query is in the evidence"
        is "$(jq -r "$l0.fingerprint" "$j")" "$(jq -r "$d0.fingerprint" "$j")" "deploy-surge: the log names the same query"
        is "$(jq -r '[.advice[] | select(.kind == "create_index")][0].sql' "$j")" \
            "CREATE INDEX CONCURRENTLY ON public.order_items (product_id);" "deploy-surge: the advice indexes the new query"
        ;;
    traffic-surge)
        is "$(jq -r "$d0.query" "$j")" null "traffic-surge: no query is blamed"
        is "$(jq -r '[.ruled_out[] | select(.suspicion == "traffic surge or DDoS")] | length' "$j")" 0 \
            "traffic-surge: the surge is not ruled out"
        ;;
    lock-contention)
        like "$(jq -r "$d0.table" "$j")" "orders$" "lock-contention: the blocked table"
        like "$(jq -r "$d0.query" "$j")" "^alter table orders add column" "lock-contention: the blocker's statement"
        is "$(jq -r "$d0.evidence.blocker.application" "$j")" migration "lock-contention: the blocker's application"
        is "$(jq -r "$l0.evidence.blocker.application" "$j")" migration "lock-contention: the log names it too"
        ;;
    plan-regression)
        like "$(jq -r '.incidents[0].trigger.object' "$j")" "enable_(index|bitmap)scan" "plan-regression: the setting"
        ;;
    redundant-fetch)
        is "$(jq -r "$d0.table" "$j")" products "redundant-fetch: table products"
        is "$(jq -r "$d0.columns | join(\",\")" "$j")" "*" "redundant-fetch: every column"
        is "$(jq -r "$l0.table" "$j")" products "redundant-fetch: the log names the same table"
        like "$(jq -r '[.advice[] | select(.kind == "rewrite_query")][0].sql' "$j")" \
            "^SELECT id, .* FROM products WHERE category = \\\$1 LIMIT [0-9]+;" "redundant-fetch: the advice names the columns and a LIMIT"
        ;;
    esac
    [ "$s" != traffic-surge ] &&
        is "$(jq '[.ruled_out[] | select(.suspicion == "traffic surge or DDoS")] | length' "$j")" 1 \
            "$s: a traffic surge or DDoS is ruled out, with evidence"
    [ "$s" = pool-exhaustion ] && {
        n=$(jq '.traffic.after_fault.failed' "$j")
        ok $((n == 0)) "pool-exhaustion: the application saw failed requests ($n)"
    }
done
done_testing
