"""The unit-structure commands: saturation, clusters, compare and dynamics.

JSON shapes (stable, for scripts):
  saturation  [{neuron, layer, index, left, right}, ...]: per gate unit, the fraction of the sample's
              positions below the left threshold (sigmoid 0.1, tanh -0.9) and above the right one
              (0.9)
  clusters    [{cluster, size, representative, cohesion, pairs}, ...] for a layer;
              with --neuron: {neuron, cluster, cluster_size, representative, members,
              neighbours: [{neuron, r, cluster}]};
              with --pair: {pair, layer, k, units, clusters, distinct, null_mean, null_lo, null_hi, verdict}
  compare     {a: {name, sample_accuracy, regularizer, layers: [{layer, selective_units, units_per_pair,
              inputs_per_unit, monosemantic, ...}], post_pairs, target_accuracy, saturation}, b: {...},
              same_sample, paired (unit i is the same unit in both: one fine-tuned from the other, or both
              from one model), monosemantic_diff: {layer: {estimate, low, high, paired}} (points, b - a),
              verdict}; with --pair and --layer also "break": [{model, ks, target_accuracy,
              units_to_break, n_positions, right (per k: each scored position of y right or not),
              positions (their digest: equal digests, a paired test fits)}] (the recurrent
              ablation; seconds per model)
  dynamics    [{epoch, step, directory, best_excess: {pair: {layer: H excess}}, role_unit, role_score,
              accuracy}, ...] for the snapshots of a training run, in training order

Saturation and clusters read what analyze stored; an analysis file written before they were stored
gets them computed from the sample recording (said on stderr: rebuild with `analyze` to store them).
"""
from __future__ import annotations

import sys

from ..analysis.methods.clusters import CLUSTER_LAYERS
from ..analysis.methods.saturation import SATURATION_LAYERS
from ..model.names import READOUT_LAYERS
from .common import DATA_HELP, MAX_SENTENCES, MAX_UNITS_K, add_common, print_json, whole


def _saturation(an, data=None):
    if an.saturation is None:
        from ..analysis.measurement.names import analyze_command
        from ..analysis.methods.saturation import recording_saturation
        print(f"note: this analysis has no stored gate saturation; computing it from the sample recording "
              f"(store it with `{analyze_command(an.checkpoint_dir)}`)", file=sys.stderr)
        an.saturation = recording_saturation(an.recording(data))
    return an.saturation


def _clusters(an, data=None):
    if an.clusters is None:
        from ..analysis.methods.clusters import recording_clusters
        from ..analysis.measurement.names import analyze_command
        print(f"note: this analysis has no stored unit clusters; computing them from the sample recording "
              f"(store them with `{analyze_command(an.checkpoint_dir)}`)", file=sys.stderr)
        an.clusters = recording_clusters(an.recording(data), seed=an.meta.sample_seed)
    return an.clusters


def cmd_saturation(a):
    from ..analysis.methods.saturation import thresholds
    from ..analysis.store import Analysis
    an = Analysis.load(a.checkpoint)
    sat = _saturation(an, a.data)
    rows = sat.rows(a.layer)
    if a.json:
        print_json(rows)
        return
    print(f"gate saturation over {sat.n_positions:,} positions: the fraction where a unit is left-saturated "
          f"(< left) and right-saturated (> right)")
    for layer in ([a.layer] if a.layer else sat.layers):
        lo, hi = thresholds(layer)
        print(f"{layer} (left < {lo:g}, right > {hi:g}): {sat.count_right(layer)} units right-saturated and "
              f"{sat.count_left(layer)} left-saturated on more than 90% of the positions")
    print(f"  {'neuron':<16s} {'left':>7s} {'right':>7s}")
    for r in rows:
        print(f"  {r['neuron']:<16s} {r['left']:7.3f} {r['right']:7.3f}")


