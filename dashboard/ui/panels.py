"""Streamlit panels shared by several pages: the neuron graph, a neuron's histogram and the neuron
card (graph, histograms and neuron pages; computed from the analysis and its sample recording, so
cached per process), and the attribution of one output character (intervene and transliterate
pages; the character is chosen with widgets.output_picker)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import plotly.graph_objects as go
import streamlit as st

from translit_core.analysis import ABLATABLE_LAYERS, Pair
from translit_core.model.names import NeuronId, UnknownName

from ..views import figures
from ..views import intervene as iv
from ..views.card import ablation_sentence, best_ablation, contexts_html
from ..views.graph import GraphData, graph_data
from ..views.histograms import HistView, histogram_for
from ..views.lab import FIRST_SENTENCES, QUERY_ERRORS, Lab, Unavailable, file_stamp
from ..views.labels import input_label, layer_title, pair_label
from ..views.markdown import md_plain
from ..views.reproduce import (ablation_reproduce, ablation_tables, histogram_reproduce, histogram_table,
                               pairs_reproduce, pairs_table)
from ..views.reproduce_text import attribution_reproduce, attribution_tables
from ..views.text import CONFIDENCE_CSS
from . import structure
from .downloads import show_chart
from .widgets import current_lab

if TYPE_CHECKING:
    from translit_core.analysis.methods.attribution import Attribution


@st.cache_data(max_entries=128, show_spinner=False)
def _graph_data(directory: str, stamp: tuple, pair: str, max_edges: int) -> GraphData:
    lab = current_lab()
    return graph_data(lab.analysis, lab.alphabets, pair, max_edges=max_edges)


# A resource, not data: one figure per view for every session, not a copy per rerun (unpickling a
# figure costs about as much as drawing it). Safe to share: st.plotly_chart reads it (to_dict) and
# nothing changes it after it is drawn.
@st.cache_resource(max_entries=256, show_spinner=False)
def _graph_figure(directory: str, stamp: tuple, pair: str, max_edges: int, selected: str | None) -> go.Figure:
    return figures.neuron_graph(_graph_data(directory, stamp, pair, max_edges), selected=selected)


def neuron_graph(lab: Lab, pair: Pair, max_edges: int, selected: NeuronId | None) -> tuple[GraphData, go.Figure]:
    """The graph's data and figure for a pair, with `selected` highlighted. A pair's figure is
    drawn once per process (about 0.1 s); a pair switch that finds it costs milliseconds."""
    stamp = file_stamp(lab.directory)
    return (_graph_data(str(lab.directory), stamp, str(pair), max_edges),
            _graph_figure(str(lab.directory), stamp, str(pair), max_edges, str(selected) if selected else None))


def _recording_spinner(lab: Lab):
    if lab.recording_ready:
        return st.empty()
    if not lab.whole_sample_ready:
        return st.spinner(f"Recording the first {FIRST_SENTENCES} sentences of the sample (a few seconds)…")
    return st.spinner("Loading the sample recording behind histograms and contexts…")


@st.fragment(run_every=2)
def _recording_progress(lab: Lab) -> None:
    if lab.recording_ready:
        st.rerun(scope="app")       # the whole sample is there: draw the page again from it
    lab.warm_up()
    n = lab.analysis.meta.sample.get("n_sentences") if lab.analysis else None
    st.info(f"**Drawn from the first {FIRST_SENTENCES} of the sample's {f'{n:,}' if n else 'many'} sentences** "
            f"while the whole sample is recorded in the background ({lab.recording_progress:.0%}, once per model "
            f"and machine); the page redraws itself from it when it is done.", icon=":material/hourglass_top:")


def whole_sample_notice(lab: Lab) -> None:
    """At the top of a page that draws from the sample recording: while the whole sample is
    being recorded, a note that says what the page shows meanwhile, with the progress, which
    reruns the page when the recording is done (or says why it cannot be made)."""
    if lab.analysis is None or lab.whole_sample_ready:
        return
    if lab.recording_error:
        st.warning(f"The whole sample cannot be recorded ({md_plain(lab.recording_error)}); this page draws from "
                   f"its first {FIRST_SENTENCES} sentences.", icon=":material/warning:")
        return
    _recording_progress(lab)


@st.cache_data(show_spinner=False, max_entries=256)
def _histogram(directory: str, stamp: tuple, pair: str, neuron: str, whole: bool) -> HistView | str:
    try:
        return histogram_for(current_lab(), pair, neuron, whole=whole)
    except Unavailable as e:
        return str(e)


def histogram(lab: Lab, pair: Pair, neuron: NeuronId) -> HistView | None:
    """Cached histogram; a friendly message (and None) when it cannot be computed."""
    with _recording_spinner(lab):
        out = _histogram(str(lab.directory), file_stamp(lab.directory), str(pair), str(neuron), lab.whole_sample_ready)
    if isinstance(out, str):
        st.info(out, icon=":material/info:")
        return None
    return out


def show_histogram(lab: Lab, pair: Pair, neuron: NeuronId, key: str) -> None:
    hv = histogram(lab, pair, neuron)
    if hv is not None:
        show_chart(figures.histogram_overlay(hv), "histogram", {"pair": pair, "neuron": neuron}, key=key,
                   tables=histogram_table(hv), reproduce=histogram_reproduce(str(pair), str(neuron), lab.directory))
        part = (f" From the sample's first {hv.first_sentences} sentences only, while the whole sample is recorded."
                if hv.first_sentences else "")
        st.caption(f"Hellinger H = **{hv.hellinger:.3f}** between the activation of `{neuron}` where "
                   f"{md_plain(pair_label(pair))} (n = {hv.n_pos:,}) and where {md_plain(input_label(pair.x))} "
                   f"becomes anything else (n = {hv.n_neg:,}).{part}")


@st.cache_data(show_spinner=False, max_entries=256)
def _contexts(directory: str, stamp: tuple, neuron: str, k: int, whole: bool) -> list[str] | str:
    try:
        return contexts_html(current_lab(), neuron, k, whole=whole)
    except Unavailable as e:
        return str(e)


@st.cache_data(show_spinner=False, max_entries=256)
def _track(directory: str, stamp: tuple, neuron: str, whole: bool) -> str:
    """The neuron card's track line (Markdown): the annotation track that best predicts the unit."""
    from translit_core.analysis.methods.tracks import best_track
    try:
        b = best_track(current_lab().sample_recording(whole), neuron)
    except (Unavailable, *QUERY_ERRORS) as e:
        return f"**Tracks:** not available ({md_plain(e)})."
    rest = "; ".join(f"{'high' if high else 'low'} on {md_plain(name)} {auc:.2f}" for name, auc, high in b.runners_up)
    over = ("a seeded subsample of the analysis sample" if whole
            else f"the sample's first {FIRST_SENTENCES} sentences (the whole sample is being recorded)")
    return (f"**Tracks:** {md_plain(b.description)}. Next best (AUC): {rest}. Scored over {over}; "
            f"the sample has no lexicon pass, so no lexicon track.")


