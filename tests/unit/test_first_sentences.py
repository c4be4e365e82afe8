"""What the views draw from while the whole sample is recorded: the sample's first sentences,
recorded in memory, are exactly the start of the whole recording (same positions, same
romanization, the same activations), and the lab says when the whole one is ready."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from translit_core.analysis import Analysis, histogram


def test_the_first_sentences_are_the_start_of_the_whole_recording(tiny_checkpoint):
    a = Analysis.load(tiny_checkpoint)
    whole = a.recording()
    first = a.first_sentences(4)
    n = first.n_positions
    assert 0 < n < whole.n_positions
    assert first.spec["n_sentences"] == 4
    assert torch.equal(first.x, whole.x[:n]) and torch.equal(first.y, whole.y[:n])
    np.testing.assert_allclose(np.asarray(first.h), np.asarray(whole.h[:n]), atol=1e-5)
    np.testing.assert_allclose(np.asarray(first.c), np.asarray(whole.c[:n]), atol=1e-5)
    # A histogram drawn from them counts only their positions of the pair.
    from translit_core.model.names import UnknownName

    def drawn(pair):
        try:
            return histogram(first, pair, "hidden:0")
        except UnknownName:            # none of its positions, or only x -> y ones, in the first sentences
            return None
    pair, part = next((p, h) for p in a.pairs() if (h := drawn(p)) is not None)
    full = histogram(whole, pair, "hidden:0")
    assert part.n_pos + part.n_neg < full.n_pos + full.n_neg
    assert full.n_pos == pair.n_pos and full.n_neg == pair.n_neg


def test_the_lab_knows_whether_the_whole_sample_is_in_the_cache(tiny_checkpoint, tmp_path, monkeypatch):
    from dashboard.views import lab as lab_module
    from dashboard.views.lab import load_lab
    from dashboard.views.histograms import histogram_for
    assert Analysis.load(tiny_checkpoint).recording_cached             # analyze cached it
    monkeypatch.setenv("TRANSLIT_CACHE", str(tmp_path / "empty"))
    lab = load_lab(tiny_checkpoint)
    assert not lab.analysis.recording_cached and not lab.whole_sample_ready
    monkeypatch.setattr(lab_module, "FIRST_SENTENCES", 12)             # the tiny sample has fewer than 300
    assert lab.first_sentences().spec["n_sentences"] == 12
    pair = max(lab.analysis.pairs(), key=lambda p: min(p.n_pos, p.n_neg))
    quick = histogram_for(lab, pair, "hidden:0", whole=False)
    assert quick.first_sentences is not None and quick.n_pos + quick.n_neg < pair.n_pos + pair.n_neg
    assert not lab.recording_ready                   # drawing from the first sentences records nothing more
    progress = []
    lab.analysis.recording(progress=progress.append)
    assert progress and progress[-1] == pytest.approx(1.0) and progress == sorted(progress)
    assert lab.analysis.recording_cached and lab.whole_sample_ready


def test_the_server_records_the_first_sentences_before_a_page_asks(tiny_checkpoint, tmp_path, monkeypatch):
    """prepare_first_views (the lab's server, as it starts) leaves them for the first page's lab,
    and a lab lets them go once the whole sample is used."""
    from dashboard.views import lab as lab_module
    from dashboard.views.lab import load_lab, prepare_first_views
    monkeypatch.setenv("TRANSLIT_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(lab_module, "FIRST_SENTENCES", 12)
    prepare_first_views(tiny_checkpoint)
    page_lab = load_lab(tiny_checkpoint)
    assert page_lab.first_ready and not page_lab.recording_ready
    assert page_lab.first_sentences().spec["n_sentences"] == 12 and page_lab.first_done.is_set()
    page_lab.sample_recording(whole=True)
    assert not load_lab(tiny_checkpoint).first_ready


def test_the_first_page_takes_the_lab_the_server_prepared(tiny_checkpoint, tmp_path, monkeypatch):
    """The lab prepare_first_views loaded is the first page's (the model, lexicon and analysis are
    not loaded twice), once, and only for the same files."""
    from dashboard.views import lab as lab_module
    from dashboard.views.lab import file_stamp, prepare_first_views, take_prepared
    monkeypatch.setenv("TRANSLIT_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(lab_module, "FIRST_SENTENCES", 12)
    prepare_first_views(tiny_checkpoint)
    assert take_prepared(tiny_checkpoint, ("other files",)) is None
    taken = take_prepared(tiny_checkpoint, file_stamp(tiny_checkpoint))
    assert taken is not None and taken.first_ready and taken.analysis is not None
    assert take_prepared(tiny_checkpoint, file_stamp(tiny_checkpoint)) is None       # once
