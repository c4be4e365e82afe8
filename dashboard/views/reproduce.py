"""What a view shows, as tables and as the commands that compute it again: the tidy data behind
a figure (the graph's nodes and edges, a histogram's bins and densities) and the equivalent CLI
command and Python call (each page's "Reproduce" expander). Pure functions; ui/downloads.py
places the buttons."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from translit_core import settings

from .graph import GraphData
from .histograms import HistView


@dataclass
class Reproduce:
    cli: str        # the shell command, with --json for the numbers
    python: str     # the same through the engine's Python API


def checkpoint_arg(directory: "Path | str | None") -> tuple[str, str]:
    """(" --checkpoint DIR" or "", the checkpoint's path for Python) for a lab's directory: none
    for the shipped default."""
    if directory is None or Path(directory).resolve() == settings.DEFAULT_CHECKPOINT.resolve():
        return "", "checkpoints/hy"
    return f" --checkpoint {shlex.quote(str(directory))}", str(directory)


def graph_tables(data: GraphData) -> dict[str, list[dict]]:
    """The graph as two tidy tables: nodes (layer, unit, H, null, excess, p, counts) and edges
    (source, target, mean contribution)."""
    nodes = []
    for n in data.nodes:
        layer, _, unit = n.id.rpartition(":")
        excess = None if n.hellinger is None or n.null is None else n.hellinger - n.null
        nodes.append({"node": n.id, "row": n.row, "layer": layer, "unit": unit, "label": n.label,
                      "hellinger": n.hellinger, "null": n.null, "excess": excess, "p_value": n.p_value,
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
        f"h = histogram(a.recording(), a.parse_pair({pair!r}), a.parse_neuron({neuron!r}))\n"
        f"print(h.hellinger, h.n_pos, h.n_neg)")
