"""What a view exports and the commands its Reproduce expander shows: tidy tables that match the
analysis, and a CLI command and Python call that compute the same numbers again."""
from __future__ import annotations

import contextlib
import io
import json
import shlex

import pytest

from dashboard.views.exports import table_csv, tables_json
from dashboard.views.graph import graph_data
from dashboard.views.histograms import hist_view
from dashboard.views.reproduce import graph_reproduce, graph_tables, histogram_reproduce, histogram_table
from translit_core import settings
from translit_core.analysis import Analysis, histogram
from translit_core.model.checkpoint import load_checkpoint
from translit_core.model.names import NeuronId


@pytest.fixture(scope="module")
def analysis(tiny_checkpoint):
    return Analysis.load(tiny_checkpoint)


def run_cli(command: str) -> object:
    from translit_core.cli import main
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "translit_core"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv[3:]) == 0
    return json.loads(out.getvalue())


def test_the_graphs_tables_are_the_analysis_numbers_and_its_command_finds_them(tiny_checkpoint, analysis):
    _, alphabets, _ = load_checkpoint(tiny_checkpoint)
    pair = analysis.pairs()[0]
    data = graph_data(analysis, alphabets, pair)
    tables = graph_tables(data)
    hidden = [r for r in tables["nodes"] if r["layer"] == "hidden"]
    assert hidden and len(tables["edges"]) == len(data.edges)
    for row in hidden:
        score = analysis.score_of(pair, row["node"])
        assert row["hellinger"] == pytest.approx(score.hellinger, abs=1e-6)
        assert row["excess"] == pytest.approx(score.hellinger_excess, abs=1e-3)   # the null: half precision
    assert {e["source"] for e in tables["edges"]} <= {r["node"] for r in tables["nodes"]}
    # The command lists the same best dense units, in the same order.
    rows = run_cli(graph_reproduce(str(pair), tiny_checkpoint).cli)
    by_cli = [r["neuron"] for r in rows if r["layer"] == "hidden"][:len(hidden)]
    assert by_cli == [r["node"] for r in hidden]
    exec(graph_reproduce(str(pair), tiny_checkpoint).python, {})          # the Python call runs as shown
    doc = json.loads(tables_json(tables, "graph", {"pair": pair}))
    assert doc["tables"]["nodes"][0].keys() >= {"layer", "unit", "hellinger", "null", "excess", "p_value"}
    assert table_csv(tables["edges"]).splitlines()[0] == "source,target,mean_contribution"


def test_a_histograms_table_integrates_to_one_and_its_command_gives_its_h(tiny_checkpoint, analysis):
    pair = max(analysis.pairs(), key=lambda p: min(p.n_pos, p.n_neg))
    hv = hist_view(histogram(analysis.recording(), pair, "hidden:0", bins=analysis.tables.bins), str(pair), "hidden:0")
    bins = histogram_table(hv)["bins"]
    for side in ("density_pos", "density_neg"):
        assert sum(b[side] * (b["bin_high"] - b["bin_low"]) for b in bins) == pytest.approx(1.0, abs=1e-6)
    assert all(a["bin_high"] == pytest.approx(b["bin_low"]) for a, b in zip(bins, bins[1:]))
    out = run_cli(histogram_reproduce(str(pair), "hidden:0", tiny_checkpoint).cli)
    assert out["hellinger"] == pytest.approx(hv.hellinger, abs=1e-6)


# ---- the views added since: each table against the numbers its Reproduce command prints

@pytest.fixture(scope="module")
def hy():
    """The shipped model's analysis (stored pairs, ablations, clusters, saturation, method curves)."""
    return Analysis.load(settings.DEFAULT_CHECKPOINT)


def run_lines(cli: str) -> list:
    """Every command of a multi-line Reproduce, run in turn: their JSON outputs."""
    return [run_cli(line) for line in cli.splitlines()]


