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
SCENARIOS=${SLEUTH_DEMO_SCENARIOS:-steady missing-index hot-index pool-exhaustion deploy-surge redundant-fetch}

# expected SCENARIO: the kinds of the first signal group (any one must fire first)
expected() {
    case $1 in
    missing-index) echo "latency_regression seq_scan_growth" ;;
    hot-index) echo "hot_ratio_drop" ;;
    pool-exhaustion) echo "connection_saturation connections_refused" ;;
    deploy-surge) echo "call_surge new_heavy_query" ;;
    redundant-fetch) echo "rows_per_call" ;;
    esac
}

for s in $SCENARIOS; do
    out=$tmp/$s
    start=$(date +%s)
    "$SLEUTH" demo "$s" --steady $STEADY --after $AFTER --interval ${INTERVAL}s --no-color \
        -o "$out" >"$tmp/$s.log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    is "$rc" 0 "$s: sleuth demo exits 0 (in ${took}s)"
    [ "$rc" = 0 ] || { sed 's/^/#   /' "$tmp/$s.log" | tail -30; continue; }
    ok $((took > 120)) "$s: the scenario ends within 2 minutes (${took}s)"
    j=$out/demo.json
    ok $([ -s "$out/report.html" ] && [ -s "$out/postgresql.log" ]; echo $?) \
        "$s: the server log and its HTML report are written"
    is "$(jq -r .scenario "$j")" "$s" "$s: demo.json names the scenario"
    echo "# $s: alerts: $(jq -c '[.alerts[] | {kind, key, after: .detected_after_s, n: .detected_after_intervals}]' "$j")"
    echo "# $s: traffic: $(jq -c '.traffic' "$j")"
    if [ "$s" = steady ]; then
        is "$(jq '.alerts | length' "$j")" 0 "steady: no alert at all"
        is "$(jq '.traffic.before_fault.failed' "$j")" 0 "steady: no failed request"
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
    [ "$s" = pool-exhaustion ] && {
        n=$(jq '.traffic.after_fault.failed' "$j")
        ok $((n == 0)) "pool-exhaustion: the application saw failed requests ($n)"
    }
done
done_testing
