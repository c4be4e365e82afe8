"""Paraphrase pairs as units of resampling: found in ARPA's rows, kept on one side of the selection /
scoring split, and drawn together by the bootstraps (a planted shared effect widens the interval
as it should)."""
from __future__ import annotations

import dataclasses

import torch

from translit_core.analysis.measurement.sample import paraphrase_groups
from translit_core.analysis.methods.ranking import MethodComparison, MethodCurve, CurvePoint, _area_statistics


def test_the_sentences_of_a_row_and_of_chained_rows_share_a_group(tmp_path):
    (tmp_path / "arpa").mkdir()
    rows = ["Sentence1\tSentence2\tParaphrase", "Ա ա\tԲ բ\t1", "Գ գ\tԴ դ\t1", "Դ դ\tԵ ե\t0", "Զ զ\tՈչ մեկը\t1"]
    (tmp_path / "arpa" / "test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    sentences = ["Բ բ", "Է է", "Ա ա", "Գ գ", "Ե ե", "Դ դ", "Զ զ"]
    # Բ/Ա pair up (named by Բ, the first); Է is alone; Գ-Դ-Ե chain; Զ's partner is not in the sample
    assert paraphrase_groups(sentences, tmp_path) == [0, 1, 0, 3, 3, 3, 6]


def test_the_halves_keep_every_group_on_one_side_and_equal_the_sentence_split_without_groups(tiny):
    _, _, rec = tiny
    n = int(rec.chunk_sentence.max()) + 1
    alone = dataclasses.replace(rec)
    first, _ = alone.sentence_halves(seed=3)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(3))[: n // 2]   # the split by sentence
    expected = torch.zeros(n, dtype=torch.bool)
    expected[order] = True
    assert torch.equal(first, expected[rec.sentence_of(torch.arange(rec.n_positions))])
    calls = []
    paired = dataclasses.replace(rec, sentence_group=lambda: calls.append(1) or [i - i % 2 for i in range(n)])
    for seed in range(5):
        first, second = paired.sentence_halves(seed)
        side = {}
        for g, m in zip(paired.group_of(torch.arange(rec.n_positions)).tolist(), first.tolist()):
            assert side.setdefault(g, m) == m                     # both sentences of a pair on one side
        assert torch.equal(first, ~second) and 0 < int(first.sum()) < rec.n_positions
    assert calls == [1]                                           # the groups are made once, when first needed
    as_list = dataclasses.replace(rec, sentence_group=[i - i % 2 for i in range(n)])   # as analyze sets them
    assert torch.equal(as_list.sentence_halves(2)[0], paired.sentence_halves(2)[0])


def test_a_bootstrap_over_pairs_is_as_wide_as_a_shared_pair_effect_makes_it():
    """Two sentences of a pair share a large effect: resampling sentences one by one would call the
    mean sqrt(2) times more precise than it is; resampling pairs gives the width the pair means allow."""
    g = torch.Generator().manual_seed(0)
    pairs, per_sentence = 80, 10
    sentence = torch.arange(2 * pairs).repeat_interleave(per_sentence)
    pair = sentence // 2
    area = torch.randn(pairs, generator=g, dtype=torch.float64)[pair] * 0.5 \
        + torch.randn(sentence.numel(), generator=g, dtype=torch.float64) * 0.01
    areas = torch.stack([area, area - 0.1], 1)
    widths = {}
    for name, unit in (("pair", pair), ("sentence", sentence)):
        c = MethodComparison("t:թ", "concat.fwd", [MethodCurve(m, [CurvePoint(1, 1.0, 0.0)]) for m in "ab"], 1, 1)
        _area_statistics(c, areas, unit, seed=0)
        lo, hi = c.curve("a").area_interval
        widths[name] = hi - lo
    expected = 2 * 1.96 * float(areas[:, 0].reshape(pairs, 2 * per_sentence).mean(1).std()) / pairs ** 0.5
    assert 0.75 * expected < widths["pair"] < 1.25 * expected
    assert widths["sentence"] < 0.85 * widths["pair"]             # the independent-sentence interval is too narrow
