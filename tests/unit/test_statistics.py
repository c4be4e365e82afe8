"""The statistics behind the analysis's claims: permutation nulls of H, bootstrap
intervals, spread-matched random draws, p-values of ablations, split halves. Synthetic data
with known answers, and the tiny seeded model."""
from __future__ import annotations

import math

import pytest
import torch

from translit_core.analysis.methods.ablation import ablate_recording, matched_draw, verdict
from translit_core.analysis.measurement.stats import flat_bins, hellinger_from_counts, permutation_null
from translit_core.analysis.measurement.tables import hellinger_tables
from translit_core.analysis.methods.uncertainty import basic_interval, bootstrap_hellinger, direction_claims


def observed_and_null(values: torch.Tensor, is_pos: torch.Tensor, bins: int = 50, shuffles: int = 40, seed: int = 0):
    """H of every column between is_pos and the rest, and its permutation null."""
    n, u = values.shape
    lo, hi = torch.aminmax(values, dim=0)
    binned = flat_bins(values, lo, hi, bins)
    total = torch.bincount(binned.view(-1), minlength=u * bins).view(u, bins)
    pos = torch.bincount(binned[is_pos].view(-1), minlength=u * bins).view(1, u, bins)
    n_pos = torch.tensor([float(is_pos.sum())], dtype=torch.float64)
    observed = hellinger_from_counts(pos, total, n_pos, n - n_pos)
    return observed, permutation_null(binned, total, n_pos, observed, bins, shuffles,
                                      torch.Generator().manual_seed(seed))


def test_the_null_of_identical_laws_is_the_h_of_two_samples_of_the_same_law():
    """Labels unrelated to the values: the null's mean equals the mean H of independent pairs of
    samples of one law at the same sizes (a reference computed without any shuffling)."""
    g = torch.Generator().manual_seed(1)
    n, n_pos, bins = 3000, 300, 50
    values = torch.randn(n, 3, generator=g)
    is_pos = torch.zeros(n, dtype=torch.bool)
    is_pos[torch.randperm(n, generator=g)[:n_pos]] = True
    _, null = observed_and_null(values, is_pos, bins, shuffles=40)
    reference = []
    for _ in range(40):
        a, b = torch.randn(n_pos, generator=g), torch.randn(n - n_pos, generator=g)
        both = torch.cat([a, b])
        edges_lo, edges_hi = both.min(), both.max()
        ia = ((a - edges_lo) / (edges_hi - edges_lo) * bins).long().clamp(0, bins - 1)
        ib = ((b - edges_lo) / (edges_hi - edges_lo) * bins).long().clamp(0, bins - 1)
        p, q = torch.bincount(ia, minlength=bins).double(), torch.bincount(ib, minlength=bins).double()
        reference.append(float((1 - (p / p.sum() * q / q.sum()).sqrt().sum()).clamp(min=0).sqrt()))
    expected = sum(reference) / len(reference)
    assert 0.1 < expected < 0.3                                          # a real floor at these sizes
    assert null.mean.tolist()[0] == pytest.approx([expected] * 3, abs=0.02)
    assert (null.std > 0).all()


def test_a_unit_built_to_separate_has_a_large_excess_and_the_smallest_p():
    g = torch.Generator().manual_seed(2)
    n = 4000
    is_pos = torch.rand(n, generator=g) < 0.2
    noise = torch.randn(n, 2, generator=g)
    values = noise.clone()
    values[:, 0] += 2.5 * is_pos.float()                                # unit 0 separates, unit 1 does not
    observed, null = observed_and_null(values, is_pos, shuffles=30)
    excess = observed - null.mean.double()
    assert float(excess[0, 0]) > 0.4
    assert float(null.p_value[0, 0]) == pytest.approx(1 / 61)           # no shuffle of either unit reached it
    assert abs(float(excess[0, 1])) < 0.05                               # the unrelated unit sits on its floor
    assert float(null.p_value[0, 1]) > 0.05


def test_rarer_pairs_have_a_higher_floor():
    """The reason raw H does not compare across pairs: the same unrelated unit, fewer positions."""
    g = torch.Generator().manual_seed(3)
    values = torch.randn(6000, 1, generator=g)
    floors = []
    for n_pos in (3000, 600, 120):
        is_pos = torch.zeros(6000, dtype=torch.bool)
        is_pos[:n_pos] = True
        floors.append(float(observed_and_null(values, is_pos)[1].mean))
    assert floors[0] < floors[1] < floors[2]


