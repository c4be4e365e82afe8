"""The FINDINGS section on the suffix “ություն” (typed utyun, ut'yun, uthyun, …): the units that
mark positions inside it against the same letters elsewhere, and where in the suffix the best fires."""
from __future__ import annotations

import torch

from ..analysis.measurement.recording import Recording
from ..analysis.queries import span_mask, substring_selectivity
from ..analysis.store import Analysis
from ..model.names import READOUT_LAYERS

SUFFIX = "ություն"


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


def _per_character(rec: Recording, mask: torch.Tensor, neuron) -> list[str]:
    """A table of the unit's mean activation at each character of the runs typed exactly `utyun`."""
    text = "".join(rec.chunks)
    offsets: dict[int, list[float]] = {}
    for a, b in mask_runs(rec, mask):
        if text[a:b].lower() == "utyun":
            vals = rec.layer(neuron.layer, torch.arange(a, b), units=[neuron.index]).squeeze(1)
            for o, v in enumerate(vals.tolist()):
                offsets.setdefault(o, []).append(v)
    if not offsets:
        return []
    return ["| " + " | ".join("utyun") + " |", "|" + "---|" * 5,
            "| " + " | ".join(f"{sum(v) / len(v):+.2f}" for o, v in sorted(offsets.items())) + " |"]


def suffix_section(an: Analysis, rec: Recording) -> list[str]:
    lines = [f"## The suffix “{SUFFIX}” (typed utyun, ut'yun, uthyun, …)", ""]
    mask = span_mask(rec, SUFFIX)
    n_in = int(mask.sum())
    if n_in == 0:
        return lines + [f"“{SUFFIX}” does not occur in the sample.", ""]
    spell = suffix_spellings(rec, mask)
    lines += [f"{sum(spell.values()):,} occurrences ({n_in:,} Latin positions) in the sample, typed "
              + ", ".join(f"`{k}` {v}" for k, v in list(spell.items())[:6]) + ".", "",
              "Neurons that best separate positions inside the suffix from positions typed with the same letters "
              "elsewhere (raw Hellinger distance H, inside vs outside, with no null subtracted; the control for the "
              "letters matters, otherwise neurons that merely track u, t, y, n win):", ""]
    scores = substring_selectivity(rec, SUFFIX, layers=READOUT_LAYERS, top=5, bins=an.tables.bins)
    by_layer: dict[str, list] = {}
    for s in scores:
        by_layer.setdefault(s.neuron.layer, []).append(s)
    lines += [f"- {layer}: " + ", ".join(f"#{x.neuron.index} H {x.hellinger:.2f}" for x in ss)
              for layer, ss in by_layer.items()]
    best = max(scores, key=lambda s: s.hellinger)
    inside = rec.layer(best.neuron.layer, mask.nonzero().squeeze(1), units=[best.neuron.index])
    outside_pos = (~mask & torch.isin(rec.x, rec.x[mask].unique())).nonzero().squeeze(1)
    outside = rec.layer(best.neuron.layer, outside_pos, units=[best.neuron.index])
    lines += ["", f"The most selective is **{best.neuron}** (H {best.hellinger:.2f}): mean activation "
              f"{float(inside.mean()):+.3f} inside the suffix vs {float(outside.mean()):+.3f} on the same letters "
              f"elsewhere. Where in the suffix it fires, per character of `utyun`:", ""]
    return lines + _per_character(rec, mask, best.neuron) + [""]
