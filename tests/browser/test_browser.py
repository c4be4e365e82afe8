"""End to end in a real browser: Python Playwright driving Debian's Chromium against
`streamlit run app.py` on a free localhost port (one server for most of the module, a fresh one
where "the first request to a new server" is the point).

The app runs on the shipped model with the small test analysis of dashboard_fixtures.py (the
fixtures: conftest.py). Screenshots of every page are written to artifacts/screenshots/
(git-ignored) for a person to look at.
"""
from __future__ import annotations

from urllib.parse import quote

import pytest

from browser_harness import SHOTS, current_link, expect, path_of, screenshot, seen, settle, sidebar_links
from dashboard.views.urls import DEFAULT_PAGE, PAGES
from lab_server import first_graph_node

TITLES = list(PAGES.values())

pytestmark = pytest.mark.timeout(240)


def assert_only_the_apps_pages(pg, note: str = "") -> None:
    """No Streamlit dialog ("Page not found"), no menu of the pages/ folder, and the sidebar
    lists exactly the app's five pages: now and at any moment since the page loaded."""
    s = seen(pg)
    assert not s["dialogs"], (note, s["dialogs"])
    assert not s["nav"], (note, "Streamlit's own page menu appeared")
    assert set(s["links"]) <= set(TITLES), (note, s["links"])
    assert sidebar_links(pg) == TITLES, note
    assert pg.locator('[data-testid="stException"]').count() == 0, note


# --------------------------------------------------------------------------------------------
# Routing

@pytest.mark.parametrize("path", ["/graph?pair=zz&neuron=hidden:1", "/transliterate?text=vonc%20es", "/histograms",
                                  "/heatmaps", "/neuron?neuron=hidden:5", "/"])
def test_first_request_to_a_fresh_server(fresh_server, page, path):
    """Until app.py has run once, Streamlit treats pages/ as an old-style multipage app; the very
    first request (a bookmark after a restart) must still get the app: its page, sidebar, URL."""
    page.goto(fresh_server + path)
    settle(page)
    name = path_of(path).strip("/") or DEFAULT_PAGE
    expect(page.locator("h1"), PAGES[name])
    assert_only_the_apps_pages(page, path)
    assert f"page={name}" in page.url
    assert current_link(page) == [PAGES[name]]
    if name == "graph":
        expect(page.locator('[data-testid="stAlert"]').first, "zz")        # the bad pair: a note
        expect(page.locator("h3").first, "hidden:1")
    if name == "neuron":
        expect(page.locator("h3").first, "hidden:5")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("link", name="Histograms", exact=True).click()      # and the app's routing runs on
    expect(page.locator("h1"), "Histograms")
    settle(page)
    assert path_of(page.url) == "/histograms" and "page=histograms" in page.url


@pytest.mark.xfail(strict=True, reason="Streamlit 1.67 routes the very first request of a server by the "
                                       "pages/ folder, before app.py has run: an unknown path then gets its "
                                       "'Page not found' dialog (later requests get the app's note)")
def test_an_unknown_path_as_the_first_request_to_a_fresh_server(fresh_server, page):
    page.goto(f"{fresh_server}/nonsense")
    settle(page)
    expect(page.locator("h1"), PAGES[DEFAULT_PAGE])
    assert_only_the_apps_pages(page, "/nonsense first")


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_opens_by_its_own_path(server, page, name):
    page.goto(f"{server}/{name}")
    settle(page)
    expect(page.locator("h1"), PAGES[name])
    assert_only_the_apps_pages(page, name)
    assert path_of(page.url) == f"/{name}" and f"page={name}" in page.url
    assert current_link(page) == [PAGES[name]]
    screenshot(page, SHOTS / f"path-{name}.png")


def test_an_unknown_path_gets_the_apps_note(server, page):
    page.goto(f"{server}/nonsense?neuron=hidden:3")
    settle(page)
    expect(page.locator("h1"), PAGES[DEFAULT_PAGE])
    expect(page.locator('[data-testid="stAlert"]').first, "/nonsense")
    assert_only_the_apps_pages(page, "/nonsense")
    assert path_of(page.url) == "/" and "neuron=hidden" in page.url      # the default page, parameters kept
    page.goto(f"{server}/nonsense?text=barev")                           # with a text: the text is transliterated
    settle(page)
    expect(page.locator("h1"), PAGES["transliterate"])
    expect(page.locator('[data-testid="stAlert"]').first, "/nonsense")
    assert "text=barev" in page.url
    screenshot(page, SHOTS / "unknown-path.png")
    page.goto(f"{server}/Graph")                                          # a page's name in other case
    settle(page)
    expect(page.locator("h1"), PAGES["graph"])
    assert_only_the_apps_pages(page, "/Graph")


