"""Journeys, in one Chromium session, as a person moves through the lab: the selection carried from
page to page, Back and Forward across views, one history entry per step (not per tweak), and the
same with a model switch in the middle."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from browser_harness import SHOTS, expect, screenshot, settle, streamlit_server
from dashboard.views.urls import PAGES
from dashboard_fixtures import lab_env, random_twin

pytestmark = pytest.mark.timeout(600)


def query(pg) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(pg.url).query).items()}


def title(pg) -> str:
    return pg.locator('[data-testid="stMain"] h1').first.inner_text().strip()


def sidebar_to(pg, page: str) -> None:
    pg.locator('[data-testid="stSidebar"] a', has_text=PAGES[page]).first.click()
    expect(pg.locator('[data-testid="stMain"] h1').first, PAGES[page])
    settle(pg)


def history(pg) -> int:
    return pg.evaluate("history.length")


def a_pair(lab_path) -> str:
    """A pair of the test lab that is not the pages' default, so that carrying it shows."""
    from translit_core.analysis import Analysis
    from dashboard.views.urls import parse_pair
    analysis = Analysis.load(lab_path)
    default = parse_pair(None, analysis.pairs()).value
    return str(next(p for p in analysis.pairs() if p.x != default.x))


def test_back_and_forward_walk_the_views_and_the_selection_follows(server, page, lab_path):
    pair = a_pair(lab_path)
    page.goto(f"{server}/graph?pair={pair}")
    settle(page)
    start = history(page)
    sidebar_to(page, "histograms")
    assert query(page)["pair"] == pair                          # the graph's pair is the histograms'
    neuron = query(page)["neuron"]
    sidebar_to(page, "neuron")
    assert (query(page)["neuron"], query(page)["pair"]) == (neuron, pair)
    assert history(page) == start + 2                           # one entry per page visited
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert pair in sidebar and neuron in sidebar                # the selection, in view
    page.go_back()
    expect(page.locator('[data-testid="stMain"] h1').first, PAGES["histograms"])
    settle(page)
    assert (query(page)["pair"], query(page)["neuron"]) == (pair, neuron)
    page.go_back()
    expect(page.locator('[data-testid="stMain"] h1').first, PAGES["graph"])
    settle(page)
    assert query(page)["pair"] == pair and "neuron" not in query(page)   # the graph as it was: no neuron chosen
    page.go_forward()
    expect(page.locator('[data-testid="stMain"] h1').first, PAGES["histograms"])
    settle(page)
    assert query(page)["pair"] == pair
    screenshot(page, SHOTS / "journey-back-forward.png")


def test_the_sidebar_follows_a_pair_switched_inside_the_graph(server, page, lab_path):
    """The graph's pickers rerun only their fragment; the sidebar's selection follows all the same."""
    from translit_core.analysis import Analysis
    pairs = Analysis.load(lab_path).pairs()
    x = next(p.x for p in pairs if sum(q.x == p.x for q in pairs) > 1)      # an input with two outputs or more
    first = next(str(p) for p in pairs if p.x == x)
    page.goto(f"{server}/graph?pair={first}")
    settle(page)
    shown = page.locator('[data-testid="stSidebar"] [data-lab-selection="pair"]')
    assert shown.inner_text() == first
    out = page.locator('input[aria-label="Output"]:visible').first
    out.click()
    other = next(o.strip() for o in page.get_by_role("option").all_inner_texts() if o.strip() != out.input_value())
    page.get_by_role("option", name=other, exact=True).first.click()
    settle(page)
    assert query(page)["pair"] != first
    assert shown.inner_text() == query(page)["pair"]              # drawn by no run of the sidebar


def test_tweaks_replace_the_history_entry_and_a_new_pair_adds_one(server, page, lab_path):
    page.goto(f"{server}/histograms")
    settle(page)
    start = history(page)
    page.get_by_text("Top neurons of a layer", exact=True).click()
    settle(page)
    assert query(page)["mode"] == "top" and history(page) == start        # a tweak: the same entry
    page.get_by_text("One neuron", exact=True).click()
    settle(page)
    assert history(page) == start
    pages = [p for p in PAGES if p not in ("compare", "dynamics")]   # the slow ones are walked elsewhere
    for name in pages + pages:
        sidebar_to(page, name)
    assert history(page) <= start + 2 * len(pages)            # at most one entry per visit


def test_a_model_switch_in_the_middle_keeps_the_selection(lab_path, tmp_path_factory, browser):
    twin = random_twin(lab_path, tmp_path_factory.mktemp("journey") / "twin")
    env = dict(lab_env(lab_path), TRANSLIT_MODELS=f"twin={twin}")
    pair = a_pair(lab_path)
    with streamlit_server(env, SHOTS.parent / "streamlit-journey-server.log") as url:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        try:
            pg.goto(f"{url}/graph?pair={pair}")
            settle(pg)
            sidebar_to(pg, "transliterate")
            switch = pg.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
            switch.click()
            pg.get_by_role("option", name="twin").click()
            pg.wait_for_function("() => location.search.includes('model=twin')", timeout=60_000)
            settle(pg)
            sidebar_to(pg, "histograms")                          # the twin has no analysis: a notice, no error
            assert pg.locator('[data-testid="stException"]').count() == 0
            assert "model=twin" in pg.url
            switch.click()
            pg.get_by_role("option").first.click()                # the default model: listed first
            pg.wait_for_function("() => !location.search.includes('model=')", timeout=60_000)
            settle(pg)
            assert query(pg)["pair"] == pair                      # the pair chosen before the switch
            pg.go_back()                                          # back to the twin's view
            pg.wait_for_function("() => location.search.includes('model=twin')", timeout=60_000)
            settle(pg)
            assert title(pg) == PAGES["histograms"]
            assert pg.locator('[data-testid="stException"]').count() == 0
        finally:
            ctx.close()

