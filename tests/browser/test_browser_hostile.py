"""Hostile input in a real browser.

Payloads: Markdown, LaTeX and HTML typed into every text box of every page, and put into every
query parameter, stay text: no request to the payload's URL, no link to it, no KaTeX, no injected
image or script, and the text shown as typed somewhere on the page.
URLs: paths of several segments and a 1 MB `?text=` get the app with its note, not a blank page
or the browser's error page (the lab's server, dashboard/launch.py).

Fixtures (the server on the test lab, Chromium, a page that fails on any script error) are
conftest.py's.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from browser_harness import SHOTS, expect, path_of, screenshot, settle
from dashboard.views.markdown import WORD_JOINER
from dashboard.views.urls import DEFAULT_PAGE, MAX_URL_TEXT, PAGES
from lab_server import free_port

pytestmark = pytest.mark.timeout(600)

# What the page may not contain after a payload, in the page and in any same-origin frame.
INERT = """(port) => {
  const docs = [document];
  for (const f of document.querySelectorAll('iframe')) {
    try { if (f.contentDocument) docs.push(f.contentDocument); } catch (e) {}
  }
  const out = {links: 0, katex: 0, images: 0, scripts: 0, text: [],
               pwned: window.__pwned === undefined ? null : String(window.__pwned)};
  for (const d of docs) {
    out.links += [...d.querySelectorAll('a[href]')].filter(a => a.href.includes(':' + port)).length;
    out.katex += d.querySelectorAll('.katex, .katex-display, math').length;
    out.images += [...d.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x'
        || i.hasAttribute('onerror') || (i.getAttribute('src') || '').includes(':' + port)).length;
    out.scripts += [...d.querySelectorAll('script')].filter(s => s.textContent.includes('__pwned')).length;
    out.text.push(d.body ? d.body.innerText : '');
    for (const e of d.querySelectorAll('input, textarea')) out.text.push(e.value);
  }
  return out;
}"""


class Watch:
    """A local HTTP server that payloads point at, recording every request it gets."""

    def __init__(self):
        self.port = free_port()
        self.requests: list[str] = []
        watch = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                watch.requests.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self) -> list[str]:
        """Each at most 39 characters: whole in the app's shortened echoes (40) and the
        substring box (max 40)."""
        return [f"![i](http://127.0.0.1:{self.port}/i.png)", f"[click](http://127.0.0.1:{self.port}/a)",
                "$$x$$ and $y^2$", "<img src=x onerror=window.__pwned=1>", "<script>window.__pwned=2</script>"]


@pytest.fixture(scope="module")
def watch():
    w = Watch()
    yield w
    w.server.shutdown()


@pytest.fixture
def hostile(page, watch):
    """The page, with every request it makes to the watch server recorded."""
    page.on("request", lambda r: watch.requests.append(r.url) if f":{watch.port}" in r.url else None)
    return page


def assert_inert(pg, watch, shown: list[str], where: str) -> None:
    """No payload took effect, and each of `shown` is on the page as typed (an invisible word joiner
    aside)."""
    settle(pg)
    pg.wait_for_timeout(500)                       # an image would be fetched by now
    got = pg.evaluate(INERT, watch.port)
    assert not watch.requests, (where, watch.requests)
    assert (got["links"], got["katex"], got["images"], got["scripts"], got["pwned"]) == (0, 0, 0, 0, None), \
        (where, got)
    text = "\n".join(got["text"]).replace(WORD_JOINER, "")     # md_plain's, against bare links
    missing = [s for s in shown if s not in text]
    assert not missing, (where, missing)
    assert pg.locator('[data-testid="stException"]').count() == 0, where


def joined(watch) -> str:
    return " ".join(watch.payloads())


# --------------------------------------------------------------------------------------------
# Payloads in every text box

def test_payloads_in_the_transliterate_box(server, hostile, watch):
    hostile.goto(f"{server}/transliterate")
    settle(hostile)
    box = hostile.get_by_role("textbox", name="Latin text")
    box.fill(joined(watch))
    assert_inert(hostile, watch, [joined(watch)], "transliterate text")


def test_payloads_in_every_heatmaps_box(server, hostile, watch):
    hostile.goto(f"{server}/heatmaps?neuron=hidden:5")
    settle(hostile)
    sub = hostile.get_by_role("textbox", name="Substring")
    for payload in watch.payloads():                # the caption that once rendered it as Markdown
        sub.fill(payload)
        sub.press("Enter")
        settle(hostile)
        hostile.get_by_role("button", name="Find").click()
        assert_inert(hostile, watch, [payload, f"{payload} does not occur in the text above"],
                     f"heatmaps substring {payload}")
    rows = hostile.get_by_role("combobox", name="Neuron rows (type any name, e.g. concat.fwd:70)")
    rows.click()
    rows.fill(watch.payloads()[0])
    rows.press("Enter")
    rows.press("Escape")                            # close the list (it hides the rest of the page)
    assert_inert(hostile, watch, [watch.payloads()[0]], "heatmaps rows")
    text = hostile.get_by_role("textbox", name="Text (Latin)")
    text.fill(joined(watch))
    text.press("Control+Enter")
    assert_inert(hostile, watch, [joined(watch)], "heatmaps text")
    screenshot(hostile, SHOTS / "hostile-heatmaps.png")


def test_payloads_in_every_intervene_box(server, hostile, watch):
    hostile.goto(f"{server}/intervene?text={'a' * 50}&span=0:40")   # a span: its caption quotes the text
    settle(hostile)
    text = hostile.get_by_role("textbox", name="Text", exact=True)
    text.fill(joined(watch))
    text.press("Control+Enter")
    assert_inert(hostile, watch, [joined(watch), f"Positions 0–39: {joined(watch)[:40]}"], "intervene text")
    names = hostile.get_by_role("textbox", name="Add neurons by name")
    for payload in watch.payloads():
        names.fill(payload)
        names.press("Enter")
        assert_inert(hostile, watch, [payload], f"intervene names {payload}")
    screenshot(hostile, SHOTS / "hostile-intervene.png")


# --------------------------------------------------------------------------------------------
# Payloads in every query parameter (a shared link is user text too)

PARAMS = {
    "transliterate": ["text"],
    "heatmaps": ["text", "neuron"],
    "intervene": ["text", "set", "scale", "add", "span", "steer", "k", "alpha", "at"],
    "graph": ["pair", "neuron"],
    "histograms": ["pair", "neuron", "mode", "layer", "n", "pair2", "neuron2"],
    "neuron": ["neuron", "pair"],
}


@pytest.mark.parametrize("name", list(PARAMS))
def test_payloads_in_every_query_parameter(server, hostile, watch, name):
    """Each parameter of the page (and `from`, which the server sets) gets a payload; together they
    get every payload. The notes about bad values quote them."""
    payloads = watch.payloads()
    keys = PARAMS[name] + ["from"]
    rounds = -(-len(payloads) // len(keys))          # enough loads for every payload to be used
    for r in range(rounds):
        values = {k: payloads[(i + r * len(keys)) % len(payloads)] for i, k in enumerate(keys)}
        hostile.goto(f"{server}/{name}?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in values.items()))
        settle(hostile)
        expect(hostile.locator("h1"), PAGES[name])
        assert_inert(hostile, watch, [values["from"]], f"{name} {values}")
    screenshot(hostile, SHOTS / f"hostile-params-{name}.png")


def test_payloads_as_the_page_name(server, hostile, watch):
    for payload in watch.payloads():
        hostile.goto(f"{server}/?page={quote(payload, safe='')}")
        settle(hostile)
        expect(hostile.locator("h1"), PAGES[DEFAULT_PAGE])
        assert_inert(hostile, watch, [payload], f"page={payload}")


# --------------------------------------------------------------------------------------------
# URLs Streamlit's own server cannot open

@pytest.mark.parametrize("path, name", [("/does/not/exist", DEFAULT_PAGE), ("/graph/extra", "graph"),
                                        ("/Graph/Extra/More/", "graph")])
def test_a_deeper_path_gets_the_app_and_its_note(server, page, path, name):
    page.goto(f"{server}{path}?neuron=hidden:5")
    settle(page)
    expect(page.locator("h1"), PAGES[name])
    expect(page.locator('[data-testid="stAlert"]').first, f"There is no page at {path.rstrip('/')}")
    assert path_of(page.url) == ("/" if name == DEFAULT_PAGE else f"/{name}")
    query = parse_qs(urlsplit(page.url).query)
    assert "from" not in query and query["neuron"] == ["hidden:5"]      # said once; the link's view kept
    screenshot(page, SHOTS / f"deep-path-{name}.png")


def test_a_1mb_text_link_is_cut_to_what_the_url_keeps_and_says_so(server, page):
    text = ("barev dzez " * 100_000)[:1_000_000]
    page.goto(f"{server}/?text={quote(text)}")
    settle(page)
    expect(page.locator("h1"), PAGES["transliterate"])          # a text linked at the root is transliterated
    expect(page.locator('[data-testid="stAlert"]').first, "characters long, too long to open whole")
    box = page.get_by_role("textbox", name="Latin text")
    assert box.input_value() == text[:MAX_URL_TEXT]
    assert parse_qs(urlsplit(page.url).query)["text"] == [text[:MAX_URL_TEXT]]
    screenshot(page, SHOTS / "long-link.png")


def test_a_long_text_link_opens_whole_and_the_url_says_what_it_keeps(server, page):
    text = ("barev dzez " * 500)[:5_000]
    page.goto(f"{server}/heatmaps?text={quote(text)}")
    settle(page)
    expect(page.locator("h1"), PAGES["heatmaps"])
    assert page.get_by_role("textbox", name="Text (Latin)").input_value() == text
    expect(page.locator('[data-testid="stCaptionContainer"]').filter(has_text="link to this view"),
           f"holds the first {MAX_URL_TEXT} of the text's 5,000 characters")
    assert parse_qs(urlsplit(page.url).query)["text"] == [text[:MAX_URL_TEXT]]
