"""The names of the network's activations: one scheme everywhere (hooks, CLI, files, URLs).

A neuron is `NeuronId(layer, index)`, written "concat.fwd:70". The layers, in the order of every
table (directional layers in the same order for both directions, so that "the same index in the
six gate and cell rows" lines up):

    concat.fwd concat.bwd       the biLSTM outputs h (lstm units each)
    hidden                      the dense tanh layer
    gate.fwd.{i,f,g,o} cell.fwd cell_prev.fwd      inside the forward LSTM step
    gate.bwd.{i,f,g,o} cell.bwd cell_next.bwd      inside the backward LSTM step
    output                      the logits (index = output class)

`cell_prev.fwd` is the cell a forward step started from (c at t-1); `cell_next.bwd` the one a
backward step started from (c at t+1). Inside the recurrence a step's parts are named by
`lstm_layer(direction, part)`; this is the only place the two naming schemes meet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

GATES = ("i", "f", "g", "o")        # PyTorch's row order inside weight_ih / weight_hh
DIRECTIONS = ("fwd", "bwd")

LAYERS: tuple[str, ...] = (
    "concat.fwd", "concat.bwd", "hidden",
    "gate.fwd.i", "gate.fwd.f", "gate.fwd.g", "gate.fwd.o", "cell.fwd", "cell_prev.fwd",
    "gate.bwd.i", "gate.bwd.f", "gate.bwd.g", "gate.bwd.o", "cell.bwd", "cell_next.bwd",
    "output",
)
CONCAT_LAYERS = ("concat.fwd", "concat.bwd")
READOUT_LAYERS = ("concat.fwd", "concat.bwd", "hidden")      # what the output reads: ablated, heat-mapped
HEAD_LAYERS = ("hidden", "output")                           # computed above the biLSTM, whole sequence


ASCII_INDEX = re.compile(r"[0-9]+")
MAX_INDEX_DIGITS = 9                # far above any layer's size; int() of thousands of digits is refused


class UnknownName(ValueError):
    """A neuron, layer or pair name that does not exist; the message lists the valid ones."""


def lstm_layer(direction: str, part: str) -> str:
    """The public name of one part of an LSTM step: part is h, c, c_before or a gate letter."""
    if part == "h":
        return f"concat.{direction}"
    if part == "c":
        return f"cell.{direction}"
    if part == "c_before":
        return "cell_prev.fwd" if direction == "fwd" else "cell_next.bwd"
    if part in GATES:
        return f"gate.{direction}.{part}"
    raise ValueError(f"unknown LSTM part {part!r}")


LSTM_PARTS = ("h", "c", "c_before") + GATES
# layer name -> (direction, part) for every layer inside the recurrence
LSTM_LAYERS: dict[str, tuple[str, str]] = {lstm_layer(d, p): (d, p) for d in DIRECTIONS for p in LSTM_PARTS}


def layer_sizes(lstm_units: int, hidden_units: int, n_out: int) -> dict[str, int]:
    sizes = {name: lstm_units for name in LAYERS}
    sizes["hidden"], sizes["output"] = hidden_units, n_out
    return sizes


def parse_layer(name: str, layers=LAYERS) -> str:
    if name not in layers:
        raise UnknownName(f"unknown layer {name!r}; layers: {', '.join(layers)}")
    return name


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
            if not sep or not ASCII_INDEX.fullmatch(index.strip()):   # not "３", "٣" or "1_0"
                raise UnknownName(f"neuron {name!r} is not of the form LAYER:INDEX (e.g. concat.fwd:70); "
                                  f"layers: {', '.join(LAYERS)}")
            if len(index.strip()) > MAX_INDEX_DIGITS:
                raise UnknownName(f"neuron {str(name)[:40]!r}…: the index has {len(index.strip()):,} digits; "
                                  f"indices are whole numbers below 10^{MAX_INDEX_DIGITS}")
            neuron = cls(layer.strip(), int(index))
        if neuron.layer not in LAYERS:
            raise UnknownName(f"unknown layer {neuron.layer!r} in neuron {str(name)!r}; layers: {', '.join(LAYERS)}")
        if sizes is not None and not 0 <= neuron.index < sizes[neuron.layer]:
            raise UnknownName(f"neuron {neuron} out of range: layer {neuron.layer} has indices "
                              f"0..{sizes[neuron.layer] - 1}")
        return neuron
