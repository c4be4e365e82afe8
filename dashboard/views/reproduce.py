"""What a view shows, as tables and as the commands that compute it again: the tidy data behind
a figure (the graph's nodes and edges, a histogram's bins and densities, the neuron card's pairs
and ablation) and the equivalent CLI command and Python call (each page's "Reproduce" expander).
Pure functions; ui/downloads.py places the buttons. The views on a typed text (heatmap,
attribution): reproduce_text.py; the units' structure and the model comparisons: reproduce_units.py."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from translit_core import settings
from translit_core.analysis import AblationResult, PairScore
from translit_core.analysis.methods.ablation import PER_OUTPUT

from .graph import GraphData
from .histograms import HistView


@dataclass
class Reproduce:
    cli: str        # the shell command, with --json for the numbers
    python: str     # the same through the engine's Python API


def shown_path(directory: "Path | str") -> str:
    """A directory as a command names it: relative to the repository when inside it."""
    p = Path(directory).resolve()
    return str(p.relative_to(settings.REPO)) if p.is_relative_to(settings.REPO) else str(p)


def checkpoint_arg(directory: "Path | str | None") -> tuple[str, str]:
    """(" --checkpoint DIR" or "", the checkpoint's path for Python) for a lab's directory: none
    for the shipped default."""
    if directory is None or Path(directory).resolve() == settings.DEFAULT_CHECKPOINT.resolve():
        return "", "checkpoints/hy"
    path = shown_path(directory)
    return f" --checkpoint {shlex.quote(path)}", path


def graph_tables(data: GraphData) -> dict[str, list[dict]]:
    """The graph as two tidy tables: nodes (layer, unit, H, null, excess, p, counts) and edges
    (source, target, mean contribution)."""
    nodes = []
    for n in data.nodes:
        layer, _, unit = n.id.rpartition(":")
        excess = None if n.hellinger is None or n.null is None else n.hellinger - n.null
        nodes.append({"node": n.id, "row": n.row, "layer": layer, "unit": unit, "label": n.label,
                      "hellinger": n.hellinger, "null": n.null, "excess": excess, "p_value": n.p_value,
                      "q_value": n.q_value,
                      "n_pos": n.n_pos, "n_neg": n.n_neg})
    edges = [{"source": e.source, "target": e.target, "mean_contribution": e.value} for e in data.edges]
    return {"nodes": nodes, "edges": edges}


def graph_reproduce(pair: str, directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    return Reproduce(
        f"python -m translit_core neurons --pair {shlex.quote(pair)} --layer all --top 12 --json{flag}",
        f"from translit_core.analysis import Analysis\n"
        f"a = Analysis.load({path!r})\n"
        f"for layer in ('hidden', 'concat.fwd', 'concat.bwd'):\n"
        f"    print(layer, a.top_neurons({pair!r}, layer, 12))")


def histogram_table(hv: HistView) -> dict[str, list[dict]]:
    """A histogram as one tidy table: each bin's edges and both densities (each integrates to 1)."""
    half = hv.width / 2
    return {"bins": [{"bin_low": float(c - half), "bin_high": float(c + half), "density_pos": float(p),
                      "density_neg": float(q)} for c, p, q in zip(hv.centers, hv.pos, hv.neg)]}


def histogram_reproduce(pair: str, neuron: str, directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    return Reproduce(
        f"python -m translit_core histogram --pair {shlex.quote(pair)} --neuron {shlex.quote(neuron)} --json{flag}",
        f"from translit_core.analysis import Analysis, histogram\n"
        f"a = Analysis.load({path!r})\n"
        f"h = histogram(a.recording(), a.parse_pair({pair!r}), a.parse_neuron({neuron!r}), bins=a.tables.bins)\n"
        f"print(h.hellinger, h.n_pos, h.n_neg)")


def histograms_tables(hvs: Sequence[HistView]) -> dict[str, list[dict]]:
    """The histograms grid (a layer's top neurons on one pair) as two tidy tables: one row per
    neuron (its rank, H and counts), and every neuron's bins (histogram_table's, with the neuron)."""
    neurons = [{"rank": i, "neuron": hv.neuron, "hellinger": hv.hellinger, "n_pos": hv.n_pos, "n_neg": hv.n_neg}
               for i, hv in enumerate(hvs, 1)]
    bins = [{"neuron": hv.neuron, **row} for hv in hvs for row in histogram_table(hv)["bins"]]
    return {"neurons": neurons, "bins": bins}


def histograms_reproduce(pair: str, layer: str, n: int, neurons: Sequence[str], directory=None) -> Reproduce:
    """The layer's top n neurons for the pair, then each one's histogram (its H and counts)."""
    flag, path = checkpoint_arg(directory)
    p = shlex.quote(pair)
    lines = [f"python -m translit_core neurons --pair {p} --layer {shlex.quote(layer)} --top {n} --json{flag}"]
    lines += [f"python -m translit_core histogram --pair {p} --neuron {shlex.quote(str(neuron))} --json{flag}"
              for neuron in neurons]
    return Reproduce(
        "\n".join(lines),
        f"from translit_core.analysis import Analysis, histogram\n"
        f"a = Analysis.load({path!r})\n"
        f"pair = a.parse_pair({pair!r})\n"
        f"for s in a.top_neurons(pair, {layer!r}, {n}):\n"
        f"    h = histogram(a.recording(), pair, s.neuron, bins=a.tables.bins)\n"
        f"    print(s.neuron, h.hellinger, h.n_pos, h.n_neg)")


# ---- the neuron card: the pairs it separates best, and the stored ablation of its layer

def pairs_table(scores: Sequence[PairScore]) -> dict[str, list[dict]]:
    """The pairs a neuron separates best, best first: H, its null, the excess, p and the counts."""
    return {"pairs": [{"pair": str(s.pair), "hellinger": s.hellinger, "null": s.hellinger_null,
                       "excess": s.hellinger_excess, "p_value": s.p_value, "q_value": s.q_value,
                       "n_pos": s.n_pos, "n_neg": s.n_neg}
                      for s in scores]}


def pairs_reproduce(neuron: str, top: int = 10, directory=None) -> Reproduce:
    flag, path = checkpoint_arg(directory)
    return Reproduce(
        f"python -m translit_core pairs --neuron {shlex.quote(neuron)} --top {top} --json{flag}",
        f"from translit_core.analysis import Analysis\n"
        f"a = Analysis.load({path!r})\n"
        f"for s in a.top_pairs({neuron!r}, {top}):\n"
        f"    print(s.pair, s.hellinger, s.hellinger_null, s.hellinger_excess, s.p_value, s.q_value, s.n_pos, s.n_neg)")


# The ablation result's own numbers, in its "result" table (the card's sentence quotes them)
ABLATION_NUMBERS = ("pair", "layer", "k", "replace", "n_pos", "n_random_draws", "target_accuracy_baseline",
                    "target_accuracy_top_k", "target_accuracy_random_mean", "delta_logp_top_k",
                    "delta_logp_random_mean", "delta_logp_random_std", "p_value", "q_value", "effect_logp",
                    "effect_z")


def ablation_tables(res: AblationResult) -> dict[str, list[dict]]:
    """The ablation bar's points: the top k's change of log p(y) and each random draw's (one row
    per ablated set of units), and the result's own numbers in one row."""
    top = " ".join(res.top_k_neurons)
    draws = [{"units": f"top {res.k}", "draw": 0, "neurons": top, "delta_logp": float(res.delta_logp_top_k)}]
    draws += [{"units": f"{res.k} random", "draw": i, "neurons": "", "delta_logp": float(v)}
              for i, v in enumerate(res.random_delta_logps, 1)]
    summary = {key: getattr(res, key) for key in ABLATION_NUMBERS}
    return {"draws": draws, "result": [summary]}


def ablation_reproduce(res: AblationResult, directory=None) -> Reproduce:
    """The stored ablation computed again (`ablate` with the settings analyze used), or read back."""
    flag, path = checkpoint_arg(directory)
    extra = "".join([f" --per-output {res.per_output or 0}" if res.per_output != PER_OUTPUT else "",
                     f" --replace {res.replace}" if res.replace != "mean" else "",
                     " --recurrent" if res.recurrent else "", f" --seed {res.seed}" if res.seed else ""])
    return Reproduce(
        f"python -m translit_core ablate --pair {shlex.quote(res.pair)} --layer {shlex.quote(res.layer)} "
        f"--k {res.k} --draws {res.n_random_draws or res.draws}{extra} --json{flag}",
        f"from translit_core.analysis import Analysis\n"
        f"a = Analysis.load({path!r})\n"
        f"r = a.ablation({res.pair!r}, {res.layer!r})      # as analyze stored it\n"
        f"print(r.delta_logp_top_k, r.random_delta_logps, r.p_value)")
