"""Armenian text -> a sampled Latin romanization, aligned character by character.

The model reads Latin characters and writes one output symbol per Latin character, so each
training pair must be aligned position by position. An Armenian letter typed with k Latin
characters is written as the letter followed by k-1 placeholders:

    ձի  ->  latin "dzi", target ["ձ", "", "ի"]   (shown as "ձ_ի")

The placeholder is the empty string in `target`, so "".join(target) is the input text again
(literal underscores in the text stay distinguishable from placeholders). Characters that are
not Armenian (Latin words, digits, URLs, emoji) appear unchanged on both sides: the model learns
to keep them. The only characters that do not survive are the stress and question marks ՞ ՜ ՛,
which sit on a vowel inside the word and which people typing Latin leave out; see
`strip_dropped`.
"""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from .rules import Rules, is_armenian_letter

PLACEHOLDER = "_"  # how the empty target is shown to people
# Bump when `romanize` makes different Latin from the same text and rules: an analysis built
# on the old romanization then reports itself stale (its sample is no longer what it says).
ROMANIZER_VERSION = 1


@dataclass(frozen=True)
class Aligned:
    latin: str          # what the user would type
    target: list[str]   # one Armenian token per Latin character; "" is a placeholder

    def shown(self) -> str:
        """The aligned Armenian side as the post writes it: "ձ_ի"."""
        return "".join(t if t else PLACEHOLDER for t in self.target)

    def armenian(self) -> str:
        return "".join(self.target)


def strip_dropped(text: str, rules: Rules) -> str:
    """The text romanization can give back: NFC, without the marks people do not type."""
    text = unicodedata.normalize("NFC", text)
    return "".join(c for c in text if c not in rules.dropped)


def split_units(text: str, rules: Rules) -> list[str]:
    """Split into romanization units: the digraph ու (any case) is one unit."""
    out, i = [], 0
    while i < len(text):
        pair = text[i:i + 2]
        if len(pair) == 2 and pair in rules.letters:
            out.append(pair)
            i += 2
        else:
            out.append(text[i])
            i += 1
    return out


def _is_upper(token: str) -> bool:
    return is_armenian_letter(token[0]) and token[0].isupper()


def romanize(text: str, rules: Rules, rng: random.Random) -> Aligned:
    """Sample one romanization of `text`. Deterministic for a given rng state."""
    tokens = split_units(strip_dropped(text, rules), rules)
    latin: list[str] = []
    target: list[str] = []
    for i, tok in enumerate(tokens):
        if tok not in rules.letters and tok not in rules.punctuation:
            latin.append(tok)            # not Armenian: passes through on both sides
            target.append(tok)
            continue
        prev = tokens[i - 1] if i else ""
        word_start = not (prev and is_armenian_letter(prev[-1]))
        variants = rules.variants(tok, word_start)
        s = rng.choices(list(variants), weights=list(variants.values()))[0]
        if _is_upper(tok) and len(s) > 1:
            # Capitals are title-cased ("Dz") unless the word is written in capitals ("DZ").
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if (nxt and _is_upper(nxt)) or (prev and _is_upper(prev) and not (nxt and is_armenian_letter(nxt[0]))):
                s = s.upper()
        latin.append(s)
        target.append(tok)
        target.extend([""] * (len(s) - 1))
    return Aligned("".join(latin), target)
