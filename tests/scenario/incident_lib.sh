# The staging of an incident for the scenario tests (sourced by incidents.sh):
# a private PostgreSQL 15 with one of three schemas that are not the demo's
# shop (a library, a ticket desk, a blog), pgbench traffic at a fixed rate
# from an application role, `sleuth watch` following it every second with a
# store, and, once the incident is over, the three verdicts: the live one
# (/api/diagnosis just before the watcher stops), the stored one (`sleuth
# report --store`) and the server log's (`sleuth analyze`). Times are Unix
# seconds with a fraction (date +%s.%N).

PGBENCH=$PGBIN/pgbench
PSQL=$PGBIN/psql

# app_sql DB SQL...: runs statements as the application role.
app_sql() {
    local db=$1
    shift
    local args=() stmt
    for stmt in "$@"; do args+=(-c "$stmt"); done
    PGOPTIONS="-c client_min_messages=error" PGAPPNAME=${APP:-psql} "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U app -d "$db" \
        "${args[@]}" >/dev/null
}

now() { date +%s.%N; }
# sleep_until T: sleeps until the time T (seconds since the epoch, as now prints it).
sleep_until() {
    local left
    left=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')
    sleep "$left"
}

# server DIR PREFIX [extra postgresql.conf lines...]
server() {
    local dir=$1 prefix=$2
    shift 2
    pg_start "$dir/pg" "log_min_duration_statement = 0" "log_line_prefix = '$prefix'" \
        "log_lock_waits = on" "deadlock_timeout = 300ms" "log_connections = on" \
        "log_disconnections = on" "shared_preload_libraries = 'pg_stat_statements'" \
        "pg_stat_statements.track = top" "$@" || return 1
    psql_ -d postgres -c "CREATE ROLE app LOGIN" -c "CREATE ROLE monitor LOGIN IN ROLE pg_monitor" \
        -c "CREATE DATABASE appdb OWNER app" >/dev/null
    psql_ -d appdb -c "CREATE EXTENSION pg_stat_statements" >/dev/null
}

schema_library() {
    app_sql appdb \
        "CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL)" \
        "INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 20000) g" \
        "CREATE TABLE books (id serial PRIMARY KEY, author_id int NOT NULL, title text NOT NULL,
            published date NOT NULL, pages int NOT NULL, summary text NOT NULL)" \
        "INSERT INTO books (author_id, title, published, pages, summary)
            SELECT g % 20000 + 1, 'book ' || g, date '1990-01-01' + g % 12000, 100 + g % 700,
                   repeat('a fine book ', 8) FROM generate_series(1, 300000) g" \
        "CREATE INDEX books_author_id_idx ON books (author_id)" \
        "CREATE INDEX books_published_idx ON books (published)" \
        "CREATE TABLE loans (id serial PRIMARY KEY, book_id int NOT NULL, member_id int NOT NULL,
            loaned_at timestamptz NOT NULL DEFAULT now(), returned_at timestamptz)" \
        "INSERT INTO loans (book_id, member_id) SELECT g % 300000 + 1, g % 10000 + 1
            FROM generate_series(1, 100000) g" \
        "CREATE INDEX loans_member_id_idx ON loans (member_id)" \
        "VACUUM ANALYZE"
}

schema_tickets() {
    app_sql appdb \
        "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL)" \
        "INSERT INTO accounts SELECT g, 'account ' || g FROM generate_series(1, 2000) g" \
        "CREATE TABLE tickets (id serial PRIMARY KEY, account_id int NOT NULL,
            status text NOT NULL, priority int NOT NULL, subject text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()) WITH (fillfactor = 80)" \
        "INSERT INTO tickets (account_id, status, priority, subject)
            SELECT g % 2000 + 1, (ARRAY['open','pending','closed'])[g % 3 + 1], g % 4,
                   'ticket ' || g FROM generate_series(1, 200000) g" \
        "CREATE INDEX tickets_account_id_idx ON tickets (account_id)" \
        "CREATE TABLE comments (id serial PRIMARY KEY, ticket_id int NOT NULL, body text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now())" \
        "INSERT INTO comments (ticket_id, body) SELECT g % 200000 + 1, 'comment ' || g
            FROM generate_series(1, 300000) g" \
        "CREATE INDEX comments_ticket_id_idx ON comments (ticket_id)" \
        "VACUUM ANALYZE"
}

