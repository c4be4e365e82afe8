"""The Streamlit dashboard, page by page, with streamlit.testing.v1.AppTest.

The app runs on the shipped model (checkpoints/hy, or $TRANSLIT_CHECKPOINT) with the small test
analysis of dashboard_fixtures.py. AppTest cannot open a URL path (test_browser.py does); it
opens pages by `?page=` and by `AppTest.switch_page`, and cannot click a plotly chart: a
selection is injected through `at.session_state[key]`.
"""
from __future__ import annotations

import os
import shutil
import time

import pytest

from dashboard.ui.widgets import pair_output_key
from dashboard.views import urls
from dashboard.views.card import best_ablation
from dashboard.views.heatmaps import CELL_LAYERS, HEATMAP_EXAMPLES, HEATMAP_TEXT, activations_for, default_rows
from dashboard.views.labels import pair_label
from dashboard.views.text import EXAMPLES, MAX_LIVE_CHARS
from dashboard.views.urls import HIST_MODES
from dashboard_fixtures import REPO
from translit_core.model.names import NeuronId

APP = str(REPO / "app.py")


def app(page: str | None = None, **params):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=120)
    if page:
        at.query_params["page"] = page
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def infos(at) -> str:
    return " ".join(texts(at.info))


def charts(at) -> list:
    return list(at.get("plotly_chart"))


def figure(chart) -> dict:
    import json
    return json.loads(chart.proto.spec)


def only_our_tags(body: str) -> bool:
    """Every tag in the page's custom HTML is one the app writes (user text is escaped)."""
    import re
    return set(re.findall(r"<\s*/?\s*([A-Za-z]\w*)", body)) <= {"span", "div", "br", "style"}


def htmls(at) -> str:
    return " ".join(e.proto.body for e in at.get("html"))


def param(at, key: str):
    """A query parameter after a run (AppTest gives a list for some keys)."""
    v = at.query_params.get(key)
    return v[-1] if isinstance(v, list) else v


def sidebar_links(at) -> list[str]:
    return [link.value for link in at.sidebar.get("page_link")]


# --------------------------------------------------------------------------------------------
# every page renders

PAGES = ("transliterate", "intervene", "graph", "histograms", "heatmaps", "neuron", "methods")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_by_its_page_link(lab_dir, page):
    at = ok(app(page))
    assert texts(at.title) == [urls.PAGES[page]]
    assert param(at, "page") == page
    assert sidebar_links(at) == list(urls.PAGES.values())        # the app's pages, nothing else


def test_the_root_is_the_default_page_and_names_it_in_the_url(lab_dir):
    at = ok(app())
    assert texts(at.title) == [urls.PAGES[urls.DEFAULT_PAGE]]
    assert param(at, "page") == urls.DEFAULT_PAGE
    assert sidebar_links(at) == list(urls.PAGES.values())


@pytest.mark.parametrize("page", PAGES)
def test_a_page_run_on_its_own_hands_over_to_the_app(lab_dir, page):
    """Streamlit runs pages/NAME.py without app.py while it still treats pages/ as an old-style
    multipage app (a fresh server; every AppTest run): the page must get the app's frame anyway."""
    at = ok(app())
    at.query_params.clear()                 # as a page change in the browser does (else ?page= wins)
    ok(at.switch_page(f"pages/{page}.py").run())
    assert texts(at.title) == [urls.PAGES[page]]
    assert param(at, "page") == page                              # app.py's routing ran
    assert sidebar_links(at) == list(urls.PAGES.values())         # and its sidebar


def test_page_param_keeps_the_other_parameters(lab_dir, lab):
    at = ok(app("histograms", pair="zz:9"))                       # from the root to /histograms
    assert texts(at.title) == ["Histograms"] and "zz:9" in infos(at)
    at = ok(app("transliterate", text="vonc es"))
    assert texts(at.code) == [lab.translit.transliterate("vonc es")]


# --------------------------------------------------------------------------------------------
# 1. transliterate

def test_transliterate_follows_the_text(lab_dir, lab):
    at = ok(app("transliterate"))
    assert texts(at.code) == [lab.translit.transliterate("barev dzez")]
    at.text_input(key="tl_text").input("es sirum em Deep Learning").run()
    ok(at)
    assert texts(at.code) == [lab.translit.transliterate("es sirum em Deep Learning")]
    assert at.query_params["text"] in ("es sirum em Deep Learning", ["es sirum em Deep Learning"])
    assert "tl-conf" in htmls(at) and "title=" in htmls(at)


def test_transliterate_example_buttons(lab_dir, lab):
    at = ok(app("transliterate"))
    at.button(key="tl_ex_2").click().run()
    assert at.text_input(key="tl_text").value == EXAMPLES[2]
    assert texts(at.code) == [lab.translit.transliterate(EXAMPLES[2])]


