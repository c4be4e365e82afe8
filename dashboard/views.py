"""Everything the dashboard pages need that is not a widget: state in the URL, validation,
caps on user input, escaped HTML snippets and the data behind each figure.

No Streamlit here (the pages own the widgets and the caches) and no figure code (that is
`figures.py`): functions take plain values or the model / `Analysis` objects and return plain
values, so each of them is testable without a browser.

Query parameters (one scheme, shared with the CLI names):
    page     transliterate | graph | histograms | heatmaps | neuron
    pair     "t:թ"  (input char ":" output symbol; "_" placeholder, "=" pass-through)
    neuron   "concat.fwd:70", "hidden:37", "gate.bwd.g:6", ...
    text     the text on the transliterate / heatmap page (short texts only)
"""
from __future__ import annotations

import html
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

# Not `from .checkpoint import DEFAULT_CHECKPOINT`: that imports torch, and the app shows its
# first page before the model (and torch) has finished loading.
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "hy"

# --------------------------------------------------------------------------------------------
# Pages, defaults and limits

PAGES: dict[str, str] = {            # url name -> title
    "transliterate": "Transliterate",
    "graph": "Neuron graph",
    "histograms": "Histograms",
    "heatmaps": "Cell heatmaps",
    "neuron": "Neuron card",
}
DEFAULT_PAGE = "transliterate"
DEFAULT_PAIR = "t:թ"
HIST_MODES = {"one": "One neuron", "top": "Top neurons of a layer", "compare": "Compare side by side"}

MAX_LIVE_CHARS = 10_000       # transliterated live; the rest of a longer paste is not processed
MAX_CONFIDENCE_CHARS = 2_000  # the per-character confidence view (one <span> per character)
MAX_HEATMAP_CHARS = 600       # characters shown in the cell heatmap
MAX_URL_TEXT = 500            # longer texts are not copied into the URL
UNCERTAIN_BELOW = 0.9         # probability under which a character is highlighted

EXAMPLES = (
    "barev dzez",
    "es sirum em Deep Learning",
    "Aydpes aveli sirun e",
    "Hayastani Hanrapetutyun",
)
HEATMAP_TEXT = ("Azatutyun, ankakhutyun u hamagortsaktsutyun: ays bolor barer@ "
                "verjanum en utyun vorpes mer hasarakutyun@.")
HEATMAP_EXAMPLES = (
    ("words ending in ություն", HEATMAP_TEXT),
    ("a greeting", "Barev dzez, inchpes eq? Shat urax em dzez tesnel."),
    ("code-switching", "Es sirum em Deep Learning, bayc LSTM-ner@ aveli sirun en."),
    ("kh, gh, ch, sh, ts", "Shnorhakalutyun, chgitem: ays tsaghikner@ khohanotsum en ghekavari mot."),
)

LAYER_TITLES = {
    "concat.fwd": "concat, forward LSTM h", "concat.bwd": "concat, backward LSTM h",
    "hidden": "hidden (dense tanh)", "output": "output logits",
    "gate.fwd.i": "input gate i (fwd)", "gate.fwd.f": "forget gate f (fwd)",
    "gate.fwd.g": "cell input g (fwd)", "gate.fwd.o": "output gate o (fwd)",
    "cell.fwd": "cell c (fwd)", "cell_prev.fwd": "previous cell c_prev (fwd)",
    "gate.bwd.i": "input gate i (bwd)", "gate.bwd.f": "forget gate f (bwd)",
    "gate.bwd.g": "cell input g (bwd)", "gate.bwd.o": "output gate o (bwd)",
    "cell.bwd": "cell c (bwd)", "cell_next.bwd": "next cell c_next (bwd)",
}
# The six rows under the concat layer in the neuron graph, top to bottom: (label, fwd, bwd).
GATE_ROWS = (
    ("o", "gate.fwd.o", "gate.bwd.o"),
    ("c", "cell.fwd", "cell.bwd"),
    ("i", "gate.fwd.i", "gate.bwd.i"),
    ("g", "gate.fwd.g", "gate.bwd.g"),
    ("f", "gate.fwd.f", "gate.bwd.f"),
    ("c_prev | c_next", "cell_prev.fwd", "cell_next.bwd"),
)
BUILD_COMMAND = "python -m translit_core analyze"


def checkpoint_dir() -> Path:
    """The checkpoint the dashboard shows: env TRANSLIT_CHECKPOINT, else checkpoints/hy."""
    env = os.environ.get("TRANSLIT_CHECKPOINT", "").strip()
    return Path(env).expanduser().resolve() if env else DEFAULT_CHECKPOINT


def build_command(directory: Path) -> str:
    """The command that writes the analysis file for a checkpoint directory."""
    if Path(directory).resolve() == DEFAULT_CHECKPOINT.resolve():
        return BUILD_COMMAND
    return f"{BUILD_COMMAND} --checkpoint {directory}"


