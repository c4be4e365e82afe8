"""The dashboard's figures (dashboard.views.figures) and the data they draw (views.graph,
histograms, heatmaps, card), without Streamlit.

Synthetic inputs only: nothing here depends on the trained weights or the analysis file.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import plotly.graph_objects as go

from dashboard.views import figures
from dashboard.views.card import ablation_sentence
from translit_core.analysis.methods.ablation import verdict
from dashboard.views.graph import GATE_ROWS, GATE_WORDS, Edge, GraphData, Node, row_label, selected_neuron, strongest
from dashboard.views.heatmaps import HeatData, find_spans, heat_data, span_selectivity
from dashboard.views.histograms import hist_view
from translit_core.analysis import AblationResult, Pair, PairScore
from translit_core.analysis.queries import Histogram
from translit_core.model.names import NeuronId


# --------------------------------------------------------------------------------------------
# a small graph in the shape graph.graph_data builds

def small_graph(k_concat: int = 3, k_hidden: int = 4) -> GraphData:
    nodes = [Node("output:2", "output", "թ", 0.9, 10, 20, target=True, null=0.1, p_value=0.05, pair="t:թ"),
             Node("output:0", "output", "t", 0.2, 10, 20, null=0.1, p_value=0.05, pair="t:="),
             Node("output:1", "output", "<b>", None, 10, 20)]
    nodes += [Node(f"hidden:{i}", "hidden", str(i), 0.1 * i + 0.05, 10, 20, null=0.05, p_value=0.05)
              for i in range(k_hidden)]
    fwd, bwd = [5, 1, 7][:k_concat], [2, 0, 4][:k_concat]
    nodes += [Node(f"concat.fwd:{i}", "concat", str(i), 0.5, 10, 20, side="fwd", null=0.1, p_value=0.05) for i in fwd]
    nodes += [Node(f"concat.bwd:{i}", "concat", str(i), 0.6, 10, 20, side="bwd", null=0.1, p_value=0.05) for i in bwd]
    rows = [("output", "outputs"), ("hidden", "hidden"), ("concat", "concat")]
    for label, lf, lb in GATE_ROWS:
        rows.append((label, row_label(label)))
        nodes += [Node(f"{lf}:{i}", label, str(i), 0.3, 10, 20, side="fwd", null=0.1, p_value=0.05) for i in fwd]
        nodes += [Node(f"{lb}:{i}", label, str(i), 0.3, 10, 20, side="bwd", null=0.1, p_value=0.05) for i in bwd]
    edges = [Edge("concat.fwd:5", "hidden:0", 0.8), Edge("concat.bwd:2", "hidden:1", -0.2),
             Edge("concat.fwd:1", "hidden:2", 0.05), Edge("hidden:0", "output:2", -1.5),
             Edge("hidden:1", "output:0", 0.7)]
    return GraphData("t:թ", rows, nodes, edges, {r: GATE_WORDS[r][1] for r, _, _ in GATE_ROWS})


def node_trace(fig: go.Figure) -> go.Scatter:
    return next(t for t in fig.data if t.name == "neurons")


def test_graph_layout_rows_top_to_bottom_and_gate_rows_under_their_concat_neuron():
    g = small_graph()
    pos = figures.graph_layout(g)
    row_y = {r: -i for i, (r, _) in enumerate(g.rows)}
    for n in g.nodes:
        assert pos[n.id][1] == row_y[n.row]
    for label, lf, lb in GATE_ROWS:
        for i in (5, 1, 7):
            assert pos[f"{lf}:{i}"][0] == pos[f"concat.fwd:{i}"][0]
        for i in (2, 0, 4):
            assert pos[f"{lb}:{i}"][0] == pos[f"concat.bwd:{i}"][0]
    # the order inside a row is the ranking order, forward left of the divider, backward right
    xs = [pos[f"concat.fwd:{i}"][0] for i in (5, 1, 7)] + [pos["__gap__concat"][0]] + \
         [pos[f"concat.bwd:{i}"][0] for i in (2, 0, 4)]
    assert xs == sorted(xs)


def test_neuron_graph_one_fixed_colour_scale_with_colour_bar():
    a = figures.neuron_graph(small_graph())
    b = figures.neuron_graph(small_graph(k_concat=2, k_hidden=2))
    for fig in (a, b):
        m = node_trace(fig).marker
        assert (m.cmin, m.cmax) == (0, 1)
        assert m.colorbar is not None and m.colorscale == a.data[-1].marker.colorscale
    traces_with_scale = [t for t in a.data if getattr(t, "marker", None) is not None
                         and t.marker.colorbar is not None and t.marker.colorbar.title.text]
    assert len(traces_with_scale) == 1


def test_neuron_graph_nodes_are_clickable_by_name_and_hover_shows_h_and_counts():
    g = small_graph()
    t = node_trace(figures.neuron_graph(g, selected="hidden:2"))
    assert list(t.customdata) == [n.id for n in g.nodes]
    hover = dict(zip(t.customdata, t.hovertext))
    assert "hidden:3" in hover["hidden:3"] and "10" in hover["hidden:3"]
    assert all(s in hover["hidden:3"] for s in ("excess = 0.300", "H = 0.350", "null 0.050"))
    assert "n/a" in hover["output:1"]
    colours = dict(zip(t.customdata, t.marker.color))
    assert colours["hidden:3"] == pytest.approx(0.3)                   # the colour is the excess, not raw H
    assert "&lt;b&gt;" in list(t.text) and "<b>" not in list(t.text)   # labels are escaped
    widths = dict(zip(t.customdata, t.marker.line.width))
    assert widths["hidden:2"] > widths["hidden:3"]                      # the selected node has a ring


def test_neuron_graph_edges_orange_positive_green_negative_width_grows_with_size():
    fig = figures.neuron_graph(small_graph())
    lines = [t for t in fig.data if t.mode == "lines" and t.x and t.x[0] is not None]
    assert {t.line.color for t in lines} <= {figures.POSITIVE, figures.NEGATIVE}
    # hidden -> output: |-1.5| is the largest there, 0.7 smaller: the negative one is wider
    out_pos = [t for t in lines if t.line.color == figures.POSITIVE]
    out_neg = [t for t in lines if t.line.color == figures.NEGATIVE]
    assert max(t.line.width for t in out_neg) > min(t.line.width for t in out_pos)
    n_segments = sum(len(t.x) // 3 for t in lines)
    assert n_segments == len(small_graph().edges)


def test_neuron_graph_has_a_visible_divider():
    fig = figures.neuron_graph(small_graph())
    assert any(s.type == "line" and s.line.dash == "dot" for s in fig.layout.shapes)


def test_neuron_graph_dark_is_large_on_one_range_for_raw_h_and_for_its_excess():
    from plotly.colors import hex_to_rgb, unlabel_rgb
    g = small_graph()
    excess, raw = figures.neuron_graph(g), figures.neuron_graph(g, colour="hellinger")
    for fig in (excess, raw):
        m = node_trace(fig).marker
        assert (m.cmin, m.cmax) == (0, 1)
    scale = node_trace(excess).marker.colorscale

    def light(c):
        return sum(hex_to_rgb(c) if c.startswith("#") else unlabel_rgb(c))
    assert light(scale[-1][1]) < light(scale[0][1]) - 300               # sequential: dark = larger
    ex = dict(zip(node_trace(excess).customdata, node_trace(excess).marker.color))
    rw = dict(zip(node_trace(raw).customdata, node_trace(raw).marker.color))
    assert ex["hidden:3"] == pytest.approx(0.3) and rw["hidden:3"] == pytest.approx(0.35)
    assert ex["output:1"] == rw["output:1"] == figures.NODE_NONE          # no H: grey, in both
    assert "excess" in excess.layout.title.text and "raw" in raw.layout.title.text
    assert node_trace(raw).marker.colorbar.title.text == "Hellinger H"


def test_neuron_graph_row_names_explain_the_gates_on_hover():
    fig = figures.neuron_graph(small_graph())
    by_row = {a.y: a for a in fig.layout.annotations if a.xref == "paper"}
    for i, (label, _, _) in enumerate(GATE_ROWS, start=3):
        words, explained = GATE_WORDS[label]
        assert words in by_row[-i].text and explained.split(":")[0] in by_row[-i].hovertext
    for label in ("input gate", "forget gate", "candidate", "output gate", "cell"):
        assert any(label in a.text for a in by_row.values())


def test_neuron_graph_output_nodes_say_that_a_click_switches_the_pair():
    hover = dict(zip(node_trace(figures.neuron_graph(small_graph())).customdata,
                     node_trace(figures.neuron_graph(small_graph())).hovertext))
    assert "switch to the pair t→= (kept)" in hover["output:0"]
    assert "the pair shown" in hover["output:2"] and "histogram" in hover["hidden:1"]


def test_every_figure_is_drawn_in_the_lab_template():
    """The template is plotly's default, set by figures (not passed at every update_layout): every
    figure, also one made with make_subplots, carries plotly_white and the lab's font."""
    import plotly.io as pio
    white = pio.templates["plotly_white"].to_plotly_json()
    for fig in (figures.neuron_graph(small_graph()), figures.base_layout(go.Figure()),
                figures.histogram_grid([])):
        layout = fig.to_plotly_json()["layout"]
        assert layout["template"] == white
        assert layout["font"]["family"] == figures.FONT