def test_transliterate_empty_emoji_armenian_and_html(lab_dir):
    at = ok(app("transliterate"))
    at.text_input(key="tl_text").input("").run()
    ok(at)
    assert "Type something" in infos(at) and not at.code
    at.text_input(key="tl_text").input("բարև 😀 <script>alert(1)</script>").run()
    ok(at)
    out = texts(at.code)[0]
    assert out.startswith("բարև 😀")                                  # Armenian and emoji pass through
    body = htmls(at)
    assert "&lt;" in body and "&gt;" in body
    assert only_our_tags(body)


def test_transliterate_100kb_gives_a_notice_not_a_freeze(lab_dir):
    at = ok(app("transliterate"))
    big = ("barev dzez, inchpes es " * 5000)[:100_000]
    t = time.perf_counter()
    at.text_input(key="tl_text").input(big).run()
    ok(at)
    assert time.perf_counter() - t < 60
    assert any("100,000" in w for w in texts(at.warning))
    assert param(at, "text") == big[:urls.MAX_URL_TEXT]                 # the URL keeps what fits
    assert any(f"first {urls.MAX_URL_TEXT} of the text's 100,000" in c for c in texts(at.caption))  # and says so
    assert len(texts(at.code)[0]) <= MAX_LIVE_CHARS * 2


def test_deep_link_text(lab_dir, lab):
    at = ok(app(text="Aydpes aveli sirun e"))             # a text linked at the root is transliterated
    assert texts(at.title) == ["Transliterate"] and param(at, "page") == "transliterate"
    assert texts(at.code) == [lab.translit.transliterate("Aydpes aveli sirun e")]


def test_transliterate_marks_what_the_lexicon_changed(lab_dir, lab):
    at = ok(app("transliterate", text="tsarav em"))
    assert texts(at.code) == ["ծարավ եմ"]                             # the network alone writes ծառավ
    assert "1 changed by the lexicon" in " ".join(texts(at.caption))
    assert htmls(at).count('class="k"') == 1 and "the network chose ռ" in htmls(at)


def test_unknown_page_is_a_note_not_a_traceback(lab_dir):
    at = ok(app("nosuchpage"))
    assert "no page" in infos(at) and "nosuchpage" in infos(at) and texts(at.title) == [urls.PAGES[urls.DEFAULT_PAGE]]
    assert param(at, "page") == urls.DEFAULT_PAGE
    at = ok(app("[Log in](https://evil.example)"))
    assert "](" not in infos(at).replace("`[Log in](https://evil.example)`", "")   # shown as code only


# --------------------------------------------------------------------------------------------
# 2. neuron graph

def graph_nodes(at) -> list[str]:
    fig = figure(charts(at)[0])
    nodes = next(t for t in fig["data"] if t.get("name") == "neurons")
    return nodes["customdata"]


def test_graph_matches_the_analysis(lab_dir, lab, default_pair):
    at = ok(app("graph"))
    ids = graph_nodes(at)
    a = lab.analysis
    for layer, k in (("hidden", 12), ("concat.fwd", 10), ("concat.bwd", 10)):
        top = [str(s.neuron) for s in a.top_neurons(default_pair, layer, k)]
        assert all(n in ids for n in top)
    fwd = [s.neuron.index for s in a.top_neurons(default_pair, "concat.fwd", 10)]
    assert all(f"gate.fwd.o:{i}" in ids and f"cell_prev.fwd:{i}" in ids for i in fwd)
    fig = figure(charts(at)[0])
    nodes = next(t for t in fig["data"] if t.get("name") == "neurons")
    assert (nodes["marker"]["cmin"], nodes["marker"]["cmax"]) == (0, 1)
    h = dict(zip(nodes["customdata"], nodes["marker"]["color"]))
    best = a.top_neurons(default_pair, "hidden", 1)[0]
    assert abs(h[str(best.neuron)] - best.hellinger_excess) < 1e-6          # colour: H excess over its null
    assert best.hellinger_excess == max(s.hellinger_excess for s in a.top_neurons(default_pair, "hidden", 228))


def test_graph_pair_selection_changes_graph_and_url(lab_dir, lab, default_pair):
    at = ok(app("graph"))
    before = graph_nodes(at)
    x = default_pair.x
    others = [y for y in at.selectbox(key=pair_output_key("graph_pair", x)).options if y != default_pair.y]
    if not others:
        pytest.skip(f"the test analysis has a single output for {x}")
    box = at.selectbox(key=pair_output_key("graph_pair", x))
    box.set_value(box.options[1] if box.value == box.options[0] else box.options[0]).run()
    ok(at)
    pair = f"{x}:{at.selectbox(key=pair_output_key('graph_pair', x)).value}"
    assert param(at, "pair") == pair
    assert graph_nodes(at) != before


