"""Causal check: does silencing the most selective neurons hurt the pair they are selective for?

Selectivity is not importance (Morcos et al. 2018; Antverg & Belinkov 2022): a neuron can
separate t->թ from t->other perfectly and still not be what the output reads. So for a pair
x:y and a layer we set the top-k neurons by H to their mean activation over all positions with
input x (the value that carries no information about which y it is), at the positions of x,
and compare the accuracy on those positions with
  - the unablated model, and
  - k random neurons of the same layer (not among the top k), over several seeded draws.

Every ablation is an `Intervention` run through the network's own forward pass:
  - by default (`recurrent=False`) on the layers above the biLSTM (`TranslitNet.run_head` from
    the recorded biLSTM outputs: a concat unit is replaced just before the dense layer, and
    the recurrence is not rerun). Cheap: one head pass over the positions of x.
  - with `recurrent=True` the whole network is rerun on every chunk that holds x
    (`TranslitNet.run`), so a replaced LSTM unit feeds its changed state to the later steps
    (the earlier ones, backward), and any layer can be ablated, gates and cells included.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch

from ..model.names import CONCAT_LAYERS, LAYERS, READOUT_LAYERS, NeuronId, UnknownName, parse_layer
from ..model.net import Intervention
from .names import DEFAULT_BINS, POST_PAIRS, Pair
from ..text.rules import load_rules
from .recording import Recording, record_activations, resolve_pair
from .stats import hellinger, ranked_units, slot_histograms

ABLATABLE_LAYERS = READOUT_LAYERS          # what analyze ablates and stores (head-only)


@dataclass(frozen=True)
class AblationResult:
    """One ablation of `layer`'s top-k neurons for `pair`; accuracies are fractions."""
    pair: str
    layer: str
    k: int
    baseline_accuracy: float                # on all positions with input x, unablated
    top_k_accuracy: float                   # ... with the top k set to their mean
    random_k_accuracy_mean: float           # ... with k random units, mean over the draws
    random_k_accuracy_std: float            # sample standard deviation over the draws
    n_positions: int                        # positions with input x
    n_pos: int = 0                          # of which target y
    n_neg: int = 0
    baseline_accuracy_on_y: float = float("nan")   # the same three on the positions with target y
    top_k_accuracy_on_y: float = float("nan")
    random_k_accuracy_on_y_mean: float = float("nan")
    random_k_accuracy_on_y_std: float = 0.0
    random_k_accuracies: list[float] = field(default_factory=list)
    draws: int = 0
    seed: int = 0
    top_k_neurons: list[str] = field(default_factory=list)
    top_k_hellinger: list[float] = field(default_factory=list)
    recurrent: bool = False                 # rerun through the recurrence (else head only)

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.recurrent:       # the stored and printed JSON keep their documented keys
            d.pop("recurrent")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AblationResult":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _selectivity(values: torch.Tensor, is_pos: torch.Tensor, bins: int) -> torch.Tensor:
    hist = slot_histograms(values, (~is_pos).long(), 2, bins)                    # (2, u, bins)
    return hellinger(hist[0], hist[1]).float()                                    # (u,)


def _head_context(recording: Recording, xi: int):
    """(positions of x, their concat (n, 2H), dense pre-activation (n, hidden), hidden (n, hidden))
    unablated. Cached for the last xi on the recording, since several pairs and layers share an
    input character."""
    cached = recording.memo.get("ablation")
    if cached is not None and cached[0] == xi:
        return cached[1]
    positions = (recording.x == xi).nonzero().squeeze(1)                         # (n,)
    with torch.no_grad():
        acts = dict(recording.layers_at(CONCAT_LAYERS, positions))
        concat = torch.cat([acts["concat.fwd"], acts["concat.bwd"]], dim=1)       # (n, 2H)
        dense_pre = recording.model.dense(concat)                                 # (n, hidden)
    context = (positions, concat, dense_pre, torch.tanh(dense_pre))
    recording.memo["ablation"] = (xi, context)
    return context


