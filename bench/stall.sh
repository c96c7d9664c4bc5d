#!/usr/bin/env bash
# Does comparing large answers stall the worker?  p99 latency of small
# requests (wrk, keep-alive) served by the front's one worker while another
# client keeps fetching a 1 MB JSON answer that is shadowed to a candidate
# whose answer differs in one value, with `compare: json` and, for the
# baseline, `compare: off` (the shadow is sent all the same).
#
#   make module && bench/stall.sh                 # about 30 s
#   MODULE=path/to/other.so bench/stall.sh        # another build
#   STALL_DURATION=10 STALL_PORT_BASE=18700
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

: "${STALL_DURATION:=8}"
: "${STALL_PORT_BASE:=18700}"
: "${MODULE:=build/ngx_http_strangler_module.so}"

base=$STALL_PORT_BASE
front=$((base + 80))
out=build/bench-stall
nginx=${NGINX:-/usr/sbin/nginx}
module=$(cd "$(dirname "$MODULE")" && pwd)/$(basename "$MODULE")

for tool in wrk python3 "$nginx"; do
    command -v "$tool" >/dev/null \
        || { echo "stall.sh: needs $tool" >&2; exit 1; }
done

pin_front="" pin_rest=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_front="taskset -c 0"
    pin_rest="taskset -c 1-$(($(nproc) - 1))"
fi

rm -rf "$out"
mkdir -p "$out/logs" "$out/html"

cleanup() {
    [ -f "$out/front.pid" ] && kill "$(cat "$out/front.pid")" 2>/dev/null
    [ -f "$out/backends.pid" ] && kill "$(cat "$out/backends.pid")" 2>/dev/null
    [ -n "${bigpid:-}" ] && kill "$bigpid" 2>/dev/null
    true
}
trap cleanup EXIT

# about 900 KB: 10,000 items; the other one's item 5,000 has another price
python3 -c "
import json
items = [{'id': i, 'name': 'item %d' % i, 'price': i * 1.5,
          'tags': ['a', 'b', 'c'], 'note': 'x' * 20} for i in range(10000)]
open('$out/html/big.json', 'w').write(json.dumps({'items': items}))
items[5000]['price'] = 1
open('$out/html/other.json', 'w').write(json.dumps({'items': items}))
"

cat > "$out/backends.conf" <<CONF
worker_processes 1;
pid $top/$out/backends.pid;
error_log $top/$out/logs/backends.log error;
events { worker_connections 4096; }
http {
    access_log off;
    default_type application/json;
    server {
        listen 127.0.0.1:$((base + 1));
        location / { root $top/$out/html; try_files /big.json =404; }
        location /small/ { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:$((base + 2));
        location / { root $top/$out/html; try_files /other.json =404; }
    }
}
CONF

routes() {
    cat > "$out/routes.yaml" <<CONF
version: 1
default: primary
backends: { primary: {}, candidate: {} }
routes:
  - name: big
    paths: ["/big/*"]
    owner: primary
    shadow: { to: candidate, sample: 100, compare: $1 }
CONF
}

cat > "$out/front.conf" <<CONF
worker_processes 1;
pid $top/$out/front.pid;
error_log $top/$out/logs/front.log warn;
load_module $module;
events { worker_connections 4096; }
http {
    access_log off;
    strangler_zone strangler 1m;
    strangler_compare_max_body 2m;

    upstream primary { server 127.0.0.1:$((base + 1)); keepalive 16; }
    upstream candidate { server 127.0.0.1:$((base + 2)); keepalive 16; }

    proxy_http_version 1.1;
    proxy_set_header Connection "";

    server {
        listen 127.0.0.1:$front;
        strangler_routes $top/$out/routes.yaml;

        location / { strangler; }
        location @primary { proxy_pass http://primary; }
        location @candidate { proxy_pass http://candidate; }
    }
}
CONF

$pin_rest "$nginx" -p "$top/$out" -c "$top/$out/backends.conf"

run() {
    local p99 bigs

    routes "$1"
    $pin_front "$nginx" -p "$top/$out" -c "$top/$out/front.conf"
    sleep 0.5

    # the large answers, one after the other, for the whole run
    $pin_rest wrk -t1 -c1 -d$((STALL_DURATION + 2))s \
        "http://127.0.0.1:$front/big/x" >"$out/big-$1.txt" &
    bigpid=$!
    sleep 1

    $pin_rest wrk -t1 -c4 -d"${STALL_DURATION}s" --latency \
        "http://127.0.0.1:$front/small/x" >"$out/small-$1.txt"
    wait "$bigpid"
    bigpid=

    p99=$(awk '$1 == "99%" { print $2 }' "$out/small-$1.txt")
    bigs=$(awk '/requests in/ { print $1 }' "$out/big-$1.txt")
    echo "| compare: $1 | $p99 | $bigs |"

    kill "$(cat "$out/front.pid")"
    sleep 0.5
}

echo "| large answers | small requests' p99 | large answers fetched |"
echo "|---|---|---|"
run off
run json
