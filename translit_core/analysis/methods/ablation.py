"""Causal check: does silencing the most selective neurons hurt the decision they are selective for?

Selectivity is not importance (Morcos et al. 2018; Antverg & Belinkov 2022): a neuron can
separate t->թ from t->other perfectly and still not be what the output reads. So for a pair
x:y and a layer we set the top-k neurons (by H excess) to their mean activation over all
positions with input x (the value that carries no information about which y it is; or to 0),
at the positions of x, and measure what that does to the decision x -> y:

  - target accuracy: accuracy on the positions whose target is y;
  - delta log p: the mean change of log p(y) on those positions (the sensitive, continuous one);
  - balanced accuracy: the mean recall over every output of x (damage to x's other outputs
    counts too, but a frequent output cannot drown a rare y);
  - accuracy over all positions of x (the first version's metric, kept for comparison).

Each output of x is scored on at most PER_OUTPUT seeded positions (all of a rarer output): every
draw costs a head pass over the scored positions, and 2,000 positions pin a mean to a few
thousandths, while t alone has 23,012. The accuracy over x then weights each output's recall by its
share of all the positions of x, so the cap changes no expectation.

Against the same with k random units of the layer, over many seeded draws (default 100), drawn
to match the selected units' activation spread (a unit of the same spread quintile for each
selected one: large-spread units are a bigger perturbation whatever they encode). The verdict
is the empirical p-value of delta log p (the fraction of random draws at least as damaging)
with the effect size beside it; no fixed floor.

Every ablation is an `Intervention` run through the network's own forward pass:
  - `recurrent=False`: the layers above the biLSTM (`TranslitNet.run_head` from the recorded
    biLSTM outputs: a concat unit is replaced just before the dense layer; the recurrence is
    not rerun). Cheap: one head pass over the positions of x per draw.
  - `recurrent=True`: the whole network is rerun on the chunks that hold x (`TranslitNet.run`),
    so a replaced LSTM unit feeds its changed state to the later steps (the earlier ones,
    backward), and any layer can be ablated, gates and cells included. `max_positions` caps
    the positions of x scored (a seeded subset of whole chunks), since every draw reruns them.
    Two questions, by `where`: "x" replaces the units only at the steps where the input is x
    (what the unit contributes to that decision there), "all" at every step of the chunk (what
    the decision loses when the unit is gone from the whole reading).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch

from ...model.names import CONCAT_LAYERS, LAYERS, READOUT_LAYERS, NeuronId, UnknownName, parse_layer
from ...model.net import Intervention
from ..measurement.names import DEFAULT_BINS, POST_PAIRS, Pair
from ...text.rules import load_rules
from ..measurement.recording import Recording, record_activations, resolve_pair
from ..measurement.stats import hellinger, ranked_units, slot_histograms

ABLATABLE_LAYERS = READOUT_LAYERS          # what analyze ablates and stores
DEFAULT_DRAWS = 100                        # random draws of k units behind every verdict
WHERE = ("x", "all")          # with recurrent: replace at the steps of x only, or at every step
MAX_DRAWS = 10_000
SPREAD_BANDS = 5                           # random units are matched to the selected ones by spread quintile
SIGNIFICANT = 0.05                         # p-value below which an ablation "confirms" the picture
NEGLIGIBLE_LOGP = 0.01                     # ... if it costs at least this much more log p(y) than random (1% of p)
RANDOM_NOTHING = 1e-3                      # random draws that all move log p(y) less than this (nats) cost nothing
PER_OUTPUT = 2000                          # positions scored per output of x (seeded subset; None: all)


@dataclass(frozen=True)
class AblationResult:
    """One ablation of `layer`'s top-k neurons for `pair`; accuracies are fractions, log p in nats."""
    pair: str
    layer: str
    k: int
    baseline_accuracy: float                # on all positions with input x, unablated
    top_k_accuracy: float                   # ... with the top k replaced
    random_k_accuracy_mean: float           # ... with k random units, mean over the draws
    random_k_accuracy_std: float            # sample standard deviation over the draws
    n_positions: int                        # positions with input x (scored)
    n_pos: int = 0                          # of which target y
    n_neg: int = 0
    baseline_accuracy_on_y: float = float("nan")   # the first version's names for the target accuracy
    top_k_accuracy_on_y: float = float("nan")
    random_k_accuracy_on_y_mean: float = float("nan")
    random_k_accuracy_on_y_std: float = 0.0
    random_k_accuracies: list[float] = field(default_factory=list)
    draws: int = 0
    seed: int = 0
    top_k_neurons: list[str] = field(default_factory=list)
    top_k_hellinger: list[float] = field(default_factory=list)   # the ranking's scores (H excess)
    recurrent: bool = False                 # rerun through the recurrence (else head only)
    where: str = "x"                        # with recurrent: units replaced at the steps of x only, or "all" steps
    # The decision x -> y itself: metrics on y, and the verdict's statistics.
    replace: str = "mean"                   # "mean" (over the positions of x) or "zero"
    n_random_draws: int = 0
    random_match: str = ""                  # how the random units were drawn
    target_accuracy_baseline: float = float("nan")
    target_accuracy_top_k: float = float("nan")
    target_accuracy_random_mean: float = float("nan")
    target_accuracy_random_std: float = float("nan")
    delta_logp_top_k: float = float("nan")  # mean change of log p(y) on the positions of y
    delta_logp_random_mean: float = float("nan")
    delta_logp_random_std: float = float("nan")
    balanced_accuracy_baseline: float = float("nan")   # mean recall over the outputs of x
    balanced_accuracy_top_k: float = float("nan")
    balanced_accuracy_random_mean: float = float("nan")
    balanced_accuracy_random_std: float = float("nan")
    p_value: float = float("nan")           # (1 + draws with delta log p <= the top k's) / (1 + draws)
    random_delta_logps: list[float] = field(default_factory=list)
    random_spread_mean: float = float("nan")   # mean activation spread of the drawn units / of the top k
    top_k_spread_mean: float = float("nan")
    per_output: int = 0                     # positions scored per output of x at most (0: all)

    @property
    def effect_logp(self) -> float:
        """How much more log p(y) the top k cost than random units (negative = more damage)."""
        return self.delta_logp_top_k - self.delta_logp_random_mean

    @property
    def random_cost_nothing(self) -> bool:
        """Whether every random draw moved log p(y) by less than RANDOM_NOTHING: then the effect has no
        z (a spread near 0 would make any effect thousands of "standard deviations")."""
        values = self.random_delta_logps or [self.delta_logp_random_mean]
        return self.n_random_draws > 0 and max(abs(v) for v in values) < RANDOM_NOTHING

    @property
    def effect_z(self) -> float:
        """The effect in standard deviations of the random draws (nan when random units cost nothing)."""
        if self.random_cost_nothing or not self.delta_logp_random_std > 0:
            return float("nan")
        return self.effect_logp / self.delta_logp_random_std

    @property
    def tested(self) -> bool:
        """Whether this result has the y-metrics and enough draws for a p-value."""
        return self.n_random_draws > 0 and self.p_value == self.p_value

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.tested:
            d.update(effect_logp=round(self.effect_logp, 6), effect_z=round(self.effect_z, 3), verdict=verdict(self))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AblationResult":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def verdict(r: AblationResult) -> str:
    """What the ablation shows: "confirmed" (the top k cost more log p(y) than random units at
    p < SIGNIFICANT, and at least NEGLIGIBLE_LOGP nats more), "significant but negligible" (p says
    the difference is real, its size says it does not matter: with thousands of positions a
    0.001-nat effect can beat every random draw), "no effect beyond random", or "untested"."""
    if not r.tested:
        return "untested"
    if r.p_value < SIGNIFICANT and r.effect_logp < 0:
        return "confirmed" if r.effect_logp <= -NEGLIGIBLE_LOGP else "significant but negligible"
    return "no effect beyond random"


