"""The FINDINGS section on the interpretable twin (issue 15): every model trained with a
regularizer, against its control (the same recipe without it) and against the shipped base, on
the same sample and statistics (compare.py); how many units break the post's pairs; what the
units read as (the annotation tracks); and how the key units formed during training (the stored
dynamics of the runs under runs/).

findings.py appends it when the lab holds a regularized model (`render_twin`).
"""
from __future__ import annotations

from pathlib import Path

from ..model.names import READOUT_LAYERS
from ..analysis.comparison.models import (TRACK_AUC, Comparison, compare, control_of, fine_tuned_from, model_stats, track_profile,
                      train_config, units_to_break)
from ..analysis.comparison.dynamics import ROLE_PAIRS, StoredDynamics, role_changes, role_moves
from ..analysis.measurement.names import POST_PAIRS

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
    L = [f"| layer | selective units ({a.name} / {b.name}) | units per pair | inputs per unit | monosemantic share "
         f"| {b.name} − {a.name}, 95% interval | mean \\|r\\| between units |", "|---|---|---|---|---|---|---|"]
    for l in READOUT_LAYERS:
        la, lb = a.layer(l), b.layer(l)
        d, lo, hi = c.monosemantic_difference(l)
        L.append(f"| {l} | {la.selective_units} / {lb.selective_units} | {la.units_per_pair:.1f} / {lb.units_per_pair:.1f} "
                 f"| {la.inputs_per_unit:.2f} / {lb.inputs_per_unit:.2f} | {la.monosemantic:.0%} / {lb.monosemantic:.0%} "
                 f"| {100 * d:+.0f} points [{100 * lo:+.0f}, {100 * hi:+.0f}] | {la.mean_abs_r:.3f} / {lb.mean_abs_r:.3f} |")
    return L + ["", f"**Verdict.** {c.verdict()}", ""]


