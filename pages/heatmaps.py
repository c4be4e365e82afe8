"""Cell heatmaps (Karpathy style): each character of a text shaded by a neuron's activation.

The heatmap comes first, its default rows the cell-state units that fire most on the post's
-utyun suffix; below it, the substring search (which neurons fire inside a substring) and the
hypothesis panel (LSTMVis: the units on over a span, and where else they are)."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import show_chart, show_table
from dashboard.ui.panels import whole_sample_notice
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import current_lab, init_once, lab, notes, notes_once, set_text_param
from dashboard.views import figures
from dashboard.views import heatmaps
from dashboard.views import hypothesis as hy
from dashboard.views.intervene import intervene_url
from dashboard.views.lab import MODEL_FILES, QUERY_ERRORS, file_stamp
from dashboard.views.markdown import md_literal, md_plain
from dashboard.views.reproduce_text import heatmap_reproduce, heatmap_table
from dashboard.views.text import cap_text
from dashboard.views.urls import parse_neuron, parse_text, url_text, valid_neurons
from translit_core.model.names import READOUT_LAYERS

LINE_WIDTHS = (16, 32, 48, 64)      # characters a line of the heatmap; 48 by default

L = lab()
st.title("Cell heatmaps")
st.caption("One row per neuron (at first the cell units that fire most on -utyun), each character shaded by its "
           "value: red +, blue −.")

parsed_neuron = parse_neuron(url_param("neuron"), L.sizes)
link_text = parse_text(url_param("text"), heatmaps.HEATMAP_TEXT).value
parsed_span = hy.parse_span_param(url_param("span"), link_text)       # the link's span is for the link's text
notes_once("hm_seen", [parsed_neuron.note, parsed_span.note])
init_once("hm_text", link_text)

raw_text = st.text_area("Text (Latin)", key="hm_text", height=90,
                        help="Press Ctrl+Enter (or click outside) to update.") or ""
capped = cap_text(raw_text, heatmaps.MAX_HEATMAP_CHARS, "shown")
if capped.notice:
    st.warning(capped.notice, icon=":material/content_cut:")
set_text_param(raw_text)
text = capped.text
if not text.strip():
    st.info("Type a text above.", icon=":material/keyboard:")
    st.stop()


@st.cache_data(max_entries=8, show_spinner="Running the network step by step…")
def _acts(directory: str, stamp: tuple, text: str):
    current = current_lab()
    return (heatmaps.activations_for(current.model, current.alphabets, text),
            heatmaps.network_outputs(current.translit, text))


@st.cache_data(max_entries=8, show_spinner=False)
def _default_rows(directory: str, stamp: tuple) -> list[str]:
    """The cell units that fire most on -utyun in the post's text (the same rows whatever the text)."""
    acts = _acts(directory, stamp, heatmaps.HEATMAP_TEXT)[0]
    return heatmaps.default_rows(acts, heatmaps.HEATMAP_TEXT)


@st.cache_data(max_entries=8, show_spinner=False)
def _tracks(directory: str, stamp: tuple, text: str):
    return hy.tracks_for(text, current_lab().translit.predict(text))


whole_sample_notice(L)      # while the whole sample is recorded, the search below uses its first sentences
stamp = file_stamp(L.directory, MODEL_FILES)
acts, outputs = _acts(str(L.directory), stamp, text)


def use_text(t: str) -> None:
    st.session_state["hm_text"] = t


def add_rows(names) -> None:
    cur = list(st.session_state.get("hm_rows", []))
    st.session_state["hm_rows"] = cur + [n for n in names if n not in cur]


# ---- the heatmap: drawn into this slot once the rows below it are read
heat_slot = st.container()
defaults = _default_rows(str(L.directory), stamp)
init_once("hm_rows", heatmaps.seed_rows(str(parsed_neuron.value) if parsed_neuron.value else None, defaults))
init_once("hm_sub", heatmaps.DEFAULT_SUBSTRING)
found_before = st.session_state.get("hm_found")
suggest = [str(s.neuron) for s in found_before.scores] if found_before is not None else []
options = list(dict.fromkeys(list(st.session_state["hm_rows"]) + defaults + suggest))
rows = st.multiselect("Neuron rows (type any name, e.g. concat.fwd:70)", options, key="hm_rows",
                      accept_new_options=True,
                      help="The first rows are the cell-state units (cell.fwd, cell.bwd) that fire most on the "
                           "-utyun suffix of the post's text. Add any neuron of any layer.")