def tidy(rows: list[dict]) -> None:
    """One record a row, every row with the same keys, and at least one row."""
    assert rows and all(r.keys() == rows[0].keys() for r in rows)


def run_python(code: str) -> dict:
    """Run a Reproduce's Python call as shown (its prints swallowed): its names afterwards."""
    names: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, names)
    return names


def test_the_heatmaps_cells_are_the_units_values_that_its_python_call_prints(hy):
    from dashboard.views.heatmaps import activations_for, heat_data
    from dashboard.views.reproduce_text import heatmap_reproduce, heatmap_table
    model, alphabets, _ = load_checkpoint(settings.DEFAULT_CHECKPOINT)
    text = "Azatutyun u hamagortsaktsutyun"
    neurons = [NeuronId.parse(n) for n in ("cell.fwd:3", "concat.bwd:7", "hidden:5")]
    outputs = [f"o{i}" for i in range(len(text))]
    cells = heatmap_table(heat_data(activations_for(model, alphabets, text), text, outputs, neurons))["cells"]
    tidy(cells)
    assert len(cells) == len(text) * len(neurons)
    assert [c["char"] for c in cells[::len(neurons)]] == list(text)                   # one row per (character, unit)
    assert all(c["output"] == outputs[c["position"]] for c in cells)
    again = heatmap_reproduce(text, neurons)
    acts = run_python(again.python)["acts"]
    for c in cells:
        layer, index = c["unit"].rsplit(":", 1)
        assert c["value"] == pytest.approx(float(acts[layer][0, c["position"], int(index)]), abs=1e-6)
    printed = run_cli(again.cli)                         # the command prints the same values, unit by unit
    assert printed["text"] == text and printed["chars"] == list(text)
    assert [u["unit"] for u in printed["units"]] == [str(n) for n in neurons]
    values = {u["unit"]: u["values"] for u in printed["units"]}
    for c in cells:
        assert values[c["unit"]][c["position"]] == pytest.approx(c["value"], abs=1e-6)


def test_the_heatmaps_outputs_are_the_activations_commands(hy):
    from dashboard.views.heatmaps import activations_for, heat_data, network_outputs
    from dashboard.views.reproduce_text import heatmap_reproduce, heatmap_table
    from translit_core.infer.transliterator import Transliterator
    tr = Transliterator.load(settings.DEFAULT_CHECKPOINT)
    text, neurons = "hayutyun u barev", [NeuronId.parse("cell.fwd:12")]
    cells = heatmap_table(heat_data(activations_for(tr.model, tr.alphabets, text), text,
                                    network_outputs(tr, text), neurons))["cells"]
    printed = run_cli(heatmap_reproduce(text, neurons).cli)
    assert printed["outputs"] == [c["output"] for c in cells]
    assert printed["units"][0]["values"] == pytest.approx([c["value"] for c in cells], abs=1e-6)


def test_the_cards_pairs_table_is_what_the_pairs_command_prints(hy):
    from dashboard.views.reproduce import pairs_reproduce, pairs_table
    best = hy.top_pairs("concat.fwd:70", 10)
    rows = pairs_table(best)["pairs"]
    tidy(rows)
    assert set(rows[0]) == {"pair", "hellinger", "null", "excess", "p_value", "q_value", "n_pos", "n_neg"}
    printed = run_cli(pairs_reproduce("concat.fwd:70", len(best)).cli)
    assert [r["pair"] for r in printed] == [r["pair"] for r in rows]
    for mine, theirs in zip(rows, printed):
        assert mine["hellinger"] == pytest.approx(theirs["hellinger"], abs=1e-6)
        assert mine["null"] == pytest.approx(theirs["hellinger_null"], abs=1e-6)
        assert mine["excess"] == pytest.approx(theirs["hellinger_excess"], abs=1e-6)
        assert mine["p_value"] == pytest.approx(theirs["p_value"], abs=1e-6)
        assert mine["q_value"] == pytest.approx(theirs["q_value"], abs=1e-6)
        assert (mine["n_pos"], mine["n_neg"]) == (theirs["n_pos"], theirs["n_neg"])


