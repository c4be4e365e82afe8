"""docs/FINDINGS.md, regenerated from the shipped model: `python -m translit_core findings`.

Every number in the report comes from the checkpoint's analysis file and its recording of the
held-out sample; nothing is typed in by hand, so retraining and rerunning `analyze` and
`findings` updates the text, including whether it agrees with the post. This module writes the
frame (provenance, method, the ranking methods, the summary); the sections are in pairs.py,
neuron70.py, suffix.py, units.py and twin.py.

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
from ..analysis.comparison.dynamics import load_dynamics
from ..analysis.measurement.names import AnalysisMissing
from ..analysis.measurement.recording import Recording
from ..analysis.methods.ablation import NEGLIGIBLE_LOGP, SIGNIFICANT
from ..model.names import READOUT_LAYERS
from ..analysis.store import Analysis
from ..files import atomic_write
from ..text.rules import load_rules
from .neuron70 import POST_NEURON_70, neuron70_section
from .pairs import PairSummary, pair_sections
from .suffix import suffix_section
from .twin import render_twin
from .units import render_units

DEFAULT_OUT = settings.REPO / "docs" / "FINDINGS.md"


def _shown(path: str) -> str:
    """A path as written in the report: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(settings.REPO))
    except ValueError:
        return str(path)


def _significant_share(an: Analysis) -> str:
    """How many (unit, pair) cells of the readout layers pass q <= 0.05: nearly all, at these sample sizes,
    which is why "selective" also asks for an excess of at least SELECTIVE_EXCESS."""
    from ..analysis.comparison.models import SELECTIVE_EXCESS, SELECTIVE_Q
    t, cols = an.tables, []
    for layer in READOUT_LAYERS:
        cols += list(range(an.offsets[layer], an.offsets[layer] + an.sizes[layer]))
    q = t.q_value[:, cols]
    share = float((q <= SELECTIVE_Q).float().mean())
    return (f"At these sample sizes {share:.1%} of the readout layers' (unit, pair) cells have q ≤ {SELECTIVE_Q}: "
            f"almost every unit differs *somewhat* between y and the other outputs of x, so significance alone "
            f"says little, and a unit counts as selective only with an excess of at least {SELECTIVE_EXCESS} "
            f"as well.")


def _cap(an: Analysis) -> str:
    """How many positions of each output the stored ablations scored, as a clause."""
    caps = {r.per_output for r in an.ablations() if r.tested}
    if caps == {0} or not caps:
        return ""
    draws = {r.accuracy_draws for r in an.ablations() if r.tested} - {0}
    first = f" and the first {max(draws):,} random draws" if draws else ""
    return (f"; log p(y) and the accuracy on y are scored on every position of y, the accuracies over x on at "
            f"most {max(caps):,} seeded positions of each output of x{first} (each recall unbiased by that; "
            f"the accuracy over x weights the recalls by each output's share)")


def sample_composition(rec: Recording, sample: dict) -> str:
    """Where the sample's sentences come from, what was dropped for overlap with training text, and
    the model's accuracy on each source separately ("" for a sample without that record)."""
    sources, counts = sample.get("sentence_sources"), sample.get("composition")
    if not sources or not counts:
        return ""
    kind = torch.tensor([c == "u" for c in sources])[rec.chunk_sentence]          # per chunk: from UD?
    per_position = torch.repeat_interleave(kind, rec.chunk_start[1:] - rec.chunk_start[:-1])
    right = rec.pred == rec.y
    groups = (("UD", per_position), ("ARPA", ~per_position))
    acc = {name: float(right[mask].float().mean()) for name, mask in groups if mask.any()}
    return (f"The sample: {counts['ud']:,} UD test sentences and {counts['arpa']:,} ARPA test sentences (ARPA's are "
            f"news paraphrase pairs, so its sentences are not independent of each other); {counts['dropped_exact']} "
            f"held-out sentences that also occur in a training source and {counts['dropped_near']} that share at least "
            f"half their word 6-grams with training text were dropped (`python -m translit_core sample --dropped` "
            f"lists them). Accuracy per position: UD {100 * acc.get('UD', float('nan')):.2f}%, ARPA "
            f"{100 * acc.get('ARPA', float('nan')):.2f}%.")


def _draws(an: Analysis) -> str:
    draws = {r.n_random_draws for r in an.ablations() if r.tested}
    return "/".join(str(d) for d in sorted(draws)) or "no"


