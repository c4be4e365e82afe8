"""Gate saturation (Karpathy, Johnson & Fei-Fei 2015): how often each gate unit is shut or open.
Widgets only: the fractions come from translit_core.analysis.methods.saturation (found by
dashboard/ui/structure.py), the figure and table from dashboard/views/gates.py."""
from __future__ import annotations

import streamlit as st

from dashboard.ui import structure
from dashboard.ui.downloads import show_chart, show_table
from dashboard.ui.panels import neuron_card
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import init_once, lab, notes_once, require_analysis
from dashboard.views.gates import saturation_scatter, saturation_summary
from dashboard.views.graph import selected_neuron
from dashboard.views.reproduce_units import saturation_reproduce, saturation_table
from dashboard.views.urls import parse_neuron

L = lab()
st.title("Gate saturation")
A = require_analysis(L)
st.caption("For every unit of the input gate i, forget gate f and output gate o of both LSTM directions: the "
           "fraction of the sample's positions where it is **left-saturated** (below 0.1: shut) and "
           "**right-saturated** (above 0.9: open); for the cell input g, a tanh, below −0.9 and above 0.9. "
           "A unit near (0, 0) works in its gate's linear range; one high on the y axis is open almost everywhere "
           "(a forget gate there keeps its cell across the chunk: long context). The figure of Karpathy, Johnson & "
           "Fei-Fei (2015). Click a point for the unit's card.")

parsed = parse_neuron(url_param("neuron"), L.sizes)
notes_once("gates_seen", [parsed.note])
init_once("gates_neuron", parsed.value)

sat = structure.saturation(L)
if sat is None:
    st.stop()
clicked = parse_neuron(selected_neuron(st.session_state.get("gates_chart")), L.sizes).value
if clicked and clicked.layer in sat.layers:
    st.session_state["gates_neuron"] = clicked
neuron = st.session_state["gates_neuron"]
show_chart(saturation_scatter(sat, neuron if neuron and neuron.layer in sat.layers else None),
           "gates", {}, key="gates_chart", on_select="rerun", selection_mode="points",
           tables=saturation_table(sat), reproduce=saturation_reproduce(L.directory))
set_params(neuron=neuron)
show_table(saturation_summary(sat), "gates_summary", {}, key="gates_summary", hide_index=True)
st.caption("Units per gate layer shut or open on more than 90% / 50% of the positions, and the layer's mean "
           "fractions. `python -m translit_core saturation` prints every unit.")

st.divider()
if neuron is None:
    st.caption("Nothing selected yet — click a point.")
else:
    neuron_card(L, neuron, key="gates_card")
