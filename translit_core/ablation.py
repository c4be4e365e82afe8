"""Causal check: does silencing the most selective neurons hurt the pair they are selective for?

Selectivity is not importance (Morcos et al. 2018; Antverg & Belinkov 2022): a neuron can
separate t->թ from t->other perfectly and still not be what the output reads. So for a pair
x:y and a layer we replace the top-k neurons by H with their mean activation over all
positions with input x (the value that carries no information about which y it is), rerun
the layers above, and compare the accuracy on the positions of x with
  - the unablated model, and
  - k random neurons of the same layer (not among the top k), over several seeded draws.

Layers: concat.fwd / concat.bwd (the biLSTM outputs h are replaced just before the dense
layer; the recurrence itself is not rerun) and hidden (replaced before the output layer).
Both are exact rank-k updates of the stored pre-activations, so one ablation costs a small
matmul over the positions of x, not a forward pass.
"""
from __future__ import annotations

import torch

from .unrolled import NeuronId, UnknownName

ABLATABLE_LAYERS = ("concat.fwd", "concat.bwd", "hidden")

# The post's pairs, ablated (and shown in FINDINGS.md) whenever they pass the count threshold.
POST_PAIRS = ("t:թ", "t:ծ", "s:_", "h:_", "h:հ", "o:օ")


def _selectivity(values: torch.Tensor, is_pos: torch.Tensor, bins: int) -> torch.Tensor:
    from .analysis import hellinger, slot_histograms
    hist = slot_histograms(values, (~is_pos).long(), 2, bins)                    # (2, u, bins)
    return hellinger(hist[0], hist[1]).float()                                    # (u,)


def _x_context(recording, xi: int):
    """Everything above the biLSTM at the positions of input class xi, unablated. Cached for the
    last xi on the recording, since several pairs and layers share an input character."""
    cached = getattr(recording, "_ablation_context", None)
    if cached is not None and cached[0] == xi:
        return cached[1]
    model = recording.model
    positions = (recording.x == xi).nonzero().squeeze(1)                         # (n,)
    with torch.no_grad():
        concat = dict(recording.layers_at(["concat.fwd", "concat.bwd"], positions))
        concat = torch.cat([concat["concat.fwd"], concat["concat.bwd"]], dim=1)   # (n, 2H)
        pre_hidden = model.dense(concat)                                          # (n, hidden)
        hidden = torch.tanh(pre_hidden)
        w_out = model.out.weight                                                  # (n_out, hidden + n_in)
        # logits = W_h hidden + W_x onehot + b; the one-hot part is a column of W_x per position.
        input_part = w_out[:, hidden.shape[1]:].t()[recording.x[positions]] + model.out.bias   # (n, n_out)
        logits = hidden @ w_out[:, : hidden.shape[1]].t() + input_part            # (n, n_out)
    context = (positions, concat, pre_hidden, hidden, input_part, logits)
    recording._ablation_context = (xi, context)
    return context


