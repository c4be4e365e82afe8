"""`python -m translit_core analyze`: record the sample, tabulate, ablate, save.

    held-out sentences (measurement/sample.py) -> recording (measurement/recording.py)
    -> Hellinger tables (measurement/tables.py) -> stored ablations (methods/ablation.py)
    -> direction claims with bootstrap intervals (methods/uncertainty.py)
    -> ranking methods' ablation curves for the post's pairs (methods/ranking.py)
    -> gate saturation (methods/saturation.py: counted during the recording pass) and unit
       clusters by correlation (methods/clusters.py)
    -> analysis.safetensors + analysis.json (store.py)
"""
from __future__ import annotations

import time
import shutil
import threading
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import settings
from ..files import FolderLock
from ..model.checkpoint import WEIGHTS, load_checkpoint
from ..text.romanize import ROMANIZER_VERSION
from ..text.rules import load_rules
from .methods.clusters import recording_clusters
from .methods.ablation import (ABLATABLE_LAYERS, ACCURACY_DRAWS, DEFAULT_DRAWS, NEGLIGIBLE_LOGP, PER_OUTPUT,
                               SIGNIFICANT, SPREAD_BANDS, ablate_recording, pairs_to_ablate, with_q_values)
from .methods.ranking import rank_methods
from .measurement.names import (DEFAULT_BINS, DEFAULT_MIN_COUNT, DEFAULT_SHUFFLES, POST_PAIRS, AnalysisError,
                                AnalysisMeta, CheckpointRef)
from .measurement.recording import record_activations, recording_key, save_to_cache
from .measurement.staging import staging_or_memory
from .methods.saturation import SaturationCounter
from .measurement.sample import HELDOUT_GLOBS, file_sha256, held_out, paraphrase_groups, text_sentences
from .store import Analysis
from .measurement.tables import hellinger_tables, table_pairs
from .methods.uncertainty import DEFAULT_RESAMPLES, direction_claims

METHOD_LAYERS = ("concat.fwd", "concat.bwd")     # the ranking-method curves analyze stores (others: on demand)


class Lane:
    """A second thread for the steps that do not read the tables, as a context: leaving it early
    (an error, Ctrl-C) stops the lane at its next step instead of waiting for all of them."""

    def __init__(self):
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="analysis-lane")
        self.stop = threading.Event()

    def submit(self, make):
        """Future of (make(), seconds), without gradients: grad mode is per thread."""
        def timed():
            t = time.perf_counter()
            with torch.no_grad():
                out = make()
            return out, time.perf_counter() - t
        return self.pool.submit(timed)

    def each(self, items):
        for item in items:
            if self.stop.is_set():
                raise CancelledError("analyze stopped")
            yield item

    def __enter__(self) -> "Lane":
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)


# How the stored results were made, in words: analysis.json says it beside them.
ABLATION_METHOD = {
    "replace_with": "mean activation over all positions with input x",
    "ranked_by": "H excess (H minus its permutation null)",
    "where": "the layers above the biLSTM (head only; the recurrence is not rerun)",
    "positions": f"the decision (target_accuracy, delta_logp, p_value): every position with input x and target y; "
                 f"the accuracies over x: at most {PER_OUTPUT:,} seeded positions of each output of x (all of a "
                 f"rarer output; per_output in each result) and the first {ACCURACY_DRAWS} random draws",
    "accuracy_on": "all positions with input x (prediction == target class): each output's recall weighted by its "
                   "share of the positions of x",
    "target_accuracy": "accuracy on the positions with input x and target y",
    "delta_logp": "mean change of log p(y) on the positions with target y",
    "balanced_accuracy": "mean recall over the outputs of x",
    "random": f"k units of the same layer, not among the top k, one per selected unit from its activation-spread "
              f"band ({SPREAD_BANDS} quantile bands)",
    "p_value": "(1 + random draws with delta_logp <= the top k's) / (1 + draws)",
    "q_value": "p_value corrected by Benjamini-Hochberg over every stored ablation of this analysis (one family)",
    "confirmed": f"q_value < {SIGNIFICANT} and the top k cost at least {NEGLIGIBLE_LOGP} nats of log p(y) more than "
                 f"random (else 'significant but negligible')",
    "std": "sample standard deviation over the draws"}
