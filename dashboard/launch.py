"""`python -m dashboard`: the lab's server. Streamlit's own ASGI app for app.py (`st.App`), run by
uvicorn with Streamlit's settings, plus two things `streamlit run app.py` cannot be told to do
(Streamlit 1.67 on uvicorn and h11):

1. **Paths of more than one segment** (/graph/extra, /does/not/exist) are redirected to the page
   they start with, or to the root, with `?from=` naming the path (the app then says there is no
   page there). Streamlit answers any unknown path with its index.html, whose scripts are
   relative (`./static/js/...`) and whose client finds its server relative to the URL's folder
   (`<folder>/_stcore/health`, `_stcore/stream`): under /graph/extra those are /graph/static/...
   (index.html again, as text/html: "Failed to load module script") and /graph/_stcore/...
   (404), so the page stays blank for good.
2. **Long URLs**: uvicorn's HTTP parser (h11) refuses a request line over 16 KiB with a bare HTTP
   400, so a link with a long `?text=` got the browser's own error page. Here a request may be
   up to MAX_REQUEST_BYTES (Chromium's own limit on a URL is 2 MiB). Streamlit then ignores a
   query string over 512 Ki characters altogether (it logs a warning; the app would never know),
   so such a link is redirected with every value cut to what the app keeps in a URL
   (MAX_URL_TEXT characters) and `?cut=` saying so; the app shows a note.

Flags and config files are Streamlit's (`python -m dashboard --server.port 8502`, the
.streamlit/config.toml beside app.py, STREAMLIT_* variables), so every `streamlit run` option
works here too.
"""
from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import click
from streamlit.runtime.state.query_params import (CLIENT_STATE_QUERY_STRING_MAX_FIELDS as MAX_QUERY_FIELDS,
                                                  CLIENT_STATE_QUERY_STRING_MAX_LENGTH as MAX_QUERY_CHARS)
from streamlit.web.cli import configurator_options

from .views.urls import CUT_PARAM, MAX_URL_TEXT, MOVED_PARAM, PAGES

APP = Path(__file__).resolve().parent.parent / "app.py"
MAX_REQUEST_BYTES = 4 * 1024 * 1024
# First path segments that are Streamlit's own routes (its assets, API, media, components, the
# app's static folder, login): never a page, so never redirected.
STREAMLIT_ROUTES = frozenset({"_stcore", "static", "media", "component", "app", "auth", "oauth2callback"})


def redirect_for(path: str, query: str, base: str = "") -> str | None:
    """Where a browser that opens `path` with `query` (under the base URL path `base`) is sent
    instead, or None for a URL the app can open as it is.

    - A path of several segments: to the page its first segment names, else to the root, with
      `from` = the path asked for. Streamlit's own routes are left alone.
    - A query string that Streamlit would drop whole (over its limit of characters or fields): every
      value cut to MAX_URL_TEXT characters, and `cut` = the length it had.
    """
    base = base.strip("/")
    rest = path.strip("/")
    if base:
        if rest != base and not rest.startswith(base + "/"):
            return None
        rest = rest[len(base):].strip("/")
    segments = rest.split("/")
    deep = len(segments) > 1 and segments[0] not in STREAMLIT_ROUTES and "_stcore" not in segments
    too_long = len(query) > MAX_QUERY_CHARS or query.count("&") + 1 > MAX_QUERY_FIELDS
    if not (deep or too_long):
        return None
    target = rest
    if deep:
        target = segments[0].lower() if segments[0].lower() in PAGES else ""
    params = parse_qsl(query, keep_blank_values=True)
    if too_long:
        params = [(k, v[:MAX_URL_TEXT]) for k, v in params[:MAX_QUERY_FIELDS - 2]] + [(CUT_PARAM, str(len(query)))]
    if deep:
        params.append((MOVED_PARAM, "/" + rest))
    return "/" + "/".join(p for p in (base, target) if p) + "?" + urlencode(params, safe="/:")


class DeepPathRedirect:
    """ASGI middleware: the redirect of `redirect_for` for a browser opening a page (a GET or HEAD
    that is not a script's fetch); everything else passes to Streamlit untouched."""

    def __init__(self, app) -> None:
        from streamlit import config
        self.app = app
        self.base = str(config.get_option("server.baseUrlPath") or "")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            dest = dict(scope.get("headers") or []).get(b"sec-fetch-dest", b"document")
            target = redirect_for(scope["path"], scope.get("query_string", b"").decode("latin-1"), self.base)
            if target is not None and dest == b"document":
                from starlette.responses import RedirectResponse
                await RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-cache"})(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)


def lab_app():
    """app.py as Streamlit's ASGI app, behind DeepPathRedirect."""
    import streamlit as st
    from starlette.middleware import Middleware
    return st.App(APP, middleware=[Middleware(DeepPathRedirect)])


# What the first page run imports, in that order of cost (torch alone is about 1.5 s here): imported
# in a thread while the server starts and the first browser loads its scripts, so a session that
# opens first does not wait for them (Python's import lock makes a page that asks for one in the
# meantime wait for that import to finish, never import it twice).
# Only modules without Streamlit caches: a cache decorated before the runtime exists would not be the runtime's.
WARM_IMPORTS = ("torch", "plotly.graph_objects", "plotly.subplots", "translit_core.analysis",
                "translit_core.infer.transliterator", "dashboard.views.figures")


def warm_imports() -> None:
    """The first page run's imports, then the default model's first sample sentences recorded
    (views/lab.py's prepare_first_views: the Start page and Histograms draw from them at once)."""
    import importlib
    for name in WARM_IMPORTS:
        try:
            importlib.import_module(name)
        except Exception:        # any failure: the page that needs the module reports it
            return
    from translit_core import settings

    from .views.lab import prepare_first_views
    prepare_first_views(settings.checkpoint_dir())


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@configurator_options
def main(**flags) -> None:
    """Start the neuron lab (the same flags as `streamlit run`)."""
    import uvicorn
    from streamlit import config
    from streamlit.web import bootstrap
    from streamlit.web.server.starlette import starlette_server

    threading.Thread(target=warm_imports, name="warm-imports", daemon=True).start()
    app = lab_app()                         # first: it points Streamlit at app.py's config.toml
    bootstrap.load_config_options(flags)
    host = config.get_option("server.address") or "0.0.0.0"   # Streamlit's default: every interface
    port = int(config.get_option("server.port"))
    print(f"The neuron lab: http://{'localhost' if host == '0.0.0.0' else host}:{port}", flush=True)
    # Streamlit's own uvicorn settings (websocket size and pings, TLS): internal to Streamlit 1.67,
    # as `streamlit run` passes them; then the longer request line.
    uvicorn.run(app, host=host, port=port, h11_max_incomplete_event_size=MAX_REQUEST_BYTES,
                **starlette_server._get_uvicorn_config_kwargs())
