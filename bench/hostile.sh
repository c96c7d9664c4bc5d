#!/usr/bin/env bash
# The cost of the hostile route tables of issue 16 (bench/hostile.py):
# wall time and max RSS of `strangler check` and `nginx -t` on each, from
# /usr/bin/time -v, each run cut off after HOSTILE_TIMEOUT seconds.
# Needs `make module cli`.  Output: one line per table and command.
#
#   HOSTILE_TIMEOUT=60   seconds before a run is given up ("timeout")
#   HOSTILE_MODULE, HOSTILE_CLI   another build to measure (default: build/)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

out=build/hostile
: "${HOSTILE_TIMEOUT:=60}"
: "${HOSTILE_MODULE:=$top/build/ngx_http_strangler_module.so}"
: "${HOSTILE_CLI:=build/strangler}"

mkdir -p "$out/logs"
python3 bench/hostile.py "$out"

measure() {    # name, command...
    local name=$1 rc wall rss
    shift
    timeout -s KILL "$HOSTILE_TIMEOUT" /usr/bin/time -v "$@" \
        >/dev/null 2>"$out/time.txt"
    rc=$?
    wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$out/time.txt")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' \
          "$out/time.txt")
    if [ "$rc" = 137 ]; then
        wall="timeout (${HOSTILE_TIMEOUT}s)" rss=-
    fi
    printf '%-28s %-16s %10s KB  exit %s  %s\n' "$name" "$wall" "$rss" \
        "$rc" "$(grep -m1 -o 'routes.yaml\|[a-z-]*\.yaml:[0-9:]* .*' \
                 "$out/time.txt" | cut -c1-90)"
}

for t in alias alias-regex nesting; do
    cat > "$out/$t.conf" <<CONF
load_module $HOSTILE_MODULE;
error_log $top/$out/logs/error.log warn;
pid $top/$out/logs/nginx.pid;
events {}
http {
    server {
        listen 127.0.0.1:1;
        strangler_routes $top/$out/$t.yaml;
        location / { strangler; }
        location @monolith { return 200; }
        location @messages { return 200; }
    }
}
CONF
    measure "strangler check $t.yaml" "$HOSTILE_CLI" check "$out/$t.yaml"
    measure "nginx -t $t.yaml" /usr/sbin/nginx -t -q -p "$out" \
        -c "$top/$out/$t.conf"
done

# the backtracking regex: worker CPU per request, from /proc/PID/schedstat
# (nanoseconds on the CPU) around HOSTILE_REQUESTS requests to /api/, 200 "a" and
# a "b", which the regex cannot match
: "${HOSTILE_REQUESTS:=50}"
: "${HOSTILE_PORT:=18099}"
cat > "$out/regex.conf" <<CONF
load_module $HOSTILE_MODULE;
error_log $top/$out/logs/error.log warn;
pid $top/$out/logs/nginx.pid;
daemon off;
master_process off;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:$HOSTILE_PORT;
        strangler_routes $top/$out/regex.yaml;
        location / { strangler; }
        location @monolith { return 200 "monolith\n"; }
        location @messages { return 200 "messages\n"; }
    }
}
CONF
: > "$out/logs/error.log"
/usr/sbin/nginx -p "$out" -c "$top/$out/regex.conf" &
pid=$!
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$HOSTILE_PORT/other" && break
    sleep 0.1
done
cpu() { awk '{ print $1 }' "/proc/$pid/schedstat"; }
path=/api/$(printf 'a%.0s' $(seq 200))b
before=$(cpu)
start=$(date +%s.%N)
for _ in $(seq "$HOSTILE_REQUESTS"); do
    answer=$(curl -s -m 120 "http://127.0.0.1:$HOSTILE_PORT$path")
done
end=$(date +%s.%N)
after=$(cpu)
kill "$pid"
wait "$pid" 2>/dev/null
awk -v n="$HOSTILE_REQUESTS" -v t=$((after - before)) -v hz=1e9 \
    -v w="$(echo "$end - $start" | bc)" -v a="$answer" 'BEGIN {
    printf "%-28s %d requests: worker CPU %.2f ms per request, " \
           "wall %.2f ms per request, answer %s\n", "regex (.*a){10,14}", n,
           t / hz / n * 1000, w / n * 1000, a }'
grep -m1 'regex' "$out/logs/error.log" || true
