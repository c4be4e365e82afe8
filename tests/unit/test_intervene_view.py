"""The Intervene page's view logic (dashboard.views.intervene) without Streamlit: the
intervention in the URL and back, the aligned before/after HTML (escaped), the sentences and the
figures.
Synthetic inputs only."""
from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import torch

from dashboard.views import figures
from dashboard.views import intervene as iv
from translit_core.analysis import Pair
from translit_core.analysis.methods.attribution import Attribution, CharAttribution, UnitAttribution
from translit_core.analysis.methods.intervene import InterventionResult, Setting
from translit_core.model.names import NeuronId, layer_sizes

SIZES = layer_sizes(8, 6, 5)


def settings_of(params):
    return iv.parse_settings(params, SIZES)


def test_settings_round_trip_through_the_url():
    settings = [Setting(NeuronId("concat.fwd", 3), "zero"), Setting(NeuronId("hidden", 2), "mean"),
                Setting(NeuronId("gate.bwd.g", 1), "set", -0.25), Setting(NeuronId("cell.fwd", 5), "scale", 2.5),
                Setting(NeuronId("concat.bwd", 0), "add", 0.125)]
    params = iv.settings_params(settings)
    assert params == {"set": "concat.fwd:3=zero,hidden:2=mean,gate.bwd.g:1=-0.25", "scale": "cell.fwd:5=2.5",
                      "add": "concat.bwd:0=0.125"}
    back = settings_of(params)
    assert back.note is None
    assert sorted(back.value, key=str) == sorted(settings, key=str)
    assert iv.settings_params([]) == {"set": None, "scale": None, "add": None}


def test_repeated_and_comma_joined_parameters_are_the_same():
    a = settings_of({"set": ["concat.fwd:1=0", "hidden:2=mean"]}).value
    b = settings_of({"set": "concat.fwd:1=0,hidden:2=mean"}).value
    assert a == b == [Setting(NeuronId("concat.fwd", 1), "set", 0.0), Setting(NeuronId("hidden", 2), "mean")]


@pytest.mark.parametrize("bad", ["nosuch:1=0", "concat.fwd:99=0", "concat.fwd:1", "concat.fwd:1=abc",
                                 "concat.fwd:1=1e9", "hidden:1=nan", "[x](https://evil.example)=1"])
def test_a_bad_setting_is_left_out_with_a_note(bad):
    p = settings_of({"set": [bad, "hidden:0=0.5"], "scale": "cell.bwd:1=mean"})
    assert p.value == [Setting(NeuronId("hidden", 0), "set", 0.5)]          # the good one still applies
    assert p.note and p.note.count("left out") == 2
    outside_code = "".join(p.note.split("`")[::2])
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", outside_code)
    assert not any(s in unescaped for s in ("](", "://")), p.note


def test_a_neuron_set_twice_keeps_its_last_setting():
    p = settings_of({"set": "hidden:1=0", "scale": "hidden:1=3"})
    assert p.value == [Setting(NeuronId("hidden", 1), "scale", 3.0)] and "twice" in p.note


def test_span_and_float_params():
    assert iv.parse_span_param("2:5", 10).value == (2, 5) and iv.parse_span_param(None, 10).value is None
    assert iv.parse_span_param(":3", 10).value == (0, 3)
    for bad in ("5:2", "0:11", "a:b", "<b>"):
        p = iv.parse_span_param(bad, 10)
        assert p.value is None and p.note
    assert iv.span_param((2, 5)) == "2:5" and iv.span_param(None) is None
    assert iv.parse_float("0.5", -1, 1, 0.0, "x").value == 0.5
    for bad in ("2", "nan", "x", "inf"):
        p = iv.parse_float(bad, -1, 1, 0.25, "x")
        assert p.value == 0.25 and p.note


def test_intervene_url_opens_the_page_with_the_neuron_zeroed():
    url = iv.intervene_url(NeuronId("concat.fwd", 7))
    parts = urlsplit(url)
    assert parts.path == "/intervene"
    q = parse_qs(parts.query)
    assert q["page"] == ["intervene"]
    assert settings_of(q).value == [Setting(NeuronId("concat.fwd", 7), "zero")]
    q = parse_qs(urlsplit(iv.intervene_url(["hidden:1", NeuronId("cell.fwd", 2)], "mean", text="a&b")).query)
    assert q["text"] == ["a&b"]
    assert settings_of(q).value == [Setting(NeuronId("hidden", 1), "mean"), Setting(NeuronId("cell.fwd", 2), "mean")]