def ablate_recording(recording: Recording, pair: "str | Pair", layer: str, k: int, draws: int = 5, seed: int = 0,
                     scores: torch.Tensor | None = None, bins: int = DEFAULT_BINS,
                     recurrent: bool = False) -> AblationResult:
    """Ablation of `layer` for `pair` on a Recording. `scores` (units,) are the Hellinger values
    to rank by (from an Analysis); without them they are computed from the recording."""
    layer = parse_layer(layer)
    if not recurrent and layer not in ABLATABLE_LAYERS:
        raise UnknownName(f"cannot ablate layer {layer!r} without rerunning the recurrence; head-only "
                          f"ablatable layers: {', '.join(ABLATABLE_LAYERS)} (or ablate with recurrent=True)")
    xi, yk, p = resolve_pair(recording, pair)
    model = recording.model
    units = recording.sizes[layer]
    if not 0 <= k <= units:
        raise UnknownName(f"k must be between 0 and {units} (the size of {layer}), not {k}")
    positions, concat, dense_pre, hidden = _head_context(recording, xi)
    xs = recording.x[positions]
    target = recording.y[positions]
    is_pos = target == yk
    H = recording.H
    acts = (concat[:, :H] if layer == "concat.fwd" else concat[:, H:] if layer == "concat.bwd"
            else hidden if layer == "hidden" else recording.layer(layer, positions))   # (n, units)
    mean = acts.mean(0)                                                           # (units,) over positions of x

    def intervention(chosen: torch.Tensor, where=None) -> Intervention:
        return Intervention(layer, tuple(chosen.tolist()), "set", tuple(mean[chosen].tolist()), where=where)

    def predict(chosen: torch.Tensor) -> torch.Tensor:
        """Predictions at the positions of x with `chosen` units set to their mean there."""
        if recurrent:
            return recording.rerun_predictions(
                positions, lambda xb: [intervention(chosen, where=xb == xi)] if chosen.numel() else [])
        ivs = [intervention(chosen)] if chosen.numel() else []
        return model.run_head(concat, xs, ivs, dense_pre=dense_pre,
                              hidden=None if layer in CONCAT_LAYERS else hidden)[1].argmax(-1)

    def accuracy(chosen: torch.Tensor) -> tuple[float, float]:
        """Accuracy on all positions of x and on those with target y, with `chosen` replaced."""
        with torch.no_grad():
            right = predict(chosen) == target
        return float(right.float().mean()), float(right[is_pos].float().mean()) if is_pos.any() else float("nan")

    if scores is None:
        scores = _selectivity(acts, is_pos, bins)
    order = ranked_units(scores)
    top = order[:k]
    baseline, baseline_pos = accuracy(order[:0])
    top_acc, top_acc_pos = accuracy(top)
    pool = order[k:] if units - k >= k else order
    gen = torch.Generator().manual_seed(seed)
    rand, rand_pos = [], []
    for _ in range(draws):
        a, ap = accuracy(pool[torch.randperm(pool.numel(), generator=gen)[:k]])
        rand.append(a)
        rand_pos.append(ap)
    r = torch.tensor(rand, dtype=torch.float64)
    rp = torch.tensor(rand_pos, dtype=torch.float64)
    return AblationResult(
        pair=str(p), layer=layer, k=k, baseline_accuracy=baseline, top_k_accuracy=top_acc,
        random_k_accuracy_mean=float(r.mean()) if draws else float("nan"),
        random_k_accuracy_std=float(r.std()) if draws > 1 else 0.0,
        n_positions=int(positions.numel()), n_pos=int(is_pos.sum()), n_neg=int((~is_pos).sum()),
        baseline_accuracy_on_y=baseline_pos, top_k_accuracy_on_y=top_acc_pos,
        random_k_accuracy_on_y_mean=float(rp.mean()) if draws else float("nan"),
        random_k_accuracy_on_y_std=float(rp.std()) if draws > 1 else 0.0,
        random_k_accuracies=rand, draws=draws, seed=seed,
        top_k_neurons=[str(NeuronId(layer, int(i))) for i in top],
        top_k_hellinger=[round(float(scores[i]), 6) for i in top], recurrent=recurrent)


def ablate(model, alphabets, recording_or_sentences, pair, layer: str = "hidden", k: int = 10,
           draws: int = 5, seed: int = 0, rules=None, bins: int = DEFAULT_BINS,
           recurrent: bool = False) -> AblationResult:
    """Set the top-k neurons of `layer` (by Hellinger distance for `pair`) to their mean
    activation over the positions with input x; report accuracy on those positions against the
    unablated model and k random neurons of the layer (mean, std over `draws` seeded draws).

    recording_or_sentences: a Recording of `model`, or Armenian sentences to record first.
    """
    if isinstance(recording_or_sentences, Recording):
        recording = recording_or_sentences
    else:
        recording = record_activations(model, alphabets, list(recording_or_sentences), rules or load_rules(),
                                       seed=seed)
    return ablate_recording(recording, pair, layer, k, draws=draws, seed=seed, bins=bins, recurrent=recurrent)


def pairs_to_ablate(analysis, extra: int = 6) -> list[str]:
    """The post's pairs that the analysis has, then the `extra` pairs with the most selective
    single neuron in the biLSTM (ties: more positions first)."""
    have = {str(p) for p in analysis.pairs()}
    chosen = [p for p in POST_PAIRS if p in have]
    best = []
    for p in analysis.pairs():
        if str(p) in chosen:
            continue
        top = max(float(analysis.layer_scores(p, l).max()) for l in CONCAT_LAYERS)
        best.append((-top, -p.n_pos, str(p)))
    chosen += [name for _, _, name in sorted(best)[:extra]]
    return chosen


__all__ = ["AblationResult", "ABLATABLE_LAYERS", "LAYERS", "ablate", "ablate_recording", "pairs_to_ablate"]
