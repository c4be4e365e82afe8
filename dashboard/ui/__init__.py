"""The dashboard's Streamlit layer: widgets, caches and layout on top of dashboard.views, shared
by the page files (pages/).

    routing.py    the app's pages, st.navigation, the sidebar, `?page=` links and unknown paths;
                  the view's state in the URL (`set_params`, `url_param`)
    widgets.py    the cached lab, URL notes, the pair and neuron pickers, the output picker
                  (click a character: a small st.components.v2 strip)
    panels.py     the neuron graph, a neuron's histogram, the neuron card, and one output's
                  attribution (plotly; on the transliterate page only once a character is chosen)
    structure.py  gate saturation and unit clusters: stored, or computed once per process; their
                  part of the neuron card
    downloads.py  charts and tables with their downloads (CSV, JSON, the camera's format)
"""
