"""The analysis's vocabulary: its errors, its file names and defaults, and the (x, y) pair.

A pair "t:թ" is an input character x and an output symbol y ("=" keeps x, "_" writes nothing:
`model.alphabets.symbol_of_class`). It is parsed once where it enters (CLI, URL, a caller of
the API) into a `Pair`; everything after that passes the Pair around.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...model.names import NeuronId, UnknownName  # noqa: F401  (re-exported: the analysis API's names)

ANALYSIS_WEIGHTS, ANALYSIS_META = "analysis.safetensors", "analysis.json"
ANALYSIS_FILES = (ANALYSIS_META, ANALYSIS_WEIGHTS)
FORMAT_VERSION = 2            # 2: every H with its permutation null
DEFAULT_BINS, DEFAULT_MIN_COUNT = 100, 300   # 100 bins: the most reproducible rankings (benchmarks/bins_study.py)
DEFAULT_SHUFFLES = 20          # label shuffles behind every H's permutation null

# The post's pairs, ablated (and shown in FINDINGS.md) whenever they pass the count threshold.
POST_PAIRS = ("t:թ", "t:ծ", "s:_", "h:_", "h:հ", "o:օ")


class AnalysisError(RuntimeError):
    """Anything the analysis cannot do with what it was given; the message says what to do."""


class AnalysisMissing(AnalysisError):
    """No (or a stale) analysis file next to a checkpoint."""


class SampleMissing(AnalysisError):
    """The held-out sample text cannot be read."""


def analyze_command(checkpoint_dir=None) -> str:
    """The command that writes the analysis file for a checkpoint directory."""
    return "python -m translit_core analyze" + (f" --checkpoint {checkpoint_dir}" if checkpoint_dir else "")


@dataclass(frozen=True)
class Pair:
    x: str                                  # the input character
    y: str                                  # the output symbol
    n_pos: int = field(default=0, compare=False)   # positions with input x and target y
    n_neg: int = field(default=0, compare=False)   # positions with input x and another target

    def __str__(self) -> str:
        return f"{self.x}:{self.y}"

    @classmethod
    def parse(cls, name: "str | Pair") -> "Pair":
        """"t:թ" -> Pair("t", "թ"). The input is one character, so "::=" is (":", "=")."""
        if isinstance(name, Pair):
            return name
        name = str(name)
        if len(name) < 3 or name[1] != ":":
            raise UnknownName(f"pair {name!r} is not of the form x:y (one input character, a colon, an output "
                              f"symbol; '_' = placeholder, '=' = keeps the input), e.g. t:թ")
        return cls(name[0], name[2:])
