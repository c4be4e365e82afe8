"""The commands that run the network on a text of the user's: intervene (units set, scaled or
shifted inside the recurrence), steer (a pair's top units pushed towards their mean on its target),
attribute (integrated gradients of one output character) and activations (units' values at every
character: the dashboard's cell heatmap).

JSON shapes (stable, for scripts):
  intervene  {input, output_before, output_after, tokens_before, tokens_after, top_after, changed,
              delta_logp, interventions, span}
  steer      intervene's, then {pair, k, alpha, positions_of_x, now_y}
  attribute  {input, output, position, target, logp, baseline_logp, delta,
              attributions: [{position, char, total, forward, backward, direct}], top_units, unit_delta,
              method}
  activations {text, chars, outputs, units: [{unit, values}]} (values: one per character, null where
              not finite; outputs: the network's own output per character, as the heatmap's table)
"""
from __future__ import annotations

from .common import MAX_UNITS_K, add_common, print_json, whole


def _settings(a, sizes) -> list:
    from ..analysis.methods.intervene import Setting
    return ([Setting.parse(t, "set", sizes) for t in a.set or []]
            + [Setting.parse(t, "scale", sizes) for t in a.scale or []]
            + [Setting.parse(t, "add", sizes) for t in a.add or []])


def cmd_intervene(a):
    from ..analysis.methods.intervene import intervene, parse_span
    from ..analysis.store import Analysis
    from ..model.checkpoint import load_checkpoint
    model, alphabets, _ = load_checkpoint(a.checkpoint)
    settings = _settings(a, model.sizes)
    if not settings:
        raise ValueError("nothing to change: give at least one --set, --scale or --add (e.g. --set concat.fwd:159=0)")
    span = parse_span(a.span, len(a.text)) if a.span else None
    means = Analysis.load(a.checkpoint).unit_means() if any(s.op == "mean" for s in settings) else None
    r = intervene(model, alphabets, a.text, settings, span, means)
    if a.json:
        print_json(r.to_dict())
        return
    print(f"before  {r.output_before}\nafter   {r.output_after}\n{r.summary()}")
    for p in r.changed:
        print(f"  {p:4d} {r.input[p]!r}: {r.tokens_before[p] or '_'} -> {r.tokens_after[p] or '_'}  "
              f"(log p of {r.tokens_before[p] or '_'} {r.delta_logp[p]:+.3f})")


def cmd_steer(a):
    from ..analysis.methods.intervene import steer
    from ..analysis.store import Analysis
    from ..model.checkpoint import load_checkpoint
    model, alphabets, _ = load_checkpoint(a.checkpoint)
    r, n_x, became = steer(model, alphabets, Analysis.load(a.checkpoint), a.text, a.pair, a.k, a.alpha)
    if a.json:
        print_json(dict(r.to_dict(), pair=a.pair, k=a.k, alpha=a.alpha, positions_of_x=n_x, now_y=became))
        return
    x, y = a.pair.split(":")[0], a.pair.split(":", 1)[1]
    print(f"before  {r.output_before}\nafter   {r.output_after}\n{became} of the {n_x} {x!r} are written as {y!r} "
          f"with the top {a.k} units of each layer steered (alpha {a.alpha:g})")


def cmd_attribute(a):
    from ..analysis.methods.attribution import attribute
    from ..model.checkpoint import load_checkpoint
    model, alphabets, _ = load_checkpoint(a.checkpoint)
    r = attribute(model, alphabets, a.text, a.position, n_steps=a.steps)
    if a.json:
        print_json(r.to_dict())
        return
    print(f"{r.input[r.position]!r} at {r.position} -> {r.output or '_'} (log p {r.logp:.3f}; {r.method})")
    print(f"completeness: attributions sum to {sum(c.total for c in r.attributions):.3f}, "
          f"log p - log p(baseline) = {r.logp - r.baseline_logp:.3f} (error {r.delta:+.3f})")
    for c in r.attributions:
        print(f"  {c.position:4d} {c.char!r:5s} {c.total:+8.3f}  forward {c.forward:+8.3f}  backward {c.backward:+8.3f}"
              + (f"  direct {c.direct:+.3f}" if c.direct else ""))
    print("units that carried it: " + ", ".join(f"{u.neuron} {u.attribution:+.3f}" for u in r.top_units))


MAX_ACTIVATION_CHARS = 10_000     # the network runs once over the whole text, step by step


