#!/bin/bash
# The HTML report in a real browser (headless Chromium): a hostile log (a
# query and an error holding <script>alert(1)</script>, an application name
# that tries to close the table cell and inject an <img onerror>, bytes
# that are not UTF-8) must render as text with no script run but ours, and
# the pgbench log must render its charts, wire up its sortable tables, sort
# for real, fit a narrow window and screenshot to a PNG. Never skips: with
# no Chromium every browser check fails (scripts/deps installs it).
#
# usage: html_chromium.sh /path/to/sleuth   (SLEUTH_DATA: the real logs, tests/data)
set -u
SLEUTH=${1:?usage: html_chromium.sh /path/to/sleuth}
. "$(dirname "$0")/tap.sh"
DATA=$(data_dir)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "1..33"

have_chromium=0
[ -x "$CHROMIUM" ] && have_chromium=1
ok $((1 - have_chromium)) "chromium is installed at $CHROMIUM"

# chrome NAME URL [ARGS...]: runs headless Chromium with no network and a
# throwaway profile; stdout in $tmp/NAME.out, stderr (console messages
# included) in $tmp/NAME.err. Returns Chromium's status (127 if missing,
# 124 if it hangs: an alert() that ran blocks --dump-dom).
chrome() {
    local name=$1 url=$2
    shift 2
    : > "$tmp/$name.out"
    : > "$tmp/$name.err"
    [ "$have_chromium" -eq 1 ] || return 127
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --host-resolver-rules='MAP * ~NOTFOUND' \
        --user-data-dir="$(mktemp -d "$tmp/profile.XXXXXX")" \
        --enable-logging=stderr --v=0 "$@" "$url" > "$tmp/$name.out" 2> "$tmp/$name.err"
}

# Console lines that mean the page is broken: a script error, or a resource
# that was requested (a self-contained page requests none).
page_errors() {
    grep -E 'Uncaught|Failed to load resource|net::ERR_' "$tmp/$1.err" | head -5
}

count() { # count FILE STRING: occurrences of a fixed string
    grep -oF -- "$2" "$1" | wc -l | tr -d ' '
}

# Expected <svg> charts: three over the timeline when there is one, plus a
# histogram for each of the top 10 queries by total time that has durations.
expected_svgs() {
    jq '(if (.timeline | length) > 0 then 3 else 0 end)
        + ([.queries[:10][] | select(.timed_calls > 0)] | length)' "$1"
}

# Appends a test-only script after the page's own: it clicks the "calls"
# header of the queries table twice and checks the rows come out in
# descending then ascending order, and records how far the page overflows
# the window horizontally. The report itself carries no test code.
with_probe() {
    sed 's#</body>#<script>\
(function(){var r=document.documentElement,t=document.getElementById("queries-table");\
var res="no-table";if(t){var ths=t.tHead.rows[0].cells,k=-1;\
for(var i=0;i<ths.length;i++)if(ths[i].textContent.trim()==="calls")k=i;\
function col(){return Array.prototype.map.call(t.tBodies[0].rows,function(row){\
return parseFloat(row.cells[k].getAttribute("data-v"));});}\
function sorted(v,d){for(var j=1;j<v.length;j++)if(d?v[j-1]<v[j]:v[j-1]>v[j])return false;return true;}\
ths[k].click();var a=col(),da=ths[k].getAttribute("aria-sort");ths[k].click();var b=col();\
res=(a.length>1\&\&sorted(a,true)\&\&da==="descending"\&\&sorted(b,false)\&\&a[0]!==a[a.length-1])?"ok":"bad:"+a.join(",");}\
r.setAttribute("data-probe-sort",res);\
r.setAttribute("data-probe-overflow",String(r.scrollWidth-window.innerWidth));})();\
</script></body>#' "$1" > "$2"
}

# The harness must be able to see a failure: a page with an uncaught error.
printf '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script>%s</script></body></html>\n' \
    'nosuchfunction();' > "$tmp/broken.html"
chrome broken "file://$tmp/broken.html" --dump-dom
[ -n "$(page_errors broken)" ]
ok $? "the harness sees an uncaught script error in a deliberately broken page"

# --- a hostile log -----------------------------------------------------------

