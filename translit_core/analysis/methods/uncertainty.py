"""Uncertainty on the analysis's claims: which LSTM direction separates a pair best, with a
bootstrap interval, and neurons selected on one half of the sentences and scored on the other.

A claim such as "the backward direction separates t->ծ best" compares the mean H of the top-k
units of each direction. Two things can fake it: selection bias (the top-k by H on a sample are
partly the units that were lucky on that sample) and sampling noise (sentences are the unit of
independence, not positions: the characters of one sentence share their words). So:

  1. the sentences are split into two seeded random halves; the top-k units of each direction
     are chosen by H excess on the first half (`hellinger_tables(..., mask=first)`);
  2. their H is measured on the second half, and 200+ bootstrap resamples of its sentences
     (with replacement; every position weighted by how often its sentence was drawn) give a
     95% basic bootstrap interval for each direction's mean and for the difference
     forward - backward. The two directions are measured on the same positions, so the
     difference is paired: every resample draws the same sentences for both (a sentence that
     makes the pair easy or hard does so for both directions, and cancels in the difference;
     drawing them separately would add both directions' sampling noise to it);
  3. a direction "separates best" only when the interval of the difference excludes 0;
     otherwise the claim is "no clear difference".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from ...model.names import CONCAT_LAYERS, UnknownName
from ..measurement.names import DEFAULT_BINS, DEFAULT_SHUFFLES, Pair
from ..measurement.recording import Recording, resolve_pair
from ..measurement.stats import flat_bins, hellinger, percentile_interval, ranked_units
from ..measurement.tables import HellingerTables, hellinger_tables

DEFAULT_RESAMPLES = 200
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float          # bias-corrected: 2 t - mean of the resamples (t: the plug-in value)
    low: float               # basic bootstrap interval at LEVEL
    high: float
    plug_in: float = float("nan")   # the statistic on the data as it is

    def excludes(self, value: float) -> bool:
        return not self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class DirectionClaim:
    """Which LSTM direction's top-k units separate a pair best, with its uncertainty."""
    pair: str
    k: int
    forward: Interval                 # mean H of the forward top k (chosen on the other half)
    backward: Interval
    difference: Interval              # forward - backward
    forward_units: list[int] = field(default_factory=list)
    backward_units: list[int] = field(default_factory=list)
    resamples: int = 0
    n_sentences: int = 0              # in the scoring half
    n_pos: int = 0                    # positions of the pair in the scoring half
    n_neg: int = 0
    level: float = LEVEL

    @property
    def best(self) -> str:
        """"forward", "backward", or "no clear difference" (the interval contains 0)."""
        if not self.difference.excludes(0.0):
            return "no clear difference"
        return "forward" if self.difference.estimate > 0 else "backward"

    def to_dict(self) -> dict:
        return dict(asdict(self), best=self.best)

    @classmethod
    def from_dict(cls, d: dict) -> "DirectionClaim":
        keep = {k: v for k, v in d.items() if k != "best"}
        for name in ("forward", "backward", "difference"):
            keep[name] = Interval(**keep[name])
        return cls(**keep)


def draw_sentences(n_sentences: int, resamples: int, generator: torch.Generator) -> torch.Tensor:
    """(resamples, n_sentences): how often each bootstrap resample draws each sentence (as many
    draws as there are sentences, with replacement)."""
    return torch.stack([torch.bincount(torch.randint(n_sentences, (n_sentences,), generator=generator),
                                       minlength=n_sentences) for _ in range(resamples)])


