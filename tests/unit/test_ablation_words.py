"""What the card and the command line say about an ablation matches its numbers: random units that
cost more are said to cost more, random units that cost nothing get no z, and the rest "about as much"."""
from __future__ import annotations

import math

from dashboard.views.card import ablation_sentence
from translit_core.analysis.methods.ablation import (RANDOM_NOTHING, AblationResult, effect_words, random_units_cost,
                                                     verdict)


def result(top: float, randoms: list[float]) -> AblationResult:
    """An ablation of t:թ whose top 10 change log p(y) by `top` and whose random draws by `randoms`."""
    n = len(randoms)
    mean = sum(randoms) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in randoms) / (n - 1))
    return AblationResult(
        pair="t:թ", layer="concat.fwd", k=10, baseline_accuracy=0.99, top_k_accuracy=0.98, random_k_accuracy_mean=0.98,
        random_k_accuracy_std=0.01, n_positions=500, n_pos=200, n_neg=300, n_random_draws=n,
        target_accuracy_baseline=0.99, target_accuracy_top_k=0.98, target_accuracy_random_mean=0.97,
        target_accuracy_random_std=0.01, delta_logp_top_k=top, delta_logp_random_mean=mean, delta_logp_random_std=std,
        p_value=(1 + sum(v <= top for v in randoms)) / (1 + n), random_delta_logps=randoms)


def test_random_units_that_hurt_more_are_said_to_cost_more():
    r = result(-0.01, [-0.2 - 0.001 * i for i in range(100)])       # every draw more damaging than the top 10
    assert verdict(r) == "no effect beyond random" and random_units_cost(r) == "more"
    said = ablation_sentence(r)
    assert "cost more than these" in said and "about as much" not in said


def test_random_units_that_cost_nothing_get_no_z():
    r = result(-0.3, [(-1) ** i * 1e-6 * i for i in range(100)])     # draws all within a millionth or so of 0
    assert max(abs(v) for v in r.random_delta_logps) < RANDOM_NOTHING
    assert verdict(r) == "confirmed" and math.isnan(r.effect_z)
    assert "random units cost nothing" in effect_words(r) and " sd" not in effect_words(r)
    assert "sd)" not in ablation_sentence(r)


def test_a_draw_like_the_top_k_is_about_as_much_and_keeps_its_z():
    r = result(-0.05, [-0.1 + 0.001 * i for i in range(100)])       # the top 10 in the middle of the draws
    assert verdict(r) == "no effect beyond random" and random_units_cost(r) == "about as much"
    assert "cost about as much" in ablation_sentence(r)
    assert math.isfinite(r.effect_z) and f"{r.effect_z:+.1f} sd" in effect_words(r)


def test_less_is_said_only_when_the_verdicts_corrected_value_says_so():
    """p 0.04 alone says random units cost less; corrected over its family to q 0.1 it does not,
    as the verdict does not."""
    import dataclasses
    r = result(-0.12, [-0.1 + 0.001 * i for i in range(24)] + [-0.2])   # 1 of 25 draws as damaging: p 2/26
    r = dataclasses.replace(r, p_value=0.04)
    assert random_units_cost(r) == "less" and verdict(r) == "confirmed"
    corrected = dataclasses.replace(r, q_value=0.1)
    assert verdict(corrected) == "no effect beyond random" and random_units_cost(corrected) == "about as much"
