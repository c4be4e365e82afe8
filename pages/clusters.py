"""Neuron clusters (NeuroX): a layer's units grouped by the correlation of their activations, the
pairs each group serves, and whether a pair's most selective units are one redundant group or many
independent units. Widgets only: translit_core.analysis.methods.clusters computes,
dashboard/views/clusters.py draws, dashboard/ui/structure.py finds the clusters."""
from __future__ import annotations

import streamlit as st

from dashboard.ui import structure
from dashboard.ui.downloads import show_chart, show_table
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import init_once, lab, notes_once, pair_picker, require_analysis
from dashboard.views.clusters import cluster_sizes, spread_figure
from dashboard.views.markdown import md_plain
from dashboard.views.reproduce_units import clusters_reproduce, clusters_table, spread_reproduce, spread_table
from dashboard.views.urls import page_url, parse_choice, parse_count, parse_neuron, parse_pair
from translit_core.analysis.methods.clusters import CLUSTER_LAYERS, cluster_rows, neuron_rows, pair_spread
from translit_core.model.names import READOUT_LAYERS, NeuronId

L = lab()
st.title("Neuron clusters")
A = require_analysis(L)
st.caption("A layer's units grouped by the correlation of their activations over the sample (Pearson r on a "
           "seeded 50,000 positions; average-linkage clustering on 1 − |r|, as NeuroX does). Units in one cluster "
           "move together, so they can stand in for each other; each cluster's representative is its unit with "
           "the highest mean |r| to the rest.")

layers = list(CLUSTER_LAYERS)
parsed_layer = parse_choice(url_param("layer"), layers, "layer")
parsed_pair = parse_pair(url_param("pair"), A.pairs())
parsed_k = parse_count(url_param("k"), 1, 50, 10, "number of top units")
parsed_neuron = parse_neuron(url_param("neuron"), L.sizes)
bad_layer = None
if parsed_neuron.value and parsed_neuron.value.layer not in layers:
    bad_layer = (f"Clusters are computed for {', '.join(layers)}; {md_plain(parsed_neuron.value)} is in none of "
                 f"them, so no unit is selected.")
notes_once("clusters_seen", [parsed_layer.note, parsed_pair.note, parsed_k.note, parsed_neuron.note, bad_layer])
neuron0 = parsed_neuron.value if not bad_layer else None
init_once("clusters_layer", neuron0.layer if neuron0 and not url_param("layer") else parsed_layer.value)
init_once("clusters_k", parsed_k.value)

cl = structure.clusters(L)
if cl is None or parsed_pair.value is None:
    st.stop()
c1, c2 = st.columns([1, 1])
with c1:
    layer = st.selectbox("Layer", layers, key="clusters_layer")
with c2:
    k = st.number_input("Top units of the pair (k)", 1, 50, key="clusters_k")
lc = cl.layer(layer)
rows = cluster_rows(A, cl, layer, int(k))
show_chart(cluster_sizes(lc, rows), "clusters_sizes", {"layer": layer}, key="clusters_sizes",
           tables=clusters_table(rows), reproduce=clusters_reproduce(layer, int(k), L.directory))
only_groups = not st.toggle("List the units on their own too", key="clusters_all")
show_table([r for r in rows if r["size"] > 1 or not only_groups], "clusters", {"layer": layer}, key="clusters_table",
           hide_index=True, width="stretch")
st.caption(f"Cut at 1 − |r| = {cl.cut:g}: two groups merge while their units' mean |r| is at least {1 - cl.cut:.1f}. "
           f"*cohesion*: the mean |r| inside the cluster. *pairs*: the pairs whose top {k} units (by H excess) "
           f"hold most of its members (how many, in brackets).")

st.subheader("One group, or independent units?")
pair = pair_picker(A, "clusters_pair", parsed_pair.value)
spreads = [pair_spread(A, cl, pair, other, int(k)) for other in layers if other in READOUT_LAYERS or other == layer]
show_chart(spread_figure(spreads), "clusters_spread", {"pair": pair, "k": k}, key="clusters_spread",
           tables=spread_table(spreads),
           reproduce=spread_reproduce(str(pair), [s.layer for s in spreads], int(k), L.directory))
mine = next(s for s in spreads if s.layer == layer)
st.markdown(f"In **{layer}**, the top {mine.k} units of {md_plain(pair)} fall into **{mine.distinct}** clusters; "
            f"{mine.k} random units of the layer into {mine.null_mean:.1f} (95% of draws: {mine.null_lo:g} to "
            f"{mine.null_hi:g}): **{mine.verdict}**.")
show_table([{"unit": f"{layer}:{u}", "cluster": c, "cluster size": int(lc.sizes()[c]),
             "representative": str(NeuronId(layer, int(lc.representatives[c])))}
            for u, c in zip(mine.units, mine.clusters)],
           "clusters_top", {"pair": pair, "layer": layer, "k": k}, key="clusters_top", hide_index=True)

st.subheader("A unit's neighbours")
init_once("clusters_unit", neuron0.index if neuron0 and neuron0.layer == layer else 0)
if st.session_state["clusters_unit"] >= L.sizes[layer]:
    st.session_state["clusters_unit"] = 0
index = st.number_input(f"Unit of {layer}", 0, L.sizes[layer] - 1, key="clusters_unit")
neuron = NeuronId(layer, int(index))
info = neuron_rows(cl, neuron)
st.markdown(f"`{neuron}` is in cluster **{info['cluster']}** ({info['cluster_size']} units; representative "
            f"`{info['representative']}`).")
show_table([dict(n, r=round(n["r"], 3)) for n in info["neighbours"]], "clusters_neighbours", {"neuron": neuron},
           key="clusters_neighbours", hide_index=True)
st.link_button("Open its neuron card", page_url("neuron", neuron=neuron), icon=":material/open_in_new:")
set_params(layer=layer, pair=pair, k=k, neuron=neuron)
