"""The training state that `train --resume` continues from: OUT/train_state/.

    state.safetensors   the weights ("model.*") and AdamW's moments ("opt.<i>.exp_avg", ...)
    state.json          the loop's counters (epoch, batch, step, best, history, ...) and AdamW's
                        step count per parameter ("opt_steps")

Written every few minutes and after every epoch, renamed into place (a crash leaves the previous
state whole); never pickled.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..files import atomic_path, atomic_write
from ..model.net import TranslitNet


def save_state(path: Path, model: TranslitNet, opt: torch.optim.Optimizer, scalars: dict) -> None:
    """Weights and AdamW moments as safetensors, counters as JSON: resumable without pickle."""
    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        st = opt.state.get(p, {})
        for k in ("exp_avg", "exp_avg_sq"):
            if k in st:
                tensors[f"opt.{i}.{k}"] = st[k].detach().cpu().contiguous()
        if "step" in st:
            scalars.setdefault("opt_steps", {})[str(i)] = float(st["step"])
    with atomic_path(path / "state.safetensors") as tmp:
        save_file(tensors, tmp)
    atomic_write(path / "state.json", json.dumps(scalars, indent=1))


COUNTERS = ("epoch", "batch", "step", "chars")     # whole numbers >= 0 in a state that can be resumed


def check_counters(scalars, where: Path) -> dict:
    """`scalars` if its counters are whole numbers >= 0, else a ValueError naming the file and the
    counter (a hand-edited or foreign state: a negative epoch would train extra epochs)."""
    if not isinstance(scalars, dict):
        raise ValueError(f"{where}: not a training state (expected a JSON object); remove {where.parent} "
                         f"to train from the start")
    for name in COUNTERS:
        v = scalars.get(name, 0)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{where}: {name} {v!r} cannot be resumed (expected a whole number >= 0); "
                             f"remove {where.parent} to train from the start")
    return scalars


def load_state(path: Path, model: TranslitNet, opt: torch.optim.Optimizer) -> dict:
    """Put the saved weights and AdamW moments back into `model` and `opt` -> the counters."""
    scalars = check_counters(json.loads((path / "state.json").read_text()), path / "state.json")
    tensors = load_file(path / "state.safetensors")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    device = next(model.parameters()).device
    for i, p in enumerate(opt.param_groups[0]["params"]):
        if f"opt.{i}.exp_avg" in tensors:
            opt.state[p] = {"step": torch.tensor(scalars["opt_steps"][str(i)]),
                            "exp_avg": tensors[f"opt.{i}.exp_avg"].to(device),
                            "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"].to(device)}
    return scalars
