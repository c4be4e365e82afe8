"""Neuron clusters and redundancy (NeuroX: Dalvi et al. 2020, "Analyzing redundancy in pretrained
transformer models"; the toolkit's correlation clustering).

Per layer: the Pearson correlation of every two units' activations over a seeded subsample of the
sample's positions, and an agglomerative clustering of the units on the distance 1 - |r| (scipy,
average linkage). The sign is dropped because a unit and its mirror image carry the same
information (the layer above can read either with a negative weight).

The cut, CUT = 0.7: two groups merge while the mean |r| between their units is at least 0.3
(r^2 >= 0.09: they share about a tenth of their variance or more). Over 50,000 positions r's
standard error is about 0.005, so 0.3 is far above noise; it groups units that move together.
A stricter cut finds nothing in our model: at 0.3 (|r| >= 0.7, "redundant copies") the shipped
model's concat.fwd has 228 clusters of its 228 units, concat.bwd 227 and hidden 220 (measured on
the analysis sample), so the layers hold no near-copies at all, and a pair's top 10 would always be
10 clusters, as would any 10 random units: a null that cannot tell anything apart. The correlation
matrices are stored too (float16), so any other cut is a recomputation away (`LayerClusters.recut`).

For a pair, how many distinct clusters its top k units (by H excess) fall into answers "one
redundant group, or many independent units?"; the reference is the same count for k units drawn
at random from the layer (the null: its mean and 95% interval over seeded draws).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ...model.names import READOUT_LAYERS, NeuronId, UnknownName
from ..measurement.stats import percentile_interval

CLUSTER_LAYERS = READOUT_LAYERS + ("cell.fwd", "cell.bwd")
CUT = 0.7                  # distance 1 - |r| at which the average-linkage tree is cut (see above)
SUBSAMPLE = 50_000         # positions behind the correlations (seeded): r's standard error ~ 0.005
NEIGHBOURS = 5             # nearest units by |r| kept per unit
NULL_DRAWS = 2000          # random k-unit draws behind a pair's null


def correlation(acts: torch.Tensor) -> torch.Tensor:
    """acts (n, units) -> (units, units) Pearson r. A constant unit has no correlation with
    anything: r = 0 with every other unit (1 with itself), not NaN."""
    x = acts.double()
    x = x - x.mean(0, keepdim=True)
    norm = x.norm(dim=0)                                                  # (units,)
    z = x / torch.where(norm > 0, norm, torch.ones_like(norm))
    r = (z.T @ z).clamp_(-1.0, 1.0)                                       # (units, units)
    r[norm == 0] = 0.0
    r[:, norm == 0] = 0.0
    r.fill_diagonal_(1.0)
    return r.float()


def agglomerate(r: torch.Tensor, cut: float = CUT) -> torch.Tensor:
    """(units, units) r -> (units,) cluster labels: average linkage on 1 - |r|, cut at `cut`.
    Labels are 0..C-1, numbered by cluster size (largest first), then by smallest member."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    u = r.shape[0]
    if u < 2:
        return torch.zeros(u, dtype=torch.long)
    d = (1.0 - r.abs().double()).clamp_(min=0.0).numpy()
    np.fill_diagonal(d, 0.0)
    d = (d + d.T) / 2                                                     # exactly symmetric for squareform
    raw = fcluster(linkage(squareform(d, checks=False), method="average"), t=cut, criterion="distance")
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(raw.tolist()):
        groups.setdefault(c, []).append(i)
    order = sorted(groups.values(), key=lambda m: (-len(m), m[0]))
    labels = torch.empty(u, dtype=torch.long)
    for new, members in enumerate(order):
        labels[members] = new
    return labels


@dataclass
class LayerClusters:
    """The clusters of one layer's units."""
    layer: str
    labels: torch.Tensor           # (units,) long: cluster of each unit, 0 = the largest cluster
    representatives: torch.Tensor  # (C,) long: per cluster, the member with the highest mean |r| to the others
    cohesion: torch.Tensor         # (C,) float: mean |r| between the cluster's members (1 for a single unit)
    neighbours: torch.Tensor       # (units, NEIGHBOURS) long: the units with the highest |r| to it
    neighbour_r: torch.Tensor      # (units, NEIGHBOURS) float: their signed r
    r: torch.Tensor | None = None  # (units, units) float: the correlations (stored as float16)

    def recut(self, cut: float) -> "LayerClusters":
        """The same layer clustered at another cut (needs the stored correlations)."""
        if self.r is None:
            raise ValueError(f"no correlations stored for {self.layer}: cannot cut again")
        return clusters_from_r(self.layer, self.r.float(), cut, self.neighbours.shape[1])

    @property
    def n_clusters(self) -> int:
        return int(self.representatives.numel())

    def sizes(self) -> torch.Tensor:
        """(C,) units per cluster."""
        return torch.bincount(self.labels, minlength=self.n_clusters)

    def members(self, cluster: int) -> list[int]:
        return (self.labels == cluster).nonzero().squeeze(1).tolist()

    def cluster_of(self, index: int) -> int:
        return int(self.labels[index])

    def neighbours_of(self, index: int) -> list[tuple[int, float]]:
        return list(zip(self.neighbours[index].tolist(), self.neighbour_r[index].tolist()))