def random_units_cost(r: AblationResult) -> str:
    """How spread-matched random units compare with the top k, in words: "nothing" (every draw
    moved log p(y) by less than RANDOM_NOTHING), "more" (the draws at least as mild as the top k
    are fewer than SIGNIFICANT: random units hurt more), "less" (the top k's own p-value is below
    SIGNIFICANT), or "about as much"."""
    if r.random_cost_nothing:
        return "nothing"
    if not r.tested:
        return "about as much"
    if r.p_value < SIGNIFICANT:
        return "less"
    milder = sum(v >= r.delta_logp_top_k - 1e-12 for v in r.random_delta_logps)
    return "more" if r.random_delta_logps and (1 + milder) / (1 + len(r.random_delta_logps)) < SIGNIFICANT \
        else "about as much"


def effect_words(r: AblationResult, digits: int = 3) -> str:
    """The effect beyond random, as the card and the command line say it: in nats and in standard
    deviations of the random draws, or that random units cost nothing (no z then)."""
    nats = f"{r.effect_logp:+.{digits}f} nats"
    if r.random_cost_nothing:
        return f"{nats}; random units cost nothing (every draw moved log p by less than {RANDOM_NOTHING:g})"
    return f"{nats} ({r.effect_z:+.1f} sd)"


def _selectivity(values: torch.Tensor, is_pos: torch.Tensor, bins: int) -> torch.Tensor:
    hist = slot_histograms(values, (~is_pos).long(), 2, bins)                    # (2, u, bins)
    return hellinger(hist[0], hist[1]).float()                                    # (u,)


