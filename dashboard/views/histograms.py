"""A neuron's activation where x becomes y against where x becomes anything else, ready to draw.

The engine computes the histogram (`translit_core.analysis.histogram`, 1000 equal bins, and H on
them); this re-bins it to about 80 bins for the screen, keeping the engine's H and counts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from translit_core.analysis import Histogram, Pair, histogram
from translit_core.model.names import NeuronId

from .lab import FIRST_SENTENCES, QUERY_ERRORS, Lab, Unavailable
from .markdown import md_plain


@dataclass
class HistView:
    """Bin centres and the two densities (each integrates to 1), with the engine's H and counts."""
    centers: np.ndarray
    width: float
    pos: np.ndarray          # where x became y
    neg: np.ndarray          # where x became anything else
    hellinger: float
    n_pos: int
    n_neg: int
    pair: str = ""
    neuron: str = ""
    first_sentences: int | None = None   # drawn from the sample's first sentences only (None: all of it)


def hist_view(h: Histogram, pair: str = "", neuron: str = "", bins: int = 80) -> HistView:
    """The engine's histogram re-binned for display to about `bins` bins (whole groups of its
    fine bins, so that each density still integrates to 1)."""
    edges = np.asarray(h.edges, dtype=float)
    pos, neg = (np.asarray(d, dtype=float) for d in (h.density_pos, h.density_neg))
    n = len(pos)
    factor = max(1, int(math.ceil(n / bins)))
    m = int(math.ceil(n / factor)) * factor

    def mass(d):
        d = np.nan_to_num(d.clip(min=0))
        tot = d.sum()
        d = d / tot if tot > 0 else d
        d = np.pad(d, (0, m - n))
        return d.reshape(-1, factor).sum(1)

    lo, hi = edges[0], edges[-1]
    width = (hi - lo) / n * factor if hi > lo else 1.0
    centers = lo + width * (np.arange(m // factor) + 0.5)
    return HistView(centers, width, mass(pos) / width, mass(neg) / width, float(h.hellinger),
                    int(h.n_pos), int(h.n_neg), pair, neuron)


def histogram_for(lab: Lab, pair: "Pair | str", neuron: "NeuronId | str", bins: int = 80,
                  whole: bool = True) -> HistView:
    """The histogram of a neuron on a pair, recomputed from the sample recording (whole=False:
    from its first sentences, Lab.first_sentences). Unavailable (with the reason) when it cannot be."""
    try:
        # The analysis's own bins: with the whole sample, H is the table's (and the CLI's `histogram`).
        h = histogram(lab.sample_recording(whole), lab.analysis.parse_pair(pair), lab.analysis.parse_neuron(neuron),
                      bins=lab.analysis.tables.bins)
    except QUERY_ERRORS as e:
        raise Unavailable(f"The histogram of {neuron} on {pair} cannot be computed: {md_plain(e)}") from None
    view = hist_view(h, str(pair), str(neuron), bins)
    view.first_sentences = None if whole else FIRST_SENTENCES
    return view