schema_blog() {
    app_sql appdb \
        "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, karma int NOT NULL DEFAULT 0)" \
        "INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 10000) g" \
        "CREATE TABLE posts (id serial PRIMARY KEY, user_id int NOT NULL, title text NOT NULL,
            body text NOT NULL, published_at timestamptz NOT NULL, views int NOT NULL DEFAULT 0)" \
        "INSERT INTO posts (user_id, title, body, published_at)
            SELECT g % 10000 + 1, 'post ' || g, repeat('lorem ipsum ', 20),
                   now() - g * interval '1 minute' FROM generate_series(1, 100000) g" \
        "CREATE INDEX posts_user_id_idx ON posts (user_id)" \
        "CREATE INDEX posts_published_at_idx ON posts (published_at)" \
        "CREATE TABLE comments (id serial PRIMARY KEY, post_id int NOT NULL, user_id int NOT NULL,
            body text NOT NULL)" \
        "INSERT INTO comments (post_id, user_id, body) SELECT g % 100000 + 1, g % 10000 + 1,
            'nice ' || g FROM generate_series(1, 300000) g" \
        "CREATE INDEX comments_post_id_idx ON comments (post_id)" \
        "VACUUM ANALYZE"
}

# script NAME <<'EOF' ... EOF: a pgbench script file in the scenario's directory.
script() {
    cat >"$DIR/$1.sql"
    chmod 644 "$DIR/$1.sql"
}

# traffic NAME APP RATE SECONDS [pgbench options...]: pgbench in the background; its pid in
# $DIR/NAME.pid. The rate is fixed (-R) and late transactions are skipped, as web clients
# that time out would, so an outage does not build an endless backlog.
traffic() {
    local name=$1 app=$2 rate=$3 secs=$4
    shift 4
    PGAPPNAME=$app "$PGBENCH" -n -h "$PGHOST" -p "$PGPORT" -U app -c 4 -j 2 -R "$rate" \
        -L 2000 -T "$secs" "$@" appdb >"$DIR/$name.out" 2>&1 &
    echo $! >"$DIR/$name.pid"
}

stop_traffic() {
    local pid
    pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# watch_start: sleuth watch every second with a store and a JSONL of incidents, the HTTP API
# on a free loopback port (its port in $WATCH_PORT).
watch_start() {
    "$SLEUTH" watch --interval 1s --store "$DIR/sleuth.db" --alerts-jsonl "$DIR/incidents.jsonl" \
        --listen 127.0.0.1:0 --no-color "host=$PGHOST port=$PGPORT dbname=appdb user=monitor" \
        >"$DIR/watch.out" 2>"$DIR/watch.err" &
    WATCH_PID=$!
    WATCH_PORT=
    for _ in $(seq 1 100); do
        WATCH_PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' \
            "$DIR/watch.err" | head -1)
        [ -n "$WATCH_PORT" ] && break
        sleep 0.1
    done
}

# collect: the live verdict, the watcher stopped, the server stopped, then the stored
# verdict and the log's, as api.json, store.json and log.json.
collect() {
    curl -s --max-time 5 "http://127.0.0.1:$WATCH_PORT/api/diagnosis" >"$DIR/api.json"
    kill -TERM "$WATCH_PID" 2>/dev/null
    wait "$WATCH_PID" 2>/dev/null
    pg_stop
    cp "$PG_DIR/log/postgresql" "$DIR/postgresql.log"
    "$SLEUTH" report --store "$DIR/sleuth.db" -f json >"$DIR/store.json" 2>"$DIR/store.err"
    "$SLEUTH" analyze -f json "$DIR/postgresql.log" >"$DIR/log.json" 2>"$DIR/log.err"
    "$SLEUTH" postmortem --store "$DIR/sleuth.db" -f json >"$DIR/pm-store.json" 2>"$DIR/pm.err"
    "$SLEUTH" postmortem -f json "$DIR/postgresql.log" >"$DIR/pm-log.json" 2>>"$DIR/pm.err"
}

# The worst incident of a verdict (incident_list_json's choice: its causes are "diagnosis").
JQ_WORST='
  def t: if . == null then null else sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601 end;
  (.diagnosis[0] // null) as $top
  | [.incidents[] | select(.causes[0] == $top)][0] // null'

# verdict CHANNEL FIELD: a field of the worst incident of one channel's verdict (jq path).
verdict() {
    jq -r "$JQ_WORST | if . == null then \"none\" else ($2 // \"null\") end" "$DIR/$1.json" \
        2>/dev/null || echo "unreadable"
}

# seconds_from CHANNEL FIELD T: (FIELD of the worst incident, a time) - T, whole seconds.
seconds_from() {
    jq -r --arg t "$3" "$JQ_WORST | if . == null or $2 == null then \"none\"
        else (($2 | t) - (\$t | tonumber | floor)) end" "$DIR/$1.json" 2>/dev/null || echo none
}
