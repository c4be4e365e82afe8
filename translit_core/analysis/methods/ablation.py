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

The decision itself (log p(y), accuracy on y) is scored on every position of y, for the top k
and for every random draw. The accuracies over all of x's outputs score each output on at most
PER_OUTPUT seeded positions (all of a rarer output) and read the first ACCURACY_DRAWS random
draws: t alone has 23,012 positions, and 2,000 per output pin a recall to a few thousandths; the
accuracy over x weights each output's recall by its share of all the positions of x, so the cap
changes no expectation.

Against the same with k random units of the layer, over many seeded draws (default 1,000), drawn
to match the selected units' activation spread (a unit of the same spread quintile for each
selected one: large-spread units are a bigger perturbation whatever they encode). The verdict
is the empirical p-value of delta log p (the fraction of random draws at least as damaging),
corrected by Benjamini-Hochberg over the family when the ablation is one of an analysis's
stored ones (`with_q_values`), with the effect size beside it; no fixed floor.

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

from dataclasses import asdict, dataclass, field, fields, replace

import torch

from ...model.names import CONCAT_LAYERS, LAYERS, NeuronId, UnknownName
from ..measurement.names import DEFAULT_BINS, POST_PAIRS, Pair
from ...text.rules import load_rules
from ..measurement.recording import Recording, record_activations
from ..measurement.stats import bh_q_values, hellinger, ranked_units, slot_histograms
from .scoring import ABLATABLE_LAYERS, DecisionScorer

DEFAULT_DRAWS = 1000                       # random draws of k units behind every verdict (p floor 1/1001)
ACCURACY_DRAWS = 100                       # of them, scored on every output of x too (the accuracies over x)
RECURRENT_DRAWS = 100                      # the command line's default with --recurrent (every draw reruns the LSTM)
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
    per_output: int = 0                     # accuracies over x: positions per output of x at most (0: all)
    accuracy_draws: int = 0                 # random draws behind the accuracies over x (the first ones; 0: all)
    q_value: float = float("nan")           # p corrected over the stored ablations' family (Benjamini-Hochberg)

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
    if corrected_p(r) < SIGNIFICANT and r.effect_logp < 0:
        return "confirmed" if r.effect_logp <= -NEGLIGIBLE_LOGP else "significant but negligible"
    return "no effect beyond random"


def corrected_p(r: AblationResult) -> float:
    """The p-value a verdict reads: corrected over the stored family when the result is one of it
    (its q-value), else its own."""
    return r.q_value if r.q_value == r.q_value else r.p_value


def p_label(r: AblationResult) -> str:
    """"q = 0.002" or "p = 0.001": the value a verdict reads (`corrected_p`), named."""
    return f"{'q' if r.q_value == r.q_value else 'p'} = {corrected_p(r):.2g}"


def p_words(r: AblationResult) -> str:
    """"q = 0.002 (p = 0.001, corrected over the stored ablations)" or "p = 0.001": `p_label`, said
    with what it is."""
    if r.q_value == r.q_value:
        return f"{p_label(r)} (p = {r.p_value:.2g}, corrected over the stored ablations)"
    return p_label(r)


def with_q_values(results: "list[AblationResult]") -> "list[AblationResult]":
    """The results with their q-values: Benjamini-Hochberg over every tested one (one family, as
    an analysis stores them)."""
    tested = [i for i, r in enumerate(results) if r.tested]
    q = bh_q_values(torch.tensor([results[i].p_value for i in tested], dtype=torch.float64)).tolist()
    out = list(results)
    for i, v in zip(tested, q):
        out[i] = replace(results[i], q_value=round(v, 6))
    return out


