"""The lab the dashboard shows: a checkpoint's model, loaded at once, and its analysis, loaded on
first use (the transliterate page never waits for it).

The app keeps one `Lab` per process (ui/widgets.py's current_lab, st.cache_resource), keyed by the
checkpoint directory and the stamps of its files, so a rebuilt analysis or a retrained model is
picked up on the next rerun without restarting the server.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from safetensors import SafetensorError

from translit_core import settings
from translit_core.analysis import ANALYSIS_FILES, Analysis, AnalysisError, AnalysisMissing, Recording, analyze_command
from translit_core.infer.lexicon import LEXICON, LEXICON_GZ
from translit_core.infer.transliterator import Transliterator
from translit_core.model.checkpoint import META, WEIGHTS

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


@dataclass
class Lab:
    directory: Path
    translit: Transliterator
    # The sample recording behind histograms, contexts and substring search is loaded (or
    # re-recorded) once, by one thread; other sessions wait for it instead of doing it again.
    lock: threading.Lock = field(default_factory=threading.Lock)
    warming: bool = False
    _analysis_lock: threading.Lock = field(default_factory=threading.Lock)
    _analysis: Analysis | None = None
    _analysis_error: str | None = None
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
                self._analysis, self._analysis_error = load_analysis(self.directory)
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

    def recording(self) -> Recording:
        """The analysis's sample recording (from the cache, else re-recorded from the data)."""
        with self.lock:
            return self.analysis.recording()

    @property
    def recording_ready(self) -> bool:
        """Whether recording() returns at once."""
        return self.analysis is not None and self.analysis.has_recording

    def warm_up(self) -> None:
        """Load the recording in a background thread, so that the first histogram is quick."""
        if self.analysis is None or self.recording_ready or self.warming:
            return
        self.warming = True

        def run():
            try:
                self.recording()
            except Exception:   # reported when a page asks for it
                pass
        threading.Thread(target=run, name="translit-recording", daemon=True).start()


def load_lab(directory: Path, analysis: bool = True) -> Lab:
    """Load the checkpoint (CheckpointError if it cannot be); its analysis too, unless
    analysis=False (then on first use)."""
    lab = Lab(Path(directory), Transliterator.load(directory))
    if analysis:
        lab._ensure_analysis()
    return lab


def load_analysis(directory: Path) -> tuple[Analysis | None, str | None]:
    """(the analysis, None), or (None, a Markdown note saying why there is none)."""
    try:
        return Analysis.load(directory), None
    except AnalysisMissing as e:
        if not all((Path(directory) / name).is_file() for name in ANALYSIS_FILES):
            return None, (f"There is no analysis file next to the checkpoint in `{directory}`. Build it "
                          f"with the command below (a couple of minutes), then reload this page.")
        return None, f"The analysis file in `{directory}` cannot be used: {md_plain(e)}"
    except Exception as e:  # anything unexpected: the pages that need it say so, the others work
        reason = str(e).strip() or type(e).__name__
        return None, f"The analysis file in `{directory}` cannot be used: {md_plain(reason)}"
