"""The neuron analysis's commands: analyze, neurons, pairs, histogram, ablate, rank-methods, sample,
hypothesis, tracks, findings (interventions: interventions.py; unit structure: units.py).

Every command that reads results takes --checkpoint (default checkpoints/hy) and --json.
JSON shapes (stable, for scripts):
  analyze   {sentences, positions, pairs, neurons, ablations, sample_accuracy, files: {path: bytes},
             timings_s: {step: seconds}} (`AnalysisRun.to_dict`)
  neurons   [{neuron, layer, index, hellinger, hellinger_null, hellinger_excess, p_value, q_value, n_pos, n_neg,
             rank, pair}, ...] by layer, H excess descending (--by hellinger: raw H)
  pairs     [{pair, x, y, hellinger, hellinger_null, hellinger_excess, p_value, q_value, n_pos, n_neg}, ...]
            H excess descending
  histogram {pair, neuron, edges, density_pos, density_neg, counts_pos, counts_neg, hellinger, n_pos, n_neg}
  rank-methods [{method, curve: [{k, target_accuracy, delta_logp}], top_units, seconds}, ...,
             {method: "random", curve: [{k, target_accuracy, target_accuracy_std, delta_logp, delta_logp_std}]}]
  ablate    {pair, layer, k, baseline_accuracy, top_k_accuracy, random_k_accuracy_mean,
             random_k_accuracy_std, n_positions, ..., recurrent, where ("x": the units replaced at the steps
             of x only; "all": at every step), n_random_draws, p_value,
             target_accuracy_*, delta_logp_*, balanced_accuracy_*, effect_logp, effect_z, verdict}
            (a list of them with --layer all)
  sample    {sentences, sources, composition, dropped_exact, dropped_near}
  hypothesis {layer, units, threshold, left, right, span, span_latin, n_matches, n_full, n_same_letters,
             n_candidates, n_positions, matches: [{rank, start, end, latin, before, after, outputs, n_fit,
             mean_activation, same_letters, ...}], summary, seconds}
  tracks    {neuron, track, phrase, auc, high, n_track, n_scored, n_total, runners_up, description}
"""
from __future__ import annotations

import sys

from ..analysis.measurement.names import DEFAULT_BINS, DEFAULT_SHUFFLES
from ..analysis.methods.ablation import DEFAULT_DRAWS, PER_OUTPUT, RECURRENT_DRAWS
from ..model.names import LAYERS, READOUT_LAYERS
from .common import (DATA_HELP, MAX_BINS, MAX_DRAWS, MAX_ROWS, MAX_SENTENCES, MAX_SHUFFLES, MAX_TOP, MAX_UNITS_K,
                     add_common, print_json, set_threads, whole)


def cmd_analyze(a):
    from ..analysis.pipeline import run_analysis
    set_threads(a)
    log = (lambda *args: print(*args, file=sys.stderr)) if a.json else print
    run = run_analysis(a.checkpoint, n_sentences=a.sentences, seed=a.seed, data_dir=a.data, text=a.text,
                       bins=a.bins, min_count=a.min_count, out_dir=a.out, ablation_k=a.ablation_k,
                       ablation_draws=a.draws, shuffles=a.shuffles, use_cache=not a.no_cache, log=log)
    if a.json:
        print_json(run.to_dict())
        return
    print(f"{run.sentences} sentences, {run.positions:,} positions, model accuracy on them "
          f"{100 * run.sample_accuracy:.2f}%")
    print(f"{run.pairs} pairs x {run.neurons} neurons, {run.ablations} stored ablations")
    for path, size in run.files.items():
        print(f"wrote {path} ({size / 1e6:.2f} MB)")
    print("seconds: " + ", ".join(f"{k} {v}" for k, v in run.timings_s.items()))


