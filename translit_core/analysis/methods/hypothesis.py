"""Hypothesis matching, after LSTMVis (Strobelt et al., 2018): select a span of a text, find the
units that are "on in the span, off around it", then find where else in the sample the same
units show the same on-pattern.

    select_units(acts (T, U), span, threshold, left, right)   LSTMVis's rule on one text
    match(recording, layer, units, threshold, span_length, ...)  the same pattern over the sample
    hypothesis(model, alphabets, recording, text, span, ...)  both, for a typed text

A unit is *on* at a position when its activation is above the threshold. It fits the span when
it is on at every position of the span and off at the `left` positions before it and the
`right` positions after it (clipped at the text's edges: a span at the start of a text has
nothing before it to be off on).

Over the sample, a candidate segment is a maximal run of positions, inside one chunk, where at
least `min_units` of the selected units (default: all) are on; it is a *match* when at least
`min_units` of them also fit it (on throughout, off around, the window clipped at the chunk's
edges). Matches are ranked by the number of units that fit, then by how close their length is
to the span's, then by the selected units' mean activation over the match. The counts say how
many matches there are and how many of them have the span's own Latin letters (case aside): a
*letter detector* matches mostly the same letters, a *context detector* matches other letters
in the same role.

Everything runs on whole arrays: binarised in blocks of positions, runs found by comparing each
position with its neighbours, the units that fit each run by AND and OR reductions over the packed
bits (8 units a byte); the only Python loops are over blocks, context rows and the top matches.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ...model.alphabets import Alphabets
from ...model.names import UnknownName, parse_layer
from ...model.net import TranslitNet
from ..measurement.recording import Recording

DEFAULT_THRESHOLD = 0.3     # LSTMVis's default-ish cut for tanh-range activations
DEFAULT_TOP = 20            # matches returned (all are counted)
CONTEXT = 12                # Latin characters shown on each side of a match
POSITION_BLOCK = 1 << 16    # positions per block when binarising a layer
MEMO_LAYERS = 4             # (layer, threshold) bit matrices kept on a recording
RANKED = 4096               # segments whose mean activation is computed, to break ties in the ranking


def check_span(span: tuple[int, int], length: int) -> tuple[int, int]:
    start, end = int(span[0]), int(span[1])
    if not 0 <= start < end <= length:
        raise UnknownName(f"span {start}:{end} is outside the text (positions 0..{length}; start < end)")
    return start, end


def select_units(acts, span: tuple[int, int], threshold: float = DEFAULT_THRESHOLD,
                 left: int = 1, right: int = 1) -> torch.Tensor:
    """The units (indices, ascending) that are on (> threshold) at every position of `span`
    (start inclusive, end exclusive) and off at the `left` positions before it and the `right`
    positions after it, clipped at the text's edges. acts: (T, U) activations of one text."""
    acts = torch.as_tensor(np.asarray(acts, dtype=np.float32))                   # (T, U)
    start, end = check_span(span, acts.shape[0])
    if left < 0 or right < 0:
        raise UnknownName("left and right context sizes must be 0 or more")
    on = acts > threshold                                                         # (T, U)
    inside = on[start:end].all(0)                                                 # (U,)
    before = on[max(0, start - left):start].any(0)                                # (U,) False if empty
    after = on[end:end + right].any(0)
    return (inside & ~before & ~after).nonzero().squeeze(1)


