"""Intervene: silence, clamp, scale or steer neurons on your own text, and see which input
characters made an output. Widgets only: the URL, the aligned view and the sentences are in
dashboard/views/intervene.py."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import download_rows
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import (current_lab, example_buttons, init_once, lab, missing_analysis_notice, notes,
                                  notes_once, output_picker, pair_picker, set_text_param)
from dashboard.views import intervene as iv
from dashboard.views.lab import file_stamp
from dashboard.views.labels import layer_choice_label, layer_title, pair_label
from dashboard.views.markdown import md_literal, md_plain
from dashboard.views.text import cap_text
from dashboard.views.urls import parse_count, parse_pair, parse_text, valid_neurons
from translit_core.analysis.methods.intervene import (MAX_TEXT, VALUE_LIMIT, InterventionResult, Setting, intervene,
                                                      plain_pass, steer)
from translit_core.model.names import NeuronId, UnknownName

L = lab()
A = L.analysis
if A is not None:
    L.warm_up()

st.title("Intervene")
st.caption("Ask the network a question of your own: silence, clamp, scale or shift some neurons on your text "
           "and see which characters change (the network's own choices, without the rules on top); steer a "
           "pair's neurons towards an output; and see which input characters made an output.")

# ---- the URL, read once when the page is opened
parsed = iv.parse_settings({op: st.query_params.get_all(op) for op in iv.URL_OPS}, L.sizes)
init_once("iv_text", parse_text(url_param("text"), iv.EXAMPLE_TEXTS[0]).value)
init_once("iv_neurons", [str(s.neuron) for s in parsed.value])
init_once("iv_url_settings", {str(s.neuron): s for s in parsed.value})
url_span = iv.parse_span_param(url_param("span"), len(st.session_state["iv_text"]))
init_once("iv_where", "span" if url_span.value else "all")
if url_span.value:
    init_once("iv_span", url_span.value)
notes_once("iv_seen", [parsed.note, url_span.note])


example_buttons("iv_text", iv.EXAMPLE_TEXTS)

raw_text = st.text_area("Text", key="iv_text", height=80, placeholder="tsaghiknery tsaghkum en",
                        help=f"Latin-typed Armenian; interventions run on up to {MAX_TEXT:,} characters.") or ""
capped = cap_text(raw_text, MAX_TEXT, "intervened on")
text = capped.text
if capped.notice:
    st.warning(capped.notice, icon=":material/content_cut:")

set_text_param(raw_text)

# The page is three fragments under the text: changing a neuron reruns only the interventions and
# their before/after view, a steering control only the steering, a click only the attribution
# (each is independent of the others' widgets; a new text reruns them all).


@st.cache_data(max_entries=16, show_spinner=False)
def _plain_pass(directory: str, stamp: tuple, text: str):
    """The text's pass without interventions (log-probabilities), kept for every change of a setting."""
    current = current_lab()
    return plain_pass(current.model, current.alphabets, text)


@st.cache_data(max_entries=128, show_spinner=False)
def _intervene(directory: str, stamp: tuple, text: str, settings: tuple, span) -> InterventionResult | str:
    current = current_lab()
    try:
        wants_means = current.analysis is not None and any(s.op == "mean" for s in settings)
        means = current.analysis.unit_means() if wants_means else None
        return intervene(current.model, current.alphabets, text, list(settings), span=span, means=means,
                         plain=_plain_pass(directory, stamp, text))
    except UnknownName as e:
        return str(e)


@st.cache_data(max_entries=64, show_spinner=False)
def _steer(directory: str, stamp: tuple, text: str, pair: str, k: int, alpha: float):
    current = current_lab()
    try:
        return steer(current.model, current.alphabets, current.analysis, text, pair, k=k, alpha=alpha)
    except UnknownName as e:
        return str(e)


def add_neurons(names) -> None:
    have = st.session_state["iv_neurons"]
    st.session_state["iv_neurons"] = have + [n for n in map(str, names) if n not in have]