def cmd_neurons(a):
    from ..analysis.store import Analysis
    an = Analysis.load(a.checkpoint)
    pair = an.parse_pair(a.pair)
    chosen = a.layer or list(READOUT_LAYERS)
    layers = list(an.layers) if "all" in chosen else chosen
    rows = []
    for layer in layers:
        for rank, s in enumerate(an.top_neurons(pair, layer, a.top, by=a.by), 1):
            rows.append(dict(s.to_dict(), rank=rank, pair=str(pair)))
    if a.json:
        print_json(rows)
        return
    print(f"pair {pair}: {pair.n_pos} positions with target {pair.y}, {pair.n_neg} with another target "
          f"(input {pair.x!r}); neuron #index:H excess (H - its null over label shuffles), best first")
    nulls = [r["hellinger_null"] for r in rows]
    print(f"  null H (noise floor at these sizes): {min(nulls):.3f} to {max(nulls):.3f} for the units shown")
    for layer in layers:
        sel = [r for r in rows if r["layer"] == layer]
        print(f"  {layer:14s} " + "  ".join(f"#{r['index']}:{r['hellinger_excess']:.2f}" for r in sel))


def cmd_pairs(a):
    from ..analysis.store import Analysis
    an = Analysis.load(a.checkpoint)
    neuron = an.parse_neuron(a.neuron)
    rows = [s.to_dict() for s in an.top_pairs(neuron, a.top, by=a.by)]
    if a.json:
        print_json(rows)
        return
    print(f"{neuron}: the pairs it separates best, by H excess (H minus its permutation null: raw H favours "
          f"rare pairs)")
    for r in rows:
        print(f"  {r['pair']:8s} excess={r['hellinger_excess']:.3f}  H={r['hellinger']:.3f}  "
              f"null={r['hellinger_null']:.3f}  q={r['q_value']:.2g}  n_pos={r['n_pos']:<6d} n_neg={r['n_neg']}")


def cmd_histogram(a):
    from ..analysis.queries import histogram
    from ..analysis.store import Analysis
    set_threads(a)
    an = Analysis.load(a.checkpoint)
    a.bins = an.tables.bins if a.bins is None else a.bins
    pair, neuron = an.parse_pair(a.pair), an.parse_neuron(a.neuron)
    h = histogram(an, pair, neuron, bins=a.bins, data_dir=a.data)
    if a.json:
        print_json(h.to_dict())
        return
    stored = an.hellinger_of(pair, neuron)
    print(f"{neuron} on {pair}: H={h.hellinger:.4f} (table: {stored:.4f}); n_pos={h.n_pos} (target {pair.y}), "
          f"n_neg={h.n_neg}; {a.bins} bins over [{h.edges[0]:.4f}, {h.edges[-1]:.4f}]")
    # A coarse terminal view: bins merged into at most --rows rows (--json has every bin).
    per = -(-a.bins // min(a.rows, a.bins))
    width = 30
    merged = [(h.edges[i], sum(h.counts_pos[i:i + per]) / h.n_pos, sum(h.counts_neg[i:i + per]) / h.n_neg)
              for i in range(0, a.bins, per)]
    top = max(max(p, q) for _, p, q in merged) or 1.0
    print(f"  {'from':>9s}  {'target ' + pair.y:<{width}s}  other targets")
    for lo, p, q in merged:
        print(f"  {lo:9.4f}  {'#' * round(width * p / top):<{width}s}  {'#' * round(width * q / top)}")



def cmd_ablate(a):
    from ..analysis.methods.ablation import ABLATABLE_LAYERS, ablate_recording
    from ..analysis.store import Analysis
    set_threads(a)
    an = Analysis.load(a.checkpoint)
    pair = an.parse_pair(a.pair)
    layers = list(ABLATABLE_LAYERS) if a.layer == "all" else [a.layer]
    if not a.recurrent and any(layer not in ABLATABLE_LAYERS for layer in layers):
        raise ValueError(f"--layer {a.layer} is inside the LSTM: ablate it with --recurrent")
    if a.where == "all" and not a.recurrent:
        raise ValueError("--where all replaces the units at every step of the recurrence: add --recurrent")
    rec = an.recording(a.data)
    draws = a.draws or (RECURRENT_DRAWS if a.recurrent else DEFAULT_DRAWS)
    results = [ablate_recording(rec, pair, layer, a.k, draws=draws, seed=a.seed, scores=an.layer_scores(pair, layer),
                                bins=an.tables.bins, recurrent=a.recurrent, replace=a.replace,
                                max_positions=a.max_positions, per_output=a.per_output or None, where=a.where)
               for layer in layers]
    if a.json:
        print_json(results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results])
        return
    for r in results:
        print(ablation_report(r))


