"""Interpretability regularizers: terms added to the training loss that ask the concat and hidden
activations to be easier to read (the question YerevaNN's "Interpreting neurons in an LSTM
network" leaves open).

- `decov` (Cogswell et al. 2016, "Reducing Overfitting in Deep Networks by Decorrelating
  Representations"): half the squared Frobenius norm of the off-diagonal covariance of the units
  over the batch's positions. Correlated units share a job; penalising it asks each unit for a
  job of its own, which is what a neuron-by-neuron reading (one unit, one pair) assumes.
- `l1` (activation sparsity, as in sparse coding and sparse autoencoders): the mean absolute
  activation. Units that are zero most of the time and fire on few contexts read as detectors.

The covariance is taken over positions (rows) per layer, the biLSTM's two directions together
(456 units) and the dense layer apart (228), since the two layers are read separately.
"""
from __future__ import annotations

import torch

REGULARIZERS = ("", "decov", "l1")


def decov(acts: torch.Tensor) -> torch.Tensor:
    """acts (N, units) -> 0.5 * (||C||_F^2 - ||diag C||^2), C the (units, units) covariance over
    the N rows (divided by N, as in the paper). A scalar, differentiable."""
    centred = acts - acts.mean(0, keepdim=True)                                  # (N, u)
    cov = centred.t() @ centred / acts.shape[0]                                  # (u, u)
    return 0.5 * (cov.pow(2).sum() - torch.diagonal(cov).pow(2).sum())


def activation_l1(acts: torch.Tensor) -> torch.Tensor:
    """acts (N, units) -> the mean absolute activation (a scalar)."""
    return acts.abs().mean()


def regularization(kind: str, layers: dict[str, torch.Tensor]) -> torch.Tensor:
    """The term for `kind` summed over `layers` ({name: (..., units)}, flattened to rows).
    `kind` "" gives 0."""
    if kind not in REGULARIZERS:
        raise ValueError(f"unknown regularizer {kind!r}; choose from {', '.join(r or '(none)' for r in REGULARIZERS)}")
    total = torch.zeros(())
    if not kind:
        return total
    term = decov if kind == "decov" else activation_l1
    for acts in layers.values():
        total = total + term(acts.float().reshape(-1, acts.shape[-1]))
    return total
