"""The Training dynamics page on a tiny run with two snapshots: the table is the engine's, the run and
sample size live in the URL, and no run gives a note."""
from __future__ import annotations

import pytest
from tiny import TESTS

from test_app import app, ok, param
from translit_core import settings
from translit_core.training.train import TrainConfig, train


@pytest.fixture(scope="module")
def tiny_run(lab_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train(TrainConfig(corpus=str(TESTS / "fixtures" / "tiny_corpus"), out=str(out), epochs=2, snapshots="1,2",
                      lstm=8, hidden=6, batch_size=4, warmup=2, valid_lines=3, precision="fp32"))
    return out


def test_the_page_shows_every_snapshot_as_the_engine_computes_it(tiny_run, monkeypatch):
    from dashboard.views.dynamics import point_rows
    from translit_core.analysis.comparison.dynamics import snapshot_dynamics
    from translit_core.analysis.measurement.sample import sample_sentences
    monkeypatch.setenv("TRANSLIT_RUNS", f"tiny={tiny_run}")
    at = ok(app("dynamics", n="50"))
    expected = point_rows(snapshot_dynamics(tiny_run, sample_sentences(settings.data_dir(), 50, 0)))
    assert at.dataframe[0].value.to_dict("records") == expected and len(expected) == 2
    assert param(at, "run") == "tiny" and param(at, "n") == "50"
    assert any("#70 role" in m.value for m in at.markdown)


def test_without_runs_the_page_says_how_to_make_them(lab_dir, monkeypatch):
    monkeypatch.setenv("TRANSLIT_RUNS", "")
    monkeypatch.setattr(settings, "REPO", TESTS / "no-such-repo")
    at = ok(app("dynamics", run="<i>x</i>"))
    assert any("No training run with snapshots" in i.value for i in at.info)


def test_a_run_with_only_its_stored_points_is_shown_from_them(tiny_run, tmp_path, monkeypatch):
    """What the repository ships: a run's dynamics.json without its snapshots."""
    from dashboard.views.dynamics import point_rows
    from translit_core.analysis.comparison.dynamics import load_dynamics, save_dynamics, snapshot_dynamics
    from translit_core.analysis.measurement.sample import sample_sentences
    points = snapshot_dynamics(tiny_run, sample_sentences(settings.data_dir(), 50, 0))
    bare = tmp_path / "bare"
    save_dynamics(bare, points, 50, 0)
    assert load_dynamics(bare).points == points
    monkeypatch.setenv("TRANSLIT_RUNS", f"shipped={bare}")
    at = ok(app("dynamics", n="900"))                   # the URL's n cannot apply: the stored one is shown
    assert at.dataframe[0].value.to_dict("records") == point_rows(points)
    assert param(at, "n") == "50" and any("Measured on 50 held-out sentences" in c.value for c in at.caption)
    (bare / "dynamics.json").write_text('{"points": [{"epoch": "x"}]}', encoding="utf-8")
    at = ok(app("dynamics"))
    assert any("unreadable stored dynamics" in w.value for w in at.warning)
