#!/usr/bin/env bash
# Set up .venv (once) and start the dashboard. The README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip "setuptools>=64"
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-build-isolation --no-deps -e .   # translit_core + dashboard, `translit`
exec .venv/bin/python -m dashboard "$@"      # Streamlit with app.py (dashboard/launch.py); streamlit run's flags