def ablate_recording(recording, pair, layer: str, k: int, draws: int = 5, seed: int = 0,
                     scores: torch.Tensor | None = None, bins: int = 1000) -> dict:
    """Ablation of `layer` for `pair` on a Recording. `scores` (units,) are the Hellinger values
    to rank by (from an Analysis); without them they are computed from the recording."""
    from .analysis import _resolve_pair
    if layer not in ABLATABLE_LAYERS:
        raise UnknownName(f"cannot ablate layer {layer!r}; ablatable layers: {', '.join(ABLATABLE_LAYERS)}")
    xi, yk, name = _resolve_pair(recording, pair)
    model, H = recording.model, recording.H
    units = recording.sizes[layer]
    if not 0 <= k <= units:
        raise UnknownName(f"k must be between 0 and {units} (the size of {layer}), not {k}")
    positions, concat, pre_hidden, hidden, input_part, logits = _x_context(recording, xi)
    target = recording.y[positions]
    is_pos = target == yk
    w_out = model.out.weight                                                      # (n_out, hidden + n_in)
    with torch.no_grad():
        if layer == "hidden":
            acts, cols = hidden, torch.arange(units)
        else:
            base = 0 if layer == "concat.fwd" else H
            acts, cols = concat[:, base:base + H], torch.arange(base, base + H)
        mean = acts.mean(0)                                                       # (units,) over positions of x

        def accuracy(chosen: torch.Tensor) -> tuple[float, float]:
            """Accuracy on all positions of x and on those with target y, with `chosen` replaced."""
            if chosen.numel() == 0:
                pred = logits.argmax(-1)
            elif layer == "hidden":
                delta = (mean[chosen] - hidden[:, chosen]) @ w_out[:, chosen].t()              # (n, n_out)
                pred = (logits + delta).argmax(-1)
            else:
                c = cols[chosen]
                new_hidden = torch.tanh(pre_hidden + (mean[chosen] - acts[:, chosen]) @ model.dense.weight[:, c].t())
                pred = (new_hidden @ w_out[:, : hidden.shape[1]].t() + input_part).argmax(-1)
            right = pred == target
            return float(right.float().mean()), float(right[is_pos].float().mean()) if is_pos.any() else float("nan")

        if scores is None:
            scores = _selectivity(acts, is_pos, bins)
        order = torch.sort(scores, descending=True, stable=True).indices
        top = order[:k]
        baseline, baseline_pos = accuracy(torch.zeros(0, dtype=torch.long))
        top_acc, top_acc_pos = accuracy(top)
        pool = order[k:] if units - k >= k else order
        gen = torch.Generator().manual_seed(seed)
        rand, rand_pos = [], []
        for _ in range(draws):
            chosen = pool[torch.randperm(pool.numel(), generator=gen)[:k]]
            a, ap = accuracy(chosen)
            rand.append(a)
            rand_pos.append(ap)
    r = torch.tensor(rand, dtype=torch.float64)
    rp = torch.tensor(rand_pos, dtype=torch.float64)
    std = float(r.std()) if draws > 1 else 0.0
    return {
        "pair": name, "layer": layer, "k": k,
        "baseline_accuracy": baseline, "top_k_accuracy": top_acc,
        "random_k_accuracy_mean": float(r.mean()) if draws else float("nan"),
        "random_k_accuracy_std": std,
        "n_positions": int(positions.numel()),
        "n_pos": int(is_pos.sum()), "n_neg": int((~is_pos).sum()),
        "baseline_accuracy_on_y": baseline_pos, "top_k_accuracy_on_y": top_acc_pos,
        "random_k_accuracy_on_y_mean": float(rp.mean()) if draws else float("nan"),
        "random_k_accuracy_on_y_std": float(rp.std()) if draws > 1 else 0.0,
        "random_k_accuracies": rand, "draws": draws, "seed": seed,
        "top_k_neurons": [str(NeuronId(layer, int(i))) for i in top],
        "top_k_hellinger": [round(float(scores[i]), 6) for i in top],
    }


def ablate(model, alphabets, recording_or_sentences, pair, layer: str = "hidden", k: int = 10,
           draws: int = 5, seed: int = 0, rules=None, bins: int = 1000) -> dict:
    """Set the top-k neurons of `layer` (by Hellinger distance for `pair`) to their mean
    activation over the positions with input x; report accuracy on those positions against the
    unablated model and k random neurons of the layer (mean, std over `draws` seeded draws).

    recording_or_sentences: a Recording of `model`, or Armenian sentences to record first.
    Keys: pair, layer, k, baseline_accuracy, top_k_accuracy, random_k_accuracy_mean,
    random_k_accuracy_std, n_positions (accuracies are fractions), plus details.
    """
    from .analysis import Recording, record_activations
    if isinstance(recording_or_sentences, Recording):
        recording = recording_or_sentences
    else:
        from .rules import load_rules
        recording = record_activations(model, alphabets, list(recording_or_sentences), rules or load_rules(),
                                       seed=seed)
    return ablate_recording(recording, pair, layer, k, draws=draws, seed=seed, bins=bins)


def pairs_to_ablate(analysis, extra: int = 6) -> list[str]:
    """The post's pairs that the analysis has, then the `extra` pairs with the most selective
    single neuron in the biLSTM (ties: more positions first)."""
    have = {str(p) for p in analysis.pairs()}
    chosen = [p for p in POST_PAIRS if p in have]
    best = []
    for p in analysis.pairs():
        if str(p) in chosen:
            continue
        top = max(float(analysis.layer_scores(p, l).max()) for l in ("concat.fwd", "concat.bwd"))
        best.append((-top, -p.n_pos, str(p)))
    chosen += [name for _, _, name in sorted(best)[:extra]]
    return chosen