def test_graph_output_click_from_the_list_of_the_input_before_is_dropped(lab_dir, lab, default_pair):
    """A browser under load can send an output clicked in the list of the input it just left,
    together with the new input. That click must not reach the new input's pair: the output box
    is a widget of its own per input (widgets.pair_output_key), so the new input gets the output
    chosen before (where it has it) and the pickers, graph and URL agree on that pair. With one
    output box for every input, the stale click would win wherever the new input has it too."""
    at = ok(app("graph"))
    x0, y0 = default_pair.x, default_pair.y
    by_input = urls.pairs_by_input(lab.analysis.pairs())

    def carried(x):                   # what the new input's box starts from
        return y0 if y0 in by_input[x] else by_input[x][0]

    cases = [(x, y) for x in by_input if x != x0 for y in by_input[x0] if y in by_input[x] and y != carried(x)]
    if not cases:
        pytest.skip("the test analysis has no input sharing another output with the default's")
    x1, stale = cases[0]
    at.selectbox(key=pair_output_key("graph_pair", x0)).set_value(stale)
    at.selectbox(key="graph_pair_x").set_value(x1).run()
    ok(at)
    y = at.selectbox(key=pair_output_key("graph_pair", x1)).value
    assert y == carried(x1) != stale
    assert pair_output_key("graph_pair", x0) not in [b.key for b in at.selectbox]   # the old box is gone
    assert param(at, "pair") == f"{x1}:{y}"
    title = figure(charts(at)[0])["layout"]["title"]["text"]
    assert f"separate {pair_label(lab.analysis.parse_pair(f'{x1}:{y}'))} " in title      # the graph drawn


def test_a_pair_picker_drawn_again_starts_from_its_default_not_the_pair_left(lab_dir, lab, default_pair):
    """Streamlit drops a widget's state in a run that does not draw it, but not the plain state
    pair_picker keeps its output in: a picker drawn again must not put the output it had
    before under the input it starts from (histograms: one view, compare, the one view again)."""
    at = ok(app("histograms"))
    by_input = urls.pairs_by_input(lab.analysis.pairs())
    x1 = next((x for x, ys in by_input.items() if x != default_pair.x and len(ys) > 1), None)
    if x1 is None:
        pytest.skip("the test analysis has no input other than the default's with two outputs")
    at.selectbox(key="hist_pair_x").set_value(x1).run()
    y1 = by_input[x1][1]
    at.selectbox(key=pair_output_key("hist_pair", x1)).set_value(y1).run()
    assert param(ok(at), "pair") == f"{x1}:{y1}"
    at.segmented_control(key="hist_mode").set_value(HIST_MODES["compare"]).run()
    xa = at.selectbox(key="hist_a_pair_x").value
    ya = at.selectbox(key=pair_output_key("hist_a_pair", xa)).value
    assert param(ok(at), "pair") == f"{xa}:{ya}" == f"{x1}:{y1}"      # A starts from the URL's pair
    # A goes to another input and an output there that y1 would not give it (y1 itself, or the first).
    x2 = next((x for x, ys in by_input.items() if x != x1 and len(ys) > 1), None)
    if x2 is None:
        pytest.skip("the test analysis has no third input with two outputs")
    y2 = next(y for y in by_input[x2] if y != (y1 if y1 in by_input[x2] else by_input[x2][0]))
    at.selectbox(key="hist_a_pair_x").set_value(x2).run()
    at.selectbox(key=pair_output_key("hist_a_pair", x2)).set_value(y2).run()
    a2 = f"{x2}:{y2}"
    assert param(ok(at), "pair") == a2
    at.segmented_control(key="hist_mode").set_value(HIST_MODES["one"]).run()
    ok(at)
    x = at.selectbox(key="hist_pair_x").value
    shown = f"{x}:{at.selectbox(key=pair_output_key('hist_pair', x)).value}"
    assert shown == param(at, "pair") == a2                     # the URL's pair, whole


def test_set_params_sends_the_url_even_when_the_browser_already_shows_it(monkeypatch):
    """The browser's URL a run starts from can be older than a URL message still on its way from
    the run before; every call sends its URL, so that the last run has the last word. Keys the
    call does not set keep the value this visit of the page last sent, not the browser's; a key
    tied to a widget (Compare's tabs, bind="query-params") is left alone."""
    from types import SimpleNamespace

    from streamlit.runtime.state.query_params import QueryParams

    from dashboard.ui import routing
    from dashboard.ui.routing import URL_SENT

    sent = []                                           # the query strings sent to the browser
    monkeypatch.setattr(QueryParams, "_send_query_param_msg", lambda self: sent.append(self.to_dict()))
    qp, state = QueryParams(), {}
    qp.set_with_no_forward_msg("page", "graph")
    qp.set_with_no_forward_msg("pair", "t:թ")
    qp.set_with_no_forward_msg("view", "Charts")
    qp.bind_widget("view", "tabs-id", "string_value", "page-hash")
    monkeypatch.setattr(routing, "st", SimpleNamespace(query_params=qp, session_state=state))
    url = {"page": "graph", "view": "Charts"}
    routing.set_params(pair="t:թ", neuron="hidden:3")        # a new key
    routing.set_params(pair="t:թ", neuron="hidden:3")        # nothing changed: sent all the same
    assert sent == [{**url, "pair": "t:թ", "neuron": "hidden:3"}] * 2
    sent.clear()
    routing.set_params(pair="t:տ", neuron=None)               # a change and a removal: the last message has both
    assert sent[-1] == {**url, "pair": "t:տ"} and len(sent) == 2
    sent.clear()
    routing.set_params(neuron=None)                           # all empty, all absent: still sent
    assert sent == [{**url, "pair": "t:տ"}]
    routing.set_params(text="barev")                          # another fragment's key
    qp.set_with_no_forward_msg("pair", "t:թ")                 # the browser is behind: its pair is stale
    sent.clear()
    routing.set_params(text="barev dzez")
    assert sent == [{**url, "pair": "t:տ", "text": "barev dzez"}]
    assert routing.url_param("pair") == "t:տ" and routing.url_param("neuron") is None   # read as sent
    state.pop(URL_SENT)                                       # another page since (routing.navigate),
    qp.set_with_no_forward_msg("pair", "t:թ")                 # and a link back here with its own pair
    assert routing.url_param("pair") == "t:թ"
    sent.clear()
    routing.set_params(text="vonc es")
    assert sent == [{**url, "pair": "t:թ", "text": "vonc es"}]


