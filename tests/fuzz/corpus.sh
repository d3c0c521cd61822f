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
/usr/bin/python3 - "$root" "$out" <<'PY'
import glob, os, shutil, sys
root, out = sys.argv[1:3]
small = lambda p: os.path.getsize(p) <= 100 * 1024
for m in sorted(glob.glob(os.path.join(root, "models", "*", "model.onnx"))):
    d = os.path.basename(os.path.dirname(m))
    if small(m):
        shutil.copyfile(m, os.path.join(out, "model", "bundled_%s.onnx" % d))
    for pb in glob.glob(os.path.join(os.path.dirname(m), "test_data_set_0", "*.pb")):
        if small(pb):
            shutil.copyfile(pb, os.path.join(out, "tensor", "bundled_%s_%s" % (d, os.path.basename(pb))))
node = "/usr/share/libonnx-testdata/data/node"
for i, t in enumerate(sorted(glob.glob(os.path.join(node, "*")))):
    n = os.path.basename(t)
    if os.path.isfile(os.path.join(t, "model.onnx")):
        shutil.copyfile(os.path.join(t, "model.onnx"), os.path.join(out, "model", n + ".onnx"))
    if i % 4 == 0:
        for pb in glob.glob(os.path.join(t, "test_data_set_0", "*.pb")):
            shutil.copyfile(pb, os.path.join(out, "tensor", "%s_%s" % (n, os.path.basename(pb))))
PY
echo "$out"
