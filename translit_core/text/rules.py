"""Probabilistic romanization rules: which Latin strings people type for each Armenian letter.

The rules live in a JSON data file (languages/hy/rules.json) so that they can be read, argued
about and changed without touching code. Loading validates everything up front: a model trained
on a silently broken rule table is hours lost, so a bad file fails at once with a message that
names the offending letter.
"""
from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..settings import LANGUAGE_DIR

DEFAULT_RULES = LANGUAGE_DIR / "rules.json"


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the letter."""


def is_armenian_letter(ch: str) -> bool:
    # U+0531..U+0556 capitals, U+0561..U+0587 small letters (with the ligature և).
    return "\u0531" <= ch <= "\u0556" or "\u0561" <= ch <= "\u0587"


@dataclass(frozen=True)
class Rules:
    letters: dict[str, dict[str, float]]       # Armenian letter (or digraph ու) -> {latin: p}
    word_initial: dict[str, dict[str, float]]  # overrides at the start of a word (ո -> vo)
    punctuation: dict[str, dict[str, float]]   # Armenian punctuation -> what people type
    dropped: frozenset[str]                    # marks people leave out (՞ ՜ ՛)
    sha256: str                                # hash of the file, stored in checkpoints

    def variants(self, token: str, word_start: bool) -> dict[str, float]:
        if word_start and token in self.word_initial:
            return self.word_initial[token]
        return self.letters.get(token) or self.punctuation[token]

    def most_probable(self, token: str, word_start: bool = False) -> str:
        variants = self.variants(token, word_start)
        return max(variants, key=variants.get)


def _check_table(table: object, section: str, where: str) -> dict[str, dict[str, float]]:
    if not isinstance(table, dict):
        raise RulesError(f"{where}: '{section}' must be an object mapping letters to {{latin: probability}}")
    for letter, variants in table.items():
        name = f"{where}: {section} '{letter}'"
        if not isinstance(variants, dict) or not variants:
            raise RulesError(f"{name}: needs a non-empty object of {{latin string: probability}}")
        for latin, p in variants.items():
            if not latin or not latin.isascii() or not latin.isprintable() or latin.isspace():
                raise RulesError(f"{name}: output {latin!r} must be a non-empty printable ASCII string")
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
                raise RulesError(f"{name}: probability of {latin!r} must be in (0, 1], got {p!r}")
        total = sum(variants.values())
        if abs(total - 1.0) > 1e-6:
            raise RulesError(f"{name}: probabilities sum to {total:.6f}, not 1")
    return table


def parse_rules(raw: dict, where: str = "rules") -> Rules:
    if not isinstance(raw, dict) or "letters" not in raw:
        raise RulesError(f"{where}: expected an object with a 'letters' table")
    letters = _check_table(raw["letters"], "letters", where)
    for letter in letters:
        if not all(is_armenian_letter(c) for c in letter) or len(letter) > 2:
            raise RulesError(f"{where}: letters '{letter}' is not an Armenian letter or digraph")
    word_initial = _check_table(raw.get("word_initial", {}), "word_initial", where)
    for letter in word_initial:
        if letter not in letters:
            raise RulesError(f"{where}: word_initial '{letter}' has no entry in letters")
    punctuation = _check_table(raw.get("punctuation", {}), "punctuation", where)
    dropped = raw.get("dropped", [])
    if not isinstance(dropped, list) or not all(isinstance(c, str) and len(c) == 1 for c in dropped):
        raise RulesError(f"{where}: 'dropped' must be a list of single characters")
    missing = [chr(c) for c in range(0x0561, 0x0587) if chr(c) not in letters]
    if missing:
        raise RulesError(f"{where}: no romanization for letter(s) {' '.join(missing)}")
    blob = json.dumps(raw, ensure_ascii=False, sort_keys=True).encode()
    return Rules(letters, word_initial, punctuation, frozenset(dropped), hashlib.sha256(blob).hexdigest())


def load_rules(path: str | Path | None = None) -> Rules:
    path = Path(path) if path else DEFAULT_RULES
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RulesError(f"cannot read rules file {path}: {e.strerror or e}") from None
    try:
        raw = json.loads(unicodedata.normalize("NFC", text))
    except json.JSONDecodeError as e:
        raise RulesError(f"{path}: not valid JSON ({e})") from None
    return parse_rules(raw, where=str(path))
