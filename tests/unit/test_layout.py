"""The package's shape: no import cycles, the analysis's layers import only downwards, no
oversized modules or functions, no dashboard libraries in the engine, no tracker words in what a
user reads, and the names that must be defined once are defined once."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from tiny import TESTS

REPO = TESTS.parent
PACKAGES = ("translit_core", "dashboard")
MAX_LINES = 450          # a module a reader holds in their head
MAX_FUNCTION_LINES = 80
# analysis/'s layers, lowest first: a module may import its own layer and the ones before it.
# reports/ and cli/ sit above the engine's analysis; nothing in it imports them.
ANALYSIS_LAYERS = [
    ("translit_core.analysis.measurement",),
    ("translit_core.analysis.methods",),
    ("translit_core.analysis.store", "translit_core.analysis.queries", "translit_core.analysis.pipeline",
     "translit_core.analysis.graph"),
    ("translit_core.analysis.comparison",),
    ("translit_core.reports",),
    ("translit_core.cli",),
]


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every project module that `name` imports, at the top or inside a function."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            for alias in node.names:           # `from . import settings` imports a module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known and m != name}


def test_no_import_cycles():
    mods = modules()
    graph = {name: imports_of(name, path, set(mods)) for name, path in mods.items()}
    # A package's __init__ that re-exports its submodules is not a cycle with them: drop the
    # edges from a submodule to its own package's __init__ only when that would be the cycle.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str):
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if m.startswith(n + ".") or n.startswith(m + "."):
                continue                      # a package and its own modules
            if state.get(m) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(m):] + [m]))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n)


def _layer(module: str) -> int | None:
    for i, prefixes in enumerate(ANALYSIS_LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


def test_the_analysis_layers_import_only_downwards():
    mods = modules()
    upward = []
    for name, path in mods.items():
        here = _layer(name)
        if here is None:
            continue
        for target in imports_of(name, path, set(mods)):
            there = _layer(target)
            if there is not None and there > here:
                upward.append(f"{name} -> {target}")
    assert not upward, upward


def test_no_function_is_over_80_lines():
    long = []
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long


def test_no_tracker_words_in_what_a_user_reads():
    """Help texts, docstrings, pages, docs and the README speak of the lab, not of its tracker."""
    tracker = re.compile(r"\b(issue|stop)\s+#?\d+", re.I)
    files = [*modules().values(), *(REPO / "pages").glob("*.py"), REPO / "app.py", REPO / "README.md",
             *(REPO / "docs").glob("*.md"), *(REPO / "scripts").glob("*.sh"), *(REPO / "tests").rglob("*.py"),
             *(REPO / "benchmarks").glob("*.py")]
    found = [f"{path.relative_to(REPO)}:{i}" for path in files
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if tracker.search(line)]
    assert not found, found


def test_no_module_is_over_450_lines():
    long = {str(p.relative_to(REPO)): n for p in modules().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_the_engine_has_no_dashboard_libraries():
    banned = re.compile(r"^\s*(import|from)\s+(streamlit|plotly|networkx)\b", re.M)
    bad = [str(p.relative_to(REPO)) for n, p in modules().items()
           if n.startswith("translit_core") and banned.search(p.read_text(encoding="utf-8"))]
    assert not bad, bad


def test_layer_groups_and_environment_are_spelled_out_once():
    texts = {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in modules().values()}
    group = re.compile(r"""[(\[]\s*["']concat\.fwd["'],\s*["']concat\.bwd["'],\s*["']hidden["']\s*[)\]]""")
    assert [f for f, t in texts.items() if group.search(t)] == ["translit_core/model/names.py"]
    # reading a variable (copying the environment for a child process is not reading a setting)
    env = [f for f, t in texts.items() if re.search(r"os\.environ(\.get\b|\[)|os\.getenv", t)]
    assert env == ["translit_core/settings.py"], env
