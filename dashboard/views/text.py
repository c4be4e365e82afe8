"""User text in, escaped HTML out: caps on what is processed, the per-character confidence view,
and snippets shaded by a neuron's activation.

All user text is escaped; the markup is kept small because the transliterate page re-sends it on
every keystroke.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Sequence

from translit_core.infer.transliterator import CharPrediction
from translit_core.model.alphabets import PLACE_SYMBOL

MAX_LIVE_CHARS = 10_000       # transliterated live; the rest of a longer paste is not processed
MAX_CONFIDENCE_CHARS = 2_000  # the per-character confidence view (one <span> per character)
UNCERTAIN_BELOW = 0.9         # probability under which a character is highlighted

EXAMPLES = (
    "barev dzez",
    "es sirum em Deep Learning",
    "Aydpes aveli sirun e",
    "Hayastani Hanrapetutyun",
)


@dataclass
class Capped:
    text: str           # what is processed
    total: int          # the length of what was typed
    notice: str | None  # why the rest is not processed (None: nothing was cut)


def cap_text(text: str | None, limit: int = MAX_LIVE_CHARS, what: str = "transliterated live") -> Capped:
    """At most `limit` characters are processed (cut at a space near the limit if there is one);
    a longer text gets a notice instead of a frozen page."""
    text = text or ""
    n = len(text)
    if n <= limit:
        return Capped(text, n, None)
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit * 0.9 else limit
    return Capped(text[:cut], n, f"The text has {n:,} characters; the first {cut:,} are {what}. "
                                 f"For long documents use the command line: "
                                 f"`python -m translit_core transliterate < file.txt`.")


# --------------------------------------------------------------------------------------------
# The per-character confidence view

def shown_output(output: str) -> str:
    """An output as the hover text writes it: a placeholder (nothing written) as '_'."""
    return PLACE_SYMBOL if output == "" else output


def confidence_html(preds: Sequence[CharPrediction], uncertain_below: float = UNCERTAIN_BELOW) -> str:
    """Each output character in a <span> whose hover title gives its probability and the model's
    top alternatives; uncertain characters shaded, letters the lexicon changed in blue.
    Characters the model does not decide on (spaces, emoji, Armenian) are plain text."""
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
        known = (f"\nthe network chose {shown_output(p.network)}; the lexicon knows the word with "
                 f"{shown_output(p.output)}" if p.network is not None else "")
        title = html.escape(f"{p.latin} → {shown_output(p.output)} {p.prob:.0%}\nalso: {alts}{known}", quote=True)
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


def decided_positions(preds: Sequence[CharPrediction]) -> list[int]:
    """The characters the network decides (the others pass through): the ones attribution explains."""
    return [i for i, p in enumerate(preds) if p.alternatives]


def uncertain_summary(preds: Sequence[CharPrediction], uncertain_below: float = UNCERTAIN_BELOW) -> tuple[int, int]:
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
# Snippets shaded by an activation (one diverging scale, like the figures)

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
    """A snippet with each character shaded by an activation (escaped; hover shows the value);
    the characters in `mark` (start, end) underlined."""
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


def prediction_rows(preds: list[CharPrediction], alternatives: int = 3) -> list[dict]:
    """The per-character view as rows: what its download holds ("" = writes nothing)."""
    rows = []
    for i, p in enumerate(preds):
        row = {"position": i, "input": p.latin, "output": p.output, "probability": round(p.prob, 6),
               "network_choice": p.network if p.network is not None else ""}
        for j in range(alternatives):
            sym, prob = p.alternatives[j] if j < len(p.alternatives) else ("", None)
            row[f"alternative_{j + 1}"], row[f"alternative_{j + 1}_probability"] = sym, (
                round(prob, 6) if prob is not None else "")
        rows.append(row)
    return rows
