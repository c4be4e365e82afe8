"""Paired comparisons where units correspond: two models fine-tuned from one parent (or one from
the other) compared with a joint bootstrap over unit indices, models trained separately with
Newcombe's interval; and the forward - backward direction claim with the same resampled sentences
for both directions. Synthetic data with known answers, plus the shipped checkpoints' lineage."""
from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch

from translit_core.analysis.comparison.models import (PAIRED_RESAMPLES, compare, paired_share_difference,
                                                      proportion_difference, shared_ancestor)
from translit_core.analysis.measurement.names import AnalysisMeta, Pair
from translit_core.analysis.methods.uncertainty import (basic_interval, bootstrap_hellinger, direction_claim,
                                                        draw_sentences)
from translit_core.model.names import CONCAT_LAYERS, READOUT_LAYERS, UnknownName

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
UNITS = 200
# 100 selective units of 200: 50 serve one input character (monosemantic), 50 serve both
BEFORE = [1] * 50 + [2] * 50 + [0] * 100
AFTER = [1] * 60 + [2] * 40 + [0] * 100        # the same units, 10 of the polysemantic ones now monosemantic


def synthetic(served: dict[str, list[int]], checkpoint_dir: Path | None = None, accuracy: float = 0.99):
    """An analysis-like object: 2 inputs (a, b), one pair each, UNITS units per readout layer.
    served[layer][i]: 0 (unit i selective for no pair), 1 (for a's pair only: monosemantic), 2 (for both)."""
    pairs = [Pair("a", "1", 50, 50), Pair("b", "1", 50, 50)]
    excess = torch.full((2, UNITS * len(READOUT_LAYERS)), 0.05)
    for j, layer in enumerate(READOUT_LAYERS):
        for i, s in enumerate(served[layer]):
            excess[:s, j * UNITS + i] = 0.8          # selective (excess 0.8, q 0.001) for the first s pairs
    tables = types.SimpleNamespace(pairs=pairs, xs=["a", "b"], pair_x=[0, 1], shuffles=20, hellinger_excess=excess,
                                   q_value=torch.full(excess.shape, 1e-3))
    return types.SimpleNamespace(
        tables=tables, sizes={name: UNITS for name in READOUT_LAYERS},
        offsets={name: UNITS * j for j, name in enumerate(READOUT_LAYERS)}, checkpoint_dir=checkpoint_dir,
        saturation=None, meta=AnalysisMeta(sample_accuracy=accuracy, sample={"fingerprint": "f", "seed": 0}),
        pair_row=lambda p: [str(q) for q in pairs].index(str(p)), ablation=lambda p, layer: None)


def everywhere(served: list[int]) -> dict[str, list[int]]:
    return {name: served for name in READOUT_LAYERS}


@pytest.fixture
def lab(tmp_path):
    """Checkpoint directories with only a model.json: base, two models fine-tuned from it, a
    grandchild, and two trained from scratch."""
    inits = {"base": "", "left": "checkpoints/base", "right": "checkpoints/base", "grandchild": "runs/left",
             "scratch": "", "other": ""}
    for name, init in inits.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.json").write_text(json.dumps({"train_config": {"init": init}}), encoding="utf-8")
    return tmp_path


def test_a_small_consistent_shift_is_found_by_the_joint_bootstrap_and_missed_by_newcombe(lab):
    c = compare(synthetic(everywhere(BEFORE), lab / "left"), synthetic(everywhere(AFTER), lab / "right"),
                ("left", "right"))
    assert c.paired and c.pairing == "both were fine-tuned from base"
    unpaired = proportion_difference(60, 100, 50, 100)
    assert unpaired[1] < 0 < unpaired[2]                       # independent samples: the shift is within the noise
    for layer in READOUT_LAYERS:
        d, low, high = c.monosemantic_difference(layer)
        assert d == pytest.approx(0.10) == pytest.approx(c.b.layer(layer).monosemantic - c.a.layer(layer).monosemantic)
        assert 0 < low < d < high < unpaired[2]                 # paired: only the 10 changed units vary
        assert c.monosemantic_diff(layer) == {"estimate": pytest.approx(10.0), "paired": True,
                                              "low": pytest.approx(100 * low, abs=1e-3),
                                              "high": pytest.approx(100 * high, abs=1e-3)}
    v = c.verdict()
    assert "right has more monosemantic units than left" in v and "Paired: both were fine-tuned from base" in v
    assert "Unpaired" not in v
    out = c.to_dict()
    assert out["paired"] is True and list(out) == ["a", "b", "same_sample", "paired", "monosemantic_diff", "verdict"]