def file_stamp(directory: Path, names: Iterable[str]) -> tuple:
    """(name, mtime, size) of the files that exist: a cache key that changes when they do."""
    out = []
    for n in names:
        p = Path(directory) / n
        try:
            s = p.stat()
            out.append((n, s.st_mtime_ns, s.st_size))
        except OSError:
            out.append((n, None, None))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Query-parameter state

@dataclass
class Parsed:
    """A validated value and, if the raw value was rejected, a friendly note saying why."""
    value: Any
    note: str | None = None


def _short(value: str, n: int = 40) -> str:
    """A value from a URL or a text box, shortened and shown as inline code: notes are rendered as
    Markdown, and a shared link must not be able to put a link or an image into the page."""
    value = str(value).replace("`", "'").replace("\n", " ")
    value = value if len(value) <= n else value[: n - 1] + "…"
    return f"`{value}`"


def md_literal(value: str, n: int = 60) -> str:
    return _short(value, n)


def first(params: Mapping[str, Any], key: str) -> str | None:
    """One value of a query parameter (st.query_params gives the last of repeated keys)."""
    v = params.get(key)
    if isinstance(v, (list, tuple)):
        v = v[-1] if v else None
    return None if v is None else str(v)


def parse_page(value: str | None) -> Parsed:
    if value is None or value == "":
        return Parsed(None)
    v = value.strip().lower()
    if v in PAGES:
        return Parsed(v)
    return Parsed(None, f"There is no page called {_short(value)}, so the default page is shown. "
                        f"Pages: {', '.join(PAGES)}.")


def split_pair(pair: str) -> tuple[str, str]:
    """'t:թ' -> ('t', 'թ'); the input is one character, so '::=' is (':', '=')."""
    pair = str(pair)
    return (pair[0], pair[2:]) if len(pair) >= 3 and pair[1] == ":" else (pair, "")


def pair_label(pair: str) -> str:
    """'t:թ' -> 't→թ' for titles; '_' and '=' are explained, punctuation and spaces quoted."""
    x, y = split_pair(pair)
    y = {"_": "_ (nothing)", "=": "= (kept)"}.get(y, y if y.isalpha() else f"‘{y}’")
    x = x if x.isalnum() else ("‘space’" if x == " " else f"‘{x}’")
    return f"{x}→{y}"


def parse_pair(value: str | None, valid: Sequence[str], default: str = DEFAULT_PAIR) -> Parsed:
    """A pair name from the URL, checked against the pairs that have analysis data."""
    valid = list(valid)
    fallback = default if default in valid else (valid[0] if valid else None)
    if value is None or value == "":
        return Parsed(fallback)
    if value in valid:
        return Parsed(value)
    if ":" not in value:
        why = "a pair is written input:output, like t:թ"
    else:
        why = "it has no analysis data (too few positions in the sample, or not a real pair)"
    return Parsed(fallback, f"The pair {_short(value)} cannot be shown: {why}. "
                            f"Showing {fallback} instead.")


def sibling_pair(pair: str, pairs: Sequence[str]) -> str:
    """Another pair with the same input character (for a side-by-side comparison), else the first."""
    x = split_pair(pair)[0]
    return next((p for p in pairs if split_pair(p)[0] == x and p != pair), pairs[0] if pairs else pair)


def parse_neuron_name(name: str, sizes: Mapping[str, int]) -> str:
    """'concat.fwd:70' -> the same name, checked; ValueError with the valid layers otherwise."""
    layer, sep, idx = str(name).strip().rpartition(":")
    if not sep or layer not in sizes:
        raise ValueError(f"unknown neuron {_short(name)}: write layer:index, with layer one of "
                         f"{', '.join(sizes)}")
    try:
        i = int(idx)
    except ValueError:
        raise ValueError(f"{_short(name)}: the index after ':' must be a number") from None
    if not 0 <= i < sizes[layer]:
        raise ValueError(f"{_short(name)}: {layer} has neurons 0..{sizes[layer] - 1}")
    return f"{layer}:{i}"


def parse_neuron(value: str | None, sizes: Mapping[str, int], default: str | None = None) -> Parsed:
    if value is None or value == "":
        return Parsed(default)
    try:
        return Parsed(parse_neuron_name(value, sizes))
    except ValueError as e:
        shown = f"Showing {default} instead." if default else "No neuron is selected."
        return Parsed(default, f"The neuron in the link cannot be shown: {e}. {shown}")


def parse_choice(value: str | None, options: Sequence[str], what: str) -> Parsed:
    """A value from a fixed list (a view mode, a layer); the first option when absent or unknown."""
    if value is None or value == "" or value in options:
        return Parsed(value or options[0])
    return Parsed(options[0], f"The {what} {_short(value)} is not one of {', '.join(options)}; "
                              f"showing {options[0]}.")


