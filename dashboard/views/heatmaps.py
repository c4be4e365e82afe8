"""Cell heatmaps (Karpathy style): every neuron's activation on every character of a typed text,
the cell-state units that fire on the post's -utyun suffix as the default rows, and "find neurons
for this substring" (over the analysis sample, else over the text itself)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch

from translit_core.analysis import NeuronScore, substring_selectivity
from translit_core.infer.transliterator import CharPrediction, Transliterator
from translit_core.model.alphabets import Alphabets
from translit_core.model.names import DIRECTIONS, READOUT_LAYERS, NeuronId, lstm_layer
from translit_core.model.net import TranslitNet
from translit_core.text.rules import is_armenian_letter

from .lab import QUERY_ERRORS, Lab
from .markdown import md_literal, md_plain

MAX_HEATMAP_CHARS = 600       # characters shown in the cell heatmap
DEFAULT_SUBSTRING = "utyun"   # -> "ություն", the post's example
HEATMAP_TEXT = ("Azatutyun, ankakhutyun u hamagortsaktsutyun: ays bolor barer@ "
                "verjanum en utyun vorpes mer hasarakutyun@.")
CELL_LAYERS = tuple(lstm_layer(d, "c") for d in DIRECTIONS)    # the cell state c: cell.fwd, cell.bwd
DEFAULT_ROWS = 6              # cell units shown by default
HEATMAP_EXAMPLES = (
    ("words ending in ություն", HEATMAP_TEXT),
    ("a greeting", "Barev dzez, inchpes eq? Shat urax em dzez tesnel."),
    ("code-switching", "Es sirum em Deep Learning, bayc LSTM-ner@ aveli sirun en."),
    ("kh, gh, ch, sh, ts", "Shnorhakalutyun, chgitem: ays tsaghikner@ khohanotsum en ghekavari mot."),
)


@dataclass
class HeatData:
    chars: str                 # input characters
    outputs: list[str]         # the network's output per input character ("" for nothing)
    names: list[str]           # one row per neuron
    values: np.ndarray         # (rows, len(chars))


def activations_for(model: TranslitNet, alphabets: Alphabets, text: str) -> dict[str, np.ndarray]:
    """layer -> (len(text), units): every named activation of the network on one text."""
    if not text:
        return {}
    x = torch.tensor([alphabets.encode_input(text)])
    with torch.inference_mode():
        _, acts = model.run_with_cache(x)
    return {layer: a[0].float().cpu().numpy() for layer, a in acts.items()}


def network_outputs(translit: Transliterator, text: str) -> list[str]:
    """The network's own output per character: the heatmap shows its neurons, so where the
    lexicon replaced a word, the network's choice, not the lexicon's."""
    return network_choices(translit.predict(text))


def network_choices(preds: Sequence[CharPrediction]) -> list[str]:
    """The network's own output per character of a prediction (the lexicon's changes undone)."""
    return [p.output if p.network is None else p.network for p in preds]


def heat_data(acts: Mapping[str, np.ndarray], text: str, outputs: list[str],
              neurons: Sequence[NeuronId]) -> HeatData:
    rows = [acts[n.layer][:, n.index] if n.layer in acts else np.full(len(text), np.nan) for n in neurons]
    values = np.stack(rows) if rows else np.zeros((0, len(text)))
    return HeatData(text, outputs, [str(n) for n in neurons], values)


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
                     top: int = 10) -> list[NeuronScore]:
    """Neurons whose mean activation inside the substring differs most from outside, in this
    text only: |mean in - mean out| / std (in the `hellinger` field: the scores' one number).
    The engine's substring_selectivity does the honest version over the whole sample; this is
    the quick look at the typed text, for when the sample is not there (yet)."""
    spans = find_spans(text, sub)
    if not spans or not acts:
        return []
    inside = np.zeros(len(text), dtype=bool)
    for a, b in spans:
        inside[a:b] = True
    if inside.all():
        return []
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    scores = []
    for layer in layers:
        a = acts.get(layer)
        if a is None:
            continue
        d = np.abs(a[inside].mean(0) - a[~inside].mean(0)) / (a.std(0) + 1e-6)
        scores += [NeuronScore(NeuronId(layer, int(j)), float(d[j]), n_in, n_out)
                   for j in np.argsort(-d, kind="stable")[:top]]
    scores.sort(key=lambda s: -s.hellinger)
    return scores[:top]


def default_rows(acts: Mapping[str, np.ndarray], text: str = HEATMAP_TEXT, sub: str = DEFAULT_SUBSTRING,
                 layers: Sequence[str] = CELL_LAYERS, n: int = DEFAULT_ROWS) -> list[str]:
    """The heatmap's first rows: the `n` cell-state units that fire most on `sub` (the post's
    -utyun suffix) against the rest of `text` (span_selectivity: |mean inside - mean outside| / std),
    best first; where `sub` does not occur, the units that vary most over the text. Deterministic."""
    scores = span_selectivity(acts, text, sub, layers, top=n)
    if scores:
        return [str(s.neuron) for s in scores]
    spread = [(-float(acts[layer][:, j].std()), layer, j) for layer in layers if layer in acts
              for j in range(acts[layer].shape[1])]
    return [str(NeuronId(layer, j)) for _, layer, j in sorted(spread)[:n]]


def seed_rows(neuron: str | None, defaults: Sequence[str], with_neuron: int = 3) -> list[str]:
    """The rows a page opens with: the default rows; a linked `neuron` first, and then only the
    first `with_neuron` defaults unless it is one of them (the page writes its first row into the
    URL, so a page opened again on its own link keeps all its default rows)."""
    if not neuron:
        return list(defaults)
    if neuron in defaults:
        return [neuron] + [d for d in defaults if d != neuron]
    return [neuron] + list(defaults[:with_neuron])


@dataclass
class Found:
    """The result of a substring search, and how it was found (the note says over what)."""
    scores: list[NeuronScore] = field(default_factory=list)
    note: str = ""
    score_name: str = "score"    # what `hellinger` holds: "H", or "separation" for the quick look
    armenian: str = ""           # the Armenian the substring stands for


def armenian_of(lab: Lab, text: str, sub: str, outputs: Sequence[str] | None = None) -> str:
    """The Armenian a Latin substring stands for: the network's output for that span of the text
    (so "utyun" in the text -> "ություն"), else the transliteration of the substring alone.
    Armenian input is returned as it is."""
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
    """Neurons most selective inside a substring against outside.

    Over the analysis sample when there is one (the engine's substring_selectivity: the
    substring is matched on the Armenian side, so every typed spelling counts; H between inside
    and outside); otherwise a quick look over the typed text only, and the note says so.
    sample=False: the quick look only (the sample recording is not loaded)."""
    sub = (sub or "").strip()
    layers = [layer for layer in layers if layer in lab.sizes] or list(READOUT_LAYERS)
    if not sub:
        return Found([], "Type a substring, e.g. tyun.")
    arm = armenian_of(lab, text, sub, outputs)
    if lab.analysis is not None and not sample:
        why = "Quick look while the analysis sample loads: press Find for the search over the whole sample."
    elif lab.analysis is not None:
        try:
            scores = substring_selectivity(lab.recording(), arm, tuple(layers), top)
            scores = sorted(scores, key=lambda s: -s.hellinger)[:top]
            n_in = scores[0].n_pos if scores else 0
            return Found(scores, f"Sample-wide: positions typed as part of Armenian {md_literal(arm)} ({n_in:,} in the "
                                 f"analysis sample) against positions typed with the same letters elsewhere, "
                                 f"ranked by Hellinger distance H.", "H", arm)
        except QUERY_ERRORS as e:
            why = f"The sample-wide search found nothing for {md_literal(arm)} ({md_plain(e)})."
    else:
        why = "The analysis file is missing, so the search runs over the text above only."
    acts = activations_for(lab.model, lab.alphabets, text)
    scores = span_selectivity(acts, text, sub, layers, top)
    if not scores:
        return Found([], f"{why} {md_literal(sub)} does not occur in the text above either.", armenian=arm)
    return Found(scores, f"{why} Ranked by |mean inside − mean outside| / std over the text above.",
                 "separation", arm)
