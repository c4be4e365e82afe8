"""The analysis's vocabulary: its errors, its file names and defaults, the (x, y) pair, and the
description of an analysis that its file holds beside the tables (`AnalysisMeta`).

A pair "t:թ" is an input character x and an output symbol y ("=" keeps x, "_" writes nothing:
`model.alphabets.symbol_of_class`). It is parsed once where it enters (CLI, URL, a caller of
the API) into a `Pair`; everything after that passes the Pair around.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# NeuronId is re-exported (`x as x`), one of the analysis API's names
from ...model.names import NeuronId as NeuronId, UnknownName

ANALYSIS_WEIGHTS, ANALYSIS_META = "analysis.safetensors", "analysis.json"
ANALYSIS_FILES = (ANALYSIS_META, ANALYSIS_WEIGHTS)
FORMAT_VERSION = 3            # 2: every H with its permutation null; 3: p against the layer's pooled null
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


# ---- analysis.json's description of an analysis
# The keys `Analysis.save` writes from the tables and the parts it holds; the rest of the file is
# the description below.
TABLE_KEYS = ("format_version", "bins", "min_count", "shuffles", "layers", "xs", "pairs", "candidates",
              "saturation", "clusters")


@dataclass
class CheckpointRef:
    """The checkpoint an analysis was built on: its directory then, its weights' SHA-256 (an
    analysis of other weights is stale), its training metrics and model config."""
    dir: str
    weights_sha256: str
    metrics: dict = field(default_factory=dict)
    config: dict | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "CheckpointRef":
        return cls(str(d["dir"]), str(d["weights_sha256"]), dict(d.get("metrics") or {}), d.get("config"))

    def to_dict(self) -> dict:
        return {"dir": self.dir, "weights_sha256": self.weights_sha256, "metrics": self.metrics, "config": self.config}


@dataclass
class AnalysisMeta:
    """What analysis.json says about an analysis besides its tables: where it came from, how it
    was measured, the stored results (ablations, direction claims, ranking methods' curves) as
    their JSON, and how long each step took. Parsed once when the file is read; `to_dict` gives
    the JSON back, key for key in the file's order (a key an older file lacks stays out)."""
    created: str = ""                         # UTC, ISO 8601
    checkpoint: CheckpointRef | None = None
    sample: dict = field(default_factory=dict)    # the recording's spec (source, seed, fingerprint, ...)
    recording_key: str = ""                   # the recording's name in the cache
    sample_accuracy: float = float("nan")     # the model's accuracy on the sample's positions
    ablation_method: dict = field(default_factory=dict)   # how the stored ablations were made, in words
    null_method: dict = field(default_factory=dict)       # how the permutation nulls were made, in words
    ablations: list[dict] = field(default_factory=list)            # AblationResult.to_dict()s
    direction_claims: list[dict] = field(default_factory=list)     # DirectionClaim.to_dict()s
    direction_method: dict = field(default_factory=dict)
    method_comparisons: list[dict] = field(default_factory=list)   # MethodComparison.to_dict()s
    timings_s: dict[str, float] = field(default_factory=dict)      # seconds per step of `analyze`
    extra: dict = field(default_factory=dict)  # keys this code does not know, kept as they were
    keys: tuple[str, ...] | None = field(default=None, repr=False, compare=False)  # the file's, in its order

    @property
    def sample_seed(self) -> int:
        """The seed the sample was drawn and romanized with (0 when the description has none)."""
        return int(self.sample.get("seed", 0))

    @property
    def sample_fingerprint(self) -> str | None:
        """The sample text's fingerprint: two analyses with the same one (and seed) saw the same text."""
        return self.sample.get("fingerprint")

    @classmethod
    def from_dict(cls, d: dict) -> "AnalysisMeta":
        """From analysis.json (or a part of it): the description's keys, the tables' left out."""
        known = {f for f in cls.__dataclass_fields__ if f not in ("extra", "keys")}
        given = {k: v for k, v in d.items() if k in known}
        if "checkpoint" in given:
            given["checkpoint"] = CheckpointRef.from_dict(given["checkpoint"])
        if given.get("sample_accuracy") is not None:
            given["sample_accuracy"] = float(given["sample_accuracy"])
        extra = {k: v for k, v in d.items() if k not in known and k not in TABLE_KEYS}
        return cls(**given, extra=extra, keys=tuple(k for k in d if k not in TABLE_KEYS))

    def to_dict(self) -> dict:
        """The description as analysis.json holds it (without the tables' keys)."""
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__ if f not in ("extra", "keys")}
        if fields["checkpoint"] is not None:
            fields["checkpoint"] = fields["checkpoint"].to_dict()
        everything = {**fields, **self.extra}
        order = self.keys if self.keys is not None else everything
        return {k: everything[k] for k in order if k in everything}
