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
    p_value: torch.Tensor     # (k, u) (1 + #shuffles with H >= observed) / (1 + shuffles)
    shuffles: int


def permutation_null(binned: torch.Tensor, total: torch.Tensor, n_pos: torch.Tensor, observed: torch.Tensor,
                     bins: int, shuffles: int = 20, generator: torch.Generator | None = None) -> PermutationNull:
    """Label-permutation null of `hellinger_from_counts` for every target y of one input x.

    binned (n, u): flat_bins of the n positions of x; total (u, bins): their histograms;
    n_pos (k,): positions with each target; observed (k, u): the real H.

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
    total_sum = torch.zeros(k, u, dtype=torch.float64)
    total_sq = torch.zeros(k, u, dtype=torch.float64)
    exceed = torch.zeros(k, u, dtype=torch.long)
    for _ in range(shuffles):
        rows = torch.cat([torch.randperm(n, generator=generator)[:mj] for mj in m.tolist()])
        flat = binned.index_select(0, rows).add_(slot_offset)                     # (sum m, u)
        hist = torch.bincount(flat.view(-1), minlength=k * u * bins).view(k, u, bins)
        h = hellinger_from_counts(hist, total, m.double(), (n - m).double())     # (k, u)
        total_sum += h
        total_sq += h * h
        exceed += (h >= observed.double() - 1e-12).long()
    mean = total_sum / shuffles
    var = (total_sq / shuffles - mean * mean).clamp_(min=0.0) * (shuffles / max(shuffles - 1, 1))
    return PermutationNull(mean.float(), var.sqrt().float(), ((1 + exceed) / (1 + shuffles)).float(), shuffles)


def ranked_units(scores: torch.Tensor) -> torch.Tensor:
    """Indices of scores (…, u) in descending order, ties broken by lower index (stable)."""
    return torch.sort(scores, dim=-1, descending=True, stable=True).indices


def percentile_interval(samples: torch.Tensor, level: float = 0.95) -> tuple[float, float]:
    """The (1 - level) / 2 and (1 + level) / 2 quantiles of resampled values (a percentile interval),
    computed in float64."""
    q = torch.quantile(samples.double(), torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64))
    return float(q[0]), float(q[1])

