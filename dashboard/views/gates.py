"""The Gate saturation page's view (Karpathy, Johnson & Fei-Fei 2015): the scatter of every gate
unit's left- and right-saturated fractions, the per-layer summary table, and the neuron card's
line on a unit's saturation. Pure: the engine's `Saturation` in (translit_core.analysis.methods.
saturation), a figure, rows or Markdown out. ui/structure.py finds the saturation (stored, or
computed once) and draws the card's line; pages/gates.py draws the rest.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from translit_core.analysis.methods.saturation import SATURATION_GATES, Saturation, thresholds
from translit_core.model.names import DIRECTIONS, NeuronId, lstm_layer

from .urls import page_url

GATE_TITLES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "g": "cell input g (tanh)"}
COLOURS = {"fwd": "#1f77b4", "bwd": "#d62728"}          # forward / backward, as in the graph
SIDE = {"fwd": "forward", "bwd": "backward"}


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
                      title=dict(text=f"Gate saturation over {sat.n_positions:,} positions", y=0.97, x=0,
                                 font_size=14))
    return fig


def saturation_summary(sat: Saturation) -> list[dict]:
    """Per gate layer: how many units are shut / open on more than half and on more than 90% of the positions."""
    rows = []
    for layer in sat.layers:
        r = sat.layers.index(layer)
        lo, hi = thresholds(layer)
        rows.append({"layer": layer, "thresholds": f"< {lo:g} | > {hi:g}",
                     "right-saturated > 90%": sat.count_right(layer, 0.9),
                     "right-saturated > 50%": sat.count_right(layer, 0.5),
                     "left-saturated > 90%": sat.count_left(layer, 0.9),
                     "left-saturated > 50%": sat.count_left(layer, 0.5),
                     "mean right": round(float(sat.right[r].mean()), 3),
                     "mean left": round(float(sat.left[r].mean()), 3)})
    return rows


# --------------------------------------------------------------------------------------------
# The neuron card's line

def gates_of(neuron: NeuronId) -> list[str]:
    """The gate layers that belong with a unit: itself for a gate, its step's gates for an LSTM
    output or cell unit (the same index), none for the dense layer."""
    if neuron.layer.startswith("gate."):
        return [neuron.layer]
    for d in DIRECTIONS:
        if neuron.layer.endswith("." + d):
            return [lstm_layer(d, g) for g in SATURATION_GATES]
    return []


def saturation_line(sat: Saturation, neuron: NeuronId) -> str:
    """The card's Markdown on the unit's saturation, or its gates' (a unit with gates: gates_of)."""
    gates = gates_of(neuron)
    parts = []
    for g in gates:
        left, right = sat.of(NeuronId(g, neuron.index))
        parts.append(f"`{g}:{neuron.index}` shut {left:.0%}, open {right:.0%}")
    what = "Its saturation" if len(gates) == 1 else "Its gates' saturation (same index)"
    return (f"**{what}** — of the sample's positions: " + "; ".join(parts) + ". "
            f"[All gates]({page_url('gates', neuron=NeuronId(gates[0], neuron.index))})")


def saturation_missing_line(neuron: NeuronId) -> str:
    """The card's caption when the analysis stores no saturation (and none was computed yet)."""
    return (f"Gate saturation is not stored with this analysis: see the "
            f"[Gate saturation page]({page_url('gates', neuron=neuron)}).")
