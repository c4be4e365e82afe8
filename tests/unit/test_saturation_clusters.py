"""Gate saturation and unit clusters against independent references:
hand-built gate values with counts done by hand, Python loops over the recording's layers, numpy's
corrcoef, planted correlated units, and an exact null computed by enumeration."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from translit_core import analysis as A
from translit_core.analysis.methods.clusters import (CLUSTER_LAYERS, Clusters, cluster_layer, correlation,
                                                     distinct_clusters, pair_spread, pairs_served, recording_clusters,
                                                     spread_null)
from translit_core.analysis.methods.saturation import (SATURATION_LAYERS, recording_saturation, saturation_fractions,
                                                       thresholds)
from translit_core.model.names import NeuronId, UnknownName

from tiny import SENTENCES


# -----------------------------------------------------------------------------
# saturation

def test_saturation_fractions_on_hand_built_gate_values():
    acts = torch.tensor([[0.05, 0.50, 0.95, 0.10],
                         [0.10, 0.91, 0.90, 0.00],
                         [0.00, 0.95, 0.20, 0.99],
                         [0.99, 0.09, 0.50, 0.95]])
    left, right = saturation_fractions(acts, 0.1, 0.9)
    # by hand: < 0.1 strictly (0.10 is not shut), > 0.9 strictly (0.90 is not open)
    assert left.tolist() == pytest.approx([2 / 4, 1 / 4, 0 / 4, 1 / 4])
    assert right.tolist() == pytest.approx([1 / 4, 2 / 4, 1 / 4, 2 / 4])
    g = torch.tensor([[-0.95, 0.0], [-0.90, 0.95], [0.5, 0.91]])
    lo, hi = thresholds("gate.fwd.g")
    assert (lo, hi) == (-0.9, 0.9) and thresholds("gate.bwd.f") == (0.1, 0.9)
    left, right = saturation_fractions(g, lo, hi)
    assert left.tolist() == pytest.approx([1 / 3, 0.0]) and right.tolist() == pytest.approx([0.0, 2 / 3])
    with pytest.raises(UnknownName):
        thresholds("concat.fwd")


def test_saturation_counted_in_the_recording_pass_equals_the_derived_one(tiny, rules):
    from translit_core.analysis.measurement.recording import record_activations
    from translit_core.analysis.methods.saturation import SaturationCounter
    model, alphabets, rec = tiny
    counter = SaturationCounter(rec.H)
    again = record_activations(model, alphabets, SENTENCES * 3, rules, seed=1, max_len=24, batch_positions=64,
                               watch=counter.watch)                # several batches
    plain = record_activations(model, alphabets, SENTENCES * 3, rules, seed=1, max_len=24, batch_positions=64)
    counted, derived = counter.result(), recording_saturation(again)
    assert counted.n_positions == derived.n_positions == again.n_positions > 0
    one = 1.0 / again.n_positions + 1e-7                # a last-bit difference may move one value
    assert torch.allclose(counted.left, derived.left, rtol=0, atol=one)
    assert torch.allclose(counted.right, derived.right, rtol=0, atol=one)
    assert float(counted.left.sum() + counted.right.sum()) > 0
    np.testing.assert_array_equal(again.h, plain.h)     # watching changes nothing recorded
    np.testing.assert_array_equal(again.c, plain.c)


def test_recording_saturation_equals_a_loop_over_every_position(tiny):
    _, _, rec = tiny
    sat = recording_saturation(rec, block=37)          # blocks that do not divide P
    assert sat.layers == list(SATURATION_LAYERS) and sat.n_positions == rec.n_positions
    for r, layer in enumerate(sat.layers):
        acts = rec.layer(layer).double().numpy()         # (P, units)
        lo, hi = thresholds(layer)
        for u in range(acts.shape[1]):
            col = acts[:, u].tolist()
            assert float(sat.left[r, u]) == pytest.approx(sum(v < lo for v in col) / len(col), abs=1e-6)
            assert float(sat.right[r, u]) == pytest.approx(sum(v > hi for v in col) / len(col), abs=1e-6)
    assert float(sat.left.sum() + sat.right.sum()) > 0          # the tiny net's gates do saturate
    rows = sat.rows("gate.fwd.f")
    assert [r["neuron"] for r in rows] == [f"gate.fwd.f:{i}" for i in range(rec.H)]
    assert sat.of(NeuronId("gate.fwd.f", 2)) == (rows[2]["left"], rows[2]["right"])
    assert sat.of(NeuronId("concat.fwd", 2)) is None


# -----------------------------------------------------------------------------
# clusters

def planted(n: int = 4000, seed: int = 0) -> torch.Tensor:
    """Five units: 0 and 3 follow one signal (3 with the opposite sign), 1 and 4 another, 2 is
    noise of its own."""
    g = torch.Generator().manual_seed(seed)
    a, b, c = torch.randn(3, n, generator=g)
    noise = 0.2 * torch.randn(5, n, generator=g)
    return torch.stack([a + noise[0], b + noise[1], c, -2 * a + noise[3], 3 * b + 1 + noise[4]], dim=1)


def test_correlation_is_numpys_corrcoef_and_constants_are_uncorrelated():
    acts = planted()
    assert np.allclose(correlation(acts).numpy(), np.corrcoef(acts.double().numpy().T), atol=1e-5)
    with_constant = torch.cat([acts, torch.full((acts.shape[0], 1), 0.5)], dim=1)
    r = correlation(with_constant)
    assert torch.isfinite(r).all() and r[5, 5] == 1 and (r[5, :5] == 0).all()


def test_clustering_groups_planted_correlated_units_and_separates_the_independent_one():
    lc = cluster_layer("hidden", planted())
    lab = lc.labels.tolist()
    assert lab[0] == lab[3] and lab[1] == lab[4]            # anti-correlated still groups: 1 - |r|
    assert len({lab[0], lab[1], lab[2]}) == 3
    assert lc.n_clusters == 3 and sorted(lc.sizes().tolist()) == [1, 2, 2]
    assert lab[2] == 2                                     # numbered by size: the single unit last
    assert int(lc.representatives[lab[2]]) == 2
    assert int(lc.representatives[lab[0]]) in (0, 3) and int(lc.representatives[lab[1]]) in (1, 4)
    nb = lc.neighbours_of(0)
    assert nb[0][0] == 3 and nb[0][1] < -0.9               # its nearest unit, with the signed r
    assert 0 not in [i for i, _ in nb]
    # a stricter cut than the groups' |r| splits them
    assert lc.recut(0.001).n_clusters == 5


def test_distinct_clusters_and_the_random_null_against_enumeration():
    labels = torch.tensor([0, 0, 1, 1, 2, 3])
    assert distinct_clusters(labels, [0, 1, 2]) == 2 and distinct_clusters(labels, [4, 5]) == 2
    exact = np.mean([len({int(labels[i]) for i in s}) for s in itertools.combinations(range(6), 3)])
    mean, lo, hi = spread_null(labels, 3, draws=4000, seed=1)
    assert mean == pytest.approx(exact, abs=0.05) and lo <= mean <= hi and 2 <= lo and hi <= 3
    assert spread_null(torch.arange(8), 4)[:] == (4.0, 4.0, 4.0)         # every unit its own cluster
    assert spread_null(torch.zeros(8, dtype=torch.long), 4) == (1.0, 1.0, 1.0)


def test_pairs_served_counts_members_in_each_pairs_top_k():
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    served = pairs_served(labels, {"a:b": [0, 1, 3], "c:d": [2, 5], "e:f": [0, 4]}, n=2)
    assert served[0] == [("a:b", 2), ("c:d", 1)]           # "e:f" (1) loses the tie to "c:d" by name
    assert served[1] == [("a:b", 1), ("e:f", 1)] and served[2] == [("c:d", 1)]


class FakeAnalysis:
    """What pair_spread asks of an Analysis: a ranking and the pair's name."""
    def __init__(self, top):
        self.top = top

    def parse_pair(self, pair):
        return pair

    def top_neurons(self, pair, layer, k):
        from types import SimpleNamespace
        return [SimpleNamespace(neuron=NeuronId(layer, i)) for i in self.top[:k]]


