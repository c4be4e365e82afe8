"""The app's pages and how a URL reaches them; app.py calls `navigate()` and runs the page.

- Every page has its own path: /start, /transliterate, /intervene, /graph, /histograms, /heatmaps, /neuron,
  /methods, /gates, /clusters, /compare, /dynamics (views/urls.py's PAGES). The root (/) shows
  the default page too, as a second, hidden entry for the same file: Streamlit serves
  its default page only at the root, and a path that names no registered page gets Streamlit's
  "Page not found" dialog.
- `?page=NAME` on any path opens that page, keeping the other parameters.
- An unknown path or `?page=` gives the app's own note on the default page, never the dialog.
  A path of several segments cannot reach the app under Streamlit's own server (the page stays
  blank); the lab's server (dashboard/launch.py) redirects it to its first segment's page or the
  root with `?from=PATH`, and the app notes that there is no page at PATH (and `?cut=` for a link
  it had to shorten).
- The sidebar is the app's own list of its pages (st.page_link): st.navigation's menu is
  hidden, and `[client] showSidebarNavigation = false` (.streamlit/config.toml) keeps Streamlit's
  menu of the pages/ folder from ever appearing.
- The view's state is in the URL's query parameters: `set_params` writes them (the routing's own
  `page` and `model`, and each page's own keys), `url_param` reads them; pages import both from here.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from translit_core import settings

from .downloads import image_format_picker
from ..views.lab import loadable_models
from ..views.markdown import md_literal, md_plain
from ..views.start import glossary_markdown
from ..views.urls import (CUT_PARAM, DEFAULT_PAGE, MOVED_PARAM, PAGES, cut_link_note, first, parse_choice, parse_page,
                   unknown_path_note)

ICONS = {"start": ":material/home:", "transliterate": ":material/translate:", "intervene": ":material/tune:",
         "graph": ":material/hub:",
         "histograms": ":material/bar_chart:", "heatmaps": ":material/grid_on:",
         "neuron": ":material/psychology:", "methods": ":material/leaderboard:",
         "gates": ":material/scatter_plot:", "clusters": ":material/workspaces:",
         "compare": ":material/compare_arrows:", "dynamics": ":material/timeline:"}
MODEL_KEY = "model"           # the URL parameter that names the model (widgets.current_model)
MODEL_STATE = "_model"        # the session's model (session state; the switch's own key is _model_switch)
NOTE_KEY = "_route_note"      # a note carried across a switch_page (session state)
OPENED_KEY = "_route_opened"  # set once this session's first run has read the URL's path
PAGE_STATE = "_page"          # the page this run shows, by name (session state)
URL_SENT = "_url_sent"        # what set_params sent on this visit of the page (session state)
SELECTION = "_selection"      # the session's selection, shared by every page (session state)
SHARED_PARAMS = ("pair", "neuron", "text")   # the parts of a view that are the session's selection


@dataclass
class Route:
    page: st.Page                # the page to run
    name: str                    # its name in urls.PAGES
    pages: dict[str, st.Page]    # every page by name, the root's entry for the current page
    notes: list[str]             # for the user: why the URL did not open what it names
    selection_slot: Any = None   # the sidebar's place for the selection bar (sidebar(), selection_bar())


def page_file(name: str) -> str:
    """A page's file, relative to app.py (st.Page resolves it against the main script)."""
    return f"pages/{name}.py"


def app_pages() -> dict[str, st.Page]:
    """The pages by name, each at its own path."""
    return {name: st.Page(page_file(name), title=title, icon=ICONS[name], url_path=name)
            for name, title in PAGES.items()}


def root_page() -> st.Page:
    """The default page at the root URL (hidden: the sidebar lists it under its own name)."""
    return st.Page(page_file(DEFAULT_PAGE), title=PAGES[DEFAULT_PAGE], icon=ICONS[DEFAULT_PAGE],
                   url_path="", default=True, visibility="hidden")


def requested_path() -> str:
    """The path the browser opened this session with ("" at the root), on the session's first
    run. Only that run asks Streamlit for a page by its path; later runs name their page by
    Streamlit's own id (sidebar, links, switch_page), so this is "" then."""
    if st.session_state.get(OPENED_KEY):
        return ""
    st.session_state[OPENED_KEY] = True
    url = st.context.url
    if not url:
        return ""
    path = unquote(urlsplit(url).path).strip("/")
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):].strip("/")
    return path


