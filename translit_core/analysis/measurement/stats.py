"""Histogram statistics, vectorized: Hellinger distances between activation histograms.

`slot_histograms` builds the histograms of every neuron for every group of positions with one
bincount per block of rows; `bin_index` reproduces numpy.histogram's binning exactly;
`hellinger` / `hellinger_from_counts` turn counts into distances.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def hellinger(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Hellinger distance between histograms along the last dim: sqrt(1 - sum sqrt(p q)).

    p, q: (..., bins) counts or probabilities (each row is normalised to sum 1). In [0, 1]:
    0 for identical distributions, 1 for disjoint ones. Rows that sum to 0 give NaN.
    """
    p = p.double() / p.double().sum(-1, keepdim=True)
    q = q.double() / q.double().sum(-1, keepdim=True)
    bc = (p * q).sqrt().sum(-1)                                          # Bhattacharyya coefficient
    return (1.0 - bc).clamp(min=0.0).sqrt()


def _edges(lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """numpy.histogram's range: float64, an empty range widened by 0.5 on each side."""
    lo, hi = lo.double(), hi.double()
    flat = hi == lo
    return torch.where(flat, lo - 0.5, lo), torch.where(flat, hi + 0.5, hi)


F32_ERROR = 2e-7        # bound on the relative error of the float32 bin estimate (three roundings)


def _bin_block(values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int,
               block: int = 1 << 13) -> torch.Tensor:
    """bin_index (n, u) int32 for ranges already widened by _edges.

    The bin is estimated in float32, in blocks of rows (half the bytes of float64, and temporaries
    that stay small), and off by one only within a few ulps of an edge: the values whose estimate
    lies within `margin` of an integer are fixed exactly, with numpy's edge comparisons in float64,
    instead of comparing every value twice."""
    # float32 only for float32 values with float32 ends (activations and their min and max): then
    # v - lo is rounded relative to itself, and the estimate is off by at most 3 roundings of f.
    # A float64 value or end rounded to float32 would be off relative to its own size instead.
    margin = 5 * F32_ERROR * bins                                          # >= 5x the estimate's error
    exact32 = (values.dtype == torch.float32 and torch.equal(lo.float().double(), lo)
               and torch.equal(hi.float().double(), hi))
    if exact32 and margin <= 0.25:
        margin, dtype = max(margin, 1e-6), torch.float32
    else:
        margin, dtype = 1e-6, torch.float64
    lo_e, scale = lo.to(dtype), (bins / (hi - lo)).to(dtype)
    step, l0 = (hi - lo) / bins, lo                                        # float64, numpy's edges
    n, u = values.shape
    out = torch.empty(n, u, dtype=torch.int32)
    for s in range(0, n, block):
        v = values[s:s + block]
        f = (v.to(dtype) - lo_e).mul_(scale)                              # (b, u) fractional bin
        idx = f.to(torch.int32).clamp_(0, bins - 1)                       # values are >= lo
        near = f.sub_(f.round()).abs_() < margin
        if near.any():
            r, col = near.nonzero(as_tuple=True)
            a, k = v[r, col].double(), idx[r, col].long()
            k = k - (a < k.double() * step[col] + l0[col]).long()
            k = k + ((a >= (k + 1).double() * step[col] + l0[col]) & (k != bins - 1)).long()
            idx[r, col] = k.clamp_(0, bins - 1).to(torch.int32)
        out[s:s + block] = idx
    return out


def bin_index(values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int) -> torch.Tensor:
    """Bin of every value (n, u) among `bins` equal bins per column between lo (u,) and hi (u,).

    Exactly numpy.histogram's rule (last bin closed; an empty range widened by 0.5 each side;
    the float estimate checked against the edges lo + k * (hi - lo) / bins), so a per-neuron
    np.histogram of the same float64 values gives the same counts.
    """
    lo, hi = _edges(lo, hi)
    return _bin_block(values, lo, hi, bins).long()


def flat_bins(values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int) -> torch.Tensor:
    """bin_index of values (n, u) plus u_index * bins: every (neuron, bin) its own slot of one
    flat histogram, so one bincount counts all neurons at once. (n, u) int32: half the bytes of
    int64 to gather and count (the permutation null gathers rows of it 20 times per layer), and
    room for 2**31 slots."""
    idx = _bin_block(values, *_edges(lo, hi), bins)
    idx += (torch.arange(values.shape[1], dtype=torch.int32) * bins).unsqueeze(0)
    return idx


def slot_histograms(values: torch.Tensor, slot: torch.Tensor, n_slots: int, bins: int,
                    lo: torch.Tensor | None = None, hi: torch.Tensor | None = None,
                    block: int = 4096) -> torch.Tensor:
    """Histograms of every column of values (n, u), one per slot: (n_slots, u, bins) counts.

    One bincount per block of rows covers all columns and all slots: no loop over neurons or
    pairs. (Blocks keep the float64 temporaries in cache and out of fresh pages.)
    """
    n, u = values.shape
    if lo is None:
        lo, hi = torch.aminmax(values, dim=0)                             # (u,) each
    lo, hi = _edges(lo, hi)
    neuron_offset = (torch.arange(u) * bins).unsqueeze(0)                  # (1, u)
    hist = torch.zeros(n_slots * u * bins, dtype=torch.long)
    for s in range(0, n, block):
        flat = _bin_block(values[s:s + block], lo, hi, bins)               # (b, u)
        flat += (slot[s:s + block] * (u * bins)).unsqueeze(1)              # slot block
        flat += neuron_offset                                              # neuron block
        hist += torch.bincount(flat.view(-1), minlength=n_slots * u * bins)
    return hist.view(n_slots, u, bins)


def hellinger_from_counts(pos: torch.Tensor, total: torch.Tensor, n_pos: torch.Tensor,
                          n_neg: torch.Tensor) -> torch.Tensor:
    """H for histograms given as counts: pos (k, u, bins) of each y, total (u, bins) of x, and
    the row totals n_pos (k,), n_neg (k,). Same value as hellinger(pos, total - pos)."""
    bc = (pos * (total - pos)).double().sqrt_().sum(-1)                   # (k, u)
    bc /= (n_pos.double() * n_neg.double()).sqrt().unsqueeze(1)
    return (1.0 - bc).clamp_(min=0.0).sqrt_()


@dataclass
class PermutationNull:
    """What H gives for each (target y, neuron) when the labels y are shuffled within the
    positions of x: the noise floor of a histogram distance at these sample sizes."""
    mean: torch.Tensor        # (k, u) mean H over the shuffles
    std: torch.Tensor         # (k, u) standard deviation over the shuffles
    p_value: torch.Tensor     # (k, u) against the null pooled over the layer's units (pooled_p_values)
    shuffles: int


def permutation_null(binned: torch.Tensor, total: torch.Tensor, n_pos: torch.Tensor, observed: torch.Tensor,
                     bins: int, shuffles: int = 20, generator: torch.Generator | None = None) -> PermutationNull:
    """Label-permutation null of `hellinger_from_counts` for every target y of one input x.

    binned (n, u): flat_bins of the n positions of x, every unit of one layer; total (u, bins):
    their histograms; n_pos (k,): positions with each target; observed (k, u): the real H.

    A shuffle of y over the positions of x makes the positions of y a uniformly random subset of
    size n_pos. H is symmetric in its two sides, so the subset is drawn on the smaller side
    (m = min(n_pos, n - n_pos) rows): the same law at a fraction of the cost. Each target gets
    its own subset (only the marginal null of each pair is wanted), and all targets of a shuffle
    are counted with one bincount.
    """
    n, u = binned.shape
    k = n_pos.numel()
    m = torch.minimum(n_pos, n - n_pos).long()                                   # (k,) rows drawn
    slot_offset = torch.repeat_interleave(
        torch.arange(k, dtype=binned.dtype) * (u * bins), m).unsqueeze(1)        # (sum m, 1)
    samples = torch.empty(shuffles, k, u, dtype=torch.float64)
    for s in range(shuffles):
        rows = torch.cat([torch.randperm(n, generator=generator)[:mj] for mj in m.tolist()])
        flat = binned.index_select(0, rows).add_(slot_offset)                     # (sum m, u)
        hist = torch.bincount(flat.view(-1), minlength=k * u * bins).view(k, u, bins)
        samples[s] = hellinger_from_counts(hist, total, m.double(), (n - m).double())   # (k, u)
    mean = samples.mean(0)
    std = samples.std(0) if shuffles > 1 else torch.zeros_like(mean)
    return PermutationNull(mean.float(), std.float(), pooled_p_values(observed.double(), samples).float(), shuffles)


def _standardized(value: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """(value - mean) / sd; a unit whose references do not vary gives 0 when the value equals
    them and +-inf when it does not (a constant unit cannot be told from its shuffles)."""
    diff, sd = value - mean, var.clamp(min=0.0).sqrt()
    flat = sd <= 1e-12
    signed = torch.where(diff > 1e-12, torch.inf, torch.where(diff < -1e-12, -torch.inf, 0.0))
    return torch.where(flat, signed, diff / torch.where(flat, 1.0, sd))


def pooled_p_values(observed: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
    """Permutation p-values of H against a null pooled over the units of a layer, for each target.

    observed (k, u), samples (S, k, u): H and its S label shuffles, float64. With S shuffles a
    unit's own p cannot go below 1 / (1 + S), too coarse to correct thousands of tests. Each
    value is put on one scale first: the observed H standardized by the mean and spread of S - 1
    of its unit's shuffles, and every shuffle by the other S - 1 of the same unit; under the null
    (labels unrelated to the unit) the observed and each shuffle are then alike, so the observed
    is ranked among the S x u standardized shuffles of all the layer's units for that target:
    p = (1 + #{null z >= observed z}) / (1 + S u), floor 1 / (1 + S u). -> (k, u).

    Pooling assumes the standardized nulls of a layer's units have one shape, which holds for
    histogram distances of units with the same positions and bins far better than their raw
    values do (a unit's null mean depends on how many bins its activations fill). Needs S >= 3;
    with fewer shuffles each unit's own p is returned.
    """
    S, k, u = samples.shape
    if S < 3:
        exceed = (samples >= observed - 1e-12).sum(0)
        return (1 + exceed).double() / (1 + S)
    total, squares = samples.sum(0), (samples * samples).sum(0)                  # (k, u)
    loo_mean = (total - samples) / (S - 1)                                       # (S, k, u) without itself
    loo_var = ((squares - samples * samples) - (S - 1) * loo_mean * loo_mean) / (S - 2)
    null_z = _standardized(samples, loo_mean, loo_var)                           # (S, k, u)
    references = samples[:-1]                                                    # S - 1 of them, as for a shuffle
    observed_z = _standardized(observed, references.mean(0), references.var(0))  # (k, u)
    pooled = null_z.permute(1, 0, 2).reshape(k, S * u).sort(dim=1).values       # (k, S u)
    below = torch.searchsorted(pooled, observed_z.contiguous(), right=False)     # null z < observed z
    return (1 + (S * u - below)).double() / (1 + S * u)


def bh_q_values(p_values: torch.Tensor) -> torch.Tensor:
    """Benjamini-Hochberg adjusted p-values (q-values) of one family of tests, any shape:
    the smallest false discovery rate at which each test would be called (scipy's
    false_discovery_control)."""
    from scipy.stats import false_discovery_control
    flat = p_values.detach().double().flatten().clamp(0.0, 1.0).numpy()
    if flat.size == 0:
        return p_values.clone()
    return torch.from_numpy(false_discovery_control(flat, method="bh")).reshape(p_values.shape).to(p_values.dtype)


def ranked_units(scores: torch.Tensor) -> torch.Tensor:
    """Indices of scores (…, u) in descending order, ties broken by lower index (stable)."""
    return torch.sort(scores, dim=-1, descending=True, stable=True).indices


def percentile_interval(samples: torch.Tensor, level: float = 0.95) -> tuple[float, float]:
    """The (1 - level) / 2 and (1 + level) / 2 quantiles of resampled values (a percentile interval),
    computed in float64."""
    q = torch.quantile(samples.double(), torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64))
    return float(q[0]), float(q[1])



def mcnemar(a: "list[bool] | torch.Tensor", b: "list[bool] | torch.Tensor") -> tuple[int, int, float]:
    """McNemar's exact test of two classifiers scored on the same items (a[i], b[i]: each right on
    item i): only the items they disagree on count, and under the null each disagreement goes
    either way with probability 1/2. -> (right in a only, right in b only, two-sided p)."""
    from scipy.stats import binomtest
    a, b = torch.as_tensor(a, dtype=torch.bool), torch.as_tensor(b, dtype=torch.bool)
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes need the same items: {tuple(a.shape)} and {tuple(b.shape)}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return only_a, only_b, float(p)
