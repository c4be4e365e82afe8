"""The Intervene page's view logic: the intervention in the URL, the before/after view, steering
and attribution sentences; the attribution view is shared with the Transliterate page (the
output character clicked, the heatmap's rows, the completeness check). No Streamlit here
(pages/intervene.py and ui/panels.py's attribution_view have the widgets), no plotly (figures)
and no captum (ui/panels.py imports the engine's attribution lazily).

Query parameters (the same spelling as the CLI's `intervene`):
    text     the text
    set      NEURON=VALUE | NEURON=zero | NEURON=mean, comma-joined or repeated
             (e.g. set=concat.fwd:159=0,hidden:37=mean)
    scale    NEURON=FACTOR;  add  NEURON=AMOUNT (same form)
    span     START:END, input positions (start inclusive, end exclusive); absent = all positions
    steer    a pair (t:թ), with k (units per layer) and alpha (strength; negative pushes away)
    at       the input position whose output is attributed
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from translit_core.analysis.methods.intervene import InterventionResult, Setting, parse_span
from translit_core.model.alphabets import PLACE_SYMBOL
from translit_core.model.names import NeuronId, UnknownName

from .heatmaps import HeatData
from .markdown import md_literal, md_plain
from .text import diverging_rgb
from .urls import Parsed, page_url

URL_OPS = ("set", "scale", "add")            # the query parameters that hold settings
# The operations a user picks per neuron, as the page lists them (Setting.op -> label).
OP_LABELS = {"zero": "zero", "mean": "mean over the sample", "set": "clamp to a value",
             "scale": "scale by a factor", "add": "add"}
DEFAULT_SCALE, DEFAULT_ADD = 2.0, 0.5
STEER_K, STEER_ALPHA = 10, 1.0
MAX_STEER_K, MAX_ALPHA = 50, 5.0
SHADE_NATS = 3.0                              # a change in log p this large (or larger) is shaded fully
EXAMPLE_TEXTS = ("tsaghiknery tsaghkum en", "barev dzez", "es sirum em Deep Learning",
                 "Hayastani Hanrapetutyun")


# --------------------------------------------------------------------------------------------
# The intervention in the URL

def split_values(values: Sequence[str] | str | None) -> list[str]:
    """Repeated and comma-joined values, in order ("a,b" and ["a", "b"] are the same)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for v in values for part in str(v).split(",") if part.strip()]


def parse_settings(params: Mapping[str, Sequence[str] | str], sizes: Mapping[str, int]) -> Parsed[list[Setting]]:
    """The settings in the URL's set / scale / add parameters, checked against the model's layer
    sizes; a bad one is left out with a note (the others still apply). One setting per neuron:
    a neuron named twice keeps its last setting."""
    chosen: dict[NeuronId, Setting] = {}
    notes: list[str] = []
    for op in URL_OPS:
        for raw in split_values(params.get(op)):
            try:
                s = Setting.parse(raw, op, dict(sizes))
            except UnknownName as e:
                notes.append(f"The setting {md_literal(f'{op}={raw}', 60)} in the link is left out: {md_plain(e)}.")
                continue
            if s.neuron in chosen:
                notes.append(f"{md_literal(s.neuron)} is set twice in the link; the last setting is used.")
                chosen.pop(s.neuron)
            chosen[s.neuron] = s
    return Parsed(list(chosen.values()), " ".join(notes) or None)


def neurons_in_model(names: Sequence[str], sizes: Mapping[str, int]) -> Parsed[list[str]]:
    """The chosen neurons (names, in order) that the model of `sizes` has, and a note naming the
    others (after a model switch: a smaller model, another layer scheme), which are dropped."""
    kept: list[str] = []
    dropped: list[str] = []
    for name in names:
        try:
            NeuronId.parse(name, dict(sizes))
            kept.append(name)
        except UnknownName as e:
            dropped.append(f"{md_literal(name, 40)} ({md_plain(e)})")
    if not dropped:
        return Parsed(kept)
    which = "that setting is" if len(dropped) == 1 else "those settings are"
    return Parsed(kept, f"This model has no {', '.join(dropped)}: {which} dropped; the others are kept.")


def format_value(v: float) -> str:
    """A value as the URL writes it: short, and read back by float() to the same 6 digits."""
    return f"{float(v):.6g}"


def setting_param(s: Setting) -> tuple[str, str]:
    """(query parameter, value) for one setting: ("set", "concat.fwd:159=zero")."""
    if s.op in ("zero", "mean"):
        return "set", f"{s.neuron}={s.op}"
    return s.op, f"{s.neuron}={format_value(s.value)}"


