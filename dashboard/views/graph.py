"""The neuron graph's data for one pair: YerevaNN's figure, from the analysis file alone.

Rows from the top: the outputs the input character can become, the hidden layer's most selective
neurons, the biLSTM's most selective forward | backward neurons, and under each of those its
gates and cells (the same index in the six rows of GATE_ROWS). Edges are mean contributions
(weight x mean activation) from the analysis. `figures.neuron_graph` lays it out and draws it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from translit_core.analysis import Analysis, Pair
from translit_core.model.alphabets import PASS_SYMBOL, PLACE_SYMBOL, Alphabets, class_of_symbol
from translit_core.model.names import NeuronId, lstm_layer

# The six rows under the concat layer, top to bottom, as in the post: (label, forward layer,
# backward layer) for each part of the LSTM step; "c_before" is the cell the step started from.
GATE_ROWS = tuple((label, lstm_layer("fwd", part), lstm_layer("bwd", part)) for label, part in (
    ("o", "o"), ("c", "c"), ("i", "i"), ("g", "g"), ("f", "f"), ("c_prev | c_next", "c_before")))


@dataclass
class Node:
    id: str                 # neuron name ("hidden:37"); output nodes are "output:k" (class k)
    row: str                # "output", "hidden", "concat", or a GATE_ROWS label
    label: str              # text drawn on the node
    hellinger: float | None
    n_pos: int = 0
    n_neg: int = 0
    side: str = ""          # "fwd" / "bwd" for concat and gate rows
    title: str = ""         # longer name for hover
    target: bool = False    # the pair's output symbol
    null: float | None = None      # H's permutation null (the noise floor at this pair's sizes)
    p_value: float | None = None

    @property
    def excess(self) -> float | None:
        """H minus its null: what the graph's colour shows, comparable across pairs."""
        return None if self.hellinger is None or self.null is None else self.hellinger - self.null


@dataclass
class Edge:
    source: str
    target: str
    value: float            # mean contribution (weight x activation) over the pair's positions


@dataclass
class GraphData:
    pair: str
    rows: list[tuple[str, str]]     # (row key, label shown on the left), top to bottom
    nodes: list[Node]
    edges: list[Edge] = field(default_factory=list)


def graph_data(analysis: Analysis, alphabets: Alphabets, pair: "Pair | str", k_hidden: int = 12,
               k_concat: int = 10, max_edges: int = 60, max_outputs: int = 8) -> GraphData:
    """Nodes and edges of the post's figure for one pair."""
    p = analysis.parse_pair(pair)
    nodes: list[Node] = []

    # Row 1: candidate outputs for x, most frequent first (the Latin pass-through included),
    # coloured by the H of their output logit for this pair.
    out_nodes = []
    cands = list(analysis.candidates(p.x))
    cands = cands[:max_outputs] + ([p.y] if p.y in cands[max_outputs:] else [])
    for sym in cands:
        k = class_of_symbol(alphabets, sym)
        if k is None:
            continue
        neuron = NeuronId("output", k)
        label = p.x if sym == PASS_SYMBOL else sym
        kind = " (pass-through)" if sym == PASS_SYMBOL else " (nothing)" if sym == PLACE_SYMBOL else ""
        out_nodes.append(_node(analysis, p, neuron, "output", label, title=f"output “{label}”{kind}",
                               target=(sym == p.y)))
    nodes += out_nodes

    hidden = analysis.top_neurons(p, "hidden", k_hidden)
    fwd = analysis.top_neurons(p, "concat.fwd", k_concat)
    bwd = analysis.top_neurons(p, "concat.bwd", k_concat)
    for row, side, scores in (("hidden", "", hidden), ("concat", "fwd", fwd), ("concat", "bwd", bwd)):
        nodes += [Node(str(s.neuron), row, str(s.neuron.index), s.hellinger, s.n_pos, s.n_neg,
                       side=side, title=str(s.neuron), null=s.hellinger_null, p_value=s.p_value) for s in scores]

    rows = [("output", f"outputs for “{p.x}”"), ("hidden", f"hidden · top {k_hidden}"),
            ("concat", f"concat · top {k_concat} fwd | bwd")]
    for label, layer_fwd, layer_bwd in GATE_ROWS:
        rows.append((label, label))
        for side, layer, scores in (("fwd", layer_fwd, fwd), ("bwd", layer_bwd, bwd)):
            for s in scores:
                neuron = NeuronId(layer, s.neuron.index)
                nodes.append(_node(analysis, p, neuron, label, str(neuron.index), side=side, title=str(neuron)))

    concat_ids = [s.neuron for s in fwd + bwd]
    hidden_ids = [s.neuron for s in hidden]
    out_ids = [NeuronId.parse(n.id) for n in out_nodes]
    edges: list[Edge] = []
    if concat_ids and hidden_ids:
        edges += _edges(analysis, p, concat_ids, hidden_ids)
    if hidden_ids and out_ids:
        edges += _edges(analysis, p, hidden_ids, out_ids)
    return GraphData(str(p), rows, nodes, strongest(edges, max_edges))


def _node(analysis: Analysis, pair: Pair, neuron: NeuronId, row: str, label: str, **kw) -> Node:
    """A node with the neuron's H for the pair and its null (None where the analysis has none)."""
    try:
        s = analysis.score_of(pair, neuron)
        h, null, pv = s.hellinger, s.hellinger_null, s.p_value
    except (KeyError, ValueError, IndexError):
        h = null = pv = None
    finite = h is not None and math.isfinite(h) and null is not None and math.isfinite(null)
    return Node(str(neuron), row, label, h if finite else None, pair.n_pos, pair.n_neg,
                null=null if finite else None, p_value=pv if finite else None, **kw)


def _edges(analysis: Analysis, pair: Pair, lower: list[NeuronId], upper: list[NeuronId]) -> list[Edge]:
    m = analysis.contributions(pair, lower, upper).double().tolist()
    return [Edge(str(lower[i]), str(upper[j]), m[i][j])
            for i in range(len(lower)) for j in range(len(upper)) if math.isfinite(m[i][j]) and m[i][j] != 0]


def strongest(edges: list[Edge], k: int) -> list[Edge]:
    """The k largest contributions by size, but every upper node keeps its strongest input."""
    if len(edges) <= k:
        return edges
    best: dict[str, Edge] = {}
    for e in edges:
        if e.target not in best or abs(e.value) > abs(best[e.target].value):
            best[e.target] = e
    keep = {id(e) for e in best.values()}
    for e in sorted(edges, key=lambda e: -abs(e.value)):
        if len(keep) >= k:
            break
        keep.add(id(e))
    return [e for e in edges if id(e) in keep]


def selected_neuron(event: Any) -> str | None:
    """The neuron name a plotly selection event points at (the customdata of its first node)."""
    if not event:
        return None
    try:
        sel = event["selection"] if isinstance(event, Mapping) else event.selection
        points = sel["points"] if isinstance(sel, Mapping) else sel.points
    except (KeyError, AttributeError, TypeError):
        return None
    for pt in points or []:
        cd = pt.get("customdata") if isinstance(pt, Mapping) else None
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if isinstance(cd, str) and ":" in cd:
            return cd
    return None
