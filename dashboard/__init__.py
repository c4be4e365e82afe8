"""The neuron lab's dashboard: everything behind `python -m dashboard` except the page files.

Pure view logic (plain values in, plain values out; no Streamlit, testable without a browser):

    urls.py       page names, the query parameters and their validation (`Parsed`), `page_url`
    labels.py     how engine names are shown: pair labels, layer titles
    text_view.py  caps on user text, the per-character confidence HTML, shaded snippets, CSS
    intervene.py  the intervene page's URL state and before/after view; the attribution view's
                  sentences, heatmap rows and the strip of characters to click
    lab.py        the `Lab`: the model, and its analysis loaded on first use; file stamps
    graph.py      the neuron graph's nodes and edges for one pair
    histogram.py  a neuron's two densities for a pair, re-binned for display
    card.py       the neuron card's contexts and ablation verdict
    heatmap.py    per-character activations of a text, and "find neurons for a substring"
    figures.py    the plotly figures drawn from the above

The Streamlit layer (widgets only, on top of the above):

    routing.py    the app's pages, st.navigation, the sidebar, `?page=` links and unknown paths
    widgets.py    the cached lab, URL state, the pair and neuron pickers, the output picker (click a
                  character: a small st.components.v2 strip)
    panels.py     the neuron graph, a neuron's histogram, the neuron card, and one output's
                  attribution (plotly; on the transliterate page only once a character is chosen)
    launch.py     `python -m dashboard`: app.py as Streamlit's ASGI app, redirecting deeper paths
                  and links too long for Streamlit, under uvicorn with longer request lines
    server.py     the lab on a free port and a reading of its graph page, for the browser tests
                  and the benchmarks

Every name, pair, layer and file name comes from `translit_core`; nothing here re-implements it.
"""
