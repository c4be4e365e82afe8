"""Take the data away, for real in Chromium: a figure's JSON, its picture from the chart's own
camera in the chosen format, and an HTML view's CSV, each downloaded, named after the view and its
parameters, and read back.

The server, the browser and the page are conftest.py's fixtures (one server for this module).
"""
from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

import pytest

from browser_harness import SHOTS, screenshot, settle

pytestmark = pytest.mark.timeout(240)


def download(pg, click) -> tuple[str, bytes]:
    """(suggested file name, content) of the download that `click()` starts."""
    with pg.expect_download(timeout=60_000) as info:
        click()
    d = info.value
    return d.suggested_filename, open(d.path(), "rb").read()


def camera(pg):
    """The toImage button of the first chart (plotly shows its toolbar on hover)."""
    chart = pg.locator('[data-testid="stPlotlyChart"]').first
    chart.hover()
    return chart.locator('.modebar-btn[data-title^="Download plot"]')


def test_a_figure_downloads_as_json_png_and_svg(server, page):
    page.goto(f"{server}/histograms?pair={quote('t:թ')}&neuron=hidden:0")
    settle(page)
    name, body = download(page, lambda: page.get_by_role("button", name="Figure data (JSON)").first.click())
    assert name == "histogram_pair-t-թ_neuron-hidden-0.json", name
    doc = json.loads(body)
    assert doc["view"] == "histogram" and doc["params"] == {"pair": "t:թ", "neuron": "hidden:0"}
    bins = doc["tables"]["bins"]                                         # the numbers, as a tidy table
    assert set(bins[0]) == {"bin_low", "bin_high", "density_pos", "density_neg"}
    drawn = page.evaluate("""() => document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot')
                                     ._fullData.map(t => t._length)""")
    assert max(drawn) == len(bins)                                       # one row per bin the browser drew
    name, body = download(page, lambda: page.get_by_role("button", name="Bins (CSV)").first.click())
    assert name == "histogram_pair-t-թ_neuron-hidden-0_bins.csv", name
    assert len(list(csv.DictReader(io.StringIO(body.decode("utf-8"))))) == len(bins)
    name, body = download(page, lambda: camera(page).click())
    assert name == "histogram_pair-t-թ_neuron-hidden-0.png" and body[:8] == b"\x89PNG\r\n\x1a\n", name
    screenshot(page, SHOTS / "downloads-histogram.png")

    page.locator('[data-testid="stSidebar"]').get_by_text("SVG", exact=True).click()
    settle(page)
    name, body = download(page, lambda: camera(page).click())
    assert name.endswith(".svg") and b"<svg" in body[:400], (name, body[:80])


def test_an_intervention_downloads_as_csv(server, page):
    page.goto(f"{server}/intervene?text=tun&set=concat.bwd:0=zero,concat.bwd:1=zero")
    settle(page)
    name, body = download(page, lambda: page.get_by_role("button", name="Before and after (CSV)").click())
    assert name == "intervene_text-tun_set-concat.bwd-0-zero-concat.bwd-1-zero.csv", name
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert [r["input"] for r in rows] == list("tun")
    assert {"before", "after", "changed", "delta_logp"} <= set(rows[0])
