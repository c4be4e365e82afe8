"""Why this output character? The attribution of a clicked output character on the Intervene and
Transliterate pages, under AppTest.

AppTest runs no JavaScript, so it cannot click the strip (widgets.output_picker, a component): a
click is injected as the state the strip's script sets, `at.session_state[KEY] = {"clicked":
[position, time]}`. tests/browser/test_browser_attribution.py clicks for real.
"""
from __future__ import annotations

import itertools
import json
import re

import pytest

from dashboard.views import urls
from dashboard.views.intervene import completeness, position_label, why_question
from test_app import app, charts, figure, htmls, infos, ok, only_our_tags, param, texts

IV_CLICK, TL_CLICK = "iv_at_click", "tl_at_click"      # the strips' keys: widgets.output_picker's f"{key}_click"
CLICKS = itertools.count(1)                             # the clicks' times: every click is a new one


def click(at, key: str, position: int):
    """A click on the output character at `position` of a strip, as its script reports it."""
    at.session_state[key] = {"clicked": [position, next(CLICKS)]}
    return ok(at.run())


def engine(lab, text: str, position: int):
    from dashboard.views.heatmaps import network_outputs
    from translit_core.analysis.methods.attribution import attribute
    return attribute(lab.model, lab.alphabets, text, position), network_outputs(lab.translit, text)


def shown_question(at) -> str:
    """The attribution's heading (the question it answers), unescaped."""
    return " ".join(m.replace("\\", "") for m in texts(at.markdown) if m.startswith(("**Why is ", "**Why does ")))


def strip(at) -> str:
    """The output strip's HTML (the data of the strip component)."""
    strips = [json.loads(e.proto.json) for e in at.get("bidi_component")
              if e.proto.component_name == "translit_output_strip"]
    assert len(strips) == 1
    return strips[0]


def strip_positions(at) -> list[int]:
    return [int(p) for p in re.findall(r'data-pos="(\d+)"', strip(at))]


def heatmap(at) -> dict:
    return next(f for f in map(figure, charts(at)) if any(t.get("type") == "heatmap" for t in f["data"]))


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def assert_shows_attribution(at, lab, text: str, position: int) -> None:
    """The page explains the output at `position`: the question, the heatmap of the engine's
    attribution (rows named with their sums), the completeness check in numbers, the chosen
    character outlined in the strip."""
    attr, outputs = engine(lab, text, position)
    assert why_question(text, outputs, position) in shown_question(at)
    names = heatmap(at)["layout"]["yaxis"]["ticktext"]
    total = sum(c.total for c in attr.attributions)
    assert f"total (Σ {total:+.2f})" in names and any(n.startswith("forward LSTM") for n in names)
    c = completeness(attr)
    assert metrics(at) == {"Sum of the attributions": f"{c.total:.2f}",
                           "log p − log p(spaces)": f"{c.difference:.2f}", "Error": f"{c.error:+.3f}"}
    assert re.findall(r'class="ck-c on sel" data-pos="(\d+)"', strip(at)) == [str(position)]


# --------------------------------------------------------------------------------------------
# Intervene

IV_TEXT = "tari tun tesnel"


def test_intervene_a_click_attributes_that_character(lab_dir, lab):
    at = ok(app("intervene", text=IV_TEXT, set="hidden:3=zero"))
    first = at.selectbox(key="iv_at").value
    target = IV_TEXT.index("s")
    assert first != target
    click(at, IV_CLICK, target)
    assert at.selectbox(key="iv_at").value == target and param(at, "at") == str(target)
    assert_shows_attribution(at, lab, IV_TEXT, target)
    # the strip offers every character the network decides, and the list the same ones
    from dashboard.views.intervene import decided_positions
    from translit_core.analysis.methods.intervene import intervene
    decided = decided_positions(intervene(lab.model, lab.alphabets, IV_TEXT, []))
    assert strip_positions(at) == decided
    assert len(at.selectbox(key="iv_at").options) == len(decided)


def test_intervene_the_list_and_new_clicks_both_move_the_choice(lab_dir, lab):
    at = ok(app("intervene", text=IV_TEXT))
    click(at, IV_CLICK, 2)
    assert at.selectbox(key="iv_at").value == 2
    at.selectbox(key="iv_at").set_value(9)          # the keyboard's way; the old click must not win back
    ok(at.run())
    assert at.selectbox(key="iv_at").value == 9 and param(at, "at") == "9"
    assert_shows_attribution(at, lab, IV_TEXT, 9)
    click(at, IV_CLICK, 12)
    assert at.selectbox(key="iv_at").value == 12
    assert_shows_attribution(at, lab, IV_TEXT, 12)