def test_graph_click_opens_histogram_and_card(lab_dir, lab, default_pair):
    at = ok(app("graph"))
    neuron = str(lab.analysis.top_neurons(default_pair, "hidden", 1)[0].neuron)
    at.session_state[f"graph:{default_pair}"] = {      # the chart of the pair shown (pages/graph.py)
        "selection": {"points": [{"customdata": neuron, "curve_number": 0, "point_index": 0}],
                      "point_indices": [0], "box": [], "lasso": []}}
    at.run()
    ok(at)
    assert param(at, "neuron") == neuron
    titles = [figure(c)["layout"].get("title", {}).get("text", "") for c in charts(at)]
    assert any(neuron in t and "H =" in t for t in titles)          # its histogram
    assert len(charts(at)) == 2                                     # the card's charts wait for its box
    at.session_state["graph_card_box"] = True                       # the card's box opened
    ok(at.run())
    assert any(f"Pairs {neuron} separates" in t or "Pairs it separates" in t
               for t in [figure(c)["layout"].get("title", {}).get("text", "") for c in charts(at)])
    links = [b.proto.url for b in at.get("link_button") if "Intervene" in b.proto.label]
    assert links == [urls.page_url("intervene", set=f"{neuron}=zero")]   # one, beside the card's link


def test_graph_output_click_switches_the_pair(lab_dir, lab, default_pair):
    """The output row offers what the Output picker offers for x; a click on one of its nodes
    switches the pickers, the graph and the URL to x -> that output, and opens no neuron."""
    from translit_core.model.alphabets import class_of_symbol
    at = ok(app("graph"))
    x = default_pair.x
    offered = at.selectbox(key=pair_output_key("graph_pair", x)).options
    ids = graph_nodes(at)
    outputs = [f"output:{class_of_symbol(lab.alphabets, y)}" for y in urls.pairs_by_input(lab.analysis.pairs())[x]]
    assert [i for i in ids if i.startswith("output:")] == outputs and len(outputs) == len(offered)
    others = [y for y in urls.pairs_by_input(lab.analysis.pairs())[x] if y != default_pair.y]
    if not others:
        pytest.skip(f"the test analysis has a single output for {x}")
    y = others[0]
    at.session_state[f"graph:{default_pair}"] = {
        "selection": {"points": [{"customdata": f"output:{class_of_symbol(lab.alphabets, y)}", "curve_number": 0,
                                  "point_index": 0}], "point_indices": [0], "box": [], "lasso": []}}
    at.run()
    ok(at)
    assert at.selectbox(key=pair_output_key("graph_pair", x)).value == y
    assert param(at, "pair") == f"{x}:{y}" and not param(at, "neuron")
    title = figure(charts(at)[0])["layout"]["title"]["text"]
    assert f"separate {pair_label(lab.analysis.parse_pair(f'{x}:{y}'))} " in title
    assert not [s for s in texts(at.subheader) if "Neuron card" in s]


def test_graph_colour_switch_raw_h_or_excess(lab_dir, lab, default_pair):
    at = ok(app("graph"))
    assert at.radio(key="graph_colour").value == "excess"
    at.radio(key="graph_colour").set_value("hellinger").run()
    ok(at)
    fig = figure(charts(at)[0])
    nodes = next(t for t in fig["data"] if t.get("name") == "neurons")
    h = dict(zip(nodes["customdata"], nodes["marker"]["color"]))
    best = lab.analysis.top_neurons(default_pair, "hidden", 1)[0]
    assert abs(h[str(best.neuron)] - best.hellinger) < 1e-6                  # raw H now
    assert (nodes["marker"]["cmin"], nodes["marker"]["cmax"]) == (0, 1)       # on the same scale
    assert "Hellinger H (raw)" in fig["layout"]["title"]["text"]