def _provenance(an: Analysis, rec: Recording) -> list[str]:
    """The title and where every number comes from: the checkpoint, its sample, its accuracy."""
    meta = an.meta
    ck = meta.checkpoint
    metrics = ck.metrics
    sample = meta.sample
    source = "UD test + ARPA test" if sample.get("source") == "heldout" else sample.get("path")
    lines = ["# Findings: what the neurons of our transliteration model do", "",
             f"_Generated by `python -m translit_core findings` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
             f"from `{_shown(ck.dir)}` (weights sha256 `{ck.weights_sha256[:12]}`"
             + (f", validation char accuracy {metrics['valid_char_accuracy']:.2f}%"
                if "valid_char_accuracy" in metrics else "")
             + f") and its analysis of {sample['n_sentences']:,} held-out sentences "
             f"({sample['n_positions']:,} Latin positions; {source}, "
             f"romanized with seed {sample['seed']}). The model gets {100 * meta.sample_accuracy:.2f}% of those "
             f"positions right. Regenerate after retraining: every number below comes from those files._", ""]
    composition = sample_composition(rec, sample)
    return lines + ([composition, ""] if composition else [])


def _method(an: Analysis) -> list[str]:
    """How H, its null, the ablations and the direction claims are computed."""
    null = an.meta.null_method
    n_pairs = len(an.pairs())
    return [
        "## Method", "",
        f"As in YerevaNN's post: for an input character x and an output y, a neuron's activations on the positions "
        f"typed x are split by whether the target is y; both are histogrammed in {an.tables.bins} equal bins between "
        f"the neuron's min and max on x; the Hellinger distance H = sqrt(1 - Σ sqrt(p·q)) says how well the neuron "
        f"alone separates y from the other outputs of x (0: not at all, 1: perfectly). Pairs need at least "
        f"{an.tables.min_count} positions on each side ({n_pairs} pairs qualify). `concat.fwd` / `concat.bwd` are "
        f"the two LSTM directions' outputs, `hidden` the dense layer. Indices are ours: a retrained model numbers its "
        f"neurons differently, so only the *pattern* can be compared with the post.", "",
        f"**H has a noise floor.** Two histograms of the same law still differ by chance, the more so the fewer "
        f"positions a pair has. Every H therefore comes with its label-permutation null: y shuffled within the "
        f"positions of x ({null.get('shuffles', an.tables.shuffles)} shuffles), H recomputed; the *excess* H − null "
        f"is what rankings, cross-pair comparisons and the graph use, written below as `#unit excess (H raw)`. "
        f"Its p-value ranks the H of a unit, standardized by its own shuffles, among the standardized shuffles of "
        f"every unit of the layer for that pair (p down to 1/{1 + an.tables.shuffles * 228:,} for 228 units, where "
        f"a unit's own shuffles stop at 1/{1 + an.tables.shuffles}); Benjamini–Hochberg corrects it over each "
        f"layer's units × pairs (the q-value). {_significant_share(an)} "
        f"The bin count is {an.tables.bins}: of 100 / 300 / 1000 / 3000 bins it gave the most reproducible rankings "
        f"between two random halves of the sentences and the lowest floor (`benchmarks/bins_study.py`; the post's "
        f"1000 bins put the floor of a median neuron at 0.18 for t→թ and 0.45 for o→օ).", "",
        f"**Selectivity is tested for importance** (Morcos et al. 2018; Antverg & Belinkov 2022): the 10 neurons with "
        f"the highest H excess in a layer are set to their mean activation over all positions typed x (the value "
        f"that carries no information about y), in the layers above the biLSTM (the recurrence is not rerun for the "
        f"stored ones; `ablate --recurrent` reruns it). What is measured is the decision x → y: accuracy on the "
        f"positions of y, the mean change of log p(y) there, and the balanced accuracy over all outputs of "
        f"x{_cap(an)}. The baseline is 10 random units of the same layer, drawn to match the selected units' "
        f"activation spread, {_draws(an)} draws; the p-value is the fraction of draws that cost at least as much "
        f"log p(y), and its q-value corrects it by Benjamini–Hochberg over all {len(an.ablations())} stored "
        f"ablations. An ablation is **confirmed** when q < {SIGNIFICANT} and the top 10 cost at least "
        f"{NEGLIGIBLE_LOGP} nats of log p(y) more than random units (1% of p); a smaller effect with "
        f"q < {SIGNIFICANT} is *significant but negligible*.", "",
        "**Which direction separates best** is decided on data the selection did not see: the top 10 units of each "
        "direction are chosen on one random half of the sentences and scored on the other, with a bootstrap over "
        "its sentences; a direction wins only when the interval of the difference excludes 0. The two sentences "
        "of an ARPA paraphrase pair describe one event, so they are one unit: on the same side of every split and "
        "drawn together by every bootstrap.", ""]


