"""The command line's errors: one line on stderr and exit status 2, whatever raised them; with
--debug (or TRANSLIT_DEBUG=1) the full traceback too, so that a bug can be found."""
from __future__ import annotations

import subprocess
import sys

import pytest

from translit_core import settings
from translit_core.cli import main


def a_bug(*args, **kwargs):
    raise ZeroDivisionError("a bug deep inside")


@pytest.fixture
def buggy(monkeypatch):
    """`pairs` hits a bug: an exception no command expects."""
    from translit_core.analysis.store import Analysis
    monkeypatch.delenv("TRANSLIT_DEBUG", raising=False)
    monkeypatch.setattr(Analysis, "load", classmethod(a_bug))


def test_a_bug_is_one_line_without_debug(buggy, capsys):
    assert main(["pairs", "--neuron", "hidden:1"]) == 2
    err = capsys.readouterr().err
    assert err == "error: ZeroDivisionError: a bug deep inside\n"


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_debug_shows_the_traceback(buggy, capsys, monkeypatch, how):
    if how == "flag":
        argv = ["--debug", "pairs", "--neuron", "hidden:1"]
    else:
        monkeypatch.setenv("TRANSLIT_DEBUG", "1")
        argv = ["pairs", "--neuron", "hidden:1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "in a_bug" in err and "cmd_pairs" in err                   # where it happened
    assert err.endswith("error: ZeroDivisionError: a bug deep inside\n")


def test_an_expected_error_keeps_its_message_and_debug_adds_where(tmp_path, capsys):
    assert main(["pairs", "--checkpoint", str(tmp_path), "--neuron", "hidden:1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no analysis next to the checkpoint") and "Traceback" not in err
    assert main(["--debug", "pairs", "--checkpoint", str(tmp_path), "--neuron", "hidden:1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "AnalysisMissing" in err and "error: no analysis next to the checkpoint" in err


@pytest.mark.parametrize("value, on", [("", False), ("0", False), ("1", True), ("yes", True)])
def test_translit_debug_is_read_by_settings(monkeypatch, value, on):
    monkeypatch.setenv("TRANSLIT_DEBUG", value)
    assert settings.debug() is on


def test_python_m_translit_core_takes_debug_before_the_command():
    proc = subprocess.run([sys.executable, "-m", "translit_core", "--debug", "pairs", "--checkpoint", "/nonexistent",
                           "--neuron", "hidden:1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" in proc.stderr and "no analysis next to" in proc.stderr
