"""Checkpoints: safetensors weights + a JSON file. Nothing is ever unpickled.

A checkpoint is a directory:
    model.safetensors   the weights
    model.json          config, alphabets, rules hash, corpus summary, metrics, training time
    lexicon.txt         (optional) the training text's words (infer.lexicon reads it)
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..files import atomic_path, atomic_write
from ..settings import DEFAULT_CHECKPOINT
from .alphabets import Alphabets
from .net import ModelConfig, TranslitNet

WEIGHTS, META = "model.safetensors", "model.json"
MAX_UNITS = 1 << 16          # no layer or alphabet of this model is anywhere near this


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded; the message names the file."""


def save_checkpoint(directory: str | Path, model: TranslitNet, alphabets: Alphabets, meta: dict) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = dict(meta, config=model.config.to_dict(),
                alphabets={"inputs": alphabets.inputs, "outputs": alphabets.outputs})
    # Each file written whole to a temporary name and renamed, the weights first: an interrupted
    # save never leaves a half-written file.
    with atomic_path(directory / WEIGHTS) as tmp:
        save_file(tensors, tmp)
    atomic_write(directory / META, json.dumps(meta, ensure_ascii=False, indent=1))


def _meta_model(config: ModelConfig) -> TranslitNet:
    with torch.device("meta"):
        return TranslitNet(config)


def load_checkpoint(directory: str | Path | None = None) -> tuple[TranslitNet, Alphabets, dict]:
    directory = Path(directory) if directory else DEFAULT_CHECKPOINT
    meta_path, weights_path = directory / META, directory / WEIGHTS
    for p in (meta_path, weights_path):
        if not p.is_file():
            raise CheckpointError(f"checkpoint file missing: {p} (train one with `python -m translit_core train`)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        config = ModelConfig(**meta["config"])
        sizes = config.to_dict().values()
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_UNITS for v in sizes):
            raise ValueError(f"config sizes must be whole numbers from 1 to {MAX_UNITS:,}, got {config.to_dict()}")
        alphabets = Alphabets(meta["alphabets"]["inputs"], meta["alphabets"]["outputs"])
        if alphabets.outputs[:2] != ["<pass>", "<place>"]:
            raise ValueError("the output alphabet must start with <pass>, <place>")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{meta_path}: not a valid checkpoint description ({type(e).__name__}: {e})") from None
    if len(alphabets.inputs) != config.n_in or len(alphabets.outputs) != config.n_out:
        raise CheckpointError(f"{meta_path}: alphabet sizes do not match the config")
    # Shapes first, from the file's header and a model on the meta device (no memory): a config
    # that asks for 10**12 units fails here with the file named, not in an allocation.
    expected = {k: tuple(v.shape) for k, v in _meta_model(config).state_dict().items()}
    try:
        with safe_open(weights_path, framework="pt") as f:
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights_path}: corrupt weights file ({e})") from None
    if found != expected:
        diff = sorted(set(found) ^ set(expected)) or [k for k in expected if found[k] != expected[k]]
        raise CheckpointError(f"{weights_path}: weights do not match the config in {meta_path} "
                              f"({', '.join(f'{k}: {found.get(k)} vs {expected.get(k)}' for k in diff[:3])})")
    try:
        tensors = load_file(weights_path)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights_path}: corrupt weights file ({e})") from None
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{weights_path}: non-finite weights (NaN or infinity) in {', '.join(bad)}")
    model = TranslitNet(config)
    model.load_state_dict(tensors)
    model.eval()
    return model, alphabets, meta
