"""Line-level text cleaning shared by the corpus builder and the analysis sample: normalisation,
the "mostly Armenian, long enough" filter, and sentence splitting."""
from __future__ import annotations

import re
import unicodedata

# -----------------------------------------------------------------------------
# line-level normalisation and filtering

# Armenian block plus the five Armenian ligatures in Alphabetic Presentation Forms.
ARMENIAN_RANGES: tuple[tuple[int, int], ...] = ((0x0531, 0x058F), (0xFB13, 0xFB17))
MIN_ARMENIAN_FRACTION = 0.5
MIN_WORDS = 3
MIN_CHARS = 15

# Invisible characters that survive copy-paste from the web and would otherwise become
# "letters" the model has to learn to produce out of nothing.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff]")
_WHITESPACE = re.compile(r"\s+")


def normalize_line(line: str) -> str:
    """NFC, drop invisible format characters, collapse all whitespace to single spaces."""
    line = _INVISIBLE.sub("", unicodedata.normalize("NFC", line))
    return _WHITESPACE.sub(" ", line).strip()


# One character class of exactly the *letters* in those ranges (not "։", "՝", ...), so
# counting is a single C-level findall instead of a Python loop over characters.
_ARMENIAN_LETTER = re.compile(
    "[%s]"
    % "".join(
        re.escape(chr(cp))
        for lo, hi in ARMENIAN_RANGES
        for cp in range(lo, hi + 1)
        if chr(cp).isalpha()
    )
)


def armenian_fraction(line: str) -> float:
    """Share of the letters of `line` that are Armenian (0.0 when it has no letters).

    Only letters count: digits and punctuation are neutral, so "1990 թվականին" is 1.0.
    """
    n_letters = sum(map(str.isalpha, line))
    if n_letters == 0:
        return 0.0
    return len(_ARMENIAN_LETTER.findall(line)) / n_letters


def keep_line(line: str) -> bool:
    """The corpus filter: a normalised line worth training on.

    Short fragments (headings, list stubs, captions) teach little, and lines in other
    scripts (English citations, Russian titles) are not what the model should produce.
    """
    return (
        len(line) >= MIN_CHARS
        and len(line.split()) >= MIN_WORDS
        and armenian_fraction(line) >= MIN_ARMENIAN_FRACTION
    )


# -----------------------------------------------------------------------------
# sentence splitting

# "։" (verjaket) is the Armenian full stop and ASCII ":" is its usual stand-in on the web
# (the ARPA corpus uses it throughout); "?", "!", "…" end sentences as anywhere. Armenian
# "՞" and "՜" sit *inside* words (over the stressed vowel), so they are not boundaries.
# A "։" glued to the next sentence ("ծոցով։Սիցիլիա") is a missing space, also a boundary.
_HARD_BOUNDARY = re.compile(r"(?<=[։:?!…])\s+|(?<=։)(?=[Ա-Ֆ«])")
# "." is ambiguous: Armenian writes abbreviations with it ("1990 թ. մայիսին",
# "Ա. Իսահակյան", "մ.թ.ա."). We split on ". " only when the next word does not start in
# lowercase and the word before is not a lone capital (an initial) or a known abbreviation.
_DOT_BOUNDARY = re.compile(r"(?<=\.)\s+(?=[^\s])")
_ABBREVIATIONS = frozenset(
    "թ թթ դ դդ ա ք մ.թ.ա մ.թ կմ մ սմ մմ կգ գ տ հազ մլն մլրդ էջ հ ս պ փ տե՛ս հմմտ օր "
    "etc vs e.g i.e no st dr mr mrs prof p pp vol ed".split()
)


def _is_dot_boundary(before: str, after: str) -> bool:
    if after[:1].islower():
        return False
    words = before.split()
    if not words:
        return False
    last = words[-1].rstrip(".").lstrip("«(\"'")
    if len(last) == 1 and last.isupper():  # an initial: "Ա. Իսահակյան"
        return False
    return last.lower() not in _ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """Split a paragraph (or several, newline-separated) into sentences.

    Deliberately simple. A missed split only leaves a longer line, while a wrong split
    inside an abbreviation cuts a sentence in two, so on "." we err towards not splitting.
    """
    sentences: list[str] = []
    for paragraph in text.splitlines():
        for chunk in _HARD_BOUNDARY.split(paragraph):
            start = 0
            for m in _DOT_BOUNDARY.finditer(chunk):
                if _is_dot_boundary(chunk[start : m.start()], chunk[m.end() :]):
                    sentences.append(chunk[start : m.start()])
                    start = m.end()
            sentences.append(chunk[start:])
    return [s.strip() for s in sentences if s.strip()]
