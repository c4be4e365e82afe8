"""How the lab's key units form during training, from the snapshots a run keeps
(`train --snapshots`, training/snapshots.py).

For every snapshot, on the same held-out sentences and spellings: the best H excess per readout
layer for each of the post's pairs, and the unit that plays the post's #70 role. Neuron #70 of the
post's forward LSTM separated s->_ and h->հ / h->_ (the letters of the digraphs sh, ch, zh, kh ...:
the s is silent when an h follows and the h is silent or not by what came before it), so the role
score of a forward unit is its mean H excess over s:_, h:_ and h:հ, and the role's unit is the
forward unit with the highest score. Whether that is the same unit from snapshot to snapshot says
whether the role forms once and stays, or moves between units while the network trains.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch

from ...files import atomic_write
from ...model.checkpoint import load_checkpoint
from ...model.names import READOUT_LAYERS, NeuronId
from ...text.rules import load_rules
from ...training.snapshots import list_snapshots
from ..measurement.names import DEFAULT_BINS, DEFAULT_SHUFFLES, POST_PAIRS, AnalysisError
from ..measurement.recording import record_activations
from ..measurement.tables import hellinger_tables

ROLE_PAIRS = ("s:_", "h:_", "h:հ")        # what the post's forward neuron #70 separated
ROLE_LAYER = "concat.fwd"
DYNAMICS_FILE = "dynamics.json"           # a run's points, kept by `dynamics --save` (so a clone needs no snapshots)
ROLE_TOP = 5                              # forward units kept per snapshot by their role score
MIN_COUNT = 50                            # positions per side: a few hundred sentences are enough


@dataclass
class SnapshotPoint:
    """One snapshot's view of the lab's key units."""
    epoch: float
    step: int
    directory: str
    best_excess: dict[str, dict[str, float]] = field(default_factory=dict)   # pair -> layer -> best H excess
    role_unit: str | None = None          # the forward unit with the best mean excess over ROLE_PAIRS
    role_score: float = float("nan")
    # [(unit, score)] the ROLE_TOP best forward units: is the role's a near tie?
    role_top: list = field(default_factory=list)
    accuracy: float = float("nan")        # on the sample's positions


def snapshot_point(directory: str | Path, epoch: float, step: int, sentences: list[str], seed: int = 0,
                   pairs=POST_PAIRS, bins: int = DEFAULT_BINS, shuffles: int = DEFAULT_SHUFFLES,
                   min_count: int = MIN_COUNT) -> SnapshotPoint:
    model, alphabets, meta = load_checkpoint(directory)
    rec = record_activations(model, alphabets, sentences, load_rules(), seed=seed,
                             max_len=meta.get("train_config", {}).get("max_len"))
    inputs = {p.split(":", 1)[0] for p in pairs}
    tables = hellinger_tables(rec, bins=bins, min_count=min_count, layers=list(READOUT_LAYERS), shuffles=shuffles,
                              seed=seed, inputs=inputs)
    rows = {str(p): i for i, p in enumerate(tables.pairs)}
    excess = tables.hellinger_excess                                              # (pairs, units of the layers)
    offsets = tables.offsets
    point = SnapshotPoint(epoch, step, str(directory), accuracy=float((rec.pred == rec.y).float().mean()))
    for p in pairs:
        if p in rows:
            point.best_excess[p] = {
                layer: float(excess[rows[p], offsets[layer]:offsets[layer] + tables.sizes[layer]].max())
                for layer in READOUT_LAYERS}
    present = [rows[p] for p in ROLE_PAIRS if p in rows]
    if present:
        o = offsets[ROLE_LAYER]
        score = excess[present, o:o + tables.sizes[ROLE_LAYER]].mean(0)         # (units,)
        best = int(torch.argmax(score))
        point.role_unit, point.role_score = str(NeuronId(ROLE_LAYER, best)), float(score[best])
        top = torch.topk(score, min(ROLE_TOP, len(score)))
        point.role_top = [(str(NeuronId(ROLE_LAYER, int(i))), float(v)) for v, i in zip(top.values, top.indices)]
    return point


def snapshot_dynamics(run_dir: str | Path, sentences: list[str], seed: int = 0, pairs=POST_PAIRS,
                      bins: int = DEFAULT_BINS, shuffles: int = DEFAULT_SHUFFLES,
                      min_count: int = MIN_COUNT) -> list[SnapshotPoint]:
    """Every snapshot of the run under `run_dir`, in training order, on the same sentences."""
    snaps = list_snapshots(run_dir)
    if not snaps:
        raise AnalysisError(f"no snapshots under {Path(run_dir) / 'snapshots'}; train with --snapshots "
                            f"0.125,0.25,0.5,1,2,4,8 to keep them")
    return [snapshot_point(s.directory, s.epoch, s.step, sentences, seed, pairs, bins, shuffles, min_count)
            for s in snaps]


def role_changes(points: list[SnapshotPoint]) -> list[tuple[float, str | None]]:
    """(epoch, unit) each time the #70 role's unit changes, the first appearance included."""
    out: list[tuple[float, str | None]] = []
    for pt in points:
        if not out or out[-1][1] != pt.role_unit:
            out.append((pt.epoch, pt.role_unit))
    return out


