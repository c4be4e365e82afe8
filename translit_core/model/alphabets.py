"""The two alphabets: Latin-side input characters and Armenian-side output classes.

Output classes 0 and 1 are special: 0 keeps the input character as it is (pass-through), 1
writes nothing (a placeholder: the second letter of a digraph, "dz" -> "ձ_"). In pair names,
URLs and tables they are written "=" and "_" (`symbol_of_class`, `class_of_symbol`), the
only place that mapping is spelled out.
"""
from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass

from ..text.romanize import Aligned
from ..text.rules import Rules, is_armenian_letter

PAD, UNK = "<pad>", "<unk>"          # input specials: index 0 and 1
PASS, PLACE = "<pass>", "<place>"    # output specials: copy the input character / write nothing
# Latin letters with diacritics (Latin-1, Extended-A and -B, Extended Additional), by their base
# letter: people type é, ë, è, ô for Armenian vowels.
LATIN_ACCENT_RANGES = ((0x00C0, 0x0250), (0x1E00, 0x1F00))


def _base_letter(c: str) -> str | None:
    """The ASCII letter under a Latin letter's diacritics ("é" -> "e", "Ö" -> "O"), else None."""
    d = unicodedata.normalize("NFD", c)
    if len(d) > 1 and d[0].isascii() and d[0].isalpha() and all(unicodedata.combining(m) for m in d[1:]):
        return d[0]
    return None


ACCENTED = {c: b for lo, hi in LATIN_ACCENT_RANGES for c in map(chr, range(lo, hi)) if (b := _base_letter(c))}


@dataclass(frozen=True)
class Alphabets:
    inputs: list[str]    # index -> Latin-side character
    outputs: list[str]   # index -> Armenian token (PASS, PLACE, letters, digraphs, punctuation)

    def __post_init__(self):
        object.__setattr__(self, "in_index", {c: i for i, c in enumerate(self.inputs)})
        object.__setattr__(self, "out_index", {c: i for i, c in enumerate(self.outputs)})
        # an accented Latin letter reads as its base letter (see encode_typed)
        object.__setattr__(self, "folds", {c: b for c, b in ACCENTED.items() if b in self.in_index})
        # characters the model may change: known to the input alphabet (or read as a letter that
        # is) and not Armenian
        object.__setattr__(self, "changeable", frozenset(c for c in self.inputs if not is_armenian_letter(c))
                           | frozenset(self.folds))
        object.__setattr__(self, "written", ["", ""] + list(self.outputs[2:]))   # class -> text; placeholder ""

    def encode_input(self, latin: str) -> list[int]:
        """Input classes; any whitespace the alphabet lacks (tab, NBSP, U+3000, ...) reads as a
        space, so it still ends a word for the network (decode keeps the character itself)."""
        get, space = self.in_index.get, self.in_index.get(" ", 1)
        return [get(c, space if c.isspace() else 1) for c in latin]

    def encode_typed(self, latin: str) -> list[int]:
        """Input classes of text a person typed (inference): as `encode_input`, but a Latin letter
        with diacritics reads as its base letter ("tév" as "tev"), even where the alphabet has the
        accented letter (a rare one the network barely saw: it wrote the letter after it as a
        placeholder, and "tév" lost its "v"). The accented letter is then written as the network
        reads its base letter (é as ե or է in an Armenian word), since the person typed that
        vowel; in a word kept Latin it stays as typed ("café"): decode keeps the character."""
        fold = self.folds.get
        return self.encode_input("".join(fold(c, c) for c in latin))

    def encode_target(self, ex: Aligned) -> list[int]:
        out = []
        for c, tok in zip(ex.latin, ex.target):
            if tok == c:
                out.append(0)            # PASS: also Armenian typed as Armenian
            elif tok == "":
                out.append(1)            # placeholder
            else:
                out.append(self.out_index[tok])
        return out

    def forced_pass(self, c: str) -> bool:
        """Unknown characters and Armenian typed as Armenian are never changed."""
        return c not in self.changeable

    def decode(self, latin: str, classes: list[int]) -> str:
        # class 0 (pass), unknown and Armenian input keep the character; 1 (placeholder) writes ""
        changeable, written = self.changeable, self.written
        return "".join(written[k] if k and c in changeable else c for c, k in zip(latin, classes))


def output_alphabet(rules: Rules) -> list[str]:
    return [PASS, PLACE] + sorted(rules.letters) + sorted(rules.punctuation)


def input_alphabet(latin_texts: list[str], min_count: int = 50) -> list[str]:
    """Printable ASCII and Armenian letters always; anything else only if it is common."""
    counts: dict[str, int] = {}
    for t in latin_texts:
        for c in t:
            counts[c] = counts.get(c, 0) + 1
    base = set(string.printable) - set("\t\n\r\x0b\x0c")
    base |= {chr(c) for c in range(0x0531, 0x0557)} | {chr(c) for c in range(0x0561, 0x0588)}
    common = {c for c, n in counts.items() if n >= min_count and c.isprintable()}
    return [PAD, UNK] + sorted(base | common)


PASS_CLASS, PLACE_CLASS = 0, 1
PASS_SYMBOL, PLACE_SYMBOL = "=", "_"     # how classes 0 and 1 are written in pairs and URLs
FIRST_LETTER_CLASS = 2                   # classes from here on are letters and punctuation
FIRST_INPUT_CLASS = 2                    # input classes 0, 1 are <pad> and <unk>


def symbol_of_class(alphabets: Alphabets, k: int) -> str:
    """How output class k is written in pairs and URLs: "=" keeps the input, "_" placeholder."""
    return PASS_SYMBOL if k == PASS_CLASS else PLACE_SYMBOL if k == PLACE_CLASS else alphabets.outputs[k]


def class_of_symbol(alphabets: Alphabets, symbol: str) -> int | None:
    """The output class a pair symbol stands for, or None."""
    if symbol == PASS_SYMBOL:
        return PASS_CLASS
    if symbol == PLACE_SYMBOL:
        return PLACE_CLASS
    k = alphabets.out_index.get(symbol)
    return k if k is not None and k >= FIRST_LETTER_CLASS else None