def cluster_layer(layer: str, acts: torch.Tensor, cut: float = CUT, k_neighbours: int = NEIGHBOURS) -> LayerClusters:
    """Cluster the units of one layer from its activations acts (n, units)."""
    return clusters_from_r(layer, correlation(acts), cut, k_neighbours)


def clusters_from_r(layer: str, r: torch.Tensor, cut: float = CUT, k_neighbours: int = NEIGHBOURS) -> LayerClusters:
    """Cluster the units of one layer from their correlations r (units, units)."""
    labels = agglomerate(r, cut)
    a = r.abs()
    C = int(labels.max()) + 1 if labels.numel() else 0
    reps, cohesion = torch.empty(C, dtype=torch.long), torch.empty(C)
    for c in range(C):
        m = (labels == c).nonzero().squeeze(1)
        sub = a[m][:, m]                                                  # (size, size)
        if m.numel() == 1:
            reps[c], cohesion[c] = m[0], 1.0
            continue
        mean_to_others = (sub.sum(1) - 1.0) / (m.numel() - 1)             # without itself
        reps[c] = m[int(mean_to_others.argmax())]
        cohesion[c] = mean_to_others.mean()
    k = min(k_neighbours, max(a.shape[0] - 1, 0))
    ranked = a.clone()
    ranked.fill_diagonal_(-1.0)                                           # never its own neighbour
    nb = ranked.topk(k, dim=1).indices if k else torch.empty(a.shape[0], 0, dtype=torch.long)
    return LayerClusters(layer, labels, reps, cohesion, nb, torch.gather(r, 1, nb), r)


@dataclass
class Clusters:
    """The clusters of several layers (CLUSTER_LAYERS), as analyze stores them."""
    layers: dict[str, LayerClusters]
    cut: float = CUT
    n_positions: int = 0           # positions behind the correlations
    seed: int = 0
    method: dict = field(default_factory=lambda: {
        "correlation": "Pearson r over a seeded subsample of positions", "distance": "1 - |r|",
        "linkage": "average (scipy.cluster.hierarchy)", "representative": "highest mean |r| to its cluster"})

    def layer(self, name: str) -> LayerClusters:
        if name not in self.layers:
            raise UnknownName(f"no clusters for layer {name!r}; clustered layers: {', '.join(self.layers)}")
        return self.layers[name]

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, lc in self.layers.items():
            out.update({f"cluster.{name}.labels": lc.labels.to(torch.int32),
                        f"cluster.{name}.representatives": lc.representatives.to(torch.int32),
                        f"cluster.{name}.cohesion": lc.cohesion.float(),
                        f"cluster.{name}.neighbours": lc.neighbours.to(torch.int32),
                        f"cluster.{name}.neighbour_r": lc.neighbour_r.float()})
            if lc.r is not None:         # 5 layers x 228^2 x 2 bytes: about half a megabyte
                out[f"cluster.{name}.r"] = lc.r.to(torch.float16)
        return out

    def meta(self) -> dict:
        return {"layers": list(self.layers), "cut": self.cut, "n_positions": self.n_positions, "seed": self.seed,
                "neighbours": NEIGHBOURS, "method": self.method}

    @classmethod
    def from_stored(cls, tensors: dict, meta: dict | None) -> "Clusters | None":
        """From an analysis file; None when it holds none."""
        if not meta:
            return None
        layers = {}
        for name in meta["layers"]:
            t = {part: tensors[f"cluster.{name}.{part}"] for part in
                 ("labels", "representatives", "cohesion", "neighbours", "neighbour_r")}
            layers[name] = LayerClusters(name, t["labels"].long(), t["representatives"].long(), t["cohesion"].float(),
                                         t["neighbours"].long(), t["neighbour_r"].float(),
                                         (tensors[f"cluster.{name}.r"].float() if f"cluster.{name}.r" in tensors
                                          else None))
        return cls(layers, float(meta["cut"]), int(meta["n_positions"]), int(meta.get("seed", 0)),
                   meta.get("method") or cls.__dataclass_fields__["method"].default_factory())


def recording_clusters(rec, layers=CLUSTER_LAYERS, n: int = SUBSAMPLE, seed: int = 0, cut: float = CUT) -> Clusters:
    """Clusters of every layer in `layers` from a seeded subsample of n positions of `rec`."""
    P = rec.n_positions
    g = torch.Generator().manual_seed(seed)
    positions = torch.randperm(P, generator=g)[: min(n, P)].sort().values   # sorted: memory-mapped rows in order
    acts = dict(rec.layers_at(list(layers), positions))                      # {layer: (n, units)}
    return Clusters({name: cluster_layer(name, acts[name], cut) for name in layers}, cut, int(positions.numel()), seed)


# ---- redundancy of a pair's top units