def role_persistence(points: list[SnapshotPoint]) -> list[tuple[float, str, int | None, float | None]]:
    """For each snapshot after the first: (epoch, the previous snapshot's role unit, its rank now
    among the ROLE_TOP best (1 = still the role's unit; None = not among them), its score now).
    A unit that drops to rank 2 by a hair is a tie, not a move."""
    out = []
    for prev, pt in zip(points, points[1:]):
        ranked = [u for u, _ in pt.role_top]
        scores = dict((u, v) for u, v in pt.role_top)
        rank = ranked.index(prev.role_unit) + 1 if prev.role_unit in ranked else None
        out.append((pt.epoch, prev.role_unit, rank, scores.get(prev.role_unit)))
    return out


def role_moves(points: list[SnapshotPoint]) -> str:
    """Each change of the role's unit, with the old unit's rank and score at the new snapshot, in
    words ("" if the role never changed unit)."""
    return "; ".join(f"epoch {e:g}: `{u}` " + (f"rank {r}, score {v:.2f}" if r else f"not among the top {ROLE_TOP}")
                     for e, u, r, v in role_persistence(points) if r != 1)


def points_to_dicts(points: list[SnapshotPoint]) -> list[dict]:
    return [asdict(p) for p in points]


@dataclass
class StoredDynamics:
    """The points `dynamics --save` kept beside a run, with the sample they were measured on."""
    points: list[SnapshotPoint]
    sentences: int                        # held-out sentences (sample_sentences(data, n, seed))
    seed: int


def save_dynamics(run_dir: str | Path, points: list[SnapshotPoint], sentences: int, seed: int) -> Path:
    path = Path(run_dir) / DYNAMICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"sentences": sentences, "seed": seed, "points": points_to_dicts(points)}
    atomic_write(path, json.dumps(body, ensure_ascii=False, indent=1) + "\n")
    return path


def load_dynamics(run_dir: str | Path) -> StoredDynamics | None:
    """The stored points of a run, or None when it has none. A file that cannot be read raises
    AnalysisError naming it (its points are then recomputed from the snapshots, where they exist)."""
    path = Path(run_dir) / DYNAMICS_FILE
    if not path.is_file():
        return None
    names = {f.name for f in fields(SnapshotPoint)}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        points = [SnapshotPoint(**{k: v for k, v in d.items() if k in names}) for d in body["points"]]
        for p in points:
            p.role_top = [(str(u), float(v)) for u, v in p.role_top]       # JSON has lists
        if not points or any(not isinstance(p.epoch, (int, float)) or not isinstance(p.best_excess, dict)
                             for p in points):
            raise ValueError("no points, or a point without an epoch or its excesses")
        return StoredDynamics(points, int(body["sentences"]), int(body["seed"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise AnalysisError(f"{path}: unreadable stored dynamics ({type(e).__name__}: {e}); rebuild with "
                            f"`python -m translit_core dynamics --run {Path(run_dir)} --save`") from None
