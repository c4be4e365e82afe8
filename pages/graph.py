"""Neuron graph: the post's figure for one input→output pair, interactive."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard.ui.downloads import show_chart
from dashboard.views.reproduce import graph_reproduce, graph_tables
from dashboard.ui.panels import intervene_link, neuron_card, neuron_graph, show_histogram, whole_sample_notice
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import init_once, lab, notes_once, pair_output_key, pair_picker, require_analysis
from dashboard.views import figures
from dashboard.views.graph import GraphData, output_pair, selected_neuron, warm_first_click
from dashboard.views.lab import file_stamp
from dashboard.views.labels import input_label, pair_label
from dashboard.views.markdown import md_plain
from dashboard.views.urls import page_url, parse_neuron, parse_pair

L = lab()
st.title("Neuron graph")
A = require_analysis(L)
whole_sample_notice(L)      # while the whole sample is recorded: what the card draws from meanwhile

parsed_pair = parse_pair(url_param("pair"), A.pairs())
parsed_neuron = parse_neuron(url_param("neuron"), L.sizes)
notes_once("graph_seen", [parsed_pair.note, parsed_neuron.note])
if parsed_pair.value is None:
    st.info("The analysis has no pairs with enough positions to draw.")
    st.stop()

st.caption("Which neurons tell whether an input character becomes a given output? Rows from the top: "
           "the outputs the character can become (click one to switch to its pair), the hidden layer's "
           "12 most selective neurons, the biLSTM's 10 most selective forward | backward neurons, and "
           "their gates and cells (hover a row's name for what it is). Click a neuron for its histogram "
           "and card.")
init_once("graph_neuron", parsed_neuron.value)      # the link's neuron is selected on arrival
init_once("graph_colour", "excess")
# The graph keeps its least width (figures.GRAPH_MIN_WIDTH) and scrolls sideways where the page is
# narrower (a phone); the note under it says so only there.
st.html(figures.graph_scroll_css("graph_scroll")
        + "<style>@media (min-width: 1100px) { .st-key-graph_narrow { display: none; } }</style>")
COLOURS = {"excess": "H excess over its null", "hellinger": "raw H"}


def deselect() -> None:
    st.session_state["graph_neuron"] = None         # a new pair starts with nothing selected


def follow_output_click() -> None:
    """A click on an output node of the graph drawn last switches the pair to x→that output: the
    pickers' values are set before they are drawn, as a choice in the Output picker sets them."""
    shown = st.session_state.get("graph_shown")
    if not shown or shown not in {str(p) for p in A.pairs()}:
        return
    x = A.parse_pair(shown).x
    new = output_pair(A, L.alphabets, x, selected_neuron(st.session_state.get(f"graph:{shown}")))
    if new is None or str(new) == shown or st.session_state.get("graph_pair_x") != x:
        return
    st.session_state[pair_output_key("graph_pair", x)] = new.y
    st.session_state["graph_pair_y"] = new.y
    deselect()


@st.cache_resource(max_entries=128, show_spinner=False)
def raw_figure(directory: str, stamp: tuple, pair: str, max_edges: int, selected: str | None,
               _data: GraphData) -> go.Figure:
    """The graph coloured by raw H (panels.neuron_graph draws the excess); one per view, shared."""
    return figures.neuron_graph(_data, selected=selected, colour="hellinger")


@st.fragment
def graph_view() -> None:
    """The pickers, the graph and the selected neuron. A switch reruns this part only, and the
    graph, its selection and the URL are all drawn from the pickers' values in this run."""
    follow_output_click()
    c1, c2 = st.columns([2, 1])
    with c1:
        pair = pair_picker(A, "graph_pair", parsed_pair.value, on_change=deselect)
    with c2:
        max_edges = st.slider("Edges shown", 10, 200, 60, step=10, key="graph_edges",
                              help="The strongest mean contributions (weight × activation) are drawn.")
    colour = st.radio("Node colour", list(COLOURS), format_func=COLOURS.get, key="graph_colour", horizontal=True)
    st.caption(f"Raw H is the Hellinger distance between a neuron's activations on {md_plain(pair_label(pair))} "
               f"and on {md_plain(input_label(pair.x))}→anything else; the excess is H minus its null (the H that "
               "chance alone gives at this pair's numbers of positions), so that colours compare across pairs "
               "(darker = larger, one scale for every pair).")
    # One chart key per pair: a click read here was made on this pair's graph, never on the graph
    # of a pair the user has since left (Streamlit drops a key that a run did not draw).
    chart_key = f"graph:{pair}"
    node = selected_neuron(st.session_state.get(chart_key))
    clicked = parse_neuron(node, L.sizes).value if node and not node.startswith("output:") else None
    if clicked:
        st.session_state["graph_neuron"] = clicked
    neuron = st.session_state["graph_neuron"]

    data, fig = neuron_graph(L, pair, max_edges, neuron)
    if colour == "hellinger":
        fig = raw_figure(str(L.directory), file_stamp(L.directory), str(pair), max_edges,
                         str(neuron) if neuron else None, data)
    with st.container(key="graph_scroll"):
        show_chart(fig, "graph", {"pair": pair, "edges": max_edges, "colour": colour}, key=chart_key,
                   on_select="rerun", selection_mode="points", config={"scrollZoom": False},
                   tables=graph_tables(data), reproduce=graph_reproduce(str(pair), L.directory))
    with st.container(key="graph_narrow"):
        st.caption("The graph is wider than the screen: scroll it sideways.")
    st.session_state["graph_shown"] = str(pair)
    set_params(pair=pair, neuron=neuron)
    warm_first_click(L)
    if not neuron:
        st.caption("Nothing selected yet — click a node.")
        return
    selected_view(pair, neuron, data)


def selected_view(pair, neuron, data: GraphData) -> None:
    """The selected neuron under the graph: its histogram on the pair, links, and its card."""
    st.divider()
    st.markdown(f"### `{neuron}` on {md_plain(pair_label(pair))}")
    if str(neuron) not in {n.id for n in data.nodes}:
        st.caption("This neuron is not among the graph's nodes for this pair; its histogram and card are below.")
    show_histogram(L, pair, neuron, key="graph_hist")
    with st.container(horizontal=True, gap="small"):
        st.link_button("Open the full neuron card", page_url("neuron", neuron=neuron, pair=pair),
                       icon=":material/open_in_new:")
        intervene_link(neuron)
    # The card's charts are drawn only while its box is open: on a 2-core machine every chart of a
    # page costs its switch about a tenth of a second in the browser.
    box = st.expander(f"Neuron card · {neuron}", icon=":material/badge:", key="graph_card_box", on_change="rerun")
    if box.open:
        with box:
            neuron_card(L, neuron, key="graph_card", histogram_too=False, link=False, title=False)


graph_view()
