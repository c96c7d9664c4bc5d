#!/usr/bin/env bash
# What do capture and replay cost (issue 24)?
#
# Capture: CPU time of the front's one worker per client request, 1 KB
# JSON POST bodies and 1 KB JSON answers, side by side:
#
#   off          strangler_capture set, the route has no capture block
#   sample-5     capture: { sample: 5 }
#   sample-100   capture: { sample: 100 }
#
# Each run is wrk with keep-alive connections for a fixed time; the CPU
# time of the worker's threads (/proc/PID/task/*/schedstat) over the run,
# divided by the requests wrk completed, is the figure, and its ratio to
# "off".  The file-writing thread is the worker's: its CPU counts too.
#
# Replay: the last 200 MB of the capture, replayed with `strangler replay
# --allow-writes` to a local backend (the primary's nginx), requests per
# second over the wall time of the command.
#
# Loopback only; about a minute.  Needs wrk, python3, `make module cli`.
#
#   CAPTURE_BENCH_DURATION=5       seconds per run (after a 1 s warm-up)
#   CAPTURE_BENCH_CONNECTIONS=16   keep-alive connections
#   CAPTURE_BENCH_PORT_BASE=18700  ports BASE+1 and BASE+80
#   CAPTURE_BENCH_REPLAY=64        --concurrency of the replay
#   MODULE=build/ngx_http_strangler_module.so  CLI=build/strangler
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

: "${CAPTURE_BENCH_DURATION:=5}"
: "${CAPTURE_BENCH_CONNECTIONS:=16}"
: "${CAPTURE_BENCH_PORT_BASE:=18700}"
: "${CAPTURE_BENCH_REPLAY:=64}"
: "${MODULE:=build/ngx_http_strangler_module.so}"
: "${CLI:=build/strangler}"

base=$CAPTURE_BENCH_PORT_BASE
front=$((base + 80))
out=build/bench-capture
nginx=${NGINX:-/usr/sbin/nginx}
module=$(cd "$(dirname "$MODULE")" && pwd)/$(basename "$MODULE")

for tool in wrk python3 "$nginx" "$CLI"; do
    command -v "$tool" >/dev/null \
        || { echo "capture.sh: needs $tool" >&2; exit 1; }
done

[ -f "$module" ] || { echo "capture.sh: no $module: run make" >&2; exit 1; }

pin_front="" pin_rest=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_front="taskset -c 0"
    pin_rest="taskset -c 1-$(($(nproc) - 1))"
fi

rm -rf "$out"
mkdir -p "$out/logs" "$out/html" "$out/capture"
chmod 0777 "$out/capture"      # the workers write it (they may not be root)

cleanup() {
    rm -f "$out"/capture/capture.jsonl*      # up to 400 MB
    [ -f "$out/front.pid" ] && kill "$(cat "$out/front.pid")" 2>/dev/null
    [ -f "$out/backends.pid" ] && kill "$(cat "$out/backends.pid")" 2>/dev/null
    true
}
trap cleanup EXIT

# a 1 KB JSON document: the request's body and the answer
python3 -c "
import json
doc = {'user': 42, 'items': []}
while len(json.dumps(doc)) < 1000:
    i = len(doc['items'])
    doc['items'].append({'id': i, 'name': 'item %d' % i, 'qty': i % 7})
body = json.dumps(doc)
open('$out/html/body.json', 'w').write(body)
open('$out/post.lua', 'w').write(
    'wrk.method = \"POST\"\n'
    'wrk.headers[\"Content-Type\"] = \"application/json\"\n'
    'wrk.headers[\"Authorization\"] = \"Bearer secret\"\n'
    'wrk.body = ' + json.dumps(body) + '\n')
print('request and answer bodies: %d bytes' % len(body))
"

cat > "$out/backends.conf" <<CONF
worker_processes 1;
pid $top/$out/backends.pid;
error_log $top/$out/logs/backends.log error;
events { worker_connections 16384; }
http {
    access_log off;
    default_type application/json;
    server {
        listen 127.0.0.1:$((base + 1)) backlog=4096;
        location / {
            root $top/$out/html;
            error_page 405 =200 /body.json;
            try_files /body.json =404;
        }
    }
}
CONF

cat > "$out/routes.yaml" <<CONF
version: 1
default: primary
backends: { primary: {} }
routes:
  - name: off
    paths: ["/off/*"]
    owner: primary
  - name: sample-5
    paths: ["/sample-5/*"]
    owner: primary
    capture: { sample: 5 }
  - name: sample-100
    paths: ["/sample-100/*"]
    owner: primary
    capture: { sample: 100 }
