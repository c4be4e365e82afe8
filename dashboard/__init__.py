"""The neuron lab's dashboard: everything behind `python -m dashboard` except app.py and the page
files (pages/), in two layers.

    views/        pure view logic and plotly figures: no Streamlit, testable without a browser
                  (its modules are listed in views/__init__.py)
    ui/           the Streamlit layer on top of views/: routing, widgets, panels, downloads
                  (listed in ui/__init__.py)
    launch.py     `python -m dashboard`: app.py as Streamlit's ASGI app, redirecting deeper paths
                  and links too long for Streamlit, under uvicorn with longer request lines
    __main__.py   runs launch.main

Every name, pair, layer and file name comes from `translit_core`; nothing here re-implements it.
The server helpers of the browser tests and the benchmarks are in tests/lab_server.py.
"""
