#!/usr/bin/env bash
# The whole test suite: unit tests and every bundled model (passes on and off) via
# ctest, then the ONNX backend suite (libonnx-testdata) through `norma test`, passes
# on and off, against tests/conformance/expected-failures.txt. Then the sanitizer
# stage (NORMA_SANITIZERS=0 skips it): the whole ctest again under AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/), valgrind on a model load and run
# (tools/valgrind.sh), the concurrency test under ThreadSanitizer (build-tsan/), and
# each libFuzzer target for NORMA_FUZZ_RUNS runs with a fixed seed on a seed corpus
# made from models/ and the node tests (build-fuzz/, clang).
# Run tools/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
/usr/bin/python3 tools/conformance.py --table build/optable.md

[ "${NORMA_SANITIZERS:-1}" = 0 ] && exit 0
stage() { echo "== $* ($(date +%T))"; }
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo ${NORMA_CMAKE_FLAGS:-})

stage "ASan + UBSan: the whole ctest"
cmake -S . -B build-asan "${flags[@]}" -DNORMA_ASAN=ON -DNORMA_UBSAN=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"

stage "valgrind: a model load and run, and the validation tests"
bash tools/valgrind.sh build

stage "TSan: the concurrency test"
# threads=1 in the session (NORMA_CONC_THREADS): the callers' 8 threads are the
# concurrency under test; libgomp is not TSan-instrumented, so its own barriers would
# show up as false races.
cmake -S . -B build-tsan "${flags[@]}" -DNORMA_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target test_concurrency
NORMA_CONC_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/test_concurrency

# A fixed seed and a fixed number of runs: the same code explores the same inputs, so
# this stage cannot pass once and fail the next time (long fuzzing is separate, see
# the README). NORMA_FUZZ_SECONDS only caps the time.
runs="${NORMA_FUZZ_RUNS:-150000}"
stage "libFuzzer: $runs runs per target (seed 1)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DNORMA_FUZZ=ON -DNORMA_TESTS=OFF \
    "${flags[@]}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_model fuzz_tensor
(cd build-fuzz && bash ../tests/fuzz/run.sh "$PWD" "${NORMA_FUZZ_SECONDS:-600}" -seed=1 -runs="$runs")
stage "sanitizer stage passed"