def bootstrap_hellinger(values: torch.Tensor, is_pos: torch.Tensor, sentence: torch.Tensor, bins: int,
                        resamples: int, generator: torch.Generator | None = None,
                        drawn: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """H of every column of values (n, u) between is_pos and the rest, as it is and under
    `resamples` bootstrap resamples of the sentences: ((u,), (resamples, u)).

    sentence (n,): each position's sentence (any ids). A resample draws as many sentences as
    there are, with replacement; a position counts as often as its sentence was drawn. `drawn`
    ((resamples, S), from `draw_sentences`, S the distinct sentences in sorted order of their ids):
    given resamples, shared with another statistic on the same positions (a paired difference);
    else they are drawn from `generator`.
    """
    n, u = values.shape
    ids, sent = torch.unique(sentence, return_inverse=True)                     # sent (n,) in 0..S-1
    lo, hi = torch.aminmax(values, dim=0)
    binned = flat_bins(values, lo, hi, bins) + (~is_pos).long().unsqueeze(1) * (u * bins)   # (n, u)
    # counts = onehot (2 u bins, n) @ weights (n, R): one sparse product for every resample at once.
    onehot = torch.sparse_coo_tensor(torch.stack([binned.reshape(-1), torch.arange(n).repeat_interleave(u)]),
                                     torch.ones(n * u, dtype=torch.float64), (2 * u * bins, n),
                                     check_invariants=True).coalesce()
    if drawn is None:
        drawn = draw_sentences(ids.numel(), resamples, generator)              # (R, S)
    if drawn.shape != (resamples, ids.numel()):
        raise ValueError(f"drawn is {tuple(drawn.shape)}, not ({resamples}, {ids.numel()}) (resamples, sentences)")
    weights = torch.cat([torch.ones(n, 1, dtype=torch.float64), drawn.t()[sent].double()], dim=1)  # (n, 1 + R)
    hist = torch.sparse.mm(onehot, weights).t().reshape(1 + resamples, 2, u, bins)
    h = hellinger(hist[:, 0], hist[:, 1]).float()                               # (1 + R, u)
    return h[0], h[1:]


def basic_interval(estimate: float, samples: torch.Tensor, level: float = LEVEL) -> Interval:
    """The basic (reverse percentile) bootstrap interval [2t - q_hi, 2t - q_lo]. H is biased
    upwards on resamples (a resample repeats sentences, so its histograms are effectively from
    fewer positions and look more different), and the plain percentile interval would inherit
    that shift; the basic interval reflects it back, and the point estimate is corrected by the
    same bias (the plug-in H is itself biased upwards against the population's)."""
    q_lo, q_hi = percentile_interval(samples, level)
    t = float(estimate)
    return Interval(round(2 * t - float(samples.double().mean()), 6), round(2 * t - q_hi, 6),
                    round(2 * t - q_lo, 6), round(t, 6))


def direction_claim(recording: Recording, pair: "str | Pair", selection: HellingerTables, scoring_mask: torch.Tensor,
                    k: int = 10, resamples: int = DEFAULT_RESAMPLES, bins: int = DEFAULT_BINS,
                    seed: int = 0) -> DirectionClaim:
    """The direction claim for `pair`: top k of each direction by H excess in `selection` (tables
    built on the other half of the sentences), scored on the positions in `scoring_mask` with a
    sentence bootstrap."""
    xi, yk, p = resolve_pair(recording, pair)
    row = [str(q) for q in selection.pairs].index(str(p))
    positions = ((recording.x == xi) & scoring_mask).nonzero().squeeze(1)
    is_pos = recording.y[positions] == yk
    sentence, unit = recording.sentence_of(positions), recording.group_of(positions)   # a paraphrase pair: one unit
    # one draw of sentences for both directions: their difference is paired (see the module's step 2)
    drawn = draw_sentences(int(unit.unique().numel()), resamples, torch.Generator().manual_seed(seed))
    chosen, means, boots = {}, {}, {}
    for layer in ("concat.fwd", "concat.bwd"):
        o, u = selection.offsets[layer], selection.sizes[layer]
        units = ranked_units(selection.hellinger_excess[row, o:o + u])[:k]
        values = recording.layer(layer, positions, units=units.tolist())                     # (n, k)
        observed, resampled = bootstrap_hellinger(values, is_pos, unit, bins, resamples, drawn=drawn)
        chosen[layer], means[layer], boots[layer] = units.tolist(), observed.mean(), resampled.mean(1)
    fwd, bwd = boots["concat.fwd"], boots["concat.bwd"]
    return DirectionClaim(
        pair=str(p), k=k, forward=basic_interval(means["concat.fwd"], fwd),
        backward=basic_interval(means["concat.bwd"], bwd),
        difference=basic_interval(means["concat.fwd"] - means["concat.bwd"], fwd - bwd),
        forward_units=chosen["concat.fwd"], backward_units=chosen["concat.bwd"], resamples=resamples,
        n_sentences=int(sentence.unique().numel()), n_pos=int(is_pos.sum()), n_neg=int((~is_pos).sum()))


def direction_claims(recording: Recording, pairs, k: int = 10, resamples: int = DEFAULT_RESAMPLES,
                     bins: int = DEFAULT_BINS, seed: int = 0, shuffles: int = DEFAULT_SHUFFLES) -> list[DirectionClaim]:
    """`direction_claim` for every pair in `pairs` that both halves of the sentences have."""
    first, second = recording.sentence_halves(seed)
    selection = hellinger_tables(recording, bins=bins, layers=CONCAT_LAYERS, shuffles=shuffles, seed=seed, mask=first,
                                 inputs={Pair.parse(p).x for p in pairs})
    have = {str(p) for p in selection.pairs}
    out = []
    for pair in pairs:
        if str(pair) not in have:
            continue
        try:
            claim = direction_claim(recording, pair, selection, second, k, resamples, bins, seed)
        except UnknownName:          # the pair does not occur in the scoring half
            continue
        if claim.n_pos and claim.n_neg:
            out.append(claim)
    return out
