"""The sample: held-out sentences, read at run time (the data may never be copied into the repo).

UD `*-test.conllu` text lines and ARPA `test.tsv` sentences, which the model never trained on,
normalised and filtered like the training corpus, de-duplicated, in a seeded random order; or
the lines of any Armenian text file (`--text`).
"""
from __future__ import annotations

import hashlib
import random
import unicodedata
from pathlib import Path

from .. import settings
from .names import SampleMissing

HELDOUT_GLOBS = ("ud/*/*-test.conllu", "arpa/test.tsv")


# The readers are imported where they are used: they pull in the corpus builder's libraries
# (mwparserfromhell, conllu, rapidfuzz), which the dashboard's pages never need.

def _clean(lines) -> list[str]:
    from ..text.lines import keep_line, normalize_line
    seen, out = set(), []
    for line in lines:
        line = normalize_line(line)
        if keep_line(line) and line not in seen:
            seen.add(line)
            out.append(line)
    return out


def sample_sentences(data_dir: str | Path | None = None, n: int = 5000, seed: int = 0) -> list[str]:
    """Up to n held-out sentences the model never trained on, in a seeded random order.

    UD `*-test.conllu` text lines and ARPA `test.tsv` sentences, normalised, filtered with
    corpus.keep_line and de-duplicated. (With the shipped data that is ~4,400 sentences, so
    n=5000 takes them all.)
    """
    from ..text.corpus import iter_arpa_texts, iter_conllu_texts
    data_dir = Path(data_dir) if data_dir else settings.data_dir()
    files = sorted(p for g in HELDOUT_GLOBS for p in data_dir.glob(g))
    if not files:
        raise SampleMissing(
            f"no held-out text under {data_dir} (looked for {', '.join(HELDOUT_GLOBS)}); point at the "
            f"shared data with --data DIR or TRANSLIT_DATA=DIR, or give any Armenian text with --text FILE")
    lines = []
    for p in files:
        lines += list(iter_conllu_texts(p) if p.suffix == ".conllu" else iter_arpa_texts(p))
    sentences = _clean(lines)
    random.Random(seed).shuffle(sentences)
    return sentences[:n]


def text_sentences(path: str | Path, n: int = 5000, seed: int = 0) -> list[str]:
    """Up to n non-empty lines of an Armenian text file (or CoNLL-U text lines), seeded order."""
    from ..infer.evaluate import read_sentences
    path = Path(path)
    if not path.is_file():
        raise SampleMissing(f"text file not found: {path}")
    try:
        sentences = [s for s in (unicodedata.normalize("NFC", t) for t in read_sentences(path)) if s]
    except UnicodeDecodeError as e:
        raise SampleMissing(f"{path} is not UTF-8 text ({e})") from None
    if not sentences:
        raise SampleMissing(f"{path} holds no text lines")
    random.Random(seed).shuffle(sentences)
    return sentences[:n]


def fingerprint(sentences: list[str]) -> str:
    return hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


