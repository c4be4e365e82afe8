"""The units' structure and the model comparisons, as tables and as the commands that compute them
again: the ranking methods' curves, a layer's clusters and how a pair's top units spread over
them, the gates' saturation, the training dynamics and two models side by side. Pure functions,
as reproduce.py's; ui/downloads.py places the buttons."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Sequence

from translit_core.analysis.comparison.models import EXCESS_BINS, Comparison
from translit_core.analysis.methods.clusters import PairSpread
from translit_core.model.names import READOUT_LAYERS

from .reproduce import Reproduce, checkpoint_arg, shown_path

COMPARED = ("selective_units", "units_per_pair", "inputs_per_unit", "monosemantic", "mean_abs_r")


# ---- ranking methods

def methods_table(comparison) -> dict[str, list[dict]]:
    """Every method's curve (and the random band's, with its sd) in long form: one row per (method, k)."""
    return {"curves": [{"method": c.method, "k": p.k, "delta_logp": p.delta_logp, "target_accuracy": p.target_accuracy,
                        "delta_logp_std": p.delta_logp_std, "target_accuracy_std": p.target_accuracy_std}
                       for c in comparison.curves for p in c.curve]}


def methods_reproduce(pair: str, layer: str, directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    return Reproduce(
        f"python -m translit_core rank-methods --pair {shlex.quote(pair)} --layer {shlex.quote(layer)} --json{flag}",
        f"from translit_core.analysis import Analysis\n"
        f"from translit_core.analysis.methods.ranking import rank_methods\n"
        f"a = Analysis.load({path!r})\n"
        f"c = a.method_comparison({pair!r}, {layer!r})      # stored by analyze, else computed:\n"
        f"c = c or rank_methods(a.recording(), {pair!r}, {layer!r}, bins=a.tables.bins)\n"
        f"for m in c.curves:\n"
        f"    print(m.method, [(p.k, p.delta_logp, p.target_accuracy) for p in m.curve])")


# ---- clusters

def clusters_table(rows: Sequence[dict]) -> dict[str, list[dict]]:
    """A layer's clusters, one row each (the engine's cluster_rows: the CLI's --json)."""
    return {"clusters": [dict(r) for r in rows]}


def clusters_reproduce(layer: str, k: int, directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    return Reproduce(
        f"python -m translit_core clusters --layer {shlex.quote(layer)} --k {int(k)} --json{flag}",
        f"from translit_core.analysis import Analysis\n"
        f"from translit_core.analysis.methods.clusters import cluster_rows\n"
        f"a = Analysis.load({path!r})\n"
        f"for row in cluster_rows(a, a.clusters, {layer!r}, {int(k)}):\n"
        f"    print(row)")


def spread_table(spreads: Sequence[PairSpread]) -> dict[str, list[dict]]:
    """Per layer: the clusters the pair's top k units fall into, against k random units'."""
    return {"spread": [{"pair": s.pair, "layer": s.layer, "k": s.k, "distinct": s.distinct, "null_mean": s.null_mean,
                        "null_lo": s.null_lo, "null_hi": s.null_hi, "verdict": s.verdict,
                        "units": " ".join(map(str, s.units))} for s in spreads]}


def spread_reproduce(pair: str, layers: Sequence[str], k: int, directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    return Reproduce(
        "\n".join(f"python -m translit_core clusters --pair {shlex.quote(pair)} --layer {shlex.quote(layer)} "
                  f"--k {int(k)} --json{flag}" for layer in layers),
        f"from translit_core.analysis import Analysis\n"
        f"a = Analysis.load({path!r})\n"
        f"for layer in {list(layers)!r}:\n"
        f"    print(a.cluster_spread({pair!r}, layer, {int(k)}).to_dict())")


# ---- gate saturation

def saturation_table(sat) -> dict[str, list[dict]]:
    """Every gate unit's left- and right-saturated fractions (the engine's rows: the CLI's --json)."""
    return {"units": sat.rows()}


def saturation_reproduce(directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    return Reproduce(
        f"python -m translit_core saturation --json{flag}",
        f"from translit_core.analysis import Analysis\n"
        f"a = Analysis.load({path!r})\n"
        f"for row in a.saturation.rows():\n"
        f"    print(row)")


# ---- training dynamics

def dynamics_table(points) -> dict[str, list[dict]]:
    """The best H excess of each pair per readout layer at every snapshot: one row per (snapshot,
    pair, layer)."""
    return {"excess": [{"epoch": pt.epoch, "step": pt.step, "pair": pair, "layer": layer, "best_excess": v}
                       for pt in points for pair, by_layer in pt.best_excess.items() for layer, v in by_layer.items()]}


def dynamics_reproduce(run_dir: "Path | str", sentences: int, stored: bool) -> Reproduce:
    """The points computed from the run's snapshots (`dynamics`); `stored`: the page shows the
    points `dynamics --save` kept beside the run, which the Python call reads back."""
    run = shown_path(run_dir)
    read = (f"points = load_dynamics({run!r}).points      # kept by `dynamics --save`\n" if stored else
            f"points = snapshot_dynamics({run!r}, sample_sentences(None, {int(sentences)}, 0))\n")
    return Reproduce(
        f"python -m translit_core dynamics --run {shlex.quote(run)} --sentences {int(sentences)} --seed 0 --json",
        "from translit_core.analysis.comparison.dynamics import load_dynamics, snapshot_dynamics\n"
        "from translit_core.analysis.measurement.sample import sample_sentences\n"
        f"{read}"
        "for p in points:\n"
        "    print(p.epoch, p.step, p.best_excess)")


# ---- two models

def compare_tables(c: Comparison) -> dict[str, list[dict]]:
    """The comparison's charts as tidy tables: per (model, layer) the measures of the bars, and
    per (model, layer, bin) the share of (pair, unit) cells in each H excess bin."""
    layers = [{"model": m.name, "layer": layer, **{key: getattr(m.layer(layer), key) for key in COMPARED}}
              for m in (c.a, c.b) for layer in READOUT_LAYERS]
    edges = EXCESS_BINS.tolist()
    excess = [{"model": m.name, "layer": layer, "excess_low": lo, "excess_high": hi, "share": share}
              for m in (c.a, c.b) for layer in READOUT_LAYERS
              for lo, hi, share in zip(edges, edges[1:], m.layer(layer).excess_share)]
    return {"layers": layers, "excess": excess}


def compare_reproduce(dir_a: "Path | str", dir_b: "Path | str") -> Reproduce:
    flag, path_a = checkpoint_arg(dir_a)
    other = shown_path(dir_b)
    names = (Path(path_a).name, Path(other).name)       # the command names the models after their directories
    return Reproduce(
        f"python -m translit_core compare --other {shlex.quote(other)} --json{flag}",
        f"from translit_core.analysis import Analysis\n"
        f"from translit_core.analysis.comparison.models import compare\n"
        f"c = compare(Analysis.load({path_a!r}), Analysis.load({other!r}), {names!r})\n"
        f"for m in (c.a, c.b):\n"
        f"    for s in m.layers:\n"
        f"        print(m.name, s.layer, s.selective_units, s.units_per_pair, s.inputs_per_unit, s.monosemantic,\n"
        f"              s.mean_abs_r, s.excess_share)")
