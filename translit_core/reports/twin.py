"""The FINDINGS section on the interpretable twin: every model trained with a regularizer, against
its control (the same recipe without it) and against the shipped base, on the same sample and
statistics (analysis/comparison/models.py); how many units break the post's pairs; what the units
read as (the annotation tracks); and how the key units formed during training (the stored dynamics
of the runs under runs/).

findings.py appends it when the lab holds a regularized model (`render_twin`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..analysis.comparison.dynamics import ROLE_PAIRS, StoredDynamics, role_changes, role_moves
from ..analysis.comparison.models import (TRACK_AUC, Comparison, compare, control_of, fine_tuned_from, model_stats,
                                          track_profile, train_config, units_to_break, wilson_interval)
from ..analysis.measurement.names import POST_PAIRS
from ..analysis.measurement.stats import bh_q_values, mcnemar
from ..model.names import READOUT_LAYERS

BREAK_PAIRS = POST_PAIRS                         # the recurrent ablation: ~10 s a (model, pair, layer)
BREAK_LAYERS = ("concat.fwd", "concat.bwd")


def _recipe(directory: Path) -> str:
    c = train_config(directory)
    if not c:
        return "unknown"
    init = fine_tuned_from(directory, c)
    start = f"fine-tuned from {init}" if init else "from scratch"
    reg = f", {c['reg']} weight {c['reg_weight']:g}" if c.get("reg") else ""
    return (f"{start}, {c.get('epochs')} epochs, batch {c.get('batch_size')}, peak lr {c.get('lr'):g}, "
            f"{c.get('precision')}{reg}")


def _comparison(c: Comparison) -> list[str]:
    a, b = c.a, c.b
    lines = [f"| layer | selective units ({a.name} / {b.name}) | units per pair | inputs per unit | monosemantic "
             f"share | {b.name} − {a.name}, 95% interval | mean \\|r\\| between units |",
             "|---|---|---|---|---|---|---|"]
    for layer in READOUT_LAYERS:
        la, lb = a.layer(layer), b.layer(layer)
        d, lo, hi = c.monosemantic_difference(layer)
        lines.append(f"| {layer} | {la.selective_units} / {lb.selective_units} | {la.units_per_pair:.1f} / "
                     f"{lb.units_per_pair:.1f} | {la.inputs_per_unit:.2f} / {lb.inputs_per_unit:.2f} | "
                     f"{la.monosemantic:.0%} / {lb.monosemantic:.0%} | {100 * d:+.0f} points [{100 * lo:+.0f}, "
                     f"{100 * hi:+.0f}] | {la.mean_abs_r:.3f} / {lb.mean_abs_r:.3f} |")
    return lines + ["", f"**Verdict.** {c.verdict()}", ""]


def _intro(models: dict, dirs: dict, base: str) -> list[str]:
    """What the twins are, and each model's recipe and accuracy on the sample."""
    lines = ["## The interpretable twin", "",
             "YerevaNN's post ends by asking whether a loss that asks neurons to be independent would make them "
             "easier to read. The lab's regularized models are trained with DeCov (Cogswell et al. 2016) on the "
             "concat and hidden activations: a twin from scratch and, where the lab has one, the shipped base "
             "fine-tuned with it (a retrofit). Each has a control, the same recipe without the regularizer, so its "
             "effect is read at equal budget. Every number below is on the same held-out sample and statistics as "
             "the sections above; dashboard: *Compare models* (`/compare`) and *Training dynamics* (`/dynamics`).",
             "", "| model | how it was trained | sample accuracy |", "|---|---|---|"]
    for n, an in models.items():
        recipe = _recipe(dirs[n]) if n != base else "the shipped base (docs/TRAINING.md: seven stages)"
        lines.append(f"| {n} | {recipe} | {100 * an.meta.sample_accuracy:.2f}% |")
    return lines + [""]


def _comparisons(models: dict, dirs: dict, base: str, twins: list[str]) -> list[str]:
    """Each twin against its equal-budget control, and against the shipped base."""
    pairs = []
    for t in twins:
        control = control_of(dirs[t], {n: d for n, d in dirs.items() if n != t})
        if control:
            pairs.append((f"Equal budget: {control} against {t}", control, t))
        pairs.append((f"Against the shipped base: {base} against {t}", base, t))
    lines: list[str] = []
    for title, a, b in pairs:
        lines += [f"### {title}", ""] + _comparison(compare(models[a], models[b], (a, b)))
    return lines


