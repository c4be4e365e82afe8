"""A model switch that meets another model: the Intervene page keeps the settings the new model has
(and says which it dropped), its steering and a mean that needs an analysis survive the way back;
models that cannot be loaded are not offered; an analysis older than its checkpoint is called out
of date, not missing."""
from __future__ import annotations

import shutil

import pytest

from dashboard_fixtures import random_twin, small_model
from test_app import app, ok, param


def switch(at, name: str):
    return ok(at.sidebar.selectbox(key="_model_switch").set_value(name).run())


def infos(at) -> str:
    return " ".join(i.value for i in at.info)


@pytest.fixture
def small(lab_dir, tmp_path, monkeypatch):
    """A model with 100 units per direction (the lab has more) and no analysis, named "small"."""
    d = small_model(lab_dir, tmp_path / "small")
    monkeypatch.setenv("TRANSLIT_MODELS", f"small={d}")
    return d


def test_a_switch_to_a_smaller_model_drops_what_it_lacks_and_keeps_the_rest(lab_dir, small, default_pair):
    pair = str(default_pair)
    at = ok(app("intervene", text="barev tatik", set="concat.fwd:200=0,hidden:37=mean", steer=pair, k="10",
                alpha="1"))
    assert param(at, "set") == "concat.fwd:200=0,hidden:37=mean"
    at = switch(at, "small")
    assert "concat.fwd:200" in infos(at) and "dropped" in infos(at)           # named, not a traceback
    assert param(at, "set") == "hidden:37=zero" and "hidden:37" in infos(at)   # no analysis here: zero, said so
    assert (param(at, "steer"), param(at, "k"), param(at, "alpha")) == (pair, "10", "1")
    at = switch(at, lab_dir.name)                                              # back: mean again, steering as it was
    assert param(at, "set") == "hidden:37=mean"
    assert (param(at, "steer"), param(at, "k"), param(at, "alpha")) == (pair, "10", "1")
    assert at.slider(key="iv_k").value == 10 and at.slider(key="iv_alpha").value == 1.0
    assert at.selectbox(key="iv_op:hidden:37").value == "mean"


def test_steering_and_settings_survive_switches_between_analysed_models(lab_dir, tmp_path, monkeypatch, default_pair):
    twin = tmp_path / "twin"
    shutil.copytree(lab_dir, twin, ignore=shutil.ignore_patterns("cache"))
    monkeypatch.setenv("TRANSLIT_MODELS", f"twin={twin}")
    pair = str(default_pair)
    at = ok(app("intervene", text="barev tatik", set="concat.fwd:159=0,hidden:37=mean", steer=pair, k="10",
                alpha="1"))
    for name in ("twin", lab_dir.name, "twin", lab_dir.name):
        at = switch(at, name)
        assert param(at, "set") == "concat.fwd:159=0,hidden:37=mean"
        assert (param(at, "steer"), param(at, "k"), param(at, "alpha")) == (pair, "10", "1")


@pytest.fixture
def broken_models(lab_dir, tmp_path, monkeypatch):
    """Beside a good second model: a folder that does not exist, and one whose weights do not fit
    its config (a small model's weights under the lab's model.json)."""
    twin = random_twin(lab_dir, tmp_path / "twin")
    small = small_model(lab_dir, tmp_path / "small")
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy2(lab_dir / "model.json", bad / "model.json")
    shutil.copy2(small / "model.safetensors", bad / "model.safetensors")
    monkeypatch.setenv("TRANSLIT_MODELS", f"twin={twin},gone={tmp_path / 'gone'},bad={bad}")
    return twin


@pytest.mark.parametrize("page", ["transliterate", "intervene", "compare", "dynamics"])
def test_models_that_cannot_load_are_not_offered(lab_dir, broken_models, page):
    at = ok(app(page))
    assert at.sidebar.selectbox(key="_model_switch").options == [lab_dir.name, "twin"]
    assert not at.error, [e.value for e in at.error]
    said = " ".join(c.value for c in at.sidebar.caption)
    assert "gone" in said and "bad" in said and "cannot load" in said
    if page == "compare":
        assert at.selectbox(key="cmp_a").options == [lab_dir.name, "twin"]


def test_a_link_to_a_model_that_cannot_load_gets_a_note(lab_dir, broken_models):
    at = ok(app("transliterate", text="barev", model="bad"))
    assert at.sidebar.selectbox(key="_model_switch").value == lab_dir.name and not at.error
    assert "bad" in infos(at) and "cannot be loaded" in infos(at)
    assert param(at, "model") is None


def test_an_analysis_older_than_its_checkpoint_is_out_of_date_not_missing(lab_dir, tmp_path, monkeypatch):
    stale = tmp_path / "retrained"
    shutil.copytree(lab_dir, stale, ignore=shutil.ignore_patterns("cache"))
    random_twin(lab_dir, stale)                 # new weights under the old analysis
    monkeypatch.setenv("TRANSLIT_MODELS", f"retrained={stale}")
    at = ok(app("histograms", model="retrained"))
    said = " ".join(w.value for w in at.warning)
    assert "out of date" in said and "not been built" not in said, said
    assert any("analyze" in c.value for c in at.code)
