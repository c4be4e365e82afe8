"""Histograms: a neuron's activation where x becomes y, against where x becomes anything else."""
from __future__ import annotations

import streamlit as st

from pages._shared import (histogram, lab, neuron_picker, notes, pair_picker, require_analysis,
                           set_params, show_histogram, url_param)
from translit_core import figures, views

L = lab()
st.title("Histograms")
A = require_analysis(L)

parsed_pair = views.parse_pair(url_param("pair"), [str(p) for p in A.pairs()])
if parsed_pair.value is None:
    st.info("The analysis has no pairs with enough positions.")
    st.stop()
default_neuron = views.top_neurons(A, parsed_pair.value, "hidden", 1)
default_neuron = default_neuron[0].name if default_neuron else "hidden:0"
parsed_neuron = views.parse_neuron(url_param("neuron"), L.sizes, default_neuron)
if "hist_seen" not in st.session_state:
    notes([parsed_pair.note, parsed_neuron.note])
    st.session_state["hist_seen"] = True

st.caption("For an input character x and an output y: the distribution of a neuron's activation at "
           "positions where x became y (orange) against positions where x became anything else (blue). "
           "The Hellinger distance H measures how far apart they are: 0 identical, 1 disjoint.")

MODES = ("One neuron", "Top neurons of a layer", "Compare side by side")
mode = st.segmented_control("View", MODES, default=MODES[0], key="hist_mode") or MODES[0]

if mode == MODES[0]:
    pair = pair_picker(A, "hist_pair", parsed_pair.value)
    neuron = neuron_picker(L.sizes, "hist_neuron", parsed_neuron.value)
    set_params(pair=pair, neuron=neuron)
    show_histogram(L, pair, neuron, key="hist_one")

elif mode == MODES[1]:
    pair = pair_picker(A, "hist_pair", parsed_pair.value)
    c1, c2 = st.columns([3, 2])
    with c1:
        layer = st.selectbox("Layer", list(L.sizes), key="hist_top_layer",
                             index=list(L.sizes).index("hidden"),
                             format_func=lambda l: f"{l} — {views.LAYER_TITLES.get(l, l)}")
    with c2:
        n = st.slider("How many", 1, 8, 4, key="hist_top_n")
    set_params(pair=pair, neuron=None)
    top = views.top_neurons(A, pair, layer, n)
    hvs = [hv for hv in (histogram(L, pair, s.name) for s in top) if hv is not None]
    if hvs:
        st.plotly_chart(figures.histogram_grid(hvs, cols=2), key="hist_grid", config={"displayModeBar": False})

else:
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("#### A")
        pa = pair_picker(A, "hist_a_pair", parsed_pair.value)
        na = neuron_picker(L.sizes, "hist_a_neuron", parsed_neuron.value)
        show_histogram(L, pa, na, key="hist_a")
    with right:
        st.markdown("#### B")
        pairs = [str(p) for p in A.pairs()]
        alt = views.sibling_pair(parsed_pair.value, pairs)
        pb = pair_picker(A, "hist_b_pair", alt)
        nb = neuron_picker(L.sizes, "hist_b_neuron", parsed_neuron.value)
        show_histogram(L, pb, nb, key="hist_b")
    set_params(pair=pa, neuron=na)
