"""Gate saturation and unit clusters in the Streamlit layer: where they come from (the analysis
file, else computed once per process), and their part of the neuron card. The /gates and
/clusters pages are widgets over this; the figures and the card's lines are views/gates.py and
views/clusters.py.

Both are stored in the analysis file by `analyze` (translit_core.analysis.methods.saturation,
.clusters). An analysis written before they were stored still works: they are computed from the
sample recording once per process (a spinner says so; about ten seconds each on the shipped
sample), and the page says how to store them.
"""
from __future__ import annotations

import streamlit as st

from translit_core.analysis.methods.clusters import CLUSTER_LAYERS, Clusters, recording_clusters
from translit_core.analysis.methods.saturation import Saturation, recording_saturation
from translit_core.model.names import NeuronId

from ..views.clusters import cluster_line, clusters_missing_line
from ..views.gates import gates_of, saturation_line, saturation_missing_line
from ..views.lab import QUERY_ERRORS, Lab, file_stamp
from ..views.markdown import md_plain
from .widgets import current_lab

# What this process computed for an analysis that does not store it: {(directory, stamp, what): result}.
# The neuron card reads it without computing (only the two pages compute).
_computed: dict[tuple, object] = {}


@st.cache_resource(max_entries=4, show_spinner=False)
def _saturation(directory: str, stamp: tuple) -> Saturation:
    out = recording_saturation(current_lab().recording())
    _computed[(directory, stamp, "saturation")] = out
    return out


@st.cache_resource(max_entries=4, show_spinner=False)
def _clusters(directory: str, stamp: tuple) -> Clusters:
    lab = current_lab()
    out = recording_clusters(lab.recording(), seed=lab.analysis.meta.sample_seed)
    _computed[(directory, stamp, "clusters")] = out
    return out


def missing_note(what: str, lab: Lab) -> None:
    st.caption(f"This analysis file was written before {what} were stored with it, so they were computed from the "
               f"sample recording for this session. Store them with `{lab.command}`.")


def _stored_or_computed(lab: Lab, stored, compute, spinner: str, what: str, stored_what: str):
    """`stored` if the analysis has it, else `compute()` (under `spinner`) and a note on how to
    store it; None (and the error) when it cannot be computed."""
    if stored is not None:
        return stored
    with st.spinner(spinner):
        try:
            out = compute()
        except QUERY_ERRORS as e:
            st.error(f"Could not compute the {what}: {md_plain(e)}")
            return None
    missing_note(stored_what, lab)
    return out


def saturation(lab: Lab) -> Saturation | None:
    """The stored saturation, else computed (with a spinner); None (and a note) when it cannot be."""
    return _stored_or_computed(
        lab, lab.analysis.saturation, lambda: _saturation(str(lab.directory), file_stamp(lab.directory)),
        "Gate saturation is not stored with this analysis: computing it from the sample recording (once; about "
        "ten seconds)…", "gate saturation", "the gates' saturation fractions")


def clusters(lab: Lab) -> Clusters | None:
    """The stored clusters, else computed (with a spinner); None (and a note) when they cannot be."""
    return _stored_or_computed(
        lab, lab.analysis.clusters, lambda: _clusters(str(lab.directory), file_stamp(lab.directory)),
        "Unit clusters are not stored with this analysis: computing them from the sample recording (once; about "
        "ten seconds)…", "unit clusters", "the unit clusters")


def _ready(lab: Lab, what: str):
    """Stored, or already computed in this process; else None (the card never waits for them)."""
    stored = getattr(lab.analysis, what)
    return stored if stored is not None else _computed.get((str(lab.directory), file_stamp(lab.directory), what))


def card_section(lab: Lab, neuron: NeuronId) -> None:
    """The unit's saturation (or its gates'), and its cluster, representative and nearest neighbours."""
    sat, cl = _ready(lab, "saturation"), _ready(lab, "clusters")
    if gates_of(neuron):
        if sat is None:
            st.caption(saturation_missing_line(neuron))
        else:
            st.markdown(saturation_line(sat, neuron))
    if neuron.layer in CLUSTER_LAYERS:
        if cl is None or neuron.layer not in cl.layers:
            st.caption(clusters_missing_line(neuron))
        else:
            st.markdown(cluster_line(cl.layer(neuron.layer), neuron))