def parse_count(value: str | None, lo: int, hi: int, default: int, what: str) -> Parsed:
    if value is None or value == "":
        return Parsed(default)
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is None or not lo <= n <= hi:
        return Parsed(default, f"The {what} {_short(value)} must be a whole number from {lo} to {hi}; "
                               f"showing {default}.")
    return Parsed(n)


def parse_text(value: str | None, default: str = "") -> Parsed:
    if value is None:
        return Parsed(default)
    return Parsed(value)


def layer_sizes(config) -> dict[str, int]:
    """Units per layer for a ModelConfig (the neuron-name scheme of the analysis API)."""
    from .unrolled import layer_sizes as sizes_of
    return sizes_of(config.lstm, config.hidden, config.n_out)


def url_text(text: str) -> str | None:
    """What goes into the URL for a text: the text if short, else nothing."""
    return text if 0 < len(text) <= MAX_URL_TEXT else None


# --------------------------------------------------------------------------------------------
# User text

@dataclass
class Capped:
    text: str
    total: int
    notice: str | None


def cap_text(text: str | None, limit: int = MAX_LIVE_CHARS, what: str = "transliterated live") -> Capped:
    """At most `limit` characters are processed; a longer text gets a notice instead of a freeze."""
    text = text or ""
    n = len(text)
    if n <= limit:
        return Capped(text, n, None)
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit * 0.9 else limit
    return Capped(text[:cut], n, f"The text has {n:,} characters; the first {cut:,} are {what}. "
                                 f"For long documents use the command line: "
                                 f"`python -m translit_core transliterate < file.txt`.")


def output_symbol(pred_output: str) -> str:
    return "_" if pred_output == "" else pred_output


def confidence_html(preds: Sequence, uncertain_below: float = UNCERTAIN_BELOW) -> str:
    """Per-character view: each output character in a <span> whose hover title gives its
    probability and the model's top alternatives; uncertain characters highlighted. Characters
    the model does not decide on (spaces, emoji, Armenian) are plain text. All text escaped;
    the markup is kept small because it is re-sent on every keystroke."""
    parts = ['<div class="tl-conf" lang="hy">']
    for p in preds:
        if p.latin == "\n":
            parts.append("<br>")
            continue
        if p.latin == " " and p.output == " ":
            parts.append(" ")
            continue
        shown = html.escape(p.output if p.output != "" else "·")
        if not p.alternatives:
            parts.append(shown)
            continue
        alts = ", ".join(f"{a} {q:.0%}" for a, q in p.alternatives[:3])
        known = (f"\nthe network chose {output_symbol(p.network)}; the lexicon knows the word with "
                 f"{output_symbol(p.output)}" if p.network is not None else "")
        title = html.escape(f"{p.latin} → {output_symbol(p.output)} {p.prob:.0%}\nalso: {alts}{known}", quote=True)
        attrs = f' title="{title}"'
        if p.network is not None:
            attrs += ' class="k"'
        elif p.prob < uncertain_below:
            attrs += f' class="u" style="--p:{p.prob:.2f}"'
        elif p.output == "":
            attrs += ' class="z"'
        parts.append(f"<span{attrs}>{shown}</span>")
    parts.append("</div>")
    return "".join(parts)


def uncertain_summary(preds: Sequence, uncertain_below: float = UNCERTAIN_BELOW) -> tuple[int, int]:
    """(uncertain characters, characters the model decided on)."""
    decided = [p for p in preds if p.alternatives]
    return sum(p.prob < uncertain_below for p in decided), len(decided)


CONFIDENCE_CSS = """
<style>
.tl-conf {font-size: 1.55rem; line-height: 2.3rem; font-family: "Noto Sans Armenian", "Noto Sans",
  sans-serif; word-wrap: break-word; white-space: pre-wrap;}
.tl-conf span {padding: 0 1px; border-radius: 3px; cursor: help;}
.tl-conf .u {background: rgba(255, 170, 0, calc(0.25 + 0.6 * (1 - var(--p))));
  border-bottom: 2px solid #e8590c;}
.tl-conf .z, .tl-conf .u:empty {color: #adb5bd;}
.tl-conf .k {background: rgba(25, 113, 194, 0.18); border-bottom: 2px solid #1971c2;}
.tl-ctx {font-family: "Noto Sans Mono", monospace; font-size: 1.0rem; line-height: 1.9rem;}
.tl-ctx span {padding: 1px 0;}
.tl-legend {font-size: 0.85rem; color: #666;}
</style>
"""


OUTPUT_CSS = """
<style>
[data-testid="stCode"] pre, [data-testid="stCode"] code {font-size: 1.6rem !important;
  line-height: 2.4rem !important; font-family: "Noto Sans Armenian", "Noto Sans", sans-serif !important;}
</style>
"""


# --------------------------------------------------------------------------------------------
# Colours for HTML shading (one diverging scale, like the figures)

