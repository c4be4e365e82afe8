"""The hypothesis panel and the annotation tracks in Chromium, with the real controls: letters
typed into the span finder, the threshold slider moved with the keyboard, the units added as
heatmap rows with a click, the tracks toggled; and the neuron card's track line. Screenshots
go to artifacts/screenshots/ beside test_browser.py's.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from browser_harness import SHOTS, expect, screenshot, settle
from dashboard.views import hypothesis as hy

pytestmark = pytest.mark.timeout(300)
TEXT = "Azatutyun, ankakhutyun u hamagortsaktsutyun: shat lav e"

HEAT = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .filter(gd => (gd.data || []).some(t => t.type === 'heatmap')).pop();
  if (!gd) return null;
  const tr = gd.data.find(t => t.name === 'tracks');
  return {ticks: gd.layout.yaxis.ticktext, tracks: tr ? tr.y.length : 0};
}"""


def engine(lab_path, text, span, threshold=0.3):
    from translit_core.analysis.methods.hypothesis import hypothesis
    from translit_core.analysis.store import Analysis
    rec = Analysis.load(lab_path).recording()
    return hypothesis(rec.model, rec.alphabets, rec, text, span, "concat.fwd", threshold, 1, 1)


def main_text(pg) -> str:
    return pg.locator('[data-testid="stMain"]').inner_text()


def test_hypothesis_panel_with_real_controls(server, page, lab_path):
    page.goto(f"{server}/heatmaps?text={quote(TEXT)}")
    settle(page)
    expect(page.locator("h1"), "Cell heatmaps")
    expect(page.locator('[data-testid="stMain"]'), "Hypothesis (LSTMVis)")
    # type the span's letters: the span moves there and the URL says so
    box = page.get_by_role("textbox", name="or find letters")
    box.fill("ankakh")
    box.press("Enter")
    a = TEXT.index("ankakh")
    page.wait_for_function(f"() => location.search.includes('span={a}%3A{a + 6}')", timeout=60_000)
    settle(page)
    box.fill("tyun")
    box.press("Enter")
    span = hy.default_span(TEXT)
    page.wait_for_function(f"() => location.search.includes('span={span[0]}%3A{span[1]}')", timeout=60_000)
    settle(page)
    r = engine(lab_path, TEXT, span)
    assert r.units
    body = main_text(page)
    assert f"{r.n_matches:,}" in body and all(f"concat.fwd:{u}" in body for u in r.units)
    assert page.locator(".hy-r").count() == min(hy.MATCHES_SHOWN, len(r.matches))
    # the threshold slider, with the keyboard: 0.3 -> 0.25
    thumb = page.get_by_role("slider", name=re.compile("Threshold"))
    thumb.focus()
    page.keyboard.press("ArrowLeft")
    settle(page)
    r2 = engine(lab_path, TEXT, span, 0.25)
    body = main_text(page)
    assert "above 0.25" in body or "No unit of concat.fwd is above 0.25" in body
    if r2.units:
        assert f"{r2.n_matches:,}" in body
        page.get_by_role("button", name=re.compile(r"^Add the \d+ units? as rows")).click()
        settle(page)
        heat = page.evaluate(HEAT)
        assert all(f"concat.fwd:{u}" in heat["ticks"] for u in r2.units[:8])
    heat = page.evaluate(HEAT)
    assert heat["tracks"] == 5 and {"word", "digraph", "uncertain"} <= set(heat["ticks"])
    screenshot(page, SHOTS / "heatmap-hypothesis-tracks.png")
    page.get_by_text("Annotation tracks under the rows").click()
    settle(page)
    assert page.evaluate(HEAT)["tracks"] == 0


def test_neuron_card_track_line(server, page, lab_path):
    from translit_core.analysis.store import Analysis
    from translit_core.analysis.methods.tracks import best_track
    page.goto(f"{server}/neuron?neuron=concat.fwd%3A70")
    settle(page)
    expect(page.locator('[data-testid="stMain"]'), "Tracks:")
    b = best_track(Analysis.load(lab_path).recording(), "concat.fwd:70")
    assert f"AUC {b.auc:.2f}" in main_text(page)
    screenshot(page, SHOTS / "neuron-card-tracks.png")
