"""End to end in a real browser: Python Playwright driving Debian's Chromium against
`streamlit run app.py` on a free localhost port (one server for the whole module).

The app runs on the shipped model with the small test analysis of test_app.py. Screenshots of
every page are written to artifacts/screenshots/ (git-ignored) for a person to look at.
Without /usr/bin/chromium the tests are skipped locally and fail in CI (env CI set).
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

from browser_harness import CHROMIUM, CHROMIUM_ARGS, free_port, start_streamlit, stop, wait_healthy
from test_app import REPO, build_test_lab

SHOTS = REPO / "artifacts" / "screenshots"
IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
         && !document.querySelector('[data-testid="stSkeleton"]')
         && !document.querySelector('[data-testid="stSpinner"]');
}"""

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium fonts-noto-core` "
                    f"(.ci/run does)", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium fonts-noto-core); "
                f"the browser tests run in CI", allow_module_level=True)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def server():
    lab = build_test_lab()
    SHOTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = SHOTS.parent / "streamlit-test-server.log"
    proc = start_streamlit(port, {"TRANSLIT_CHECKPOINT": str(lab), "TRANSLIT_CACHE": str(lab / "cache")},
                           log.open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log=log)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


def settle(pg, timeout: float = 90_000) -> None:
    """Wait until the app has finished its script run and nothing is loading."""
    pg.wait_for_selector("h1", timeout=timeout)
    pg.wait_for_function(IDLE, timeout=timeout, polling=200)
    pg.wait_for_timeout(400)
    pg.wait_for_function(IDLE, timeout=timeout, polling=200)


def screenshot(pg, name: str) -> Path:
    """The whole main area (Streamlit scrolls inside it, so grow the viewport to fit)."""
    h = pg.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    pg.set_viewport_size({"width": 1400, "height": int(min(max(1000, h + 40), 6000))})
    pg.wait_for_timeout(600)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path))
    pg.set_viewport_size({"width": 1400, "height": 1000})
    return path


def expect(locator, text: str, timeout: float = 60_000):
    from playwright.sync_api import expect as pw_expect
    pw_expect(locator).to_contain_text(text, timeout=timeout)


# --------------------------------------------------------------------------------------------

def test_deep_link_on_a_fresh_server(server, page):
    # The very first request to the server is a deep link into a page (not the root).
    page.goto(f"{server}/neuron?page=neuron&neuron=hidden:5")
    settle(page)
    expect(page.locator("h3"), "hidden:5")
    assert "neuron=hidden%3A5" in page.url or "neuron=hidden:5" in page.url
    # ?page= works from the root too, and a bad parameter is a note, not a traceback
    page.goto(f"{server}/?page=graph&pair=zz&neuron=hidden:1")
    settle(page)
    expect(page.locator("h1"), "Neuron graph")
    expect(page.locator('[data-testid="stAlert"]').first, "zz")
    assert page.locator('[data-testid="stException"]').count() == 0
    expect(page.locator("h3").first, "hidden:1")
    # the sidebar still navigates (the old ?page= does not pull the user back)
    page.get_by_role("link", name="Histograms").click()
    expect(page.locator("h1"), "Histograms")
    settle(page)
    assert "page=histograms" in page.url


def test_type_barev_dzez(server, page):
    page.goto(server)
    settle(page)
    box = page.get_by_role("textbox", name="Latin text")
    box.fill("")
    expect(page.locator('[data-testid="stAlert"]'), "Type something")
    box.press_sequentially("barev dzez", delay=40)
    expect(page.locator('[data-testid="stCode"]'), "բարև ձեզ")
    assert "text=barev" in page.url                                    # the view is in the URL
    settle(page)
    screenshot(page, "transliterate")


def test_click_a_node_opens_its_histogram(server, page):
    page.goto(f"{server}/graph")
    settle(page)
    plot = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    plot.wait_for(timeout=60_000)
    trace, point, neuron = page.evaluate("""() => {
        const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
        const i = gd.data.findIndex(t => t.name === 'neurons');
        const j = gd.data[i].customdata.findIndex(c => c.startsWith('hidden:'));
        return [i, j, gd.data[i].customdata[j]];
    }""")
    screenshot(page, "graph")
    node = plot.locator(".scatterlayer .trace").nth(trace).locator("path.point").nth(point)
    box = node.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("h3").first, neuron, timeout=120_000)
    expect(page.locator(".gtitle").filter(has_text=f"{neuron} on"), neuron, timeout=120_000)
    assert f"neuron={quote(neuron)}" in page.url or f"neuron={neuron}" in page.url
    settle(page)
    screenshot(page, "graph-node-selected")


def test_screenshots_of_every_page(server, page):
    for name, url in (("histograms", "/histograms"), ("heatmaps", "/heatmaps"), ("neuron", "/neuron"),
                      ("histograms-compare", "/histograms"), ("histograms-top", "/histograms"),
                      ("transliterate-edge-cases",
                       "/?page=transliterate&text=" + quote("Hayastani Hanrapetutyun 😀 բարև <b>x</b>"))):
        page.goto(server + url)
        settle(page)
        if name in ("histograms-compare", "histograms-top"):
            mode = "Compare side by side" if name == "histograms-compare" else "Top neurons of a layer"
            page.get_by_text(mode, exact=True).click()
            settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert page.locator('[data-testid="stPlotlyChart"], [data-testid="stCode"]').count() > 0, name
        screenshot(page, name)
    assert {p.stem for p in SHOTS.glob("*.png")} >= {"transliterate", "graph", "histograms", "heatmaps", "neuron"}


def test_several_tabs_at_once(server, browser):
    ctxs = [browser.new_context() for _ in range(2)]
    pages = [c.new_page() for c in ctxs]
    try:
        for p in pages:
            p.goto(server)
        for p in pages:
            settle(p)
        words = ["shnorhakalutyun", "hayeren"]
        for p, w in zip(pages, words):
            box = p.get_by_role("textbox", name="Latin text")
            box.fill(w)
        outs = []
        for p, w in zip(pages, words):
            p.wait_for_function(f"() => location.search.includes('text={w}')", timeout=30_000)
            settle(p)
            outs.append(p.locator('[data-testid="stCode"]').inner_text())
        assert outs[0] != outs[1] and all(o.strip() for o in outs)
    finally:
        for c in ctxs:
            c.close()
