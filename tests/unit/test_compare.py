"""Comparing two models neuron by neuron: the statistics on planted tables,
the verdict, and the recurrent "units to break a pair" against the ablation it is made of."""
from __future__ import annotations

import types

import pytest
import torch

from translit_core.analysis import hellinger_tables
from translit_core.analysis.methods.ablation import ablate_recording
from translit_core.analysis.comparison.models import BREAK_ACCURACY, SELECTIVE_EXCESS, compare, units_to_break
from translit_core.analysis.measurement.names import AnalysisMeta, Pair
from translit_core.model.names import READOUT_LAYERS


def planted(monosemantic: bool, accuracy: float, fingerprint: str = "f"):
    """An analysis-like object: 2 inputs (a, b) with 2 pairs each, 4 units per readout layer.
    Unit u is selective (excess 0.8, q 0.001) for pairs of input u % 2 only when
    `monosemantic`, else for every pair."""
    pairs = [Pair("a", "1", 50, 50), Pair("a", "2", 50, 50), Pair("b", "1", 50, 50), Pair("b", "2", 50, 50)]
    sizes = {name: 4 for name in READOUT_LAYERS}
    N = 4 * len(READOUT_LAYERS)
    excess = torch.full((4, N), 0.05)
    for col in range(N):
        for row, p in enumerate(pairs):
            if not monosemantic or (p.x == "a") == (col % 2 == 0):
                excess[row, col] = 0.8
    tables = types.SimpleNamespace(pairs=pairs, xs=["a", "b"], pair_x=[0, 0, 1, 1], shuffles=20,
                                   hellinger_excess=excess, q_value=torch.full((4, N), 1e-3))
    offsets = {name: 4 * i for i, name in enumerate(READOUT_LAYERS)}
    return types.SimpleNamespace(
        tables=tables, sizes=sizes, offsets=offsets, checkpoint_dir=None, saturation=None,
        meta=AnalysisMeta(sample_accuracy=accuracy, sample={"fingerprint": fingerprint, "seed": 0}),
        pair_row=lambda p: [str(q) for q in pairs].index(str(p)), ablation=lambda p, layer: None)


def test_monosemantic_units_are_counted_and_the_verdict_says_so():
    c = compare(planted(False, 0.99), planted(True, 0.985), ("base", "twin"))
    for layer in READOUT_LAYERS:
        a, b = c.a.layer(layer), c.b.layer(layer)
        assert (a.selective_units, b.selective_units) == (4, 4)
        assert (a.inputs_per_unit, b.inputs_per_unit) == (2.0, 1.0)
        assert (a.monosemantic, b.monosemantic) == (0.0, 1.0)
        assert (a.units_per_pair, b.units_per_pair) == (4.0, 2.0)
    v = c.verdict()
    assert "twin has more monosemantic units than base" in v and "0.50 points less accurate" in v
    assert "No clear difference" in compare(planted(True, 0.99), planted(True, 0.99)).verdict()
    assert "different samples" in compare(planted(True, 0.99), planted(True, 0.99, "other")).verdict()


def test_a_selective_unit_needs_both_the_excess_and_the_corrected_p_value():
    a = planted(True, 0.99)
    a.tables.q_value[:, 0] = 0.06                # unit 0 of concat.fwd: excess, but not significant once corrected
    a.tables.hellinger_excess[:, 1] = SELECTIVE_EXCESS - 1e-3
    s = compare(a, a).a.layer("concat.fwd")
    assert s.selective_units == 2


def test_units_to_break_is_the_first_k_of_the_recurrent_ablation_below_half(tiny):
    model, alphabets, rec = tiny
    pair = hellinger_tables(rec, bins=10, min_count=4, layers=["hidden"]).pairs[0]
    scores = torch.arange(model.config.lstm, 0, -1).float()          # rank units 0, 1, 2, ...
    curve = units_to_break(rec, scores, str(pair), "concat.fwd", ks=(1, 2, 6), max_positions=10_000)
    for k, acc in zip(curve.ks, curve.target_accuracy):
        ref = ablate_recording(rec, pair, "concat.fwd", k=k, draws=0, scores=scores, recurrent=True)
        assert acc == pytest.approx(ref.target_accuracy_top_k)
    first = next((k for k, a in zip(curve.ks, curve.target_accuracy) if a < BREAK_ACCURACY), None)
    assert curve.units_to_break == first
    assert curve.baseline == pytest.approx(
        ablate_recording(rec, pair, "concat.fwd", k=0, draws=0).target_accuracy_baseline)


