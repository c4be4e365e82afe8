"""The views on a text of the user's, as tables and as the commands that compute them again: the
cell heatmap (every row's value at every character) and the attribution of one output character
(per input character and per unit). Pure functions, as reproduce.py's; ui/downloads.py places the
buttons."""
from __future__ import annotations

import math
import shlex
from typing import Sequence

from .heatmaps import HeatData
from .reproduce import Reproduce, checkpoint_arg

def _number(value) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def heatmap_table(data: HeatData) -> dict[str, list[dict]]:
    """The heatmap in long form: one row per (character, unit), in the text's order: the position,
    the character, the network's output there, the unit and its value (None: not in this model)."""
    return {"cells": [{"position": i, "char": c, "output": data.outputs[i] if i < len(data.outputs) else "",
                       "unit": name, "value": _number(row[i])}
                      for i, c in enumerate(data.chars) for name, row in zip(data.names, data.values)]}


def heatmap_reproduce(text: str, neurons: Sequence[str], directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    units = ",".join(str(n) for n in neurons)
    return Reproduce(
        f"python -m translit_core activations --text {shlex.quote(text)} --neurons {shlex.quote(units)} --json{flag}",
        f"import torch\n"
        f"from translit_core.model.checkpoint import load_checkpoint\n"
        f"model, alphabets, _ = load_checkpoint({path!r})\n"
        f"text = {text!r}\n"
        f"with torch.inference_mode():\n"
        f"    _, acts = model.run_with_cache(torch.tensor([alphabets.encode_input(text)]))\n"
        f"for name in {[str(n) for n in neurons]!r}:\n"
        f"    layer, index = name.rsplit(':', 1)\n"
        f"    print(name, acts[layer][0, :, int(index)].tolist())")


def attribution_tables(attr, outputs: Sequence[str], top: int = 12) -> dict[str, list[dict]]:
    """The attribution of one output as two tidy tables: per input character of its chunk (the
    heatmap's rows: total, forward, backward, direct) and per unit (the bars: the top units'
    attribution and activation). `outputs`: the network's output per character of the text."""
    chars = [{"position": c.position, "char": c.char, "output": outputs[c.position] if c.position < len(outputs)
              else "", "total": c.total, "forward": c.forward, "backward": c.backward, "direct": c.direct}
             for c in attr.attributions]
    units = [{"rank": i, "neuron": u.neuron, "attribution": u.attribution, "activation": u.activation}
             for i, u in enumerate(list(attr.top_units)[:top], 1)]
    return {"characters": chars, "units": units}


def attribution_reproduce(text: str, position: int, directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    return Reproduce(
        f"python -m translit_core attribute --text {shlex.quote(text)} --position {int(position)} --json{flag}",
        f"from translit_core.analysis.methods.attribution import attribute\n"
        f"from translit_core.model.checkpoint import load_checkpoint\n"
        f"model, alphabets, _ = load_checkpoint({path!r})\n"
        f"r = attribute(model, alphabets, {text!r}, {int(position)})\n"
        f"for c in r.attributions:\n"
        f"    print(c.position, c.char, c.total, c.forward, c.backward, c.direct)\n"
        f"print(r.top_units)")
