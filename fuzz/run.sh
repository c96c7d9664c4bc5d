#!/usr/bin/env bash
# Runs one fuzz target: first its regression inputs (each must pass), then
# libFuzzer for SECONDS (0: the regressions and the seed corpus only).
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#
# New inputs go to build/fuzz/corpus/TARGET (kept between runs); the seeds
# in fuzz/corpus/TARGET are read, never written.  A crash, a leak or a
# sanitizer report leaves its input in build/fuzz/artifacts/ and fails;
# keep it as fuzz/regressions/TARGET/NAME once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

target=$1
secs=$2
shift 2

bin=build/fuzz/fuzz_$target
work=build/fuzz/corpus/$target
artifacts=build/fuzz/artifacts
mkdir -p "$work" "$artifacts"

case $target in
    load)    max_len=16384 ;;
    match)   max_len=8192 ;;
    compare) max_len=16384 ;;
    *)       max_len=4096 ;;
esac

opts=(-rss_limit_mb=2048 -timeout=10 -max_len=$max_len
      -artifact_prefix=$artifacts/$target- -print_final_stats=1)
[ -f "fuzz/$target.dict" ] && opts+=(-dict=fuzz/$target.dict)

regressions=(fuzz/regressions/$target/*)
if [ -e "${regressions[0]}" ]; then
    echo "fuzz $target: replaying ${#regressions[@]} regression inputs"
    "$bin" "${opts[@]}" "${regressions[@]}" \
        >build/fuzz/$target.replay.log 2>&1 \
        || { tail -40 build/fuzz/$target.replay.log; exit 1; }
fi

seeds=(fuzz/corpus/$target/*)
echo "fuzz $target: replaying ${#seeds[@]} seeds"
"$bin" "${opts[@]}" "${seeds[@]}" >build/fuzz/$target.seeds.log 2>&1 \
    || { tail -40 build/fuzz/$target.seeds.log; exit 1; }

[ "$secs" -gt 0 ] || exit 0

echo "fuzz $target: ${secs}s"
log=build/fuzz/$target.log
if ! "$bin" "${opts[@]}" -max_total_time="$secs" "$@" \
        "$work" "fuzz/corpus/$target" >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz $target: FAILED; the input is in $artifacts/" >&2
    exit 1
fi
execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
echo "fuzz $target: ok, $execs executions," \
     "corpus $(ls "$work" | wc -l) inputs"
