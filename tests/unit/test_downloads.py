"""Take the data away: the file names and contents behind every download.

The contents are made by pure functions; each is read back with an independent parser (csv,
json, plotly's own from_json) and compared with what the view shows."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import plotly.io as pio
import pytest

from dashboard.views import figures
from dashboard.views.exports import chart_config, figure_json, file_stem, table_csv
from dashboard.views.intervene import result_rows
from dashboard.views.text import prediction_rows
from translit_core.analysis.methods.intervene import InterventionResult
from translit_core.infer.transliterator import CharPrediction


def test_file_stem_names_the_view_and_its_parameters():
    assert file_stem("graph", {"pair": "t:թ", "edges": 60, "neuron": None}) == "graph_pair-t-թ_edges-60"
    # separators, quotes, dots-only names and control characters never reach the file system
    stem = file_stem("heatmap", {"text": '../../etc/passwd "x"\n\x00<b>'})
    assert "/" not in stem and "\\" not in stem and '"' not in stem and "\n" not in stem and "\x00" not in stem
    assert stem.startswith("heatmap_text-")
    assert len(file_stem("x", {"text": "a" * 1000})) <= 120
    assert file_stem("", {}) == "x"


def test_table_csv_reads_back_as_the_rows():
    rows = [{"neuron": "concat.fwd:70", "H": 0.5, "note": 'has, a comma and "quotes"'},
            {"neuron": "hidden:3", "H": float("nan"), "extra": "բարև"}]
    back = list(csv.DictReader(io.StringIO(table_csv(rows))))
    assert [r["neuron"] for r in back] == ["concat.fwd:70", "hidden:3"]
    assert back[0]["note"] == rows[0]["note"] and back[1]["extra"] == "բարև"
    assert back[0]["H"] == "0.5" and back[1]["H"] == ""          # NaN is an empty cell, not "nan"
    columns = {"a": [1, 2], "b": ["x", "y"]}                        # a dict of columns works the same
    assert list(csv.DictReader(io.StringIO(table_csv(columns)))) == [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}]
    with pytest.raises(ValueError, match="differ in length"):
        table_csv({"a": [1, 2], "b": [1]})


def test_figure_json_holds_the_plotted_numbers_as_plain_lists():
    z = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    import plotly.graph_objects as go
    fig = go.Figure(go.Heatmap(z=z, x=np.arange(4), text=[["a"] * 4] * 3))
    fig.add_scatter(x=[0, 1], y=[np.float64(2.5), float("inf")], name="line")
    doc = json.loads(figure_json(fig, "heatmap", {"neuron": "hidden:1"}))
    assert doc["view"] == "heatmap" and doc["params"] == {"neuron": "hidden:1"}
    heat, line = doc["figure"]["data"]
    np.testing.assert_array_equal(np.array(heat["z"], dtype=np.float32), z)   # unpacked from plotly's base64
    assert heat["x"] == [0, 1, 2, 3] and line["y"] == [2.5, None]
    assert isinstance(pio.from_json(json.dumps(doc["figure"])), go.Figure)     # plotly reopens it


def test_a_lab_figure_exports_its_bars():
    from translit_core.analysis.measurement.tables import PairScore
    from translit_core.analysis.measurement.names import Pair
    best = [PairScore(Pair("t", "թ", 400, 900), 0.61, 400, 900, hellinger_null=0.11, p_value=0.01),
            PairScore(Pair("o", "օ", 350, 700), 0.4, 350, 700, hellinger_null=0.2, p_value=0.05)]
    fig = figures.pairs_bar(best, title="Pairs")
    doc = json.loads(figure_json(fig, "neuron-pairs", {"neuron": "concat.fwd:70"}))
    shown = [v for t in doc["figure"]["data"] for v in (t.get("x") or []) if isinstance(v, (int, float))]
    for s in best:          # every bar's value (H excess) is in the download
        assert any(abs(v - s.hellinger_excess) < 1e-9 for v in shown), (s, shown)


def test_intervention_and_prediction_rows():
    r = InterventionResult(input="tun", output_before="տուն", output_after="թուն", tokens_before=["տ", "ու", "ն"],
                           tokens_after=["թ", "ու", "ն"], top_after=["թ", "ու", "ն"], changed=[0],
                           delta_logp=[-3.2, -0.01, 0.0])
    rows = result_rows(r)
    assert [(x["input"], x["before"], x["after"], x["changed"]) for x in rows] == [
        ("t", "տ", "թ", True), ("u", "ու", "ու", False), ("n", "ն", "ն", False)]
    back = list(csv.DictReader(io.StringIO(table_csv(rows))))
    assert back[0]["delta_logp"] == "-3.2" and back[1]["changed"] == "False"
    preds = [CharPrediction("b", "բ", 0.99, [("պ", 0.01)]), CharPrediction("h", "", 0.6, [("հ", 0.3), ("=", 0.1)],
                                                                             network="հ")]
    rows = prediction_rows(preds)
    assert rows[0]["alternative_1"] == "պ" and rows[0]["alternative_2"] == ""
    assert rows[1]["network_choice"] == "հ" and rows[1]["alternative_2_probability"] == 0.1


def test_chart_config_saves_under_the_views_name_in_the_chosen_format():
    cfg = chart_config("graph_pair-t-թ", "svg", {"scrollZoom": False})
    assert cfg["toImageButtonOptions"] == {"format": "svg", "filename": "graph_pair-t-թ", "scale": 2}
    assert cfg["modeBarButtons"] == [["toImage"]] and cfg["scrollZoom"] is False