def _unknown_path() -> None:
    """Stands in for an unknown path for one moment: navigate() switches to a real page at once."""


def navigate() -> Route:
    """st.navigation over the app's pages, then the URL's own routing: an unknown path and
    `?page=` switch pages (st.switch_page reruns the script at once). On Back / Forward the
    restored URL is the view (restore_from_url)."""
    if history_navigation():
        restore_from_url()
    pages, root = app_pages(), root_page()
    path = requested_path()
    # A path that is none of the pages is registered for this run only, so that Streamlit finds
    # a page for it (and shows no dialog); the app then switches to the page it meant.
    stand_in = None
    if path and path not in PAGES and "/" not in path:
        stand_in = st.Page(_unknown_path, title=PAGES[DEFAULT_PAGE], url_path=path, visibility="hidden")
    current = st.navigation([root, *pages.values(), *([stand_in] if stand_in else [])], position="hidden")
    if stand_in is not None and current is stand_in:
        target = pages.get(path.lower())      # /Graph is /graph; anything else gets the note
        if target is None:
            st.session_state[NOTE_KEY] = unknown_path_note(path)
        st.switch_page(target or root, query_params=st.query_params.to_dict())

    name = DEFAULT_PAGE if current is root else next(n for n, p in pages.items() if p is current)
    wanted = parse_page(first(st.query_params, "page"))
    if current is root and wanted.value is None and first(st.query_params, "text") is not None:
        wanted = parse_page("transliterate")     # a text shared by a link at the root: to be transliterated
    if wanted.value and wanted.value != name:
        st.switch_page(pages[wanted.value], query_params=st.query_params.to_dict())
    if st.session_state.get(PAGE_STATE) != name:
        st.session_state[PAGE_STATE] = name
        st.session_state.pop(URL_SENT, None)  # another page's URL, or this page's from a visit before
    # What the lab's server says about the URL it redirected (dashboard/launch.py): said once, then dropped.
    moved, cut = first(st.query_params, MOVED_PARAM), first(st.query_params, CUT_PARAM)
    model, model_note = model_switch()
    # A copied link names its page whatever the path, and its model unless it is the default.
    set_params(page=name, **{MOVED_PARAM: None, CUT_PARAM: None, MODEL_KEY: model})
    notes = [n for n in (st.session_state.pop(NOTE_KEY, None), wanted.note, model_note,
                         unknown_path_note(moved, name) if moved else None, cut_link_note(cut)) if n]
    return Route(current, name, {**pages, name: current}, notes)


# --------------------------------------------------------------------------------------------
# Back and Forward

# The browser's history gets one entry per deliberate step: another page, model, pair or neuron.
# Streamlit pushes an entry for every change of the query string (a slider, a bin count, a letter
# typed) and another for the path of a new page; this script, run in the page once per window,
# turns such a push into a replace of the current entry unless it opens another page (the `page`
# parameter, else the path), another model (no `model`: the default), or another pair or neuron
# (a parameter missing on either side is one not written yet: a new page's first messages).
STEP_PARAMS = ("pair", "neuron")
_HISTORY_JS = """
export default function () {
  if (window.__labHistory) return;
  window.__labHistory = true;
  const STEP = %s;
  const page = u => u.searchParams.get("page") || u.pathname.replace(/^.*\\//, "") || %s;
  const push = window.history.pushState.bind(window.history);
  const replace = window.history.replaceState.bind(window.history);
  // The sidebar's selection bar (selection_bar) follows the URL at once: a fragment's run (a pair
  // switched on the graph) does not draw the sidebar again. A part the URL leaves out is left be.
  const show = u => {
    for (const k of STEP) {
      const v = u.searchParams.get(k);
      if (v === null) continue;
      for (const e of document.querySelectorAll(`[data-lab-selection="${k}"]`)) {
        e.textContent = v;
        e.closest("[data-lab-part]").hidden = false;
        e.closest(".lab-selection").hidden = false;
      }
    }
  };
  window.history.replaceState = function (state, title, url) {
    const out = replace(state, title, url);
    try { show(new URL(url, location.href)); } catch (e) { /* an unusual URL: the next run draws the bar */ }
    return out;
  };
  window.history.pushState = function (state, title, url) {
    try {
      const next = new URL(url, location.href), here = new URL(location.href);
      const q = (u, k) => u.searchParams.get(k);
      show(next);
      const same = page(next) === page(here) && (q(next, "model") || "") === (q(here, "model") || "")
        && STEP.every(k => q(next, k) === null || q(here, k) === null || q(next, k) === q(here, k));
      if (same) return replace(state, title, url);
    } catch (e) { /* an unusual URL: Streamlit's own push */ }
    return push(state, title, url);
  };
}
""" % (json.dumps(list(STEP_PARAMS)), json.dumps(DEFAULT_PAGE))
_history = st.components.v2.component("lab_history_steps", js=_HISTORY_JS)