DIRECTION_METHOD = {
    "select": "top k of each LSTM direction by H excess on a seeded random half of the sentence groups (both "
              "sentences of an ARPA paraphrase pair in one group, on one side)",
    "score": "mean H of those units on the other half", "resamples": DEFAULT_RESAMPLES,
    "interval": "95% basic bootstrap interval over the scoring half's sentence groups, the same resampled groups for "
                "both directions (forward - backward is paired); estimate bias-corrected",
    "claim": "a direction separates best only when the interval of forward - backward excludes 0"}


def null_method(shuffles: int) -> dict:
    return {"shuffles": shuffles, "what": "y shuffled within the positions of x; H recomputed with the same bins; "
            "hellinger_null = mean over shuffles",
            "p_value": "the observed H standardized by the mean and sd of shuffles-1 of its unit's shuffles, ranked "
                       "among every shuffle of every unit of the layer for the pair, each standardized by the unit's "
                       "other shuffles: (1 + null z >= observed z) / (1 + shuffles x units); floor "
                       f"1/{1 + shuffles * 228:,} for 228 units",
            "q_value": "Benjamini-Hochberg over each layer's family (its units x every pair), computed on load",
            "selective": "H excess >= 0.5 and q_value <= 0.05"}


@dataclass
class AnalysisRun:
    """What `run_analysis` made: the analysis (saved), and the summary `analyze` prints
    (`to_dict`: its --json, in this order)."""
    analysis: Analysis
    sentences: int                 # sentences in the sample
    positions: int                 # Latin positions recorded
    pairs: int                     # (x, y) pairs in the tables
    neurons: int                   # units of every layer
    ablations: int                 # ablations stored
    sample_accuracy: float         # the model's accuracy on the sample's positions
    files: dict[str, int]          # the two files written: path -> bytes
    timings_s: dict[str, float]    # seconds per step (the analysis file holds them too)

    def to_dict(self) -> dict:
        return {"sentences": self.sentences, "positions": self.positions, "pairs": self.pairs,
                "neurons": self.neurons, "ablations": self.ablations, "sample_accuracy": self.sample_accuracy,
                "files": self.files, "timings_s": self.timings_s}


def _load_model(directory: Path):
    """(model, alphabets, checkpoint meta, weights SHA-256); refused if the weights change while
    they are read (a training run saving its best epoch)."""
    weights_sha = file_sha256(directory / WEIGHTS) if (directory / WEIGHTS).is_file() else ""
    model, alphabets, ck_meta = load_checkpoint(directory)
    if file_sha256(directory / WEIGHTS) != weights_sha:
        raise AnalysisError(f"{directory / WEIGHTS} changed while it was being loaded; run analyze again")
    return model, alphabets, ck_meta, weights_sha


def _sample(text, data_dir, n_sentences: int, seed: int) -> tuple[list[str], dict]:
    """The sentences and the start of their description (the recording's spec): a text file's
    lines, or the held-out sample."""
    if text:
        return text_sentences(text, n_sentences, seed), {"source": "text", "path": str(Path(text).resolve())}
    dd = Path(data_dir) if data_dir else settings.data_dir()
    sample = held_out(dd, n_sentences, seed)
    return sample.sentences, {"source": "heldout", "data_dir": str(dd.resolve()), "files": list(HELDOUT_GLOBS),
                              "composition": sample.counts(), "dropped_sha256": sample.dropped_digests(),
                              "sentence_sources": "".join(s[0] for s in sample.sources)}


@dataclass
class _LaneWork:
    """The second lane's futures: filing the recording in the cache, the ranking methods' curves,
    the unit clusters."""
    caching: Future | None
    methods: Future
    clustering: Future


