"""Model choice (issue 15, item 2), for real in Chromium: the sidebar's switch changes the model
the page shows and the URL; a link with model= opens that model in a new session."""
from __future__ import annotations

import pytest

from browser_harness import screenshot, settle, streamlit_server
from dashboard_fixtures import lab_env, random_twin
from test_browser import SHOTS, browser, expect, lab_path, page  # noqa: F401  (fixtures)

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
