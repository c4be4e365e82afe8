"""The Training dynamics page's figure and rows, from translit_core.analysis.comparison.dynamics. Pure."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from translit_core.analysis.comparison.dynamics import SnapshotPoint
from translit_core.model.names import READOUT_LAYERS

from .figures import base_layout, esc
from .labels import pair_label


def excess_lines(points: list[SnapshotPoint]) -> go.Figure:
    """Best H excess per pair over training (epochs, log scale), one panel per readout layer."""
    fig = make_subplots(rows=1, cols=len(READOUT_LAYERS), subplot_titles=list(READOUT_LAYERS), shared_yaxes=True,
                        horizontal_spacing=0.04)
    pairs = list(dict.fromkeys(p for pt in points for p in pt.best_excess))
    for j, layer in enumerate(READOUT_LAYERS):
        for i, pair in enumerate(pairs):
            xs = [pt.epoch for pt in points if pair in pt.best_excess]
            ys = [pt.best_excess[pair][layer] for pt in points if pair in pt.best_excess]
            hue = int(360 * i / max(1, len(pairs)))
            fig.add_scatter(x=xs, y=ys, mode="lines+markers", name=esc(pair_label(pair)), legendgroup=pair,
                            showlegend=j == 0, row=1, col=j + 1, line=dict(color=f"hsl({hue},65%,45%)"),
                            hovertemplate=f"{esc(pair_label(pair))} · {layer}<br>epoch %{{x:g}}: best H excess "
                                          "%{y:.3f}<extra></extra>")
    epochs = sorted({pt.epoch for pt in points})          # ticks at the snapshots: no log-scale minor labels
    fig.update_xaxes(type="log", title_text="epochs", tickvals=epochs, ticktext=[f"{e:g}" for e in epochs])
    fig.update_yaxes(range=[0, 1], row=1, col=1, title_text="best H excess")
    base_layout(fig, height=360,
                margin=dict(l=20, r=20, t=40, b=30), legend=dict(orientation="h", yanchor="top", y=-0.3, x=0))
    return fig


def point_rows(points: list[SnapshotPoint]) -> list[dict]:
    return [{"epoch": pt.epoch, "step": pt.step, "accuracy": round(pt.accuracy, 4), "#70 role unit": pt.role_unit,
             "role score": round(pt.role_score, 3)} for pt in points]

