"""The lab's sample recording across labs, sessions and the warm-up: one recording of a checkpoint
in flight at a time, reused by a reloaded lab, and never started by the warm-up of a lab that the
app's cache let go. A slow stand-in for the engine's recording counts the calls."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dashboard.views import lab as lab_module
from dashboard.views.lab import Lab


class SlowAnalysis:
    """Stands in for an Analysis: recording() takes a while and counts how many run at once."""
    calls = 0
    running = 0
    most = 0
    guard = threading.Lock()

    def __init__(self, seconds: float = 0.3):
        self.seconds = seconds
        self._recording = None

    @property
    def has_recording(self) -> bool:
        return self._recording is not None

    def drop_recording(self) -> None:
        self._recording = None

    def recording(self, progress=None):
        cls = type(self)
        with cls.guard:
            cls.calls += 1
            cls.running += 1
            cls.most = max(cls.most, cls.running)
        time.sleep(self.seconds)
        with cls.guard:
            cls.running -= 1
        self._recording = Recorded()
        return self._recording


class Recorded:
    """A recording (a plain object: the lab keeps it by weak reference for the next lab)."""


@pytest.fixture
def counted(monkeypatch):
    SlowAnalysis.calls = SlowAnalysis.running = SlowAnalysis.most = 0
    monkeypatch.setattr(lab_module, "load_analysis", lambda directory: (SlowAnalysis(), None, None))
    monkeypatch.setattr(lab_module, "FIRST_WAIT_S", 0.0)      # no page here records first sentences
    monkeypatch.setattr(lab_module.Transliterator, "load", staticmethod(lambda directory: None))
    return SlowAnalysis


def fresh_lab(directory: Path, stamp=("same",)) -> Lab:
    return Lab(directory, None, stamp=stamp)


def wait_for_threads(name: str = "translit-recording", seconds: float = 10) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(t.name == name for t in threading.enumerate()):
        time.sleep(0.02)


def test_many_labs_of_one_checkpoint_record_it_once_at_a_time(counted, tmp_path):
    labs = [fresh_lab(tmp_path) for _ in range(6)]      # reloads of one checkpoint (an evicted lab and its successor)
    out = []
    threads = [threading.Thread(target=lambda m=m: out.append(m.recording())) for m in labs for _ in range(3)]
    for m in labs:
        m.warm_up()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    wait_for_threads()
    assert counted.most == 1
    assert counted.calls == 1                           # the others waited and reused it
    assert len(out) == 18 and all(r is out[0] for r in out)


def test_other_files_of_a_checkpoint_record_again_but_never_alongside(counted, tmp_path, monkeypatch):
    monkeypatch.setattr(lab_module, "RECORDINGS_HELD", 2)      # both kept: each is recorded once
    old, new = fresh_lab(tmp_path, ("old",)), fresh_lab(tmp_path, ("new",))
    threads = [threading.Thread(target=m.recording) for m in (old, new, old, new)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert counted.most == 1 and counted.calls == 2


def test_the_warm_up_of_a_released_lab_never_records(counted, tmp_path):
    gone = fresh_lab(tmp_path)
    gone.release()
    gone.warm_up()
    wait_for_threads()
    assert counted.calls == 0
    # released while it waits for another lab's recording of the same checkpoint (the files
    # changed in between, so it cannot reuse it): it gives up instead of recording again
    busy = fresh_lab(tmp_path, ("other",))
    worker = threading.Thread(target=busy.recording)
    worker.start()
    time.sleep(0.05)
    waiting = fresh_lab(tmp_path)
    waiting.warm_up()
    waiting.release()
    worker.join(10)
    wait_for_threads()
    assert counted.calls == 1
    waiting.warm_up()                                   # never started twice
    wait_for_threads()
    assert counted.calls == 1


def test_the_apps_cache_releases_the_labs_it_evicts(counted, tmp_path):
    """Five models through the app's cache of four: the first is let go, and its warm-up stops;
    loading one model again and again records it once."""
    import torch

    from dashboard.ui import widgets
    threads_before = torch.get_num_threads()          # the app sets 1 for its process
    widgets._load_lab.clear()
    try:
        dirs = [tmp_path / f"m{i}" for i in range(5)]
        for d in dirs:
            d.mkdir()
        first = widgets._load_lab(str(dirs[0]), ("s",))
        for d in dirs[1:]:
            widgets._load_lab(str(d), ("s",))
        assert first.released.is_set()
        first.warm_up()
        again = [widgets._load_lab(str(dirs[1]), ("s",)) for _ in range(5)]
        for m in again:
            m.warm_up()
        threads = [threading.Thread(target=m.recording) for m in again]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        wait_for_threads()
        assert counted.most == 1 and counted.calls == 1
    finally:
        widgets._load_lab.clear()
        torch.set_num_threads(threads_before)


def test_only_the_most_recently_used_labs_keep_their_recording(counted, tmp_path):
    """Each recording is about a gigabyte: a server that has shown five models holds
    RECORDINGS_HELD of them; the others load theirs again when asked."""
    labs = [fresh_lab(tmp_path / f"model{i}") for i in range(5)]
    for m in labs:
        m.recording()
    held = [m for m in labs if m._recording is not None]
    assert held == labs[-lab_module.RECORDINGS_HELD:]
    assert not any(m.analysis.has_recording for m in labs[:-lab_module.RECORDINGS_HELD])
    assert labs[0].recording() is not None             # asked again: loaded again, and now among the held
    assert labs[0]._recording is not None and labs[-lab_module.RECORDINGS_HELD]._recording is None
    assert counted.calls == 6
