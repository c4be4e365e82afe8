"""The Hellinger tables: every neuron of every layer against every (x, y) pair, in one pass.

For every input x with at least one pair and every layer: 1000 equal bins per neuron between its
min and max on x, one bincount for all neurons and all targets y of x at once, and
H = sqrt(1 - sum sqrt(p q)) for every (x, y) with >= min_count positions on each side, with the
per-pair mean activations beside it (the graph's contributions are weight x mean activation).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...model.alphabets import FIRST_INPUT_CLASS, symbol_of_class
from ...model.names import LAYERS, NeuronId, parse_layer
from .names import DEFAULT_BINS, DEFAULT_MIN_COUNT, DEFAULT_SHUFFLES, Pair
from .recording import Recording, pair_counts
from .stats import bh_q_values, flat_bins, hellinger_from_counts, permutation_null


def _null_fields(null: float | None, p_value: float | None, q_value: float | None, hellinger: float) -> dict:
    if null is None:
        return {}
    return {"hellinger_null": round(null, 6), "hellinger_excess": round(hellinger - null, 6),
            "p_value": round(p_value, 6) if p_value is not None else None,
            "q_value": round(q_value, 6) if q_value is not None else None}


@dataclass(frozen=True)
class NeuronScore:
    neuron: NeuronId
    hellinger: float
    n_pos: int
    n_neg: int
    hellinger_null: float | None = None     # mean H over label shuffles (None: not computed)
    p_value: float | None = None            # permutation p-value of H (null pooled over the layer's units)
    q_value: float | None = None            # p corrected over the layer's units x pairs (Benjamini-Hochberg)

    @property
    def hellinger_excess(self) -> float:
        return self.hellinger - (self.hellinger_null or 0.0)

    def to_dict(self) -> dict:
        return {"neuron": str(self.neuron), "layer": self.neuron.layer, "index": self.neuron.index,
                "hellinger": round(self.hellinger, 6),
                **_null_fields(self.hellinger_null, self.p_value, self.q_value, self.hellinger),
                "n_pos": self.n_pos, "n_neg": self.n_neg}


@dataclass(frozen=True)
class PairScore:
    pair: Pair
    hellinger: float
    n_pos: int
    n_neg: int
    hellinger_null: float | None = None
    p_value: float | None = None
    q_value: float | None = None

    @property
    def hellinger_excess(self) -> float:
        return self.hellinger - (self.hellinger_null or 0.0)

    def to_dict(self) -> dict:
        return {"pair": str(self.pair), "x": self.pair.x, "y": self.pair.y,
                "hellinger": round(self.hellinger, 6),
                **_null_fields(self.hellinger_null, self.p_value, self.q_value, self.hellinger),
                "n_pos": self.n_pos, "n_neg": self.n_neg}


@dataclass
class HellingerTables:
    """Hellinger distance of every neuron (columns, all layers in LAYERS order) for every pair
    (rows), with the counts behind each value and the per-pair mean activations."""
    layers: list[str]
    sizes: dict[str, int]
    pairs: list[Pair]
    xs: list[str]                      # input characters that have at least one pair
    pair_x: list[int]                  # index into xs of each pair
    hellinger: torch.Tensor            # (n_pairs, N) float32
    mean_pos: torch.Tensor             # (n_pairs, N) mean activation where the target is y
    mean_neg: torch.Tensor             # (n_pairs, N) mean activation where it is not
    x_mean: torch.Tensor               # (n_xs, N) mean activation over all positions with input x
    x_lo: torch.Tensor                 # (n_xs, N) min on input x (the histogram range)
    x_hi: torch.Tensor                 # (n_xs, N) max on input x
    candidates: dict[str, dict[str, int]]   # every input char -> {output symbol: count}
    bins: int
    min_count: int
    unit_mean: torch.Tensor | None = None   # (N,) mean over the sample (interventions' "mean"; see hellinger_tables)
    hellinger_null: torch.Tensor | None = None      # (n_pairs, N) mean H over label shuffles: H's noise floor
    hellinger_null_std: torch.Tensor | None = None  # (n_pairs, N) its standard deviation over the shuffles
    p_value: torch.Tensor | None = None             # (n_pairs, N) permutation p of H, null pooled over the layer
    shuffles: int = 0                                # label shuffles behind the null

    @property
    def hellinger_excess(self) -> torch.Tensor:
        """(n_pairs, N) H minus its permutation null: comparable across pairs of any size."""
        return self.hellinger - self.hellinger_null

    @property
    def z(self) -> torch.Tensor:
        """(n_pairs, N) the excess in standard deviations of the null (for p-values below
        the permutation test's floor of 1 / (1 + shuffles))."""
        return self.hellinger_excess / self.hellinger_null_std.clamp(min=1e-6)

    @functools.cached_property
    def q_value(self) -> torch.Tensor:
        """(n_pairs, N) p corrected for many tests: Benjamini-Hochberg over each layer's family
        (all its units x all pairs), so "selective" keeps the false discoveries of a layer at the
        stated rate. Computed once from p_value (change p_value, build new tables)."""
        q = torch.ones_like(self.hellinger)
        for name, o in self.offsets.items():
            q[:, o:o + self.sizes[name]] = bh_q_values(self.p_value[:, o:o + self.sizes[name]].float())
        return q

    def shape_mismatch(self) -> str | None:
        """What does not fit between the tensors and the description (a file pair from two runs,
        or a truncated one), or None."""
        N = sum(self.sizes.values())
        want = {"hellinger": (len(self.pairs), N), "mean_pos": (len(self.pairs), N), "mean_neg": (len(self.pairs), N),
                "hellinger_null": (len(self.pairs), N), "hellinger_null_std": (len(self.pairs), N),
                "p_value": (len(self.pairs), N),
                "x_mean": (len(self.xs), N), "x_lo": (len(self.xs), N), "x_hi": (len(self.xs), N)}
        for name, shape in want.items():
            if tuple(getattr(self, name).shape) != shape:
                return f"{name} is {tuple(getattr(self, name).shape)}, the description needs {shape}"
        if self.unit_mean is not None and tuple(self.unit_mean.shape) != (N,):
            return f"unit_mean is {tuple(self.unit_mean.shape)}, the description needs ({N},)"
        if len(self.pair_x) != len(self.pairs) or any(not 0 <= j < len(self.xs) for j in self.pair_x):
            return "pairs point at input characters that are not there"
        return None

    @property
    def offsets(self) -> dict[str, int]:
        out, o = {}, 0
        for name in self.layers:
            out[name] = o
            o += self.sizes[name]
        return out


def _table_rows(recording: Recording, counts: dict, min_count: int, inputs: "set[str] | None"):
    """The tables' rows: every (x, y) with >= min_count positions on each side. -> ({x class:
    [y classes]}, x classes in the order of xs, pairs, index into xs of each pair)."""
    alph = recording.alphabets
    n_x: dict[int, int] = {}
    for (xi, _), n in counts.items():
        n_x[xi] = n_x.get(xi, 0) + n
    valid: dict[int, list[int]] = {}
    for (xi, yk), n in sorted(counts.items()):
        if (xi >= FIRST_INPUT_CLASS and n >= min_count and n_x[xi] - n >= min_count
                and (inputs is None or alph.inputs[xi] in inputs)):
            valid.setdefault(xi, []).append(yk)
    xs = sorted(valid, key=lambda xi: alph.inputs[xi])
    pairs, pair_x = [], []
    for j, xi in enumerate(xs):
        for yk in valid[xi]:
            pairs.append(Pair(alph.inputs[xi], symbol_of_class(alph, yk), counts[(xi, yk)], n_x[xi] - counts[(xi, yk)]))
            pair_x.append(j)
    return valid, xs, pairs, pair_x


def table_pairs(recording: Recording, min_count: int = DEFAULT_MIN_COUNT) -> list[Pair]:
    """The pairs `hellinger_tables` will have rows for, from the counts alone (no histogram)."""
    return _table_rows(recording, pair_counts(recording), min_count, None)[2]


REST_SAMPLE = 1 << 15      # positions without a pair that enter unit_mean (exact when there are fewer)


def _candidates(recording: Recording, counts: dict) -> dict[str, dict[str, int]]:
    """Every input character -> {output symbol: count}, most frequent first (<pad>/<unk> left out)."""
    alph = recording.alphabets
    candidates: dict[str, dict[str, int]] = {}
    for (xi, yk), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1])):
        if xi >= FIRST_INPUT_CLASS:
            candidates.setdefault(alph.inputs[xi], {})[symbol_of_class(alph, yk)] = n
    return candidates