def test_graph_deep_link_and_bad_params(lab_dir, lab, default_pair):
    pairs = [str(p) for p in lab.analysis.pairs()]
    other = next(p for p in pairs if p != str(default_pair))
    at = ok(app("graph", pair=other, neuron="hidden:1"))
    x = at.selectbox(key="graph_pair_x").value
    assert f"{x}:{at.selectbox(key=pair_output_key('graph_pair', x)).value}" == other
    assert param(at, "neuron") == "hidden:1"
    assert any("hidden:1" in (figure(c)["layout"].get("title", {}).get("text", "")) for c in charts(at))
    at = ok(app("graph", pair="zz:9", neuron="hidden:99999"))
    notes = infos(at)
    assert "zz:9" in notes and "hidden:99999" in notes
    assert param(at, "pair") == str(default_pair)


# --------------------------------------------------------------------------------------------
# 3. histograms

def test_histogram_one_neuron_follows_the_widgets(lab_dir, lab, default_pair):
    at = ok(app("histograms", pair=str(default_pair), neuron="hidden:2"))
    title = figure(charts(at)[0])["layout"]["title"]["text"]
    assert "hidden:2" in title
    h = lab.analysis.hellinger_of(default_pair, "hidden:2")
    assert f"{h:.3f}" in title                                     # same H as the analysis tables
    at.number_input(key="hist_neuron_index").set_value(3).run()
    ok(at)
    assert "hidden:3" in figure(charts(at)[0])["layout"]["title"]["text"]
    assert param(at, "neuron") == "hidden:3"


def test_histogram_top_n_and_compare(lab_dir, default_pair):
    at = ok(app("histograms"))
    at.segmented_control(key="hist_mode").set_value("Top neurons of a layer").run()
    ok(at)
    at.slider(key="hist_top_n").set_value(3).run()
    ok(at)
    grid = figure(charts(at)[0])
    assert len(grid["data"]) == 6 and len(grid["layout"]["annotations"]) == 3
    at.segmented_control(key="hist_mode").set_value("Compare side by side").run()
    ok(at)
    assert len(charts(at)) == 2


# --------------------------------------------------------------------------------------------
# 4. heatmaps

def heat_rows(at) -> list[str]:
    """The neuron rows of the heatmap (the annotation tracks under them left out)."""
    fig = figure(charts(at)[-1])
    k = len(next((t["y"] for t in fig["data"] if t.get("name") == "tracks"), []))
    ticks = fig["layout"]["yaxis"]["ticktext"][::-1]
    return ticks[1:len(ticks) - k]


def leaves(at) -> list:
    """The page's elements in the order they are shown (containers and columns left out)."""
    from streamlit.testing.v1.element_tree import Block

    def walk(node):
        for child in node.children.values():
            yield from walk(child) if isinstance(child, Block) else (child,)
    return list(walk(at.main))


def test_heatmap_leads_with_the_cell_units_of_the_suffix(lab_dir, lab):
    """Right under the title, its caption and the text box: the heatmap, its rows the cell-state
    units that fire most on -utyun; the substring table and the hypothesis panel come after it."""
    at = ok(app("heatmaps"))
    want = default_rows(activations_for(lab.model, lab.alphabets, HEATMAP_TEXT), HEATMAP_TEXT)
    assert want and all(name.split(":")[0] in CELL_LAYERS for name in want)
    assert heat_rows(at) == want and at.multiselect(key="hm_rows").value == want
    shown = leaves(at)
    types = [e.type for e in shown]
    first = types.index("plotly_chart")
    assert types[:first] == ["title", "caption", "text_area"]
    keys = [getattr(e, "key", None) for e in shown]
    assert first < keys.index("hm_found_df") < keys.index("hm_span")
    at = ok(app("heatmaps", neuron="hidden:5"))                 # a linked neuron leads, the suffix's cells follow
    assert heat_rows(at) == ["hidden:5"] + want[:3]
    at = ok(app("heatmaps", neuron=want[-1]))                   # one of them: all of them, it first
    assert heat_rows(at) == [want[-1]] + want[:-1]


def test_heatmap_default_and_rows(lab_dir):
    at = ok(app("heatmaps"))
    rows = heat_rows(at)
    assert rows and all(":" in r for r in rows)
    found = at.session_state["hm_found"]
    assert found.scores and found.armenian                        # the substring search ran
    at.multiselect(key="hm_rows").set_value(["hidden:4", "gate.bwd.g:6"]).run()
    ok(at)
    assert heat_rows(at) == ["hidden:4", "gate.bwd.g:6"]
    assert param(at, "neuron") == "hidden:4"
    links = [b.proto.url for b in at.get("link_button") if "Intervene" in b.proto.label]
    assert links == [urls.page_url("intervene", text=param(at, "text"), set="hidden:4=zero,gate.bwd.g:6=zero")]


def test_heatmap_find_neurons_for_a_substring_and_add_them(lab_dir):
    at = ok(app("heatmaps"))
    at.text_input(key="hm_sub").input("tyun")
    at.button(key="hm_find").click().run()
    ok(at)
    found = at.session_state["hm_found"]
    names = [str(s.neuron) for s in found.scores]
    assert names and [s.hellinger for s in found.scores] == sorted((s.hellinger for s in found.scores),
                                                                   reverse=True)
    at.multiselect(key="hm_rows").set_value([]).run()
    at.button(key="hm_add_top").click().run()
    ok(at)
    assert heat_rows(at) == names[:4]


