"""What the lab does when writing goes wrong: a full disk leaves every file whole, a second writer on
a folder is refused with a message, a full cache disk records in memory, accented letters lose no
letter after them, size-like numbers on the command line are bounded, and a broken training state
or a stale analysis says what it is."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
import torch
from tiny import SENTENCES

from translit_core.model.checkpoint import save_checkpoint


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


class _HalfFull:
    """A file that takes half of what is written to it, then says the disk is full."""

    def __init__(self, f):
        self.f = f

    def write(self, data):
        self.f.write(data[: max(1, len(data) // 2)])
        self.f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def __getattr__(self, name):
        return getattr(self.f, name)


def _fail_half_way(monkeypatch):
    """Every file this process opens for writing (Path.write_text, open, os.fdopen: all go through
    io.open) writes half of its data, then the disk is full."""
    import io
    real = io.open

    def half_full_open(file, mode="r", *args, **kwargs):
        f = real(file, mode, *args, **kwargs)
        return _HalfFull(f) if any(m in mode for m in "wax+") else f
    monkeypatch.setattr(io, "open", half_full_open)


# -----------------------------------------------------------------------------
# atomic writes

def test_a_full_disk_leaves_the_old_lexicon_whole_and_no_temporary_file(tmp_path, monkeypatch):
    from collections import Counter

    from translit_core.infer.lexicon import load_lexicon, save_lexicon
    path = tmp_path / "lexicon.txt"
    save_lexicon(path, Counter({"բարև": 3, "ձեզ": 2}))
    before = path.read_bytes()
    _fail_half_way(monkeypatch)
    with pytest.raises(OSError):
        save_lexicon(path, Counter({f"բառ{'ա' * i}": 2 for i in range(2000)}))
    monkeypatch.undo()
    assert path.read_bytes() == before and load_lexicon(path) == {"բարև", "ձեզ"}
    assert _leftovers(tmp_path) == []


def test_written_files_get_a_normal_files_mode(tmp_path):
    from collections import Counter

    from translit_core.files import atomic_write
    from translit_core.infer.lexicon import save_lexicon
    save_lexicon(tmp_path / "lexicon.txt", Counter({"բարև": 1}))
    atomic_write(tmp_path / "a.json", "{}")
    for name in ("lexicon.txt", "a.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~_umask(), name


def test_a_failed_checkpoint_save_keeps_the_old_pair_and_leaves_no_temporary_file(tiny, tmp_path, monkeypatch):
    import safetensors.torch

    from translit_core.model import checkpoint
    from translit_core.model.checkpoint import load_checkpoint
    model, alphabets, _ = tiny
    save_checkpoint(tmp_path, model, alphabets, {"n": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full(tensors, path, *args, **kwargs):
        safetensors.torch.save_file(tensors, path, *args, **kwargs)
        with open(path, "r+b") as f:               # half of it made it to the disk
            f.truncate(os.path.getsize(path) // 2)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(checkpoint, "save_file", full)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, model, alphabets, {"n": 2})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert load_checkpoint(tmp_path)[2]["n"] == 1
    monkeypatch.undo()
    save_checkpoint(tmp_path, model, alphabets, {"n": 3})
    assert load_checkpoint(tmp_path)[2]["n"] == 3 and _leftovers(tmp_path) == []
    assert stat.S_IMODE((tmp_path / "model.safetensors").stat().st_mode) == 0o666 & ~_umask()


def test_a_failed_findings_and_dynamics_write_keeps_the_old_file(tmp_path, monkeypatch):
    from translit_core.analysis.comparison.dynamics import DYNAMICS_FILE, save_dynamics
    save_dynamics(tmp_path, [], 10, 0)
    before = (tmp_path / DYNAMICS_FILE).read_bytes()
    _fail_half_way(monkeypatch)
    with pytest.raises(OSError):
        save_dynamics(tmp_path, [], 20, 1)
    monkeypatch.undo()
    assert (tmp_path / DYNAMICS_FILE).read_bytes() == before and _leftovers(tmp_path) == []


# -----------------------------------------------------------------------------
# one writer per folder

HOLD = ("import sys, time; from translit_core.files import FolderLock\n"
        "lock = FolderLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)")


@contextlib.contextmanager
def held_by_another_process(folder):
    """Another process holds `folder`'s lock inside the block -> that process's pid."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_second_writer_on_a_folder_is_refused_with_the_holders_pid(tmp_path):
    from translit_core.files import FolderBusy, FolderLock
    with held_by_another_process(tmp_path) as pid:
        with pytest.raises(FolderBusy, match=rf"{tmp_path} is being written by another process \(pid {pid}\)"):
            FolderLock(tmp_path, hint="wait for it or choose another --out").acquire()
    with FolderLock(tmp_path):                     # its lock went with it
        pass
    assert not (tmp_path / ".lock").exists()


def test_a_second_lock_from_another_thread_conflicts_and_the_same_thread_may_nest(tmp_path):
    import threading

    from translit_core.files import FolderBusy, FolderLock
    errors = []
    with FolderLock(tmp_path):
        with FolderLock(tmp_path):                 # the same thread again (train saving into its --out)
            pass

        def other():
            try:
                FolderLock(tmp_path).acquire()
            except FolderBusy as e:
                errors.append(str(e))
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(errors) == 1 and f"(pid {os.getpid()})" in errors[0]


def test_train_refuses_an_out_folder_another_process_is_writing(tmp_path):
    from tiny import TESTS
    with held_by_another_process(tmp_path) as pid:
        proc = subprocess.run([sys.executable, "-m", "translit_core", "train", "--corpus",
                               str(TESTS / "fixtures" / "tiny_corpus"), "--out", str(tmp_path), "--epochs", "1",
                               "--max-steps", "1", "--lstm", "8", "--hidden", "8", "--batch-size", "2",
                               "--precision", "fp32", "--valid-lines", "2"], capture_output=True, text=True,
                              timeout=120)
    assert proc.returncode == 2
    assert f"is being written by another process (pid {pid}); wait for it or choose another --out" in proc.stderr
    assert not (tmp_path / "model.json").exists()


def test_analysis_save_refuses_a_folder_another_process_is_writing(tiny_checkpoint, tmp_path):
    from translit_core.analysis.store import Analysis
    from translit_core.files import FolderBusy
    an = Analysis.load(tiny_checkpoint)
    with held_by_another_process(tmp_path):
        with pytest.raises(FolderBusy, match="write the analysis elsewhere with --out"):
            an.save(tmp_path)
    assert not (tmp_path / "analysis.json").exists()
    an.save(tmp_path)
    assert (tmp_path / "analysis.json").is_file() and not (tmp_path / ".lock").exists()


# -----------------------------------------------------------------------------
# a full cache disk

def test_a_full_cache_disk_records_in_memory_says_so_once_and_leaves_no_staging(tiny, rules, tmp_path, monkeypatch):
    from translit_core.analysis.measurement.recording import record_activations
    from translit_core.analysis.measurement.staging import staging_or_memory
    monkeypatch.setenv("TRANSLIT_CACHE", str(tmp_path))
    model, alphabets, rec = tiny

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "posix_fallocate", full)
    said = []
    into = staging_or_memory(True, said.append)
    assert into is not None and into.is_dir()
    made = record_activations(model, alphabets, SENTENCES * 3, rules, seed=1, max_len=24, into=into, log=said.append)
    assert made.staged() is None and not isinstance(made.h, np.memmap)          # in memory
    np.testing.assert_array_equal(made.h, rec.h)
    np.testing.assert_array_equal(made.c, rec.c)
    assert len(said) == 1 and "no room" in said[0] and "recording in memory" in said[0]
    assert not into.exists() and list((tmp_path / "recordings").iterdir()) == []


# -----------------------------------------------------------------------------
# accented letters

@pytest.fixture(scope="module")
def shipped():
    from translit_core.infer.transliterator import Transliterator
    return Transliterator.load()


