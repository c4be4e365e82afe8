"""URL and text values end up in Markdown notes: they must be shown literally."""
from translit_core import views


def test_url_values_cannot_inject_links_or_images():
    for evil in ("[Log in](https://evil.example)", "![](https://x/t.png)", "**bold** `code`"):
        note = views.parse_page(evil).note
        assert note is not None
        shown = note.split("page called ", 1)[1].split(",", 1)[0]
        assert shown.startswith("`") and shown.endswith("`") and shown.count("`") == 2
        assert views.parse_pair(evil, ["t:թ"]).value == "t:թ"


def test_long_values_are_shortened():
    assert len(views.md_literal("x" * 500)) < 70
