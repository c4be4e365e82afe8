"""Gate saturation and unit clusters in the dashboard: where they come from, their figures, and
their part of the neuron card (the /gates and /clusters pages are widgets over this).

Both are stored in the analysis file by `analyze` (translit_core.analysis.methods.saturation, .clusters).
An analysis written before they were stored still works: they are computed from the sample
recording once per process (a spinner says so; about ten seconds each on the shipped sample),
and the page says how to store them.
"""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from translit_core.analysis.methods.clusters import CLUSTER_LAYERS, Clusters, LayerClusters, PairSpread, recording_clusters
from translit_core.analysis.methods.saturation import SATURATION_GATES, Saturation, recording_saturation, thresholds
from translit_core.model.names import DIRECTIONS, NeuronId, lstm_layer

from .lab import QUERY_ERRORS, Lab, file_stamp
from .urls import md_plain, page_url
from .widgets import current_lab

GATE_TITLES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "g": "cell input g (tanh)"}
COLOURS = {"fwd": "#1f77b4", "bwd": "#d62728"}          # forward / backward, as in the graph
SIDE = {"fwd": "forward", "bwd": "backward"}

# What this process computed for an analysis that does not store it: {(directory, stamp, what): result}.
# The neuron card reads it without computing (only the two pages compute).
_computed: dict[tuple, object] = {}


@st.cache_resource(max_entries=4, show_spinner=False)
def _saturation(directory: str, stamp: tuple) -> Saturation:
    out = recording_saturation(current_lab().recording())
    _computed[(directory, stamp, "saturation")] = out
    return out


@st.cache_resource(max_entries=4, show_spinner=False)
def _clusters(directory: str, stamp: tuple) -> Clusters:
    l = current_lab()
    out = recording_clusters(l.recording(), seed=l.analysis.meta.get("sample", {}).get("seed", 0))
    _computed[(directory, stamp, "clusters")] = out
    return out


def missing_note(what: str, l: Lab) -> None:
    st.caption(f"This analysis file was written before {what} were stored with it, so they were computed from the "
               f"sample recording for this session. Store them with `{l.command}`.")


def _stored_or_computed(l: Lab, stored, compute, spinner: str, what: str, stored_what: str):
    """`stored` if the analysis has it, else `compute()` (under `spinner`) and a note on how to
    store it; None (and the error) when it cannot be computed."""
    if stored is not None:
        return stored
    with st.spinner(spinner):
        try:
            out = compute()
        except QUERY_ERRORS as e:
            st.error(f"Could not compute the {what}: {md_plain(e)}")
            return None
    missing_note(stored_what, l)
    return out


def saturation(l: Lab) -> Saturation | None:
    """The stored saturation, else computed (with a spinner); None (and a note) when it cannot be."""
    return _stored_or_computed(
        l, l.analysis.saturation, lambda: _saturation(str(l.directory), file_stamp(l.directory)),
        "Gate saturation is not stored with this analysis: computing it from the sample recording (once; about "
        "ten seconds)…", "gate saturation", "the gates' saturation fractions")


def clusters(l: Lab) -> Clusters | None:
    """The stored clusters, else computed (with a spinner); None (and a note) when they cannot be."""
    return _stored_or_computed(
        l, l.analysis.clusters, lambda: _clusters(str(l.directory), file_stamp(l.directory)),
        "Unit clusters are not stored with this analysis: computing them from the sample recording (once; about "
        "ten seconds)…", "unit clusters", "the unit clusters")


def _ready(l: Lab, what: str):
    """Stored, or already computed in this process; else None (the card never waits for them)."""
    stored = getattr(l.analysis, what)
    return stored if stored is not None else _computed.get((str(l.directory), file_stamp(l.directory), what))


# --------------------------------------------------------------------------------------------
# figures