@dataclass
class _Accumulators:
    """The tables being filled: (pairs, N) rows per pair, (xs, N) per input, and the sum over
    every position for unit_mean."""
    hell: torch.Tensor
    null: torch.Tensor
    null_std: torch.Tensor
    p_value: torch.Tensor
    mean_pos: torch.Tensor
    mean_neg: torch.Tensor
    x_mean: torch.Tensor
    x_lo: torch.Tensor
    x_hi: torch.Tensor
    total_sum: torch.Tensor          # (N,) float64

    @classmethod
    def zeros(cls, n_pairs: int, n_xs: int, N: int) -> "_Accumulators":
        return cls(torch.zeros(n_pairs, N), torch.zeros(n_pairs, N), torch.zeros(n_pairs, N), torch.ones(n_pairs, N),
                   torch.zeros(n_pairs, N), torch.zeros(n_pairs, N), torch.zeros(n_xs, N), torch.zeros(n_xs, N),
                   torch.zeros(n_xs, N), torch.zeros(N, dtype=torch.float64))


@dataclass
class _InputSlots:
    """The positions of one input x, each with its slot: the index of its target among the
    pairs' ys of x, or len(ys) for any other target."""
    j: int                           # x's index in xs (its row of the x tables)
    rows: slice                      # its pairs' rows
    slot: torch.Tensor               # (n,) int32
    onehot: torch.Tensor             # (n, k+1) float64
    n_pos: torch.Tensor              # (k,) float64: positions of each y
    n_all: int