def _start_lane(lane: Lane, rec, weights_sha: str, use_cache: bool, method_pairs, min_count: int, seed: int,
                bins: int, shuffles: int) -> _LaneWork:
    """The steps that do not read the tables, on the second lane."""
    caching = lane.submit(lambda: save_to_cache(rec, recording_key(weights_sha, rec.spec))) if use_cache else None
    in_tables = {str(q) for q in table_pairs(rec, min_count)}
    method_runs = [(pair, layer) for pair in method_pairs for layer in METHOD_LAYERS if pair in in_tables]
    methods = lane.submit(lambda: [rank_methods(rec, pair, layer, seed=seed, bins=bins, shuffles=shuffles)
                                   .to_dict() for pair, layer in lane.each(method_runs)])
    return _LaneWork(caching, methods, lane.submit(lambda: recording_clusters(rec, seed=seed)))


def _describe(directory: Path, weights_sha: str, ck_meta: dict, rec, shuffles: int) -> AnalysisMeta:
    """The analysis's description before its stored results are added."""
    accuracy = float((rec.pred == rec.y).float().mean()) if rec.n_positions else float("nan")
    return AnalysisMeta(
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        checkpoint=CheckpointRef(str(directory), weights_sha,
                                 {k: v for k, v in ck_meta.get("metrics", {}).items() if k != "history"},
                                 ck_meta.get("config")),
        sample=rec.spec, recording_key=recording_key(weights_sha, rec.spec), sample_accuracy=accuracy,
        ablation_method=dict(ABLATION_METHOD), null_method=null_method(shuffles))


def _stored_ablations(analysis: Analysis, rec, k: int, draws: int, seed: int, bins: int) -> list[dict]:
    """The top-k ablation of every layer above the biLSTM for the pairs `pairs_to_ablate` picks,
    their p-values corrected over all of them (one family)."""
    ablations = []
    if k > 0:
        for pair in sorted(pairs_to_ablate(analysis), key=lambda name: name[0]):   # grouped by x: shared work
            for layer in ABLATABLE_LAYERS:
                ablations.append(ablate_recording(rec, pair, layer, k, draws=draws, seed=seed,
                                                  scores=analysis.layer_scores(pair, layer), bins=bins))
    return [r.to_dict() for r in with_q_values(ablations)]


def _collect_lane(work: _LaneWork, counter: SaturationCounter, meta: AnalysisMeta, rec, timings: dict, log):
    """Wait for the second lane -> (gate saturation, unit clusters); the method curves go into
    `meta`; a cache that cannot be written is a warning."""
    t = time.perf_counter()
    meta.method_comparisons, timings["methods"] = work.methods.result()
    saturation = counter.result()
    clusters, timings["clusters"] = work.clustering.result()
    log(f"  method comparisons in {timings['methods']:.1f}s and unit clusters in {timings['clusters']:.1f}s "
        f"(beside the tables and ablations); gate saturation counted while recording")
    if work.caching is not None:
        try:
            timings["cache"] = work.caching.result()[1]
        except OSError as e:
            log(f"  warning: could not cache the recording ({e}); histograms will re-record")
            if rec.staged():
                shutil.rmtree(rec.staged(), ignore_errors=True)
    timings["lane_wait"] = time.perf_counter() - t
    return saturation, clusters


