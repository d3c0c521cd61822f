#!/usr/bin/python3
"""Benchmark norma against ONNX Runtime (CPU, node binding) on model directories.

Reproduce (from the repository root, after building into build/):

    # once per machine: ONNX Runtime's CPU build (see /work/shared/tools/ort/README.md)
    mkdir -p ~/ort && cd ~/ort && npm init -y >/dev/null && \
        npm install --ignore-scripts onnxruntime-node
    export ORT_NODE=~/ort/node_modules/onnxruntime-node

    /usr/bin/python3 tools/bench.py                      # every models/*/ with test_data_set_0
    /usr/bin/python3 tools/export_bench.py ~/norma-bench  # the benchmark set (ResNet-50, ...)
    /usr/bin/python3 tools/bench.py ~/norma-bench/*      # model directories as arguments
    /usr/bin/python3 tools/bench.py --models models/resnet models/densenet \
        --threads 1 2 4 --iters 100 --rounds 5 --out bench.md

Needs /usr/bin/python3 with python3-numpy and python3-onnx (used by ort_bench.py), node,
and the ORT helper scripts (default /work/shared/tools/ort, override with --ort-tools or
$ORT_TOOLS). ORT_NODE defaults to ~/ort/node_modules/onnxruntime-node if not set.

For each model directory and thread count it first runs `build/norma test DIR -t T`
(outputs against the stored reference), then alternates
`build/norma bench DIR/model.onnx -t T -n N --data DIR/test_data_set_0` and
`ort_bench.py DIR T N` for R rounds, and reports the median over rounds of each
side's per-run median latency and load time. Absolute times move from run to run on
shared machines; the ratios (norma / ORT, lower is better for norma) are the point.

The GEMM microbenchmark is separate: `build/norma bench --gemm M N K [-n ITERS]` prints
GFLOP/s of the packed SGEMM (B prepacked, packed per run, and read in place; and with
the prepacked A or B read from memory on every run, as a model's weights are) and the
single-core FMA peak measured by a throughput loop of the same ISA.

norma sets GOMP_SPINCOUNT=10000 for itself unless it (or OMP_WAIT_POLICY) is already
set: OpenMP threads that spin long cost far more than they save on these virtual
machines, and threads that sleep at once pay a wake-up per parallel region (see
tools/norma.c).

Notes on the columns:
- cross-core ns: tools/xcore_probe.c (built here with cc) before / after the row's
  rounds: a cache line's round trip between two threads. About 100 ns when the two
  vCPUs are close, 450 to 550 when the host has put them far apart; norma's
  two-thread convolutions lose much more than ORT's in the far state, so read a
  row's ratios with it.
- load ms: norma = norma_session_create_from_file; ORT = InferenceSession.create
  (neither includes process start-up; ORT's excludes loading the native library).
- peak RSS: norma's is the bench process's own ru_maxrss (norma is started through
  /usr/bin/time when available, since a child spawned directly by Python reports the
  Python parent's RSS as its own floor). ort_bench.py does not report
  memory, so ORT's is /usr/bin/time -f %M around ort_bench.py, i.e. the max RSS over
  the python driver and the node process (in practice the node process: Node.js runtime
  + onnxruntime + the model), so it includes Node.js's own baseline.
- ort_bench.py rounds median_ms to 0.01 ms, which limits ratio precision for
  sub-millisecond models.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NORMA = os.path.join(ROOT, 'build', 'norma')


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def build_probe(tmpdir):
    """tools/xcore_probe.c compiled into tmpdir, or None (no compiler, or it failed)."""
    exe = os.path.join(tmpdir, 'xcore_probe')
    src = os.path.join(ROOT, 'tools', 'xcore_probe.c')
    try:
        r = subprocess.run(['cc', '-O2', '-fopenmp', src, '-o', exe], capture_output=True, text=True)
    except OSError:
        return None
    return exe if r.returncode == 0 else None


def probe(exe):
    """Cross-core round trip in ns, or None."""
    if not exe:
        return None
    try:
        r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
        return last_json(r.stdout).get('round_trip_ns') if r.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, AttributeError):
        return None


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            return json.loads(line)
    raise ValueError('no JSON line in output: %r' % text[-300:])


def norma_test(d, t):
    r = subprocess.run([NORMA, 'test', d, '-t', str(t)], capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def norma_bench(d, t, n, use_time):
    cmd = [NORMA, 'bench', os.path.join(d, 'model.onnx'), '-t', str(t), '-n', str(n),
           '--data', os.path.join(d, 'test_data_set_0')]
    # Python's subprocess spawns with vfork, and Linux carries the parent's max RSS across
    # exec, so norma's own ru_maxrss would read at least this script's RSS (~10-13 MB).
    # Going through /usr/bin/time (a small, separately forked parent) avoids that.
    if use_time:
        cmd = ['/usr/bin/time', '-f', '%M'] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        # drop /usr/bin/time's own lines ("Command exited ...", the %M figure)
        msg = [l for l in r.stderr.strip().splitlines()
               if not l.startswith('Command exited') and not l.strip().isdigit()]
        raise RuntimeError('norma bench %s -t %d failed: %s' % (d, t, '\n'.join(msg)[-300:]))
    return last_json(r.stdout)


def ort_bench(d, t, n, tools, use_time):
    cmd = ['/usr/bin/python3', os.path.join(tools, 'ort_bench.py'), d, str(t), str(n)]
    rss_file = None
    if use_time:
        fd, rss_file = tempfile.mkstemp(prefix='ort_rss_')
        os.close(fd)
        cmd = ['/usr/bin/time', '-f', '%M', '-o', rss_file] + cmd
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=tools)
        if r.returncode:
            raise RuntimeError('ort_bench %s %d failed: %s' % (d, t, r.stderr.strip()[-300:]))
        res = last_json(r.stdout)
        if 'peak_rss_mb' not in res and rss_file:
            try:
                with open(rss_file) as f:
                    kb = [l for l in f.read().split() if l.isdigit()]
                if kb:
                    res['peak_rss_mb'] = int(kb[-1]) / 1024.0
            except OSError:
                pass
        return res
    finally:
        if rss_file:
            os.unlink(rss_file)


def fmt(x, nd=2):
    return 'n/a' if x is None else ('%.*f' % (nd, x))


def ratio(a, b):
    return None if a is None or not b else a / b


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('dirs', nargs='*', metavar='DIR', help='model directories (same as --models)')
    ap.add_argument('--models', nargs='+', default=[],
                    help='model directories (default: models/*/ with test_data_set_0)')
    ap.add_argument('--threads', nargs='+', type=int, default=[1, 2])
    ap.add_argument('--iters', type=int, default=50, help='timed runs per process (default 50)')
    ap.add_argument('--rounds', type=int, default=3, help='alternating norma/ORT rounds (default 3)')
    ap.add_argument('--out', help='also write the table to this file')
    ap.add_argument('--ort-tools', default=os.environ.get('ORT_TOOLS', '/work/shared/tools/ort'))
    a = ap.parse_args()

    os.environ.setdefault('ORT_NODE', os.path.expanduser('~/ort/node_modules/onnxruntime-node'))
    if not os.path.isdir(os.environ['ORT_NODE']):
        sys.exit('ORT_NODE=%s does not exist; install onnxruntime-node (see docstring)' % os.environ['ORT_NODE'])
    if not os.access(NORMA, os.X_OK):
        sys.exit('%s not found; build first' % NORMA)
    models = (a.dirs + a.models) or sorted(os.path.dirname(p.rstrip('/')) for p in
                                glob.glob(os.path.join(ROOT, 'models', '*', 'test_data_set_0')))
    models = [os.path.abspath(m) for m in models]
    use_time = os.access('/usr/bin/time', os.X_OK)

    head = ['CPU: %s (%d logical CPUs)' % (cpu_model(), os.cpu_count() or 0),
            'Date: %s' % datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M:%S %Z'),
            'Settings: iters=%d rounds=%d threads=%s; medians over rounds of per-run medians; '
            'ratio = norma / ORT (lower is better for norma)' % (a.iters, a.rounds, ' '.join(map(str, a.threads))),
            '']
    for l in head:
        print(l)
    sys.stdout.flush()

    cols = ['model', 'threads', 'norma test', 'norma median ms', 'ORT median ms', 'ratio',
            'norma load ms', 'ORT load ms', 'load ratio', 'norma peak RSS MB', 'ORT peak RSS MB',
            'cross-core ns']
    rows = []
    probe_dir = tempfile.mkdtemp(prefix='norma_probe_')
    probe_exe = build_probe(probe_dir)
    failures = []
    for d in models:
        name = os.path.basename(d.rstrip('/'))
        for t in a.threads:
            ok, msg = norma_test(d, t)
            if not ok:
                failures.append('%s -t %d: norma test failed:\n%s' % (name, t, msg))
            nr, orr = [], []
            n_ok = o_ok = True
            x0 = probe(probe_exe)
            for _ in range(a.rounds):
                # alternate the two; a side that failed once is not retried
                if n_ok:
                    try:
                        nr.append(norma_bench(d, t, a.iters, use_time))
                    except RuntimeError as e:
                        n_ok = False
                        failures.append('%s -t %d: %s' % (name, t, e))
                if o_ok:
                    try:
                        orr.append(ort_bench(d, t, a.iters, a.ort_tools, use_time))
                    except RuntimeError as e:
                        o_ok = False
                        failures.append('%s -t %d: %s' % (name, t, e))
            nm = med([r['median_ms'] for r in nr])
            om = med([r['median_ms'] for r in orr])
            nl = med([r['load_ms'] for r in nr])
            ol = med([r['load_ms'] for r in orr])
            nrss = med([r.get('peak_rss_mb') for r in nr])
            orss = med([r.get('peak_rss_mb') for r in orr])
            x1 = probe(probe_exe)
            row = [name, str(t), 'ok' if ok else 'FAIL', fmt(nm, 3), fmt(om, 3), fmt(ratio(nm, om)),
                   fmt(nl, 1), fmt(ol, 1), fmt(ratio(nl, ol)), fmt(nrss, 1), fmt(orss, 1),
                   '%s / %s' % (fmt(x0, 0), fmt(x1, 0))]
            rows.append(row)
            print('  done %-20s -t %d  norma %s ms  ORT %s ms' % (name, t, row[3], row[4]), file=sys.stderr)

    if probe_exe:
        os.unlink(probe_exe)
    os.rmdir(probe_dir)
    table = ['| ' + ' | '.join(cols) + ' |', '|' + '|'.join(['---'] * len(cols)) + '|']
    table += ['| ' + ' | '.join(r) + ' |' for r in rows]
    print('\n'.join(table))
    for f in failures:
        print('\n' + f)
    if a.out:
        with open(a.out, 'w') as f:
            f.write('\n'.join(head + table) + '\n')
            for x in failures:
                f.write('\n' + x + '\n')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