prefix='%t [%p]: user=%u,db=%d,app=%a,client=%h '
app="x\"'></td><img src=x onerror=\"document.body.setAttribute('data-pwned',1)\">"
pre() { printf '2026-11-22 10:%s UTC [%s]: user=bench,db=benchdb,app=%s,client=[local] ' "$1" "$2" "$app"; }
{
    for i in $(seq 10 59); do
        pre "00:$i.100" 4242
        printf "LOG:  duration: %d.%03d ms  statement: SELECT '<script>alert(1)</script>' AS \"<script>alert(1)</script>\", %d FROM t WHERE a = 'x|y\`z'\n" \
            $((i % 7 + 1)) $((i * 37 % 1000)) "$i"
        pre "01:$i.200" 4243
        printf 'LOG:  duration: 0.%03d ms  statement: SELECT 1 AS "caf\xc3\xa9 \xff\xfe bad"\n' $((i * 13 % 1000))
    done
    pre "02:00.000" 4244
    printf 'ERROR:  relation "<script>alert(1)</script><svg onload=\x27document.body.setAttribute(\x22data-pwned\x22,2)\x27>" does not exist at character 15\n'
    pre "02:00.000" 4244
    printf 'STATEMENT:  SELECT * FROM "<script>alert(1)</script>";\n'
    pre "02:01.000" 4245
    printf 'LOG:  duration: 3.500 ms  plan:\n\tQuery Text: SELECT * FROM t WHERE b = 1\n\tSeq Scan on t  (cost=0.00..1.01 rows=1 width=4) (actual time=0.010..0.011 rows=1 loops=1)\n\t  Filter: (b = 1)\n'
    pre "02:01.000" 4245
    printf 'LOG:  duration: 3.600 ms  statement: SELECT * FROM t WHERE b = 1\n'
} > "$tmp/hostile.log"

"$SLEUTH" analyze --no-progress --prefix "$prefix" --format html -o "$tmp/hostile.html" "$tmp/hostile.log"
ok $? "analyze --format html on the hostile log exits 0"
"$SLEUTH" analyze --no-progress --prefix "$prefix" --format json -o "$tmp/hostile.json" "$tmp/hostile.log"
is "$(jq '.summary.queries' "$tmp/hostile.json")" 101 "the hostile log is parsed (101 queries)"

h=$tmp/hostile.html
is "$(count "$h" '<script')" 1 "the page holds one <script> element: its own"
is "$(count "$h" '<img')$(count "$h" '<svg onload')" "00" "no <img> or <svg onload> markup from the log"
like "$(grep -o -F '&lt;script&gt;alert(1)&lt;/script&gt;' "$h" | head -1)" 'alert' \
    "the <script> literal is written escaped"
like "$(grep -o -F '&lt;/td&gt;&lt;img src=x onerror=&quot;document.body.setAttribute(&#39;data-pwned&#39;,1)&quot;&gt;' "$h" | head -1)" 'pwned' \
    "the application name is escaped, quotes included"
iconv -f UTF-8 -t UTF-8 "$h" > /dev/null 2>&1
ok $? "the page is valid UTF-8 although the log is not"
like "$(grep -o 'caf..* bad' "$h" | head -1)" $'caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd bad' \
    "invalid bytes become U+FFFD, valid UTF-8 is kept"
grep -Eiq 'https?://|(src|href|action)[[:space:]]*=[[:space:]]*"[^#"]|url\(|@import' "$h"
ok $((1 - $?)) "no external reference (http, src, non-fragment href, url(), @import)"

chrome hostile "file://$h" --dump-dom
ok $? "chromium renders the hostile page (an alert() that ran would block it)"
d=$tmp/hostile.out
is "$(count "$d" '<script')" 1 "rendered DOM: one <script> element"
is "$(count "$d" 'data-pwned="')$(count "$d" '<img')" "00" "rendered DOM: no injected onerror/onload handler ran"
like "$(grep -o -F '&lt;script&gt;alert(1)&lt;/script&gt;' "$d" | head -1)" 'alert' \
    "rendered DOM: the query's <script> shows as text"
