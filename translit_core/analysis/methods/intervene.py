"""Interventions and steering on the user's own text: "if I silence forward unit 159, does `ts`
still become ծ in *my* sentence?"

A `Setting` is one change as a user writes it (`concat.fwd:159=0`, `hidden:37=mean`, scale
`gate.bwd.g:6=2`); `intervene` runs the network on the text twice through its hooked pass
(`TranslitNet.run`), without and with the settings (inside the recurrence for LSTM units), and
reports per input character what the network chose before and after and how the log-probability
of its original choice moved. `steer` builds the settings that push a pair's most selective units
towards (or away from) their mean where the pair's target is written.

The outputs here are the network's own choices (argmax per character): the rules on top of it
(one script per word, numbers, the lexicon) would hide what the intervention did.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import torch

from ...model.alphabets import Alphabets, symbol_of_class
from ...model.names import READOUT_LAYERS, NeuronId, UnknownName
from ...model.net import Intervention, TranslitNet
from ...text.words import split_at_spaces

OPS = ("set", "zero", "mean", "scale", "add")
VALUE_LIMIT = 1000.0          # activations live in [-1, 1] (cells a little wider): beyond this is a typo
MAX_TEXT = 2000               # characters an intervention runs on at once
SETTING = re.compile(r"^\s*(?P<neuron>[^=]+?)\s*=\s*(?P<value>\S+)\s*$")


@dataclass(frozen=True)
class Setting:
    """One change to one unit: set it to a value, zero it, set it to its mean over the sample,
    scale it or add to it."""
    neuron: NeuronId
    op: str                              # set | zero | mean | scale | add
    value: float | None = None           # for set, scale, add

    @classmethod
    def parse(cls, text: str, op: str = "set", sizes: dict[str, int] | None = None) -> "Setting":
        """"concat.fwd:159=0" (op set), "hidden:37=mean", "gate.bwd.g:6=2" (op scale or add)."""
        if op not in OPS:
            raise UnknownName(f"unknown operation {op!r}; operations: {', '.join(OPS)}")
        m = SETTING.match(text)
        if not m:
            raise UnknownName(f"{text!r} is not of the form NEURON=VALUE (e.g. concat.fwd:159=0, hidden:37=mean)")
        neuron = NeuronId.parse(m["neuron"], sizes)
        raw = m["value"].lower()
        if op == "set" and raw in ("mean", "zero"):
            return cls(neuron, raw)
        try:
            value = float(raw)
        except ValueError:
            raise UnknownName(f"{text!r}: the value must be a number" + (" or 'mean'" if op == "set" else "")) from None
        if not math.isfinite(value) or abs(value) > VALUE_LIMIT:
            raise UnknownName(f"{text!r}: {value} is outside reason (|value| <= {VALUE_LIMIT:g})")
        return cls(neuron, op, value)

    def __str__(self) -> str:
        return f"{self.neuron} {self.op}" + ("" if self.value is None else f" {self.value:g}")

    def intervention(self, means: dict[str, torch.Tensor] | None, **where) -> Intervention:
        """The engine's Intervention; "mean" needs `means` ({layer: (units,)} over the sample)."""
        n = self.neuron
        if self.op == "mean":
            if means is None or n.layer not in means:
                raise UnknownName(f"{self}: the unit's mean needs the neuron analysis of the model "
                                  f"(python -m translit_core analyze)")
            return Intervention(n.layer, (n.index,), "set", float(means[n.layer][n.index]), **where)
        if self.op == "zero":
            return Intervention(n.layer, (n.index,), "set", 0.0, **where)
        return Intervention(n.layer, (n.index,), self.op, float(self.value), **where)

    def to_dict(self) -> dict:
        return {"neuron": str(self.neuron), "op": self.op, "value": self.value}