def intervene_link(neuron: NeuronId) -> None:
    """A button that opens the Intervene page (a new tab) with this neuron set to zero."""
    st.link_button("Intervene on this neuron", iv.intervene_url(neuron), icon=":material/tune:",
                   help=f"Open the Intervene page with {neuron} set to zero, on a text of your own.")


def neuron_card(lab: Lab, neuron: NeuronId, pair: Pair | None = None, key: str = "card",
                histogram_too: bool = True, title: bool = True, link: bool = True) -> None:
    """The neuron card: the pairs it separates best and where it fires (left), its distribution
    on its best pair (or `pair`) and the causal check (right); with `link`, a button that opens
    the Intervene page with the neuron set to zero."""
    a = lab.analysis
    if title:
        st.subheader(f"Neuron card · `{neuron}`")
    st.caption(layer_title(neuron.layer))
    if link:
        intervene_link(neuron)
    structure.card_section(lab, neuron)          # its saturation, its cluster and nearest neighbours
    try:
        best = a.top_pairs(neuron, 10)
    except UnknownName as e:
        st.info(f"No pair data for {neuron}: {md_plain(e)}")
        best = []
    shown_pair = pair or (best[0].pair if best else None)
    track_slot = st.empty()         # filled once the sample recording is there (below, under its spinner)
    c1, c2 = st.columns([1, 1], gap="large")
    with c1:
        if best:
            show_chart(figures.pairs_bar(best, title="Pairs it separates best"), "neuron-pairs", {"neuron": neuron},
                       key=f"{key}_pairs", tables=pairs_table(best),
                       reproduce=pairs_reproduce(str(neuron), len(best), lab.directory))
        st.markdown("**Where it fires most** — sample contexts around its highest activations, each "
                    "character shaded (red positive, blue negative), the peak underlined")
        with _recording_spinner(lab):
            whole, stamp = lab.whole_sample_ready, file_stamp(lab.directory)
            track_line = _track(str(lab.directory), stamp, str(neuron), whole)
            ctx = _contexts(str(lab.directory), stamp, str(neuron), 8, whole)
        track_slot.markdown(track_line)
        if isinstance(ctx, str):
            st.info(ctx, icon=":material/info:")
        elif ctx:
            st.html(CONFIDENCE_CSS + '<div class="tl-ctxs">' + "<br>".join(ctx) + "</div>")
        else:
            st.caption("No contexts available.")
    with c2:
        if histogram_too and shown_pair:
            show_histogram(lab, shown_pair, neuron, key=f"{key}_hist")
        res = best_ablation(a, neuron, [s.pair for s in best])
        st.markdown("**Causal check** — does knocking out the layer's most selective neurons hurt?")
        if res:
            show_chart(figures.ablation_bar(res), "ablation", {"pair": res.pair, "layer": res.layer},
                       key=f"{key}_ablation", tables=ablation_tables(res),
                       reproduce=ablation_reproduce(res, lab.directory))
            st.caption(ablation_sentence(res, neuron))
        elif neuron.layer in ABLATABLE_LAYERS and best:
            st.caption(f"No stored ablation for {neuron.layer} on this neuron's best pairs. Compute one with "
                       f"`python -m translit_core ablate --pair {best[0].pair} --layer {neuron.layer} --k 10`.")
        else:
            st.caption(f"Ablations are run for the {', '.join(ABLATABLE_LAYERS)} layers; {neuron.layer} has none.")