def add_typed() -> None:
    names = [p for p in st.session_state.get("iv_names", "").replace(";", ",").split(",") if p.strip()]
    good, bad = valid_neurons([n.strip() for n in names], L.sizes)
    add_neurons(good)
    st.session_state["iv_add_notes"] = bad
    st.session_state["iv_names"] = ""


def add_top() -> None:
    state = st.session_state
    pair, layer, k = state["iv_top_pair_value"], state["iv_top_layer"], state["iv_top_k"]
    add_neurons(s.neuron for s in A.top_neurons(pair, layer, int(k)))


def remove(name: str) -> None:
    st.session_state["iv_neurons"] = [n for n in st.session_state["iv_neurons"] if n != name]


def clear() -> None:
    st.session_state["iv_neurons"] = []


def neuron_pickers() -> None:
    """Two ways to add neurons: by name, and a pair's top units (with the analysis)."""
    st.subheader("Neurons")
    c1, c2 = st.columns(2, gap="large")
    with c1:
        st.text_input("Add neurons by name", key="iv_names", on_change=add_typed,
                      placeholder="concat.fwd:159, hidden:37, gate.bwd.g:6",
                      help="Comma-separated names (layer:index); press Enter to add. Layers: " + ", ".join(L.sizes))
        notes(st.session_state.pop("iv_add_notes", []))
    with c2:
        if A is None:
            missing_analysis_notice(L)
            return
        with st.container(border=True):
            st.markdown("**Quick pick:** the top units of a pair, by H excess (Hellinger distance minus its "
                        "noise floor)")
            top_pair = pair_picker(A, "iv_top_pair", parse_pair(None, A.pairs()).value)
            st.session_state["iv_top_pair_value"] = top_pair
            t1, t2, t3 = st.columns([4, 2, 2], vertical_alignment="bottom")
            with t1:
                st.selectbox("Layer", [name for name in A.layers if name != "output"], key="iv_top_layer",
                             format_func=layer_choice_label)
            with t2:
                st.number_input("k", min_value=1, max_value=50, value=5, step=1, key="iv_top_k")
            with t3:
                st.button("Add", key="iv_add_top", on_click=add_top, icon=":material/add:",
                          help="Add the pair's k most selective units of the layer (each set to zero).")


def setting_value(name: str, n: NeuronId, op: str, s0: Setting | None) -> float | None:
    """The value box of a neuron's row for its operation: a slider over the unit's observed range
    to clamp it to, a factor or an amount; None for zero and mean (nothing to choose)."""
    if op == "set":
        lo, hi = iv.observed_range(A, n, [s0.value] if s0 and s0.op == "set" else [])
        key = f"iv_clamp:{name}"
        init_once(key, iv.default_value(s0, "set", lo, hi))
        st.session_state[key] = min(max(float(st.session_state[key]), lo), hi)
        return st.slider("Clamp to", lo, hi, step=0.01, key=key, label_visibility="collapsed",
                         help="The unit's observed range in the analysis sample.")
    if op in ("scale", "add"):
        key = f"iv_{op}:{name}"
        init_once(key, iv.default_value(s0, op, -VALUE_LIMIT, VALUE_LIMIT))
        return st.number_input("Factor" if op == "scale" else "Amount", -VALUE_LIMIT, VALUE_LIMIT, step=0.5,
                               key=key, label_visibility="collapsed")
    st.caption("set to 0" if op == "zero" else "set to its mean over every position of the sample")
    return None


