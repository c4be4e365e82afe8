"""The decision x -> y, scored with some units replaced: what an ablation, a ranking curve and a
units-to-break curve all measure.

`DecisionScorer` holds the positions of x (capped per output, or a subset of whole chunks when the
recurrence is rerun), the head's unchanged inputs, and the unablated log p(y); `log_probs(chosen)`
reruns the head (or the whole network) with `chosen` units set to their mean over the positions
of x, and `metrics_of` turns that into accuracy over x, accuracy on y, delta log p(y) and balanced
accuracy.
"""
from __future__ import annotations

import torch

from ...model.names import CONCAT_LAYERS, READOUT_LAYERS, UnknownName, parse_layer
from ...model.net import Intervention
from ..measurement.names import Pair
from ..measurement.recording import Recording, resolve_pair

ABLATABLE_LAYERS = READOUT_LAYERS          # the layers a head-only ablation can change (and analyze stores)
WHERE = ("x", "all")          # with recurrent: replace at the steps of x only, or at every step


def _head_context(recording: Recording, xi: int):
    """(positions of x, their concat (n, 2H), dense pre-activation (n, hidden), hidden (n, hidden))
    unablated. Cached for the last two xi on the recording, since several pairs and layers share an
    input character (and analyze ablates in one thread while it ranks methods in another)."""
    cached = recording.memo.get("ablation") or {}
    if xi in cached:
        return cached[xi]
    positions = (recording.x == xi).nonzero().squeeze(1)                         # (n,)
    with torch.no_grad():
        acts = dict(recording.layers_at(CONCAT_LAYERS, positions))
        concat = torch.cat([acts["concat.fwd"], acts["concat.bwd"]], dim=1)       # (n, 2H)
        dense_pre = recording.model.dense(concat)                                 # (n, hidden)
    context = (positions, concat, dense_pre, torch.tanh(dense_pre))
    recording.memo["ablation"] = {**dict(list(cached.items())[-1:]), xi: context}
    return context


def _subset_chunks(recording: Recording, positions: torch.Tensor, max_positions: int, seed: int) -> torch.Tensor:
    """A seeded subset of `positions` (sorted) made of whole chunks, about max_positions long."""
    chunk = recording.chunk_of(positions)
    ids = chunk.unique()
    ids = ids[torch.randperm(ids.numel(), generator=torch.Generator().manual_seed(seed))]
    per = torch.bincount(chunk - chunk.min()).index_select(0, ids - chunk.min())
    keep = ids[: int((per.cumsum(0) < max_positions).sum()) + 1]
    return positions[torch.isin(chunk, keep)]


def _cap_per_output(scored: torch.Tensor, target: torch.Tensor, cap: int, seed: int) -> torch.Tensor:
    """`scored` (sorted) with at most `cap` seeded positions of each target class."""
    order = torch.randperm(scored.numel(), generator=torch.Generator().manual_seed(seed))
    target = target[order]
    # rank of each position within its class, in the seeded order: keep the first `cap`
    by_class = torch.sort(target, stable=True)
    first = torch.searchsorted(by_class.values, by_class.values, side="left")        # class start in sorted
    rank = torch.empty_like(order)
    rank[by_class.indices] = torch.arange(scored.numel()) - first
    return scored[order[rank < cap]].sort().values


