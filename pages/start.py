"""Start: what the lab is, and the post's four figures redrawn live from the shipped model, each a
way into its full page with the selection set."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import show_chart
from dashboard.ui.panels import neuron_graph, show_histogram, whole_sample_notice
from dashboard.ui.widgets import lab, missing_analysis_notice
from dashboard.views import figures, heatmaps
from dashboard.views.start import INTRO
from dashboard.views.urls import parse_pair
from translit_core.model.names import NeuronId
from translit_core.reports.neuron70 import post70_unit

L = lab()
st.title("Start")
st.markdown("##### Inside a transliteration network")
st.markdown(INTRO)
st.page_link("pages/transliterate.py", label="Transliterate your own text", icon=":material/translate:")

A = L.analysis
if A is None:
    missing_analysis_notice(L)
    st.stop()
whole_sample_notice(L)
pair = parse_pair(None, A.pairs()).value          # the post's t→թ where the analysis has it
best = A.top_neurons(pair, "hidden", 1)[0].neuron
st.subheader("The post's four figures, from this model")


def more(page: str, label: str, **params) -> None:
    st.page_link(f"pages/{page}.py", label=label, icon=":material/arrow_forward:",
                 query_params={k: str(v) for k, v in params.items() if v is not None})


st.markdown(f"**(a) The neurons that decide {pair.x} → {pair.y}** — darker: a larger distance between where "
            f"{pair.x} became {pair.y} and where it became anything else; orange and green edges push the decision "
            f"up or down.")
_, fig = neuron_graph(L, pair, 60, None)
st.html(figures.graph_scroll_css("start_graph_scroll"))        # a phone scrolls it sideways
with st.container(key="start_graph_scroll"):
    show_chart(fig, "start-graph", {"pair": pair}, key="start_graph")
more("graph", "The neuron graph: click any neuron", pair=pair)

left, right = st.columns(2, gap="large")
with left:
    st.markdown(f"**(b) Its most selective dense neuron, `{best}`** — the activation where {pair.x} became "
                f"{pair.y} (orange) against everywhere else {pair.x} occurs (blue).")
    show_histogram(L, pair, best, key="start_hist")
    more("histograms", "Histograms of any neuron and pair", pair=pair, neuron=best)
with right:
    unit = post70_unit(A)
    if unit is not None:
        st.markdown(f"**(c) The post's forward neuron #70: ours is `{unit}`** — the silent second letter of a "
                    f"digraph (the s of ts, the h of sh, th…); the pairs it separates best:")
        show_chart(figures.pairs_bar(A.top_pairs(unit, 6)), "start-neuron70", {"neuron": unit}, key="start_70")
        more("neuron", "Its neuron card", neuron=unit)

st.markdown("**(d) The -tyun suffix in the cell state** — per character, the memory of the cell units that change "
            "most on *-utyun* (→ ություն); red high, blue low.")
text = heatmaps.HEATMAP_TEXT
acts = heatmaps.activations_for(L.model, L.alphabets, text)
rows = [NeuronId.parse(r, L.sizes) for r in heatmaps.default_rows(acts, text)][:4]
data = heatmaps.heat_data(acts, text, heatmaps.network_outputs(L.translit, text), rows)
show_chart(figures.cell_heatmap(data, width=48, marks=heatmaps.find_spans(text, heatmaps.DEFAULT_SUBSTRING)),
           "start-heatmap", {"rows": len(rows)}, key="start_heat")
more("heatmaps", "Cell heatmaps of any text", neuron=rows[0] if rows else None)

st.subheader("Beyond the post")
more("histograms", "Every H with its null: selectivity beyond what chance gives on as many positions", pair=pair)
more("intervene", "Intervene: set, scale or steer neurons inside the recurrence, and see the output change")
more("transliterate", "Attribution: click any output character to see which inputs and units made it")
more("compare", "The twin: a model trained to make neurons independent (DeCov), against its control")
