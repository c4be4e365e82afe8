"""The neuron lab: `python -m dashboard` (dashboard/launch.py; `streamlit run app.py` works too,
without the lab server's handling of deeper paths and over-long links).

The frame around every page: the page config, the routing (dashboard/ui/routing.py: each page at
its own path, `?page=` links, a friendly note for anything unknown), the app's sidebar, then the
page itself (pages/). The view (page, pair, neuron, text) lives in the URL's query parameters,
so a copied link opens the same view; a bad parameter gives a note and the default view, never
a traceback.
"""
import streamlit as st

from dashboard.ui import routing

st.set_page_config(page_title="Translit neuron lab", page_icon="🔬", layout="wide",
                   initial_sidebar_state="auto")   # collapsed on a phone, open on a desktop

route = routing.navigate()
routing.sidebar(route)
for note in route.notes:
    st.info(note, icon=":material/info:")
try:
    route.page.run()
finally:                        # also when the page stopped early: the selection stays in view
    routing.selection_bar(route)