def neuron_row(name: str, ops: list[str]) -> Setting:
    """One chosen neuron's row: its name, the operation, its value and a remove button (seeded
    from the link's setting for it, if any)."""
    n = NeuronId.parse(name, L.sizes)
    s0 = st.session_state["iv_url_settings"].get(name)
    key = f"iv_op:{name}"
    init_once(key, s0.op if s0 else "zero")
    # "mean" on a model without an analysis is zero there, and mean again back on one with it
    # (unless the user chose another operation in between).
    wanted = st.session_state.setdefault("iv_wanted_op", {})
    if st.session_state[key] not in ops:
        wanted[name] = st.session_state[key]
        st.session_state[key] = "zero"
    elif wanted.get(name) in ops and st.session_state[key] == "zero":
        st.session_state[key] = wanted.pop(name)
    elif st.session_state[key] != "zero":
        wanted.pop(name, None)
    if name in wanted:
        notes([f"`{name}`: its mean needs the neuron analysis, which this model does not have, so it is set to "
               f"zero here (mean again on a model with an analysis)."])
    r1, r2, r3, r4 = st.columns([2, 2, 4, 1], vertical_alignment="center")
    with r1:
        st.markdown(f"`{name}`", help=layer_title(n.layer))
    with r2:
        op = st.selectbox("Operation", ops, key=f"iv_op:{name}", format_func=iv.OP_LABELS.get,
                          label_visibility="collapsed")
    with r3:
        value = setting_value(name, n, op, s0)
    with r4:
        st.button("Remove", key=f"iv_rm:{name}", on_click=remove, args=(name,), icon=":material/close:",
                  type="tertiary", help=f"Remove {name}")
    return Setting(n, op, None if value is None else float(value))


def where(text: str) -> tuple[int, int] | None:
    """Where the settings apply: every position (None), or a span of the text."""
    if not text:
        return None
    choice = st.radio("Where", ["all", "span"], key="iv_where", horizontal=True,
                      format_func={"all": "All positions", "span": "A span of the text"}.get)
    if choice != "span":
        return None
    init_once("iv_span", (0, min(len(text), 5)))
    a, b = st.session_state["iv_span"]
    st.session_state["iv_span"] = (min(a, len(text)), min(b, len(text)))
    span = tuple(st.slider("Span: input positions, start inclusive, end exclusive", 0, len(text), key="iv_span"))
    st.caption(f"Positions {span[0]}–{span[1] - 1}: {md_literal(text[span[0]:span[1]])}" if span[1] > span[0]
               else "An empty span: choose at least one position.")
    return span


def before_after(text: str, settings: list[Setting], span: tuple[int, int] | None) -> InterventionResult | None:
    """The output before and after the settings, aligned under the input (None when nothing is run)."""
    st.subheader("Before and after")
    if span is not None and span[1] <= span[0]:
        st.info("The span is empty, so nothing is changed.", icon=":material/info:")
        return None
    result = _intervene(str(L.directory), file_stamp(L.directory), text, tuple(settings), span)
    if isinstance(result, str):
        st.info(f"This intervention cannot be run: {md_plain(result)}", icon=":material/info:")
        return None
    summary = result.summary()
    if result.interventions:
        st.info(f"**{summary}**", icon=":material/difference:")
    else:
        st.info(f"**{summary}** Add a neuron above to change it.", icon=":material/info:")
    st.html(iv.ALIGNED_CSS + iv.aligned_html(result))
    download_rows(iv.result_rows(result), "intervene",
                  {"text": text[:30], **iv.settings_params(settings), "span": iv.span_param(span)},
                  key="iv_rows_csv", label="Before and after (CSV)")
    st.caption("Each column is one input character: the input (grey), the network's output before, and after. "
               "Changed characters are outlined; an unchanged output is shaded by how the log-probability of the "
               "original choice moved (blue: lower, red: higher). Hover a character for the numbers and the new "
               "top choice; a faint · writes nothing.")
    return result


@st.fragment
def interventions(text: str) -> InterventionResult | None:
    """The neurons, what to do with each and where, and the output before and after (None when
    there is nothing to show)."""
    neuron_pickers()
    # After a model switch: the neurons the new model does not have are dropped, with a note.
    kept = iv.neurons_in_model(st.session_state["iv_neurons"], L.sizes)
    st.session_state["iv_neurons"] = kept.value
    notes([kept.note])
    ops = [op for op in iv.OP_LABELS if op != "mean" or A is not None]
    settings = [neuron_row(name, ops) for name in st.session_state["iv_neurons"]]
    if settings:
        st.button("Remove all", key="iv_clear", on_click=clear, type="tertiary", icon=":material/delete:")
    else:
        st.caption("No neurons yet: add some by name or pick a pair's top units.")
    span = where(text)
    set_params(**iv.settings_params(settings), span=iv.span_param(span))
    if not text.strip():
        st.info("Type something above, or pick an example.", icon=":material/keyboard:")
        return None
    return before_after(text, settings, span)


