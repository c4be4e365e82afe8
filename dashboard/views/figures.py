"""Plotly figures for the dashboard. Pure functions: the view data (graph.GraphData,
histograms.HistView, heatmaps.HeatData) or the engine's results in, a go.Figure out. (The
Compare, Training dynamics, Gate saturation and Neuron clusters pages' figures are in their own
views: compare.py, dynamics.py, gates.py, clusters.py.)

One colour scale for Hellinger distances everywhere (0..1, the same on every pair), one
diverging scale for activations, orange/green for positive/negative contributions.
"""
from __future__ import annotations

import html
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from translit_core.analysis import AblationResult, Pair, PairScore
from translit_core.analysis.methods.ablation import p_label

from .graph import GraphData, node_hover, row_labels
from .heatmaps import HeatData
from .histograms import HistView
from .labels import input_label, pair_label

H_SCALE = "Viridis"                       # Hellinger distance, fixed range 0..1
ACT_SCALE = [[0.0, "#2166ac"], [0.25, "#92c5de"], [0.5, "#f7f7f7"], [0.75, "#f4a582"], [1.0, "#b2182b"]]
POSITIVE, NEGATIVE = "#f28e2b", "#2ca02c"  # contribution edges: orange +, green -
TARGET, OTHER = "#e8590c", "#4c6ef5"        # histogram: target = y, target != y
FONT = "Noto Sans, Noto Sans Armenian, DejaVu Sans, sans-serif"
NODE_NONE = "#e9ecef"                      # node without an H value
# The neuron graph: a sequential scale (dark = a larger distance) on one fixed range for every
# pair; node sizes (px) and the selected / target ring; the graph's least width (px) and margins
# (the rows' names on the left, the colour bar on the right); the step of the hidden and output
# rows' nodes (x units: least, most), and the room left and right of the nodes.
GRAPH_SCALE = "Blues"
NODE_SIZE, OUTPUT_SIZE, RING = 24, 32, 4
GRAPH_MIN_WIDTH = 900


def graph_scroll_css(key: str) -> str:
    """CSS for the container `key` holding a graph: the graph keeps GRAPH_MIN_WIDTH and the
    container scrolls sideways where the page is narrower (a phone)."""
    return (f'<style>.st-key-{key} {{ overflow-x: auto; }} .st-key-{key} [data-testid="stFullScreenFrame"]'
            f':has([data-testid="stPlotlyChart"]) {{ min-width: {GRAPH_MIN_WIDTH}px; }}</style>')
GRAPH_MARGIN = dict(l=120, r=80, t=60, b=10)
ROW_STEP = {"output": (1.5, 3.0), "hidden": (1.0, 1.8)}
X_PAD = 0.6


def esc(text: str) -> str:
    """Plotly renders a subset of HTML in text, titles and hovers: escape data strings."""
    return html.escape(str(text), quote=False)


# Every chart's template, as plotly's default: a figure takes the default as it is made, without
# the copy and validation that `update_layout(template="plotly_white")` costs (25 ms a figure, half
# of a warm run of the graph page with its card). The figures' JSON is the same.
pio.templates.default = "plotly_white"


def base_layout(fig: go.Figure, **kw) -> go.Figure:
    """The lab's look for every chart (the default template, font, margins); `kw` goes to update_layout."""
    kw.setdefault("margin", dict(l=20, r=20, t=50, b=30))
    fig.update_layout(font=dict(family=FONT, size=13), **kw)
    return fig


def graph_layout(data: GraphData) -> dict[str, tuple[float, float]]:
    """Node positions: rows top to bottom (1 apart; row 0 at y = 0, lower rows at negative y),
    nodes in a row side by side, in the data's order.

    The concat row and the six gate rows have the same columns, 1 apart (forward | gap |
    backward), so a gate node sits exactly under its concat neuron; the hidden and output rows
    are centred and spread over that width, up to ROW_STEP apart (never under 1).
    """
    rows: list[list[str]] = []
    sided: set[int] = set()
    for i, (r, _) in enumerate(data.rows):
        nodes = [n for n in data.nodes if n.row == r]
        fwd = [n.id for n in nodes if n.side == "fwd"]
        bwd = [n.id for n in nodes if n.side == "bwd"]
        ids = [n.id for n in nodes if n.side not in ("fwd", "bwd")] + fwd
        if fwd or bwd:
            ids.append(f"__gap__{r}")   # the divider's column
            sided.add(i)
        rows.append(ids + bwd)
    width = max((len(rows[i]) - 1 for i in sided), default=0)
    pos: dict[str, tuple[float, float]] = {}
    for i, ids in enumerate(rows):
        r = data.rows[i][0]
        step = 1.0 if i in sided or len(ids) < 2 else max(ROW_STEP.get(r, (1.0, 1.5))[0], min(
            ROW_STEP.get(r, (1.0, 1.5))[1], width / (len(ids) - 1)))
        c = (len(ids) - 1) / 2
        pos.update({nid: ((k - c) * step, -float(i)) for k, nid in enumerate(ids)})
    return pos


