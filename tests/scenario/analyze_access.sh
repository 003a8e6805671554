#!/bin/bash
# sleuth analyze and postmortem with web server access logs (tests/data,
# README.access.md): the users' side of the missing-index incident in three
# layouts with identical numbers, a starved web host for which the database
# is ruled out, a flood of new clients, bad input counted or refused.
# The expected numbers are what make-access-logs.py printed when it wrote
# the files (its own count of the requests it wrote, not sleuth's).
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
DATA=$(data_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PG=$DATA/missing-index-short.log.gz

# --- the database's incident, seen from the web tier, in three layouts ----------------------
for f in access-missing-index.log.gz access-missing-index-apache.log.gz \
    access-missing-index.json.gz; do
    for j in 1 2; do
        "$SLEUTH" analyze -j $j --interval 10s --access "$DATA/$f" "$PG" -f json -o "$tmp/$f.$j.json"
        ok $? "$f -j $j: analyze exits 0"
    done
    w=$tmp/$f.1.json
    cmp -s <(jq .web "$w") <(jq .web "$tmp/$f.2.json")
    ok $? "$f: the same web section at -j 1 and -j 2"
    is "$(jq -c '[.web.requests, .web.failed, .web.slow, .web.clients, .web.clients_hurt, .web.inputs[0].bad_lines]' "$w")" \
        "[3720,18,131,40,20,0]" "$f: requests, 5xx, slow, clients, clients hurt, no bad line"
    i=".web.incident_impact[0]"
    is "$(jq -r "$i.from + \" \" + $i.to" "$w")" \
        "2026-12-06T22:11:41.000+00:00 2026-12-06T22:12:47.000+00:00" \
        "$f: the web tier was hurt from the first to the last hurt second"
    is "$(jq -c "[$i.requests, $i.failed, $i.slow, $i.clients, $i.clients_hurt]" "$w")" \
        "[1320,18,131,40,20]" "$f: impact: requests, failed, slow, clients, clients hurt"
    is "$(jq -r "$i.routes_hurt[0].route" "$w")" "/sensors/{id}/readings" \
        "$f: the route hurt most, ids folded"
    is "$(jq -r "$i.suspicions[0].verdict" "$w")" ruled_out "$f: no traffic surge or DDoS"
    is "$(jq -r '.incidents[0].causes[0].cause' "$w")" missing_index "$f: the cause is the database's"
done
is "$(jq -c '.web.incident_impact[0] | [.correlation_intervals, .p95_db_time_r, .failed_db_time_r]' "$tmp/access-missing-index.log.gz.1.json")" \
    "[20,0.982,0.847]" "per interval the web tier's p95 and 5xx follow the database's time"
is "$(jq -c '.web.incident_impact[0].routes_hurt[0] | [.route, .follows_query_r, .follows_query_by]' "$tmp/access-missing-index.log.gz.1.json")" \
    '["/sensors/{id}/readings",0.92,"mean_time"]' "the route hurt: its mean request time follows the guilty query's mean time"
# The same log without its times: the route's share of failed pages is what can follow the query.
zcat "$DATA/access-missing-index.log.gz" | sed -E 's/ [0-9.]+ [0-9.-]+$//' >"$tmp/untimed.log"
"$SLEUTH" analyze --interval 10s --access "$tmp/untimed.log" "$PG" -f json -o "$tmp/untimed.json"
is "$(jq -c '[.web.inputs[0].format, (.web.incident_impact[0].routes_hurt[0] | .follows_query_r, .follows_query_by)]' "$tmp/untimed.json")" \
    '["combined",0.744,"failed_or_slow_share"]' "without request times: the route's failed share follows the query"
is "$(jq -r '.web.inputs[0].format' "$tmp/access-missing-index.log.gz.1.json")" combined+rt \
    "nginx combined with request and upstream times detected"
is "$(jq -r '.web.inputs[0].format' "$tmp/access-missing-index-apache.log.gz.1.json")" combined+D \
    "Apache combined with %D detected"
is "$(jq -r '.web.incident_impact[0].suspicions[1].verdict' "$tmp/access-missing-index.log.gz.1.json")" \
    ruled_out "with upstream times the network or CDN is ruled out (97 % of the time upstream)"
