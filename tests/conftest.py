"""Shared fixtures and the test tiers.

Tiers (folders and markers): unit tests (`tests/unit`, marker `unit`: the engine on tiny seeded
models, seconds), app tests (`tests/app`, marker `app`: the dashboard with Streamlit's AppTest)
and browser tests (`tests/browser`, marker `browser`: a real server and Chromium). Run the fast
tier alone with `pytest tests/unit` (or `-m unit`); `scripts/test.sh` runs everything.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from tiny import SENTENCES, tiny_net


def pytest_collection_modifyitems(config, items):
    """Mark every test with its tier, from its folder."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in ("unit", "app", "browser"):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def rules():
    from translit_core.text.rules import load_rules
    return load_rules()


@pytest.fixture(scope="session")
def tiny_alphabets(rules):
    """The real output alphabet and an input alphabet from a few romanized sentences."""
    from translit_core.model.alphabets import Alphabets, input_alphabet, output_alphabet
    from translit_core.text.romanize import romanize
    rng = random.Random(0)
    latin = [romanize(s, rules, rng).latin for s in SENTENCES]
    return Alphabets(input_alphabet(latin), output_alphabet(rules))


@pytest.fixture(scope="session")
def tiny(rules, tiny_alphabets):
    """A tiny seeded TranslitNet with the real alphabets, and a recording of the sentences
    (three romanizations of each): (model, alphabets, recording)."""
    from translit_core.analysis import record_activations
    a = tiny_alphabets
    model = tiny_net(0, n_in=len(a.inputs), n_out=len(a.outputs), lstm=6, hidden=5, scale=2.0)
    rec = record_activations(model, a, SENTENCES * 3, rules, seed=1, max_len=24)
    return model, a, rec
