"""The heatmap page's hypothesis panel (LSTMVis) and annotation tracks: view logic, no widgets.

The engine (translit_core.analysis.methods.hypothesis, .tracks) does the work; this module turns a typed
text and a span into its arguments and its results into escaped HTML, table rows and notes.
"""
from __future__ import annotations

import html
from typing import Sequence

from translit_core.analysis.methods.hypothesis import CONTEXT, HypothesisResult, Match
from translit_core.analysis.methods.intervene import parse_span
from translit_core.analysis.methods.tracks import TextTracks, text_tracks
from translit_core.infer.transliterator import CharPrediction
from translit_core.model.names import UnknownName

from .heatmaps import find_spans
from .markdown import md_literal, md_plain
from .urls import Parsed

DEFAULT_SPAN_TEXT = "tyun"           # the post's ություն, without its first letter (u is everywhere)
MATCHES_SHOWN = 10                   # aligned in the panel, a mix of both kinds (shown_matches)
MATCHES_FETCHED = 200                # matches the search returns, for the panel's mix and the table
MATCHES_FETCHED_MOST = 2000          # asked for at most when the first ones hold too few of a kind (fetch_for_mix)
HYPOTHESIS_LAYERS = ("concat.fwd", "concat.bwd", "hidden", "cell.fwd", "cell.bwd",
                     "gate.fwd.i", "gate.fwd.f", "gate.fwd.o", "gate.bwd.i", "gate.bwd.f", "gate.bwd.o")


def default_span(text: str, sub: str = DEFAULT_SPAN_TEXT) -> tuple[int, int]:
    """The first occurrence of `sub` in the text, else its first (up to) four characters."""
    spans = find_spans(text, sub)
    return spans[0] if spans else (0, max(1, min(4, len(text))))


def clamp_span(span, length: int) -> tuple[int, int]:
    """A (start, end) that fits a text of `length` characters (a span kept from a longer text)."""
    try:
        s, e = int(span[0]), int(span[1])
    except (TypeError, ValueError, IndexError):
        return (0, max(1, min(4, length)))
    s = min(max(0, s), max(0, length - 1))
    e = min(max(s + 1, e), length)
    return (s, e)


def parse_span_param(value: str | None, text: str) -> Parsed[tuple[int, int] | None]:
    """`span=3:7` from the URL for this text; None (the default span) when absent or bad."""
    if value is None or value == "":
        return Parsed(None)
    try:
        return Parsed(parse_span(value, len(text)))
    except UnknownName as e:
        return Parsed(None, f"The span {md_literal(value, 30)} in the link is not used: {md_plain(e)}. "
                            f"Showing the default span instead.")


def span_param(span: tuple[int, int]) -> str:
    return f"{span[0]}:{span[1]}"


def units_note(r: HypothesisResult) -> str:
    """Markdown: which units fit the span, or why none does."""
    if not r.units:
        return (f"No unit of {r.layer} is above {r.threshold:g} over the whole span and below it "
                f"{r.left} before and {r.right} after. Lower the threshold or the context sizes, or pick "
                f"another span or layer.")
    shown = ", ".join(f"`{r.layer}:{u}`" for u in r.units[:24]) + (" …" if len(r.units) > 24 else "")
    return (f"**{len(r.units)} units** are above {r.threshold:g} at every character of the span and below it at "
            f"the {r.left} character(s) before and {r.right} after: {shown}")


def counts_note(r: HypothesisResult) -> str:
    if not r.units:
        return ""
    same = f"{r.n_same_letters / r.n_matches:.0%}" if r.n_matches else "no"
    kind = ("mostly the span's own letters: these units look like a **letter detector**"
            if r.n_matches and r.n_same_letters >= 0.5 * r.n_matches else
            "mostly other letters: these units track a **context**, not the letters themselves"
            if r.n_matches else "no match")
    latin = md_literal(r.span_latin or "", 30)
    return (f"{r.n_matches:,} places in the {r.n_positions:,} positions of the analysis sample where "
            f"{'all' if r.min_units == len(r.units) else r.min_units} of these units are on throughout and off "
            f"around ({r.n_full:,} with every unit fitting); {r.n_same_letters:,} ({same}) are {latin} itself — "
            f"{kind}. Searched in {r.seconds:.2f} s.")


def _shares(r: HypothesisResult, n: int) -> tuple[int, int]:
    """(matches with the span's letters, with other letters) for a panel of `n`: in proportion to
    their counts over all the matches, at least one of each kind that occurs."""
    n_other = r.n_matches - r.n_same_letters
    want = round(n * r.n_same_letters / r.n_matches) if r.n_matches else 0
    if r.n_same_letters:
        want = max(1, want)
    if n_other:
        want = min(want, n - 1)
    want = min(want, r.n_same_letters)
    return want, min(n - want, n_other)


def shown_matches(r: HypothesisResult, n: int = MATCHES_SHOWN) -> list[Match]:
    """The matches the panel aligns: `n` of the returned ones, the span's own letters and other
    letters in proportion to their counts over all the matches (_shares), the best-ranked of each
    kind, in rank order. The engine ranks the span's own letters high (the same length, the
    strongest activation), so its top `n` can be all of one kind while nearly every match is the
    other. Where too few of a kind were returned, more of the other fill the panel."""
    if not r.matches or n <= 0:
        return []
    same = [m for m in r.matches if m.same_letters]
    other = [m for m in r.matches if not m.same_letters]
    want, _ = _shares(r, n)
    take = same[:want]
    take += other[:n - len(take)]
    take += same[want:want + n - len(take)]
    return sorted(take, key=lambda m: m.rank)


