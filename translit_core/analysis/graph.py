"""The neuron graph's edges: weight x mean activation.

Two kinds of direct connection: concat.* -> hidden (the dense layer's weights, before the tanh)
and hidden -> output (the output layer's weights, before the softmax). An edge's contribution
over a set of positions is the mean of weight x activation of its lower neuron, which is the
weight times the lower neuron's mean activation, the contribution being linear in it.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch

from ..model.names import CONCAT_LAYERS, NeuronId


def edge_weights(weights: Mapping[str, torch.Tensor], lower: list[NeuronId], upper: list[NeuronId]) -> torch.Tensor:
    """(len(lower), len(upper)) weight of the direct connection from each lower neuron to each
    upper one (concat.* -> hidden: the dense layer; hidden -> output: the output layer), 0 where
    there is none. `weights` holds TranslitNet's "dense.weight" and "out.weight"."""
    dense, out = weights["dense.weight"], weights["out.weight"]
    H = dense.shape[1] // 2                                   # concat = [forward h | backward h]
    w = torch.zeros(len(lower), len(upper))
    for a, lo in enumerate(lower):
        for b, up in enumerate(upper):
            if up.layer == "hidden" and lo.layer in CONCAT_LAYERS:
                w[a, b] = dense[up.index, lo.index + (H if lo.layer == "concat.bwd" else 0)]
            elif up.layer == "output" and lo.layer == "hidden":
                w[a, b] = out[up.index, lo.index]
    return w


def contributions(weights: Mapping[str, torch.Tensor], lower: list[NeuronId], upper: list[NeuronId],
                  lower_means: torch.Tensor) -> torch.Tensor:
    """(len(lower), len(upper)) mean contribution of each lower neuron to each upper one:
    `edge_weights` times the lower neuron's mean activation `lower_means` (len(lower),). Signs are
    kept; 0 where the two are not directly connected."""
    return edge_weights(weights, lower, upper) * lower_means.unsqueeze(1)


__all__ = ["edge_weights", "contributions"]
