"""The fixtures of the app tests (Streamlit's AppTest): the test lab of dashboard_fixtures.py,
with the app's environment pointing at it, and what the pages open with."""
from __future__ import annotations

import os

import pytest

from dashboard_fixtures import build_test_lab, lab_env


@pytest.fixture(scope="module")
def lab_dir():
    """The test lab's directory, with the app's environment pointing at it for the module."""
    import torch
    directory = build_test_lab()
    env = lab_env(directory)
    saved = {k: os.environ.get(k) for k in env}
    threads = torch.get_num_threads()          # the app sets 1 for its process; give it back
    os.environ.update(env)
    yield directory
    torch.set_num_threads(threads)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def lab(lab_dir):
    """The test lab loaded as the app loads it (dashboard.views.lab.Lab), its analysis included."""
    from dashboard.views.lab import load_lab
    return load_lab(lab_dir)


@pytest.fixture(scope="module")
def default_pair(lab):
    """The pair the analysis pages open with (a `Pair`)."""
    from dashboard.views.urls import parse_pair
    return parse_pair(None, lab.analysis.pairs()).value
