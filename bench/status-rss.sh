#!/usr/bin/env bash
# Worker memory around GET status on a large route table: the worker's RSS
# before and after one `status` call (the default: a summary over 1000
# routes), then after paging through every route 1000 at a time.  Needs
# no backend: status does not proxy.  About 20 s for 100k routes.
#
#   bench/status-rss.sh [ROUTES] [MODULE.so]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

n=${1:-100000}
module=$(realpath "${2:-build/ngx_http_strangler_module.so}")
out=build/status-rss
port=${STATUS_RSS_PORT:-34180}

python3 bench/gen.py --out "$out" --ns "$n" --module "$module" \
    --port-base $((port - 80)) >/dev/null
conf=$out/strangler-$n.conf
api_location='location /_strangler/ { strangler_api; }'
sed -i "s|location / { strangler; }|&\n        $api_location|" "$conf"
sed -i 's|strangler_zone strangler 64m;|strangler_zone strangler 128m;|' "$conf"

port=$(sed -n 's/.*listen 127.0.0.1:\([0-9]*\).*/\1/p' "$conf")

nginx=/usr/sbin/nginx
$nginx -c "$top/$conf"
trap '$nginx -c "$top/$conf" -s quit 2>/dev/null || true' EXIT
sleep 1

master=$(cat "$out/run/strangler-$n/nginx.pid")
worker=$(pgrep -P "$master" | head -1)
rss() { awk '/VmRSS/ { print $2 }' "/proc/$worker/status"; }
api=http://127.0.0.1:$port/_strangler

echo "routes: $n, worker $worker"
echo "RSS before:                   $(rss) kB"
start=$(date +%s.%N)
curl -s -o "$out/status.json" "$api/status"
took() { echo "$(date +%s.%N) - $start" | bc; }
echo "GET status: $(stat -c %s "$out/status.json") bytes in $(took)s"
echo "RSS after status:             $(rss) kB"
offset=0
bytes=0
start=$(date +%s.%N)
while [ "$offset" != null ]; do
    curl -s -o "$out/page.json" "$api/status?limit=1000&offset=$offset"
    bytes=$((bytes + $(stat -c %s "$out/page.json")))
    offset=$(python3 -c 'import json, sys
n = json.load(open(sys.argv[1]))["next_offset"]
print("null" if n is None else n)' "$out/page.json")
done
echo "every page: $bytes bytes in $(took)s"
echo "RSS after paging every route: $(rss) kB"
