"""The fixtures of the browser tests: the test lab (dashboard_fixtures.py), the lab's server on
it, and Chromium driven by Playwright. A test takes them as parameters.

Without /usr/bin/chromium every browser test is skipped locally and fails in CI (env CI set).
"""
from __future__ import annotations

import os

import pytest

from browser_harness import SHOTS, WATCH, streamlit_server
from dashboard_fixtures import build_test_lab, lab_env
from lab_server import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(autouse=True, scope="session")
def chromium():
    """Every browser test needs Debian's Chromium."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium fonts-noto-core` "
                        f"(.ci/run does)", pytrace=False)
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium fonts-noto-core); "
                    f"the browser tests run in CI")


@pytest.fixture(scope="module")
def lab_path():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return build_test_lab()


@pytest.fixture(scope="module")
def server(lab_path):
    with streamlit_server(lab_env(lab_path), SHOTS.parent / "streamlit-test-server.log") as url:
        yield url


@pytest.fixture
def fresh_server(lab_path):
    """A server no browser has opened yet."""
    with streamlit_server(lab_env(lab_path), SHOTS.parent / "streamlit-fresh-server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A new page in a new browser context; the test fails on any JavaScript error in it."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.add_init_script(WATCH)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors
