"""The view lives in the URL: the app's pages, its query parameters, and their validation.

Query parameters (the same names as the CLI's):
    page     transliterate | intervene | graph | histograms | heatmaps | neuron | methods | gates | clusters |
             compare | dynamics
    pair     "t:թ"  (an analysis `Pair`: input character ":" output symbol; "_" writes nothing,
             "=" keeps the input)
    neuron   "concat.fwd:70", "hidden:37", "gate.bwd.g:6", ...  (a `NeuronId`)
    text     the text on the transliterate and heatmap pages (short texts only)
    at       on the transliterate page: the input position whose output is attributed
    mode, layer, n, pair2, neuron2   the rest of the histograms page's view
    set, scale, add, span, steer, k, alpha, at   the intervene page's (views/intervene.py)
    layer, pair, k, neuron   the clusters page's (k: top units of the pair); gates: neuron
    from, cut   set by the server's redirects (dashboard/launch.py): a path the app has no page
             at, the length of a link too long to open whole; the app says so and drops them

A value from a link is parsed here, once, into the engine's own type; a bad value gives the
default and a friendly note (`Parsed.note`), never an exception. Notes are rendered as Markdown,
so anything that came from a URL is shown as inline code (`md_literal`) and engine messages are
escaped (`md_plain`, both in views/markdown.py): a shared link cannot put a link or an image into
the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Mapping, Sequence, TypeVar
from urllib.parse import urlencode

from translit_core.analysis import Pair
from translit_core.model.names import NeuronId, UnknownName

from .markdown import md_literal, md_plain

PAGES: dict[str, str] = {            # url name -> title, in the sidebar's order
    "start": "Start",
    "transliterate": "Transliterate",
    "intervene": "Intervene",
    "graph": "Neuron graph",
    "histograms": "Histograms",
    "heatmaps": "Cell heatmaps",
    "neuron": "Neuron card",
    "methods": "Ranking methods",
    "gates": "Gate saturation",
    "clusters": "Neuron clusters",
    "compare": "Compare models",
    "dynamics": "Training dynamics",
}
DEFAULT_PAGE = "start"               # what the app's root URL shows: the way in
DEFAULT_PAIR = "t:թ"                 # the post's running example
HIST_MODES = {"one": "One neuron", "top": "Top neurons of a layer", "compare": "Compare side by side"}
MAX_URL_TEXT = 500                   # the URL keeps the first 500 characters of a longer text
MOVED_PARAM, CUT_PARAM = "from", "cut"   # see the module's docstring

T = TypeVar("T")


@dataclass
class Parsed(Generic[T]):
    """A validated value and, if the raw value was rejected, a friendly note saying why."""
    value: T
    note: str | None = None


# --------------------------------------------------------------------------------------------
# Reading the URL

def first(params: Mapping[str, Any], key: str) -> str | None:
    """One value of a query parameter (st.query_params gives the last of repeated keys)."""
    v = params.get(key)
    if isinstance(v, (list, tuple)):
        v = v[-1] if v else None
    return None if v is None else str(v)


def parse_page(value: str | None) -> Parsed[str | None]:
    if value is None or value == "":
        return Parsed(None)
    v = value.strip().lower()
    if v in PAGES:
        return Parsed(v)
    return Parsed(None, f"There is no page called {md_literal(value, 40)}, so the default page is shown. "
                        f"Pages: {', '.join(PAGES)}.")


def unknown_path_note(path: str, shown: str = DEFAULT_PAGE) -> str:
    """The note for a URL path that is none of the app's pages, on the page `shown` instead."""
    instead = "the default page is shown" if shown == DEFAULT_PAGE else f"the {PAGES[shown]} page is shown"
    return (f"There is no page at {md_literal('/' + path.strip('/'), 40)}, so {instead}. "
            f"Pages: {', '.join('/' + p for p in PAGES)}.")


def cut_link_note(value: str | None) -> str | None:
    """The note for a link the server cut (`cut` = the length its query string had)."""
    if value is None or not value.isdecimal():
        return None
    return (f"This link is {int(value):,} characters long, too long to open whole: every value in it is "
            f"cut to its first {MAX_URL_TEXT} characters.")


def parse_pair(value: str | None, pairs: Sequence[Pair], default: str = DEFAULT_PAIR) -> Parsed[Pair | None]:
    """A pair from the URL, checked against the pairs that have analysis data (`pairs`, the
    analysis's own, with their counts); the default pair (else the first) when absent or bad."""
    by_name = {str(p): p for p in pairs}
    fallback = by_name.get(default) or (pairs[0] if pairs else None)
    if value is None or value == "":
        return Parsed(fallback)
    if value in by_name:
        return Parsed(by_name[value])
    try:
        Pair.parse(value)
        why = "it has no analysis data (too few positions in the sample, or not a real pair)"
    except UnknownName:
        why = "a pair is written input:output, like t:թ"
    return Parsed(fallback, f"The pair {md_literal(value, 40)} cannot be shown: {why}. "
                            f"Showing {md_literal(fallback, 40) if fallback else 'nothing'} instead.")


