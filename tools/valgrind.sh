#!/usr/bin/env bash
# valgrind --leak-check=full on a model load and run (norma test on bundled models),
# and on the validation tests (which include session creation failing halfway).
# Fails on any memory error or a definite/indirect leak.
#   tools/valgrind.sh [build-dir]     (a plain, non-sanitizer build; default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
vg=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --error-exitcode=99)
# One OpenMP thread: libgomp's pool of parked threads is not a leak but clutters reports.
export OMP_NUM_THREADS=1
# A chosen wait policy also keeps the norma command from re-executing itself (see
# default_wait_policy in tools/norma.c), which valgrind cannot follow.
export OMP_WAIT_POLICY=passive
for m in mlp_bn conv1d_bn; do
    echo "== valgrind: norma test models/$m"
    "${vg[@]}" "$build/norma" test "models/$m" >/dev/null
done
echo "== valgrind: test_validation"
"${vg[@]}" "$build/tests/test_validation" >/dev/null
echo "valgrind: no errors, no leaks"
