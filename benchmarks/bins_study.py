"""How the Hellinger tables depend on the histogram's bin count.

For the post's pairs and the readout layers (concat.fwd, concat.bwd, hidden), on the shipped
analysis's sample recording: for 100 / 300 / 1000 / 3000 bins, the permutation null of a median
neuron, the top-10 by raw H and by H excess (H - null), and how much those top-10 sets and the
full rankings agree with the other bin counts. Prints a table; run:

    python benchmarks/bins_study.py [--bins 100 300 1000 3000] [--shuffles 20]
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from translit_core import settings
from translit_core.analysis import POST_PAIRS
from translit_core.analysis.measurement.names import ANALYSIS_META
from translit_core.analysis.store import load_or_record
from translit_core.analysis.measurement.tables import hellinger_tables
from translit_core.model.names import READOUT_LAYERS


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Rank correlation (ties broken by position: continuous scores have next to none)."""
    ra, rb = a.argsort().argsort().double(), b.argsort().argsort().double()
    return float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bins", type=int, nargs="+", default=[100, 300, 1000, 3000])
    ap.add_argument("--shuffles", type=int, default=20)
    ap.add_argument("--k", type=int, default=10)
    a = ap.parse_args()
    spec = json.loads((settings.DEFAULT_CHECKPOINT / ANALYSIS_META).read_text(encoding="utf-8"))["sample"]
    rec = load_or_record(settings.DEFAULT_CHECKPOINT, spec)    # the shipped analysis's sample
    tables, seconds = {}, {}
    for b in a.bins:
        t = time.perf_counter()
        tables[b] = hellinger_tables(rec, bins=b, layers=READOUT_LAYERS, shuffles=a.shuffles)
        seconds[b] = time.perf_counter() - t
    ref = tables[1000 if 1000 in tables else a.bins[0]]
    index = {str(p): i for i, p in enumerate(ref.pairs)}
    pairs = [p for p in POST_PAIRS if p in index]
    print(f"{len(ref.pairs)} pairs x {ref.hellinger.shape[1]} readout units; {a.shuffles} shuffles; "
          f"time per table set: " + ", ".join(f"{b} bins {seconds[b]:.1f}s" for b in a.bins))
    print("\nmedian null H (the noise floor) and median excess, per pair (positions with y / without)")
    print("pair      n_pos  n_neg  " + "  ".join(f"{b:>5}b null  excess" for b in a.bins))
    for name in pairs:
        i = index[name]
        p = ref.pairs[i]
        cells = [f"{float(tables[b].hellinger_null[i].median()):>11.3f} "
                 f"{float(tables[b].hellinger_excess[i].median()):>7.3f}"
                 for b in a.bins]
        print(f"{name:<8} {p.n_pos:>6} {p.n_neg:>6}  " + "  ".join(cells))
    for label, score in (("raw H", lambda t: t.hellinger), ("H excess", lambda t: t.hellinger_excess)):
        print(f"\nranking by {label}: top-{a.k} overlap with {ref.bins} bins (of {a.k}) and Spearman rho of the "
              f"whole ranking, per layer, mean over the post's pairs")
        for layer in READOUT_LAYERS:
            o, u = ref.offsets[layer], ref.sizes[layer]
            cells = []
            for b in a.bins:
                overlap, rho = [], []
                for name in pairs:
                    i = index[name]
                    s_ref, s_b = score(ref)[i, o:o + u], score(tables[b])[i, o:o + u]
                    top_ref = set(torch.topk(s_ref, a.k).indices.tolist())
                    overlap.append(len(top_ref & set(torch.topk(s_b, a.k).indices.tolist())))
                    rho.append(spearman(s_ref, s_b))
                cells.append(f"{b:>5}b {sum(overlap) / len(overlap):4.1f} rho {sum(rho) / len(rho):.3f}")
            print(f"  {layer:<11} " + "  ".join(cells))
    print(f"\nsplit-half reliability: the ranking by H excess on one random half of the sentences against the "
          f"other half: top-{a.k} overlap and Spearman rho, per layer, mean over the post's pairs "
          f"(higher = the bin count measures the unit, not the sample)")
    first, second = rec.sentence_halves(seed=0)
    halves = {b: (hellinger_tables(rec, bins=b, layers=READOUT_LAYERS, shuffles=a.shuffles, mask=first),
                  hellinger_tables(rec, bins=b, layers=READOUT_LAYERS, shuffles=a.shuffles, mask=second))
              for b in a.bins}
    for layer in READOUT_LAYERS:
        cells = []
        for b in a.bins:
            t1, t2 = halves[b]
            i1 = {str(p): i for i, p in enumerate(t1.pairs)}
            i2 = {str(p): i for i, p in enumerate(t2.pairs)}
            o, u = t1.offsets[layer], t1.sizes[layer]
            overlap, rho = [], []
            for name in (p for p in pairs if p in i1 and p in i2):
                s1, s2 = t1.hellinger_excess[i1[name], o:o + u], t2.hellinger_excess[i2[name], o:o + u]
                overlap.append(len(set(torch.topk(s1, a.k).indices.tolist())
                                   & set(torch.topk(s2, a.k).indices.tolist())))
                rho.append(spearman(s1, s2))
            cells.append(f"{b:>5}b {sum(overlap) / len(overlap):4.1f} rho {sum(rho) / len(rho):.3f}")
        print(f"  {layer:<11} " + "  ".join(cells))
    print("\nfraction of units with p <= 1/(1+shuffles) (no shuffle reached H), per pair, by bins")
    for name in pairs:
        i = index[name]
        floor = 1 / (1 + a.shuffles) + 1e-9
        print(f"  {name:<8} " + "  ".join(f"{b:>5}b {float((tables[b].p_value[i] <= floor).float().mean()):.2f}"
                                          for b in a.bins))


if __name__ == "__main__":
    main()