def random_units_cost(r: AblationResult) -> str:
    """How spread-matched random units compare with the top k, in words: "nothing" (every draw
    moved log p(y) by less than RANDOM_NOTHING), "more" (the draws at least as mild as the top k
    are fewer than SIGNIFICANT: random units hurt more), "less" (the p-value the verdict reads,
    `corrected_p`, is below SIGNIFICANT), or "about as much"."""
    if r.random_cost_nothing:
        return "nothing"
    if not r.tested:
        return "about as much"
    if corrected_p(r) < SIGNIFICANT:
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
    # The decision x -> y (log p(y), accuracy on y, the p-value) on every position of y, head only:
    # cheap enough for every draw. The accuracies over all of x's outputs on `sc` (capped per
    # output), from the first ACCURACY_DRAWS draws.
    on_y = sc if recurrent else DecisionScorer(recording, pair, layer, replace, rows=recording.y == sc.yk, seed=seed)
    base, top_m = sc.metrics(order[:0]), sc.metrics(top)
    base_y, top_y = on_y.metrics(order[:0]), on_y.metrics(top)
    pool = order[k:] if units - k >= k else order
    gen = torch.Generator().manual_seed(seed)
    rand, rand_y, spreads = [], [], []
    for d in range(draws):
        chosen = matched_draw(sc.spread, top, pool, gen)
        if on_y is sc or d < ACCURACY_DRAWS:
            rand.append(sc.metrics(chosen))
        rand_y.append(rand[-1] if on_y is sc else on_y.metrics(chosen))
        spreads.append(float(sc.spread[chosen].mean()))
    r = torch.tensor(rand, dtype=torch.float64).reshape(-1, 4)                    # (accuracy draws, 4)
    ry = torch.tensor(rand_y, dtype=torch.float64).reshape(-1, 4)                 # (draws, 4): [1], [2] used
    mean = r.mean(0) if draws else torch.full((4,), float("nan"))
    std = r.std(0) if len(rand) > 1 else torch.zeros(4)
    mean_y = ry.mean(0) if draws else torch.full((4,), float("nan"))
    std_y = ry.std(0) if draws > 1 else torch.zeros(4)
    at_least_as_bad = int((ry[:, 2] <= top_y[2] + 1e-12).sum()) if draws else 0
    is_pos = on_y.is_pos
    return AblationResult(
        pair=str(sc.pair), layer=layer, k=k, baseline_accuracy=base[0], top_k_accuracy=top_m[0],
        random_k_accuracy_mean=float(mean[0]), random_k_accuracy_std=float(std[0]),
        n_positions=int(sc.scored.numel()), n_pos=int(is_pos.sum()), n_neg=int((~sc.is_pos).sum()),
        baseline_accuracy_on_y=base_y[1], top_k_accuracy_on_y=top_y[1],
        random_k_accuracy_on_y_mean=float(mean_y[1]), random_k_accuracy_on_y_std=float(std_y[1]),
        random_k_accuracies=[round(v, 6) for v in r[:, 0].tolist()], draws=draws, seed=seed,
        top_k_neurons=[str(NeuronId(layer, int(i))) for i in top],
        top_k_hellinger=[round(float(scores[i]), 6) for i in top], recurrent=recurrent, where=where,
        replace=replace, n_random_draws=draws,
        random_match=f"one unit of the same activation-spread band ({SPREAD_BANDS} quantile bands of the layer) "
                     f"per selected unit, not among the top {k}",
        target_accuracy_baseline=base_y[1], target_accuracy_top_k=top_y[1],
        target_accuracy_random_mean=float(mean_y[1]), target_accuracy_random_std=float(std_y[1]),
        delta_logp_top_k=top_y[2], delta_logp_random_mean=float(mean_y[2]), delta_logp_random_std=float(std_y[2]),
        balanced_accuracy_baseline=base[3], balanced_accuracy_top_k=top_m[3],
        balanced_accuracy_random_mean=float(mean[3]), balanced_accuracy_random_std=float(std[3]),
        p_value=(1 + at_least_as_bad) / (1 + draws) if draws else float("nan"),
        random_delta_logps=[round(v, 6) for v in ry[:, 2].tolist()],
        random_spread_mean=sum(spreads) / len(spreads) if spreads else float("nan"),
        top_k_spread_mean=float(sc.spread[top].mean()) if k else float("nan"), per_output=per_output or 0,
        accuracy_draws=len(rand) if len(rand) < draws else 0)


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