def distinct_clusters(labels: torch.Tensor, units) -> int:
    """How many different clusters the units fall into."""
    return int(torch.unique(labels[torch.as_tensor(list(units), dtype=torch.long)]).numel())


def spread_null(labels: torch.Tensor, k: int, draws: int = NULL_DRAWS, seed: int = 0) -> tuple[float, float, float]:
    """Distinct clusters among k units drawn at random (without replacement) from the layer:
    (mean, 2.5% quantile, 97.5% quantile) over `draws` seeded draws."""
    u = labels.numel()
    k = min(k, u)
    g = torch.Generator().manual_seed(seed)
    picks = torch.rand(draws, u, generator=g).argsort(1)[:, :k]              # (draws, k) distinct units
    lab = labels[picks].sort(1).values                                       # (draws, k), sorted per draw
    counts = (1 + (lab[:, 1:] != lab[:, :-1]).sum(1)).double() if k else torch.zeros(draws, dtype=torch.float64)
    return (float(counts.mean()), *percentile_interval(counts))


@dataclass
class PairSpread:
    """How a pair's top k units spread over a layer's clusters, against k random units."""
    pair: str
    layer: str
    k: int
    units: list[int]               # the top k by H excess
    clusters: list[int]            # the cluster of each
    distinct: int
    null_mean: float
    null_lo: float
    null_hi: float

    @property
    def verdict(self) -> str:
        if self.distinct < self.null_lo:
            return "redundant group"                     # fewer clusters than random units reach
        if self.distinct > self.null_hi:
            return "more spread than random"
        return "independent units"                       # as spread as random units

    def to_dict(self) -> dict:
        return {"pair": self.pair, "layer": self.layer, "k": self.k, "units": self.units, "clusters": self.clusters,
                "distinct": self.distinct, "null_mean": self.null_mean, "null_lo": self.null_lo,
                "null_hi": self.null_hi, "verdict": self.verdict}


def pair_spread(analysis, clusters: Clusters, pair, layer: str, k: int = 10, draws: int = NULL_DRAWS,
                seed: int = 0) -> PairSpread:
    """The distinct clusters among the pair's top k units of `layer` (Analysis.top_neurons), and
    the random null."""
    lc = clusters.layer(layer)
    if k < 1:
        raise ValueError("k must be at least 1")
    top = [s.neuron.index for s in analysis.top_neurons(pair, layer, k)]
    mean, lo, hi = spread_null(lc.labels, len(top), draws, seed)
    return PairSpread(str(analysis.parse_pair(pair)), layer, len(top), top, [lc.cluster_of(i) for i in top],
                      distinct_clusters(lc.labels, top), mean, lo, hi)


def pairs_served(labels: torch.Tensor, top_by_pair: dict[str, list[int]], n: int = 3) -> list[list[tuple[str, int]]]:
    """Per cluster: the pairs whose top k hold most of its members, as (pair, members in the
    top k), at most n, most first (ties by pair name). Pairs that hold none are left out."""
    C = int(labels.max()) + 1 if labels.numel() else 0
    out: list[list[tuple[str, int]]] = [[] for _ in range(C)]
    for pair, units in top_by_pair.items():
        counts = torch.bincount(labels[torch.as_tensor(units, dtype=torch.long)], minlength=C)
        for c in counts.nonzero().squeeze(1).tolist():
            out[c].append((pair, int(counts[c])))
    return [sorted(rows, key=lambda t: (-t[1], t[0]))[:n] for rows in out]


def cluster_rows(analysis, clusters: Clusters, layer: str, k: int = 10, n_pairs: int = 3) -> list[dict]:
    """One row per cluster of `layer`: {cluster, size, representative, cohesion, pairs} where
    pairs are those whose top k units (by H excess) hold most of its members."""
    lc = clusters.layer(layer)
    top = {str(p): [s.neuron.index for s in analysis.top_neurons(p, layer, k)] for p in analysis.pairs()}
    served = pairs_served(lc.labels, top, n_pairs)
    sizes = lc.sizes().tolist()
    return [{"cluster": c, "size": sizes[c], "representative": str(NeuronId(layer, int(lc.representatives[c]))),
             "cohesion": round(float(lc.cohesion[c]), 3),
             "pairs": ", ".join(f"{p} ({m})" for p, m in served[c])} for c in range(lc.n_clusters)]


def neuron_rows(clusters: Clusters, neuron: NeuronId) -> dict:
    """A unit's cluster, its representative and its nearest neighbours (the CLI's --neuron)."""
    lc = clusters.layer(neuron.layer)
    c = lc.cluster_of(neuron.index)
    return {"neuron": str(neuron), "cluster": c, "cluster_size": int(lc.sizes()[c]),
            "representative": str(NeuronId(neuron.layer, int(lc.representatives[c]))),
            "members": [str(NeuronId(neuron.layer, i)) for i in lc.members(c)],
            "neighbours": [{"neuron": str(NeuronId(neuron.layer, i)), "r": r, "cluster": lc.cluster_of(i)}
                           for i, r in lc.neighbours_of(neuron.index)]}