def diverging_rgb(v: float, vmax: float) -> str:
    """Blue (negative) .. white .. red (positive) for v in [-vmax, vmax]."""
    if not vmax or not math.isfinite(v):
        return "rgb(255,255,255)"
    t = max(-1.0, min(1.0, v / vmax))
    if t >= 0:
        r, g, b = 255, int(255 - 160 * t), int(255 - 190 * t)
    else:
        t = -t
        r, g, b = int(255 - 190 * t), int(255 - 120 * t), 255
    return f"rgb({r},{g},{b})"


def shaded_html(chars: str, values: Sequence[float], vmax: float | None = None,
                mark: tuple[int, int] | None = None) -> str:
    """A snippet with each character shaded by an activation (escaped, hover shows the value)."""
    vals = [float(v) for v in values]
    if vmax is None:
        vmax = max((abs(v) for v in vals if math.isfinite(v)), default=1.0) or 1.0
    out = ['<span class="tl-ctx">']
    for i, (c, v) in enumerate(zip(chars, vals)):
        style = f"background:{diverging_rgb(v, vmax)}"
        if mark and mark[0] <= i < mark[1]:
            style += ";border-bottom:2px solid #222"
        shown = "&nbsp;" if c == " " else html.escape(c)
        out.append(f'<span style="{style}" title="{html.escape(c)} {v:+.3f}">{shown}</span>')
    out.append("</span>")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Output symbols <-> classes

def symbol_of_class(alphabets, k: int) -> str:
    if k == 0:
        return "="
    if k == 1:
        return "_"
    return alphabets.outputs[k]


def class_of_symbol(alphabets, sym: str) -> int | None:
    if sym == "=":
        return 0
    if sym == "_":
        return 1
    return alphabets.out_index.get(sym)


# --------------------------------------------------------------------------------------------
# Analysis access: one adapter, so the pages never depend on the engine's details

def _nid(name: str):
    from .unrolled import NeuronId
    return NeuronId.parse(name) if isinstance(name, str) else name


def pairs_by_input(analysis) -> dict[str, list[str]]:
    """Input char -> output symbols that have analysis data, in the analysis's order."""
    out: dict[str, list[str]] = {}
    for p in analysis.pairs():
        x, y = split_pair(str(p))
        out.setdefault(x, []).append(y)
    return out


@dataclass
class Score:
    name: str          # neuron name or pair name
    hellinger: float
    n_pos: int
    n_neg: int


def _score(obj, attr: str) -> Score:
    return Score(str(getattr(obj, attr)), float(obj.hellinger), int(obj.n_pos), int(obj.n_neg))


def top_neurons(analysis, pair: str, layer: str, k: int) -> list[Score]:
    p = analysis.parse_pair(pair)
    return [_score(s, "neuron") for s in analysis.top_neurons(p, layer, k)]


def top_pairs(analysis, neuron: str, k: int) -> list[Score]:
    return [_score(s, "pair") for s in analysis.top_pairs(_nid(neuron), k)]


# --------------------------------------------------------------------------------------------
# The neuron graph's data (figures.neuron_graph lays it out and draws it)

@dataclass
class Node:
    id: str                 # neuron name ("hidden:37"); output nodes are "output:k"
    row: str                # "output", "hidden", "concat", or a GATE_ROWS label
    label: str              # text drawn on the node
    hellinger: float | None
    n_pos: int = 0
    n_neg: int = 0
    side: str = ""          # "fwd" / "bwd" for concat and gate rows
    title: str = ""         # longer name for hover
    target: bool = False    # the pair's output symbol


@dataclass
class Edge:
    source: str
    target: str
    value: float            # mean contribution (weight x activation) over the pair's positions


@dataclass
class GraphData:
    pair: str
    rows: list[tuple[str, str]]     # (row key, label shown on the left), top to bottom
    nodes: list[Node]
    edges: list[Edge] = field(default_factory=list)


