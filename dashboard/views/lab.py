"""The lab the dashboard shows: a checkpoint's model, loaded at once, and its analysis, loaded on
first use (the transliterate page never waits for it).

The app keeps one `Lab` per process (ui/widgets.py's current_lab, st.cache_resource), keyed by the
checkpoint directory and the stamps of its files, so a rebuilt analysis or a retrained model is
picked up on the next rerun without restarting the server.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import torch
from safetensors import SafetensorError

from translit_core import settings
from translit_core.analysis import ANALYSIS_FILES, Analysis, AnalysisError, AnalysisMissing, Recording, analyze_command
from translit_core.infer.lexicon import LEXICON, LEXICON_GZ
from translit_core.infer.transliterator import Transliterator
from translit_core.model.checkpoint import META, WEIGHTS, CheckpointError, load_checkpoint

from .markdown import md_plain

MODEL_FILES = (META, WEIGHTS, LEXICON, LEXICON_GZ)      # what a loaded Transliterator depends on
LAB_FILES = MODEL_FILES + ANALYSIS_FILES

# What the on-demand queries (histograms, contexts, substring search) can raise from the data,
# the recording cache or a pair / neuron without data: shown to the user as a note, not a traceback.
QUERY_ERRORS = (AnalysisError, ValueError, KeyError, OSError, SafetensorError)


class Unavailable(RuntimeError):
    """Something a page asked for that cannot be computed here; the message says why."""


def file_stamp(directory: Path, names: Iterable[str] = LAB_FILES) -> tuple:
    """(name, mtime, size) of each file (None, None when absent): a cache key that changes when they do."""
    out = []
    for n in names:
        try:
            s = (Path(directory) / n).stat()
            out.append((n, s.st_mtime_ns, s.st_size))
        except OSError:
            out.append((n, None, None))
    return tuple(out)


def build_command(directory: Path) -> str:
    """The command that writes the analysis file for a checkpoint directory (no --checkpoint for
    the shipped one)."""
    directory = Path(directory).resolve()
    return analyze_command(None if directory == settings.DEFAULT_CHECKPOINT.resolve() else directory)


# --------------------------------------------------------------------------------------------
# One recording per checkpoint in flight, whichever lab (a reload, an evicted one) or session asks

FIRST_SENTENCES = 200          # recorded first (seconds) for the views to draw from while the whole sample is
FIRST_WAIT_S = 5.0              # the warm-up waits this long for a page's first sentences, at most
FIRST_GRACE_S = 2.0             # then this long, for that page to draw, before the whole sample takes the cores
RECORDINGS_AT_ONCE = 1          # recordings of different checkpoints at once, in the whole process
RECORDINGS_HELD = 1             # labs that keep their recording in memory; the others load it again
_registry_lock = threading.Lock()
_checkpoint_locks: dict[str, threading.Lock] = {}
_at_once = threading.BoundedSemaphore(RECORDINGS_AT_ONCE)
# The recording of a (checkpoint, file stamps) while some lab holds it: a reloaded lab reuses it.
_shared: "weakref.WeakValueDictionary[tuple, Recording]" = weakref.WeakValueDictionary()
# The labs holding a recording, least recently used first. A recording is about a gigabyte (mapped
# from the cache, so loading it again costs about a second): beyond RECORDINGS_HELD the oldest lab
# lets go of its own, and a page still drawing from it keeps it until it is done.
_holders: "list[weakref.ref[Lab]]" = []


def _hold(lab: "Lab") -> None:
    """`lab` has just used its recording: it moves to the end, and the oldest holders beyond
    RECORDINGS_HELD drop theirs."""
    with _registry_lock:
        alive = [r for r in _holders if (held := r()) is not None and held is not lab]
        alive.append(weakref.ref(lab))
        dropped = [r() for r in alive[:-RECORDINGS_HELD]]
        _holders[:] = alive[-RECORDINGS_HELD:]
    for old in dropped:
        if old is not None:
            old.drop_recording()


# The first sentences' recordings by (checkpoint, file stamps), the latest FIRST_HELD, until the
# whole sample's recording is used: a page's lab, another session's and the server's own start
# (prepare_first_views) share them.
FIRST_HELD = 2
_first_shared: "OrderedDict[tuple, Recording]" = OrderedDict()
_first_locks: dict[str, threading.Lock] = {}


def _share_first(key: tuple, recording: Recording | None) -> Recording | None:
    """Keep `recording` as the first sentences of `key` (None: look it up), the latest FIRST_HELD."""
    with _registry_lock:
        if recording is None:
            recording = _first_shared.get(key)
        if recording is not None:
            _first_shared[key] = recording
            _first_shared.move_to_end(key)
            while len(_first_shared) > FIRST_HELD:
                _first_shared.popitem(last=False)
        return recording


def checkpoint_lock(directory: Path, locks: "dict[str, threading.Lock] | None" = None) -> threading.Lock:
    """The one lock of a checkpoint directory in `locks` (default: its recording's), shared by every
    Lab of it in this process."""
    key = str(Path(directory).resolve())
    with _registry_lock:
        return (_checkpoint_locks if locks is None else locks).setdefault(key, threading.Lock())


@dataclass
class Lab:
    directory: Path
    translit: Transliterator
    stamp: tuple = ()       # file_stamp(directory) when loaded: with the directory, the recording's key
    # The sample recording behind histograms, contexts and substring search is loaded (or
    # re-recorded) once per checkpoint, by one thread (checkpoint_lock); other sessions, the
    # warm-up and a reloaded lab of the same files wait for it and reuse it instead of doing it again.
    warming: bool = False
    released: threading.Event = field(default_factory=threading.Event)   # evicted from the app's cache
    recording_progress: float = 0.0     # the share of the whole sample recorded, while it is
    recording_error: str | None = None  # why the warm-up could not record the whole sample
    first_done: threading.Event = field(default_factory=threading.Event)   # first_sentences() recorded
    _recording: Recording | None = None
    _first: Recording | None = None     # the sample's first FIRST_SENTENCES sentences, while needed
    _on_disk: bool = False
    _analysis_lock: threading.Lock = field(default_factory=threading.Lock)
    _analysis: Analysis | None = None
    _analysis_error: str | None = None
    _analysis_status: str | None = None
    _analysis_loaded: bool = False

    @property
    def model(self):
        return self.translit.model

    @property
    def alphabets(self):
        return self.translit.alphabets

    @property
    def sizes(self) -> dict[str, int]:
        """Units per layer (the neuron-name scheme)."""
        return self.model.sizes

    @property
    def command(self) -> str:
        return build_command(self.directory)

    def _ensure_analysis(self) -> None:
        if self._analysis_loaded:
            return
        with self._analysis_lock:
            if not self._analysis_loaded:
                self._analysis, self._analysis_error, self._analysis_status = load_analysis(self.directory)
                self._analysis_loaded = True

    @property
    def analysis(self) -> Analysis | None:
        """The checkpoint's analysis, or None when it cannot be loaded (see analysis_error)."""
        self._ensure_analysis()
        return self._analysis

    @property
    def analysis_error(self) -> str | None:
        self._ensure_analysis()
        return self._analysis_error

    @property
    def analysis_status(self) -> str | None:
        """None with an analysis; else why not: ABSENT, STALE or UNUSABLE."""
        self._ensure_analysis()
        return self._analysis_status

    @property
    def _key(self) -> tuple:
        return str(Path(self.directory).resolve()), self.stamp

    def recording(self) -> Recording:
        """The analysis's sample recording (from the cache, else re-recorded from the data)."""
        rec = self._load_recording(unless_released=False)
        assert rec is not None
        _hold(self)
        return rec

    def _load_recording(self, unless_released: bool) -> Recording | None:
        if self._recording is None:
            with checkpoint_lock(self.directory):
                if self._recording is None:
                    self._recording = _shared.get(self._key)
                if self._recording is None:
                    if unless_released and self.released.is_set():
                        return None
                    with _at_once:
                        self._recording = self.analysis.recording(progress=self._progress)
                    _shared[self._key] = self._recording
        return self._recording

    def _progress(self, share: float) -> None:
        self.recording_progress = share

    @property
    def whole_sample_ready(self) -> bool:
        """Whether recording() answers within about a second: loaded, or in the cache on disk
        (then it is only mapped). While it is not, the views draw from first_sentences()."""
        if not self._on_disk and self.analysis is not None:
            self._on_disk = self.analysis.recording_cached
        return self._on_disk or self.recording_ready

    def first_sentences(self) -> Recording:
        """A recording of the sample's first FIRST_SENTENCES sentences (a second or two, kept in
        memory while the whole one is not there; shared by every lab of the same files): what the
        views draw from while the whole sample is being recorded. The whole sample's recording
        starts once it is done (warm_up waits for it)."""
        if self._first is None:
            with checkpoint_lock(self.directory, _first_locks):
                self._first = _share_first(self._key, None)
                if self._first is None:
                    self._first = _share_first(self._key, self.analysis.first_sentences(FIRST_SENTENCES))
        self.first_done.set()
        return self._first

    @property
    def first_ready(self) -> bool:
        """Whether first_sentences() answers at once."""
        return self._first is not None or self._key in _first_shared

    def sample_recording(self, whole: bool) -> Recording:
        """The whole sample's recording, or (whole=False) its first sentences (let go of once
        the whole one is used)."""
        if whole:
            self._first = None
            with _registry_lock:
                _first_shared.pop(self._key, None)
            return self.recording()
        return self.first_sentences()

    @property
    def recording_ready(self) -> bool:
        """Whether recording() returns at once."""
        return self.analysis is not None and (self._recording is not None or self.analysis.has_recording
                                              or _shared.get(self._key) is not None)

    def release(self) -> None:
        """The app's cache let this lab go: a warm-up not begun yet never starts its recording, and
        the lab lets go of the recording (which stays in memory while another lab holds it)."""
        self.released.set()
        self.drop_recording()

    def drop_recording(self) -> None:
        """Let go of the recording (the next recording() loads it again, from the cache)."""
        self._recording = None
        if self._analysis is not None:
            self._analysis.drop_recording()

    def warm_up(self) -> None:
        """Load the recording in a background thread, so that the first histogram is quick (once
        per lab; never for a lab the cache let go)."""
        with _registry_lock:
            if self.warming or self.released.is_set():
                return
            self.warming = True
        if self.analysis is None or self.recording_ready:
            return

        def run():
            # A page drawing from the first sentences records them first: both at once would
            # share the interpreter's lock and the cores, and the page would wait for both.
            # And once they are there, that page draws before the whole recording takes the cores (on
            # two cores, drawing beside it took 2 s longer); a lab let go meanwhile stops waiting.
            if self.first_done.wait(FIRST_WAIT_S):
                self.released.wait(FIRST_GRACE_S)
            try:
                if self._load_recording(unless_released=True) is not None:
                    _hold(self)
            except Exception as e:   # said by the pages' notice, and again when a page asks for it
                self.recording_error = str(e).strip() or type(e).__name__
        threading.Thread(target=run, name="translit-recording", daemon=True).start()


_problems: dict[tuple, str | None] = {}


def checkpoint_problem(directory: Path) -> str | None:
    """Why the checkpoint in `directory` cannot be loaded (None: it can); checked once per state
    of its files (a missing folder, a file missing, weights that do not fit its config...)."""
    key = str(Path(directory).resolve()), file_stamp(directory, MODEL_FILES)
    if key not in _problems:
        try:
            load_checkpoint(directory)
            _problems[key] = None
        except (CheckpointError, OSError) as e:
            _problems[key] = str(e).strip() or type(e).__name__
    return _problems[key]


def loadable_models(models: dict[str, Path]) -> tuple[dict[str, Path], dict[str, str]]:
    """(the models that can be loaded, {name: why not} for the others). The first (the default)
    is always kept: with it alone, its pages say why it cannot be loaded."""
    ok: dict[str, Path] = {}
    broken: dict[str, str] = {}
    for i, (name, d) in enumerate(models.items()):
        problem = None if i == 0 else checkpoint_problem(d)
        if problem is None:
            ok[name] = d
        else:
            broken[name] = problem
    return ok, broken


# The labs prepare_first_views loaded, by (checkpoint, file stamps), until the app's cache takes
# them (take_prepared): the first page does not load the model, its lexicon and analysis again.
_prepared: dict[tuple, "Lab"] = {}
_prepare_locks: dict[str, threading.Lock] = {}


def prepare_first_views(directory: Path) -> None:
    """Load a checkpoint's lab and record the first sentences of its sample before anyone asks
    (the lab's server does this for the default model as it starts): the first page takes this
    lab (take_prepared) and finds them ready, or waits only for the rest. Anything that fails is
    left for that page to say."""
    try:
        with checkpoint_lock(directory, _prepare_locks):
            lab = load_lab(directory)
            _prepared[(str(Path(directory).resolve()), lab.stamp)] = lab
        if lab.analysis is not None and not lab.whole_sample_ready:
            lab.first_sentences()
    except Exception:
        pass


def take_prepared(directory: Path, stamp: tuple) -> "Lab | None":
    """The lab prepare_first_views loaded for `directory` with these file stamps, once (waiting
    while it is being loaded); None when there is none."""
    with checkpoint_lock(directory, _prepare_locks):
        return _prepared.pop((str(Path(directory).resolve()), stamp), None)


def load_lab(directory: Path, analysis: bool = True) -> Lab:
    """Load the checkpoint (CheckpointError if it cannot be); its analysis too, unless
    analysis=False (then on first use).

    The calling thread, and the threads it starts (the lab's recording), compute with one intra-op
    thread ($TRANSLIT_TORCH_THREADS): the server runs every session's script in its own thread,
    and its small forward passes are fastest and steadiest so. With two on this 2-core machine, a
    200-character input took seconds instead of 30 ms, and the first sentences' recording took
    4.7 s instead of 1.3 s while a browser loaded the page."""
    torch.set_num_threads(settings.torch_threads())
    lab = Lab(Path(directory), Transliterator.load(directory), stamp=file_stamp(directory))
    if analysis:
        lab._ensure_analysis()
    return lab


ABSENT, STALE, UNUSABLE = "absent", "stale", "unusable"     # why a lab has no analysis (Lab.analysis_status)


def load_analysis(directory: Path) -> tuple[Analysis | None, str | None, str | None]:
    """(the analysis, None, None), or (None, a Markdown note saying why there is none, ABSENT,
    STALE or UNUSABLE)."""
    try:
        return Analysis.load(directory), None, None
    except AnalysisMissing as e:
        if not all((Path(directory) / name).is_file() for name in ANALYSIS_FILES):
            return None, (f"There is no analysis file next to the checkpoint in `{directory}`. Build it "
                          f"with the command below (a couple of minutes), then reload this page."), ABSENT
        if _readable_when_not_checked(directory):
            return None, (f"The analysis file in `{directory}` is out of date: {md_plain(e)}. Rebuild it with "
                          f"the command below (a couple of minutes), then reload this page."), STALE
        return None, f"The analysis file in `{directory}` cannot be used: {md_plain(e)}", UNUSABLE
    except Exception as e:  # anything unexpected: the pages that need it say so, the others work
        reason = str(e).strip() or type(e).__name__
        return None, f"The analysis file in `{directory}` cannot be used: {md_plain(reason)}", UNUSABLE


def _readable_when_not_checked(directory: Path) -> bool:
    """Whether the analysis loads when its weights and sample are not checked: then it was
    refused only for being out of date (the checkpoint or the rules changed after `analyze`)."""
    try:
        Analysis.load(directory, check_weights=False)
        return True
    except Exception:
        return False


def analysis_headline(status: str | None) -> str:
    """The first line of the notice of a page that needs the analysis, by Lab.analysis_status."""
    if status == STALE:
        return ("This view needs the neuron analysis of the model, and the one next to it is out of date (the "
                "model changed after it was built): rebuild it with the command below.")
    if status == UNUSABLE:
        return "This view needs the neuron analysis of the model, and the one next to it cannot be used."
    return "This view needs the neuron analysis of the model, and it has not been built yet."
