#!/bin/bash
# What `sleuth watch --listen` serves, against a real PostgreSQL 15 with
# pg_stat_statements and a real browser (headless Chromium): /metrics says
# sleuth_up 1 with Prometheus' content type, the JSON API shows the
# workload, unknown paths are 404 and POST is 405, and the live page, once
# its script has fetched the API, shows the top query, the sessions and the
# blocking chain, with an application name and a query text holding
# <script> and <img onerror> rendered as text (no script runs but the
# page's own). Stopping the server makes sleuth_up 0 and the page say so.
# Never skips: with no Chromium every browser check fails (scripts/deps
# installs it).
#
# usage: watch_page_chromium.sh /path/to/sleuth
set -u
SLEUTH=${1:?usage: watch_page_chromium.sh /path/to/sleuth}
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pg.sh"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
tmp=$(mktemp -d)
pids=()
# kill_tree PID: the process and its descendants (a background psql runs
# under runuser and a shell, and `\! sleep` under psql).
kill_tree() {
    local c
    for c in $(pgrep -P "$1"); do kill_tree "$c"; done
    kill "$1" 2> /dev/null
}
cleanup() {
    for p in "${pids[@]}"; do kill_tree "$p"; done
    wait 2> /dev/null
    pg_stop
    if [ -n "${SLEUTH_KEEP_SCENARIO:-}" ]; then
        mkdir -p "$SLEUTH_KEEP_SCENARIO"
        cp "$tmp"/*.json "$tmp"/*.out "$tmp"/*.err "$tmp"/*.txt "$SLEUTH_KEEP_SCENARIO"/ 2> /dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

have_chromium=0
[ -x "$CHROMIUM" ] && have_chromium=1
ok $((1 - have_chromium)) "chromium is installed at $CHROMIUM"

# chrome NAME URL: the page after its script ran for a few (virtual) seconds.
chrome() {
    : > "$tmp/$1.out"
    : > "$tmp/$1.err"
    [ "$have_chromium" -eq 1 ] || return 127
    timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d "$tmp/profile.XXXXXX")" --enable-logging=stderr --v=0 \
        --virtual-time-budget=8000 --dump-dom "$2" > "$tmp/$1.out" 2> "$tmp/$1.err"
}
page_errors() {
    grep -E 'Uncaught|Failed to load resource|net::ERR_|Refused to' "$tmp/$1.err" | head -5
}
count() { grep -oF -- "$2" "$1" | wc -l | tr -d ' '; }

# --- a server with a workload --------------------------------------------------

pg_start "$tmp/pg" "shared_preload_libraries = 'pg_stat_statements'" "pg_stat_statements.track = all"
ok $? "PostgreSQL 15 starts with pg_stat_statements"
psql_ -d postgres -c "CREATE EXTENSION pg_stat_statements" \
    -c "CREATE TABLE sleuth_probe_orders (id int PRIMARY KEY, note text)" \
    -c "INSERT INTO sleuth_probe_orders SELECT g, 'n' || g FROM generate_series(1, 20000) g" > /dev/null
ok $? "the extension and the probe table are created"

# application_name keeps 63 bytes; the watcher normalises statements (literals
# and comments go), so the statement's markup sits in a quoted identifier.
evil_app="<script>alert('app')</script>"
evil_col="<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','sql')\">"

# The top query: a sequential scan, over and over.
for i in $(seq 1 200); do
    echo "SELECT count(*) FROM sleuth_probe_orders WHERE note <> 'x$i';"
done > "$tmp/load.sql"
(while :; do psql_ -d postgres -f "$tmp/load.sql" > /dev/null 2>&1; done) &
pids+=($!)
# A blocker idle in transaction with a hostile application name, and a
# session it blocks whose statement carries markup.
(
    printf '%s\n' "BEGIN;" "UPDATE sleuth_probe_orders SET note = 'held' WHERE id = 1;" "\\! sleep 60"
) | pg_as env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres PGAPPNAME="$evil_app" \
    "$PGBIN/psql" -X -q -d postgres > /dev/null 2>&1 &
pids+=($!)
sleep 1
psql_ -d postgres -c "SELECT 1 AS \"${evil_col//\"/\"\"}\" FROM sleuth_probe_orders WHERE id = 1 FOR UPDATE" \
    > /dev/null 2>&1 &
pids+=($!)

# --- the watcher ---------------------------------------------------------------

"$SLEUTH" watch -d "host=$PGHOST port=$PGPORT user=postgres dbname=postgres" --interval 1 \
    --store "$tmp/watch.db" --listen 127.0.0.1:0 > "$tmp/watch.out" 2> "$tmp/watch.err" &
watch_pid=$!
pids+=($watch_pid)
url=
for _ in $(seq 1 100); do
    url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*/' "$tmp/watch.err" | head -1 | sed 's/^listening on //')
    [ -n "$url" ] && break
    sleep 0.2
done
like "$url" '^http://127\.0\.0\.1:[1-9][0-9]*/$' "watch logs the loopback URL it listens on"
[ -n "$url" ] || { sed 's/^/# /' "$tmp/watch.err"; url=http://127.0.0.1:9/; }

get() { curl -s --noproxy '*' --max-time 10 "$@"; }
# Waits until /api/state shows the probe query (it needs two polls to diff).
for _ in $(seq 1 60); do
    get "${url}api/state" > "$tmp/state.json"
    jq -e '.queries[]? | select((.query // "") | test("sleuth_probe_orders where note <>"; "i"))' \
        "$tmp/state.json" > /dev/null 2>&1 && break
    sleep 0.5
done

get -D "$tmp/metrics.h" "${url}metrics" > "$tmp/metrics.txt"
like "$(grep -x 'sleuth_up 1' "$tmp/metrics.txt")" '^sleuth_up 1$' "/metrics has sleuth_up 1"
like "$(grep -i '^content-type:' "$tmp/metrics.h")" 'text/plain; version=0\.0\.4' \
    "/metrics has the exposition format's content type"
like "$(grep -c '^sleuth_query_calls_total{fingerprint="[0-9a-f]\{16\}",db="postgres",user="postgres"}' "$tmp/metrics.txt")" \
    '^[1-9]' "/metrics has per-query series with fingerprint, db and user"
like "$(grep -c '^# TYPE ' "$tmp/metrics.txt")" '^[1-9][0-9]' "every family is typed"
is "$(jq -r '[.queries[] | select((.query // "") | test("sleuth_probe_orders where note <>"; "i"))][0].fingerprint | test("^[0-9a-f]{16}$")' "$tmp/state.json")" \
    true "/api/state lists the probe query with a 16-hex fingerprint"
is "$(jq -r --arg a "$evil_app" '[.sessions[] | select(.app == $a)][0].state' "$tmp/state.json")" \
    "idle in transaction" "/api/state shows the hostile session idle in transaction"
is "$(jq -r --arg a "$evil_app" '[.blocking[] | select(.app == $a)] | length' "$tmp/state.json")" 1 \
    "/api/state roots the blocking tree at that session"
is "$(get "${url}api/diagnosis" | jq -c 'keys')" '["diagnosis","incidents","ruled_out"]' \
    "/api/diagnosis carries incidents[], diagnosis[] and ruled_out[]"
is "$(get "${url}api/incidents" | jq -c 'keys')" '["diagnosis","incidents","ruled_out"]' \
    "/api/incidents is the same document"
is "$(get -o /dev/null -w '%{http_code}' "${url}nope")" 404 "an unknown path is 404"
is "$(get -o /dev/null -w '%{http_code}' -X POST -d x=1 "${url}metrics")" 405 "POST is 405"
like "$(get -D - -o /dev/null "$url" | tr -d '\r' | grep -i '^content-security-policy:')" \
    "default-src 'none'" "the page is served with a Content-Security-Policy"

# --- the live page ---------------------------------------------------------------

chrome live "$url"
ok $? "chromium renders the live page"
d=$tmp/live.out
is "$(page_errors live)" "" "no uncaught error, no blocked or failed request"
like "$(grep -o 'data-rendered="[0-9]*"' "$d")" '"[1-9]' "the page fetched the API and rendered"
like "$(grep -o 'sleuth_probe_orders where note &lt;&gt; \$1' "$d" | head -1)" 'probe' \
    "the top query is shown"
is "$(count "$d" '<script')" 1 "rendered DOM: one <script> element, the page's own"
is "$(count "$d" 'data-pwned="')$(count "$d" '<img')" "00" "rendered DOM: no injected markup ran"
row_re='<tr[^>]*data-pid="[0-9]*"[^>]*>.\{0,200\}&lt;script&gt;alert(.app.)&lt;/script&gt;'
like "$(grep -o "$row_re" "$d" | head -1)" 'data-pid' \
    "a session row shows the <script> application name as text"
like "$(grep -o '&lt;img src=x onerror=' "$d" | head -1)" 'onerror' \
    "the blocked statement's <img onerror> shows as text"
like "$(grep -o 'class="tree"' "$d")" 'tree' "the blocking tree is drawn"
like "$(count "$d" '<svg')" '^[1-9]' "charts are drawn"
like "$(grep -o 'id="status"[^>]*>[^<]*' "$d")" '>(ok|degraded)' "the status says the server is polled"

# --- the server goes away ------------------------------------------------------------

pg_stop
for _ in $(seq 1 40); do
    get "${url}metrics" > "$tmp/metrics2.txt"
    grep -qx 'sleuth_up 0' "$tmp/metrics2.txt" && break
    sleep 0.5
done
like "$(grep -x 'sleuth_up 0' "$tmp/metrics2.txt")" '^sleuth_up 0$' \
    "with the server stopped /metrics has sleuth_up 0"
chrome down "$url"
like "$(grep -o 'id="status"[^>]*>[^<]*' "$tmp/down.out")" 'cannot reach the database server' \
    "the page says it cannot reach the database server"

kill "$watch_pid" 2> /dev/null
for _ in $(seq 1 50); do kill -0 "$watch_pid" 2> /dev/null || break; sleep 0.2; done
kill -0 "$watch_pid" 2> /dev/null
ok $((1 - $?)) "watch stops on SIGTERM"
done_testing
