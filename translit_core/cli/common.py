"""What every command module shares: JSON printing, the arguments most commands take, torch's
thread count, and running a command with its errors said in one line (or, with --debug, with
their traceback)."""
from __future__ import annotations

import argparse
import json
import sys
import traceback


def print_json(obj) -> None:
    """A command's --json output: UTF-8 as is (Armenian stays readable), one space of indent."""
    print(json.dumps(obj, ensure_ascii=False, indent=1))


def add_common(s, threads: bool = False) -> None:
    """--checkpoint and --json (and --threads) on the parser of a command that reads an analysis."""
    s.add_argument("--checkpoint", default=None, help="checkpoint directory (default checkpoints/hy)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    if threads:
        s.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")


DATA_HELP = "shared data dir, if the recording must be re-made"
# Upper bounds of the size-like numbers: far above any use, far below what exhausts memory or time.
MAX_BINS, MAX_TOP, MAX_UNITS_K, MAX_DRAWS, MAX_SHUFFLES = 10_000, 100_000, 10_000, 1000, 1000
MAX_SENTENCES, MAX_BATCH_LINES, MAX_ROWS = 1_000_000, 100_000, 1000


def whole(lo: int, hi: int | None = None):
    """An argparse `type`: a whole number from `lo` to `hi` (None: no upper bound); anything else
    is refused by the parser with the range in the message (exit status 2)."""
    span = f"from {lo:,} to {hi:,}" if hi is not None else f"at least {lo:,}"

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            shown = text if len(text) <= 20 else text[:20] + "..."
            raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number (must be {span})") from None
        if n < lo or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(f"{n if abs(n) < 10**20 else 'that number'} is out of range: "
                                             f"must be a whole number {span}")
        return n

    parse.__name__ = "whole number"
    return parse


def set_threads(a) -> None:
    """--threads: 0 leaves torch's choice; more than the machine has is refused (torch crashes
    on absurd counts rather than saying so)."""
    n = getattr(a, "threads", 0)
    if n:
        import os

        import torch
        cap = 4 * (os.cpu_count() or 1)
        if not 1 <= n <= cap:
            raise ValueError(f"--threads {n}: must be between 1 and {cap} (4x the {os.cpu_count()} CPUs here), "
                             f"or 0 for the default")
        torch.set_num_threads(n)


def expected_errors() -> tuple[type[BaseException], ...]:
    """The errors that are the user's to fix (bad files, bad names, bad checkpoints): their
    message says which and what to do."""
    from ..analysis.measurement.names import AnalysisError
    from ..model.checkpoint import CheckpointError
    from ..text.rules import RulesError
    return CheckpointError, RulesError, OSError, ValueError, AnalysisError, EOFError


def run_command(command, a, debug: bool = False) -> int:
    """Run `command(a)` -> the exit status: 0, 2 for an error (one line on stderr; the full
    traceback too with `debug`), 130 for Ctrl-C."""
    expected = expected_errors()
    try:
        command(a)
    except BrokenPipeError:          # `... | head`: the reader left, which is not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    except expected as e:
        if debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:           # a library's own error type (conllu, safetensors), or a bug: still one line
        if debug:
            traceback.print_exc()
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0
