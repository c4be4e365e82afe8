"""The biLSTM unrolled by hand, so that every gate and cell of every position can be read.

torch.nn.LSTM only returns h. The analysis needs, per position and direction, the input gate
i, forget gate f, cell input g, output gate o, the cell c, the neighbouring cell it updated
(c_prev for the forward direction, c_next for the backward one) and h = o * tanh(c). This
module recomputes them from the *same* parameter tensors as the trained nn.LSTM (nothing is
copied), with PyTorch's equations and gate order (i, f, g, o):

    i = sigmoid(W_ii x + b_ii + W_hi h' + b_hi)      h' = the previous h in reading order
    f = sigmoid(W_if x + b_if + W_hf h' + b_hf)      (t-1 forward, t+1 backward; 0 at the ends)
    g = tanh   (W_ig x + b_ig + W_hg h' + b_hg)
    o = sigmoid(W_io x + b_io + W_ho h' + b_ho)
    c = f * c' + i * g
    h = o * tanh(c)

Neuron names are one scheme everywhere (CLI, files, URLs): `NeuronId("concat.fwd", 70)`,
written "concat.fwd:70". The layers, in the order used by every table:

    concat.fwd concat.bwd       the biLSTM outputs h (lstm units each)
    hidden                      the dense tanh layer
    gate.fwd.{i,f,g,o} cell.fwd cell_prev.fwd
    gate.bwd.{i,f,g,o} cell.bwd cell_next.bwd
    output                      the logits (index = output class)
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

GATES = ("i", "f", "g", "o")   # PyTorch's row order inside weight_ih / weight_hh

# Every layer the analysis knows, in table order. Directional layers come in the same order
# for both directions so that "the same index in the six gate and cell rows" lines up.
LAYERS: tuple[str, ...] = (
    "concat.fwd", "concat.bwd", "hidden",
    "gate.fwd.i", "gate.fwd.f", "gate.fwd.g", "gate.fwd.o", "cell.fwd", "cell_prev.fwd",
    "gate.bwd.i", "gate.bwd.f", "gate.bwd.g", "gate.bwd.o", "cell.bwd", "cell_next.bwd",
    "output",
)

# unrolled_bilstm() key -> public layer name
UNROLLED_TO_LAYER = {
    "h.fwd": "concat.fwd", "h.bwd": "concat.bwd",
    **{f"{g}.{d}": f"gate.{d}.{g}" for d in ("fwd", "bwd") for g in GATES},
    "c.fwd": "cell.fwd", "c_prev.fwd": "cell_prev.fwd",
    "c.bwd": "cell.bwd", "c_next.bwd": "cell_next.bwd",
}


class UnknownName(ValueError):
    """A neuron, layer or pair name that does not exist; the message lists the valid ones."""


def layer_sizes(lstm_units: int, hidden_units: int, n_out: int) -> dict[str, int]:
    sizes = {name: lstm_units for name in LAYERS}
    sizes["hidden"], sizes["output"] = hidden_units, n_out
    return sizes


def model_layer_sizes(model) -> dict[str, int]:
    cfg = model.config
    return layer_sizes(cfg.lstm, cfg.hidden, cfg.n_out)


@dataclass(frozen=True, order=True)
class NeuronId:
    layer: str
    index: int

    def __str__(self) -> str:
        return f"{self.layer}:{self.index}"

    @classmethod
    def parse(cls, name: "str | NeuronId", sizes: dict[str, int] | None = None) -> "NeuronId":
        """"concat.fwd:70" -> NeuronId. With `sizes` ({layer: units}) the index is range-checked."""
        if isinstance(name, NeuronId):
            neuron = name
        else:
            layer, sep, index = str(name).strip().rpartition(":")
            if not sep or not index.strip().isdigit():
                raise UnknownName(f"neuron {name!r} is not of the form LAYER:INDEX (e.g. concat.fwd:70); "
                                  f"layers: {', '.join(LAYERS)}")
            neuron = cls(layer, int(index))
        if neuron.layer not in LAYERS:
            raise UnknownName(f"unknown layer {neuron.layer!r} in neuron {str(name)!r}; layers: {', '.join(LAYERS)}")
        if sizes is not None and not 0 <= neuron.index < sizes[neuron.layer]:
            raise UnknownName(f"neuron {neuron} out of range: layer {neuron.layer} has indices "
                              f"0..{sizes[neuron.layer] - 1}")
        return neuron


def parse_layer(name: str) -> str:
    if name not in LAYERS:
        raise UnknownName(f"unknown layer {name!r}; layers: {', '.join(LAYERS)}")
    return name


# -----------------------------------------------------------------------------
# the recurrence

def direction_params(lstm: nn.LSTM, reverse: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W_ih (4H, n_in), W_hh (4H, H), b_ih + b_hh (4H,)) of one direction."""
    if lstm.num_layers != 1 or not lstm.bidirectional or not lstm.bias or lstm.proj_size:
        raise ValueError("unrolled_bilstm supports a single-layer bidirectional nn.LSTM with biases")
    suffix = "_reverse" if reverse else ""
    w_ih = getattr(lstm, f"weight_ih_l0{suffix}")
    w_hh = getattr(lstm, f"weight_hh_l0{suffix}")
    bias = getattr(lstm, f"bias_ih_l0{suffix}") + getattr(lstm, f"bias_hh_l0{suffix}")
    return w_ih, w_hh, bias


