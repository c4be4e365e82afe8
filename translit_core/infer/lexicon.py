"""A word list of the training text, and the one correction it licenses.

The network decides each character from the characters around it; it has no list of the words
of the language. When its best reading of a word is a word never seen in the training text
("ծառավ" for "tsarav", "կանիսն" for "kanisn"), but a reading it found almost as likely is a
known word ("ծարավ", "քանիսն"), the known word is almost always right. So:

    a word the network wrote in Armenian that is not in the lexicon is replaced by the most
    likely reading of it that is, if that reading costs at most MARGIN nats of the network's
    own log-probability (summed over the characters changed).

"Most likely" is within what a best-first search visits (MAX_CANDIDATES readings, each
character's ALTERNATIVES best classes). Known words are never changed, letters kept in Latin and
punctuation are never changed, the case of a word is kept, and the network's alternatives are the
only candidates: the lexicon picks between readings the network already considered, it never
invents one. On the validation text (mean of six romanizations) this takes the shipped model
from 99.247% to 99.311% character accuracy; the margin, the alternatives per character and the
minimum count were chosen there (README).

The lexicon is a plain text file beside the checkpoint (`lexicon.txt`): a comment header, then
one lowercase Armenian word per line.
"""
from __future__ import annotations

import gzip
import heapq
import re
import zlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

import torch

from ..files import atomic_write
from ..model.checkpoint import CheckpointError
from ..settings import DEFAULT_CHECKPOINT
from ..text.words import WORD

LEXICON = "lexicon.txt"
LEXICON_GZ = LEXICON + ".gz"     # the same, gzip-compressed: read when lexicon.txt is absent
MARGIN = 4.0             # nats of the network's log-probability a known reading may cost (3-5 do as well)
ALTERNATIVES = 3         # best classes per character the search may choose from (more: no gain)
MAX_CANDIDATES = 30      # readings the search visits per word; few words need more than 5
MAX_WORD = 40            # longer runs of letters (a pasted "hahaha...") are left as they are
LETTERS = re.compile(r"[\u0531-\u0556\u0561-\u0587]+")     # Armenian letters of either case


class LexiconError(ValueError):
    """A lexicon file that cannot be used; the message names the file and line."""


def save_lexicon(path: str | Path, counts: Counter, min_count: int = 1, source: str = "") -> int:
    words = sorted(w for w, n in counts.items() if n >= min_count)
    header = (f"# {len(words)} Armenian words seen at least {min_count} time(s) in {source or 'the training text'};\n"
              "# one lowercase word per line. Rebuild: python -m translit_core lexicon --corpus DIR --out CHECKPOINT\n")
    atomic_write(path, header + "".join(w + "\n" for w in words))     # a full disk keeps the old list whole
    return len(words)


def load_lexicon(path: str | Path) -> frozenset[str]:
    """The words of a lexicon file, plain or gzip-compressed (a name ending in .gz)."""
    path = Path(path)
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LexiconError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise LexiconError(f"{path}: not a gzip file ({e})") from None
    words = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        if not WORD.fullmatch(line):
            raise LexiconError(f"{path}:{n}: expected one lowercase Armenian word, got {line[:40]!r}")
        words.append(line)
    if not words:
        raise LexiconError(f"{path}: no words in it")
    return frozenset(words)


def cheapest_accepted(options: list[list[tuple[float, int]]], accept: Callable[[list[int]], bool],
                      margin: float, max_candidates: int = MAX_CANDIDATES) -> list[int] | None:
    """The cheapest choice of one option per position, other than all-first, that `accept`s.

    options[p] is sorted by cost and options[p][0] is the current choice at cost 0. Candidates
    are visited best-first (a heap over index tuples), so the first accepted one is the
    cheapest; the search stops past `margin` or after `max_candidates` visits.
    """
    start = (0,) * len(options)
    heap, seen, visited = [(0.0, start)], {start}, 0
    while heap and visited < max_candidates:
        cost, pick = heapq.heappop(heap)
        visited += 1
        classes = [options[p][i][1] for p, i in enumerate(pick)]
        if pick != start and accept(classes):
            return classes
        for p, i in enumerate(pick):
            if i + 1 < len(options[p]):
                step = cost - options[p][i][0] + options[p][i + 1][0]
                nxt = pick[:p] + (i + 1,) + pick[p + 1:]
                if step <= margin and nxt not in seen:
                    seen.add(nxt)
                    heapq.heappush(heap, (step, nxt))
    return None


