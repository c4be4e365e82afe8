"""The Gate saturation and Neuron clusters pages: opened by their path's page name, a click on the
saturation scatter injected as a chart selection, every control driven, and the numbers on the pages
checked against the engine's."""
from __future__ import annotations

from test_app import app, charts, figure, infos, ok, param, texts
from translit_core.analysis.methods.clusters import pair_spread
from translit_core.model.names import NeuronId


def click(at, key: str, neuron: str):
    at.session_state[key] = {"selection": {"points": [{"customdata": neuron, "curve_number": 0, "point_index": 0}],
                                           "point_indices": [0], "box": [], "lasso": []}}
    return ok(at.run())


def markdowns(at) -> str:
    return " ".join(texts(at.markdown))


def test_gates_scatter_has_a_panel_per_gate_and_the_engines_fractions(lab_dir, lab):
    sat = lab.analysis.saturation
    assert sat is not None, "the test lab's analysis stores the saturation"
    at = ok(app("gates"))
    assert texts(at.title) == ["Gate saturation"]
    fig = figure(charts(at)[0])
    points = [t for t in fig["data"] if t.get("mode") == "markers" and t.get("name")]
    assert {t["name"] for t in points} == {"forward", "backward"} and len(points) == 8      # 4 gates x 2 directions
    for t in points:
        layer = t["customdata"][0].rsplit(":", 1)[0]
        r = sat.layers.index(layer)
        assert t["x"] == sat.left[r].tolist() and t["y"] == sat.right[r].tolist()
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles == ["input gate i", "forget gate f", "output gate o", "cell input g (tanh)"]
    table = at.dataframe[0].value
    assert list(table["layer"]) == sat.layers
    assert list(table["right-saturated > 50%"]) == [sat.count_right(layer, 0.5) for layer in sat.layers]
    assert [b.proto.label for b in at.get("download_button")] == ["Units (CSV)", "Figure data (JSON)", "Table (CSV)"]
    assert not any("Neuron card" in s for s in texts(at.subheader))


def test_a_click_on_a_point_opens_the_units_card(lab_dir, lab):
    sat = lab.analysis.saturation
    at = ok(app("gates"))
    at = click(at, "gates_chart", "gate.bwd.f:3")
    assert param(at, "neuron") == "gate.bwd.f:3"
    assert any("gate.bwd.f:3" in s for s in texts(at.subheader))
    left, right = sat.of(NeuronId("gate.bwd.f", 3))
    assert f"shut {left:.0%}, open {right:.0%}" in markdowns(at)
    rings = [t for t in figure(charts(at)[0])["data"] if t.get("customdata") == ["gate.bwd.f:3"]]
    assert len(rings) == 1                                     # the selected unit is marked


def test_gates_deep_link_and_bad_neuron(lab_dir):
    at = ok(app("gates", neuron="gate.fwd.o:1"))
    assert any("gate.fwd.o:1" in s for s in texts(at.subheader))
    at = ok(app("gates", neuron="gate.fwd.o:99999"))
    assert "cannot be shown" in infos(at) and param(at, "neuron") is None


def test_clusters_page_tables_and_the_pairs_spread(lab_dir, lab, default_pair):
    cl = lab.analysis.clusters
    assert cl is not None
    at = ok(app("clusters"))
    assert texts(at.title) == ["Neuron clusters"]
    assert param(at, "layer") == "concat.fwd" and param(at, "pair") == str(default_pair) and param(at, "k") == "10"
    lc = cl.layer("concat.fwd")
    table = at.dataframe[0].value
    assert list(table["size"]) == [n for n in lc.sizes().tolist() if n > 1]         # groups only, largest first
    at.toggle(key="clusters_all").set_value(True).run()
    assert sum(ok(at).dataframe[0].value["size"]) == lc.labels.numel()
    s = pair_spread(lab.analysis, cl, default_pair, "concat.fwd", 10)
    assert f"fall into **{s.distinct}** clusters" in markdowns(at).replace("\\", "")
    spread = figure(charts(at)[1])
    diamonds = next(t for t in spread["data"] if t.get("name") == "the pair's top k")
    assert diamonds["y"] == ["concat.fwd", "concat.bwd", "hidden"]
    assert diamonds["x"][0] == s.distinct
    assert list(at.dataframe[1].value["unit"]) == [f"concat.fwd:{u}" for u in s.units]


def test_clusters_controls_move_the_view_and_the_url(lab_dir, lab, default_pair):
    cl = lab.analysis.clusters
    at = ok(app("clusters"))
    at.selectbox(key="clusters_layer").set_value("hidden").run()
    assert param(ok(at), "layer") == "hidden"
    assert "hidden:" in figure(charts(at)[0])["layout"]["title"]["text"]
    at.number_input(key="clusters_k").set_value(3).run()
    assert param(ok(at), "k") == "3" and len(at.dataframe[1].value) == 3
    at.number_input(key="clusters_unit").set_value(4).run()
    assert param(ok(at), "neuron") == "hidden:4"
    nb = at.dataframe[2].value
    assert list(nb["neuron"]) == [f"hidden:{i}" for i, _ in cl.layer("hidden").neighbours_of(4)]
    other = next(p for p in lab.analysis.pairs() if p.x != default_pair.x)
    at.selectbox(key="clusters_pair_x").set_value(other.x).run()
    assert param(ok(at), "pair").startswith(other.x + ":")


def test_clusters_deep_link_and_bad_params(lab_dir, lab):
    at = ok(app("clusters", neuron="cell.bwd:2"))
    assert param(at, "layer") == "cell.bwd" and param(at, "neuron") == "cell.bwd:2"
    assert "cluster" in markdowns(at)
    at = ok(app("clusters", layer="gate.fwd.i", k="0", neuron="gate.fwd.i:1", pair="zz"))
    note = infos(at)
    assert "is not one of" in note and "whole number" in note and "Clusters are computed for" in note
    assert param(at, "layer") == "concat.fwd" and param(at, "k") == "10"


def test_the_neuron_card_shows_cluster_and_gate_saturation(lab_dir, lab):
    at = ok(app("neuron", neuron="concat.fwd:2"))
    text = markdowns(at)
    assert "Its gates' saturation" in text and "gate.fwd.f:2" in text
    lc = lab.analysis.clusters.layer("concat.fwd")
    assert f"**Cluster {lc.cluster_of(2)}**" in text and "/clusters?" in text
    at = ok(app("neuron", neuron="hidden:1"))
    assert "saturation" not in markdowns(at) and "**Cluster" in markdowns(at)
