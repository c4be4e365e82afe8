"""The neuron lab: `streamlit run app.py`.

Routes to the pages in pages/ with st.navigation. The view (page, pair, neuron, text) lives in
the URL's query parameters, so a copied link opens the same view; a bad parameter gives a
friendly note and the default view, never a traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:          # pages import `translit_core` and `pages._shared`
    sys.path.insert(0, str(ROOT))

from pages._shared import app_pages  # noqa: E402
from translit_core import views  # noqa: E402

views.mark_app_run()

st.set_page_config(page_title="Translit neuron lab", page_icon="🔬", layout="wide",
                   initial_sidebar_state="expanded")

PAGES = app_pages()

current = st.navigation(list(PAGES.values()), position="sidebar")
current_name = next((n for n, p in PAGES.items() if p is current), views.DEFAULT_PAGE)

# ?page=graph on any path opens that page, keeping the other parameters.
wanted = views.parse_page(views.first(st.query_params, "page"))
if wanted.value and wanted.value != current_name:
    st.switch_page(PAGES[wanted.value], query_params=st.query_params.to_dict())
if wanted.note:
    st.info(wanted.note, icon=":material/info:")
if st.query_params.get("page") != current_name:
    st.query_params["page"] = current_name

with st.sidebar:
    st.caption("A Latin → Armenian transliteration biLSTM, opened up. Every view is in the URL: "
               "copy it to share what you see.")

current.run()