@torch.no_grad()   # a context, not set_grad_enabled: callers (tests, the app) keep their own mode
def run_analysis(checkpoint_dir: str | Path | None = None, n_sentences: int = 5000, seed: int = 0,
                 data_dir: str | Path | None = None, text: str | Path | None = None,
                 bins: int = DEFAULT_BINS, min_count: int = DEFAULT_MIN_COUNT, out_dir: str | Path | None = None,
                 ablation_k: int = 10, ablation_draws: int = DEFAULT_DRAWS, shuffles: int = DEFAULT_SHUFFLES,
                 use_cache: bool = True, method_pairs=POST_PAIRS,
                 max_len: int | None = None, log=print) -> AnalysisRun:
    """Record, tabulate, ablate, save (next to the checkpoint, or in `out_dir`)."""
    t0 = time.perf_counter()
    directory = Path(checkpoint_dir) if checkpoint_dir else settings.DEFAULT_CHECKPOINT
    model, alphabets, ck_meta, weights_sha = _load_model(directory)
    # One writer of an analysis folder at a time: a second `analyze` on it is refused at once, not
    # after minutes of work at its save.
    with FolderLock(Path(out_dir) if out_dir else directory,
                    hint="wait for it, or write the analysis elsewhere with --out"):
        rules = load_rules()
        sentences, spec = _sample(text, data_dir, n_sentences, seed)
        max_len = max_len or ck_meta.get("train_config", {}).get("max_len") or 200
        spec.update(n_requested=n_sentences, rules_sha256=rules.sha256, romanizer_version=ROMANIZER_VERSION)
        timings = {"load": time.perf_counter() - t0}
        log(f"recording {len(sentences)} sentences (seed {seed}, chunks of at most {max_len} characters)...")
        t = time.perf_counter()
        counter = SaturationCounter(model.config.lstm)                 # the gates, counted as the pass computes them
        into = staging_or_memory(use_cache, log)
        rec = record_activations(model, alphabets, sentences, rules, seed=seed, max_len=max_len, spec=spec,
                                 watch=counter.watch, into=into, log=log)
        if spec["source"] == "heldout":            # paraphrase pairs: one unit in every split and bootstrap
            rec.sentence_group = paraphrase_groups(sentences, spec["data_dir"])
        use_cache = use_cache and not (into and rec.staged() is None)   # no room in the cache: said once
        timings["record"] = time.perf_counter() - t
        log(f"  {rec.n_positions:,} positions in {timings['record']:.1f}s")
        # Two lanes. The second files the recording in the cache (h and c were recorded into it), ranks
        # the methods and clusters the units: none of it reads the tables, which count their
        # permutation nulls on one core (torch's bincount). Every step has its own seeded generator,
        # so the lanes give the same numbers as one after the other.
        with Lane() as lane:
            work = _start_lane(lane, rec, weights_sha, use_cache, method_pairs, min_count, seed, bins, shuffles)
            t = time.perf_counter()
            tables = hellinger_tables(rec, bins=bins, min_count=min_count, shuffles=shuffles, seed=seed)
            timings["hellinger"] = time.perf_counter() - t
            log(f"  Hellinger tables: {len(tables.pairs)} pairs x {tables.hellinger.shape[1]} neurons "
                f"with their permutation nulls ({shuffles} shuffles) in {timings['hellinger']:.1f}s")
            weights = {k: v.detach() for k, v in (("dense.weight", model.dense.weight),
                                                  ("dense.bias", model.dense.bias),
                                                  ("out.weight", model.out.weight), ("out.bias", model.out.bias))}
            meta = _describe(directory, weights_sha, ck_meta, rec, shuffles)
            analysis = Analysis(tables, meta, weights, directory, recording=rec)
            t = time.perf_counter()
            meta.ablations = _stored_ablations(analysis, rec, ablation_k, ablation_draws, seed, bins)
            timings["ablation"] = time.perf_counter() - t
            t = time.perf_counter()
            claims = direction_claims(rec, pairs_to_ablate(analysis), k=ablation_k or 10, bins=bins, seed=seed,
                                      shuffles=shuffles)
            meta.direction_claims, meta.direction_method = [c.to_dict() for c in claims], dict(DIRECTION_METHOD)
            timings["bootstrap"] = time.perf_counter() - t
            saturation, clusters = _collect_lane(work, counter, meta, rec, timings, log)
        analysis = Analysis(tables, meta, weights, directory, recording=rec, saturation=saturation, clusters=clusters)
        timings["total"] = time.perf_counter() - t0
        meta.timings_s = {k: round(v, 2) for k, v in timings.items()}
        wpath, mpath = analysis.save(Path(out_dir) if out_dir else directory)
        return AnalysisRun(analysis, len(sentences), rec.n_positions, len(tables.pairs), int(tables.hellinger.shape[1]),
                           len(meta.ablations), meta.sample_accuracy,
                           {str(wpath): wpath.stat().st_size, str(mpath): mpath.stat().st_size}, meta.timings_s)