is "$(page_errors hostile)" "" "no uncaught error and no resource requested"
like "$(grep -A1 -F '<pre class="plan">' "$d" | head -2)" 'Seq Scan on t' \
    "an expanded query shows its auto_explain plan"
is "$(count "$d" '<svg')" "$(expected_svgs "$tmp/hostile.json")" "rendered DOM: the expected number of <svg> charts"
is "$(count "$d" 'data-sortable="ready"')" "$(count "$h" 'class="sortable"')" \
    "every sortable table was wired up by the script"

# --- the pgbench log ---------------------------------------------------------

"$SLEUTH" analyze --no-progress --format html -o "$tmp/pgbench.html" "$DATA/pgbench-stderr.log.gz"
ok $? "analyze --format html on pgbench-stderr.log.gz exits 0"
"$SLEUTH" analyze --no-progress --format json --top 20 -o "$tmp/pgbench.json" "$DATA/pgbench-stderr.log.gz"
p=$tmp/pgbench.html
grep -Eiq 'https?://|(src|href|action)[[:space:]]*=[[:space:]]*"[^#"]|url\(|@import' "$p"
ok $((1 - $?)) "pgbench page: no external reference"

chrome pgbench "file://$p" --dump-dom
ok $? "chromium renders the pgbench page"
d=$tmp/pgbench.out
is "$(page_errors pgbench)" "" "pgbench page: no uncaught error and no resource requested"
want=$(expected_svgs "$tmp/pgbench.json")
is "$(count "$d" '<svg')" "$want" "pgbench page: $want <svg> charts (3 timeline + histograms)"
is "$(count "$d" 'data-sortable="ready"')" 3 "queries, errors and autovacuum tables are sortable"
is "$(count "$d" '<details>')" \
    "$(jq '(.queries | length) + ([.events.errors[]] | length)' "$tmp/pgbench.json")" \
    "each query and error row expands"
like "$(grep -c 'id="h-[0-9a-f]\{16\}"' "$d")" '^[1-9]' "histograms are linked from their queries"
like "$(grep -o "<pre class=\"sql\">SELECT count(\*), sum(abalance) FROM pgbench_accounts WHERE abalance = [^<]*" "$d")" \
    "abalance = '[0-9]+'" "the slowest example has its bind parameters put back"

with_probe "$p" "$tmp/probe.html"
chrome probe "file://$tmp/probe.html" --dump-dom --window-size=1200,2000
like "$(grep -o 'data-probe-sort="[^"]*"' "$tmp/probe.out")" '"ok"' \
    "clicking a header sorts the rows (descending, then ascending)"
chrome narrow "file://$tmp/probe.html" --dump-dom --window-size=390,900
like "$(grep -o 'data-probe-overflow="[^"]*"' "$tmp/narrow.out")" '"(-[0-9]+|0)"' \
    "a 390 px window does not scroll sideways (wide tables scroll in place)"

png_ok() { # a PNG signature and more than 20 kB
    [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
        [ "$(wc -c < "$1")" -gt 20000 ]
}
(cd "$tmp" && chrome shot "file://$p" --screenshot="$tmp/pgbench.png" --window-size=1200,2000 \
    --hide-scrollbars)
png_ok "$tmp/pgbench.png"
ok $? "a 1200x2000 screenshot is a non-empty PNG"
(cd "$tmp" && chrome shot-narrow "file://$p" --screenshot="$tmp/narrow.png" \
    --window-size=390,1600 --hide-scrollbars)
png_ok "$tmp/narrow.png"
ok $? "a 390x1600 screenshot is a non-empty PNG"
(cd "$tmp" && chrome shot-hostile "file://$h" --screenshot="$tmp/hostile.png" \
    --window-size=1200,1600 --hide-scrollbars)
png_ok "$tmp/hostile.png"
ok $? "the hostile page screenshots too"

if [ -n "${SLEUTH_KEEP_SCREENSHOTS:-}" ]; then
    mkdir -p "$SLEUTH_KEEP_SCREENSHOTS"
    cp "$tmp"/*.png "$tmp"/*.html "$SLEUTH_KEEP_SCREENSHOTS"/ 2> /dev/null
fi
[ "$T_FAILED" -eq 0 ]
