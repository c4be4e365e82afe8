"""Untrusted text shown in Streamlit's Markdown: a value from a URL or a text box as inline code
(`md_literal`), an engine message or any other text escaped so that it shows as it is
(`md_plain`). Whatever a shared link or a typed text holds, it cannot put a link, an image,
emphasis, HTML or LaTeX into the page.
"""
from __future__ import annotations

import re
from typing import Any

_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")      # every ASCII punctuation character
# Where GFM's bare links start: "http://", "www.", "a@b.c". Streamlit's Markdown finds them in the
# text after parsing, where backslash escapes are gone, so they are broken with a word joiner.
_BARE_LINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"              # invisible, and no line break


def md_literal(value: Any, n: int = 60) -> str:
    """A value from a URL or a text box as inline code, shortened to n characters."""
    value = str(value).replace("`", "'").replace("\n", " ")
    value = value if len(value) <= n else value[: n - 1] + "…"
    return f"`{value}`"


def md_plain(text: str) -> str:
    """Text shown as it is in Markdown: every ASCII punctuation character backslash-escaped (so no
    link, image, emphasis, HTML or LaTeX can form), and a WORD_JOINER after the "://", "www" and
    "@" of what would become a bare link."""
    return _MD_PUNCTUATION.sub(r"\\\1", _BARE_LINK.sub(WORD_JOINER, str(text).replace("\n", " ")))
