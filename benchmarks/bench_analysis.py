"""Benchmark of the neuron analysis engine: prints the figures the targets are stated in.

    python benchmarks/bench_analysis.py [--checkpoint checkpoints/hy] [--sentences 5000] [--threads 2]

Targets: full analysis of 5,000 sentences (recording + all Hellinger tables +
contributions) <= 120 s and <= 4 GB peak memory on 2 CPU cores; one histogram on demand <= 2 s.

The full analysis runs as `python -m translit_core analyze` in a child process (its peak RSS is
the child's ru_maxrss), writing to a temporary directory, so checkpoints/*/analysis.* are left
alone (the checkpoint is copied there first). It also writes a recording cache entry, which the
histogram timings then read, exactly as the dashboard and the `histogram` command do. Histograms
are timed in a fresh process:
the first one includes loading the analysis and memory-mapping the cached recording.
Figures taken while something else loads the CPU (see the load average printed) are pessimistic.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

HISTOGRAM_SNIPPET = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
torch.set_num_threads({threads})
from translit_core.analysis import Analysis, histogram
t_import = time.perf_counter() - t0
an = Analysis.load({out!r})
pair = {pair!r} if {pair!r} in {{str(p) for p in an.pairs()}} else str(max(an.pairs(), key=lambda p: p.n_pos + p.n_neg))
rows = []
for layer in ("hidden", "concat.fwd", "gate.bwd.f", "cell.fwd", "cell_next.bwd", "output"):
    neuron = an.top_neurons(pair, layer, 1)[0].neuron
    t = time.perf_counter()
    h = histogram(an, pair, neuron)
    rows.append({{"neuron": str(neuron), "seconds": time.perf_counter() - t,
                  "hellinger": h.hellinger, "stored": an.hellinger_of(pair, neuron)}})
print(json.dumps({{"import_s": t_import, "pair": pair, "rows": rows}}))
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "hy"))
    p.add_argument("--sentences", type=int, default=5000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=None)
    p.add_argument("--pair", default="t:թ")
    a = p.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (1 min) before starting; "
          f"torch threads {a.threads}")
    with tempfile.TemporaryDirectory() as out:
        # A snapshot of the checkpoint: the analysis is written next to it, and a checkpoint that
        # is replaced mid-run (training still saving) cannot make the histograms stale.
        for name in ("model.safetensors", "model.json"):
            shutil.copy(Path(a.checkpoint) / name, Path(out) / name)
        cmd = [sys.executable, "-m", "translit_core", "analyze", "--checkpoint", out,
               "--sentences", str(a.sentences), "--threads", str(a.threads), "--json"]
        if a.data:
            cmd += ["--data", a.data]
        t = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        summary = json.loads(proc.stdout)
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
        tm = summary["timings_s"]
        core = tm["record"] + tm["hellinger"]
        print(f"\nfull analysis: {summary['sentences']} sentences, {summary['positions']:,} positions, "
              f"{summary['pairs']} pairs x {summary['neurons']} neurons, {summary['ablations']} ablations")
        print(f"  wall time (process, incl. imports)  {wall:7.1f} s")
        print(f"  recording + Hellinger tables + contributions  {core:7.1f} s   (target <= 120 s)")
        print("  stages: " + ", ".join(f"{k} {v} s" for k, v in tm.items()))
        print(f"  peak RSS                            {peak_gb:7.2f} GB   (target <= 4 GB)")
        sizes = {Path(k).name: v for k, v in summary["files"].items()}
        print("  files: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items()) + "   (target <= 25 MB)")

        snippet = HISTOGRAM_SNIPPET.format(threads=a.threads, out=out, pair=a.pair)
        proc = subprocess.run([sys.executable, "-c", snippet], env=env, capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"\nhistogram on demand, pair {res['pair']}, "
              f"fresh process (imports {res['import_s']:.1f} s, not counted):")
        for i, r in enumerate(res["rows"]):
            note = "  (first: includes loading the analysis + cached recording)" if i == 0 else ""
            print(f"  {r['neuron']:18s} {r['seconds']:6.2f} s   H {r['hellinger']:.4f} (table {r['stored']:.4f})"
                  f"{note}")
        worst = max(r["seconds"] for r in res["rows"])
        print(f"  slowest {worst:.2f} s   (target <= 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
