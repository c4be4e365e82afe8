"""Command line: `python -m translit_core <command> --help` (or the `translit` console script).

The pipeline's commands (prepare, train, lexicon, transliterate, evaluate) are here; the neuron
analysis adds its own (analysis/cli.py).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from ..allocator import keep_freed_memory


def cmd_prepare(a):
    from ..text.corpus import prepare
    summary = prepare(a.data, a.out, valid_fraction=a.valid_fraction, seed=a.seed)
    print(json.dumps(summary, ensure_ascii=False, indent=1))


def cmd_train(a):
    from ..training.train import TrainConfig, train
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in vars(a).items() if k in fields})
    print(json.dumps(train(cfg)))


def cmd_lexicon(a):
    from pathlib import Path

    from ..infer.lexicon import LEXICON, save_lexicon
    from ..text.words import word_counts
    train_txt = Path(a.corpus) / "train.txt"
    with train_txt.open(encoding="utf-8") as f:
        n = save_lexicon(Path(a.out) / LEXICON, word_counts(f), a.min_count, source=str(train_txt))
    print(f"{Path(a.out) / LEXICON}: {n} words")


def cmd_transliterate(a):
    import os
    import select

    from ..infer.transliterator import Transliterator
    tr = Transliterator.load(a.checkpoint, lexicon=not a.no_lexicon)
    fd, pending, lines = sys.stdin.fileno(), b"", []
    out = sys.stdout.buffer

    def flush():
        # Byte-exact: each line keeps its own ending (\n, \r\n, or none on the last line), and
        # bytes that are not UTF-8 pass through unchanged (surrogateescape round-trips them: the
        # model sees an unknown character there and keeps it).
        bodies, ends = [], []
        for line in lines:
            end = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
            bodies.append(line[: len(line) - len(end)].decode("utf-8", errors="surrogateescape"))
            ends.append(end)
        for text, end in zip(tr.transliterate_batch(bodies), ends):
            out.write(text.encode("utf-8", errors="surrogateescape") + end)
        out.flush()
        lines.clear()

    # Streaming: read what is available, translate complete lines in one batch when the input
    # pauses (interactive use, pipes) or the batch is full (files), so output never lags input.
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        lines.extend(c + b"\n" for c in complete)
        if len(lines) >= a.batch_lines or not select.select([fd], [], [], 0.02)[0]:
            if lines:
                flush()
    if pending:
        lines.append(pending)
    if lines:
        flush()


def cmd_evaluate(a):
    from ..infer.evaluate import describe_edits, evaluate, read_pairs, read_sentences, score_pairs
    from ..infer.transliterator import Transliterator
    from ..text.rules import load_rules
    if bool(a.text) == bool(a.pairs):
        raise SystemExit("evaluate: give exactly one of --text FILE or --pairs FILE")
    # Read the input first: an empty file is an error, not "100% accuracy on 0 characters".
    pairs = read_pairs(a.pairs) if a.pairs else None
    sents = None if a.pairs else read_sentences(a.text)[: a.limit or None]
    if not (pairs[0] if pairs else sents):
        raise ValueError(f"{a.pairs or a.text}: nothing to evaluate (no {'pairs' if a.pairs else 'sentences'} in it)")
    tr = Transliterator.load(a.checkpoint, lexicon=not a.no_lexicon)
    rules = load_rules(a.rules)
    if pairs:
        result = score_pairs(*pairs, tr.transliterate_batch, rules)
    else:
        result = evaluate(sents, rules, tr.transliterate_batch, seed=a.seed)
    result["checkpoint"] = str(a.checkpoint or "default")
    if a.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(f"{a.text or a.pairs}: {result['sentences']} sentences, {result['characters']} characters"
              + ("" if a.pairs else f", romanized with seed {a.seed}"))
        for name in ("model", "rules_baseline"):
            r = result[name]
            print(f"  {name:15s} char accuracy {r['char_accuracy']:6.2f}%   word accuracy {r['word_accuracy']:6.2f}%")
        if "model_edits" in result:
            print(f"  model: {describe_edits(result['model_edits'])}")
        for e in result.get("errors", []):
            print(f"  {e['latin']!r:40} -> {e['model']}   (expected {e['reference']})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m translit_core", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("prepare", help="build train/valid text from the shared Armenian data")
    s.add_argument("--data", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--valid-fraction", type=float, default=0.02)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(fn=cmd_prepare)

    s = sub.add_parser("train", help="train a model (also under torchrun)")
    from ..training.train import TrainConfig
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool" or isinstance(f.default, bool):
            s.add_argument(flag, action="store_true")
        elif f.default is dataclasses.MISSING:
            s.add_argument(flag, required=True)
        else:
            s.add_argument(flag, type=type(f.default), default=f.default)
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("lexicon", help="write a checkpoint's word list from a corpus's train.txt")
    s.add_argument("--corpus", required=True)
    s.add_argument("--out", required=True, help="checkpoint directory")
    s.add_argument("--min-count", type=int, default=1)
    s.set_defaults(fn=cmd_lexicon)

    no_lexicon = dict(action="store_true", help="the network's choices alone, without the known-word rule")
    s = sub.add_parser("transliterate", help="Latin lines on stdin -> Armenian lines on stdout")
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--no-lexicon", **no_lexicon)
    s.add_argument("--batch-lines", type=int, default=256)
    s.set_defaults(fn=cmd_transliterate)

    s = sub.add_parser("evaluate", help="accuracy on held-out Armenian text (plain or CoNLL-U)")
    s.add_argument("--text", help="held-out Armenian (plain text or .conllu), romanized with the rules")
    s.add_argument("--pairs", help="hand-written 'latin<TAB>armenian' test set, e.g. benchmarks/chat_testset.tsv")
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--no-lexicon", **no_lexicon)
    s.add_argument("--rules", default=None)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--limit", type=int, default=0)
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_evaluate)

    from .analysis import add_analysis_commands
    add_analysis_commands(sub)   # analyze, neurons, pairs, histogram, ablate, findings

    a = p.parse_args(argv)
    keep_freed_memory()              # the commands' large temporaries are reused, not page-faulted in again
    from ..analysis.measurement.names import AnalysisError
    from ..model.checkpoint import CheckpointError
    from ..text.rules import RulesError
    try:
        a.fn(a)
    except BrokenPipeError:          # `... | head`: the reader left, which is not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    except (CheckpointError, RulesError, OSError, ValueError, AnalysisError, EOFError) as e:
        # bad files, bad names, bad checkpoints: the message says which and what to do
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:           # a library's own error type (conllu, safetensors): still one line
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0
