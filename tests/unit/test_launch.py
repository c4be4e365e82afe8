"""The lab's server (dashboard/launch.py) and what the app says about the URLs it redirects:
deeper paths to a page with `from`, links too long for Streamlit cut with `cut`.
The browser side is tests/browser/test_browser_hostile.py."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.views import urls
from dashboard.launch import MAX_QUERY_CHARS, MAX_QUERY_FIELDS, redirect_for


def split(target: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(target)
    return parts.path, parse_qs(parts.query, keep_blank_values=True)


@pytest.mark.parametrize("path, page", [("/does/not/exist", "/"), ("/graph/extra", "/graph"),
                                        ("/Graph/Extra/", "/graph"), ("/nonsense/graph", "/")])
def test_a_deeper_path_goes_to_its_first_segments_page_or_the_root(path, page):
    where, query = split(redirect_for(path, "pair=t%3A%D5%A9&neuron=hidden:3"))
    assert where == page
    assert query == {"pair": ["t:թ"], "neuron": ["hidden:3"], urls.MOVED_PARAM: ["/" + path.strip("/")]}


@pytest.mark.parametrize("path", ["/", "/graph", "/nonsense", "/static/js/x.js", "/_stcore/health",
                                  "/graph/_stcore/health", "/media/abc.png", "/component/x/index.html",
                                  "/app/static/a/b.png"])
def test_what_the_app_or_streamlit_serves_is_left_alone(path):
    assert redirect_for(path, "text=barev") is None


def test_under_a_base_url_path():
    assert redirect_for("/lab/graph/extra", "", base="/lab/") == "/lab/graph?from=/graph/extra"
    assert redirect_for("/lab/graph", "", base="lab") is None
    assert redirect_for("/other/graph/extra", "", base="lab") is None


def test_a_link_streamlit_would_drop_is_cut_and_says_so():
    query = "page=heatmaps&neuron=hidden:5&text=" + "barev%20" * (MAX_QUERY_CHARS // 8)
    assert len(query) > MAX_QUERY_CHARS
    where, q = split(redirect_for("/heatmaps", query))
    assert where == "/heatmaps"
    assert q["page"] == ["heatmaps"] and q["neuron"] == ["hidden:5"]
    assert q["text"] == [("barev " * urls.MAX_URL_TEXT)[:urls.MAX_URL_TEXT]]
    assert q[urls.CUT_PARAM] == [str(len(query))]
    assert "long" in urls.cut_link_note(q[urls.CUT_PARAM][0])
    many = "&".join(f"k{i}=v" for i in range(MAX_QUERY_FIELDS + 5))
    assert len(parse_qs(urlsplit(redirect_for("/", many)).query)) < MAX_QUERY_FIELDS
    assert redirect_for("/", "text=" + "x" * 10_000) is None       # long, but the app reads it


def test_the_apps_notes_for_redirected_urls():
    assert "`/graph/extra`" in urls.unknown_path_note("graph/extra", "graph")
    assert "the Neuron graph page is shown" in urls.unknown_path_note("graph/extra", "graph")
    assert "default page" in urls.unknown_path_note("does/not/exist")
    assert urls.cut_link_note("1360002").startswith("This link is 1,360,002 characters long")
    assert urls.cut_link_note("lots") is None and urls.cut_link_note(None) is None
    assert urls.url_text_note("x" * urls.MAX_URL_TEXT) is None
    assert f"first {urls.MAX_URL_TEXT} of the text's 1,000,000" in urls.url_text_note("x" * 1_000_000)