def settings_params(settings: Sequence[Setting]) -> dict[str, str | None]:
    """The set / scale / add query parameters for `settings` (None: the parameter is absent)."""
    out: dict[str, list[str]] = {op: [] for op in URL_OPS}
    for s in settings:
        key, value = setting_param(s)
        out[key].append(value)
    return {op: ",".join(v) or None for op, v in out.items()}


def parse_span_param(value: str | None, length: int) -> Parsed[tuple[int, int] | None]:
    """The span from the URL for a text of `length` characters; all positions when absent or bad."""
    if value is None or value.strip() == "":
        return Parsed(None)
    try:
        return Parsed(parse_span(value, length))
    except UnknownName as e:
        return Parsed(None, f"The span {md_literal(value, 30)} in the link is not used: {md_plain(e)}. "
                            f"The settings apply at every position.")


def span_param(span: tuple[int, int] | None) -> str | None:
    return None if span is None else f"{span[0]}:{span[1]}"


def parse_float(value: str | None, lo: float, hi: float, default: float, what: str) -> Parsed[float]:
    if value is None or value == "":
        return Parsed(default)
    try:
        v = float(value)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and lo <= v <= hi):
        return Parsed(default, f"The {what} {md_literal(value, 30)} must be a number from {lo:g} to {hi:g}; "
                               f"using {default:g}.")
    return Parsed(v)


def intervene_url(neurons: "NeuronId | str | Sequence[NeuronId | str]", op: str = "zero",
                  text: str | None = None) -> str:
    """A link that opens the Intervene page with `neurons` (one or several) set to zero (or their
    mean), on `text` if given."""
    if isinstance(neurons, (NeuronId, str)):
        neurons = [neurons]
    return page_url("intervene", text=text, set=",".join(f"{n}={op}" for n in neurons))


def default_value(s: Setting | None, op: str, lo: float, hi: float, mean: float | None = None) -> float:
    """The value a value widget starts with for `op`: the setting's own when it has that op."""
    if s is not None and s.op == op and s.value is not None:
        return float(s.value)
    if op == "scale":
        return DEFAULT_SCALE
    if op == "add":
        return DEFAULT_ADD
    v = 0.0 if mean is None else float(mean)
    return min(max(v, lo), hi)


# --------------------------------------------------------------------------------------------
# A unit's observed range (the clamp slider)

def observed_range(analysis, neuron: NeuronId, extra: Sequence[float] = ()) -> tuple[float, float]:
    """The unit's range in the analysis sample (min over inputs of its per-input minimum, max of
    the maxima), widened to hold `extra` (e.g. a value from the URL); (-1, 1) without data."""
    lo: list[float] = []
    hi: list[float] = []
    if analysis is not None and neuron.layer in getattr(analysis, "sizes", {}):
        c = analysis.column(neuron)
        lo.append(float(analysis.tables.x_lo[:, c].min()))
        hi.append(float(analysis.tables.x_hi[:, c].max()))
    vals = [float(v) for v in extra if v is not None and math.isfinite(float(v))]
    lo += vals
    hi += vals
    if not lo:
        return -1.0, 1.0
    a, b = min(lo), max(hi)
    if b - a < 1e-3:
        a, b = a - 1.0, b + 1.0
    return math.floor(round(a * 100, 6)) / 100, math.ceil(round(b * 100, 6)) / 100


# --------------------------------------------------------------------------------------------
# Before and after, aligned per input character

def _cell(s: str) -> str:
    if s == "":
        return '<span class="z">·</span>'
    if s == " ":
        return "&nbsp;"
    return html.escape(s)


def aligned_html(r: InterventionResult) -> str:
    """One column per input character: the input, the output before, the output after (escaped).
    Changed characters are highlighted; the after row is shaded by the change in log p of the
    original choice (blue: it lost probability; full colour at SHADE_NATS); the hover says both
    and the new top choice."""
    vmax = SHADE_NATS
    changed = set(r.changed)
    parts = ['<div class="iv-al" lang="hy"><span class="iv-h"><span class="i">input</span>'
             '<span class="b">before</span><span class="a">after</span></span>']
    for i, c in enumerate(r.input):
        if c == "\n":
            parts.append("<br>")
            continue
        b, a, d = r.tokens_before[i], r.tokens_after[i], r.delta_logp[i]
        top = r.top_after[i]
        if top == "":                      # a character the network does not decide on
            title = f"{i}: {c} passes through unchanged"
        else:
            title = (f"{i}: {c} → {b if b else PLACE_SYMBOL} before, {a if a else PLACE_SYMBOL} after\n"
                     f"Δ log p({b if b else PLACE_SYMBOL}) = {d:+.3f}\nnew top choice: {top}")
        cls = "iv-c ch" if i in changed else "iv-c"
        shade = "" if i in changed or top == "" else f' style="--bg:{diverging_rgb(d, vmax)}"'
        parts.append(f'<span class="{cls}" title="{html.escape(title, quote=True)}">'
                     f'<span class="i">{_cell(c)}</span><span class="b">{_cell(b)}</span>'
                     f'<span class="a"{shade}>{_cell(a)}</span></span>')
    parts.append("</div>")
    return "".join(parts)


