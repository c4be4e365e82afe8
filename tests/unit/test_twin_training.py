"""Training the interpretable twin: the regularizers (value and gradient on hand-built batches
against the formulas written out with loops), a checkpoint that records its regularizer, and snapshots."""
from __future__ import annotations

import pytest
import torch
from tiny import TESTS

from translit_core.model.checkpoint import load_checkpoint
from translit_core.training.regularizers import activation_l1, decov, regularization
from translit_core.training.train import TrainConfig, train


def naive_decov(a: list[list[float]]) -> float:
    n, u = len(a), len(a[0])
    mean = [sum(r[j] for r in a) / n for j in range(u)]
    total = 0.0
    for i in range(u):
        for j in range(u):
            if i != j:
                c = sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in a) / n
                total += c * c
    return 0.5 * total


def test_decov_value_and_gradient_on_a_hand_built_batch():
    a = [[1.0, 2.0, 0.0], [3.0, 2.0, 1.0], [5.0, -1.0, 1.0], [-1.0, 0.0, 2.0]]
    acts = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    value = decov(acts)
    assert value.item() == pytest.approx(naive_decov(a), rel=1e-12)
    value.backward()
    eps = 1e-6                                     # central differences of the loop formula
    for i, j in [(0, 0), (2, 1), (3, 2)]:
        up = [r[:] for r in a]
        up[i][j] += eps
        down = [r[:] for r in a]
        down[i][j] -= eps
        assert acts.grad[i, j].item() == pytest.approx((naive_decov(up) - naive_decov(down)) / (2 * eps), abs=1e-6)
    # uncorrelated (orthogonal, centred) columns cost nothing; a copied column costs its variance squared
    orth = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    assert decov(orth).item() == pytest.approx(0.0, abs=1e-12)
    copy = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    assert decov(copy).item() == pytest.approx(1.0)        # 0.5 * (2 off-diagonal entries of 1)


def test_l1_and_the_sum_over_layers():
    h = torch.tensor([[[0.5, -1.5]], [[0.0, 2.0]]], requires_grad=True)        # (B=2, T=1, u=2)
    assert activation_l1(h.reshape(-1, 2)).item() == pytest.approx(1.0)
    both = regularization("l1", {"concat": h, "hidden": h * 2})
    assert both.item() == pytest.approx(3.0)
    both.backward()
    # d/dh of (1 + 2) * mean|h| over 4 entries: sign(h) * 3/4, and 0 at h = 0 (the subgradient torch takes)
    assert torch.allclose(h.grad, torch.tensor([[[0.75, -0.75]], [[0.0, 0.75]]]))
    assert regularization("", {"concat": h}).item() == 0.0
    with pytest.raises(ValueError, match="unknown regularizer"):
        regularization("dropout", {"concat": h})


def test_a_checkpoint_records_its_regularizer(tmp_path):
    small = dict(lstm=16, hidden=12, batch_size=4, warmup=5, valid_lines=3, precision="fp32")
    train(TrainConfig(corpus=str(TESTS / "fixtures" / "tiny_corpus"), out=str(tmp_path), epochs=1, max_steps=3,
                      reg="decov", reg_weight=0.5, **small))
    _, _, meta = load_checkpoint(tmp_path)
    assert meta["regularizer"] == {"kind": "decov", "weight": 0.5, "layers": ["concat", "hidden"]}
    assert meta["train_config"]["reg"] == "decov" and meta["train_config"]["reg_weight"] == 0.5
    assert meta["metrics"]["history"][0]["reg_term"] > 0
    with pytest.raises(ValueError, match="needs --reg"):
        TrainConfig(corpus=".", out=".", reg_weight=0.1).validate()
    with pytest.raises(ValueError, match="--reg 'dropout'"):
        TrainConfig(corpus=".", out=".", reg="dropout").validate()