def _head_context(recording: Recording, xi: int):
    """(positions of x, their concat (n, 2H), dense pre-activation (n, hidden), hidden (n, hidden))
    unablated. Cached for the last two xi on the recording, since several pairs and layers share an
    input character (and analyze ablates in one thread while it ranks methods in another)."""
    cached = recording.memo.get("ablation") or {}
    if xi in cached:
        return cached[xi]
    positions = (recording.x == xi).nonzero().squeeze(1)                         # (n,)
    with torch.no_grad():
        acts = dict(recording.layers_at(CONCAT_LAYERS, positions))
        concat = torch.cat([acts["concat.fwd"], acts["concat.bwd"]], dim=1)       # (n, 2H)
        dense_pre = recording.model.dense(concat)                                 # (n, hidden)
    context = (positions, concat, dense_pre, torch.tanh(dense_pre))
    recording.memo["ablation"] = {**dict(list(cached.items())[-1:]), xi: context}
    return context


def matched_draw(spread: torch.Tensor, chosen: torch.Tensor, pool: torch.Tensor, generator: torch.Generator,
                 bands: int = SPREAD_BANDS) -> torch.Tensor:
    """len(chosen) distinct units from `pool`, one per chosen unit, each from the same spread
    quantile band of the layer as that unit (the nearest band with units left when it runs out).
    spread (units,): each unit's activation standard deviation."""
    units = spread.numel()
    band = torch.empty(units, dtype=torch.long)
    band[ranked_units(-spread)] = torch.arange(units) * bands // units           # 0 = smallest spread
    left = {b: pool[band[pool] == b] for b in range(bands)}
    left = {b: v[torch.randperm(v.numel(), generator=generator)].tolist() for b, v in left.items()}
    out = []
    for unit in chosen.tolist():
        b = int(band[unit])
        for d in sorted(range(bands), key=lambda c: (abs(c - b), c)):
            if left[d]:
                out.append(left[d].pop())
                break
    return torch.tensor(out, dtype=torch.long)


def _subset_chunks(recording: Recording, positions: torch.Tensor, max_positions: int, seed: int) -> torch.Tensor:
    """A seeded subset of `positions` (sorted) made of whole chunks, about max_positions long."""
    chunk = recording.chunk_of(positions)
    ids = chunk.unique()
    ids = ids[torch.randperm(ids.numel(), generator=torch.Generator().manual_seed(seed))]
    per = torch.bincount(chunk - chunk.min()).index_select(0, ids - chunk.min())
    keep = ids[: int((per.cumsum(0) < max_positions).sum()) + 1]
    return positions[torch.isin(chunk, keep)]


def _cap_per_output(scored: torch.Tensor, target: torch.Tensor, cap: int, seed: int) -> torch.Tensor:
    """`scored` (sorted) with at most `cap` seeded positions of each target class."""
    order = torch.randperm(scored.numel(), generator=torch.Generator().manual_seed(seed))
    target = target[order]
    # rank of each position within its class, in the seeded order: keep the first `cap`
    by_class = torch.sort(target, stable=True)
    first = torch.searchsorted(by_class.values, by_class.values, side="left")        # class start in sorted
    rank = torch.empty_like(order)
    rank[by_class.indices] = torch.arange(scored.numel()) - first
    return scored[order[rank < cap]].sort().values