def correct_words(chunk: str, scores: torch.Tensor, classes: list[int], lexicon: frozenset[str], alphabets,
                  margin: float = MARGIN) -> list[int]:
    """`classes` for one chunk with each unknown Armenian word replaced by its cheapest known
    reading, if one costs at most `margin` nats.

    A word is a run of Armenian letters in the written text, with the placeholders after its
    letters: "barev,dzez" has two, "2010-in" one ("ին"). scores: (T, V) logits or
    log-probabilities; only differences within one position are used, and those are the same
    for both.
    """
    written = alphabets.decode(chunk, classes)
    # (not on written.lower(): lowering "İ" adds a character and would shift every offset after it)
    unknown = [m.span() for m in LETTERS.finditer(written) if m.group().lower() not in lexicon]
    if not unknown:                                # most chunks: no per-character work at all
        return classes
    # Where each position's output starts in the written text (a placeholder writes nothing,
    # ու writes two characters), to map a written word back to the typed characters.
    changeable, out_text = alphabets.changeable, alphabets.written
    width = [len(out_text[k]) if k and c in changeable else 1 for c, k in zip(chunk, classes)]
    begin = [0, *accumulate(width)][:-1]
    out = list(classes)
    for s, e in unknown:
        a = bisect_left(begin, s)
        while width[a] == 0:                       # a placeholder ending the previous word
            a += 1
        b = bisect_left(begin, e)
        while b < len(chunk) and width[b] == 0:    # the placeholders of the word's last letter
            b += 1
        if b - a <= MAX_WORD:
            best = _correct_word(chunk[a:b], scores[a:b], out[a:b], written[s:e], lexicon, alphabets, margin)
            if best is not None:
                out[a:b] = best
    return out


def _correct_word(typed: str, scores: torch.Tensor, classes: list[int], word: str, lexicon: frozenset[str],
                  alphabets, margin: float) -> list[int] | None:
    decode, out_text = alphabets.decode, alphabets.written
    top = scores.topk(min(ALTERNATIVES, scores.shape[-1]), -1)                   # (L, k)
    options, changeable = [], alphabets.changeable
    for c, cur, row_s, row_c in zip(typed, classes, top.values.tolist(), top.indices.tolist()):
        # The current class is the best one, or the best after "pass" where the script rule
        # transliterated a Latin word; so it is among the top 3 but for ties, hence the check.
        if cur == 0 or cur not in row_c or c not in changeable:
            options.append([(0.0, cur)])
            continue
        here = row_s[row_c.index(cur)]
        if here - row_s[1 if row_c[0] == cur else 0] > margin:     # no rival close enough: the common case
            options.append([(0.0, cur)])
            continue
        # never "pass" a letter (that is the script rule's call) nor change its case
        options.append([(0.0, cur)] + sorted((here - s, j) for s, j in zip(row_s, row_c) if j not in (0, cur)
                                             and here - s <= margin and not _case_differs(out_text[j], out_text[cur])))
    if all(len(o) == 1 for o in options):
        return None
    shape = _case_shape(word)

    def known(cls: list[int]) -> bool:
        cand = decode(typed, cls)                  # an alternative may be punctuation: then no word
        return cand.lower() in lexicon and _case_shape(cand) == shape

    return cheapest_accepted(options, known, margin)


def _case_differs(a: str, b: str) -> bool:
    """Both write a letter and one is a capital ("Տ" for "թ"). The first character decides, so
    the title-case digraph "Ու" is a capital. The placeholder and punctuation have no case."""
    a, b = a[:1], b[:1]
    return a.lower() != a.upper() and b.lower() != b.upper() and a.isupper() != b.isupper()


def _case_shape(word: str) -> tuple[bool, bool]:
    """(first letter a capital, every letter a capital): what a correction must keep, also where
    a placeholder moves and the letters shift ("Թ" + "_" for "Ta" may not become "_" + "ա")."""
    return word[:1].isupper(), len(word) > 1 and word.isupper()


def load_checkpoint_lexicon(directory: str | Path | None = None) -> frozenset[str] | None:
    """The word list beside the weights, or None for a checkpoint that has none."""
    directory = Path(directory) if directory else DEFAULT_CHECKPOINT
    path = directory / LEXICON
    if not path.exists() and (directory / LEXICON_GZ).exists():      # a second checkpoint ships it compressed
        path = directory / LEXICON_GZ
    if not path.exists():
        return None
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file (a checkpoint's lexicon is a text file; remove it to run "
                              f"the network alone)")
    try:
        return load_lexicon(path)
    except (LexiconError, OSError) as e:
        raise CheckpointError(str(e)) from None
