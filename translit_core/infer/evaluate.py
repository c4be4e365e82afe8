"""Evaluation: romanize held-out Armenian with the rules, transliterate back, compare.

Character accuracy is 100 - 100 * (Levenshtein distance / reference length), summed over the
whole file; word accuracy is the share of reference words reproduced exactly. The reference
is the original text, so marks the romanization drops (՞ ՜ ՛) count as errors: the figure is
what a user would see, not what is convenient.
"""
from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from .. import settings
from ..text.romanize import romanize, split_units
from ..text.rules import Rules


def char_accuracy(hypotheses: list[str], references: list[str]) -> float:
    errors = sum(Levenshtein.distance(h, r) for h, r in zip(hypotheses, references, strict=True))
    length = sum(len(r) for r in references)
    return 100.0 - 100.0 * errors / max(1, length)


def word_accuracy(hypotheses: list[str], references: list[str]) -> float:
    right = total = 0
    for h, r in zip(hypotheses, references, strict=True):
        hw, rw = h.split(), r.split()
        total += len(rw)
        # Words are compared in aligned order (via the edit script on word lists).
        right += sum(op.dest_end - op.dest_start for op in Levenshtein.opcodes(hw, rw) if op.tag == "equal")
    return 100.0 * right / max(1, total)


EDIT_KINDS = ("punctuation", "dropped", "script", "letters")


def edit_breakdown(hypotheses: list[str], references: list[str], rules: Rules, top: int = 12) -> dict:
    """Where the character edits behind `char_accuracy` are, by what could have avoided them.

    - punctuation: a mark the typed text cannot decide, in either direction ("," for ՝, "։" for
      ":"): both sides are Armenian punctuation or what the rules type it as;
    - dropped: the marks ՞ ՜ ՛ that romanization leaves out, so no model can write them back;
    - script: a Latin letter written for an Armenian one (a word kept as typed), or the reverse;
    - letters: everything else, mostly letters the spelling does not decide (ր/ռ, կ/ք, տ/թ).
    `confusions` are the most common (model, reference) pairs; "" is a missing character.
    """
    marks = set(rules.punctuation) | _typed_marks(rules)
    kinds = dict.fromkeys(EDIT_KINDS, 0)
    pairs: dict[tuple[str, str], int] = {}
    for h, r in zip(hypotheses, references, strict=True):
        for op in Levenshtein.editops(h, r):
            a = h[op.src_pos] if op.tag != "insert" else ""
            b = r[op.dest_pos] if op.tag != "delete" else ""
            if (a or b) in rules.dropped and not (a and b):
                kind = "dropped"
            elif {a, b} - {""} <= marks:
                kind = "punctuation"
            elif a.isalpha() and b.isalpha() and a.isascii() != b.isascii():
                kind = "script"
            else:
                kind = "letters"
            kinds[kind] += 1
            pairs[a, b] = pairs.get((a, b), 0) + 1
    confusions = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"edits": sum(kinds.values()), **kinds,
            "confusions": [{"model": a, "reference": b, "count": n} for (a, b), n in confusions]}


def describe_edits(breakdown: dict) -> str:
    """One line of `edit_breakdown`, e.g. "679 edits: 193 punctuation, 46 dropped, ..."."""
    kinds = ", ".join(f"{breakdown[k]} {k}" for k in EDIT_KINDS)
    pairs = ", ".join(f"{c['model'] or '∅'}→{c['reference'] or '∅'} {c['count']}" for c in breakdown["confusions"][:8])
    return f"{breakdown['edits']} edits: {kinds}; most common (model→reference): {pairs}"


def read_sentences(path: str | Path) -> list[str]:
    """Plain text (one sentence per line) or CoNLL-U (the `# text = ` lines)."""
    path = Path(path)
    try:
        if path.suffix == ".conllu":
            from conllu import parse_incr
            with path.open(encoding="utf-8") as f:
                sents = [s.metadata["text"] for s in parse_incr(f) if "text" in s.metadata]
        else:
            sents = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: a directory, not a text file") from None
    except OSError:
        raise
    except Exception as e:           # conllu's parse errors
        raise ValueError(f"{path}: cannot read it as CoNLL-U ({type(e).__name__}: {e})") from None
    return [unicodedata.normalize("NFC", s).strip() for s in sents if s.strip()]


LETTER_COUNTS = settings.LANGUAGE_DIR / "letter_counts.json"