def test_heatmap_example_texts(lab_dir):
    at = ok(app("heatmaps"))
    at.button(key="hm_ex_1").click().run()
    ok(at)
    assert at.text_area(key="hm_text").value == HEATMAP_EXAMPLES[1][1]
    fig = figure(charts(at)[-1])
    shown = "".join("".join(t["text"][0]) for t in fig["data"] if t["type"] == "heatmap" and t.get("name") != "tracks")
    assert shown == HEATMAP_EXAMPLES[1][1]                      # the input characters, row by row


def test_heatmap_text_deep_link_and_bad_rows(lab_dir):
    at = ok(app("heatmaps", text="barev <b>dzez</b>", neuron="nope:1"))
    assert "nope:1" in infos(at)
    assert at.text_area(key="hm_text").value == "barev <b>dzez</b>"
    fig = figure(charts(at)[-1])
    cells = [c for t in fig["data"] if t["type"] == "heatmap" for row in t["text"] for c in row]
    assert "&lt;" in cells and "<" not in cells
    at.text_area(key="hm_text").input("").run()
    ok(at)
    assert "Type a text" in infos(at)


# --------------------------------------------------------------------------------------------
# 5. neuron card

def test_neuron_card_deep_link(lab_dir, lab):
    at = ok(app("neuron", neuron="hidden:5"))
    assert any("hidden:5" in s for s in texts(at.subheader))
    bars = figure(charts(at)[0])
    best = lab.analysis.top_pairs("hidden:5", 10)
    assert len(bars["data"][0]["x"]) == len(best)
    assert abs(max(bars["data"][0]["x"]) - best[0].hellinger_excess) < 1e-6     # bars: H excess over the null
    assert "tl-ctx" in htmls(at)                                    # the top contexts


def test_neuron_card_widgets_and_ablation(lab_dir, lab):
    at = ok(app("neuron"))
    at.selectbox(key="card_neuron_layer").set_value("concat.bwd").run()
    at.number_input(key="card_neuron_index").set_value(7).run()
    ok(at)
    assert any("concat.bwd:7" in s for s in texts(at.subheader))
    assert param(at, "neuron") == "concat.bwd:7"
    titles = " ".join(figure(c)["layout"].get("title", {}).get("text", "") for c in charts(at))
    res = best_ablation(lab.analysis, NeuronId("concat.bwd", 7),
                        [s.pair for s in lab.analysis.top_pairs("concat.bwd:7", 10)])
    assert ("Ablating" in titles) == (res is not None)


def test_neuron_card_bad_neuron(lab_dir):
    at = ok(app("neuron", neuron="gate.fwd.q:1"))
    assert "gate.fwd.q:1" in infos(at)
    assert at.subheader


# --------------------------------------------------------------------------------------------
# 7. a missing analysis file

@pytest.fixture
def bare_checkpoint(lab_dir, tmp_path):
    for name in ("model.json", "model.safetensors"):
        shutil.copy2(lab_dir / name, tmp_path / name)
    old = os.environ["TRANSLIT_CHECKPOINT"]
    os.environ["TRANSLIT_CHECKPOINT"] = str(tmp_path)
    yield tmp_path
    os.environ["TRANSLIT_CHECKPOINT"] = old


@pytest.mark.parametrize("page", ("graph", "histograms", "neuron"))
def test_missing_analysis_shows_the_command(bare_checkpoint, page):
    at = ok(app(page))
    assert any("analysis" in w for w in texts(at.warning))
    assert any("python -m translit_core analyze" in c for c in texts(at.code))
    assert not charts(at)


def test_missing_analysis_transliterate_and_heatmaps_still_work(bare_checkpoint):
    at = ok(app("transliterate"))
    assert at.code
    at = ok(app("heatmaps"))
    assert charts(at)
    assert "text above only" in at.session_state["hm_found"].note


def test_stale_analysis_says_so_and_offers_the_command(lab_dir, tmp_path):
    """An analysis built for other weights (the checkpoint was retrained) is not used."""
    from safetensors.torch import load_file, save_file
    for name in ("model.json", "analysis.json", "analysis.safetensors"):
        shutil.copy2(lab_dir / name, tmp_path / name)
    weights = load_file(lab_dir / "model.safetensors")
    first = sorted(weights)[0]
    weights[first] = weights[first] + 1e-3
    save_file(weights, tmp_path / "model.safetensors")
    old = os.environ["TRANSLIT_CHECKPOINT"]
    os.environ["TRANSLIT_CHECKPOINT"] = str(tmp_path)
    try:
        at = ok(app("graph"))
    finally:
        os.environ["TRANSLIT_CHECKPOINT"] = old
    assert any("analyze" in c for c in texts(at.code)) and not charts(at)
    assert "is out of date" in " ".join(texts(at.markdown))


