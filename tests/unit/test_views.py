"""The dashboard's view logic without Streamlit: URL state and its validation (dashboard.views.urls),
Markdown escaping (views.markdown), labels, text caps and escaped HTML (views.text), and what pages
show from the engine's own types; and the package's shape. Synthetic inputs only."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from dashboard.views import labels, markdown, text, urls
from translit_core.analysis import Pair
from translit_core.model.names import LAYERS, NeuronId, layer_sizes

SIZES = layer_sizes(8, 6, 5)
PAIRS = [Pair("s", "_", 10, 20), Pair("t", "թ", 30, 40), Pair("t", "տ", 5, 6)]
DASHBOARD = Path(urls.__file__).resolve().parent.parent
REPO = DASHBOARD.parent


# --------------------------------------------------------------------------------------------
# Untrusted values in Markdown notes

@pytest.mark.parametrize("evil", ["[Log in](https://evil.example)", "![](https://x/t.png)", "**bold** `code`",
                                  "<img src=x onerror=alert(1)>", "$x^2$"])
def test_url_values_cannot_inject_links_or_images(evil):
    note = urls.parse_page(evil).note
    assert note is not None
    shown = note.split("page called ", 1)[1].split(", so", 1)[0]
    assert shown.startswith("`") and shown.endswith("`") and shown.count("`") == 2
    assert urls.parse_pair(evil, PAIRS).value == Pair("t", "թ")
    for note in (urls.parse_pair(evil, PAIRS).note, urls.parse_neuron(evil + ":1", SIZES).note,
                 urls.parse_choice(evil, ["a", "b"], "view").note, urls.valid_neurons([evil], SIZES)[1][0],
                 urls.unknown_path_note(evil)):
        outside_code = "".join(note.split("`")[::2])               # the text outside inline code
        unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", outside_code)  # what is left to Markdown
        assert not any(s in unescaped for s in ("](", "<img", "**", "$", "://")), note


def test_md_plain_escapes_every_markdown_character():
    assert markdown.md_plain("[a](http://x) *b* `c` <i> $d$") == \
        r"\[a\]\(http\:" + markdown.WORD_JOINER + r"\/\/x\) \*b\* \`c\` \<i\> \$d\$"
    assert markdown.md_plain("hidden has 0..5") == r"hidden has 0\.\.5"


def test_long_values_are_shortened():
    assert len(markdown.md_literal("x" * 500)) < 70
    assert "…" in markdown.md_literal("x" * 500)


# --------------------------------------------------------------------------------------------
# Parsing the URL into the engine's types

def test_parse_page():
    assert urls.parse_page(None).value is None and urls.parse_page(None).note is None
    assert urls.parse_page("Graph").value == "graph"
    bad = urls.parse_page("<script>")
    assert bad.value is None and "no page" in bad.note


def test_unknown_path_note_lists_the_pages_by_path():
    note = urls.unknown_path_note("nonsense")
    assert "`/nonsense`" in note and all(f"/{p}" in note for p in urls.PAGES)


def test_parse_pair_gives_the_analysis_pair_or_falls_back_with_a_note():
    p = urls.parse_pair(None, PAIRS)
    assert p.value == Pair("t", "թ") and p.value.n_pos == 30 and p.note is None   # the analysis's own Pair
    assert urls.parse_pair("t:տ", PAIRS).value.n_pos == 5
    for bad in ("zz", "q:ք", "t:", ""):
        p = urls.parse_pair(bad, PAIRS)
        assert p.value == Pair("t", "թ")
        assert (p.note is None) == (bad == "")
    assert "written input:output" in urls.parse_pair("zz", PAIRS).note       # malformed (Pair.parse)
    assert "no analysis data" in urls.parse_pair("q:ք", PAIRS).note          # well formed, no data
    assert urls.parse_pair("x:y", [Pair("s", "_")]).value == Pair("s", "_")  # no t:թ: the first pair
    assert urls.parse_pair(None, []).value is None


def test_parse_neuron_checks_layer_and_range_with_the_engine():
    assert urls.parse_neuron("concat.fwd:7", SIZES).value == NeuronId("concat.fwd", 7)
    assert urls.parse_neuron(" hidden:5 ", SIZES).value == NeuronId("hidden", 5)
    default = NeuronId("hidden", 0)
    for bad in ("hidden:6", "hidden:-1", "hidden:x", "foo:1", "hidden", "<b>:1"):
        p = urls.parse_neuron(bad, SIZES, default=default)
        assert p.value == default and p.note and "hidden:0" in p.note
    assert "0\\.\\.5" in urls.parse_neuron("hidden:6", SIZES).note               # the engine's reason
    assert urls.parse_neuron(None, SIZES).value is None
    assert "No neuron is selected" in urls.parse_neuron("nope:1", SIZES).note


def test_valid_neurons_keeps_order_once_each_and_notes_the_rest():
    good, notes = urls.valid_neurons(["hidden:1", "hidden:1", "nope:3", "cell.fwd:2"], SIZES)
    assert good == [NeuronId("hidden", 1), NeuronId("cell.fwd", 2)] and len(notes) == 1 and "nope:3" in notes[0]


def test_parse_choice_and_count():
    assert urls.parse_choice(None, ["one", "top"], "view").value == "one"
    assert urls.parse_choice("top", ["one", "top"], "view").value == "top"
    bad = urls.parse_choice("sideways", ["one", "top"], "view")
    assert bad.value == "one" and "sideways" in bad.note
    assert urls.parse_count("3", 1, 8, 4, "n").value == 3
    for bad in ("0", "9", "x", "2.5"):
        p = urls.parse_count(bad, 1, 8, 4, "n")
        assert p.value == 4 and bad in p.note


def test_parse_position():
    assert urls.parse_position("3", 10).value == 3 and urls.parse_position("3", 10).note is None
    assert urls.parse_position(None, 10) == urls.Parsed(None) == urls.parse_position("", 10)
    for bad in ("10", "-1", "x", "[a](b)"):
        p = urls.parse_position(bad, 10)
        assert p.value is None and f"`{bad}`" in p.note


def test_first_reads_one_value():
    assert urls.first({"a": ["1", "2"]}, "a") == "2"
    assert urls.first({"a": "x"}, "a") == "x" and urls.first({}, "a") is None


def test_page_url_names_the_page_by_its_path_and_encodes_state():
    url = urls.page_url("neuron", neuron=NeuronId("concat.fwd", 70), pair=Pair("t", "թ"))
    assert url.startswith("/neuron?page=neuron&neuron=concat.fwd%3A70&pair=t%3A%D5%A9")
    assert urls.page_url("transliterate", text="a b", pair=None) == "/transliterate?page=transliterate&text=a+b"


def test_pairs_by_input_and_sibling_pairs():
    assert urls.pairs_by_input(PAIRS) == {"s": ["_"], "t": ["թ", "տ"]}
    assert urls.sibling_pair(Pair("t", "թ"), PAIRS) == Pair("t", "տ")
    assert urls.sibling_pair(Pair("s", "_"), PAIRS) == Pair("s", "_")


# --------------------------------------------------------------------------------------------
# Labels

def test_pair_label():
    assert labels.pair_label("t:թ") == "t→թ"
    assert labels.pair_label(Pair("s", "_")).startswith("s→_")
    assert labels.pair_label("e:=").startswith("e→=")
    assert labels.pair_label("::։") == "‘:’→‘։’"
    assert labels.pair_label(" :_").startswith("‘space’→")


def test_every_layer_has_a_title():
    assert set(labels.LAYER_TITLES) >= set(LAYERS) - {"output"} and labels.layer_title("output")


# --------------------------------------------------------------------------------------------
# User text and escaped HTML

def test_cap_text_and_url_text():
    assert text.cap_text("abc").notice is None
    long = ("word " * 30_000)[:100_000]
    c = text.cap_text(long)
    assert len(c.text) <= text.MAX_LIVE_CHARS and c.total == 100_000 and "100,000" in c.notice
    assert text.cap_text(None).text == ""
    assert urls.url_text("hi") == "hi" and urls.url_text("") is None
    assert urls.url_text("x" * 10_000) == "x" * urls.MAX_URL_TEXT            # the beginning of a long text


def pred(latin, output, prob, alts=(), network=None):
    return SimpleNamespace(latin=latin, output=output, prob=prob, alternatives=list(alts), network=network)


def test_confidence_html_escapes_and_highlights_uncertain_characters():
    preds = [pred("<", "<", 1.0), pred("t", "թ", 0.55, [("տ", 0.4)]), pred("v", "", 0.99, [("վ", 0.01)]),
             pred("\n", "\n", 1.0), pred('"', '"', 1.0)]
    out = text.confidence_html(preds)
    assert "<" + "<" not in out and "&lt;" in out
    assert out.count('class="u"') == 1 and "55%" in out and "տ 40%" in out
    assert 'class="z"' in out and "<br>" in out and "&quot;" in out
    assert text.uncertain_summary(preds) == (1, 2)
    # a letter the lexicon changed is marked as such, with what the network wrote
    out = text.confidence_html([pred("r", "ր", 0.3, [("ռ", 0.6)], network="ռ")])
    assert 'class="k"' in out and 'class="u"' not in out and "the network chose ռ" in out


def test_shaded_html_escapes_and_marks():
    out = text.shaded_html("<a>", [1.0, -1.0, 0.0], mark=(1, 2))
    assert "&lt;" in out and "<a>" not in out
    assert out.count("border-bottom") == 1
    assert text.diverging_rgb(1, 1) != text.diverging_rgb(-1, 1)
    assert text.diverging_rgb(float("nan"), 1) == "rgb(255,255,255)"


# --------------------------------------------------------------------------------------------
# The package's shape

def _module(path: Path) -> str:
    """A file's module name: dashboard/views/urls.py -> dashboard.views.urls."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


