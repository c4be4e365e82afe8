"""The lab's server (`python -m dashboard`, dashboard/launch.py) on a free localhost port, and the
headless Chromium that drives it: for the browser tests (tests/browser/) and the dashboard
benchmark (benchmarks/bench_app.py)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
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
    tail = lambda: log.read_text()[-3000:] if log and log.exists() else ""  # noqa: E731
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
