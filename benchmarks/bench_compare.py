"""The Compare page cold, in a real browser (Playwright + Debian's Chromium); printed, not asserted.

    python benchmarks/bench_compare.py [--repeats 3]

Each repeat starts a fresh server (nothing loaded, nothing cached) and opens /compare by its URL:
timed from the navigation until both models' tables and the verdict are on screen and the script
run is over (both checkpoints and both analyses loaded, compared). Then a second session on the
same server opens it again (the models held by the server: warm), and a third the Transliterate
page (the floor: what any page costs a new session here). Target: cold <= 3 s.
The models are the lab's (checkpoints/*, or $TRANSLIT_MODELS); the page opens on its default pair.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))   # the tests' helpers: lab_server

from bench_app import IDLE
from lab_server import CHROMIUM, CHROMIUM_ARGS, serving
from translit_core import settings
from translit_core.analysis.comparison.models import default_pair

# The Transliterate page's output on screen: the floor of any page in a new session here (the
# browser loading Streamlit's scripts, the session's first run).
FLOOR_SHOWN = """() => !!document.querySelector('[data-testid="stMain"] h1')"""
SHOWN = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return !!main && main.querySelectorAll('[data-testid="stDataFrame"]').length >= 2
         && [...main.querySelectorAll('[data-testid="stAlert"]')].some(a => /accurate on the sample/.test(a.innerText));
}"""


def open_page(browser, url: str, path: str = "/compare", shown: str = SHOWN) -> float:
    """Seconds from navigation to the page complete and idle, in a new browser context."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    t = time.perf_counter()
    page.goto(f"{url}{path}")
    page.wait_for_function(shown, timeout=120_000, polling="raf")
    page.wait_for_function(IDLE, timeout=120_000)
    seconds = time.perf_counter() - t
    context.close()
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    dirs = settings.model_dirs()
    if len(dirs) < 2:
        raise SystemExit("the lab has one model: the Compare page needs two (checkpoints/* or $TRANSLIT_MODELS)")
    cold, warm, floor = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(a.repeats):
                with serving({}, "bench-compare-server.log") as (url, _):
                    cold.append(open_page(browser, url))
                    warm.append(open_page(browser, url))
                    floor.append(open_page(browser, url, "/", FLOOR_SHOWN))
        finally:
            browser.close()
    a_name, b_name = default_pair(dirs)
    print(f"/compare, {a_name} against {b_name}; {a.repeats} fresh servers")
    print(f"  cold (a fresh server: both models and analyses loaded)  median {statistics.median(cold):.2f} s, "
          f"max {max(cold):.2f} s ({', '.join(f'{s:.2f}' for s in cold)})   target <= 3 s")
    print(f"  warm (a new session on the same server)                   median {statistics.median(warm):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in warm)})")
    print(f"  the floor: the Transliterate page, new session, same server median {statistics.median(floor):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in floor)}); cold compare / floor, paired: "
          f"{statistics.median(c / f for c, f in zip(cold, floor)):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