CONF

cat > "$out/front.conf" <<CONF
worker_processes 1;
pid $top/$out/front.pid;
error_log $top/$out/logs/front.log warn;
load_module $module;
events { worker_connections 16384; }
http {
    access_log off;
    strangler_capture $top/$out/capture/capture.jsonl max_size=200m keep=1;

    upstream primary { server 127.0.0.1:$((base + 1)); keepalive 64; }

    proxy_http_version 1.1;
    proxy_set_header Connection "";

    server {
        listen 127.0.0.1:$front backlog=4096;
        strangler_routes $top/$out/routes.yaml;

        location / { strangler; }
        location @primary { proxy_pass http://primary; }
    }
}
CONF

$pin_rest "$nginx" -p "$top/$out" -c "$top/$out/backends.conf"
$pin_front "$nginx" -p "$top/$out" -c "$top/$out/front.conf"
sleep 0.5

worker=$(pgrep -P "$(cat "$out/front.pid")" | head -1)

# the worker's CPU time in ns, its threads' included (schedstat: ns, where
# /proc/PID/stat counts ticks of 10 ms)
ticks() {
    cat /proc/"$worker"/task/*/schedstat \
        | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

declare -A us rps

run() {
    local name=$1 url="http://127.0.0.1:$front$2" t0 t1 res n

    $pin_rest wrk -t1 -c"$CAPTURE_BENCH_CONNECTIONS" -d1s -s "$out/post.lua" \
        "$url" >/dev/null
    sleep 1.5       # the warm-up's records are written

    t0=$(ticks)
    res=$($pin_rest wrk -t1 -c"$CAPTURE_BENCH_CONNECTIONS" \
              -d"${CAPTURE_BENCH_DURATION}s" -s "$out/post.lua" "$url")
    sleep 1.5       # the last records are written
    t1=$(ticks)

    n=$(echo "$res" | awk '/requests in/ { print $1 }')
    rps[$name]=$(echo "$res" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
    us[$name]=$(awk -v d=$((t1 - t0)) -v n="$n" \
                    'BEGIN { printf "%.2f", d / 1e3 / n }')

    echo "== $name: $n requests, ${us[$name]} us/req;" \
         "$(echo "$res" | grep -E 'Non-2xx|Socket errors' || echo 'no errors')"
}

# three times each, interleaved: the machine is shared, the run with the
# least CPU per request (the least disturbed) counts
for pass in 1 2 3; do
    for name in off sample-5 sample-100; do
        run "$name.$pass" "/$name/1"
    done
done

best() {
    printf "%s\n" "${us[$1.1]}" "${us[$1.2]}" "${us[$1.3]}" \
        | sort -g | head -1
}

records=$(wc -l < "$out/capture/capture.jsonl")

echo
echo "1 KB JSON POSTs, 1 KB answers; $CAPTURE_BENCH_CONNECTIONS keep-alive" \
     "connections; ${CAPTURE_BENCH_DURATION} s per run, best of 3;" \
     "$records records written"
printf "%-12s %9s %12s %9s\n" setup "req/s" "CPU us/req" "x off"
for name in off sample-5 sample-100; do
    printf "%-12s %9s %12s %9s\n" "$name" "${rps[$name.1]}" "$(best "$name")" \
           "$(awk -v a="$(best "$name")" -v b="$(best off)" \
                  'BEGIN { printf "%.3f", a / b }')"
done

# replay: the capture to the primary's nginx, as fast as it answers
t0=$(date +%s.%N)
set +e
$pin_rest "$CLI" replay "$out/capture/capture.jsonl" \
    --table "$out/routes.yaml" \
    --to "http://127.0.0.1:$((base + 1))" --allow-writes \
    --concurrency "$CAPTURE_BENCH_REPLAY" --json > "$out/replay.json"
rc=$?
set -e
t1=$(date +%s.%N)

python3 -c "
import json
d = json.load(open('$out/replay.json'))
s = $t1 - $t0
print()
print('replay: %d requests in %.2f s: %.0f requests/s (exit $rc; '
      '%d matched, %d mismatched, %d failed; --concurrency %d)'
      % (d['sent'], s, d['sent'] / s, d['matched'], d['mismatched'],
         d['failed'], $CAPTURE_BENCH_REPLAY))
"
