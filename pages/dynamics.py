"""Training dynamics: how the post's key units form, snapshot by snapshot (train --snapshots).
Widgets only: translit_core.analysis.comparison.dynamics computes, dashboard/views/dynamics.py draws."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import show_chart, show_table
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import init_once, lab, notes_once, offered_models
from dashboard.views import dynamics as dv
from dashboard.views.markdown import md_plain
from dashboard.views.reproduce_units import dynamics_reproduce, dynamics_table
from dashboard.views.urls import parse_choice, parse_count
from translit_core import settings
from translit_core.analysis.comparison.dynamics import (ROLE_PAIRS, load_dynamics, role_changes, role_moves,
                                                        snapshot_dynamics)
from translit_core.analysis.comparison.models import default_pair
from translit_core.analysis.measurement.names import AnalysisError, SampleMissing
from translit_core.training.snapshots import list_snapshots

lab()
st.title("Training dynamics")
st.caption("A training run keeps copies of its weights along the way (`train --snapshots 0.125,0.25,0.5,1,2,4,8`). "
           "For each, on the same held-out sentences: the best H excess (H minus its permutation null) of each of "
           "the post's pairs per readout layer, and the forward unit that plays the post's #70 role (the best mean "
           f"excess over {', '.join(f'`{p}`' for p in ROLE_PAIRS)}): when it appears, and whether it stays the same "
           "unit.")
runs = settings.run_dirs()
if not runs:
    st.info("No training run with snapshots is installed: train with `--snapshots`, then put the run under runs/ "
            "or name it in $TRANSLIT_RUNS (\"name=DIR\").", icon=":material/info:")
    st.stop()
# The run of the model the Compare page opens on (a regularized twin) first, then the others.
twin = default_pair(offered_models())[1]
names = sorted(runs, key=lambda n: n != twin)
parsed_run = parse_choice(url_param("run"), names, "run")
parsed_n = parse_count(url_param("n"), 50, 2000, 300, "number of sentences")
notes_once("dyn_seen", [parsed_run.note, parsed_n.note])
init_once("dyn_run", parsed_run.value)
init_once("dyn_n", parsed_n.value)
c1, c2 = st.columns([2, 1])
run = c1.selectbox("Run", names, key="dyn_run")
snaps = list_snapshots(runs[run])
try:
    stored = load_dynamics(runs[run])
except AnalysisError as e:
    stored = None
    st.warning(md_plain(e), icon=":material/warning:")
if snaps:
    n = c2.slider("Held-out sentences", 50, 2000, step=50, key="dyn_n")
elif stored is not None:                        # the shipped points: the snapshots themselves are not installed
    n = stored.sentences
    c2.caption(f"Measured on {n} held-out sentences when the run was trained (its snapshots are not installed "
               f"here, so the sample cannot be changed; `train --snapshots` keeps them).")
else:
    st.info(f"No snapshots and no stored points for {md_plain(run)}.", icon=":material/info:")
    st.stop()
set_params(run=run, n=n)


@st.cache_data(max_entries=8, show_spinner=False)
def _dynamics(directory: str, stamp: tuple, n: int):
    from translit_core.analysis.measurement.sample import sample_sentences
    return snapshot_dynamics(directory, sample_sentences(settings.data_dir(), n, 0))


use_stored = stored is not None and stored.sentences == n and stored.seed == 0
if use_stored:
    points = stored.points
else:
    stamp = tuple((s.epoch, s.step) for s in snaps)
    try:
        with st.spinner(f"Recording {n} sentences through {len(snaps)} snapshots (a few seconds each)…"):
            points = _dynamics(str(runs[run]), stamp, int(n))
    except (AnalysisError, SampleMissing, OSError) as e:
        st.info(f"No dynamics for this run: {md_plain(e)}", icon=":material/info:")
        st.stop()
params = {"run": run, "n": n}
show_chart(dv.excess_lines(points), "dynamics", params, key="dyn_fig", tables=dynamics_table(points),
           reproduce=dynamics_reproduce(runs[run], int(n), stored=use_stored))
show_table(dv.point_rows(points), "dynamics-snapshots", params, key="dyn_rows", hide_index=True, width="stretch")
st.markdown("**The #70 role:** " + "; ".join(f"`{u}` from epoch {e:g}" for e, u in role_changes(points)))
moves = role_moves(points)
if moves:
    st.caption("Where the role's unit changed, the unit before it at that snapshot: " + moves)