def _edge_traces(fig: go.Figure, data: GraphData, pos: dict[str, tuple[float, float]]) -> None:
    """The edges: one trace per (sign, width bucket), width proportional to |contribution| within
    each layer pair (concat->hidden and hidden->output are on different scales); hover targets at
    their midpoints, and legend entries for the two colours."""
    edges = [e for e in data.edges if e.source in pos and e.target in pos]
    rowof = {n.id: n.row for n in data.nodes}
    groups: dict[tuple, list] = {}
    for stage in {rowof.get(e.target) for e in edges}:
        es = [e for e in edges if rowof.get(e.target) == stage]
        vmax = max((abs(e.value) for e in es), default=0) or 1.0
        for e in es:
            w = 0.6 + 7.4 * abs(e.value) / vmax
            bucket = round(w * 2) / 2
            groups.setdefault((e.value >= 0, bucket), []).append(e)
    for (positive, width), es in sorted(groups.items(), key=lambda kv: kv[0][1]):
        xs, ys = [], []
        for e in es:
            (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
            xs += [x0, x1, None]
            ys += [y0, y1, None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color=POSITIVE if positive else NEGATIVE, width=width),
                                 opacity=0.55))
    if edges:   # hover targets at edge midpoints
        fig.add_trace(go.Scatter(
            x=[(pos[e.source][0] + pos[e.target][0]) / 2 for e in edges],
            y=[(pos[e.source][1] + pos[e.target][1]) / 2 for e in edges],
            mode="markers", marker=dict(size=7, color="rgba(0,0,0,0)"), showlegend=False,
            hovertemplate="%{text}<extra></extra>",
            text=[f"{esc(e.source)} → {esc(e.target)}<br>mean contribution {e.value:+.3f}" for e in edges],
            name="edges"))
    # Legend entries for the edge colours
    for colour, name in ((POSITIVE, "positive contribution"), (NEGATIVE, "negative contribution")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=colour, width=4),
                                 name=name, showlegend=True))


def _divider(pos: dict[str, tuple[float, float]]) -> tuple[list[dict], list[dict]]:
    """The dotted line between the forward and backward columns and its two labels: (shapes,
    annotations), none when the graph has no LSTM rows."""
    gaps = [p for k, p in pos.items() if k.startswith("__gap__")]
    if not gaps:
        return [], []
    gx = gaps[0][0]
    ys = [p[1] for p in gaps]
    shapes = [dict(type="line", x0=gx, x1=gx, y0=max(ys) + 0.45, y1=min(ys) - 0.45,
                   line=dict(color="#495057", width=2, dash="dot"))]
    bottom = min(ys) - 0.5
    annotations = [dict(x=gx - 0.3, y=bottom, text="forward LSTM", showarrow=False, xanchor="right",
                        yanchor="top", font=dict(size=12, color="#495057")),
                   dict(x=gx + 0.3, y=bottom, text="backward LSTM", showarrow=False, xanchor="left",
                        yanchor="top", font=dict(size=12, color="#495057"))]
    return shapes, annotations