good, bad = valid_neurons(rows, L.sizes)
notes(bad)
set_params(neuron=good[0] if good else None)
with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
    show_tracks = st.toggle("Annotation tracks under the rows", value=True, key="hm_tracks", width="content")
    per_line = st.segmented_control("Characters a line", LINE_WIDTHS, default=LINE_WIDTHS[2], key="hm_width",
                                    format_func=lambda n: f"{n} a line", label_visibility="collapsed",
                                    help="Characters in each block of the heatmap: fewer for a narrow screen.")
    if good:
        st.link_button(f"Intervene on these {len(good)} rows", intervene_url(good, text=url_text(text)),
                       icon=":material/tune:", type="tertiary",
                       help="Open the Intervene page with these neurons set to zero, on this text.")
with st.container(horizontal=True, vertical_alignment="center", gap="small"):
    st.markdown("**Other texts**")
    for i, (label, t) in enumerate(heatmaps.HEATMAP_EXAMPLES):
        st.button(label, key=f"hm_ex_{i}", on_click=use_text, args=(t,), type="tertiary",
                  icon=":material/north_east:")

spans = heatmaps.find_spans(text, st.session_state.get("hm_sub") or "")
with heat_slot:
    if not good:
        st.info("Add a neuron row (below, or from the substring search further down).", icon=":material/add:")
    else:
        tracks = _tracks(str(L.directory), stamp, text)
        width = per_line or LINE_WIDTHS[2]
        heat = heatmaps.heat_data(acts, text, outputs, good)
        show_chart(figures.cell_heatmap(heat, width=width, marks=spans, tracks=tracks.rows if show_tracks else ()),
                   "heatmap", {"rows": len(good), "text": text[:40]}, key="hm_fig",
                   tables=heatmap_table(heat), reproduce=heatmap_reproduce(text, good, L.directory))
        if show_tracks and tracks.rows:
            st.caption(hy.tracks_legend(tracks))


# ---- find neurons for a substring
@st.cache_data(max_entries=64, show_spinner="Searching the analysis sample…")
def _find(directory: str, stamp: tuple, text: str, sub: str, layers: tuple, sample: bool) -> heatmaps.Found:
    outputs = _acts(directory, file_stamp(directory, MODEL_FILES), text)[1]
    return heatmaps.substring_neurons(current_lab(), text, sub, list(layers), top=12, outputs=outputs,
                                     sample=sample)


def substring_section() -> None:
    st.markdown("**Find neurons for a substring** — which neurons fire inside it and not outside?")
    c1, c2, c3 = st.columns([2, 3, 1], vertical_alignment="bottom")
    sub = c1.text_input("Substring", key="hm_sub", max_chars=40)
    layers = c2.multiselect("Layers", list(L.sizes), default=list(READOUT_LAYERS), key="hm_layers")
    go = c3.button("Find", key="hm_find", type="primary", width="stretch")
    if go or "hm_found" not in st.session_state:
        # The sample-wide search needs the sample recording: on a first visit that is still loading
        # (or being re-made), start with the quick search over this text; "Find" runs the full one.
        sample = bool(go) or L.recording_ready
        st.session_state["hm_found"] = _find(str(L.directory), file_stamp(L.directory), text, sub,
                                             tuple(layers), sample)
    found: heatmaps.Found = st.session_state["hm_found"]
    if found.note:
        st.caption(found.note)
    if not spans and sub:
        st.caption(f"{md_literal(sub)} does not occur in the text above, so it is not outlined there.")
    if not found.scores:
        return
    table = {"neuron": [str(s.neuron) for s in found.scores],
             found.score_name: [round(s.hellinger, 3) for s in found.scores],
             "n inside": [s.n_pos for s in found.scores], "n outside": [s.n_neg for s in found.scores]}
    ev = show_table(table, "substring-neurons", {"substring": sub, "layers": len(layers)}, key="hm_found_df",
                    on_select="rerun", selection_mode="multi-row",
                    hide_index=True, width="stretch", height=min(320, 38 + 35 * len(found.scores)))
    picked = [str(found.scores[i].neuron) for i in (ev.selection.rows if ev else [])]
    b1, b2 = st.columns(2)
    b1.button(f"Add selected ({len(picked)}) as rows", key="hm_add_sel", on_click=add_rows, args=(picked,),
              disabled=not picked, width="stretch")
    b2.button("Add the top 4 as rows", key="hm_add_top", on_click=add_rows,
              args=([str(s.neuron) for s in found.scores[:4]],), width="stretch")


with st.container(border=True, key="hm_subs"):
    substring_section()


