"""The dashboard's view logic: plain values in, plain values (text, HTML, rows, plotly figures)
out. No Streamlit anywhere in here, so all of it is tested without a browser. A module named
after a page serves that page; the others are shared.

    urls.py        page names, the query parameters and their validation (`Parsed`), `page_url`
    markdown.py    untrusted text in Markdown: `md_literal` (inline code) and `md_plain` (escaped)
    labels.py      how engine names are shown: pair labels, layer titles, the pickers' choices
    lab.py         the `Lab`: the model, and its analysis loaded on first use; file stamps
    text.py        caps on user text, the per-character confidence HTML, shaded snippets, CSS
    exports.py     the files behind the downloads: file names, CSV of rows, JSON of figures
    figures.py     shared plotly figures: the neuron graph, histograms, the card's bars, cell
                   heatmaps, attribution bars, the ranking methods' curves
    graph.py       the neuron graph's nodes and edges for one pair; the node a click selected
    histograms.py  a neuron's two densities for a pair, re-binned for display
    card.py        the neuron card's contexts and ablation verdict
    methods.py     the ranking methods page's table, with intervals, and its best ranking (if any)
    heatmaps.py    per-character activations of a text, and "find neurons for a substring"
    hypothesis.py  the heatmaps page's hypothesis panel (LSTMVis) and annotation tracks
    intervene.py   the intervene page's URL state and before/after view; the attribution view's
                   sentences, heatmap rows and the strip of characters to click
    gates.py       the gate saturation page's scatter and table, the card's saturation line
    clusters.py    the neuron clusters page's figures, the card's cluster line
    compare.py     the compare models page's rows and figures
    dynamics.py    the training dynamics page's figure and rows
    reproduce.py   the tidy tables behind the charts and the commands that compute them again
                   (reproduce_text.py: a text's views; reproduce_units.py: the units' structure)
"""
