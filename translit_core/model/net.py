"""The transliteration network, defined once: YerevaNN's 2017 architecture, with hook points.

    one-hot Latin characters (B, T, V_in)
      -> bidirectional LSTM, `lstm` units per direction       (B, T, 2*lstm)   "concat.fwd|bwd"
      -> dense `hidden` units, tanh                           (B, T, hidden)   "hidden"
      -> concatenated with the one-hot input again            (B, T, hidden + V_in)
      -> linear to the output alphabet, softmax               (B, T, V_out)    "output"

The one-hot input is fed to the last layer a second time so that the easy decisions (copy a
Latin letter through, "b" -> "բ") need not be carried through the recurrent state.

Three ways to run it, one set of weights and one head (`head`, the layers above the biLSTM):

  - `forward`: the fast path (PyTorch's fused LSTM kernel), for inference and training; it can
    also return the concat and hidden activations (`return_acts`, for a training regularizer).
  - `run`: the step-by-step path, in the manner of TransformerLens's hook points. Every named
    activation (`names.LAYERS`: concat, hidden, output, and inside each LSTM step the gates
    i f g o, the cell c and the cell the step started from) can be returned (`cache`) and
    changed (`interventions`). An intervention on an LSTM unit acts inside the recurrence: the
    changed value is the state the next step reads (the previous one, for the backward
    direction), so its effect travels along the sequence as the network's own state would.
  - `run_head`: the head alone from recorded biLSTM outputs, with interventions above the LSTM;
    it reuses the head's pieces (`dense_pre`, `direct_term`, `output_layer`) across calls, which
    is what makes ablation sweeps cheap.

The LSTM equations (PyTorch's, gate order i, f, g, o; h' = the previous h in reading order):

    i = sigmoid(W_ii x + b_ii + W_hi h' + b_hi)      f, o: the same with their rows
    g = tanh   (W_ig x + b_ig + W_hg h' + b_hg)
    c = f * c' + i * g            h = o * tanh(c)

Inference may run the dense and output layers in bfloat16 (`head_dtype`): the model was trained
under bf16 autocast, and on CPUs with AVX-512 BF16 those two matmuls are 2-3x faster, a quarter
of the whole forward pass (`translit_core.infer.device.fast_head_dtype` picks it for the
hardware). The LSTM always runs in float32.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from .names import (CONCAT_LAYERS, DIRECTIONS, GATES, HEAD_LAYERS, LAYERS, LSTM_LAYERS, LSTM_PARTS, NeuronId,
                    UnknownName, layer_sizes, lstm_layer, parse_layer)

# A hook changes one activation: (values (B, ..., units), positions (B, ...)) -> values. The
# positions are each value's index in the input text (for a backward step, counted from the
# left like every other position), so an intervention can be limited to a span.
Hook = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

OPS = ("set", "scale", "add")


@dataclass
class ModelConfig:
    n_in: int = 100      # input alphabet size (Latin side, with padding and unknown)
    n_out: int = 90      # output alphabet size (Armenian side, with placeholder and pass-through)
    lstm: int = 228      # LSTM units per direction
    hidden: int = 228    # dense layer units

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Intervention:
    """Change `units` of `layer` while the network runs: set them to `value`, scale them by it, or
    add it. `value` is one number, or one per unit (a unit's mean, say). Where: every position,
    input positions [start, end) (`span`), or a (B, T) boolean mask (`where`)."""
    layer: str
    units: tuple[int, ...]
    op: str = "set"                                  # set | scale | add
    value: float | tuple[float, ...] = 0.0
    span: tuple[int, int] | None = None              # [start, end) of input positions
    where: torch.Tensor | None = field(default=None, repr=False)   # (B, T) bool

    def __post_init__(self):
        parse_layer(self.layer)
        if self.op not in OPS:
            raise UnknownName(f"unknown operation {self.op!r}; operations: {', '.join(OPS)}")
        object.__setattr__(self, "units", tuple(int(u) for u in self.units))
        if not isinstance(self.value, (int, float)) and len(self.value) != len(self.units):
            raise ValueError(f"{len(self.value)} values for {len(self.units)} units")
        # made once: apply() runs at every step of the recurrence
        object.__setattr__(self, "_units", torch.tensor(self.units, dtype=torch.long))
        object.__setattr__(self, "_value", torch.as_tensor(self.value, dtype=torch.float32))

    @classmethod
    def on(cls, neuron: "str | NeuronId", op: str = "set", value: float = 0.0, **where) -> "Intervention":
        n = NeuronId.parse(neuron)
        return cls(n.layer, (n.index,), op, value, **where)

    def apply(self, act: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """act (B, ..., units), positions (B, ...) -> act with this intervention applied."""
        units, value = self._units.to(act.device), self._value.to(act.device, act.dtype)
        old = act.index_select(-1, units)                                      # (B, ..., u)
        new = value.expand_as(old) if self.op == "set" else old * value if self.op == "scale" else old + value
        mask = self.mask(positions)
        if mask is not None:
            new = torch.where(mask.unsqueeze(-1), new, old)
        return act.index_copy(-1, units, new.to(act.dtype))

    def mask(self, positions: torch.Tensor) -> torch.Tensor | None:
        """(B, ...) True where this intervention acts, None for everywhere."""
        if self.where is not None:
            B = positions.shape[0]
            where = self.where.to(positions.device)
            return where.gather(1, positions.reshape(B, -1).clamp(max=where.shape[1] - 1)).reshape(positions.shape)
        if self.span is not None:
            return (positions >= self.span[0]) & (positions < self.span[1])
        return None


def compile_hooks(interventions: Iterable[Intervention]) -> dict[str, Hook]:
    """{layer: one hook applying that layer's interventions in order}."""
    by_layer: dict[str, list[Intervention]] = {}
    for iv in interventions:
        by_layer.setdefault(iv.layer, []).append(iv)

    def chain(ivs: list[Intervention]) -> Hook:
        def hook(act, positions):
            for iv in ivs:
                act = iv.apply(act, positions)
            return act
        return hook
    return {layer: chain(ivs) for layer, ivs in by_layer.items()}


def reversal_index(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) index that reverses each row within its length and leaves the padding in place.
    It is its own inverse, so the same gather undoes it."""
    t = torch.arange(T, device=lengths.device).unsqueeze(0)            # (1, T)
    L = lengths.unsqueeze(1)                                            # (B, 1)
    return torch.where(t < L, L - 1 - t, t)                             # (B, T)


def lstm_steps(xproj: torch.Tensor, w_hh: torch.Tensor, positions: torch.Tensor,
               keep: Iterable[str] = (), hooks: Mapping[str, Hook] | None = None) -> dict[str, torch.Tensor]:
    """One LSTM direction left to right over xproj = W_ih x + b (B, T, 4H), from zero state.

    positions (B, T): each step's input position, passed to the hooks. Returns (B, T, H) tensors
    h, c and the parts in `keep` (gate letters, "c_before": the cell each step started from).
    `hooks` ({part: hook}) change a part as soon as it is computed, before anything reads it.
    Every step runs the same in-place operations whether hooked or not, so positions that no
    hook touches come out bit-identical. Padding at a row's right end never reaches its real
    positions.
    """
    hooks = hooks or {}
    B, T, H4 = xproj.shape
    H = H4 // 4
    keep = set(keep)
    if torch.is_grad_enabled() and (xproj.requires_grad or w_hh.requires_grad):
        return _lstm_steps_autograd(xproj, w_hh, positions, keep, hooks)
    steps = xproj.transpose(0, 1).contiguous()                          # (T, B, 4H): contiguous per step
    w_hh_t = w_hh.t().contiguous()                                      # (H, 4H)
    out = {k: xproj.new_empty(T, B, H) for k in {"h", "c"} | keep}
    h = c = xproj.new_zeros(B, H)
    gates = xproj.new_empty(B, H4)
    tanh_c = xproj.new_empty(B, H)
    for t in range(T):
        torch.addmm(steps[t], h, w_hh_t, out=gates)                     # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        i, f, o, g = i.sigmoid_(), f.sigmoid_(), o.sigmoid_(), g.tanh_()
        p = positions[:, t] if hooks else None                          # (B,)
        if hooks:
            i, f, g, o = (hooks[k](v, p) if k in hooks else v for k, v in zip(GATES, (i, f, g, o)))
            if "c_before" in hooks:
                c = hooks["c_before"](c, p)
        if "c_before" in keep:
            out["c_before"][t] = c
        c_new, h_new = out["c"][t], out["h"][t]
        torch.mul(f, c, out=c_new).addcmul_(i, g)                       # c = f * c' + i * g
        if "c" in hooks:
            c_new.copy_(hooks["c"](c_new, p))
        torch.mul(o, torch.tanh(c_new, out=tanh_c), out=h_new)          # h = o * tanh(c)
        if "h" in hooks:
            h_new.copy_(hooks["h"](h_new, p))
        for k, v in zip(GATES, (i, f, g, o)):
            if k in keep:
                out[k][t] = v
        h, c = h_new, c_new
    return {k: v.transpose(0, 1) for k, v in out.items()}               # (B, T, H) each


def _lstm_steps_autograd(xproj, w_hh, positions, keep, hooks) -> dict[str, torch.Tensor]:
    """`lstm_steps` for when gradients are wanted (attribution): the same equations without the
    in-place, preallocated buffers that autograd cannot differentiate through."""
    B, T, H4 = xproj.shape
    H = H4 // 4
    out: dict[str, list] = {k: [] for k in {"h", "c"} | keep}
    h = c = xproj.new_zeros(B, H)
    for t in range(T):
        i, f, g, o = torch.addmm(xproj[:, t], h, w_hh.t()).chunk(4, dim=1)
        parts = {"i": i.sigmoid(), "f": f.sigmoid(), "g": g.tanh(), "o": o.sigmoid()}
        p = positions[:, t]
        parts = {k: hooks[k](v, p) if k in hooks else v for k, v in parts.items()}
        parts["c_before"] = hooks["c_before"](c, p) if "c_before" in hooks else c
        c = parts["f"] * parts["c_before"] + parts["i"] * parts["g"]
        parts["c"] = c = hooks["c"](c, p) if "c" in hooks else c
        parts["h"] = h = parts["o"] * torch.tanh(c)
        parts["h"] = h = hooks["h"](h, p) if "h" in hooks else h
        for k in out:
            out[k].append(parts[k])
    return {k: torch.stack(v, dim=1) for k, v in out.items()}            # (B, T, H) each


class TranslitNet(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.n_in, config.lstm, batch_first=True, bidirectional=True)
        self.dense = nn.Linear(2 * config.lstm, config.hidden)
        self.out = nn.Linear(config.hidden + config.n_in, config.n_out)

    @property
    def sizes(self) -> dict[str, int]:
        """Units of every named layer."""
        return layer_sizes(self.config.lstm, self.config.hidden, self.config.n_out)

    # ---- the pieces, each written once
    def direction_params(self, direction: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(W_ih (4H, n_in), W_hh (4H, H), b_ih + b_hh (4H,)) of one direction of self.lstm."""
        sfx = "_reverse" if direction == "bwd" else ""
        w_ih, w_hh = getattr(self.lstm, f"weight_ih_l0{sfx}"), getattr(self.lstm, f"weight_hh_l0{sfx}")
        return w_ih, w_hh, getattr(self.lstm, f"bias_ih_l0{sfx}") + getattr(self.lstm, f"bias_hh_l0{sfx}")

    def gate(self, direction: str, gate: str, x: torch.Tensor, h_before: torch.Tensor,
             units: torch.Tensor | None = None) -> torch.Tensor:
        """One gate of one LSTM step from its input classes x (n,) and the h it started from
        (n, H): (n, units). The same two operations as `lstm_steps` (x projection + bias, then
        addmm with h'), on the gate's rows only."""
        w_ih, w_hh, bias = self.direction_params(direction)
        H = self.config.lstm
        rows = GATES.index(gate) * H + (torch.arange(H) if units is None else units)    # (u,)
        pre = torch.addmm(F.embedding(x, w_ih[rows].t()) + bias[rows], h_before, w_hh[rows].t())
        return pre.tanh_() if gate == "g" else pre.sigmoid_()

    # ---- the head: the layers above the biLSTM. `head` is the whole of it; its three pieces
    # (`dense_pre`, `direct_term`, `output_layer`) are there for the callers that reuse a part
    # across many passes (ablation sweeps, attribution over the hidden layer).
    #
    # The output layer reads [hidden, onehot(x)]; it is computed as hidden @ W_h + (the column of
    # W_x that x picks): the same sum without materialising the concatenation or multiplying by a
    # one-hot matrix.
    def head(self, concat: torch.Tensor, x: torch.Tensor, *, head_dtype: torch.dtype | None = None,
             hooks: Mapping[str, Hook] | None = None, positions: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """concat (..., 2*lstm) and the input x -> (hidden (..., hidden), float32 logits (..., n_out)).

        x: input classes (...), or a dense stand-in (..., n_in) for their one-hot (`direct_term`).
        head_dtype: the dense and output layers' dtype (None: float32). `hooks` on "hidden" /
        "output" get `positions` (...)."""
        hidden = torch.tanh(self.dense_pre(concat, head_dtype))                       # (..., hidden)
        return self.output_layer(hidden, self.direct_term(x), head_dtype, hooks, positions)

    def dense_pre(self, concat: torch.Tensor, head_dtype: torch.dtype | None = None) -> torch.Tensor:
        """The dense layer before its tanh: concat (..., 2*lstm) -> (..., hidden), in head_dtype."""
        if head_dtype:
            return F.linear(concat.to(head_dtype), self.dense.weight.to(head_dtype), self.dense.bias.to(head_dtype))
        return F.linear(concat, self.dense.weight, self.dense.bias)

    def direct_term(self, x: torch.Tensor) -> torch.Tensor:
        """The logits' term from the input character itself (the output layer also reads the
        one-hot of x): input classes x (...) or a dense stand-in for their one-hot (..., n_in) ->
        (..., n_out), float32."""
        w_input = self.out.weight[:, self.config.hidden:]                              # (n_out, n_in)
        return x @ w_input.t() if x.is_floating_point() else F.embedding(x, w_input.t())

    def output_layer(self, hidden: torch.Tensor, direct: torch.Tensor, head_dtype: torch.dtype | None = None,
                     hooks: Mapping[str, Hook] | None = None, positions: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """The output layer: hidden (..., hidden) after the tanh and the input's term `direct`
        (..., n_out, from `direct_term`) -> (hidden, float32 logits (..., n_out)). The hooks on
        "hidden" (before the output layer reads it) and "output" get `positions` (...)."""
        hooks = hooks or {}
        w_hidden, bias = self.out.weight[:, :self.config.hidden], self.out.bias         # (n_out, hidden), (n_out,)
        if head_dtype:
            hidden, w_hidden, bias = hidden.to(head_dtype), w_hidden.to(head_dtype), bias.to(head_dtype)
        if "hidden" in hooks:
            hidden = hooks["hidden"](hidden, positions)
        logits = F.linear(hidden, w_hidden, bias).float() + direct
        if "output" in hooks:
            logits = hooks["output"](logits, positions)
        return hidden, logits

    # ---- the fast path
    def _fused_direction(self, onehot: torch.Tensor, direction: str) -> torch.Tensor:
        """One direction of self.lstm as a plain left-to-right fused LSTM over (B, T, V_in)."""
        sfx = "_reverse" if direction == "bwd" else ""
        params = [getattr(self.lstm, f"{name}_l0{sfx}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h0 = onehot.new_zeros(1, onehot.shape[0], self.config.lstm)
        out, _, _ = torch.lstm(onehot, (h0, h0), params, True, 1, 0.0, False, False, True)
        return out                                                      # (B, T, lstm)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None,
                head_dtype: torch.dtype | None = None, inputs: Mapping[str, torch.Tensor] | None = None,
                return_acts: bool = False) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x: (B, T) input classes; lengths: (B,) true lengths, or None when all are T;
        head_dtype: the dense and output layers' dtype (None: float32); inputs: dense stand-ins
        for the one-hot of x on its paths, as in `run` (attribution).

        -> logits (B, T, n_out); with return_acts, (logits, {"concat": (B, T, 2*lstm), "hidden":
        (B, T, hidden)}), the activations with their graph (the training loss's regularizer reads
        them; a flag rather than another method so that it passes through DistributedDataParallel)."""
        inputs = inputs or {}
        onehot = F.one_hot(x, self.config.n_in).float()                 # (B, T, V_in)
        fwd_in, bwd_in = inputs.get("fwd", onehot), inputs.get("bwd", onehot)
        if (lengths is None or bool((lengths == x.shape[1]).all())) and not inputs:
            concat, _ = self.lstm(onehot)                               # (B, T, 2*lstm)
        else:
            # Right-padded rows of different lengths. The forward direction never sees the padding
            # before a real character; the backward one would, so each row is reversed within its
            # own length, run left to right, and reversed back. Same result as packing, and several
            # times faster on CPU (packed sequences defeat batching there).
            flip = (reversal_index(lengths.to(x.device), x.shape[1]) if lengths is not None
                    else torch.arange(x.shape[1] - 1, -1, -1, device=x.device).expand_as(x))       # (B, T)
            fwd = self._fused_direction(fwd_in, "fwd")
            bwd = self._fused_direction(bwd_in.gather(1, flip[:, :, None].expand_as(bwd_in)), "bwd")
            bwd = bwd.gather(1, flip[:, :, None].expand_as(bwd))
            concat = torch.cat([fwd, bwd], dim=-1)                       # (B, T, 2*lstm)
        hidden, logits = self.head(concat, inputs.get("skip", x), head_dtype=head_dtype)
        return (logits, {"concat": concat, "hidden": hidden}) if return_acts else logits

    # ---- the hooked path
    def run(self, x: torch.Tensor, lengths: torch.Tensor | None = None, cache: Iterable[str] = (),
            interventions: Iterable[Intervention] = (), hooks: Mapping[str, Hook] | None = None,
            head_dtype: torch.dtype | None = None, inputs: Mapping[str, torch.Tensor] | None = None
            ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Step by step, with hook points: x (B, T) input classes, lengths (B,) or None.

        cache: layer names to return; interventions (and raw `hooks`, {layer: hook}) change
        activations as they are computed, inside the recurrence for LSTM layers.
        inputs: dense stand-ins (B, T, n_in) for the one-hot of x on the paths the input takes,
        {"fwd", "bwd", "skip"} (the two LSTM directions and the copy fed to the output layer), any
        of them; integrated gradients need a continuous input to move along.
        Returns (logits (B, T, n_out), {layer: (B, T, units)} for the cached layers). Positions past
        a row's length are garbage, and never reach its real positions in either direction.
        """
        inputs = inputs or {}
        cache = [parse_layer(n) for n in cache]
        hooks = {**compile_hooks(interventions), **(hooks or {})}
        for name in hooks:
            parse_layer(name)
        B, T = x.shape
        positions = torch.arange(T, device=x.device).expand(B, T)                     # (B, T)
        found: dict[str, torch.Tensor] = {}
        h = []
        for direction in DIRECTIONS:
            w_ih, w_hh, bias = self.direction_params(direction)
            xproj = (inputs[direction] @ w_ih.t() if direction in inputs else F.embedding(x, w_ih.t())) + bias
            order = positions                                                         # xproj: (B, T, 4H)
            if direction == "bwd":
                # The backward LSTM reads each row from its last real character to its first:
                # reverse within the length, run left to right, reverse back.
                order = (reversal_index(lengths.to(x.device), T) if lengths is not None
                         else positions.flip(1))
                xproj = xproj.gather(1, order.unsqueeze(-1).expand_as(xproj))
            parts = {lstm_layer(direction, p): p for p in LSTM_PARTS}
            res = lstm_steps(xproj, w_hh, order, keep=[parts[n] for n in cache if n in parts],
                             hooks={parts[n]: fn for n, fn in hooks.items() if n in parts})
            if direction == "bwd":
                res = {k: v.gather(1, order.unsqueeze(-1).expand_as(v)) for k, v in res.items()}
            found.update({lstm_layer(direction, p): v for p, v in res.items()})
            h.append(res["h"])
        concat = torch.cat(h, dim=-1)                                                  # (B, T, 2H)
        hidden, logits = self.head(concat, inputs.get("skip", x), head_dtype=head_dtype, hooks=hooks,
                                   positions=positions)
        found.update(hidden=hidden, output=logits)
        return logits, {n: found[n] for n in cache}

    def run_with_cache(self, x: torch.Tensor, lengths: torch.Tensor | None = None,
                       names: Iterable[str] = LAYERS, **kw) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.run(x, lengths, cache=names, **kw)

    def run_with_hooks(self, x: torch.Tensor, lengths: torch.Tensor | None = None,
                       interventions: Iterable[Intervention] = (), **kw) -> torch.Tensor:
        return self.run(x, lengths, interventions=interventions, **kw)[0]

    def run_head(self, concat: torch.Tensor, x: torch.Tensor, interventions: Iterable[Intervention] = (),
                 positions: torch.Tensor | None = None, dense_pre: torch.Tensor | None = None,
                 hidden: torch.Tensor | None = None, direct: torch.Tensor | None = None,
                 logits: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The layers above the biLSTM from recorded biLSTM outputs concat (..., 2H): interventions
        on concat.fwd / concat.bwd change those values before the dense layer (the recurrence is
        not rerun: use `run` for that), on hidden / output as in `run`. -> (hidden, logits).

        For many interventions on the same positions (ablation), pass what does not change from
        one call to the next: the unchanged dense pre-activation `dense_pre` (`dense_pre(concat)`;
        the dense layer is then updated by the changed columns only, W c' = W c + W[:, changed]
        (c' - c)[changed]), `hidden` (its tanh, used when no concat unit changes), `direct`
        (`direct_term(x)`) and `logits` (the unchanged output: when only hidden units change, the
        output layer is updated by their columns alone, the same way)."""
        interventions = list(interventions)
        hooks = compile_hooks(interventions)
        unknown = set(hooks) - set(CONCAT_LAYERS) - set(HEAD_LAYERS)
        if unknown:
            raise UnknownName(f"run_head cannot change {', '.join(sorted(unknown))} (inside the LSTM); use run")
        if positions is None:
            positions = torch.zeros(concat.shape[:-1], dtype=torch.long, device=concat.device)
        if any(n in hooks for n in CONCAT_LAYERS):
            hidden = None                                   # the dense layer's input changes
            H = self.config.lstm
            parts = {"concat.fwd": concat[..., :H], "concat.bwd": concat[..., H:]}
            if dense_pre is not None:
                # Only the changed columns of the changed direction touch the dense layer: no copy
                # of the whole concat per call (ablation calls this once per random draw). The
                # interventions run on the slice of the units they name, renumbered within it.
                for i, n in enumerate(CONCAT_LAYERS):
                    if n in hooks:
                        cols, old, new = _changed_columns(interventions, n, parts[n], positions)
                        dense_pre = dense_pre + (new - old) @ self.dense.weight[:, i * H + cols].t()   # (..., hidden)
            else:
                new = {n: hooks[n](v, positions) if n in hooks else v for n, v in parts.items()}
                concat = torch.cat([new[n] for n in CONCAT_LAYERS], dim=-1)                # (..., 2H) changed
        if hidden is None:
            hidden = torch.tanh(self.dense_pre(concat) if dense_pre is None else dense_pre)  # (..., hidden)
        elif logits is not None and set(hooks) == {"hidden"}:
            cols, old, new = _changed_columns(interventions, "hidden", hidden, positions)
            return hidden.index_copy(-1, cols, new), logits + (new - old) @ self.out.weight[:, cols].t()
        return self.output_layer(hidden, self.direct_term(x) if direct is None else direct, hooks=hooks,
                                 positions=positions)


def _changed_columns(interventions: list[Intervention], layer: str, values: torch.Tensor, positions: torch.Tensor):
    """The columns of `values` (..., units) that the interventions on `layer` change, before and
    after: (cols (u,), old (..., u), new (..., u)). The interventions run on that slice alone, their
    units renumbered within it: no copy of the whole layer per call."""
    ivs = [iv for iv in interventions if iv.layer == layer]
    cols = torch.tensor(sorted({u for iv in ivs for u in iv.units}), dtype=torch.long)          # (u,)
    where = {int(u): j for j, u in enumerate(cols)}
    old = values.index_select(-1, cols)                                                           # (..., u)
    new = compile_hooks([replace(iv, units=tuple(where[u] for u in iv.units)) for iv in ivs])[layer](old, positions)
    return cols, old, new


__all__ = ["ModelConfig", "TranslitNet", "Intervention", "Hook", "compile_hooks", "lstm_steps", "reversal_index",
           "LAYERS", "LSTM_LAYERS"]