def test_the_cards_ablation_table_is_what_ablate_computes_again(tiny_checkpoint, analysis):
    from dashboard.views.reproduce import ablation_reproduce, ablation_tables
    res = analysis.ablations()[0]
    tables = ablation_tables(res)
    draws = tables["draws"]
    tidy(draws)
    tidy(tables["result"])
    assert len(draws) == 1 + len(res.random_delta_logps) and draws[0]["units"] == f"top {res.k}"
    again = run_cli(ablation_reproduce(res, tiny_checkpoint).cli)
    assert draws[0]["delta_logp"] == pytest.approx(again["delta_logp_top_k"], abs=1e-5)
    assert [d["delta_logp"] for d in draws[1:]] == pytest.approx(again["random_delta_logps"], abs=1e-5)
    assert tables["result"][0]["p_value"] == pytest.approx(again["p_value"])
    assert draws[0]["neurons"].split() == again["top_k_neurons"]
    assert run_python(ablation_reproduce(res, tiny_checkpoint).python)["r"].p_value == res.p_value


def test_the_attribution_tables_are_what_attribute_prints():
    from dashboard.views.reproduce_text import attribution_reproduce, attribution_tables
    from translit_core.analysis.methods.attribution import attribute
    model, alphabets, _ = load_checkpoint(settings.DEFAULT_CHECKPOINT)
    text, position = "Barev dzez, inchpes eq?", 13
    attr = attribute(model, alphabets, text, position)
    tables = attribution_tables(attr, list(text))
    tidy(tables["characters"])
    tidy(tables["units"])
    printed = run_cli(attribution_reproduce(text, position).cli)
    assert [c["position"] for c in tables["characters"]] == [c["position"] for c in printed["attributions"]]
    for mine, theirs in zip(tables["characters"], printed["attributions"]):
        for part in ("total", "forward", "backward", "direct"):
            assert mine[part] == pytest.approx(theirs[part], abs=1e-5)
    assert [u["neuron"] for u in tables["units"]] == [u["neuron"] for u in printed["top_units"]][:len(tables["units"])]
    assert [u["attribution"] for u in tables["units"]] == pytest.approx(
        [u["attribution"] for u in printed["top_units"]][:len(tables["units"])], abs=1e-5)


def test_the_histogram_grids_tables_are_the_layers_top_neurons_and_their_hs(tiny_checkpoint, analysis):
    from dashboard.views.reproduce import histograms_reproduce, histograms_tables
    pair = max(analysis.pairs(), key=lambda p: min(p.n_pos, p.n_neg))
    top = analysis.top_neurons(pair, "hidden", 3)
    hvs = [hist_view(histogram(analysis.recording(), pair, s.neuron, bins=analysis.tables.bins), str(pair),
                     str(s.neuron)) for s in top]
    tables = histograms_tables(hvs)
    tidy(tables["neurons"])
    tidy(tables["bins"])
    assert len(tables["bins"]) == sum(len(hv.centers) for hv in hvs)
    ranked, *each = run_lines(histograms_reproduce(str(pair), "hidden", 3, [hv.neuron for hv in hvs],
                                                   tiny_checkpoint).cli)
    assert [r["neuron"] for r in ranked] == [r["neuron"] for r in tables["neurons"]]
    assert [h["hellinger"] for h in each] == pytest.approx([r["hellinger"] for r in tables["neurons"]], abs=1e-6)


