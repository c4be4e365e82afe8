"""Model choice everywhere: the sidebar's switch and the URL's `model=` pick the model every page
shows; links carry it; a bad name gets a note. The second model is the test lab's architecture with
fresh random weights ("twin"), so its outputs differ visibly."""
from __future__ import annotations

import shutil

import pytest

from dashboard_fixtures import random_twin
from test_app import app, ok, param
from translit_core import settings


@pytest.fixture
def twin(lab_dir, tmp_path, monkeypatch):
    d = random_twin(lab_dir, tmp_path / "twin")
    monkeypatch.setenv("TRANSLIT_MODELS", f"twin={d}")
    return d


def output(at) -> str:
    return at.code[0].value


def test_model_dirs_lists_the_default_first_then_the_extra_ones(lab_dir, twin):
    models = settings.model_dirs()
    assert list(models) == [lab_dir.name, "twin"] and models["twin"] == twin.resolve()


def test_the_switch_changes_the_model_and_the_url(lab_dir, twin):
    at = ok(app("transliterate", text="barev dzez"))
    switch = at.sidebar.selectbox(key="_model_switch")
    assert switch.options == [lab_dir.name, "twin"] and switch.value == lab_dir.name
    assert param(at, "model") is None                        # the default is not written
    base = output(at)
    ok(switch.set_value("twin").run())
    assert param(at, "model") == "twin" and output(at) != base
    ok(at.sidebar.selectbox(key="_model_switch").set_value(lab_dir.name).run())
    assert output(at) == base and param(at, "model") is None


def test_a_link_opens_its_model_and_a_bad_name_gets_a_note(lab_dir, twin):
    base = output(ok(app("transliterate", text="barev dzez")))
    at = ok(app("transliterate", text="barev dzez", model="twin"))
    assert at.sidebar.selectbox(key="_model_switch").value == "twin" and output(at) != base
    at = ok(app("transliterate", text="barev dzez", model="<b>nope</b>"))
    assert at.sidebar.selectbox(key="_model_switch").value == lab_dir.name and output(at) == base
    assert any("model" in i.value and "nope" in i.value for i in at.info)


def test_links_carry_the_model(lab_dir, twin):
    at = ok(app("transliterate", text="barev dzez", model="twin"))
    links = [b.proto.url for b in at.get("link_button")]
    assert links and all("model=twin" in u for u in links), links


@pytest.fixture
def analysed_twin(lab_dir, tmp_path, monkeypatch):
    """A second model with its analysis: a copy of the test lab (the same weights, so the same
    recording in the cache), named "twin"."""
    d = tmp_path / "twin"
    shutil.copytree(lab_dir, d, ignore=shutil.ignore_patterns("cache"))
    monkeypatch.setenv("TRANSLIT_MODELS", f"twin={d}")
    return d


def test_the_compare_page_shows_both_models_and_the_engines_numbers(lab_dir, analysed_twin):
    from dashboard.views.compare import layer_rows
    from translit_core.analysis import Analysis
    from translit_core.analysis.comparison.models import compare
    at = ok(app("compare"))
    assert at.selectbox(key="cmp_a").value == lab_dir.name and at.selectbox(key="cmp_b").value == "twin"
    expected = layer_rows(compare(Analysis.load(lab_dir), Analysis.load(analysed_twin), (lab_dir.name, "twin")))
    shown = at.dataframe[0].value.to_dict("records")
    assert shown == expected
    assert any("monosemantic" in i.value for i in at.info)            # the verdict
    # lazy tabs: the charts, the ablation and the tracks are not run until their tab is opened
    assert [e for e in at.get("plotly_chart")] == [] and "cmp_break_go" not in [b.key for b in at.button]
    at.session_state["view"] = "Charts"
    ok(at.run())
    assert len(at.get("plotly_chart")) == 2 and not at.dataframe
    # units to break, on demand, for both models (the same weights: the same curve)
    at.session_state["view"] = "Units to break"
    ok(at.run())
    pair = at.selectbox(key="cmp_break_pair").options[1]                 # not the default
    at.selectbox(key="cmp_break_pair").set_value(pair)
    at.selectbox(key="cmp_break_layer").set_value("hidden")
    ok(at.button(key="cmp_break_go").click().run())
    shown = at.dataframe[-1].value.to_dict("records")
    at.session_state["view"] = "Summary"                                 # away and back: the choice and its curves stay
    ok(at.run())
    at.session_state["view"] = "Units to break"
    ok(at.run())
    assert at.selectbox(key="cmp_break_pair").value == pair and at.selectbox(key="cmp_break_layer").value == "hidden"
    rows = at.dataframe[-1].value.to_dict("records")
    assert rows == shown
    by_model = {m: [r["accuracy on y"] for r in rows if r["model"] == m] for m in (lab_dir.name, "twin")}
    assert by_model[lab_dir.name] and by_model[lab_dir.name] == by_model["twin"]
    # the best tracks of a layer, on demand: the engine's profile, for both
    from dashboard.views.compare import track_rows
    from translit_core.analysis.comparison.models import track_profile
    at.session_state["view"] = "What units read"
    ok(at.run())
    at.selectbox(key="cmp_track_layer").set_value("hidden")
    ok(at.button(key="cmp_track_go").click().run())
    profile = track_profile(Analysis.load(lab_dir).recording(), "hidden")
    assert at.dataframe[-1].value.to_dict("records") == track_rows({lab_dir.name: profile, "twin": profile})


def test_compare_with_one_model_and_bad_links(lab_dir):
    at = ok(app("compare", a="nope"))
    assert any("Only one model" in i.value for i in at.info)
    assert any("nope" in i.value for i in at.info)                    # the bad link's note


def test_a_compare_link_opens_its_tab_and_a_bad_one_the_summary(lab_dir, analysed_twin):
    at = ok(app("compare", view="Charts"))
    assert len(at.get("plotly_chart")) == 2 and not at.dataframe
    at = ok(app("compare", view="<b>nope</b>"))
    assert not at.get("plotly_chart") and len(at.dataframe) >= 2         # ignored: the summary, and a note
    assert any("view" in i.value and "nope" in i.value for i in at.info)