def cmd_clusters(a):
    from ..analysis.methods.clusters import cluster_rows, neuron_rows
    from ..analysis.store import Analysis
    an = Analysis.load(a.checkpoint)
    neuron = an.parse_neuron(a.neuron) if a.neuron else None
    pair = an.parse_pair(a.pair) if a.pair else None
    layer = a.layer or (neuron.layer if neuron else "concat.fwd")
    if neuron and neuron.layer != layer:
        raise ValueError(f"--neuron {neuron} is not in --layer {layer}")
    cl = _clusters(an, a.data)
    lc = cl.layer(layer)
    if neuron:
        row = neuron_rows(cl, neuron)
        if a.json:
            print_json(row)
            return
        print(f"{neuron}: cluster {row['cluster']} of {layer} ({row['cluster_size']} units; representative "
              f"{row['representative']})")
        print("  members: " + ", ".join(row["members"]))
        print("  nearest by |r|: " + ", ".join(f"{n['neuron']} (r {n['r']:+.2f}, cluster {n['cluster']})"
                                              for n in row["neighbours"]))
        return
    if pair:
        s = an.cluster_spread(pair, layer, a.k)
        if a.json:
            print_json(s.to_dict())
            return
        print(f"{s.pair}, {layer}: its top {s.k} units by H excess fall into {s.distinct} clusters; {s.k} random "
              f"units of the layer fall into {s.null_mean:.2f} (95% of draws: {s.null_lo:g} to {s.null_hi:g}): "
              f"{s.verdict}")
        for u, c in zip(s.units, s.clusters):
            print(f"  {layer}:{u:<5d} cluster {c} ({int(lc.sizes()[c])} units)")
        return
    rows = cluster_rows(an, cl, layer, a.k)
    if a.json:
        print_json(rows)
        return
    sizes = lc.sizes()
    print(f"{layer}: {lc.n_clusters} clusters of {lc.labels.numel()} units (average linkage on 1 - |r|, cut at "
          f"{cl.cut:g}; r over {cl.n_positions:,} positions); {int((sizes == 1).sum())} units on their own")
    print(f"  {'cluster':>7s} {'size':>5s} {'representative':<18s} {'cohesion':>8s}  pairs it serves (members in "
          f"their top {a.k})")
    for r in rows:
        if r["size"] > 1 or a.all:
            print(f"  {r['cluster']:7d} {r['size']:5d} {r['representative']:<18s} {r['cohesion']:8.3f}  {r['pairs']}")
    if not a.all:
        print("  (clusters of one unit left out; --all lists them)")


def cmd_compare(a):
    from dataclasses import asdict
    from pathlib import Path

    from ..analysis.comparison.models import TRACK_AUC, compare, track_profile, units_to_break
    from ..analysis.store import Analysis
    dirs = [Path(a.checkpoint) if a.checkpoint else None, Path(a.other)]
    ans = [Analysis.load(d) for d in dirs]
    names = [(d or ans[0].checkpoint_dir).name for d in dirs]
    c = compare(ans[0], ans[1], tuple(names))
    out = c.to_dict()
    if a.pair:
        out["break"] = []
        for name, an in zip(names, ans):
            scores = an.layer_scores(a.pair, a.layer)
            curve = units_to_break(an.recording(a.data), scores, str(an.parse_pair(a.pair)), a.layer)
            out["break"].append({"model": name, **curve.__dict__})
    if a.tracks:
        out["tracks"] = [{"model": name, **asdict(track_profile(an.recording(a.data), layer))}
                         for name, an in zip(names, ans) for layer in READOUT_LAYERS]
    if a.json:
        print_json(out)
        return
    for side in (c.a, c.b):
        print(f"{side.name}: sample accuracy {100 * side.sample_accuracy:.2f}%, {side.recipe}")
        print(f"  {'layer':<11} {'selective':>9} {'per pair':>9} {'inputs/unit':>11} {'monosemantic':>12} "
              f"{'mean |r|':>8}")
        for stats in side.layers:
            print(f"  {stats.layer:<11} {stats.selective_units:>9} {stats.units_per_pair:>9.1f} "
                  f"{stats.inputs_per_unit:>11.2f} {stats.monosemantic:>12.0%} {stats.mean_abs_r:>8.3f}")
    for b in out.get("break", []):
        print(f"{b['model']}: ablating the top k of {a.layer} for {a.pair} (recurrent): target accuracy "
              + ", ".join(f"k={k} {v:.3f}" for k, v in zip(b["ks"], b["target_accuracy"]))
              + f"; broken at k = {b['units_to_break']}")
    for t in out.get("tracks", []):
        print(f"{t['model']} {t['layer']}: best track's AUC median {t['median_auc']:.3f}; {t['explained']} of "
              f"{t['units']} units with AUC >= {TRACK_AUC} (" + ", ".join(f"{k} {v}" for k, v in t["top_tracks"]) + ")")
    print(c.verdict())


