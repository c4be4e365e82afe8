"""The FINDINGS sections on the post's pairs (t → թ, t → ծ, s → _, h → _): spellings, the top
units of each layer, which direction separates the pair best, and the stored ablations."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..analysis.measurement.names import Pair
from ..analysis.measurement.recording import Recording
from ..analysis.measurement.stats import hellinger, ranked_units, slot_histograms
from ..analysis.methods.ablation import ABLATABLE_LAYERS, AblationResult, p_words, verdict
from ..analysis.store import Analysis
from ..model.names import READOUT_LAYERS

SECTIONS = [   # (pair, the context that decides it: the next / previous character, or the whole word)
    ("t:թ", "both"),
    ("t:ծ", "next"),
    ("s:_", "previous"),
    ("h:_", "previous"),
]
CONTEXT = {
    "next": "the character after it, which at this position only the backward direction has read",
    "previous": "the character before it, which at this position only the forward direction has read",
    "both": "the word around it (թ and տ are both typed t), so both directions should contribute",
}
EXPECTED = {"next": "backward", "previous": "forward", "both": None}   # the direction the task predicts


@dataclass
class PairSummary:
    """One pair's line in the closing summary."""
    pair: str
    best: str                 # the direction that separates best, "no clear difference" or "untested"
    expected: str | None      # the direction the task predicts
    causal: str | None        # the direction whose ablation alone is confirmed
    verdicts: dict[str, str]  # layer -> the ablation's verdict, as written


def fmt_neurons(scores) -> str:
    """"#158 0.41 (H 0.47)": H excess over its null, and raw H."""
    return ", ".join(f"#{s.neuron.index} {s.hellinger_excess:.2f} (H {s.hellinger:.2f})" for s in scores)


def verdict_text(r: AblationResult) -> str:
    v = verdict(r)
    return f"**{v}** ({p_words(r)})" if v == "confirmed" else f"{v} ({p_words(r)})"


def direction_sentence(an: Analysis, pair: str) -> tuple[str, str]:
    """(the claim, a sentence with its numbers) for which direction separates `pair` best."""
    c = an.direction_claim(pair)
    if c is None:
        return "untested", "No direction claim stored for this pair."
    text = (f"Mean H of the top {c.k} of each direction (chosen by H excess on one half of the sentences, scored on "
            f"the other {c.n_sentences:,}; 95% bootstrap intervals over sentences, {c.resamples} resamples): forward "
            f"{c.forward}, backward {c.backward}; forward − backward {c.difference}. ")
    text += ("**No clear difference**: the interval contains 0." if c.best == "no clear difference" else
             f"**Separates best: {c.best}** (the interval of the difference excludes 0).")
    return c.best, text


def causal_direction(an: Analysis, pair: str) -> str | None:
    """The LSTM direction whose top-10 ablation is confirmed (p < SIGNIFICANT) while the other's
    is not; None when both or neither are (the ablations then do not single out a direction)."""
    directions = (("concat.fwd", "forward"), ("concat.bwd", "backward"))
    confirmed = {name: verdict(r) == "confirmed" for layer, name in directions
                 if (r := an.ablation(pair, layer)) is not None}
    hits = [name for name, ok in confirmed.items() if ok]
    return hits[0] if len(hits) == 1 and len(confirmed) == 2 else None


def ablation_table(an: Analysis, pair: str) -> list[str]:
    rows = ["| layer ablated (k=10) | target accuracy: unablated / top 10 / random | Δ log p(y): top 10 / random "
            "(mean ± sd) | balanced accuracy over x's outputs: top 10 / random | p / q | verdict |",
            "|---|---|---|---|---|---|"]
    for layer in ABLATABLE_LAYERS:
        r = an.ablation(pair, layer)
        if r is None or not r.tested:
            continue
        rows.append(f"| {layer} | {r.target_accuracy_baseline:.3f} / {r.target_accuracy_top_k:.3f} / "
                    f"{r.target_accuracy_random_mean:.3f} | {r.delta_logp_top_k:+.3f} / "
                    f"{r.delta_logp_random_mean:+.3f} ± {r.delta_logp_random_std:.3f} | "
                    f"{r.balanced_accuracy_top_k:.3f} / {r.balanced_accuracy_random_mean:.3f} | "
                    f"{r.p_value:.2g} / {r.q_value:.2g} | "
                    f"{verdict_text(r)} |")
    return rows


def conditional_pair(rec: Recording, x: str, y: str, previous: str, layers, bins: int, top: int = 10):
    """Hellinger ranking for x:y restricted to positions of x right after the character
    `previous` (e.g. s after t). Returns (n_pos, n_neg, {layer: [(index, H)]}) or None."""
    alph = rec.alphabets
    xi, pi = alph.in_index.get(x), alph.in_index.get(previous)
    yk = 1 if y == "_" else 0 if y == "=" else alph.out_index.get(y)
    if xi is None or pi is None or yk is None:
        return None
    prev = torch.roll(rec.x, 1)
    positions = ((rec.x == xi) & (prev == pi) & ~rec.is_first).nonzero().squeeze(1)
    is_pos = rec.y[positions] == yk
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    if n_pos == 0 or n_neg == 0:
        return n_pos, n_neg, {}
    out = {}
    for layer, acts in rec.layers_at(layers, positions):
        hist = slot_histograms(acts, (~is_pos).long(), 2, bins)
        h = hellinger(hist[0], hist[1]).float()
        out[layer] = [(int(i), float(h[i])) for i in ranked_units(h)[:top]]
    return n_pos, n_neg, out