def test_observed_range_and_default_values():
    tables = SimpleNamespace(x_lo=torch.tensor([[-0.5, 0.0], [-0.2, 0.1]]), x_hi=torch.tensor([[0.3, 0.0], [0.9, 0.1]]))
    analysis = SimpleNamespace(sizes={"hidden": 2}, tables=tables, column=lambda n: n.index)
    assert iv.observed_range(analysis, NeuronId("hidden", 0)) == (-0.5, 0.9)
    assert iv.observed_range(analysis, NeuronId("hidden", 0), [2.0]) == (-0.5, 2.0)     # the URL's value fits
    assert iv.observed_range(analysis, NeuronId("hidden", 1)) == (0.0, 0.1)
    tables.x_lo[:, 1] = tables.x_hi[:, 1] = 0.25                                        # a constant unit
    lo, hi = iv.observed_range(analysis, NeuronId("hidden", 1))
    assert lo < 0.25 < hi
    assert iv.observed_range(None, NeuronId("cell.fwd", 0)) == (-1.0, 1.0)
    s = Setting(NeuronId("hidden", 0), "set", 0.4)
    assert iv.default_value(s, "set", -1, 1) == 0.4
    assert iv.default_value(None, "set", 0.2, 1) == 0.2                               # 0, clipped into range
    assert iv.default_value(s, "scale", -1, 1) == iv.DEFAULT_SCALE


def result(text="a<b> t", before=None, after=None, settings=True) -> InterventionResult:
    before = before or list(text)
    after = after or list(text)
    changed = [i for i, (b, a) in enumerate(zip(before, after)) if b != a]
    return InterventionResult(text, "".join(before), "".join(after), before, after,
                              ["" if c == " " else (a or "_") for c, a in zip(text, after)], changed,
                              [-(i % 3) * 0.5 for i in range(len(text))],
                              [{"neuron": "hidden:1", "op": "zero", "value": None}] if settings else [])


def test_aligned_html_escapes_user_text_and_highlights_changes():
    r = result("<b>&\"t", before=["<", "b", ">", "&", '"', "տ"], after=["<", "b", ">", "&", '"', "թ"])
    out = iv.aligned_html(r)
    assert "<b>" not in out and '"t' not in out
    assert set(re.findall(r"<\s*/?\s*([A-Za-z]\w*)", out)) <= {"span", "div", "br"}
    assert "&lt;" in out and "&amp;" in out and "&quot;" in out
    assert out.count('class="iv-c ch"') == 1                                          # the one change
    title = re.search(r'class="iv-c ch" title="([^"]*)"', out).group(1)
    assert "տ before" in title and "թ after" in title and "new top choice: թ" in title and "Δ log p" in title


def test_aligned_html_marks_nothing_written_and_newlines():
    r = result("ab\nc", before=["a", "", "\n", "c"], after=["a", "", "\n", "c"])
    out = iv.aligned_html(r)
    assert "<br>" in out and "·" in out and 'class="iv-c ch"' not in out


def test_steer_sentence_and_counts():
    p = Pair("t", "թ", 1, 1)
    assert iv.steer_sentence(p, 3, 2, 0) == "2 of 3 t’s now written թ (0 before)."
    assert "no t" in iv.steer_sentence(p, 0, 0, 0)
    assert "as nothing" in iv.steer_sentence(Pair("e", "_", 1, 1), 2, 1, 0)
    r = result("tat", before=["տ", "a", "թ"], after=["թ", "a", "թ"])
    assert iv.count_written(r, p, after=False) == 1 and iv.count_written(r, p, after=True) == 2


def attribution() -> Attribution:
    chars = [CharAttribution(0, "t", 1.0, 1.0, 0.0, 0.0), CharAttribution(1, "<", 2.5, 0.5, 1.5, 0.5),
             CharAttribution(2, "s", -0.5, 0.0, -0.5, 0.0)]
    units = [UnitAttribution("concat.fwd:1", 0.7, 0.3), UnitAttribution("hidden:2", -0.2, -0.9)]
    return Attribution("t<s", "թ", 1, "թ", -0.1, -3.05, 0.05, chars, units, 0.01)


