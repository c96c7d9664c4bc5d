#!/usr/bin/env bash
# make bench: the HTTP benchmark (bench/bench.py) and the lookup
# micro-benchmark (bench/lookup.c).  Everything generated goes to
# build/bench/; the tables end up in build/bench/results.md (and the HTTP
# measurements in results.csv).  Loopback only; takes 5 to 10 minutes.
#
#   BENCH_NS=10,1000,10000     route-table sizes of the HTTP benchmark
#   BENCH_DURATION=5 BENCH_ROUNDS=3 BENCH_CONNECTIONS=32 BENCH_THREADS=1
#   BENCH_WARMUP=1 BENCH_PIN=1 BENCH_NICE=-10 BENCH_QUIET_WAIT=5
#   BENCH_ONLY=regex            only these fronts (and the baseline)
#   BENCH_ZONE=1               strangler_zone in the strangler front
#   BENCH_GUARDS=0             1: also a strangler front with a guard on
#                              every route (strangler-guards-N)
#   BENCH_PORT_BASE=18000      ports BASE+1, BASE+2, BASE+80...
#   BENCH_HTTP=0, BENCH_LOOKUP=0   skip one part
#   BENCH_LOOKUP_NS=10,100,1000,10000,100000
#
# See bench/bench.py for what each setting does.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

out=build/bench
module=build/ngx_http_strangler_module.so

: "${BENCH_NS:=10,1000,10000}"
: "${BENCH_PORT_BASE:=18000}"
: "${BENCH_ZONE:=1}"
: "${BENCH_GUARDS:=0}"
: "${BENCH_HTTP:=1}"
: "${BENCH_LOOKUP:=1}"
: "${BENCH_LOOKUP_NS:=10,100,1000,10000,100000}"

for tool in python3 taskset; do
    command -v $tool >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done

if [ "$BENCH_HTTP" = 1 ]; then
    [ -f "$module" ] || { echo "bench: no $module: run make" >&2; exit 1; }
    tools=wrk
    # HAProxy only when its front runs
    if [ -z "${BENCH_ONLY:-}" ] || echo haproxy | grep -Eq "$BENCH_ONLY"; then
        tools="$tools haproxy"
    fi
    for tool in $tools; do
        command -v $tool >/dev/null \
            || { echo "bench: needs $tool (mk/deps.sh bench)" >&2; exit 1; }
    done
fi

rm -rf "$out"
mkdir -p "$out"

echo "== generating tables and configurations into $out"
python3 bench/gen.py --out "$out" --ns "$BENCH_NS" \
    --port-base "$BENCH_PORT_BASE" --module "$module" --zone "$BENCH_ZONE" \
    --guards "$BENCH_GUARDS"

echo "== building the lookup micro-benchmark"
core=$(ls ngx_strangler_module/core/*.c)
${CC:-cc} -O2 -g -std=gnu99 -Wall -Wextra -Wno-unused-parameter \
    -Ingx_strangler_module/core -o "$out/lookup" bench/lookup.c $core \
    -lyaml -lpcre2-8 -ljansson -lz

rc=0

if [ "$BENCH_HTTP" = 1 ]; then
    echo "== HTTP benchmark"
    python3 bench/bench.py "$out" || rc=$?
fi

if [ "$BENCH_LOOKUP" = 1 ]; then
    echo
    echo "== lookup micro-benchmark"
    largest=$(ls "$out"/routes-*.yaml | sort -t- -k2 -n | tail -1)
    {
        echo
        echo "# Lookup micro-benchmark (bench/lookup.c)"
        echo
        "$out/lookup" -n "$BENCH_LOOKUP_NS" "$largest"
    } | tee "$out/lookup.md"
    cat "$out/lookup.md" >> "$out/results.md"
fi

echo
echo "bench: results in $out/results.md"
exit $rc