ACCENTED = [c for c in map(chr, range(0xC0, 0x180)) if len(unicodedata.normalize("NFD", c)) > 1
            and unicodedata.normalize("NFD", c)[0].isascii() and unicodedata.normalize("NFD", c)[0].isalpha()]


def _letters(shipped, text: str) -> int:
    """Outputs that write something (not the placeholder) for `text`."""
    return sum(1 for p in shipped.predict(text) if p.output)


def test_no_letter_vanishes_after_an_accented_letter(shipped):
    assert len(ACCENTED) > 100
    lost = []
    for c in ACCENTED:
        base = unicodedata.normalize("NFD", c)[0]
        for template in ("t{}v", "barev dz{}z"):
            if _letters(shipped, template.format(c)) != _letters(shipped, template.format(base)):
                lost.append(template.format(c))
    assert not lost, lost


def test_accented_vowels_read_as_their_vowel(shipped):
    assert shipped.transliterate("mer tév") == shipped.transliterate("mer tev") == "մեր թև"
    assert shipped.transliterate("mer tév")[-1] == "և"                          # a letter for "ev", not "é"
    assert shipped.transliterate("barév dzéz") == "բարև ձեզ"
    assert shipped.transliterate("café au lait") == "café au lait"             # a Latin word keeps its accent


# -----------------------------------------------------------------------------
# size-like numbers on the command line

@pytest.mark.parametrize("argv, flag", [
    (["histogram", "--pair", "t:թ", "--neuron", "hidden:1", "--bins", "1000000000"], "--bins"),
    (["analyze", "--bins", "100000000"], "--bins"),
    (["neurons", "--pair", "t:թ", "--top", "10000000000"], "--top"),
    (["ablate", "--pair", "t:թ", "--k", "99999999"], "--k"),
    (["ablate", "--pair", "t:թ", "--draws", "5000000"], "--draws"),
    (["analyze", "--shuffles", "100000"], "--shuffles"),
    (["attribute", "--text", "barev", "--position", "1", "--steps", "100000000"], "--steps"),
    (["transliterate", "--batch-lines", "0"], "--batch-lines"),
    (["clusters", "--k", "-3"], "--k"),
    (["histogram", "--pair", "t:թ", "--neuron", "hidden:1", "--bins", "1e9"], "--bins"),
])
def test_size_like_numbers_are_bounded(argv, flag, capsys):
    from translit_core.cli import main
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {flag}:" in err and "whole number" in err and "Traceback" not in err


# -----------------------------------------------------------------------------
# a broken training state, a stale analysis

def test_resume_refuses_a_negative_epoch(tmp_path):
    from tiny import TESTS

    from translit_core.training.train import TrainConfig, train
    small = dict(corpus=str(TESTS / "fixtures" / "tiny_corpus"), out=str(tmp_path), epochs=1, max_steps=1, lstm=8,
                 hidden=8, batch_size=2, valid_lines=2, precision="fp32")
    train(TrainConfig(**small))
    state = tmp_path / "train_state" / "state.json"
    body = json.loads(state.read_text())
    body["epoch"] = -3
    state.write_text(json.dumps(body))
    with pytest.raises(ValueError, match=r"state.json: epoch -3 cannot be resumed"):
        train(TrainConfig(**small, resume=True))


def test_a_stale_analysis_says_it_is_out_of_date_and_how_to_rebuild(tiny_checkpoint, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    from translit_core.analysis.measurement.names import AnalysisMissing
    from translit_core.analysis.store import Analysis
    for p in tiny_checkpoint.iterdir():
        if p.is_file():
            shutil.copy2(p, tmp_path / p.name)
    weights = load_file(tmp_path / "model.safetensors")
    first = sorted(weights)[0]
    weights[first] = weights[first] + torch.full_like(weights[first], 1e-3)
    save_file(weights, tmp_path / "model.safetensors")
    with pytest.raises(AnalysisMissing, match=r"out of date.*rebuild it with `.*analyze"):
        Analysis.load(tmp_path)