# --------------------------------------------------------------------------------------------
# Why this output character? (the intervene and transliterate pages)

@st.cache_data(max_entries=64, show_spinner="Integrating gradients…")
def _attribute(directory: str, stamp: tuple, text: str, position: int) -> Attribution | str:
    from translit_core.analysis.methods.attribution import attribute      # captum: loaded only when asked
    lab = current_lab()
    try:
        return attribute(lab.model, lab.alphabets, text, position)
    except UnknownName as e:
        return str(e)


def attribution_view(lab: Lab, text: str, position: int, outputs: Sequence[str], key: str) -> None:
    """Which input characters (through the forward LSTM, the backward one, or directly) and which
    units made the network's output at `position` of `text`, and the completeness check.
    `outputs`: the network's output per character of `text`."""
    attr = _attribute(str(lab.directory), file_stamp(lab.directory), text, int(position))
    if isinstance(attr, str):
        st.info(f"No attribution for this position: {md_plain(attr)}", icon=":material/info:")
        return
    heat = iv.attribution_heat(attr, outputs)
    tables, again = attribution_tables(attr, outputs), attribution_reproduce(text, attr.position, lab.directory)
    n = next(i for i, c in enumerate(attr.attributions) if c.position == attr.position)
    st.markdown(f"**{md_plain(iv.why_question(text, outputs, attr.position))}** How much each input "
                f"character added to the log-probability of this output, in nats.")
    # at least 25 columns: a short chunk's cells stay about as wide as the text's characters
    width = min(50, max(25, len(heat.chars)))
    show_chart(figures.cell_heatmap(heat, width=width, marks=[(n, n + 1)], value="attribution"),
               "attribution", {"at": attr.position, "text": text[:40]}, key=f"{key}_heat",
               tables={"characters": tables["characters"]}, reproduce=again)
    st.caption("Red: the character made this output more likely; blue: less. Rows: the total, and the part that "
               "reached the output through the forward LSTM (it reads the characters up to the outlined one, so "
               "it is 0 after it), through the backward LSTM (from it on, so 0 before it), and the character's "
               "own direct input to the output layer. On the plain model, over the text chunk the network reads "
               f"at once. Method: {md_plain(attr.method)}.")
    c = iv.completeness(attr)
    with st.container(border=True):
        st.markdown("**Completeness check** — the attributions add up to the change in log p between the "
                    "baseline (spaces) and the text")
        m1, m2, m3 = st.columns(3)
        m1.metric("Sum of the attributions", f"{c.total:.2f}")
        m2.metric("log p − log p(spaces)", f"{c.difference:.2f}")
        m3.metric("Error", f"{c.error:+.3f}", help="What integrated gradients' integral misses (32 steps).")
        st.caption(f"{iv.completeness_line(attr)} The error is {c.relative:.2%} of the difference.")
    show_chart(figures.unit_attribution_bars(attr), "attribution-units", {"at": attr.position, "text": text[:40]},
               key=f"{key}_units", tables={"units": tables["units"]}, reproduce=again)
    st.caption(f"The units at position {attr.position} that carried most of log p({md_plain(attr.target)}), "
               f"by the same method over the biLSTM's outputs (concat) and the dense layer (hidden); "
               f"completeness error of the unit attributions {attr.unit_delta:+.3f}.")
