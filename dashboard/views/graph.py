"""The neuron graph's data for one pair: YerevaNN's figure, from the analysis file alone.

Rows from the top: the outputs the input character can become (those the pair picker offers, so
a click on one switches to that pair), the hidden layer's most selective neurons, the biLSTM's
most selective forward | backward neurons, and under each of those its gates and cells (the same
index in the six rows of GATE_ROWS). Edges are mean contributions (weight x mean activation) from
the analysis. `figures.neuron_graph` lays it out and draws it.
"""
from __future__ import annotations

import html
import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from translit_core.analysis import Analysis, Pair
from translit_core.model.alphabets import PASS_SYMBOL, PLACE_SYMBOL, Alphabets, class_of_symbol
from translit_core.model.names import NeuronId, lstm_layer

from .labels import pair_label

if TYPE_CHECKING:
    from .lab import Lab

# The six rows under the concat layer, top to bottom, as in the post: (label, forward layer,
# backward layer) for each part of the LSTM step; "c_before" is the cell the step started from.
GATE_ROWS = tuple((label, lstm_layer("fwd", part), lstm_layer("bwd", part)) for label, part in (
    ("o", "o"), ("c", "c"), ("i", "i"), ("g", "g"), ("f", "f"), ("c_prev | c_next", "c_before")))

# What each gate row is: (the words beside the row's letter, the row label's hover).
GATE_WORDS = {
    "o": ("output gate", "o, the output gate: how much of the cell (tanh c)\nthe LSTM shows as its output h"),
    "c": ("cell", "c, the cell state after this step: the LSTM's memory"),
    "i": ("input gate", "i, the input gate: how much of the candidate g\nis written into the cell"),
    "g": ("candidate", "g, the candidate: the new value offered to the cell (tanh)"),
    "f": ("forget gate", "f, the forget gate: how much of the previous cell is kept"),
    "c_prev | c_next": ("cell before", "c_prev | c_next, the cell the step started from: c at the\n"
                                       "character before (forward LSTM) | after (backward LSTM)"),
}


def esc(text: str) -> str:
    """Plotly renders a subset of HTML in text and hovers: escape data strings."""
    return html.escape(str(text), quote=False)


def row_label(label: str) -> str:
    """The words drawn beside a gate row: its letter and what it is."""
    return f"{label} · {GATE_WORDS[label][0]}" if label in GATE_WORDS else label


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
    pair: str = ""          # output nodes: the pair x:y a click on the node switches to
    null: float | None = None      # H's permutation null (the noise floor at this pair's sizes)
    p_value: float | None = None
    q_value: float | None = None   # p corrected over the layer's units x pairs (Benjamini-Hochberg)

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
    row_help: dict[str, str] = field(default_factory=dict)   # row key -> the row label's hover (plain text)


def graph_data(analysis: Analysis, alphabets: Alphabets, pair: "Pair | str", k_hidden: int = 12,
               k_concat: int = 10, max_edges: int = 60) -> GraphData:
    """Nodes and edges of the post's figure for one pair."""
    p = analysis.parse_pair(pair)
    nodes: list[Node] = []
    out_nodes, out_help = _output_nodes(analysis, alphabets, p)
    nodes += out_nodes

    hidden = analysis.top_neurons(p, "hidden", k_hidden)
    fwd = analysis.top_neurons(p, "concat.fwd", k_concat)
    bwd = analysis.top_neurons(p, "concat.bwd", k_concat)
    for row, side, scores in (("hidden", "", hidden), ("concat", "fwd", fwd), ("concat", "bwd", bwd)):
        nodes += [Node(str(s.neuron), row, str(s.neuron.index), s.hellinger, s.n_pos, s.n_neg,
                       side=side, title=str(s.neuron), null=s.hellinger_null, p_value=s.p_value) for s in scores]

    rows = [("output", f"outputs for “{p.x}”"), ("hidden", f"hidden · top {k_hidden}"),
            ("concat", f"concat · top {k_concat} fwd | bwd")]
    row_help = {"output": out_help,
                "hidden": f"the dense layer after the biLSTM:\nits {k_hidden} neurons that best separate the pair",
                "concat": f"the biLSTM's output h: its {k_concat} forward and {k_concat} backward\nneurons that "
                          "best separate the pair;\nthe rows below are their gates and cells"}
    for label, layer_fwd, layer_bwd in GATE_ROWS:
        rows.append((label, row_label(label)))
        row_help[label] = GATE_WORDS[label][1]
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
    return GraphData(str(p), rows, nodes, strongest(edges, max_edges), row_help)


def _q(n: Node) -> str:
    """The corrected value, which is what a reader should judge by (p beside it)."""
    return f"q {n.q_value:.2g} (p {n.p_value:.2g})" if n.q_value is not None else f"p {n.p_value:.2g}"


def node_hover(data: GraphData, n: Node, colour: str = "excess") -> str:
    """A node's hover: its name, H, null, excess and p, the counts, and what a click does."""
    if n.excess is None:
        stats = "Hellinger H = n/a" + (" (too few positions of this output)" if n.row == "output" else "")
    elif colour == "hellinger":
        stats = f"Hellinger H = {n.hellinger:.3f} · null {n.null:.3f} · H excess = {n.excess:.3f} · {_q(n)}"
    else:
        stats = f"H excess = {n.excess:.3f}<br>Hellinger H = {n.hellinger:.3f} · null {n.null:.3f} · {_q(n)}"
    click = ("the pair shown" if n.pair == data.pair else f"click to switch to the pair {esc(pair_label(n.pair))}"
             ) if n.pair else "click for histogram & card"
    return (f"<b>{esc(n.title or n.id)}</b><br>{stats}<br>n(target) = {n.n_pos:,} · n(other) = {n.n_neg:,}"
            f"<br><i>{click}</i>")