def _node_trace(data: GraphData, pos: dict[str, tuple[float, float]], selected: str | None,
                colour: str = "excess") -> go.Scatter:
    """Every node in one trace, coloured by its H excess (or raw H) on one fixed 0..1 scale, grey
    where it has none; the selected node and the target output outlined; customdata: the node's
    id (a click selects it)."""
    nodes = [n for n in data.nodes if n.id in pos]
    h = [n.excess if colour == "excess" else n.hellinger for n in nodes]
    colours = [v if v is not None else NODE_NONE for v in h]       # a colour string: drawn as it is
    is_out = [n.row == "output" for n in nodes]
    line_w = [RING if (n.id == selected or n.target) else 1 for n in nodes]
    line_c = ["#d6336c" if n.id == selected else ("#212529" if n.target else "#adb5bd") for n in nodes]
    text_c = ["#ffffff" if (v is not None and v > 0.6) else "#212529" for v in h]
    title = "H excess" if colour == "excess" else "Hellinger H"
    return go.Scatter(
        x=[pos[n.id][0] for n in nodes], y=[pos[n.id][1] for n in nodes],
        mode="markers+text", text=[esc(n.label) for n in nodes], textposition="middle center",
        textfont=dict(color=text_c, size=[15 if o else 10 for o in is_out], family=FONT),
        customdata=[n.id for n in nodes], hovertext=[node_hover(data, n, colour) for n in nodes],
        hovertemplate="%{hovertext}<extra></extra>", name="neurons", showlegend=False,
        marker=dict(size=[OUTPUT_SIZE if o else NODE_SIZE for o in is_out], color=colours, colorscale=GRAPH_SCALE,
                    cmin=0, cmax=1, line=dict(width=line_w, color=line_c),
                    colorbar=dict(title=dict(text=title, side="right"), thickness=12, len=0.75, x=1.01,
                                  xanchor="left", tickvals=[0, 0.25, 0.5, 0.75, 1.0])),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)))


def neuron_graph(data: GraphData, selected: str | None = None, height: int | None = None,
                 colour: str = "excess") -> go.Figure:
    """The post's neuron graph for one pair: rows of nodes (outputs, hidden, concat, gates and
    cells) joined by their strongest mean contributions; `selected` (a node's id) outlined.
    colour: "excess" (H minus its null) or "hellinger" (raw H), both on the one fixed 0..1 scale.
    Drawn at least GRAPH_MIN_WIDTH px wide (the page scrolls it sideways where it is narrower):
    at that width no two nodes of a row touch."""
    pos = graph_layout(data)
    fig = go.Figure()
    if not pos:
        return base_layout(fig, title="no data")
    _edge_traces(fig, data, pos)
    # Shapes and annotations go into the layout in one piece at the end: plotly re-validates them
    # all at every add_annotation.
    shapes, annotations = _divider(pos)
    fig.add_trace(_node_trace(data, pos, selected, colour))
    n_rows = len(data.rows)
    what = "H excess over its null" if colour == "excess" else "Hellinger H (raw)"
    title = f"Neurons that separate {esc(pair_label(data.pair))}  ·  colour = {what}"
    base_layout(fig, height=height or 110 + 62 * n_rows, shapes=shapes, annotations=annotations + row_labels(data),
                title=dict(text=title, x=0.01, font=dict(size=16)),
                legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
                clickmode="event+select", dragmode=False, hovermode="closest",
                margin=dict(GRAPH_MARGIN, autoexpand=False))
    fig.update_xaxes(visible=False, range=list(graph_x_range(pos)), fixedrange=True)
    fig.update_yaxes(visible=False, range=[-(n_rows - 1) - 0.95, 0.6], fixedrange=True)
    return fig


