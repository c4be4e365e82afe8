"""What the neuron card says beyond its figures: where the neuron fires most in the sample, and
what the stored ablation of its layer shows (in plain sentences, with how much to trust it)."""
from __future__ import annotations

from typing import Sequence

from translit_core.analysis import ABLATABLE_LAYERS, AblationResult, Analysis, Pair, top_contexts
from translit_core.analysis.methods.ablation import effect_words, p_words, random_units_cost, verdict
from translit_core.model.names import NeuronId

from .lab import QUERY_ERRORS, Lab, Unavailable
from .labels import input_label, pair_label
from .markdown import md_plain
from .text import shaded_html

def contexts_html(lab: Lab, neuron: "NeuronId | str", k: int = 8, whole: bool = True) -> list[str]:
    """HTML snippets (escaped) of the sample contexts where a neuron fires most: every character
    shaded by the neuron's activation (one scale for all), the peak character underlined
    (whole=False: among the sample's first sentences, Lab.first_sentences)."""
    try:
        rows = top_contexts(neuron, k, source=lab.sample_recording(whole))
    except QUERY_ERRORS as e:
        raise Unavailable(f"Contexts are not available: {md_plain(e)}") from None
    vmax = max((abs(float(v)) for row in rows for v in row.activations), default=0.0) or 1.0
    return [shaded_html(row.snippet, row.activations, vmax, mark=(row.focus, row.focus + 1))
            + f'<span class="tl-legend">&nbsp;&nbsp;peak {row.value:+.2f}</span>' for row in rows]


def best_ablation(analysis: Analysis, neuron: NeuronId, pairs: Sequence[Pair]) -> AblationResult | None:
    """The stored ablation of the neuron's layer on the first of `pairs` (its best pairs) that has
    one. `analyze` ablates only ABLATABLE_LAYERS; other layers have none."""
    if neuron.layer not in ABLATABLE_LAYERS:
        return None
    for p in pairs:
        res = analysis.ablation(p, neuron.layer)
        if res is not None:
            return res
    return None


def ablation_sentence(res: AblationResult, neuron: NeuronId | None = None) -> str:
    """Plain sentences (Markdown) that say what the ablation shows (and how much to trust the picture):
    the decision's own metrics, the p-value against spread-matched random units, the effect."""
    x = md_plain(input_label(Pair.parse(res.pair).x))
    label = md_plain(pair_label(res.pair))
    inside = ""
    if neuron is not None and res.top_k_neurons:
        inside = (" This neuron is one of the ablated ones." if str(neuron) in res.top_k_neurons else
                  " This neuron is not among the ablated ones.")
    if not res.tested:
        return (f"On {label}: {res.baseline_accuracy:.1%} correct unablated, {res.top_k_accuracy:.1%} "
                f"with the top {res.k} {res.layer} neurons set to their mean. This stored result predates the "
                f"p-values; rebuild the analysis for a verdict.{inside}")
    cost = random_units_cost(res)
    what = {"confirmed": "They matter for this decision: random units of the same spread cost less.",
            "significant but negligible": "Random units cost less, but the difference is too small to matter: "
                                          "the decision hardly depends on these units.",
            "no effect beyond random": f"Random units of the same spread cost {cost}"
                                       f"{' than these' if cost == 'more' else ''}: selectivity "
                                       "is not importance here, treat this picture with care."}[verdict(res)]
    return (f"On {label} ({res.n_pos:,} positions of “{x}” with this target): with the top {res.k} "
            f"{res.layer} neurons (by H excess) set to their {res.replace}, {res.target_accuracy_top_k:.1%} of them "
            f"stay right ({res.target_accuracy_baseline:.1%} unablated, {res.target_accuracy_random_mean:.1%} with "
            f"random units) and log p of the target changes by {res.delta_logp_top_k:+.3f} (random: "
            f"{res.delta_logp_random_mean:+.3f} ± {res.delta_logp_random_std:.3f}). {p_words(res)} over "
            f"{res.n_random_draws:,} draws; effect {effect_words(res)}. {what}{inside}")
