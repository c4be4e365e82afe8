"""Dashboard building blocks without Streamlit: translit_core.figures (plotly figures) and
translit_core.views (URL state, validation, escaping, data shaping).

Synthetic inputs only: nothing here depends on the trained weights or the analysis file.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
from translit_core import figures, views
from translit_core.unrolled import LAYERS
from translit_core.views import Edge, GraphData, HeatData, Node, Score

SIZES = {l: 8 for l in LAYERS} | {"hidden": 6, "output": 5}


# --------------------------------------------------------------------------------------------
# a small graph in the shape views.graph_data builds

def small_graph(k_concat: int = 3, k_hidden: int = 4) -> GraphData:
    nodes = [Node("output:2", "output", "թ", 0.9, 10, 20, target=True),
             Node("output:0", "output", "t", 0.2, 10, 20),
             Node("output:1", "output", "<b>", None, 10, 20)]
    nodes += [Node(f"hidden:{i}", "hidden", str(i), 0.1 * i, 10, 20) for i in range(k_hidden)]
    fwd, bwd = [5, 1, 7][:k_concat], [2, 0, 4][:k_concat]
    nodes += [Node(f"concat.fwd:{i}", "concat", str(i), 0.5, 10, 20, side="fwd") for i in fwd]
    nodes += [Node(f"concat.bwd:{i}", "concat", str(i), 0.6, 10, 20, side="bwd") for i in bwd]
    rows = [("output", "outputs"), ("hidden", "hidden"), ("concat", "concat")]
    for label, lf, lb in views.GATE_ROWS:
        rows.append((label, label))
        nodes += [Node(f"{lf}:{i}", label, str(i), 0.3, 10, 20, side="fwd") for i in fwd]
        nodes += [Node(f"{lb}:{i}", label, str(i), 0.3, 10, 20, side="bwd") for i in bwd]
    edges = [Edge("concat.fwd:5", "hidden:0", 0.8), Edge("concat.bwd:2", "hidden:1", -0.2),
             Edge("concat.fwd:1", "hidden:2", 0.05), Edge("hidden:0", "output:2", -1.5),
             Edge("hidden:1", "output:0", 0.7)]
    return GraphData("t:թ", rows, nodes, edges)


def node_trace(fig: go.Figure) -> go.Scatter:
    return next(t for t in fig.data if t.name == "neurons")


def test_graph_layout_rows_top_to_bottom_and_gate_rows_under_their_concat_neuron():
    g = small_graph()
    pos = figures.graph_layout(g)
    row_y = {r: -i for i, (r, _) in enumerate(g.rows)}
    for n in g.nodes:
        assert pos[n.id][1] == row_y[n.row]
    for label, lf, lb in views.GATE_ROWS:
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
    assert "hidden:3" in hover["hidden:3"] and "0.300" in hover["hidden:3"] and "10" in hover["hidden:3"]
    assert "n/a" in hover["output:1"]
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


def test_neuron_graph_without_nodes_does_not_fail():
    fig = figures.neuron_graph(GraphData("t:թ", [], [], []))
    assert isinstance(fig, go.Figure)


# --------------------------------------------------------------------------------------------
# histograms

def engine_histogram(bins=1000, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.4, 0.1, 500), rng.normal(-0.3, 0.2, 900)
    edges = np.linspace(min(a.min(), b.min()), max(a.max(), b.max()), bins + 1)
    w = edges[1] - edges[0]
    pa, pb = np.histogram(a, edges)[0], np.histogram(b, edges)[0]
    return SimpleNamespace(edges=edges.tolist(), density_pos=(pa / (500 * w)).tolist(),
                           density_neg=(pb / (900 * w)).tolist(), hellinger=0.87, n_pos=500, n_neg=900)


def test_hist_view_rebins_keeping_mass_h_and_counts():
    hv = views.hist_view(engine_histogram(), "t:թ", "hidden:3", bins=80)
    assert len(hv.centers) <= 80 and len(hv.pos) == len(hv.centers) == len(hv.neg)
    assert math.isclose((hv.pos * hv.width).sum(), 1.0, rel_tol=1e-6)
    assert math.isclose((hv.neg * hv.width).sum(), 1.0, rel_tol=1e-6)
    assert (hv.hellinger, hv.n_pos, hv.n_neg) == (0.87, 500, 900)


def test_hist_view_of_a_constant_neuron():
    h = SimpleNamespace(edges=[-0.5, 0.0, 0.5], density_pos=[0.0, 2.0], density_neg=[0.0, 2.0],
                        hellinger=0.0, n_pos=3, n_neg=4)
    hv = views.hist_view(h, "a:ա", "hidden:0")
    assert np.isfinite(hv.pos).all() and hv.hellinger == 0.0


def test_histogram_overlay_two_densities_with_h_and_counts():
    hv = views.hist_view(engine_histogram(), "t:թ", "hidden:3")
    fig = figures.histogram_overlay(hv)
    assert len(fig.data) == 2
    assert "0.870" in fig.layout.title.text and "hidden:3" in fig.layout.title.text
    names = " ".join(t.name for t in fig.data)
    assert "500" in names and "900" in names


def test_histogram_grid_one_panel_per_histogram():
    hvs = [views.hist_view(engine_histogram(seed=s), "t:թ", f"hidden:{s}") for s in range(3)]
    fig = figures.histogram_grid(hvs, cols=2)
    assert len(fig.data) == 6
    assert [a.text.split(" · ")[0] for a in fig.layout.annotations] == ["hidden:0", "hidden:1", "hidden:2"]
    assert isinstance(figures.histogram_grid([]), go.Figure)


# --------------------------------------------------------------------------------------------
# bars and heatmaps

def test_pairs_bar_best_on_top_on_the_fixed_scale():
    scores = [Score("s:_", 0.95, 10, 20), Score("h:հ", 0.83, 5, 6), Score("o:օ", 0.61, 1, 2)]
    fig = figures.pairs_bar(scores)
    bar = fig.data[0]
    assert list(bar.x) == [0.61, 0.83, 0.95]                          # drawn bottom-up: best on top
    assert (bar.marker.cmin, bar.marker.cmax) == (0, 1)
    assert fig.layout.xaxis.range[0] == 0


def test_ablation_bar_shows_the_three_accuracies():
    res = {"pair": "t:թ", "layer": "hidden", "k": 10, "baseline_accuracy": 0.97, "top_k_accuracy": 0.61,
           "random_k_accuracy_mean": 0.96, "random_k_accuracy_std": 0.01, "n_positions": 1234}
    fig = figures.ablation_bar(res)
    assert sorted(fig.data[0].x) == sorted([0.97, 0.61, 0.96])
    assert fig.layout.xaxis.range[0] < 0.61 and "1,234" in fig.layout.title.text
    sentence = views.ablation_sentence(res)
    assert "97.0%" in sentence and "matter" in sentence
    assert "not importance" in views.ablation_sentence(dict(res, top_k_accuracy=0.969))
    assert "small but real" in views.ablation_sentence(dict(res, top_k_accuracy=0.963, random_k_accuracy_mean=0.97,
                                                            random_k_accuracy_std=0.0))
    assert "not confirmed" in views.ablation_sentence(dict(res, random_k_accuracy_mean=0.62))


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
# views: URL state and validation

def test_parse_page():
    assert views.parse_page(None).value is None and views.parse_page(None).note is None
    assert views.parse_page("Graph").value == "graph"
    bad = views.parse_page("<script>")
    assert bad.value is None and "no page" in bad.note


def test_parse_pair_falls_back_with_a_note():
    valid = ["s:_", "t:թ", "t:տ"]
    assert views.parse_pair(None, valid).value == "t:թ"
    assert views.parse_pair("t:տ", valid).value == "t:տ"
    for bad in ("zz", "q:ք", "t:", ""):
        p = views.parse_pair(bad, valid)
        assert p.value == "t:թ"
        assert (p.note is None) == (bad == "")
    assert views.parse_pair("x:y", ["s:_"]).value == "s:_"             # no t:թ: the first valid pair
    assert views.parse_pair(None, []).value is None


def test_parse_neuron_checks_layer_and_range():
    assert views.parse_neuron("concat.fwd:7", SIZES).value == "concat.fwd:7"
    assert views.parse_neuron(" hidden:5 ", SIZES).value == "hidden:5"
    for bad in ("hidden:6", "hidden:-1", "hidden:x", "foo:1", "hidden", "<b>:1"):
        p = views.parse_neuron(bad, SIZES, default="hidden:0")
        assert p.value == "hidden:0" and p.note
    assert views.parse_neuron(None, SIZES).value is None
    good, notes = views.valid_names(["hidden:1", "hidden:1", "nope:3"], SIZES)
    assert good == ["hidden:1"] and len(notes) == 1


def test_first_reads_one_value():
    assert views.first({"a": ["1", "2"]}, "a") == "2"
    assert views.first({"a": "x"}, "a") == "x" and views.first({}, "a") is None


def test_cap_text_and_url_text():
    assert views.cap_text("abc").notice is None
    long = ("word " * 30_000)[:100_000]
    c = views.cap_text(long)
    assert len(c.text) <= views.MAX_LIVE_CHARS and c.total == 100_000 and "100,000" in c.notice
    assert views.cap_text(None).text == ""
    assert views.url_text("hi") == "hi" and views.url_text("x" * 10_000) is None and views.url_text("") is None


def test_page_url_encodes_state():
    url = views.page_url("neuron", neuron="concat.fwd:70", pair="t:թ")
    assert url.startswith("/neuron?page=neuron&neuron=concat.fwd%3A70&pair=t%3A%D5%A9")
    assert views.page_url("transliterate", text="a b").startswith("/?page=transliterate")


def test_split_and_sibling_pairs():
    assert views.split_pair("t:թ") == ("t", "թ") and views.split_pair("::=") == (":", "=")
    assert views.sibling_pair("t:թ", ["s:_", "t:թ", "t:տ"]) == "t:տ"
    assert views.sibling_pair("s:_", ["s:_", "t:թ"]) == "s:_"


def test_pair_label():
    assert views.pair_label("t:թ") == "t→թ"
    assert views.pair_label("s:_").startswith("s→_")
    assert views.pair_label("e:=").startswith("e→=")
    assert views.pair_label("::։") == "‘:’→‘։’"


# --------------------------------------------------------------------------------------------
# views: escaped HTML

def pred(latin, output, prob, alts=(), network=None):
    return SimpleNamespace(latin=latin, output=output, prob=prob, alternatives=list(alts), network=network)


def test_confidence_html_escapes_and_highlights_uncertain_characters():
    preds = [pred("<", "<", 1.0), pred("t", "թ", 0.55, [("տ", 0.4)]), pred("v", "", 0.99, [("վ", 0.01)]),
             pred("\n", "\n", 1.0), pred('"', '"', 1.0)]
    out = views.confidence_html(preds)
    assert "<" + "<" not in out and "&lt;" in out
    assert out.count('class="u"') == 1 and "55%" in out and "տ 40%" in out
    assert 'class="z"' in out and "<br>" in out and "&quot;" in out
    assert views.uncertain_summary(preds) == (1, 2)
    # a letter the lexicon changed is marked as such, with what the network wrote
    out = views.confidence_html([pred("r", "ր", 0.3, [("ռ", 0.6)], network="ռ")])
    assert 'class="k"' in out and 'class="u"' not in out and "the network chose ռ" in out


def test_shaded_html_escapes_and_marks():
    out = views.shaded_html("<a>", [1.0, -1.0, 0.0], mark=(1, 2))
    assert "&lt;" in out and "<a>" not in out
    assert out.count("border-bottom") == 1
    assert views.diverging_rgb(1, 1) != views.diverging_rgb(-1, 1)
    assert views.diverging_rgb(float("nan"), 1) == "rgb(255,255,255)"


# --------------------------------------------------------------------------------------------
# views: graph selection, substring spans

def test_selected_neuron_from_a_plotly_event():
    ev = {"selection": {"points": [{"customdata": None}, {"customdata": "hidden:3", "x": 1}]}}
    assert views.selected_neuron(ev) == "hidden:3"
    assert views.selected_neuron({"selection": {"points": [{"customdata": ["gate.fwd.o:2"]}]}}) == "gate.fwd.o:2"
    assert views.selected_neuron(SimpleNamespace(selection=SimpleNamespace(points=[]))) is None
    assert views.selected_neuron(None) is None and views.selected_neuron({"x": 1}) is None


def test_find_spans_and_span_selectivity():
    text = "azatutyun u ankakhutyun"
    assert views.find_spans(text, "UTYUN") == [(4, 9), (18, 23)]
    assert views.find_spans(text, "") == []
    T = len(text)
    inside = np.zeros(T, bool)
    inside[4:9] = inside[18:23] = True
    acts = {"hidden": np.stack([inside * 1.0, np.sin(np.arange(T)), np.zeros(T)], 1)}
    scores = views.span_selectivity(acts, text, "utyun", ["hidden"], top=3)
    assert scores[0].name == "hidden:0" and scores[0].n_pos == 10
    assert views.span_selectivity(acts, text, "zzz", ["hidden"]) == []


def test_symbols_and_classes():
    alph = SimpleNamespace(outputs=["<pass>", "<place>", "թ"], out_index={"թ": 2})
    assert [views.symbol_of_class(alph, k) for k in range(3)] == ["=", "_", "թ"]
    assert [views.class_of_symbol(alph, s) for s in ("=", "_", "թ", "?")] == [0, 1, 2, None]


def test_strongest_edges_keep_each_targets_best_input():
    edges = [Edge(f"a{i}", "u", float(i)) for i in range(1, 6)] + [Edge("b", "v", 0.01)]
    kept = views._strongest(edges, 3)
    assert len(kept) == 3 and any(e.target == "v" for e in kept)
    assert {e.source for e in kept if e.target == "u"} == {"a5", "a4"}
