"""Shared by every page: the cached lab (model + analysis, once per process), URL state helpers,
the missing-analysis notice, and the neuron card (shown on the graph page and on its own page).

Widgets and layout only; everything computed comes from translit_core.
"""
from __future__ import annotations

import streamlit as st

from translit_core import views

APP = views.Path(__file__).resolve().parent.parent / "app.py"


def _ensure_app_routing() -> None:
    """Make sure app.py (st.navigation) routes this run.

    Streamlit treats a pages/ folder next to the entrypoint as an old-style multipage app
    until the entrypoint has called st.navigation (and AppTest resets that on every run), so a
    deep link (/graph) can run the page file on its own, without app.py. Then run app.py here:
    its st.navigation switches to new-style routing, and it runs this same page (the URL names
    it) with the app's layout and URL state; stop this outer run afterwards.
    """
    if views.app_ran_this_run():
        return
    import runpy
    runpy.run_path(str(APP), run_name="__streamlit_app__")
    st.stop()


ICONS = {"transliterate": ":material/translate:", "graph": ":material/hub:",
         "histograms": ":material/bar_chart:", "heatmaps": ":material/grid_on:",
         "neuron": ":material/psychology:"}


def app_pages() -> dict[str, st.Page]:
    """The app's pages by URL name (app.py's st.navigation)."""
    folder = APP.parent / "pages"
    return {name: st.Page(str(folder / f"{name}.py"), title=title, icon=ICONS[name], url_path=name,
                          default=(name == views.DEFAULT_PAGE))
            for name, title in views.PAGES.items()}


@st.cache_resource(show_spinner="Loading the model…", max_entries=2)
def _load_lab(directory: str, stamp: tuple) -> views.Lab:
    # `stamp` (file times and sizes) is only a cache key: a rebuilt analysis file or a new
    # checkpoint is picked up on the next rerun without restarting the server.
    import torch
    # One intra-op thread per computation: the server runs every session's script in its own
    # thread, and small forward passes are fastest and steadiest single-threaded (on a busy
    # 2-core machine, two threads made a 200-character input take seconds instead of 30 ms).
    torch.set_num_threads(int(views.os.environ.get("TRANSLIT_TORCH_THREADS", "1")))
    return views.load_lab(views.Path(directory), analysis=False)


def lab() -> views.Lab:
    """For a page, first thing: the lab for this process; stops the page with a clear message
    if there is no model."""
    _ensure_app_routing()
    return current_lab()


def current_lab() -> views.Lab:
    """The lab (inside cached functions too: no routing, no widgets unless it fails)."""
    d = views.checkpoint_dir()
    stamp = views.file_stamp(d, views.MODEL_FILES + views.ANALYSIS_FILES)
    from translit_core.checkpoint import CheckpointError
    try:
        return _load_lab(str(d), stamp)
    except CheckpointError as e:
        st.error(f"The model cannot be loaded: {e}")
        st.stop()


def require_analysis(l: views.Lab):
    """The analysis, or a friendly notice with the command that builds it (and stop)."""
    if l.analysis is None:
        missing_analysis_notice(l)
        st.stop()
    l.warm_up()
    return l.analysis


def missing_analysis_notice(l: views.Lab) -> None:
    st.warning("This view needs the neuron analysis of the model, and it has not been built yet.",
               icon=":material/science:")
    st.markdown(l.analysis_error or "")
    st.code(l.command, language="bash")


def notes(messages) -> None:
    for m in messages:
        if m:
            st.info(m, icon=":material/info:")


def url_param(key: str) -> str | None:
    return views.first(st.query_params, key)


def set_params(**values) -> None:
    """Write the view's state into the URL (None removes a key); only what changed."""
    for k, v in values.items():
        if v is None or v == "":
            if k in st.query_params:
                del st.query_params[k]
        elif st.query_params.get(k) != str(v):
            st.query_params[k] = str(v)


def init_once(key: str, value) -> None:
    """Seed a widget's session value (from the URL) the first time the page is shown."""
    if key not in st.session_state:
        st.session_state[key] = value


def pair_picker(analysis, key: str, default: str, label_x: str = "Input character",
                label_y: str = "Output", horizontal: bool = True) -> str:
    """Two selectboxes: input char x, then an output y among the pairs that have data for x."""
    by_input = views.pairs_by_input(analysis)
    xs = sorted(by_input, key=lambda c: (not c.isalpha(), c.lower(), c))
    dx, dy = views.split_pair(default)
    kx, ky = f"{key}_x", f"{key}_y"
    init_once(kx, dx if dx in by_input else xs[0])
    if st.session_state[kx] not in by_input:
        st.session_state[kx] = xs[0]

    def reset_y():
        ys = by_input[st.session_state[kx]]
        if st.session_state.get(ky) not in ys:
            st.session_state[ky] = ys[0]

    cols = st.columns(2) if horizontal else (st.container(), st.container())
    with cols[0]:
        x = st.selectbox(label_x, xs, key=kx, on_change=reset_y,
                         format_func=lambda c: "space" if c == " " else c,
                         help="Only input characters that have analysis data are listed.")
    ys = by_input[x]
    init_once(ky, dy if (dy in ys and dx == x) else ys[0])
    if st.session_state[ky] not in ys:
        st.session_state[ky] = ys[0]
    with cols[1]:
        y = st.selectbox(label_y, ys, key=ky,
                         format_func=lambda s: {"_": "_  (nothing, placeholder)",
                                                "=": f"=  (keeps Latin “{x}”)"}.get(s, s),
                         help="Output symbols that this input character becomes in the sample.")
    return f"{x}:{y}"


