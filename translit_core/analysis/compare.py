"""Two models, neuron by neuron, on the same sample and statistics (issue 15: the base model and a
twin trained with an interpretability regularizer).

    compare(a, b)                      -> Comparison  (from the two analyses' tables: instant)
    units_to_break(recording, pair, layer)  -> how many top units, ablated inside the recurrence,
                                              break the decision x -> y (on demand: seconds)

What "interpretable" is measured by, for each model and readout layer:

  - selective units: H excess >= SELECTIVE_EXCESS with a permutation p at its floor (no label
    shuffle reached the observed H), per pair and in all;
  - units per pair: how many selective units each pair has (fewer, sharper: easier to read);
  - inputs per unit: over the units selective for anything, how many input characters their
    pairs have. Pairs of one input are complementary (a unit that tells t->թ also tells t->other),
    so a unit that serves one input character is counted as monosemantic;
  - the distribution of H excess over every (pair, unit);
  - gate saturation, where the analyses store it.

The verdict compares them and says at what accuracy cost; it claims nothing the numbers do not show.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import torch

from ..model.checkpoint import META
from ..model.names import READOUT_LAYERS, UnknownName
from .ablation import DecisionScorer
from .names import POST_PAIRS
from .recording import Recording
from .stats import ranked_units

SELECTIVE_EXCESS = 0.5          # H above its null by half the scale (the median (pair, unit) is ~0.16) ...
BREAK_ACCURACY = 0.5            # a pair is broken when fewer than half of its y positions stay right
BREAK_KS = (1, 2, 5, 10, 20, 50)


@dataclass
class LayerStats:
    """One model's layer, over every pair of its analysis."""
    layer: str
    units: int
    pairs: int
    excess_median: float            # over every (pair, unit)
    excess_p90: float
    selective_pairs_units: int      # (pair, unit) cells that are selective
    selective_units: int            # units selective for at least one pair
    units_per_pair: float           # mean over pairs of their selective units
    inputs_per_unit: float          # mean over selective units of the input characters they serve
    monosemantic: float             # share of selective units that serve one input character


@dataclass
class ModelStats:
    name: str
    sample_accuracy: float
    regularizer: dict | None        # the checkpoint's (None: trained without one)
    layers: list[LayerStats]
    post_pairs: dict[str, dict[str, int]]          # pair -> layer -> selective units
    target_accuracy: dict[str, float]              # pair -> accuracy on its y positions (stored ablations)
    saturation: dict[str, float] = field(default_factory=dict)   # gate layer -> share of units open > 90%

    def layer(self, name: str) -> LayerStats:
        return next(l for l in self.layers if l.layer == name)


@dataclass
class Comparison:
    a: ModelStats
    b: ModelStats
    same_sample: bool               # both analyses were built on the same sentences and spellings

    def verdict(self) -> str:
        """Did b's training buy interpretability over a, and at what accuracy cost?"""
        a, b = self.a, self.b
        sharper = [l for l in READOUT_LAYERS if b.layer(l).monosemantic > a.layer(l).monosemantic + 0.05]
        blurrier = [l for l in READOUT_LAYERS if b.layer(l).monosemantic < a.layer(l).monosemantic - 0.05]
        cost = 100 * (a.sample_accuracy - b.sample_accuracy)
        acc = (f"{b.name} is {abs(cost):.2f} points {'less' if cost > 0 else 'more'} accurate on the sample "
               f"({100 * b.sample_accuracy:.2f}% against {100 * a.sample_accuracy:.2f}%)")
        if not self.same_sample:
            return f"Not comparable: the two analyses were built on different samples. {acc}."
        if sharper and not blurrier:
            return (f"{b.name} has more monosemantic units than {a.name} in {', '.join(sharper)} (a unit serving "
                    f"one input character, by the share of its selective units); {acc}.")
        if blurrier and not sharper:
            return f"{b.name} is less monosemantic than {a.name} in {', '.join(blurrier)}; {acc}."
        if sharper and blurrier:
            return (f"Mixed: {b.name} is more monosemantic in {', '.join(sharper)} and less in "
                    f"{', '.join(blurrier)}; {acc}.")
        return f"No clear difference in monosemanticity (within 5 points in every readout layer); {acc}."

    def to_dict(self) -> dict:
        return {"a": asdict(self.a), "b": asdict(self.b), "same_sample": self.same_sample, "verdict": self.verdict()}