def saturation_scatter(sat: Saturation, selected: NeuronId | None = None) -> go.Figure:
    """Karpathy et al.'s gate figure: one panel per gate, a point per unit at (fraction of positions
    left-saturated, fraction right-saturated), forward and backward units in two colours. The
    points' customdata is the unit's name (a click selects it)."""
    fig = make_subplots(rows=1, cols=len(SATURATION_GATES), horizontal_spacing=0.04,
                        subplot_titles=[GATE_TITLES[g] for g in SATURATION_GATES], shared_yaxes=True)
    for c, gate in enumerate(SATURATION_GATES, 1):
        for d in DIRECTIONS:
            layer = lstm_layer(d, gate)
            if layer not in sat.layers:
                continue
            r = sat.layers.index(layer)
            lo, hi = thresholds(layer)
            left, right = sat.left[r].tolist(), sat.right[r].tolist()
            names = [f"{layer}:{i}" for i in range(len(left))]
            fig.add_trace(go.Scatter(
                x=left, y=right, mode="markers", name=SIDE[d], legendgroup=d, showlegend=c == 1,
                marker=dict(color=COLOURS[d], size=7, opacity=0.65, line=dict(width=0)),
                customdata=names,
                hovertemplate=(f"<b>%{{customdata}}</b><br>left-saturated (< {lo:g}): %{{x:.1%}}<br>"
                               f"right-saturated (> {hi:g}): %{{y:.1%}}<extra></extra>")), row=1, col=c)
            if selected is not None and selected.layer == layer:
                fig.add_trace(go.Scatter(
                    x=[left[selected.index]], y=[right[selected.index]], mode="markers", showlegend=False,
                    marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color="black", width=2)),
                    customdata=[str(selected)], hoverinfo="skip"), row=1, col=c)
        # left + right <= 1: the units live under this line
        fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(color="#bbb", dash="dot", width=1),
                                 hoverinfo="skip", showlegend=False), row=1, col=c)
        fig.update_xaxes(range=[-0.03, 1.03], title_text="fraction left-saturated", tickformat=".0%",
                         row=1, col=c)
    fig.update_yaxes(range=[-0.03, 1.03], tickformat=".0%", row=1, col=1, title_text="fraction right-saturated")
    fig.update_layout(height=400, margin=dict(l=60, r=20, t=80, b=50), clickmode="event+select",
                      legend=dict(orientation="h", yanchor="bottom", y=1.13, xanchor="right", x=1,
                                  title_text="LSTM direction "),
                      title=dict(text=f"Gate saturation over {sat.n_positions:,} positions", y=0.97, x=0, font_size=14))
    return fig


def saturation_summary(sat: Saturation) -> list[dict]:
    """Per gate layer: how many units are shut / open on more than half and on more than 90% of the positions."""
    rows = []
    for layer in sat.layers:
        r = sat.layers.index(layer)
        lo, hi = thresholds(layer)
        rows.append({"layer": layer, "thresholds": f"< {lo:g} | > {hi:g}",
                     "right-saturated > 90%": sat.count_right(layer, 0.9), "right-saturated > 50%": sat.count_right(layer, 0.5),
                     "left-saturated > 90%": sat.count_left(layer, 0.9), "left-saturated > 50%": sat.count_left(layer, 0.5),
                     "mean right": round(float(sat.right[r].mean()), 3), "mean left": round(float(sat.left[r].mean()), 3)})
    return rows


def cluster_sizes(lc: LayerClusters, rows: Sequence[dict], max_bars: int = 40) -> go.Figure:
    """The layer's clusters of more than one unit, largest first (customdata: the representative)."""
    shown = [r for r in rows if r["size"] > 1][:max_bars]
    singles = sum(1 for r in rows if r["size"] == 1)
    fig = go.Figure(go.Bar(
        x=[f"#{r['cluster']}" for r in shown], y=[r["size"] for r in shown], marker_color="#7f7f7f",
        customdata=[[r["representative"], r["cohesion"], r["pairs"] or "—"] for r in shown],
        hovertemplate="cluster %{x}: %{y} units<br>representative %{customdata[0]}<br>mean |r| %{customdata[1]}"
                      "<br>pairs: %{customdata[2]}<extra></extra>"))
    fig.update_layout(height=300, margin=dict(l=50, r=20, t=50, b=40), yaxis_title="units",
                      xaxis=dict(title="cluster (hover: its representative and the pairs it serves)", type="category"),
                      title=dict(text=f"{lc.layer}: {lc.n_clusters} clusters of {lc.labels.numel()} units "
                                      f"({singles} units on their own, not drawn)", x=0, font_size=14))
    return fig


