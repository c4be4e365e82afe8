"""
Build the training corpus: clean Armenian sentences, one per line.

The model learns Latin -> Armenian transliteration from pairs that we make ourselves by
romanizing real Armenian text, so all this module has to produce is a large pile of
*clean, mostly-Armenian* sentences. Three kinds of source feed it:

- a MediaWiki XML dump of the Armenian Wikipedia (plain .xml, .bz2 or .xz). The full dump
  is about 1 GB compressed, so it is streamed page by page with iterparse and never held
  in memory. A truncated dump (like the 100k-line sample we ship with) is read up to the
  cut and then we stop quietly.
- the ARPA paraphrase corpus (news sentences), train.tsv only.
- Universal Dependencies treebanks, the `# text = ...` of the train and dev files only.

Every text goes through the same pipeline: split into sentences -> normalise (NFC,
whitespace) -> keep only if mostly Armenian and long enough -> exact de-duplication ->
deterministic seeded hash split into train / valid. Lines are streamed to disk; the only
state kept in memory is one 8-byte hash per distinct line, for the de-duplication.

Evaluation data (UD *-test.conllu, ARPA test.tsv) must never leak into training. All the
files prepare() reads pass through one gate, is_reserved_test_file(), so there is exactly
one place to audit.

The readers and filters live beside it (wiki.py, lines.py); corpus re-exports them.

Public API:
    iter_wiki_texts(path)        -> clean paragraph lines of a MediaWiki dump
    iter_conllu_texts(path)      -> the `text` of each sentence of a .conllu file
    iter_arpa_texts(path)        -> Sentence1 and Sentence2 of each ARPA row
    wikitext_to_plain(wikitext)  -> plain text of one page of wiki markup
    split_sentences(text)        -> sentences of a paragraph
    normalize_line(line)         -> NFC + collapsed whitespace
    armenian_fraction(line)      -> share of letters that are Armenian
    keep_line(line)              -> the "mostly Armenian, long enough" filter
    is_reserved_test_file(path)  -> True for files reserved for evaluation
    prepare(data_dir, out_dir, valid_fraction=0.02, seed=0) -> summary dict
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from conllu.parser import parse_comment_line
from tqdm import tqdm

# the text helpers are part of this module's public API (`x as x`: re-exported, not used here)
from ..files import atomic_write
from .lines import armenian_fraction as armenian_fraction, keep_line, normalize_line, split_sentences
from .wiki import iter_wiki_texts, wikitext_to_plain as wikitext_to_plain

# -----------------------------------------------------------------------------
# reserved evaluation files

# UD test files and the ARPA test split are the evaluation sets. Matching is on the file
# name only (not the directory), so copying the data elsewhere does not open a hole.
RESERVED_TEST_PATTERNS: tuple[str, ...] = ("*-test.conllu", "test.tsv")


def is_reserved_test_file(path: str | os.PathLike[str]) -> bool:
    """True if `path` is an evaluation file that must never be read for training."""
    name = Path(path).name.lower()
    return any(fnmatch(name, pattern) for pattern in RESERVED_TEST_PATTERNS)


# -----------------------------------------------------------------------------
# UD and ARPA


def iter_conllu_texts(path: str | os.PathLike[str]) -> Iterator[str]:
    """The `# text = ...` of every sentence of a CoNLL-U file (sentences without it are skipped).

    Only the comment lines are parsed (by conllu's own comment parser), not the tokens: the same
    texts as `conllu.parse_incr(f)`'s metadata, five times faster, and the dashboard's first view
    reads the held-out files while a newcomer waits."""
    text = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:                       # a blank line ends a sentence
                if text:
                    yield text
                text = None
            elif line.startswith("#"):
                for key, value in parse_comment_line(line):
                    if key == "text":
                        text = value
    if text:
        yield text


def iter_arpa_texts(path: str | os.PathLike[str]) -> Iterator[str]:
    """Sentence1 then Sentence2 of every row of an ARPA .tsv (header row required)."""
    with open(path, encoding="utf-8", newline="") as f:
        # QUOTE_NONE: a TSV has no quoting, and a stray '"' must not swallow later rows.
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            for column in ("Sentence1", "Sentence2"):
                text = row.get(column)
                if text:
                    yield text


# -----------------------------------------------------------------------------
# prepare: all sources -> train.txt / valid.txt / summary.json

WIKI_PATTERNS: tuple[str, ...] = ("*.xml", "*.xml.bz2", "*.xml.xz")


@dataclass(frozen=True)
class Source:
    kind: str  # "wikipedia" | "arpa" | "ud"
    path: Path

    def texts(self) -> Iterator[str]:
        # The one place where prepare() opens a data file: the reserved-file gate.
        if is_reserved_test_file(self.path):
            raise PermissionError(f"refusing to read reserved evaluation file {self.path}")
        reader = {"wikipedia": iter_wiki_texts, "arpa": iter_arpa_texts, "ud": iter_conllu_texts}
        return reader[self.kind](self.path)


def find_sources(data_dir: str | os.PathLike[str]) -> list[Source]:
    """The training sources under `data_dir`, in a fixed order (which decides which copy
    of a duplicate line is counted where). Reserved evaluation files are never listed."""
    data_dir = Path(data_dir)
    wiki = sorted({p for pattern in WIKI_PATTERNS for p in (data_dir / "wikipedia").glob(pattern)})
    arpa = [p for p in [data_dir / "arpa" / "train.tsv"] if p.is_file()]
    ud = sorted(
        {p for pattern in ("*-train.conllu", "*-dev.conllu") for p in data_dir.glob(f"ud/*/{pattern}")}
    )
    sources = (
        [Source("wikipedia", p) for p in wiki]
        + [Source("arpa", p) for p in arpa]
        + [Source("ud", p) for p in ud]
    )
    return [s for s in sources if not is_reserved_test_file(s.path)]


def _line_hash(line: str, seed: int) -> tuple[int, float]:
    """(dedup key, uniform [0, 1) split draw) from one keyed hash of the line.

    Hash-based, not random.shuffle: the same line lands on the same side whatever the
    source order or corpus size, so adding data never moves valid lines into train.
    """
    digest = hashlib.blake2b(
        line.encode("utf-8"), digest_size=16, key=seed.to_bytes(8, "little", signed=True)
    ).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") / 2**64


class CorpusError(ValueError):
    """A data file prepare cannot read; the message names the file."""


@dataclass
class _Tally:
    """What prepare has written so far."""
    seed: int
    valid_fraction: float
    seen: set[int] = field(default_factory=set)     # 8-byte keys of every line written: the only growing state
    per_source: dict[str, dict] = field(default_factory=dict)
    splits: dict[str, dict[str, int]] = field(default_factory=lambda: {s: {"lines": 0, "chars": 0}
                                                                        for s in ("train", "valid")})


def _write_splits(sources: list[Source], data_dir: Path, tmp: dict[str, Path], tally: _Tally) -> None:
    """Every kept, de-duplicated line of every source into the train / valid .tmp files."""
    with open(tmp["train"], "w", encoding="utf-8") as f_train, open(tmp["valid"], "w", encoding="utf-8") as f_valid:
        files = {"train": f_train, "valid": f_valid}
        for source in sources:
            try:
                _write_source(source, data_dir, files, tally)
            except PermissionError:
                raise
            except Exception as e:   # lzma/bz2/csv/conllu/UnicodeDecode errors: name the file
                raise CorpusError(f"{source.path}: cannot read this {source.kind} file "
                                  f"({type(e).__name__}: {e})") from None


def _write_source(source: Source, data_dir: Path, files: dict, tally: _Tally) -> None:
    stats = {"kind": source.kind, "texts": 0, "sentences": 0, "filtered": 0,
             "duplicates": 0, "lines": 0, "chars": 0, "train_lines": 0, "valid_lines": 0}
    bar = tqdm(desc=f"{source.kind}:{source.path.name}", unit=" lines",
               file=sys.stderr, disable=None, leave=False)
    for text in source.texts():
        stats["texts"] += 1
        for sentence in split_sentences(text):
            line = normalize_line(sentence)
            stats["sentences"] += 1
            if not keep_line(line):
                stats["filtered"] += 1
                continue
            key, draw = _line_hash(line, tally.seed)
            if key in tally.seen:
                stats["duplicates"] += 1
                continue
            tally.seen.add(key)
            split = "valid" if draw < tally.valid_fraction else "train"
            files[split].write(line + "\n")
            stats["lines"] += 1
            stats["chars"] += len(line)
            stats[f"{split}_lines"] += 1
            tally.splits[split]["lines"] += 1
            tally.splits[split]["chars"] += len(line)
            bar.update(1)
    bar.close()
    tally.per_source[source.path.relative_to(data_dir).as_posix()] = stats


def prepare(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    valid_fraction: float = 0.02,
    seed: int = 0,
) -> dict:
    """Build out_dir/train.txt, out_dir/valid.txt and out_dir/summary.json; return the summary."""
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    sources = find_sources(data_dir)
    if not sources:
        raise FileNotFoundError(f"no training sources under {data_dir} (wikipedia/, arpa/, ud/)")
    out_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    tally = _Tally(seed, valid_fraction)
    per_source, splits = tally.per_source, tally.splits
    tmp = {name: out_dir / f"{name}.txt.tmp" for name in splits}
    # Write to .tmp and rename at the end, so a crash never leaves a half corpus that
    # looks finished.
    try:
        _write_splits(sources, data_dir, tmp, tally)
        for name, path in tmp.items():
            path.replace(out_dir / f"{name}.txt")
    finally:                       # a failed or interrupted run leaves no .tmp files behind
        for path in tmp.values():
            path.unlink(missing_ok=True)
    by_kind: dict[str, dict[str, int]] = {}
    for stats in per_source.values():
        agg = by_kind.setdefault(stats["kind"], {"lines": 0, "chars": 0})
        agg["lines"] += stats["lines"]
        agg["chars"] += stats["chars"]
    summary = {
        "data_dir": str(data_dir),
        "out_dir": str(out_dir),
        "valid_fraction": valid_fraction,
        "seed": seed,
        "sources": per_source,
        "by_kind": by_kind,
        "train": splits["train"],
        "valid": splits["valid"],
        "total": {
            "lines": splits["train"]["lines"] + splits["valid"]["lines"],
            "chars": splits["train"]["chars"] + splits["valid"]["chars"],
        },
        "seconds": round(time.perf_counter() - t0, 2),
    }
    atomic_write(out_dir / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    return summary