def _post_pairs(models: dict) -> list[str]:
    """Selective units per readout layer for the post's pairs, and gate saturation, per model."""
    stats = {n: model_stats(an, n) for n, an in models.items()}
    lines = ["### The post's pairs: selective units per readout layer (concat.fwd / concat.bwd / hidden)", "",
             "| pair | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for p in POST_PAIRS:
        cells = ["/".join(str(s.post_pairs.get(p, {}).get(layer, "–")) for layer in READOUT_LAYERS)
                 for s in stats.values()]
        lines.append(f"| {p.replace(':', ' → ')} | " + " | ".join(cells) + " |")
    lines.append("")
    sat_layers = list(dict.fromkeys(g for s in stats.values() for g in s.saturation))
    if sat_layers:
        lines += ["Gate saturation, the share of a gate layer's units open (> 0.9) on more than 90% of positions: "
                  + "; ".join(f"{n} " + ", ".join(f"{g} {s.saturation.get(g, float('nan')):.1%}" for g in sat_layers)
                              for n, s in stats.items()) + ".", ""]
    return lines


def _break_curve(an, pair: str, layer: str, data_dir):
    try:
        return units_to_break(an.recording(data_dir), an.layer_scores(pair, layer), str(an.parse_pair(pair)), layer)
    except (KeyError, ValueError) as e:
        return f"– ({e})"


def _at10(curve) -> str:
    """"0.952 [0.93, 0.97] at k = 10": the accuracy with its Wilson 95% interval."""
    if 10 not in curve.ks or not curve.right:
        return ""
    right = curve.right[curve.ks.index(10)]
    low, high = wilson_interval(sum(right), len(right))
    interval = f" [{low:.2f}, {high:.2f}]" if right else ""
    return f"; {curve.target_accuracy[curve.ks.index(10)]:.3f}{interval} at k = 10"


def _break_cell(curve) -> str:
    if isinstance(curve, str):
        return curve
    where = f"k = {curve.units_to_break}" if curve.units_to_break else f"not by k = {curve.ks[-1]}"
    return f"{where} ({curve.baseline:.3f}{_at10(curve)}; n {curve.n_positions:,})"


def _paired_break(curves: dict, control: str, twin: str) -> list[str]:
    """Twin against control at k = 10 on the same positions of y: McNemar's exact test, its p
    corrected by Benjamini-Hochberg over the table's rows."""
    rows = []
    for (p, layer), by_model in curves.items():
        a, b = by_model.get(control), by_model.get(twin)
        if isinstance(a, str) or isinstance(b, str) or a is None or b is None or 10 not in a.ks:
            continue
        if a.positions != b.positions:          # another chunking: not the same positions, no paired test
            continue
        i = a.ks.index(10)
        only_a, only_b, pv = mcnemar(a.right[i], b.right[i])
        rows.append((p, layer, a.target_accuracy[i], b.target_accuracy[i], only_a, only_b, pv, a.n_positions))
    if not rows:
        return []
    q = bh_q_values(torch.tensor([r[6] for r in rows], dtype=torch.float64)).tolist()
    lines = [f"Paired, at k = 10: {twin} against its control {control} on the same positions of y (McNemar's "
             f"exact test on the positions where they disagree; q: Benjamini–Hochberg over these {len(rows)} rows).",
             "", f"| pair | layer | n | {control} | {twin} | right in {control} only / {twin} only | p | q |",
             "|---|---|---|---|---|---|---|---|"]
    for (p, layer, acc_a, acc_b, only_a, only_b, pv, n), qv in zip(rows, q):
        lines.append(f"| {p.replace(':', ' → ')} | {layer} | {n:,} | {acc_a:.3f} | {acc_b:.3f} | {only_a} / {only_b} "
                     f"| {pv:.2g} | {qv:.2g} |")
    return lines + [""]


def _units_to_break(models: dict, break_pairs, data_dir, controls: list[tuple[str, str]] = ()) -> list[str]:
    """How many top units, ablated inside the recurrence, break each pair, per model; each
    regularized model against its control (`controls`: (control, twin) names), paired."""
    lines = ["### How many units break a pair (ablated inside the recurrence)", "",
             "The top k units of the layer by H excess set to their mean over the positions of x, inside the "
             "recurrence, at the steps where the input is x (`ablate --recurrent --where x`); broken: fewer than "
             "half of the pair's target positions stay right (a seeded subset of about 1,000 positions of x, n of "
             "them with target y); in brackets the accuracy on the target with no unit ablated and with the top 10 "
             "(Wilson 95% interval). `python -m translit_core compare --other DIR --pair P --layer L`.", "",
             "| pair | layer | " + " | ".join(models) + " |", "|---|---|" + "---|" * len(models)]
    curves = {}
    for p in break_pairs:
        for layer in BREAK_LAYERS:
            curves[p, layer] = {name: _break_curve(an, p, layer, data_dir) for name, an in models.items()}
            cells = [_break_cell(c) for c in curves[p, layer].values()]
            lines.append(f"| {p.replace(':', ' → ')} | {layer} | " + " | ".join(cells) + " |")
    lines.append("")
    for control, twin in controls:
        lines += _paired_break(curves, control, twin)
    return lines


def _tracks(models: dict, data_dir) -> list[str]:
    """The best annotation track per unit, summarised per layer and model."""
    lines = [f"### What the units read as: the best annotation track per unit (units explained at AUC ≥ "
             f"{TRACK_AUC})", "", "| layer | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for layer in READOUT_LAYERS:
        cells = []
        for an in models.values():
            tp = track_profile(an.recording(data_dir), layer)
            cells.append(f"{tp.explained} of {tp.units}, median AUC {tp.median_auc:.2f}"
                         + (f" ({', '.join(f'{t} {k}' for t, k in tp.top_tracks[:3])})" if tp.top_tracks else ""))
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return lines + [""]


def _run_dynamics(name: str, d: StoredDynamics) -> list[str]:
    """One run's snapshots: best excess per post pair and the unit playing the #70 role, per epoch."""
    pairs = [p for p in POST_PAIRS if any(p in pt.best_excess for pt in d.points)]
    lines = [f"**{name}** ({d.sentences} sentences):", "",
             "| epoch | accuracy | " + " | ".join(p.replace(':', ' → ') for p in pairs) + " | #70 role |",
             "|---|---|" + "---|" * len(pairs) + "---|"]
    for pt in d.points:
        best = [f"{max(pt.best_excess[p].values()):.2f}" if p in pt.best_excess else "–" for p in pairs]
        lines.append(f"| {pt.epoch:g} | {100 * pt.accuracy:.2f}% | " + " | ".join(best)
                     + f" | {pt.role_unit} ({pt.role_score:.2f}) |")
    changes = role_changes(d.points)
    lines += ["", "The #70 role: " + "; ".join(f"`{u}` from epoch {e:g}" for e, u in changes)
              + (" (the same unit throughout)." if len(changes) == 1 else
                 f" ({len(changes) - 1} change{'s' if len(changes) > 2 else ''} of unit).")]
    moves = role_moves(d.points)
    if moves:
        lines.append(f"Where it changed, the unit before it at the next snapshot: {moves}. A rank of 2 or 3 with "
                     "a close score is a near tie between units that all carry the role, not a move of it.")
    return lines + [""]


def _dynamics(runs: dict[str, StoredDynamics]) -> list[str]:
    lines = ["### How the key units form during training", "",
             f"Each run kept snapshots (`train --snapshots`); `python -m translit_core dynamics --run DIR --save` "
             f"measured every one on the same held-out sentences and kept the points in `runs/NAME/dynamics.json`. "
             f"Best H excess over the readout layers per pair, and the forward unit playing the post's #70 role "
             f"(best mean excess over {', '.join(ROLE_PAIRS)}).", ""]
    for name, d in runs.items():
        lines += _run_dynamics(name, d)
    return lines


def render_twin(models: dict, runs: dict[str, StoredDynamics], base: str, data_dir=None,
                break_pairs=BREAK_PAIRS, tracks: bool = True) -> list[str]:
    """`models`: name -> Analysis (the base first); `runs`: name -> the stored dynamics of a run."""
    dirs = {n: an.checkpoint_dir for n, an in models.items()}
    twins = [n for n in models if train_config(dirs[n]).get("reg")]
    if not twins:
        return []
    lines = _intro(models, dirs, base) + _comparisons(models, dirs, base, twins) + _post_pairs(models)
    if break_pairs:
        controls = [(control_of(dirs[t], {n: d for n, d in dirs.items() if n != t}), t) for t in twins]
        lines += _units_to_break(models, break_pairs, data_dir, [(c, t) for c, t in controls if c])
    if tracks:
        lines += _tracks(models, data_dir)
    if runs:
        lines += _dynamics(runs)
    return lines
