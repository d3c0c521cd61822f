#!/usr/bin/env bash
# Runs the fuzz targets on a fresh seed corpus.
#   tests/fuzz/run.sh [build-dir] [seconds-per-target] [extra libFuzzer flags...]
# build-dir must be configured with -DCMAKE_C_COMPILER=clang -DNORMA_FUZZ=ON
# (default build-fuzz). Crashes are written to the current directory as crash-*.
# -timeout=120: a unit slower than that (a hang) fails; merely slow ones do not.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build-fuzz}"
secs="${2:-60}"
shift $(( $# > 2 ? 2 : $# ))
corpus="$(bash "$root/tests/fuzz/corpus.sh")"
trap 'rm -rf "$corpus"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export OMP_NUM_THREADS=1
for t in model tensor; do
    echo "== fuzz_$t: ${secs}s on $(ls "$corpus/$t" | wc -l) seeds"
    # The seeds are the first corpus directory; new inputs go to a scratch one.
    mkdir -p "$corpus/new_$t"
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
        -timeout=120 -print_final_stats=1 "$@" "$corpus/new_$t" "$corpus/$t"
done