class DecisionScorer:
    """The decision x -> y at the positions of x, with some units of `layer` replaced by their
    mean over the positions of x (or 0): `metrics(units)` -> (accuracy on x, accuracy on y,
    mean delta log p(y) on y, balanced accuracy over x's outputs), against the unablated model.

    `rows` (P,) bool keeps only some positions (the held-out half of the sentences); with
    `recurrent`, `max_positions` caps the positions scored (a seeded subset of whole chunks);
    `per_output` caps the positions of each output of x (a seeded subset: every draw costs a
    head pass over the positions scored, and 2,000 positions pin a recall or a mean log p to a
    few thousandths). Recall per output is unchanged by the cap in expectation; the accuracy over
    x weights the recalls by each output's share of the positions of x."""

    def __init__(self, recording: Recording, pair: "str | Pair", layer: str, replace: str = "mean",
                 recurrent: bool = False, rows: torch.Tensor | None = None, max_positions: int | None = None,
                 seed: int = 0, per_output: int | None = None, where: str = "x"):
        layer = parse_layer(layer)
        if where not in WHERE:
            raise UnknownName(f"where must be 'x' (the steps of x) or 'all' (every step), not {where!r}")
        if where == "all" and not recurrent:
            raise UnknownName("where='all' replaces the units at every step of the recurrence: it needs "
                              "recurrent=True (head-only ablation changes the positions of x alone)")
        self.where = where
        if not recurrent and layer not in ABLATABLE_LAYERS:
            raise UnknownName(f"cannot ablate layer {layer!r} without rerunning the recurrence; head-only "
                              f"ablatable layers: {', '.join(ABLATABLE_LAYERS)} (or ablate with recurrent=True)")
        if replace not in ("mean", "zero"):
            raise UnknownName(f"replace must be 'mean' or 'zero', not {replace!r}")
        self.recording, self.layer, self.replace, self.recurrent = recording, layer, replace, recurrent
        self.xi, self.yk, self.pair = resolve_pair(recording, pair)
        self.units = recording.sizes[layer]
        positions, concat, dense_pre, hidden = _head_context(recording, self.xi)
        H = recording.H
        acts = (concat[:, :H] if layer == "concat.fwd" else concat[:, H:] if layer == "concat.bwd"
                else hidden if layer == "hidden" else recording.layer(layer, positions))   # (n, units)
        self.acts = acts
        self.value = acts.mean(0) if replace == "mean" else torch.zeros(self.units)   # (units,) over positions of x
        self.spread = acts.std(0)                                                    # (units,)
        scored = torch.arange(positions.numel()) if rows is None else rows[positions].nonzero().squeeze(1)
        if recurrent and max_positions and scored.numel() > max_positions:
            keep = _subset_chunks(recording, positions[scored], max_positions, seed)
            scored = torch.searchsorted(positions, keep)
        # Every output's share of the positions of x, before any per-output cap: the accuracy
        # over x weights each output's recall by it, so the cap leaves that metric unbiased.
        target = recording.y[positions[scored]]
        full_count = target.unique(return_counts=True)[1]                         # (classes,) sorted by class
        if per_output:
            scored = _cap_per_output(scored, target, per_output, seed)
            target = recording.y[positions[scored]]
        self.positions, self.scored = positions, scored
        self.target = target
        self.is_pos = self.target == self.yk
        self.classes, self.by_class = self.target.unique(return_inverse=True)     # recall per output of x
        self.n_class = torch.bincount(self.by_class, minlength=self.classes.numel()).double()
        self.share = full_count.double() / full_count.sum()                        # (classes,) same order
        if not recurrent:     # the head's inputs at the scored rows, sliced once for all the draws
            every = scored.numel() == positions.numel()
            self.ctx = [t if every else t[scored] for t in (concat, recording.x[positions], dense_pre, hidden)]
            self.direct = recording.model.direct_term(self.ctx[1])                      # (n, n_out), once
            self.logits = None      # hidden units change only their columns' share of the logits: keep the rest
            if self.layer == "hidden":
                concat, x, dense_pre, hidden = self.ctx
                with torch.no_grad():
                    self.logits = recording.model.run_head(concat, x, [], dense_pre=dense_pre, direct=self.direct,
                                                           hidden=hidden)[1]                  # (n, n_out)
        self.base_logp = self.log_probs(scored[:0])[self.is_pos, self.yk]           # (n_pos,)

    def intervention(self, chosen: torch.Tensor, where=None) -> Intervention:
        return Intervention(self.layer, tuple(chosen.tolist()), "set", tuple(self.value[chosen].tolist()), where=where)

    def log_probs(self, chosen: torch.Tensor) -> torch.Tensor:
        """(n, n_out) log-softmax at the scored positions of x with `chosen` replaced."""
        rec, xi = self.recording, self.xi
        with torch.no_grad():
            if self.recurrent:
                def interventions(xb):
                    at = xb == xi if self.where == "x" else None            # None: every step
                    return [self.intervention(chosen, where=at)] if chosen.numel() else []
                logits = rec.rerun_logits(self.positions[self.scored], interventions)
            else:
                ivs = [self.intervention(chosen)] if chosen.numel() else []
                concat, x, dense_pre, hidden = self.ctx
                logits = rec.model.run_head(concat, x, ivs, dense_pre=dense_pre, direct=self.direct,
                                            hidden=None if self.layer in CONCAT_LAYERS else hidden,
                                            logits=self.logits)[1]
        return torch.log_softmax(logits.float(), -1)

    def metrics(self, chosen: torch.Tensor) -> tuple[float, float, float, float]:
        """(accuracy on x, accuracy on y, delta log p(y), balanced accuracy over x's outputs)."""
        return self.metrics_of(self.log_probs(torch.as_tensor(chosen, dtype=torch.long)))

    def deltas_of(self, lp: torch.Tensor) -> torch.Tensor:
        """(n_pos,) the change of log p(y) at each scored position of y, from `log_probs`' output."""
        return lp[self.is_pos, self.yk] - self.base_logp

    def metrics_of(self, lp: torch.Tensor) -> tuple[float, float, float, float]:
        """`metrics` from `log_probs`' output (n, n_out)."""
        right = lp.argmax(-1) == self.target
        recall = torch.bincount(self.by_class, weights=right.double(), minlength=self.classes.numel()) / self.n_class
        pos = self.is_pos
        on_y = float(right[pos].float().mean()) if pos.any() else float("nan")
        delta = float((lp[pos, self.yk] - self.base_logp).mean()) if pos.any() else float("nan")
        return float((recall * self.share).sum()), on_y, delta, float(recall.mean())
