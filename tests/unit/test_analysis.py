"""The neuron analysis engine against independent references, on tiny seeded models.

References are computed a different way from the engine: activations straight from the
unrolled model chunk by chunk (not derived from the recording), histograms with
numpy.histogram one neuron at a time, distances with the textbook formula, means with Python
sums. Nothing depends on the shipped weights.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from translit_core import analysis as A
from translit_core.analysis.methods.ablation import ablate_recording
from translit_core.model.alphabets import symbol_of_class
from translit_core.model.checkpoint import load_checkpoint, save_checkpoint
from translit_core.model.names import LAYERS, NeuronId, UnknownName
from translit_core.model.net import Intervention, compile_hooks

from tiny import FIXTURE_DATA


def reference_layers(model, alphabets, rec) -> dict[str, np.ndarray]:
    """Every layer at every position, straight from the unrolled model, one chunk at a time."""
    per_layer = {name: [] for name in LAYERS}
    for chunk in rec.chunks:
        x = torch.tensor([alphabets.encode_input(chunk)])
        with torch.no_grad():
            _, acts = model.run_with_cache(x)
        for name in LAYERS:
            per_layer[name].append(acts[name][0].double().numpy())
    return {name: np.concatenate(v) for name, v in per_layer.items()}


def naive_hellinger(p_counts, q_counts) -> float:
    p = np.asarray(p_counts, dtype=float) / np.sum(p_counts)
    q = np.asarray(q_counts, dtype=float) / np.sum(q_counts)
    return math.sqrt(max(0.0, 1.0 - sum(math.sqrt(a * b) for a, b in zip(p, q))))


# -----------------------------------------------------------------------------
# Hellinger distance

def test_hellinger_identical_disjoint_and_hand_computed():
    p = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    q = torch.tensor([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])
    h = A.hellinger(p, q)
    assert h.shape == (4,)
    # [0.5,0.5,0] vs [0,0.5,0.5]: BC = sqrt(.25) = .5, H = sqrt(.5); [1,0] vs [.5,.5]: H = sqrt(1 - sqrt(.5))
    expected = [math.sqrt(0.5), 1.0, 0.0, math.sqrt(1 - math.sqrt(0.5))]
    assert torch.allclose(h, torch.tensor(expected, dtype=torch.float64), atol=1e-12)
    # Counts are normalised per row: 10x the counts, same distance.
    assert torch.allclose(A.hellinger(p * 10, q * 3), h, atol=1e-12)
    # The count-based form used by the tables agrees.
    pos = torch.tensor([[[3, 1, 0, 4]]])
    total = torch.tensor([[5, 1, 2, 4]])
    via_counts = A.hellinger_from_counts(pos, total, torch.tensor([8]), torch.tensor([4]))
    assert via_counts.item() == pytest.approx(naive_hellinger([3, 1, 0, 4], [2, 0, 2, 0]), abs=1e-12)


def test_bin_index_is_numpy_histogram():
    g = torch.Generator().manual_seed(0)
    values = torch.randn(500, 6, generator=g)
    values[:, 2] = 0.25                                               # a constant column
    values[:11, 3] = torch.linspace(-1, 1, 11)                          # values exactly on edges
    values[11:, 3] = values[11:, 3].clamp(-1, 1)
    values = values.double()
    for bins in (10, 1000):
        lo, hi = values.min(0).values, values.max(0).values
        idx = A.bin_index(values, lo, hi, bins)
        for u in range(6):
            ours = np.bincount(idx[:, u].numpy(), minlength=bins)
            ref, _ = np.histogram(values[:, u].numpy(), bins=bins, range=(float(lo[u]), float(hi[u])))
            assert np.array_equal(ours, ref), (bins, u)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bin_index_is_numpy_histogram_at_and_around_every_edge(dtype):
    # The bins are estimated in float32 and fixed near the edges: values on an edge and one ulp to
    # either side of it, over ranges of several scales, must still land where numpy puts them.
    g = torch.Generator().manual_seed(1)
    for bins in (7, 1000, 30000):
        lo_hi = torch.tensor([[-1.0, 1.0], [0.0, 3e-4], [-7.5, 40.0], [0.1, 0.1000305]], dtype=torch.float64)
        cols = []
        for lo, hi in lo_hi.tolist():
            edges = torch.from_numpy(np.linspace(lo, hi, bins + 1)).to(dtype)
            pick = edges[torch.randint(bins + 1, (400,), generator=g)]
            up, down = torch.nextafter(pick, pick + 1), torch.nextafter(pick, pick - 1)
            col = torch.cat([pick, up, down]).clamp(edges[0], edges[-1])
            col[0], col[1] = edges[0], edges[-1]                        # the range is the column's own
            cols.append(col)
        values = torch.stack(cols, 1)                                   # (1200, 4)
        lo, hi = values.min(0).values, values.max(0).values
        idx = A.bin_index(values, lo, hi, bins)
        for u in range(values.shape[1]):
            ours = np.bincount(idx[:, u].numpy(), minlength=bins)
            ref, _ = np.histogram(values[:, u].double().numpy(), bins=bins, range=(float(lo[u]), float(hi[u])))
            assert np.array_equal(ours, ref), (bins, u)


# -----------------------------------------------------------------------------
# the recording and the vectorized tables

def test_recording_layers_match_the_unrolled_model(tiny):
    model, alphabets, rec = tiny
    ref = reference_layers(model, alphabets, rec)
    for name in LAYERS:
        ours = rec.layer(name).double().numpy()
        assert ours.shape == ref[name].shape
        assert np.allclose(ours, ref[name], atol=1e-5), name
    # A subset of positions and units gives the same numbers.
    pos = torch.tensor([0, 5, 17, rec.n_positions - 1])
    assert np.allclose(rec.layer("gate.bwd.f", pos, units=[1, 4]).numpy(), ref["gate.bwd.f"][pos][:, [1, 4]], atol=1e-5)
    # Predictions are the model's own argmax.
    assert np.array_equal(rec.pred.numpy(), ref["output"].argmax(1))


def test_vectorized_tables_equal_a_naive_per_neuron_loop(tiny):
    model, alphabets, rec = tiny
    bins, min_count = 20, 4
    tables = A.hellinger_tables(rec, bins=bins, min_count=min_count)
    assert tables.pairs, "the tiny sample should have some pairs"
    # Like with like: the tables bin the recording's float32 values, so the reference bins the same
    # values (test_recording_layers_match_the_unrolled_model checks them against the model). Binning
    # an independently computed float64 copy would move values that sit on a bin edge.
    ref = {name: rec.layer(name).double().numpy() for name in LAYERS}
    x, y = rec.x.numpy(), rec.y.numpy()
    offsets = tables.offsets
    for i, pair in enumerate(tables.pairs):
        xi = alphabets.in_index[pair.x]
        yk = {"=": 0, "_": 1}.get(pair.y, alphabets.out_index.get(pair.y))   # written out: an independent reference
        at_x = x == xi
        pos, neg = at_x & (y == yk), at_x & (y != yk)
        assert (pair.n_pos, pair.n_neg) == (pos.sum(), neg.sum())
        for name in LAYERS:
            values = ref[name]
            for u in range(values.shape[1]):
                v = values[at_x, u]
                rng = (v.min(), v.max())
                hp, _ = np.histogram(values[pos, u], bins=bins, range=rng)
                hq, _ = np.histogram(values[neg, u], bins=bins, range=rng)
                col = offsets[name] + u
                assert tables.hellinger[i, col].item() == pytest.approx(naive_hellinger(hp, hq), abs=1e-5), \
                    (str(pair), name, u)
                assert tables.mean_pos[i, col].item() == pytest.approx(values[pos, u].mean(), abs=1e-5)
                assert tables.mean_neg[i, col].item() == pytest.approx(values[neg, u].mean(), abs=1e-5)


def test_unit_means_are_the_mean_over_every_position(tiny):
    model, alphabets, rec = tiny
    tables = A.hellinger_tables(rec, bins=10, min_count=4)
    for name in LAYERS:
        o = tables.offsets[name]
        expected = rec.layer(name).double().mean(0)
        assert torch.allclose(tables.unit_mean[o:o + tables.sizes[name]].double(), expected, atol=1e-5), name
    # positions whose input has no pair count too (the tables only loop over inputs with pairs)
    assert set(rec.x.unique().tolist()) - {rec.alphabets.in_index[x] for x in tables.xs}


def test_pairs_under_the_threshold_are_excluded(tiny):
    _, alphabets, rec = tiny
    counts: dict[tuple[str, int], int] = {}
    for xi, yk in zip(rec.x.tolist(), rec.y.tolist()):
        if xi >= 2:
            counts[(alphabets.inputs[xi], yk)] = counts.get((alphabets.inputs[xi], yk), 0) + 1
    per_x: dict[str, int] = {}
    for (c, _), n in counts.items():
        per_x[c] = per_x.get(c, 0) + n
    for min_count in (1, 5, 12):
        tables = A.hellinger_tables(rec, bins=10, min_count=min_count, layers=["hidden"])
        expected = {f"{c}:{symbol_of_class(alphabets, k)}" for (c, k), n in counts.items()
                    if n >= min_count and per_x[c] - n >= min_count}
        assert {str(p) for p in tables.pairs} == expected
        assert all(p.n_pos >= min_count and p.n_neg >= min_count for p in tables.pairs)
    # A pair that exists but is below the threshold is refused with the reason and the valid pairs.
    analysis = A.Analysis(A.hellinger_tables(rec, bins=10, min_count=12, layers=["hidden"]), {}, {})
    low = next(f"{c}:{symbol_of_class(alphabets, k)}" for (c, k), n in counts.items() if 0 < n < 12 and c.isalpha())
    with pytest.raises(UnknownName, match="at least 12 on each side"):
        analysis.parse_pair(low)


# -----------------------------------------------------------------------------
# contributions, ablation, names

def hand_built_analysis() -> A.Analysis:
    """2 LSTM units per direction, 2 hidden units, 3 outputs; one pair with known means."""
    sizes = {"concat.fwd": 2, "concat.bwd": 2, "hidden": 2, "output": 3}
    layers = list(sizes)
    N = sum(sizes.values())
    mean_pos = torch.tensor([[0.5, -1.0, 2.0, 0.0, 0.25, -0.5, 0, 0, 0]])
    tables = A.HellingerTables(layers=layers, sizes=sizes, pairs=[A.Pair("t", "թ", 400, 600)], xs=["t"],
                               pair_x=[0], hellinger=torch.zeros(1, N), mean_pos=mean_pos,
                               mean_neg=-mean_pos, x_mean=torch.zeros(1, N), x_lo=torch.zeros(1, N),
                               x_hi=torch.ones(1, N), candidates={"t": {"թ": 400, "տ": 600}}, bins=10, min_count=300)
    weights = {"dense.weight": torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 0.0, 2.0]]),
               "dense.bias": torch.zeros(2),
               "out.weight": torch.tensor([[2.0, -4.0, 9.0], [0.0, 1.0, 9.0], [-2.0, 3.0, 9.0]]),  # + 1 input col
               "out.bias": torch.zeros(3)}
    return A.Analysis(tables, {}, weights)


def test_contributions_on_a_hand_built_layer():
    an = hand_built_analysis()
    lower = ["concat.fwd:0", "concat.fwd:1", "concat.bwd:0", "concat.bwd:1"]
    c = an.contributions("t:թ", lower, ["hidden:0", "hidden:1"])
    # weight[j, i] * mean activation of i over the pair's positions (0.5, -1, 2, 0)
    expected = torch.tensor([[0.5, -0.5], [-2.0, -0.5], [6.0, 0.0], [0.0, 0.0]])
    assert torch.allclose(c, expected)
    c = an.contributions("t:թ", ["hidden:0", "hidden:1"], ["output:0", "output:1", "output:2"])
    assert torch.allclose(c, torch.tensor([[0.5, 0.0, -0.5], [2.0, -0.5, -1.5]]))    # hidden means .25, -.5
    # Over the other targets the means flip sign here, and so do the contributions.
    assert torch.allclose(an.contributions("t:թ", ["hidden:0"], ["output:0"], over="neg"), torch.tensor([[-0.5]]))
    # Neurons that are not directly connected contribute nothing.
    assert an.contributions("t:թ", ["concat.fwd:0"], ["output:0"]).item() == 0.0


def test_ablating_no_neuron_changes_nothing(tiny):
    _, alphabets, rec = tiny
    tables = A.hellinger_tables(rec, bins=10, min_count=4, layers=["hidden"])
    pair = tables.pairs[0]
    xi = alphabets.in_index[pair.x]
    own = float((rec.pred == rec.y)[rec.x == xi].float().mean())
    for layer in ("concat.fwd", "concat.bwd", "hidden"):
        r = ablate_recording(rec, str(pair), layer, k=0, draws=5, seed=3)
        assert r.top_k_accuracy == r.baseline_accuracy == r.random_k_accuracy_mean
        assert r.random_k_accuracy_std == 0.0
        assert r.baseline_accuracy == pytest.approx(own)        # the same predictions as the recording
        assert r.n_positions == pair.n_pos + pair.n_neg
        assert set(r.to_dict()) >= {"pair", "layer", "k", "baseline_accuracy", "top_k_accuracy",
                                    "random_k_accuracy_mean", "random_k_accuracy_std", "n_positions"}


def test_ablating_every_unit_sets_the_layer_to_its_mean(tiny):
    model, alphabets, rec = tiny
    tables = A.hellinger_tables(rec, bins=10, min_count=4, layers=["hidden"])
    pair = tables.pairs[0]
    xi = alphabets.in_index[pair.x]
    r = ablate_recording(rec, str(pair), "hidden", k=model.config.hidden, draws=2)
    # With the whole layer at its mean, every position of x gets the same logits, so the same
    # prediction: the accuracy is the share of positions of x whose target is that class.
    at_x = rec.x == xi
    mean_hidden = rec.layer("hidden", at_x.nonzero().squeeze(1)).mean(0)
    onehot = torch.nn.functional.one_hot(torch.tensor(xi), model.config.n_in).float()
    with torch.no_grad():
        constant = model.out(torch.cat([mean_hidden, onehot])).argmax().item()
    assert r.top_k_accuracy == pytest.approx(float((rec.y[at_x] == constant).float().mean()))


def test_recurrent_ablation_reruns_the_network_and_agrees_where_it_must(tiny):
    """Ablation through the recurrence: with nothing ablated it is the recording's own accuracy;
    on the hidden layer (no recurrence above it) it equals the head-only ablation; on an LSTM
    layer it reaches positions the head-only one cannot, and gates can be ablated too."""
    model, alphabets, rec = tiny
    pair = A.hellinger_tables(rec, bins=10, min_count=4, layers=["hidden"]).pairs[0]
    for layer in ("concat.fwd", "hidden"):
        r = ablate_recording(rec, pair, layer, k=0, draws=2, recurrent=True)
        assert r.top_k_accuracy == r.baseline_accuracy and r.recurrent
        assert r.baseline_accuracy == pytest.approx(ablate_recording(rec, pair, layer, k=0, draws=2).baseline_accuracy)
    head = ablate_recording(rec, pair, "hidden", k=3, draws=3, seed=5)
    rerun = ablate_recording(rec, pair, "hidden", k=3, draws=3, seed=5, recurrent=True)
    assert rerun.top_k_accuracy == pytest.approx(head.top_k_accuracy)
    assert rerun.random_k_accuracies == pytest.approx(head.random_k_accuracies)
    # the same at the level of predictions, and the intervention does change some of them
    xi = alphabets.in_index[pair.x]
    at_x = (rec.x == xi).nonzero().squeeze(1)
    iv = Intervention("hidden", (0, 1, 2), "set", (0.9, -0.9, 0.9))
    by_rerun = rec.rerun_predictions(at_x, lambda xb: [Intervention("hidden", (0, 1, 2), "set", (0.9, -0.9, 0.9),
                                                                     where=xb == xi)])
    with torch.no_grad():
        concat = torch.cat([rec.layer("concat.fwd", at_x), rec.layer("concat.bwd", at_x)], dim=1)
        by_head = model.head(concat, rec.x[at_x], hooks=compile_hooks([iv]))[1].argmax(-1)
    assert torch.equal(by_rerun, by_head) and not torch.equal(by_head, rec.pred[at_x])
    gate = ablate_recording(rec, pair, "gate.bwd.f", k=6, draws=1, recurrent=True)
    assert gate.top_k_neurons and 0.0 <= gate.top_k_accuracy <= 1.0 and gate.to_dict()["recurrent"] is True
    with pytest.raises(UnknownName, match="recurrent"):
        ablate_recording(rec, pair, "gate.bwd.f", k=2)


def test_recurrent_ablation_of_a_forward_unit_equals_a_manual_intervention(tiny):
    """Independent reference: one chunk run by hand with the unit set at the positions of x."""
    model, alphabets, rec = tiny
    pair = A.hellinger_tables(rec, bins=10, min_count=4, layers=["hidden"]).pairs[0]
    xi = alphabets.in_index[pair.x]
    at_x = (rec.x == xi).nonzero().squeeze(1)
    unit, value = 2, 0.75
    got = rec.rerun_predictions(at_x, lambda xb: [Intervention("concat.fwd", (unit,), "set", value, where=xb == xi)])
    expected = []
    with torch.no_grad():
        for ch in rec.chunk_of(at_x).unique().tolist():
            a, b = int(rec.chunk_start[ch]), int(rec.chunk_start[ch + 1])
            x = rec.x[a:b].unsqueeze(0)
            iv = Intervention("concat.fwd", (unit,), "set", value, where=x == xi)
            pred = model.run_with_hooks(x, interventions=[iv])[0].argmax(-1)
            expected.append(pred[(x[0] == xi)])
    assert torch.equal(got, torch.cat(expected))


def test_recurrent_ablation_at_every_step_equals_a_manual_run_and_differs_from_the_steps_of_x(tiny):
    """where="all": the top units set at every step of each chunk (an independent run by hand, one
    chunk at a time); where="x" (the default, the stored one) sets them at the steps of x only:
    for an LSTM unit, whose state flows to the later steps, the two are different questions."""
    from translit_core.analysis.methods.scoring import DecisionScorer
    model, alphabets, rec = tiny
    pair = A.hellinger_tables(rec, bins=10, min_count=4, layers=["hidden"]).pairs[0]
    xi = alphabets.in_index[pair.x]
    everywhere = DecisionScorer(rec, pair, "concat.fwd", recurrent=True, where="all")
    units = torch.tensor([0, 2, 5])
    got = everywhere.log_probs(units).argmax(-1)
    value = tuple(everywhere.value[units].tolist())
    expected = []
    with torch.no_grad():
        for ch in rec.chunk_of(everywhere.positions).unique().tolist():
            a, b = int(rec.chunk_start[ch]), int(rec.chunk_start[ch + 1])
            x = rec.x[a:b].unsqueeze(0)
            iv = Intervention("concat.fwd", tuple(units.tolist()), "set", value)          # every step
            expected.append(model.run_with_hooks(x, interventions=[iv])[0].argmax(-1)[x[0] == xi])
    assert torch.equal(got, torch.cat(expected))
    at_x = DecisionScorer(rec, pair, "concat.fwd", recurrent=True)
    assert at_x.where == "x" and not torch.equal(at_x.log_probs(units), everywhere.log_probs(units))
    r = ablate_recording(rec, pair, "concat.fwd", k=3, draws=2, recurrent=True, where="all")
    assert r.to_dict()["where"] == "all" and ablate_recording(rec, pair, "concat.fwd", k=3, draws=2).where == "x"
    with pytest.raises(UnknownName, match="recurrent"):
        ablate_recording(rec, pair, "concat.fwd", k=3, draws=2, where="all")
    with pytest.raises(UnknownName, match="every step"):
        DecisionScorer(rec, pair, "concat.fwd", recurrent=True, where="somewhere")


def test_unknown_names_give_clear_errors_listing_valid_ones():
    an = hand_built_analysis()
    with pytest.raises(UnknownName, match="valid pairs: t:թ"):
        an.parse_pair("q:զ")
    with pytest.raises(UnknownName, match="x:y"):
        an.parse_pair("tթ")
    with pytest.raises(UnknownName, match=r"0\.\.1"):
        an.parse_neuron("hidden:7")
    with pytest.raises(UnknownName, match="concat.fwd"):
        an.parse_neuron("lstm:3")
    assert isinstance(UnknownName("x"), ValueError)


# -----------------------------------------------------------------------------
# sample, files, end to end

def test_sample_sentences_reads_only_held_out_files(tmp_path):
    s = A.sample_sentences(FIXTURE_DATA, n=100, seed=0)
    assert s and all("Արգելված" in line for line in s)       # every reserved-test line has this word
    assert A.sample_sentences(FIXTURE_DATA, n=100, seed=0) == s
    assert sorted(A.sample_sentences(FIXTURE_DATA, n=100, seed=1)) == sorted(s)
    assert A.sample_sentences(FIXTURE_DATA, n=2, seed=0) == s[:2]
    with pytest.raises(A.SampleMissing, match=str(tmp_path)):
        A.sample_sentences(tmp_path, n=10)


def test_span_mask_covers_exactly_the_substring(tiny):
    _, _, rec = tiny
    mask = A.span_mask(rec, "ություն")
    tokens = rec.target_tokens()
    for ch in range(len(rec.chunks)):
        a, b = int(rec.chunk_start[ch]), int(rec.chunk_start[ch + 1])
        covered = "".join(t for t, m in zip(tokens[a:b], mask[a:b].tolist()) if m)
        assert covered == "ություն" * "".join(tokens[a:b]).count("ություն")
    assert mask.any()
    scores = A.substring_selectivity(rec, "ություն", layers=("hidden",), top=3, bins=10)
    assert len(scores) == 3 and scores[0].hellinger >= scores[-1].hellinger


def test_cli_views_have_the_documented_json_shapes(tiny_checkpoint, capsys):
    from translit_core.cli import main
    ck = str(tiny_checkpoint)
    an = A.Analysis.load(ck)
    assert (tiny_checkpoint / "analysis.safetensors").stat().st_size < 25e6
    pair = str(an.pairs()[0])
    capsys.readouterr()

    assert main(["neurons", "--checkpoint", ck, "--pair", pair, "--top", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"neuron", "layer", "hellinger", "hellinger_null", "hellinger_excess", "p_value", "q_value", "n_pos",
            "n_neg"} <= set(rows[0])
    for layer in {r["layer"] for r in rows}:
        hs = [r["hellinger_excess"] for r in rows if r["layer"] == layer]
        assert hs == sorted(hs, reverse=True) and len(hs) == 3          # ranked by the excess over the null
    for r in rows:
        assert r["hellinger_excess"] == pytest.approx(r["hellinger"] - r["hellinger_null"], abs=2e-6)
        assert 0 < r["p_value"] <= 1

    neuron = rows[0]["neuron"]
    assert main(["pairs", "--checkpoint", ck, "--neuron", neuron, "--top", "2", "--json"]) == 0
    prow = json.loads(capsys.readouterr().out)
    assert {"pair", "hellinger", "hellinger_null", "hellinger_excess", "p_value", "q_value", "n_pos",
            "n_neg"} <= set(prow[0])
    assert prow[0]["hellinger_excess"] >= prow[-1]["hellinger_excess"]

    # The on-demand histogram reproduces the stored distance (by default with the analysis's bins).
    assert main(["histogram", "--checkpoint", ck, "--pair", pair, "--neuron", neuron, "--json"]) == 0
    h = json.loads(capsys.readouterr().out)
    assert len(h["edges"]) == 51 and sum(h["counts_pos"]) == h["n_pos"]
    assert h["hellinger"] == pytest.approx(an.hellinger_of(pair, neuron), abs=1e-5)
    width = h["edges"][1] - h["edges"][0]
    assert sum(h["density_neg"]) * width == pytest.approx(1.0)

    assert main(["ablate", "--checkpoint", ck, "--pair", pair, "--k", "2", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    for key in ("baseline_accuracy", "top_k_accuracy", "random_k_accuracy_mean"):
        assert 0.0 <= r[key] <= 1.0
    assert r["pair"] == pair and r["k"] == 2
    for key in ("n_random_draws", "p_value", "target_accuracy_baseline", "target_accuracy_top_k",
                "target_accuracy_random_mean", "delta_logp_top_k", "delta_logp_random_mean", "delta_logp_random_std",
                "balanced_accuracy_top_k", "balanced_accuracy_random_mean", "recurrent", "verdict"):
        assert key in r, key
    assert r["n_random_draws"] == 1000 and r["recurrent"] is False and 0 < r["p_value"] <= 1
    # Stored ablations are there for the dashboard, under the same keys.
    stored = an.ablations()
    assert stored and set(r) == set(stored[0].to_dict())

    assert main(["rank-methods", "--checkpoint", ck, "--pair", pair, "--layer", "concat.fwd", "--json"]) == 0
    methods = json.loads(capsys.readouterr().out)
    assert [m["method"] for m in methods] == ["hellinger", "excess", "probeless", "probe", "gradient", "greedy",
                                               "random"]
    assert {"k", "target_accuracy", "delta_logp"} <= set(methods[0]["curve"][0])
    assert {"target_accuracy_std", "delta_logp_std"} <= set(methods[-1]["curve"][0])
    assert main(["sample", "--checkpoint", ck]) == 2                   # built on a text file: said, not a traceback
    assert "text file" in capsys.readouterr().err


def test_cli_bad_names_give_a_message_not_a_traceback(tiny_checkpoint, capsys, tmp_path):
    from translit_core.cli import main
    ck = str(tiny_checkpoint)
    assert main(["neurons", "--checkpoint", ck, "--pair", "q:զ"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "valid pairs" in err and "Traceback" not in err
    assert main(["pairs", "--checkpoint", ck, "--neuron", "hidden:99"]) == 2
    assert "0..4" in capsys.readouterr().err
    assert main(["pairs", "--checkpoint", str(tmp_path), "--neuron", "hidden:1"]) == 2
    assert "translit_core analyze" in capsys.readouterr().err       # says how to build it


def test_a_changed_checkpoint_makes_the_analysis_stale(tiny_checkpoint, tmp_path):
    import shutil
    ck = tmp_path / "ck"
    shutil.copytree(tiny_checkpoint, ck)
    A.Analysis.load(ck)
    model, alphabets, meta = load_checkpoint(ck)
    with torch.no_grad():
        model.dense.bias.add_(1.0)
    save_checkpoint(ck, model, alphabets, meta)
    with pytest.raises(A.AnalysisMissing, match="analyze"):
        A.Analysis.load(ck)


def test_top_contexts_show_the_peak_with_its_surroundings(tiny):
    _, _, rec = tiny
    neuron = NeuronId("gate.fwd.o", 2)
    values = rec.layer("gate.fwd.o", units=[2]).squeeze(1)
    contexts = A.top_contexts(neuron, k=3, source=rec, window=4)
    assert len(contexts) == 3
    assert contexts[0].value == pytest.approx(float(values.max()))
    for ctx in contexts:
        snippet, acts = ctx                                            # unpacks as (snippet, activations)
        assert len(snippet) == len(acts) <= 9
        assert acts[ctx.focus] == pytest.approx(ctx.value, abs=1e-4)
    assert [c.value for c in contexts] == sorted((c.value for c in contexts), reverse=True)


def test_a_block_of_consecutive_positions_reads_the_same_rows_and_leaves_the_recording_alone(tiny):
    """Consecutive positions are read as a slice (saturation, hypothesis bits), others gathered:
    the same values either way, and the zeroed chunk edges of cell_prev / cell_next are written
    into a copy, never into the recording."""
    _, _, rec = tiny
    h_before, c_before = rec.h.copy(), rec.c.copy()
    block = torch.arange(0, min(40, rec.n_positions))                 # starts at a chunk's first position
    shuffled = block[torch.randperm(block.numel(), generator=torch.Generator().manual_seed(0))]
    back = torch.argsort(shuffled)
    for layer in ("concat.fwd", "cell_prev.fwd", "cell_next.bwd"):            # read, not computed: exact
        assert torch.equal(rec.layer(layer, block), rec.layer(layer, shuffled)[back]), layer
    for layer in ("hidden", "gate.bwd.f"):         # a matmul over rows in another order: the last bits
        torch.testing.assert_close(rec.layer(layer, block), rec.layer(layer, shuffled)[back], atol=1e-6, rtol=0)
    assert (rec.layer("cell_prev.fwd", block)[0] == 0).all()
    assert np.array_equal(rec.h, h_before) and np.array_equal(rec.c, c_before)


def test_the_analysis_description_is_read_once_and_written_back_as_it_was(tiny_checkpoint, tmp_path):
    """AnalysisMeta parses analysis.json's description once and gives it back key for key, in the
    file's order: the shipped files round-trip, an analysis loaded and saved again writes the same
    file, and a key an older file lacks stays out."""
    from translit_core.analysis.measurement.names import TABLE_KEYS, AnalysisMeta
    from translit_core.settings import REPO
    for path in sorted((REPO / "checkpoints").glob("*/analysis.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        meta = AnalysisMeta.from_dict(raw)
        assert json.dumps(meta.to_dict()) == json.dumps({k: v for k, v in raw.items() if k not in TABLE_KEYS})
        assert meta.checkpoint.weights_sha256 == raw["checkpoint"]["weights_sha256"]
        assert meta.sample_seed == raw["sample"]["seed"] and meta.sample_accuracy == raw["sample_accuracy"]
    an = A.Analysis.load(tiny_checkpoint)
    assert an.meta.sample_seed == 0 and an.meta.checkpoint.dir == str(tiny_checkpoint) and an.meta.ablations
    an.save(tmp_path)
    assert (tmp_path / "analysis.json").read_bytes() == (tiny_checkpoint / "analysis.json").read_bytes()
    old = AnalysisMeta.from_dict({"sample": {"seed": 3}, "later_key": [1]})
    assert old.to_dict() == {"sample": {"seed": 3}, "later_key": [1]} and old.sample_seed == 3
    assert list(AnalysisMeta().to_dict())[:3] == ["created", "checkpoint", "sample"]
