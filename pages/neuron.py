"""Neuron card: everything about one neuron."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.panels import neuron_card, whole_sample_notice
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import lab, neuron_picker, notes_once, require_analysis
from dashboard.views.urls import Parsed, parse_neuron, parse_pair
from translit_core.model.names import NeuronId

L = lab()
st.title("Neuron card")
A = require_analysis(L)
whole_sample_notice(L)      # while the whole sample is recorded: what the page draws from meanwhile

pairs = A.pairs()
default_pair = parse_pair(None, pairs).value
best = A.top_neurons(default_pair, "concat.fwd", 1) if default_pair else []
parsed = parse_neuron(url_param("neuron"), L.sizes, best[0].neuron if best else NeuronId("concat.fwd", 0))
raw_pair = url_param("pair")
parsed_pair = parse_pair(raw_pair, pairs) if raw_pair else Parsed(None)
notes_once("card_seen", [parsed.note, parsed_pair.note])

st.caption("The pairs a neuron separates best, its activation distribution, the sample contexts "
           "where it fires most, and whether knocking out its layer's most selective neurons hurts.")
neuron = neuron_picker(L.sizes, "card_neuron", parsed.value)
set_params(neuron=neuron, pair=parsed_pair.value)
st.subheader(f"`{neuron}`")
neuron_card(L, neuron, pair=parsed_pair.value, key="card", title=False)
