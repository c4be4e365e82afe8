"""Neuron graph: the post's figure for one input→output pair, interactive."""
from __future__ import annotations

import streamlit as st

from dashboard import figures
from dashboard.graph import GraphData, graph_data, selected_neuron
from dashboard.lab import file_stamp
from dashboard.labels import pair_label
from dashboard.urls import md_plain, page_url, parse_neuron, parse_pair
from dashboard.panels import PLOT_CONFIG, intervene_link, neuron_card, show_histogram
from dashboard.widgets import current_lab, init_once, lab, notes_once, pair_picker, require_analysis, set_params, url_param

L = lab()
st.title("Neuron graph")
A = require_analysis(L)

parsed_pair = parse_pair(url_param("pair"), A.pairs())
parsed_neuron = parse_neuron(url_param("neuron"), L.sizes)
notes_once("graph_seen", [parsed_pair.note, parsed_neuron.note])
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
def _graph(directory: str, stamp: tuple, pair: str, max_edges: int) -> GraphData:
    l = current_lab()
    return graph_data(l.analysis, l.alphabets, pair, max_edges=max_edges)


data = _graph(str(L.directory), file_stamp(L.directory), str(pair), max_edges)

# The selected neuron: a click on the graph wins, else the URL's neuron on arrival.
init_once("graph_neuron", parsed_neuron.value)
if st.session_state.get("graph_last_pair") not in (None, pair):
    st.session_state["graph_neuron"] = None      # a new pair starts with nothing selected
st.session_state["graph_last_pair"] = pair
clicked = parse_neuron(selected_neuron(st.session_state.get("graph")), L.sizes).value
if clicked and clicked != st.session_state.get("graph_clicked"):
    st.session_state["graph_neuron"] = clicked
st.session_state["graph_clicked"] = clicked
neuron = st.session_state.get("graph_neuron")

fig = figures.neuron_graph(data, selected=str(neuron) if neuron else None)
st.plotly_chart(fig, key="graph", on_select="rerun", selection_mode="points",
                config={**PLOT_CONFIG, "scrollZoom": False})
set_params(pair=pair, neuron=neuron)

if not neuron:
    st.caption("Nothing selected yet — click a node.")
    st.stop()

st.divider()
st.markdown(f"### `{neuron}` on {md_plain(pair_label(pair))}")
if str(neuron) not in {n.id for n in data.nodes}:
    st.caption("This neuron is not among the graph's nodes for this pair; its histogram and card are below.")
show_histogram(L, pair, neuron, key="graph_hist")
with st.container(horizontal=True, gap="small"):
    st.link_button("Open the full neuron card", page_url("neuron", neuron=neuron, pair=pair),
                   icon=":material/open_in_new:")
    intervene_link(neuron)
neuron_card(L, neuron, key="graph_card", histogram_too=False, link=False)