def test_page_param_links_open_their_page_with_their_parameters(server, page):
    page.goto(f"{server}/?page=graph&pair={quote('t:թ')}")
    settle(page)
    expect(page.locator("h1"), "Neuron graph")
    assert_only_the_apps_pages(page, "?page=graph")
    assert path_of(page.url) == "/graph" and f"pair={quote('t:թ', safe='')}" in page.url
    screenshot(page, SHOTS / "page-param-graph.png")
    # a malformed pair in a link: the app's note, the default pair, no traceback
    page.goto(f"{server}/?page=graph&pair=zz")
    settle(page)
    expect(page.locator('[data-testid="stAlert"]').first, "written input:output")
    assert_only_the_apps_pages(page, "pair=zz")
    screenshot(page, SHOTS / "malformed-pair.png")
    # ?page= wins over the path, and an unknown ?page= is a note
    page.goto(f"{server}/heatmaps?page=neuron&neuron=hidden:5")
    settle(page)
    expect(page.locator("h1"), "Neuron card")
    expect(page.locator("h3"), "hidden:5")
    page.goto(f"{server}/?page=nosuch")
    settle(page)
    expect(page.locator('[data-testid="stAlert"]').first, "nosuch")
    expect(page.locator("h1"), PAGES[DEFAULT_PAGE])


def test_sidebar_navigates_and_the_root_is_the_default_page(server, page):
    page.goto(server)
    settle(page)
    expect(page.locator("h1"), PAGES[DEFAULT_PAGE])
    assert current_link(page) == [PAGES[DEFAULT_PAGE]]
    for name, title in list(PAGES.items())[1:] + [(DEFAULT_PAGE, PAGES[DEFAULT_PAGE])]:
        page.locator('[data-testid="stSidebar"]').get_by_role("link", name=title, exact=True).click()
        expect(page.locator("h1"), title)
        settle(page)
        assert f"page={name}" in page.url                      # the old ?page= does not pull the user back
        assert current_link(page) == [title]
    assert_only_the_apps_pages(page, "sidebar")


@pytest.mark.timeout(600)
def test_every_page_opens_again_after_another(server, page):
    """Through the sidebar in one session: Cell heatmaps -> Neuron graph -> Cell heatmaps, then
    every page twice round, each one left and opened again. Streamlit drops the state of the
    widgets a run does not draw, so a page that read a value seeded on its first visit stopped
    with an exception on the second (Cell heatmaps: KeyError "hm_span")."""
    page.goto(f"{server}/heatmaps")
    settle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    for title in [PAGES["graph"], PAGES["heatmaps"], *TITLES, *TITLES]:
        sidebar.get_by_role("link", name=title, exact=True).click()
        expect(page.locator("h1"), title)
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, title
        assert current_link(page) == [title]
    assert_only_the_apps_pages(page, "twice round")


# --------------------------------------------------------------------------------------------
# The pages at work

def test_type_barev_dzez(server, page):
    page.goto(f"{server}/transliterate")
    settle(page)
    box = page.get_by_role("textbox", name="Latin text")
    box.fill("")
    expect(page.locator('[data-testid="stAlert"]'), "Type something")
    box.press_sequentially("barev dzez", delay=40)
    expect(page.locator('[data-testid="stCode"]'), "բարև ձեզ")
    assert "text=barev" in page.url                                    # the view is in the URL
    settle(page)
    screenshot(page, SHOTS / "transliterate.png")


def test_click_a_node_opens_its_histogram(server, page):
    page.goto(f"{server}/graph")
    settle(page)
    box, neuron = first_graph_node(page)
    screenshot(page, SHOTS / "graph.png")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("h3").first, neuron, timeout=120_000)
    expect(page.locator(".gtitle").filter(has_text=f"{neuron} on"), neuron, timeout=120_000)
    assert f"neuron={quote(neuron)}" in page.url or f"neuron={neuron}" in page.url
    settle(page)
    screenshot(page, SHOTS / "graph-node-selected.png")
    # the card's link opens the neuron page by its own path, in a new tab
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open the full neuron card").click()
    card = opened.value
    settle(card)
    expect(card.locator("h1"), "Neuron card")
    expect(card.locator("h3").first, neuron)
    assert path_of(card.url) == "/neuron"


