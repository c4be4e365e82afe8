"""Attribution for one output character: which input characters, and which units, made it.

Integrated gradients (Sundararajan et al. 2017) with Captum, on the log-probability of the
network's choice at one position. The input is a one-hot row per character, and it reaches the
output by three paths: the forward LSTM, the backward LSTM, and the copy fed straight to the
output layer. Each path gets its own copy of the one-hot input (`TranslitNet.run(inputs=...)`),
so integrated gradients split every character's share into forward, backward and direct parts.
(The fused forward takes the same inputs: attribution needs gradients, not hooks.)

Baseline: a text of spaces as long as the chunk, on every path: a real input the network has
seen, with no letters in it. (The all-zero one-hot, the other common choice, is an input it never
saw: on a 200-character chunk its integral needed 4x the steps for the same error.) The
attributions sum to log p(target | text) - log p(target | spaces) up to the integral's error,
which Captum reports (`delta`; completeness). The forward LSTM reads only positions <= N
and the backward one only positions >= N, so the forward part is exactly 0 after N and the
backward part exactly 0 before N.

Units: everything the output at N knows arrives through the biLSTM outputs at N (concat) and
the dense layer at N (hidden), so the same method on those vectors (baseline 0) says which
units carried it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from captum.attr import IntegratedGradients

from ...model.alphabets import Alphabets, symbol_of_class
from ...model.names import READOUT_LAYERS, NeuronId, UnknownName
from ...model.net import TranslitNet
from .intervene import _rows

PATHS = ("fwd", "bwd", "skip")
BASELINE = "a text of spaces as long as the chunk, on every path"


@dataclass(frozen=True)
class CharAttribution:
    position: int           # in the text
    char: str
    total: float
    forward: float
    backward: float
    direct: float           # the one-hot fed straight to the output layer (only at N itself)


@dataclass(frozen=True)
class UnitAttribution:
    neuron: str
    attribution: float
    activation: float


@dataclass
class Attribution:
    input: str
    output: str                             # the network's choice at `position`, as written
    position: int
    target: str                             # its output symbol ("=" keeps, "_" nothing)
    logp: float                             # log p(target) for the text
    baseline_logp: float                    # ... for the baseline
    delta: float                            # completeness error: sum of attributions - (logp - baseline_logp)
    attributions: list[CharAttribution] = field(default_factory=list)   # the characters of N's chunk
    top_units: list[UnitAttribution] = field(default_factory=list)
    unit_delta: float = 0.0                 # completeness error of the unit attributions
    method: str = f"integrated gradients (Captum), baseline: {BASELINE}"

    def to_dict(self) -> dict:
        return asdict(self)


def attribute(model: TranslitNet, alphabets: Alphabets, text: str, position: int, target: int | None = None,
              n_steps: int = 32, top: int = 12) -> Attribution:
    """Attributions of the log-probability of output class `target` (default: the network's
    choice) at input position `position` of `text`, over the characters of its chunk (the
    network reads a text chunk by chunk, as inference cuts it)."""
    if not 0 <= position < len(text):
        raise UnknownName(f"position {position} is outside the text (0..{len(text) - 1})")
    row = next(((o, c) for o, c in _rows(text) if o <= position < o + len(c)), None)
    if row is None or alphabets.forced_pass(text[position]):
        raise UnknownName(f"position {position} ({text[position]!r}) is not a character the network decides")
    offset, chunk = row
    n = position - offset
    x = torch.tensor([alphabets.encode_input(chunk)])                          # (1, T)
    onehot = F.one_hot(x, model.config.n_in).float()                          # (1, T, V)
    was_training = model.training
    model.eval()

    def logp_at(fwd, bwd, skip):
        """log p(target) at n for a batch of dense inputs on the three paths: (m,)."""
        logits = model(x.expand(fwd.shape[0], -1), inputs={"fwd": fwd, "bwd": bwd, "skip": skip})  # fused path
        return logits[:, n].log_softmax(-1)[:, target]

    with torch.no_grad():
        logits, cache = model.run(x, cache=READOUT_LAYERS)
    if target is None:
        target = int(logits[0, n].argmax())
    if not 0 <= target < model.config.n_out:
        raise UnknownName(f"target class {target} is outside 0..{model.config.n_out - 1}")
    spaces = F.one_hot(torch.full_like(x, alphabets.in_index[" "]), model.config.n_in).float()
    attrs, delta = IntegratedGradients(logp_at).attribute(
        (onehot, onehot, onehot), baselines=(spaces, spaces, spaces), n_steps=n_steps,
        return_convergence_delta=True)
    with torch.no_grad():
        logp, base = float(logp_at(onehot, onehot, onehot)), float(logp_at(spaces, spaces, spaces))
    per_path = [a[0].sum(-1) for a in attrs]                                   # 3 x (T,)
    chars = [CharAttribution(offset + t, c, float(sum(p[t] for p in per_path)), float(per_path[0][t]),
                             float(per_path[1][t]), float(per_path[2][t])) for t, c in enumerate(chunk)]
    units, unit_delta = _unit_attributions(model, x[0, n], cache, n, target, n_steps)
    model.train(was_training)
    return Attribution(text, alphabets.decode(text[position], [target]), position, symbol_of_class(alphabets, target),
                       logp, base, float(delta[0]), chars, sorted(units, key=lambda u: -abs(u.attribution))[:top],
                       unit_delta)


def _unit_attributions(model: TranslitNet, x_n: torch.Tensor, cache: dict, n: int, target: int,
                       n_steps: int) -> tuple[list[UnitAttribution], float]:
    """Integrated gradients of log p(target) at n over the concat and hidden units at n."""
    H = model.config.lstm
    concat = torch.cat([cache["concat.fwd"][0, n], cache["concat.bwd"][0, n]]).unsqueeze(0)   # (1, 2H)
    hidden = cache["hidden"][0, n].unsqueeze(0)                                                # (1, hidden)

    def through_dense(c):
        return model.head(c, x_n.expand(c.shape[0]))[1].log_softmax(-1)[:, target]

    def through_output(h):
        return model.output_layer(h, model.direct_term(x_n.expand(h.shape[0])))[1].log_softmax(-1)[:, target]

    a_c, d_c = IntegratedGradients(through_dense).attribute(concat, baselines=torch.zeros_like(concat),
                                                            n_steps=n_steps, return_convergence_delta=True)
    a_h, d_h = IntegratedGradients(through_output).attribute(hidden, baselines=torch.zeros_like(hidden),
                                                             n_steps=n_steps, return_convergence_delta=True)
    units = [UnitAttribution(str(NeuronId("concat.fwd" if i < H else "concat.bwd", i % H)), float(a_c[0, i]),
                             float(concat[0, i])) for i in range(2 * H)]
    units += [UnitAttribution(str(NeuronId("hidden", j)), float(a_h[0, j]), float(hidden[0, j]))
              for j in range(hidden.shape[1])]
    return units, float(max(abs(d_c[0]), abs(d_h[0])))