def test_snapshots_are_kept_at_the_asked_epochs_and_load(tmp_path):
    from safetensors.torch import load_file
    from translit_core.training.snapshots import list_snapshots, parse_snapshot_epochs, snapshot_steps

    small = dict(lstm=16, hidden=12, batch_size=4, warmup=5, valid_lines=3, precision="fp32")
    result = train(TrainConfig(corpus=str(TESTS / "fixtures" / "tiny_corpus"), out=str(tmp_path), epochs=2,
                               snapshots="2, 0.5,1", **small))
    snaps = list_snapshots(tmp_path)
    assert [s.epoch for s in snaps] == [0.5, 1.0, 2.0]
    per_epoch = result.steps // 2
    assert [s.step for s in snaps] == [round(0.5 * per_epoch), per_epoch, 2 * per_epoch]
    for s in snaps:
        model, _, meta = load_checkpoint(s.directory)
        assert meta["snapshot"]["step"] == s.step and model.config.lstm == 16
    # the last snapshot is the weights the run ended with (its training state)
    final = {k[len("model."):]: v for k, v in load_file(tmp_path / "train_state" / "state.safetensors").items()
             if k.startswith("model.")}
    last = load_checkpoint(snaps[-1].directory)[0].state_dict()
    assert all(torch.equal(final[k], last[k]) for k in last)
    assert snapshot_steps([0.001, 0.002], 100) == {1: 0.001}       # both round to the first step: kept once
    with pytest.raises(ValueError, match="not a number"):
        parse_snapshot_epochs("1,two")


def test_dynamics_reads_every_snapshot_on_the_same_sentences(tmp_path):
    """The dynamics view's engine on two tiny snapshots: one point per snapshot, in training order,
    each the same as computing that checkpoint's tables directly; the role's unit is tracked."""
    from tiny import SENTENCES
    from translit_core.analysis import hellinger_tables, record_activations
    from translit_core.analysis.comparison.dynamics import ROLE_LAYER, role_changes, snapshot_dynamics
    from translit_core.text.rules import load_rules
    small = dict(lstm=8, hidden=6, batch_size=4, warmup=2, valid_lines=3, precision="fp32")
    train(TrainConfig(corpus=str(TESTS / "fixtures" / "tiny_corpus"), out=str(tmp_path), epochs=2,
                      snapshots="1,2", **small))
    sentences = SENTENCES * 4
    points = snapshot_dynamics(tmp_path, sentences, pairs=("t:թ", "s:_", "h:_"), shuffles=3, bins=10, min_count=2)
    assert [p.epoch for p in points] == [1.0, 2.0] and points[0].step < points[1].step
    model, alphabets, _ = load_checkpoint(points[-1].directory)
    rec = record_activations(model, alphabets, sentences, load_rules(), seed=0, max_len=128)
    t = hellinger_tables(rec, bins=10, min_count=2, layers=["concat.fwd", "concat.bwd", "hidden"], shuffles=3,
                         inputs={"t", "s", "h"})
    row = {str(p): i for i, p in enumerate(t.pairs)}
    for pair, by_layer in points[-1].best_excess.items():
        o = t.offsets["hidden"]
        assert by_layer["hidden"] == pytest.approx(float(t.hellinger_excess[row[pair], o:o + 6].max()))
    assert all(p.role_unit is None or p.role_unit.startswith(ROLE_LAYER + ":") for p in points)
    changes = role_changes(points)
    assert changes[0][0] == 1.0 and len(changes) <= 2


def test_role_persistence_ranks_the_previous_unit_at_each_snapshot():
    from translit_core.analysis.comparison.dynamics import SnapshotPoint, role_changes, role_persistence
    pts = [SnapshotPoint(0.5, 1, "a", role_unit="concat.fwd:1", role_score=0.6,
                         role_top=[("concat.fwd:1", 0.6), ("concat.fwd:2", 0.5)]),
           SnapshotPoint(1, 2, "b", role_unit="concat.fwd:2", role_score=0.70,
                         role_top=[("concat.fwd:2", 0.70), ("concat.fwd:1", 0.69)]),     # a near tie
           SnapshotPoint(2, 3, "c", role_unit="concat.fwd:2", role_score=0.8, role_top=[("concat.fwd:2", 0.8)]),
           SnapshotPoint(4, 4, "d", role_unit="concat.fwd:9", role_score=0.8, role_top=[("concat.fwd:9", 0.8)])]
    assert role_persistence(pts) == [(1, "concat.fwd:1", 2, 0.69), (2, "concat.fwd:2", 1, 0.8),
                                     (4, "concat.fwd:2", None, None)]
    assert role_changes(pts) == [(0.5, "concat.fwd:1"), (1, "concat.fwd:2"), (4, "concat.fwd:9")]