DASHBOARD_MODULES = {_module(p): p for p in sorted(DASHBOARD.rglob("*.py"))}


def _imports(path: Path, top_level: bool = False) -> set[str]:
    """Every module `path` imports (relative imports resolved, `from package import module` as
    the module); with `top_level`, only the imports at the top of the file (not those inside a
    function or under `if TYPE_CHECKING`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module(path).split(".") if path.is_relative_to(DASHBOARD) else []
    package = here if path.name == "__init__.py" else here[:-1]
    out = set()
    for node in (tree.body if top_level else ast.walk(tree)):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in DASHBOARD_MODULES)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _loaded_with(path: Path) -> set[str]:
    """The modules loaded when `path` is: its top-level imports and, through the dashboard's own
    modules, theirs."""
    seen, todo = set(), [path]
    while todo:
        for m in _imports(todo.pop(), top_level=True) - seen:
            seen.add(m)
            if m in DASHBOARD_MODULES:
                todo.append(DASHBOARD_MODULES[m])
    return seen


def test_views_do_not_import_streamlit():
    views = [p for m, p in DASHBOARD_MODULES.items() if m.startswith("dashboard.views")]
    assert len(views) > 10
    for path in views:
        assert not any(m.split(".")[0] == "streamlit" for m in _imports(path)), path.name


def test_modules_and_functions_stay_small():
    files = [*DASHBOARD_MODULES.values(), *(REPO / "pages").glob("*.py"), REPO / "app.py"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 450, path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                assert node.end_lineno - first < 80, f"{path.name}: {node.name}"


def test_no_import_cycles_inside_the_dashboard():
    graph = {m: {i for i in _imports(p) if i in DASHBOARD_MODULES and i != m} for m, p in DASHBOARD_MODULES.items()}

    def visit(node, stack):
        assert node not in stack, " -> ".join(stack + [node])
        for nxt in graph.get(node, ()):
            if not node.startswith(nxt + "."):          # a module and its own package's __init__
                visit(nxt, stack + [node])
    for node in graph:
        visit(node, [])


def test_pages_are_widgets_only():
    """Pages import the dashboard and the engine's names; no maths (numpy, torch) and no
    reaching into the engine's internals."""
    for path in (REPO / "pages").glob("*.py"):
        mods = _imports(path)
        assert not any(m.split(".")[0] in ("numpy", "torch", "runpy", "threading") for m in mods), path.name
        assert not path.name.startswith("_"), "pages/ holds one file per page, nothing else"
    # The Transliterate page loads no plotly / networkx (figures, panels) until a character is
    # chosen: every module it loads costs time in every new session, and typing must stay quick.
    loaded = _loaded_with(REPO / "pages" / "transliterate.py")
    assert "dashboard.ui.widgets" in loaded and "dashboard.views.text" in loaded
    assert not {"dashboard.views.figures", "dashboard.ui.panels"} & loaded
    assert not any(m.split(".")[0] in ("plotly", "networkx") for m in loaded)