def history_navigation() -> bool:
    """Whether this run comes from the browser's Back or Forward (Streamlit's run context says
    so: internal, pinned Streamlit 1.67; tests/browser's journey tests fail if it changes)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "is_history_navigation", False))


def restore_from_url() -> None:
    """Back / Forward: the restored URL is the view. The pages' widget state (every key without a
    leading underscore) and what this visit sent are dropped, so that each widget is seeded again
    from the URL, and the model is read from the URL again (model_switch)."""
    for key in [k for k in st.session_state if not str(k).startswith("_")]:
        del st.session_state[key]
    for key in (URL_SENT, MODEL_STATE, "_model_switch"):
        st.session_state.pop(key, None)


def _model_switched() -> None:
    st.session_state[MODEL_STATE] = st.session_state["_model_switch"]


def model_switch() -> tuple[str | None, str | None]:
    """The model every page shows: a switch in the sidebar when there are several, seeded once
    per session from the URL's `model=` (an unknown one gets a note and the default). A model
    that cannot be loaded is not offered: a caption under the switch names it and says why, and
    a link to it gets a note. Returns the URL's `model=` (None for the default) and the note, if any."""
    offered, broken = loadable_models(settings.model_dirs())
    models = list(offered)
    note = None
    if MODEL_STATE not in st.session_state:
        wanted = first(st.query_params, MODEL_KEY)
        parsed = parse_choice(wanted, models, "model")
        st.session_state[MODEL_STATE], note = parsed.value, parsed.note
        if wanted in broken:
            note = (f"The model {md_literal(wanted, 40)} cannot be loaded ({md_plain(broken[wanted])}); "
                    f"showing {md_plain(models[0])}.")
    if st.session_state[MODEL_STATE] not in models:
        st.session_state[MODEL_STATE] = models[0]
    if len(models) > 1:
        # The switch has a key of its own and hands its choice over in a callback: a widget's key
        # written by the app on every run would cost the page's other widgets their clicks.
        st.sidebar.selectbox("Model", models, index=models.index(st.session_state[MODEL_STATE]), key="_model_switch",
                             on_change=_model_switched,
                             help="Every page shows this model and its analysis; the URL keeps the choice.")
    if broken:
        st.sidebar.caption("Not offered: " + "; ".join(f"{md_plain(n)} (cannot load: {md_plain(why)})"
                                                       for n, why in broken.items()))
    name = st.session_state[MODEL_STATE]
    return (None if name == models[0] else name), note


# --------------------------------------------------------------------------------------------
# The view's state in the URL (every page, through widgets)

def selection() -> dict[str, str]:
    """The session's selection: the pair, neuron and text the last page showed (SHARED_PARAMS).
    A page opened without them in its URL (a sidebar link, Back to a bare path) starts from it,
    so that the graph's pair is the histograms', the card's and the heatmap's, until the user
    changes it."""
    return st.session_state.setdefault(SELECTION, {})


def url_param(key: str) -> str | None:
    """A query parameter's value: as this visit of the page last sent it (set_params), else as
    the browser's URL has it (which can be older than a message still on its way), else, for
    the parts of the selection (SHARED_PARAMS), the session's selection."""
    sent = st.session_state.get(URL_SENT, {})
    if key in sent:
        return sent[key]
    value = first(st.query_params, key)
    if value is None and key in SHARED_PARAMS and not history_navigation():    # Back restores the URL's view
        return selection().get(key)
    return value