def spread_figure(spreads: Sequence[PairSpread]) -> go.Figure:
    """Per layer: how many clusters the pair's top k fall into (diamond), and k random units'
    (the grey bar: 95% of draws; the tick: their mean)."""
    fig = go.Figure()
    layers = [s.layer for s in spreads]
    fig.add_trace(go.Bar(y=layers, x=[s.null_hi - s.null_lo + 0.2 for s in spreads],
                         base=[s.null_lo - 0.1 for s in spreads], orientation="h", marker_color="#ddd",
                         name="k random units (95% of draws)", customdata=[[s.null_lo, s.null_hi] for s in spreads],
                         hovertemplate="%{y}: k random units fall into %{customdata[0]:.0f} to %{customdata[1]:.0f} "
                                       "clusters (95% of draws)<extra></extra>"))
    fig.add_trace(go.Scatter(y=layers, x=[s.null_mean for s in spreads], mode="markers", name="their mean",
                             marker=dict(symbol="line-ns-open", size=18, color="#555", line=dict(width=2)),
                             hovertemplate="%{y}: random mean %{x:.2f}<extra></extra>"))
    fig.add_trace(go.Scatter(y=layers, x=[s.distinct for s in spreads], mode="markers", name="the pair's top k",
                             marker=dict(symbol="diamond", size=13, color="#2ca02c"),
                             customdata=[s.verdict for s in spreads],
                             hovertemplate="%{y}: top k in %{x} clusters (%{customdata})<extra></extra>"))
    k = spreads[0].k if spreads else 0
    fig.update_layout(height=90 + 45 * len(spreads), margin=dict(l=90, r=20, t=40, b=40), barmode="overlay",
                      xaxis=dict(title=f"distinct clusters among {k} units", range=[0, k + 0.7], dtick=1),
                      yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig


# --------------------------------------------------------------------------------------------
# the neuron card's part

def _gates_of(neuron: NeuronId) -> list[str]:
    """The gate layers that belong with a unit: itself for a gate, its step's gates for an LSTM
    output or cell unit (the same index), none for the dense layer."""
    if neuron.layer.startswith("gate."):
        return [neuron.layer]
    for d in DIRECTIONS:
        if neuron.layer.endswith("." + d):
            return [lstm_layer(d, g) for g in SATURATION_GATES]
    return []


def card_section(l: Lab, neuron: NeuronId) -> None:
    """The unit's saturation (or its gates'), and its cluster, representative and nearest neighbours."""
    sat, cl = _ready(l, "saturation"), _ready(l, "clusters")
    gates = _gates_of(neuron)
    if gates:
        if sat is None:
            st.caption(f"Gate saturation is not stored with this analysis: see the "
                       f"[Gate saturation page]({page_url('gates', neuron=neuron)}).")
        else:
            parts = []
            for g in gates:
                left, right = sat.of(NeuronId(g, neuron.index))
                parts.append(f"`{g}:{neuron.index}` shut {left:.0%}, open {right:.0%}")
            what = "Its saturation" if len(gates) == 1 else "Its gates' saturation (same index)"
            st.markdown(f"**{what}** — of the sample's positions: " + "; ".join(parts) + ". "
                        f"[All gates]({page_url('gates', neuron=NeuronId(gates[0], neuron.index))})")
    if neuron.layer in CLUSTER_LAYERS:
        if cl is None or neuron.layer not in cl.layers:
            st.caption(f"Unit clusters are not stored with this analysis: see the "
                       f"[Neuron clusters page]({page_url('clusters', layer=neuron.layer, neuron=neuron)}).")
            return
        lc = cl.layer(neuron.layer)
        c = lc.cluster_of(neuron.index)
        size, rep = int(lc.sizes()[c]), NeuronId(neuron.layer, int(lc.representatives[c]))
        near = ", ".join(f"`{neuron.layer}:{i}` (r {r:+.2f})" for i, r in lc.neighbours_of(neuron.index))
        who = "on its own" if size == 1 else f"with {size - 1} other unit{'s' if size > 2 else ''}, represented by `{rep}`"
        st.markdown(f"**Cluster {c}** of {neuron.layer} ({who}). Nearest by |r|: {near}. "
                    f"[Its cluster]({page_url('clusters', layer=neuron.layer, neuron=neuron)})")