def _tabulate_layer(acts: torch.Tensor, x: _InputSlots, cols: slice, bins: int, shuffles: int,
                    gen: torch.Generator, acc: _Accumulators) -> None:
    """One layer's columns for one input: every neuron's histograms for every target at once
    (one bincount), H of every pair with its permutation null, and the mean activations."""
    k = x.onehot.shape[1] - 1
    lo, hi = torch.aminmax(acts, dim=0)
    u = acts.shape[1]
    binned = flat_bins(acts, lo, hi, bins)                                 # (n, u) neuron*bins + bin
    hist = torch.bincount((binned + (x.slot * (u * bins)).unsqueeze(1)).view(-1),
                          minlength=(k + 1) * u * bins).view(k + 1, u, bins)
    total = hist.sum(0)                                                    # (u, bins)
    observed = hellinger_from_counts(hist[:k], total, x.n_pos, x.n_all - x.n_pos)   # (k, u)
    acc.hell[x.rows, cols] = observed.float()
    if shuffles:
        nl = permutation_null(binned, total, x.n_pos, observed, bins, shuffles, gen)
        acc.null[x.rows, cols], acc.null_std[x.rows, cols], acc.p_value[x.rows, cols] = nl.mean, nl.std, nl.p_value
    del binned
    sums = x.onehot.t() @ acts.double()                                    # (k+1, u)
    all_sum = sums.sum(0)                                                  # (u,)
    acc.mean_pos[x.rows, cols] = (sums[:k] / x.n_pos.unsqueeze(1)).float()
    acc.mean_neg[x.rows, cols] = ((all_sum - sums[:k]) / (x.n_all - x.n_pos).unsqueeze(1)).float()
    acc.x_mean[x.j, cols] = (all_sum / x.n_all).float()
    acc.total_sum[cols] += all_sum
    acc.x_lo[x.j, cols], acc.x_hi[x.j, cols] = lo, hi


