"""The analysis file and its queries: what `analyze` writes next to a checkpoint.

`analysis.safetensors` (the tables, the rankings, the weights of the graph's edges) and
`analysis.json` (pairs, counts, the sample's description, the stored ablations); never pickled.
`Analysis` answers the dashboard's and the CLI's questions from them: rankings, means,
contributions (weight x mean activation, for the graph's edges), stored ablations, and the
sample recording behind histograms and contexts (cached; re-made from the data when missing).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .. import settings
from ..files import FolderLock, atomic_path, atomic_write
from ..model.checkpoint import WEIGHTS, load_checkpoint
from ..model.names import NeuronId, UnknownName
from ..text.romanize import ROMANIZER_VERSION
from ..text.rules import load_rules
from . import graph
from .methods.ablation import AblationResult
from .methods.clusters import Clusters, PairSpread, pair_spread
from .measurement.names import (ANALYSIS_META, ANALYSIS_WEIGHTS, FORMAT_VERSION, AnalysisMeta, AnalysisMissing, Pair,
                                SampleMissing, analyze_command)
from .measurement.recording import Recording, record_activations, recording_key, save_to_cache
from .measurement.staging import staging_or_memory
from .methods.saturation import Saturation
from .measurement.sample import (HELDOUT_GLOBS, file_sha256, fingerprint, paraphrase_groups, sample_sentences,
                                 text_sentences)
from .measurement.stats import ranked_units
from .measurement.tables import HellingerTables, NeuronScore, PairScore
from .methods.ranking import MethodComparison
from .methods.uncertainty import DirectionClaim

# Stored in float16 (see save): the statistics around H, never H itself.
HALF_PRECISION = ("hellinger_null", "hellinger_null_std", "p_value", "mean_pos", "mean_neg")


class Analysis:
    """What `analyze` writes next to a checkpoint; the dashboard loads it once.

    Tables have one row per pair and one column per neuron of every layer (LAYERS order);
    `meta` is the rest of the file's description (a dict is parsed into an AnalysisMeta).
    """

    def __init__(self, tables: HellingerTables, meta: "AnalysisMeta | dict", weights: dict[str, torch.Tensor],
                 checkpoint_dir: Path | None = None, recording: Recording | None = None,
                 saturation: Saturation | None = None, clusters: Clusters | None = None):
        meta = meta if isinstance(meta, AnalysisMeta) else AnalysisMeta.from_dict(meta)
        self.tables, self.meta, self.weights = tables, meta, weights
        # Gate saturation and unit clusters (saturation.py, clusters.py): None in a file written
        # before analyze computed them; the views then say how to rebuild, or compute them.
        self.saturation, self.clusters = saturation, clusters
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.layers, self.sizes = tables.layers, tables.sizes
        self.offsets = tables.offsets
        self._pair_index = {str(p): i for i, p in enumerate(tables.pairs)}
        self._ablations = {(a["pair"], a["layer"]): AblationResult.from_dict(a) for a in meta.ablations}
        self._claims = {c["pair"]: DirectionClaim.from_dict(c) for c in meta.direction_claims}
        self._methods = {(m["pair"], m["layer"]): MethodComparison.from_dict(m) for m in meta.method_comparisons}
        self._recording = recording

    # ---- names
    def pairs(self) -> list[Pair]:
        return list(self.tables.pairs)

    def parse_pair(self, name: "str | Pair") -> Pair:
        key = str(name)
        if key in self._pair_index:
            return self.tables.pairs[self._pair_index[key]]
        x, y = Pair.parse(key).x, Pair.parse(key).y
        seen = self.tables.candidates.get(x, {})
        valid = ", ".join(str(p) for p in self.tables.pairs)
        if y in seen:
            raise UnknownName(f"pair {key} has {seen[y]} positions with target {y} and "
                              f"{sum(seen.values()) - seen[y]} without; the analysis keeps pairs with at least "
                              f"{self.tables.min_count} on each side. Valid pairs: {valid}")
        raise UnknownName(f"unknown pair {key!r}; valid pairs: {valid}")

    def parse_neuron(self, name: "str | NeuronId") -> NeuronId:
        neuron = NeuronId.parse(name, self.sizes)
        if neuron.layer not in self.sizes:
            raise UnknownName(f"layer {neuron.layer} is not in this analysis; layers: {', '.join(self.layers)}")
        return neuron

    def unit_means(self) -> dict[str, torch.Tensor]:
        """{layer: (units,)} each unit's mean over every position of the sample (what an
        intervention's "mean" sets a unit to); from the file, or from the recording for a file
        written before it held them."""
        if self.tables.unit_mean is None:
            rec = self.recording()
            sums = {layer: torch.zeros(self.sizes[layer], dtype=torch.float64) for layer in self.layers}
            for s in range(0, rec.n_positions, 1 << 15):
                block = torch.arange(s, min(s + (1 << 15), rec.n_positions))
                for layer, acts in rec.layers_at(self.layers, block):
                    sums[layer] += acts.double().sum(0)
            self.tables.unit_mean = torch.cat([sums[layer] / rec.n_positions for layer in self.layers]).float()
        return {layer: self.tables.unit_mean[o:o + self.sizes[layer]] for layer, o in self.offsets.items()}

    def pair_row(self, pair: "str | Pair") -> int:
        """The pair's row in the tables."""
        return self._pair_index[str(self.parse_pair(pair))]

    def candidates(self, x: str) -> list[str]:
        """Output symbols seen for input character x in the sample, most frequent first."""
        seen = self.tables.candidates.get(x, {})
        return sorted(seen, key=lambda y: -seen[y])

    def column(self, neuron: NeuronId) -> int:
        return self.offsets[neuron.layer] + neuron.index

    # ---- rankings: by H excess (H minus its permutation null), so that pairs of any size compare
    SCORES = ("excess", "hellinger")

    def _score_table(self, by: str) -> torch.Tensor:
        if by == "excess":
            return self.tables.hellinger_excess
        if by == "hellinger":
            return self.tables.hellinger
        raise UnknownName(f"rank by one of {', '.join(self.SCORES)}, not {by!r}")

    def hellinger_of(self, pair: "str | Pair", neuron: "str | NeuronId") -> float:
        p, n = self.parse_pair(pair), self.parse_neuron(neuron)
        return float(self.tables.hellinger[self._pair_index[str(p)], self.column(n)])

    def score_of(self, pair: "str | Pair", neuron: "str | NeuronId") -> NeuronScore:
        """H of one neuron for one pair, with its null and p-value."""
        p, n = self.parse_pair(pair), self.parse_neuron(neuron)
        return self._neuron_score(self._pair_index[str(p)], self.column(n), n, p)

    def _neuron_score(self, row: int, col: int, neuron: NeuronId, p: Pair) -> NeuronScore:
        t = self.tables
        return NeuronScore(neuron, float(t.hellinger[row, col]), p.n_pos, p.n_neg,
                           float(t.hellinger_null[row, col]), float(t.p_value[row, col]), float(t.q_value[row, col]))

    def layer_scores(self, pair: "str | Pair", layer: str, by: str = "excess") -> torch.Tensor:
        """(units,) score of every neuron of `layer` for `pair`: H excess (default) or raw H."""
        p = self.parse_pair(pair)
        if layer not in self.sizes:
            raise UnknownName(f"unknown layer {layer!r}; layers: {', '.join(self.layers)}")
        o = self.offsets[layer]
        return self._score_table(by)[self._pair_index[str(p)], o:o + self.sizes[layer]]

    def top_neurons(self, pair: "str | Pair", layer: str, k: int = 10, by: str = "excess") -> list[NeuronScore]:
        p = self.parse_pair(pair)
        order = ranked_units(self.layer_scores(p, layer, by))[:k]
        row, o = self._pair_index[str(p)], self.offsets[layer]
        return [self._neuron_score(row, o + int(i), NeuronId(layer, int(i)), p) for i in order]

    def top_pairs(self, neuron: "str | NeuronId", k: int = 10, by: str = "excess") -> list[PairScore]:
        """The pairs this neuron separates best. By H excess: raw H favours rare pairs, whose
        noise floor is higher."""
        n = self.parse_neuron(neuron)
        c, t = self.column(n), self.tables
        order = ranked_units(self._score_table(by)[:, c])[:k]
        return [PairScore(t.pairs[i], float(t.hellinger[i, c]), t.pairs[i].n_pos, t.pairs[i].n_neg,
                          float(t.hellinger_null[i, c]), float(t.p_value[i, c]), float(t.q_value[i, c]))
                for i in order.tolist()]

    def mean_activation(self, pair: "str | Pair", neuron: "str | NeuronId", over: str = "pos") -> float:
        p, n = self.parse_pair(pair), self.parse_neuron(neuron)
        return float(self._means(p, over)[self.column(n)])

    def _means(self, pair: Pair, over: str) -> torch.Tensor:
        i = self._pair_index[str(pair)]
        if over == "pos":
            return self.tables.mean_pos[i]
        if over == "neg":
            return self.tables.mean_neg[i]
        if over == "x":
            return self.tables.x_mean[self.tables.pair_x[i]]
        raise ValueError(f"over must be 'pos', 'neg' or 'x', not {over!r}")

    # ---- contributions: the graph's edges
    def contributions(self, pair: "str | Pair", lower: list, upper: list, over: str = "pos") -> torch.Tensor:
        """(len(lower), len(upper)) mean over the pair's positions of weight x activation of the
        lower neuron into the upper one: concat.* -> hidden (dense weights, before the tanh) and
        hidden -> output (output weights, before the softmax). Signs are kept. Equal to the
        weight times the mean activation, because the contribution is linear in the activation.
        `over`: "pos" (target y, the default), "neg" (other targets) or "x" (all positions of x).
        0 where the two neurons are not directly connected (see `graph`)."""
        p = self.parse_pair(pair)
        mean = self._means(p, over)
        lower = [self.parse_neuron(n) for n in lower]
        upper = [self.parse_neuron(n) for n in upper]
        act = torch.tensor([float(mean[self.column(n)]) for n in lower])               # (len(lower),)
        return graph.contributions(self.weights, lower, upper, act)

    # ---- ablation results stored by analyze
    def ablation(self, pair: "str | Pair", layer: str) -> AblationResult | None:
        return self._ablations.get((str(self.parse_pair(pair)), layer))

    def ablations(self) -> list[AblationResult]:
        return list(self._ablations.values())

    def method_comparison(self, pair: "str | Pair", layer: str) -> MethodComparison | None:
        """The ranking methods' ablation curves for a pair and layer, if analyze stored them."""
        return self._methods.get((str(self.parse_pair(pair)), layer))

    def method_comparisons(self) -> list[MethodComparison]:
        return list(self._methods.values())

    def direction_claim(self, pair: "str | Pair") -> DirectionClaim | None:
        """Which LSTM direction separates the pair best, with its bootstrap interval (stored
        for the pairs analyze ablates)."""
        return self._claims.get(str(self.parse_pair(pair)))

    def cluster_spread(self, pair: "str | Pair", layer: str, k: int = 10) -> PairSpread:
        """How many clusters of `layer` the pair's top k units fall into, against k random units."""
        if self.clusters is None:
            raise AnalysisMissing(f"this analysis has no unit clusters; rebuild it with "
                                  f"`{analyze_command(self.checkpoint_dir)}`")
        return pair_spread(self, self.clusters, pair, layer, k)

    # ---- the sample recording (cached outside the repo)
    @property
    def has_recording(self) -> bool:
        """Whether the recording is loaded already (so recording() returns at once)."""
        return self._recording is not None

    def drop_recording(self) -> None:
        """Let go of the loaded recording: a later recording() loads it again (from the cache)."""
        self._recording = None

    def _recorded_checkpoint(self) -> Path:
        """The checkpoint this analysis was built on; AnalysisMissing when its weights changed since."""
        ck, built = self.checkpoint_dir, self.meta.checkpoint
        if built is None:
            raise AnalysisMissing("this analysis does not say which checkpoint it was built on; rebuild it with "
                                  f"`{analyze_command(ck)}`")
        if ck is None or not (ck / WEIGHTS).is_file():      # analysis written with --out elsewhere
            ck = Path(built.dir)
        if (ck / WEIGHTS).is_file() and file_sha256(ck / WEIGHTS) != built.weights_sha256:
            raise AnalysisMissing(f"this analysis is out of date: the checkpoint in {ck} changed since it was "
                                  f"built; rebuild it with `{analyze_command(ck)}`")
        return ck

    def recording(self, data_dir: str | Path | None = None,
                  progress: "Callable[[float], None] | None" = None) -> Recording:
        """The recording of the sample this analysis was built on (cached; re-made if missing,
        calling `progress` with the share recorded so far)."""
        if self._recording is None:
            self._recording = load_or_record(self._recorded_checkpoint(), spec=self.meta.sample, data_dir=data_dir,
                                             progress=progress)
        return self._recording

    @property
    def recording_cached(self) -> bool:
        """Whether the sample's recording is in the cache (so recording() only maps it: about a second)."""
        try:
            self._recorded_checkpoint()
        except (AnalysisMissing, OSError):
            return False
        key = recording_key(self.meta.checkpoint.weights_sha256, self.meta.sample)
        return (settings.cache_root() / "recordings" / key / "recording.json").is_file()

    def first_sentences(self, n: int, data_dir: str | Path | None = None) -> Recording:
        """A recording of the sample's first n sentences only, in memory and not cached (a few
        seconds): the same positions, romanized the same way, as the start of recording()'s."""
        return load_or_record(self._recorded_checkpoint(), spec=self.meta.sample, data_dir=data_dir,
                              use_cache=False, first=n)

    # ---- files
    def save(self, directory: str | Path) -> tuple[Path, Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        t = self.tables
        tensors = {"hellinger": t.hellinger, "hellinger_null": t.hellinger_null,
                   "hellinger_null_std": t.hellinger_null_std, "p_value": t.p_value, "mean_pos": t.mean_pos,
                   "mean_neg": t.mean_neg, "x_mean": t.x_mean, "x_lo": t.x_lo, "x_hi": t.x_hi}
        if t.unit_mean is not None:
            tensors["unit_mean"] = t.unit_mean
        # Rankings: per pair, per layer, neuron indices by descending H excess (int16).
        for layer in t.layers:
            o = self.offsets[layer]
            tensors[f"rank.{layer}"] = ranked_units(t.hellinger_excess[:, o:o + t.sizes[layer]]).to(torch.int16)
        tensors.update({k: v.detach().float().contiguous() for k, v in self.weights.items()})
        # Only what this object holds: never a description of tensors it does not write.
        extra = self.meta.to_dict()
        for name, part in (("saturation", self.saturation), ("clusters", self.clusters)):
            if part is not None:
                tensors.update(part.tensors())
                extra[name] = part.meta()
        meta = dict(extra, format_version=FORMAT_VERSION, bins=t.bins, min_count=t.min_count, shuffles=t.shuffles,
                    layers=[{"name": layer, "units": t.sizes[layer], "offset": self.offsets[layer]}
                            for layer in t.layers],
                    xs=t.xs, pairs=[{"x": p.x, "y": p.y, "n_pos": p.n_pos, "n_neg": p.n_neg, "x_index": j}
                                    for p, j in zip(t.pairs, t.pair_x)],
                    candidates=t.candidates)
        wpath, mpath = directory / ANALYSIS_WEIGHTS, directory / ANALYSIS_META
        # The statistics around H are estimates with a sampling error of ~1e-2 (20 shuffles): three
        # significant digits keep all of it and halve their share of the file (a second checkpoint
        # must fit in 10 MB). H itself stays float32: the on-demand histogram must equal it to 1e-5.
        for k in HALF_PRECISION:
            tensors[k] = tensors[k].half()
        with FolderLock(directory, hint="wait for it, or write the analysis elsewhere with --out"):
            with atomic_path(wpath) as tmp:
                save_file({k: v.contiguous() for k, v in tensors.items()}, tmp)
            atomic_write(mpath, json.dumps(meta, ensure_ascii=False, indent=1))
        return wpath, mpath

    @classmethod
    def load(cls, checkpoint_dir: str | Path | None = None, check_weights: bool = True) -> "Analysis":
        """The analysis next to a checkpoint. Raises AnalysisMissing when absent, unreadable, or
        stale (the checkpoint's weights changed since `analyze`); check_weights=False loads a
        stale one anyway (its tables then describe the old weights; recording() still refuses)."""
        directory = Path(checkpoint_dir) if checkpoint_dir else settings.DEFAULT_CHECKPOINT
        wpath, mpath = directory / ANALYSIS_WEIGHTS, directory / ANALYSIS_META
        if not wpath.is_file() or not mpath.is_file():
            raise AnalysisMissing(f"no analysis next to the checkpoint in {directory} (missing {ANALYSIS_WEIGHTS} / "
                                  f"{ANALYSIS_META}); build it with `{analyze_command(directory)}`")
        try:
            meta = json.loads(mpath.read_text(encoding="utf-8"))
            if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
                version = meta.get("format_version") if isinstance(meta, dict) else None
                raise AnalysisMissing(f"{mpath}: analysis format {version} is not {FORMAT_VERSION}; rebuild "
                                      f"with `{analyze_command(directory)}`")
            t = {k: v.float() if k in HALF_PRECISION else v for k, v in load_file(wpath).items()}
            layers = [layer["name"] for layer in meta["layers"]]
            sizes = {layer["name"]: layer["units"] for layer in meta["layers"]}
            pairs = [Pair(p["x"], p["y"], p["n_pos"], p["n_neg"]) for p in meta["pairs"]]
            tables = HellingerTables(layers=layers, sizes=sizes, pairs=pairs, xs=meta["xs"],
                                     pair_x=[p["x_index"] for p in meta["pairs"]], hellinger=t["hellinger"],
                                     mean_pos=t["mean_pos"], mean_neg=t["mean_neg"], x_mean=t["x_mean"],
                                     x_lo=t["x_lo"], x_hi=t["x_hi"], candidates=meta["candidates"],
                                     bins=meta["bins"], min_count=meta["min_count"], unit_mean=t.get("unit_mean"),
                                     hellinger_null=t["hellinger_null"], hellinger_null_std=t["hellinger_null_std"],
                                     p_value=t["p_value"], shuffles=meta["shuffles"])
            weights = {k: t[k] for k in ("dense.weight", "dense.bias", "out.weight", "out.bias")}
            saturation = Saturation.from_stored(t, meta.get("saturation"))       # optional: older files lack them
            clusters = Clusters.from_stored(t, meta.get("clusters"))
            sha_built = meta["checkpoint"]["weights_sha256"]
            description = AnalysisMeta.from_dict(meta)
        except (ValueError, KeyError, TypeError, OSError, SafetensorError) as e:
            raise AnalysisMissing(f"{directory}: unreadable analysis files ({type(e).__name__}: {e}); "
                                  f"rebuild with `{analyze_command(directory)}`") from None
        mismatch = tables.shape_mismatch()
        if mismatch:
            raise AnalysisMissing(f"{wpath} does not match {mpath} ({mismatch}); rebuild with "
                                  f"`{analyze_command(directory)}`")
        stale = sample_staleness(description.sample)
        if stale and check_weights:
            raise AnalysisMissing(f"{mpath} is stale: {stale}; rebuild with `{analyze_command(directory)}`")
        if check_weights and (directory / WEIGHTS).is_file():
            sha = file_sha256(directory / WEIGHTS)
            if sha != sha_built:
                raise AnalysisMissing(f"the analysis {mpath} is out of date: it was built for other weights than "
                                      f"{directory / WEIGHTS} (the checkpoint changed since); rebuild it with "
                                      f"`{analyze_command(directory)}`")
        return cls(tables, description, weights, directory, saturation=saturation, clusters=clusters)


def sample_staleness(spec: dict) -> str | None:
    """Why a sample description no longer matches this code (the rules or the romanizer changed
    since it was recorded), or None."""
    rules = load_rules()
    if spec.get("rules_sha256") not in (None, rules.sha256):
        return "the romanization rules changed since its sample was romanized"
    if spec.get("romanizer_version", ROMANIZER_VERSION) != ROMANIZER_VERSION:
        return (f"it was romanized by romanizer version {spec.get('romanizer_version')}, this code is "
                f"version {ROMANIZER_VERSION}")
    return None


def load_or_record(checkpoint_dir: str | Path | None, spec: dict, data_dir: str | Path | None = None,
                   use_cache: bool = True, first: int | None = None,
                   progress: "Callable[[float], None] | None" = None) -> Recording:
    """The recording described by `spec` (from an analysis file): from the cache when present,
    else re-made from the sample (needs the data) and cached. `first`: record only the sample's
    first sentences (never cached; their romanization is the same, the rng runs in order)."""
    directory = Path(checkpoint_dir) if checkpoint_dir else settings.DEFAULT_CHECKPOINT
    model, alphabets, meta = load_checkpoint(directory)
    key = recording_key(file_sha256(directory / WEIGHTS), spec)
    cached = settings.cache_root() / "recordings" / key
    def found() -> Path:
        # The directory given, else the usual place ($TRANSLIT_DATA, ../shared/data), else where the
        # analysis was built: the same files are found on another machine without --data.
        tried = [Path(d) for d in (data_dir, settings.data_dir(), spec.get("data_dir")) if d]
        return next((d for d in tried if any(any(d.glob(g)) for g in HELDOUT_GLOBS)), tried[0])

    def heldout() -> list[str]:
        return sample_sentences(found(), spec["n_requested"], spec["seed"], dropped=spec.get("dropped_sha256"))

    def groups() -> list[int]:            # paraphrase pairs, found when a bootstrap or a split first needs them
        return paraphrase_groups(heldout(), found())[:first]

    if use_cache and first is None and (cached / "recording.json").is_file():
        try:
            rec = Recording.load(cached, model, alphabets)
            rec.sentence_group = groups if spec.get("source") != "text" else None
            return rec
        except (OSError, ValueError, KeyError, SafetensorError) as e:
            print(f"warning: ignoring unreadable recording cache {cached} ({e})")
    sentences = (text_sentences(spec["path"], spec["n_requested"], spec["seed"]) if spec.get("source") == "text"
                 else heldout())
    if spec.get("fingerprint") and fingerprint(sentences) != spec["fingerprint"]:
        raise SampleMissing(f"the sample text found ({spec.get('data_dir') or spec.get('path')}) is not the one "
                            f"the analysis was built on; point --data at the same data or rerun analyze")
    if first is not None:
        sentences, use_cache = sentences[:first], False
    into = staging_or_memory(use_cache)
    rec = record_activations(model, alphabets, sentences, load_rules(), seed=spec["seed"],
                             max_len=spec.get("max_len"), spec=spec, into=into, progress=progress)
    rec.sentence_group = groups if spec.get("source") != "text" else None
    if use_cache and not (into and rec.staged() is None):       # else the cache had no room, and said so
        try:
            save_to_cache(rec, key)
        except OSError as e:
            print(f"warning: could not cache the recording in {cached} ({e})")
    return rec
