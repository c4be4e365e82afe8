"""Neuron graph: the post's figure for one input→output pair, interactive."""
from __future__ import annotations

import streamlit as st

from pages._shared import (current_lab, init_once, lab, neuron_card, notes, pair_picker, require_analysis, set_params,
                           show_histogram, url_param)
from translit_core import figures, views

L = lab()
st.title("Neuron graph")
A = require_analysis(L)

parsed_pair = views.parse_pair(url_param("pair"), [str(p) for p in A.pairs()])
parsed_neuron = views.parse_neuron(url_param("neuron"), L.sizes)
if "graph_seen" not in st.session_state:      # URL notes once, on arrival
    notes([parsed_pair.note, parsed_neuron.note])
    st.session_state["graph_seen"] = True
if parsed_pair.value is None:
    st.info("The analysis has no pairs with enough positions to draw.")
    st.stop()

st.caption("Which neurons tell whether an input character becomes a given output? Rows from the top: "
           "the outputs the character can become, the hidden layer's 12 most selective neurons, the "
           "biLSTM's 10 most selective forward | backward neurons, and their gates and cells. "
           "Click a node for its histogram and card.")

c1, c2 = st.columns([2, 1])
with c1:
    pair = pair_picker(A, "graph_pair", parsed_pair.value)
with c2:
    max_edges = st.slider("Edges shown", 10, 200, 60, step=10, key="graph_edges",
                          help="The strongest mean contributions (weight × activation) are drawn.")


@st.cache_data(max_entries=64, show_spinner=False)
def _graph(directory: str, stamp: tuple, pair: str, max_edges: int) -> views.GraphData:
    return views.graph_data(current_lab().analysis, current_lab().alphabets, pair, max_edges=max_edges)


data = _graph(str(L.directory), views.file_stamp(L.directory, views.ANALYSIS_FILES), pair, max_edges)
node_ids = {n.id for n in data.nodes}

# The selected neuron: a click on the graph wins, else the URL's neuron on arrival.
init_once("graph_neuron", parsed_neuron.value)
if st.session_state.get("graph_last_pair") not in (None, pair):
    st.session_state["graph_neuron"] = None      # a new pair starts with nothing selected
st.session_state["graph_last_pair"] = pair
clicked = views.parse_neuron(views.selected_neuron(st.session_state.get("graph")), L.sizes).value
if clicked and clicked != st.session_state.get("graph_clicked"):
    st.session_state["graph_neuron"] = clicked
st.session_state["graph_clicked"] = clicked
neuron = st.session_state.get("graph_neuron")

fig = figures.neuron_graph(data, selected=neuron)
st.plotly_chart(fig, key="graph", on_select="rerun", selection_mode="points",
                config={"displayModeBar": False, "scrollZoom": False})
set_params(pair=pair, neuron=neuron)

if not neuron:
    st.caption("Nothing selected yet — click a node.")
    st.stop()

st.divider()
st.markdown(f"### `{neuron}` on {views.pair_label(pair)}")
if neuron not in node_ids:
    st.caption("This neuron is not among the graph's nodes for this pair; its histogram and card are below.")
show_histogram(L, pair, neuron, key="graph_hist")
st.link_button("Open the full neuron card", views.page_url("neuron", neuron=neuron, pair=pair),
               icon=":material/open_in_new:")
neuron_card(L, neuron, key="graph_card", histogram_too=False)