class DecisionScorer:
    """The decision x -> y at the positions of x, with some units of `layer` replaced by their
    mean over the positions of x (or 0): `metrics(units)` -> (accuracy on x, accuracy on y,
    mean delta log p(y) on y, balanced accuracy over x's outputs), against the unablated model.

    `rows` (P,) bool keeps only some positions (the held-out half of the sentences); with
    `recurrent`, `max_positions` caps the positions scored (a seeded subset of whole chunks);
    `per_output` caps the positions of each output of x (a seeded subset: every draw costs a
    head pass over the positions scored, and 2,000 positions pin a recall or a mean log p to a
    few thousandths). Recall per output is unchanged by the cap in expectation; the accuracy over
    x weights the recalls by each output's share of the positions of x."""

    def __init__(self, recording: Recording, pair: "str | Pair", layer: str, replace: str = "mean",
                 recurrent: bool = False, rows: torch.Tensor | None = None, max_positions: int | None = None,
                 seed: int = 0, per_output: int | None = None, where: str = "x"):
        layer = parse_layer(layer)
        if where not in WHERE:
            raise UnknownName(f"where must be 'x' (the steps of x) or 'all' (every step), not {where!r}")
        if where == "all" and not recurrent:
            raise UnknownName("where='all' replaces the units at every step of the recurrence: it needs "
                              "recurrent=True (head-only ablation changes the positions of x alone)")
        self.where = where
        if not recurrent and layer not in ABLATABLE_LAYERS:
            raise UnknownName(f"cannot ablate layer {layer!r} without rerunning the recurrence; head-only "
                              f"ablatable layers: {', '.join(ABLATABLE_LAYERS)} (or ablate with recurrent=True)")
        if replace not in ("mean", "zero"):
            raise UnknownName(f"replace must be 'mean' or 'zero', not {replace!r}")
        self.recording, self.layer, self.replace, self.recurrent = recording, layer, replace, recurrent
        self.xi, self.yk, self.pair = resolve_pair(recording, pair)
        self.units = recording.sizes[layer]
        positions, concat, dense_pre, hidden = _head_context(recording, self.xi)
        H = recording.H
        acts = (concat[:, :H] if layer == "concat.fwd" else concat[:, H:] if layer == "concat.bwd"
                else hidden if layer == "hidden" else recording.layer(layer, positions))   # (n, units)
        self.acts = acts
        self.value = acts.mean(0) if replace == "mean" else torch.zeros(self.units)   # (units,) over positions of x
        self.spread = acts.std(0)                                                    # (units,)
        scored = torch.arange(positions.numel()) if rows is None else rows[positions].nonzero().squeeze(1)
        if recurrent and max_positions and scored.numel() > max_positions:
            keep = _subset_chunks(recording, positions[scored], max_positions, seed)
            scored = torch.searchsorted(positions, keep)
        # Every output's share of the positions of x, before any per-output cap: the accuracy
        # over x weights each output's recall by it, so the cap leaves that metric unbiased.
        target = recording.y[positions[scored]]
        full_count = target.unique(return_counts=True)[1]                         # (classes,) sorted by class
        if per_output:
            scored = _cap_per_output(scored, target, per_output, seed)
            target = recording.y[positions[scored]]
        self.positions, self.scored = positions, scored
        self.target = target
        self.is_pos = self.target == self.yk
        self.classes, self.by_class = self.target.unique(return_inverse=True)     # recall per output of x
        self.n_class = torch.bincount(self.by_class, minlength=self.classes.numel()).double()
        self.share = full_count.double() / full_count.sum()                        # (classes,) same order
        if not recurrent:     # the head's inputs at the scored rows, sliced once for all the draws
            every = scored.numel() == positions.numel()
            self.ctx = [t if every else t[scored] for t in (concat, recording.x[positions], dense_pre, hidden)]
            self.direct = recording.model.direct_term(self.ctx[1])                      # (n, n_out), once
        self.base_logp = self.log_probs(scored[:0])[self.is_pos, self.yk]           # (n_pos,)

    def intervention(self, chosen: torch.Tensor, where=None) -> Intervention:
        return Intervention(self.layer, tuple(chosen.tolist()), "set", tuple(self.value[chosen].tolist()), where=where)

    def log_probs(self, chosen: torch.Tensor) -> torch.Tensor:
        """(n, n_out) log-softmax at the scored positions of x with `chosen` replaced."""
        rec, xi = self.recording, self.xi
        with torch.no_grad():
            if self.recurrent:
                def interventions(xb):
                    at = xb == xi if self.where == "x" else None            # None: every step
                    return [self.intervention(chosen, where=at)] if chosen.numel() else []
                logits = rec.rerun_logits(self.positions[self.scored], interventions)
            else:
                ivs = [self.intervention(chosen)] if chosen.numel() else []
                concat, x, dense_pre, hidden = self.ctx
                logits = rec.model.run_head(concat, x, ivs, dense_pre=dense_pre, direct=self.direct,
                                            hidden=None if self.layer in CONCAT_LAYERS else hidden)[1]
        return torch.log_softmax(logits.float(), -1)

    def metrics(self, chosen: torch.Tensor) -> tuple[float, float, float, float]:
        """(accuracy on x, accuracy on y, delta log p(y), balanced accuracy over x's outputs)."""
        return self.metrics_of(self.log_probs(torch.as_tensor(chosen, dtype=torch.long)))

    def deltas_of(self, lp: torch.Tensor) -> torch.Tensor:
        """(n_pos,) the change of log p(y) at each scored position of y, from `log_probs`' output."""
        return lp[self.is_pos, self.yk] - self.base_logp

    def metrics_of(self, lp: torch.Tensor) -> tuple[float, float, float, float]:
        """`metrics` from `log_probs`' output (n, n_out)."""
        right = lp.argmax(-1) == self.target
        recall = torch.bincount(self.by_class, weights=right.double(), minlength=self.classes.numel()) / self.n_class
        pos = self.is_pos
        on_y = float(right[pos].float().mean()) if pos.any() else float("nan")
        delta = float((lp[pos, self.yk] - self.base_logp).mean()) if pos.any() else float("nan")
        return float((recall * self.share).sum()), on_y, delta, float(recall.mean())