def test_intervene_a_used_click_does_not_win_over_the_list(lab_dir, lab):
    """A click on the character already chosen leaves the strip as it was, so its selection stays
    in the chart's state; choosing another character in the list must still move the choice."""
    at = ok(app("intervene", text=IV_TEXT, at="9"))
    click(at, IV_CLICK, 9)
    at.selectbox(key="iv_at").set_value(2)
    ok(at.run())
    assert at.selectbox(key="iv_at").value == 2 and param(at, "at") == "2"
    assert_shows_attribution(at, lab, IV_TEXT, 2)


def test_intervene_a_click_on_a_character_that_passes_through_is_ignored(lab_dir):
    text = "tari ա tun"                          # Armenian typed as Armenian is never changed
    at = ok(app("intervene", text=text, at="2"))
    assert all(not o.startswith("5:") for o in at.selectbox(key="iv_at").options)
    for bad in (text.index("ա"), 999):
        click(at, IV_CLICK, bad)
        assert at.selectbox(key="iv_at").value == 2 and param(at, "at") == "2"


def test_intervene_the_position_survives_a_changed_intervention(lab_dir, lab):
    at = ok(app("intervene", text=IV_TEXT, at="11"))
    at.text_input(key="iv_names").input("hidden:3")
    ok(at.run())
    assert param(at, "set") == "hidden:3=zero" and param(at, "at") == "11"
    assert_shows_attribution(at, lab, IV_TEXT, 11)


# --------------------------------------------------------------------------------------------
# Transliterate

TL_TEXT = "barev dzez"


def test_transliterate_attributes_only_when_asked(lab_dir, lab):
    at = ok(app("transliterate", text=TL_TEXT))
    assert at.selectbox(key="tl_at").value is None
    assert not shown_question(at) and not at.metric and not charts(at)     # no plotly until asked
    assert strip_positions(at) and 'class="ck-c on sel"' not in strip(at)
    assert "at" not in at.query_params
    links = [b.proto.url for b in at.get("link_button") if "Intervene" in b.proto.label]
    assert links == [urls.page_url("intervene", text=TL_TEXT)]
    target = TL_TEXT.index("d")
    click(at, TL_CLICK, target)
    assert at.selectbox(key="tl_at").value == target and param(at, "at") == str(target)
    assert_shows_attribution(at, lab, TL_TEXT, target)
    links = [b.proto.url for b in at.get("link_button") if "Intervene" in b.proto.label]
    assert links == [urls.page_url("intervene", text=TL_TEXT, at=target)]
    # a new text is a new question: the choice is dropped
    at.text_input(key="tl_text").input("shnorhakalutyun")
    ok(at.run())
    assert at.selectbox(key="tl_at").value is None and "at" not in at.query_params and not at.metric


def test_transliterate_deep_link_with_a_position(lab_dir, lab):
    at = ok(app("transliterate", text=TL_TEXT, at="2"))
    assert at.selectbox(key="tl_at").value == 2
    assert_shows_attribution(at, lab, TL_TEXT, 2)
    _, outputs = engine(lab, TL_TEXT, 2)
    assert position_label(TL_TEXT, outputs, 2) in at.selectbox(key="tl_at").options


@pytest.mark.parametrize("bad", ["99", "-1", "x"])
def test_transliterate_bad_position_gives_a_note(lab_dir, bad):
    at = ok(app("transliterate", text=TL_TEXT, at=bad))
    assert bad in infos(at) and at.selectbox(key="tl_at").value is None and not at.metric


def test_user_text_is_escaped_in_the_attribution(lab_dir):
    text = '<img src=x onerror=alert(1)> *t* [a](b)'
    at = ok(app("transliterate", text=text))
    click(at, TL_CLICK, text.index("*t*") + 1)
    assert at.metric                                                     # the attribution is there
    assert only_our_tags(htmls(at)) and only_our_tags(strip(at))
    assert "<img" not in strip(at) and "&lt;" in strip(at)
    shown = " ".join(str(t.get(k, "")) for t in heatmap(at)["data"] for k in ("text", "customdata"))
    assert "<img" not in shown and "&lt;" in shown                     # plotly renders HTML in text
