"""The first views of a newcomer's machine, timed in a real browser (Playwright + Debian's
Chromium); printed, not asserted.

    python benchmarks/bench_cold_views.py [--repeats 1]

A new lab server on a fresh, empty recording cache (what a newcomer has: no recording of the
sample, no overlap list), then, in one browser session:

1. Histograms of t→թ opened by its URL, until its chart is drawn (target <= 5 s);
2. Cell heatmaps from the sidebar, until its heatmap is drawn (target <= 5 s);
3. the sidebar's Model switched to the second shipped model, then Histograms from the sidebar,
   until the chart is drawn (target <= 5 s);
4. how long after step 1 the whole sample's recording of the first model was there (the
   page's "Drawn from the first ... sentences" notice gone, the page redrawn from all of it).

Each step's time runs from the click (or the URL opened) to the chart on screen with the
script run over. Every repeat starts a new server on a new cache.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))   # the tests' helpers: lab_server

from bench_app import IDLE
from lab_server import CHROMIUM, CHROMIUM_ARGS, serving
from translit_core import settings

TARGET_S = 5.0
CHART = """(title) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  const h1 = main && main.querySelector('h1');
  return !!app && !!main && !!h1 && h1.textContent.trim() === title
         && main.querySelectorAll('[data-testid="stPlotlyChart"] .main-svg').length > 0
         && app.getAttribute('data-test-script-state') === 'notRunning'
         && !main.querySelector('[data-testid="stSkeleton"]');
}"""
PARTIAL = "() => document.body.innerText.includes('Drawn from the first')"
WHOLE = "() => !document.body.innerText.includes('Drawn from the first')"


def timed(page, action, title: str, timeout_s: float = 240) -> float:
    """Seconds from `action` to a chart drawn under the page title `title`, the run over."""
    t = time.monotonic()
    action()
    page.wait_for_timeout(300)                 # the click's run has started
    page.wait_for_function(CHART, arg=title, timeout=timeout_s * 1000)
    return time.monotonic() - t


def one_round(models: list[str]) -> dict[str, float]:
    from playwright.sync_api import sync_playwright
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as cache:
        with serving({"TRANSLIT_CACHE": cache}, "bench-cold-views-server.log") as (url, _):
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1440, "height": 900})
                    start = time.monotonic()
                    first = url + "/histograms?pair=t:%D5%A9"
                    out["histograms t→թ"] = timed(page, lambda: page.goto(first), "Histograms")
                    out["  drawn from the first sentences"] = float(page.evaluate(PARTIAL))
                    link = page.locator('[data-testid="stSidebar"] a', has_text="Cell heatmaps")
                    out["cell heatmaps (sidebar)"] = timed(page, link.click, "Cell heatmaps")
                    if len(models) > 1:
                        box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
                        box.click()
                        page.get_by_role("option", name=models[1], exact=True).click()
                        page.wait_for_function(IDLE, timeout=120_000)
                        hist = page.locator('[data-testid="stSidebar"] a', has_text="Histograms")
                        out[f"histograms, model {models[1]} (sidebar)"] = timed(page, hist.click, "Histograms")
                    page.goto(url + "/histograms?pair=t:%D5%A9")
                    page.wait_for_function(WHOLE, timeout=600_000)
                    page.wait_for_function(CHART, arg="Histograms", timeout=120_000)
                    out["whole sample recorded (first model), after opening"] = time.monotonic() - start
                finally:
                    browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    models = list(settings.model_dirs())
    rounds = [one_round(models) for _ in range(args.repeats)]
    print(f"models: {', '.join(models)}; {args.repeats} round(s), each a new server on an empty cache")
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        if key.startswith("  "):
            print(f"{key}: {sum(values):.0f} of {len(values)} rounds")
            continue
        target = "" if key.startswith("whole") else f" (target <= {TARGET_S:.0f} s)"
        print(f"{key}: median {statistics.median(values):.2f} s, runs {', '.join(f'{v:.2f}' for v in values)}{target}")


if __name__ == "__main__":
    main()