def fetch_for_mix(r: HypothesisResult, n: int = MATCHES_SHOWN, most: int = MATCHES_FETCHED_MOST) -> int | None:
    """How many matches to ask the engine for so that the panel gets its share of both kinds,
    when the returned ones hold too few of a kind that the sample has (its top ones all of the
    other kind); None when they suffice. Asking for the other kind's count plus `n` is enough
    (at most that many of the other are ranked above `n` of this one), up to `most`."""
    want_same, want_other = _shares(r, n)
    got_same = sum(m.same_letters for m in r.matches)
    got_other = len(r.matches) - got_same
    if got_other < want_other:
        top = r.n_same_letters + n
    elif got_same < want_same:
        top = r.n_matches - r.n_same_letters + n
    else:
        return None
    top = min(top, most, r.n_matches)
    return top if top > len(r.matches) else None


def shown_note(r: HypothesisResult, shown: Sequence[Match]) -> str:
    """Markdown: which of the matches the panel shows, out of how many, and what the table holds."""
    if not shown:
        return ""
    k_same = sum(m.same_letters for m in shown)
    latin = md_literal(r.span_latin or "", 30)
    n_other = r.n_matches - r.n_same_letters
    table = (f"the table has all {len(r.matches):,}" if len(r.matches) == r.n_matches else
             f"the table has the {len(r.matches):,} best-ranked")
    return (f"Showing {len(shown):,} of the {r.n_matches:,} matches: {k_same:,} of the {r.n_same_letters:,} with "
            f"{latin} itself and {len(shown) - k_same:,} of the {n_other:,} with other letters, the best-ranked "
            f"of each kind; {table}.")


def match_rows(r: HypothesisResult) -> list[dict]:
    """The returned matches as table rows (CSV download: the same rows)."""
    rows = []
    for m in r.matches:
        a = len(m.before)
        rows.append({"rank": m.rank, "before": m.before, "match": m.latin, "after": m.after,
                     "output": "".join(m.outputs[a:a + len(m.latin)]), "units fitting": m.n_fit,
                     "length": m.length, "mean activation": round(m.mean_activation, 3),
                     "span's letters": m.same_letters, "sentence": m.sentence, "offset": m.offset})
    return rows


def _cell(latin: str, out: str, cls: str = "") -> str:
    o = (html.escape(out) if out.strip() else "&nbsp;") if out else '<span class="z">·</span>'
    i = html.escape(latin) if latin.strip() else "&nbsp;"      # a space keeps its cell's height
    return f'<span class="hy-c{(" " + cls) if cls else ""}"><span class="o">{o}</span><span class="i">{i}</span></span>'


def matches_html(r: HypothesisResult, n: int = MATCHES_SHOWN, context: int = CONTEXT) -> str:
    """The shown matches (shown_matches), one per line, aligned on the match (left contexts padded
    to the same width): the model's output above each Latin character, the match outlined. Escaped."""
    lines = ['<div class="hy-m" lang="hy">']
    for m in shown_matches(r, n):
        a, b = len(m.before), len(m.before) + len(m.latin)
        cells = ['<span class="hy-c pad"></span>'] * (context - a)
        for j, (c, o) in enumerate(zip(m.before + m.latin + m.after, m.outputs)):
            cells.append(_cell(c, o, "in" if a <= j < b else ""))
        title = html.escape(f"sentence {m.sentence}, characters {m.offset}-{m.offset + m.length}; "
                            f"{m.n_fit} units fit; mean activation {m.mean_activation:+.2f}", quote=True)
        mark = ' <span class="hy-s">same letters</span>' if m.same_letters else ""
        lines.append(f'<div class="hy-r" title="{title}"><span class="hy-n">{m.rank}.</span>'
                     f'{"".join(cells)}{mark}</div>')
    lines.append("</div>")
    return HYPOTHESIS_CSS + "".join(lines)


HYPOTHESIS_CSS = """
<style>
.hy-m {font-family: "Noto Sans Armenian", "Noto Sans", sans-serif; font-size: 1.05rem;}
.hy-r {display: flex; align-items: flex-end; margin-bottom: 4px; white-space: nowrap; overflow-x: auto;}
.hy-n {width: 2.2em; color: #868e96; font-size: 0.8rem; text-align: right; margin-right: 6px;}
.hy-c {display: inline-flex; flex-direction: column; align-items: center; width: 1.15em; flex: none;}
.hy-c.pad {height: 1px;}
.hy-c .o {color: #1c7ed6; font-size: 0.95rem; line-height: 1.3rem;}
.hy-c .i {font-family: "Noto Sans Mono", monospace; color: #495057; line-height: 1.3rem;}
.hy-c.in {background: rgba(232, 89, 12, 0.12); border-top: 2px solid #e8590c; border-bottom: 2px solid #e8590c;}
.hy-c.in .i {color: #212529; font-weight: 700;}
.hy-c .z {color: #adb5bd;}
.hy-s {margin-left: 8px; font-size: 0.75rem; color: #2b8a3e;}
</style>
"""


# --------------------------------------------------------------------------------------------
# Tracks under the heatmap

def tracks_for(text: str, preds: Sequence[CharPrediction]) -> TextTracks:
    """The annotation rows of a text from the model's predictions (one per character): the
    network's own output, its probability, and whether the lexicon changed the letter."""
    outputs = [p.output if p.network is None else p.network for p in preds]
    probs = [p.prob for p in preds]
    lexicon = [p.network is not None for p in preds]
    if len(preds) != len(text):                 # a prediction per character, always; else no tracks
        return TextTracks([])
    return text_tracks(text, outputs, probs, lexicon)


def tracks_legend(tracks: TextTracks) -> str:
    """Markdown: what each track row under the heatmap means."""
    return "Tracks under the rows: " + "; ".join(f"**{md_plain(n)}**: {md_plain(m)}" for n, _, m in tracks.rows) + "."
