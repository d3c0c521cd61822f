#!/usr/bin/env bash
# The whole test suite: unit tests and every bundled model (passes on and off) via
# ctest. Run tools/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