def row_labels(data: GraphData) -> list[dict]:
    """The rows' names in the left margin ("o · output gate": the letter, the words under it),
    each explaining its row on hover."""
    out = []
    for i, (r, label) in enumerate(data.rows):
        head, _, words = label.partition(" · ")
        text = f"<b>{esc(head)}</b>" + (f"<br><span style='color:#6c757d'>{esc(words)}</span>" if words else "")
        hover = "<br>".join(esc(line) for line in data.row_help.get(r, label).split("\n"))
        out.append(dict(x=0, xref="paper", xshift=-12, y=-i, text=text, showarrow=False, xanchor="right",
                        align="right", font=dict(size=12, color="#343a40"), hovertext=hover,
                        hoverlabel=dict(bgcolor="#ffffff", font=dict(size=12, color="#212529"))))
    return out


def picker_outputs(analysis: Analysis, x: str) -> list[str]:
    """The outputs the pair picker offers for input x: those with a pair in the analysis, in its order."""
    return [q.y for q in analysis.pairs() if q.x == x]


def _output_nodes(analysis: Analysis, alphabets: Alphabets, p: Pair) -> tuple[list[Node], str]:
    """Row 1: the outputs the pair picker offers for x, each coloured by the H of its output logit
    for this pair (grey where the analysis has none) and switching to its pair on a click; and
    the row label's hover, which names the outputs seen too rarely to be analysed."""
    seen = dict(analysis.tables.candidates.get(p.x, {}))
    nodes = []
    for sym in picker_outputs(analysis, p.x):
        k = class_of_symbol(alphabets, sym)
        if k is None:
            continue
        label = p.x if sym == PASS_SYMBOL else sym
        kind = " (kept Latin)" if sym == PASS_SYMBOL else " (nothing)" if sym == PLACE_SYMBOL else ""
        q = Pair(p.x, sym)
        title = f"output “{label}”{kind} · {p.x}→{label} {seen.get(sym, 0):,} times in the sample"
        nodes.append(_node(analysis, p, NeuronId("output", k), "output", label, title=title,
                           target=(sym == p.y), pair=str(q)))
    shown = {n.pair for n in nodes}
    rare = sorted((y for y in seen if str(Pair(p.x, y)) not in shown), key=lambda y: -seen[y])
    help_ = (f"the output layer: what “{p.x}” can become, as the Output picker offers;\n"
             f"a node's colour: how well that output's logit separates {p.x}→{p.y};\n"
             "click one to switch to its pair")
    if rare:
        words = ", ".join(f"{p.x + ' kept Latin' if y == PASS_SYMBOL else y} ({seen[y]:,})" for y in rare)
        help_ += (f"\nseen too rarely to analyse (under {analysis.tables.min_count:,} positions):\n{words}")
    return nodes, help_


def _node(analysis: Analysis, on: Pair, neuron: NeuronId, row: str, label: str, **kw) -> Node:
    """A node with the neuron's H for the pair `on` and its null (None where the analysis has none)."""
    try:
        s = analysis.score_of(on, neuron)
        h, null, pv, qv = s.hellinger, s.hellinger_null, s.p_value, s.q_value
    except (KeyError, ValueError, IndexError):
        h = null = pv = qv = None
    finite = h is not None and math.isfinite(h) and null is not None and math.isfinite(null)
    return Node(str(neuron), row, label, h if finite else None, on.n_pos, on.n_neg,
                null=null if finite else None, p_value=pv if finite else None, q_value=qv if finite else None, **kw)


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


def output_pair(analysis: Analysis, alphabets: Alphabets, x: str, node: str | None) -> Pair | None:
    """The pair a click on the output node `node` ("output:k") of input x's graph switches to:
    x -> that output, one of the pair picker's; None for any other node."""
    if not node or not node.startswith("output:"):
        return None
    for y in picker_outputs(analysis, x):
        if node == f"output:{class_of_symbol(alphabets, y)}":
            return analysis.parse_pair(Pair(x, y))
    return None


_warmed: set[tuple] = set()
_warm_lock = threading.Lock()


def warm_first_click(lab: "Lab") -> None:
    """Once per lab, in a background thread: what the first node click would otherwise wait for.
    The card under the graph scores the neuron against the sample's annotation tracks; the first
    time, that annotates the sample and imports scipy (about 3 s). Later clicks reuse it (the
    tracks are memoised on the recording)."""
    key = (str(lab.directory), lab.stamp)
    with _warm_lock:
        if key in _warmed or lab.released.is_set() or lab.analysis is None:
            return
        _warmed.add(key)

    def run() -> None:
        from translit_core.analysis.methods.tracks import best_track
        try:
            rec = lab.recording()
            best_track(rec, NeuronId("hidden", 0))
        except Exception:       # reported when a click asks for it
            pass
    threading.Thread(target=run, name="translit-graph-warm-up", daemon=True).start()