def input_projection(w_ih: torch.Tensor, bias: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """W_ih x + b for every position: (B, T, 4H). `inputs` is one-hot/dense (B, T, n_in) or
    class indices (B, T); indices take a row gather instead of a matmul with a one-hot."""
    if inputs.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        return F.embedding(inputs.long(), w_ih.t()) + bias
    return inputs.to(w_ih.dtype) @ w_ih.t() + bias


def reversal_index(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) index that reverses each row within its length and leaves the padding in place.
    It is its own inverse, so the same gather undoes it."""
    t = torch.arange(T, device=lengths.device).unsqueeze(0)            # (1, T)
    L = lengths.to(t.device).unsqueeze(1)                               # (B, 1)
    return torch.where(t < L, L - 1 - t, t)                             # (B, T)


def recurrence(xproj: torch.Tensor, w_hh: torch.Tensor, keep_gates: bool = True) -> dict[str, torch.Tensor]:
    """Run one LSTM direction left to right over xproj (B, T, 4H) from zero state.

    Returns (B, T, H) tensors h, c, c_before (the cell the step started from) and, with
    keep_gates, i, f, g, o. Padding at the right end of a row never reaches its real positions.
    """
    B, T, H4 = xproj.shape
    H = H4 // 4
    steps = xproj.transpose(0, 1).contiguous()                          # (T, B, 4H): contiguous per step
    w_hh_t = w_hh.t().contiguous()                                      # (H, 4H)
    out = {k: xproj.new_empty(T, B, H) for k in ("h", "c") + (GATES if keep_gates else ())}
    h = xproj.new_zeros(B, H)
    c = xproj.new_zeros(B, H)
    gates = xproj.new_empty(B, H4)
    tanh_c = xproj.new_empty(B, H)
    for t in range(T):
        torch.addmm(steps[t], h, w_hh_t, out=gates)                      # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        i, f, o = i.sigmoid_(), f.sigmoid_(), o.sigmoid_()
        g = g.tanh_()
        c_new, h_new = out["c"][t], out["h"][t]
        torch.mul(f, c, out=c_new).addcmul_(i, g)                       # c = f * c' + i * g
        torch.mul(o, torch.tanh(c_new, out=tanh_c), out=h_new)          # h = o * tanh(c)
        h, c = h_new, c_new
        if keep_gates:
            out["i"][t], out["f"][t], out["g"][t], out["o"][t] = i, f, g, o
    # The cell each step started from is the previous step's (zero before the first).
    out["c_before"] = torch.cat([xproj.new_zeros(1, B, H), out["c"][:-1]])
    return {k: v.transpose(0, 1) for k, v in out.items()}               # (B, T, H) each


def unrolled_bilstm(lstm: nn.LSTM, onehot: torch.Tensor, lengths: torch.Tensor | None = None,
                    keep_gates: bool = True) -> dict[str, torch.Tensor]:
    """Every internal of a trained bidirectional nn.LSTM (batch_first).

    onehot: (B, T, n_in) one-hot (or any dense input), or (B, T) class indices.
    lengths: (B,) true lengths when rows are right-padded; positions past a row's length are
    garbage (but never leak into real positions, in either direction).
    Returns {key: (B, T, H)} with keys h.fwd i.fwd f.fwd g.fwd o.fwd c.fwd c_prev.fwd and
    h.bwd i.bwd f.bwd g.bwd o.bwd c.bwd c_next.bwd (gates only with keep_gates).
    """
    B, T = onehot.shape[:2]
    out: dict[str, torch.Tensor] = {}
    for direction, reverse in (("fwd", False), ("bwd", True)):
        w_ih, w_hh, bias = direction_params(lstm, reverse)
        xproj = input_projection(w_ih, bias, onehot)                    # (B, T, 4H)
        if reverse:
            # The backward LSTM reads each row from its last real character to its first:
            # reverse within the length, run left to right, reverse back.
            rev = (reversal_index(lengths, T) if lengths is not None
                   else torch.arange(T - 1, -1, -1, device=xproj.device).expand(B, T))
            xproj = xproj.gather(1, rev.unsqueeze(-1).expand_as(xproj))
        res = recurrence(xproj, w_hh, keep_gates)
        if reverse:
            res = {k: v.gather(1, rev.unsqueeze(-1).expand_as(v)) for k, v in res.items()}
        neighbour = "c_prev" if direction == "fwd" else "c_next"
        for k, v in res.items():
            out[f"{neighbour if k == 'c_before' else k}.{direction}"] = v
    return out


def layer_activations(model, x: torch.Tensor, lengths: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """All layers of `model` (a TranslitNet) for input classes x (B, T): {layer: (B, T, units)}."""
    with torch.no_grad():
        parts = unrolled_bilstm(model.lstm, x, lengths, keep_gates=True)
        acts = {UNROLLED_TO_LAYER[k]: v for k, v in parts.items()}
        concat = torch.cat([acts["concat.fwd"], acts["concat.bwd"]], dim=-1)        # (B, T, 2H)
        acts["hidden"] = torch.tanh(model.dense(concat))                             # (B, T, hidden)
        onehot = F.one_hot(x.long(), model.config.n_in).to(concat.dtype)             # (B, T, n_in)
        acts["output"] = model.out(torch.cat([acts["hidden"], onehot], dim=-1))      # (B, T, n_out)
    return {name: acts[name] for name in LAYERS}
