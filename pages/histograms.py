"""Histograms: a neuron's activation where x becomes y, against where x becomes anything else."""
from __future__ import annotations

import streamlit as st

from pages._shared import (histogram, init_once, lab, neuron_picker, notes, pair_picker, require_analysis,
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
# The rest of the view is in the URL too: mode, the top-N layer and count, the compare side B.
pairs = [str(p) for p in A.pairs()]
parsed_mode = views.parse_choice(url_param("mode"), list(views.HIST_MODES), "view")
parsed_layer = views.parse_choice(url_param("layer"), ["hidden"] + [l for l in L.sizes if l != "hidden"], "layer")
parsed_n = views.parse_count(url_param("n"), 1, 8, 4, "number of neurons")
parsed_pair2 = views.parse_pair(url_param("pair2"), pairs, views.sibling_pair(parsed_pair.value, pairs))
parsed_neuron2 = views.parse_neuron(url_param("neuron2"), L.sizes, parsed_neuron.value)
if "hist_seen" not in st.session_state:
    notes([parsed_pair.note, parsed_neuron.note, parsed_mode.note, parsed_layer.note, parsed_n.note,
           parsed_pair2.note if url_param("pair2") else None, parsed_neuron2.note if url_param("neuron2") else None])
    init_once("hist_mode", views.HIST_MODES[parsed_mode.value])
    st.session_state["hist_seen"] = True

st.caption("For an input character x and an output y: the distribution of a neuron's activation at "
           "positions where x became y (orange) against positions where x became anything else (blue). "
           "The Hellinger distance H measures how far apart they are: 0 identical, 1 disjoint.")

MODES = tuple(views.HIST_MODES.values())
mode = st.segmented_control("View", MODES, key="hist_mode") or MODES[0]
mode_param = next(k for k, v in views.HIST_MODES.items() if v == mode)

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
                             format_func=lambda l: f"{l} — {views.LAYER_TITLES.get(l, l)}")
    with c2:
        n = st.slider("How many", 1, 8, key="hist_top_n",
                      **({} if "hist_top_n" in st.session_state else {"value": parsed_n.value}))
    set_params(mode=mode_param, pair=pair, neuron=None, layer=layer, n=n, pair2=None, neuron2=None)
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
        pb = pair_picker(A, "hist_b_pair", parsed_pair2.value)
        nb = neuron_picker(L.sizes, "hist_b_neuron", parsed_neuron2.value)
        show_histogram(L, pb, nb, key="hist_b")
    set_params(mode=mode_param, pair=pa, neuron=na, layer=None, n=None, pair2=pb, neuron2=nb)
