"""The heatmap page's hypothesis panel (LSTMVis) and annotation tracks, and the neuron card's
track line, under AppTest: every new control changes what the page shows, and what it shows is
what the engine computes for the same arguments."""
from __future__ import annotations

import pytest

from dashboard.views import hypothesis as hy
from dashboard.views.heatmaps import HEATMAP_TEXT
from test_app import app, figure, charts, heat_rows, infos, ok, param


def engine(lab, text, span, layer="concat.fwd", threshold=0.3, left=1, right=1):
    """The engine's search as the page asks for it (more matches where the first hold too few of a kind)."""
    from translit_core.analysis.methods.hypothesis import hypothesis
    args = (lab.model, lab.alphabets, lab.recording(), text, span, layer, threshold, left, right)
    r = hypothesis(*args, top=hy.MATCHES_FETCHED)
    more = hy.fetch_for_mix(r)
    return r if more is None else hypothesis(*args, top=more)


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def track_rows(at) -> list[str]:
    fig = figure(charts(at)[-1])
    tr = next((t for t in fig["data"] if t.get("name") == "tracks"), None)
    if tr is None:
        return []
    k = len(tr["y"])
    return fig["layout"]["yaxis"]["ticktext"][:k][::-1]


def test_the_panel_opens_on_tyun_and_agrees_with_the_engine(lab_dir, lab):
    at = ok(app("heatmaps"))
    span = hy.default_span(HEATMAP_TEXT)
    assert HEATMAP_TEXT[span[0]:span[1]].lower() == "tyun"
    assert tuple(at.slider(key="hm_span").value) == span and param(at, "span") == f"{span[0]}:{span[1]}"
    r = engine(lab, HEATMAP_TEXT, span)
    assert r.units                                            # the test lab's model has units for it
    body = " ".join(m.value for m in at.markdown)
    assert all(f"concat.fwd:{u}" in body for u in r.units)
    assert metrics(at)["Matches in the sample"] == f"{r.n_matches:,}"
    assert metrics(at)["With the span's letters"] == f"{r.n_same_letters:,}"
    table = next(d.value for d in at.dataframe if "match" in d.value.columns)
    assert list(table["match"]) == [m.latin for m in r.matches]
    body = " ".join(e.proto.body for e in at.get("html"))
    assert "hy-c in" in body
    shown = hy.shown_matches(r)                                # the aligned rows: as many as the note says
    assert body.count('class="hy-r"') == len(shown) == min(hy.MATCHES_SHOWN, r.n_matches)
    assert any(f"Showing {len(shown):,} of the {r.n_matches:,} matches" in c.value for c in at.caption)


def result(n_same: int, n_matches: int, returned: int = 200):
    """A search's result with `n_same` of `n_matches` matches on the span's letters, ranked first
    (as the engine ranks them: the same length, the strongest), `returned` of them returned."""
    from translit_core.analysis.methods.hypothesis import HypothesisResult, Match
    r = HypothesisResult("concat.fwd", [1, 2], 0.3, 1, 1, 4, "tyun", 2, n_matches, n_matches, n_matches, n_same,
                         1000)
    for rank in range(1, min(returned, n_matches) + 1):
        same = rank <= n_same
        r.matches.append(Match(rank, rank * 10, rank * 10 + 4, rank, 0, 2, 0.5, "tyun" if same else "tyan", "", "",
                               ["", "", "", ""], same))
    return r


@pytest.mark.parametrize("n_same, n_matches, want_same", [(27, 3644, 1), (1822, 3644, 5), (1500, 1544, 9),
                                                          (507, 507, 10), (0, 300, 0), (4, 4, 4)])
