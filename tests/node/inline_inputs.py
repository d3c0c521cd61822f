#!/usr/bin/python3
"""Copies ONNX node-test directories with every input but the first turned into an
initializer (from test_data_set_0), so ops whose shape depends on an input's data
(Reshape's shape, Slice's starts, Resize's scales...) can be checked by `norma test`,
which plans shapes before any data is seen. Usage: inline_inputs.py [--all] OUTDIR TESTDIR...
With --all, the first input is inlined too (Range, whose inputs are all scalars).
Skips a directory whose data sets disagree on those inputs."""
import os, sys, glob, onnx
from onnx import numpy_helper

args = sys.argv[1:]
first = 1
if args[0] == "--all":
    first = 0
    args = args[1:]
out = args[0]
for d in args[1:]:
    m = onnx.load(os.path.join(d, "model.onnx"))
    sets = sorted(glob.glob(os.path.join(d, "test_data_set_*")))
    g = m.graph
    init_names = {i.name for i in g.initializer}
    ins = [i for i in g.input if i.name not in init_names]
    if len(ins) < first + 1:
        continue
    def load(s, k):
        t = onnx.TensorProto()
        with open(os.path.join(s, "input_%d.pb" % k), "rb") as f:
            t.ParseFromString(f.read())
        return t
    consts = [load(sets[0], k) for k in range(first, len(ins))]
    if any(load(s, k).SerializeToString() != consts[k - first].SerializeToString()
           for s in sets[1:] for k in range(first, len(ins))):
        continue
    for k, t in enumerate(consts, first):
        t.name = ins[k].name
        g.initializer.append(t)
    keep = ins[:first]
    del g.input[:]
    g.input.extend(keep)
    od = os.path.join(out, os.path.basename(d.rstrip("/")))
    os.makedirs(od, exist_ok=True)
    onnx.save(m, os.path.join(od, "model.onnx"))
    for s in sets:
        sd = os.path.join(od, os.path.basename(s))
        os.makedirs(sd, exist_ok=True)
        for f in os.listdir(s):
            if f.startswith("input_") and (first == 0 or f != "input_0.pb"):
                continue
            with open(os.path.join(s, f), "rb") as a, open(os.path.join(sd, f), "wb") as b:
                b.write(a.read())
