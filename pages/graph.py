"""Neuron graph: the post's figure for one input→output pair, interactive."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import show_chart
from dashboard.ui.panels import intervene_link, neuron_card, neuron_graph, show_histogram
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import init_once, lab, notes_once, pair_picker, require_analysis
from dashboard.views.graph import selected_neuron
from dashboard.views.labels import pair_label
from dashboard.views.markdown import md_plain
from dashboard.views.urls import page_url, parse_neuron, parse_pair

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
init_once("graph_neuron", parsed_neuron.value)      # the link's neuron is selected on arrival


def deselect() -> None:
    st.session_state["graph_neuron"] = None         # a new pair starts with nothing selected


@st.fragment
def graph_view() -> None:
    """The pickers, the graph and the selected neuron. A switch reruns this part only, and the
    graph, its selection and the URL are all drawn from the pickers' values in this run."""
    c1, c2 = st.columns([2, 1])
    with c1:
        pair = pair_picker(A, "graph_pair", parsed_pair.value, on_change=deselect)
    with c2:
        max_edges = st.slider("Edges shown", 10, 200, 60, step=10, key="graph_edges",
                              help="The strongest mean contributions (weight × activation) are drawn.")
    # One chart key per pair: a click read here was made on this pair's graph, never on the graph
    # of a pair the user has since left (Streamlit drops a key that a run did not draw).
    chart_key = f"graph:{pair}"
    clicked = parse_neuron(selected_neuron(st.session_state.get(chart_key)), L.sizes).value
    if clicked:
        st.session_state["graph_neuron"] = clicked
    neuron = st.session_state["graph_neuron"]

    data, fig = neuron_graph(L, pair, max_edges, neuron)
    show_chart(fig, "graph", {"pair": pair, "edges": max_edges}, key=chart_key, on_select="rerun",
               selection_mode="points", config={"scrollZoom": False})
    set_params(pair=pair, neuron=neuron)
    if not neuron:
        st.caption("Nothing selected yet — click a node.")
        return

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


graph_view()
