#!/usr/bin/env python3
"""Runs the ONNX backend test suite (Debian's libonnx-testdata) through `norma test`.

Each case runs twice, with the graph passes on and with --no-optimize; a case passes
only when both runs pass. Cases listed in tests/conformance/expected-failures.txt
("suite/case  reason") are expected to fail: the run fails when a case fails that is
not listed, and when a listed case passes (so the list stays true).

    /usr/bin/python3 tools/conformance.py [--norma build/norma] [--data DIR]
        [--suites node,pytorch-converted,...] [--table OUT.md] [--update-expected]

Prints one summary line per suite and writes a per-op table (markdown) with the
opsets and input dtypes the cases cover and how many pass.
"""
import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]


def run_norma(norma, dirs, extra):
    """Runs `norma test` on dirs in one process; returns {dir: error or None}."""
    result = {d: "no result" for d in dirs}
    failed_msgs = defaultdict(list)
    ok_sets = defaultdict(int)
    chunk = 200
    for i in range(0, len(dirs), chunk):
        part = dirs[i:i + chunk]
        proc = subprocess.run([norma, "test", "--atol", "1e-7", "--rtol", "1e-3"] + extra + part,
                              capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            # a crash: rerun one by one to find it
            for d in part:
                p = subprocess.run([norma, "test", "--atol", "1e-7", "--rtol", "1e-3"] + extra + [d],
                                   capture_output=True, text=True)
                if p.returncode not in (0, 1):
                    failed_msgs[d].append("CRASH (exit %d) %s" % (p.returncode, p.stderr.strip()[-200:]))
                elif p.returncode == 0:
                    ok_sets[d] += 1
                else:
                    failed_msgs[d].append(p.stdout.strip().splitlines()[0] if p.stdout.strip() else "failed")
            continue
        for line in proc.stdout.splitlines():
            if line.startswith("ok   "):
                path = line[5:]
                ok_sets[os.path.dirname(path)] += 1
            elif line.startswith("FAIL "):
                rest = line[5:]
                for d in part:
                    if rest.startswith(d + "/") or rest.startswith(d + ":"):
                        failed_msgs[d].append(rest[len(d):].lstrip("/: "))
                        break
    for d in dirs:
        if failed_msgs[d]:
            result[d] = failed_msgs[d][0]
        elif ok_sets[d] > 0:
            result[d] = None
    return result


def model_info(norma, d):
    p = subprocess.run([norma, "info", "--json", os.path.join(d, "model.onnx")], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


def load_expected(path):
    exp = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            exp[parts[0]] = parts[1] if len(parts) > 1 else ""
    return exp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--norma", default=os.path.join(ROOT, "build", "norma"))
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data")
    ap.add_argument("--suites", default=",".join(SUITES))
    ap.add_argument("--expected", default=os.path.join(ROOT, "tests", "conformance", "expected-failures.txt"))
    ap.add_argument("--table", default=None, help="write the per-op markdown table here")
    ap.add_argument("--readme", default=None,
                    help="rewrite the generated section of this README (summary and op table)")
    ap.add_argument("--update-expected", action="store_true",
                    help="rewrite the expected-failures list from this run (keeps existing reasons)")
    args = ap.parse_args()

    expected = load_expected(args.expected)
    cases = []
    for suite in args.suites.split(","):
        base = os.path.join(args.data, suite)
        if not os.path.isdir(base):
            print("missing suite directory %s (install libonnx-testdata)" % base)
            return 2
        for name in sorted(os.listdir(base)):
            d = os.path.join(base, name)
            if os.path.exists(os.path.join(d, "model.onnx")):
                cases.append((suite, name, d))
    dirs = [c[2] for c in cases]
    on = run_norma(args.norma, dirs, [])
    off = run_norma(args.norma, dirs, ["--no-optimize"])

    status = {}
    for suite, name, d in cases:
        key = "%s/%s" % (suite, name)
        err = on[d] or (off[d] and "(--no-optimize) " + off[d])
        status[key] = err

    unexpected_fail, unexpected_pass = [], []
    summary = defaultdict(lambda: [0, 0, 0])
    for suite, name, d in cases:
        key = "%s/%s" % (suite, name)
        err = status[key]
        if err is None:
            summary[suite][0] += 1
            if key in expected:
                unexpected_pass.append(key)
        else:
            if key in expected:
                summary[suite][2] += 1
            else:
                summary[suite][1] += 1
                unexpected_fail.append((key, err))

    summary_lines = []
    for suite in args.suites.split(","):
        p, f, x = summary[suite]
        total = p + f + x
        summary_lines.append("%s: %d passed, %d failed, %d expected failures (%d cases, %.1f%% pass)"
                             % (suite, p, f, x, total, 100.0 * p / total if total else 0))
        print(summary_lines[-1])

    if args.readme and not args.table:
        args.table = os.path.join(ROOT, "build", "optable.md")
    if args.table:
        ops = defaultdict(lambda: {"opsets": set(), "dtypes": set(), "passed": 0, "total": 0})
        for suite, name, d in cases:
            info = model_info(args.norma, d)
            if not info:
                continue
            ok = status["%s/%s" % (suite, name)] is None
            opset = info.get("opsets", {}).get("ai.onnx")
            dts = {i["dtype"] for i in info.get("inputs", [])}
            for op in info.get("ops", {}):
                e = ops[op]
                if opset:
                    e["opsets"].add(opset)
                e["dtypes"] |= dts
                e["total"] += 1
                e["passed"] += ok
        with open(args.table, "w") as f:
            f.write("| op | opsets in tests | input dtypes | cases passed |\n|---|---|---|---|\n")
            for op in sorted(ops):
                e = ops[op]
                f.write("| %s | %s | %s | %d / %d |\n" % (
                    op, ", ".join(str(o) for o in sorted(e["opsets"])), ", ".join(sorted(e["dtypes"])),
                    e["passed"], e["total"]))

    if args.readme:
        text = open(args.readme).read()
        begin, end = "<!-- optable:begin -->", "<!-- optable:end -->"
        if begin not in text or end not in text:
            print("%s has no %s ... %s section" % (args.readme, begin, end))
            return 2
        table = open(args.table).read()
        body = ("\n```\n" + "\n".join(summary_lines) + "\n```\n\n" + table)
        text = text[:text.index(begin) + len(begin)] + body + text[text.index(end):]
        open(args.readme, "w").write(text)
        print("updated %s" % args.readme)

    if args.update_expected:
        os.makedirs(os.path.dirname(args.expected), exist_ok=True)
        with open(args.expected, "w") as f:
            f.write("# ONNX backend cases expected to fail: \"suite/case  reason\". Kept true by\n"
                    "# tools/conformance.py: a listed case that passes fails the run.\n")
            for suite, name, d in cases:
                key = "%s/%s" % (suite, name)
                if status[key] is not None:
                    reason = expected.get(key) or status[key].replace("\n", " ")[:160]
                    f.write("%s  %s\n" % (key, reason))
        print("wrote %s" % args.expected)
        return 0

    for key, err in unexpected_fail:
        print("UNEXPECTED FAIL %s: %s" % (key, err))
    for key in unexpected_pass:
        print("UNEXPECTED PASS %s (remove it from %s)" % (key, os.path.relpath(args.expected, ROOT)))
    return 1 if unexpected_fail or unexpected_pass else 0


if __name__ == "__main__":
    sys.exit(main())