def count_letters(lines, rules: Rules) -> dict[str, int]:
    """How often each letter (the digraph ու as one) and punctuation mark of the rules occurs,
    and the ASCII marks Armenian punctuation is typed as ("," is a comma more often than a ՝)."""
    tokens = set(rules.letters) | set(rules.punctuation) | _typed_marks(rules)
    counts = dict.fromkeys(sorted(tokens), 0)
    for line in lines:
        for tok in split_units(line, rules):
            if tok in counts:
                counts[tok] += 1
    return counts


def _typed_marks(rules: Rules) -> set[str]:
    return {lat for variants in rules.punctuation.values() for lat in variants if len(lat) == 1}


def load_letter_counts(rules: Rules) -> dict[str, int]:
    """The packaged Armenian letter counts, if they cover these rules; else a flat prior."""
    if LETTER_COUNTS.is_file():
        counts = json.loads(LETTER_COUNTS.read_text(encoding="utf-8"))["counts"]
        if set(rules.letters) <= set(counts):
            return counts
    return {}


class RulesBaseline:
    """Greedy longest-match reverse mapping: each Latin string to its most probable letter,
    P(letter | latin) ~ P(latin | letter) * P(letter). Without the letter prior "e" would go to
    է (always typed "e") rather than to ե (typed "e" 80% of the time but far more common)."""

    def __init__(self, rules: Rules, letter_counts: dict[str, int] | None = None):
        prior = load_letter_counts(rules) if letter_counts is None else letter_counts
        best: dict[str, tuple[float, str]] = {}
        for table in (rules.letters, rules.punctuation):
            for arm, variants in table.items():
                for lat, p in variants.items():
                    score = p * (prior.get(arm, 0) + 1)
                    if lat not in best or score > best[lat][0]:
                        best[lat] = (score, arm)
        for mark in _typed_marks(rules):            # "," may also just be a comma
            if prior.get(mark, 0) + 1 > best[mark][0]:
                best[mark] = (prior.get(mark, 0) + 1, mark)
        for arm, variants in rules.word_initial.items():   # "vo" at a word start is ո
            for lat, p in variants.items():
                best.setdefault(lat, (p, arm))
        self.table = {lat: arm for lat, (p, arm) in best.items()}
        self.longest = max(map(len, self.table))

    def transliterate(self, text: str) -> str:
        out, i = [], 0
        while i < len(text):
            for k in range(min(self.longest, len(text) - i), 0, -1):
                if text[i:i + k] in self.table:
                    out.append(self.table[text[i:i + k]])
                    i += k
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)


def read_pairs(path: str | Path) -> tuple[list[str], list[str]]:
    """A hand-written test set: `latin<TAB>armenian` per line, `#` comments."""
    latin, armenian = [], []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.count("\t") != 1:
            raise ValueError(f"{path}:{n}: expected 'latin<TAB>armenian'")
        a, b = line.split("\t")
        latin.append(a)
        armenian.append(unicodedata.normalize("NFC", b))
    return latin, armenian


def score_pairs(latin: list[str], armenian: list[str], transliterate_batch, rules: Rules) -> dict:
    """Accuracy on text typed by hand (no sampled romanization)."""
    baseline = RulesBaseline(rules)
    out = transliterate_batch(latin)
    base = [baseline.transliterate(line) for line in latin]
    return {
        "sentences": len(latin), "characters": sum(map(len, armenian)),
        "model": {"char_accuracy": char_accuracy(out, armenian), "word_accuracy": word_accuracy(out, armenian),
                  "sentence_accuracy": 100.0 * sum(o == a for o, a in zip(out, armenian)) / max(1, len(latin))},
        "rules_baseline": {"char_accuracy": char_accuracy(base, armenian),
                           "word_accuracy": word_accuracy(base, armenian)},
        "errors": [{"latin": lat, "model": o, "reference": a} for lat, o, a in zip(latin, out, armenian) if o != a],
    }


def evaluate(sentences: list[str], rules: Rules, transliterate_batch, seed: int = 0) -> dict:
    rng = random.Random(seed)
    latin = [romanize(s, rules, rng).latin for s in sentences]
    baseline = RulesBaseline(rules)
    model_out = transliterate_batch(latin)
    base_out = [baseline.transliterate(line) for line in latin]
    return {
        "sentences": len(sentences), "characters": sum(map(len, sentences)), "seed": seed,
        "model": {"char_accuracy": char_accuracy(model_out, sentences),
                  "word_accuracy": word_accuracy(model_out, sentences)},
        "rules_baseline": {"char_accuracy": char_accuracy(base_out, sentences),
                           "word_accuracy": word_accuracy(base_out, sentences)},
        "model_edits": edit_breakdown(model_out, sentences, rules),
        "examples": [{"latin": lat, "model": m, "reference": s}
                     for lat, m, s in list(zip(latin, model_out, sentences))[:5]],
    }