def _rest_sum(recording: Recording, xs: list[int], mask: torch.Tensor | None, layers: list[str],
              cols: dict[str, slice], N: int) -> torch.Tensor:
    """(N,) the estimated sum over the positions whose input has no pair (spaces, digits, rare
    characters: half the sample), from a seeded random subset of at most REST_SAMPLE of them."""
    no_pair = ~torch.isin(recording.x, torch.tensor(xs, dtype=torch.long))
    rest = (no_pair if mask is None else no_pair & mask).nonzero().squeeze(1)
    subset = rest[torch.randperm(rest.numel(), generator=torch.Generator().manual_seed(0))[:REST_SAMPLE]]
    rest_sum = torch.zeros(N, dtype=torch.float64)
    for s in range(0, subset.numel(), 1 << 12):       # small blocks: every layer at once is wide
        for layer, acts in recording.layers_at(layers, subset[s:s + (1 << 12)]):
            rest_sum[cols[layer]] += acts.double().sum(0)
    return rest_sum * (rest.numel() / subset.numel()) if subset.numel() else rest_sum


def hellinger_tables(recording: Recording, bins: int = DEFAULT_BINS, min_count: int = DEFAULT_MIN_COUNT,
                     layers: tuple[str, ...] | list[str] = LAYERS, progress=None, shuffles: int = DEFAULT_SHUFFLES,
                     seed: int = 0, mask: torch.Tensor | None = None,
                     inputs: "set[str] | None" = None) -> HellingerTables:
    """Hellinger distances for all neurons of `layers` and all (x, y) pairs with at least
    `min_count` positions where the target is y and `min_count` where it is not.

    Loops over input characters x and layers only: for one x and one layer, one bincount builds
    the histograms of every neuron for every target y of x (plus "any other target"), and the
    distances of all its pairs follow from them at once. `unit_mean` is every unit's mean over
    the sample: exact over the positions whose input has a pair, estimated from REST_SAMPLE seeded
    positions over the others (standard error ~ std / 180, a few thousandths for these units).
    """
    alph = recording.alphabets
    layers = [parse_layer(name) for name in layers]
    sizes = {name: recording.sizes[name] for name in layers}
    N = sum(sizes.values())
    counts = pair_counts(recording, mask)
    valid, xs, pairs, pair_x = _table_rows(recording, counts, min_count, inputs)
    acc = _Accumulators.zeros(len(pairs), len(xs), N)
    gen = torch.Generator().manual_seed(seed)
    offsets = {name: sum(sizes[m] for m in layers[:i]) for i, name in enumerate(layers)}  # first column of each layer
    cols = {name: slice(offsets[name], offsets[name] + sizes[name]) for name in layers}
    row = 0
    with torch.no_grad():
        for j, xi in enumerate(xs):
            at_x = recording.x == xi if mask is None else (recording.x == xi) & mask
            positions = at_x.nonzero().squeeze(1)                                      # (n,)
            ys = valid[xi]
            slot = torch.full((positions.numel(),), len(ys), dtype=torch.int32)       # last slot: other targets
            target = recording.y[positions]
            for s, yk in enumerate(ys):
                slot[target == yk] = s
            x = _InputSlots(j, slice(row, row + len(ys)), slot, F.one_hot(slot.long(), len(ys) + 1).double(),
                            torch.tensor([counts[(xi, yk)] for yk in ys], dtype=torch.float64), positions.numel())
            for name, acts in recording.layers_at(layers, positions):                # acts (n, u)
                _tabulate_layer(acts, x, cols[name], bins, shuffles, gen, acc)
                if progress:
                    progress(alph.inputs[xi], name)
            row += len(ys)
        acc.total_sum += _rest_sum(recording, xs, mask, layers, cols, N)
    n_used = recording.n_positions if mask is None else int(mask.sum())
    return HellingerTables(layers=layers, sizes=sizes, pairs=pairs, xs=[alph.inputs[xi] for xi in xs],
                           pair_x=pair_x, hellinger=acc.hell, mean_pos=acc.mean_pos, mean_neg=acc.mean_neg,
                           x_mean=acc.x_mean, x_lo=acc.x_lo, x_hi=acc.x_hi, candidates=_candidates(recording, counts),
                           bins=bins, min_count=min_count, unit_mean=(acc.total_sum / max(n_used, 1)).float(),
                           hellinger_null=acc.null, hellinger_null_std=acc.null_std, p_value=acc.p_value,
                           shuffles=shuffles)
