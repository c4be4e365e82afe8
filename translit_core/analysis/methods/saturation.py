"""Gate saturation (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and understanding recurrent
networks", their gate figure): how often each LSTM gate unit sits at one end of its range.

For every unit of the input (i), forget (f) and output (o) gates of both directions: the fraction
of the sample's positions where it is left-saturated (sigmoid < 0.1: the gate is shut) and
right-saturated (> 0.9: the gate is open). The cell input g is a tanh, so its ends are < -0.9 and
> 0.9. A forget gate that is right-saturated almost everywhere keeps its cell across the whole
chunk: the units that carry long context. A unit near (0, 0) works in the gate's linear range.

`analyze` counts the gates as the recording pass computes them (`SaturationCounter.watch`); on a
recording loaded from the cache they are derived from the recorded h by the model's own pieces
(`Recording.layers_at`), in blocks of positions: the LSTM is never re-implemented here, and
memory stays bounded either way.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...model.names import DIRECTIONS, NeuronId, UnknownName

SATURATION_GATES = ("i", "f", "o", "g")          # the paper's three sigmoid gates, and the cell input
SATURATION_LAYERS = tuple(f"gate.{d}.{g}" for g in SATURATION_GATES for d in DIRECTIONS)
SIGMOID_ENDS = (0.1, 0.9)                        # the paper's thresholds
TANH_ENDS = (-0.9, 0.9)                          # the same 10% margin on tanh's range [-1, 1]


def thresholds(layer: str) -> tuple[float, float]:
    """(left, right) thresholds of a gate layer: a sigmoid's or, for g, a tanh's."""
    if layer not in SATURATION_LAYERS:
        raise UnknownName(f"no saturation for layer {layer!r}; gate layers: {', '.join(SATURATION_LAYERS)}")
    return TANH_ENDS if layer.endswith(".g") else SIGMOID_ENDS


def saturation_counts(acts: torch.Tensor, lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """acts (n, units) -> (left (units,), right (units,)) counts of positions with value < lo and
    > hi. Strict inequalities, as the paper's: a value exactly at a threshold is not saturated."""
    return (acts < lo).sum(0), (acts > hi).sum(0)


def saturation_fractions(acts: torch.Tensor, lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """acts (n, units) -> (left (units,), right (units,)): the fractions of the n positions where
    each unit is below lo / above hi. NaN for n = 0 (no positions: no fraction)."""
    left, right = saturation_counts(acts, lo, hi)
    n = acts.shape[0]
    if n == 0:
        nan = torch.full((acts.shape[1],), float("nan"))
        return nan, nan.clone()
    return left.double().div(n).float(), right.double().div(n).float()


@dataclass
class Saturation:
    """Left / right saturation fractions of every gate unit, over the whole sample."""
    layers: list[str]             # SATURATION_LAYERS order
    left: torch.Tensor            # (len(layers), units) float32: fraction of positions < the left threshold
    right: torch.Tensor           # (len(layers), units) float32: fraction of positions > the right threshold
    n_positions: int

    def _row(self, layer: str) -> int:
        if layer not in self.layers:
            raise UnknownName(f"no saturation for layer {layer!r}; gate layers: {', '.join(self.layers)}")
        return self.layers.index(layer)

    def of(self, neuron: NeuronId) -> tuple[float, float] | None:
        """(left, right) of a gate unit; None for a unit of another layer."""
        if neuron.layer not in self.layers:
            return None
        r = self._row(neuron.layer)
        return float(self.left[r, neuron.index]), float(self.right[r, neuron.index])

    def rows(self, layer: str | None = None) -> list[dict]:
        """One row per unit: {neuron, layer, index, left, right} (the CLI's --json), in layer order."""
        layers = self.layers if layer is None else [self.layers[self._row(layer)]]
        out = []
        for name in layers:
            r = self._row(name)
            for i, (a, b) in enumerate(zip(self.left[r].tolist(), self.right[r].tolist())):
                out.append({"neuron": f"{name}:{i}", "layer": name, "index": i, "left": a, "right": b})
        return out

    def count_right(self, layer: str, above: float = 0.9) -> int:
        """How many units of `layer` are right-saturated on more than `above` of the positions."""
        return int((self.right[self._row(layer)] > above).sum())

    def count_left(self, layer: str, above: float = 0.9) -> int:
        return int((self.left[self._row(layer)] > above).sum())

    # ---- storage: two tensors in analysis.safetensors, the rest in analysis.json
    def tensors(self) -> dict[str, torch.Tensor]:
        return {"saturation.left": self.left.float().contiguous(), "saturation.right": self.right.float().contiguous()}

    def meta(self) -> dict:
        return {"layers": list(self.layers), "n_positions": self.n_positions,
                "thresholds": {name: list(thresholds(name)) for name in self.layers},
                "what": "fraction of sample positions where the unit is < left / > right threshold"}

    @classmethod
    def from_stored(cls, tensors: dict, meta: dict | None) -> "Saturation | None":
        """From an analysis file; None when it holds none (written before saturation was stored)."""
        if not meta or "saturation.left" not in tensors or "saturation.right" not in tensors:
            return None
        left, right = tensors["saturation.left"], tensors["saturation.right"]
        if left.shape != right.shape or left.shape[0] != len(meta["layers"]):
            raise ValueError(f"saturation tensors {tuple(left.shape)} / {tuple(right.shape)} do not match "
                             f"{len(meta['layers'])} layers")
        return cls(list(meta["layers"]), left.float(), right.float(), int(meta["n_positions"]))


class SaturationCounter:
    """Saturated positions of every gate unit, counted block by block: fed by `recording_saturation`
    from a recording, or by the recording pass itself (`record_activations(watch=counter.watch)`),
    which computes every gate anyway: analyze then never derives them a second time."""

    def __init__(self, units: int, layers=SATURATION_LAYERS):
        self.layers = list(layers)
        self.left = torch.zeros(len(self.layers), units, dtype=torch.long)     # (L, units) counts
        self.right = torch.zeros(len(self.layers), units, dtype=torch.long)
        self.seen = torch.zeros(len(self.layers), dtype=torch.long)            # positions counted per layer

    def add(self, layer: str, acts: torch.Tensor) -> None:
        """Count one block of a gate layer's activations, acts (n, units)."""
        r = self.layers.index(layer)
        a, b = saturation_counts(acts, *thresholds(layer))
        self.left[r] += a
        self.right[r] += b
        self.seen[r] += acts.shape[0]

    @property
    def watch(self) -> dict:
        """{layer: add} for `record_activations`."""
        return {layer: (lambda acts, layer=layer: self.add(layer, acts)) for layer in self.layers}

    def result(self) -> Saturation:
        P = int(self.seen[0]) if len(self.layers) else 0
        if bool((self.seen != P).any()):
            raise ValueError(f"saturation layers were counted over different positions: {self.seen.tolist()}")
        denom = max(P, 1)
        return Saturation(self.layers, (self.left.double() / denom).float(), (self.right.double() / denom).float(), P)


def recording_saturation(rec, layers=SATURATION_LAYERS, block: int = 1 << 14) -> Saturation:
    """Saturation of every unit of `layers` over every position of the recording `rec`.

    Blocks of positions through `rec.layers_at`, which derives all gates of a block from the same
    gathered h rows (one matmul per gate; no (P, units) array is ever held)."""
    counter = SaturationCounter(rec.H, layers)
    for s in range(0, rec.n_positions, block):
        positions = torch.arange(s, min(s + block, rec.n_positions))
        for name, acts in rec.layers_at(counter.layers, positions):                 # acts (n, units)
            counter.add(name, acts)
    return counter.result()
