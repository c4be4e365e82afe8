"""Model choice, for real in Chromium: the sidebar's switch changes the model
the page shows and the URL; a link with model= opens that model in a new session."""
from __future__ import annotations

import pytest

from browser_harness import SHOTS, expect, screenshot, settle, streamlit_server
from dashboard_fixtures import lab_env, random_twin

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def two_models(lab_path, tmp_path_factory):
    twin = random_twin(lab_path, tmp_path_factory.mktemp("models") / "twin")
    env = dict(lab_env(lab_path), TRANSLIT_MODELS=f"twin={twin}")
    with streamlit_server(env, SHOTS.parent / "streamlit-models-server.log") as url:
        yield url


def armenian(pg) -> str:
    return pg.locator('[data-testid="stCode"]').first.inner_text().strip()


def test_the_sidebar_switch_and_a_model_link(two_models, page, lab_path):
    page.goto(f"{two_models}/transliterate?text=barev%20dzez")
    settle(page)
    base = armenian(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="twin").click()
    settle(page)
    page.wait_for_function("() => location.search.includes('model=twin')", timeout=30_000)
    assert armenian(page) != base
    screenshot(page, SHOTS / "model-switch.png")
    other = page.context.new_page()
    other.goto(f"{two_models}/transliterate?text=barev%20dzez&model=twin")
    settle(other)
    assert armenian(other) == armenian(page)
    screenshot(other, SHOTS / "model-link.png")
    shown = other.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').inner_html()
    assert ">twin<" in shown or 'value="twin"' in shown, shown[:2000]
    assert "model=twin" in other.url


def test_compare_tabs_in_the_url_survive_the_next_run(two_models, page, lab_path):
    """Compare's open tab is tied to the URL's view= (bind="query-params"); the page's other URL
    keys are written beside it on every run (widgets.set_params), which must leave the tied key
    alone: Streamlit refuses to set it, and the page would show an error instead of its tab."""
    page.goto(f"{two_models}/compare?b={lab_path.name}&view=Charts")
    settle(page)
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)   # the Charts tab, opened by the link
    page.get_by_role("tab", name="Units to break").click()            # another tab: the next run starts with it bound
    settle(page)
    page.get_by_role("tab", name="Summary").click()
    settle(page)
    expect(page.locator('[data-testid="stMain"]'), "A and B are the same model")
    page.wait_for_function("() => !location.search.includes('view=Charts')", timeout=30_000)
    assert f"b={lab_path.name}" in page.url and "page=compare" in page.url
    screenshot(page, SHOTS / "compare-tabs.png")
