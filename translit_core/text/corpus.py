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

import bz2
import csv
import hashlib
import json
import lzma
import os
import re
import sys
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import IO

import conllu
import mwparserfromhell
from mwparserfromhell.nodes import (
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Text,
    Wikilink,
)
from mwparserfromhell.wikicode import Wikicode
from tqdm import tqdm

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


# -----------------------------------------------------------------------------
# MediaWiki dumps

# Tags whose *contents* are not running text: citations, tables, galleries, formulas,
# code. We drop them whole; strip_code() alone keeps ref contents, which glues English
# citations into the middle of Armenian sentences.
_DROP_TAGS = frozenset(
    "ref references table gallery math chem ce code pre source syntaxhighlight score "
    "timeline imagemap graph mapframe maplink templatedata templatestyles hiero "
    "inputbox categorytree noinclude onlyinclude includeonly".split()
)
# Link prefixes (before ":") whose targets are media, categories or other wikis; their
# visible text is an image caption or nothing. Lower-cased; Armenian names from the dump.
_DROP_LINK_NAMESPACES = frozenset(
    "file image media category պատկեր մեդիա կատեգորիա ֆայլ".split()
)
_INTERWIKI = re.compile(r"^[a-z]{2,3}(-[a-z]+)*$")  # "en", "ru", "zh-min-nan"
_REDIRECT_PREFIXES = ("#redirect", "#վերահղում")  # compared after casefold()
_INTERFACE_TITLE_PREFIXES = ("MediaWiki:",)

# Whatever still looks like markup after rendering means the parser met broken wikitext;
# such lines are dropped rather than cleaned further.
_MARKUP_RESIDUE = re.compile(
    r"\{\{|\}\}|\[\[|\]\]|\||<\s*/?\s*[a-zA-Z][^>]*>|__[A-Z]+__|''|https?://|^\s*[=!]"
)
_SPACES = re.compile(r"[ \t\u00a0]+")
_MAGIC_WORD = re.compile(r"__[A-ZԱ-Ֆ]+__")
_EMPTY_PARENS = re.compile(r"[(\[]\s*[,;։:՝.\s]*[)\]]")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,։:;.?!»)\]՝])")
_SPACE_AFTER_OPEN = re.compile(r"([«(\[])[ \t]+")
_REPEATED_COMMA = re.compile(r",(\s*,)+")
# Editors paste rendered pages, footnote markers included: "Կամպիդանո[en]", "1866)[Ճշտել]".
# Only short brackets glued to the previous word; "«[Մոցարտը] բեմում էր»" stays.
_GLUED_FOOTNOTE = re.compile(r"(?<=[^\s(\[«])\[[^\]\s]{1,12}\]")
_LEADING_BULLET = re.compile(r"^[ \t]*[●•▪►◆■][ \t]*", re.MULTILINE)


def _link_target_is_dropped(title: str) -> bool:
    title = title.strip().lstrip(":")
    if ":" not in title:
        return False
    prefix = title.split(":", 1)[0].strip().lower()
    return prefix in _DROP_LINK_NAMESPACES or bool(_INTERWIKI.match(prefix))


def _render(code: Wikicode) -> str:
    """Plain text of parsed wikitext: a stricter strip_code().

    Templates, comments, headings, refs, tables and media/category/interwiki links are
    dropped; links and formatting keep their visible text.
    """
    parts: list[str] = []
    for node in code.nodes:
        if isinstance(node, Text):
            parts.append(str(node.value))
        elif isinstance(node, HTMLEntity):
            parts.append(node.normalize())
        elif isinstance(node, Wikilink):
            if _link_target_is_dropped(str(node.title)):
                continue
            parts.append(_render(node.text) if node.text is not None else _render(node.title))
        elif isinstance(node, ExternalLink):
            # [url title] shows the title; a bare url shows itself, which is not Armenian.
            if node.title is not None:
                parts.append(_render(node.title))
        elif isinstance(node, Tag):
            tag = str(node.tag).strip().lower()
            if tag in _DROP_TAGS:
                continue
            if tag == "br":
                parts.append("\n")
            elif node.contents is not None and not node.self_closing:
                parts.append(_render(node.contents))
        elif isinstance(node, Heading):
            # Headings are titles, not sentences; keep them on their own line so they
            # never glue onto the paragraph that follows (the filter drops most anyway).
            parts.append("\n")
        # Template, Comment, Argument, anything new: no running text.
    return "".join(parts)


