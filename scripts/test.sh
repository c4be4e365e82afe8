#!/usr/bin/env bash
# Set up .venv (once), lint, and run the whole test suite. The README's second command.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip "setuptools>=64"
.venv/bin/python -m pip install -q -r requirements-dev.txt
.venv/bin/python -m pip install -q --no-build-isolation --no-deps -e .   # translit_core + dashboard, `translit`
.venv/bin/ruff check .                       # the linter first (pyproject.toml: [tool.ruff])
.venv/bin/python -m pytest -q "$@"