def test_histogram_view_state_round_trips_through_the_url(lab_dir, lab, default_pair):
    at = ok(app("histograms", mode="top", layer="concat.bwd", n="3"))
    assert at.session_state["hist_mode"] == "Top neurons of a layer"
    assert at.selectbox(key="hist_top_layer").value == "concat.bwd"
    assert at.slider(key="hist_top_n").value == 3
    at.slider(key="hist_top_n").set_value(5)
    ok(at.run())
    assert at.query_params["mode"] == "top" and at.query_params["n"] == "5"      # widgets write the URL
    assert at.query_params["layer"] == "concat.bwd"
    at = ok(app("histograms", mode="compare", pair2=str(default_pair), neuron2="hidden:3"))
    assert at.query_params["mode"] == "compare" and at.query_params["neuron2"] == "hidden:3"
    bad = ok(app("histograms", mode="sideways", n="99"))
    assert "sideways" in infos(bad) and "99" in infos(bad)
    assert bad.session_state["hist_mode"] == "One neuron"


# --------------------------------------------------------------------------------------------
# 8. intervene

IV_TEXT = "tsaghiknery tsaghkum en, barev"


def engine_intervene(lab, text, settings, span=None):
    from translit_core.analysis.methods.intervene import intervene
    means = lab.analysis.unit_means() if any(s.op == "mean" for s in settings) else None
    return intervene(lab.model, lab.alphabets, text, settings, span=span, means=means)


def n_changed(at, which: int = 0) -> int:
    """The characters highlighted as changed in the page's first (before/after) or second (steer) view."""
    views = [e.proto.body for e in at.get("html") if 'class="iv-al"' in e.proto.body]
    return views[which].count('class="iv-c ch"')


def iv_settings(lab, params):
    from dashboard.views.intervene import parse_settings
    return parse_settings(params, lab.sizes).value


def test_intervene_without_neurons_is_the_plain_model(lab_dir):
    at = ok(app("intervene", text="barev dzez"))
    assert texts(at.title) == ["Intervene"]
    assert "No neuron selected: this is the plain model." in infos(at)
    assert n_changed(at) == 0
    assert "set" not in at.query_params and "scale" not in at.query_params


def test_intervene_url_reproduces_the_engines_change(lab_dir, lab, default_pair):
    top = {layer: [str(s.neuron) for s in lab.analysis.top_neurons(default_pair, layer, 5)]
           for layer in ("concat.fwd", "concat.bwd", "hidden")}
    scaled = [n for n in top["concat.bwd"] + top["hidden"] if n != "hidden:3"]
    params = {"set": ",".join(f"{n}=1" for n in top["concat.fwd"][:3]) + ",hidden:3=mean",
              "scale": ",".join(f"{n}=-3" for n in scaled), "add": f"{top['concat.fwd'][4]}=0.75"}
    text = "tari tun tesnel tatik"
    at = ok(app("intervene", text=text, **params))
    want = engine_intervene(lab, text, iv_settings(lab, params))
    assert want.changed                                          # a strong push: something changes
    assert want.summary() in infos(at)
    assert n_changed(at) == len(want.changed)
    assert at.session_state["iv_neurons"] == [*top["concat.fwd"][:3], "hidden:3", *scaled, top["concat.fwd"][4]]
    assert at.selectbox(key=f"iv_op:{scaled[0]}").value == "scale"
    assert at.selectbox(key="iv_op:hidden:3").value == "mean"
    assert at.number_input(key=f"iv_add:{top['concat.fwd'][4]}").value == 0.75
    # the URL keeps the intervention (written back by the widgets, in the same form)
    assert param(at, "set") == params["set"] and param(at, "scale") == params["scale"]
    assert param(at, "add") == params["add"]
    # with a span, the engine's span
    at = ok(app("intervene", text=text, span="0:11", **params))
    want = engine_intervene(lab, text, iv_settings(lab, params), span=(0, 11))
    assert want.summary() in infos(at)
    assert n_changed(at) == len(want.changed)
    assert param(at, "span") == "0:11" and at.radio(key="iv_where").value == "span"
    assert tuple(at.slider(key="iv_span").value) == (0, 11)


def test_intervene_widgets_add_change_and_remove_neurons(lab_dir, lab, default_pair):
    at = ok(app("intervene", text=IV_TEXT))
    at.text_input(key="iv_names").input("hidden:3, nosuch:1, concat.bwd:2")
    ok(at.run())
    assert at.session_state["iv_neurons"] == ["hidden:3", "concat.bwd:2"]
    assert "nosuch" in infos(at)
    assert param(at, "set") == "hidden:3=zero,concat.bwd:2=zero"
    at.selectbox(key="iv_op:hidden:3").set_value("set")
    ok(at.run())
    slider = at.slider(key="iv_clamp:hidden:3")
    assert slider.min <= slider.value <= slider.max and slider.min < slider.max
    slider.set_value(slider.max)
    ok(at.run())
    want = engine_intervene(lab, IV_TEXT, iv_settings(lab, {"set": f"hidden:3={slider.max},concat.bwd:2=zero"}))
    assert want.summary() in infos(at)
    at.button(key="iv_rm:concat.bwd:2").click()
    ok(at.run())
    assert at.session_state["iv_neurons"] == ["hidden:3"] and "concat.bwd:2" not in param(at, "set")
    # the quick pick adds a pair's top k by H
    at.number_input(key="iv_top_k").set_value(3)
    at.button(key="iv_add_top").click()
    ok(at.run())
    layer = at.selectbox(key="iv_top_layer").value
    top = [str(s.neuron) for s in lab.analysis.top_neurons(default_pair, layer, 3)]
    assert at.session_state["iv_neurons"] == ["hidden:3"] + [n for n in top if n != "hidden:3"]


