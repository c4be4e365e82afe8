"""Compare models: the base and a twin trained to be interpretable, neuron by neuron, on the same
sample and statistics. Widgets only: translit_core.analysis.comparison.models computes,
dashboard/views/compare.py draws."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import show_chart, show_table
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import init_once, lab, lab_of, notes_once, offered_models
from dashboard.views import compare as cv
from dashboard.views.lab import STALE, file_stamp
from dashboard.views.markdown import md_plain
from dashboard.views.reproduce_units import compare_reproduce, compare_tables
from dashboard.views.urls import parse_choice
from translit_core.analysis.comparison.models import (BREAK_KS, SELECTIVE_EXCESS, SELECTIVE_Q, TRACK_AUC,
                                                      TRACK_POSITIONS, compare, default_pair, track_profile,
                                                      units_to_break)
from translit_core.analysis.measurement.names import POST_PAIRS
from translit_core.model.names import READOUT_LAYERS

lab()
st.title("Compare models")
st.caption(f"Two models on the same sample and statistics. A unit is **selective** for a pair when its H excess "
           f"(H minus its label-permutation null) is at least {SELECTIVE_EXCESS} and its q-value (the permutation "
           f"p corrected by Benjamini–Hochberg over the layer's units × pairs) is at most {SELECTIVE_Q}; "
           f"it is **monosemantic** when every pair it is selective for has the same input character (pairs of one "
           f"input are complementary: a unit telling t→թ also tells t→other).")

dirs = offered_models()
names = list(dirs)
first_a, first_b = default_pair(dirs)            # a regularized twin against its control, where the lab has them
parsed_a = parse_choice(url_param("a"), [first_a] + [n for n in names if n != first_a], "model")
parsed_b = parse_choice(url_param("b"), [first_b] + [n for n in names if n != first_b], "model")
parsed_view = parse_choice(url_param("view"), list(cv.TABS), "view")   # the tabs drop a bad one; say so
notes_once("cmp_seen", [parsed_a.note, parsed_b.note, parsed_view.note])
if len(names) < 2:
    st.info("Only one model is installed. Train a twin with an interpretability regularizer (`python -m translit_core "
            "train … --reg decov --reg-weight W`), analyze it, put it under checkpoints/ (or name it in "
            "$TRANSLIT_MODELS) and it appears here. Below: this model's own profile.", icon=":material/info:")
init_once("cmp_a", parsed_a.value)
init_once("cmp_b", parsed_b.value)
c1, c2 = st.columns(2)
a_name = c1.selectbox("Model A", names, key="cmp_a")
b_name = c2.selectbox("Model B", names, key="cmp_b")
set_params(a=a_name if a_name != first_a else None, b=b_name if b_name != first_b else None)
labs = [lab_of(a_name), lab_of(b_name)]
missing = [n for n, loaded in zip((a_name, b_name), labs) if loaded is not None and loaded.analysis is None]
if any(loaded is None for loaded in labs) or missing:
    for n in missing:
        what = "is out of date: rebuild" if lab_of(n).analysis_status == STALE else "has not been built yet: build"
        st.warning(f"The neuron analysis of {md_plain(n)} {what} it with `python -m translit_core analyze "
                   f"--checkpoint {dirs[n]}`.", icon=":material/science:")
    st.stop()


@st.cache_data(max_entries=8, show_spinner="Comparing the two analyses…")
def _compare(dir_a: str, stamp_a: tuple, dir_b: str, stamp_b: tuple, a: str, b: str):
    return compare(lab_of(a).analysis, lab_of(b).analysis, (a, b))


la, lb = labs
c = _compare(str(la.directory), file_stamp(la.directory), str(lb.directory), file_stamp(lb.directory), a_name, b_name)
params = {"a": a_name, "b": b_name}
# Lazy tabs: only the open one runs and is sent to the browser, so the page arrives with its answer
# (the verdict and the tables) and the charts and on-demand reruns cost nothing until asked for.
# The open tab is in the URL (view=), so a link opens the charts directly.
summary, charts, breaking, reading = st.tabs(list(cv.TABS), key="view", on_change="rerun", bind="query-params")

if summary.open:
    with summary:
        if a_name == b_name:
            st.caption("A and B are the same model: its profile, twice.")
        else:
            st.info(c.verdict(), icon=":material/balance:")
        st.markdown(cv.model_line(c.a) + "  \n" + cv.model_line(c.b))
        st.markdown("**Per layer**")
        show_table(cv.layer_rows(c), "compare-layers", params, key="cmp_layers", hide_index=True, width="stretch")
        st.markdown("**The post's pairs**: selective units per layer, and the accuracy on the pair's target")
        show_table(cv.pair_rows(c), "compare-pairs", params, key="cmp_pairs", hide_index=True, width="stretch")
        if c.a.saturation or c.b.saturation:
            st.markdown("**Gate saturation**: share of each gate layer's units open (> 0.9) on more than 90% of "
                        "positions")
            show_table(cv.saturation_rows(c), "compare-saturation", params, key="cmp_sat", hide_index=True,
                       width="stretch")

if charts.open:
    with charts:
        tables, again = compare_tables(c), compare_reproduce(la.directory, lb.directory)
        show_chart(cv.summary_bars(c), "compare", params, key="cmp_bars", tables={"layers": tables["layers"]},
                   reproduce=again)
        st.markdown("**The distribution of H excess** over every (pair, unit) cell of each readout layer")
        show_chart(cv.excess_distribution(c), "compare-excess", params, key="cmp_excess",
                   tables={"excess": tables["excess"]}, reproduce=again)


@st.cache_data(max_entries=16, show_spinner=False)
def _break(directory: str, stamp: tuple, name: str, pair: str, layer: str):
    shown = lab_of(name)
    return units_to_break(shown.recording(), shown.analysis.layer_scores(pair, layer), pair, layer)


def units_to_break_view() -> None:
    st.caption(f"The top k units of a layer by H excess set to their mean at every step of the recurrence (the "
               f"changed state feeds forward), k = {', '.join(map(str, BREAK_KS))}; broken: fewer than half of the "
               f"pair's target positions stay right. A seeded subset of about 1,000 positions of x, rerun for each "
               f"k: about a minute per model.")
    b1, b2, b3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    both = {str(p) for p in la.analysis.pairs()} & {str(p) for p in lb.analysis.pairs()}
    pairs = [p for p in POST_PAIRS if p in both] + sorted(both - set(POST_PAIRS))      # the post's first
    # persist_state: the choice survives the runs where this tab is closed (and its widgets not drawn)
    pair = b1.selectbox("Pair", pairs, key="cmp_break_pair", persist_state="page") if pairs else None
    layer = b2.selectbox("Layer", list(READOUT_LAYERS), index=1, key="cmp_break_layer", persist_state="page")
    # The click is handed over in a callback (a flag in session state): it survives a rerun that
    # the routing makes before the page runs, where a button's own True would not.
    b3.button("Ablate", key="cmp_break_go", type="primary", width="stretch", disabled=pair is None,
              on_click=lambda: st.session_state.update(cmp_break_asked=True))
    key = f"cmp_break|{a_name}|{b_name}|{pair}|{layer}"        # the curves of this choice, once computed
    if st.session_state.pop("cmp_break_asked", False) and pair:
        with st.spinner("Rerunning the network with the top units ablated…"):
            st.session_state[key] = {n: _break(str(m.directory), file_stamp(m.directory), n, pair, layer)
                                     for n, m in ((a_name, la), (b_name, lb))}
    if key in st.session_state:
        curves = st.session_state[key]
        st.markdown(" · ".join(f"**{md_plain(n)}**: broken at k = {cu.units_to_break}" if cu.units_to_break
                               else f"**{md_plain(n)}**: not broken by k = {cu.ks[-1]}" for n, cu in curves.items()))
        show_table(cv.break_rows(curves), "compare-break", {**params, "pair": pair, "layer": layer},
                   key="cmp_break_rows", hide_index=True, width="stretch")


@st.cache_data(max_entries=16, show_spinner=False)
def _tracks(directory: str, stamp: tuple, name: str, layer: str):
    return track_profile(lab_of(name).recording(), layer)


def tracks_view() -> None:
    st.caption(f"Each unit's best annotation track (word start / middle / end, the digraphs, kept Latin, uncertain, "
               f"lexicon change: the heatmap's rows) by AUC, on {TRACK_POSITIONS:,} seeded positions of the sample; "
               f"a unit is explained when its best track reaches AUC {TRACK_AUC}. About ten seconds per model.")
    t1, t2 = st.columns([4, 1], vertical_alignment="bottom")
    track_layer = t1.selectbox("Layer", list(READOUT_LAYERS), key="cmp_track_layer", persist_state="page")
    t2.button("Score", key="cmp_track_go", type="primary", width="stretch",
              on_click=lambda: st.session_state.update(cmp_track_asked=True))
    tkey = f"cmp_tracks|{a_name}|{b_name}|{track_layer}"
    if st.session_state.pop("cmp_track_asked", False):
        with st.spinner("Scoring every unit against the annotation tracks…"):
            st.session_state[tkey] = {n: _tracks(str(m.directory), file_stamp(m.directory), n, track_layer)
                                      for n, m in ((a_name, la), (b_name, lb))}
    if tkey in st.session_state:
        show_table(cv.track_rows(st.session_state[tkey]), "compare-tracks", {**params, "layer": track_layer},
                   key="cmp_track_rows", hide_index=True, width="stretch")


if breaking.open:
    with breaking:
        units_to_break_view()
if reading.open:
    with reading:
        tracks_view()