def parse_neuron(value: str | None, sizes: Mapping[str, int],
                 default: NeuronId | None = None) -> Parsed[NeuronId | None]:
    """A neuron from the URL, checked against the model's layer sizes (`model.sizes`)."""
    if value is None or value == "":
        return Parsed(default)
    try:
        return Parsed(NeuronId.parse(value, dict(sizes)))
    except UnknownName as e:
        shown = f"Showing {md_literal(default, 40)} instead." if default else "No neuron is selected."
        return Parsed(default, f"The neuron {md_literal(value, 40)} in the link cannot be shown: "
                               f"{md_plain(e)}. {shown}")


def valid_neurons(names: Sequence[str], sizes: Mapping[str, int]) -> tuple[list[NeuronId], list[str]]:
    """The valid neuron names among `names` (in order, once each), and a note for each other one."""
    good: list[NeuronId] = []
    notes: list[str] = []
    for name in names:
        try:
            n = NeuronId.parse(name, dict(sizes))
        except UnknownName as e:
            notes.append(f"Row {md_literal(name, 40)} skipped: {md_plain(e)}.")
            continue
        if n not in good:
            good.append(n)
    return good, notes


def parse_choice(value: str | None, options: Sequence[str], what: str) -> Parsed[str]:
    """A value from a fixed list (a view mode, a layer); the first option when absent or unknown."""
    if value is None or value == "" or value in options:
        return Parsed(value or options[0])
    return Parsed(options[0], f"The {what} {md_literal(value, 40)} is not one of {', '.join(options)}; "
                              f"showing {options[0]}.")


def whole_number(value: str, lo: int, hi: int) -> int | None:
    """`value` as a whole number from lo to hi; None if it is not one."""
    try:
        n = int(value)
    except ValueError:
        return None
    return n if lo <= n <= hi else None


def parse_count(value: str | None, lo: int, hi: int, default: int, what: str) -> Parsed[int]:
    if value is None or value == "":
        return Parsed(default)
    n = whole_number(value, lo, hi)
    if n is None:
        return Parsed(default, f"The {what} {md_literal(value, 40)} must be a whole number from {lo} to "
                               f"{hi}; showing {default}.")
    return Parsed(n)


def parse_position(value: str | None, length: int) -> Parsed[int | None]:
    """A character of a text of `length` characters (the attributed output, `at`); None when
    absent, or bad (with a note)."""
    if value is None or value == "":
        return Parsed(None)
    n = whole_number(value, 0, length - 1)
    if n is None:
        return Parsed(None, f"The position {md_literal(value, 40)} in the link is no character of the text "
                            f"(0 to {length - 1}); click an output character to choose one.")
    return Parsed(n)


def parse_text(value: str | None, default: str = "") -> Parsed[str]:
    return Parsed(default if value is None else value)


# --------------------------------------------------------------------------------------------
# Pairs as the pickers offer them

def pairs_by_input(pairs: Sequence[Pair]) -> dict[str, list[str]]:
    """Input character -> the output symbols that have analysis data, in the analysis's order."""
    out: dict[str, list[str]] = {}
    for p in pairs:
        out.setdefault(p.x, []).append(p.y)
    return out


def sibling_pair(pair: Pair, pairs: Sequence[Pair]) -> Pair:
    """Another pair with the same input character (for a side-by-side comparison), else the first."""
    return next((p for p in pairs if p.x == pair.x and p != pair), pairs[0] if pairs else pair)


# --------------------------------------------------------------------------------------------
# Writing the URL

def url_text(text: str) -> str | None:
    """What goes into the URL for a text: the text, or the first MAX_URL_TEXT characters of a
    longer one (a link stays short enough to share); nothing for no text."""
    return text[:MAX_URL_TEXT] or None


def url_text_note(text: str) -> str | None:
    """What to say when the URL holds only the beginning of the text."""
    if len(text) <= MAX_URL_TEXT:
        return None
    return f"The link to this view holds the first {MAX_URL_TEXT} of the text's {len(text):,} characters."


# What every link carries besides its own state: the Streamlit layer (ui/widgets.py) sets this to
# the session's model when it is not the default, so a link opened in a new tab shows the same model.
link_params: Callable[[], dict[str, str]] = dict


def page_url(page: str, **params) -> str:
    """A relative link to a page of the app with its state, e.g. /neuron?page=neuron&neuron=…"""
    q = {"page": page, **link_params(), **{k: str(v) for k, v in params.items() if v not in (None, "")}}
    return f"/{page}?{urlencode(q)}"