@dataclass
class Match:
    """One place in the sample where the selected units show the span's pattern."""
    rank: int
    start: int                  # first position in the recording
    end: int                    # one past the last
    sentence: int               # sentence id in the sample
    offset: int                 # where the match starts in its sentence's Latin text
    n_fit: int                  # selected units on throughout and off around
    mean_activation: float      # of the selected units over the match
    latin: str                  # the match's Latin characters
    before: str                 # up to CONTEXT Latin characters before it (same chunk)
    after: str                  # and after it
    outputs: list[str] = field(default_factory=list)   # the model's output per char of before + latin + after
    same_letters: bool = False  # the match's Latin is the span's (case aside)

    @property
    def length(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict:
        return dict(asdict(self), length=self.length)


@dataclass
class HypothesisResult:
    layer: str
    units: list[int]            # the selected units
    threshold: float
    left: int
    right: int
    span_length: int
    span_latin: str | None      # the span's Latin (None when matching units given by hand)
    min_units: int              # units that must fit for a match
    n_candidates: int           # runs where at least min_units selected units are on
    n_matches: int              # of which matches (min_units also fit: on throughout, off around)
    n_full: int                 # matches that all selected units fit
    n_same_letters: int         # matches with the span's Latin letters
    n_positions: int            # positions searched (the whole sample)
    matches: list[Match] = field(default_factory=list)   # the top ones, ranked
    seconds: float = 0.0
    span: tuple[int, int] | None = None

    def summary(self) -> str:
        if not self.units:
            return "no unit fits the span (on throughout, off around it) at this threshold"
        share = f"{self.n_same_letters / self.n_matches:.0%}" if self.n_matches else "–"
        kind = ("a letter detector" if self.n_matches and self.n_same_letters >= 0.5 * self.n_matches
                else "a context detector" if self.n_matches else "no matches")
        return (f"{len(self.units)} units of {self.layer}; {self.n_matches:,} matches in {self.n_positions:,} sample "
                f"positions ({self.n_full:,} with every unit fitting), {self.n_same_letters:,} ({share}) with the "
                f"span's letters: " + (kind if self.span_latin is not None else "letters not compared"))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["matches"] = [m.to_dict() for m in self.matches]
        d["summary"] = self.summary()
        return d


def on_bits(recording: Recording, layer: str, threshold: float, units=None,
            block: int = POSITION_BLOCK) -> np.ndarray:
    """(P, ceil(units / 8)) uint8: the on/off (> threshold) bits of `units` (default all) over the
    whole sample, packed 8 units to a byte (15 MB for 228 units at 534k positions, against 490 MB
    of floats); the bytes of other units may be still unfilled (zero).

    Memoised on the recording per (layer, threshold), the last few kept, and filled a byte at a
    time: a derived layer (hidden, the gates) costs the computation of the selected units' bytes
    only (8 of 228 dense units when a span selects one), and a later match on the same units
    only reads bits."""
    key = ("on_bits", layer, float(threshold))
    memo = recording.memo
    if key not in memo:
        P, n_bytes = recording.n_positions, (recording.sizes[layer] + 7) // 8
        old = [k for k in memo if isinstance(k, tuple) and k and k[0] == "on_bits"]
        for k in old[:max(0, len(old) - MEMO_LAYERS + 1)]:
            memo.pop(k, None)              # pop: another session may have dropped it
        memo[key] = (np.zeros((P, n_bytes), dtype=np.uint8), np.zeros(n_bytes, dtype=bool))
    packed, done = memo[key]
    size = recording.sizes[layer]
    wanted = np.arange(len(done)) if units is None else np.unique(np.asarray(units, dtype=np.int64) // 8)
    todo = wanted[~done[wanted]]
    if todo.size:
        cols = (todo[:, None] * 8 + np.arange(8)).reshape(-1)
        cols = torch.from_numpy(cols[cols < size])                # whole bytes; only the last may be short
        for s in range(0, recording.n_positions, block):
            rows = torch.arange(s, min(recording.n_positions, s + block))
            a = recording.layer(layer, rows, units=cols)                                  # (b, 8 * |todo|)
            packed[s:s + a.shape[0], todo] = np.packbits((a > threshold).numpy(), axis=1)
        done[todo] = True                  # after the bits: a concurrent reader never sees empty bytes as done
    return packed


def mean_activations(recording: Recording, layer: str, units: torch.Tensor, s: torch.Tensor,
                     e: torch.Tensor) -> torch.Tensor:
    """(S,) the mean activation of `units` over each segment [s, e): computed only at the
    segments' own positions (a few thousand), not over the whole sample."""
    lengths = e - s
    seg = torch.repeat_interleave(torch.arange(s.numel()), lengths)              # (N,) segment of each position
    pos = s[seg] + torch.arange(seg.numel()) - torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths, lengths)
    acts = recording.layer(layer, pos, units=units).double().sum(1)                      # (N,)
    sums = torch.zeros(s.numel(), dtype=torch.float64).index_add_(0, seg, acts)
    return sums / (lengths * units.numel())


def _runs(cand: torch.Tensor, is_first: torch.Tensor, is_last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(starts, ends) of the maximal runs of True in cand (P,), cut at chunk boundaries."""
    prev = torch.cat([torch.zeros(1, dtype=torch.bool), cand[:-1]])
    nxt = torch.cat([cand[1:], torch.zeros(1, dtype=torch.bool)])
    starts = (cand & (~prev | is_first)).nonzero().squeeze(1)
    ends = (cand & (~nxt | is_last)).nonzero().squeeze(1) + 1
    return starts, ends


def _lowercase_classes(alphabets: Alphabets) -> torch.Tensor:
    """(n_in,) input class -> the class of its lowercase character (itself if that has none)."""
    idx = alphabets.in_index
    return torch.tensor([idx.get(c.lower(), i) if len(c) == 1 else i for i, c in enumerate(alphabets.inputs)])


POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _unit_masks(units: np.ndarray, n_bytes: int) -> np.ndarray:
    """(n_bytes,) uint8: the bits of `units` in a packed row."""
    masks = np.zeros(n_bytes, dtype=np.uint8)
    np.bitwise_or.at(masks, units // 8, (1 << (7 - units % 8)).astype(np.uint8))
    return masks


def count_on(packed: np.ndarray, units: np.ndarray) -> torch.Tensor:
    """(P,) how many of `units` are on at each position, counted on the packed bits (a popcount
    of each byte masked to the selected units): no (P, k) matrix, whatever k is."""
    counts = np.zeros(packed.shape[0], dtype=np.int16)
    masks = _unit_masks(units, packed.shape[1])
    for col in masks.nonzero()[0]:
        counts += POPCOUNT[packed[:, col] & masks[col]]
    return torch.from_numpy(counts)


def _fits(packed: np.ndarray, units: np.ndarray, s: torch.Tensor, e: torch.Tensor, ls: torch.Tensor,
          re_: torch.Tensor) -> torch.Tensor:
    """(S,) for each candidate run [s, e) (sorted, disjoint) with its context window [ls, re_):
    how many of `units` are on throughout the run and off in the window around it.

    On the packed bits, 8 units a byte: a run's AND over its rows says which units are on
    throughout (one `bitwise_and.reduceat` over the sample for every run at once), an OR over the
    few rows before and after says which are on around it; the selected units' bits of
    `through & ~around` are then counted. Nothing is unpacked."""
    S = s.numel()
    if S == 0:
        return torch.zeros(0, dtype=torch.long)
    s_, e_, ls_, re_ = s.numpy(), e.numpy(), ls.numpy(), re_.numpy()
    padded = np.concatenate([packed, np.zeros((1, packed.shape[1]), dtype=np.uint8)])   # a run may end at P
    bounds = np.empty(2 * S, dtype=np.int64)
    bounds[0::2], bounds[1::2] = s_, e_
    through = np.bitwise_and.reduceat(padded, bounds, axis=0)[0::2]               # (S, bytes) AND of [s, e)
    around = np.zeros_like(through)
    for j in range(1, int((s_ - ls_).max()) + 1):                                 # the left context, row by row
        ok = s_ - j >= ls_
        around[ok] |= packed[s_[ok] - j]
    for j in range(int((re_ - e_).max())):                                        # and the right one
        ok = e_ + j < re_
        around[ok] |= packed[e_[ok] + j]
    fit = through & ~around & _unit_masks(units, packed.shape[1])                 # (S, bytes)
    return torch.from_numpy(POPCOUNT[fit].sum(1, dtype=np.int64))


def match(recording: Recording, layer: str, units, threshold: float = DEFAULT_THRESHOLD, span_length: int = 1,
          left: int = 1, right: int = 1, top: int = DEFAULT_TOP, span_latin: str | None = None,
          min_units: int | None = None, context: int = CONTEXT) -> HypothesisResult:
    """Where in the whole sample the `units` of `layer` show the on-pattern (see the module's
    docstring); the `top` best matches with their text, and the counts."""
    t0 = time.perf_counter()
    parse_layer(layer)
    units = torch.as_tensor(units, dtype=torch.long).reshape(-1)
    k = units.numel()
    min_units = k if min_units is None else max(1, min(int(min_units), k))
    P = recording.n_positions
    empty = HypothesisResult(layer, units.tolist(), threshold, left, right, span_length, span_latin, min_units,
                             0, 0, 0, 0, P)
    if k == 0 or P == 0:
        empty.seconds = time.perf_counter() - t0
        return empty
    packed = on_bits(recording, layer, threshold, units.numpy())                # (P, bytes)
    cand = count_on(packed, units.numpy()) >= min_units                           # (P,)
    s, e = _runs(cand, recording.is_first, recording.is_last)                     # (S,), (S,)
    chunk = recording.chunk_of(s)
    cs, ce = recording.chunk_start[chunk], recording.chunk_start[chunk + 1]       # the chunk's bounds
    ls, re_ = torch.maximum(cs, s - left), torch.minimum(ce, e + right)           # context windows, clipped
    n_fit = _fits(packed, units.numpy(), s, e, ls, re_)
    keep = n_fit >= min_units
    n_candidates = int(s.numel())
    s, e, n_fit = s[keep], e[keep], n_fit[keep]
    lengths = e - s
    same = torch.zeros(s.numel(), dtype=torch.bool)
    if span_latin:
        lower = _lowercase_classes(recording.alphabets)
        want = lower[torch.tensor(recording.alphabets.encode_input(span_latin))]  # (L,)
        L = want.numel()
        sel = (lengths == L).nonzero().squeeze(1)
        if sel.numel():
            idx = s[sel].unsqueeze(1) + torch.arange(L)                           # (n, L)
            same[sel] = (lower[recording.x[idx]] == want).all(1)
    # Rank: most units fitting, then length closest to the span's, then strongest. The mean
    # activation is needed only where the first two keys tie with the top: those segments
    # (at most RANKED of them) get it, the rest rank below them anyway.
    gap = (lengths - span_length).abs()
    key = (k - n_fit) * (int(gap.max()) + 1 if gap.numel() else 1) + gap          # (M,) smaller ranks first
    order = np.argsort(key.numpy(), kind="stable")
    mean_act = torch.full((s.numel(),), float("nan"), dtype=torch.float64)
    if s.numel():
        ranked = key.numpy()[order]
        n_tied = int(np.searchsorted(ranked, ranked[min(top, s.numel()) - 1], side="right"))
        head = torch.from_numpy(order[:min(n_tied, RANKED)].copy())             # a prefix of the order
        mean_act[head] = mean_activations(recording, layer, units, s[head], e[head])
        order = head.numpy()[np.lexsort((-mean_act[head].numpy(), key[head].numpy()))]
    result = HypothesisResult(layer, units.tolist(), threshold, left, right, span_length, span_latin, min_units,
                              n_candidates, int(s.numel()), int((n_fit == k).sum()),
                              int(same.sum()), P)
    for rank, i in enumerate(order[:top].tolist(), 1):
        result.matches.append(_match_at(recording, int(s[i]), int(e[i]), rank, int(n_fit[i]), float(mean_act[i]),
                                        bool(same[i]), context))
    result.seconds = time.perf_counter() - t0
    return result


def _match_at(rec: Recording, start: int, end: int, rank: int, n_fit: int, mean_act: float, same: bool,
              context: int) -> Match:
    ch = int(rec.chunk_of(torch.tensor([start]))[0])
    c0 = int(rec.chunk_start[ch])
    text = rec.chunks[ch]
    a, b = start - c0, end - c0
    lo, hi = max(0, a - context), min(len(text), b + context)
    preds = rec.pred[c0 + lo:c0 + hi].tolist()
    outputs = [rec.alphabets.decode(c, [p]) for c, p in zip(text[lo:hi], preds)]
    return Match(rank, start, end, int(rec.chunk_sentence[ch]), int(rec.chunk_offset[ch]) + a, n_fit, mean_act,
                 text[a:b], text[lo:a], text[b:hi], outputs, same)


def text_activations(model: TranslitNet, alphabets: Alphabets, text: str, layer: str) -> torch.Tensor:
    """(len(text), units) activations of one layer on a typed text (the model's hooked pass)."""
    parse_layer(layer)
    x = torch.tensor([alphabets.encode_input(text)])
    with torch.inference_mode():
        _, acts = model.run_with_cache(x, names=[layer])
    return acts[layer][0].float()


def hypothesis(model: TranslitNet, alphabets: Alphabets, recording: Recording, text: str, span: tuple[int, int],
               layer: str = "concat.fwd", threshold: float = DEFAULT_THRESHOLD, left: int = 1, right: int = 1,
               top: int = DEFAULT_TOP, acts=None, min_units: int | None = None) -> HypothesisResult:
    """Select the units of `layer` that fit `span` of `text` and match them over the sample.
    `acts` (len(text), units): the layer's activations on the text, if already computed."""
    if not text:
        raise UnknownName("the text is empty: type a text to select a span of")
    span = check_span(span, len(text))
    acts = text_activations(model, alphabets, text, layer) if acts is None else acts
    units = select_units(acts, span, threshold, left, right)
    r = match(recording, layer, units, threshold, span[1] - span[0], left, right, top,
              span_latin=text[span[0]:span[1]], min_units=min_units)
    r.span = span
    return r
