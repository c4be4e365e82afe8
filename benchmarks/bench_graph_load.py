"""The neuron-graph page under load, in a real browser; printed, not asserted.

    python benchmarks/bench_graph_load.py [--checkpoint DIR] [--sessions 5] [--rate 1.6] [--seconds 20]

One server (tests/lab_server.py), one Chromium, `sessions` browser contexts on /graph. Each session
switches the pair about `rate` times a second for `seconds`, at random moments: it picks another
input character, or (one switch in three) another output of the current one, in the page's own
pickers. Then, from each session's own last click, its page is read every 50 ms until it is
consistent and shows that click: no script run in progress, the picker clicked shows the choice,
and the pickers, the graph's title and the URL all name the same pair
(lab_server.graph_page_consistent). A reading is timed when it comes back from the page
(an upper bound). Printed: the time from the last click to a consistent page per session
(target <= 1 s), how many pages were not consistent 1 s and 5 s after their last click, what
the slower pages showed on their way, the switches achieved (Playwright's clicks slow down with
the browser), and the server's CPU time per switch and its memory (the first switch to a pair in
a process draws its figure; later ones find it).

The checkpoint defaults to the shipped one (checkpoints/hy, or $TRANSLIT_CHECKPOINT); the graph
needs its analysis file (`python -m translit_core analyze`). The load average is printed with
the figures: on a shared machine they move with it.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))   # the tests' helpers: lab_server

from dashboard.views.labels import input_choice_label
from dashboard.views.urls import pairs_by_input
from lab_server import CHROMIUM, CHROMIUM_ARGS, GRAPH_STATE, graph_page_consistent, graph_page_pairs, serving
from translit_core import settings
from translit_core.analysis import Analysis

POLL = 0.05          # seconds between two readings of a page after its last click
GIVE_UP = 90.0       # seconds after the last click


@dataclass
class Session:
    clicks: int = 0
    missed: int = 0      # switches whose option click found no option (the picker was redrawn)
    first_click: float = 0.0
    last_click: float = 0.0
    readings: list[tuple[float, bool]] = field(default_factory=list)   # (s after the last click, consistent)
    last_state: dict = field(default_factory=dict)                      # the last GRAPH_STATE reading
    last_choice: dict = field(default_factory=dict)                     # the picker value the last click set
    seen: list[tuple[float, str]] = field(default_factory=list)         # (s after the last click, what the page
                                                                        # showed), each time it changed

    def consistent_after(self) -> float | None:
        return next((t for t, ok in self.readings if ok), None)

    def consistent_at(self, t: float) -> bool:
        """Consistent t seconds after the last click: once consistent, a page stays so (no click follows)."""
        done = self.consistent_after()
        return done is not None and done <= t


def same_label(shown: str | None, chosen: str) -> bool:
    """A picker's value against an option's text (the browser's text of an option folds spaces)."""
    return shown is not None and shown.split() == chosen.split()


def describe(state: dict, pairs) -> str:
    """What a GRAPH_STATE reading shows: the pair of the pickers, graph and URL, and whether a run is on."""
    picked, drawn, url = graph_page_pairs(state, pairs)
    return (f"pickers {state.get('x')!r} / {state.get('y')!r} ({picked}), graph {drawn}, URL {url}, "
            f"{'running' if state.get('running') else 'not running'}")


async def choose(page, label: str) -> bool:
    """Click the open list's option `label`; False (and the list closed) if it does not appear,
    as when a rerun redraws the picker under the pointer."""
    try:
        await page.get_by_role("option", name=label, exact=True).first.click(timeout=3_000)
        return True
    except PlaywrightTimeout:
        await page.keyboard.press("Escape")
        await page.evaluate("() => document.activeElement && document.activeElement.blur()")  # shows the choice again
        return False


async def switch(page, rng: random.Random, inputs: list[str]) -> dict[str, str] | None:
    """Another input character, or (one time in three) another output of the current one, chosen
    as a user does: open the picker (or type into it), click the option. Returns the picker the
    user set and what it now shows ({"x": ...} or {"x": ..., "y": ...}, as GRAPH_STATE reads them);
    None if the click missed. While a run is on (after an input switch), the output list shown can
    still be the one of the input before, and the server drops a click in it (widgets.pair_picker):
    then only the input is expected to stay."""
    if rng.random() < 1 / 3:
        before = await page.evaluate(GRAPH_STATE)
        out = page.locator('input[aria-label="Output"]:visible').first    # the new box, during a run
        current = await out.input_value()
        await out.click()
        options = [o.strip() for o in await page.get_by_role("option").all_inner_texts()]
        others = [o for o in options if o and o != current]
        if others:
            y = rng.choice(others)
            if not await choose(page, y):
                return None
            return {"x": before["x"]} if before["running"] else {"x": before["x"], "y": y}
        await page.keyboard.press("Escape")
    box = page.locator('input[aria-label="Input character"]')
    label = rng.choice([x for x in inputs if x != await box.input_value()])
    await box.focus()
    await page.keyboard.press("Control+A")
    await page.keyboard.type(label)
    return {"x": label} if await choose(page, label) else None


async def run_session(page, s: Session, rng: random.Random, inputs: list[str], rate: float, until: float,
                      pairs) -> None:
    next_at = time.monotonic()
    s.first_click = s.last_click = next_at
    while True:
        next_at += rng.uniform(0.5, 1.5) / rate          # `rate` switches a second on average
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if time.monotonic() >= until:
            break
        if chosen := await switch(page, rng, inputs):
            s.clicks += 1
            s.last_click = time.monotonic()
            s.last_choice = chosen
        else:
            s.missed += 1
    while time.monotonic() - s.last_click < GIVE_UP:
        s.last_state = await page.evaluate(GRAPH_STATE)
        t = time.monotonic() - s.last_click          # when the reading came back: an upper bound
        # Consistent, and showing the user's last choice (not the page from before that click)
        ok = graph_page_consistent(s.last_state, pairs) and all(
            same_label(s.last_state.get(k), v) for k, v in s.last_choice.items())
        s.readings.append((t, ok))
        shown = describe(s.last_state, pairs)
        if not s.seen or s.seen[-1][1] != shown:
            s.seen.append((t, shown))
        if ok:
            return
        await asyncio.sleep(POLL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident memory of a process now and at its peak, in MB (Linux)."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


async def bench(url: str, server_pid: int, pairs, n_sessions: int, rate: float, seconds: float,
                seed: int) -> tuple[list[Session], float, float]:
    """The sessions, the server's CPU seconds from the first switch until every page is consistent,
    and its resident memory (MB) when the switching began."""
    inputs = sorted({input_choice_label(x) for x in pairs_by_input(pairs)})
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(n_sessions):
                ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
                pages.append(await ctx.new_page())
            for page in pages:                     # one after the other: the first loads the analysis
                await page.goto(f"{url}/graph")
                await page.wait_for_selector('[data-testid="stPlotlyChart"] .gtitle', timeout=180_000)
            for page in pages:
                await page.wait_for_function(f"() => !({GRAPH_STATE})().running", timeout=60_000)
            sessions = [Session() for _ in pages]
            cpu, rss = cpu_seconds(server_pid), memory_mb(server_pid)[0]
            until = time.monotonic() + seconds
            await asyncio.gather(*(run_session(page, s, random.Random(seed + i), inputs, rate, until, pairs)
                                   for i, (page, s) in enumerate(zip(pages, sessions))))
            return sessions, cpu_seconds(server_pid) - cpu, rss
        finally:
            await browser.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="default: $TRANSLIT_CHECKPOINT, else checkpoints/hy")
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--rate", type=float, default=1.6, help="pair switches a second, per session")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    ck = Path(a.checkpoint).resolve() if a.checkpoint else settings.checkpoint_dir()
    pairs = Analysis.load(ck).pairs()
    load_before = os.getloadavg()
    with serving({"TRANSLIT_CHECKPOINT": str(ck)}, "bench-graph-server.log") as (url, proc):
        sessions, server_cpu, rss_before = asyncio.run(bench(url, proc.pid, pairs, a.sessions, a.rate, a.seconds,
                                                             a.seed))
        rss_after, rss_peak = memory_mb(proc.pid)
    load_after = os.getloadavg()

    rates = [s.clicks / max(1e-9, s.last_click - s.first_click) for s in sessions if s.clicks]
    done = [s.consistent_after() for s in sessions]
    shown = [f"{d:.2f}" if d is not None else f">{GIVE_UP:.0f}" for d in done]
    finite = [d for d in done if d is not None]
    print(f"checkpoint: {ck} ({len(pairs)} pairs); {os.cpu_count()} CPUs; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{len(sessions)} sessions, {a.seconds:.0f} s of switching at {a.rate}/s: "
          f"{sum(s.clicks for s in sessions)} switches ({sum(s.missed for s in sessions)} missed clicks), "
          f"{statistics.mean(rates):.2f}/s per session achieved")
    switches = sum(s.clicks for s in sessions)
    print(f"{'server CPU time per switch':40s} {1000 * server_cpu / max(1, switches):.0f} ms "
          f"({server_cpu:.1f} s in all; the rest of the machine's time is Chromium's and other work)")
    print(f"{'server memory (resident)':40s} {rss_before:.0f} MB before the switching, {rss_after:.0f} MB after, "
          f"peak {rss_peak:.0f} MB")
    print(f"{'last click -> consistent page':40s} per session {', '.join(shown)} s; "
          + (f"median {statistics.median(finite):.2f} s, max {max(finite):.2f} s" if finite else "none")
          + "  target <= 1 s")
    for t in (1.0, 5.0):
        bad = sum(not s.consistent_at(t) for s in sessions)
        print(f"{f'pages not consistent at +{t:.0f} s':40s} {bad} of {len(sessions)}")
    for i, s in enumerate(sessions):                  # what the slow pages showed on their way
        done = s.consistent_after()
        if done is None or done > 1.0:
            print(f"session {i}, after its last click:")
            for t, shown in s.seen:
                print(f"  +{t:5.2f} s  {shown}")
            if done is None:
                print(f"  +{GIVE_UP:.0f} s  still so")
    return 0


if __name__ == "__main__":
    sys.exit(main())