def _ranking_methods(an: Analysis) -> list[str]:
    """The stored comparisons of ranking methods: the mean ablation effect of each method's top k,
    with intervals over sentences; a best method only where it beats the runner-up beyond the noise."""
    from ..analysis.methods.ranking import UPPER_REFERENCE
    comparisons = an.method_comparisons()
    if not comparisons:
        return []
    first = comparisons[0]
    lines = ["## Which ranking finds the neurons the model uses?", "",
             "Each ranking is made on a subset of one half of the sentences; on the other half its top k units are "
             "set to their mean (head-only) and the mean change of log p(target) on the target's positions is "
             "measured, for k = " + ", ".join(str(p.k) for p in first.curve("random").curve) + ". The "
             "table gives the mean over those k (more negative: the ranking found units the model uses more) with "
             f"its 95% interval from {f'{first.resamples:,}' if first.resamples else 'no'} bootstrap resamples of "
             "the scoring half's sentences, "
             "and the random band's mean at the same k. Every ranking is scored on the same positions, so two are "
             "compared by a paired interval. The greedy search optimises that very measure, so it is the upper "
             "reference, never the best; a best ranking is named only when its paired margin over the runner-up "
             "excludes 0.", ""]
    methods = [c.method for c in first.curves if c.method != "random"]
    shown = [f"{m} (upper reference)" if m == UPPER_REFERENCE else m for m in methods]
    lines += ["| pair, layer | " + " | ".join(shown) + " | random | best |", "|---|" + "---|" * (len(methods) + 2)]
    for cmp in comparisons:
        lines.append(f"| {cmp.pair} {cmp.layer} | " + " | ".join(_area_cell(cmp, m) for m in methods)
                     + f" | {cmp.area('random'):+.3f} | {_best_cell(cmp)} |")
    return lines + ["", _ranking_summary(comparisons), ""]


def _area_cell(cmp, method: str) -> str:
    c = cmp.curve(method)
    lo_hi = f" [{c.area_interval[0]:+.3f}, {c.area_interval[1]:+.3f}]" if c.area_interval else ""
    return f"{cmp.area(method):+.3f}{lo_hi}"


def _best_cell(cmp) -> str:
    if not cmp.resamples:
        return "— (no intervals stored)"
    d, lo, hi = cmp.best_margin
    if cmp.best:
        return f"**{cmp.best}** (by {-d:.3f} [{-hi:.3f}, {-lo:.3f}] over {cmp.runner_up})"
    return f"none clear ({cmp.runner_up} within [{lo:+.3f}, {hi:+.3f}])"


def _ranking_summary(comparisons) -> str:
    """Counts that only count differences beyond their paired intervals."""
    scored = [c for c in comparisons if c.resamples]
    if not scored:
        return "These comparisons were stored without intervals: rebuild the analysis for them."
    wins: dict[str, int] = {}
    for c in scored:
        if c.best:
            wins[c.best] = wins.get(c.best, 0) + 1
    ties = sum(c.best is None for c in scored)
    ex = [c.excess_vs_hellinger for c in scored if c.excess_vs_hellinger]
    better, worse = sum(hi < 0 for _, _, hi in ex), sum(lo > 0 for _, lo, _ in ex)
    named = ", ".join(f"{m} {n}×" for m, n in sorted(wins.items(), key=lambda kv: -kv[1])) or "none"
    return (f"A best ranking beyond the noise (greedy set aside): {named}; no clear best in {ties} of {len(scored)}. "
            f"H excess against raw H, paired: better in {better}, worse in {worse}, no clear difference in "
            f"{len(ex) - better - worse} of {len(ex)}.")


def _summary(summaries: list[PairSummary], post70: str | None) -> list[str]:
    lines = ["## Summary: agreement with the post", ""]
    for s in summaries:
        conf = ", ".join(f"{layer} {v}" for layer, v in s.verdicts.items())
        lines.append(f"- **{s.pair.replace(':', ' → ')}**: most selective direction {s.best}"
                     + (f" (task predicts {s.expected})" if s.expected else "")
                     + f"; ablation singles out {s.causal or 'no direction'}; top-10 ablations: {conf}.")
    if post70 is not None:
        lines.append("- **The post's neuron #70** (forward, "
                     + ", ".join(f"{k.replace(':', '→')} {v}" for k, v in POST_NEURON_70.items()) + f"): {post70}")
    return lines + [
        "- Selective is not the same as important: a **confirmed** row means the most selective neurons are also "
        "used by the layers above for that decision, more than spread-matched random units; *no effect beyond "
        "random* means the picture of that pair is descriptive only (the information is redundant across many "
        "units, or read from elsewhere).", ""]


def render(an: Analysis, rec: Recording) -> str:
    """The base model's report: provenance, method, the post's pairs, neuron #70, the ranking
    methods, the suffix, gate saturation and clusters, and the summary."""
    pairs, summaries = pair_sections(an, rec, load_rules())
    neuron70, post70 = neuron70_section(an)
    lines = (_provenance(an, rec) + _method(an) + pairs + neuron70 + _ranking_methods(an) + suffix_section(an, rec)
             + render_units(an, rec) + _summary(summaries, post70))
    return "\n".join(lines) + "\n"


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
    atomic_write(path, text)
    return path