def ablation_report(r) -> str:
    """An ablation result as a few aligned lines for the terminal."""
    from ..analysis.methods.ablation import effect_words, random_units_cost, verdict
    how = ((f"rerun through the recurrence, units replaced "
            f"{'at every step' if r.where == 'all' else 'at the steps of x only'}")
           if r.recurrent else "head only")
    x, y = r.pair.split(":", 1)[0], r.pair.split(":", 1)[1]

    def row(name, acc, on_y, bal, dl) -> str:
        return f"  {name:<30s} {acc:8.4f} {on_y:10.4f} {bal:10.4f} {dl:+12.4f}"

    def spread(sd, width) -> str:
        return f"{'± ' + format(sd, '.4f'):>{width}s}"

    cap = f" (at most {r.per_output:,} per output)" if r.per_output else ""
    lines = [f"{r.pair}, layer {r.layer}, k={r.k}, units set to their {r.replace} ({how}); {r.n_positions} positions "
             f"of {x!r} scored{cap}, {r.n_pos} with target {y}",
             f"  {'':<30s} {'acc (x)':>8s} {'acc (on y)':>10s} {'balanced':>10s} {'Δ log p(y)':>12s}",
             row("unablated", r.baseline_accuracy, r.target_accuracy_baseline, r.balanced_accuracy_baseline, 0.0),
             row(f"top {r.k} by H excess", r.top_k_accuracy, r.target_accuracy_top_k, r.balanced_accuracy_top_k,
                 r.delta_logp_top_k),
             row(f"{r.k} random (mean of {r.n_random_draws})", r.random_k_accuracy_mean, r.target_accuracy_random_mean,
                 r.balanced_accuracy_random_mean, r.delta_logp_random_mean),
             f"  {'':<30s} {spread(r.random_k_accuracy_std, 8)} {spread(r.target_accuracy_random_std, 10)} "
             f"{spread(r.balanced_accuracy_random_std, 10)} {spread(r.delta_logp_random_std, 12)}",
             f"  top {r.k}: {' '.join(r.top_k_neurons)}",
             f"  verdict: {verdict(r)} (p = {r.p_value:.3g}: {r.n_random_draws} spread-matched random draws; effect "
             f"beyond random {effect_words(r, 4)}; random units cost {random_units_cost(r)})"]
    return "\n".join(lines)


def cmd_rank_methods(a):
    from ..analysis.methods.ranking import METHODS, rank_methods
    from ..analysis.store import Analysis
    set_threads(a)
    an = Analysis.load(a.checkpoint)
    pair = an.parse_pair(a.pair)
    stored = an.method_comparison(pair, a.layer) if not a.recompute and a.seed == 0 else None
    r = stored or rank_methods(an.recording(a.data), pair, a.layer, seed=a.seed, bins=an.tables.bins,
                               methods=a.method or METHODS)
    if a.json:
        print_json([c.to_dict() for c in r.curves])
        return
    print(f"{r.pair}, {r.layer}: units ranked on one half of the sentences ({r.n_pos_select} positions of "
          f"{pair.y}), their top k set to the mean on the other half ({r.n_pos_score}); Δ log p(y) (accuracy on y)"
          + (" [stored by analyze]" if stored else ""))
    ks = [p.k for p in r.curves[0].curve]
    print(f"  {'method':<10s} " + " ".join(f"{'k=' + str(k):>16s}" for k in ks) + "   mean Δ")
    for c in r.curves:
        cells = [f"{p.delta_logp:+.3f} ({p.target_accuracy:.3f})" for p in c.curve]
        interval = f" [{c.area_interval[0]:+.3f}, {c.area_interval[1]:+.3f}]" if c.area_interval else ""
        print(f"  {c.method:<10s} " + " ".join(f"{cell:>16s}" for cell in cells)
              + f"   {sum(p.delta_logp for p in c.curve) / len(c.curve):+.3f}{interval}")
    band = r.curve("random")
    print("  random band: ± " + ", ".join(f"k={p.k} {p.delta_logp_std:.3f}" for p in band.curve) + " (sd of Δ log p)")
    if r.resamples:
        d, lo, hi = r.best_margin
        print(f"  mean Δ intervals: 95%, {r.resamples:,} bootstrap resamples of the scoring half's "
              f"{r.n_sentences_score:,} sentences, the same for every method (paired); greedy is the upper reference")
        print(f"  best: {r.best} (by {-d:.3f} [{-hi:.3f}, {-lo:.3f}] over {r.runner_up})" if r.best else
              f"  best: none clear ({r.runner_up} within [{lo:+.3f}, {hi:+.3f}] of the lowest)")


