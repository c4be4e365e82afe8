"""The Start page: the lab in two sentences with the post's link, the post's four figures from the
model's own numbers (each a link into its page with the selection set), and the glossary that
every page's sidebar carries."""
from __future__ import annotations

from dashboard.views.start import GLOSSARY, POST_URL
from test_app import app, charts, figure, ok


def links(at) -> list:
    return list(at.main.get("page_link"))


def test_the_start_page_draws_the_posts_four_figures_and_links_into_them(lab_dir, lab, default_pair):
    at = ok(app("start"))
    text = " ".join(m.value for m in at.markdown)
    assert POST_URL in text and "barev dzez" in text
    assert len(charts(at)) == 4                                   # graph, histogram, #70's pairs, -tyun heatmap
    best = lab.analysis.top_neurons(default_pair, "hidden", 1)[0].neuron
    assert f"`{best}`" in text                                     # (b) names the histogram's neuron
    titles = " ".join(str(figure(c).get("layout", {}).get("title", {}).get("text", "")) for c in charts(at))
    assert str(best) in titles
    from urllib.parse import parse_qs
    targets = [(link.proto.page, {k: v[0] for k, v in parse_qs(link.proto.query_string).items()})
               for link in links(at)]
    assert {"graph", "histograms", "neuron", "heatmaps", "transliterate", "intervene", "compare"} <= {
        page for page, _ in targets}
    assert ("graph", {"pair": str(default_pair)}) in targets                       # each with its selection
    assert ("histograms", {"pair": str(default_pair), "neuron": str(best)}) in targets


def test_every_page_has_the_glossary(lab_dir):
    for page in ("start", "graph", "transliterate"):
        at = ok(app(page))
        popover = " ".join(m.value for m in at.sidebar.markdown)
        assert all(term in popover for term, _ in GLOSSARY), page
        assert "Hellinger" in popover and "forget gate" in popover
