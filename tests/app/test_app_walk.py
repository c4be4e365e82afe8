"""Pages left and opened again in one session, as a visitor moves through the sidebar.

Streamlit drops the state of every widget that a run does not draw (another page's widgets, or
those of this page that a run skipped), so a page has to seed a widget again whenever its state
is gone, and never read a value it seeded on an earlier run: Cell heatmaps -> any page -> Cell
heatmaps once stopped with `KeyError: st.session_state has no key "hm_span"`.
"""
from __future__ import annotations

import html

from dashboard.views import urls
from dashboard.views.urls import HIST_MODES
from test_app import app, charts, heat_rows, ok, param, texts


def visit(at, page: str):
    """Open `page` as its sidebar link does: a page change without the last page's parameters."""
    at.query_params.clear()
    ok(at.switch_page(f"pages/{page}.py").run())
    assert texts(at.title) == [urls.PAGES[page]], page
    assert param(at, "page") == page
    return at


def test_heatmaps_open_again_after_the_graph(lab_dir):
    at = ok(app("heatmaps"))
    span, figures, rows = at.slider(key="hm_span").value, len(charts(at)), heat_rows(at)
    visit(at, "graph")
    visit(at, "heatmaps")
    assert at.slider(key="hm_span").value == span          # the default text's span, as on the first visit
    assert heat_rows(at) == rows                            # and the default rows (the suffix's cell units)
    assert len(charts(at)) == figures and param(at, "span") == f"{span[0]}:{span[1]}"


def test_every_page_opens_again_after_the_others(lab_dir):
    pages = list(urls.PAGES)
    at = ok(app(pages[0]))
    for page in pages[1:] + pages:          # each page left for the next one, and opened again in round two
        visit(at, page)


def test_heatmaps_text_emptied_and_typed_again(lab_dir):
    """No span slider is drawn while the text is empty; the same text typed again gets its span back."""
    at = ok(app("heatmaps"))
    text, span = at.text_area(key="hm_text").value, at.slider(key="hm_span").value
    ok(at.text_area(key="hm_text").input("").run())
    assert not at.slider and "Type a text" in " ".join(texts(at.info))
    ok(at.text_area(key="hm_text").input(text).run())
    assert at.slider(key="hm_span").value == span


def test_a_link_to_a_page_opened_before_shows_the_links_view(lab_dir):
    """The widgets of a page opened again are seeded from its new URL, not from the first visit's."""
    at = ok(app("histograms"))
    assert at.segmented_control(key="hist_mode").value == HIST_MODES["one"]
    visit(at, "graph")
    at.query_params.clear()
    at.query_params["mode"] = "top"
    ok(at.switch_page("pages/histograms.py").run())
    assert at.segmented_control(key="hist_mode").value == HIST_MODES["top"] and param(at, "mode") == "top"


def test_the_selection_follows_the_visitor_from_page_to_page(lab, lab_dir):
    """One selection for the session: a pair and a neuron chosen on one page are what the next
    page opened from the sidebar shows, until the visitor changes them; the sidebar says them."""
    from dashboard.ui.widgets import pair_output_key
    pairs = lab.analysis.pairs()
    pair = pairs[len(pairs) // 2]                    # not the default pair
    neuron = "hidden:7"
    at = ok(app("histograms", pair=str(pair), neuron=neuron))
    assert param(at, "pair") == str(pair)
    visit(at, "graph")
    assert param(at, "pair") == str(pair)                       # the graph of the pair chosen before
    assert at.selectbox(key=pair_output_key("graph_pair", pair.x)).value == pair.y
    visit(at, "neuron")
    assert param(at, "neuron") == neuron and param(at, "pair") == str(pair)
    visit(at, "heatmaps")
    visit(at, "histograms")
    assert (param(at, "pair"), param(at, "neuron")) == (str(pair), neuron)
    bar = " ".join(h.proto.body for h in at.sidebar.get("html"))
    assert f'data-lab-selection="pair">{html.escape(str(pair))}<' in bar
    assert f'data-lab-selection="neuron">{neuron}<' in bar
    # Another pair chosen on the graph becomes the histograms' pair.
    other = next(p for p in pairs if p.x != pair.x)
    visit(at, "graph")
    at.selectbox(key="graph_pair_x").set_value(other.x).run()
    ok(at.selectbox(key=pair_output_key("graph_pair", other.x)).set_value(other.y).run())
    visit(at, "histograms")
    assert param(at, "pair") == str(other)


def test_a_link_wins_over_the_selection(lab, lab_dir):
    """A URL that names a pair shows it, whatever the session chose before (a shared link)."""
    pairs = lab.analysis.pairs()
    at = ok(app("histograms", pair=str(pairs[1])))
    at.query_params.clear()
    at.query_params["pair"] = str(pairs[2])
    ok(at.switch_page("pages/graph.py").run())
    assert param(at, "pair") == str(pairs[2])
