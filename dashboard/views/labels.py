"""How the engine's names are shown to a person: pairs in titles, layers in pickers and captions."""
from __future__ import annotations

from translit_core.analysis import Pair
from translit_core.model.alphabets import PASS_SYMBOL, PLACE_SYMBOL

LAYER_TITLES = {
    "concat.fwd": "concat, forward LSTM h", "concat.bwd": "concat, backward LSTM h",
    "hidden": "hidden (dense tanh)", "output": "output logits",
    "gate.fwd.i": "input gate i (fwd)", "gate.fwd.f": "forget gate f (fwd)",
    "gate.fwd.g": "cell input g (fwd)", "gate.fwd.o": "output gate o (fwd)",
    "cell.fwd": "cell c (fwd)", "cell_prev.fwd": "previous cell c_prev (fwd)",
    "gate.bwd.i": "input gate i (bwd)", "gate.bwd.f": "forget gate f (bwd)",
    "gate.bwd.g": "cell input g (bwd)", "gate.bwd.o": "output gate o (bwd)",
    "cell.bwd": "cell c (bwd)", "cell_next.bwd": "next cell c_next (bwd)",
}


def layer_title(layer: str) -> str:
    return LAYER_TITLES.get(layer, layer)


def layer_choice_label(layer: str) -> str:
    """A layer as the layer pickers list it: its name and its title."""
    return f"{layer} — {layer_title(layer)}"


def input_label(x: str) -> str:
    """An input character for a title: letters as they are, a space and punctuation quoted."""
    return x if x.isalnum() else ("‘space’" if x == " " else f"‘{x}’")


def pair_label(pair: "Pair | str") -> str:
    """'t:թ' -> 't→թ' for titles; '_' and '=' are explained, punctuation and spaces quoted."""
    p = Pair.parse(pair)
    y = {PLACE_SYMBOL: f"{PLACE_SYMBOL} (nothing)", PASS_SYMBOL: f"{PASS_SYMBOL} (kept)"}.get(
        p.y, p.y if p.y.isalpha() else f"‘{p.y}’")
    return f"{input_label(p.x)}→{y}"


def input_choice_label(x: str) -> str:
    """An input character as the pair picker lists it."""
    return "space" if x == " " else x


def output_choice_label(x: str, y: str) -> str:
    """An output symbol y of input x as the pair picker lists it."""
    return {PLACE_SYMBOL: f"{PLACE_SYMBOL}  (nothing, placeholder)",
            PASS_SYMBOL: f"{PASS_SYMBOL}  (keeps Latin “{x}”)"}.get(y, y)
