"""Dashboard timings in a real browser (Playwright + Debian's Chromium), printed, not asserted.

    python benchmarks/bench_app.py [--checkpoint DIR] [--repeats 5]

1. Cold start: from launching the lab (`python -m dashboard`) to the first meaningful view: the
   Start page's title and introduction on screen (target <= 3 s after the server is up), and to
   its first figure drawn.
2. A 200-character text typed (pasted) into the transliterate box, until its Armenian output
   is shown. Target <= 0.3 s.
3. Switching the pair on the neuron-graph page, warm (the output selectbox changed in the UI,
   until the new graph is drawn and the script run is over). Target <= 0.5 s.
4. The first click on a node of the graph, until its card's heading is shown. Target <= 1 s.
5. A page switch from the sidebar (Histograms <-> Neuron graph), until the page's chart is drawn
   and the run is over. Target <= 0.5 s.

The checkpoint defaults to the shipped one (checkpoints/hy, or $TRANSLIT_CHECKPOINT); the
graph needs its analysis file (`python -m translit_core analyze`).
"""
from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))   # the tests' helpers: lab_server

from dashboard.views.text import EXAMPLES
from lab_server import CHROMIUM, CHROMIUM_ARGS, REPO, first_graph_node, free_port, start_streamlit, stop, wait_healthy
from translit_core import Transliterator, settings

IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
         && !document.querySelector('[data-testid="stSkeleton"]');
}"""
WORDS = ("barev dzez inchpes es hayastan hanrapetutyun sirum em shat lav aveli sirun aydpes "
         "yerevan mer azatutyun gitutyun hamalsaran girk dprots yntanik yeghbayr kuyr").split()


def text_of(n: int, seed: int) -> str:
    """n characters of Latin-typed Armenian words, ending with a letter."""
    rng = random.Random(seed)
    out = ""
    while len(out) < n:
        out += rng.choice(WORDS) + " "
    out = out[:n]
    return out[:-1] + "a" if out.endswith(" ") else out


def first_node_click(page) -> float:
    """Seconds from a click on the graph's first dense node to its card's heading."""
    box, neuron = first_graph_node(page)
    t = time.perf_counter()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("h3").filter(has_text=neuron).first.wait_for(timeout=60_000)
    took = time.perf_counter() - t
    page.wait_for_function(IDLE, timeout=60_000)
    return took


def page_switches(page, repeats: int) -> list[float]:
    """Seconds per sidebar switch between Histograms and the neuron graph (the first of each
    warms it), until the page's chart is drawn and the run is over."""
    times = []
    for i in range(2 * (repeats + 1)):
        title = ("Histograms", "Neuron graph")[i % 2]
        t = time.perf_counter()
        page.locator('[data-testid="stSidebar"] a', has_text=title).first.click()
        page.wait_for_function("(t) => { const h = document.querySelector('[data-testid=stMain] h1');"
                               " return h && h.textContent.trim() === t; }", arg=title, timeout=60_000)
        page.wait_for_timeout(50)
        page.wait_for_function(IDLE, timeout=60_000)
        if i >= 2:
            times.append(time.perf_counter() - t)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="default: $TRANSLIT_CHECKPOINT, else checkpoints/hy")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()

    from playwright.sync_api import sync_playwright

    ck = Path(a.checkpoint).resolve() if a.checkpoint else settings.checkpoint_dir()
    tr = Transliterator.load(ck)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"TRANSLIT_CHECKPOINT": str(ck)}
    log = open(REPO / "artifacts" / "bench-server.log", "w") if (REPO / "artifacts").is_dir() else subprocess.DEVNULL
    results: dict[str, str] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        # 1. cold start
        t0 = time.perf_counter()
        proc = start_streamlit(port, env, log)
        try:
            try:
                wait_healthy(url, proc, timeout=120, poll=0.05)
            except RuntimeError as e:
                raise SystemExit(str(e)) from None
            t_health = time.perf_counter() - t0
            t1 = time.perf_counter()
            page.goto(url)
            page.get_by_text("A character-level bidirectional LSTM").wait_for(timeout=120_000)
            meaningful = time.perf_counter() - t1
            page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=120_000)
            figure = time.perf_counter() - t1
            results["cold start: first meaningful view"] = (f"{meaningful:.2f} s after the server was up "
                                                            f"({t_health:.2f} s), first figure {figure:.2f} s  "
                                                            f"target <= 3 s")
            page.wait_for_function(IDLE, timeout=120_000)
            page.goto(f"{url}/transliterate")
            expected = tr.transliterate(EXAMPLES[0])
            page.locator('[data-testid="stCode"]').filter(has_text=expected).wait_for(timeout=120_000)
            page.wait_for_function(IDLE, timeout=30_000)

            # 3. 200 characters typed -> output shown (warm)
            box = page.get_by_role("textbox", name="Latin text")
            times = []
            for i in range(a.repeats + 1):
                text = text_of(200, i)
                want = tr.transliterate(text)
                t = time.perf_counter()
                box.fill(text)
                page.locator('[data-testid="stCode"]').filter(has_text=want[-40:]).wait_for(timeout=30_000)
                if i:                           # the first one warms the per-character view
                    times.append(time.perf_counter() - t)
                page.wait_for_function(IDLE, timeout=30_000)
            results["200-char text typed -> output shown"] = (f"median {statistics.median(times):.3f} s, "
                                                              f"max {max(times):.3f} s  target <= 0.3 s "
                                                              f"(includes the box's 60 ms typing pause)")

            # 2. switching the pair on the graph page (warm)
            page.goto(f"{url}/graph")
            page.wait_for_selector("h1")
            page.wait_for_function(IDLE, timeout=120_000)
            if page.locator('[data-testid="stPlotlyChart"]').count() == 0:
                results["pair switch on the graph page"] = "skipped: no analysis file for this checkpoint"
            else:
                sel = page.locator('[data-testid="stSelectbox"]').nth(1)
                times = []
                for i in range(a.repeats + 1):
                    sel.click()
                    options = page.locator('[role="option"]')
                    n = options.count()
                    if n < 2:
                        page.keyboard.press("Escape")
                        results["pair switch on the graph page"] = "skipped: a single output for this input"
                        break
                    choice = options.nth((i + 1) % n)
                    label = choice.inner_text().split()[0]
                    t = time.perf_counter()
                    choice.click()
                    page.wait_for_function(
                        "(lab) => [...document.querySelectorAll('.gtitle')]"
                        ".some(e => e.textContent.includes('→' + lab))",
                        arg=label, timeout=30_000)
                    page.wait_for_function(IDLE, timeout=30_000)
                    if i:
                        times.append(time.perf_counter() - t)
                if times:
                    results["pair switch on the graph page"] = (f"median {statistics.median(times):.3f} s, "
                                                                f"max {max(times):.3f} s  target <= 0.5 s")
                results["first node click on the graph"] = f"{first_node_click(page):.3f} s  target <= 1 s"
                times = page_switches(page, a.repeats)
                results["page switch (sidebar)"] = (f"median {statistics.median(times):.3f} s, "
                                                    f"max {max(times):.3f} s  target <= 0.5 s")
        finally:
            stop(proc)
            browser.close()
    print(f"checkpoint: {ck}")
    for k, v in results.items():
        print(f"{k:40s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
