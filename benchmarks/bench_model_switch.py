"""The server's memory while a user cycles the sidebar's Model through every shipped model on the
Intervene page (Playwright + Debian's Chromium, localhost only); printed, not asserted.

    python benchmarks/bench_model_switch.py [--seconds 60] [--settle 90] [--cache DIR]

The lab's server starts on the shipped checkpoints (checkpoints/*, the switch's models) with a
fresh recording cache (a temporary folder unless --cache) that holds only the sample's overlap
list (unless --cold-overlap), so that every model's warm-up has a recording to make at once. The page opens on
/intervene?text=barev%20tatik&set=concat.fwd:159%3D0, then the switch moves to the next model
(in a loop over all of them) as soon as the page has the new model in its URL, or after 5 s, for
`--seconds`. The server process's resident memory (with its children's) is sampled every 0.5 s
from the start, idle before the browser opens the page. Printed: idle RSS, peak RSS, peak - idle
(target <= 3 GB) and the anonymous part of it, over the switching and the `--settle` seconds after it (the recordings it
started finish then), the switches made, and how many recording staging folders (recording-*.tmp
under the cache) existed at the peak and at most.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))   # the tests' helpers: lab_server

from bench_app import IDLE
from lab_server import CHROMIUM, CHROMIUM_ARGS, serving
from translit_core import settings
from translit_core.analysis.measurement.sample import held_out

URL = "/intervene?text=barev%20tatik&set=concat.fwd:159%3D0"
TARGET_GB = 3.0


def memory(pid: int) -> tuple[int, int]:
    """(resident, anonymous resident) bytes of a process and its children, from /proc. Resident
    memory counts the pages of the recordings' memory-mapped cache files too; the kernel can drop
    those under pressure, so the anonymous part is what can actually run a machine out of memory."""
    total = anon = 0
    for q in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{q}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                elif line.startswith("RssAnon:"):
                    anon += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total, anon


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for c in (task / "children").read_text().split():
                out += [int(c), *children(int(c))]
    except OSError:
        pass
    return out


class Sampler(threading.Thread):
    """RSS and staging folders every 0.5 s until stopped."""

    def __init__(self, pid: int, cache: Path):
        super().__init__(daemon=True)
        self.pid, self.cache = pid, cache
        self.samples: list[tuple[float, int, int, int]] = []      # (time, rss, anonymous rss, staging folders)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            staging = sum(1 for _ in self.cache.rglob("recording-*.tmp")) if self.cache.is_dir() else 0
            self.samples.append((time.monotonic(), *memory(self.pid), staging))
            self.done.wait(0.5)


def cycle(url: str, models: list[str], seconds: float) -> int:
    """Switch the sidebar's Model through `models` for `seconds`; the number of switches made."""
    from playwright.sync_api import sync_playwright
    switches = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + URL)
            page.wait_for_function(IDLE, timeout=180_000)
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end and switches < 10_000:          # bounded either way
                i = (i + 1) % len(models)
                name = models[i]
                try:
                    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click(timeout=5_000)
                    page.get_by_role("option", name=name, exact=True).click(timeout=5_000)
                    switches += 1
                    shown = (f"() => location.search.includes('model={name}')" if i
                             else "() => !location.search.includes('model=')")      # the default: no model=
                    page.wait_for_function(shown, timeout=5_000)
                except Exception:              # a busy page: go on with the next model
                    pass
        finally:
            browser.close()
    return switches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--cache", type=Path, default=None, help="the recording cache (default: a fresh temporary one)")
    ap.add_argument("--settle", type=float, default=90, help="seconds sampled after the browser closed")
    ap.add_argument("--cold-overlap", action="store_true", help="leave the sample's overlap list out of the cache")
    args = ap.parse_args()
    models = list(settings.model_dirs())
    print(f"models: {', '.join(models)}")
    with tempfile.TemporaryDirectory(prefix="bench-switch-") as tmp:
        cache = args.cache or Path(tmp)
        env = {"TRANSLIT_CACHE": str(cache)}
        if not args.cold_overlap:
            # The sample's overlap with the training text (about 30 s, once per machine) goes into the
            # cache first, as on any machine that has used the lab: otherwise every warm-up spends
            # its first 30 s there and few recordings start within the run.
            os.environ["TRANSLIT_CACHE"] = str(cache)
            t = time.monotonic()
            held_out()
            print(f"sample overlap cached in {time.monotonic() - t:.0f} s")
        with serving(env, "bench-model-switch-server.log") as (url, proc):
            sampler = Sampler(proc.pid, cache)
            sampler.start()
            time.sleep(2.0)
            idle, idle_anon = (max(s[1] for s in sampler.samples), max(s[2] for s in sampler.samples))
            t0 = time.monotonic()
            switches = cycle(url, models, args.seconds)
            browsing = time.monotonic() - t0
            time.sleep(args.settle)             # after the browser closed: the recordings under way finish
            sampler.done.set()
            sampler.join()
    samples = sampler.samples
    peak_at, peak, _, staging_at_peak = max(samples, key=lambda s: s[1])
    peak_anon = max(s[2] for s in samples)
    gb = 1024 ** 3
    print(f"switches: {switches} in {browsing:.0f} s")
    print(f"idle RSS: {idle / gb:.2f} GB (anonymous {idle_anon / gb:.2f} GB)")
    print(f"peak RSS: {peak / gb:.2f} GB ({peak_at - t0:.0f} s after the page opened)")
    print(f"peak - idle: {(peak - idle) / gb:.2f} GB (target <= {TARGET_GB:.0f} GB); anonymous memory: peak "
          f"{peak_anon / gb:.2f} GB, {(peak_anon - idle_anon) / gb:.2f} GB over idle")
    print(f"final RSS ({args.settle:.0f} s after the browser closed): {samples[-1][1] / gb:.2f} GB")
    print(f"recording staging folders: {staging_at_peak} at the peak, at most {max(s[3] for s in samples)}")


if __name__ == "__main__":
    main()
