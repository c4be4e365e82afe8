"""Fixtures shared by the unit tests."""
from __future__ import annotations

import pytest
# The app imports streamlit before the lab's figures: streamlit makes its own plotly template the
# default when it loads, and dashboard/views/figures.py then puts the lab's back. Load it first here
# too, so that the order in which pytest collects the test modules cannot decide the template.
import streamlit.elements.plotly_chart  # noqa: F401

from translit_core.model.checkpoint import save_checkpoint

from tiny import SENTENCES


@pytest.fixture(scope="module")
def tiny_checkpoint(tiny, tmp_path_factory):
    """The tiny model saved as a checkpoint, with an analysis built by the CLI on a text file."""
    from translit_core.cli import main
    model, alphabets, _ = tiny
    root = tmp_path_factory.mktemp("tiny")
    ck = root / "ck"
    save_checkpoint(ck, model, alphabets, {"train_config": {"max_len": 24}})
    text = root / "sample.txt"
    text.write_text("\n".join(SENTENCES * 3), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANSLIT_CACHE", str(root / "cache"))
    assert main(["analyze", "--checkpoint", str(ck), "--text", str(text), "--min-count", "4",
                 "--bins", "50", "--ablation-k", "2", "--draws", "3"]) == 0
    yield ck
    mp.undo()