def render_twin(models: dict, runs: dict[str, StoredDynamics], base: str, data_dir=None,
                break_pairs=BREAK_PAIRS, tracks: bool = True) -> list[str]:
    """`models`: name -> Analysis (the base first); `runs`: name -> the stored dynamics of a run."""
    dirs = {n: an.checkpoint_dir for n, an in models.items()}
    twins = [n for n in models if train_config(dirs[n]).get("reg")]
    if not twins:
        return []
    L = ["## The interpretable twin (issue 15)", ""]
    L.append("YerevaNN's post ends by asking whether a loss that asks neurons to be independent would make them easier "
             "to read. The lab's regularized models are trained with DeCov (Cogswell et al. 2016) on the concat and "
             "hidden activations: a twin from scratch and, where the lab has one, the shipped base fine-tuned with "
             "it (a retrofit). Each has a control, the same recipe without the regularizer, so its effect is read "
             "at equal budget. Every number below is on the same held-out sample and statistics as the sections above; "
             "dashboard: *Compare models* (`/compare`) and *Training dynamics* (`/dynamics`).")
    L.append("")
    L.append("| model | how it was trained | sample accuracy |")
    L.append("|---|---|---|")
    for n, an in models.items():
        L.append(f"| {n} | {_recipe(dirs[n]) if n != base else 'the shipped base (README: seven stages)'} "
                 f"| {100 * float(an.meta.get('sample_accuracy', float('nan'))):.2f}% |")
    L.append("")
    comparisons = []
    for t in twins:
        control = control_of(dirs[t], {n: d for n, d in dirs.items() if n != t})
        if control:
            comparisons.append((f"Equal budget: {control} against {t}", control, t))
        comparisons.append((f"Against the shipped base: {base} against {t}", base, t))
    for title, a, b in comparisons:
        L += [f"### {title}", ""] + _comparison(compare(models[a], models[b], (a, b)))

    stats = {n: model_stats(an, n) for n, an in models.items()}
    L += ["### The post's pairs: selective units per readout layer (concat.fwd / concat.bwd / hidden)", ""]
    L.append("| pair | " + " | ".join(models) + " |")
    L.append("|---|" + "---|" * len(models))
    for p in POST_PAIRS:
        cells = ["/".join(str(s.post_pairs.get(p, {}).get(l, "–")) for l in READOUT_LAYERS) for s in stats.values()]
        L.append(f"| {p.replace(':', ' → ')} | " + " | ".join(cells) + " |")
    L.append("")
    sat_layers = list(dict.fromkeys(g for s in stats.values() for g in s.saturation))
    if sat_layers:
        L += ["Gate saturation, the share of a gate layer's units open (> 0.9) on more than 90% of positions: "
              + "; ".join(f"{n} " + ", ".join(f"{g} {s.saturation.get(g, float('nan')):.1%}" for g in sat_layers)
                          for n, s in stats.items()) + ".", ""]

    if break_pairs:
        L += ["### How many units break a pair (ablated inside the recurrence)", ""]
        L.append("The top k units of the layer by H excess set to their mean at every step; broken: fewer than half of the "
                 "pair's target positions stay right (a seeded subset of about 1,000 positions of x); in brackets the "
                 "accuracy on the target with no unit ablated and with the top 10. `python -m translit_core compare "
                 "--other DIR --pair P --layer L`.")
        L.append("")
        L.append("| pair | layer | " + " | ".join(models) + " |")
        L.append("|---|---|" + "---|" * len(models))
        for p in break_pairs:
            for layer in BREAK_LAYERS:
                cells = []
                for n, an in models.items():
                    try:
                        curve = units_to_break(an.recording(data_dir), an.layer_scores(p, layer), str(an.parse_pair(p)),
                                               layer)
                    except (KeyError, ValueError) as e:
                        cells.append(f"– ({e})")
                        continue
                    where = f"k = {curve.units_to_break}" if curve.units_to_break else f"not by k = {curve.ks[-1]}"
                    at10 = (f"; {curve.target_accuracy[curve.ks.index(10)]:.3f} at k = 10" if 10 in curve.ks else "")
                    cells.append(f"{where} ({curve.baseline:.3f}{at10})")
                L.append(f"| {p.replace(':', ' → ')} | {layer} | " + " | ".join(cells) + " |")
        L.append("")

    if tracks:
        L += [f"### What the units read as: the best annotation track per unit (units explained at AUC ≥ {TRACK_AUC})", ""]
        L.append("| layer | " + " | ".join(models) + " |")
        L.append("|---|" + "---|" * len(models))
        for l in READOUT_LAYERS:
            cells = []
            for an in models.values():
                tp = track_profile(an.recording(data_dir), l)
                cells.append(f"{tp.explained} of {tp.units}, median AUC {tp.median_auc:.2f}"
                             + (f" ({', '.join(f'{t} {k}' for t, k in tp.top_tracks[:3])})" if tp.top_tracks else ""))
            L.append(f"| {l} | " + " | ".join(cells) + " |")
        L.append("")

    if runs:
        L += ["### How the key units form during training", ""]
        L.append(f"Each run kept snapshots (`train --snapshots`); `python -m translit_core dynamics --run DIR --save` "
                 f"measured every one on the same held-out sentences and kept the points in `runs/NAME/dynamics.json`. "
                 f"Best H excess over the readout layers per pair, and the forward unit playing the post's #70 role "
                 f"(best mean excess over {', '.join(ROLE_PAIRS)}).")
        L.append("")
        for name, d in runs.items():
            pairs = [p for p in POST_PAIRS if any(p in pt.best_excess for pt in d.points)]
            L.append(f"**{name}** ({d.sentences} sentences):")
            L.append("")
            L.append("| epoch | accuracy | " + " | ".join(p.replace(':', ' → ') for p in pairs) + " | #70 role |")
            L.append("|---|---|" + "---|" * len(pairs) + "---|")
            for pt in d.points:
                best = [f"{max(pt.best_excess[p].values()):.2f}" if p in pt.best_excess else "–" for p in pairs]
                L.append(f"| {pt.epoch:g} | {100 * pt.accuracy:.2f}% | " + " | ".join(best)
                         + f" | {pt.role_unit} ({pt.role_score:.2f}) |")
            changes = role_changes(d.points)
            L.append("")
            L.append(f"The #70 role: " + "; ".join(f"`{u}` from epoch {e:g}" for e, u in changes)
                     + (" (the same unit throughout)." if len(changes) == 1 else
                        f" ({len(changes) - 1} change{'s' if len(changes) > 2 else ''} of unit)."))
            moves = role_moves(d.points)
            if moves:
                L.append(f"Where it changed, the unit before it at the next snapshot: {moves}. A rank of 2 or 3 with "
                         "a close score is a near tie between units that all carry the role, not a move of it.")
            L.append("")
    return L