def graph_data(analysis, alphabets, pair: str, k_hidden: int = 12, k_concat: int = 10,
               max_edges: int = 60, max_outputs: int = 8) -> GraphData:
    """Nodes and edges of the post's figure for one pair, from the analysis file only."""
    p = analysis.parse_pair(pair)
    pair_s = str(p)
    x, y = split_pair(pair_s)
    nodes: list[Node] = []

    # Row 1: candidate outputs for x (the Latin pass-through included), coloured by the H of
    # their output logit for this pair.
    out_nodes = []
    cands = list(analysis.candidates(x))
    cands = cands[:max_outputs] + ([y] if y in cands[max_outputs:] else [])   # most frequent first
    for sym in cands:
        k = class_of_symbol(alphabets, sym)
        if k is None:
            continue
        nid = f"output:{k}"
        h = _safe_h(analysis, p, nid)
        label = x if sym == "=" else sym
        title = f"output “{label}”" + (" (pass-through)" if sym == "=" else " (nothing)" if sym == "_" else "")
        out_nodes.append(Node(nid, "output", label, h, p.n_pos, p.n_neg, title=title, target=(sym == y)))
    nodes += out_nodes

    hidden = [_score(s, "neuron") for s in analysis.top_neurons(p, "hidden", k_hidden)]
    nodes += [Node(s.name, "hidden", s.name.rsplit(":", 1)[1], s.hellinger, s.n_pos, s.n_neg,
                   title=s.name) for s in hidden]

    fwd = [_score(s, "neuron") for s in analysis.top_neurons(p, "concat.fwd", k_concat)]
    bwd = [_score(s, "neuron") for s in analysis.top_neurons(p, "concat.bwd", k_concat)]
    nodes += [Node(s.name, "concat", s.name.rsplit(":", 1)[1], s.hellinger, s.n_pos, s.n_neg,
                   side="fwd", title=s.name) for s in fwd]
    nodes += [Node(s.name, "concat", s.name.rsplit(":", 1)[1], s.hellinger, s.n_pos, s.n_neg,
                   side="bwd", title=s.name) for s in bwd]

    rows = [("output", f"outputs for “{x}”"), ("hidden", f"hidden · top {k_hidden}"),
            ("concat", f"concat · top {k_concat} fwd | bwd")]
    for label, lf, lb in GATE_ROWS:
        rows.append((label, label))
        for side, layer, scores in (("fwd", lf, fwd), ("bwd", lb, bwd)):
            for s in scores:
                idx = s.name.rsplit(":", 1)[1]
                nid = f"{layer}:{idx}"
                nodes.append(Node(nid, label, idx, _safe_h(analysis, p, nid), s.n_pos, s.n_neg,
                                  side=side, title=nid))

    edges: list[Edge] = []
    concat_ids = [s.name for s in fwd + bwd]
    hidden_ids = [s.name for s in hidden]
    out_ids = [n.id for n in out_nodes]
    if concat_ids and hidden_ids:
        edges += _edges(analysis, p, concat_ids, hidden_ids)
    if hidden_ids and out_ids:
        edges += _edges(analysis, p, hidden_ids, out_ids)
    edges = _strongest(edges, max_edges)
    return GraphData(pair_s, rows, nodes, edges)


def _safe_h(analysis, p, name: str) -> float | None:
    try:
        h = float(analysis.hellinger_of(p, _nid(name)))
    except (KeyError, ValueError, IndexError):
        return None
    return h if math.isfinite(h) else None


def _edges(analysis, p, lower: list[str], upper: list[str]) -> list[Edge]:
    m = analysis.contributions(p, [_nid(n) for n in lower], [_nid(n) for n in upper])
    m = np.asarray(m.detach().cpu() if hasattr(m, "detach") else m, dtype=float)
    return [Edge(lower[i], upper[j], float(m[i, j]))
            for i in range(len(lower)) for j in range(len(upper)) if math.isfinite(m[i, j]) and m[i, j] != 0]


def _strongest(edges: list[Edge], k: int) -> list[Edge]:
    """The k largest contributions by size, but every upper node keeps its strongest input."""
    if len(edges) <= k:
        return edges
    keep = set()
    best: dict[str, Edge] = {}
    for e in edges:
        if e.target not in best or abs(e.value) > abs(best[e.target].value):
            best[e.target] = e
    keep.update(id(e) for e in best.values())
    for e in sorted(edges, key=lambda e: -abs(e.value)):
        if len(keep) >= k:
            break
        keep.add(id(e))
    return [e for e in edges if id(e) in keep]


def selected_neuron(event: Any) -> str | None:
    """The neuron name a plotly selection event points at (customdata of the first node)."""
    if not event:
        return None
    try:
        sel = event["selection"] if isinstance(event, Mapping) else event.selection
        points = sel["points"] if isinstance(sel, Mapping) else sel.points
    except (KeyError, AttributeError, TypeError):
        return None
    for pt in points or []:
        cd = pt.get("customdata") if isinstance(pt, Mapping) else None
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if isinstance(cd, str) and ":" in cd:
            return cd
    return None


# --------------------------------------------------------------------------------------------
# Histograms

@dataclass
class HistView:
    """A histogram ready to draw: bin centres, the two densities (each integrates to 1)."""
    centers: np.ndarray
    width: float
    pos: np.ndarray
    neg: np.ndarray
    hellinger: float
    n_pos: int
    n_neg: int
    pair: str = ""
    neuron: str = ""