def cmd_sample(a):
    """The held-out sentences the analysis is built on, one per line (or those dropped for
    overlap with the training sources, with --dropped)."""
    import json
    from pathlib import Path

    from .. import settings
    from ..analysis.measurement.names import ANALYSIS_META, AnalysisMissing
    from ..analysis.measurement.sample import held_out
    directory = Path(a.checkpoint) if a.checkpoint else settings.DEFAULT_CHECKPOINT
    try:
        spec = json.loads((directory / ANALYSIS_META).read_text(encoding="utf-8"))["sample"]
    except (OSError, ValueError, KeyError) as e:
        raise AnalysisMissing(f"cannot read the sample's description in {directory / ANALYSIS_META} ({e})") from None
    if spec.get("source") != "heldout":
        raise ValueError(f"this analysis was built on a text file ({spec.get('path')}), not the held-out sample")
    h = held_out(a.data or spec.get("data_dir"), spec["n_requested"], spec["seed"])
    if a.json:
        print_json({"sentences": h.sentences, "sources": h.sources, "composition": h.counts(),
                    "dropped_exact": h.dropped_exact, "dropped_near": h.dropped_near})
        return
    if a.dropped:
        for s in h.dropped_exact:
            print(f"exact\t{s}")
        for s in h.dropped_near:
            print(f"near\t{s}")
        return
    for s in h.sentences:
        print(s)


def cmd_findings(a):
    from ..reports.findings import write_findings
    set_threads(a)
    path = write_findings(a.checkpoint, a.out, data_dir=a.data)
    if a.json:
        print_json({"path": str(path)})
    else:
        print(f"wrote {path}")


def cmd_hypothesis(a):
    from ..analysis.methods.hypothesis import hypothesis
    from ..analysis.methods.intervene import parse_span
    from ..analysis.store import Analysis
    span = parse_span(a.span, len(a.text))
    rec = Analysis.load(a.checkpoint).recording(a.data)
    r = hypothesis(rec.model, rec.alphabets, rec, a.text, span, a.layer, a.threshold, a.left, a.right, a.top)
    if a.json:
        print_json(r.to_dict())
        return
    print(f"span {span[0]}:{span[1]} {a.text[span[0]:span[1]]!r}, {a.layer} > {a.threshold:g}, on in the span and off "
          f"{a.left} before / {a.right} after: units {', '.join(map(str, r.units)) or 'none'}")
    print(f"{r.summary()} ({r.seconds:.2f}s)")
    for m in r.matches:
        out = "".join(m.outputs[len(m.before):len(m.before) + len(m.latin)])
        print(f"  {m.rank:3d}. {m.before:>12s}[{m.latin}]{m.after:<12s} -> {out or '_'}  units {m.n_fit}, "
              f"mean {m.mean_activation:+.2f}{'  same letters' if m.same_letters else ''}")


def cmd_tracks(a):
    from ..analysis.methods.tracks import best_track
    from ..analysis.store import Analysis
    an = Analysis.load(a.checkpoint)
    neuron = an.parse_neuron(a.neuron)
    b = best_track(an.recording(a.data), neuron)
    if a.json:
        print_json(b.to_dict())
        return
    print(f"{neuron} {b.description}")
    for name, auc, high in b.runners_up:
        print(f"  then: {'high' if high else 'low'} on {name} (AUC {auc:.2f})")


