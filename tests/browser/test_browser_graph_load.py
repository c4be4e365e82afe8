"""The graph page after rapid pair switching, in two browser tabs at once: each page ends
consistent (its pickers, its graph and its URL name the same pair, the one the user chose last)
and stays so. Not timed: benchmarks/bench_graph_load.py measures how fast.

Fixtures are conftest.py's.
"""
from __future__ import annotations

import random
import time

import pytest

from browser_harness import SHOTS, screenshot, settle
from dashboard.views.labels import input_choice_label
from lab_server import GRAPH_STATE, graph_page_consistent, graph_page_pairs
from dashboard.views.urls import pairs_by_input

pytestmark = pytest.mark.timeout(600)


def choose_input(pg, label: str) -> bool:
    """Type `label` into the input picker and click its option, as a user does, without waiting
    for the server; False if the option did not show (a rerun redrew the picker)."""
    box = pg.locator('input[aria-label="Input character"]')
    box.focus()
    pg.keyboard.press("Control+A")
    pg.keyboard.type(label)
    try:
        pg.get_by_role("option", name=label, exact=True).first.click(timeout=5_000)
        return True
    except Exception:           # playwright's TimeoutError
        pg.keyboard.press("Escape")
        pg.evaluate("() => document.activeElement && document.activeElement.blur()")
        return False


def choose_output(pg, rng: random.Random) -> None:
    """Open the output picker and click another of its options, if it has another."""
    out = pg.locator('input[aria-label="Output"]:visible').first
    current = out.input_value()
    out.click()
    others = [o.strip() for o in pg.get_by_role("option").all_inner_texts() if o.strip() != current]
    if others:
        pg.get_by_role("option", name=rng.choice(others), exact=True).first.click(timeout=5_000)
    else:
        pg.keyboard.press("Escape")


def wait_consistent(pg, pairs, timeout: float = 90) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = pg.evaluate(GRAPH_STATE)
        if graph_page_consistent(state, pairs):
            return state
        pg.wait_for_timeout(200)
    raise AssertionError(f"not consistent after {timeout:.0f} s: pickers, graph, URL = "
                         f"{graph_page_pairs(state, pairs)}; state {state}")


def test_rapid_switching_in_two_tabs_ends_consistent(server, browser, lab_path):
    from translit_core.analysis import Analysis
    pairs = Analysis.load(lab_path).pairs()
    inputs = sorted({input_choice_label(x) for x in pairs_by_input(pairs)})
    rng = random.Random(16)
    ctxs = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    pages = [c.new_page() for c in ctxs]
    errors: list[str] = []
    try:
        for pg in pages:
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(f"{server}/graph")
            settle(pg)
        last: dict[int, str] = {}
        for round_ in range(10):                       # one tab, then the other, never waiting
            for i, pg in enumerate(pages):
                if round_ % 3 == 2:
                    choose_output(pg, rng)
                else:
                    label = rng.choice([x for x in inputs if x != pg.locator('input[aria-label="Input character"]')
                                        .input_value()])
                    if choose_input(pg, label):
                        last[i] = label
        for i, pg in enumerate(pages):
            state = wait_consistent(pg, pairs)
            assert state["x"] == last[i]                # the user's last choice, not a stale run's
            pg.wait_for_timeout(1500)                  # and nothing late changes it again
            assert graph_page_consistent(pg.evaluate(GRAPH_STATE), pairs)
            assert pg.locator('[data-testid="stException"]').count() == 0
            screenshot(pg, SHOTS / f"graph-after-switching-{i}.png")
        assert not errors, errors
    finally:
        for c in ctxs:
            c.close()