def test_bootstrap_intervals_cover_a_known_hellinger():
    """Two normal laws one sd apart: the continuous Hellinger distance is sqrt(1 - exp(-1/8)).
    Positions come in sentences of 10 that share a random offset (as characters of one sentence
    share their words); the 95% interval must cover the true value in most of 20 repetitions."""
    truth = math.sqrt(1 - math.exp(-1 / 8))
    covered = 0
    for rep in range(20):
        g = torch.Generator().manual_seed(100 + rep)
        sentences = torch.arange(500).repeat_interleave(10)                 # 5000 positions
        is_pos = torch.rand(5000, generator=g) < 0.4
        shared = 0.3 * torch.randn(500, generator=g)[sentences]             # within-sentence correlation
        values = (torch.randn(5000, generator=g) * math.sqrt(1 - 0.09) + shared + is_pos.float()).unsqueeze(1)
        observed, boots = bootstrap_hellinger(values, is_pos, sentences, 60, 200, g)
        iv = basic_interval(float(observed[0]), boots[:, 0])
        covered += iv.low <= truth <= iv.high
    assert covered >= 16


def test_the_basic_interval_reflects_the_resamples_bias():
    samples = torch.tensor([0.50, 0.52, 0.54, 0.56, 0.58] * 40)
    iv = basic_interval(0.50, samples, level=0.9)
    assert iv.plug_in == 0.5 and iv.estimate == pytest.approx(0.46)        # 2 t - mean
    assert iv.high == pytest.approx(0.50, abs=1e-6) and iv.low == pytest.approx(0.42, abs=1e-6)
    assert iv.excludes(0.55) and not iv.excludes(0.45)


def test_matched_draw_has_the_spread_of_the_chosen_units():
    spread = torch.linspace(0.01, 2.0, 200)
    chosen = torch.arange(190, 200)                                     # the ten largest spreads
    pool = torch.arange(0, 190)
    g = torch.Generator().manual_seed(0)
    means = []
    for _ in range(50):
        d = matched_draw(spread, chosen, pool, g)
        assert d.numel() == 10 and d.unique().numel() == 10 and not torch.isin(d, chosen).any()
        means.append(float(spread[d].mean()))
    uniform = float(spread[pool].mean())
    target = float(spread[chosen].mean())
    assert abs(sum(means) / len(means) - target) < 0.25 * abs(target - uniform)   # far closer than uniform draws
    assert min(means) > float(spread[160])                              # always from the top band


def test_tables_carry_nulls_and_rank_by_excess(tiny):
    model, alph, rec = tiny
    t = hellinger_tables(rec, bins=20, min_count=3, shuffles=8)
    assert t.hellinger_null.shape == t.hellinger.shape == t.p_value.shape
    assert (t.hellinger_null >= 0).all() and (t.hellinger_null_std >= 0).all()
    assert float((t.hellinger_null > 0).float().mean()) > 0.5         # (a unit constant on x has H = null = 0)
    floor = 1 / (1 + 8 * max(t.sizes.values()))                        # pooled over a layer's units
    assert ((t.p_value >= floor - 1e-9) & (t.p_value <= 1)).all()
    assert torch.allclose(t.hellinger_excess, t.hellinger - t.hellinger_null)
    again = hellinger_tables(rec, bins=20, min_count=3, shuffles=8)
    assert torch.equal(t.hellinger_null, again.hellinger_null)          # seeded
    none = hellinger_tables(rec, bins=20, min_count=3, shuffles=0)
    assert torch.equal(none.hellinger, t.hellinger)                     # the null does not touch H


def test_a_mask_restricts_the_tables_to_those_positions(tiny):
    model, alph, rec = tiny
    first, second = rec.sentence_halves(0)
    assert not (first & second).any() and (first | second).all()
    sentences_first = set(rec.sentence_of(first.nonzero().squeeze(1)).tolist())
    sentences_second = set(rec.sentence_of(second.nonzero().squeeze(1)).tolist())
    assert not sentences_first & sentences_second                       # split by sentence, not by position
    t1 = hellinger_tables(rec, bins=20, min_count=2, shuffles=0, mask=first)
    n_first = {str(p): p.n_pos + p.n_neg for p in t1.pairs}
    for p in t1.pairs:
        xi = alph.in_index[p.x]
        assert n_first[str(p)] == int(((rec.x == xi) & first).sum())