def ablate_recording(recording: Recording, pair: "str | Pair", layer: str, k: int, draws: int = DEFAULT_DRAWS,
                     seed: int = 0, scores: torch.Tensor | None = None, bins: int = DEFAULT_BINS,
                     recurrent: bool = False, replace: str = "mean",
                     max_positions: int | None = None, per_output: int | None = PER_OUTPUT,
                     where: str = "x") -> AblationResult:
    """Ablation of `layer`'s top-k units for `pair` on a Recording. `scores` (units,) rank the
    units (an Analysis's H excess); without them, H computed from the recording. At most
    `per_output` seeded positions of each output of x are scored (None: all). `where` (with
    `recurrent`): the units replaced at the steps of x only ("x") or at every step ("all")."""
    if not 0 <= draws <= MAX_DRAWS:
        raise UnknownName(f"draws must be between 0 and {MAX_DRAWS:,}, not {draws}")
    sc = DecisionScorer(recording, pair, layer, replace, recurrent, max_positions=max_positions, seed=seed,
                        per_output=per_output, where=where)
    units, layer = sc.units, sc.layer
    if not 0 <= k <= units:
        raise UnknownName(f"k must be between 0 and {units} (the size of {layer}), not {k}")
    if scores is None:
        scores = _selectivity(sc.acts, recording.y[sc.positions] == sc.yk, bins)
    order = ranked_units(scores)
    top = order[:k]
    base = sc.metrics(order[:0])
    top_m = sc.metrics(top)
    pool = order[k:] if units - k >= k else order
    gen = torch.Generator().manual_seed(seed)
    rand, spreads = [], []
    for _ in range(draws):
        chosen = matched_draw(sc.spread, top, pool, gen)
        rand.append(sc.metrics(chosen))
        spreads.append(float(sc.spread[chosen].mean()))
    r = torch.tensor(rand, dtype=torch.float64).reshape(-1, 4)                    # (draws, 4)
    mean = r.mean(0) if draws else torch.full((4,), float("nan"))
    std = r.std(0) if draws > 1 else torch.zeros(4)
    at_least_as_bad = int((r[:, 2] <= top_m[2] + 1e-12).sum()) if draws else 0
    is_pos = sc.is_pos
    return AblationResult(
        pair=str(sc.pair), layer=layer, k=k, baseline_accuracy=base[0], top_k_accuracy=top_m[0],
        random_k_accuracy_mean=float(mean[0]), random_k_accuracy_std=float(std[0]),
        n_positions=int(sc.scored.numel()), n_pos=int(is_pos.sum()), n_neg=int((~is_pos).sum()),
        baseline_accuracy_on_y=base[1], top_k_accuracy_on_y=top_m[1],
        random_k_accuracy_on_y_mean=float(mean[1]), random_k_accuracy_on_y_std=float(std[1]),
        random_k_accuracies=[round(v, 6) for v in r[:, 0].tolist()], draws=draws, seed=seed,
        top_k_neurons=[str(NeuronId(layer, int(i))) for i in top],
        top_k_hellinger=[round(float(scores[i]), 6) for i in top], recurrent=recurrent, where=where,
        replace=replace, n_random_draws=draws,
        random_match=f"one unit of the same activation-spread band ({SPREAD_BANDS} quantile bands of the layer) "
                     f"per selected unit, not among the top {k}",
        target_accuracy_baseline=base[1], target_accuracy_top_k=top_m[1],
        target_accuracy_random_mean=float(mean[1]), target_accuracy_random_std=float(std[1]),
        delta_logp_top_k=top_m[2], delta_logp_random_mean=float(mean[2]), delta_logp_random_std=float(std[2]),
        balanced_accuracy_baseline=base[3], balanced_accuracy_top_k=top_m[3],
        balanced_accuracy_random_mean=float(mean[3]), balanced_accuracy_random_std=float(std[3]),
        p_value=(1 + at_least_as_bad) / (1 + draws) if draws else float("nan"),
        random_delta_logps=[round(v, 6) for v in r[:, 2].tolist()],
        random_spread_mean=sum(spreads) / len(spreads) if spreads else float("nan"),
        top_k_spread_mean=float(sc.spread[top].mean()) if k else float("nan"), per_output=per_output or 0)


