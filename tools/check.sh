#!/usr/bin/env bash
# The whole test suite: unit tests and every bundled model (passes on and off) via
# ctest, then the ONNX backend suite (libonnx-testdata) through `norma test`, passes
# on and off, against tests/conformance/expected-failures.txt. Run tools/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
/usr/bin/python3 tools/conformance.py --table build/optable.md
