"""Take the data away: every figure and table of the lab can be downloaded, named after its view.

- A table (`show_table`): the dataframe, and a CSV of exactly its rows ("graph_pair-t-թ.csv").
- A figure (`show_chart`): the chart, whose toolbar camera saves the picture as PNG or SVG (the
  sidebar's choice, `image_format`), and a JSON of the figure: every trace's data and the layout,
  with the view and its parameters, as plain lists that any JSON reader (or plotly's `from_json`)
  opens.

The file contents are made by pure functions (`table_csv`, `figure_json`), tested on their own;
the Streamlit part only places the buttons.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import unicodedata
from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

IMAGE_FORMATS = ("png", "svg")
IMAGE_FORMAT_KEY = "image_format"      # the sidebar's choice, shared by every chart of the session
MAX_STEM = 120                         # characters of a file name before its extension

Rows = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]


def file_stem(view: str, params: Mapping[str, Any] | None = None) -> str:
    """"graph", {"pair": "t:թ", "layer": "concat.fwd"} -> "graph_pair-t-թ_layer-concat.fwd".

    Letters of any script stay (an Armenian output is part of the name); anything that could be
    a path separator, a quote or a control character becomes "-". Empty parameters are left out."""
    parts = [view] + [f"{k}-{v}" for k, v in (params or {}).items() if v not in (None, "", [], ())]

    def clean(s: str) -> str:
        s = unicodedata.normalize("NFC", str(s))
        out = "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in s)
        return "-".join(p for p in out.split("-") if p) or "x"

    stem = "_".join(clean(p) for p in parts)
    return stem[:MAX_STEM].rstrip("-_.") or "lab"


def _columns(rows: Rows) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) from a list of dicts (the header: every key, in order of first appearance)
    or a dict of equal-length columns."""
    if isinstance(rows, Mapping):
        header = [str(k) for k in rows]
        cols = [list(v) for v in rows.values()]
        n = max((len(c) for c in cols), default=0)
        if any(len(c) != n for c in cols):
            raise ValueError("table columns differ in length: " + ", ".join(f"{h}={len(c)}" for h, c in zip(header, cols)))
        return header, [[c[i] for c in cols] for i in range(n)]
    header: list[str] = []
    for row in rows:
        header += [str(k) for k in row if str(k) not in header]
    return header, [[row.get(h, "") for h in header] for row in rows]


def table_csv(rows: Rows) -> str:
    """The rows as CSV text (RFC 4180 quoting, a header line first)."""
    header, body = _columns(rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_plain(v) for v in row] for row in body])
    return buf.getvalue()


def _plain(value: Any) -> Any:
    """JSON/CSV-safe: NumPy arrays and scalars to lists and numbers, non-finite floats to None,
    tuples to lists, anything else unknown to its string."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        if "bdata" in value and "dtype" in value:      # plotly's packed array (base64 of a NumPy buffer)
            return _plain(_unpack(value))
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _unpack(packed: Mapping[str, Any]) -> np.ndarray:
    """Plotly's {"dtype": "f4", "bdata": base64, "shape": "2, 3"} back to the array."""
    arr = np.frombuffer(base64.b64decode(packed["bdata"]), dtype=np.dtype(packed["dtype"]))
    shape = packed.get("shape")
    if shape:
        arr = arr.reshape([int(n) for n in str(shape).split(",")])
    return arr


def figure_json(fig: go.Figure, view: str, params: Mapping[str, Any] | None = None) -> str:
    """The figure as JSON: {"view", "params", "figure": {"data": [traces], "layout"}}, arrays as
    plain lists (plotly's own JSON packs NumPy arrays into base64, which no reader but plotly
    opens)."""
    spec = fig.to_plotly_json()         # dicts, with NumPy arrays where the figure holds them
    doc = {"view": view, "params": _plain(dict(params or {})),
           "figure": {"data": _plain(spec.get("data", [])), "layout": _plain(spec.get("layout", {}))}}
    return json.dumps(doc, ensure_ascii=False, allow_nan=False)


def image_format() -> str:
    fmt = st.session_state.get(IMAGE_FORMAT_KEY)
    return fmt if fmt in IMAGE_FORMATS else IMAGE_FORMATS[0]


def chart_config(stem: str, extra: Mapping[str, Any] | None = None) -> dict:
    """Plotly's config for a lab figure: a toolbar with the camera alone, saving as `stem`."""
    return {"displaylogo": False, "modeBarButtons": [["toImage"]],
            "toImageButtonOptions": {"format": image_format(), "filename": stem, "scale": 2},
            **(extra or {})}


def image_format_picker() -> None:
    """The sidebar's choice of picture format for every chart's camera button."""
    st.segmented_control("Charts' camera saves", [f.upper() for f in IMAGE_FORMATS], key="_image_format_ui",
                         default=image_format().upper(), on_change=_format_changed,
                         help="Hover a chart and click the camera in its corner to save it as a picture.")


def _format_changed() -> None:
    picked = (st.session_state.get("_image_format_ui") or IMAGE_FORMATS[0].upper()).lower()
    st.session_state[IMAGE_FORMAT_KEY] = picked if picked in IMAGE_FORMATS else IMAGE_FORMATS[0]


def show_chart(fig: go.Figure, view: str, params: Mapping[str, Any] | None = None, *, key: str,
               config: Mapping[str, Any] | None = None, **chart_kwargs):
    """st.plotly_chart with the camera saving under the view's name, and the figure's JSON below.
    Returns what st.plotly_chart returns (the selection, when `on_select` is given)."""
    stem = file_stem(view, params)
    event = st.plotly_chart(fig, key=key, config=chart_config(stem, config), **chart_kwargs)
    st.download_button("Figure data (JSON)", figure_json(fig, view, params), file_name=f"{stem}.json",
                       mime="application/json", key=f"{key}__json", on_click="ignore", type="tertiary",
                       icon=":material/download:", help=f"{stem}.json: the traces and layout behind this chart. "
                       "The camera in the chart's corner saves the picture.")
    return event


def show_table(rows: Rows, view: str, params: Mapping[str, Any] | None = None, *, key: str, **frame_kwargs):
    """st.dataframe of `rows` with a CSV of the same rows below. Returns st.dataframe's value."""
    stem = file_stem(view, params)
    event = st.dataframe(rows, key=key, **frame_kwargs)
    st.download_button("Table (CSV)", table_csv(rows), file_name=f"{stem}.csv", mime="text/csv",
                       key=f"{key}__csv", on_click="ignore", type="tertiary", icon=":material/download:",
                       help=f"{stem}.csv: the rows of this table.")
    return event
