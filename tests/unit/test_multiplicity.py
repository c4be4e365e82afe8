"""The H p-values against a layer's pooled null, and their Benjamini-Hochberg correction: calibrated
under the null, fine enough to correct thousands of tests, and the correction checked against a
direct reading of its definition."""
from __future__ import annotations

import torch

from translit_core.analysis.measurement.stats import bh_q_values, pooled_p_values
from translit_core.analysis.measurement.tables import hellinger_tables

from test_statistics import observed_and_null


def _layer(n: int, u: int, g: torch.Generator) -> torch.Tensor:
    """u units of four different shapes (normal, skewed, two-valued, saturating): their raw nulls
    differ, so pooling them is only fair after standardizing."""
    x = torch.randn(n, u, generator=g)
    kind = torch.arange(u) % 4
    x[:, kind == 1] = x[:, kind == 1].exp()
    x[:, kind == 2] = (x[:, kind == 2] > 0.5).float() + 0.01 * torch.randn(n, int((kind == 2).sum()), generator=g)
    x[:, kind == 3] = torch.tanh(3 * x[:, kind == 3])
    return x


def _p_values(values: torch.Tensor, is_pos: torch.Tensor, shuffles: int, seed: int) -> torch.Tensor:
    return observed_and_null(values, is_pos, 50, shuffles, seed)[1].p_value[0]


def test_pooled_p_values_are_uniform_when_labels_are_unrelated_whatever_the_units_shape():
    g = torch.Generator().manual_seed(0)
    values = _layer(2000, 120, g)
    p = torch.cat([_p_values(values, torch.rand(2000, generator=g) < 0.15, 20, seed) for seed in range(12)])
    for level in (0.01, 0.05, 0.2, 0.5):          # 1,440 tests: binomial sd at 0.05 is 0.006
        assert abs(float((p <= level).float().mean()) - level) < max(0.02, 0.25 * level), level
    # a unit's own 20 shuffles could not say less than 1/21; the pooled null reaches far below it
    assert float(p.min()) >= 1 / (1 + 20 * 120) - 1e-9


def test_a_planted_unit_reaches_the_pooled_floor_and_survives_correction():
    g = torch.Generator().manual_seed(1)
    n, u = 3000, 100
    values = _layer(n, u, g)
    is_pos = torch.rand(n, generator=g) < 0.2
    values[:, :5] += 1.0 * is_pos.float().unsqueeze(1)                  # units 0-4 separate
    p = _p_values(values, is_pos, 20, seed=1)
    assert torch.allclose(p[:5], torch.full((5,), 1 / (1 + 20 * u)))    # above every shuffle of every unit
    q = bh_q_values(p)
    assert (q[:5] < 0.01).all()
    assert int((q[5:] <= 0.05).sum()) <= 2                               # few false discoveries among the rest


def test_fewer_than_three_shuffles_give_each_units_own_p():
    observed = torch.tensor([[0.5, 0.1]], dtype=torch.float64)
    samples = torch.tensor([[[0.2, 0.3]], [[0.6, 0.05]]], dtype=torch.float64)   # (S=2, k=1, u=2)
    assert pooled_p_values(observed, samples).tolist() == [[2 / 3, 2 / 3]]


def _bh_by_definition(p: list[float]) -> list[float]:
    """q_i = min over j with p_j >= p_i of min(1, m p_j / rank_j): the definition, read literally."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    rank = {i: r + 1 for r, i in enumerate(order)}
    return [min(min(1.0, m * p[j] / rank[j]) for j in range(m) if p[j] >= p[i]) for i in range(m)]


def test_bh_matches_its_definition_and_controls_false_discoveries_on_planted_effects():
    g = torch.Generator().manual_seed(2)
    p = torch.rand(300, generator=g, dtype=torch.float64)
    assert torch.allclose(bh_q_values(p), torch.tensor(_bh_by_definition(p.tolist()), dtype=torch.float64))
    # 100 planted effects among 1,000 tests, many times: the share of false discoveries stays <= 5%
    fdp = []
    for _ in range(50):
        null = torch.rand(900, generator=g, dtype=torch.float64)
        planted = torch.rand(100, generator=g, dtype=torch.float64) * 1e-3
        q = bh_q_values(torch.cat([planted, null]))
        called = q <= 0.05
        fdp.append(float(called[100:].sum()) / max(int(called.sum()), 1))
        assert called[:100].all()
    assert sum(fdp) / len(fdp) <= 0.05


def test_the_tables_q_values_correct_each_layer_as_one_family(tiny):
    _, _, rec = tiny
    t = hellinger_tables(rec, bins=20, min_count=3, shuffles=8)
    for name, o in t.offsets.items():
        block = t.p_value[:, o:o + t.sizes[name]]
        expected = torch.tensor(_bh_by_definition(block.flatten().double().tolist()), dtype=torch.float64)
        expected = expected.reshape(block.shape)
        assert torch.allclose(t.q_value[:, o:o + t.sizes[name]].double(), expected, atol=1e-6), name
    assert (t.q_value >= t.p_value - 1e-7).all()