# ---- the parsers, one per command (cli/__init__.py registers them in the order of the help)
def add_analyze(sub) -> None:
    s = sub.add_parser("analyze", help="record activations on held-out text and write the neuron analysis "
                                       "(analysis.safetensors + analysis.json) next to the checkpoint")
    add_common(s, threads=True)
    s.add_argument("--sentences", type=whole(1, MAX_SENTENCES), default=5000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data", default=None, help="shared data dir (default $TRANSLIT_DATA or ../shared/data)")
    s.add_argument("--text", default=None, help="any Armenian text file to sample instead of the held-out data")
    s.add_argument("--bins", type=whole(1, MAX_BINS), default=DEFAULT_BINS)
    s.add_argument("--min-count", type=whole(1), default=300, help="positions needed on each side of a pair")
    s.add_argument("--shuffles", type=whole(0, MAX_SHUFFLES), default=DEFAULT_SHUFFLES,
                   help="label shuffles behind every H's permutation null")
    s.add_argument("--out", default=None, help="write the analysis here instead of next to the checkpoint")
    s.add_argument("--ablation-k", type=whole(0, MAX_UNITS_K), default=10, help="k of the stored ablations (0: none)")
    s.add_argument("--where", choices=["x", "all"], default="x",
                   help="with --recurrent: replace the units at the steps where the input is x (default), or at "
                        "every step of the text")
    s.add_argument("--draws", type=whole(1, MAX_DRAWS), default=DEFAULT_DRAWS, help="random draws per stored ablation")
    s.add_argument("--no-cache", action="store_true", help="do not cache the recording (histograms re-record)")
    s.set_defaults(fn=cmd_analyze)


def add_neurons(sub) -> None:
    s = sub.add_parser("neurons", help="neurons ranked by Hellinger distance (excess over its null) for a pair, "
                                       "per layer")
    add_common(s)
    s.add_argument("--by", choices=["excess", "hellinger"], default="excess",
                   help="rank by H excess over the permutation null (default) or by raw H")
    s.add_argument("--pair", required=True, help="x:y, e.g. t:թ, s:_ (placeholder), .:= (kept as typed)")
    s.add_argument("--top", type=whole(1, MAX_TOP), default=10)
    s.add_argument("--layer", action="append",
                   help="layer (repeatable, or 'all'); default concat.fwd, concat.bwd, hidden")
    s.set_defaults(fn=cmd_neurons)


def add_pairs(sub) -> None:
    s = sub.add_parser("pairs", help="the pairs a neuron separates best")
    add_common(s)
    s.add_argument("--by", choices=["excess", "hellinger"], default="excess")
    s.add_argument("--neuron", required=True, help="LAYER:INDEX, e.g. concat.fwd:70")
    s.add_argument("--top", type=whole(1, MAX_TOP), default=10)
    s.set_defaults(fn=cmd_pairs)


def add_histogram(sub) -> None:
    s = sub.add_parser("histogram", help="one neuron's histograms on a pair (target y vs other targets)")
    add_common(s, threads=True)
    s.add_argument("--pair", required=True)
    s.add_argument("--neuron", required=True)
    s.add_argument("--bins", type=whole(1, MAX_BINS), default=None, help="default: the analysis's")
    s.add_argument("--rows", type=whole(1, MAX_ROWS), default=25, help="rows of the terminal view")
    s.add_argument("--data", default=None, help=DATA_HELP)
    s.set_defaults(fn=cmd_histogram)


def add_ablate(sub) -> None:
    s = sub.add_parser("ablate", help="causal check: set a layer's top-k neurons for a pair to their mean")
    add_common(s, threads=True)
    s.add_argument("--pair", required=True)
    s.add_argument("--k", type=whole(1, MAX_UNITS_K), default=10)
    s.add_argument("--layer", default="hidden", choices=[*LAYERS, "all"],
                   help="concat.fwd, concat.bwd, hidden (or all three); any layer with --recurrent")
    s.add_argument("--recurrent", action="store_true",
                   help="rerun the whole network with the units set inside the recurrence (slower)")
    s.add_argument("--where", choices=["x", "all"], default="x",
                   help="with --recurrent: replace the units at the steps where the input is x (default), or at "
                        "every step of the text")
    s.add_argument("--draws", type=whole(1, MAX_DRAWS), default=None,
                   help=f"spread-matched random draws of k units (default {DEFAULT_DRAWS:,}; with --recurrent "
                        f"{RECURRENT_DRAWS}: every draw reruns the network)")
    s.add_argument("--replace", choices=["mean", "zero"], default="mean",
                   help="set the units to their mean over the positions of x (default) or to 0")
    s.add_argument("--max-positions", type=whole(1), default=None,
                   help="score at most this many positions of x (whole chunks, seeded; for --recurrent)")
    s.add_argument("--per-output", type=whole(0), default=PER_OUTPUT,
                   help=f"score at most this many seeded positions of each output of x (default {PER_OUTPUT:,}, "
                        f"as analyze; 0: every position)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data", default=None, help=DATA_HELP)
    s.set_defaults(fn=cmd_ablate)


def add_rank_methods(sub) -> None:
    s = sub.add_parser("rank-methods", help="which ranking finds the units the model uses: six rankings of a "
                                            "layer's units for a pair, judged by ablation on held-out sentences")
    add_common(s, threads=True)
    s.add_argument("--pair", required=True, help="x:y, e.g. s:_")
    s.add_argument("--layer", default="concat.fwd", choices=list(READOUT_LAYERS))
    s.add_argument("--method", action="append", help="only these methods (repeatable); default all")
    s.add_argument("--seed", type=int, default=0, help="the split of the sentences into halves")
    s.add_argument("--recompute", action="store_true", help="compute even when analyze stored this comparison")
    s.add_argument("--data", default=None, help=DATA_HELP)
    s.set_defaults(fn=cmd_rank_methods)


def add_sample(sub) -> None:
    s = sub.add_parser("sample", help="print the analysis's held-out sentences, one per line (de-duplicated "
                                      "against every training source)")
    add_common(s)
    s.add_argument("--data", default=None, help="shared data dir (default: where the analysis found it)")
    s.add_argument("--dropped", action="store_true",
                   help="print the sentences dropped for overlap with training text instead (exact / near, tab, text)")
    s.set_defaults(fn=cmd_sample)


def add_hypothesis(sub) -> None:
    s = sub.add_parser("hypothesis", help="LSTMVis: the units on in a span of a text and off around it, and where "
                                          "else in the sample they show the same pattern")
    add_common(s)
    s.add_argument("--text", required=True)
    s.add_argument("--span", required=True, help="START:END input positions (end exclusive), e.g. 3:7")
    s.add_argument("--layer", default="concat.fwd", choices=list(LAYERS))
    s.add_argument("--threshold", type=float, default=0.3, help="a unit is on above this activation")
    s.add_argument("--left", type=whole(0, 20), default=1, help="positions before the span where the units must be off")
    s.add_argument("--right", type=whole(0, 20), default=1, help="positions after the span where the units must be off")
    s.add_argument("--top", type=whole(1, MAX_TOP), default=20, help="matches shown (all are counted)")
    s.add_argument("--data", default=None, help=DATA_HELP)
    s.set_defaults(fn=cmd_hypothesis)


def add_tracks(sub) -> None:
    s = sub.add_parser("tracks", help="which annotation track (word position, digraph, kept Latin, ...) best "
                                      "predicts a neuron's activation over the sample (AUC)")
    add_common(s)
    s.add_argument("--neuron", required=True, help="LAYER:INDEX, e.g. concat.fwd:70")
    s.add_argument("--data", default=None, help=DATA_HELP)
    s.set_defaults(fn=cmd_tracks)


def add_findings(sub) -> None:
    s = sub.add_parser("findings", help="regenerate docs/FINDINGS.md from the checkpoint's analysis")
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--out", default=None, help="default docs/FINDINGS.md")
    s.add_argument("--data", default=None)
    s.add_argument("--threads", type=int, default=0)
    s.add_argument("--json", action="store_true", help="print {path}")
    s.set_defaults(fn=cmd_findings)