def test_neuron_graph_without_nodes_does_not_fail():
    fig = figures.neuron_graph(GraphData("t:թ", [], [], []))
    assert isinstance(fig, go.Figure)


# --------------------------------------------------------------------------------------------
# histograms

def engine_histogram(bins=1000, seed=0) -> Histogram:
    """A histogram in the shape translit_core.analysis.histogram returns."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.4, 0.1, 500), rng.normal(-0.3, 0.2, 900)
    edges = np.linspace(min(a.min(), b.min()), max(a.max(), b.max()), bins + 1)
    w = edges[1] - edges[0]
    pa, pb = np.histogram(a, edges)[0], np.histogram(b, edges)[0]
    return Histogram(pair="t:թ", neuron="hidden:3", edges=edges.tolist(), density_pos=(pa / (500 * w)).tolist(),
                     density_neg=(pb / (900 * w)).tolist(), counts_pos=pa.tolist(), counts_neg=pb.tolist(),
                     hellinger=0.87, n_pos=500, n_neg=900)


def test_hist_view_rebins_keeping_mass_h_and_counts():
    hv = hist_view(engine_histogram(), "t:թ", "hidden:3", bins=80)
    assert len(hv.centers) <= 80 and len(hv.pos) == len(hv.centers) == len(hv.neg)
    assert math.isclose((hv.pos * hv.width).sum(), 1.0, rel_tol=1e-6)
    assert math.isclose((hv.neg * hv.width).sum(), 1.0, rel_tol=1e-6)
    assert (hv.hellinger, hv.n_pos, hv.n_neg) == (0.87, 500, 900)


def test_hist_view_of_a_constant_neuron():
    h = Histogram(pair="a:ա", neuron="hidden:0", edges=[-0.5, 0.0, 0.5], density_pos=[0.0, 2.0],
                  density_neg=[0.0, 2.0], counts_pos=[0, 3], counts_neg=[0, 4], hellinger=0.0, n_pos=3, n_neg=4)
    hv = hist_view(h, "a:ա", "hidden:0")
    assert np.isfinite(hv.pos).all() and hv.hellinger == 0.0


def test_histogram_overlay_two_densities_with_h_and_counts():
    hv = hist_view(engine_histogram(), "t:թ", "hidden:3")
    fig = figures.histogram_overlay(hv)
    assert len(fig.data) == 2
    assert "0.870" in fig.layout.title.text and "hidden:3" in fig.layout.title.text
    names = " ".join(t.name for t in fig.data)
    assert "500" in names and "900" in names


def test_histogram_grid_one_panel_per_histogram():
    hvs = [hist_view(engine_histogram(seed=s), "t:թ", f"hidden:{s}") for s in range(3)]
    fig = figures.histogram_grid(hvs, cols=2)
    assert len(fig.data) == 6
    assert [a.text.split(" · ")[0] for a in fig.layout.annotations] == ["hidden:0", "hidden:1", "hidden:2"]
    assert isinstance(figures.histogram_grid([]), go.Figure)


# --------------------------------------------------------------------------------------------
# bars and heatmaps

def test_pairs_bar_shows_the_excess_best_on_top_on_the_fixed_scale():
    scores = [PairScore(Pair("s", "_"), 0.95, 10, 20, 0.10, 0.05), PairScore(Pair("h", "հ"), 0.83, 5, 6, 0.03, 0.05),
              PairScore(Pair("o", "օ"), 0.61, 1, 2, 0.01, 0.05)]
    fig = figures.pairs_bar(scores)
    bar = fig.data[0]
    assert list(bar.x) == pytest.approx([0.60, 0.80, 0.85])           # excess, drawn bottom-up: best on top
    assert [c[3] for c in bar.customdata] == [0.61, 0.83, 0.95]        # raw H on hover
    assert (bar.marker.cmin, bar.marker.cmax) == (0, 1)
    assert fig.layout.xaxis.range[0] == 0


def stored_result(**kw) -> AblationResult:
    base = dict(pair="t:թ", layer="hidden", k=10, baseline_accuracy=0.97, top_k_accuracy=0.61,
                random_k_accuracy_mean=0.96, random_k_accuracy_std=0.01, n_positions=1234, n_pos=300,
                top_k_neurons=["hidden:3"], n_random_draws=4, target_accuracy_baseline=0.95,
                target_accuracy_top_k=0.40, target_accuracy_random_mean=0.94, target_accuracy_random_std=0.01,
                delta_logp_top_k=-1.2, delta_logp_random_mean=-0.05, delta_logp_random_std=0.02,
                random_delta_logps=[-0.03, -0.05, -0.07, -0.05], p_value=0.2)
    base.update(kw)
    return AblationResult(**base)


def test_ablation_bar_shows_the_top_k_against_every_random_draw():
    res = stored_result()
    fig = figures.ablation_bar(res)
    box = next(t for t in fig.data if t.type == "box")
    top = next(t for t in fig.data if t.type == "scatter")
    assert list(box.x) == [-0.03, -0.05, -0.07, -0.05] and list(top.x) == [-1.2]
    assert "p = 0.2" in fig.layout.title.text


def test_ablation_sentence_follows_the_p_value_not_a_fixed_floor():
    from dataclasses import replace
    res = stored_result(p_value=1 / 101, n_random_draws=100)
    sentence = ablation_sentence(res)
    assert "They matter" in sentence and "p = 0.0099" in sentence and "300 positions of “t”" in sentence
    assert "40.0%" in sentence and "-1.200" in sentence
    weak = replace(res, p_value=0.3)
    assert "not importance" in ablation_sentence(weak)
    # An effect far outside the random spread is real; whether it matters is its size, said apart.
    small = replace(res, delta_logp_top_k=-0.05, delta_logp_random_mean=-0.0004, delta_logp_random_std=0.0005)
    assert "They matter" in ablation_sentence(small)
    tiny = replace(res, delta_logp_top_k=-0.0046, delta_logp_random_mean=-0.0004, delta_logp_random_std=0.0005)
    assert "too small to matter" in ablation_sentence(tiny) and verdict(tiny) == "significant but negligible"
    old = AblationResult(pair="t:թ", layer="hidden", k=10, baseline_accuracy=0.97, top_k_accuracy=0.61,
                         random_k_accuracy_mean=0.96, random_k_accuracy_std=0.01, n_positions=1234)
    assert "predates the p-values" in ablation_sentence(old)
    assert "one of the ablated" in ablation_sentence(res, NeuronId("hidden", 3))
    assert "not among" in ablation_sentence(res, NeuronId("hidden", 4))


def test_cell_heatmap_wraps_lines_one_symmetric_scale_output_on_top():
    text = "ayspes utyun " * 9                                           # 117 characters
    names = ["hidden:1", "concat.fwd:2"]
    values = np.vstack([np.linspace(-2, 1, len(text)), np.linspace(0, 0.5, len(text))])
    data = HeatData(text, ["ա"] * len(text), names, values)
    fig = figures.cell_heatmap(data, width=50, marks=[(6, 11)])
    heat = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heat) == 3                                                # ceil(117 / 50)
    assert all(t.zmin == -2 and t.zmax == 2 for t in heat)               # one scale for all rows
    assert sum(t.showscale for t in heat) == 1
    first = heat[0]
    assert list(first.text[-1]) == ["ա"] * 50                            # top row: the output
    assert len(first.z) == len(names) + 1
    assert any(s.type == "rect" for s in fig.layout.shapes)              # the substring is marked


def test_cell_heatmap_escapes_text_and_handles_empty_rows():
    data = HeatData("<b>x</b>", [""] * 8, ["hidden:0"], np.zeros((1, 8)))
    fig = figures.cell_heatmap(data)
    cells = [c for row in fig.data[0].text for c in row]
    assert "&lt;" in cells and "<" not in cells
    assert isinstance(figures.cell_heatmap(HeatData("abc", ["", "", ""], [], np.zeros((0, 3)))), go.Figure)


# --------------------------------------------------------------------------------------------
# graph selection, substring spans, heat rows

def test_selected_neuron_from_a_plotly_event():
    ev = {"selection": {"points": [{"customdata": None}, {"customdata": "hidden:3", "x": 1}]}}
    assert selected_neuron(ev) == "hidden:3"
    assert selected_neuron({"selection": {"points": [{"customdata": ["gate.fwd.o:2"]}]}}) == "gate.fwd.o:2"
    assert selected_neuron(SimpleNamespace(selection=SimpleNamespace(points=[]))) is None
    assert selected_neuron(None) is None and selected_neuron({"x": 1}) is None


def test_find_spans_and_span_selectivity():
    text = "azatutyun u ankakhutyun"
    assert find_spans(text, "UTYUN") == [(4, 9), (18, 23)]
    assert find_spans(text, "") == []
    T = len(text)
    inside = np.zeros(T, bool)
    inside[4:9] = inside[18:23] = True
    acts = {"hidden": np.stack([inside * 1.0, np.sin(np.arange(T)), np.zeros(T)], 1)}
    scores = span_selectivity(acts, text, "utyun", ["hidden"], top=3)
    assert scores[0].neuron == NeuronId("hidden", 0) and scores[0].n_pos == 10
    assert span_selectivity(acts, text, "zzz", ["hidden"]) == []


def test_heat_data_one_row_per_neuron():
    acts = {"hidden": np.arange(12.0).reshape(3, 4)}
    data = heat_data(acts, "abc", ["ա", "", "c"], [NeuronId("hidden", 2), NeuronId("cell.fwd", 0)])
    assert data.names == ["hidden:2", "cell.fwd:0"]
    assert data.values[0].tolist() == [2.0, 6.0, 10.0] and np.isnan(data.values[1]).all()


def test_strongest_edges_keep_each_targets_best_input():
    edges = [Edge(f"a{i}", "u", float(i)) for i in range(1, 6)] + [Edge("b", "v", 0.01)]
    kept = strongest(edges, 3)
    assert len(kept) == 3 and any(e.target == "v" for e in kept)
    assert {e.source for e in kept if e.target == "u"} == {"a5", "a4"}


def test_a_node_hover_leads_with_the_corrected_value():
    from dashboard.views.graph import node_hover
    data = small_graph()
    corrected = Node("hidden:9", "hidden", "9", 0.7, 10, 20, null=0.1, p_value=0.0002, q_value=0.0012)
    assert "q 0.0012 (p 0.0002)" in node_hover(data, corrected)
    assert "q 0.0012 (p 0.0002)" in node_hover(data, corrected, colour="hellinger")
    assert "· p 0.05" in node_hover(data, data.nodes[3]) and " q " not in node_hover(data, data.nodes[3])