def test_models_trained_separately_fall_back_to_newcombe(lab):
    c = compare(synthetic(everywhere(BEFORE), lab / "scratch"), synthetic(everywhere(AFTER), lab / "other"),
                ("scratch", "other"))
    assert not c.paired and not c.served
    for layer in READOUT_LAYERS:
        assert c.monosemantic_difference(layer) == proportion_difference(60, 100, 50, 100)
        assert c.monosemantic_diff(layer)["paired"] is False
    v = c.verdict()
    assert "No clear difference" in v and "Unpaired: the two were trained separately" in v
    # no checkpoint directories at all (an analysis built elsewhere): unpaired too
    assert not compare(synthetic(everywhere(BEFORE)), synthetic(everywhere(AFTER))).paired


def test_the_lineage_pairs_a_parent_its_children_and_grandchildren(lab):
    assert shared_ancestor(lab / "left", lab / "right") == "base"
    assert shared_ancestor(lab / "base", lab / "left") == "base"
    assert shared_ancestor(lab / "grandchild", lab / "base") == "base"      # grandchild -> left -> base
    assert shared_ancestor(lab / "scratch", lab / "other") is None
    assert shared_ancestor(lab / "scratch", lab / "left") is None
    assert shared_ancestor(None, lab / "left") is None
    c = compare(synthetic(everywhere(AFTER), lab / "left"), synthetic(everywhere(BEFORE), lab / "base"))
    assert c.paired and c.pairing == "a was fine-tuned from b"


def test_clear_differences_in_opposite_directions_are_mixed(lab):
    served = {"concat.fwd": AFTER, "concat.bwd": BEFORE, "hidden": BEFORE}
    a = synthetic({"concat.fwd": BEFORE, "concat.bwd": BEFORE, "hidden": AFTER}, lab / "left")
    v = compare(a, synthetic(served, lab / "right"), ("left", "right")).verdict()
    assert v.startswith("Mixed: right is more monosemantic than left in concat.fwd +10.0 points")
    assert "less in hidden -10.0 points" in v and "no clear difference in concat.bwd +0.0 points [+0.0, +0.0]" in v


def test_the_joint_bootstrap_is_seeded_and_reproducible(lab):
    assert PAIRED_RESAMPLES >= 2000
    a, b = torch.tensor(BEFORE), torch.tensor(AFTER)
    first = paired_share_difference(a, b)
    assert paired_share_difference(a, b) == first
    assert paired_share_difference(a, b, seed=1) != first and paired_share_difference(a, b, seed=1)[0] == first[0]
    assert paired_share_difference(a, a) == (0.0, 0.0, 0.0)      # the same units: no difference in any resample
    made = [compare(synthetic(everywhere(BEFORE), lab / "left"), synthetic(everywhere(AFTER), lab / "right"))
            for _ in range(2)]
    assert json.dumps(made[0].to_dict()) == json.dumps(made[1].to_dict())     # (mean |r| is NaN here)


@pytest.mark.skipif(not (CHECKPOINTS / "hy" / "model.json").is_file(), reason="the shipped checkpoints are absent")
def test_the_shipped_checkpoints_are_paired_by_their_lineage():
    assert shared_ancestor(CHECKPOINTS / "hy-retrofit", CHECKPOINTS / "hy-finetune") == "hy"   # both from hy
    assert shared_ancestor(CHECKPOINTS / "hy", CHECKPOINTS / "hy-retrofit") == "hy"
    assert shared_ancestor(CHECKPOINTS / "hy-short", CHECKPOINTS / "hy-twin") is None           # both from scratch
    assert shared_ancestor(CHECKPOINTS / "hy", CHECKPOINTS / "hy-twin") is None