@st.fragment
def steering(text: str) -> None:
    st.subheader("Steer towards an output")
    if A is None:
        st.caption("Steering needs the neuron analysis (see above).")
        return
    steer_pair = parse_pair(url_param("steer"), A.pairs())
    k0 = parse_count(url_param("k"), 1, iv.MAX_STEER_K, iv.STEER_K, "k")
    a0 = iv.parse_float(url_param("alpha"), -iv.MAX_ALPHA, iv.MAX_ALPHA, iv.STEER_ALPHA, "strength α")
    switched = "iv_steer_seen" in st.session_state and url_param("steer")     # a later run: a model switch
    notes_once("iv_steer_seen", [steer_pair.note if url_param("steer") else None, k0.note, a0.note])
    st.caption("Push a pair's most selective units (top k by H excess in concat fwd, concat bwd and hidden) towards "
               "their mean where the pair's output is written, at every position of its input character: α = 1 sets "
               "them to that mean, a negative α pushes away.")
    pair = pair_picker(A, "iv_steer", steer_pair.value)
    if switched and steer_pair.note:          # the pair of the model before is not in this one's analysis
        notes([f"This model's analysis has no pair {md_literal(url_param('steer'), 20)}: steering "
               f"{md_plain(pair_label(pair))} instead."])
    s1, s2 = st.columns(2)
    with s1:
        init_once("iv_k", k0.value)
        k = st.slider("k (units per layer)", 1, iv.MAX_STEER_K, key="iv_k")
    with s2:
        init_once("iv_alpha", a0.value)
        alpha = st.slider("Strength α", -iv.MAX_ALPHA, iv.MAX_ALPHA, step=0.1, key="iv_alpha")
    set_params(steer=pair, k=k, alpha=iv.format_value(alpha))

    out = _steer(str(L.directory), file_stamp(L.directory), text, str(pair), int(k), float(alpha))
    if isinstance(out, str):
        st.info(f"Steering cannot be run: {md_plain(out)}", icon=":material/info:")
    else:
        res, n_x, n_y = out
        sentence = iv.steer_sentence(pair, n_x, n_y, iv.count_written(res, pair, False))
        st.info(f"Steering {md_plain(pair_label(pair))}: {sentence} {res.summary()}", icon=":material/alt_route:")
        st.html(iv.ALIGNED_CSS + iv.aligned_html(res))
        download_rows(iv.result_rows(res), "steer", {"pair": pair, "k": k, "alpha": iv.format_value(alpha)},
                      key="iv_steer_csv", label="Steered outputs (CSV)")


@st.fragment
def attribution(text: str, result: InterventionResult | None) -> None:
    """Click an output character of the plain model and see which input characters and units made
    it. `result`: the interventions' (its plain outputs and the characters the network decides do
    not depend on the settings), or None to run the plain model."""
    st.subheader("Which input characters made an output?")
    plain = result or _intervene(str(L.directory), file_stamp(L.directory), text, (), None)
    positions = [] if isinstance(plain, str) else iv.decided_positions(plain)
    if not positions:
        st.caption("The network decides no character of this text.")
        return
    default = result.changed[0] if result is not None and result.changed else positions[0]
    at0 = parse_count(url_param("at"), 0, len(text) - 1, default, "position")
    notes_once("iv_at_seen", [at0.note])
    init_once("iv_at", at0.value)
    from dashboard.ui import panels      # plotly: loaded only when a page draws

    st.caption("The network's output on the plain model, under each input character: click one to see why.")
    position = output_picker("iv_at", text, plain.tokens_before, positions, positions[0])
    set_params(at=position)
    panels.attribution_view(L, text, position, plain.tokens_before, key="iv_attr")


result = interventions(text)
if not text.strip():
    st.stop()
steering(text)
attribution(text, result)
