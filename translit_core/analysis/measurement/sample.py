"""The sample: held-out sentences, read at run time (the data may never be copied into the repo).

UD `*-test.conllu` text lines and ARPA `test.tsv` sentences, which the model never trained on,
normalised and filtered like the training corpus, de-duplicated, cleaned of every sentence that
also occurs (exactly, or as a near duplicate by word 6-grams) in a training source, in a seeded
random order; or the lines of any Armenian text file (`--text`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection

from ... import settings
from ...files import atomic_write
from .names import SampleMissing

HELDOUT_GLOBS = ("ud/*/*-test.conllu", "arpa/test.tsv")


# The readers are imported where they are used: they pull in the corpus builder's libraries
# (mwparserfromhell, conllu, rapidfuzz), which the dashboard's pages never need.

def _clean(lines) -> list[str]:
    from ...text.lines import keep_line, normalize_line
    seen, out = set(), []
    for line in lines:
        line = normalize_line(line)
        if keep_line(line) and line not in seen:
            seen.add(line)
            out.append(line)
    return out


NGRAM = 6            # words per n-gram of the near-duplicate test
NEAR_SHARE = 0.5     # a held-out sentence is a near duplicate when this share of its word n-grams is in training text


def _words(line: str) -> list[str]:
    return re.findall(r"\w+", line.casefold())


def _ngrams(words: list[str], n: int = NGRAM) -> set[tuple[str, ...]]:
    """Word n-grams; a sentence shorter than n is one n-gram (all of it)."""
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@dataclass
class HeldOut:
    """The held-out sample: sentences, where each came from, and what was dropped for overlap."""
    sentences: list[str]
    sources: list[str]                          # "ud" / "arpa", per sentence
    dropped_exact: list[str] = field(default_factory=list)   # also in a training source, as a sentence
    dropped_near: list[str] = field(default_factory=list)    # >= NEAR_SHARE of its word 6-grams in training text

    def dropped_digests(self) -> list[str]:
        """The dropped sentences as digests (sentence_digest), sorted: enough to pick the same
        sample again without reading the training text, and no held-out text in the file."""
        return sorted({sentence_digest(s) for s in self.dropped_exact + self.dropped_near})

    def counts(self) -> dict:
        return {"ud": self.sources.count("ud"), "arpa": self.sources.count("arpa"),
                "dropped_exact": len(self.dropped_exact), "dropped_near": len(self.dropped_near),
                "near_rule": f">= {NEAR_SHARE:.0%} of the word {NGRAM}-grams in training text"}


def training_overlap(sentences: list[str], data_dir: Path) -> tuple[set[str], set[str]]:
    """(exact, near): the sentences that occur in a training source (after the same normalisation,
    case and punctuation ignored), and those sharing >= NEAR_SHARE of their word n-grams with it.
    Training text is streamed once; only the sample's own n-grams are kept in memory."""
    from ...text.corpus import find_sources
    from ...text.lines import normalize_line
    key = {s: " ".join(_words(s)) for s in sentences}
    grams = {s: _ngrams(_words(s)) for s in sentences}
    wanted = set().union(*grams.values()) if grams else set()
    seen_lines, seen_grams = set(), set()
    keys = set(key.values())
    for source in find_sources(data_dir):
        for text in source.texts():
            words = _words(normalize_line(text))
            joined = " ".join(words)
            if joined in keys:
                seen_lines.add(joined)
            seen_grams |= _ngrams(words) & wanted
    exact = {s for s in sentences if key[s] in seen_lines}
    near = {s for s in sentences if s not in exact and grams[s]
            and len(grams[s] & seen_grams) >= NEAR_SHARE * len(grams[s])}
    return exact, near


def cached_overlap(sentences: list[str], data_dir: Path) -> tuple[set[str], set[str]]:
    """`training_overlap`, cached outside the repository (it holds held-out text) under a key
    of the sentences and of every training file's path, size and modification time: parsing
    the Wikipedia dump again takes a minute."""
    from ...text.corpus import find_sources
    files = [(str(src.path), src.path.stat().st_size, src.path.stat().st_mtime_ns) for src in find_sources(data_dir)]
    key = hashlib.sha256(json.dumps([fingerprint(sentences), files, NGRAM, NEAR_SHARE]).encode()).hexdigest()[:24]
    path = settings.cache_root() / "overlap" / f"{key}.json"
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
        return set(got["exact"]), set(got["near"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    exact, near = training_overlap(sentences, data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"exact": sorted(exact), "near": sorted(near)}, ensure_ascii=False))
    except OSError:
        pass                       # a read-only cache only costs the minute again
    return exact, near