def _selective(analysis) -> torch.Tensor:
    """(n_pairs, N) bool: H excess >= SELECTIVE_EXCESS and the permutation p at its floor."""
    t = analysis.tables
    floor = 1.0 / (1 + max(t.shuffles, 1)) * (1 + 1e-3)        # p is stored in float16 (store.py)
    return (t.hellinger_excess >= SELECTIVE_EXCESS) & (t.p_value <= floor)


def model_stats(analysis, name: str, layers=READOUT_LAYERS, post_pairs=POST_PAIRS) -> ModelStats:
    t = analysis.tables
    sel = _selective(analysis)
    excess = t.hellinger_excess
    x_of_pair = torch.tensor(t.pair_x)                                            # (n_pairs,)
    out = []
    for layer in layers:
        o, u = analysis.offsets[layer], analysis.sizes[layer]
        s, e = sel[:, o:o + u], excess[:, o:o + u]                                # (n_pairs, u)
        by_input = torch.zeros(len(t.xs), u).index_add_(0, x_of_pair, s.float())    # (n_xs, u) selective pairs
        per_unit = (by_input > 0).sum(0)                                          # (u,) input characters served
        used = per_unit > 0
        out.append(LayerStats(
            layer, u, len(t.pairs),
            float(e.median()) if e.numel() else float("nan"),
            float(e.flatten().quantile(0.9)) if e.numel() else float("nan"),
            int(s.sum()), int(used.sum()),
            float(s.sum(1).float().mean()) if len(t.pairs) else 0.0,
            float(per_unit[used].float().mean()) if used.any() else 0.0,
            float((per_unit[used] == 1).float().mean()) if used.any() else 0.0))
    names = {str(p) for p in t.pairs}
    post = {p: {l: int(sel[analysis.pair_row(p), analysis.offsets[l]:analysis.offsets[l] + analysis.sizes[l]].sum())
                for l in layers} for p in post_pairs if p in names}
    target_acc = {}
    for p in post_pairs:
        stored = analysis.ablation(p, "hidden") if p in names else None
        if stored is not None:
            target_acc[p] = stored.target_accuracy_baseline
    sat = {}
    if analysis.saturation is not None:
        for layer in analysis.saturation.layers:
            sat[layer] = analysis.saturation.count_right(layer, 0.9) / analysis.sizes.get(layer, 1)
    meta = analysis.meta
    return ModelStats(name, float(meta.get("sample_accuracy", float("nan"))), _regularizer(analysis), out, post,
                      target_acc, sat)


def _regularizer(analysis) -> dict | None:
    """The regularizer the analysed checkpoint was trained with (its model.json), if any."""
    d = analysis.checkpoint_dir
    try:
        return json.loads((d / META).read_text(encoding="utf-8")).get("regularizer") if d else None
    except (OSError, ValueError):
        return None


def compare(a, b, names: tuple[str, str] = ("a", "b")) -> Comparison:
    """The two analyses side by side (their tables only: no recording is needed)."""
    fa, fb = a.meta.get("sample", {}).get("fingerprint"), b.meta.get("sample", {}).get("fingerprint")
    same = fa is not None and fa == fb and a.meta["sample"].get("seed") == b.meta["sample"].get("seed")
    return Comparison(model_stats(a, names[0]), model_stats(b, names[1]), same)


@dataclass
class BreakCurve:
    """Target accuracy (on the y positions) as the top k units by H excess are mean-ablated at
    every step of the recurrence; `units_to_break` the first k below BREAK_ACCURACY (None: not
    within the largest k)."""
    pair: str
    layer: str
    ks: list[int]
    target_accuracy: list[float]
    baseline: float
    units_to_break: int | None
    n_positions: int


def units_to_break(recording: Recording, scores: torch.Tensor, pair: str, layer: str, ks=BREAK_KS,
                   max_positions: int = 1000, seed: int = 0) -> BreakCurve:
    """How many of `layer`'s units, best H excess first (`scores` (units,)), must be ablated
    inside the recurrence before the decision x -> y breaks."""
    if layer not in READOUT_LAYERS and not layer.startswith(("gate.", "cell.")):
        raise UnknownName(f"cannot break a pair by ablating {layer!r}")
    sc = DecisionScorer(recording, pair, layer, recurrent=True, max_positions=max_positions, seed=seed)
    order = ranked_units(scores)
    base = sc.metrics(order[:0])[1]
    accs, broken = [], None
    for k in ks:
        k = min(k, sc.units)
        acc = sc.metrics(order[:k])[1]
        accs.append(acc)
        if broken is None and acc < BREAK_ACCURACY:
            broken = k
    return BreakCurve(str(sc.pair), layer, list(ks), accs, base, broken, int(sc.is_pos.sum()))
