"""On-demand questions over the sample recording: one histogram, top contexts, and the neurons
that mark a substring. The dashboard and the CLI ask them; they are not stored in the file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..model.checkpoint import load_checkpoint
from ..model.names import READOUT_LAYERS, NeuronId, UnknownName, parse_layer
from ..text.rules import load_rules
from .measurement.names import DEFAULT_BINS, Pair
from .measurement.recording import Recording, pair_activations, record_activations
from .measurement.stats import hellinger, ranked_units, slot_histograms
from .store import Analysis
from .measurement.tables import NeuronScore


@dataclass
class Histogram:
    pair: str
    neuron: str
    edges: list[float]           # bins + 1 edges
    density_pos: list[float]     # density (integrates to 1) of positions with target y
    density_neg: list[float]     # density of positions with input x and another target
    counts_pos: list[int]
    counts_neg: list[int]
    hellinger: float
    n_pos: int
    n_neg: int

    def to_dict(self) -> dict:
        return asdict(self)


def histogram(source, pair: "str | Pair", neuron: "str | NeuronId", bins: int = DEFAULT_BINS,
              data_dir: str | Path | None = None) -> Histogram:
    """Histograms of one neuron on one pair, recomputed: the neuron's values on the positions of
    input x, split by whether the target is y, in `bins` equal bins between their min and max.

    source: a checkpoint directory (or None for the default; uses its analysis and cached
    recording), an Analysis, or a Recording.
    """
    recording = _recording_from(source, data_dir)
    # The whole layer, then the unit: the same arithmetic as the tables' pass (a one-unit matmul
    # can differ in the last bits, which moves the min and max and with them every bin edge).
    values, is_pos, _ = pair_activations(recording, pair, neuron, whole_layer=True)
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise UnknownName(f"pair {pair}: every position with that input has {'that' if n_neg == 0 else 'another'} "
                          f"target, so there is nothing to compare")
    lo, hi = values.min().reshape(1), values.max().reshape(1)
    counts = slot_histograms(values.unsqueeze(1), (~is_pos).long(), 2, bins, lo, hi)[:, 0]   # (2, bins)
    lo_e, hi_e = (float(lo) - 0.5, float(hi) + 0.5) if float(lo) == float(hi) else (float(lo), float(hi))
    edges = np.linspace(lo_e, hi_e, bins + 1)
    width = (hi_e - lo_e) / bins
    return Histogram(pair=str(pair), neuron=str(NeuronId.parse(neuron)), edges=edges.tolist(),
                     density_pos=(counts[0].double() / (n_pos * width)).tolist(),
                     density_neg=(counts[1].double() / (n_neg * width)).tolist(),
                     counts_pos=counts[0].tolist(), counts_neg=counts[1].tolist(),
                     hellinger=float(hellinger(counts[0], counts[1])), n_pos=n_pos, n_neg=n_neg)


def _recording_from(source, data_dir=None) -> Recording:
    if isinstance(source, Recording):
        return source
    if isinstance(source, Analysis):
        return source.recording(data_dir)
    return Analysis.load(source).recording(data_dir)


@dataclass(frozen=True)
class Context:
    """A Latin snippet around a position where a neuron is most active. Unpacks as
    (snippet, activations); `focus` is the index of that position inside the snippet."""
    snippet: str
    activations: list[float]   # one per character of the snippet
    focus: int
    value: float

    def __iter__(self):
        return iter((self.snippet, self.activations))


def top_contexts(neuron: "str | NeuronId", k: int = 10, source=None, window: int = 15,
                 lowest: bool = False) -> list[Context]:
    """The k positions of the sample (at most one per chunk) where the neuron is highest (or
    lowest), each with its surrounding Latin text and the neuron's value on every character."""
    recording = _recording_from(source)
    neuron = NeuronId.parse(neuron, recording.sizes)
    values = recording.layer(neuron.layer, None, units=[neuron.index]).squeeze(1)       # (P,)
    order = torch.argsort(values, descending=not lowest, stable=True)
    chunk = recording.chunk_of(order)
    seen, out = set(), []
    for pos, ch in zip(order.tolist(), chunk.tolist()):
        if ch in seen:
            continue
        seen.add(ch)
        a0, b0 = int(recording.chunk_start[ch]), int(recording.chunk_start[ch + 1])
        a, b = max(a0, pos - window), min(b0, pos + window + 1)
        text = recording.chunks[ch][a - a0:b - a0]
        out.append(Context(text, [round(float(v), 4) for v in values[a:b]], pos - a, float(values[pos])))
        if len(out) >= k:
            break
    return out


def span_mask(recording: Recording, substring: str) -> torch.Tensor:
    """(P,) True at the Latin positions whose aligned Armenian text is part of an occurrence of
    `substring` (matched on the Armenian side, so every typed spelling counts; case-sensitive)."""
    tokens = recording.target_tokens()
    mask = torch.zeros(recording.n_positions, dtype=torch.bool)
    for ch in range(len(recording.chunks)):
        a, b = int(recording.chunk_start[ch]), int(recording.chunk_start[ch + 1])
        toks = tokens[a:b]
        text = "".join(toks)
        owner = [i for i, t in enumerate(toks) for _ in t]          # Armenian char -> Latin position
        start = text.find(substring)
        while start >= 0:
            first, last = owner[start], owner[start + len(substring) - 1]
            while last + 1 < len(toks) and toks[last + 1] == "":       # placeholders that finish the span
                last += 1
            mask[a + first:a + last + 1] = True
            start = text.find(substring, start + 1)
    return mask


def substring_selectivity(text_or_recording, substring: str,
                          layers: tuple[str, ...] = READOUT_LAYERS, top: int = 10,
                          bins: int = 100, control_input: bool = True, checkpoint_dir=None, seed: int = 0
                          ) -> list[NeuronScore]:
    """Neurons whose activation best separates positions inside an occurrence of `substring`
    (Armenian, e.g. "ություն") from positions outside it, by Hellinger distance.

    With control_input (default) "outside" is restricted to positions typed with the same Latin
    characters as the inside ones, so a neuron that merely fires on the letter "y" does not win.
    text_or_recording: a Recording, or Armenian sentences (list or one string, recorded with the
    checkpoint). Returns the `top` neurons of each layer, best first within each layer; n_pos /
    n_neg are the inside / outside counts.
    """
    if isinstance(text_or_recording, Recording):
        recording = text_or_recording
    else:
        sentences = [text_or_recording] if isinstance(text_or_recording, str) else list(text_or_recording)
        model, alphabets, _ = load_checkpoint(checkpoint_dir)
        recording = record_activations(model, alphabets, sentences, load_rules(), seed=seed)
    inside = span_mask(recording, substring)
    if not inside.any():
        raise UnknownName(f"{substring!r} does not occur in the sample text")
    outside = ~inside
    if control_input:
        outside &= torch.isin(recording.x, recording.x[inside].unique())
    positions = (inside | outside).nonzero().squeeze(1)
    slot = (~inside[positions]).long()                                        # 0 inside, 1 outside
    n_in, n_out = int(inside.sum()), int(outside.sum())
    out: list[NeuronScore] = []
    for name in layers:
        acts = recording.layer(parse_layer(name), positions)                      # (n, u)
        hist = slot_histograms(acts, slot, 2, bins)                            # (2, u, bins)
        scores = hellinger(hist[0], hist[1]).float()                           # (u,)
        for i in ranked_units(scores)[:top].tolist():
            out.append(NeuronScore(NeuronId(name, i), float(scores[i]), n_in, n_out))
    return out
