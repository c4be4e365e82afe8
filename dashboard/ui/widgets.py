"""The Streamlit layer shared by every page: the cached lab, the missing-analysis notice, URL
state, the pair and neuron pickers, and the output picker (click a character). (A neuron's
histogram and card, and an output's attribution, are in panels.py, which needs plotly: the
transliterate page loads it only once a character is chosen.) The routing's `set_params` and
`url_param`, which every page uses too, are in routing.py.

Widgets, caches and layout only; what they show is computed by dashboard.views.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import streamlit as st

from translit_core import settings
from translit_core.analysis import Analysis, Pair
from translit_core.model.checkpoint import CheckpointError
from translit_core.model.names import NeuronId

from ..views import intervene as iv
from ..views import urls
from ..views.lab import Lab, analysis_headline, file_stamp, load_lab, loadable_models, take_prepared
from ..views.labels import input_choice_label, layer_choice_label, output_choice_label
from ..views.markdown import md_plain
from ..views.urls import pairs_by_input, url_text, url_text_note
from .routing import MODEL_KEY, MODEL_STATE, ensure_app_routing, set_params


# --------------------------------------------------------------------------------------------
# The lab: once per process

def _release_lab(released: Lab) -> None:
    """The cache let a lab go (a fifth model, or its files changed): its warm-up never starts."""
    released.release()


@st.cache_resource(show_spinner="Loading the model…", max_entries=4,     # the models a session compares
                   on_release=_release_lab)
def _load_lab(directory: str, stamp: tuple) -> Lab:
    # `stamp` (file times and sizes) is only a cache key: a rebuilt analysis file or a new
    # checkpoint is picked up on the next rerun without restarting the server.
    # The lab the server loaded as it started (views/lab.py's prepare_first_views), else a new one.
    return take_prepared(Path(directory), stamp) or load_lab(Path(directory), analysis=False)


def lab() -> Lab:
    """For a page, first thing: the lab for this process (and app.py's routing for this run);
    stops the page with a clear message if there is no model."""
    ensure_app_routing()
    return current_lab()


def offered_models() -> dict[str, Path]:
    """The models the app offers (settings.model_dirs), less those that cannot be loaded (the
    sidebar names those, routing.model_switch)."""
    return loadable_models(settings.model_dirs())[0]


def current_model() -> tuple[str, Path]:
    """(name, checkpoint directory) of the model this session looks at: the sidebar's switch
    (seeded from the URL's `model=` by routing), else the default."""
    models = offered_models()
    name = st.session_state.get(MODEL_STATE)
    if name not in models:
        name = next(iter(models))
    return name, models[name]


def lab_of(name: str) -> Lab | None:
    """The lab of the model called `name` (offered_models), loaded once per process; None
    (with the reason shown) when it cannot be loaded."""
    d = offered_models().get(name)
    if d is None:
        return None
    try:
        return _load_lab(str(d), file_stamp(d))
    except CheckpointError as e:
        st.warning(f"The model {md_plain(name)} cannot be loaded: {md_plain(e)}")
        return None


def _link_params() -> dict[str, str]:
    """The model for every link of the page (urls.page_url), when it is not the default."""
    name, _ = current_model()
    return {} if name == next(iter(offered_models())) else {MODEL_KEY: name}


urls.link_params = _link_params


def current_lab() -> Lab:
    """The lab of the session's model (inside cached functions too, which take its directory as
    their key: no routing, and no widgets unless it fails)."""
    d = current_model()[1]
    try:
        return _load_lab(str(d), file_stamp(d))
    except CheckpointError as e:
        st.error(f"The model cannot be loaded: {md_plain(e)}")
        st.stop()


def require_analysis(shown: Lab) -> Analysis:
    """The analysis of the lab `shown`, or a friendly notice with the command that builds it (and stop)."""
    if shown.analysis is None:
        missing_analysis_notice(shown)
        st.stop()
    shown.warm_up()
    return shown.analysis


def missing_analysis_notice(shown: Lab) -> None:
    """What to say when the lab `shown` has no analysis: why, and the command that builds it."""
    st.warning(analysis_headline(shown.analysis_status), icon=":material/science:")
    st.markdown(shown.analysis_error or "")
    st.code(shown.command, language="bash")


# --------------------------------------------------------------------------------------------
# URL state

def notes(messages) -> None:
    for m in messages:
        if m:
            st.info(m, icon=":material/info:")


def notes_once(key: str, messages) -> None:
    """Notes about the URL, shown when the page is opened, not again on every rerun."""
    if key not in st.session_state:
        notes(messages)
        st.session_state[key] = True


def set_text_param(text: str) -> None:
    """The page's text into the URL: whole, or its beginning and a caption that says so."""
    set_params(text=url_text(text))
    note = url_text_note(text)
    if note:
        st.caption(note)


def init_once(key: str, value) -> None:
    """Seed a widget's session value (from the URL) when it has none: the first time the page is
    shown, and again whenever Streamlit dropped it (it drops a widget's state on a run that does
    not draw the widget: another page). Call it on every run before the widget is drawn or its
    key is read; a value seeded on an earlier run may be gone."""
    if key not in st.session_state:
        st.session_state[key] = value


def example_buttons(text_key: str, examples) -> None:
    """A "Try" row of example texts; a click puts its text into the box `text_key`."""
    def use(text: str) -> None:
        st.session_state[text_key] = text

    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown("**Try**")
        for i, ex in enumerate(examples):
            st.button(ex, key=f"{text_key.split('_')[0]}_ex_{i}", on_click=use, args=(ex,), type="tertiary",
                      icon=":material/north_east:")


# --------------------------------------------------------------------------------------------
# Pickers

def pair_output_key(key: str, x: str) -> str:
    """The session key of pair_picker's output selectbox while the input is `x`."""
    return f"{key}_y:{x}"


def pair_picker(analysis: Analysis, key: str, default: Pair, label_x: str = "Input character",
                label_y: str = "Output", horizontal: bool = True,
                on_change: Callable[[], None] | None = None) -> Pair:
    """Two selectboxes: input character x, then an output y among the pairs that have data for x.
    `on_change` is called when the user changes either.

    The output box is a widget of its own for each x (pair_output_key). With one box for every
    x, a click on an output of the list of the x before (still open in the browser when the new
    x arrived) reached the new x, the server put the box back to a valid output, and the browser
    could keep showing the clicked one: pickers naming no pair above a graph of another
    (benchmarks/bench_graph_load.py). Now such a click names a box that is no longer drawn, and is
    dropped; the y chosen last is kept under `{key}_y` and carried to the next x where it fits."""
    by_input = pairs_by_input(analysis.pairs())
    xs = sorted(by_input, key=lambda c: (not c.isalpha(), c.lower(), c))
    kx, ky = f"{key}_x", f"{key}_y"
    if kx not in st.session_state:
        # The picker is new, or back after a run without it (Streamlit dropped its boxes' state
        # then, but not the plain `ky`): both start from `default`, never from a pair left before.
        known = default.x in by_input
        st.session_state[kx], st.session_state[ky] = (default.x, default.y) if known else (xs[0], None)
    if st.session_state[kx] not in by_input:
        st.session_state[kx] = xs[0]

    cols = st.columns(2) if horizontal else (st.container(), st.container())
    with cols[0]:
        x = st.selectbox(label_x, xs, key=kx, on_change=on_change, format_func=input_choice_label,
                         help="Only input characters that have analysis data are listed.")
    ys = by_input[x]
    kxy = pair_output_key(key, x)
    if st.session_state.get(kxy) not in ys:          # a box new to this run: the last y where it fits
        st.session_state[kxy] = st.session_state[ky] if st.session_state[ky] in ys else ys[0]
    with cols[1]:
        y = st.selectbox(label_y, ys, key=kxy, on_change=on_change, format_func=lambda s: output_choice_label(x, s),
                         help="Output symbols that this input character becomes in the sample.")
    st.session_state[ky] = y
    return analysis.parse_pair(Pair(x, y))


def neuron_picker(sizes: dict[str, int], key: str, default: NeuronId, layers: Sequence[str] | None = None) -> NeuronId:
    """A layer selectbox and an index box."""
    layers = list(layers or sizes)
    kl, ki = f"{key}_layer", f"{key}_index"
    init_once(kl, default.layer if default.layer in layers else layers[0])
    init_once(ki, default.index)
    c1, c2 = st.columns([3, 2])
    with c1:
        layer = st.selectbox("Layer", layers, key=kl, format_func=layer_choice_label)
    hi = sizes[layer] - 1
    if st.session_state[ki] > hi:
        st.session_state[ki] = hi
    with c2:
        idx = st.number_input("Neuron index", min_value=0, max_value=hi, step=1, key=ki)
    return NeuronId(layer, int(idx))


# --------------------------------------------------------------------------------------------
# Click an output character (the intervene and transliterate pages; panels.attribution_view
# explains it). The strip (views/intervene.py's strip_html: the input over the network's output) is a
# component (st.components.v2) of a few lines of JavaScript that sends back the position of a
# clicked character: no plotly, so the transliterate page stays light until one is chosen.

# Every click is sent with its time, so that a second click on the same character is a new value
# (output_picker tells a new click from the state the last one left).
_JS = """
export default function ({data, parentElement, setStateValue}) {
  let root = parentElement.querySelector('.ck-root');
  if (!root) {
    root = document.createElement('div');
    root.className = 'ck-root';
    parentElement.appendChild(root);
  }
  root.innerHTML = data;
  root.onclick = (event) => {
    const cell = event.target.closest('[data-pos]');
    if (cell) setStateValue('clicked', [Number(cell.dataset.pos), Date.now()]);
  };
}
"""
_strip = st.components.v2.component("translit_output_strip", css=iv.STRIP_CSS, js=_JS)


def _keep_clicks() -> None:
    """st.components.v2 keeps only the state values that have a callback; a click needs nothing
    more than the rerun it causes."""


def output_picker(key: str, text: str, outputs: Sequence[str], positions: Sequence[int],
                  default: int | None) -> int | None:
    """The output character to attribute: click it in the strip of the text's characters, or
    choose it in the list under the strip. The choice is the list's state, st.session_state[key];
    `default` (None: nothing chosen) replaces one that is not among `positions` (the characters
    the network decides). `outputs`: the network's output per character."""
    strip, used = f"{key}_click", f"{key}_clicked"
    # The strip keeps its last click in its state: only a click other than the one already used
    # moves the choice, so that the list can move it away in between.
    click = iv.strip_click(st.session_state.get(strip))
    if click is not None and click != st.session_state.get(used) and click[0] in positions:
        st.session_state[key] = click[0]
    st.session_state[used] = click
    if st.session_state.get(key) not in positions:
        st.session_state[key] = default
    _strip(data=iv.strip_html(text, outputs, positions, st.session_state[key]), key=strip,
           on_clicked_change=_keep_clicks)
    return st.selectbox("Output character: click one above, or choose it here", positions, key=key,
                        format_func=lambda i: iv.position_label(text, outputs, i),
                        placeholder="Click an output character above, or choose one here")