def parse_span(text: str, length: int) -> tuple[int, int]:
    """"3:7" -> (3, 7): input character positions, start inclusive, end exclusive, as in Python;
    "3:" runs to the end, ":7" from the start."""
    m = re.fullmatch(r"\s*([0-9]{0,9})\s*:\s*([0-9]{0,9})\s*", text or "")     # 9 digits: int() stays cheap
    if not m:
        raise UnknownName(f"span {(text or '')[:40]!r} is not of the form START:END (e.g. 3:7)")
    start = int(m[1]) if m[1] else 0
    end = int(m[2]) if m[2] else length
    if not 0 <= start < end <= length:
        raise UnknownName(f"span {text!r} is outside the text (positions 0..{length}; start < end)")
    return start, end


@dataclass
class InterventionResult:
    """The network's choice per input character, before and after the settings."""
    input: str
    output_before: str
    output_after: str
    tokens_before: list[str]             # per input character: what it became ("" writes nothing)
    tokens_after: list[str]
    top_after: list[str]                 # per input character: the new top choice, as a symbol
    changed: list[int]                   # input positions whose output changed
    delta_logp: list[float]              # per input position: log p(original choice) after - before
    interventions: list[dict] = field(default_factory=list)
    span: tuple[int, int] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        decided = len(self.input) - self.input.count("\n")
        if not self.interventions:
            return "No neuron selected: this is the plain model."
        return f"{len(self.changed)} of {decided} characters changed."


def _rows(text: str, max_len: int = 200) -> list[tuple[int, str]]:
    """(offset in text, chunk) for every chunk of every line, as inference cuts them."""
    out, offset = [], 0
    for line in text.split("\n"):
        for a, b in split_at_spaces(line, max_len):
            if b > a:
                out.append((offset + a, line[a:b]))
        offset += len(line) + 1
    return out


def run_rows(model: TranslitNet, alphabets: Alphabets, text: str, interventions_for=None
             ) -> tuple[list[tuple[int, str]], torch.Tensor]:
    """The hooked pass over every chunk of `text` in one padded batch: (rows, log-probabilities
    (B, T, n_out)). `interventions_for(x, positions)` gives the interventions for the batch, from
    its input classes x (B, T) and each cell's position in the text (B, T)."""
    rows = _rows(text)
    if not rows:
        return rows, torch.zeros(0, 0, len(alphabets.outputs))
    T = max(len(c) for _, c in rows)
    x = torch.zeros(len(rows), T, dtype=torch.long)
    for r, (_, chunk) in enumerate(rows):
        x[r, : len(chunk)] = torch.tensor(alphabets.encode_input(chunk))
    lengths = torch.tensor([len(c) for _, c in rows])
    positions = torch.tensor([o for o, _ in rows]).unsqueeze(1) + torch.arange(T)    # (B, T) in the text
    interventions = interventions_for(x, positions) if interventions_for else []
    with torch.no_grad():
        logits = model.run_with_hooks(x, lengths, interventions)
    return rows, logits.log_softmax(-1)


def plain_pass(model: TranslitNet, alphabets: Alphabets, text: str) -> torch.Tensor:
    """The log-probabilities of `text` without interventions, as `intervene` compares them: a
    caller that changes the settings again and again on one text (the dashboard) passes them back
    as `plain`, and each change costs one hooked pass instead of two."""
    return run_rows(model, alphabets, text)[1]


