"""Histograms: a neuron's activation where x becomes y, against where x becomes anything else."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import show_chart
from dashboard.ui.panels import histogram, show_histogram, whole_sample_notice
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import init_once, lab, neuron_picker, notes_once, pair_picker, require_analysis
from dashboard.views import figures
from dashboard.views.labels import layer_choice_label
from dashboard.views.reproduce import histograms_reproduce, histograms_tables
from dashboard.views.urls import HIST_MODES, parse_choice, parse_count, parse_neuron, parse_pair, sibling_pair
from translit_core.model.names import NeuronId

L = lab()
st.title("Histograms")
A = require_analysis(L)
whole_sample_notice(L)      # while the whole sample is recorded: what the page draws from meanwhile

pairs = A.pairs()
parsed_pair = parse_pair(url_param("pair"), pairs)
if parsed_pair.value is None:
    st.info("The analysis has no pairs with enough positions.")
    st.stop()
best = A.top_neurons(parsed_pair.value, "hidden", 1)
parsed_neuron = parse_neuron(url_param("neuron"), L.sizes, best[0].neuron if best else NeuronId("hidden", 0))
# The rest of the view is in the URL too: mode, the top-N layer and count, the compare side B.
layers = ["hidden"] + [name for name in L.sizes if name != "hidden"]
parsed_mode = parse_choice(url_param("mode"), list(HIST_MODES), "view")
parsed_layer = parse_choice(url_param("layer"), layers, "layer")
parsed_n = parse_count(url_param("n"), 1, 8, 4, "number of neurons")
parsed_pair2 = parse_pair(url_param("pair2"), pairs, str(sibling_pair(parsed_pair.value, pairs)))
parsed_neuron2 = parse_neuron(url_param("neuron2"), L.sizes, parsed_neuron.value)
init_once("hist_mode", HIST_MODES[parsed_mode.value])       # again whenever Streamlit dropped it (another page)
notes_once("hist_seen", [parsed_pair.note, parsed_neuron.note, parsed_mode.note, parsed_layer.note, parsed_n.note,
                         parsed_pair2.note if url_param("pair2") else None,
                         parsed_neuron2.note if url_param("neuron2") else None])

st.caption("For an input character x and an output y: the distribution of a neuron's activation at "
           "positions where x became y (orange) against positions where x became anything else (blue). "
           "The Hellinger distance H measures how far apart they are: 0 identical, 1 disjoint.")

MODES = tuple(HIST_MODES.values())
mode = st.segmented_control("View", MODES, key="hist_mode") or MODES[0]
mode_param = next(k for k, v in HIST_MODES.items() if v == mode)

if mode == MODES[0]:
    pair = pair_picker(A, "hist_pair", parsed_pair.value)
    neuron = neuron_picker(L.sizes, "hist_neuron", parsed_neuron.value)
    set_params(mode=None, pair=pair, neuron=neuron, layer=None, n=None, pair2=None, neuron2=None)
    show_histogram(L, pair, neuron, key="hist_one")

elif mode == MODES[1]:
    pair = pair_picker(A, "hist_pair", parsed_pair.value)
    c1, c2 = st.columns([3, 2])
    with c1:
        # Seeded from the URL unless the widget already holds the user's choice (session state).
        seeded = "hist_top_layer" in st.session_state
        layer = st.selectbox("Layer", list(L.sizes), key="hist_top_layer",
                             **({} if seeded else {"index": list(L.sizes).index(parsed_layer.value)}),
                             format_func=layer_choice_label)
    with c2:
        n = st.slider("How many", 1, 8, key="hist_top_n",
                      **({} if "hist_top_n" in st.session_state else {"value": parsed_n.value}))
    set_params(mode=mode_param, pair=pair, neuron=None, layer=layer, n=n, pair2=None, neuron2=None)
    hvs = [hv for hv in (histogram(L, pair, s.neuron) for s in A.top_neurons(pair, layer, n)) if hv is not None]
    if hvs:
        show_chart(figures.histogram_grid(hvs, cols=2), "histograms-top", {"pair": pair, "layer": layer, "n": n},
                   key="hist_grid", tables=histograms_tables(hvs),
                   reproduce=histograms_reproduce(str(pair), layer, n, [hv.neuron for hv in hvs], L.directory))

else:
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("#### A")
        pa = pair_picker(A, "hist_a_pair", parsed_pair.value)
        na = neuron_picker(L.sizes, "hist_a_neuron", parsed_neuron.value)
        show_histogram(L, pa, na, key="hist_a")
    with right:
        st.markdown("#### B")
        pb = pair_picker(A, "hist_b_pair", parsed_pair2.value)
        nb = neuron_picker(L.sizes, "hist_b_neuron", parsed_neuron2.value)
        show_histogram(L, pb, nb, key="hist_b")
    set_params(mode=mode_param, pair=pa, neuron=na, layer=None, n=None, pair2=pb, neuron2=nb)