def test_the_panel_shows_both_kinds_of_match_in_proportion(n_same, n_matches, want_same):
    """The engine ranks the span's own letters first: its top ten were all "same letters" while
    27 of 3,644 matches were. The panel shows each kind in proportion, and says how many of each."""
    r = result(n_same, n_matches)
    more = hy.fetch_for_mix(r)
    if more is not None:                                       # the page asks again for more
        assert more > hy.MATCHES_FETCHED and more <= hy.MATCHES_FETCHED_MOST
        r = result(n_same, n_matches, more)
    assert hy.fetch_for_mix(r) is None
    shown = hy.shown_matches(r)
    assert len(shown) == min(hy.MATCHES_SHOWN, n_matches)
    assert sum(m.same_letters for m in shown) == want_same
    assert [m.rank for m in shown] == sorted(m.rank for m in shown)
    assert hy.matches_html(r).count('class="hy-r"') == len(shown)
    note = hy.shown_note(r, shown)
    assert (f"Showing {len(shown):,} of the {n_matches:,} matches: {want_same:,} of the {n_same:,} with" in note
            and f"{len(shown) - want_same:,} of the {n_matches - n_same:,} with other letters" in note)


@pytest.mark.parametrize("change", ["threshold", "left", "layer", "span"])
def test_every_control_changes_the_search(lab_dir, lab, change):
    at = ok(app("heatmaps"))
    span, layer, thr, left = hy.default_span(HEATMAP_TEXT), "concat.fwd", 0.3, 1
    if change == "threshold":
        thr = 0.1
        at.slider(key="hm_thr").set_value(thr).run()
    elif change == "left":
        left = 3
        at.number_input(key="hm_left").set_value(left).run()
    elif change == "layer":
        layer = "hidden"
        at.selectbox(key="hm_hlayer").set_value(layer).run()
    else:
        span = (0, 3)
        at.slider(key="hm_span").set_value(span).run()
    ok(at)
    r = engine(lab, HEATMAP_TEXT, span, layer, thr, left)
    assert metrics(at).get("Matches in the sample", None) == (f"{r.n_matches:,}" if r.units else None)
    if not r.units:
        assert "No unit of" in " ".join(m.value for m in at.markdown)
    if change == "span":
        assert param(at, "span") == "0:3"


def test_find_letters_moves_the_span_and_units_become_rows(lab_dir, lab):
    at = ok(app("heatmaps"))
    at.text_input(key="hm_span_find").input("hamagortsaktsutyun").run()
    ok(at)
    a = HEATMAP_TEXT.index("hamagortsaktsutyun")
    assert tuple(at.slider(key="hm_span").value) == (a, a + len("hamagortsaktsutyun"))
    at.text_input(key="hm_span_find").input("tyun").run()
    span = hy.default_span(HEATMAP_TEXT)
    r = engine(lab, HEATMAP_TEXT, span)
    at.multiselect(key="hm_rows").set_value([]).run()
    at.button(key="hm_hyp_add").click().run()
    ok(at)
    assert heat_rows(at) == [f"concat.fwd:{u}" for u in r.units[:8]]


def test_span_deep_link_and_a_bad_one(lab_dir):
    at = ok(app("heatmaps", text="barev dzez", span="6:8"))
    assert tuple(at.slider(key="hm_span").value) == (6, 8)
    at = ok(app("heatmaps", text="barev dzez", span="99:1"))
    assert "99:1" in infos(at) and "default span" in infos(at)
    assert tuple(at.slider(key="hm_span").value) == hy.default_span("barev dzez")


def test_tracks_under_the_rows_and_their_toggle(lab_dir):
    at = ok(app("heatmaps", text="shat lav e"))
    assert track_rows(at)[:2] == ["word", "digraph"]
    fig = figure(charts(at)[-1])
    tr = next(t for t in fig["data"] if t.get("name") == "tracks")
    word = tr["text"][0]                                  # row y = -1: the first track
    assert word == ["S", "M", "M", "E", "", "S", "M", "E", "", "1"]
    assert tr["text"][1][:2] == ["sh", "sh"]
    at.toggle(key="hm_tracks").set_value(False).run()
    ok(at)
    assert track_rows(at) == []


def test_neuron_card_says_what_the_unit_tracks(lab_dir, lab):
    from translit_core.analysis.methods.tracks import best_track
    at = ok(app("neuron", neuron="concat.fwd:70"))
    lines = [m.value for m in at.markdown if m.value.startswith("**Tracks:**")]
    b = best_track(lab.recording(), "concat.fwd:70")
    assert len(lines) == 1 and f"AUC {b.auc:.2f}" in lines[0].replace("\\", "")