def wikitext_to_plain(wikitext: str) -> str:
    """Plain text of one page's wikitext, one paragraph per line (may contain blanks)."""
    text = _render(mwparserfromhell.parse(wikitext))
    text = _MAGIC_WORD.sub("", text)
    # Dropped templates and refs leave holes: "Հայաստան ({{lang|...}}) ," -> "Հայաստան () ,"
    # -> "Հայաստան,"
    text = _EMPTY_PARENS.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    text = _REPEATED_COMMA.sub(",", text)
    text = _GLUED_FOOTNOTE.sub("", text)
    text = _LEADING_BULLET.sub("", text)
    # "<<...>>" is how some editors type guillemets; the model should only see « ».
    return text.replace("<<", "«").replace(">>", "»")


def _open_maybe_compressed(path: Path) -> IO[bytes]:
    suffix = path.suffix.lower()
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


def _local(tag: str) -> str:
    """'{http://www.mediawiki.org/xml/export-0.10/}page' -> 'page' (export versions vary)."""
    return tag.rsplit("}", 1)[-1]


@dataclass
class _Page:
    title: str = ""
    ns: str = ""
    redirect: bool = False
    text: str = ""


def _iter_pages(path: Path) -> Iterator[_Page]:
    """Stream the pages of a dump; stop quietly at a truncation point.

    Each finished <page> is cleared, and so is the root, so memory stays flat however big
    the dump. A dump cut mid-page raises ParseError (plain XML) or EOFError (bz2/xz ran
    out before the end-of-stream marker); the cut page is lost, everything before is kept.
    """
    with _open_maybe_compressed(path) as f:
        context = ET.iterparse(f, events=("start", "end"))
        root: ET.Element | None = None
        page = _Page()
        try:
            for event, elem in context:
                name = _local(elem.tag)
                if event == "start":
                    if root is None:
                        root = elem
                    elif name == "page":
                        page = _Page()
                    continue
                if name == "title":
                    page.title = elem.text or ""
                elif name == "ns":
                    page.ns = (elem.text or "").strip()
                elif name == "redirect":
                    page.redirect = True
                elif name == "text":
                    page.text = elem.text or ""
                elif name == "page":
                    yield page
                    if root is not None:
                        root.clear()  # drops this page and everything before it
        except (ET.ParseError, EOFError) as e:
            print(f"corpus: {path.name}: stopped at truncation ({e})", file=sys.stderr)


def _is_article(page: _Page) -> bool:
    if page.ns != "0" or page.redirect:
        return False
    if page.title.startswith(_INTERFACE_TITLE_PREFIXES):
        return False
    return not page.text.lstrip().casefold().startswith(_REDIRECT_PREFIXES)


def iter_wiki_texts(path: str | os.PathLike[str]) -> Iterator[str]:
    """Clean text lines (paragraphs, whitespace-normalised) of the articles of a dump.

    Only namespace-0 pages that are not redirects; interface messages (namespace 8, or
    titled "MediaWiki:...") and other namespaces are skipped. Template-only pages render
    to nothing and so yield nothing. Lines that still carry markup are dropped.
    """
    for page in _iter_pages(Path(path)):
        if not _is_article(page):
            continue
        for line in wikitext_to_plain(page.text).splitlines():
            line = normalize_line(line)
            if line and not _MARKUP_RESIDUE.search(line):
                yield line


# -----------------------------------------------------------------------------
# UD and ARPA


def iter_conllu_texts(path: str | os.PathLike[str]) -> Iterator[str]:
    """The `# text = ...` of every sentence of a CoNLL-U file (sentences without it are skipped)."""
    with open(path, encoding="utf-8") as f:
        for sentence in conllu.parse_incr(f):
            text = sentence.metadata.get("text")
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
    seen: set[int] = set()  # 8-byte keys of every line written; the only growing state
    per_source: dict[str, dict] = {}
    splits = {"train": {"lines": 0, "chars": 0}, "valid": {"lines": 0, "chars": 0}}
    tmp = {name: out_dir / f"{name}.txt.tmp" for name in splits}
    # Write to .tmp and rename at the end, so a crash never leaves a half corpus that
    # looks finished.
    with open(tmp["train"], "w", encoding="utf-8") as f_train, open(
        tmp["valid"], "w", encoding="utf-8"
    ) as f_valid:
        files = {"train": f_train, "valid": f_valid}
        for source in sources:
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
                    key, draw = _line_hash(line, seed)
                    if key in seen:
                        stats["duplicates"] += 1
                        continue
                    seen.add(key)
                    split = "valid" if draw < valid_fraction else "train"
                    files[split].write(line + "\n")
                    stats["lines"] += 1
                    stats["chars"] += len(line)
                    stats[f"{split}_lines"] += 1
                    splits[split]["lines"] += 1
                    splits[split]["chars"] += len(line)
                    bar.update(1)
            bar.close()
            per_source[source.path.relative_to(data_dir).as_posix()] = stats
    for name, path in tmp.items():
        path.replace(out_dir / f"{name}.txt")

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
    with open(out_dir / "summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=2)
        f.write("\n")
    return summary
