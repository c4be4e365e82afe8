"""The FINDINGS section on the twin (translit_core/reports/twin.py) on tiny analysed checkpoints: the twin is
found by its model.json, its control by the recipe, every comparison's verdict is compare()'s,
and the stored dynamics become the tables and the role's story."""
from __future__ import annotations

import json
import shutil

from translit_core.analysis import Analysis
from translit_core.analysis.comparison.models import compare
from translit_core.analysis.comparison.dynamics import SnapshotPoint, StoredDynamics
from translit_core.reports.twin import render_twin


def _as(src, dst, **config):
    shutil.copytree(src, dst)
    meta = json.loads((dst / "model.json").read_text(encoding="utf-8"))
    meta["train_config"] = {**meta.get("train_config", {}), "epochs": 2, "lr": 3e-3, **config}
    if config.get("reg"):                                    # as train records it beside its config
        meta["regularizer"] = {"kind": config["reg"], "weight": config["reg_weight"], "layers": ["concat", "hidden"]}
    (dst / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    return Analysis.load(dst)


def test_the_twin_section_compares_with_the_control_and_the_base(tiny_checkpoint, tmp_path):
    base = Analysis.load(tiny_checkpoint)
    short = _as(tiny_checkpoint, tmp_path / "short", reg="", out="runs/short")
    twin = _as(tiny_checkpoint, tmp_path / "twin", reg="decov", reg_weight=1e-3, out="runs/twin")
    pair = str(base.pairs()[0])
    points = [SnapshotPoint(1, 10, "a", {pair: {"concat.fwd": 0.1, "concat.bwd": 0.2, "hidden": 0.3}},
                            role_unit="concat.fwd:1", role_score=0.5, accuracy=0.9,
                            role_top=[("concat.fwd:1", 0.5), ("concat.fwd:2", 0.4)]),
              SnapshotPoint(2, 20, "b", {pair: {"concat.fwd": 0.4, "concat.bwd": 0.2, "hidden": 0.3}},
                            role_unit="concat.fwd:2", role_score=0.6, accuracy=0.95,
                            role_top=[("concat.fwd:2", 0.6), ("concat.fwd:1", 0.58)])]
    text = "\n".join(render_twin({"base": base, "short": short, "twin": twin},
                                 {"run": StoredDynamics(points, 50, 0)}, "base", break_pairs=(pair,), tracks=True))
    assert "### Equal budget: short against twin" in text and "### Against the shipped base: base against twin" in text
    assert compare(short, twin, ("short", "twin")).verdict() in text
    assert compare(base, twin, ("base", "twin")).verdict() in text
    assert "decov weight 0.001" in text and "How many units break a pair" in text and "best annotation track" in text
    assert "| 2 | 95.00% |" in text                                   # the second snapshot's row
    assert "`concat.fwd:1` rank 2, score 0.58" in text                # the role's change was a near tie
    # no regularized model: no section
    assert render_twin({"base": base, "short": short}, {}, "base") == []


def test_a_retrofit_is_compared_with_its_own_control(tiny_checkpoint, tmp_path):
    """A model fine-tuned from the base with the regularizer, beside a twin from scratch: each
    regularized model gets its own control (the recipe includes `init`), never the other's."""
    base = Analysis.load(tiny_checkpoint)
    short = _as(tiny_checkpoint, tmp_path / "short", reg="")
    twin = _as(tiny_checkpoint, tmp_path / "twin", reg="decov", reg_weight=1e-3)
    tuned = _as(tiny_checkpoint, tmp_path / "tuned", reg="", init="checkpoints/base")
    retro = _as(tiny_checkpoint, tmp_path / "retro", reg="decov", reg_weight=1e-3, init="checkpoints/base")
    text = "\n".join(render_twin({"base": base, "short": short, "tuned": tuned, "twin": twin, "retro": retro}, {},
                                 "base", break_pairs=(), tracks=False))
    assert "### Equal budget: short against twin" in text and "### Equal budget: tuned against retro" in text
    assert "short against retro" not in text and "tuned against twin" not in text
    assert "| retro | fine-tuned from base, 2 epochs" in text and "| twin | from scratch, 2 epochs" in text
    from translit_core.analysis.comparison.models import model_stats
    assert model_stats(retro, "retro").recipe == "fine-tuned from base with decov (weight 0.001)"
    assert model_stats(tuned, "tuned").recipe == "fine-tuned from base without a regularizer"
    assert model_stats(short, "short").recipe == "trained without a regularizer"
    # the base's later stages started from its earlier ones, saved in its own directory: not "fine-tuned from" itself
    base_again = _as(tiny_checkpoint, tmp_path / "hy", init="checkpoints/hy")
    assert model_stats(base_again, "hy").recipe == "trained without a regularizer"
