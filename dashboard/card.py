"""What the neuron card says beyond its figures: where the neuron fires most in the sample, and
what the stored ablation of its layer shows (in plain sentences, with how much to trust it)."""
from __future__ import annotations

from typing import Sequence

from translit_core.analysis import ABLATABLE_LAYERS, AblationResult, Analysis, Pair, top_contexts
from translit_core.model.names import NeuronId

from .lab import QUERY_ERRORS, Lab, Unavailable
from .labels import input_label, pair_label
from .text_view import shaded_html
from .urls import md_plain

# Below this drop in accuracy (a fraction) the ablated neurons "barely change" the output.
NEGLIGIBLE_DROP = 0.005
CLEAR_DROP = 0.02


def contexts_html(lab: Lab, neuron: "NeuronId | str", k: int = 8) -> list[str]:
    """HTML snippets (escaped) of the sample contexts where a neuron fires most: every character
    shaded by the neuron's activation (one scale for all), the peak character underlined."""
    try:
        rows = top_contexts(neuron, k, source=lab.recording())
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
    """Plain sentences (Markdown) that say what the ablation shows (and how much to trust the picture)."""
    base, top, rnd = res.baseline_accuracy, res.top_k_accuracy, res.random_k_accuracy_mean
    sd = res.random_k_accuracy_std or 0.0
    drop_top, drop_rnd = base - top, base - rnd
    # An effect counts when it is larger than the spread of the random draws (and not tiny).
    effect, noise = drop_top - drop_rnd, max(2 * sd, NEGLIGIBLE_DROP)
    if drop_top < NEGLIGIBLE_DROP:
        verdict = ("Selectivity is not importance here: the output barely changes without them. "
                   "Treat this picture with care.")
    elif effect > noise:
        size = "a clear" if drop_top >= CLEAR_DROP else "a small but real"
        verdict = f"They matter: {size} drop, {effect:.1%} more than for random neurons of the layer."
    else:
        verdict = "Random neurons of the layer cost about as much: the picture is not confirmed."
    inside = ""
    if neuron is not None and res.top_k_neurons:
        inside = (" This neuron is one of the ablated ones." if str(neuron) in res.top_k_neurons else
                  " This neuron is not among the ablated ones.")
    x = md_plain(input_label(Pair.parse(res.pair).x))
    return (f"On {md_plain(pair_label(res.pair))} ({res.n_positions:,} positions of “{x}”): {base:.1%} "
            f"correct unablated, {top:.1%} with the top {res.k} {res.layer} neurons (by H) set to their mean, "
            f"{rnd:.1%} ± {sd:.1%} with {res.k} random ones. {verdict}{inside}")
