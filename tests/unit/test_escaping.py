"""Untrusted text in Markdown (dashboard/views/markdown.py): what md_plain leaves to Streamlit's
Markdown forms no bare link either. GFM finds those in the parsed text, after backslash escapes are
decoded, so escaping alone did not stop them (a browser test found one in a note)."""
from __future__ import annotations

import re

import pytest

from dashboard.views.markdown import WORD_JOINER, md_plain

# GFM's bare links as remark finds them in a text node (mdast-util-gfm-autolink-literal).
GFM_BARE_LINK = re.compile(r"(https?://|www(?=\.))[-.\w]+|[-.\w+]+@[-\w]+(\.[-\w]+)+", re.IGNORECASE)


def parsed_text(markdown: str) -> str:
    """The text node Markdown makes of md_plain's output: backslash escapes decoded."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


@pytest.mark.parametrize("text", ["see http://127.0.0.1:8611/evil.png", "HTTPS://x.example/a", "www.evil.example",
                                  "mail me@evil.example", "'![i](http://127.0.0.1:8611/e.png)' not in sample",
                                  "mailto:me@x.example", "xmpp:me@x.example"])
def test_no_bare_link_survives(text):
    shown = parsed_text(md_plain(text))
    assert not GFM_BARE_LINK.search(shown), shown
    assert shown.replace(WORD_JOINER, "") == text          # and it reads as typed


def test_names_are_left_as_they_are():
    names = "hidden:37 has 0..499 units; concat.fwd:7"
    assert parsed_text(md_plain(names)) == names
