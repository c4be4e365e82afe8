"""The lab's server (`python -m dashboard`, dashboard/launch.py) on a free localhost port, the
headless Chromium that drives it, and a reading of the graph page as its user sees it: for the
browser tests (tests/browser/) and the dashboard benchmarks (benchmarks/bench_app.py,
benchmarks/bench_graph_load.py, bench_intervene_app.py, bench_compare.py), which put tests/ on
their import path for it. Not part of the installed package: only tests and benchmarks use it."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")       # Debian's (apt-get install chromium fonts-noto-core)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(port: int, env: dict[str, str], log: IO | int) -> subprocess.Popen:
    """The lab (`python -m dashboard`, Streamlit with app.py) on 127.0.0.1:port, output to `log`."""
    cmd = [sys.executable, "-m", "dashboard", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--client.showErrorDetails", "full"]
    return subprocess.Popen(cmd, cwd=REPO, env=dict(os.environ, PYTHONUNBUFFERED="1", **env),
                            stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90, poll: float = 0.25,
                 log: Path | None = None) -> None:
    """Until the server answers its health check; RuntimeError (with the log's tail) otherwise."""
    def tail() -> str:
        return log.read_text()[-3000:] if log and log.exists() else ""

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{tail()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(poll)
    raise RuntimeError(f"streamlit did not come up in {timeout}s:\n{tail()}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def serving(env: dict[str, str], log_name: str | None = None, timeout: float = 120, poll: float = 0.1):
    """The lab on a free port for the length of a `with` (the benchmarks): yields (url, process),
    its output in artifacts/LOG_NAME where that folder exists; SystemExit with the log's tail
    when it does not come up."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    path = REPO / "artifacts" / log_name if log_name and (REPO / "artifacts").is_dir() else None
    log = open(path, "w") if path else subprocess.DEVNULL
    proc = start_streamlit(port, env, log)
    try:
        try:
            wait_healthy(url, proc, timeout=timeout, poll=poll, log=path)
        except RuntimeError as e:
            raise SystemExit(str(e)) from None
        yield url, proc
    finally:
        stop(proc)
        if path:
            log.close()


# --------------------------------------------------------------------------------------------
# The graph page as its user sees it (tests/browser, benchmarks/bench_graph_load.py)

# Both pickers' shown values, the graph's title, the URL, and whether a script run is going on.
GRAPH_STATE = """() => {
  // The picker shown: during a run, the box of the input before stays in the page, hidden, until the run ends.
  const shown = label => { const e = [...document.querySelectorAll(`input[aria-label="${label}"]`)]
      .find(e => e.offsetParent !== null); return e ? e.value : null; };
  const title = document.querySelector('[data-testid="stPlotlyChart"] .gtitle');
  const app = document.querySelector('[data-testid="stApp"]');
  return {x: shown('Input character'), y: shown('Output'), title: title ? title.textContent : null,
          url: location.href, running: !app || app.getAttribute('data-test-script-state') !== 'notRunning'};
}"""


def graph_page_pairs(state: dict, pairs) -> tuple[str | None, str | None, str | None]:
    """The pair ("x:y") that the pickers, the graph's title and the URL each name, from a
    GRAPH_STATE reading and the analysis's pairs; None where one names none of them."""
    from urllib.parse import parse_qs, urlsplit

    from dashboard.views.labels import input_choice_label, output_choice_label, pair_label
    by_pickers = {(input_choice_label(p.x), output_choice_label(p.x, p.y)): str(p) for p in pairs}
    by_title = {pair_label(p): str(p) for p in pairs}
    title = re.search(r"separate (.+?)\s+·", state.get("title") or "")
    url = parse_qs(urlsplit(state.get("url") or "").query).get("pair", [None])[-1]
    return (by_pickers.get((state.get("x"), state.get("y"))), by_title.get(title.group(1)) if title else None,
            url if url in by_title.values() else None)


def graph_page_consistent(state: dict, pairs) -> bool:
    """No script run in progress, and the pickers, the graph and the URL all name the same pair."""
    shown = graph_page_pairs(state, pairs)
    return not state.get("running") and shown[0] is not None and len(set(shown)) == 1


def first_graph_node(page, prefix: str = "hidden:") -> tuple[dict, str]:
    """(the bounding box on screen, the neuron name) of the graph's first node whose neuron
    starts with `prefix`: where a click on that node lands."""
    plot = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    plot.wait_for(timeout=60_000)
    trace, point, neuron = page.evaluate("""(prefix) => {
        const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
        const i = gd.data.findIndex(t => t.name === 'neurons');
        const j = gd.data[i].customdata.findIndex(c => c.startsWith(prefix));
        return [i, j, gd.data[i].customdata[j]];
    }""", prefix)
    return plot.locator(".scatterlayer .trace").nth(trace).locator("path.point").nth(point).bounding_box(), neuron