@pytest.mark.parametrize("k1, n1, k2, n2, lo, hi", [
    (56, 70, 48, 80, 0.0524, 0.3339),          # Newcombe (1998), Stat. Med. 17:873, table II, method 10
    (9, 10, 3, 10, 0.1705, 0.8090),
    (5, 56, 0, 29, -0.0381, 0.1926),           # a share of 0: the Wald interval would be too narrow
])
def test_the_difference_interval_matches_newcombes_published_values(k1, n1, k2, n2, lo, hi):
    from translit_core.analysis.comparison.models import proportion_difference
    d, low, high = proportion_difference(k1, n1, k2, n2)
    assert d == pytest.approx(k1 / n1 - k2 / n2) and (low, high) == pytest.approx((lo, hi), abs=1e-4)


def test_the_wilson_interval_agrees_with_scipy():
    from scipy.stats import binomtest
    from translit_core.analysis.comparison.models import wilson_interval
    for k, n in ((0, 5), (7, 23), (23, 23), (100, 1000)):
        ci = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-7)


def test_a_small_difference_in_few_units_is_not_a_verdict():
    """Two units of 4 monosemantic against 3 of 4: within the interval, so no claim."""
    a, b = planted(True, 0.99), planted(True, 0.99)
    a.tables.hellinger_excess[:, 0::4] = 0.8          # unit 0 of each layer selective for every pair in a
    c = compare(a, b, ("base", "twin"))
    assert c.a.layer("hidden").monosemantic_units == 3 and c.b.layer("hidden").monosemantic_units == 4
    assert "No clear difference" in c.verdict()


def test_the_twin_is_compared_with_its_control_by_default(tmp_path):
    import json
    from translit_core.analysis.comparison.models import control_of, default_pair
    recipe = {"corpus": "c", "epochs": 2, "lr": 3e-3, "seed": 0}
    dirs = {}
    for name, extra in (("base", {"epochs": 15}), ("short", {"reg": "", "out": "runs/short"}),
                        ("twin", {"reg": "decov", "reg_weight": 1e-3, "out": "runs/twin"}),
                        ("other-seed", {"seed": 1, "reg": ""})):
        d = tmp_path / name
        d.mkdir()
        (d / "model.json").write_text(json.dumps({"train_config": {**recipe, **extra}}), encoding="utf-8")
        dirs[name] = d
    assert control_of(dirs["twin"], dirs) == "short"                 # the seed differs for other-seed
    assert default_pair(dirs) == ("short", "twin")
    del dirs["short"]
    assert default_pair(dirs) == ("base", "twin")                    # no control: the first model
    assert default_pair({"base": dirs["base"], "other-seed": dirs["other-seed"]}) == ("base", "other-seed")
    # a retrofit (fine-tuned from the base with the regularizer) comes after a twin from scratch
    for name, extra in (("a-retrofit", {"init": "base", "reg": "decov", "reg_weight": 1e-3}),
                        ("a-tuned", {"init": "base"})):
        d = tmp_path / name
        d.mkdir()
        (d / "model.json").write_text(json.dumps({"train_config": {**recipe, **extra}}), encoding="utf-8")
        dirs[name] = d
    assert default_pair({n: dirs[n] for n in ("base", "a-retrofit", "a-tuned", "twin")}) == ("base", "twin")
    assert default_pair({n: dirs[n] for n in ("base", "a-retrofit", "a-tuned")}) == ("a-tuned", "a-retrofit")


def test_the_excess_distribution_is_numpys_histogram_of_the_cells():
    import numpy as np
    from translit_core.analysis.comparison.models import EXCESS_BINS, excess_shares
    g = torch.Generator().manual_seed(0)
    e = torch.rand(7, 50, generator=g) * 1.6 - 0.5                 # some below and above the edges
    shares = excess_shares(e)
    ref, _ = np.histogram(np.clip(e.numpy().ravel(), -0.3, 1.0), bins=EXCESS_BINS.numpy())
    assert np.allclose(shares, ref / e.numel()) and sum(shares) == pytest.approx(1.0)
    c = compare(planted(True, 0.99), planted(False, 0.99))
    assert sum(c.a.layer("hidden").excess_share) == pytest.approx(1.0)