def test_completeness_line_states_the_numbers():
    line = iv.completeness_line(attribution())
    assert line == "Attributions sum to 3.00; log p − log p(spaces) = 2.95; error +0.050."


def test_completeness_in_numbers():
    c = iv.completeness(attribution())
    assert (c.total, c.difference, c.error) == (3.0, pytest.approx(2.95), 0.05)
    assert c.relative == pytest.approx(0.05 / 2.95)
    assert iv.Completeness(0.0, 0.0, 0.0).relative == 0.0


def test_attribution_heat_rows_are_the_total_and_its_three_paths():
    heat = iv.attribution_heat(attribution(), ["թ", "<", "ս"])
    assert heat.chars == "t<s" and heat.outputs == ["թ", "<", "ս"]
    assert heat.names == ["total (Σ +3.00)", "forward LSTM (Σ +1.50)", "backward LSTM (Σ +1.00)",
                          "direct (input → output) (Σ +0.50)"]
    assert heat.values.tolist() == [[1.0, 2.5, -0.5], [1.0, 0.5, 0.0], [0.0, 1.5, -0.5], [0.0, 0.5, 0.0]]
    assert (heat.values[1:].sum(0) == heat.values[0]).all()                 # the paths add up to the total
    fig = figures.cell_heatmap(heat, width=25, marks=[(1, 2)], value="attribution")
    assert "attribution +1.000" in str(fig.data[0].customdata)                 # the hover names the value
    assert fig.data[0].colorbar.title.text == "attribution"
    units = figures.unit_attribution_bars(attribution())
    assert list(units.data[0].y) == ["hidden:2", "concat.fwd:1"]


def test_strip_html_marks_what_can_be_clicked_and_escapes_text():
    text, outputs = 't<s 1\nab"', ["թ", "<", "", " ", "1", "\n", "ա", "բ", '"']
    out = iv.strip_html(text, outputs, [0, 2, 3, 6, 7], chosen=2)
    assert set(re.findall(r"<\s*/?\s*([A-Za-z]\w*)", out)) <= {"span", "div", "br"}
    assert "&lt;" in out and "&quot;" in out
    assert re.findall(r'data-pos="(\d+)"', out) == ["0", "2", "3", "6", "7"]       # only the clickable ones
    assert re.findall(r'class="ck-c on sel" data-pos="(\d+)"', out) == ["2"]
    assert out.count('class="ck-c"') == 3 and "<br>" in out                       # "<", "1", '"' pass
    assert '<span class="o"><span class="z">·</span></span>' in out                 # s writes nothing
    title = re.search(r'data-pos="0" title="([^"]*)"', out).group(1)
    assert title.startswith("0: t → թ") and "click" in title
    assert "sel" not in iv.strip_html(text, outputs, [0], chosen=None)


def test_a_click_on_the_strip_is_its_position_and_time():
    assert iv.strip_click({"clicked": [7, 1733.5]}) == (7, 1733.5)
    assert iv.strip_click({"clicked": [7.0, 2]}) == (7, 2.0)
    for nothing in (None, {}, {"clicked": None}, {"clicked": 7}, {"clicked": [7]}, {"clicked": ["7", 1]},
                    {"clicked": [2.5, 1]}, {"clicked": [True, 1]}, {"clicked": [3, float("nan")]}, "x"):
        assert iv.strip_click(nothing) is None


def test_why_question():
    assert iv.why_question("tas", ["թ", "ա", ""], 0) == "Why is “t” at position 0 written թ?"
    assert iv.why_question("tas", ["թ", "ա", ""], 2) == "Why does “s” at position 2 write nothing?"
    assert iv.why_question("a b", ["ա", " ", "բ"], 1) == "Why is the space at position 1 written as a space?"


def test_position_labels_and_decided_positions():
    r = result("t s", before=["թ", " ", ""], after=["թ", " ", ""])
    assert iv.decided_positions(r) == [0, 2]
    assert iv.position_label("t s", r.tokens_before, 0) == "0: t → թ"
    assert iv.position_label("t s", r.tokens_before, 2) == "2: s → _"
    assert iv.position_label("t s", r.tokens_before, 1) == "1: space → space"
