"""The test lab of the dashboard tests (tests/app, tests/browser): the shipped weights with a
small analysis built for the tests by the real engine (a few hundred held-out sentences, a lower
count threshold), so that the tests are quick, need no analysis file in the repository and assert
only structure and consistency with the analysis API, never facts about particular weights.

The pytest fixtures over it are in tests/app/conftest.py (`lab_dir`, `lab`, `default_pair`) and
tests/browser/conftest.py (`lab_path`, the server and the browser): a test takes them as
parameters and imports nothing for them.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from translit_core import settings
from translit_core.analysis import run_analysis
from translit_core.analysis.measurement.names import FORMAT_VERSION
from translit_core.analysis.measurement.sample import HELDOUT_GLOBS, file_sha256
from translit_core.infer.lexicon import LEXICON
from translit_core.model.checkpoint import META, WEIGHTS

REPO = Path(__file__).resolve().parent.parent
LAB_SENTENCES, LAB_MIN_COUNT = 150, 20
# Parts of analysis.json the tests need; a lab built by older code (without them) is rebuilt.
LAB_META_KEYS = ("saturation", "clusters")


def source_checkpoint() -> Path:
    """The checkpoint whose weights the lab uses: $TRANSLIT_CHECKPOINT, else the shipped one."""
    src = settings.checkpoint_dir()
    if not (src / WEIGHTS).is_file():
        pytest.fail(f"no trained model at {src} ({WEIGHTS}): the dashboard tests need the shipped "
                    f"checkpoint; set TRANSLIT_CHECKPOINT to another checkpoint directory to use that")
    return src


def _copy_lexicon(src: Path, lab: Path) -> None:
    if (src / LEXICON).is_file():
        shutil.copy2(src / LEXICON, lab / LEXICON)


def _has_meta(path: Path, keys) -> bool:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and all(k in meta for k in keys)


def build_test_lab() -> Path:
    """A checkpoint directory with the shipped weights and a small analysis next to them, and
    the engine's recording cache inside it. Built once per weights file and analysis format
    (kept under artifacts/, which git ignores), so later runs and the browser tests reuse it."""
    src = source_checkpoint()
    sha = file_sha256(src / WEIGHTS)[:16]
    lab = REPO / "artifacts" / "test-lab" / f"{sha}-v{FORMAT_VERSION}-{LAB_SENTENCES}-{LAB_MIN_COUNT}"
    done = lab / "ready"
    if done.is_file() and _has_meta(lab / "analysis.json", LAB_META_KEYS):
        _copy_lexicon(src, lab)
        return lab
    shutil.rmtree(lab.parent, ignore_errors=True)          # labs of older weights
    lab.mkdir(parents=True)
    for name in (META, WEIGHTS):
        shutil.copy2(src / name, lab / name)
    _copy_lexicon(src, lab)
    data = settings.data_dir()
    if not any(next(data.glob(g), None) for g in HELDOUT_GLOBS):
        data = REPO / "tests" / "fixtures" / "corpus" / "data"
    old = os.environ.get("TRANSLIT_CACHE")
    os.environ["TRANSLIT_CACHE"] = str(lab / "cache")
    try:
        run_analysis(lab, n_sentences=LAB_SENTENCES, min_count=LAB_MIN_COUNT, data_dir=data,
                     ablation_draws=2, log=lambda *a: None)
    finally:
        if old is None:
            os.environ.pop("TRANSLIT_CACHE", None)
        else:
            os.environ["TRANSLIT_CACHE"] = old
    done.write_text("ok")
    return lab


def random_twin(lab: Path, directory: Path) -> Path:
    """A second model for the model-switch tests: the lab's architecture and alphabets with fresh,
    seeded random weights (untrained, so it writes something else), saved as a checkpoint."""
    import torch
    from translit_core.model.checkpoint import load_checkpoint, save_checkpoint
    from translit_core.model.net import TranslitNet
    model, alphabets, _ = load_checkpoint(lab)
    torch.manual_seed(5)
    save_checkpoint(directory, TranslitNet(model.config), alphabets, {"note": "random weights (model-switch tests)"})
    return directory


def small_model(lab: Path, directory: Path, lstm: int = 100, hidden: int = 64) -> Path:
    """A smaller model for the model-switch tests: the lab's alphabets, `lstm` units per
    direction and `hidden` dense units, seeded random weights, no analysis."""
    import dataclasses

    import torch
    from translit_core.model.checkpoint import load_checkpoint, save_checkpoint
    from translit_core.model.net import TranslitNet
    model, alphabets, _ = load_checkpoint(lab)
    torch.manual_seed(6)
    config = dataclasses.replace(model.config, lstm=lstm, hidden=hidden)
    save_checkpoint(directory, TranslitNet(config), alphabets, {"note": "a small model (model-switch tests)"})
    return directory


def lab_env(lab: Path) -> dict[str, str]:
    """The environment that points the app at the test lab."""
    return {"TRANSLIT_CHECKPOINT": str(lab), "TRANSLIT_CACHE": str(lab / "cache")}
