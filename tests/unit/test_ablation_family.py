"""The stored ablations' statistics: the decision scored on every position of y with many draws,
the accuracies over x from the first draws, a q-value over the stored family that the verdict
reads; McNemar's test for two models scored on the same positions."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from translit_core.analysis.comparison.models import units_to_break
from translit_core.analysis.measurement.stats import mcnemar
from translit_core.analysis.measurement.tables import hellinger_tables
from translit_core.analysis.methods.ablation import (ACCURACY_DRAWS, AblationResult, ablate_recording, p_words,
                                                     verdict, with_q_values)
from translit_core.model.alphabets import symbol_of_class


def _common_pair(rec, alph) -> str:
    counts = {}
    for x, y in zip(rec.x.tolist(), rec.y.tolist()):
        counts[(x, y)] = counts.get((x, y), 0) + 1
    (xi, yk), _ = max(((k, v) for k, v in counts.items() if k[0] >= 2), key=lambda kv: kv[1])
    return f"{alph.inputs[xi]}:{symbol_of_class(alph, yk)}"


def test_the_decision_is_scored_on_every_position_of_y_even_where_x_is_capped(tiny):
    _, alph, rec = tiny
    pair = _common_pair(rec, alph)
    xi = alph.in_index[pair.split(":")[0]]
    n_y = max(int(((rec.x == xi) & (rec.y == c)).sum()) for c in rec.y[rec.x == xi].unique().tolist())
    r = ablate_recording(rec, pair, "hidden", k=2, draws=ACCURACY_DRAWS + 20, seed=1, per_output=3)
    assert r.n_pos == n_y > 3                                   # every position of y, not the 3 the cap keeps
    assert len(r.random_delta_logps) == ACCURACY_DRAWS + 20     # the p-value reads every draw
    assert len(r.random_k_accuracies) == ACCURACY_DRAWS == r.accuracy_draws
    uncapped = ablate_recording(rec, pair, "hidden", k=2, draws=ACCURACY_DRAWS + 20, seed=1, per_output=None)
    assert r.delta_logp_top_k == pytest.approx(uncapped.delta_logp_top_k)   # the cap touches the accuracies only
    assert r.random_delta_logps == uncapped.random_delta_logps


def _result(p: float, effect: float = -0.5) -> AblationResult:
    return AblationResult("t:թ", "hidden", 10, 0.9, 0.5, 0.9, 0.01, 100, n_random_draws=1000, p_value=p,
                          delta_logp_top_k=effect, delta_logp_random_mean=0.0, delta_logp_random_std=0.01,
                          random_delta_logps=[0.0] * 10)


def test_a_verdict_reads_the_families_q_value():
    family = [_result(0.001)] * 3 + [_result(0.04)] + [_result(0.5)] * 6
    corrected = with_q_values(family)
    # ten tests: the three at 0.001 share rank 3 (10 x 0.001 / 3), the fourth is 10 x 0.04 / 4
    assert [r.q_value for r in corrected[:4]] == pytest.approx([10 * 0.001 / 3] * 3 + [0.1], abs=1e-6)
    assert verdict(family[3]) == "confirmed"                    # alone, p 0.04 would pass
    assert verdict(corrected[3]) == "no effect beyond random"   # corrected over ten tests it does not
    assert verdict(corrected[0]) == "confirmed"
    assert "q = 0.0033" in p_words(corrected[0]) and p_words(family[0]) == "p = 0.001"
    untested = dataclasses.replace(_result(0.001), n_random_draws=0)
    kept, tested = with_q_values([untested, _result(0.01)])
    assert math.isnan(kept.q_value) and tested.q_value == pytest.approx(0.01)     # a family of one tested


def test_mcnemar_matches_the_exact_binomial_on_the_disagreements():
    a = [True] * 30 + [True] * 9 + [False] * 2 + [False] * 5
    b = [True] * 30 + [False] * 9 + [True] * 2 + [False] * 5
    only_a, only_b, p = mcnemar(a, b)
    assert (only_a, only_b) == (9, 2)
    # exact two-sided: 2 * P(X <= 2), X ~ Binomial(11, 1/2), summed by hand
    from math import comb
    assert p == pytest.approx(2 * sum(comb(11, i) for i in range(3)) / 2 ** 11)
    assert mcnemar(a, a)[2] == 1.0
    with pytest.raises(ValueError):
        mcnemar(a, b[:-1])


def test_the_break_curve_keeps_every_scored_position_of_y_for_a_paired_test(tiny):
    model, _, rec = tiny
    pair = hellinger_tables(rec, bins=10, min_count=4, layers=["hidden"]).pairs[0]
    scores = torch.arange(model.config.lstm, 0, -1).float()
    curve = units_to_break(rec, scores, str(pair), "concat.fwd", ks=(1, 2, 6), max_positions=10_000)
    assert [len(r) for r in curve.right] == [curve.n_positions] * 3
    assert [sum(r) / len(r) for r in curve.right] == pytest.approx(curve.target_accuracy)
    again = units_to_break(rec, scores, str(pair), "concat.fwd", ks=(1, 2, 6), max_positions=10_000)
    assert again.positions == curve.positions and len(curve.positions) == 16