# ---- forward - backward: the same resampled sentences for both directions

def _directions(seed: int = 0, sentences: int = 300, per_sentence: int = 20):
    """Two directions on the same positions and noise; forward separates the pair 6% more in every
    sentence, and how clearly a sentence shows the pair varies a lot from one to the next."""
    g = torch.Generator().manual_seed(seed)
    sentence = torch.arange(sentences).repeat_interleave(per_sentence)
    is_pos = torch.rand(sentence.numel(), generator=g) < 0.3
    clarity = (0.3 + 1.4 * torch.rand(sentences, generator=g))[sentence]
    noise = torch.randn(sentence.numel(), generator=g)
    fwd = (noise + 1.06 * clarity * is_pos.float()).unsqueeze(1)
    bwd = (noise + clarity * is_pos.float()).unsqueeze(1)
    return fwd, bwd, is_pos, sentence


def test_a_paired_forward_backward_difference_is_resolved_by_shared_sentences():
    fwd, bwd, is_pos, sentence = _directions()
    resamples, bins = 200, 40
    drawn = draw_sentences(int(sentence.unique().numel()), resamples, torch.Generator().manual_seed(1))
    h_fwd, boot_fwd = bootstrap_hellinger(fwd, is_pos, sentence, bins, resamples, drawn=drawn)
    h_bwd, boot_bwd = bootstrap_hellinger(bwd, is_pos, sentence, bins, resamples, drawn=drawn)
    assert h_fwd[0] > h_bwd[0]
    paired = basic_interval(float(h_fwd[0] - h_bwd[0]), boot_fwd[:, 0] - boot_bwd[:, 0])
    _, boot_apart = bootstrap_hellinger(bwd, is_pos, sentence, bins, resamples, torch.Generator().manual_seed(2))
    separate = basic_interval(float(h_fwd[0] - h_bwd[0]), boot_fwd[:, 0] - boot_apart[:, 0])
    assert paired.low > 0 and paired.excludes(0.0)              # forward separates better: resolved
    assert not separate.excludes(0.0)                            # each direction's own draws: lost in the noise
    assert paired.high - paired.low < (separate.high - separate.low) / 3
    # the generator path draws exactly what draw_sentences draws
    again = bootstrap_hellinger(bwd, is_pos, sentence, bins, resamples, torch.Generator().manual_seed(1))[1]
    assert torch.equal(again, boot_bwd)


def test_the_direction_claim_draws_the_same_sentences_for_both_directions(tiny, monkeypatch):
    """Both directions given the same activations: their difference is 0 in every resample, so its
    interval is exactly [0, 0] (drawing each direction's sentences apart would widen it)."""
    from translit_core.analysis import hellinger_tables
    _, _, rec = tiny
    first, second = rec.sentence_halves(0)
    selection = hellinger_tables(rec, bins=20, layers=CONCAT_LAYERS, shuffles=4, mask=first, min_count=3)

    def same_values(name, positions=None, units=None, **_):
        k = rec.sizes[name] if units is None else len(units)
        return torch.sin(positions.float().unsqueeze(1) * torch.arange(1, k + 1).float())

    monkeypatch.setattr(rec, "layer", same_values)
    claims = []
    for pair in selection.pairs:
        try:
            claims.append(direction_claim(rec, pair, selection, second, k=2, resamples=50, bins=20))
        except UnknownName:          # the pair does not occur in the scoring half
            continue
    claims = [c for c in claims if c.n_pos >= 5 and c.n_neg >= 5]      # rarer: resamples without a positive
    assert claims
    for c in claims:
        assert (c.difference.low, c.difference.high, c.difference.estimate) == (0.0, 0.0, 0.0)
        assert c.forward.low < c.forward.high and c.best == "no clear difference"