def hist_view(h, pair: str = "", neuron: str = "", bins: int = 80) -> HistView:
    """The engine's Histogram (1000 equal bins) re-binned for display to about `bins` bins.

    H and the counts are the engine's, computed on the fine bins."""
    edges = np.asarray(_np(h.edges), dtype=float)
    pos, neg = (np.asarray(_np(d), dtype=float) for d in (h.density_pos, h.density_neg))
    n = len(pos)
    factor = max(1, int(math.ceil(n / bins)))
    m = int(math.ceil(n / factor)) * factor

    def mass(d):
        d = np.nan_to_num(d.clip(min=0))
        tot = d.sum()
        d = d / tot if tot > 0 else d
        d = np.pad(d, (0, m - n))
        return d.reshape(-1, factor).sum(1)

    lo, hi = edges[0], edges[-1]
    width = (hi - lo) / n * factor if hi > lo else 1.0
    centers = lo + width * (np.arange(m // factor) + 0.5)
    return HistView(centers, width, mass(pos) / width, mass(neg) / width, float(h.hellinger),
                    int(h.n_pos), int(h.n_neg), pair, neuron)


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else x


# --------------------------------------------------------------------------------------------
# Heatmaps

@dataclass
class HeatData:
    chars: str                 # input characters
    outputs: list[str]         # the model's output per input character ("" for nothing)
    names: list[str]           # one row per neuron
    values: np.ndarray         # (rows, len(chars))


def activations_for(model, alphabets, text: str) -> dict[str, np.ndarray]:
    """layer -> (T, units) activations of every layer for one text (unrolled biLSTM)."""
    import torch

    from .unrolled import layer_activations
    if not text:
        return {}
    x = torch.tensor([alphabets.encode_input(text)])
    with torch.inference_mode():
        acts = layer_activations(model, x)
    return {k: v[0].detach().float().cpu().numpy() for k, v in acts.items()}


def heat_data(acts: Mapping[str, np.ndarray], text: str, outputs: list[str],
              names: Sequence[str]) -> HeatData:
    rows = []
    for n in names:
        layer, _, i = n.rpartition(":")
        rows.append(acts[layer][:, int(i)] if layer in acts else np.full(len(text), np.nan))
    values = np.stack(rows) if rows else np.zeros((0, len(text)))
    return HeatData(text, outputs, list(names), values)


def find_spans(text: str, sub: str) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) of a substring, case-insensitive."""
    if not sub:
        return []
    t, s = text.lower(), sub.lower()
    out, i = [], t.find(s)
    while i >= 0:
        out.append((i, i + len(s)))
        i = t.find(s, i + len(s))
    return out


def span_selectivity(acts: Mapping[str, np.ndarray], text: str, sub: str, layers: Sequence[str],
                     top: int = 10) -> list[Score]:
    """Neurons whose mean activation inside the substring differs most from outside, in this
    text only (|mean in - mean out| / pooled std). The analysis engine's substring_selectivity
    does the same over the whole sample; this is the quick look for the typed text."""
    spans = find_spans(text, sub)
    if not spans or not acts:
        return []
    inside = np.zeros(len(text), dtype=bool)
    for a, b in spans:
        inside[a:b] = True
    if inside.all():
        return []
    scores = []
    for layer in layers:
        a = acts.get(layer)
        if a is None:
            continue
        mi, mo = a[inside].mean(0), a[~inside].mean(0)
        sd = a.std(0) + 1e-6
        d = np.abs(mi - mo) / sd
        for j in np.argsort(-d)[:top]:
            scores.append(Score(f"{layer}:{int(j)}", float(d[j]), int(inside.sum()), int((~inside).sum())))
    scores.sort(key=lambda s: -s.hellinger)
    return scores[:top]


# --------------------------------------------------------------------------------------------
# The loaded lab: model + analysis, loaded once per process by the app (st.cache_resource)

ANALYSIS_FILES = ("analysis.json", "analysis.safetensors")
MODEL_FILES = ("model.json", "model.safetensors", "lexicon.txt")   # what the loaded Transliterator depends on


@dataclass
class Lab:
    """The model (loaded at once) and its analysis (loaded on first use: the transliterate
    page never waits for it)."""
    directory: Path
    translit: Any                 # infer.Transliterator
    sizes: dict[str, int]
    # The sample recording behind histograms, contexts and substring search is loaded (or
    # re-recorded) once, by one thread; other sessions wait for it instead of doing it again.
    lock: Any = field(default_factory=threading.Lock)
    warming: bool = False
    _analysis_lock: Any = field(default_factory=threading.Lock)
    _analysis: Any = None
    _analysis_error: str | None = None
    _analysis_loaded: bool = False

    def _ensure_analysis(self) -> None:
        if self._analysis_loaded:
            return
        with self._analysis_lock:
            if not self._analysis_loaded:
                self._analysis, self._analysis_error = load_analysis(self.directory)
                self._analysis_loaded = True

    @property
    def analysis(self):
        """analysis.Analysis, or None when it cannot be loaded (see analysis_error)."""
        self._ensure_analysis()
        return self._analysis

    @property
    def analysis_error(self) -> str | None:
        self._ensure_analysis()
        return self._analysis_error

    @property
    def model(self):
        return self.translit.model

    @property
    def alphabets(self):
        return self.translit.alphabets

    @property
    def command(self) -> str:
        return build_command(self.directory)

    def recording(self):
        """The analysis's sample recording (from the cache, else re-recorded from the data)."""
        with self.lock:
            return self.analysis.recording()

    @property
    def recording_ready(self) -> bool:
        return self.analysis is not None and getattr(self.analysis, "_recording", None) is not None

    def warm_up(self) -> None:
        """Load the recording in a background thread, so the first histogram is quick."""
        if self.analysis is None or self.recording_ready or self.warming:
            return
        self.warming = True

        def run():
            try:
                self.recording()
            except Exception:   # reported when a page asks for it
                pass
        threading.Thread(target=run, name="translit-recording", daemon=True).start()


def load_lab(directory: Path, analysis: bool = True) -> Lab:
    """Load the checkpoint (CheckpointError if it cannot be); the analysis too unless
    analysis=False (then on first use)."""
    import torch

    from .infer import Transliterator
    tr = Transliterator.load(directory)
    lab = Lab(Path(directory), tr, layer_sizes(tr.model.config))
    if analysis:
        lab._ensure_analysis()
    return lab


def load_analysis(directory: Path) -> tuple[Any | None, str | None]:
    cmd = build_command(directory)
    try:
        from .analysis import Analysis
    except ImportError as e:
        return None, f"The analysis engine is not available in this installation ({e}). Once it is: `{cmd}`."
    try:
        return Analysis.load(directory), None
    except Exception as e:  # AnalysisMissing (absent, stale, unreadable), or anything unexpected
        kind = type(e).__name__
        msg = str(e).strip() or kind
        if kind == "AnalysisMissing" and "no analysis" in msg:
            return None, (f"There is no analysis file next to the checkpoint in `{directory}`. Build it "
                          f"with the command below (a couple of minutes), then reload this page.")
        return None, f"The analysis file in `{directory}` cannot be used: {msg}"


class Unavailable(RuntimeError):
    """Something a page asked for that cannot be computed here; the message says why."""




def _engine_errors() -> tuple:
    from safetensors import SafetensorError

    from .analysis import AnalysisError
    return (AnalysisError, ValueError, KeyError, OSError, SafetensorError)


def histogram_for(lab: Lab, pair: str, neuron: str, bins: int = 80) -> HistView:
    """Recompute the histogram of a neuron for a pair (analysis.histogram), ready to draw."""
    from . import analysis as an
    try:
        rec = lab.recording()
        h = an.histogram(rec, lab.analysis.parse_pair(pair), _nid(neuron))
    except _engine_errors() as e:
        raise Unavailable(f"The histogram of {neuron} on {pair} cannot be computed: {e}") from None
    return hist_view(h, str(pair), str(neuron), bins)


def top_contexts(lab: Lab, neuron: str, k: int = 8) -> list[str]:
    """HTML snippets (escaped) of the sample contexts where a neuron fires most: every
    character shaded by the neuron's activation, the peak character underlined."""
    from . import analysis as an
    try:
        rows = an.top_contexts(_nid(neuron), k, source=lab.recording())
    except _engine_errors() as e:
        raise Unavailable(f"Contexts are not available: {e}") from None
    vmax = max((max((abs(float(v)) for v in row.activations), default=0) for row in rows), default=0) or 1.0
    out = []
    for row in rows:
        focus = getattr(row, "focus", None)
        mark = (focus, focus + 1) if focus is not None else None
        out.append(shaded_html(row.snippet, row.activations, vmax, mark=mark)
                   + f'<span class="tl-legend">&nbsp;&nbsp;peak {float(getattr(row, "value", 0)):+.2f}</span>')
    return out


def ablation_for(analysis, pair: str, layer: str) -> dict | None:
    """The stored ablation result for (pair, layer), if the analysis has one."""
    fn = getattr(analysis, "ablation", None)
    if fn is None:
        return None
    try:
        res = fn(analysis.parse_pair(pair), layer)
    except (ValueError, KeyError):
        return None
    if not res or "baseline_accuracy" not in res:
        return None
    return dict(res)


def best_ablation(analysis, neuron: str, pairs: Sequence[str]) -> dict | None:
    """The first stored ablation of the neuron's layer among its best pairs (for the card).
    Only layers the engine ablates (concat.fwd, concat.bwd, hidden) have results."""
    layer = neuron.rpartition(":")[0]
    for p in pairs:
        res = ablation_for(analysis, p, layer)
        if res:
            return res
    return None


def ablation_sentence(res: dict, neuron: str | None = None) -> str:
    """Plain sentences that say what the ablation shows (and how much to trust the picture)."""
    base, top, rnd = res["baseline_accuracy"], res["top_k_accuracy"], res["random_k_accuracy_mean"]
    sd = res.get("random_k_accuracy_std", 0) or 0
    k, layer, pair = res.get("k"), res.get("layer"), pair_label(res.get("pair", ""))
    drop_top, drop_rnd = base - top, base - rnd
    effect, noise = drop_top - drop_rnd, max(2 * sd, 0.005)
    if drop_top < 0.005:
        verdict = ("Selectivity is not importance here: the output barely changes without them. "
                   "Treat this picture with care.")
    elif effect > noise:
        size = "a clear" if drop_top >= 0.02 else "a small but real"
        verdict = (f"They matter: {size} drop, {effect:.1%} more than for random neurons of the layer.")
    else:
        verdict = "Random neurons of the layer cost about as much: the picture is not confirmed."
    inside = ""
    if neuron and res.get("top_k_neurons"):
        inside = (" This neuron is one of the ablated ones." if neuron in res["top_k_neurons"] else
                  " This neuron is not among the ablated ones.")
    return (f"On {pair} ({res.get('n_positions', 0):,} positions of “{pair.split('→')[0]}”): {base:.1%} "
            f"correct unablated, {top:.1%} with the top {k} {layer} neurons (by H) set to their mean, "
            f"{rnd:.1%} ± {sd:.1%} with {k} random ones. {verdict}{inside}")


def page_url(page: str, **params) -> str:
    """A relative link to a page of the app with its state, e.g. /neuron?page=neuron&neuron=…"""
    from urllib.parse import urlencode
    q = {"page": page, **{k: v for k, v in params.items() if v not in (None, "")}}
    path = "/" if page == DEFAULT_PAGE else f"/{page}"   # the default page lives at the root
    return f"{path}?{urlencode(q)}"


# --------------------------------------------------------------------------------------------
# "Find neurons for this substring"

@dataclass
class Found:
    scores: list[Score]
    note: str = ""
    score_name: str = "score"
    armenian: str = ""


HEAT_LAYERS = ("concat.fwd", "concat.bwd", "hidden")


def armenian_of(lab: Lab, text: str, sub: str, outputs: Sequence[str] | None = None) -> str:
    """The Armenian a Latin substring stands for: the model's output for that span of the text
    (so "utyun" in the text -> "ություն"), else the transliteration of the substring alone.
    Armenian input is returned as it is."""
    from .rules import is_armenian_letter
    if any(is_armenian_letter(c) for c in sub):
        return sub
    spans = find_spans(text, sub)
    if spans and outputs is not None and len(outputs) == len(text):
        a, b = spans[0]
        out = "".join(outputs[a:b])
        if out:
            return out
    return lab.translit.transliterate(sub)


def substring_neurons(lab: Lab, text: str, sub: str, layers: Sequence[str], top: int = 12,
                      outputs: Sequence[str] | None = None, sample: bool = True) -> Found:
    """Neurons most selective inside a substring vs outside.

    Over the analysis sample when the analysis is there (analysis.substring_selectivity: the
    substring is matched on the Armenian side, so every typed spelling counts; Hellinger
    distance between inside and outside); otherwise a quick look over the typed text only, and
    the note says so. sample=False: the quick look only (the sample recording is not loaded)."""
    sub = (sub or "").strip()
    layers = [l for l in layers if l in lab.sizes] or list(HEAT_LAYERS)
    if not sub:
        return Found([], "Type a substring, e.g. tyun.")
    arm = armenian_of(lab, text, sub, outputs)
    if lab.analysis is not None and not sample:
        why = "Quick look while the analysis sample loads: press Find for the search over the whole sample."
    elif lab.analysis is not None:
        from . import analysis as an
        try:
            scores = an.substring_selectivity(lab.recording(), arm, tuple(layers), top)
            scores = sorted((_score(s, "neuron") for s in scores), key=lambda s: -s.hellinger)[:top]
            n_in = scores[0].n_pos if scores else 0
            return Found(scores, f"Sample-wide: positions typed as part of Armenian {md_literal(arm)} ({n_in:,} in the "
                                 f"analysis sample) against positions typed with the same letters elsewhere, "
                                 f"ranked by Hellinger distance H.", "H", arm)
        except _engine_errors() as e:
            why = f"The sample-wide search found nothing for {md_literal(arm)} ({e})."
    else:
        why = "The analysis file is missing, so the search runs over the text above only."
    acts = activations_for(lab.model, lab.alphabets, text)
    scores = span_selectivity(acts, text, sub, layers, top)
    if not scores:
        return Found([], f"{why} {md_literal(sub)} does not occur in the text above either.", armenian=arm)
    return Found(scores, f"{why} Ranked by |mean inside − mean outside| / std over the text above.",
                 "separation", arm)


def valid_names(names: Sequence[str], sizes: Mapping[str, int]) -> tuple[list[str], list[str]]:
    """(valid neuron names, friendly notes for the others)."""
    good, bad = [], []
    for n in names:
        try:
            v = parse_neuron_name(n, sizes)
            if v not in good:
                good.append(v)
        except ValueError as e:
            bad.append(f"Row skipped: {e}.")
    return good, bad


# --------------------------------------------------------------------------------------------
# app.py marks each script run it starts, so that a page can tell whether the app routed it
# (see pages/_shared.py). Script runs of one session happen on one thread, one at a time.

_run_marker = threading.local()


def mark_app_run() -> None:
    _run_marker.app = True


def app_ran_this_run() -> bool:
    ran = getattr(_run_marker, "app", False)
    _run_marker.app = False
    return ran