def set_params(**values) -> None:
    """Write the view's state into the URL (None or "" removes a key): one message to the
    browser on every call, changed or not.

    A run starts from the URL the browser had when it asked for the run, and that URL can be
    older than the run before's URL message, still on its way: say a switch to pair B, and back
    to A before B's URL arrived. Were A's URL (equal to what the browser had) not sent, B's late
    message would leave the URL on B under A's graph (benchmarks/bench_graph_load.py). And the
    whole query string goes with every message, so a stale value of a key this call does not
    set (another fragment's, on the intervene page) would undo that key's newer message: such
    keys take the value this visit of the page last sent (URL_SENT). Keys are set and
    removed in place: a key tied to a widget (bind="query-params") cannot be rewritten."""
    sent = st.session_state.setdefault(URL_SENT, {})
    sent.update({k: None if v is None or v == "" else str(v) for k, v in values.items()})
    # What a page shows becomes the selection; a page that shows no neuron (None) leaves it be.
    selection().update({k: sent[k] for k in SHARED_PARAMS if sent.get(k) is not None and k in values})
    qp = st.query_params
    for k in [k for k, v in sent.items() if v is None and k in qp]:
        del qp[k]                                       # a message each (rare)
    qp.update({k: v for k, v in sent.items() if v is not None})   # and one with the whole URL, always


def sidebar(route: Route) -> None:
    """The app's pages, the current one highlighted, and what the app is."""
    with st.sidebar:
        for name in PAGES:
            st.page_link(route.pages[name])
        _history(key="_history_steps")             # one history entry per step (STEP_PARAMS)
        route.selection_slot = st.empty()         # filled after the page ran (app.py): this run's selection
        with st.popover("Glossary", icon=":material/menu_book:", width="stretch"):
            st.markdown(glossary_markdown())
        st.caption("A Latin → Armenian transliteration biLSTM, opened up. Every view is in the URL: "
                   "copy it to share what you see.")
        image_format_picker()


def selection_bar(route: Route) -> None:
    """The selection every page starts from, always in view (the sidebar, under the pages); drawn
    after the page ran, so it shows what the page chose on this run, and kept up to date by the
    history script (_HISTORY_JS) when a fragment changes the pair or the neuron in the URL."""
    if route.selection_slot is not None:
        route.selection_slot.html(selection_html(st.session_state.get(MODEL_STATE), selection()))


def selection_html(model: str | None, chosen: dict[str, str]) -> str:
    """The selection bar: "Selection: Model hy · Pair t:թ · Neuron hidden:218 · Text barev"; each
    part in an element the history script can rewrite (data-lab-selection), present but hidden
    while unset. Every value escaped."""
    def part(key: str, label: str, value: str | None, shown: str | None = None) -> str:
        hidden = "" if value else " hidden"
        return (f'<span data-lab-part="{key}"{hidden}><span class="lab-label">{label}</span> '
                f'<span class="lab-value" data-lab-selection="{key}">{html.escape(shown or value or "")}</span></span>')
    text = chosen.get("text")
    shown_text = text if not text or len(text) <= 24 else text[:23] + "…"
    body = (part("model", "Model", model) + part("pair", "Pair", chosen.get("pair"))
            + part("neuron", "Neuron", chosen.get("neuron")) + part("text", "Text", text, shown_text))
    hidden = "" if model or any(chosen.get(k) for k in ("pair", "neuron", "text")) else " hidden"
    return ('<style>.lab-selection [data-lab-part]:not([hidden]) ~ [data-lab-part]:not([hidden])::before '
            '{ content: " · "; } .lab-selection .lab-label { font-weight: 600; } '
            '.lab-selection .lab-value { font-family: "Source Code Pro", monospace; }</style>'
            f'<div class="lab-selection" title="{html.escape(SELECTION_HELP)}"{hidden} '
            f'style="font-size: 0.8rem; opacity: 0.75; line-height: 1.5">Selection: {body}</div>')


SELECTION_HELP = ("What every page opens with: the model, the pair (input → output character), the neuron and "
                  "the text shown last. Change it on any page; the others follow.")


def ensure_app_routing() -> None:
    """Called first by every page file: make sure app.py routes this run.

    Until some session has called st.navigation, Streamlit treats the pages/ folder beside
    app.py as an old-style multipage app, and a first request for /graph on a fresh server runs
    pages/graph.py on its own, without app.py (its layout, sidebar and URL handling). Then
    register the app's pages (which ends the folder mode for the whole process) and run again:
    the rerun goes through app.py, to this same page. `PagesManager.uses_pages_directory` is
    the flag Streamlit itself checks for that mode (internal: pinned Streamlit 1.67; the
    fresh-server browser tests and the AppTest hand-over tests fail if it changes)."""
    if PagesManager.uses_pages_directory:
        st.navigation([root_page(), *app_pages().values()], position="hidden")
        st.rerun()
