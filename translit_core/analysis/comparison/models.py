"""Two models, neuron by neuron, on the same sample and statistics (the base model and a
twin trained with an interpretability regularizer).

    compare(a, b)                      -> Comparison  (from the two analyses' tables: instant)
    units_to_break(recording, pair, layer)  -> how many top units, ablated inside the recurrence,
                                              break the decision x -> y (on demand: seconds)

What "interpretable" is measured by, for each model and readout layer:

  - selective units: H excess >= SELECTIVE_EXCESS and a q-value <= SELECTIVE_Q (the permutation
    p against the layer's pooled null, Benjamini-Hochberg over the layer's units x pairs), per
    pair and in all;
  - units per pair: how many selective units each pair has (fewer, sharper: easier to read);
  - inputs per unit: over the units selective for anything, how many input characters their
    pairs have. Pairs of one input are complementary (a unit that tells t->թ also tells t->other),
    so a unit that serves one input character is counted as monosemantic;
  - the distribution of H excess over every (pair, unit);
  - gate saturation, where the analyses store it.

The verdict compares them and says at what accuracy cost; it claims nothing the numbers do not show.
The monosemantic shares' difference gets a 95% interval of one of two kinds. When one model was
fine-tuned from the other, or both from one parent (model.json's --init), unit i is the same unit
in both (their units' excess profiles correlate ~0.96), so the comparison is paired: a bootstrap
that resamples unit indices jointly, the same drawn units in both models. Otherwise the units do
not correspond and the two shares are independent samples: Newcombe's interval.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ...model.checkpoint import META
from ...model.names import READOUT_LAYERS, UnknownName
from ..methods.scoring import DecisionScorer
from ..measurement.names import POST_PAIRS
from ..measurement.recording import Recording
from ..measurement.stats import percentile_interval, ranked_units

SELECTIVE_Q = 0.05              # false discovery rate among a layer's selective (unit, pair) cells
SELECTIVE_EXCESS = 0.5          # H above its null by half the scale (the median (pair, unit) is ~0.16) ...
BREAK_ACCURACY = 0.5            # a pair is broken when fewer than half of its y positions stay right
BREAK_KS = (1, 2, 5, 10, 20, 50)
EXCESS_BINS = torch.linspace(-0.3, 1.0, 27)     # edges, 0.05 wide: H excess runs from about -0.2 to 0.9
PAIRED_RESAMPLES = 4000         # the joint bootstrap over units: percentiles at 2.5% and 97.5% need a few thousand
PAIRED_SEED = 0


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
    monosemantic_units: int = 0     # how many (the share's numerator; its denominator: selective_units)
    mean_abs_r: float = float("nan")   # mean |Pearson r| between the layer's units (the analysis's clusters)
    excess_share: list[float] = field(default_factory=list)   # share of (pair, unit) cells per EXCESS_BINS bin


@dataclass
class ModelStats:
    name: str
    sample_accuracy: float
    regularizer: dict | None        # the checkpoint's (None: trained without one)
    layers: list[LayerStats]
    post_pairs: dict[str, dict[str, int]]          # pair -> layer -> selective units
    target_accuracy: dict[str, float]              # pair -> accuracy on its y positions (stored ablations)
    saturation: dict[str, float] = field(default_factory=dict)   # gate layer -> share of units open > 90%
    init_from: str | None = None    # the checkpoint it was fine-tuned from (None: trained from scratch)

    @property
    def recipe(self) -> str:
        """How it was trained, in a few words: "fine-tuned from hy with decov (weight 0.001)"."""
        start = f"fine-tuned from {self.init_from}" if self.init_from else "trained"
        reg = self.regularizer
        return f"{start} with {reg['kind']} (weight {reg['weight']:g})" if reg else f"{start} without a regularizer"

    def layer(self, name: str) -> LayerStats:
        return next(stats for stats in self.layers if stats.layer == name)


@dataclass
class Comparison:
    a: ModelStats
    b: ModelStats
    same_sample: bool               # both analyses were built on the same sentences and spellings
    paired: bool = False            # unit i is the same unit in both (one fine-tuned from the other, or both from one)
    pairing: str = "the two were trained separately"     # why the units correspond or not, for the verdict
    # layer -> (a's, b's) (units,) input characters each unit serves (0: selective for none): the joint bootstrap's data
    served: dict = field(default_factory=dict, repr=False, compare=False)

    def monosemantic_difference(self, layer: str) -> tuple[float, float, float]:
        """b's monosemantic share minus a's in `layer`, with its 95% interval: the joint bootstrap
        over units when paired, else Newcombe's hybrid Wilson score interval for two independent
        proportions (units are the trials)."""
        if self.paired and layer in self.served:
            return paired_share_difference(*self.served[layer])
        la, lb = self.a.layer(layer), self.b.layer(layer)
        return proportion_difference(lb.monosemantic_units, lb.selective_units,
                                     la.monosemantic_units, la.selective_units)

    def monosemantic_diff(self, layer: str) -> dict:
        """The difference in percentage points, as `compare --json` writes it."""
        d, lo, hi = self.monosemantic_difference(layer)
        return {"estimate": round(100 * d, 3), "low": round(100 * lo, 3), "high": round(100 * hi, 3),
                "paired": self.paired and layer in self.served}

    def interval_note(self) -> str:
        """Which interval the verdict's numbers carry, and why (the last sentence of the verdict)."""
        if self.paired:
            return (f"Paired: {self.pairing}, so unit i is the same unit in both; the 95% intervals resample units "
                    f"jointly ({PAIRED_RESAMPLES} bootstrap draws of the same unit indices in both models).")
        return (f"Unpaired: {self.pairing}, so their units do not correspond; the 95% intervals are Newcombe's "
                f"for two independent shares.")

    def verdict(self) -> str:
        """Did b's training buy interpretability over a, and at what accuracy cost? A layer counts
        as sharper (or blurrier) only when the 95% interval of the difference excludes 0; clear
        differences in opposite directions are called mixed."""
        a, b = self.a, self.b
        cost = 100 * (a.sample_accuracy - b.sample_accuracy)
        acc = (f"{b.name} is {abs(cost):.2f} points {'less' if cost > 0 else 'more'} accurate on the sample "
               f"({100 * b.sample_accuracy:.2f}% against {100 * a.sample_accuracy:.2f}%)")
        if not self.same_sample:
            return f"Not comparable: the two analyses were built on different samples. {acc}."
        diffs = {name: self.monosemantic_difference(name) for name in READOUT_LAYERS}
        sharper = [name for name, (_, lo, _) in diffs.items() if lo > 0]
        blurrier = [name for name, (_, _, hi) in diffs.items() if hi < 0]
        unclear = [name for name in READOUT_LAYERS if name not in sharper + blurrier]

        def shares(layers):
            return ", ".join(f"{name} {100 * diffs[name][0]:+.1f} points "
                             f"[{100 * diffs[name][1]:+.1f}, {100 * diffs[name][2]:+.1f}]" for name in layers)
        r = [(name, a.layer(name).mean_abs_r, b.layer(name).mean_abs_r) for name in READOUT_LAYERS]
        r = [x for x in r if x[1] == x[1] and x[2] == x[2]]
        decor = (("; mean |r| between units " + ", ".join(f"{name} {ra:.3f} → {rb:.3f}" for name, ra, rb in r))
                 if r else "")
        if sharper and blurrier:
            claim = (f"Mixed: {b.name} is more monosemantic than {a.name} in {shares(sharper)} and less in "
                     f"{shares(blurrier)}")
        elif sharper:
            claim = (f"{b.name} has more monosemantic units than {a.name} (a unit serving one input character, as a "
                     f"share of its selective units; 95% interval): {shares(sharper)}")
        elif blurrier:
            claim = f"{b.name} is less monosemantic than {a.name}: {shares(blurrier)}"
        else:
            claim = (f"No clear difference in monosemanticity (the 95% interval of the difference contains 0 in "
                     f"every readout layer: {shares(READOUT_LAYERS)})")
        if unclear and (sharper or blurrier):
            claim += f"; no clear difference in {shares(unclear)}"
        return f"{claim}{decor}; {acc}. {self.interval_note()}"

    def to_dict(self) -> dict:
        return {"a": asdict(self.a), "b": asdict(self.b), "same_sample": self.same_sample, "paired": self.paired,
                "monosemantic_diff": {name: self.monosemantic_diff(name) for name in READOUT_LAYERS},
                "verdict": self.verdict()}


# What the training recipe may differ in while two models still count as each other's control.
NOT_RECIPE = ("out", "reg", "reg_weight", "snapshots", "resume")


def checkpoint_meta(directory: Path | None) -> dict:
    """A checkpoint's model.json ({} when there is none or it cannot be read: the comparison then
    says "unknown" or "without a regularizer" rather than failing)."""
    try:
        return json.loads((Path(directory) / META).read_text(encoding="utf-8")) if directory else {}
    except (OSError, ValueError):
        return {}


def train_config(directory: Path) -> dict:
    return checkpoint_meta(directory).get("train_config", {})


def fine_tuned_from(directory: Path | None, config: dict | None = None) -> str | None:
    """The name of the checkpoint `directory` was fine-tuned from (its recipe's --init; `config`:
    its train_config, when already read); None when trained from scratch, or when it names the
    directory itself (the base's later stages started from its earlier ones, saved in the same place)."""
    init = (config if config is not None else train_config(directory)).get("init") if directory else None
    if not init or Path(init).name == Path(directory).name:
        return None
    return Path(init).name


def lineage(directory: Path | None, depth: int = 8) -> list[str]:
    """The checkpoint's name, then those of the checkpoints it was fine-tuned from, nearest first
    (an ancestor's own --init is read where it sits beside the checkpoint, as checkpoints/ holds them)."""
    names: list[str] = []
    here = Path(directory) if directory else None
    while here is not None and here.name not in names and len(names) < depth:
        names.append(here.name)
        parent = fine_tuned_from(here)
        here = here.parent / parent if parent else None
    return names


