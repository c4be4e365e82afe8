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
from translit_core.analysis import Analysis, histogram
from translit_core.model.checkpoint import load_checkpoint


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