def compare(model: TranslitNet, alphabets: Alphabets, text: str, interventions_for, described: list[dict],
            span: tuple[int, int] | None = None, plain: torch.Tensor | None = None) -> InterventionResult:
    """`text` through the network without and with `interventions_for(x, positions)`; `plain`:
    the pass without, if the caller has it (`plain_pass`)."""
    if len(text) > MAX_TEXT:
        raise UnknownName(f"the text has {len(text):,} characters; interventions run on at most {MAX_TEXT:,}")
    rows = _rows(text)
    if plain is not None and tuple(plain.shape[:2]) != (len(rows), max((len(c) for _, c in rows), default=0)):
        raise ValueError("`plain` is not the plain pass of this text")
    before = plain_pass(model, alphabets, text) if plain is None else plain
    # without interventions the second pass would be the first one again
    after = before if interventions_for is None else run_rows(model, alphabets, text, interventions_for)[1]
    tokens_b, tokens_a, top_a = list(text), list(text), [""] * len(text)
    delta = [0.0] * len(text)
    changed = []
    for r, (offset, chunk) in enumerate(rows):
        kb = before[r, : len(chunk)].argmax(-1).tolist()
        ka = after[r, : len(chunk)].argmax(-1).tolist()
        for t, c in enumerate(chunk):
            if alphabets.forced_pass(c):
                continue                         # unknown and Armenian characters are never changed
            p = offset + t
            tokens_b[p] = alphabets.decode(c, [kb[t]])
            tokens_a[p] = alphabets.decode(c, [ka[t]])
            top_a[p] = symbol_of_class(alphabets, ka[t])
            delta[p] = round(float(after[r, t, kb[t]] - before[r, t, kb[t]]), 6)
            if ka[t] != kb[t]:
                changed.append(p)
    return InterventionResult(text, "".join(tokens_b), "".join(tokens_a), tokens_b, tokens_a, top_a, changed, delta,
                              described, span)


def intervene(model: TranslitNet, alphabets: Alphabets, text: str, settings: list[Setting],
              span: tuple[int, int] | None = None, means: dict[str, torch.Tensor] | None = None,
              plain: torch.Tensor | None = None) -> InterventionResult:
    """Run `text` with and without `settings`, at every position or at input positions `span`
    (`plain`: the run without, `plain_pass(model, alphabets, text)`, if the caller keeps it)."""
    if span is not None and not 0 <= span[0] < span[1] <= len(text):
        raise UnknownName(f"span {span[0]}:{span[1]} is outside the text (positions 0..{len(text)})")
    for s in settings:                      # fail before running anything
        s.intervention(means)

    def interventions_for(x, positions):
        where = {} if span is None else {"where": (positions >= span[0]) & (positions < span[1])}
        return [s.intervention(means, **where) for s in settings]
    return compare(model, alphabets, text, interventions_for if settings else None,
                   [s.to_dict() for s in settings], span, plain)


def steer(model: TranslitNet, alphabets: Alphabets, analysis, text: str, pair, k: int = 10, alpha: float = 1.0,
          layers=READOUT_LAYERS) -> tuple[InterventionResult, int, int]:
    """Push the pair's top-k units (by H, per layer) a fraction `alpha` of the way from their value
    to their mean where the target is y, at the positions of x: v -> (1 - alpha) v + alpha m_y.
    alpha 1 sets them to that mean; a negative alpha pushes away from it.
    -> (the comparison, positions of x in the text, how many of them the network now writes as y)."""
    if not math.isfinite(alpha) or abs(alpha) > 10:
        raise UnknownName(f"alpha {alpha} is outside reason (|alpha| <= 10)")
    if not 1 <= k <= 228:
        raise UnknownName(f"k {k}: must be between 1 and 228")
    p = analysis.parse_pair(pair)
    xi = alphabets.in_index.get(p.x)
    plan = []
    for layer in layers:
        units = tuple(s.neuron.index for s in analysis.top_neurons(p, layer, k))
        target = tuple(alpha * analysis.mean_activation(p, NeuronId(layer, u), over="pos") for u in units)
        plan.append((layer, units, target))

    def interventions_for(x, positions):
        at_x = x == xi
        return [iv for layer, units, target in plan
                for iv in (Intervention(layer, units, "scale", 1.0 - alpha, where=at_x),
                           Intervention(layer, units, "add", target, where=at_x))]
    described = [{"layer": layer, "units": list(units), "op": f"steer towards the mean on {p.y}", "alpha": alpha}
                 for layer, units, _ in plan]
    result = compare(model, alphabets, text, interventions_for, described)
    at_x = [i for i, c in enumerate(text) if c == p.x]
    y_text = p.x if p.y == "=" else "" if p.y == "_" else p.y
    became = sum(result.tokens_after[i] == y_text for i in at_x)
    return result, len(at_x), became
