"""The Streamlit dashboard, page by page, with streamlit.testing.v1.AppTest.

The app runs on the shipped model (checkpoints/hy, or $TRANSLIT_CHECKPOINT) with a small
analysis built for the tests by the real engine (a few hundred held-out sentences, a lower
count threshold), so the tests are quick, need no analysis file in the repository and assert
only structure and consistency with the analysis API, never facts about particular weights.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
LAB_SENTENCES, LAB_MIN_COUNT = 150, 20


# --------------------------------------------------------------------------------------------
# the test lab: shipped weights + a small analysis (shared with test_browser.py via the disk)

def source_checkpoint() -> Path:
    from translit_core.checkpoint import DEFAULT_CHECKPOINT
    env = os.environ.get("TRANSLIT_CHECKPOINT", "").strip()
    src = Path(env) if env else DEFAULT_CHECKPOINT
    if not (src / "model.safetensors").is_file():
        pytest.fail(f"no trained model at {src} (model.safetensors): the dashboard tests need the shipped "
                    f"checkpoint; set TRANSLIT_CHECKPOINT to another checkpoint directory to use that")
    return src


def _copy_lexicon(src: Path, lab: Path) -> None:
    from translit_core.lexicon import LEXICON
    if (src / LEXICON).is_file():
        shutil.copy2(src / LEXICON, lab / LEXICON)


def build_test_lab() -> Path:
    """A checkpoint directory with the shipped weights and a small analysis next to them, and
    the engine's recording cache inside it. Built once per weights file (kept under
    artifacts/, which git ignores), so later runs and the browser tests reuse it."""
    from translit_core import analysis as an
    src = source_checkpoint()
    sha = an.file_sha256(src / "model.safetensors")[:16]
    lab = REPO / "artifacts" / "test-lab" / f"{sha}-v{an.FORMAT_VERSION}-{LAB_SENTENCES}-{LAB_MIN_COUNT}"
    done = lab / "ready"
    if done.is_file() and (lab / "analysis.json").is_file():
        _copy_lexicon(src, lab)
        return lab
    shutil.rmtree(lab.parent, ignore_errors=True)          # labs of older weights
    shutil.rmtree(lab, ignore_errors=True)
    lab.mkdir(parents=True)
    for name in ("model.json", "model.safetensors"):
        shutil.copy2(src / name, lab / name)
    _copy_lexicon(src, lab)
    data = an.default_data_dir()
    if not any(next(data.glob(g), None) for g in an.HELDOUT_GLOBS):
        data = REPO / "tests" / "fixtures" / "corpus" / "data"
    old = os.environ.get("TRANSLIT_CACHE")
    os.environ["TRANSLIT_CACHE"] = str(lab / "cache")
    try:
        an.run_analysis(lab, n_sentences=LAB_SENTENCES, min_count=LAB_MIN_COUNT, data_dir=data,
                        ablation_draws=2, log=lambda *a: None)
    finally:
        if old is None:
            os.environ.pop("TRANSLIT_CACHE", None)
        else:
            os.environ["TRANSLIT_CACHE"] = old
    done.write_text("ok")
    return lab


@pytest.fixture(scope="module")
def lab_dir():
    import torch
    lab = build_test_lab()
    saved = {k: os.environ.get(k) for k in ("TRANSLIT_CHECKPOINT", "TRANSLIT_CACHE")}
    threads = torch.get_num_threads()          # the app sets 1 for its process; give it back
    os.environ["TRANSLIT_CHECKPOINT"] = str(lab)
    os.environ["TRANSLIT_CACHE"] = str(lab / "cache")
    yield lab
    torch.set_num_threads(threads)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def lab(lab_dir):
    from translit_core import views
    return views.load_lab(lab_dir)


@pytest.fixture(scope="module")
def default_pair(lab):
    from translit_core import views
    return views.parse_pair(None, [str(p) for p in lab.analysis.pairs()]).value


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


# --------------------------------------------------------------------------------------------
# every page renders

PAGES = ("transliterate", "graph", "histograms", "heatmaps", "neuron")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(lab_dir, page):
    at = ok(app(page))
    titles = texts(at.title)
    from translit_core import views
    assert titles == [views.PAGES[page]]
    assert at.query_params["page"] == [page] or at.query_params["page"] == page


# --------------------------------------------------------------------------------------------
# 1. transliterate

def test_transliterate_follows_the_text(lab_dir, lab):
    at = ok(app())
    assert texts(at.code) == [lab.translit.transliterate("barev dzez")]
    at.text_input(key="tl_text").input("es sirum em Deep Learning").run()
    ok(at)
    assert texts(at.code) == [lab.translit.transliterate("es sirum em Deep Learning")]
    assert at.query_params["text"] in ("es sirum em Deep Learning", ["es sirum em Deep Learning"])
    assert "tl-conf" in htmls(at) and "title=" in htmls(at)


def test_transliterate_example_buttons(lab_dir, lab):
    at = ok(app())
    at.button(key="tl_ex_2").click().run()
    from translit_core import views
    assert at.text_input(key="tl_text").value == views.EXAMPLES[2]
    assert texts(at.code) == [lab.translit.transliterate(views.EXAMPLES[2])]


def test_transliterate_empty_emoji_armenian_and_html(lab_dir):
    at = ok(app())
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
    at = ok(app())
    big = ("barev dzez, inchpes es " * 5000)[:100_000]
    t = time.perf_counter()
    at.text_input(key="tl_text").input(big).run()
    ok(at)
    assert time.perf_counter() - t < 60
    assert any("100,000" in w for w in texts(at.warning))
    assert "text" not in at.query_params                               # long texts stay out of the URL
    from translit_core import views
    assert len(texts(at.code)[0]) <= views.MAX_LIVE_CHARS * 2


def test_deep_link_text(lab_dir, lab):
    at = ok(app(text="Aydpes aveli sirun e"))
    assert texts(at.title) == ["Transliterate"]
    assert texts(at.code) == [lab.translit.transliterate("Aydpes aveli sirun e")]


def test_transliterate_marks_what_the_lexicon_changed(lab_dir, lab):
    at = ok(app(text="tsarav em"))
    assert texts(at.code) == ["ծարավ եմ"]                             # the network alone writes ծառավ
    assert "1 changed by the lexicon" in " ".join(texts(at.caption))
    assert htmls(at).count('class="k"') == 1 and "the network chose ռ" in htmls(at)


def test_unknown_page_is_a_note_not_a_traceback(lab_dir):
    at = ok(app("nosuchpage"))
    assert "no page" in infos(at) and texts(at.title) == ["Transliterate"]
    assert at.query_params["page"] in ("transliterate", ["transliterate"])


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
    fwd = [str(s.neuron).split(":")[1] for s in a.top_neurons(default_pair, "concat.fwd", 10)]
    assert all(f"gate.fwd.o:{i}" in ids and f"cell_prev.fwd:{i}" in ids for i in fwd)
    fig = figure(charts(at)[0])
    nodes = next(t for t in fig["data"] if t.get("name") == "neurons")
    assert (nodes["marker"]["cmin"], nodes["marker"]["cmax"]) == (0, 1)
    h = dict(zip(nodes["customdata"], nodes["marker"]["color"]))
    name = str(a.top_neurons(default_pair, "hidden", 1)[0].neuron)
    assert abs(h[name] - a.hellinger_of(default_pair, name)) < 1e-6


def test_graph_pair_selection_changes_graph_and_url(lab_dir, lab, default_pair):
    at = ok(app("graph"))
    before = graph_nodes(at)
    x = default_pair.split(":")[0]
    others = [y for y in at.selectbox(key="graph_pair_y").options if y != default_pair.split(":", 1)[1]]
    if not others:
        pytest.skip(f"the test analysis has a single output for {x}")
    box = at.selectbox(key="graph_pair_y")
    box.set_value(box.options[1] if box.value == box.options[0] else box.options[0]).run()
    ok(at)
    pair = f"{x}:{at.selectbox(key='graph_pair_y').value}"
    assert at.query_params["pair"] in (pair, [pair])
    assert graph_nodes(at) != before


def test_graph_click_opens_histogram_and_card(lab_dir, lab, default_pair):
    at = ok(app("graph"))
    neuron = str(lab.analysis.top_neurons(default_pair, "hidden", 1)[0].neuron)
    at.session_state["graph"] = {"selection": {"points": [{"customdata": neuron, "curve_number": 0,
                                                           "point_index": 0}],
                                               "point_indices": [0], "box": [], "lasso": []}}
    at.run()
    ok(at)
    assert at.query_params["neuron"] in (neuron, [neuron])
    assert any(neuron in s for s in texts(at.subheader))            # the neuron card
    titles = [figure(c)["layout"].get("title", {}).get("text", "") for c in charts(at)]
    assert any(neuron in t and "H =" in t for t in titles)          # its histogram


def test_graph_deep_link_and_bad_params(lab_dir, lab, default_pair):
    pairs = [str(p) for p in lab.analysis.pairs()]
    other = next(p for p in pairs if p != default_pair)
    at = ok(app("graph", pair=other, neuron="hidden:1"))
    assert f"{at.selectbox(key='graph_pair_x').value}:{at.selectbox(key='graph_pair_y').value}" == other
    assert any("hidden:1" in s for s in texts(at.subheader))
    at = ok(app("graph", pair="zz:9", neuron="hidden:99999"))
    notes = infos(at)
    assert "zz:9" in notes and "hidden:99999" in notes
    assert at.query_params["pair"] in (default_pair, [default_pair])


# --------------------------------------------------------------------------------------------
# 3. histograms

def test_histogram_one_neuron_follows_the_widgets(lab_dir, lab, default_pair):
    at = ok(app("histograms", pair=default_pair, neuron="hidden:2"))
    title = figure(charts(at)[0])["layout"]["title"]["text"]
    assert "hidden:2" in title
    h = lab.analysis.hellinger_of(default_pair, "hidden:2")
    assert f"{h:.3f}" in title                                     # same H as the analysis tables
    at.number_input(key="hist_neuron_index").set_value(3).run()
    ok(at)
    assert "hidden:3" in figure(charts(at)[0])["layout"]["title"]["text"]
    assert at.query_params["neuron"] in ("hidden:3", ["hidden:3"])


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
    fig = figure(charts(at)[-1])
    return fig["layout"]["yaxis"]["ticktext"][::-1][1:]


def test_heatmap_default_and_rows(lab_dir):
    at = ok(app("heatmaps"))
    rows = heat_rows(at)
    assert rows and all(":" in r for r in rows)
    found = at.session_state["hm_found"]
    assert found.scores and found.armenian                        # the substring search ran
    at.multiselect(key="hm_rows").set_value(["hidden:4", "gate.bwd.g:6"]).run()
    ok(at)
    assert heat_rows(at) == ["hidden:4", "gate.bwd.g:6"]
    assert at.query_params["neuron"] in ("hidden:4", ["hidden:4"])


def test_heatmap_find_neurons_for_a_substring_and_add_them(lab_dir):
    at = ok(app("heatmaps"))
    at.text_input(key="hm_sub").input("tyun")
    at.button(key="hm_find").click().run()
    ok(at)
    found = at.session_state["hm_found"]
    names = [s.name for s in found.scores]
    assert names and [s.hellinger for s in found.scores] == sorted((s.hellinger for s in found.scores),
                                                                   reverse=True)
    at.multiselect(key="hm_rows").set_value([]).run()
    at.button(key="hm_add_top").click().run()
    ok(at)
    assert heat_rows(at) == names[:4]


def test_heatmap_example_texts(lab_dir):
    from translit_core import views
    at = ok(app("heatmaps"))
    at.button(key="hm_ex_1").click().run()
    ok(at)
    assert at.text_area(key="hm_text").value == views.HEATMAP_EXAMPLES[1][1]
    fig = figure(charts(at)[-1])
    shown = "".join("".join(t["text"][0]) for t in fig["data"] if t["type"] == "heatmap")
    assert shown == views.HEATMAP_EXAMPLES[1][1]                      # the input characters, row by row


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
    assert abs(max(bars["data"][0]["x"]) - best[0].hellinger) < 1e-6
    assert "tl-ctx" in htmls(at)                                    # the top contexts


def test_neuron_card_widgets_and_ablation(lab_dir, lab):
    at = ok(app("neuron"))
    at.selectbox(key="card_neuron_layer").set_value("concat.bwd").run()
    at.number_input(key="card_neuron_index").set_value(7).run()
    ok(at)
    assert any("concat.bwd:7" in s for s in texts(at.subheader))
    assert at.query_params["neuron"] in ("concat.bwd:7", ["concat.bwd:7"])
    titles = " ".join(figure(c)["layout"].get("title", {}).get("text", "") for c in charts(at))
    from translit_core import views
    res = views.best_ablation(lab.analysis, "concat.bwd:7",
                              [s.name for s in views.top_pairs(lab.analysis, "concat.bwd:7", 10)])
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
    at = ok(app())
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
    assert "cannot be used" in " ".join(texts(at.markdown))


def test_histogram_view_state_round_trips_through_the_url(lab_dir, lab, default_pair):
    at = ok(app("histograms", mode="top", layer="concat.bwd", n="3"))
    assert at.session_state["hist_mode"] == "Top neurons of a layer"
    assert at.selectbox(key="hist_top_layer").value == "concat.bwd"
    assert at.slider(key="hist_top_n").value == 3
    at.slider(key="hist_top_n").set_value(5)
    ok(at.run())
    assert at.query_params["mode"] == "top" and at.query_params["n"] == "5"      # widgets write the URL
    assert at.query_params["layer"] == "concat.bwd"
    at = ok(app("histograms", mode="compare", pair2=default_pair, neuron2="hidden:3"))
    assert at.query_params["mode"] == "compare" and at.query_params["neuron2"] == "hidden:3"
    bad = ok(app("histograms", mode="sideways", n="99"))
    assert "sideways" in infos(bad) and "99" in infos(bad)
    assert bad.session_state["hist_mode"] == "One neuron"