is "$(jq -r '.web.incident_impact[0].suspicions[1].verdict' "$tmp/access-missing-index.json.gz.1.json")" \
    cannot_tell "without upstream times the network cannot be told"

# Every report format says it, and the same through standard input and a given format.
text=$("$SLEUTH" analyze --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG")
like "$text" "users +At the web tier: 18 of 1320 requests" \
    "text: the incident's users line (cut to the terminal's width)"
like "$text" "route +/sensors/\{id\}/readings: 363 requests, 18 failed, 131 slow" "text: the route table"
md=$("$SLEUTH" analyze --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG" -f md)
like "$md" "## Web tier \(access logs\)" "markdown: the web tier's section"
html=$("$SLEUTH" analyze --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG" -f html)
like "$html" "<section id=\"web\">" "html: the web tier's section"
like "$html" "20 of the 40 clients active in its intervals saw a failed or slow page" "html: the clients hurt"
n=$(gzip -dc "$DATA/access-missing-index.log.gz" |
    "$SLEUTH" analyze --interval 10s --access - --access-format combined+rt "$PG" -f json |
    jq -c '[.web.requests, .web.incident_impact[0].clients_hurt]')
is "$n" "[3720,20]" "standard input with --access-format combined+rt"
n=$("$SLEUTH" analyze --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG" --slow 2s -f json |
    jq -c '[.web.slow_threshold_ms, .web.incident_impact[0].failed]')
is "$n" "[2000,18]" "--slow 2s: the threshold is reported"

# --- the postmortem from the server log and the access log ----------------------------------
"$SLEUTH" postmortem --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG" -o "$tmp/pm.md"
ok $? "postmortem with an access log exits 0"
pm=$(cat "$tmp/pm.md")
like "$pm" "^# Postmortem: missing\\\\_index on readings" "postmortem: the database's cause"
like "$pm" "18 of 1320 requests failed \(1.4 %\), 131 were slow \(over 1.00 s\); 20 of the 40 clients active in its intervals saw a failed or slow page \(50.0 %\)" \
    "postmortem: impact on users in numbers"
like "$pm" "Users: failed or slow pages stood out at the web tier \(\+0 s from the onset\)" \
    "postmortem: the web tier's onset beside the database's"
like "$pm" "Ruled out: traffic surge or DDoS \(access log\)" "postmortem: the web tier's false lead ruled out"
like "$pm" "the web server's access log" "postmortem: the access log is named as a source"
n=$(sed '/^```/,/^```/d' "$tmp/pm.md" | wc -w)
ok $((n < 400 || n > 700)) "postmortem with the users' side: 400-700 words of prose ($n)"
is "$(grep -c 'Ruled out: traffic surge or DDoS' "$tmp/pm.md")" 1 \
    "postmortem: the surge ruled out once, the access log's evidence with the server log's agreement"
like "$pm" "Users: the mean request time of /sensors/\{id\}/readings follows the query's mean time \(r = 0.92 over 19 intervals\)" \
    "postmortem: the route that follows the query"
"$SLEUTH" postmortem --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG" -f html -o "$tmp/pm.html"
is "$(grep -o '<figcaption>[^<]*</figcaption>' "$tmp/pm.html" | sed 's/<[^>]*>//g' | paste -sd '|')" \
    "Database time (s a second)|The query's mean time (ms)|HTTP 5xx per interval (access log)|Request time p95 (ms, access log)" \
    "postmortem HTML: the incident's four charts"
is "$(grep -o '>trigger</text>' "$tmp/pm.html" | wc -l) $(grep -o '>fix</text>' "$tmp/pm.html" | wc -l)" "4 4" \
    "postmortem HTML: the trigger and the fix marked on each"
"$SLEUTH" postmortem --interval 10s --access "$DATA/access-missing-index.log.gz" "$PG" -f json -o "$tmp/pm.json"
is "$(jq -c '[.numbers[] | select(.name == "requests_failed" or .name == "clients_hurt") | .value]' "$tmp/pm.json")" \
    "[18,20]" "postmortem JSON: the impact numbers with their source"
is "$(jq -r '.numbers[] | select(.name == "clients_hurt") | .source' "$tmp/pm.json")" \
    "access log: clients with a failed or slow request" "postmortem JSON: where clients_hurt came from"

# --- pages fail while the database stays flat: the database is ruled out ---------------------
w=$tmp/web.json
"$SLEUTH" analyze --interval 10s --access "$DATA/access-web-only.log.gz" "$PG" -f json -o "$w"
is "$(jq -c '.web.incidents | map([.from, .to, .requests, .failed, .slow, .clients_hurt])' "$w")" \
    '[["2026-12-06T22:13:00.000+00:00","2026-12-06T22:13:30.000+00:00",600,40,453,40]]' \
    "starved web host: one web incident, its numbers"
is "$(jq -r '.web.incidents[0].database.verdict' "$w")" ruled_out \
    "starved web host: the database is ruled out"
is "$(jq -r '.web.incidents[0].database.incident' "$w")" null "starved web host: no database incident overlaps"
is "$(jq -c '.web.incidents[0] | [.correlation_intervals, .p95_db_time_r]' "$w")" "[8,-0.446]" \
    "starved web host: its p95 does not follow the database's time"
is "$(jq -r '.web.incidents[0].suspicions[1].verdict' "$w")" cannot_tell \
    "starved web host: 10 % of the time upstream: the web tier or network not ruled out"
"$SLEUTH" postmortem --interval 10s --access "$DATA/access-web-only.log.gz" "$PG" -o "$tmp/webpm.md"
ok $? "starved web host: a postmortem is written though the database had no incident in that stretch"
# The server log has its own incident (the missing index); the web-only stretch is reported in
# analyze, and alone (without the database's incident) it is the postmortem's subject:
"$SLEUTH" postmortem --interval 10s --access "$DATA/access-web-only.log.gz" --since '2026-12-06 22:12:50' "$PG" -o "$tmp/webpm.md"
ok $? "starved web host, after the database's incident: postmortem exits 0"
pm=$(cat "$tmp/webpm.md")
like "$pm" "^# Postmortem: pages failed or slowed at the web tier, the database ruled out" \
    "starved web host postmortem: its title"
like "$pm" "Ruled out: the database \(database time [0-9.]+ s/s before, [0-9.]+ s/s during; 0 errors logged during" \
    "starved web host postmortem: the database ruled out with its numbers"
like "$pm" "Time to detect\*\*: no database alert fired" "starved web host postmortem: no false detection time"
"$SLEUTH" postmortem --interval 10s --access "$DATA/access-web-only.log.gz" -o "$tmp/alone.md"
like "$(head -1 "$tmp/alone.md")" "^# Postmortem: pages failed or slowed at the web tier, 2026" \
    "access log alone: the database is not ruled out without its log"
like "$(cat "$tmp/alone.md")" "Not ruled out: the database \(no database log or store was given" \
    "access log alone: says what it lacks"

# --- a flood of new clients -------------------------------------------------------------------
w=$tmp/ddos.json
"$SLEUTH" analyze --interval 10s --access "$DATA/access-ddos.log.gz" -f json -o "$w"
is "$(jq -c '.web.incidents | map([.requests, .failed, .clients, .clients_hurt])' "$w")" \
    '[[3000,759,340,302]]' "flood: the web incident's numbers"
is "$(jq -r '.web.incidents[0].suspicions[0].verdict' "$w")" confirmed "flood: the surge is confirmed"
like "$(jq -r '.web.incidents[0].suspicions[0].evidence' "$w")" \
    "requests 20.0/s -> 100.0/s, clients per interval 40 -> 319" \
    "flood: its evidence"
is "$(jq -r '.web.incidents[0].database.verdict' "$w")" cannot_tell \
    "flood, no server log: the database cannot be told"

# --- a log big enough to be split among threads ------------------------------------------------
# 24 MB, 120,000 lines over an hour; line 100,000 is garbage: the same report at -j 1 and -j 2,
# and the bad line's number counted across the ranges.
awk 'BEGIN { srand(3)
    for (i = 0; i < 120000; i++) {
        s = int(i * 0.03); line = sprintf("10.0.%d.%d - - [06/Dec/2026:%02d:%02d:%02d +0000] \"GET /item/%d HTTP/1.1\" %d 512 \"-\" \"%s\" %.3f %.3f",
            int(rand() * 20), int(rand() * 250), 10 + int(s / 3600), int(s / 60) % 60, s % 60, int(rand() * 5000),
            (i >= 60000 && i < 61000) ? 503 : 200, sprintf("%0120d", 0), 0.01 + (i % 7) / 1000, 0.009)
        print (i == 99999 ? "garbage" : line)
    } }' > "$tmp/big.log"
for j in 1 2; do
    "$SLEUTH" analyze -j $j --interval 1m --access "$tmp/big.log" -f json -o "$tmp/big$j.json"
done
cmp -s <(jq .web "$tmp/big1.json") <(jq .web "$tmp/big2.json")
ok $? "a 24 MB access log: the same web section at -j 1 and -j 2 (split in byte ranges)"
is "$(jq -c '.web | [.requests, .failed, .inputs[0].lines, .inputs[0].bad_lines, .inputs[0].first_bad_line]' "$tmp/big2.json")" \
    "[119999,1000,120000,1,100000]" "... its counts, and the bad line's number across the ranges"

# --- bad input --------------------------------------------------------------------------------
"$SLEUTH" analyze --access "$DATA/access-missing-index.log.gz" --access-format '%h %>s' 2>"$tmp/err"
is $? 2 "an access format without a time is a usage error"
like "$(cat "$tmp/err")" "has no time field" "... that says why"
"$SLEUTH" analyze --access "$PG" 2>"$tmp/err" >/dev/null
is $? 3 "a PostgreSQL log given as an access log: exit 3"
like "$(cat "$tmp/err")" "not an access log this reads \(give --access-format\)" "... that says why"
{
    gzip -dc "$DATA/access-missing-index.log.gz" | head -100
    printf 'GET / \x00\xff junk\n'
    # A request for a 10 MB URL (over the 1 MB a line may take).
    printf '10.0.0.9 - - [06/Dec/2026:22:10:40 +0000] "GET /'
    head -c 10000000 /dev/zero | tr '\0' 'A'
    printf ' HTTP/1.1" 414 0 "-" "-" 0.001 -\n'
    # Other layouts mixed in: a JSON line and an Apache common one.
    printf '{"time":"2026-12-06T22:10:40+00:00","remote_addr":"10.0.0.9","status":200}\n'
    printf '10.0.0.9 - - [06/Dec/2026:22:10:40 +0000] "GET / HTTP/1.1" 200 512\n'
    gzip -dc "$DATA/access-missing-index.log.gz" | sed -n '101,200p'
    gzip -dc "$DATA/access-missing-index.log.gz" | sed -n '201p' | head -c 60
} > "$tmp/bad.log"
"$SLEUTH" analyze --access "$tmp/bad.log" -f json -o "$tmp/bad.json" 2>"$tmp/err"
ok $? "a partly bad access log is analysed"
is "$(jq -c '.web.inputs[0] | [.lines, .requests, .bad_lines, .first_bad_line, .oversize_lines]' "$tmp/bad.json")" \
    "[205,200,5,101,1]" "its bad, long, mixed-layout and cut lines are counted with the first one's line"
like "$(cat "$tmp/err")" "bad.log': 5 lines not read as combined\+rt, first at line 101" "... and named on stderr"

# Log-derived text in the reports: invalid UTF-8 and markup stay data.
printf '10.0.0.1 - - [06/Dec/2026:22:10:35 +0000] "GET /a/<script>alert(1)</script>/\xff\xfe HTTP/1.1" 500 1 "-" "-" 0.5 0.4\n' > "$tmp/evil.log"
"$SLEUTH" analyze --access "$tmp/evil.log" -f json -o "$tmp/evil.json"
is "$(jq -r '.web.routes[0].route' "$tmp/evil.json")" "/a/<script>alert(1)</script>/$(printf '\xef\xbf\xbd\xef\xbf\xbd')" \
    "a route with invalid UTF-8 is kept, the bad bytes as U+FFFD"
"$SLEUTH" analyze --access "$tmp/evil.log" -f html -o "$tmp/evil.html"
ok $(grep -q '<script>alert' "$tmp/evil.html"; echo $((1 - $?))) "html: the route's markup is escaped"

done_testing
