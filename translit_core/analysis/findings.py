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
from .ablation import ABLATABLE_LAYERS, AblationResult
from .queries import span_mask, substring_selectivity
from .recording import Recording
from .stats import hellinger, ranked_units, slot_histograms
from .store import Analysis

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
MARGIN = 0.005   # an ablation must cost this much more than random neurons (and 2 std) to count


def _shown(path: str) -> str:
    """A path as written in the report: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(settings.REPO))
    except ValueError:
        return str(path)


def _fmt_neurons(scores) -> str:
    return ", ".join(f"#{s.neuron.index} {s.hellinger:.2f}" for s in scores)


def _verdict(r: AblationResult) -> str:
    gap = r.random_k_accuracy_mean - r.top_k_accuracy
    need = max(2 * r.random_k_accuracy_std, MARGIN)
    if gap >= need:
        return "**confirmed**"
    if gap > 0:
        return "weak (within noise)"
    return "not confirmed"


def _direction(an: Analysis, pair: str) -> tuple[str, float, float, float, float]:
    fwd = an.top_neurons(pair, "concat.fwd", 10)
    bwd = an.top_neurons(pair, "concat.bwd", 10)
    mf, mb = sum(s.hellinger for s in fwd) / 10, sum(s.hellinger for s in bwd) / 10
    if abs(mf - mb) < 0.03:
        best = "neither (the two directions separate it about equally)"
    else:
        best = "forward" if mf > mb else "backward"
    return best, mf, mb, fwd[0].hellinger, bwd[0].hellinger


def _causal_direction(an: Analysis, pair: str) -> str | None:
    """The LSTM direction whose top-10 ablation costs the most accuracy beyond random neurons
    (None when neither costs more than the margin)."""
    gaps = {}
    for layer, name in (("concat.fwd", "forward"), ("concat.bwd", "backward")):
        r = an.ablation(pair, layer)
        if r is not None:
            gaps[name] = r.random_k_accuracy_mean - r.top_k_accuracy
    if not gaps or max(gaps.values()) < MARGIN:
        return None
    return max(gaps, key=gaps.get)


def _ablation_table(an: Analysis, pair: str) -> list[str]:
    rows = ["| layer ablated (k=10) | unablated | top-10 by H -> mean | 10 random (mean ± std) | verdict "
            "| on target only: unablated / top-10 / random |",
            "|---|---|---|---|---|---|"]
    for layer in ABLATABLE_LAYERS:
        r = an.ablation(pair, layer)
        if r is None:
            continue
        rows.append(f"| {layer} | {r.baseline_accuracy:.4f} | {r.top_k_accuracy:.4f} | "
                    f"{r.random_k_accuracy_mean:.4f} ± {r.random_k_accuracy_std:.4f} | {_verdict(r)} | "
                    f"{r.baseline_accuracy_on_y:.3f} / {r.top_k_accuracy_on_y:.3f} / "
                    f"{r.random_k_accuracy_on_y_mean:.3f} |")
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
    add("## Method")
    add("")
    add(f"As in YerevaNN's post: for an input character x and an output y, a neuron's activations on the positions "
        f"typed x are split by whether the target is y; both are histogrammed in {an.tables.bins} equal bins between "
        f"the neuron's min and max on x; the Hellinger distance H = sqrt(1 - Σ sqrt(p·q)) says how well the neuron "
        f"alone separates y from the other outputs of x (0: not at all, 1: perfectly). Pairs need at least "
        f"{an.tables.min_count} positions on each side ({len(have)} pairs qualify). `concat.fwd` / `concat.bwd` are the "
        f"two LSTM directions' outputs, `hidden` the dense layer. Indices are ours: a retrained model numbers its "
        f"neurons differently, so only the *pattern* can be compared with the post.")
    add("")
    add("Beyond the post, selectivity is tested for importance (Morcos et al. 2018; Antverg & Belinkov 2022): the "
        "10 neurons with the highest H in a layer are set to their mean activation over all positions typed x (the "
        "value that carries no information about y), and the model's accuracy on those positions is compared with the "
        "unablated model and with 10 random neurons of the same layer (5 draws). The biLSTM outputs are replaced just "
        "before the dense layer; the recurrence is not rerun. An ablation counts as **confirmed** when the top-10 "
        f"cost at least max(2 std, {MARGIN}) more accuracy than the random ones.")
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
        best, mf, mb, tf, tb = _direction(an, pair)
        expected = {"next": "backward", "previous": "forward", "both": None}[context]
        causal = _causal_direction(an, pair)
        add("")
        add(f"Mean H of the top 10: forward {mf:.3f}, backward {mb:.3f} (best single neuron {tf:.3f} vs {tb:.3f}). "
            f"**Separates best: {best}.** "
            + ("" if expected is None else f"The task predicts {expected}"
               + ("; our model agrees. " if best == expected else "; our model does not follow that here. "))
            + (f"Ablation hurts most when the {causal} direction's top 10 are silenced"
               + ("." if best.startswith("neither") else " — the same direction." if causal == best else
                  " — *not* the most selective one: selectivity and importance disagree here.")
               if causal else "Ablating neither direction's top 10 hurts more than random neurons."))
        add("")
        L.extend(_ablation_table(an, pair))
        add("")
        verdicts = {l: _verdict(an.ablation(pair, l)) for l in ABLATABLE_LAYERS if an.ablation(pair, l)}
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
        best70 = an.top_neurons("s:_", "concat.fwd", 1)[0].neuron
        tops = an.top_pairs(best70, 6)
        add(f"- Our forward neuron with the highest H on s→_ is **{best70}** (H {an.hellinger_of('s:_', best70):.2f}); "
            f"its best pairs: " + ", ".join(f"{t.pair} {t.hellinger:.2f}" for t in tops) + ".")
        present = [k for k in POST_NEURON_70 if k in have]
        if len(present) == len(POST_NEURON_70):
            H = an.tables.hellinger
            cols = slice(an.offsets["concat.fwd"], an.offsets["concat.fwd"] + an.sizes["concat.fwd"])
            rows = [an.pair_row(k) for k in present]
            profile = H[rows][:, cols]                                    # (4, units)
            match = int(profile.min(0).values.argmax())
            vals = ", ".join(f"{k.replace(':', '→')} {float(profile[i, match]):.2f}" for i, k in enumerate(present))
            add(f"- The forward neuron whose *weakest* of the post's four pairs is strongest is **concat.fwd:{match}**: "
                f"{vals} (post: " + ", ".join(f"{v}" for v in POST_NEURON_70.values()) + ").")
            own = an.hellinger_of("s:_", NeuronId("concat.fwd", 70))
            add(f"- For the record, our concat.fwd:70 has H {own:.2f} on s→_.")
            agree = float(profile[0, match]) >= 0.8 and float(profile[1:, match].min()) >= 0.5
            post70 = (f"reproduced by concat.fwd:{match} ({vals})." if agree else
                      f"not reproduced; the closest forward neuron, concat.fwd:{match}, has {vals}.")
            add("- " + ("**Agrees with the post**: a single forward neuron covers the silent s after t and the "
                        "silent / voiced h." if agree else
                        "**Differs from the post**: no single forward neuron of ours has that whole profile "
                        "(the role is spread over several units, or split between them)."))
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

    # ---- summary
    add("## Summary: agreement with the post")
    add("")
    for pair, best, expected, causal, verdicts in summary_rows:
        conf = ", ".join(f"{l} {v}" for l, v in verdicts.items())
        add(f"- **{pair.replace(':', ' → ')}**: most selective direction {best}"
            + (f" (task predicts {expected})" if expected else "")
            + f"; ablation hurts most in {causal or 'neither'}; top-10 ablations: {conf}.")
    if post70 is not None:
        add(f"- **The post's neuron #70** (forward, s→_ 0.95, h→հ 0.83, h→_ 0.81, o→օ 0.61): {post70}")
    add("- Selective is not the same as important: a **confirmed** row means the most selective neurons are also "
        "used by the layers above for that decision; a *not confirmed* row means the picture of that pair is "
        "descriptive only (the information is redundant across many units, or read from elsewhere).")
    add("")
    return "\n".join(L) + "\n"


def write_findings(checkpoint_dir=None, out: str | Path | None = None, data_dir=None) -> Path:
    an = Analysis.load(checkpoint_dir)
    rec = an.recording(data_dir)
    text = render(an, rec)
    path = Path(out) if out else DEFAULT_OUT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
