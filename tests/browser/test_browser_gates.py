"""Gate saturation and Neuron clusters in Chromium: a real click on a point of the saturation
scatter opens that unit's card, and /clusters opens by its own path with its controls. Screenshots
go to artifacts/screenshots/ beside test_browser.py's."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from browser_harness import SHOTS, expect, path_of, screenshot, settle

pytestmark = pytest.mark.timeout(240)

# The scatter trace and point of the unit with the highest right-saturated fraction (an outlier, so
# no other point lies on it), and its name.
HIGHEST = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  let best = null;
  gd.data.forEach((t, i) => {
    if (t.mode !== 'markers' || !t.name) return;
    t.y.forEach((y, j) => { if (!best || y > best[2]) best = [i, j, y, t.customdata[j]]; });
  });
  return best;
}"""


def test_click_a_gate_unit_opens_its_card(server, page):
    page.goto(f"{server}/gates")
    settle(page)
    expect(page.locator("h1"), "Gate saturation")
    plot = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    plot.wait_for(timeout=60_000)
    trace, point, _, neuron = page.evaluate(HIGHEST)
    screenshot(page, SHOTS / "gates.png")
    dot = plot.locator(".scatterlayer .trace").nth(trace).locator("path.point").nth(point)
    box = dot.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("h3").first, f"Neuron card · {neuron}", timeout=120_000)
    assert f"neuron={quote(neuron)}" in page.url or f"neuron={neuron}" in page.url
    expect(page.locator('[data-testid="stMain"]'), "Its saturation")
    settle(page)
    screenshot(page, SHOTS / "gates-unit-selected.png")


def test_clusters_opens_by_its_path_and_its_controls_work(server, page):
    page.goto(f"{server}/clusters?layer=hidden")
    settle(page)
    expect(page.locator("h1"), "Neuron clusters")
    assert path_of(page.url) == "/clusters" and "layer=hidden" in page.url
    expect(page.locator('[data-testid="stMain"]'), "One group, or independent units?")
    charts = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    assert charts.count() == 2
    screenshot(page, SHOTS / "clusters.png")
    unit = page.get_by_label("Unit of hidden")
    unit.fill("7")
    unit.press("Enter")
    expect(page.locator('[data-testid="stMain"]'), "hidden:7` is in cluster".replace("`", ""), timeout=60_000)
    settle(page)
    assert "neuron=hidden%3A7" in page.url or "neuron=hidden:7" in page.url
    screenshot(page, SHOTS / "clusters-unit.png")