@pytest.mark.parametrize("params, shown", [
    ({"set": "nosuch:1=0"}, "nosuch"), ({"set": "hidden:9999=0"}, "hidden:9999"),
    ({"set": "hidden:1=banana"}, "banana"), ({"scale": "hidden:1=1e99"}, "1e99"),
    ({"set": "hidden:1=0", "span": "40:2"}, "40:2"), ({"alpha": "99"}, "99"), ({"k": "-1"}, "-1"),
    ({"at": "999"}, "999"), ({"steer": "zz:9"}, "zz:9")])
def test_intervene_bad_url_params_give_a_note(lab_dir, params, shown):
    at = ok(app("intervene", text=IV_TEXT, **params))
    assert shown in infos(at)
    assert "characters changed" in infos(at) or "plain model" in infos(at)


def test_intervene_text_is_escaped(lab_dir):
    at = ok(app("intervene", text='<img src=x onerror=alert(1)> "t" & <b>'))
    assert only_our_tags(htmls(at))


def test_intervene_steer_section_matches_the_engine(lab_dir, lab, default_pair):
    from dashboard.views.intervene import count_written, steer_sentence
    from translit_core.analysis.methods.intervene import steer
    text = "tari tun tesnel"
    at = ok(app("intervene", text=text, steer=str(default_pair), k="7", alpha="1.5"))
    res, n_x, n_y = steer(lab.model, lab.alphabets, lab.analysis, text, default_pair, k=7, alpha=1.5)
    assert steer_sentence(default_pair, n_x, n_y, count_written(res, default_pair, False)) in infos(at)
    assert n_changed(at, 1) == len(res.changed)
    assert at.slider(key="iv_k").value == 7 and at.slider(key="iv_alpha").value == 1.5
    assert param(at, "steer") == str(default_pair) and param(at, "k") == "7" and param(at, "alpha") == "1.5"
    at.slider(key="iv_alpha").set_value(-2.0)
    ok(at.run())
    assert param(at, "alpha") == "-2"


def test_intervene_attribution_states_completeness(lab_dir, lab):
    from dashboard.views.intervene import completeness_line
    from translit_core.analysis.methods.attribution import attribute
    at = ok(app("intervene", text="barev dzez", at="3"))
    assert at.selectbox(key="iv_at").value == 3
    attr = attribute(lab.model, lab.alphabets, "barev dzez", 3)
    line = " ".join(texts(at.caption))
    assert completeness_line(attr) in line.replace("\\", "")
    assert len(charts(at)) == 2                                  # characters, units
    rows = figure(charts(at)[0])["layout"]["yaxis"]["ticktext"][::-1]
    assert [r.split(" (Σ")[0] for r in rows] == ["output", "total", "forward LSTM", "backward LSTM",
                                                 "direct (input → output)"]
    assert abs(attr.delta) < 0.5


def test_neuron_card_links_to_intervene(lab_dir):
    at = ok(app("neuron", neuron="hidden:5"))
    links = [b for b in at.get("link_button") if "Intervene" in b.proto.label]
    assert links and links[0].proto.url == urls.page_url("intervene", set="hidden:5=zero")


def test_intervene_without_an_analysis_still_intervenes(bare_checkpoint, lab):
    at = ok(app("intervene", text="tari tun", set="hidden:3=0,concat.fwd:7=mean"))
    assert any("analysis" in w for w in texts(at.warning))                 # the quick pick and steer need it
    assert any("python -m translit_core analyze" in c for c in texts(at.code))
    assert not any("mean" in o for o in at.selectbox(key="iv_op:hidden:3").options)
    assert at.selectbox(key="iv_op:concat.fwd:7").value == "zero"          # no mean without the analysis
    assert "its mean needs the neuron analysis" in infos(at) and "set to zero here" in infos(at)
    assert "characters changed" in infos(at)


def test_intervene_empty_and_long_text(lab_dir):
    at = ok(app("intervene", text="", set="hidden:3=0"))
    assert "Type something" in infos(at)
    at = ok(app("intervene", text="barev " * 500, set="hidden:3=0"))      # 3,000 characters
    assert any("2,000" in w or "first" in w for w in texts(at.warning))
    assert "characters changed" in infos(at)