def neuron_picker(sizes: dict, key: str, default: str, layers=None) -> str:
    """A layer selectbox and an index box; returns the neuron name."""
    layers = list(layers or sizes)
    dl, _, di = default.rpartition(":")
    kl, ki = f"{key}_layer", f"{key}_index"
    init_once(kl, dl if dl in layers else layers[0])
    init_once(ki, int(di) if di.isdigit() else 0)
    c1, c2 = st.columns([3, 2])
    with c1:
        layer = st.selectbox("Layer", layers, key=kl, format_func=lambda l: f"{l} — {views.LAYER_TITLES.get(l, l)}")
    hi = sizes[layer] - 1
    if st.session_state[ki] > hi:
        st.session_state[ki] = hi
    with c2:
        idx = st.number_input("Neuron index", min_value=0, max_value=hi, step=1, key=ki)
    return f"{layer}:{int(idx)}"


def _recording_spinner(l: views.Lab):
    if l.recording_ready:
        return st.empty()
    return st.spinner("Loading the sample recording behind histograms and contexts (first time only; "
                      "it is re-made from the held-out data if it is not cached — up to a minute or two)…")


@st.cache_data(show_spinner=False, max_entries=256)
def _histogram(directory: str, stamp: tuple, pair: str, neuron: str) -> views.HistView | str:
    try:
        return views.histogram_for(current_lab(), pair, neuron)
    except views.Unavailable as e:
        return str(e)


def histogram(l: views.Lab, pair: str, neuron: str) -> views.HistView | None:
    """Cached histogram; a friendly message (and None) when it cannot be computed."""
    stamp = views.file_stamp(l.directory, views.MODEL_FILES + views.ANALYSIS_FILES)
    with _recording_spinner(l):
        out = _histogram(str(l.directory), stamp, pair, neuron)
    if isinstance(out, str):
        st.info(out, icon=":material/info:")
        return None
    return out


def show_histogram(l: views.Lab, pair: str, neuron: str, key: str) -> None:
    from translit_core import figures
    hv = histogram(l, pair, neuron)
    if hv is not None:
        st.plotly_chart(figures.histogram_overlay(hv), key=key, config={"displayModeBar": False})
        st.caption(f"Hellinger H = **{hv.hellinger:.3f}** between the activation of `{neuron}` where "
                   f"{views.pair_label(pair)} (n = {hv.n_pos:,}) and where {views.pair_label(pair).split('→')[0]} becomes "
                   f"anything else (n = {hv.n_neg:,}).")


@st.cache_data(show_spinner=False, max_entries=256)
def _contexts(directory: str, stamp: tuple, neuron: str, k: int) -> list[str] | str:
    try:
        return views.top_contexts(current_lab(), neuron, k)
    except views.Unavailable as e:
        return str(e)


def neuron_card(l: views.Lab, neuron: str, pair: str | None = None, key: str = "card",
                histogram_too: bool = True, title: bool = True) -> None:
    """The neuron card: best pairs and where it fires (left), its distribution on its best pair
    (or `pair`) and the causal check (right)."""
    from translit_core import figures
    a = l.analysis
    layer = neuron.rpartition(":")[0]
    if title:
        st.subheader(f"Neuron card · `{neuron}`")
    st.caption(views.LAYER_TITLES.get(layer, layer))
    try:
        best = views.top_pairs(a, neuron, 10)
    except (ValueError, KeyError) as e:
        st.info(f"No pair data for {neuron}: {e}")
        best = []
    shown_pair = pair or (best[0].name if best else None)
    c1, c2 = st.columns([1, 1], gap="large")
    with c1:
        if best:
            st.plotly_chart(figures.pairs_bar(best, title="Pairs it separates best"), key=f"{key}_pairs",
                            config={"displayModeBar": False})
        st.markdown("**Where it fires most** — sample contexts around its highest activations, each "
                    "character shaded (red positive, blue negative), the peak underlined")
        stamp = views.file_stamp(l.directory, views.MODEL_FILES + views.ANALYSIS_FILES)
        with _recording_spinner(l):
            ctx = _contexts(str(l.directory), stamp, neuron, 8)
        if isinstance(ctx, str):
            st.info(ctx, icon=":material/info:")
        elif ctx:
            st.html(views.CONFIDENCE_CSS + '<div class="tl-ctxs">' + "<br>".join(ctx) + "</div>")
        else:
            st.caption("No contexts available.")
    with c2:
        if histogram_too and shown_pair:
            show_histogram(l, shown_pair, neuron, key=f"{key}_hist")
        res = views.best_ablation(a, neuron, [s.name for s in best])
        st.markdown("**Causal check** — does knocking out the layer's most selective neurons hurt?")
        if res:
            st.plotly_chart(figures.ablation_bar(res), key=f"{key}_ablation", config={"displayModeBar": False})
            st.caption(views.ablation_sentence(res, neuron))
        elif layer in ("concat.fwd", "concat.bwd", "hidden") and best:
            st.caption(f"No stored ablation for {layer} on this neuron's best pairs. Compute one with "
                       f"`python -m translit_core ablate --pair {best[0].name} --layer {layer} --k 10`.")
        else:
            st.caption(f"Ablations are run for the concat and hidden layers; {layer} has none.")
