"""Words and chunks of text, shared by training, inference and the analysis.

`split_at_spaces` cuts a line into the chunks the network reads (at most max_len characters,
cut after a space where possible); `word_counts` counts the Armenian words of a text, for the
lexicon and for the foreign-word filter.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

WORD = re.compile(r"[\u0561-\u0587]+")                   # lowercase Armenian letters (with և)
SPACE = re.compile(r"\s")


def split_at_spaces(text: str, max_len: int) -> list[tuple[int, int]]:
    """(start, end) spans of at most max_len characters, cut after a space where possible."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, not {max_len}")
    spans, start = [], 0
    while len(text) - start > max_len:
        cut = text.rfind(" ", start + 1, start + max_len)
        if cut <= start:           # no ASCII space in the window: any other whitespace will do
            cut = max((m.start() for m in SPACE.finditer(text, start + 1, start + max_len)), default=-1)
        end = cut + 1 if cut > start else start + max_len
        spans.append((start, end))
        start = end
    if start < len(text) or not spans:
        spans.append((start, len(text)))
    return spans


def word_counts(lines: Iterable[str]) -> Counter:
    """How often each Armenian word occurs, case-folded ("Երևան" and "երևան" are one word)."""
    counts: Counter = Counter()
    for line in lines:
        counts.update(WORD.findall(line.lower()))
    return counts