def test_the_method_curves_table_is_what_rank_methods_prints(hy):
    from dashboard.views.reproduce_units import methods_reproduce, methods_table
    comparison = hy.method_comparisons()[0]
    rows = methods_table(comparison)["curves"]
    tidy(rows)
    printed = run_cli(methods_reproduce(comparison.pair, comparison.layer).cli)
    flat = [(c["method"], p["k"], p["delta_logp"], p["target_accuracy"]) for c in printed for p in c["curve"]]
    assert [(r["method"], r["k"]) for r in rows] == [f[:2] for f in flat]
    assert [r["delta_logp"] for r in rows] == pytest.approx([f[2] for f in flat], abs=1e-6)
    assert [r["target_accuracy"] for r in rows] == pytest.approx([f[3] for f in flat], abs=1e-6)


def test_the_clusters_tables_are_what_the_clusters_command_prints(hy):
    from dashboard.views.reproduce_units import clusters_reproduce, clusters_table, spread_reproduce, spread_table
    from translit_core.analysis.methods.clusters import cluster_rows, pair_spread
    rows = clusters_table(cluster_rows(hy, hy.clusters, "concat.fwd", 10))["clusters"]
    tidy(rows)
    assert run_cli(clusters_reproduce("concat.fwd", 10).cli) == rows
    pair, layers = str(hy.pairs()[0]), ["concat.fwd", "hidden"]
    spread = spread_table([pair_spread(hy, hy.clusters, pair, layer, 5) for layer in layers])["spread"]
    tidy(spread)
    for mine, theirs in zip(spread, run_lines(spread_reproduce(pair, layers, 5).cli), strict=True):
        assert (mine["layer"], mine["distinct"], mine["units"].split()) == \
            (theirs["layer"], theirs["distinct"], [str(u) for u in theirs["units"]])
        assert mine["null_mean"] == pytest.approx(theirs["null_mean"])


def test_the_saturation_table_is_what_the_saturation_command_prints(hy):
    from dashboard.views.reproduce_units import saturation_reproduce, saturation_table
    rows = saturation_table(hy.saturation)["units"]
    tidy(rows)
    assert run_cli(saturation_reproduce().cli) == rows


def test_the_compare_tables_are_what_the_compare_command_prints(hy):
    from dashboard.views.reproduce_units import COMPARED, compare_reproduce, compare_tables
    from translit_core.analysis.comparison.models import compare
    twin = settings.DEFAULT_CHECKPOINT.parent / "hy-twin"
    tables = compare_tables(compare(hy, Analysis.load(twin), ("hy", "hy-twin")))
    tidy(tables["layers"])
    tidy(tables["excess"])
    printed = run_cli(compare_reproduce(settings.DEFAULT_CHECKPOINT, twin).cli)
    for row in tables["layers"]:
        side = printed["a" if row["model"] == "hy" else "b"]
        stats = next(s for s in side["layers"] if s["layer"] == row["layer"])
        assert [row[key] for key in COMPARED] == pytest.approx([stats[key] for key in COMPARED])
    shares = [s for side in ("a", "b") for layer in ("concat.fwd", "concat.bwd", "hidden")
              for s in next(x for x in printed[side]["layers"] if x["layer"] == layer)["excess_share"]]
    assert [r["share"] for r in tables["excess"]] == pytest.approx(shares)


def test_the_dynamics_table_is_the_stored_points_and_its_command_parses():
    from dashboard.views.reproduce_units import dynamics_reproduce, dynamics_table
    from translit_core.analysis.comparison.dynamics import load_dynamics
    from translit_core.cli import build_parser
    run = settings.REPO / "runs" / "hy-twin"
    stored = load_dynamics(run)
    rows = dynamics_table(stored.points)["excess"]
    tidy(rows)
    again = dynamics_reproduce(run, stored.sentences, stored=True)
    # The command recomputes the points from the run's snapshots, which are not shipped: it is
    # checked against the CLI's parser; the Python call reads the same points back.
    args = build_parser().parse_args(shlex.split(again.cli)[3:])
    assert (args.command, args.sentences, args.json) == ("dynamics", stored.sentences, True)
    points = run_python(again.python)["points"]
    assert [r["best_excess"] for r in rows] == [v for p in points for by in p.best_excess.values() for v in by.values()]
