"""Neuron card: everything about one neuron."""
from __future__ import annotations

import streamlit as st

from pages._shared import lab, neuron_card, neuron_picker, notes, require_analysis, set_params, url_param
from translit_core import views

L = lab()
st.title("Neuron card")
A = require_analysis(L)

pairs = [str(p) for p in A.pairs()]
default_pair = views.parse_pair(None, pairs).value
default = views.top_neurons(A, default_pair, "concat.fwd", 1) if default_pair else []
default = default[0].name if default else "concat.fwd:0"
parsed = views.parse_neuron(url_param("neuron"), L.sizes, default)
raw_pair = url_param("pair")
parsed_pair = views.parse_pair(raw_pair, pairs) if raw_pair else views.Parsed(None)
if "card_seen" not in st.session_state:
    notes([parsed.note, parsed_pair.note])
    st.session_state["card_seen"] = True

st.caption("The pairs a neuron separates best, its activation distribution, the sample contexts "
           "where it fires most, and whether knocking out its layer's most selective neurons hurts.")
neuron = neuron_picker(L.sizes, "card_neuron", parsed.value)
set_params(neuron=neuron, pair=parsed_pair.value)
st.subheader(f"`{neuron}`")
neuron_card(L, neuron, pair=parsed_pair.value, key="card", title=False)
