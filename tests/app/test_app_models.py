"""Model choice everywhere (issue 15, item 2): the sidebar's switch and the URL's `model=` pick
the model every page shows; links carry it; a bad name gets a note. The second model is the
test lab's architecture with fresh random weights ("twin"), so its outputs differ visibly."""
from __future__ import annotations

import os
import shutil

import pytest
import torch

from dashboard_fixtures import lab_dir  # noqa: F401  (fixture)
from test_app import app, ok, param
from translit_core import settings
from translit_core.model.checkpoint import load_checkpoint, save_checkpoint
from translit_core.model.net import TranslitNet


@pytest.fixture(scope="module")
def twin(lab_dir, tmp_path_factory):
    model, alphabets, meta = load_checkpoint(lab_dir)
    torch.manual_seed(5)
    other = TranslitNet(model.config)           # untrained: it writes something else
    d = tmp_path_factory.mktemp("models") / "twin"
    save_checkpoint(d, other, alphabets, {"note": "random weights for the model-switch tests"})
    old = os.environ.get("TRANSLIT_MODELS")
    os.environ["TRANSLIT_MODELS"] = f"twin={d}"
    yield d
    if old is None:
        os.environ.pop("TRANSLIT_MODELS", None)
    else:
        os.environ["TRANSLIT_MODELS"] = old
    shutil.rmtree(d, ignore_errors=True)


def output(at) -> str:
    return at.code[0].value


def test_model_dirs_lists_the_default_first_then_the_extra_ones(lab_dir, twin):
    models = settings.model_dirs()
    assert list(models) == [lab_dir.name, "twin"] and models["twin"] == twin.resolve()


def test_the_switch_changes_the_model_and_the_url(lab_dir, twin):
    at = ok(app("transliterate", text="barev dzez"))
    switch = at.sidebar.selectbox(key="model")
    assert switch.options == [lab_dir.name, "twin"] and switch.value == lab_dir.name
    assert param(at, "model") is None                        # the default is not written
    base = output(at)
    ok(switch.set_value("twin").run())
    assert param(at, "model") == "twin" and output(at) != base
    ok(at.sidebar.selectbox(key="model").set_value(lab_dir.name).run())
    assert output(at) == base and param(at, "model") is None


def test_a_link_opens_its_model_and_a_bad_name_gets_a_note(lab_dir, twin):
    base = output(ok(app("transliterate", text="barev dzez")))
    at = ok(app("transliterate", text="barev dzez", model="twin"))
    assert at.sidebar.selectbox(key="model").value == "twin" and output(at) != base
    at = ok(app("transliterate", text="barev dzez", model="<b>nope</b>"))
    assert at.sidebar.selectbox(key="model").value == lab_dir.name and output(at) == base
    assert any("model" in i.value and "nope" in i.value for i in at.info)


def test_links_carry_the_model(lab_dir, twin):
    at = ok(app("transliterate", text="barev dzez", model="twin"))
    links = [b.proto.url for b in at.get("link_button")]
    assert links and all("model=twin" in u for u in links), links
