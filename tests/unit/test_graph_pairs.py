"""The neuron graph (views.graph, figures.neuron_graph) on every pair of the shipped checkpoints,
without Streamlit: no two nodes of a row touch at the graph's least width, and the output row
offers what the pair picker offers."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from dashboard.views import figures
from dashboard.views.graph import graph_data, output_pair
from dashboard.views.lab import load_lab
from dashboard.views.urls import pairs_by_input
from translit_core.settings import REPO

CHECKPOINTS = sorted(p.parent for p in (REPO / "checkpoints").glob("*/analysis.json"))


@pytest.fixture(scope="module", params=CHECKPOINTS, ids=lambda p: p.name)
def lab(request):
    return load_lab(Path(request.param))


def closest_in_a_row(nodes, px: float) -> tuple[float, tuple]:
    """The least room (px) between two neighbouring nodes of a row, `nodes` (x, y, size, id) in
    x units at `px` pixels per unit: their centres' distance less their radii and the widest
    ring; and which two."""
    rows = defaultdict(list)
    for x, y, size, nid in nodes:
        rows[y].append((x, size, nid))
    least, which = float("inf"), ()
    for row in rows.values():
        row.sort()
        for (x0, s0, a), (x1, s1, b) in zip(row, row[1:]):
            room = (x1 - x0) * px - (s0 + s1) / 2 - figures.RING
            if room < least:
                least, which = room, (a, b)
    return least, which


def test_no_two_nodes_of_a_row_overlap_on_any_pair_of_hy():
    """As drawn: the figure's node trace, at the least width the page gives it."""
    lab = load_lab(REPO / "checkpoints" / "hy")
    for p in lab.analysis.pairs():
        data = graph_data(lab.analysis, lab.alphabets, p)
        fig = figures.neuron_graph(data, selected=data.nodes[0].id)
        t = next(t for t in fig.data if t.name == "neurons")
        room, which = closest_in_a_row(zip(t.x, t.y, t.marker.size, t.customdata),
                                       figures.graph_px_per_unit(fig.layout.xaxis.range))
        assert room > 0, f"hy {p}: {which} overlap ({room:.1f} px)"
        assert fig.layout.margin.autoexpand is False        # the colour bar takes no room from the nodes


def test_no_two_nodes_of_a_row_overlap_on_any_pair_of_any_shipped_model(lab):
    """The layout alone (quicker than drawing), with the figure's node sizes."""
    for p in lab.analysis.pairs():
        data = graph_data(lab.analysis, lab.alphabets, p)
        pos = figures.graph_layout(data)
        size = {n.id: figures.OUTPUT_SIZE if n.row == "output" else figures.NODE_SIZE for n in data.nodes}
        room, which = closest_in_a_row([(*pos[i], s, i) for i, s in size.items()],
                                       figures.graph_px_per_unit(figures.graph_x_range(pos)))
        assert room > 0, f"{lab.directory.name} {p}: {which} overlap ({room:.1f} px)"


def test_the_output_row_is_the_pair_pickers_outputs_and_a_click_switches_to_its_pair(lab):
    a = lab.analysis
    by_input = pairs_by_input(a.pairs())
    for p in a.pairs():
        outs = [n for n in graph_data(a, lab.alphabets, p).nodes if n.row == "output"]
        assert [n.pair for n in outs] == [f"{p.x}:{y}" for y in by_input[p.x]], p
        assert [n.target for n in outs].count(True) == 1
        assert [str(output_pair(a, lab.alphabets, p.x, n.id)) for n in outs] == [n.pair for n in outs]
    assert output_pair(a, lab.alphabets, p.x, "hidden:1") is None