def cmd_dynamics(a):
    from ..analysis.comparison.dynamics import ROLE_PAIRS, points_to_dicts, role_changes, snapshot_dynamics
    from ..analysis.measurement.sample import sample_sentences, text_sentences
    if a.text:
        sentences = text_sentences(a.text, a.sentences, a.seed)
    else:
        sentences = sample_sentences(a.data, a.sentences, a.seed)
    points = snapshot_dynamics(a.run, sentences, seed=a.seed)
    if a.save:
        from ..analysis.comparison.dynamics import save_dynamics
        print(f"wrote {save_dynamics(a.run, points, len(sentences), a.seed)}", file=sys.stderr)
    if a.json:
        print_json(points_to_dicts(points))
        return
    pairs = sorted({p for pt in points for p in pt.best_excess})
    print(f"{len(points)} snapshots of {a.run}, {len(sentences)} held-out sentences; best H excess over the "
          f"readout layers (concat.fwd / concat.bwd / hidden) per pair")
    print(f"{'epoch':>7} {'step':>6} {'acc':>7}  " + "  ".join(f"{p:>17}" for p in pairs) + "   #70 role (" +
          ", ".join(ROLE_PAIRS) + ")")
    for pt in points:
        cells = ["/".join(f"{v:.2f}" for v in pt.best_excess.get(p, {}).values()) or "-" for p in pairs]
        print(f"{pt.epoch:>7g} {pt.step:>6} {100 * pt.accuracy:>6.2f}%  " + "  ".join(f"{c:>17}" for c in cells)
              + f"   {pt.role_unit} ({pt.role_score:.2f})")
    print("the #70 role: " + "; ".join(f"{u} from epoch {e:g}" for e, u in role_changes(points)))


# ---- the parsers, one per command
def add_saturation(sub) -> None:
    s = sub.add_parser("saturation", help="gate saturation (Karpathy et al. 2015): per gate unit, the fraction of "
                                          "positions where it is shut (< 0.1) or open (> 0.9)")
    add_common(s)
    s.add_argument("--layer", default=None, choices=list(SATURATION_LAYERS), help="one gate layer (default all)")
    s.add_argument("--data", default=None, help=DATA_HELP)
    s.set_defaults(fn=cmd_saturation)


def add_clusters(sub) -> None:
    s = sub.add_parser("clusters", help="units grouped by the correlation of their activations (NeuroX): a layer's "
                                        "clusters, a unit's neighbours, or how a pair's top units spread over them")
    add_common(s)
    s.add_argument("--layer", default=None, choices=list(CLUSTER_LAYERS), help="default concat.fwd (or the neuron's)")
    s.add_argument("--neuron", default=None, help="LAYER:INDEX: its cluster and nearest neighbours")
    s.add_argument("--pair", default=None, help="x:y: how many clusters its top k units fall into, vs random units")
    s.add_argument("--k", type=whole(1, MAX_UNITS_K), default=10)
    s.add_argument("--all", action="store_true", help="list the clusters of a single unit too")
    s.add_argument("--data", default=None, help=DATA_HELP)
    s.set_defaults(fn=cmd_clusters)


def add_compare(sub) -> None:
    s = sub.add_parser("compare", help="two models neuron by neuron (base, DeCov twin, control): selective units, "
                                       "units per pair, inputs per unit, and a verdict; --pair/--layer: units to "
                                       "break the pair")
    add_common(s)
    s.add_argument("--other", required=True, help="the second checkpoint directory (with its analysis)")
    s.add_argument("--pair", default=None, help="x:y: also how many top units, ablated in the recurrence, break it")
    s.add_argument("--layer", default="concat.bwd", choices=list(READOUT_LAYERS))
    s.add_argument("--tracks", action="store_true", help="also each readout layer's best annotation tracks "
                                                         "(how many units a track explains, AUC >= 0.9)")
    s.add_argument("--data", default=None, help="shared data dir, if a recording must be re-made")
    s.set_defaults(fn=cmd_compare)


def add_dynamics(sub) -> None:
    s = sub.add_parser("dynamics", help="how the key units form during training: the post's pairs' best H excess "
                                        "and the #70 role's unit at every snapshot of a run (train --snapshots)")
    s.add_argument("--run", required=True, help="the training run's output directory (holds snapshots/)")
    s.add_argument("--sentences", type=whole(1, MAX_SENTENCES), default=500, help="held-out sentences (default 500)")
    s.add_argument("--text", default=None, help="a text file to use instead of the held-out sample")
    s.add_argument("--data", default=None, help="shared data dir")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--save", action="store_true", help="also keep the points in RUN/dynamics.json (the page reads "
                                                       "them where the snapshots are not installed)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_dynamics)
