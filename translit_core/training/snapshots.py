"""Snapshots of the weights during training, to watch how the neurons form.

`train --snapshots 0.125,0.25,0.5,1,2,4,8` keeps a copy of the model, a checkpoint directory
of its own, after those many epochs (fractions count steps of the first epoch):

    OUT/snapshots/epoch-0.125/  model.safetensors + model.json (with "snapshot": {epoch, step})

`list_snapshots(OUT)` finds them again, in training order, for the dynamics view.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..model.checkpoint import META, WEIGHTS

SNAPSHOT_DIR = "snapshots"


@dataclass(frozen=True, order=True)
class Snapshot:
    epoch: float            # epochs of training behind it
    step: int               # optimizer steps behind it
    directory: Path         # a checkpoint directory (load_checkpoint reads it)


def parse_snapshot_epochs(spec: str) -> list[float]:
    """"0.125, 0.5,1" -> [0.125, 0.5, 1.0] (sorted, distinct); ValueError names a bad entry."""
    out = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            e = float(part)
        except ValueError:
            raise ValueError(f"--snapshots: {part!r} is not a number of epochs") from None
        if not math.isfinite(e) or e <= 0:
            raise ValueError(f"--snapshots: {part!r} must be a positive number of epochs")
        out.add(e)
    return sorted(out)


def snapshot_steps(epochs: list[float], steps_per_epoch: int) -> dict[int, float]:
    """{optimizer step: epoch} at which to save (at least step 1; two epochs that round to the
    same step keep the first)."""
    steps: dict[int, float] = {}
    for e in epochs:
        steps.setdefault(max(1, round(e * steps_per_epoch)), e)
    return steps


def snapshot_dir(out: str | Path, epoch: float) -> Path:
    return Path(out) / SNAPSHOT_DIR / f"epoch-{epoch:g}"


def list_snapshots(out: str | Path) -> list[Snapshot]:
    """The snapshots a run wrote under OUT, in training order (incomplete ones left out)."""
    found = []
    for d in sorted((Path(out) / SNAPSHOT_DIR).glob("epoch-*")):
        if not ((d / WEIGHTS).is_file() and (d / META).is_file()):
            continue
        try:
            info = json.loads((d / META).read_text(encoding="utf-8"))["snapshot"]
            found.append(Snapshot(float(info["epoch"]), int(info["step"]), d))
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(found)
