"""The Neuron clusters page's view (NeuroX): the bar chart of a layer's clusters, the figure of how
many clusters a pair's top units fall into against random units, and the neuron card's line on a
unit's cluster. Pure: the engine's `Clusters` in (translit_core.analysis.methods.clusters), a
figure or Markdown out. ui/structure.py finds the clusters (stored, or computed once) and draws
the card's line; pages/clusters.py draws the rest.
"""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from translit_core.analysis.methods.clusters import LayerClusters, PairSpread
from translit_core.model.names import NeuronId

from .urls import page_url


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
# The neuron card's line

def cluster_line(lc: LayerClusters, neuron: NeuronId) -> str:
    """The card's Markdown on the unit's cluster (of `lc`, its layer's), its representative and its
    nearest neighbours."""
    c = lc.cluster_of(neuron.index)
    size, rep = int(lc.sizes()[c]), NeuronId(neuron.layer, int(lc.representatives[c]))
    near = ", ".join(f"`{neuron.layer}:{i}` (r {r:+.2f})" for i, r in lc.neighbours_of(neuron.index))
    plural = "s" if size > 2 else ""
    who = "on its own" if size == 1 else f"with {size - 1} other unit{plural}, represented by `{rep}`"
    return (f"**Cluster {c}** of {neuron.layer} ({who}). Nearest by |r|: {near}. "
            f"[Its cluster]({page_url('clusters', layer=neuron.layer, neuron=neuron)})")


def clusters_missing_line(neuron: NeuronId) -> str:
    """The card's caption when the analysis stores no clusters for the unit's layer."""
    return (f"Unit clusters are not stored with this analysis: see the "
            f"[Neuron clusters page]({page_url('clusters', layer=neuron.layer, neuron=neuron)}).")
