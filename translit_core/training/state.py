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
    save_file(tensors, path / "state.safetensors.tmp")
    (path / "state.json.tmp").write_text(json.dumps(scalars, indent=1))
    (path / "state.safetensors.tmp").replace(path / "state.safetensors")
    (path / "state.json.tmp").replace(path / "state.json")


def load_state(path: Path, model: TranslitNet, opt: torch.optim.Optimizer) -> dict:
    """Put the saved weights and AdamW moments back into `model` and `opt` -> the counters."""
    tensors = load_file(path / "state.safetensors")
    scalars = json.loads((path / "state.json").read_text())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    device = next(model.parameters()).device
    for i, p in enumerate(opt.param_groups[0]["params"]):
        if f"opt.{i}.exp_avg" in tensors:
            opt.state[p] = {"step": torch.tensor(scalars["opt_steps"][str(i)]),
                            "exp_avg": tensors[f"opt.{i}.exp_avg"].to(device),
                            "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"].to(device)}
    return scalars
