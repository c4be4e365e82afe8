"""The server's memory while a user cycles the sidebar's Model through every shipped model on the
Intervene page (Playwright + Debian's Chromium, localhost only); printed, not asserted.

    python benchmarks/bench_model_switch.py [--seconds 60] [--cache DIR]

The lab's server starts on the shipped checkpoints (checkpoints/*, the switch's models) with a
fresh recording cache (a temporary folder unless --cache), so that every model's warm-up has a
recording to make. The page opens on
/intervene?text=barev%20tatik&set=concat.fwd:159%3D0, then the switch moves to the next model
(in a loop over all of them) as soon as the page has the new model in its URL, or after 5 s, for
`--seconds`. The server process's resident memory (with its children's) is sampled every 0.5 s
from the start, idle before the browser opens the page. Printed: idle RSS, peak RSS, peak - idle
(target <= 3 GB), the switches made, and how many recording staging folders (recording-*.tmp
under the cache) existed at the peak and at most.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))   # the tests' helpers: lab_server

from bench_app import IDLE
from lab_server import CHROMIUM, CHROMIUM_ARGS, serving
from translit_core import settings

URL = "/intervene?text=barev%20tatik&set=concat.fwd:159%3D0"
TARGET_GB = 3.0


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (psutil when installed, else /proc)."""
    try:
        import psutil
        p = psutil.Process(pid)
        return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])
    except ImportError:
        pass
    except Exception:
        return 0
    total = 0
    for q in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{q}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


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
        self.samples: list[tuple[float, int, int]] = []      # (time, rss, staging folders)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            staging = sum(1 for _ in self.cache.rglob("recording-*.tmp")) if self.cache.is_dir() else 0
            self.samples.append((time.monotonic(), rss_bytes(self.pid), staging))
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
    args = ap.parse_args()
    models = list(settings.model_dirs())
    print(f"models: {', '.join(models)}")
    with tempfile.TemporaryDirectory(prefix="bench-switch-") as tmp:
        cache = args.cache or Path(tmp)
        env = {"TRANSLIT_CACHE": str(cache)}
        with serving(env, "bench-model-switch-server.log") as (url, proc):
            sampler = Sampler(proc.pid, cache)
            sampler.start()
            time.sleep(2.0)
            idle = max(r for _, r, _ in sampler.samples) if sampler.samples else rss_bytes(proc.pid)
            t0 = time.monotonic()
            switches = cycle(url, models, args.seconds)
            browsing = time.monotonic() - t0
            time.sleep(5.0)                     # after the browser closed: still rising?
            sampler.done.set()
            sampler.join()
    samples = sampler.samples
    peak_at, peak, staging_at_peak = max(samples, key=lambda s: s[1])
    gb = 1024 ** 3
    print(f"switches: {switches} in {browsing:.0f} s")
    print(f"idle RSS: {idle / gb:.2f} GB")
    print(f"peak RSS: {peak / gb:.2f} GB ({peak_at - t0:.0f} s after the page opened)")
    print(f"peak - idle: {(peak - idle) / gb:.2f} GB (target <= {TARGET_GB:.0f} GB)")
    print(f"final RSS (5 s after the browser closed): {samples[-1][1] / gb:.2f} GB")
    print(f"recording staging folders: {staging_at_peak} at the peak, at most {max(s[2] for s in samples)}")


if __name__ == "__main__":
    main()