def paraphrase_groups(sentences: list[str], data_dir: str | Path) -> list[int]:
    """Each sentence's unit of resampling. A row of ARPA's test set is a paraphrase pair: two
    sentences about one event, whose activations are not independent. Both sentences of a row
    (and rows chained through a shared sentence) form one group; every other sentence is a group
    of its own. -> group id per sentence: the index of the group's first sentence in `sentences`."""
    import csv
    from ...text.lines import normalize_line
    index = {s: i for i, s in enumerate(sentences)}
    parent = list(range(len(sentences)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for path in sorted(Path(data_dir).glob("arpa/test.tsv")):     # the held-out pairs (HELDOUT_GLOBS)
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                found = [index[t] for t in (normalize_line(row.get(c) or "") for c in ("Sentence1", "Sentence2"))
                         if t in index]
                if len(found) == 2:
                    a, b = sorted((root(found[0]), root(found[1])))
                    parent[b] = a                        # the earlier sentence names the group
    return [root(i) for i in range(len(sentences))]


def sentence_digest(sentence: str) -> str:
    """A sentence's short digest (the first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(sentence.encode("utf-8")).hexdigest()[:16]


def held_out(data_dir: str | Path | None = None, n: int = 5000, seed: int = 0, dedup: bool = True,
             dropped: "Collection[str] | None" = None) -> HeldOut:
    """Up to n held-out sentences the model never trained on, in a seeded random order.

    UD `*-test.conllu` text lines and ARPA `test.tsv` sentences, normalised, filtered with
    corpus.keep_line and de-duplicated; then (`dedup`) every sentence that also occurs in a
    training source, or shares half its word 6-grams with one, is dropped (ARPA's test sentences
    are paraphrases of news that its train split also reports). `dropped`: the digests of the
    sentences to drop (HeldOut.dropped_digests, stored in an analysis' sample), instead of
    finding them again in the training text (about 20 s on an empty cache); they are all
    reported under dropped_exact.
    """
    from ...text.corpus import iter_arpa_texts, iter_conllu_texts
    data_dir = Path(data_dir) if data_dir else settings.data_dir()
    files = sorted(p for g in HELDOUT_GLOBS for p in data_dir.glob(g))
    if not files:
        raise SampleMissing(
            f"no held-out text under {data_dir} (looked for {', '.join(HELDOUT_GLOBS)}); point at the "
            f"shared data with --data DIR or TRANSLIT_DATA=DIR, or give any Armenian text with --text FILE")
    lines, origin = [], {}
    for p in files:
        texts = _clean(iter_conllu_texts(p) if p.suffix == ".conllu" else iter_arpa_texts(p))
        for t in texts:
            origin.setdefault(t, "ud" if p.suffix == ".conllu" else "arpa")
        lines += texts
    sentences = _clean(lines)
    if dropped is not None:
        known = set(dropped)
        exact, near = {s for s in sentences if sentence_digest(s) in known}, set()
    else:
        exact, near = cached_overlap(sentences, data_dir) if dedup else (set(), set())
    kept = [s for s in sentences if s not in exact and s not in near]
    random.Random(seed).shuffle(kept)
    kept = kept[:n]
    return HeldOut(kept, [origin[s] for s in kept], sorted(exact), sorted(near))


def sample_sentences(data_dir: str | Path | None = None, n: int = 5000, seed: int = 0,
                     dropped: "Collection[str] | None" = None) -> list[str]:
    """The sentences of `held_out` (de-duplicated against the training sources, or by `dropped`).
    With `dropped`, kept in memory for this process under the held-out files' names, sizes and
    times: the dashboard reads one sample for each model's recordings (a second each)."""
    if dropped is None:
        return held_out(data_dir, n, seed).sentences
    data_dir = Path(data_dir) if data_dir else settings.data_dir()
    files = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in sorted(p for g in HELDOUT_GLOBS for p in data_dir.glob(g)))
    return list(_known_sample(str(data_dir), files, n, seed, tuple(sorted(dropped))))


@functools.lru_cache(maxsize=4)
def _known_sample(data_dir: str, files: tuple, n: int, seed: int, dropped: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(held_out(data_dir, n, seed, dropped=dropped).sentences)


def text_sentences(path: str | Path, n: int = 5000, seed: int = 0) -> list[str]:
    """Up to n non-empty lines of an Armenian text file (or CoNLL-U text lines), seeded order."""
    from ...infer.evaluate import read_sentences
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