ALIGNED_CSS = """
<style>
.iv-al {font-family: "Noto Sans Armenian", "Noto Sans", sans-serif; font-size: 1.3rem; line-height: 1.9rem;
  word-wrap: break-word;}
.iv-c {display: inline-flex; flex-direction: column; align-items: center; min-width: 0.9em; margin: 0 1px 8px 0;
  cursor: help; border-radius: 3px;}
.iv-c > span {padding: 0 2px;}
.iv-c .i {color: #868e96; font-family: "Noto Sans Mono", monospace; font-size: 1.0rem;}
.iv-c .a {background: var(--bg, transparent); border-radius: 3px;}
.iv-c.ch {background: rgba(232, 89, 12, 0.14); outline: 2px solid #e8590c;}
.iv-c.ch .a {font-weight: 700; color: #c92a2a;}
.iv-c .z {color: #adb5bd;}
.iv-h {display: inline-flex; flex-direction: column; align-items: flex-end; margin-right: 8px;
  font-size: 0.8rem; color: #868e96;}
.iv-h .i {font-size: 1.0rem;} .iv-h > span {line-height: inherit;}
.iv-legend {font-size: 0.85rem; color: #666;}
</style>
"""


# --------------------------------------------------------------------------------------------
# Steering and attribution, in sentences

def result_rows(r: InterventionResult) -> list[dict]:
    """The aligned view as rows, one per input character: what a download of it holds."""
    changed = set(r.changed)
    return [{"position": i, "input": r.input[i], "before": r.tokens_before[i], "after": r.tokens_after[i],
             "top_after": r.top_after[i], "changed": i in changed, "delta_logp": round(r.delta_logp[i], 6)}
            for i in range(len(r.input))]


def plural_of(x: str) -> str:
    """"t" -> "t's", a space -> "spaces" (for "2 of 3 t's now written թ")."""
    if x == " ":
        return "spaces"
    return f"{x}’s" if x.isalnum() else f"‘{x}’s"


def steer_sentence(pair, n_x: int, n_y: int, n_y_before: int) -> str:
    """"2 of 3 t's now written թ (1 before)."""
    if n_x == 0:
        return f"The text has no {md_plain(pair.x if pair.x != ' ' else 'space')}: type one to steer it."
    y = {"_": "as nothing", "=": "kept Latin"}.get(pair.y, f"written {pair.y}")
    return f"{n_y} of {n_x} {md_plain(plural_of(pair.x))} now {md_plain(y)} ({n_y_before} before)."


def count_written(r: InterventionResult, pair, after: bool) -> int:
    """How many of the x's in the text the network writes as y, before or after."""
    y_text = pair.x if pair.y == "=" else "" if pair.y == "_" else pair.y
    tokens = r.tokens_after if after else r.tokens_before
    return sum(tokens[i] == y_text for i, c in enumerate(r.input) if c == pair.x)


@dataclass(frozen=True)
class Completeness:
    """Integrated gradients' completeness check for one attribution: the attributions of the
    input characters add up to log p(output | text) - log p(output | baseline)."""
    total: float          # the sum of the characters' attributions
    difference: float     # log p - log p(baseline)
    error: float          # total - difference, as Captum reports it

    @property
    def relative(self) -> float:
        """|error| as a share of |difference| (0 when both are 0)."""
        if self.difference:
            return abs(self.error) / abs(self.difference)
        return math.inf if self.error else 0.0


def completeness(attr) -> Completeness:
    """The completeness check of an engine `Attribution`."""
    return Completeness(sum(c.total for c in attr.attributions), attr.logp - attr.baseline_logp, attr.delta)


def completeness_line(attr) -> str:
    """The completeness check of integrated gradients, stated with its numbers."""
    c = completeness(attr)
    return (f"Attributions sum to {c.total:.2f}; log p − log p(spaces) = {c.difference:.2f}; "
            f"error {c.error:+.3f}.")


