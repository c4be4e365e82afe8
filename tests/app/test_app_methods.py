"""The Ranking methods page: stored comparisons shown at once, others computed on demand, and the
numbers on the page are the engine's."""
from __future__ import annotations

from test_app import app, charts, figure, ok, param


def method_traces(at) -> dict[str, list[float]]:
    fig = figure(charts(at)[0])
    return {t["name"]: t["y"] for t in fig["data"] if t.get("mode") == "lines+markers"}


def test_stored_comparison_is_drawn_from_the_analysis(lab_dir, lab):
    stored = lab.analysis.method_comparisons()
    assert stored, "the test lab's analysis stores comparisons for the post's pairs it has"
    cmp = stored[0]
    at = ok(app("methods", pair=cmp.pair, layer=cmp.layer))
    assert param(at, "pair") == cmp.pair and param(at, "layer") == cmp.layer
    drawn = method_traces(at)
    assert set(drawn) == {c.method for c in cmp.curves if c.method != "random"}
    for c in cmp.curves:
        if c.method != "random":
            assert drawn[c.method] == [p.delta_logp for p in c.curve]
    table = at.dataframe[0].value
    first = list(table["method"])[0].removesuffix(" (upper reference)")            # greedy is named so
    assert first == min((cmp.area(m), m) for m in drawn)[1]                       # best first


def test_another_layer_is_computed_on_demand(lab_dir, lab, default_pair):
    assert lab.analysis.method_comparison(default_pair, "hidden") is None     # analyze stores the LSTM layers only
    at = ok(app("methods", pair=default_pair, layer="hidden"))
    drawn = method_traces(at)
    assert {"hellinger", "excess", "probe", "gradient", "greedy", "probeless"} == set(drawn)
    at.segmented_control(key="methods_metric").set_value("accuracy on the target").run()
    assert "accuracy" in figure(charts(ok(at))[0])["layout"]["yaxis"]["title"]["text"]


def test_bad_layer_in_the_url_is_a_note(lab_dir):
    at = ok(app("methods", layer="gate.fwd.i"))
    assert any("is not one of" in w.value for w in list(at.warning) + list(at.info) + list(at.markdown))
