"""Annotation tracks: what each position of a text is, and which of those a unit tracks.

A track is a yes/no fact about every position of a text (or of the sample recording):

    word start / middle / end, one-letter word, no word character (space, punctuation, digits)
    first letter of a digraph, its later letters, the letters of each digraph kind ("in sh"),
    the later letters of digraphs that end in the same letter ("the h of sh, ch, kh, gh, zh, ...")
    kept Latin (the model writes the letter as typed), writes nothing (a placeholder),
    uncertain (the model's probability < 0.9), changed by the lexicon (typed texts only: the
    sample's outputs are the network's alone, it has no lexicon pass)
    and simple predicates: input character == c, output == y.

The digraphs are read from the romanization rules (`digraphs`): every Latin spelling of one
Armenian letter that has two or more letters and no vowel (ts, dz, sh, ch, kh, gh, zh, th, xh, dj,
rr, tch). Spellings with a vowel (ye, ev, ou) are left out: "ye" and "ev" are just as often two
letters of their own. In a typed text a digraph is where its letters stand (leftmost, longest
first), whatever the model makes of them: the tracks describe the input.

`best_track(recording, neuron)` scores every track against a unit's activation over (a seeded
subsample of) the sample by ROC AUC (from average ranks, so ties count half) and returns the
track that separates best, in either direction, with a one-line description: Neuronpedia's
scored explanations, computed rather than written.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ...model.names import NeuronId, parse_layer
from ...text.rules import Rules, load_rules
from ..measurement.recording import Recording

UNCERTAIN_BELOW = 0.9            # the confidence view's threshold (dashboard.views.text)
SAMPLE_POSITIONS = 100_000       # positions scored (seeded subsample): ranks of a layer stay ~180 MB
MIN_SHARE = 0.002                # a track needs this share of the scored positions (each side) to be scored:
                                 # AUC alone crowns tiny tracks (45 positions of "6" at AUC 0.93)
VOWELS = frozenset("aeiouy")
WORD_KINDS = ("start", "middle", "end", "single")     # word codes 1..4; 0 = no word character


_CACHE: dict[tuple[str, str], object] = {}      # (what, rules.sha256) -> derived from the rules


def _digraphs(rules: Rules) -> tuple[str, ...]:
    if ("digraphs", rules.sha256) in _CACHE:
        return _CACHE[("digraphs", rules.sha256)]
    found = set()
    for table in (rules.letters, rules.word_initial):
        for letter, variants in table.items():
            if len(letter) != 1:               # ու is two Armenian letters: "u" is not a digraph of it
                continue
            for latin in variants:
                low = latin.lower()
                if len(low) >= 2 and low.isalpha() and not VOWELS & set(low):
                    found.add(low)
    out = tuple(sorted(found, key=lambda d: (-len(d), d)))    # longest first: the regex tries them in order
    _CACHE[("digraphs", rules.sha256)] = out
    return out


def digraphs(rules: Rules | None = None) -> tuple[str, ...]:
    """The Latin digraphs (and trigraphs) of the rules, longest first: ('tch', 'ch', 'dj', ...)."""
    return _digraphs(rules or load_rules())


def word_characters(rules: Rules) -> frozenset[str]:
    """Non-letters that stand for a letter in the rules ('@' for ը, '&' for ծ, "'" of t', '4' for չ):
    they are part of a word, as letters are."""
    key = ("word", rules.sha256)
    if key not in _CACHE:
        _CACHE[key] = frozenset(c for table in (rules.letters, rules.word_initial) for vs in table.values()
                                for latin in vs for c in latin if not c.isalpha())
    return _CACHE[key]


@dataclass
class Positions:
    """What every position of a text is, as arrays (T,) over its characters."""
    word: np.ndarray            # int8: 0 no word character, 1 start, 2 middle, 3 end, 4 one-letter word
    digraph: np.ndarray         # int16: index into `kinds`, -1 outside every digraph
    digraph_at: np.ndarray      # int8: 0 first letter, 1 second, 2 third; -1 outside
    kinds: tuple[str, ...]      # the digraphs of the rules


def annotate(text: str, first: np.ndarray | None = None, last: np.ndarray | None = None,
             rules: Rules | None = None) -> Positions:
    """Word position and digraphs of every character of `text`. `first`/`last` (T,) bool mark
    where a chunk starts and ends (the sample is chunks one after the other): neither a word
    nor a digraph runs across them."""
    rules = rules or load_rules()
    T = len(text)
    first = np.zeros(T, bool) if first is None else np.asarray(first, bool).copy()
    last = np.zeros(T, bool) if last is None else np.asarray(last, bool).copy()
    if T:
        first[0] = last[-1] = True
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)              # (T,)
    uniq, inverse = np.unique(codes, return_inverse=True)
    extra = word_characters(rules)
    is_word = np.array([chr(u).isalpha() or chr(u) in extra for u in uniq.tolist()], bool)[inverse]
    prev = np.concatenate([[False], is_word[:-1]]) & ~first
    nxt = np.concatenate([is_word[1:], [False]]) & ~last
    word = np.zeros(T, np.int8)
    word[is_word & ~prev & nxt] = 1
    word[is_word & prev & nxt] = 2
    word[is_word & prev & ~nxt] = 3
    word[is_word & ~prev & ~nxt] = 4
    kinds = digraphs(rules)
    digraph = np.full(T, -1, np.int16)
    at = np.full(T, -1, np.int8)
    index = {k: i for i, k in enumerate(kinds)}
    chunk = np.cumsum(first) if T else first.astype(int)                          # chunk id per position
    for m in re.finditer("|".join(map(re.escape, kinds)), text.lower()):        # one loop over digraphs found
        a, b = m.span()
        if chunk[a] != chunk[b - 1]:
            continue
        digraph[a:b] = index[m.group()]
        at[a:b] = np.arange(b - a)
    return Positions(word, digraph, at, kinds)


@dataclass
class Track:
    name: str          # short, for tables: "digraph: later h"
    phrase: str        # what the unit fires on: "the h of a digraph (ch, gh, kh, sh, th, xh, zh)"


def binary_tracks(pos: Positions, inputs: list[str], outputs: list[str] | None = None,
                  kept: np.ndarray | None = None, nothing: np.ndarray | None = None,
                  uncertain: np.ndarray | None = None, lexicon: np.ndarray | None = None,
                  predicates: bool = True) -> tuple[list[Track], np.ndarray]:
    """Every track of the positions as (tracks, masks (n_tracks, T) bool). inputs: (T,) the
    characters; outputs: (T,) the model's output per character (predicates output == y);
    kept / nothing / uncertain / lexicon: (T,) bool, where known."""
    tracks: list[Track] = []
    masks: list[np.ndarray] = []

    def add(name, phrase, mask):
        tracks.append(Track(name, phrase))
        masks.append(np.asarray(mask, bool))

    for code, kind in enumerate(WORD_KINDS, 1):
        add(f"word {kind}", {"start": "the first letter of a word", "middle": "letters inside a word",
                             "end": "the last letter of a word", "single": "one-letter words"}[kind], pos.word == code)
    add("no word character", "spaces, punctuation and digits", pos.word == 0)
    inside = pos.digraph >= 0
    add("digraph: first letter", f"the first letter of a digraph ({', '.join(sorted(pos.kinds))})",
        inside & (pos.digraph_at == 0))
    add("digraph: later letter", f"the second (or third) letter of a digraph ({', '.join(sorted(pos.kinds))})",
        inside & (pos.digraph_at > 0))
    lower = np.array([c.lower() for c in inputs]) if len(inputs) else np.array([], dtype=str)
    for last in sorted({k[-1] for k in pos.kinds}):
        ks = sorted(k for k in pos.kinds if k.endswith(last))
        ids = [pos.kinds.index(k) for k in ks]
        add(f"digraph: later {last}", f"the {last} of a digraph ({', '.join(ks)})",
            np.isin(pos.digraph, ids) & (pos.digraph_at > 0) & (lower == last))
    for i, k in enumerate(pos.kinds):
        add(f"in digraph {k}", f"the letters of the digraph {k}", pos.digraph == i)
    if kept is not None:
        add("kept Latin", "letters the model keeps Latin", np.asarray(kept, bool) & (pos.word > 0))
    if nothing is not None:
        add("writes nothing", "letters the model writes nothing for (a digraph's later letter, by its own reading)",
            nothing)
    if uncertain is not None:
        add("uncertain", f"positions where the model is unsure (probability < {UNCERTAIN_BELOW})", uncertain)
    if lexicon is not None:
        add("changed by the lexicon", "letters the known-word rule changed", lexicon)
    if predicates:
        for c in sorted(set(lower.tolist())):
            if c.strip():
                case = " (either case)" if c.upper() != c else ""
                add(f"input {c}", f"the input character {c!r}{case}", lower == c)
        if outputs is not None:
            outs = np.array(outputs, dtype=object)
            for y in sorted({o for o in outputs if o and o.strip() and any(ch.isalpha() for ch in o)}):
                if not all(ch.isascii() for ch in y):
                    add(f"output {y}", f"positions the model writes {y}", outs == y)
    return tracks, (np.stack(masks) if masks else np.zeros((0, len(inputs)), bool))


# --------------------------------------------------------------------------------------------
# the sample

@dataclass
class SampleTracks:
    positions: torch.Tensor     # (n,) the subsample of recording positions scored (sorted)
    tracks: list[Track]
    masks: np.ndarray           # (n_tracks, n) bool
    n_total: int                # positions in the recording


def sample_tracks(rec: Recording, n: int = SAMPLE_POSITIONS, seed: int = 0) -> SampleTracks:
    """The tracks of (a seeded subsample of) the recording's positions, memoised on it. The
    sample has no lexicon pass, so it has no "changed by the lexicon" track."""
    key = ("tracks", n, seed)
    if key in rec.memo:
        return rec.memo[key]
    P = rec.n_positions
    text = "".join(rec.chunks)                                     # position p is character p
    pos = annotate(text, rec.is_first.numpy(), rec.is_last.numpy())
    if P > n:
        sub = torch.randperm(P, generator=torch.Generator().manual_seed(seed))[:n].sort().values
    else:
        sub = torch.arange(P)
    s = sub.numpy()
    pos = Positions(pos.word[s], pos.digraph[s], pos.digraph_at[s], pos.kinds)
    chars = [text[i] for i in s.tolist()]
    pred = rec.pred[sub]
    outputs = [rec.alphabets.decode(c, [k]) for c, k in zip(chars, pred.tolist())]
    prob = torch.softmax(rec.layer("output", sub), -1).max(-1).values.numpy()   # (n,) the argmax's probability
    tracks, masks = binary_tracks(pos, chars, outputs, kept=(pred == 0).numpy(), nothing=(pred == 1).numpy(),
                                  uncertain=prob < UNCERTAIN_BELOW)
    n_pos = masks.sum(1)
    least = max(30, MIN_SHARE * len(s))
    ok = (n_pos >= least) & (len(s) - n_pos >= least)           # too rare or too common: unscored
    out = SampleTracks(sub, [t for t, k in zip(tracks, ok) if k], masks[ok], P)
    rec.memo[key] = out
    return out


def auc_matrix(masks: np.ndarray, acts: np.ndarray) -> np.ndarray:
    """ROC AUC of every track (masks (n_tracks, n) bool) for every unit (acts (n, U)): the
    probability that a random position of the track has a higher activation than a random
    position outside it, ties counting half (Mann-Whitney U from average ranks). -> (n_tracks, U)."""
    from scipy.stats import rankdata
    ranks = rankdata(np.asarray(acts, dtype=np.float64), axis=0)                 # (n, U), average ranks
    m = masks.astype(np.float64)
    n1 = m.sum(1, keepdims=True)                                                  # (n_tracks, 1)
    n0 = m.shape[1] - n1
    return (m @ ranks - n1 * (n1 + 1) / 2) / (n1 * n0)


@dataclass
class TrackScore:
    neuron: str
    track: str
    phrase: str
    auc: float            # in the direction stated: >= 0.5
    high: bool            # True: the unit is high on the track; False: low on it
    n_track: int          # positions of the track among those scored
    n_scored: int         # positions scored (subsample of the sample)
    n_total: int          # positions in the sample
    runners_up: list[tuple[str, float, bool]]   # the next best (track, auc, high)

    @property
    def description(self) -> str:
        verb = "fires on" if self.high else "is low on"
        return (f"{verb} {self.phrase} (AUC {self.auc:.2f}, n = {self.n_track:,} of {self.n_scored:,} "
                f"sample positions)")

    def to_dict(self) -> dict:
        return dict(asdict(self), description=self.description)


def _scores(st: SampleTracks, auc: np.ndarray, neurons: list[str], runners: int = 3) -> list[TrackScore]:
    strength = np.abs(auc - 0.5)                                                  # (n_tracks, U)
    out = []
    n_track = st.masks.sum(1)
    for u, name in enumerate(neurons):
        order = np.argsort(-strength[:, u], kind="stable")
        best = int(order[0])
        a = float(auc[best, u])
        rest = [(st.tracks[int(j)].name, float(max(auc[j, u], 1 - auc[j, u])), bool(auc[j, u] >= 0.5))
                for j in order[1:1 + runners]]
        out.append(TrackScore(name, st.tracks[best].name, st.tracks[best].phrase, max(a, 1 - a), a >= 0.5,
                              int(n_track[best]), st.masks.shape[1], st.n_total, rest))
    return out


def best_track(rec: Recording, neuron: "str | NeuronId", n: int = SAMPLE_POSITIONS, seed: int = 0) -> TrackScore:
    """The track that best predicts one unit's activation over the sample (AUC), described."""
    neuron = NeuronId.parse(neuron, rec.sizes)
    st = sample_tracks(rec, n, seed)
    acts = rec.layer(neuron.layer, st.positions, units=[neuron.index]).numpy()    # (n, 1)
    return _scores(st, auc_matrix(st.masks, acts), [str(neuron)])[0]


def best_tracks(rec: Recording, layer: str, n: int = SAMPLE_POSITIONS, seed: int = 0) -> list[TrackScore]:
    """best_track for every unit of a layer at once (one rank matrix, one product)."""
    parse_layer(layer)
    st = sample_tracks(rec, n, seed)
    acts = rec.layer(layer, st.positions).numpy()                                  # (n, U)
    return _scores(st, auc_matrix(st.masks, acts), [f"{layer}:{u}" for u in range(acts.shape[1])])


# --------------------------------------------------------------------------------------------
# a typed text (the heatmap's rows)

@dataclass
class TextTracks:
    """The annotation rows drawn under a text's heatmap: per row a label per character ("" for
    none) and what the row means."""
    rows: list[tuple[str, list[str], str]]      # (name, labels (T,), meaning)


WORD_MARK = {1: "S", 2: "M", 3: "E", 4: "1"}


def text_tracks(text: str, outputs: list[str] | None = None, probs: list[float] | None = None,
                lexicon: list[bool] | None = None, rules: Rules | None = None) -> TextTracks:
    """The rows for a typed text: word position, digraph, kept Latin, uncertain, lexicon.
    outputs: the network's output per character; probs: its probability; lexicon: changed."""
    pos = annotate(text, rules=rules)
    rows = [("word", [WORD_MARK.get(int(w), "") for w in pos.word],
             "S start, M middle, E end of a word, 1 a one-letter word"),
            ("digraph", [pos.kinds[d] if d >= 0 else "" for d in pos.digraph.tolist()],
             "the letters of a digraph of the rules (" + ", ".join(sorted(pos.kinds)) + ")")]
    if outputs is not None:
        rows.append(("kept Latin", ["=" if o == c and w > 0 else "" for o, c, w in zip(outputs, text, pos.word)],
                     "= the network keeps the letter Latin"))
    if probs is not None:
        rows.append(("uncertain", [f"{p:.0%}".rstrip("%") if p < UNCERTAIN_BELOW else "" for p in probs],
                     f"the model's probability (%) where it is below {UNCERTAIN_BELOW:.0%}"))
    if lexicon is not None:
        rows.append(("lexicon", ["L" if c else "" for c in lexicon], "L the known-word rule changed the letter"))
    return TextTracks(rows)

