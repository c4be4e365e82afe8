"""Driving the dashboard in Chromium for the browser tests: a server on the test lab, and
waiting for, watching, checking and photographing a page. The server itself is tests/lab_server.py's
(shared with the dashboard benchmarks); the fixtures over all this are in conftest.py here."""
from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from dashboard_fixtures import REPO
from lab_server import free_port, start_streamlit, stop, wait_healthy

SHOTS = REPO / "artifacts" / "screenshots"     # every test's screenshots (git-ignored), for a person to look at

# The app has finished its script run and nothing is loading.
IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
         && !document.querySelector('[data-testid="stSkeleton"]')
         && !document.querySelector('[data-testid="stSpinner"]');
}"""

# Installed before the page's own scripts: records everything the sidebar ever lists and whether
# Streamlit's own page menu or a dialog ever appears, so that a flash between two messages of
# the server is seen too, not only the final state.
WATCH = """(() => {
  window.__seen = {nav: false, dialogs: [], links: []};
  const look = () => {
    if (document.querySelector('[data-testid="stSidebarNav"]')) window.__seen.nav = true;
    for (const d of document.querySelectorAll('[role="dialog"]')) {
      const t = d.textContent.trim();
      if (t && !window.__seen.dialogs.includes(t)) window.__seen.dialogs.push(t);
    }
    for (const a of document.querySelectorAll('[data-testid="stSidebar"] a')) {
      const t = (a.querySelector('[data-testid="stMarkdownContainer"]') || a).textContent.trim();
      if (t && !window.__seen.links.includes(t)) window.__seen.links.push(t);
    }
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true});
})();"""


@contextmanager
def streamlit_server(env: dict[str, str], log: Path):
    """`streamlit run app.py` on a free port with `env`; yields its URL."""
    log.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with log.open("w") as out:
        proc: subprocess.Popen = start_streamlit(port, env, out)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, log=log)
            yield url
        finally:
            stop(proc)


def settle(pg, timeout: float = 90_000) -> None:
    """Wait until the app has finished its script run and nothing is loading."""
    pg.wait_for_selector("h1", timeout=timeout)
    pg.wait_for_function(IDLE, timeout=timeout, polling=200)
    pg.wait_for_timeout(400)
    pg.wait_for_function(IDLE, timeout=timeout, polling=200)


def seen(pg) -> dict:
    """What WATCH recorded since the page loaded: {nav, dialogs, links}."""
    return pg.evaluate("() => window.__seen")


LINKS = """() => [...document.querySelectorAll('[data-testid="stSidebar"] a')].map(a => {
  const label = a.querySelector('[data-testid="stMarkdownContainer"]') || a;
  return [label.textContent.trim(), Number(getComputedStyle(label.querySelector('p') || label).fontWeight) >= 600];
})"""


def sidebar_links(pg) -> list[str]:
    """The labels of the sidebar's links, top to bottom."""
    return [label for label, _ in pg.evaluate(LINKS)]


def current_link(pg) -> list[str]:
    """The sidebar links drawn as the current page (Streamlit sets them in bold)."""
    return [label for label, bold in pg.evaluate(LINKS) if bold]


def expect(locator, text: str, timeout: float = 60_000):
    """Playwright's expect: the locator's text comes to contain `text` within `timeout` ms."""
    from playwright.sync_api import expect as pw_expect
    pw_expect(locator).to_contain_text(text, timeout=timeout)


def path_of(url: str) -> str:
    return urlsplit(url).path


def screenshot(pg, path: Path) -> Path:
    """The whole main area (Streamlit scrolls inside it, so grow the viewport to fit)."""
    h = pg.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    pg.set_viewport_size({"width": 1400, "height": int(min(max(1000, h + 40), 6000))})
    pg.wait_for_timeout(600)
    pg.screenshot(path=str(path))
    pg.set_viewport_size({"width": 1400, "height": 1000})
    return path