def ablate(model, alphabets, recording_or_sentences, pair, layer: str = "hidden", k: int = 10,
           draws: int = DEFAULT_DRAWS, seed: int = 0, rules=None, bins: int = DEFAULT_BINS,
           recurrent: bool = False, replace: str = "mean", max_positions: int | None = None,
           per_output: int | None = PER_OUTPUT, where: str = "x") -> AblationResult:
    """Replace the top-k neurons of `layer` (by H for `pair`) with their mean activation over
    the positions with input x (or 0); report the decision's metrics against the unablated
    model and k spread-matched random units of the layer (`draws` seeded draws, a p-value).

    recording_or_sentences: a Recording of `model`, or Armenian sentences to record first.
    """
    if isinstance(recording_or_sentences, Recording):
        recording = recording_or_sentences
    else:
        recording = record_activations(model, alphabets, list(recording_or_sentences), rules or load_rules(),
                                       seed=seed)
    return ablate_recording(recording, pair, layer, k, draws=draws, seed=seed, bins=bins, recurrent=recurrent,
                            replace=replace, max_positions=max_positions, per_output=per_output, where=where)


def pairs_to_ablate(analysis, extra: int = 6) -> list[str]:
    """The post's pairs that the analysis has, then the `extra` pairs with the most selective
    single neuron in the biLSTM by H excess (comparable across pair sizes; ties: more positions first)."""
    have = {str(p) for p in analysis.pairs()}
    chosen = [p for p in POST_PAIRS if p in have]
    best = []
    for p in analysis.pairs():
        if str(p) in chosen:
            continue
        top = max(float(analysis.layer_scores(p, layer).max()) for layer in CONCAT_LAYERS)
        best.append((-top, -p.n_pos, str(p)))
    chosen += [name for _, _, name in sorted(best)[:extra]]
    return chosen


__all__ = ["AblationResult", "ABLATABLE_LAYERS", "DEFAULT_DRAWS", "DecisionScorer", "LAYERS", "ablate",
           "ablate_recording", "matched_draw",
           "pairs_to_ablate", "verdict"]