def test_ablation_reports_the_decision_and_a_p_value(tiny):
    model, alph, rec = tiny
    pair = "a:ա" if "a" in alph.in_index else None
    counts = {}
    for x, y in zip(rec.x.tolist(), rec.y.tolist()):
        counts[(x, y)] = counts.get((x, y), 0) + 1
    (xi, yk), _ = max(((k, v) for k, v in counts.items() if k[0] >= 2), key=lambda kv: kv[1])
    from translit_core.model.alphabets import symbol_of_class
    pair = f"{alph.inputs[xi]}:{symbol_of_class(alph, yk)}"
    r = ablate_recording(rec, pair, "hidden", k=2, draws=30, seed=1)
    assert r.n_random_draws == 30 and len(r.random_delta_logps) == 30
    worse = sum(d <= r.delta_logp_top_k + 1e-12 for d in r.random_delta_logps)
    assert r.p_value == pytest.approx((1 + worse) / 31)
    assert r.target_accuracy_baseline == r.baseline_accuracy_on_y
    assert 0 <= r.balanced_accuracy_top_k <= 1
    assert verdict(r) in ("confirmed", "no effect beyond random")
    d = r.to_dict()
    for key in ("n_random_draws", "p_value", "target_accuracy_top_k", "delta_logp_top_k", "balanced_accuracy_top_k",
                "recurrent", "effect_logp", "verdict"):
        assert key in d
    nothing = ablate_recording(rec, pair, "concat.fwd", k=0, draws=3)
    assert nothing.delta_logp_top_k == 0 and nothing.target_accuracy_top_k == nothing.target_accuracy_baseline
    zero = ablate_recording(rec, pair, "hidden", k=model.config.hidden, draws=0, replace="zero")
    assert zero.delta_logp_top_k != 0 and verdict(zero) == "untested"


def test_recurrent_ablation_on_a_subset_of_chunks_scores_only_those(tiny):
    model, alph, rec = tiny
    xi = int(torch.mode(rec.x[rec.x >= 2]).values)
    from translit_core.model.alphabets import symbol_of_class
    yk = int(torch.mode(rec.y[rec.x == xi]).values)
    pair = f"{alph.inputs[xi]}:{symbol_of_class(alph, yk)}"
    full = ablate_recording(rec, pair, "concat.fwd", k=2, draws=2, recurrent=True)
    part = ablate_recording(rec, pair, "concat.fwd", k=2, draws=2, recurrent=True, max_positions=5)
    assert part.n_positions < full.n_positions
    assert part.recurrent and part.to_dict()["recurrent"] is True


def test_direction_claims_say_no_clear_difference_unless_the_interval_excludes_zero(tiny):
    model, alph, rec = tiny
    t = hellinger_tables(rec, bins=20, min_count=3, shuffles=0)
    claims = direction_claims(rec, [str(p) for p in t.pairs][:3], k=2, resamples=50, bins=20, shuffles=4)
    for c in claims:
        assert c.difference.low <= c.difference.high
        excludes = not c.difference.low <= 0 <= c.difference.high
        assert (c.best != "no clear difference") == excludes
        assert c.to_dict()["best"] == c.best
        assert type(c).from_dict(c.to_dict()) == c


