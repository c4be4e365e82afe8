"""docs/FINDINGS.md, regenerated from the shipped model: `python -m translit_core findings`.

Every number in the report comes from the checkpoint's analysis file and its recording of the
held-out sample; nothing is typed in by hand, so retraining and rerunning `analyze` and
`findings` updates the text, including whether it agrees with the post.

What the post states that we compare against (YerevaNN, "Interpreting neurons in an LSTM
network", 2017): its forward-LSTM neuron #70 ranked the pairs s->_ 0.95, h->հ 0.83, h->_ 0.81,
o->օ 0.61 by Hellinger distance; it shows, per pair, the top 12 hidden neurons and the top 10
of each LSTM direction.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from .. import settings
from ..model.names import READOUT_LAYERS, NeuronId
from ..text.rules import load_rules
from ..analysis.methods.ablation import ABLATABLE_LAYERS, NEGLIGIBLE_LOGP, SIGNIFICANT, AblationResult, verdict
from ..analysis.comparison.dynamics import load_dynamics
from .twin import render_twin
from .units import render_units
from ..analysis.queries import span_mask, substring_selectivity
from ..analysis.measurement.recording import Recording
from ..analysis.measurement.stats import hellinger, ranked_units, slot_histograms
from ..analysis.measurement.names import AnalysisMissing, Pair
from ..analysis.store import Analysis

DEFAULT_OUT = settings.REPO / "docs" / "FINDINGS.md"
POST_NEURON_70 = {"s:_": 0.95, "h:հ": 0.83, "h:_": 0.81, "o:օ": 0.61}
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
SUFFIX = "ություն"


def _shown(path: str) -> str:
    """A path as written in the report: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(settings.REPO))
    except ValueError:
        return str(path)


def _fmt_neurons(scores) -> str:
    """"#158 0.41 (H 0.47)": H excess over its null, and raw H."""
    return ", ".join(f"#{s.neuron.index} {s.hellinger_excess:.2f} (H {s.hellinger:.2f})" for s in scores)


def _verdict(r: AblationResult) -> str:
    v = verdict(r)
    return f"**{v}** (p {r.p_value:.2g})" if v == "confirmed" else f"{v} (p {r.p_value:.2g})"


def _direction_sentence(an: Analysis, pair: str) -> tuple[str, str]:
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


def _causal_direction(an: Analysis, pair: str) -> str | None:
    """The LSTM direction whose top-10 ablation is confirmed (p < SIGNIFICANT) while the other's
    is not; None when both or neither are (the ablations then do not single out a direction)."""
    confirmed = {name: verdict(r) == "confirmed" for layer, name in (("concat.fwd", "forward"), ("concat.bwd", "backward"))
                 if (r := an.ablation(pair, layer)) is not None}
    hits = [name for name, ok in confirmed.items() if ok]
    return hits[0] if len(hits) == 1 and len(confirmed) == 2 else None


def _cap(an: Analysis) -> str:
    """How many positions of each output the stored ablations scored, as a clause."""
    caps = {r.per_output for r in an.ablations() if r.tested}
    if caps == {0} or not caps:
        return ""
    return (f", each output of x on at most {max(caps):,} seeded positions (its recall unbiased by that; the "
            f"accuracy over x weights the recalls by each output's share)")


def _ablation_table(an: Analysis, pair: str) -> list[str]:
    rows = ["| layer ablated (k=10) | target accuracy: unablated / top 10 / random | Δ log p(y): top 10 / random "
            "(mean ± sd) | balanced accuracy over x's outputs: top 10 / random | p | verdict |",
            "|---|---|---|---|---|---|"]
    for layer in ABLATABLE_LAYERS:
        r = an.ablation(pair, layer)
        if r is None or not r.tested:
            continue
        rows.append(f"| {layer} | {r.target_accuracy_baseline:.3f} / {r.target_accuracy_top_k:.3f} / "
                    f"{r.target_accuracy_random_mean:.3f} | {r.delta_logp_top_k:+.3f} / {r.delta_logp_random_mean:+.3f} "
                    f"± {r.delta_logp_random_std:.3f} | {r.balanced_accuracy_top_k:.3f} / "
                    f"{r.balanced_accuracy_random_mean:.3f} | {r.p_value:.2g} | {_verdict(r)} |")
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


