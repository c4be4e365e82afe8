"""The hooked forward pass, interventions and attribution, timed side by side with the fast path.

    .venv/bin/python benchmarks/bench_intervene.py [--repeats 7] [--threads 1]

Prints, for the shipped checkpoint on one thread (as the dashboard runs):
1. one 200-character text: the fused forward (inference), the hooked step-by-step pass with no
   hook, and the same with 10 units intervened inside the recurrence; ratios to the fused pass;
2. `intervene` on that text with 10 units (two hooked passes + decoding), target <= 0.3 s in the
   page (warm; the browser adds its own share);
3. `attribute` for one output character of that text (integrated gradients, 32 steps), target
   <= 1 s, with its completeness error.
Timings interleave the variants in every repeat (the machine's speed drifts) and report the
median and the best.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from translit_core.analysis.methods.attribution import attribute
from translit_core.analysis.methods.intervene import Setting, intervene
from translit_core.model.checkpoint import load_checkpoint

TEXT = ("barev dzez, inchpes eq? es sirum em Hayastan, tsaghikner@ tsaxkum en, aydpes aveli sirun e, "
        "menq gnacinq Yerevan ev tesanq shat geghecik shenqer, shnorhakalutyun dzez hamar, hajox! ev vaghy "
        "kgananq dzez mot")[:200]
UNITS = [f"concat.fwd:{i}" for i in (70, 159, 133)] + [f"concat.bwd:{i}" for i in (126, 179, 54)] + \
        [f"gate.fwd.f:{i}" for i in (12, 40)] + ["cell.bwd:5", "hidden:37"]


def timed(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    model, alphabets, _ = load_checkpoint()
    x = torch.tensor([alphabets.encode_input(TEXT)])
    settings = [Setting.parse(f"{u}=0") for u in UNITS]
    ivs = [s.intervention(None) for s in settings]
    variants = {
        "fused forward": lambda: model(x),
        "hooked pass, no hook": lambda: model.run(x),
        "hooked pass, 10 units set": lambda: model.run_with_hooks(x, interventions=ivs),
        "intervene (before + after)": lambda: intervene(model, alphabets, TEXT, settings),
    }
    for fn in variants.values():                     # warm up
        fn()
    rounds = {name: [] for name in variants}
    for _ in range(a.repeats):                       # interleaved: the machine drifts
        for name, fn in variants.items():
            t = time.perf_counter()
            fn()
            rounds[name].append(time.perf_counter() - t)
    base = statistics.median(rounds["fused forward"])
    print(f"{len(TEXT)}-character text, {a.threads} thread(s), {a.repeats} interleaved repeats (median / best):")
    for name, ts in rounds.items():
        med = statistics.median(ts)
        print(f"  {name:28s} {1000 * med:8.1f} ms / {1000 * min(ts):8.1f} ms   {med / base:6.1f}x the fused forward")
    with torch.enable_grad():
        attribute(model, alphabets, TEXT, 60)       # warm up
        results = []

        def one():
            results.append(attribute(model, alphabets, TEXT, 100))
        med, best = timed(one, max(3, a.repeats // 2))
    r = results[-1]
    rel = abs(r.delta) / abs(r.logp - r.baseline_logp)
    print(f"  attribute, one output (32 steps) {1000 * med:8.1f} ms / {1000 * best:8.1f} ms   target <= 1000 ms; "
          f"completeness error {r.delta:+.3f} of {r.logp - r.baseline_logp:.3f} ({100 * rel:.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
