#!/usr/bin/env bash
# Builds the seed corpora in a directory (default: a new temporary one) and prints it:
#   <dir>/model  the bundled models under 100 KB and every ONNX backend node-test model
#   <dir>/tensor the test-data .pb files of those (one in four node tests, to stay small)
# Nothing is committed: the corpus is made at run time from the repository and Debian's
# libonnx-testdata.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$(mktemp -d /tmp/norma-fuzz-corpus.XXXXXX)}"
mkdir -p "$out/model" "$out/tensor"
for m in "$root"/models/*/model.onnx; do
    [ -f "$m" ] || continue
    d="$(basename "$(dirname "$m")")"
    if [ "$(stat -c %s "$m")" -le 102400 ]; then
        cp "$m" "$out/model/bundled_$d.onnx"
    fi
    for pb in "$(dirname "$m")"/test_data_set_0/*.pb; do
        [ -f "$pb" ] && [ "$(stat -c %s "$pb")" -le 102400 ] && cp "$pb" "$out/tensor/bundled_${d}_$(basename "$pb")"
    done
done
node=/usr/share/libonnx-testdata/data/node
if [ -d "$node" ]; then
    i=0
    for t in "$node"/*/; do
        n="$(basename "$t")"
        [ -f "$t/model.onnx" ] && cp "$t/model.onnx" "$out/model/$n.onnx"
        if [ $((i % 4)) -eq 0 ]; then
            for pb in "$t"/test_data_set_0/*.pb; do
                [ -f "$pb" ] && cp "$pb" "$out/tensor/${n}_$(basename "$pb")"
            done
        fi
        i=$((i + 1))
    done
fi
echo "$out"