def graph_x_range(pos: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """The neuron graph's x axis: its nodes and X_PAD either side."""
    xs = [p[0] for p in pos.values()]
    return min(xs) - X_PAD, max(xs) + X_PAD


def graph_px_per_unit(x_range: Sequence[float], width: int = GRAPH_MIN_WIDTH) -> float:
    """Pixels per x unit of a neuron graph with that x axis, drawn `width` px wide."""
    return (width - GRAPH_MARGIN["l"] - GRAPH_MARGIN["r"]) / (x_range[1] - x_range[0])


# --------------------------------------------------------------------------------------------
# Histograms

def _add_hist(fig: go.Figure, hv: HistView, row: int | None = None, col: int | None = None,
              legend: bool = True) -> None:
    label = esc(pair_label(hv.pair))
    src = esc(input_label(Pair.parse(hv.pair).x))
    kw = dict(row=row, col=col) if row else {}
    for dens, colour, name, n in ((hv.neg, OTHER, f"{src}→ anything else", hv.n_neg),
                                  (hv.pos, TARGET, label, hv.n_pos)):
        fig.add_trace(go.Scatter(
            x=hv.centers, y=dens, mode="lines", line=dict(color=colour, width=1.5, shape="hvh"),
            fill="tozeroy", opacity=0.6, name=f"{name} (n={n:,})", showlegend=legend,
            hovertemplate=f"{name}<br>activation %{{x:.3f}}<br>density %{{y:.3f}}<extra></extra>"), **kw)


def histogram_overlay(hv: HistView, height: int = 380) -> go.Figure:
    fig = go.Figure()
    _add_hist(fig, hv)
    base_layout(fig, height=height,
                 title=dict(text=f"<b>{esc(hv.neuron)}</b> on {esc(pair_label(hv.pair))} · H = {hv.hellinger:.3f}",
                            x=0.01, font=dict(size=15)),
                 legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                 margin=dict(l=20, r=20, t=45, b=20), bargap=0)
    fig.update_xaxes(title_text=f"activation of {hv.neuron}")
    fig.update_yaxes(title_text="density")
    return fig


def histogram_grid(hvs: Sequence[HistView], cols: int = 2, height_per_row: int = 260) -> go.Figure:
    """Small multiples: several (pair, neuron) histograms, each with its H in the title."""
    if not hvs:
        return base_layout(go.Figure(), height=200, title="nothing to show")
    cols = max(1, min(cols, len(hvs)))
    rows = int(math.ceil(len(hvs) / cols))
    titles = [f"{esc(hv.neuron)} · {esc(pair_label(hv.pair))} · H={hv.hellinger:.2f} · n={hv.n_pos:,}/{hv.n_neg:,}"
              for hv in hvs]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.6 / rows / 1.5,
                        horizontal_spacing=0.08)
    for i, hv in enumerate(hvs):
        _add_hist(fig, hv, row=i // cols + 1, col=i % cols + 1, legend=False)
    fig.update_annotations(font=dict(size=12))
    return base_layout(fig, height=60 + rows * height_per_row, showlegend=False,
                        margin=dict(l=20, r=20, t=40, b=20))


# --------------------------------------------------------------------------------------------
# Bars

def pairs_bar(scores: Sequence[PairScore], title: str = "", height: int | None = None) -> go.Figure:
    """Pairs a neuron separates best: horizontal bars of H excess (H minus its permutation null)
    on the fixed 0..1 scale, the null drawn as a grey stub at the bar's start."""
    scores = list(scores)[::-1]     # best on top
    labels = [esc(pair_label(s.pair)) for s in scores]
    excess = [s.hellinger_excess for s in scores]
    fig = go.Figure(go.Bar(
        x=excess, y=labels, orientation="h",
        marker=dict(color=excess, colorscale=H_SCALE, cmin=0, cmax=1),
        text=[f"{v:.2f}" for v in excess], textposition="outside", cliponaxis=False,
        customdata=[[esc(s.pair), s.n_pos, s.n_neg, s.hellinger, s.hellinger_null if s.hellinger_null is not None
                     else float("nan"), s.q_value if s.q_value is not None else float("nan")] for s in scores],
        hovertemplate="%{customdata[0]}<br>H excess = %{x:.3f}<br>H = %{customdata[3]:.3f} · null "
                      "%{customdata[4]:.3f} · q %{customdata[5]:.2g}<br>n(target) = %{customdata[1]:,}"
                      " · n(other) = %{customdata[2]:,}<extra></extra>"))
    base_layout(fig, height=height or 80 + 30 * max(1, len(scores)),
                 title=dict(text=title, x=0.01, font=dict(size=15)), margin=dict(l=20, r=30, t=50, b=40))
    fig.update_xaxes(range=[0, 1.13], title_text="H excess over its null (raw H and the null on hover)",
                     tickvals=[0, 0.25, 0.5, 0.75, 1])
    fig.update_yaxes(tickfont=dict(size=14))
    return fig


def ablation_bar(result: AblationResult) -> go.Figure:
    """The change of log p(y) on the positions of y: the top k ablated against every random draw
    (a strip of the draws, their mean ± sd), so the p-value can be seen."""
    k = result.k
    draws = [float(v) for v in result.random_delta_logps]
    fig = go.Figure()
    if draws:
        fig.add_trace(go.Box(x=draws, y=[f"{k} random · {len(draws)} draws"] * len(draws), orientation="h",
                             boxpoints="all", jitter=0.6, pointpos=0, marker=dict(color="#868e96", size=5),
                             line=dict(color="#495057"), fillcolor="rgba(134,142,150,0.15)", name="random",
                             hovertemplate="one random draw: Δ log p(y) %{x:+.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[float(result.delta_logp_top_k)], y=[f"top {k} by H excess"], mode="markers",
                             marker=dict(color="#e8590c", size=16, symbol="diamond"), name="top k",
                             hovertemplate="top k: Δ log p(y) %{x:+.4f}<extra></extra>"))
    base_layout(fig, height=230, showlegend=False, margin=dict(l=20, r=20, t=50, b=40), title=dict(
        text=f"Ablating {esc(result.layer)} on {esc(pair_label(result.pair))} · {p_label(result)}",
        x=0.01, font=dict(size=14)))
    fig.add_vline(x=0, line=dict(color="#adb5bd", dash="dot"))
    fig.update_xaxes(title_text="change of log p(target) on its positions (nats; left = more damage)")
    return fig


# --------------------------------------------------------------------------------------------
# Cell heatmaps (Karpathy style)

TRACK_SCALE = [[0.0, "#f8f9fa"], [1.0, "#ffd8a8"]]     # annotation tracks: a label where the track holds


def cell_heatmap(data: HeatData, width: int = 60, vmax: float | None = None,
                 marks: Sequence[tuple[int, int]] = (), value: str = "activation",
                 tracks: Sequence[tuple[str, Sequence[str], str]] = ()) -> go.Figure:
    """The text wrapped into lines of `width` characters; for each line, the output sequence on
    top and one row per neuron, every character shaded by the activation. One diverging scale
    (symmetric around 0) for all rows. `marks`: (start, end) spans outlined in every block;
    `value`: what the shading is, for the hover and the colour bar (an attribution, too);
    `tracks`: annotation rows under the neurons, (name, a label per character ("" none), meaning)."""
    T = len(data.chars)
    vals = np.asarray(data.values, dtype=float).reshape(len(data.names), T) if T else np.zeros((len(data.names), 0))
    if vmax is None:
        finite = np.abs(vals[np.isfinite(vals)])
        vmax = float(finite.max()) if finite.size else 1.0
    vmax = vmax or 1.0
    lines = max(1, int(math.ceil(T / width)))
    n = len(data.names)
    fig = make_subplots(rows=lines, cols=1, vertical_spacing=0.02 if lines > 1 else 0.0)
    for li in range(lines):
        a, b = li * width, min(T, (li + 1) * width)
        xs = list(range(b - a))
        z = vals[:, a:b] if n else np.zeros((0, b - a))
        text = [[esc(c) for c in data.chars[a:b]] for _ in range(n)]
        outs = [esc("·" if o == "" else o) for o in data.outputs[a:b]]
        hover = [[f"{esc(data.names[r])}<br>'{esc(data.chars[a + j])}' → '{outs[j]}'<br>{value} {z[r, j]:+.3f}"
                  for j in range(b - a)] for r in range(n)]
        # row 0 of each block: the output sequence (no shading)
        zz = np.vstack([np.full((1, b - a), np.nan), z]) if n else np.full((1, b - a), np.nan)
        tt = [outs] + text
        hh = [[f"output '{o}'" for o in outs]] + hover
        fig.add_trace(go.Heatmap(
            z=zz[::-1], x=xs, y=list(range(n + 1)), text=tt[::-1], texttemplate="%{text}",
            textfont=dict(size=15, family=FONT), customdata=hh[::-1],
            hovertemplate="%{customdata}<extra></extra>", colorscale=ACT_SCALE, zmin=-vmax, zmax=vmax,
            xgap=1, ygap=2, showscale=(li == 0),
            colorbar=dict(title=dict(text=value, side="right"), thickness=12, len=0.6)),
            row=li + 1, col=1)
        if tracks:   # below the neurons, at y = -1, -2, ...: a label where the track holds, shaded
            labels = [[esc(str(t[1][a + j])) if a + j < len(t[1]) else "" for j in range(b - a)] for t in tracks]
            fig.add_trace(go.Heatmap(
                z=[[1.0 if c else 0.0 for c in row] for row in labels], x=xs, y=[-1 - i for i in range(len(tracks))],
                text=labels, texttemplate="%{text}", textfont=dict(size=11, family=FONT),
                customdata=[[f"{esc(t[0])}: {esc(t[2])}<br>'{esc(data.chars[a + j])}'"
                              + (f" → {labels[i][j]}" if labels[i][j] else "")
                              for j in range(b - a)] for i, t in enumerate(tracks)],
                hovertemplate="%{customdata}<extra></extra>", colorscale=TRACK_SCALE, zmin=0, zmax=1,
                xgap=1, ygap=2, showscale=False, name="tracks"), row=li + 1, col=1)
        fig.update_xaxes(visible=False, range=[-0.5, width - 0.5], row=li + 1, col=1)
        for s, e in marks:
            s0, e0 = max(s, a), min(e, b)
            if s0 < e0:
                fig.add_shape(type="rect", x0=s0 - a - 0.5, x1=e0 - a - 0.5, y0=-0.5, y1=n + 0.5,
                              line=dict(color="#212529", width=2), row=li + 1, col=1)
        k = len(tracks)
        fig.update_yaxes(tickvals=list(range(-k, n + 1)),
                         ticktext=[esc(t[0]) for t in tracks][::-1] + (["output"] + [esc(x) for x in data.names])[::-1],
                         tickfont=dict(size=11), row=li + 1, col=1, fixedrange=True)
    row_px = 28
    base_layout(fig, height=40 + lines * (n + 1) * row_px + lines * len(tracks) * 22 + lines * 10,
                 margin=dict(l=10, r=10, t=20, b=10), plot_bgcolor="#ffffff")
    return fig


def unit_attribution_bars(attr, k: int = 12) -> go.Figure:
    """The concat and hidden units that carried most of one output's log p (signed)."""
    units = list(attr.top_units)[:k][::-1]
    fig = go.Figure(go.Bar(
        x=[u.attribution for u in units], y=[u.neuron for u in units], orientation="h",
        marker_color=[POSITIVE if u.attribution >= 0 else NEGATIVE for u in units],
        customdata=[[u.activation] for u in units],
        hovertemplate="%{y}<br>attribution %{x:+.3f}<br>activation %{customdata[0]:+.3f}<extra></extra>"))
    return base_layout(fig, height=max(260, 24 * len(units) + 80), title="Units that carried it (concat, hidden)",
                        xaxis_title="attribution (nats)")


# --------------------------------------------------------------------------------------------
# Ranking methods (which ranking finds the units the model uses?)

METHOD_COLOURS = {"hellinger": "#4c6ef5", "excess": "#1c7ed6", "probeless": "#f08c00", "probe": "#ae3ec9",
                  "gradient": "#2f9e44", "greedy": "#e03131"}


def method_curves(comparison, metric: str = "delta_logp") -> go.Figure:
    """One line per ranking method: the decision's metric on held-out sentences against k, the
    number of top units ablated (log axis), over the band of random k-unit draws (mean ± 2 sd).
    metric: "delta_logp" or "target_accuracy"."""
    fig = go.Figure()
    band = comparison.curve("random").curve
    ks = [p.k for p in band]
    mean = [getattr(p, metric) for p in band]
    sd = [getattr(p, f"{metric}_std") or 0.0 for p in band]
    upper, lower = [m + 2 * s for m, s in zip(mean, sd)], [m - 2 * s for m, s in zip(mean, sd)]
    fig.add_trace(go.Scatter(x=ks + ks[::-1], y=upper + lower[::-1],
                             fill="toself", fillcolor="rgba(134,142,150,0.25)", line=dict(width=0), hoverinfo="skip",
                             name="random k units (mean ± 2 sd)"))
    fig.add_trace(go.Scatter(x=ks, y=mean, mode="lines", line=dict(color="#868e96", dash="dot"), name="random (mean)",
                             hovertemplate="random, k=%{x}: %{y:.3f}<extra></extra>"))
    for c in comparison.curves:
        if c.method == "random":
            continue
        fig.add_trace(go.Scatter(x=[p.k for p in c.curve], y=[getattr(p, metric) for p in c.curve],
                                 mode="lines+markers", name=c.method,
                                 line=dict(color=METHOD_COLOURS.get(c.method, "#212529"), width=2),
                                 hovertemplate=f"{esc(c.method)}, k=%{{x}}: %{{y:.3f}}<extra></extra>"))
    label = {"delta_logp": "Δ log p(target) on its positions (nats)",
             "target_accuracy": "accuracy on the target's positions"}[metric]
    base_layout(fig, height=380, margin=dict(l=20, r=20, t=50, b=40), title=dict(
        text=f"{esc(pair_label(comparison.pair))} · {esc(comparison.layer)} · held-out half "
             f"({comparison.n_pos_score:,} positions of the target)", x=0.01, font=dict(size=14)),
        legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0))
    fig.update_xaxes(type="log", tickvals=ks, ticktext=[str(k) for k in ks], title_text="top k units set to their mean")
    fig.update_yaxes(title_text=label, tickformat=".0%" if metric == "target_accuracy" else None)
    return fig