def shared_ancestor(a: Path | None, b: Path | None) -> str | None:
    """The nearest checkpoint both descend from by fine-tuning (one of the two itself when the other
    was fine-tuned from it); None when they were trained separately. Its units are theirs: unit i
    of one is unit i of the other, so their comparison is paired."""
    theirs = lineage(b)
    return next((name for name in lineage(a) if name in theirs), None)


def _pairing(a: Path | None, b: Path | None, names: tuple[str, str], ancestor: str | None) -> str:
    """Why the units correspond, or do not, in words."""
    if ancestor is None:
        return "the two were trained separately"
    own_a, own_b = Path(a).name, Path(b).name
    if ancestor == own_a == own_b:
        return f"{names[0]} and {names[1]} are the same checkpoint"
    if ancestor in (own_a, own_b):
        child, parent = (names[1], names[0]) if ancestor == own_a else names
        return f"{child} was fine-tuned from {parent}"
    return f"both were fine-tuned from {ancestor}"


def _recipe_of(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in NOT_RECIPE}


def control_among(twin_config: dict, configs: dict[str, dict]) -> str | None:
    """The name in `configs` (name -> train_config) trained with the twin's recipe but without its
    regularizer, if any."""
    want = _recipe_of(twin_config)
    return next((name for name, cfg in configs.items() if want and not cfg.get("reg") and _recipe_of(cfg) == want),
                None)


def control_of(twin: Path, candidates: dict[str, Path]) -> str | None:
    """The candidate trained with the twin's recipe but without its regularizer (by name), if any."""
    return control_among(train_config(twin), {name: train_config(d) for name, d in candidates.items() if d != twin})


