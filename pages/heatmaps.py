"""Cell heatmaps (Karpathy style): each character of a text shaded by a neuron's activation."""
from __future__ import annotations

import streamlit as st

from dashboard import figures, heatmap
from dashboard.intervene import intervene_url
from dashboard.lab import MODEL_FILES, file_stamp
from dashboard.text_view import cap_text
from dashboard.urls import md_literal, parse_neuron, parse_text, url_text, valid_neurons
from dashboard.downloads import show_chart
from dashboard.widgets import (current_lab, init_once, lab, notes, notes_once, set_params, set_text_param,
                               url_param)
from translit_core.model.names import READOUT_LAYERS

L = lab()
st.title("Cell heatmaps")
st.caption("Type or pick a text: the network's output runs along the top of each block, and every "
           "row below is one neuron, each character shaded by that neuron's activation there "
           "(red positive, blue negative, one scale for all rows).")

parsed_neuron = parse_neuron(url_param("neuron"), L.sizes)
notes_once("hm_seen", [parsed_neuron.note])
init_once("hm_text", parse_text(url_param("text"), heatmap.HEATMAP_TEXT).value)


def use_text(t: str) -> None:
    st.session_state["hm_text"] = t


with st.container(horizontal=True, vertical_alignment="center", gap="small"):
    st.markdown("**Pick**")
    for i, (label, t) in enumerate(heatmap.HEATMAP_EXAMPLES):
        st.button(label, key=f"hm_ex_{i}", on_click=use_text, args=(t,), type="tertiary",
                  icon=":material/north_east:")

raw_text = st.text_area("Text (Latin)", key="hm_text", height=90,
                        help="Press Ctrl+Enter (or click outside) to update.") or ""
capped = cap_text(raw_text, heatmap.MAX_HEATMAP_CHARS, "shown")
if capped.notice:
    st.warning(capped.notice, icon=":material/content_cut:")
set_text_param(raw_text)
text = capped.text
if not text.strip():
    st.info("Type a text above.", icon=":material/keyboard:")
    st.stop()


@st.cache_data(max_entries=8, show_spinner="Running the network step by step…")
def _acts(directory: str, stamp: tuple, text: str):
    l = current_lab()
    return heatmap.activations_for(l.model, l.alphabets, text), heatmap.network_outputs(l.translit, text)


acts, outputs = _acts(str(L.directory), file_stamp(L.directory, MODEL_FILES), text)


@st.cache_data(max_entries=64, show_spinner="Searching the analysis sample…")
def _find(directory: str, stamp: tuple, text: str, sub: str, layers: tuple, sample: bool) -> heatmap.Found:
    outputs = _acts(directory, file_stamp(directory, MODEL_FILES), text)[1]
    return heatmap.substring_neurons(current_lab(), text, sub, list(layers), top=12, outputs=outputs,
                                     sample=sample)


if L.analysis is not None:
    L.warm_up()

# ---- find neurons for a substring
with st.container(border=True):
    st.markdown("**Find neurons for a substring** — which neurons fire inside it and not outside?")
    c1, c2, c3 = st.columns([2, 3, 1], vertical_alignment="bottom")
    with c1:
        sub = st.text_input("Substring", value=heatmap.DEFAULT_SUBSTRING, key="hm_sub", max_chars=40)
    with c2:
        layers = st.multiselect("Layers", list(L.sizes), default=list(READOUT_LAYERS), key="hm_layers")
    with c3:
        go = st.button("Find", key="hm_find", type="primary", width="stretch")
    spans = heatmap.find_spans(text, sub)
    if go or "hm_found" not in st.session_state:
        # The sample-wide search needs the sample recording: on a first visit that is still loading
        # (or being re-made), start with the quick search over this text; "Find" runs the full one.
        sample = bool(go) or L.recording_ready
        st.session_state["hm_found"] = _find(str(L.directory), file_stamp(L.directory), text, sub,
                                             tuple(layers), sample)
    found: heatmap.Found = st.session_state["hm_found"]
    if found.note:
        st.caption(found.note)
    if not spans and sub:
        st.caption(f"{md_literal(sub)} does not occur in the text above, so it is not underlined there.")
    if found.scores:
        table = {"neuron": [str(s.neuron) for s in found.scores],
                 found.score_name: [round(s.hellinger, 3) for s in found.scores],
                 "n inside": [s.n_pos for s in found.scores], "n outside": [s.n_neg for s in found.scores]}
        ev = st.dataframe(table, key="hm_found_df", on_select="rerun", selection_mode="multi-row",
                          hide_index=True, width="stretch", height=min(320, 38 + 35 * len(found.scores)))
        picked = [str(found.scores[i].neuron) for i in (ev.selection.rows if ev else [])]

        def add_rows(names):
            cur = list(st.session_state.get("hm_rows", []))
            st.session_state["hm_rows"] = cur + [n for n in names if n not in cur]

        b1, b2 = st.columns(2)
        b1.button(f"Add selected ({len(picked)}) as rows", key="hm_add_sel", on_click=add_rows, args=(picked,),
                  disabled=not picked, width="stretch")
        b2.button("Add the top 4 as rows", key="hm_add_top", on_click=add_rows,
                  args=([str(s.neuron) for s in found.scores[:4]],), width="stretch")

# ---- rows
suggest = [str(s.neuron) for s in st.session_state["hm_found"].scores]
init_once("hm_rows", ([str(parsed_neuron.value)] if parsed_neuron.value else []) + suggest[:3])
options = list(dict.fromkeys(list(st.session_state["hm_rows"]) + suggest))
rows = st.multiselect("Neuron rows (type any name, e.g. concat.fwd:70)", options, key="hm_rows",
                      accept_new_options=True)
good, bad = valid_neurons(rows, L.sizes)
notes(bad)
set_params(neuron=good[0] if good else None)
if not good:
    st.info("Add a neuron row (or find some for a substring above).", icon=":material/add:")
    st.stop()
st.link_button(f"Intervene on these {len(good)} rows", intervene_url(good, text=url_text(text)),
               icon=":material/tune:", type="tertiary",
               help="Open the Intervene page with these neurons set to zero, on this text.")

show_chart(figures.cell_heatmap(heatmap.heat_data(acts, text, outputs, good), width=48, marks=spans),
           "heatmap", {"rows": len(good), "text": text[:40]}, key="hm_fig")