def activation_rows(model, alphabets, text: str, neurons) -> list[list[float | None]]:
    """Each unit's value at every character of `text`: the network run once over the whole text
    through the hooked forward (run_with_cache), as the dashboard's cell heatmap does."""
    import math

    import torch
    with torch.inference_mode():
        _, acts = model.run_with_cache(torch.tensor([alphabets.encode_input(text)]),
                                       names=list(dict.fromkeys(n.layer for n in neurons)))
    rows = [acts[n.layer][0, :, n.index].float().cpu().tolist() for n in neurons]
    return [[v if math.isfinite(v) else None for v in row] for row in rows]


def cmd_activations(a):
    from ..infer.transliterator import Transliterator
    from ..model.names import NeuronId
    if not a.text:
        raise ValueError("--text is empty: give a text to run the network over")
    if len(a.text) > MAX_ACTIVATION_CHARS:
        raise ValueError(f"--text has {len(a.text):,} characters: at most {MAX_ACTIVATION_CHARS:,} (the network "
                         f"runs once over the whole text, as the dashboard's heatmap does)")
    tr = Transliterator.load(a.checkpoint)
    names = [n for n in (t.strip() for t in a.neurons.split(",")) if n]
    if not names:
        raise ValueError("--neurons is empty: give units as LAYER:INDEX, comma-separated (e.g. cell.fwd:12,hidden:3)")
    neurons = list(dict.fromkeys(NeuronId.parse(n, tr.model.sizes) for n in names))
    rows = activation_rows(tr.model, tr.alphabets, a.text, neurons)
    outputs = [p.output if p.network is None else p.network for p in tr.predict(a.text)]   # the network's own
    if a.json:
        print_json({"text": a.text, "chars": list(a.text), "outputs": outputs,
                    "units": [{"unit": str(n), "values": row} for n, row in zip(neurons, rows)]})
        return
    print(f"{len(a.text)} characters: {a.text!r} -> {''.join(outputs)!r}")
    width = max(len(str(n)) for n in neurons)
    for n, row in zip(neurons, rows):
        print(f"{str(n):{width}s} " + " ".join("nan" if v is None else f"{v:+.4f}" for v in row))


# ---- the parsers, one per command
def add_intervene(sub) -> None:
    s = sub.add_parser("intervene", help="run a text with neurons set, zeroed, scaled or shifted (inside the "
                                         "recurrence) and show what the network writes before and after")
    add_common(s)
    s.add_argument("--text", required=True)
    s.add_argument("--set", action="append", metavar="NEURON=VALUE",
                   help="set a unit: concat.fwd:159=0, hidden:37=mean (its mean over the sample), ...; repeatable")
    s.add_argument("--scale", action="append", metavar="NEURON=FACTOR", help="multiply a unit, e.g. gate.bwd.g:6=2")
    s.add_argument("--add", action="append", metavar="NEURON=DELTA", help="add to a unit, e.g. cell.fwd:12=0.5")
    s.add_argument("--span", default=None, help="input positions START:END (end exclusive, as in Python); "
                                                "default: every position")
    s.set_defaults(fn=cmd_intervene)


def add_steer(sub) -> None:
    s = sub.add_parser("steer", help="push a pair's most selective units towards their mean on its target")
    add_common(s)
    s.add_argument("--text", required=True)
    s.add_argument("--pair", required=True, help="x:y, e.g. t:թ")
    s.add_argument("--k", type=whole(1, MAX_UNITS_K), default=10,
                   help="units per layer (concat.fwd, concat.bwd, hidden)")
    s.add_argument("--alpha", type=float, default=1.0, help="1: to the mean on y; 0: nothing; negative: away")
    s.set_defaults(fn=cmd_steer)


def add_attribute(sub) -> None:
    s = sub.add_parser("attribute", help="which input characters and units made one output character "
                                         "(integrated gradients, split forward / backward)")
    add_common(s)
    s.add_argument("--text", required=True)
    s.add_argument("--position", type=whole(0), required=True, help="input character position (from 0)")
    s.add_argument("--steps", type=whole(4, 512), default=32,
                   help="integration steps (more: smaller completeness error)")
    s.set_defaults(fn=cmd_attribute)


def add_activations(sub) -> None:
    s = sub.add_parser("activations", help="units' values at every character of a text (the dashboard's cell "
                                           "heatmap): the network run once over the whole text")
    add_common(s)
    s.add_argument("--text", required=True)
    s.add_argument("--neurons", required=True, metavar="UNIT,UNIT,...",
                   help="units as LAYER:INDEX, comma-separated, e.g. cell.fwd:12,concat.bwd:3")
    s.set_defaults(fn=cmd_activations)
