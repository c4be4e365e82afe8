"""The ranking methods' areas with intervals over sentences (translit_core.analysis.methods.ranking):
on planted data with known answers, a paired margin the unpaired intervals would miss, clusters
(sentences) kept together, and the greedy search never named best."""
from __future__ import annotations

import torch

from translit_core.analysis.methods.ranking import (CurvePoint, MethodComparison, MethodCurve, UPPER_REFERENCE,
                                                    _area_statistics)


def comparison(methods: list[str]) -> MethodComparison:
    curves = [MethodCurve(m, [CurvePoint(1, 1.0, 0.0)]) for m in methods]
    return MethodComparison("t:թ", "concat.fwd", curves, 100, 100)


def planted(n_sentences: int = 60, per_sentence: int = 20, seed: int = 0):
    """(areas (n, 3), sentence (n,)): a sentence effect shared by every position of the sentence and by
    every method (large), a small per-position noise, and method "a" 0.02 below "b" at every position."""
    g = torch.Generator().manual_seed(seed)
    sentence = torch.arange(n_sentences).repeat_interleave(per_sentence)
    shared = torch.randn(n_sentences, generator=g, dtype=torch.float64)[sentence] * 0.5     # the cluster
    noise = torch.randn(sentence.numel(), generator=g, dtype=torch.float64) * 0.01
    b = -0.3 + shared + noise
    return torch.stack([b - 0.02, b, b - 0.5], 1), sentence                 # a, b, greedy (far lowest)


def test_a_consistent_margin_is_found_by_the_paired_interval_that_separate_intervals_miss():
    areas, sentence = planted()
    cmp = comparison(["a", "b", UPPER_REFERENCE])
    _area_statistics(cmp, areas, sentence, seed=0)
    (alo, ahi), (blo, bhi) = cmp.curve("a").area_interval, cmp.curve("b").area_interval
    assert alo < bhi and blo < ahi                              # the two intervals overlap: unpaired, no call
    d, lo, hi = cmp.best_margin
    assert abs(d + 0.02) < 0.005 and hi < 0                     # paired: a beats b, the interval excludes 0
    assert cmp.best == "a" and cmp.runner_up == "b"             # greedy is lower still, but never the best


def test_no_best_when_the_margin_is_inside_the_noise():
    areas, sentence = planted()
    areas[:, 0] = areas[:, 1] + torch.randn(areas.shape[0], generator=torch.Generator().manual_seed(3),
                                            dtype=torch.float64) * 0.05           # a = b, only noise apart
    cmp = comparison(["a", "b", UPPER_REFERENCE])
    _area_statistics(cmp, areas, sentence, seed=0)
    assert cmp.best is None and cmp.best_margin[1] < 0 < cmp.best_margin[2]


def test_the_bootstrap_keeps_a_sentence_together():
    """Resampling sentences, not positions: with a large shared effect per sentence, the interval is
    about as wide as the spread of sentence means allows (positions drawn one by one would give an
    interval sqrt(per_sentence) times narrower)."""
    areas, sentence = planted()
    cmp = comparison(["a", "b", UPPER_REFERENCE])
    _area_statistics(cmp, areas, sentence, seed=0)
    lo, hi = cmp.curve("b").area_interval
    sentence_means = areas[:, 1].reshape(60, 20).mean(1)
    expected = 2 * 1.96 * float(sentence_means.std()) / 60 ** 0.5
    assert 0.7 * expected < hi - lo < 1.3 * expected


def test_the_intervals_are_seeded_and_stored():
    areas, sentence = planted()
    one, two = comparison(["a", "b", UPPER_REFERENCE]), comparison(["a", "b", UPPER_REFERENCE])
    _area_statistics(one, areas, sentence, seed=5)
    _area_statistics(two, areas, sentence, seed=5)
    assert one.to_dict() == two.to_dict() and one.resamples >= 1000
    back = MethodComparison.from_dict(one.to_dict())
    assert back.best == one.best and back.to_dict() == one.to_dict()          # stored rounded, read back as stored
