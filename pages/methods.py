"""Ranking methods: which way of ranking a layer's units for a pair finds the units the model
actually uses? Widgets only: the curves come from translit_core.analysis.methods.ranking."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import show_chart, show_table
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import current_lab, lab, notes_once, pair_picker, require_analysis
from dashboard.views import figures
from dashboard.views.methods import best_sentence, method_rows
from dashboard.views.lab import QUERY_ERRORS, file_stamp
from dashboard.views.markdown import md_plain
from dashboard.views.reproduce_units import methods_reproduce, methods_table
from dashboard.views.urls import parse_choice, parse_pair
from translit_core.analysis.methods.ranking import MethodComparison, rank_methods
from translit_core.model.names import READOUT_LAYERS

L = lab()
st.title("Ranking methods")
A = require_analysis(L)
st.markdown("**Which ranking finds the neurons the model uses?**")
st.caption("Six ways to rank a layer's units for a pair — the post's Hellinger distance, its excess over the "
           "permutation null, mean difference × outgoing weight, an elastic-net probe, integrated gradients of "
           "log p(target), and greedy causal selection — each computed on one random half of the sentences. "
           "On the other half, the top k units of each ranking are set to their mean: the lower a curve, the "
           "more the model uses what that ranking found. The grey band is k random units (mean ± 2 sd).")

parsed_pair = parse_pair(url_param("pair"), A.pairs())
parsed_layer = parse_choice(url_param("layer"), list(READOUT_LAYERS), "layer")
notes_once("methods_seen", [parsed_pair.note, parsed_layer.note])
if parsed_pair.value is None:
    st.info("The analysis has no pairs with enough positions.")
    st.stop()
c1, c2 = st.columns([2, 1])
with c1:
    pair = pair_picker(A, "methods_pair", parsed_pair.value)
with c2:
    layer = st.selectbox("Layer", list(READOUT_LAYERS), index=list(READOUT_LAYERS).index(parsed_layer.value),
                         key="methods_layer")
set_params(pair=pair, layer=layer)


@st.cache_data(max_entries=32, show_spinner=False)
def _computed(directory: str, stamp: tuple, pair: str, layer: str) -> dict:
    current = current_lab()
    return rank_methods(current.recording(), pair, layer, bins=current.analysis.tables.bins).to_dict()


comparison = A.method_comparison(pair, layer)
if comparison is None:
    with st.spinner("Not stored with the analysis (it holds the post's pairs on the two LSTM directions): ranking on "
                    "one half of the sentences and ablating on the other, about half a minute…"):
        try:
            computed = _computed(str(L.directory), file_stamp(L.directory), str(pair), layer)
            comparison = MethodComparison.from_dict(computed)
        except QUERY_ERRORS as e:
            st.error(f"Could not compare the rankings: {md_plain(e)}")
            st.stop()

metric = st.segmented_control("Measure", ["Δ log p(target)", "accuracy on the target"], default="Δ log p(target)",
                              key="methods_metric") or "Δ log p(target)"
measure = "delta_logp" if metric.startswith("Δ") else "target_accuracy"
show_chart(figures.method_curves(comparison, measure), "methods", {"pair": pair, "layer": layer, "measure": measure},
           key="methods_fig", tables=methods_table(comparison),
           reproduce=methods_reproduce(str(pair), layer, L.directory))
band = comparison.curve("random").curve
st.markdown("**Mean Δ log p(target) over k = " + ", ".join(str(p.k) for p in band) + "** (more negative: the "
            "ranking found units the model uses more)")
show_table(method_rows(comparison), "methods-table", {"pair": pair, "layer": layer}, key="methods_table",
           hide_index=True, width="stretch")
if best_sentence(comparison):
    st.caption(best_sentence(comparison))
st.caption(f"Random band at k = {band[-1].k}: {band[-1].delta_logp:+.3f} ± {band[-1].delta_logp_std:.3f}. "
           f"Rankings saw {comparison.n_pos_select:,} positions of the target, the curves {comparison.n_pos_score:,} "
           f"others (a different half of the sentences). `python -m translit_core rank-methods --pair {pair} "
           f"--layer {layer}` prints the same.")
