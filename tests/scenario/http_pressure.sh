#!/bin/bash
# The watcher's HTTP server under slow clients, on loopback: 80 connections
# that send their request head a byte a second (slowloris), or 70 that send
# nothing, must not make /metrics unreachable, and each overstays its
# deadline only briefly before the server closes it. No PostgreSQL needed:
# the watcher polls a server that is not there and publishes its gaps.
set -u
SLEUTH=$1
. "$(dirname "$0")/tap.sh"
tmp=$(mktemp -d)
WATCH_PID=
cleanup() {
    [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
    wait 2>/dev/null
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

"$SLEUTH" watch --no-store --listen 127.0.0.1:0 --interval 1s "host=$tmp/nosocket port=1" \
    >"$tmp/watch.out" 2>"$tmp/watch.err" &
WATCH_PID=$!
for _ in $(seq 1 100); do
    grep -q 'listening on http://' "$tmp/watch.err" && break
    sleep 0.1
done
port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$tmp/watch.err" | head -1)
ok "$([ -n "$port" ]; echo $?)" "the watcher listens on a loopback port"
for _ in $(seq 1 50); do
    curl -s --max-time 2 "http://127.0.0.1:$port/metrics" | grep -q '^sleuth_up' && break
    sleep 0.1
done

# pressure.py MODE N: opens N connections (slow: a header byte a second; idle: nothing), then
# scrapes /metrics and prints "scrape STATUS SECONDS"; then waits WAIT seconds and prints how
# many of the N connections the server has closed.
cat >"$tmp/pressure.py" <<'EOF'
import socket, sys, time
port, mode, n, wait = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if mode == "slow":
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    conns.append(s)
time.sleep(0.5)
t0 = time.monotonic()
status = "none"
try:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.") else "garbled"
    if b"\nsleuth_up " not in data:
        status += "-no-metrics"
except OSError as e:
    status = type(e).__name__
print("scrape %s %.1f" % (status, time.monotonic() - t0), flush=True)
end = time.monotonic() + wait
closed = set()
while time.monotonic() < end and len(closed) < n:
    for i, s in enumerate(conns):
        if i in closed:
            continue
        try:
            if mode == "slow":
                s.sendall(b"X")
            s.setblocking(False)
            if s.recv(4096) == b"":
                closed.add(i)
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
        finally:
            s.setblocking(True)
    time.sleep(1)
print("closed %d" % len(closed), flush=True)
EOF

python3 "$tmp/pressure.py" "$port" slow 80 12 >"$tmp/slow.txt" 2>&1
like "$(grep '^scrape' "$tmp/slow.txt")" '^scrape 200 [0-4]\.' \
    "with 80 slow-header connections open, /metrics answers 200 within 5 s"
is "$(sed -n 's/^closed //p' "$tmp/slow.txt")" 80 \
    "and every slow-header connection is closed within 12 s (a 5 s head deadline)"

python3 "$tmp/pressure.py" "$port" idle 70 12 >"$tmp/idle.txt" 2>&1
like "$(grep '^scrape' "$tmp/idle.txt")" '^scrape 200 [0-4]\.' \
    "with 70 idle connections open, /metrics answers 200 within 5 s"
is "$(sed -n 's/^closed //p' "$tmp/idle.txt")" 70 "and every idle connection is closed within 12 s"

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/metrics")
is "$code" 200 "afterwards a plain scrape is still answered"
kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
is "$?" 0 "the watcher stops cleanly"
WATCH_PID=
done_testing