def test_screenshots_of_every_page(server, page):
    for name, url in (("histograms", "/histograms"), ("heatmaps", "/heatmaps"), ("neuron", "/neuron"),
                      ("histograms-compare", "/histograms"), ("histograms-top", "/histograms"),
                      ("transliterate-edge-cases",
                       "/transliterate?text=" + quote("Hayastani Hanrapetutyun 😀 բարև <b>x</b>"))):
        page.goto(server + url)
        settle(page)
        if name in ("histograms-compare", "histograms-top"):
            mode = "Compare side by side" if name == "histograms-compare" else "Top neurons of a layer"
            page.get_by_text(mode, exact=True).click()
            settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert page.locator('[data-testid="stPlotlyChart"], [data-testid="stCode"]').count() > 0, name
        screenshot(page, SHOTS / f"{name}.png")
    assert {p.stem for p in SHOTS.glob("*.png")} >= {"transliterate", "graph", "histograms", "heatmaps", "neuron"}


def test_several_tabs_at_once(server, browser):
    ctxs = [browser.new_context() for _ in range(2)]
    pages = [c.new_page() for c in ctxs]
    try:
        for p in pages:
            p.goto(f"{server}/transliterate")
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


# --------------------------------------------------------------------------------------------
# Intervene

def engine_result(lab_path, text: str, query: dict):
    """What the engine says for the intervention in a URL's query (the browser must show it)."""
    from dashboard.views.intervene import parse_settings
    from translit_core.analysis.methods.intervene import intervene
    from translit_core.model.checkpoint import load_checkpoint
    model, alphabets, _ = load_checkpoint(lab_path)
    return intervene(model, alphabets, text, parse_settings(query, model.sizes).value)


def test_intervene_link_shows_before_after_and_summary(server, page, lab_path):
    from translit_core.analysis import Analysis
    a = Analysis.load(lab_path)
    pair = a.parse_pair("t:թ") if "t:թ" in {str(p) for p in a.pairs()} else a.pairs()[0]
    units = [str(s.neuron) for layer in ("concat.bwd", "hidden") for s in a.top_neurons(pair, layer, 5)]
    text = "tari tun tesnel tatik"
    query = {"scale": ",".join(f"{n}=-3" for n in units)}
    want = engine_result(lab_path, text, query)
    page.goto(f"{server}/intervene?text={quote(text)}&scale={quote(query['scale'])}&at=0")
    settle(page)
    expect(page.locator("h1"), "Intervene")
    assert_only_the_apps_pages(page, "/intervene")
    expect(page.locator('[data-testid="stAlert"]').first, want.summary())
    main = page.locator(".iv-al").first
    assert main.locator(".iv-c").count() == len(text)
    assert main.locator(".iv-c.ch").count() == len(want.changed)
    if want.changed:                              # the hover says before, after and the new top choice
        title = main.locator(".iv-c.ch").first.get_attribute("title")
        i = want.changed[0]
        assert f"{i}: {text[i]}" in title and "new top choice" in title and want.top_after[i] in title
    expect(page.locator("body"), "Completeness check")
    expect(page.locator("body"), "Attributions sum to")
    assert f"scale={quote(query['scale'], safe='')}" in page.url or "scale=" in page.url
    screenshot(page, SHOTS / "intervene.png")


def test_intervene_type_a_neuron_and_see_the_change(server, page):
    page.goto(f"{server}/intervene?text={quote('tari tun')}")
    settle(page)
    expect(page.locator('[data-testid="stAlert"]').first, "this is the plain model")
    box = page.get_by_role("textbox", name="Add neurons by name")
    box.fill("hidden:3, concat.fwd:7")
    box.press("Enter")
    expect(page.locator('[data-testid="stAlert"]').first, "characters changed")
    settle(page)
    assert "set=hidden%3A3%3Dzero%2Cconcat.fwd%3A7%3Dzero" in page.url
    screenshot(page, SHOTS / "intervene-typed.png")


def test_neuron_card_links_to_intervene(server, page):
    page.goto(f"{server}/neuron?neuron=hidden:5")
    settle(page)
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Intervene on this neuron").click()
    iv = opened.value
    settle(iv)
    expect(iv.locator("h1"), "Intervene")
    assert path_of(iv.url) == "/intervene" and "hidden%3A5%3Dzero" in iv.url
    expect(iv.locator('[data-testid="stAlert"]').first, "characters changed")
    screenshot(iv, SHOTS / "intervene-from-card.png")


def test_heatmap_rows_survive_an_emptied_text(server, page):
    """Emptying the text once made the page forget the rows the URL still named."""
    page.goto(f"{server}/heatmaps?neuron=hidden:5")
    settle(page)
    box = page.get_by_role("textbox", name="Text (Latin)")
    box.fill("")
    box.press("Control+Enter")
    expect(page.locator('[data-testid="stAlert"]'), "Type a text")
    settle(page)
    box.fill("barev dzez, inchpes eq")
    box.press("Control+Enter")
    settle(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Add a neuron row" not in body and "hidden:5" in body
