"""The files behind the lab's downloads, made by pure functions (tested on their own): a name
after the view and its parameters, a CSV of a table's rows, a JSON of a figure's traces and
layout as plain lists. ui/downloads.py places the buttons."""
from __future__ import annotations

import base64
import csv
import io
import json
import unicodedata
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:      # plotly itself is not imported here: the sidebar's picker is on every page
    import plotly.graph_objects as go

IMAGE_FORMATS = ("png", "svg")
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
            lengths = ", ".join(f"{h}={len(c)}" for h, c in zip(header, cols))
            raise ValueError("table columns differ in length: " + lengths)
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


def figure_json(fig: "go.Figure", view: str, params: Mapping[str, Any] | None = None) -> str:
    """The figure as JSON: {"view", "params", "figure": {"data": [traces], "layout"}}, arrays as
    plain lists (plotly's own JSON packs NumPy arrays into base64, which no reader but plotly
    opens)."""
    spec = fig.to_plotly_json()         # dicts, with NumPy arrays where the figure holds them
    doc = {"view": view, "params": _plain(dict(params or {})),
           "figure": {"data": _plain(spec.get("data", [])), "layout": _plain(spec.get("layout", {}))}}
    return json.dumps(doc, ensure_ascii=False, allow_nan=False)


def tables_json(tables: Mapping[str, Rows], view: str, params: Mapping[str, Any] | None = None) -> str:
    """The tables behind a figure as JSON: {"view", "params", "tables": {name: [rows]}}."""
    doc = {"view": view, "params": _plain(dict(params or {})),
           "tables": {name: [dict(zip(h, r)) for h, body in [_columns(rows)] for r in _plain(body)]
                      for name, rows in tables.items()}}
    return json.dumps(doc, ensure_ascii=False, allow_nan=False)


def chart_config(stem: str, image_format: str = IMAGE_FORMATS[0], extra: Mapping[str, Any] | None = None) -> dict:
    """Plotly's config for a lab figure: a toolbar with the camera alone, saving as `stem`."""
    return {"displaylogo": False, "modeBarButtons": [["toImage"]],
            "toImageButtonOptions": {"format": image_format, "filename": stem, "scale": 2},
            **(extra or {})}
