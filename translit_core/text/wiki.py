"""MediaWiki dumps: the article text of an Armenian Wikipedia dump, streamed.

The full dump is about 1 GB compressed (plain .xml, .bz2 or .xz), so it is read page by page
with iterparse and never held in memory; a truncated dump (like the sample the shared data
holds) is read up to the cut. `wikitext_to_plain` renders one page's markup to plain text.
"""
from __future__ import annotations

import bz2
import lzma
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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

from .lines import normalize_line

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


def iter_wiki_texts(path: str | Path) -> Iterator[str]:
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


