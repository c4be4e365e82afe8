"""The pipeline's commands: prepare (the training text), train, lexicon (the known-word list),
transliterate (stdin -> stdout) and evaluate (accuracy on held-out text or a hand-written test set).

JSON (stable, for scripts): prepare prints the corpus summary ({data_dir, out_dir, ..., sources,
train, valid, total, seconds}); train prints one line per epoch ({epoch, valid_char_accuracy, loss,
...}) and then {best_valid_char_accuracy, steps, seconds, chars_per_s} (`TrainResult.to_dict`);
both print JSON with or without --json. lexicon --json prints {path, words}; transliterate --json
prints one {input, output} object per line (JSON Lines, in input order, streamed as the text
output is); evaluate --json prints {sentences, characters, model: {char_accuracy, word_accuracy,
...}, rules_baseline, ..., checkpoint}.
"""
from __future__ import annotations

import dataclasses
import json
import sys

from .common import MAX_BATCH_LINES, print_json, whole

NO_LEXICON = dict(action="store_true", help="the network's choices alone, without the known-word rule")


def cmd_prepare(a):
    from ..text.corpus import prepare
    summary = prepare(a.data, a.out, valid_fraction=a.valid_fraction, seed=a.seed)
    print_json(summary)


def cmd_train(a):
    from ..training.train import TrainConfig, train
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in vars(a).items() if k in fields})
    print(json.dumps(train(cfg).to_dict()))


def cmd_lexicon(a):
    from pathlib import Path

    from ..infer.lexicon import LEXICON, save_lexicon
    from ..text.words import word_counts
    train_txt = Path(a.corpus) / "train.txt"
    with train_txt.open(encoding="utf-8") as f:
        n = save_lexicon(Path(a.out) / LEXICON, word_counts(f), a.min_count, source=str(train_txt))
    if a.json:
        print_json({"path": str(Path(a.out) / LEXICON), "words": n})
    else:
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
        for body, text, end in zip(bodies, tr.transliterate_batch(bodies), ends):
            if a.json:     # one object a line; bytes that are not UTF-8 are written as U+FFFD here
                row = {"input": body.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                       "output": text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")}
                out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
            else:
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
    from ..infer.evaluate import evaluate, read_pairs, read_sentences, score_pairs
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
        print_json(result)
    else:
        print_evaluation(a, result)


def print_evaluation(a, result: dict) -> None:
    """An evaluation's accuracies, its model's edits and errors, for the terminal."""
    from ..infer.evaluate import describe_edits
    print(f"{a.text or a.pairs}: {result['sentences']} sentences, {result['characters']} characters"
          + ("" if a.pairs else f", romanized with seed {a.seed}"))
    for name in ("model", "rules_baseline"):
        r = result[name]
        print(f"  {name:15s} char accuracy {r['char_accuracy']:6.2f}%   word accuracy {r['word_accuracy']:6.2f}%")
    if "model_edits" in result:
        print(f"  model: {describe_edits(result['model_edits'])}")
    for e in result.get("errors", []):
        print(f"  {e['latin']!r:40} -> {e['model']}   (expected {e['reference']})")


# ---- the parsers, one per command (registered in this order by cli/__init__.py)
def add_prepare(sub) -> None:
    s = sub.add_parser("prepare", help="build train/valid text from the shared Armenian data")
    s.add_argument("--data", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--valid-fraction", type=float, default=0.02)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true", help="accepted for uniformity: the summary is JSON anyway")
    s.set_defaults(fn=cmd_prepare)


def add_train(sub) -> None:
    """One flag per field of TrainConfig, with its type and default."""
    from ..training.train import TrainConfig
    s = sub.add_parser("train", help="train a model (also under torchrun)")
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool" or isinstance(f.default, bool):
            s.add_argument(flag, action="store_true")
        elif f.default is dataclasses.MISSING:
            s.add_argument(flag, required=True)
        else:
            s.add_argument(flag, type=type(f.default), default=f.default)
    s.add_argument("--json", action="store_true", help="accepted for uniformity: the output is JSON lines anyway")
    s.set_defaults(fn=cmd_train)


def add_lexicon(sub) -> None:
    s = sub.add_parser("lexicon", help="write a checkpoint's word list from a corpus's train.txt")
    s.add_argument("--corpus", required=True)
    s.add_argument("--out", required=True, help="checkpoint directory")
    s.add_argument("--min-count", type=whole(1), default=1)
    s.add_argument("--json", action="store_true", help="print {path, words}")
    s.set_defaults(fn=cmd_lexicon)


def add_transliterate(sub) -> None:
    s = sub.add_parser("transliterate", help="Latin lines on stdin -> Armenian lines on stdout")
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--no-lexicon", **NO_LEXICON)
    s.add_argument("--batch-lines", type=whole(1, MAX_BATCH_LINES), default=256)
    s.add_argument("--json", action="store_true", help="one {input, output} JSON object per line (JSON Lines)")
    s.set_defaults(fn=cmd_transliterate)


def add_evaluate(sub) -> None:
    s = sub.add_parser("evaluate", help="accuracy on held-out Armenian text (plain or CoNLL-U)")
    s.add_argument("--text", help="held-out Armenian (plain text or .conllu), romanized with the rules")
    s.add_argument("--pairs", help="hand-written 'latin<TAB>armenian' test set, e.g. benchmarks/chat_testset.tsv")
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--no-lexicon", **NO_LEXICON)
    s.add_argument("--rules", default=None)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--limit", type=whole(0), default=0)
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_evaluate)


PARSERS = (add_prepare, add_train, add_lexicon, add_transliterate, add_evaluate)
