"""The models the dashboard offers (settings.model_dirs): the default first, then $TRANSLIT_MODELS,
or every checkpoint under checkpoints/ when neither variable is set."""
from __future__ import annotations

from translit_core import settings


def test_translit_models_names_extra_models_and_skips_malformed_entries(monkeypatch, tmp_path):
    monkeypatch.setenv("TRANSLIT_CHECKPOINT", str(tmp_path / "base"))
    monkeypatch.setenv("TRANSLIT_MODELS", f" twin = {tmp_path / 'twin'} ,broken, =nameless, base={tmp_path / 'x'}")
    models = settings.model_dirs()
    assert list(models) == ["base", "twin"]                        # the default keeps its own directory
    assert models["base"] == (tmp_path / "base").resolve() and models["twin"] == (tmp_path / "twin").resolve()


def test_without_variables_every_checkpoint_under_checkpoints_is_offered(monkeypatch, tmp_path):
    monkeypatch.delenv("TRANSLIT_CHECKPOINT", raising=False)
    monkeypatch.delenv("TRANSLIT_MODELS", raising=False)
    root = tmp_path / "checkpoints"
    for name, files in (("hy", ("model.json", "model.safetensors")), ("hy-twin", ("model.json", "model.safetensors")),
                        ("half", ("model.json",)), ("notes", ())):
        (root / name).mkdir(parents=True)
        for f in files:
            (root / name / f).write_text("{}")
    monkeypatch.setattr(settings, "DEFAULT_CHECKPOINT", root / "hy")
    assert list(settings.model_dirs()) == ["hy", "hy-twin"]        # a half-written directory is not a model