def test_a_pair_inside_one_planted_group_is_a_redundant_group():
    g = torch.Generator().manual_seed(3)
    base = torch.randn(3000, 4, generator=g)                       # four signals
    cols = [base[:, i // 6] + 0.3 * torch.randn(3000, generator=g) for i in range(24)]   # 4 groups of 6 units
    lc = cluster_layer("hidden", torch.stack(cols, 1))
    assert lc.n_clusters == 4
    cl = Clusters({"hidden": lc})
    s = pair_spread(FakeAnalysis([0, 1, 2, 3, 4]), cl, "t:թ", "hidden", k=5)
    assert s.distinct == 1 and s.verdict == "redundant group" and s.null_lo > 1
    s = pair_spread(FakeAnalysis([0, 6, 12, 18, 1]), cl, "t:թ", "hidden", k=5)
    assert s.distinct == 4 and s.verdict in ("independent units", "more spread than random")
    assert json.loads(json.dumps(s.to_dict()))["units"] == [0, 6, 12, 18, 1]


def test_recording_clusters_use_a_seeded_subsample(tiny):
    _, _, rec = tiny
    a = recording_clusters(rec, n=300, seed=4)
    b = recording_clusters(rec, n=300, seed=4)
    assert list(a.layers) == list(CLUSTER_LAYERS) and a.n_positions == min(300, rec.n_positions)
    for name in CLUSTER_LAYERS:
        assert torch.equal(a.layer(name).labels, b.layer(name).labels)
        assert a.layer(name).labels.numel() == rec.sizes[name]
    with pytest.raises(UnknownName):
        a.layer("gate.fwd.i")


# -----------------------------------------------------------------------------
# the analysis file and the CLI

def test_analyze_stores_saturation_and_clusters_and_old_files_still_load(tiny_checkpoint, tmp_path):
    from safetensors.torch import load_file, save_file
    an = A.Analysis.load(tiny_checkpoint)
    assert an.saturation is not None and an.clusters is not None
    assert "clusters" in an.meta.timings_s                # saturation is counted inside "record"
    rec = an.recording()
    fresh = recording_saturation(rec)
    # analyze counted the gates inside the recording pass; derived again from h they may differ in
    # the last bit (another matmul shape), which can move a value across a threshold: 1 position
    one = 1.0 / rec.n_positions + 1e-7
    assert torch.allclose(an.saturation.left, fresh.left, rtol=0, atol=one)
    assert torch.allclose(an.saturation.right, fresh.right, rtol=0, atol=one)
    fresh_c = recording_clusters(rec, seed=an.clusters.seed)
    for name in CLUSTER_LAYERS:
        assert torch.equal(an.clusters.layer(name).labels, fresh_c.layer(name).labels)
        assert torch.equal(an.clusters.layer(name).neighbours, fresh_c.layer(name).neighbours)
        assert an.clusters.layer(name).r is not None
    # save and load again: the same
    out = tmp_path / "again"
    an.save(out)
    back = A.Analysis.load(out, check_weights=False)
    assert torch.equal(back.saturation.right, an.saturation.right)
    # H exact; the statistics around it in float16 on disk (three digits), float32 once loaded
    stored = load_file(out / "analysis.safetensors")
    assert stored["hellinger"].dtype == torch.float32 and torch.equal(back.tables.hellinger, an.tables.hellinger)
    from translit_core.analysis.store import HALF_PRECISION
    for k in HALF_PRECISION:
        assert stored[k].dtype == torch.float16 and getattr(back.tables, k).dtype == torch.float32
        assert torch.allclose(getattr(back.tables, k), getattr(an.tables, k), rtol=1e-3, atol=1e-4), k
    assert torch.equal(back.clusters.layer("hidden").representatives, an.clusters.layer("hidden").representatives)
    # a file written before they were stored: loads, without them
    t = {k: v for k, v in load_file(out / "analysis.safetensors").items()
         if not k.startswith(("saturation.", "cluster."))}
    save_file(t, out / "analysis.safetensors")
    meta = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    meta.pop("saturation"), meta.pop("clusters")
    (out / "analysis.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    old = A.Analysis.load(out, check_weights=False)
    assert old.saturation is None and old.clusters is None
    with pytest.raises(A.AnalysisMissing):
        old.cluster_spread(old.pairs()[0], "hidden")


def test_cli_saturation_and_clusters_json(tiny_checkpoint, capsys):
    from translit_core.cli import main
    ck = str(tiny_checkpoint)
    an = A.Analysis.load(ck)
    capsys.readouterr()
    assert main(["saturation", "--checkpoint", ck, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(SATURATION_LAYERS) * 6 and set(rows[0]) >= {"neuron", "left", "right"}
    by = {r["neuron"]: r for r in rows}
    assert by["gate.bwd.o:3"]["right"] == pytest.approx(an.saturation.of(NeuronId("gate.bwd.o", 3))[1])
    assert main(["saturation", "--checkpoint", ck, "--layer", "gate.fwd.g", "--json"]) == 0
    assert {r["layer"] for r in json.loads(capsys.readouterr().out)} == {"gate.fwd.g"}
    assert main(["saturation", "--checkpoint", ck]) == 0
    assert "gate.fwd.f:0" in capsys.readouterr().out

    assert main(["clusters", "--checkpoint", ck, "--layer", "hidden", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["size"] for r in rows) == 5 and {"cluster", "representative", "pairs"} <= set(rows[0])
    assert main(["clusters", "--checkpoint", ck, "--neuron", "concat.bwd:2", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["neuron"] == "concat.bwd:2" and len(row["neighbours"]) == 5 and "concat.bwd:2" in row["members"]
    pair = str(an.pairs()[0])
    assert main(["clusters", "--checkpoint", ck, "--pair", pair, "--k", "3", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["pair"] == pair and s["k"] == 3 and 1 <= s["distinct"] <= 3 and s["null_lo"] <= s["null_hi"]
    assert main(["clusters", "--checkpoint", ck]) == 0 and "clusters of" in capsys.readouterr().out

    assert main(["clusters", "--checkpoint", ck, "--neuron", "hidden:99"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert main(["clusters", "--checkpoint", ck, "--pair", "q:զ"]) == 2
    assert main(["clusters", "--checkpoint", ck, "--neuron", "hidden:1", "--layer", "concat.fwd"]) == 2


def test_findings_sections_state_the_stored_numbers(tiny_checkpoint):
    from translit_core.reports.units import render_units
    an = A.Analysis.load(tiny_checkpoint)
    text = "\n".join(render_units(an, an.recording()))
    assert "## Gate saturation" in text and "## Neuron clusters" in text
    for layer in SATURATION_LAYERS:
        assert (f"| {layer} | {an.saturation.count_right(layer, 0.9)} | "
                f"{an.saturation.count_right(layer, 0.5)} |") in text
    for layer in CLUSTER_LAYERS:
        assert f"| {layer} | {an.clusters.layer(layer).n_clusters} |" in text


# -----------------------------------------------------------------------------
# the recording cache: h and c recorded straight into it

@pytest.mark.parametrize("release_bytes", [None, 1], ids=["default", "pages-let-go-after-every-batch"])
def test_a_recording_made_in_a_staging_directory_is_filed_by_a_rename(tiny, rules, tmp_path, monkeypatch,
                                                                      release_bytes):
    import os

    from translit_core.analysis.measurement import recording
    from translit_core.analysis.measurement.recording import Recording, record_activations, save_to_cache
    from translit_core.analysis.measurement.staging import staging_dir
    monkeypatch.setenv("TRANSLIT_CACHE", str(tmp_path))
    if release_bytes:       # the staging files let go of their pages after every batch: nothing written is lost
        monkeypatch.setattr(recording, "RELEASE_BYTES", release_bytes)
    model, alphabets, rec = tiny
    root = tmp_path / "recordings"
    root.mkdir()
    dead = root / "recording-999999999-0000.tmp"                    # a killed recording's leftover
    dead.mkdir()
    mine = root / f"recording-{os.getpid()}-ffff.tmp"               # this process's own: kept
    mine.mkdir()
    staging = staging_dir()
    assert not dead.exists() and mine.exists() and staging.parent == root
    batch = 64 if release_bytes else recording.BATCH_POSITIONS    # several batches, each followed by a release
    if release_bytes:       # in memory with the same batches (the last bits of a value depend on its batch)
        rec = record_activations(model, alphabets, SENTENCES * 3, rules, seed=1, max_len=24, batch_positions=batch)
    made = record_activations(model, alphabets, SENTENCES * 3, rules, seed=1, max_len=24, into=staging,
                              batch_positions=batch)
    assert made.staged() == staging and (staging / "h.npy").is_file()
    np.testing.assert_array_equal(made.h, rec.h)                    # the same values as in memory
    np.testing.assert_array_equal(made.c, rec.c)
    entry = save_to_cache(made, "k")
    assert entry == root / "k" and not staging.exists()             # renamed, not copied
    back = Recording.load(entry, model, alphabets)
    np.testing.assert_array_equal(back.h, rec.h)
    np.testing.assert_array_equal(back.c, rec.c)
    assert back.staged() is None and torch.equal(back.y, rec.y)
    again = save_to_cache(back, "k2")                               # a loaded one is copied
    np.testing.assert_array_equal(np.load(again / "c.npy"), rec.c)


def test_an_unwritable_cache_records_in_memory_and_says_so(tmp_path, monkeypatch):
    from translit_core.analysis.measurement.staging import staging_or_memory
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache root should be")
    monkeypatch.setenv("TRANSLIT_CACHE", str(blocker))
    said = []
    assert staging_or_memory(True, said.append) is None
    assert len(said) == 1 and "recording in memory" in said[0]
    assert staging_or_memory(False, said.append) is None and len(said) == 1     # no cache: nothing to say