def spellings(rules, x: str, y: str) -> str:
    """What the romanization rules let `x` stand for as output y, e.g. t:թ -> "t (85%), th (10%), t' (5%)"."""
    tables = [rules.letters, rules.punctuation]
    if y == "_":
        found = [f"{latin} → {letter}" for t in tables for letter, v in t.items()
                 if letter.islower() or not letter.isalpha()
                 for latin in v if x in latin[1:]]
        return "the silent " + x + " in " + ", ".join(dict.fromkeys(found)) if found else f"a silent {x}"
    for t in tables:
        if y in t:
            return ", ".join(f"{latin} ({100 * p:.0f}%)" for latin, p in t[y].items() if latin.startswith(x))
    return ""


def _direction_paragraph(best: str, expected: str | None, causal: str | None, sentence: str) -> str:
    """The direction claim, what the task predicts, and whether the ablations agree."""
    predicted = ("" if expected is None or best in ("untested", "no clear difference") else
                 f"The task predicts {expected}"
                 + ("; our model agrees. " if best == expected else "; our model does not follow that here. "))
    if causal:
        same = (" — the same direction." if causal == best else "." if best in ("no clear difference", "untested")
                else " — *not* the more selective one: selectivity and importance disagree here.")
        ablated = f"Ablation confirms the {causal} direction's top 10 and not the other's" + same
    else:
        ablated = "The ablations do not single out one direction (both or neither confirmed)."
    return sentence + " " + predicted + ablated


def _s_after_t(an: Analysis, rec: Recording, s_pos: int) -> list[str]:
    """s → _ restricted to the s right after a t: is the silent s "the s of ts"?"""
    after_t = conditional_pair(rec, "s", "_", "t", list(READOUT_LAYERS), an.tables.bins)
    if not after_t:
        return []
    n_pos, n_neg, ranks = after_t
    lines = [f"**s → _ right after t.** {n_pos:,} of the {s_pos:,} silent s follow a t "
             f"({100 * n_pos / max(1, s_pos):.1f}%): in this sample s → _ *is* “the s of ts”. After a t, "
             f"{n_neg:,} s are not silent."]
    if ranks and min(n_pos, n_neg) >= an.tables.min_count:
        lines.append("Restricted to s after t (target _ vs not), top 5 per layer: "
                     + "; ".join(f"{layer}: " + ", ".join(f"#{i} {h:.2f}" for i, h in r[:5])
                                 for layer, r in ranks.items()) + ".")
    else:
        lines.append(f"That is too few (< {an.tables.min_count}) for a reliable ranking restricted to s after t, "
                     f"so the s → _ ranking above stands for it.")
    return lines


def pair_section(an: Analysis, rec: Recording, rules, pair: str, context: str) -> tuple[list[str], PairSummary]:
    """One pair's section (the pair must have enough positions) and its line in the summary."""
    p = an.parse_pair(pair)
    lines = [f"## {pair.replace(':', ' → ')}", "",
             f"Spellings behind {pair} in the rules: {spellings(rules, p.x, p.y)}. "
             f"{p.n_pos:,} positions typed `{p.x}` have target {p.y}, {p.n_neg:,} have another target "
             f"(outputs of `{p.x}` in the sample: {', '.join(an.candidates(p.x)[:8])}). Deciding it needs "
             f"{CONTEXT[context]}.", "",
             f"- forward LSTM, top 10: {fmt_neurons(an.top_neurons(pair, 'concat.fwd', 10))}",
             f"- backward LSTM, top 10: {fmt_neurons(an.top_neurons(pair, 'concat.bwd', 10))}",
             f"- hidden layer, top 12: {fmt_neurons(an.top_neurons(pair, 'hidden', 12))}"]
    best, sentence = direction_sentence(an, pair)
    expected, causal = EXPECTED[context], causal_direction(an, pair)
    lines += ["", _direction_paragraph(best, expected, causal, sentence), ""]
    lines += ablation_table(an, pair) + [""]
    verdicts = {layer: verdict_text(r) for layer in ABLATABLE_LAYERS
                if (r := an.ablation(pair, layer)) is not None and r.tested}
    if pair == "s:_":
        lines += _s_after_t(an, rec, p.n_pos) + [""]
    return lines, PairSummary(pair, best, expected, causal, verdicts)


def pair_sections(an: Analysis, rec: Recording, rules) -> tuple[list[str], list[PairSummary]]:
    """The sections of SECTIONS in order, and the summary lines of those the sample has."""
    have = {str(p) for p in an.pairs()}
    lines: list[str] = []
    summaries = []
    for pair, context in SECTIONS:
        if pair not in have:
            lines += [f"## {pair.replace(':', ' → ')}", "",
                      f"Not enough positions for {pair} in the sample (or the model never sees it); skipped.", ""]
            continue
        section, summary = pair_section(an, rec, rules, pair, context)
        lines += section
        summaries.append(summary)
    return lines, summaries


def distinct_splits(an: Analysis, pairs: list[str]) -> list[str]:
    """`pairs` without those that split the positions of their letter exactly like an earlier one
    (x:a and x:b when x has only the outputs a and b): H of such a twin is the same number."""
    out: list[str] = []
    for name in pairs:
        p = an.parse_pair(name)
        twin = any(Pair.parse(q).x == p.x and an.parse_pair(q).n_pos == p.n_neg for q in out)
        if not twin:
            out.append(name)
    return out
