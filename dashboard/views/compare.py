"""The Compare page's rows and figures: two models' statistics (translit_core.analysis.comparison.models)
as tables and grouped bars. Pure: no Streamlit."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from translit_core.analysis.comparison.models import EXCESS_BINS, Comparison, ModelStats
from translit_core.model.names import READOUT_LAYERS

from .figures import base_layout, esc
from .labels import pair_label

COLOURS = ("#1c7ed6", "#f08c00")          # model a, model b
TABS = ("Summary", "Charts", "Units to break", "What units read")    # the page's lazy tabs; the URL's view=
MEASURES = (("monosemantic", "Monosemantic share", "share of selective units that serve one input character"),
            ("inputs_per_unit", "Inputs per unit", "input characters a selective unit serves (mean)"),
            ("units_per_pair", "Units per pair", "selective units per pair (mean)"),
            ("selective_units", "Selective units", "units selective for at least one pair"),
            ("mean_abs_r", "Mean |r|", "mean |Pearson r| between the layer's units (what DeCov lowers)"))


def layer_rows(c: Comparison) -> list[dict]:
    """One row per (model, layer): what the tables and bars show."""
    return [{"model": m.name, "layer": s.layer, "selective units": s.selective_units,
             "units per pair": round(s.units_per_pair, 2), "inputs per unit": round(s.inputs_per_unit, 3),
             "monosemantic": round(s.monosemantic, 3), "mean |r|": round(s.mean_abs_r, 3),
             "H excess median": round(s.excess_median, 3),
             "H excess 90th pct": round(s.excess_p90, 3)}
            for m in (c.a, c.b) for s in m.layers]


def saturation_rows(c: Comparison) -> list[dict]:
    """Per gate layer, the share of units saturated open in each model (None where one has no data)."""
    return [{"gate layer": g, c.a.name: c.a.saturation.get(g), c.b.name: c.b.saturation.get(g)}
            for g in dict.fromkeys(list(c.a.saturation) + list(c.b.saturation))]


def pair_rows(c: Comparison) -> list[dict]:
    """The post's pairs: selective units per layer and accuracy on the pair's target, both models."""
    rows = []
    for pair in dict.fromkeys(list(c.a.post_pairs) + list(c.b.post_pairs)):
        row = {"pair": pair_label(pair)}
        for m in (c.a, c.b):
            for layer in READOUT_LAYERS:
                row[f"{m.name} · {layer}"] = m.post_pairs.get(pair, {}).get(layer)
            acc = m.target_accuracy.get(pair)
            row[f"{m.name} · accuracy on y"] = round(acc, 4) if acc is not None else None
        rows.append(row)
    return rows


def summary_bars(c: Comparison) -> go.Figure:
    """The four measures per readout layer, the two models side by side."""
    fig = make_subplots(rows=1, cols=len(MEASURES), subplot_titles=[m[1] for m in MEASURES], horizontal_spacing=0.07)
    for i, m in enumerate((c.a, c.b)):
        for j, (attr, title, what) in enumerate(MEASURES):
            values = [getattr(m.layer(layer), attr) for layer in READOUT_LAYERS]
            fig.add_bar(x=list(READOUT_LAYERS), y=values, name=esc(m.name), marker_color=COLOURS[i],
                        legendgroup=str(i), showlegend=j == 0, row=1, col=j + 1,
                        hovertemplate=f"{esc(m.name)} · %{{x}}<br>{what}: %{{y:.3g}}<extra></extra>")
    base_layout(fig, barmode="group", height=360,
                margin=dict(l=20, r=20, t=40, b=30),      # the legend under the panels: clear of their titles
                legend=dict(orientation="h", yanchor="top", y=-0.28, x=0))
    return fig


def break_rows(curves: dict[str, object]) -> list[dict]:
    """Units-to-break curves of both models ({model: BreakCurve}) as rows, one per k."""
    rows = []
    for name, cv in curves.items():
        for k, acc in zip(cv.ks, cv.target_accuracy):
            rows.append({"model": name, "k": k, "accuracy on y": round(acc, 4), "baseline": round(cv.baseline, 4),
                         "broken": cv.units_to_break is not None and k >= cv.units_to_break})
    return rows


def model_line(m: ModelStats) -> str:
    return f"**{m.name}**: {m.recipe}; {100 * m.sample_accuracy:.2f}% of the sample's characters right."


def track_rows(profiles: dict[str, object]) -> list[dict]:
    """Each model's TrackProfile of one layer ({model: TrackProfile}) as a row."""
    return [{"model": name, "layer": p.layer, "best track's AUC, median": round(p.median_auc, 3),
             "units explained (AUC ≥ 0.9)": f"{p.explained} of {p.units} ({p.explained_share:.0%})",
             "their tracks": ", ".join(f"{t} ({n})" for t, n in p.top_tracks) or "—"}
            for name, p in profiles.items()]


def excess_distribution(c: Comparison) -> go.Figure:
    """The distribution of H excess over every (pair, unit) cell, per readout layer, both models."""
    fig = make_subplots(rows=1, cols=len(READOUT_LAYERS), subplot_titles=list(READOUT_LAYERS), shared_yaxes=True,
                        horizontal_spacing=0.04)
    centres = ((EXCESS_BINS[:-1] + EXCESS_BINS[1:]) / 2).tolist()
    for i, m in enumerate((c.a, c.b)):
        for j, layer in enumerate(READOUT_LAYERS):
            fig.add_scatter(x=centres, y=m.layer(layer).excess_share, mode="lines", line_shape="hvh", name=esc(m.name),
                            line=dict(color=COLOURS[i], width=2), legendgroup=str(i), showlegend=j == 0,
                            row=1, col=j + 1,
                            hovertemplate=f"{esc(m.name)} · {layer}<br>H excess %{{x:.2f}}: %{{y:.1%}} of the cells"
                                          "<extra></extra>")
    fig.update_xaxes(title_text="H excess (H − its null)")
    fig.update_yaxes(title_text="share of (pair, unit) cells", tickformat=".0%", row=1, col=1)
    base_layout(fig, height=320,
                margin=dict(l=20, r=20, t=40, b=30), legend=dict(orientation="h", yanchor="top", y=-0.3, x=0))
    return fig
