"""`python -m translit_core`: the command line (translit_core/cli/)."""
import sys

from .cli import main

sys.exit(main())