def default_pair(dirs: dict[str, Path]) -> tuple[str, str]:
    """The two models a comparison opens on: a model trained with a regularizer (from scratch
    before fine-tuned from another: the post's question is about training so), against its
    control where the lab has one (the regularizer's effect at equal budget), else against the
    first model; without a regularized model, the first two."""
    names = list(dirs)
    configs = {n: train_config(dirs[n]) for n in names}
    regularized = [n for n in names if configs[n].get("reg")]
    twin = next((n for n in regularized if not configs[n].get("init")), None) or next(iter(regularized), None)
    if twin is None:
        return names[0], (names[1:] or names)[0]
    control = control_among(configs[twin], {n: c for n, c in configs.items() if dirs[n] != dirs[twin]})
    return control or (names[0] if names[0] != twin else (names[1:] or names)[0]), twin


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k / n ((0, 1) when n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_difference(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """k1/n1 - k2/n2 and its 95% interval (Newcombe 1998, method 10: hybrid Wilson score), which
    stays honest at shares of 0 or 1 and small n, where the Wald interval collapses."""
    p1, p2 = (k1 / n1 if n1 else 0.0), (k2 / n2 if n2 else 0.0)
    (l1, u1), (l2, u2) = wilson_interval(k1, n1), wilson_interval(k2, n2)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def paired_share_difference(served_a: torch.Tensor, served_b: torch.Tensor, resamples: int = PAIRED_RESAMPLES,
                            seed: int = PAIRED_SEED) -> tuple[float, float, float]:
    """b's monosemantic share minus a's where unit i is the same unit in both (served_*: (units,)
    input characters each unit serves, 0 for none), with a 95% percentile interval from a bootstrap
    that draws unit indices with replacement, the same draw for both models: what the two models
    share (a unit monosemantic in both stays so in both) then cancels in every resample, and the
    interval measures only how consistently the units changed."""
    def share(served):          # (..., units) -> (...): monosemantic among the selective (0 when none), as model_stats
        return (served == 1).sum(-1) / (served > 0).sum(-1).clamp(min=1)
    a, b = served_a.long(), served_b.long()
    drawn = torch.randint(a.numel(), (resamples, a.numel()), generator=torch.Generator().manual_seed(seed))
    diffs = (share(b[drawn]) - share(a[drawn])).double()
    return (float(share(b) - share(a)), *percentile_interval(diffs))


def _mean_abs_r(analysis, layer: str) -> float:
    """Mean |r| over the off-diagonal pairs of the layer's units, from the stored clusters."""
    clusters = getattr(analysis, "clusters", None)
    if clusters is None or layer not in clusters.layers or clusters.layer(layer).r is None:
        return float("nan")
    r = clusters.layer(layer).r.float().abs()
    n = r.shape[0]
    return float((r.sum() - r.diagonal().sum()) / max(n * (n - 1), 1))


def excess_shares(excess: torch.Tensor) -> list[float]:
    """The share of the values in each EXCESS_BINS bin (values outside counted in the end bins)."""
    e = excess.flatten().float().clamp(EXCESS_BINS[0], EXCESS_BINS[-1])
    if e.numel() == 0:
        return [0.0] * (len(EXCESS_BINS) - 1)
    counts = torch.histogram(e, bins=EXCESS_BINS).hist
    return (counts / e.numel()).tolist()


def _selective(analysis) -> torch.Tensor:
    """(n_pairs, N) bool: H excess >= SELECTIVE_EXCESS and its q-value (p corrected over the
    layer's units x pairs) <= SELECTIVE_Q."""
    t = analysis.tables
    return (t.hellinger_excess >= SELECTIVE_EXCESS) & (t.q_value <= SELECTIVE_Q)


def inputs_served(analysis, layer: str, selective: torch.Tensor | None = None) -> torch.Tensor:
    """(units,) how many input characters each unit of `layer` is selective for a pair of (0: none;
    1: monosemantic). `selective`: `_selective(analysis)`, when already computed."""
    t = analysis.tables
    sel = _selective(analysis) if selective is None else selective
    o, u = analysis.offsets[layer], analysis.sizes[layer]
    x_of_pair = torch.as_tensor(t.pair_x, dtype=torch.long)                    # (n_pairs,)
    by_input = torch.zeros(len(t.xs), u).index_add_(0, x_of_pair, sel[:, o:o + u].float())   # (n_xs, u) selective pairs
    return (by_input > 0).sum(0)


def model_stats(analysis, name: str, layers=READOUT_LAYERS, post_pairs=POST_PAIRS) -> ModelStats:
    t = analysis.tables
    sel = _selective(analysis)
    excess = t.hellinger_excess
    out = []
    for layer in layers:
        o, u = analysis.offsets[layer], analysis.sizes[layer]
        s, e = sel[:, o:o + u], excess[:, o:o + u]                                # (n_pairs, u)
        per_unit = inputs_served(analysis, layer, sel)                            # (u,) input characters served
        used = per_unit > 0
        out.append(LayerStats(
            layer, u, len(t.pairs),
            float(e.median()) if e.numel() else float("nan"),
            float(e.flatten().quantile(0.9)) if e.numel() else float("nan"),
            int(s.sum()), int(used.sum()),
            float(s.sum(1).float().mean()) if len(t.pairs) else 0.0,
            float(per_unit[used].float().mean()) if used.any() else 0.0,
            float((per_unit[used] == 1).float().mean()) if used.any() else 0.0,
            int((per_unit[used] == 1).sum()), _mean_abs_r(analysis, layer), excess_shares(e)))
    names = {str(p) for p in t.pairs}
    post = {p: {name: int(sel[analysis.pair_row(p),
                              analysis.offsets[name]:analysis.offsets[name] + analysis.sizes[name]].sum())
                for name in layers} for p in post_pairs if p in names}
    target_acc = {}
    for p in post_pairs:
        stored = analysis.ablation(p, "hidden") if p in names else None
        if stored is not None:
            target_acc[p] = stored.target_accuracy_baseline
    sat = {}
    if analysis.saturation is not None:
        for layer in analysis.saturation.layers:
            sat[layer] = analysis.saturation.count_right(layer, 0.9) / analysis.sizes.get(layer, 1)
    saved = checkpoint_meta(analysis.checkpoint_dir)          # how it was trained: its regularizer and recipe
    return ModelStats(name, analysis.meta.sample_accuracy, saved.get("regularizer"), out,
                      post, target_acc, sat,
                      init_from=fine_tuned_from(analysis.checkpoint_dir, saved.get("train_config", {})))


def compare(a, b, names: tuple[str, str] = ("a", "b")) -> Comparison:
    """The two analyses side by side (their tables only: no recording is needed), paired when
    their checkpoints share an ancestor (`shared_ancestor`, from their model.json) and every
    readout layer has as many units in both."""
    fa, fb = a.meta.sample_fingerprint, b.meta.sample_fingerprint
    same = fa is not None and fa == fb and a.meta.sample_seed == b.meta.sample_seed
    sel_a, sel_b = _selective(a), _selective(b)
    served = {layer: (inputs_served(a, layer, sel_a), inputs_served(b, layer, sel_b)) for layer in READOUT_LAYERS}
    ancestor = shared_ancestor(a.checkpoint_dir, b.checkpoint_dir)
    paired = ancestor is not None and all(len(x) == len(y) > 0 for x, y in served.values())
    return Comparison(model_stats(a, names[0]), model_stats(b, names[1]), same, paired,
                      _pairing(a.checkpoint_dir, b.checkpoint_dir, names, ancestor if paired else None),
                      served if paired else {})


@dataclass
class BreakCurve:
    """Target accuracy (on the y positions) as the top k units by H excess are mean-ablated inside
    the recurrence, at the steps where the input is x (DecisionScorer's where="x"); `units_to_break`
    the first k below BREAK_ACCURACY (None: not within the largest k)."""
    pair: str
    layer: str
    ks: list[int]
    target_accuracy: list[float]
    baseline: float
    units_to_break: int | None
    n_positions: int                    # positions of y scored
    right: list[list[bool]] = field(default_factory=list)   # per k: each scored position of y right or not
    positions: str = ""                 # digest of the positions scored: paired tests need the same ones


def units_to_break(recording: Recording, scores: torch.Tensor, pair: str, layer: str, ks=BREAK_KS,
                   max_positions: int = 1000, seed: int = 0) -> BreakCurve:
    """How many of `layer`'s units, best H excess first (`scores` (units,)), must be ablated
    inside the recurrence before the decision x -> y breaks."""
    if layer not in READOUT_LAYERS and not layer.startswith(("gate.", "cell.")):
        raise UnknownName(f"cannot break a pair by ablating {layer!r}")
    sc = DecisionScorer(recording, pair, layer, recurrent=True, max_positions=max_positions, seed=seed)
    order = ranked_units(scores)
    base = sc.metrics(order[:0])[1]
    accs, rights, broken = [], [], None
    for k in ks:
        lp = sc.log_probs(order[:min(k, sc.units)])
        acc = sc.metrics_of(lp)[1]
        accs.append(acc)
        rights.append((lp.argmax(-1) == sc.target)[sc.is_pos].tolist())
        if broken is None and acc < BREAK_ACCURACY:
            broken = min(k, sc.units)
    scored = sc.positions[sc.scored][sc.is_pos]
    digest = hashlib.sha256(scored.numpy().tobytes()).hexdigest()[:16]
    return BreakCurve(str(sc.pair), layer, list(ks), accs, base, broken, int(sc.is_pos.sum()), rights, digest)


TRACK_AUC = 0.9                 # a unit "reads as" its best track when that track predicts it this well
TRACK_POSITIONS = 50_000        # positions scored per model (tracks.py scores 100k for one card; a layer here)


@dataclass
class TrackProfile:
    """How well the annotation tracks (tracks.py: word position, digraphs, kept Latin, ...) explain
    a layer's units: the best track's AUC per unit, summarised."""
    layer: str
    units: int
    median_auc: float
    explained: int                  # units whose best track has AUC >= TRACK_AUC
    top_tracks: list[tuple[str, int]]   # the best tracks of those units, most frequent first

    @property
    def explained_share(self) -> float:
        return self.explained / max(self.units, 1)


def track_profile(recording: Recording, layer: str, n: int = TRACK_POSITIONS, seed: int = 0) -> TrackProfile:
    """Every unit's best track on a seeded subsample of the recording (on demand: ~10 s a layer)."""
    from collections import Counter
    from ..methods.tracks import best_tracks
    scores = best_tracks(recording, layer, n=n, seed=seed)
    aucs = torch.tensor([s.auc for s in scores])
    good = [s.track for s in scores if s.auc >= TRACK_AUC]
    return TrackProfile(layer, len(scores), float(aucs.median()), len(good), Counter(good).most_common(5))