# ---- hypothesis (LSTMVis): the units on in a span and off around it, and where else they are
@st.cache_data(max_entries=32, show_spinner="Matching over the analysis sample…")
def _hypothesis(directory: str, stamp: tuple, text: str, span: tuple, layer: str, threshold: float, left: int,
                right: int, whole: bool):
    """The search, with enough matches returned for the panel to show both kinds in proportion."""
    from translit_core.analysis.methods.hypothesis import hypothesis
    current = current_lab()
    args = (current.model, current.alphabets, current.sample_recording(whole), text, span, layer, threshold, left,
            right)
    r = hypothesis(*args, top=hy.MATCHES_FETCHED)
    more = hy.fetch_for_mix(r)
    return r if more is None else hypothesis(*args, top=more)


def find_span_text() -> None:
    found = heatmaps.find_spans(st.session_state.get("hm_text") or "", st.session_state.get("hm_span_find") or "")
    if found:
        st.session_state["hm_span"] = found[0]


def seed_span(text: str, typed: str) -> None:
    """The span slider's value, set before it is drawn for `text` (the shown part of the `typed`
    text): the span chosen for this text if the slider still holds one; else the link's span when
    the link is for this text, or the text's default span. The slider holds none on the page's
    first run, for a new text (`hm_span_for` names the text of its span), and after a run that did
    not draw it: Streamlit drops a widget's state then (another page), while `hm_span_for` stays."""
    state = st.session_state
    if state.get("hm_span_for") != text or "hm_span" not in state:
        from_link = parsed_span.value if link_text == typed else None
        state["hm_span"] = from_link or hy.default_span(text)
        state["hm_span_for"] = text
    state["hm_span"] = hy.clamp_span(state["hm_span"], len(text))


def hypothesis_results(span: tuple[int, int], layer: str, threshold: float, left: int, right: int) -> None:
    """The units that fit the span, the counts of their matches over the sample, and the matches."""
    if L.analysis is None:
        st.info("The matches come from the analysis sample, which is missing: build it with "
                f"`{L.command}`.", icon=":material/info:")
        return
    try:
        hres = _hypothesis(str(L.directory), file_stamp(L.directory), text, span, layer, float(threshold),
                           int(left), int(right), L.whole_sample_ready)
    except QUERY_ERRORS as e:
        st.info(f"No hypothesis search: {md_plain(e)}", icon=":material/info:")
        return
    st.markdown(hy.units_note(hres))
    if not hres.units:
        return
    names = [f"{layer}:{u}" for u in hres.units]
    plural = "s" if len(names) > 1 else ""
    st.button(f"Add the {min(8, len(names))} unit{plural} as rows", key="hm_hyp_add", on_click=add_rows,
              args=(names[:8],))
    m1, m2, m3 = st.columns(3)
    m1.metric("Matches in the sample", f"{hres.n_matches:,}")
    m2.metric("With the span's letters", f"{hres.n_same_letters:,}")
    m3.metric("Every unit fitting", f"{hres.n_full:,}")
    st.caption(hy.counts_note(hres))
    if hres.matches:
        st.caption(hy.shown_note(hres, hy.shown_matches(hres)))
        st.html(hy.matches_html(hres))
        show_table(hy.match_rows(hres), "hypothesis", {"text": text[span[0]:span[1]], "layer": layer,
                   "thr": threshold}, key="hm_hyp_df", hide_index=True, width="stretch",
                   height=min(400, 38 + 35 * len(hres.matches)))


def hypothesis_section() -> None:
    st.markdown("**Hypothesis (LSTMVis)** — pick a span: the units that are on over the whole span and off just "
                "before and after it, and the other places in the sample where they do the same")
    span = st.slider("Span (characters, end exclusive)", 0, len(text), key="hm_span",
                     help="Drag the two ends; or type the span's letters in the box beside.")
    span = (int(span[0]), int(span[1])) if span[1] > span[0] else hy.clamp_span((span[0], span[0] + 1), len(text))
    h1, h2, h3, h4, h5 = st.columns([2, 2, 3, 1, 1], vertical_alignment="bottom")
    h1.text_input("or find letters", key="hm_span_find", on_change=find_span_text, max_chars=40,
                  placeholder="e.g. tyun")
    layer = h2.selectbox("Layer", [name for name in hy.HYPOTHESIS_LAYERS if name in L.sizes], key="hm_hlayer")
    threshold = h3.slider("Threshold (on above)", -0.9, 0.95, 0.3, 0.05, key="hm_thr")
    left = h4.number_input("Left", 0, 10, 1, key="hm_left",
                           help="characters before the span where the units must be off")
    right = h5.number_input("Right", 0, 10, 1, key="hm_right", help="characters after the span where they must be off")
    set_params(span=hy.span_param(span))
    st.caption(f"Span {span[0]}:{span[1]} = {md_literal(text[span[0]:span[1]], 40)}")
    hypothesis_results(span, layer, threshold, left, right)


seed_span(text, raw_text)
with st.container(border=True, key="hm_hyp"):
    hypothesis_section()
