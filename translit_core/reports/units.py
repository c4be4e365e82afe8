"""The FINDINGS sections on gate saturation and unit clusters (findings.py calls `render_units`).

Numbers from the analysis file's stored saturation and clusters; an analysis written before they
were stored gets them computed from the recording (the same functions analyze runs).
"""
from __future__ import annotations

from ..analysis.measurement.names import POST_PAIRS
from ..analysis.methods.clusters import CUT, Clusters, pair_spread, recording_clusters
from ..analysis.methods.saturation import Saturation, recording_saturation, thresholds
from ..model.names import DIRECTIONS, READOUT_LAYERS

STRICT_CUT = 0.3       # |r| >= 0.7 on average: near-copies (see analysis/methods/clusters.py)
SIDE = {"fwd": "forward", "bwd": "backward"}


def _saturation_section(sat: Saturation) -> list[str]:
    lines = ["## Gate saturation (Karpathy, Johnson & Fei-Fei 2015)", ""]
    lines.append(f"For every gate unit, the fraction of the {sat.n_positions:,} sample positions where it is "
                 f"left-saturated (sigmoid < 0.1: shut; for the tanh cell input g, < −0.9) and right-saturated "
                 f"(> 0.9: open). Dashboard: *Gate saturation* (`/gates`); `python -m translit_core saturation` lists "
                 f"every unit.")
    lines.append("")
    lines.append("| gate layer | units open on > 90% | open on > 50% | shut on > 90% | shut on > 50% | mean open "
                 "| mean shut |")
    lines.append("|---|---|---|---|---|---|---|")
    for layer in sat.layers:
        r = sat.layers.index(layer)
        lines.append(f"| {layer} | {sat.count_right(layer, 0.9)} | {sat.count_right(layer, 0.5)} | "
                     f"{sat.count_left(layer, 0.9)} | {sat.count_left(layer, 0.5)} | "
                     f"{float(sat.right[r].mean()):.3f} | {float(sat.left[r].mean()):.3f} |")
    lines.append("")
    units = sat.left.shape[1]
    parts = []
    for d in DIRECTIONS:
        layer = f"gate.{d}.f"
        if layer not in sat.layers:
            continue
        r = sat.layers.index(layer)
        right = sat.right[r]
        order = right.argsort(descending=True)[:3].tolist()
        parts.append(f"{SIDE[d]}: {sat.count_right(layer, 0.9)} of {units} units open on more than 90% of the "
                     f"positions (median unit {float(right.median()):.1%}); the most open are "
                     + ", ".join(f"`{layer}:{i}` {float(right[i]):.1%}" for i in order))
    if parts:
        lines.append("**Forget gates.** " + "; ".join(parts) + ". A forget gate open almost everywhere keeps its cell "
                     "across the chunk: such units carry long context. The fewer there are, the shorter the memory "
                     "the forget gates give the model: most of its cells are rewritten within a few characters.")
        lines.append("")
    sig = [layer for layer in sat.layers if not layer.endswith(".g")]
    rows = [sat.layers.index(layer) for layer in sig]
    both = sum(int(((sat.left[r] > 0.1) & (sat.right[r] > 0.1)).sum()) for r in rows)
    lo, hi = thresholds("gate.fwd.g")
    g_open = sum(sat.count_right(layer, 0.5) for layer in sat.layers if layer.endswith(".g"))
    lines.append(f"Units that switch, shut on more than 10% of the positions and open on more than 10%: {both} of the "
                 f"{units * len(sig)} sigmoid gate units. The cell input g (tanh, thresholds {lo:g} / {hi:g}) is above "
                 f"{hi:g} on more than half the positions for {g_open} unit{'' if g_open == 1 else 's'}."
                 .replace("-", "−"))
    lines.append("")
    return lines


def _cluster_section(an, cl: Clusters) -> list[str]:
    lines = ["## Neuron clusters and redundancy (NeuroX)", ""]
    lines.append(f"Units grouped by the correlation of their activations (Pearson r over {cl.n_positions:,} seeded "
                 f"sample positions; average linkage on 1 − |r|, cut at {cl.cut:g}: a group's units have mean |r| ≥ "
                 f"{1 - cl.cut:.1f}). Dashboard: *Neuron clusters* (`/clusters`); `python -m translit_core clusters`.")
    lines.append("")
    lines.append(f"| layer | clusters | largest (units) | units on their own | clusters at the strict cut "
                 f"{STRICT_CUT:g} (|r| ≥ {1 - STRICT_CUT:.1f}) |")
    lines.append("|---|---|---|---|---|")
    for name, lc in cl.layers.items():
        sizes = lc.sizes()
        strict = lc.recut(STRICT_CUT).n_clusters if lc.r is not None else "—"
        largest = ", ".join(str(n) for n in sizes[:5].tolist())
        lines.append(f"| {name} | {lc.n_clusters} | {largest} | {int((sizes == 1).sum())} | {strict} of "
                     f"{lc.labels.numel()} |")
    lines.append("")
    pairs = [p for p in POST_PAIRS if p in {str(q) for q in an.pairs()}]
    layers = [layer for layer in READOUT_LAYERS if layer in cl.layers]
    if pairs and layers:
        lines.append("The post's pairs: how many clusters their top 10 units (by H excess) fall into, against 10 "
                     "random units of the same layer (mean, and 95% of 2,000 draws). Fewer than random: one "
                     "redundant group.")
        lines.append("")
        lines.append("| pair | " + " | ".join(layers) + " |")
        lines.append("|---|" + "---|" * len(layers))
        verdicts = []
        for p in pairs:
            cells = []
            for layer in layers:
                s = pair_spread(an, cl, p, layer, 10)
                verdicts.append(s.verdict)
                cells.append(f"{s.distinct} vs {s.null_mean:.1f} [{s.null_lo:g}, {s.null_hi:g}]"
                             + (" **redundant**" if s.verdict == "redundant group" else ""))
            lines.append(f"| {p.replace(':', ' → ')} | " + " | ".join(cells) + " |")
        lines.append("")
        n = verdicts.count("redundant group")
        lines.append(f"{n} of the {len(verdicts)} (pair, layer) rows fall into fewer clusters than random units do"
                     + (": there, the most selective units are partly one group that moves together; in the other rows "
                        "they are as spread over the clusters as random units (independent units)." if n else
                        ": the most selective units of each pair are as spread over the clusters as random units "
                        "(independent units, each carrying its own part of the decision)."))
        lines.append("")
    return lines


def render_units(an, rec) -> list[str]:
    sat = an.saturation if an.saturation is not None else recording_saturation(rec)
    seed = an.meta.sample_seed
    cl = an.clusters if an.clusters is not None else recording_clusters(rec, seed=seed, cut=CUT)
    return _saturation_section(sat) + _cluster_section(an, cl)
