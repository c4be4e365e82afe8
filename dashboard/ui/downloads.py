"""Take the data away: every figure and table of the lab can be downloaded, named after its view.

- A table (`show_table`): the dataframe, and a CSV of exactly its rows ("graph_pair-t-թ.csv").
- A figure (`show_chart`): the chart, whose toolbar camera saves the picture as PNG or SVG (the
  sidebar's choice, `image_format_picker`) under the same name, and a JSON of the figure: every
  trace's data and the layout, with the view and its parameters, as plain lists that any JSON
  reader (or plotly's `from_json`) opens.
- An HTML view (`download_rows`): a CSV of what it shows.

The files are made by views/exports.py's pure functions, deferred until a button is clicked;
this module only places the buttons (the Streamlit layer).
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Mapping

import streamlit as st

from ..views.exports import IMAGE_FORMATS, Rows, chart_config, figure_json, file_stem, table_csv, tables_json

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..views.reproduce import Reproduce

IMAGE_FORMAT_KEY = "image_format"      # the sidebar's choice, shared by every chart of the session


def image_format() -> str:
    fmt = st.session_state.get(IMAGE_FORMAT_KEY)
    return fmt if fmt in IMAGE_FORMATS else IMAGE_FORMATS[0]


def image_format_picker() -> None:
    """The sidebar's choice of picture format for every chart's camera button."""
    st.segmented_control("Charts' camera saves", [f.upper() for f in IMAGE_FORMATS], key="_image_format_ui",
                         default=image_format().upper(), on_change=_format_changed,
                         help="Hover a chart and click the camera in its corner to save it as a picture.")


def _format_changed() -> None:
    picked = (st.session_state.get("_image_format_ui") or IMAGE_FORMATS[0].upper()).lower()
    st.session_state[IMAGE_FORMAT_KEY] = picked if picked in IMAGE_FORMATS else IMAGE_FORMATS[0]


def show_chart(fig: "go.Figure", view: str, params: Mapping[str, Any] | None = None, *, key: str,
               config: Mapping[str, Any] | None = None, tables: Mapping[str, Rows] | None = None,
               reproduce: "Reproduce | None" = None, **chart_kwargs):
    """st.plotly_chart with the camera saving under the view's name, and its data below: the
    `tables` behind it (CSV each, and JSON), else the figure's traces as JSON; with `reproduce`,
    the equivalent CLI command and Python call in an expander. Returns what st.plotly_chart
    returns (the selection, when `on_select` is given)."""
    stem = file_stem(view, params)
    event = st.plotly_chart(fig, key=key, config=chart_config(stem, image_format(), config), **chart_kwargs)
    with st.container(horizontal=True, gap="small"):
        # Deferred (a callable): a file is made when its button is clicked, not on every rerun.
        for name, rows in (tables or {}).items():
            st.download_button(f"{name.capitalize()} (CSV)", partial(table_csv, rows),
                               file_name=f"{stem}_{name}.csv", mime="text/csv", key=f"{key}__{name}_csv",
                               on_click="ignore", type="tertiary", icon=":material/download:",
                               help=f"{stem}_{name}.csv: the {name} behind this chart, one row each.")
        made = partial(tables_json, tables, view, dict(params or {})) if tables else \
            partial(figure_json, fig, view, dict(params or {}))
        st.download_button("Figure data (JSON)", made, file_name=f"{stem}.json", mime="application/json",
                           key=f"{key}__json", on_click="ignore", type="tertiary", icon=":material/download:",
                           help=f"{stem}.json: " + ("the tables behind this chart" if tables else
                                                    "the traces and layout behind this chart")
                                + ". The camera in the chart's corner saves the picture.")
    if reproduce is not None:
        show_reproduce(reproduce, key=f"{key}__reproduce")
    return event


def show_reproduce(reproduce: "Reproduce", key: str) -> None:
    """The view's numbers computed again: its CLI command and Python call, in an expander whose
    content is drawn only while it is open (two code blocks on every rerun cost a pair switch
    on the graph about 70 ms)."""
    box = st.expander("Reproduce", icon=":material/terminal:", key=key, on_change="rerun")
    if box.open:
        with box:
            st.caption("The same numbers from the command line (the lab's own engine), or from Python:")
            st.code(reproduce.cli, language="bash")
            st.code(reproduce.python, language="python")


def download_rows(rows: Rows, view: str, params: Mapping[str, Any] | None = None, *, key: str,
                  label: str = "Data (CSV)") -> None:
    """A CSV download of what an HTML view shows (the intervention's characters, the per-character
    confidence), named after the view."""
    stem = file_stem(view, params)
    st.download_button(label, partial(table_csv, rows), file_name=f"{stem}.csv", mime="text/csv", key=key,
                       on_click="ignore", type="tertiary", icon=":material/download:", help=f"{stem}.csv")


def show_table(rows: Rows, view: str, params: Mapping[str, Any] | None = None, *, key: str, **frame_kwargs):
    """st.dataframe of `rows` with a CSV of the same rows below. Returns st.dataframe's value."""
    stem = file_stem(view, params)
    event = st.dataframe(rows, key=key, **frame_kwargs)
    st.download_button("Table (CSV)", partial(table_csv, rows), file_name=f"{stem}.csv", mime="text/csv",
                       key=f"{key}__csv", on_click="ignore", type="tertiary", icon=":material/download:",
                       help=f"{stem}.csv: the rows of this table.")
    return event
