"""Why this output character? A real click on an output character, in Chromium, on the Intervene
and the Transliterate pages: the attribution of that character is shown.

The server, the browser and the page are conftest.py's fixtures (one server for this module);
screenshots go to artifacts/screenshots/ beside theirs.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect as pw_expect

from browser_harness import SHOTS, expect, screenshot, settle
from dashboard.views.intervene import position_label, why_question

pytestmark = pytest.mark.timeout(240)

# The attribution heatmap, as plotly drew it.
HEATMAP = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find(gd => (gd.data || []).some(t => t.type === 'heatmap'));
  if (!gd) return null;
  const top = gd.data.map(t => t.text[t.text.length - 1]).flat();          // each block's top row: outputs
  const rows = gd.data[0].y.length;
  const mark = (gd.layout.shapes || []).filter(s => s.type === 'rect').map(s => [s.xref, s.x0]);
  return {outputs: top, rows: rows, columns: gd.layout.xaxis.range[1] + 0.5, marks: mark};
}"""
NUMBER = r"[−-]?\d+\.\d+"


def engine(lab_path, text: str, position: int):
    """The engine's attribution of `position` and the network's outputs (what the page must show)."""
    from translit_core.analysis.methods.attribution import attribute
    from translit_core.infer.transliterator import Transliterator
    from dashboard.views.heatmaps import network_outputs
    tr = Transliterator.load(lab_path)
    return attribute(tr.model, tr.alphabets, text, position), network_outputs(tr, text)


def click_output(pg, position: int) -> None:
    """Click the output character at `position` in the strip, with the mouse (Playwright's
    locators reach into the strip component's shadow root)."""
    pg.locator(f'[data-pos="{position}"]').click()


def completeness_numbers(pg) -> tuple[float, float, float]:
    """(sum of the attributions, log p - log p(spaces), error) as the page states them."""
    body = pg.locator('[data-testid="stMain"]').inner_text()
    m = re.search(rf"Attributions sum to ({NUMBER}); log p − log p\(spaces\) = ({NUMBER}); error ([+−-]?\d+\.\d+)",
                  body)
    assert m, "the completeness check is not stated"
    return tuple(float(g.replace("−", "-")) for g in m.groups())


def assert_attribution_of(pg, lab_path, text: str, position: int) -> None:
    """The page shows the attribution of the output at `position`: its label, the heatmap over
    the characters of its chunk with that column marked, and a completeness check that holds
    and agrees with the engine."""
    attr, outputs = engine(lab_path, text, position)
    expect(pg.locator('[data-testid="stMain"]'), why_question(text, outputs, position))
    settle(pg)
    heat = pg.evaluate(HEATMAP)
    chunk = [c.position for c in attr.attributions]
    assert heat and heat["rows"] == 5                       # the outputs, total, forward, backward, direct
    assert heat["outputs"] == [outputs[i] if outputs[i] else "·" for i in chunk]
    k = chunk.index(position)
    assert len(heat["marks"]) == 1 and heat["marks"][0][1] == pytest.approx(k % heat["columns"] - 0.5)
    total, diff, error = completeness_numbers(pg)
    assert total == pytest.approx(diff + error, abs=0.011)
    assert abs(error) <= 0.02 * abs(diff) + 1e-3            # completeness, as the engine's tests hold it
    assert diff == pytest.approx(attr.logp - attr.baseline_logp, abs=0.02)


def test_click_an_output_character_on_intervene(server, page, lab_path):
    text = "tari tun tesnel"
    page.goto(f"{server}/intervene?text={quote(text)}&set=hidden%3A3%3Dzero")
    settle(page)
    expect(page.locator("h1"), "Intervene")
    first = int(re.search(r"[?&]at=(\d+)", page.url).group(1))
    target = text.index("s")                                 # "tesnel": s at 11
    assert first != target
    click_output(page, target)
    page.wait_for_function(f"() => /[?&]at={target}(&|$)/.test(location.search)", timeout=60_000)
    assert_attribution_of(page, lab_path, text, target)
    # the list under the strip follows the click (the keyboard's way to the same choice)
    _, outputs = engine(lab_path, text, target)
    combo = page.get_by_role("combobox", name=re.compile("^Output character"))
    pw_expect(combo).to_have_value(position_label(text, outputs, target))
    screenshot(page, SHOTS / "intervene-attribution-click.png")
    # choose another one with the keyboard, then click the same character as before again
    combo.click()
    combo.fill(position_label(text, outputs, first))
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => /[?&]at={first}(&|$)/.test(location.search)", timeout=60_000)
    assert_attribution_of(page, lab_path, text, first)
    click_output(page, target)
    page.wait_for_function(f"() => /[?&]at={target}(&|$)/.test(location.search)", timeout=60_000)
    assert_attribution_of(page, lab_path, text, target)


def test_click_an_output_character_on_transliterate(server, page, lab_path):
    text = "barev dzez"
    page.goto(f"{server}/transliterate?text={quote(text)}")
    settle(page)
    main = page.locator('[data-testid="stMain"]')
    expect(main, "Why this character?")
    assert "Completeness check" not in main.inner_text()     # nothing is attributed until asked
    target = text.index("d")                                  # dz -> ձ: the d at 6
    click_output(page, target)
    page.wait_for_function(f"() => /[?&]at={target}(&|$)/.test(location.search)", timeout=60_000)
    assert_attribution_of(page, lab_path, text, target)
    link = page.get_by_role("link", name="Intervene on this text")
    assert f"at={target}" in link.get_attribute("href")
    screenshot(page, SHOTS / "transliterate-attribution-click.png")
    # a new text is a new question: the choice is dropped (and typing stays quick)
    box = page.get_by_role("textbox", name="Latin text")
    box.fill("shnorhakalutyun")
    page.wait_for_function("() => location.search.includes('text=shnorhakalutyun')", timeout=30_000)
    settle(page)
    assert "Completeness check" not in main.inner_text() and not re.search(r"[?&]at=", page.url)
