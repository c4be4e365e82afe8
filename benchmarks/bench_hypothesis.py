"""Hypothesis matching and track scoring on the real sample recording.

    .venv/bin/python benchmarks/bench_hypothesis.py [--repeats 3] [--threads 0]

Prints, for the shipped checkpoint's analysis sample (the cached recording):
1. a whole-sample `match` for the units a span of a -tyun text selects, per readout layer, and
   for all 228 units of a layer at once (the worst case): target <= 2 s;
2. the best track of one unit, and of every unit of the readout layers (the track masks are
   built once per recording and kept in its memo; the first call pays for them).
The first repeat is cold (the memory-mapped h and c are read from disk); the median and the best
of the repeats are printed.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from translit_core.analysis.methods.hypothesis import hypothesis, match
from translit_core.analysis.store import Analysis
from translit_core.analysis.methods.tracks import best_track, best_tracks, sample_tracks
from translit_core.model.names import READOUT_LAYERS

TEXT = "Azatutyun, ankakhutyun u hamagortsaktsutyun: ays bolor barer@ verjanum en utyun"


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, times


def show(name, times):
    print(f"  {name:<52s} median {statistics.median(times):6.3f} s  best {min(times):6.3f} s  first {times[0]:6.3f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    t = time.perf_counter()
    an = Analysis.load()
    rec = an.recording()
    print(f"recording: {rec.n_positions:,} positions, loaded in {time.perf_counter() - t:.1f} s")
    model, alph = rec.model, rec.alphabets
    span = (TEXT.index("tyun"), TEXT.index("tyun") + 4)
    print("1. whole-sample match (target <= 2 s)")
    for layer in READOUT_LAYERS:
        r, times = timed(lambda: hypothesis(model, alph, rec, TEXT, span, layer, 0.3, 1, 1), a.repeats)
        show(f"{layer}: span 'tyun', {len(r.units)} units, {r.n_matches} matches", times)
    for layer in ("concat.fwd", "hidden"):
        r, times = timed(lambda: match(rec, layer, list(range(228)), 0.3, 4, min_units=1), a.repeats)
        show(f"{layer}: all 228 units, min_units 1 ({r.n_matches} matches)", times)
    print("2. tracks")
    _, times = timed(lambda: sample_tracks(rec), 1)
    show("track masks of the sample (first call, then memoised)", times)
    b, times = timed(lambda: best_track(rec, "concat.fwd:70"), a.repeats)
    show("best track of concat.fwd:70", times)
    print(f"    -> {b.description}")
    for layer in READOUT_LAYERS:
        _, times = timed(lambda: best_tracks(rec, layer), 1)
        show(f"best tracks of all units of {layer}", times)


if __name__ == "__main__":
    main()
