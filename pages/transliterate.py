"""Transliterate: type Latin, see Armenian as you type, with the model's confidence per character."""
from __future__ import annotations

import streamlit as st

from dashboard.ui.downloads import download_rows
from dashboard.ui.routing import set_params, url_param
from dashboard.ui.widgets import example_buttons, init_once, lab, notes_once, output_picker, set_text_param
from dashboard.views.heatmaps import network_choices
from dashboard.views.text import (CONFIDENCE_CSS, EXAMPLES, MAX_CONFIDENCE_CHARS, OUTPUT_CSS, UNCERTAIN_BELOW, cap_text,
                                  confidence_html, decided_positions, prediction_rows, uncertain_summary)
from dashboard.views.urls import page_url, parse_position, parse_text, url_text
from translit_core.infer.transliterator import CharPrediction

L = lab()

st.title("Transliterate")
st.caption("Type Armenian in Latin letters the way people do in chats; the network writes it in "
           "Armenian script as you type.")

init_once("tl_text", parse_text(url_param("text"), EXAMPLES[0]).value)


example_buttons("tl_text", EXAMPLES)


def why(text: str, preds: list[CharPrediction]) -> None:
    """Why this character? Click an output character: which input characters and units made it."""
    st.markdown("**Why this character?** Click one of the network's own outputs (before the lexicon's "
                "corrections) to see which input characters and neurons made it.")

    # A choice belongs to its text: typing starts over (and stays quick: no attribution per key).
    init_once("tl_at_text", text)
    at0 = parse_position(url_param("at"), len(text))
    notes_once("tl_at_seen", [at0.note])
    init_once("tl_at", at0.value)
    if st.session_state["tl_at_text"] != text:
        st.session_state["tl_at_text"], st.session_state["tl_at"] = text, None
    outputs = network_choices(preds)
    position = output_picker("tl_at", text, outputs, decided_positions(preds), None)
    set_params(at=position)
    if position is not None:
        from dashboard.ui import panels   # plotly: loaded once a character is chosen, not for typing
        panels.attribution_view(L, text, position, outputs, key="tl_attr")
    st.link_button("Intervene on this text", page_url("intervene", text=url_text(text), at=position),
                   icon=":material/tune:", type="tertiary",
                   help="Opens the Intervene page on this text (and character): silence or steer neurons and see "
                        "what changes.")


@st.fragment
def live() -> None:
    """The box and everything that follows it: typing reruns only this part of the page."""
    text = st.text_input("Latin text", key="tl_text", live="60ms",
                         placeholder="barev dzez", help="Updates while you type. Emoji, digits and "
                         "Armenian letters pass through unchanged.") or ""

    capped = cap_text(text)
    set_text_param(text)
    if capped.notice:
        st.warning(capped.notice, icon=":material/content_cut:")

    if not capped.text.strip():
        st.info("Type something above, or pick an example.", icon=":material/keyboard:")
        set_params(at=None)
        return

    # The output first (argmax only), then the per-character view (softmax, top alternatives).
    out = L.translit.transliterate(capped.text)
    st.html(OUTPUT_CSS)
    st.markdown("**Armenian** · hover the box for its copy button")
    st.code(out, language=None, wrap_lines=True, height="content" if len(out) < 3000 else 320)

    shown = capped.text[: MAX_CONFIDENCE_CHARS]
    preds = L.translit.predict(shown)
    unsure, decided = uncertain_summary(preds)
    with st.container(border=True):
        st.markdown("**Per character** — hover a character for the model's probability and its top "
                    "alternatives. Shaded: the model was unsure "
                    f"(probability under {UNCERTAIN_BELOW:.0%}); a faint `·` is a letter that "
                    "writes nothing; blue: the network's reading was no known word, and the lexicon chose "
                    "its next best.")
        st.html(CONFIDENCE_CSS + confidence_html(preds))
        note = f"{unsure} of {decided} characters uncertain."
        changed = sum(p.network is not None for p in preds)
        if changed:
            note += f" {changed} changed by the lexicon."
        if len(capped.text) > len(shown):
            note += f" This view shows the first {len(shown):,} characters."
        st.caption(note)
        download_rows(prediction_rows(preds), "transliterate", {"text": shown[:40]}, key="tl_rows_csv",
                      label="Per-character data (CSV)")
    why(shown, preds)


live()