def mask_runs(rec: Recording, mask: torch.Tensor) -> list[tuple[int, int]]:
    """(start, end) of every run of True positions, split at chunk starts."""
    m, first = mask.tolist(), rec.is_first.tolist()
    runs, p = [], 0
    while p < len(m):
        if m[p]:
            q = p + 1
            while q < len(m) and m[q] and not first[q]:
                q += 1
            runs.append((p, q))
            p = q
        else:
            p += 1
    return runs


def suffix_spellings(rec: Recording, mask: torch.Tensor) -> dict[str, int]:
    """How the occurrences of the suffix were typed: the Latin text of each run of the mask."""
    text = "".join(rec.chunks)
    out: dict[str, int] = {}
    for a, b in mask_runs(rec, mask):
        out[text[a:b]] = out.get(text[a:b], 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


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


def sample_composition(rec: Recording, sample: dict) -> str:
    """Where the sample's sentences come from, what was dropped for overlap with training text, and
    the model's accuracy on each source separately ("" for a sample without that record)."""
    sources, counts = sample.get("sentence_sources"), sample.get("composition")
    if not sources or not counts:
        return ""
    kind = torch.tensor([c == "u" for c in sources])[rec.chunk_sentence]          # per chunk: from UD?
    per_position = torch.repeat_interleave(kind, rec.chunk_start[1:] - rec.chunk_start[:-1])
    right = rec.pred == rec.y
    acc = {name: float(right[mask].float().mean()) for name, mask in (("UD", per_position), ("ARPA", ~per_position))
           if mask.any()}
    return (f"The sample: {counts['ud']:,} UD test sentences and {counts['arpa']:,} ARPA test sentences (ARPA's are "
            f"news paraphrase pairs, so its sentences are not independent of each other); {counts['dropped_exact']} "
            f"held-out sentences that also occur in a training source and {counts['dropped_near']} that share at least "
            f"half their word 6-grams with training text were dropped (`python -m translit_core sample --dropped` lists "
            f"them). Accuracy per position: UD {100 * acc.get('UD', float('nan')):.2f}%, ARPA "
            f"{100 * acc.get('ARPA', float('nan')):.2f}%.")


def _draws(an: Analysis) -> str:
    draws = {r.n_random_draws for r in an.ablations() if r.tested}
    return "/".join(str(d) for d in sorted(draws)) or "no"


def render(an: Analysis, rec: Recording) -> str:
    meta = an.meta
    ck = meta["checkpoint"]
    metrics = ck.get("metrics", {})
    sample = meta["sample"]
    have = {str(p) for p in an.pairs()}
    L = []
    add = L.append
    add("# Findings: what the neurons of our transliteration model do")
    add("")
    add(f"_Generated by `python -m translit_core findings` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"from `{_shown(ck['dir'])}` (weights sha256 `{ck['weights_sha256'][:12]}`"
        + (f", validation char accuracy {metrics['valid_char_accuracy']:.2f}%"
           if "valid_char_accuracy" in metrics else "")
        + f") and its analysis of {sample['n_sentences']:,} held-out sentences "
        f"({sample['n_positions']:,} Latin positions; {'UD test + ARPA test' if sample.get('source') == 'heldout' else sample.get('path')}, "
        f"romanized with seed {sample['seed']}). The model gets {100 * meta['sample_accuracy']:.2f}% of those positions "
        f"right. Regenerate after retraining: every number below comes from those files._")
    add("")
    composition = sample_composition(rec, sample)
    if composition:
        add(composition)
        add("")
    add("## Method")
    add("")
    null = meta.get("null_method", {})
    add(f"As in YerevaNN's post: for an input character x and an output y, a neuron's activations on the positions "
        f"typed x are split by whether the target is y; both are histogrammed in {an.tables.bins} equal bins between "
        f"the neuron's min and max on x; the Hellinger distance H = sqrt(1 - Σ sqrt(p·q)) says how well the neuron "
        f"alone separates y from the other outputs of x (0: not at all, 1: perfectly). Pairs need at least "
        f"{an.tables.min_count} positions on each side ({len(have)} pairs qualify). `concat.fwd` / `concat.bwd` are the "
        f"two LSTM directions' outputs, `hidden` the dense layer. Indices are ours: a retrained model numbers its "
        f"neurons differently, so only the *pattern* can be compared with the post.")
    add("")
    add(f"**H has a noise floor.** Two histograms of the same law still differ by chance, the more so the fewer "
        f"positions a pair has. Every H therefore comes with its label-permutation null: y shuffled within the "
        f"positions of x ({null.get('shuffles', an.tables.shuffles)} shuffles), H recomputed; the *excess* H − null is "
        f"what rankings, cross-pair comparisons and the graph use, written below as `#unit excess (H raw)`. "
        f"The bin count is {an.tables.bins}: of 100 / 300 / 1000 / 3000 bins it gave the most reproducible rankings "
        f"between two random halves of the sentences and the lowest floor (`benchmarks/bins_study.py`; the post's "
        f"1000 bins put the floor of a median neuron at 0.18 for t→թ and 0.45 for o→օ).")
    add("")
    add(f"**Selectivity is tested for importance** (Morcos et al. 2018; Antverg & Belinkov 2022): the 10 neurons with "
        f"the highest H excess in a layer are set to their mean activation over all positions typed x (the value that "
        f"carries no information about y), in the layers above the biLSTM (the recurrence is not rerun for the stored "
        f"ones; `ablate --recurrent` reruns it). What is measured is the decision x → y: accuracy on the positions "
        f"of y, the mean change of log p(y) there, and the balanced accuracy over all outputs of x{_cap(an)}. The baseline is "
        f"10 random units of the same layer, drawn to match the selected units' activation spread, "
        f"{_draws(an)} draws; the p-value is the fraction of draws that cost at least as much log p(y). "
        f"An ablation is **confirmed** when p < {SIGNIFICANT} and the top 10 cost at least {NEGLIGIBLE_LOGP} nats "
        f"of log p(y) more than random units (1% of p); a smaller effect with p < {SIGNIFICANT} is *significant but "
        f"negligible*.")
    add("")
    add("**Which direction separates best** is decided on data the selection did not see: the top 10 units of each "
        "direction are chosen on one random half of the sentences and scored on the other, with a bootstrap over "
        "its sentences; a direction wins only when the interval of the difference excludes 0.")
    add("")

    rules = load_rules()
    summary_rows = []
    for pair, context in SECTIONS:
        title = pair.replace(":", " → ")
        add(f"## {title}")
        add("")
        if pair not in have:
            add(f"Not enough positions for {pair} in the sample (or the model never sees it); skipped.")
            add("")
            continue
        p = an.parse_pair(pair)
        add(f"Spellings behind {pair} in the rules: {spellings(rules, p.x, p.y)}. "
            f"{p.n_pos:,} positions typed `{p.x}` have target {p.y}, {p.n_neg:,} have another target "
            f"(outputs of `{p.x}` in the sample: {', '.join(an.candidates(p.x)[:8])}). Deciding it needs "
            f"{CONTEXT[context]}.")
        add("")
        add(f"- forward LSTM, top 10: {_fmt_neurons(an.top_neurons(pair, 'concat.fwd', 10))}")
        add(f"- backward LSTM, top 10: {_fmt_neurons(an.top_neurons(pair, 'concat.bwd', 10))}")
        add(f"- hidden layer, top 12: {_fmt_neurons(an.top_neurons(pair, 'hidden', 12))}")
        best, sentence = _direction_sentence(an, pair)
        expected = {"next": "backward", "previous": "forward", "both": None}[context]
        causal = _causal_direction(an, pair)
        add("")
        add(sentence + " "
            + ("" if expected is None or best in ("untested", "no clear difference") else f"The task predicts {expected}"
               + ("; our model agrees. " if best == expected else "; our model does not follow that here. "))
            + (f"Ablation confirms the {causal} direction's top 10 and not the other's"
               + (" — the same direction." if causal == best else "." if best in ("no clear difference", "untested")
                  else " — *not* the more selective one: selectivity and importance disagree here.")
               if causal else "The ablations do not single out one direction (both or neither confirmed)."))
        add("")
        L.extend(_ablation_table(an, pair))
        add("")
        verdicts = {l: _verdict(r) for l in ABLATABLE_LAYERS if (r := an.ablation(pair, l)) is not None and r.tested}
        summary_rows.append((pair, best, expected, causal, verdicts))

        if pair == "s:_":
            after_t = conditional_pair(rec, "s", "_", "t", list(READOUT_LAYERS), an.tables.bins)
            s_pos = p.n_pos
            if after_t:
                n_pos, n_neg, ranks = after_t
                add(f"**s → _ right after t.** {n_pos:,} of the {s_pos:,} silent s follow a t "
                    f"({100 * n_pos / max(1, s_pos):.1f}%): in this sample s → _ *is* “the s of ts”. After a t, "
                    f"{n_neg:,} s are not silent.")
                if ranks and min(n_pos, n_neg) >= an.tables.min_count:
                    add(f"Restricted to s after t (target _ vs not), top 5 per layer: "
                        + "; ".join(f"{l}: " + ", ".join(f"#{i} {h:.2f}" for i, h in r[:5]) for l, r in ranks.items())
                        + ".")
                else:
                    add(f"That is too few (< {an.tables.min_count}) for a reliable ranking restricted to s after t, "
                        f"so the s → _ ranking above stands for it.")
            add("")

    # ---- the post's forward neuron #70
    post70 = None
    add("## The post's forward neuron #70")
    add("")
    add("The post's forward-LSTM neuron #70 ranked " + ", ".join(f"{k.replace(':', '→')} {v}" for k, v in POST_NEURON_70.items())
        + ": one forward unit that tells the silent second letter of a digraph (the s of ts, the h of th, sh, …) "
        "from the other readings of the letter. Our neuron #70 is an unrelated unit (indices depend on the training "
        "run), so we look for the neuron of ours that plays that role.")
    add("")
    if "s:_" in have:
        best70 = an.top_neurons("s:_", "concat.fwd", 1)[0]
        tops = an.top_pairs(best70.neuron, 6)
        add(f"- Our forward neuron with the highest H excess on s→_ is **{best70.neuron}** (excess "
            f"{best70.hellinger_excess:.2f}, H {best70.hellinger:.2f}, null {best70.hellinger_null:.2f}); its best pairs "
            f"by excess: " + ", ".join(f"{t.pair} {t.hellinger_excess:.2f}" for t in tops) + ".")
        present = distinct_splits(an, [k for k in POST_NEURON_70 if k in have])
        twins = [k for k in POST_NEURON_70 if k in have and k not in present]
        if twins:
            add(f"- {', '.join(twins)} split the positions of their letter exactly as "
                f"{', '.join(k for k in present if Pair.parse(k).x in {Pair.parse(t).x for t in twins})} does (the letter "
                f"has just those two outputs here), so it is the same test counted once below.")
        if len(present) >= 2:
            cols = slice(an.offsets["concat.fwd"], an.offsets["concat.fwd"] + an.sizes["concat.fwd"])
            rows = [an.pair_row(k) for k in present]
            excess = an.tables.hellinger_excess[rows][:, cols]                   # (pairs, units)
            rank = excess.argsort(1, descending=True).argsort(1) + 1             # 1 = the best unit of the layer
            match = int(excess.min(0).values.argmax())
            vals = ", ".join(f"{k.replace(':', '→')} excess {float(excess[i, match]):.2f} (H "
                             f"{an.hellinger_of(k, NeuronId('concat.fwd', match)):.2f}, rank {int(rank[i, match])})"
                             for i, k in enumerate(present))
            add(f"- The forward neuron whose *weakest* excess over those pairs is strongest is **concat.fwd:{match}**: "
                f"{vals}. The post's raw values (" + ", ".join(f"{k} {v}" for k, v in POST_NEURON_70.items())
                + ") come from another sample whose noise floor is unknown, so only ranks compare.")
            own = an.score_of("s:_", NeuronId("concat.fwd", 70))
            add(f"- For the record, our concat.fwd:70 has excess {own.hellinger_excess:.2f} (H {own.hellinger:.2f}) on s→_.")
            agree = bool((rank[:, match] <= 10).all())
            post70 = (f"reproduced by concat.fwd:{match}, in the top 10 of its layer on every one ({vals})." if agree else
                      f"not reproduced; the closest forward neuron, concat.fwd:{match}, has {vals}.")
            add("- " + ("**Agrees with the post**: a single forward neuron is in the top 10 of its layer for the silent "
                        "s and the silent/voiced h (and o→օ)." if agree else
                        "**Differs from the post**: no single forward neuron of ours is in the top 10 of its layer on "
                        "every one of these pairs (the role is spread over several units, or split between them)."))
    add("")

    # ---- ranking methods
    comparisons = an.method_comparisons()
    if comparisons:
        add("## Which ranking finds the neurons the model uses?")
        add("")
        add("Each ranking is made on a subset of one half of the sentences; on the other half its top k units are set "
            "to their mean (head-only) and the mean change of log p(target) on the target's positions is measured, "
            "for k = " + ", ".join(str(p.k) for p in comparisons[0].curve("random").curve) + ". The table gives "
            "the mean over those k (more negative: the ranking found units the model uses more), and the random "
            "band's mean at the same k.")
        add("")
        methods = [c.method for c in comparisons[0].curves if c.method != "random"]
        add("| pair, layer | " + " | ".join(methods) + " | random | best |")
        add("|---|" + "---|" * (len(methods) + 2))
        wins: dict[str, int] = {}
        for cmp in comparisons:
            areas = {m: cmp.area(m) for m in methods}
            best = min(areas, key=areas.get)
            wins[best] = wins.get(best, 0) + 1
            add(f"| {cmp.pair} {cmp.layer} | " + " | ".join(f"{areas[m]:+.3f}" for m in methods)
                + f" | {cmp.area('random'):+.3f} | {best} |")
        add("")
        h_beats = sum(cmp.area("excess") <= cmp.area("hellinger") for cmp in comparisons)
        add(f"Best method per comparison: " + ", ".join(f"{m} {n}×" for m, n in sorted(wins.items(), key=lambda kv: -kv[1]))
            + f" (of {len(comparisons)}). H excess ranks at least as well as raw H in {h_beats} of {len(comparisons)}. "
            "Greedy selection optimises the very measure on the other half, so it is the upper reference; the "
            "question is how close the cheap rankings come to it.")
        add("")

    # ---- ություն
    add(f"## The suffix “{SUFFIX}” (typed utyun, ut'yun, uthyun, …)")
    add("")
    mask = span_mask(rec, SUFFIX)
    n_in = int(mask.sum())
    if n_in == 0:
        add(f"“{SUFFIX}” does not occur in the sample.")
    else:
        spell = suffix_spellings(rec, mask)
        add(f"{sum(spell.values()):,} occurrences ({n_in:,} Latin positions) in the sample, typed "
            + ", ".join(f"`{k}` {v}" for k, v in list(spell.items())[:6]) + ".")
        add("")
        add("Neurons that best separate positions inside the suffix from positions typed with the same letters "
            "elsewhere (Hellinger distance, inside vs outside; the control for the letters matters, otherwise "
            "neurons that merely track u, t, y, n win):")
        add("")
        scores = substring_selectivity(rec, SUFFIX, layers=READOUT_LAYERS, top=5,
                                       bins=an.tables.bins)
        by_layer: dict[str, list] = {}
        for s in scores:
            by_layer.setdefault(s.neuron.layer, []).append(s)
        for layer, ss in by_layer.items():
            add(f"- {layer}: {_fmt_neurons(ss)}")
        best = max(scores, key=lambda s: s.hellinger)
        inside = rec.layer(best.neuron.layer, mask.nonzero().squeeze(1), units=[best.neuron.index])
        outside_pos = (~mask & torch.isin(rec.x, rec.x[mask].unique())).nonzero().squeeze(1)
        outside = rec.layer(best.neuron.layer, outside_pos, units=[best.neuron.index])
        add("")
        add(f"The most selective is **{best.neuron}** (H {best.hellinger:.2f}): mean activation "
            f"{float(inside.mean()):+.3f} inside the suffix vs {float(outside.mean()):+.3f} on the same letters "
            f"elsewhere. Where in the suffix it fires, per character of `utyun`:")
        add("")
        # Mean activation of that neuron at each character of the runs typed exactly `utyun`.
        text = "".join(rec.chunks)
        offsets: dict[int, list[float]] = {}
        for a, b in mask_runs(rec, mask):
            if text[a:b].lower() == "utyun":
                vals = rec.layer(best.neuron.layer, torch.arange(a, b), units=[best.neuron.index]).squeeze(1)
                for o, v in enumerate(vals.tolist()):
                    offsets.setdefault(o, []).append(v)
        if offsets:
            add("| " + " | ".join("utyun") + " |")
            add("|" + "---|" * 5)
            add("| " + " | ".join(f"{sum(v) / len(v):+.2f}" for o, v in sorted(offsets.items())) + " |")
    add("")
    L.extend(render_units(an, rec))        # gate saturation and unit clusters (findings_units.py)

    # ---- summary
    add("## Summary: agreement with the post")
    add("")
    for pair, best, expected, causal, verdicts in summary_rows:
        conf = ", ".join(f"{l} {v}" for l, v in verdicts.items())
        add(f"- **{pair.replace(':', ' → ')}**: most selective direction {best}"
            + (f" (task predicts {expected})" if expected else "")
            + f"; ablation singles out {causal or 'no direction'}; top-10 ablations: {conf}.")
    if post70 is not None:
        add(f"- **The post's neuron #70** (forward, s→_ 0.95, h→հ 0.83, h→_ 0.81, o→օ 0.61): {post70}")
    add("- Selective is not the same as important: a **confirmed** row means the most selective neurons are also "
        "used by the layers above for that decision, more than spread-matched random units; *no effect beyond "
        "random* means the picture of that pair is descriptive only (the information is redundant across many "
        "units, or read from elsewhere).")
    add("")
    return "\n".join(L) + "\n"


def other_models(an: Analysis) -> tuple[dict, dict, str]:
    """(name -> Analysis for `an` first and every other analysed model of the lab, name -> the stored
    dynamics of every run that has them, `an`'s name)."""
    base = an.checkpoint_dir.name if an.checkpoint_dir else "base"
    models = {base: an}
    for name, d in settings.model_dirs().items():
        if an.checkpoint_dir is not None and d.resolve() == an.checkpoint_dir.resolve():
            continue
        try:
            models.setdefault(name, Analysis.load(d))
        except AnalysisMissing:
            continue
    runs = {}
    for name, d in settings.run_dirs().items():
        stored = load_dynamics(d)
        if stored is not None:
            runs[name] = stored
    return models, runs, base


def write_findings(checkpoint_dir=None, out: str | Path | None = None, data_dir=None) -> Path:
    an = Analysis.load(checkpoint_dir)
    rec = an.recording(data_dir)
    text = render(an, rec)
    twin = render_twin(*other_models(an), data_dir=data_dir)      # the lab's regularized twin, if it has one
    if twin:
        text += "\n" + "\n".join(twin) + "\n"
    path = Path(out) if out else DEFAULT_OUT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