def why_question(text: str, outputs: Sequence[str], i: int) -> str:
    """The question an attribution answers, in words (plain text: escape it for Markdown)."""
    c = "the space" if text[i] == " " else f"“{text[i]}”"
    out = outputs[i] if i < len(outputs) else ""
    if out == "":
        return f"Why does {c} at position {i} write nothing?"
    return f"Why is {c} at position {i} written {'as a space' if out == ' ' else out}?"


def position_label(text: str, tokens: Sequence[str], i: int) -> str:
    c = text[i]
    shown = "space" if c == " " else c
    out = tokens[i] if i < len(tokens) else ""
    return f"{i}: {shown} → {({'': PLACE_SYMBOL, ' ': 'space'}).get(out, out)}"


def decided_positions(r: InterventionResult) -> list[int]:
    """The input positions the network decides (the ones attribution can explain)."""
    return [i for i, t in enumerate(r.top_after) if t != ""]


def strip_click(state: Any) -> tuple[int, float] | None:
    """The last click on the output strip (ui/widgets.py's output_picker): (its position in the text, the
    click's time stamp) from the strip's state, {"clicked": [position, stamp]}; None when there is
    none or the state is malformed (it can be injected, as AppTest does)."""
    try:
        pos, stamp = state["clicked"]
    except (KeyError, TypeError, ValueError):
        return None
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (pos, stamp))
    return (int(pos), float(stamp)) if ok and float(pos).is_integer() else None


def strip_html(text: str, outputs: Sequence[str], clickable: Sequence[int], chosen: int | None = None) -> str:
    """One column per input character: the character (grey) over the network's output. Outputs
    at `clickable` positions carry their position (data-pos, what a click sends back), `chosen`
    is outlined; the rest pass through and cannot be clicked. User text escaped."""
    can = set(clickable)
    parts = ['<div class="ck" lang="hy">']
    for i, c in enumerate(text):
        if c == "\n":
            parts.append("<br>")
            continue
        out = outputs[i] if i < len(outputs) else c
        cells = f'<span class="i">{_cell(c)}</span><span class="o">{_cell(out)}</span>'
        if i not in can:
            parts.append(f'<span class="ck-c">{cells}</span>')
            continue
        title = html.escape(f"{position_label(text, outputs, i)}\nclick: which input characters made it?", quote=True)
        cls = "ck-c on sel" if i == chosen else "ck-c on"
        parts.append(f'<span class="{cls}" data-pos="{i}" title="{title}">{cells}</span>')
    parts.append("</div>")
    return "".join(parts)


# The strip is a component with its own (shadow) root: the page's CSS does not reach it.
STRIP_CSS = """
.ck {font-family: "Noto Sans Armenian", "Noto Sans", sans-serif; font-size: 1.3rem; line-height: 1.9rem;
  word-wrap: break-word;}
.ck-c {display: inline-flex; flex-direction: column; align-items: center; min-width: 0.9em; margin: 0 1px 6px 0;
  border-radius: 3px;}
.ck-c > span {padding: 0 2px;}
.ck-c .i {color: #868e96; font-family: "Noto Sans Mono", monospace; font-size: 1.0rem;}
.ck-c .o {color: #868e96;}
.ck-c .z {color: #adb5bd;}
.ck-c.on {cursor: pointer; background: #f8f9fa; box-shadow: inset 0 0 0 1px #dee2e6;}
.ck-c.on .o {color: #212529;}
.ck-c.on:hover {background: #fff4e6; box-shadow: inset 0 0 0 1px #e8590c;}
.ck-c.sel, .ck-c.sel:hover {background: #ffe8cc; box-shadow: inset 0 0 0 2px #e8590c;}
"""


ATTRIBUTION_ROWS = (("total", "total"), ("forward", "forward LSTM"), ("backward", "backward LSTM"),
                    ("direct", "direct (input → output)"))


def attribution_heat(attr, outputs: Sequence[str]) -> HeatData:
    """The attribution of one output as heatmap rows over the input characters of its chunk:
    the total, then its forward, backward and direct parts (each row named with its sum);
    `outputs` are the network's outputs for the whole text (the heatmap's top row)."""
    chars = attr.attributions
    values = np.array([[getattr(c, key) for c in chars] for key, _ in ATTRIBUTION_ROWS], dtype=float)
    names = [f"{label} (Σ {row.sum():+.2f})" for (_, label), row in zip(ATTRIBUTION_ROWS, values)]
    return HeatData("".join(c.char for c in chars), [outputs[c.position] for c in chars], names, values)