def test_the_sample_drops_sentences_that_occur_in_training_text(tmp_path, monkeypatch):
    """A held-out sentence planted in a training source is dropped as an exact duplicate, one
    that shares most of its word 6-grams with a training line as a near duplicate; the others
    stay, with their source (UD / ARPA) told apart."""
    import shutil

    from tiny import FIXTURE_DATA
    from translit_core.analysis.measurement.sample import held_out
    monkeypatch.setenv("TRANSLIT_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    shutil.copytree(FIXTURE_DATA, data)
    clean = held_out(data, n=100, seed=0)
    assert clean.sentences and not clean.dropped_exact and not clean.dropped_near
    assert set(clean.sources) == {"ud", "arpa"}
    planted = clean.sentences[0]
    near = "Արգելված երկար նախադասությունը պատմում է գետի ափին ապրող ձկնորսների մասին:"   # 9 words
    with open(data / "arpa" / "test.tsv", "a", encoding="utf-8") as f:
        f.write(f"{near}\tԿարճ է:\t0\n")
    with_near = held_out(data, n=100, seed=0)
    assert near in with_near.sentences and with_near.sources[with_near.sentences.index(near)] == "arpa"
    paraphrase = near.replace("մասին:", "կյանքի մասին:")              # one word more at the end
    with open(data / "arpa" / "train.tsv", "a", encoding="utf-8") as f:
        f.write(f"{planted.upper()}\tայլ բան\t0\n{paraphrase}\tայլ բան\t0\n")
    again = held_out(data, n=100, seed=0)
    assert planted in again.dropped_exact                              # case does not hide it
    assert near in again.dropped_near                                  # 3 of its 4 word 6-grams are in training text
    assert set(again.sentences) == set(with_near.sentences) - {planted, near}
    assert set(held_out(data, n=100, seed=0, dedup=False).sentences) == set(with_near.sentences)
    # The digests an analysis stores pick the same sample without reading the training text again.
    (data / "arpa" / "train.tsv").unlink()
    assert held_out(data, n=100, seed=0).sentences != again.sentences
    assert held_out(data, n=100, seed=0, dropped=again.dropped_digests()).sentences == again.sentences


def test_every_ranking_method_finds_a_planted_selective_and_used_unit(tiny):
    """A forward unit made to read +3 where x becomes y and -3 where it becomes anything else
    (selective), wired through one hidden unit straight to y's logit (used): every method ranks
    it among its first three, and ablating it costs far more than random units."""
    import copy
    from dataclasses import replace as dc_replace

    from translit_core.analysis.methods.ranking import METHODS, rank_methods
    from translit_core.model.alphabets import symbol_of_class
    model, alph, rec = tiny
    counts = {}
    for x, y in zip(rec.x.tolist(), rec.y.tolist()):
        if x >= 2:
            counts.setdefault(x, {}).setdefault(y, 0)
            counts[x][y] += 1
    xi = max((x for x, ys in counts.items() if len(ys) >= 2), key=lambda x: sorted(counts[x].values())[-2])
    yk = sorted(counts[xi], key=lambda y: -counts[xi][y])[1]          # its second most common output
    pair = f"{alph.inputs[xi]}:{symbol_of_class(alph, yk)}"
    planted = copy.deepcopy(model)
    j, h0 = 2, 0
    with torch.no_grad():
        planted.dense.weight[h0].zero_()
        planted.dense.bias[h0] = 0
        planted.dense.weight[h0, j] = 2.0
        planted.out.weight[yk, h0] = 12.0
    h = rec.h.copy()
    at_x = (rec.x == xi).numpy()
    h[at_x, j] = -3.0
    h[at_x & (rec.y == yk).numpy(), j] = 3.0
    rec2 = dc_replace(rec, model=planted, h=h)
    result = rank_methods(rec2, pair, "concat.fwd", ks=(1, 2, 5), random_draws=10, bins=20, shuffles=4)
    assert {c.method for c in result.curves} == set(METHODS) | {"random"}
    for c in result.curves:
        if c.method != "random":
            assert j in c.top_units[:3], (c.method, c.top_units[:5])
    greedy, band = result.curve("greedy").curve[0], result.curve("random").curve[0]
    # (The layer has 6 units, so a random draw of one hits the planted unit 1 time in 6: compare means.)
    assert greedy.delta_logp < band.delta_logp - 5 and greedy.target_accuracy < band.target_accuracy - 0.3
    assert result.area("greedy") < result.area("random")
    assert type(result).from_dict(result.to_dict()).to_dict() == result.to_dict()


def _commonest_pair(rec, alph) -> str:
    """The input with the most outputs of the tiny recording, and its commonest output."""
    from translit_core.model.alphabets import symbol_of_class
    xi = max((int(x) for x in rec.x.unique() if x >= 2), key=lambda x: (rec.y[rec.x == x].unique().numel(), x))
    yk = int(torch.mode(rec.y[rec.x == xi]).values)
    return f"{alph.inputs[xi]}:{symbol_of_class(alph, yk)}"


def test_the_cap_per_output_keeps_a_seeded_subset_of_each_output_and_no_more():
    from translit_core.analysis.methods.scoring import _cap_per_output
    target = torch.tensor([5] * 40 + [7] * 3 + [9] * 12)[torch.randperm(55, generator=torch.Generator().manual_seed(0))]
    scored = torch.arange(100, 155)
    kept = _cap_per_output(scored, target, cap=10, seed=4)
    assert bool((kept[1:] > kept[:-1]).all())                                   # sorted, distinct
    by = target[kept - 100]
    assert [int((by == c).sum()) for c in (5, 7, 9)] == [10, 3, 10]             # rarer outputs kept whole
    assert torch.equal(kept, _cap_per_output(scored, target, cap=10, seed=4))    # seeded
    assert not torch.equal(kept, _cap_per_output(scored, target, cap=10, seed=5))
    assert torch.equal(_cap_per_output(scored, target, cap=40, seed=4), scored)


def test_a_capped_scorer_weights_each_outputs_recall_by_its_share_of_x(tiny):
    """With a cap, recall per output is measured on the kept positions, and the accuracy over x
    is those recalls weighted by each output's share of all positions of x (not of the kept)."""
    from translit_core.analysis.methods.scoring import DecisionScorer
    model, alph, rec = tiny
    pair = _commonest_pair(rec, alph)
    full = DecisionScorer(rec, pair, "hidden")
    capped = DecisionScorer(rec, pair, "hidden", per_output=3, seed=2)
    assert capped.scored.numel() < full.scored.numel()
    assert int(torch.bincount(capped.by_class).max()) <= 3
    chosen = torch.tensor([0, 3])
    acc_full = full.metrics(chosen)
    assert acc_full[0] == pytest.approx(float((full.log_probs(chosen).argmax(-1) == full.target).float().mean()))
    acc, on_y, delta, balanced = capped.metrics(chosen)
    right = capped.log_probs(chosen).argmax(-1) == capped.target
    recall = torch.stack([right[capped.by_class == c].double().mean() for c in range(capped.classes.numel())])
    share = torch.stack([(full.target == c).double().mean() for c in capped.classes])
    assert acc == pytest.approx(float((recall * share).sum()))
    assert balanced == pytest.approx(float(recall.mean()))
    assert on_y == pytest.approx(float(right[capped.is_pos].double().mean()))
    assert DecisionScorer(rec, pair, "hidden", per_output=10_000).metrics(chosen) == pytest.approx(acc_full)


def test_the_gradient_ranking_is_every_rows_own_integrated_gradient(tiny):
    """`_gradient_ranking` hands Captum the sum of log p(y) over the rows (one backward seed);
    the rows are independent, so it must equal per-row integrated gradients."""
    from captum.attr import IntegratedGradients

    from translit_core.analysis.methods.scoring import DecisionScorer
    from translit_core.analysis.methods.ranking import IG_STEPS, _gradient_ranking
    model, alph, rec = tiny
    sc = DecisionScorer(rec, _commonest_pair(rec, alph), "concat.bwd")
    rows = sc.is_pos.nonzero().squeeze(1)
    ours = _gradient_ranking(sc, rows)
    concat, x, _, _ = sc.ctx
    H = rec.H

    def log_p(acts):        # per row, the straightforward way
        n_rep = acts.shape[0] // rows.numel()
        c = concat[rows].repeat(n_rep, 1)
        return torch.log_softmax(model.head(torch.cat([c[:, :H], acts], 1), x[rows].repeat(n_rep))[1], -1)[:, sc.yk]

    acts = concat[rows][:, H:].clone()
    with torch.enable_grad():
        ref = IntegratedGradients(log_p).attribute(acts, baselines=sc.value.unsqueeze(0).expand_as(acts),
                                                   n_steps=IG_STEPS)
    assert torch.allclose(ours, ref.mean(0), atol=1e-5)


def test_the_cli_keeps_freed_memory_where_the_c_library_allows_it():
    import platform

    from translit_core.allocator import keep_freed_memory
    assert keep_freed_memory() is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def test_the_analysis_lane_runs_without_gradients_and_stops_when_analyze_leaves_early():
    import time
    from concurrent.futures import CancelledError

    from translit_core.analysis.pipeline import Lane
    with Lane() as lane:
        assert lane.submit(torch.is_grad_enabled).result()[0] is False    # grad mode is per thread
    steps = []
    with pytest.raises(RuntimeError):
        with Lane() as lane:
            slow = lane.submit(lambda: [steps.append(i) or time.sleep(0.05) for i in lane.each(range(100))])
            time.sleep(0.12)
            raise RuntimeError("the tables failed")                    # leaves the lane early
    with pytest.raises(CancelledError):
        slow.result(timeout=5)
    assert len(steps) < 10                                             # stopped at its next step
