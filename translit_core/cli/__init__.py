"""The command line: `python -m translit_core <command> --help`, or the `translit` console script.

    pipeline.py       prepare, train, lexicon, transliterate, evaluate
    analysis.py       analyze and the commands that read an analysis (neurons, pairs, histogram,
                      ablate, rank-methods, sample, hypothesis, tracks, findings)
    interventions.py  intervene, steer, attribute, activations: the network run on a text of the user's
    units.py          saturation, clusters, compare, dynamics
    common.py         JSON printing, the shared arguments, running a command with its errors

Each command module has one `cmd_*` function per command and one `add_*` function per command's
parser; `main` puts the parsers together in the order of the help (PARSERS).
"""
from __future__ import annotations

import argparse

from .. import settings
from ..allocator import keep_freed_memory
from . import analysis, interventions, pipeline, units
from .common import run_command

# What `--help` says above the commands.
DESCRIPTION = """Command line: `python -m translit_core <command> --help` (or the `translit` console script).

The pipeline's commands (prepare, train, lexicon, transliterate, evaluate), the neuron analysis
(analyze and the commands that read it), the network run on a text (intervene, steer, attribute,
activations: the units at every character), the units' structure and the model comparisons
(saturation, clusters, compare, dynamics), and docs/FINDINGS.md (findings). --debug (or
TRANSLIT_DEBUG=1) shows the traceback behind an error.
"""

PARSERS = (
    *pipeline.PARSERS,
    analysis.add_analyze, analysis.add_neurons, analysis.add_pairs, analysis.add_histogram, analysis.add_ablate,
    interventions.add_intervene, interventions.add_steer, interventions.add_attribute,
    interventions.add_activations,
    analysis.add_rank_methods, analysis.add_sample, analysis.add_hypothesis, analysis.add_tracks,
    units.add_saturation, units.add_clusters, units.add_compare, units.add_dynamics,
    analysis.add_findings,
)


class _Parser(argparse.ArgumentParser):
    """A bad argument is said in one line, like every other error of the command line."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command's subparser."""
    p = _Parser(prog="python -m translit_core", description=DESCRIPTION)
    p.add_argument("--debug", action="store_true",
                   help="show the full traceback of an error, not only its one-line message (also TRANSLIT_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True)
    for add in PARSERS:
        add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        a = build_parser().parse_args(argv)
    except SystemExit as e:          # a bad argument (said on stderr, status 2) or --help (0)
        return e.code if isinstance(e.code, int) else 2
    keep_freed_memory()              # the commands' large temporaries are reused, not page-faulted in again
    return run_command(a.fn, a, debug=a.debug or settings.debug())
